"""The grading cycle against real nbgrader runs, real sandboxed kernels, in a temporary course.

Two batches, each graded once per test session with `python -m grader grade --jobs 2`:
  lab 00:      full, blank, partial and every hostile example, with short limits
  other labs:  full, blank and (where present) partial, with course.toml's limits
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import warnings
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from postgres_server import postgres

from grader import sandbox
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


def tree_state(folder: Path) -> dict[str, tuple]:
    """Every entry under ``folder``, links and pipes included, with its mode and content."""
    state = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        content = (os.readlink(path) if stat.S_ISLNK(info.st_mode) else
                   hashlib.sha256(path.read_bytes()).hexdigest() if stat.S_ISREG(info.st_mode) else "")
        state[str(path.relative_to(folder))] = (info.st_mode, content)
    return state


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
# Attempts to pass failing asserts: each answer alone scores 1 (it overflows on large scores).
INFLATE = ["patched_asserts", "equals_anything", "ast_transformer", "input_transformer",
           "silenced_errors", "displayed_score"]
# Attacks on the interpreter the tests run in, the probes' channel and the grading metadata:
# none may score above what its answer earns (grader/pipeline, grader/integrity.py).
JUDGED = ["thread_repatch", "trace_hook", "forged_probe", "rebound_inputs", "excepthook_takeover",
          "guard_rewrite", "judge_hunt", "shared_state", "fake_probe_message", "display_update",
          "spoofed_verdict", "skip_tags", "inflated_points", "metadata_types", "attachment_bomb",
          "memory_children"]
# Correct answers that leave odd files behind, read the environment, inject HTML, interrupt
# themselves, or carry copy-pasted or broken grading metadata: each scores 3.
ODD = ["leftovers", "env_snoop", "html_injection", "own_interrupt", "duplicated_cells",
       "null_metadata"]
# The tail of the hostile set (tests/tail_examples.py): each with its exact row below (TAIL_ROWS).
TAIL = ["many_cells", "extra_grade_cell", "terminal_codes", "forged_time"]
CANARY = "canary-5e1a9c"


def odd_entries(source: Path) -> None:
    """Entries of a submissions folder that must each end as one row, never followed."""
    full = source / "full" / LAB00
    shutil.copytree(full, source / LAB00 / LAB00)  # a student id equal to a lab's name
    shutil.copytree(full, source / "bad name!" / LAB00)  # not a safe folder name
    (source / "mirror").symlink_to("full")  # a link to another student's folder
    (source / "linked" / LAB00).mkdir(parents=True)
    (source / "linked" / LAB00 / NOTEBOOK).symlink_to(full / NOTEBOOK)
    (source / "piped" / LAB00).mkdir(parents=True)
    os.mkfifo(source / "piped" / LAB00 / NOTEBOOK)


NOTEBOOK = "getting_started.ipynb"


@pytest.fixture(scope="module")
def lab00(tmp_path_factory):
    """Lab 00 graded once with every example student, hostile ones included."""
    base = tmp_path_factory.mktemp("lab00")
    course = make_course(base / "course")
    students = ["full", "blank", "partial", *HOSTILE, *INFLATE, *ODD, *JUDGED, *TAIL]
    source = submissions(base / "incoming", students, [LAB00])
    odd_entries(source)
    before = {name: tree_digest(course / name) for name in ("solutions", "labs")}
    states = {"course": tree_state(course), "incoming": tree_state(source)}
    listener = Listener(PORT)
    try:
        env = {k: v for k, v in os.environ.items() if k != "RNNLAB_PROFILE"}
        env["GRADER_SECRET_TOKEN"] = CANARY
        done = grade(course, source, "--lab", LAB00, "--cell-timeout", "20",
                     "--notebook-timeout", "90", "--memory-mb", "1536", env=env)
    finally:
        listener.close()
    outcomes = {o.student: o for o in read_csv(course / "course_work" / "grades.csv")}
    return {"course": course, "outcomes": outcomes, "before": before, "listener": listener,
            "done": done, "states": states, "source": source}


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
    required, optional = _autograded_max(lab)
    assert (full.score, full.extra) == (required, optional), f"{lab}: the solution scored {full}"
    assert full.status in ("graded", "needs manual grading"), full.reason
    assert blank.score == blank.extra == 0, blank
    assert blank.status in ("graded", "needs manual grading"), blank
    if ("partial", lab) in outcomes:
        partial = outcomes[("partial", lab)]
        earned = partial.score + partial.extra
        assert 0 < earned < required + optional, f"{lab}: partial scored {earned}: {partial.reason}"


def _autograded_max(lab: str) -> tuple[float, float]:
    """(required, optional) points of the lab's autograded test cells (written answers are
    marked by hand; optional cells' grade_id starts with 'optional')."""
    points = {False: 0.0, True: 0.0}
    for path in (REPO / "solutions" / lab).glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade") and cell.cell_type == "code":
                points[meta["grade_id"].startswith("optional")] += float(meta.get("points", 0))
    return points[False], points[True]


