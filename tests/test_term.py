"""A whole term as one test, as an instructor runs it with the course's commands: two labs, eight
students, release, intake from Canvas, grade lab A, grade lab B, a resubmission graded again,
written answers exported and imported, one graded in formgrader through its REST API, an
extension, similarity, feedback, export. After every step the views must agree with the
gradebook (grader/gradebook.py): no student or row lost, one total in grades.csv, the LMS
export, the feedback pages and formgrader, review notes kept, no page with anything active.
It runs on SQLite, and on PostgreSQL where its server is installed."""

from __future__ import annotations

import csv
import json
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
from postgres_server import postgres, server_bin
from test_grader_cycle import active_parts, make_course

from grader.gradebook import SCORED
from grader.report import read_csv

REPO = Path(__file__).resolve().parents[1]
LAB_A, LAB_B = "00_getting_started", "00_warm_up"  # lab B: lab 00 again, under its own name
NOTEBOOK = "getting_started.ipynb"
STUDENTS = {  # student: what they hand in for lab A and for lab B (solution, release or an example)
    "ann": ("full", "full"), "bob": ("blank", "full"), "cy": ("partial", "partial"),
    "dee": ("html_injection", "full"), "eve": ("thread_repatch", "blank"),
    "fay": ("invalid_json", "full"), "gus": ("full", "full"), "hal": ("full", "partial")}
ON_TIME, ONE_DAY_LATE, TWO_DAYS_LATE = (2026, 10, 5, 20, 0, 0), (2026, 10, 6, 20, 0, 0), (
    2026, 10, 7, 9, 0, 0)
TERM = f"""
[late]
penalty = "per-day"
points_per_day = 1
timezone = "UTC"

[due]
"{LAB_A}" = 2026-10-05T23:59:00
"{LAB_B}" = 2026-10-05T23:59:00
"""


def notebook_of(work: str, lab: str) -> bytes:
    origin = {"full": REPO / "solutions" / LAB_A, "blank": REPO / "labs" / LAB_A}.get(
        work, REPO / "grader" / "examples" / work / LAB_A)
    return (origin / NOTEBOOK).read_bytes()


def canvas_zip(path: Path, lab: str, handed_in: dict[str, tuple[str, tuple]]) -> Path:
    """A Canvas 'download all submissions' zip: <login>_[LATE_]<user id>_<submission id>_<file>."""
    ids = {student: 200 + i for i, student in enumerate(STUDENTS)}
    with zipfile.ZipFile(path, "w") as zipped:
        for student, (work, moment) in handed_in.items():
            late = "LATE_" if moment > ON_TIME else ""
            name = f"{student}_{late}{ids[student]}_{9000 + ids[student]}_{NOTEBOOK}"
            zipped.writestr(zipfile.ZipInfo(name, moment), notebook_of(work, lab))
    return path


class Term:
    """A course root, the commands run on it, and what every view must keep from step to step."""

    def __init__(self, root: Path, db_url: str = ""):
        self.root = make_course(root)
        shutil.rmtree(self.root / "solutions")
        shutil.rmtree(self.root / "labs")
        for lab in (LAB_A, LAB_B):
            shutil.copytree(REPO / "solutions" / LAB_A, self.root / "solutions" / lab)
        with open(self.root / "course.toml", "a") as toml:
            toml.write(TERM + (f'\n[gradebook]\ndb_url = "{db_url}"\n' if db_url else ""))
            toml.write('\n[lms]\nroster = "course_work/roster.csv"\n')
        self.work = self.root / "course_work"
        self.work.mkdir()
        (self.work / "roster.csv").write_text("student,name,canvas_id,moodle_id,email\n" + "".join(
            f"{s},{s.title()},{200 + i},,{s}@uni.example\n" for i, s in enumerate(STUDENTS)))
        self.seen: set[tuple[str, str]] = set()
        self.reviews: dict[tuple[str, str], str] = {}
        self.times: dict[str, float] = {}

    def run(self, step: str, *args: str, expect: int = 0) -> subprocess.CompletedProcess:
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "grader", "--course", str(self.root), *args],
                              capture_output=True, text=True, timeout=900)
        self.times[step] = self.times.get(step, 0) + time.monotonic() - started
        assert done.returncode == expect, f"{step}: {args}\n{done.stdout}\n{done.stderr[-4000:]}"
        return done

    def grade(self, step: str, *args: str) -> None:
        self.run(step, "grade", *args, "--jobs", "2", "--cell-timeout", "30", "--notebook-timeout", "120")

    def rows(self) -> dict[tuple[str, str], object]:
        return {(o.student, o.lab): o for o in read_csv(self.work / "grades.csv")}

    def check(self, step: str, feedback_current: bool = False) -> dict:
        """The invariants after ``step``: every row seen so far is still there, each review note
        stays, the LMS export and (when current) the feedback pages say the same totals, and no
        page the course wrote has anything a browser would run."""
        rows = self.rows()
        lost = self.seen - set(rows)
        assert not lost, f"{step}: rows lost: {lost}"
        self.seen |= set(rows)
        for key, note in self.reviews.items():
            assert rows[key].review.startswith(note), f"{step}: review of {key} lost: {rows[key].review!r}"
        self.reviews.update({key: o.review for key, o in rows.items() if o.review})
        if feedback_current:
            for (student, lab), o in rows.items():
                folder = self.work / "feedback" / student / lab
                text = "".join(p.read_text() for p in folder.glob("*.html"))
                total = f"Score: {o.score:g} / {o.max_score:g} required points"
                assert total in text, f"{step}: {student} {lab}: the page does not say {total!r}"
        pages = [p for kind in ("feedback", "answers", "similarity")
                 for p in (self.work / kind).rglob("*.html")]
        active = {str(p): active_parts(p.read_text()) for p in pages if active_parts(p.read_text())}
        assert not active, f"{step}: pages with active parts: {active}"
        return rows


