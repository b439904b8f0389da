"""The class on a real JupyterHub (grader/hub/), end to end, on 127.0.0.1.

JupyterHub and configurable-http-proxy start with the course's configuration (a thin layer on top
swaps PAM for the dummy login and adds the test's API token); three students and one instructor are
system users made here and removed after. Each student's server starts; through the hub's REST API
and nbgrader's assignment-list handlers in the students' own servers, they fetch lab 00 and submit
it: the solution, the partial example and the HTML-injection example. The instructor releases,
collects, grades and releases feedback with the grader's exchange commands; each student fetches
their own feedback, and code run by a student's kernel cannot read what is not theirs. Headless
Chromium takes the screenshots in docs/img/hub_*.png.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from chromium import needs_chromium
from test_hub_settings import with_table

from grader.hub import settings

REPO = Path(__file__).resolve().parents[1]
LAB = "00_getting_started"
NOTEBOOK = "getting_started.ipynb"
COURSE_ID = "rnn-labs"
PASSWORD = secrets.token_hex(8)
TOKEN = secrets.token_hex(16)
TAG = secrets.token_hex(2)  # system users are machine-wide: names unique to this run
STUDENTS = {f"hub{TAG}-full": REPO / "solutions" / LAB,
            f"hub{TAG}-partial": REPO / "grader" / "examples" / "partial" / LAB,
            f"hub{TAG}-hostile": REPO / "grader" / "examples" / "html_injection" / LAB}
INSTRUCTOR = f"hub{TAG}-teach"
# where the screenshots go: docs/img/ when they are to be replaced, else the test's own folder
SCREENSHOTS = os.environ.get("HUB_SCREENSHOTS")

pytestmark = [
    needs_chromium,
    pytest.mark.skipif(os.geteuid() != 0, reason="the hub spawns servers as system users: needs root"),
    pytest.mark.skipif(not (Path(sys.prefix) / "node_modules/.bin/configurable-http-proxy").exists(),
                       reason="configurable-http-proxy not installed: make setup"),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Hub:
    """The running hub: its URL and the REST calls the test makes, as a user or as the test."""

    def __init__(self, url: str, process: subprocess.Popen, log: Path):
        self.url, self.process, self.log = url, process, log
        self.tokens = {"test": TOKEN}

    def call(self, path: str, as_user: str = "test", method: str = "GET", body=None):
        """(status, body) of ``path`` on the hub's proxy, with ``as_user``'s API token."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"token {self.tokens[as_user]}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def json(self, path: str, as_user: str = "test", method: str = "GET", body=None):
        status, answer = self.call(path, as_user, method, body)
        assert status in (200, 201), (path, status, answer[:2000], self.log.read_text()[-3000:])
        return json.loads(answer)

    def start_servers(self, users) -> None:
        """A token for each of ``users`` and their servers, started together, all ready."""
        for user in users:
            self.tokens[user] = self.json(f"/hub/api/users/{user}/tokens", method="POST",
                                          body={"note": "hub test"})["token"]
            status, _ = self.call(f"/hub/api/users/{user}/server", method="POST", body={})
            assert status in (201, 202), (status, self.log.read_text()[-3000:])
        for _ in range(120):
            if all(self.json(f"/hub/api/users/{u}")["servers"].get("", {}).get("ready") for u in users):
                return
            time.sleep(0.5)
        raise AssertionError(f"a server did not start: {self.log.read_text()[-3000:]}")

    def assignments(self, user: str, action: str) -> dict:
        """nbgrader's assignment-list handler in ``user``'s server: fetch, submit, fetch_feedback."""
        return self.json(f"/user/{user}/assignments/{action}", user, "POST",
                         {"course_id": COURSE_ID, "assignment_id": LAB})


