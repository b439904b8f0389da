"""The grader and nbgrader's file exchange (grader/exchange.py): students hand lab 00 in with
nbgrader's own ExchangeSubmit (several times each, one hostile), the instructor collects, grades and
returns feedback, and each student's nbgrader ExchangeFetchFeedback finds only their own page.

The folders a student's server would own are given the student's uid as course.toml's
[exchange] owners = "hashed" computes it (the test runs as root, as CI does)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange.default import ExchangeFetchFeedback, ExchangeSubmit
from test_grader_cycle import active_parts
from traitlets.config import Config

from grader.course import load_course
from grader.exchange import hashed_uid, release_feedback
from grader.exchange import publish as publish_labs
from grader.helm import hub_values, measured_peaks, server_mb
from grader.report import read_csv
from grader.term.late import parse_timestamp

REPO = Path(__file__).resolve().parents[1]
LAB00, NOTEBOOK = "00_getting_started", "getting_started.ipynb"
COURSE_ID = "rnn-labs"
NAME_TIME = "%Y-%m-%d %H:%M:%S.%f UTC"  # nbgrader's timestamp_format

AS_ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="gives folders the students' uids (root)")


def course_toml(**settings) -> str:
    """The repository's course.toml with some of its settings changed (e.g. root="/x")."""
    text = (REPO / "course.toml").read_text()
    for key, value in settings.items():
        text, count = re.subn(rf"^{key} = .*$", f"{key} = {json.dumps(value, default=str)}", text,
                              flags=re.MULTILINE)
        assert count == 1, key
    return text


def exchange_app(kind, root: Path, home: Path, student: str):
    """One of nbgrader's exchange classes for ``student`` working in ``home``."""
    config = Config()
    config.Exchange.root = str(root)
    config.Exchange.assignment_dir = str(home)
    config.Exchange.cache = str(home / ".cache")
    config.CourseDirectory.course_id = COURSE_ID
    config.CourseDirectory.assignment_id = LAB00
    config.CourseDirectory.student_id = student
    return kind(coursedir=CourseDirectory(config=config), authenticator=Authenticator(config=config),
                config=config)


def give_to(student: str, folder: Path) -> None:
    """Make ``folder`` and what is in it the student's, as their own server would have written it."""
    for path in [folder, *folder.iterdir()]:
        os.lchown(path, hashed_uid(student), -1)


def submit(root: Path, homes: Path, student: str, origin: Path) -> Path:
    """``student`` hands in the lab folder ``origin`` with nbgrader's ExchangeSubmit; returns the
    inbound folder it made."""
    home = homes / student
    shutil.rmtree(home / LAB00, ignore_errors=True)
    shutil.copytree(origin, home / LAB00)
    inbound = root / COURSE_ID / "inbound"
    before = set(inbound.iterdir())
    exchange_app(ExchangeSubmit, root, home, student).start()
    (made,) = set(inbound.iterdir()) - before
    give_to(student, made)
    return made


def by_hand(root: Path, name: str, notebook: bytes | None = None) -> Path:
    """An inbound folder written without nbgrader (a student's own process can do that)."""
    folder = root / COURSE_ID / "inbound" / name
    folder.mkdir()
    if notebook is not None:
        (folder / NOTEBOOK).write_bytes(notebook)
    (folder / "submission_secret.txt").write_text("ab" * 64)
    return folder


def name_time(folder: Path) -> datetime:
    return datetime.strptime(folder.name.split("+")[2], NAME_TIME)


def grader(course: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "grader", "--course", str(course), *args],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr[-4000:]}"
    return done