def lms_cells(path: Path) -> dict[tuple[str, str], str]:
    with path.open(newline="") as handle:
        table = list(csv.DictReader(handle))
    return {(row["student"], lab): row[lab] for row in table for lab in (LAB_A, LAB_B)}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def grade_in_formgrader(term: Term, student: str, score: float) -> dict:
    """Start `grader formgrade` (its page answers, its URL is printed), give ``student``'s written
    answer in lab A ``score`` through the REST API; returns formgrader's own view of lab A's
    submissions (score and maximum each)."""
    port, token = free_port(), "term-token"
    server = subprocess.Popen([sys.executable, "-m", "grader", "--course", str(term.root), "formgrade",
                               "--port", str(port), "--token", token],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    api = f"http://127.0.0.1:{port}/formgrader/api"
    headers = {"Authorization": f"token {token}", "Content-Type": "application/json"}

    def call(url, method="GET", body=None):
        request = urllib.request.Request(url, data=body, headers=headers, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or "null")

    try:
        for _ in range(120):
            try:
                call(f"{api}/assignments")
                break
            except OSError:
                time.sleep(0.5)
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/formgrader?token={token}", timeout=10)
        assert page.status == 200 and "formgrader" in page.geturl()
        notebooks = call(f"{api}/submitted_notebooks/{LAB_A}/getting_started")
        submission = next(n["id"] for n in notebooks if n["student"] == student)
        written = next(g["id"] for g in call(f"{api}/grades?submission_id={submission}")
                       if g["name"] == "softmax_question")
        assert call(f"{api}/grade/{written}", "PUT",
                    json.dumps({"manual_score": score}).encode())["manual_score"] == score
        shown = {s["student"]: s for s in call(f"{api}/submissions/{LAB_A}")}
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert f"http://127.0.0.1:{port}/formgrader?token={token}" in output, "the URL is printed"
    return shown


def play_term(term: Term, tmp: Path) -> dict:
    """Every step of the term, the invariants checked after each; returns the final rows."""
    term.run("release", "release")
    assert sorted(p.name for p in (term.root / "labs").iterdir()) == [LAB_A, LAB_B]

    late = {"gus": TWO_DAYS_LATE, "hal": ONE_DAY_LATE}
    for lab, which in ((LAB_A, 0), (LAB_B, 1)):
        handed_in = {s: (works[which], late.get(s, ON_TIME)) for s, works in STUDENTS.items()}
        term.run("intake", "intake", str(canvas_zip(tmp / f"{lab}.zip", lab, handed_in)),
                 "--lms", "canvas", "--lab", lab)

    term.grade("grade A", "--lab", LAB_A)
    rows = term.check("grade A", feedback_current=True)
    assert {s for s, lab in rows if lab == LAB_A} == set(STUDENTS)
    assert rows[("fay", LAB_A)].status == "invalid" and rows[("eve", LAB_A)].status == "needs review"
    assert rows[("gus", LAB_A)].late.startswith("late by 1 d 9 h: -2 points")

    term.grade("grade B", "--lab", LAB_B)
    rows = term.check("grade B", feedback_current=True)
    assert len(rows) == 2 * len(STUDENTS)

    resubmitted = canvas_zip(tmp / "bob_again.zip", LAB_A, {"bob": ("full", ON_TIME)})
    term.run("regrade A", "intake", str(resubmitted), "--lms", "canvas", "--lab", LAB_A,
             "--dest", str(term.work / "resubmitted"))
    term.grade("regrade A", str(term.work / "resubmitted"), "--lab", LAB_A)
    rows = term.check("regrade A")
    assert rows[("bob", LAB_A)].score == 3 and rows[("bob", LAB_A)].status == "needs manual grading"

    term.run("answers", "answers", "export", "--lab", LAB_A)
    answers = term.work / "answers" / LAB_A / "softmax_question.csv"
    with answers.open(newline="") as handle:
        table = list(csv.DictReader(handle))
    for row in table:
        row["score"] = "1" if row["student"] in ("ann", "dee") else ""
    with answers.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    term.run("answers", "answers", "import", str(answers))
    rows = term.check("answers")
    assert (rows[("ann", LAB_A)].score, rows[("ann", LAB_A)].status) == (4, "graded")

    started = time.monotonic()
    in_formgrader = grade_in_formgrader(term, "cy", 0.5)
    term.times["formgrader"] = time.monotonic() - started
    term.run("formgrader", "export")
    rows = term.check("formgrader")
    assert rows[("cy", LAB_A)].status == "graded"
    for student, shown in in_formgrader.items():
        mine = rows[(student, LAB_A)]
        if mine.status in SCORED and not mine.late.startswith("late"):
            assert (shown["score"], shown["max_score"]) == (mine.score, mine.max_score), student

    with open(term.root / "course.toml", "a") as toml:
        toml.write(f'\n[extensions."{LAB_A}"]\nhal = 2026-10-07T23:59:00\n')
    term.run("extension", "export")
    rows = term.check("extension")
    assert rows[("hal", LAB_A)].late == "on time (extension)" and rows[("hal", LAB_A)].score == 3

    term.run("similarity", "similarity", "--lab", LAB_A)
    term.check("similarity")

    term.run("feedback", "feedback")
    rows = term.check("feedback", feedback_current=True)

    done = term.run("export", "export", "--format", "csv")
    rows = term.check("export")
    cells = lms_cells(term.work / "grades_csv.csv")
    for key, o in rows.items():
        provisional = o.status in ("needs manual grading", "needs review")
        assert cells[key] == ("" if provisional else f"{o.score}"), (key, o)
    assert "provisional" in done.stderr and "eve (00_getting_started)" in done.stderr
    with (term.work / "grades_per_question.csv").open(newline="") as handle:
        questions = {(r["student"], r["lab"], r["grade_id"]): r for r in csv.DictReader(handle)}
    assert questions[("gus", LAB_A, "softmax_question")]["score"] == ""  # not graded yet: empty
    assert questions[("ann", LAB_A, "softmax_question")]["score"] == "1.0"
    return rows


@pytest.fixture(scope="module")
def term_on_sqlite(tmp_path_factory):
    base = tmp_path_factory.mktemp("term")
    term = Term(base / "course")
    return term, play_term(term, base)


def test_a_whole_term_holds_together_on_sqlite(term_on_sqlite):
    term, rows = term_on_sqlite
    print("wall time per step (s):", {step: round(s, 1) for step, s in term.times.items()})
    assert len(rows) == 16 and rows[("eve", LAB_A)].review


@pytest.mark.skipif(server_bin() is None, reason="PostgreSQL's server is not installed (make setup "
                    "installs it as root on Debian/Ubuntu)")
def test_the_same_term_on_postgresql_gives_the_same_views(term_on_sqlite, tmp_path):
    with postgres() as url:
        term = Term(tmp_path / "course", url)
        rows = play_term(term, tmp_path)
    print("wall time per step (s):", {step: round(s, 1) for step, s in term.times.items()})
    strip = re.compile(r"\d+(\.\d+)? s\b")
    assert {k: (o.score, o.status, o.late, strip.sub("", o.review)) for k, o in rows.items()} == {
        k: (o.score, o.status, o.late, strip.sub("", o.review)) for k, o in term_on_sqlite[1].items()}
