"""The grading cycle against real nbgrader runs, real sandboxed kernels, in a temporary course.

Two batches, each graded once per test session with `python -m grader grade --jobs 2`:
  lab 00:      full, blank, partial and every hostile example, with short limits
  other labs:  full, blank and (where present) partial, with course.toml's limits
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest

from grader.report import read_csv

REPO = Path(__file__).resolve().parents[1]
LAB00 = "00_getting_started"
PORT = 45877  # the network example tries 127.0.0.1:45877
SOLUTIONS = sorted(p.name for p in (REPO / "solutions").iterdir() if any(p.glob("*.ipynb")))
OTHER_LABS = [lab for lab in SOLUTIONS if lab != LAB00]


def make_course(root: Path) -> Path:
    """A throwaway course root: course.toml, solutions/, labs/ copied from the repository."""
    root.mkdir(parents=True)
    shutil.copyfile(REPO / "course.toml", root / "course.toml")
    shutil.copytree(REPO / "solutions", root / "solutions")
    shutil.copytree(REPO / "labs", root / "labs")
    return root


def tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def submissions(root: Path, students: list[str], labs: list[str]) -> Path:
    """<root>/<student>/<lab>/<nb>: 'full' from solutions/, 'blank' from labs/, the rest from
    grader/examples/."""
    for lab in labs:
        for student in students:
            if student == "full":
                origin = REPO / "solutions" / lab
            elif student == "blank":
                origin = REPO / "labs" / lab
            else:
                origin = REPO / "grader" / "examples" / student / lab
            if origin.is_dir():
                shutil.copytree(origin, root / student / lab, dirs_exist_ok=True)
    return root


class Listener:
    """A TCP server on 127.0.0.1 that counts connections (none may arrive from a sandbox)."""

    def __init__(self, port: int):
        self.server = socket.create_server(("127.0.0.1", port))
        self.server.settimeout(0.5)
        self.connections = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopped.is_set():
            try:
                connection, _ = self.server.accept()
            except TimeoutError:
                continue
            self.connections += 1
            connection.close()

    def close(self):
        self.stopped.set()
        self.thread.join(timeout=5)
        self.server.close()


def grade(course: Path, source: Path, *options: str, env=None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "grader", "--course", str(course), "grade", str(source),
           "--jobs", "2", *options]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1500, env=env)
    assert done.returncode == 0, f"grader failed:\n{done.stdout}\n{done.stderr[-5000:]}"
    return done


HOSTILE = ["infinite_loop", "memory_bomb", "fork_bomb", "os_exit", "edited_tests",
           "deleted_cells", "invalid_json", "snoop", "vandal", "network", "print_100mb"]


@pytest.fixture(scope="module")
def lab00(tmp_path_factory):
    """Lab 00 graded once with every example student, hostile ones included."""
    base = tmp_path_factory.mktemp("lab00")
    course = make_course(base / "course")
    source = submissions(base / "incoming", ["full", "blank", "partial", *HOSTILE], [LAB00])
    before = {name: tree_digest(course / name) for name in ("solutions", "labs")}
    listener = Listener(PORT)
    try:
        env = {k: v for k, v in os.environ.items() if k != "RNNLAB_PROFILE"}
        done = grade(course, source, "--lab", LAB00, "--cell-timeout", "20",
                     "--notebook-timeout", "90", "--memory-mb", "1536", env=env)
    finally:
        listener.close()
    outcomes = {o.student: o for o in read_csv(course / "course_work" / "grades.csv")}
    return {"course": course, "outcomes": outcomes, "before": before, "listener": listener,
            "done": done}


@pytest.fixture(scope="module")
def other_labs(tmp_path_factory):
    """Every other lab graded once: its solution, its blank notebook, its partial example."""
    if not OTHER_LABS:
        return {}
    base = tmp_path_factory.mktemp("labs")
    course = make_course(base / "course")
    source = submissions(base / "incoming", ["full", "blank", "partial"], OTHER_LABS)
    grade(course, source)
    return {(o.student, o.lab): o for o in read_csv(course / "course_work" / "grades.csv")}


def autograded_cell_text(course: Path, student: str) -> str:
    path = course / "course_work" / "autograded" / student / LAB00 / "getting_started.ipynb"
    nb = nbformat.read(path, as_version=4)
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                     for o in c.outputs)


@pytest.mark.parametrize("lab", SOLUTIONS)
def test_solution_full_marks_blank_zero_partial_between(lab, request):
    if lab == LAB00:
        outcomes = {(s, LAB00): o for s, o in request.getfixturevalue("lab00")["outcomes"].items()}
    else:
        outcomes = request.getfixturevalue("other_labs")
    full, blank = outcomes[("full", lab)], outcomes[("blank", lab)]
    auto_max = _autograded_max(lab)
    assert full.score == auto_max, f"{lab}: the solution scored {full.score}/{auto_max}: {full.reason}"
    assert full.status in ("graded", "needs manual grading"), full.reason
    assert blank.score == 0 and blank.status in ("graded", "needs manual grading"), blank
    if ("partial", lab) in outcomes:
        partial = outcomes[("partial", lab)]
        assert 0 < partial.score < auto_max, f"{lab}: partial scored {partial.score}: {partial.reason}"


def _autograded_max(lab: str) -> float:
    """Points of the lab's autograded test cells (written answers are marked by hand)."""
    total = 0.0
    for path in (REPO / "solutions" / lab).glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade") and cell.cell_type == "code":
                total += float(meta.get("points", 0))
    return total