def reachable_python() -> list[str]:
    """A command prefix under which other users can run this Python: none where they already can.
    Where it sits in a folder they cannot enter (pyenv in root's home), bwrap gives the hub's process
    tree (only) a view with that folder replaced by an empty one holding just the installation's folder."""
    base = Path(sys.base_prefix).resolve()
    closed = [p for p in reversed(base.parents) if not p.stat().st_mode & stat.S_IXOTH]
    if not closed:
        return []
    shown = closed[0] / base.relative_to(closed[0]).parts[0]  # with its own mode (bwrap's would be 700)
    return ["bwrap", "--dev-bind", "/", "/", "--tmpfs", str(closed[0]), "--ro-bind", str(shown), str(shown),
            "--cap-add", "ALL", "--"]


def stop(process: subprocess.Popen, prefixed: bool) -> None:
    """SIGTERM to the hub itself (under bwrap: its child), so that it stops the users' servers."""
    pid = process.pid
    if prefixed:
        pid = int(Path(f"/proc/{pid}/task/{pid}/children").read_text().split()[0])
    os.kill(pid, signal.SIGTERM)
    process.wait(timeout=60)


def make_user(name: str) -> None:
    subprocess.run(["useradd", "--create-home", "-K", "HOME_MODE=0700", "--shell", "/bin/bash", name],
                   check=True, capture_output=True)


def run_grader(course: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "grader", "--course", str(course), *args],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, f"grader {args}:\n{done.stdout}\n{done.stderr[-4000:]}"
    return done.stdout


def hub_config(folder: Path) -> Path:
    """The course's configuration, loaded whole, with the dummy login (PAM needs passwords),
    the test's own API token and free loopback ports."""
    config = folder / "jupyterhub_test_config.py"
    config.write_text(f"""
c = get_config()  # noqa: F821
load_subconfig({str(REPO / 'grader' / 'hub' / 'jupyterhub_config.py')!r})  # noqa: F821
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {PASSWORD!r}
c.JupyterHub.bind_url = "http://127.0.0.1:{free_port()}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"
c.JupyterHub.services.append({{"name": "hub-test", "api_token": {TOKEN!r}}})
c.JupyterHub.load_roles.append({{"name": "hub-test", "services": ["hub-test"],
                                 "scopes": ["admin:users", "admin:servers", "tokens", "list:users"]}})
""")
    return config


async def _execute(url: str, token: str, code: str) -> str:
    """Run ``code`` in the kernel at ``url`` (its channels' websocket); what it printed."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    connection = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {token}"}))
    msg_id = secrets.token_hex(8)
    connection.write_message(json.dumps({
        "header": {"msg_id": msg_id, "username": "", "session": msg_id, "msg_type": "execute_request",
                   "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True}}))
    printed = []
    while True:
        reply = json.loads(await asyncio.wait_for(connection.read_message(), 60))
        if reply["parent_header"].get("msg_id") != msg_id:
            continue
        if reply["msg_type"] == "stream":
            printed.append(reply["content"]["text"])
        elif reply["msg_type"] == "error":
            raise AssertionError("\n".join(reply["content"]["traceback"]))
        elif reply["msg_type"] == "status" and reply["content"]["execution_state"] == "idle":
            connection.close()
            return "".join(printed)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course root only its owner (root here: the instructor's account) can enter, naming this
    run's users, and an exchange outside it that every user can reach."""
    root = tmp_path_factory.mktemp("hub") / "course"
    root.mkdir(mode=0o700)
    for folder in ("solutions", "labs"):
        shutil.copytree(REPO / folder, root / folder)
    exchange = Path(tempfile.mkdtemp(prefix="hubtest-exchange-"))
    exchange.chmod(0o755)
    toml = with_table((REPO / "course.toml").read_text(), "exchange", f'root = "{exchange / "root"}"')
    toml = with_table(toml, "hub", f"students = {json.dumps(list(STUDENTS))}\n"
                                   f'instructors = ["{INSTRUCTOR}"]')
    (root / "course.toml").write_text(toml)
    yield root, exchange / "root"
    shutil.rmtree(exchange)