@AS_ROOT
def test_exchange_cycle_collects_latest_grades_and_returns_each_student_only_their_feedback(tmp_path):
    course, root, homes = tmp_path / "course", tmp_path / "exchange", tmp_path / "home"
    course.mkdir()
    (course / "course.toml").write_text(course_toml(unzip_mb=1, root=root, owners="hashed"))
    for folder in ("solutions", "labs"):
        shutil.copytree(REPO / folder / LAB00, course / folder / LAB00)
    publish_labs(load_course(course), [LAB00])
    assert oct((root / COURSE_ID / "inbound").stat().st_mode & 0o7777) == "0o2733"
    assert (root / COURSE_ID / "outbound" / LAB00 / NOTEBOOK).stat().st_mode & 0o777 == 0o644

    full, blank = REPO / "solutions" / LAB00, REPO / "labs" / LAB00
    started = datetime.now(UTC).replace(tzinfo=None)
    early = by_hand(root, f"eve+{LAB00}+2020-01-01 00:00:00.000000 UTC+early", (full / NOTEBOOK).read_bytes())
    give_to("eve", early)  # claims a time long before it was written
    first = submit(root, homes, "ada", blank)
    latest = {"ada": submit(root, homes, "ada", full),
              "bob": submit(root, homes, "bob", REPO / "grader" / "examples" / "partial" / LAB00),
              "eve": submit(root, homes, "eve", REPO / "grader" / "examples" / "html_injection" / LAB00)}
    later = datetime.now(UTC).strftime(NAME_TIME)
    by_hand(root, f"ada+{LAB00}+{later}+forged", (full / NOTEBOOK).read_bytes())  # root's, not ada's
    link = by_hand(root, f"carol+{LAB00}+{later}+link")
    (link / NOTEBOOK).symlink_to(latest["ada"] / NOTEBOOK)
    give_to("carol", link)
    give_to("dan", by_hand(root, f"dan+{LAB00}+{later}+big", b" " * (2**20 + 1)))
    by_hand(root, f"bad name!+{LAB00}+{later}+x", (full / NOTEBOOK).read_bytes())

    collected = grader(course, "collect", "--exchange")
    work = course / "course_work"
    assert sorted(p.name for p in (work / "submissions").iterdir()) == ["ada", "bob", "eve"]
    for reason in ("handed in under another student's name", f"carol {LAB00}: 'carol+{LAB00}+",
                   "a symbolic link, not followed", f"dan {LAB00}", "larger than 1 MB", "bad name!",
                   "student folder name must be"):
        assert reason in collected.stderr, (reason, collected.stderr)
    assert "after the time in its name" in collected.stderr
    times = json.loads((work / "submission_times.json").read_text())
    for student, folder in latest.items():
        assert parse_timestamp(times[f"{student}/{LAB00}"]["time"], "UTC") == name_time(folder)
    assert (work / "submissions" / "ada" / LAB00 / NOTEBOOK).read_bytes() == (full / NOTEBOOK).read_bytes()
    kept = sorted(p.name for p in (work / "exchange" / "ada" / LAB00).iterdir())
    assert len(kept) == 2 and kept[0].endswith(first.name.split("+")[3])  # the earlier one is kept
    eves = [json.loads((p / "submission.json").read_text())
            for p in (work / "exchange" / "eve" / LAB00).iterdir()]
    corrected = [parse_timestamp(e["time"], "UTC") for e in eves if e["folder"] == early.name]
    assert corrected and corrected[0] >= started.replace(microsecond=0)  # the file system's time

    grader(course, "grade", "--jobs", "2")
    rows = {row.student: row for row in read_csv(work / "grades.csv")}
    assert rows["ada"].score == 3 > rows["bob"].score  # all test points; the written answer waits
    released = grader(course, "feedback", "--release")
    assert "released through the exchange for 3 submission(s)" in released.stdout
    pages = sorted((root / COURSE_ID / "feedback").glob("*.html"))
    assert len(pages) == 3 and all(p.stat().st_mode & 0o777 == 0o644 for p in pages)

    for student, folder in latest.items():
        exchange_app(ExchangeFetchFeedback, root, homes / student, student).start()
        fetched = list((homes / student / LAB00 / "feedback").rglob("*.html"))
        assert [p.parent.name for p in fetched] == [folder.name.split("+")[2]], fetched  # latest only
        own = (work / "feedback" / student / LAB00 / "getting_started.html").read_text()
        assert fetched[0].read_text() == own
        assert not active_parts(own)
    assert len({p.read_text() for p in pages}) == 3  # three different pages, one per student

    newer = submit(root, homes, "bob", full)  # handed in again after grading
    grader(course, "collect", "--exchange", str(root))
    returned, skipped = release_feedback(load_course(course))
    assert "ada/00_getting_started" in returned and "bob/00_getting_started" not in returned
    assert any("another submission than the one collected last" in why for why in skipped)
    assert name_time(newer) > name_time(latest["bob"])