EXPECTED = {  # student: (score, status, words the reason must contain)
    "full": (3, "needs manual grading", "written answers wait"),
    "blank": (0, "graded", "NotImplementedError"),
    "partial": (1, "graded", "temperature ignored"),
    "infinite_loop": (0, "graded", "time limit"),
    "memory_bomb": (0, "graded", "MemoryError"),
    "os_exit": (0, "error", "kernel died"),
    "edited_tests": (1, "graded", "locked cell(s) edited"),
    "deleted_cells": (1, "needs manual grading", "deleted, scored 0: test_softmax_batch_temperature"),
    "invalid_json": (0, "invalid", "not a valid notebook"),
    "snoop": (0, "graded", "NameError"),
    "vandal": (0, "graded", "NameError"),
    "network": (0, "graded", "ConnectionRefusedError"),
    "print_100mb": (3, "graded", "all cells ran"),
}


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_example_gets_its_score_status_and_reason(student, lab00):
    score, status, words = EXPECTED[student]
    outcome = lab00["outcomes"][student]
    assert (outcome.score, outcome.status) == (score, status), outcome
    assert words in outcome.reason, outcome.reason
    assert outcome.max_score == 4


def test_fork_bomb_is_stopped_and_scores_zero(lab00):
    outcome = lab00["outcomes"]["fork_bomb"]
    assert outcome.score == 0 and outcome.status in ("graded", "error"), outcome
    # Python raises BlockingIOError at the process limit; with torch loaded, the failed fork can
    # also leave the kernel hung, and then the cell's time limit stops it.
    assert any(words in outcome.reason for words in
               ("BlockingIOError", "stopped responding", "time limit")), outcome


def test_every_submission_has_feedback(lab00):
    feedback = lab00["course"] / "course_work" / "feedback"
    for student, outcome in lab00["outcomes"].items():
        pages = list((feedback / student / LAB00).glob("*.html"))
        assert pages, f"no feedback for {student}"
        if outcome.status in ("error", "invalid"):
            assert outcome.reason.split(";")[0][:40] in pages[0].read_text().replace("&#x27;", "'")


def test_kernel_runs_under_the_grading_profile(lab00):
    assert "rnnlab: profile=grading" in autograded_cell_text(lab00["course"], "full")


def test_sandbox_hides_solutions_and_gradebook(lab00):
    assert "solution notebooks visible: 0" in autograded_cell_text(lab00["course"], "snoop")
    assert "files written outside my folder: 0" in autograded_cell_text(lab00["course"], "vandal")


def test_network_example_never_reaches_the_host(lab00):
    assert lab00["listener"].connections == 0


def test_huge_output_is_truncated(lab00):
    path = (lab00["course"] / "course_work" / "autograded" / "print_100mb" / LAB00
            / "getting_started.ipynb")
    assert path.stat().st_size < 1_000_000
    assert "output truncated" in autograded_cell_text(lab00["course"], "print_100mb")


def test_gradebook_and_sources_intact(lab00):
    course = lab00["course"]
    for name, digest in lab00["before"].items():
        assert tree_digest(course / name) == digest, f"{name}/ changed during grading"
    assert not list(course.rglob("vandal.txt"))
    with sqlite3.connect(course / "course_work" / "gradebook.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT COUNT(*) FROM grade WHERE manual_score = 99").fetchone() == (0,)
        students = {row[0] for row in db.execute("SELECT student_id FROM submitted_assignment")}
    graded = {s for s, o in lab00["outcomes"].items() if o.status not in ("error", "invalid")}
    assert graded <= students


def test_workers_are_cleaned_up(lab00):
    assert not list((lab00["course"] / "course_work" / ".workers").iterdir())


def test_notebook_time_limit_stops_a_slow_notebook(tmp_path):
    """A cell that would run for ever, a per-cell limit longer than the notebook's: the notebook
    limit stops it, the row says 'timeout', and the grader moves on."""
    course = make_course(tmp_path / "course")
    source = submissions(tmp_path / "incoming", ["infinite_loop"], [LAB00])
    grade(course, source, "--lab", LAB00, "--cell-timeout", "600", "--notebook-timeout", "20")
    (outcome,) = read_csv(course / "course_work" / "grades.csv")
    assert (outcome.score, outcome.status) == (0, "timeout"), outcome
    assert "time limit (20 s)" in outcome.reason


def test_export_rewrites_the_csv_from_the_gradebook(lab00, tmp_path):
    out = tmp_path / "export.csv"
    cmd = [sys.executable, "-m", "grader", "--course", str(lab00["course"]), "export", "--csv", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    exported = {o.student: o for o in read_csv(out)}
    assert set(exported) == set(lab00["outcomes"])
    for student, outcome in lab00["outcomes"].items():
        assert exported[student].score == outcome.score, student