EXPECTED = {  # student: (score, status, words the reason must contain)
    "full": (3, "needs manual grading", "written answers wait"),
    "blank": (0, "graded", "NotImplementedError"),
    "partial": (1, "graded", "TestFailed: temperature 2 gives"),
    "infinite_loop": (0, "graded", "time limit"),
    "memory_bomb": (0, "graded", "MemoryError"),
    "os_exit": (0, "error", "kernel died"),
    "edited_tests": (1, "graded", "locked cell(s) edited"),
    "deleted_cells": (3, "graded", "graded cell(s) missing, put back from the course's version: "
                      "test_softmax_batch_temperature, softmax_question"),
    "invalid_json": (0, "invalid", "not a valid notebook"),
    "snoop": (0, "graded", "NameError"),
    "vandal": (0, "graded", "NameError"),
    "network": (0, "graded", "ConnectionRefusedError"),
    "print_100mb": (3, "graded", "all cells ran"),
    # flagged: the tests from the flagged cell on are withheld (0) until a person accepts them
    **{name: (0, "needs review", "cell 8 (test_softmax_batch_temperature): TestFailed: scores "
              "[1000, 0, -1000] give nan or inf") for name in INFLATE if name != "equals_anything"},
    "equals_anything": (0, "needs review", "cell 8 (test_softmax_batch_temperature): TestFailed: "
                        "while the test called your code, it raised ProbeDataError"),
    **{name: (0, "needs review", "cell 8 (test_softmax_batch_temperature): TestFailed: scores "
              "[1000, 0, -1000] give nan or inf") for name in
       ("thread_repatch", "trace_hook", "excepthook_takeover", "guard_rewrite")},
    "judge_hunt": (0, "needs review", "all cells ran without errors"),
    **{name: (1, "graded", "cell 8 (test_softmax_batch_temperature): TestFailed: scores "
              "[1000, 0, -1000] give nan or inf") for name in
       ("rebound_inputs", "fake_probe_message", "spoofed_verdict", "inflated_points")},
    "forged_probe": (1, "graded", "TestFailed: nan or inf on large scores"),
    "shared_state": (1, "graded", "TestFailed: a (2, 3) batch must give (2, 3) probabilities"),
    "display_update": (3, "graded", "all cells ran without errors"),
    "skip_tags": (0, "graded", "cell 7 (test_softmax_row): TestFailed: while the test called your "
                  "code, it raised NotImplementedError"),
    "metadata_types": (3, "graded", "had broken grading metadata, removed"),
    "attachment_bomb": (3, "needs manual grading", "attachments of cell(s) 10 over 2,097,152 "
                        "bytes, dropped"),
    "leftovers": (3, "needs manual grading", "all cells ran without errors"),
    "env_snoop": (3, "needs manual grading", "all cells ran without errors"),
    "html_injection": (3, "needs manual grading", "all cells ran without errors"),
    "own_interrupt": (3, "needs manual grading", "cell 6 (softmax): KeyboardInterrupt: I pressed"),
    "duplicated_cells": (3, "needs manual grading", "cell 7 is a copy of graded cell 'softmax': "
                         "graded once, from the course's version"),
    "null_metadata": (3, "needs manual grading", "cell 6 had broken grading metadata, removed"),
}
REVIEW = {  # student: words its review note must contain (everyone else: no note)
    "patched_asserts": "the assertion helpers (cell 6: np.isfinite =",
    "equals_anything": "comparison methods",
    "ast_transformer": "IPython's transformers, hooks or display machinery (cell 6: ast_transformers)",
    "input_transformer": "(cell 6: input_transformers_post)",
    "silenced_errors": "(cell 6: events.register)",
    "displayed_score": "(cell 6: displayhook)",
    "thread_repatch": "the assertion helpers (cell 6: np.allclose =",
    "trace_hook": "interpreter internals (cell 6: f_locals",
    "excepthook_takeover": "(cell 6: excepthook",
    "guard_rewrite": "interpreter internals (cell 6: _grader_guard",
    "judge_hunt": "interpreter internals (cell 6: gc.get_objects",
}
ODD_ROWS = {  # student: (lab, status, words of the reason)
    LAB00: ("", "invalid", "a student id cannot be a lab's name"),
    "bad name!": ("", "invalid", "student folder name must be"),
    "mirror": ("", "invalid", "a symbolic link, not followed"),
    "linked": (LAB00, "invalid", "getting_started.ipynb is a symbolic link, not followed"),
    "piped": (LAB00, "invalid", "not a regular file or folder (a named pipe"),
}