def test_hub_values_follow_course_settings_and_measured_peaks(tmp_path):
    """`grader hub-values`: the generation only (no Kubernetes here)."""
    course = tmp_path / "course"
    shutil.copytree(REPO / "solutions" / LAB00, course / "solutions" / LAB00)
    (course / "solutions" / "01_other").mkdir()
    (course / "solutions" / "01_other" / "other.ipynb").write_text("{}")
    (course / "course.toml").write_text(course_toml(
        root="/mnt/exchange", students=["ada", "bob"], instructors=["iris"]) + (
        '\n[kubernetes]\nimage = "registry.example/student:2026.1"\n'
        'exchange_claim = "course-exchange"\n'))
    results = tmp_path / "results"
    results.mkdir()
    small = {f"{LAB00}_kernel_peak_rss_mb": 300.0, "01_other_kernel_peak_rss_mb": 900.0,
             "01_other_children_peak_rss_mb": 400.0}
    for machine, figures in {"small": small, "big": {f"{LAB00}_kernel_peak_rss_mb": 350.0}}.items():
        (results / f"{machine}.json").write_text(
            json.dumps({"benchmarks": {"student_server_memory": figures}}))
    out = tmp_path / "values.yaml"
    grader(course, "hub-values", "--out", str(out), "--results", str(results))
    values = yaml.safe_load(out.read_text())
    single = values["singleuser"]
    assert single["image"] == {"name": "registry.example/student", "tag": "2026.1"}
    limits = {p["display_name"]: p["kubespawner_override"]["mem_limit"] for p in single["profileList"]}
    assert limits == {f"{LAB00} ({server_mb(350)} MB)": f"{server_mb(350)}M",
                      f"01_other ({server_mb(1300)} MB)": f"{server_mb(1300)}M"}
    assert server_mb(350) >= 350 + 512 and server_mb(1300) % 256 == 0
    assert [p["default"] for p in single["profileList"]] == [False, True]
    assert single["memory"]["limit"] == f"{server_mb(1300)}M"
    assert single["storage"]["extraVolumeMounts"] == [{"name": "nbgrader-exchange",
                                                       "mountPath": "/mnt/exchange"}]
    assert single["storage"]["extraVolumes"][0]["persistentVolumeClaim"]["claimName"] == "course-exchange"
    assert "c.Exchange.root = '/mnt/exchange'" in single["extraFiles"]["nbgrader-config"]["stringData"]
    assert values["hub"]["config"]["JupyterHub"]["load_groups"] == {
        "students": {"users": ["ada", "bob"]}, "instructors": {"users": ["iris"]}}
    hub_config = SimpleNamespace(KubeSpawner=SimpleNamespace())
    exec(values["hub"]["extraConfig"]["course-uid"], {"c": hub_config})
    spawner = SimpleNamespace(user=SimpleNamespace(name="ada"), uid=None)
    hub_config.KubeSpawner.pre_spawn_hook(spawner)
    assert spawner.uid == hashed_uid("ada") != hashed_uid("bob")
    (results / "big.json").unlink()
    (results / "small.json").write_text(json.dumps({"benchmarks": {"student_server_memory": {
        f"{LAB00}_kernel_peak_rss_mb": 300.0}}}))
    with pytest.raises(ValueError, match="no measured peak memory for 01_other"):
        hub_values(load_course(course), measured_peaks(results))


def test_the_values_in_docs_scaling_are_what_hub_values_writes_for_this_course():
    """docs/scaling.md shows the students' servers as course.toml and bench/results give them."""
    page = (REPO / "docs" / "scaling.md").read_text()
    shown_values = yaml.safe_load(re.search(r"```yaml\n(# zero-to-jupyterhub.*?)```", page, re.DOTALL)[1])
    values = hub_values(load_course(REPO), measured_peaks(REPO / "bench" / "results"))
    assert shown_values["singleuser"] == values["singleuser"]