@pytest.fixture(scope="module")
def hub(course):
    """The course's hub, up, with this run's users; stopped and the users removed after."""
    root, exchange = course
    run_grader(root, "release", "--lab", LAB, "--exchange", str(exchange))
    log = root.parent / "hub.log"
    config = hub_config(root.parent)
    url = config.read_text().split('bind_url = "')[1].split('"')[0]
    prefix, process = reachable_python(), None
    try:
        for user in [*STUDENTS, INSTRUCTOR]:
            make_user(user)
        with open(log, "w") as out:
            process = subprocess.Popen([*prefix, settings.venv_program("jupyterhub"), "-f", str(config)],
                                       cwd=root, stdout=out, stderr=subprocess.STDOUT,
                                       env={**os.environ, "PYTHONPATH": str(REPO)})
        for _ in range(120):
            assert process.poll() is None, f"the hub stopped: {log.read_text()[-4000:]}"
            try:
                urllib.request.urlopen(f"{url}/hub/api/", timeout=5)
                break
            except OSError:
                time.sleep(0.5)
        yield Hub(url, process, log)
    finally:
        if process is not None and process.poll() is None:
            stop(process, bool(prefix))
        for user in [*STUDENTS, INSTRUCTOR]:
            subprocess.run(["userdel", "--remove", user], capture_output=True)


def upload(hub: Hub, user: str, origin: Path) -> None:
    """The student's answers, written over the fetched notebook through their server."""
    notebook = json.loads((origin / NOTEBOOK).read_text())
    hub.json(f"/user/{user}/api/contents/{LAB}/{NOTEBOOK}", user, "PUT",
             {"type": "notebook", "format": "json", "content": notebook})


@pytest.fixture(scope="module")
def submitted(hub):
    """Every student's server started; each fetched lab 00, wrote their answers and submitted."""
    listed = {}
    hub.start_servers(STUDENTS)
    for user, origin in STUDENTS.items():
        fetched = hub.assignments(user, "fetch")
        assert [a["status"] for a in fetched["value"] if a["assignment_id"] == LAB] == ["fetched"]
        upload(hub, user, origin)
        listed[user] = hub.assignments(user, "submit")
    return listed


@pytest.fixture(scope="module")
def graded(course, submitted):
    """The instructor collects, grades and returns the feedback through the exchange."""
    root, exchange = course
    outputs = [run_grader(root, "collect", "--exchange", str(exchange), "--lab", LAB),
               run_grader(root, "grade", "--jobs", "2", "--lab", LAB),
               run_grader(root, "feedback", "--release", "--exchange", str(exchange))]
    return outputs


def test_students_fetch_and_submit_in_their_own_servers(course, hub, submitted):
    root, exchange = course
    for user, listed in submitted.items():
        entry = [a for a in listed["value"] if a["assignment_id"] == LAB]
        assert sorted(a["status"] for a in entry) == ["fetched", "submitted"], listed
        home = Path(pwd.getpwnam(user).pw_dir)
        assert (home / LAB / NOTEBOOK).stat().st_uid == pwd.getpwnam(user).pw_uid
    inbound = sorted(p.name.split("+")[0] for p in (exchange / COURSE_ID / "inbound").iterdir())
    assert inbound == sorted(STUDENTS)


def test_each_student_fetches_only_their_own_feedback(course, hub, graded):
    root, _ = course
    pages = {}
    for user in STUDENTS:
        listed = hub.assignments(user, "fetch_feedback")
        entry = [a for a in listed["value"] if a["assignment_id"] == LAB and a["status"] == "submitted"]
        assert [s["has_local_feedback"] for e in entry for s in e["submissions"]] == [True], listed
        home = Path(pwd.getpwnam(user).pw_dir)
        fetched = list((home / LAB / "feedback").glob(f"*/{NOTEBOOK.replace('.ipynb', '.html')}"))
        assert len(fetched) == 1, fetched
        pages[user] = fetched[0].read_text()
        written = root / "course_work" / "feedback" / user / LAB / NOTEBOOK.replace(".ipynb", ".html")
        assert pages[user] == written.read_text(), f"{user} got another page than the grader wrote"
        assert "default-src 'none'" in pages[user], "the sanitised page, with its script policy"
    assert len(set(pages.values())) == len(STUDENTS)