TAIL_ROWS = {  # student: (score, status, reason), exactly as grades.csv holds them; the written
    # answer was left as released, so nbgrader scores it 0 and nothing waits for a person
    "many_cells": (0, "invalid", f"{NOTEBOOK}: 1,212 cells, more than the 1,000 a notebook may "
                   "have (course.toml [grading] max_cells): not run, no points; merge cells and "
                   "hand it in again"),
    "extra_grade_cell": (3, "graded", f"{NOTEBOOK}: cell 8 is graded cell 'my_bonus', which the "
                         "course's notebook does not have: run as a plain cell, no points"),
    "terminal_codes": (3, "graded", "cell 12 (ungraded): SystemExit: \\x1b]0;grades: all 100\\x07"
                       "\\x1b[2K\\rdone \\u202eevil"),
    "forged_time": (3, "graded", "timestamp.txt in the submission ignored: times come from intake "
                    "or collect"),
}


@pytest.mark.parametrize("student", sorted(TAIL_ROWS))
def test_tail_examples_get_their_exact_rows(student, lab00):
    score, status, reason = TAIL_ROWS[student]
    outcome = lab00["outcomes"][student]
    assert (outcome.lab, outcome.score, outcome.max_score, outcome.status, outcome.reason,
            outcome.review, outcome.late) == (LAB00, score, 4, status, reason, "", ""), outcome


def test_no_control_character_from_a_submission_reaches_the_csv_or_the_terminal(lab00):
    printed = lab00["done"].stdout + lab00["done"].stderr
    written = (lab00["course"] / "course_work" / "grades.csv").read_text()
    for text in (printed, written):
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "SystemExit: \\x1b]0;grades: all 100\\x07\\x1b[2K\\rdone \\u202eevil" in written
    assert re.search(r"^terminal_codes +00_getting_started .*\\x1b", printed, re.MULTILINE)


@pytest.mark.parametrize("student", sorted(set(EXPECTED) - {"memory_children"}))
def test_each_example_gets_its_score_status_and_reason(student, lab00):
    score, status, words = EXPECTED[student]
    outcome = lab00["outcomes"][student]
    assert (outcome.score, outcome.status) == (score, status), outcome
    assert words in outcome.reason, outcome.reason
    assert outcome.max_score == 4
    assert (REVIEW[student] in outcome.review) if student in REVIEW else not outcome.review, outcome


def test_no_example_scores_above_its_honest_work(lab00):
    """Each attack's answer alone earns 1 point (or 3 for the right answers, 0 for a blank one):
    no trick adds to it, and a flag withholds rather than awards."""
    honest = {name: 1 for name in INFLATE + JUDGED}
    honest.update({"judge_hunt": 3, "display_update": 3, "metadata_types": 3, "attachment_bomb": 3,
                   "memory_children": 3, "skip_tags": 0})
    above = {name: lab00["outcomes"][name].score for name, earned in honest.items()
             if lab00["outcomes"][name].score > earned}
    assert not above, above


def test_judges_never_run_in_the_kernel(lab00):
    assert "judge code found in the kernel: 0" in autograded_cell_text(lab00["course"], "judge_hunt")


def test_output_caps_hold_for_attachments_and_display_updates(lab00):
    work = lab00["course"] / "course_work"
    for student in ("attachment_bomb", "display_update"):
        for kind in ("autograded", "feedback"):
            for path in (work / kind / student / LAB00).iterdir():
                assert path.stat().st_size < 1_000_000, f"{path}: {path.stat().st_size:,} bytes"


def test_memory_is_capped_for_the_whole_sandbox(lab00):
    """Six children of one kernel each try to hold 400 MB at once under --memory-mb 1536: the
    sandbox's memory cgroup stops them (a child or the kernel is killed), unlike per-process
    limits alone, which let all six hold 2.4 GB."""
    if not sandbox.memory_cgroups():
        pytest.skip("this machine does not let the grader make memory cgroups")
    outcome = lab00["outcomes"]["memory_children"]
    text = autograded_cell_text(lab00["course"], "memory_children") if outcome.status != "error" else ""
    held = re.search(r"held 400 MB at the same time: (\d)", text)
    assert outcome.status == "error" and "kernel died" in outcome.reason or (
        held and int(held.group(1)) <= 3), (outcome, text)