def test_a_students_code_reads_nothing_of_others_or_the_course(course, hub, graded):
    """From the hostile student's kernel: their own files and the released lab are readable (the
    check can pass), the exchange's inbound and feedback folders cannot be listed, nor another
    student's home or the course root read."""
    root, exchange = course
    user, other = f"hub{TAG}-hostile", f"hub{TAG}-full"
    probes = {"own notebook": f"open({str(Path(pwd.getpwnam(user).pw_dir) / LAB / NOTEBOOK)!r}).read()",
              "released lab": f"os.listdir({str(exchange / COURSE_ID / 'outbound' / LAB)!r})",
              "inbound": f"os.listdir({str(exchange / COURSE_ID / 'inbound')!r})",
              "feedback": f"os.listdir({str(exchange / COURSE_ID / 'feedback')!r})",
              "other home": f"os.listdir({pwd.getpwnam(other).pw_dir!r})",
              "course root": f"os.listdir({str(root)!r})",
              "course.toml": f"open({str(root / 'course.toml')!r}).read()"}
    code = ("import json, os\nresult = {}\n" + "".join(
        f"try:\n    {action}\n    result[{name!r}] = 'read'\nexcept PermissionError:\n"
        f"    result[{name!r}] = 'denied'\n" for name, action in probes.items())
        + "print(json.dumps(result))")
    kernel = hub.json(f"/user/{user}/api/kernels", user, "POST", {"name": "python3"})["id"]
    url = hub.url.replace("http://", "ws://") + f"/user/{user}/api/kernels/{kernel}/channels"
    result = json.loads(asyncio.run(_execute(url, hub.tokens[user], code)))
    assert result == {name: "read" if name in ("own notebook", "released lab") else "denied"
                      for name in probes}


def test_only_instructors_open_the_formgrader_service(hub, graded):
    hub.start_servers([INSTRUCTOR])
    path = f"/services/{settings.FORMGRADER}/formgrader/api/assignments"
    status, answer = hub.call(path, INSTRUCTOR)
    assert status == 200 and LAB in [a["name"] for a in json.loads(answer)], (status, answer[:500])
    assert hub.call(path, f"hub{TAG}-full")[0] == 403
    refused = f"/services/{settings.FORMGRADER}/formgrader/api/assignment/{LAB}/release_feedback"
    status, answer = hub.call(refused, INSTRUCTOR, "POST", {})
    assert status == 403 and b"python -m grader" in answer, "the guard refuses nbgrader's own actions"
    assert hub.call(f"/user/{INSTRUCTOR}/assignments", INSTRUCTOR)[0] == 404, "no assignment list"


def log_in(browser, hub: Hub, user: str) -> None:
    from selenium.webdriver.common.keys import Keys

    browser.get(f"{hub.url}/hub/logout")  # whoever was logged in (the hub's cookie is /hub/'s only)
    browser.get(f"{hub.url}/hub/login")
    browser.find_element("id", "username_input").send_keys(user)
    browser.find_element("id", "password_input").send_keys(PASSWORD, Keys.ENTER)


def test_screenshots_of_a_students_assignments_and_the_instructors_formgrader(
        hub, graded, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    folder = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    user = f"hub{TAG}-partial"
    log_in(browser, hub, user)
    browser.get(f"{hub.url}/user/{user}/lab")
    wait = WebDriverWait(browser, 90)
    menu = "//div[@class='lm-MenuBar-itemLabel' and text()='Nbgrader']"
    wait.until(lambda b: b.find_elements(By.XPATH, menu))
    browser.find_element(By.XPATH, menu).click()
    items = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".lm-Menu-itemLabel") if e.text]
    assert items == ["Assignment List"], items
    browser.find_element(By.XPATH, "//div[@class='lm-Menu-itemLabel' and text()='Assignment List']").click()
    wait.until(lambda b: LAB in b.find_element(By.ID, "nbgrader-assignment-list").text)
    browser.save_screenshot(str(folder / "hub_student_assignments.png"))

    log_in(browser, hub, INSTRUCTOR)
    browser.get(f"{hub.url}/services/{settings.FORMGRADER}/formgrader/gradebook/{LAB}/getting_started")
    wait.until(lambda b: all(s in b.page_source for s in STUDENTS))
    browser.save_screenshot(str(folder / "hub_instructor_formgrader.png"))