def test_accept_gives_back_the_withheld_points_as_judged(lab00, tmp_path):
    """A flagged submission scores 0 on its withheld tests; `grader accept` gives back exactly
    what the judge decided (1 point for thread_repatch's overflowing answer), never more."""
    course = tmp_path / "course"
    shutil.copytree(lab00["course"], course, symlinks=True)
    cmd = [sys.executable, "-m", "grader", "--course", str(course), "accept", "--lab", LAB00,
           "thread_repatch"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "thread_repatch (00_getting_started): 1 point(s) given back" in done.stdout
    rows = {o.student: o for o in read_csv(course / "course_work" / "grades.csv")}
    assert (rows["thread_repatch"].score, rows["thread_repatch"].status) == (1, "graded")
    assert rows["thread_repatch"].review.endswith("(accepted after review)")
    assert (rows["trace_hook"].score, rows["trace_hook"].status) == (0, "needs review")


@pytest.mark.parametrize("student", sorted(ODD_ROWS))
def test_odd_submission_entries_each_get_a_row_and_are_never_followed(student, lab00):
    lab, status, words = ODD_ROWS[student]
    outcome = lab00["outcomes"][student]
    assert (outcome.lab, outcome.score, outcome.status) == (lab, 0, status), outcome
    assert words in outcome.reason, outcome.reason


def test_nothing_outside_the_scratch_folders_is_created_changed_or_chmodded(lab00):
    """The kernels left links, a pipe, junk notebooks and non-UTF-8 names behind: none of them
    reached the course, and the submissions folder was never touched."""
    course = lab00["course"]
    after = tree_state(course)
    for path, state in lab00["states"]["course"].items():
        assert after[path] == state, f"{path} changed during grading"
    assert tree_state(lab00["source"]) == lab00["states"]["incoming"]
    work = course / "course_work"
    odd = [p for p in work.rglob("*") if p.is_symlink() or not (p.is_file() or p.is_dir())]
    assert not odd, odd
    assert stat.S_IMODE((work / "gradebook.db").stat().st_mode) == 0o644
    assert sorted(p.name for p in (work / "autograded" / "leftovers" / LAB00).iterdir()) == [NOTEBOOK]
    assert sorted(p.name for p in (work / "feedback" / "leftovers" / LAB00).iterdir()) == [
        "getting_started.html"]
    left = autograded_cell_text(course, "leftovers")
    assert "left behind:" in left and "gradebook.db" in left  # the kernel really made them


def test_no_secret_reaches_the_kernel_or_any_file(lab00):
    work = lab00["course"] / "course_work"
    assert "environment:" in autograded_cell_text(lab00["course"], "env_snoop")
    leaked = [p for p in work.rglob("*") if p.is_file() and CANARY.encode() in p.read_bytes()]
    assert not leaked, leaked
    assert "/run visible: False /var visible: False" in autograded_cell_text(lab00["course"],
                                                                            "env_snoop")


class ActiveParts(HTMLParser):
    """Collects what a browser would run in a page: script-like tags, event handlers, active URLs."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "iframe", "object", "embed", "link", "base", "form"):
            self.found.append(tag)
        for name, value in attrs:
            url = (value or "").strip().lower()
            if name.startswith("on") or url.startswith(("javascript:", "vbscript:", "data:text")):
                self.found.append(f"{tag} {name}={value}")


def active_parts(page: str) -> list[str]:
    parser = ActiveParts()
    parser.feed(page)
    return parser.found


def test_feedback_pages_are_inert_and_hide_the_hidden_tests(lab00):
    feedback = lab00["course"] / "course_work" / "feedback"
    for page in feedback.rglob("*.html"):
        text = page.read_text()
        assert not active_parts(text), f"{page}: {active_parts(text)}"
        for hidden in ("BEGIN HIDDEN TESTS", "probe_hidden", "judge_hidden", "def reference("):
            assert hidden not in text, f"{page}: {hidden}"
    partial = (feedback / "partial" / LAB00 / "getting_started.html").read_text()
    assert "TestFailed: temperature 2 gives" in partial  # which test failed and why
    assert "hidden tests ran here" in partial
    injected = (feedback / "html_injection" / LAB00 / "getting_started.html").read_text()
    assert "hover" in injected  # the student's output is there, inert
    assert active_parts("<b onmouseover='alert(1)'>x</b><script>1</script>")  # the check can fail
    flagged = (feedback / "patched_asserts" / LAB00 / "getting_started.html").read_text()
    assert "a person should look at this submission" in flagged


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
        if not outcome.lab:
            continue  # not a student's lab (an unsafe folder name, a link): no one to give it to
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
    assert "further output of this cell dropped" in autograded_cell_text(lab00["course"],
                                                                         "print_100mb")


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


def test_stderr_holds_progress_lines_and_no_sqlalchemy_warning(lab00):
    """Not a terminal: one progress line per submission graded, counting up to all of them with
    an ETA; and nbgrader's gradebook gives SQLAlchemy nothing to warn about."""
    stderr = lab00["done"].stderr
    assert "SAWarning" not in stderr and "\r" not in stderr
    counts = [(int(done), int(total)) for done, total in
              re.findall(r"^graded (\d+)/(\d+) submissions \(.*\), \d+:\d\d elapsed, ETA \d+:\d\d$",
                         stderr, re.MULTILINE)]
    total = counts[-1][1]
    assert counts == [(k, total) for k in range(1, total + 1)]
    rows = read_csv(lab00["course"] / "course_work" / "grades.csv")
    assert total == len([o for o in rows if o.status != "invalid"])  # what collect refused aside


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


def test_unsafe_zip_entries_are_skipped_and_everyone_else_graded(tmp_path):
    """One honest student in a zip with every kind of bad entry, and a bomb past unzip_mb."""
    course = make_course(tmp_path / "course")
    toml = course / "course.toml"
    toml.write_text(toml.read_text().replace("unzip_mb = 2048", "unzip_mb = 1"))
    solution = (REPO / "solutions" / LAB00 / NOTEBOOK).read_bytes()
    archive = tmp_path / "export.zip"
    link = zipfile.ZipInfo("mallory/link.ipynb")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr(f"honest/{LAB00}/{NOTEBOOK}", solution)
        zipped.writestr(f"../{LAB00}/{NOTEBOOK}", solution)
        zipped.writestr(f"/abs/{LAB00}/{NOTEBOOK}", solution)
        zipped.writestr(f"longname/{'x' * 300}.ipynb", solution)
        zipped.writestr(link, "/etc/passwd")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns about the duplicate on purpose
            zipped.writestr(f"honest/{LAB00}/{NOTEBOOK}", b"{ a second copy }")
        zipped.writestr(f"bomb/{LAB00}/{NOTEBOOK}", b"0" * (3 * 2**20))
    env = {k: v for k, v in os.environ.items() if k != "RNNLAB_PROFILE"}
    grade(course, archive, "--lab", LAB00, env=env)
    rows = read_csv(course / "course_work" / "grades.csv")
    honest = [o for o in rows if o.student == "honest" and o.lab == LAB00]
    assert len(honest) == 1 and honest[0].score == 3, rows
    reasons = [o.reason for o in rows if o.status == "invalid"]
    for words in ("path leaves the archive ('..')", "absolute or non-portable path",
                  "a name longer than 255 bytes", "a symbolic link",
                  "a second entry with the same name", "the zip expands beyond 1 MB"):
        assert sum(words in reason for reason in reasons) == 1, (words, reasons)
    assert not (tmp_path / LAB00).exists() and not list(tmp_path.rglob("link.ipynb"))


def test_written_answers_round_trip_through_csv_into_the_gradebook(lab00, tmp_path):
    """Export the written answers anonymised, score two in the CSV, import: grades.csv changes by
    exactly those scores; a CSV with one bad row imports nothing."""
    course = tmp_path / "course"
    shutil.copytree(lab00["course"], course, symlinks=True)
    out = tmp_path / "answers"

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "grader", "--course", str(course), *args],
                              capture_output=True, text=True, timeout=600)

    done = cli("answers", "export", "--lab", LAB00, "--out", str(out), "--anonymise")
    assert done.returncode == 0, done.stderr
    with (out / "softmax_question.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    with (course / "course_work" / "answers" / "anonymous_ids.csv").open(newline="") as handle:
        student_of = {r["anonymous_id"]: r["student"] for r in csv.DictReader(handle)}
    assert all(r["student"].startswith("anon-") for r in rows)
    by_student = {student_of[r["student"]]: r for r in rows}
    assert set(by_student) <= set(lab00["outcomes"]) and {"full", "blank"} <= set(by_student)
    assert "the ratio is unchanged" in by_student["full"]["answer"]
    assert by_student["full"]["points"] == "1" and by_student["full"]["score"] == ""
    page = (out / "softmax_question.html").read_text()
    assert "the ratio is unchanged" in page and not active_parts(page)
    headings = re.findall(r"<h3>(.*?)</h3>", page)
    assert sorted(headings) == sorted(r["student"] for r in rows), "one answer per anonymous id"

    by_student["full"].update(score="1", comment="clear and complete")
    by_student["html_injection"].update(score="0,5", comment="temperature missing")
    good, bad = tmp_path / "scores.csv", tmp_path / "bad.csv"
    for path, edit in ((good, {}), (bad, {"blank": "3"})):
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            for student, row in by_student.items():
                writer.writerow({**row, "score": edit.get(student, row["score"])})
    before = {o.student: o for o in read_csv(course / "course_work" / "grades.csv")}

    refused = cli("answers", "import", str(bad))
    assert refused.returncode == 2 and "nothing imported" in refused.stderr
    assert f"{bad}, row " in refused.stderr and "outside 0..1" in refused.stderr
    assert cli("answers", "import", str(good)).returncode == 0
    assert cli("export").returncode == 0
    after = {o.student: o for o in read_csv(course / "course_work" / "grades.csv")}
    gained = {s: after[s].score - before[s].score for s in after if after[s].score != before[s].score}
    assert gained == {"full": 1, "html_injection": 0.5}, gained
    assert after["full"].status == "graded" and "wait for manual grading" not in after["full"].reason
    with Gradebook(f"sqlite:///{course / 'course_work' / 'gradebook.db'}", "rnn-labs") as gb:
        comment = gb.find_comment("softmax_question", "getting_started", LAB00, "html_injection")
        assert comment.manual_comment == "temperature missing"


ON_POSTGRES = ["full", "blank", "partial", "html_injection", "os_exit"]


@pytest.fixture(scope="module")
def on_postgres(lab00, tmp_path_factory):
    """Five of lab 00's students graded again, the gradebook on a throw-away PostgreSQL server."""
    base = tmp_path_factory.mktemp("postgres")
    with postgres() as url:
        course = make_course(base / "course")
        with open(course / "course.toml", "a") as toml:
            toml.write(f'\n[gradebook]\ndb_url = "{url}"\n')
        for student in ON_POSTGRES:
            shutil.copytree(lab00["source"] / student, base / "incoming" / student)
        env = {k: v for k, v in os.environ.items() if k != "RNNLAB_PROFILE"}
        grade(course, base / "incoming", "--lab", LAB00, "--cell-timeout", "20",
              "--notebook-timeout", "90", "--memory-mb", "1536", env=env)
        yield {"course": course, "url": url}


def test_gradebook_on_postgresql_gives_the_same_grades(lab00, on_postgres):
    rows = {o.student: o for o in read_csv(on_postgres["course"] / "course_work" / "grades.csv")}
    assert rows == {student: lab00["outcomes"][student] for student in ON_POSTGRES}
    assert not (on_postgres["course"] / "course_work" / "gradebook.db").exists()


def test_two_graders_importing_at_once_into_postgresql_lose_nothing(on_postgres, tmp_path):
    """Two `answers import` processes at the same time, each scoring other students."""
    course = on_postgres["course"]

    def cli(*args):
        return [sys.executable, "-m", "grader", "--course", str(course), *args]

    subprocess.run(cli("answers", "export", "--lab", LAB00, "--out", str(tmp_path)), check=True,
                   capture_output=True, timeout=600)
    with (tmp_path / "softmax_question.csv").open(newline="") as handle:
        rows = {r["student"]: r for r in csv.DictReader(handle)}
    scores = {"full": "1", "html_injection": "0.5", "partial": "0"}
    sheets = []
    for index, students in enumerate((["full"], ["html_injection", "partial"])):
        sheets.append(tmp_path / f"grader{index}.csv")
        with sheets[-1].open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows["full"]))
            writer.writeheader()
            writer.writerows({**rows[s], "score": scores[s], "comment": f"by grader {index}"}
                             for s in students)
    before = {o.student: o.score for o in read_csv(course / "course_work" / "grades.csv")}
    imports = [subprocess.Popen(cli("answers", "import", str(sheet)), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for sheet in sheets]
    for process in imports:
        output = process.communicate(timeout=600)[0]
        assert process.returncode == 0, output
    subprocess.run(cli("export"), check=True, capture_output=True, timeout=600)
    after = {o.student: o.score for o in read_csv(course / "course_work" / "grades.csv")}
    assert {s: after[s] - before[s] for s in scores} == {"full": 1, "html_injection": 0.5, "partial": 0}
    with Gradebook(on_postgres["url"], "rnn-labs") as gb:
        assert gb.find_comment("softmax_question", "getting_started", LAB00, "partial"
                               ).manual_comment == "by grader 1"
        assert gb.find_grade("softmax_question", "getting_started", LAB00, "partial").manual_score == 0


ON_DASK = ["full", "blank", "partial", "html_injection", "os_exit"]


def started(command: list[str], folder: Path, env: dict) -> subprocess.Popen:
    folder.mkdir(parents=True)
    return subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.DEVNULL,
                            stderr=open(folder / "log.txt", "w"))


def test_dask_workers_grade_as_jobs_does_even_when_one_dies_mid_shard(lab00, tmp_path):
    """A real Dask scheduler and two workers on 127.0.0.1, each in its own folder as if on its own
    machine; one worker is killed while it grades a shard: the shard is graded again by the other,
    every student has one row and one gradebook entry, and the rows are the `--jobs` run's."""
    from distributed import Client

    course = make_course(tmp_path / "course")
    for student in ON_DASK:
        shutil.copytree(lab00["source"] / student, tmp_path / "incoming" / student)
    env = {k: v for k, v in os.environ.items() if k != "RNNLAB_PROFILE"}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    dask = str(Path(sys.executable).with_name("dask"))
    processes = {"scheduler": started([dask, "scheduler", "--host", "127.0.0.1", "--port",
                                       address.rsplit(":", 1)[1], "--no-dashboard"],
                                      tmp_path / "scheduler", env)}
    try:
        for name in ("w1", "w2"):
            processes[name] = started([dask, "worker", address, "--name", name, "--nthreads", "1",
                                       "--no-nanny", "--no-dashboard", "--host", "127.0.0.1",
                                       "--local-directory", str(tmp_path / name)], tmp_path / name, env)
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
            grading = subprocess.Popen(
                [sys.executable, "-m", "grader", "--course", str(course), "grade",
                 str(tmp_path / "incoming"), "--lab", LAB00, "--cell-timeout", "20",
                 "--notebook-timeout", "90", "--memory-mb", "1536", "--scheduler", address,
                 "--shard-size", "3"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True)
            victim = None
            for _ in range(600):
                busy = [w for w, keys in client.processing().items() if keys]
                if busy:
                    time.sleep(5)  # well into the shard: its set-up is done, a notebook is running
                    victim = client.scheduler_info()["workers"][busy[0]]["name"]
                    processes[victim].kill()
                    break
                time.sleep(0.2)
            output = grading.communicate(timeout=1200)[0]
        assert victim, "no worker ever received a shard"
        assert grading.returncode == 0, output[-5000:]
        counted = re.findall(r"^graded (\d+)/5 submissions \(", output, re.MULTILINE)
        assert counted == ["1", "2", "3", "4", "5"], "each student counted once, the re-graded too"
    finally:
        for process in processes.values():
            process.kill()
            process.wait(timeout=30)
    rows = read_csv(course / "course_work" / "grades.csv")
    assert sorted(o.student for o in rows) == sorted(ON_DASK)
    assert {o.student: o for o in rows} == {s: lab00["outcomes"][s] for s in ON_DASK}
    with sqlite3.connect(course / "course_work" / "gradebook.db") as db:
        entries = [student for student, in db.execute("SELECT student_id FROM submitted_assignment")]
    graded = [s for s in ON_DASK if lab00["outcomes"][s].status not in ("error", "timeout")]
    assert sorted(entries) == sorted(graded), "one gradebook entry per graded student, none twice"
    assert not list((course / "course_work" / ".workers").iterdir())


def test_grading_again_keeps_the_manual_grades_and_comments(lab00, tmp_path):
    """Runs last: it changes the lab 00 course's gradebook."""
    course = lab00["course"]
    with Gradebook(f"sqlite:///{course / 'course_work' / 'gradebook.db'}", "rnn-labs") as gb:
        gb.find_grade("softmax_question", "getting_started", LAB00, "full").manual_score = 1
        gb.find_comment("softmax_question", "getting_started", LAB00, "full").manual_comment = (
            "clear and complete")
        gb.db.commit()
    source = submissions(tmp_path / "again", ["full"], [LAB00])
    env = {k: v for k, v in os.environ.items() if k != "RNNLAB_PROFILE"}
    grade(course, source, "--lab", LAB00, env=env)
    rows = {o.student: o for o in read_csv(course / "course_work" / "grades.csv")}
    outcome = rows["full"]
    assert (outcome.score, outcome.status) == (4, "graded"), outcome
    assert set(rows) == set(lab00["outcomes"]), "grading one student dropped the others' rows"
    with Gradebook(f"sqlite:///{course / 'course_work' / 'gradebook.db'}", "rnn-labs") as gb:
        comment = gb.find_comment("softmax_question", "getting_started", LAB00, "full")
        assert comment.manual_comment == "clear and complete"
