"""The tail of the hostile set without a grading run: terminal-safe and spreadsheet-safe text in
every CSV writer (the per-question CSV's is in tests/test_lms.py), zip layouts and what collect
skips, reasons from nbgrader's log and the limits, trusted submission times, and `grade` given an
LMS download or nothing to grade. The bundled examples' rows from a real grading run are checked
in tests/test_grader_cycle.py (TAIL)."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import zipfile
from datetime import datetime
from pathlib import Path

import nbformat
import pytest

from grader.collect import collect
from grader.course import load_course
from grader.report import Outcome, _log_error, diagnose, read_csv, write_csv
from grader.term import answers, similarity
from grader.term.late import TRUSTED_TIMES, read_trusted_times
from grader.term.lms import export_gradebook, intake, looks_like_download, read_roster
from grader.text import read_rows, spreadsheet_safe, terminal_safe, write_rows

REPO = Path(__file__).resolve().parents[1]
LAB00, NOTEBOOK = "00_getting_started", "getting_started.ipynb"
EXAMPLES = REPO / "grader" / "examples"
FORMULAS = ['=HYPERLINK("http://x","y")', '+SUM(1,2)', '-2+3', '@SUM(1)', '\t=1', '\r=1',
            "'=quoted already", "'plain quote"]


def test_terminal_safe_escapes_control_ansi_and_bidi_characters_readably():
    hostile = "\x1b]0;title\x07\x1b[2K\rok \u202eevil\u2066x\u2069 \x9b\x00é 中"
    assert terminal_safe(hostile) == ("\\x1b]0;title\\x07\\x1b[2K\\rok \\u202eevil\\u2066x\\u2069 "
                                      "\\x9b\\x00é 中")
    assert terminal_safe("a\nb\tc") == "a\\nb\\tc"
    assert terminal_safe("a\nb\tc\x1b", lines=True) == "a\nb\tc\\x1b"
    assert terminal_safe("C:\\path") == "C:\\path"


@pytest.mark.parametrize("text", FORMULAS)
def test_text_that_starts_like_a_formula_gets_a_quote_and_reads_back_unchanged(text, tmp_path):
    assert spreadsheet_safe(text) == "'" + text
    kept = terminal_safe(text, lines=True)  # a carriage return is escaped, tabs are kept
    write_rows(tmp_path / "t.csv", ["text", "number"], [[text, -2.5]], lines=("text",))
    assert raw_cells(tmp_path / "t.csv") == [["text", "number"], [spreadsheet_safe(kept), "-2.5"]]
    assert_no_formula(tmp_path / "t.csv")
    with (tmp_path / "t.csv").open(newline="") as handle:
        assert read_rows(handle) == (["text", "number"], [{"text": kept, "number": "-2.5"}])


def test_numbers_stay_numbers():
    assert [spreadsheet_safe(v) for v in (-2.5, 3, "-2.5", "+1", "1e-3", "plain")] == [
        -2.5, 3, "-2.5", "+1", "1e-3", "plain"]


def raw_cells(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


def assert_no_formula(path: Path) -> None:
    """No cell of the file, as a spreadsheet reads it, starts a formula (numbers aside)."""
    for row in raw_cells(path):
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")) or spreadsheet_safe(
                cell) == cell, (path, cell)
            assert "\x1b" not in cell and "\u202e" not in cell, (path, cell)


def test_grades_csv_round_trips_formulas_and_escapes_control_characters(tmp_path):
    outcomes = [Outcome(f"s{i}", LAB00, -0.0 if i else 1.5, 4.0, "graded", text, text, late=text)
                for i, text in enumerate(FORMULAS)]
    outcomes.append(Outcome("t", LAB00, 0.0, 4.0, "graded", "SystemExit: \x1b]0;x\x07\u202e"))
    write_csv(outcomes, tmp_path / "grades.csv")
    assert_no_formula(tmp_path / "grades.csv")
    back = read_csv(tmp_path / "grades.csv")
    assert back[:-1] == [Outcome(o.student, o.lab, o.score, o.max_score, o.status,
                                 terminal_safe(o.reason), terminal_safe(o.review),
                                 late=terminal_safe(o.late)) for o in outcomes[:-1]]
    assert [o.reason for o in back[:6]] == FORMULAS[:4] + ["\\t=1", "\\r=1"]
    assert back[-1].reason == "SystemExit: \\x1b]0;x\\x07\\u202e"


@pytest.mark.parametrize("lms", ["canvas", "moodle", "csv"])
def test_lms_gradebook_exports_neutralise_roster_names(lms, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text('student,name,canvas_id,moodle_id,email\n'
                      'ada,"=HYPERLINK(""http://x"",""y"")",101,501,@ada@uni.edu\n')
    export_gradebook([Outcome("ada", LAB00, -2.5, 4, "graded", "")], read_roster(roster), lms,
                     tmp_path / "out.csv")
    assert_no_formula(tmp_path / "out.csv")
    cells = raw_cells(tmp_path / "out.csv")[1]
    assert cells[-1] == "-2.5"
    if lms == "canvas":
        assert cells[0] == "'=HYPERLINK(\"http://x\",\"y\")"
    if lms == "moodle":
        assert cells[0] == "'@ada@uni.edu"


def test_answers_and_anonymous_ids_csvs_round_trip_formulas(tmp_path):
    rows = [[f"s{i}", LAB00, "getting_started", "q", "1", "", text, f"{text}\nsecond line"]
            for i, text in enumerate(FORMULAS)]
    answers._write_csv(tmp_path / "q.csv", rows)
    assert_no_formula(tmp_path / "q.csv")
    with (tmp_path / "q.csv").open(newline="", encoding="utf-8") as handle:
        header, back = read_rows(handle)
    kept = [[terminal_safe(cell, lines=index >= 6) for index, cell in enumerate(row)] for row in rows]
    assert header == answers.COLUMNS and [list(r.values()) for r in back] == kept
    assert back[0]["comment"] == FORMULAS[0] and back[-1]["answer"] == "'plain quote\nsecond line"
    course = load_course(REPO)
    course = type(course)(**{**course.__dict__, "root": tmp_path})
    ids = answers.anonymous_ids(course, ["-ada", "=bob"])
    assert_no_formula(tmp_path / "course_work" / "answers" / answers.ANONYMOUS_IDS)
    assert answers._read_ids(tmp_path / "course_work" / "answers" / answers.ANONYMOUS_IDS) == ids


def test_similarity_csv_neutralises_student_names(tmp_path):
    pair = similarity.Pair(FORMULAS[0], "-bob", 0.5, [])
    similarity.write_csv(tmp_path / "s.csv", [pair])
    assert_no_formula(tmp_path / "s.csv")
    assert raw_cells(tmp_path / "s.csv")[1] == ["'" + FORMULAS[0], "'-bob", "0.500", ""]


# --- reasons -------------------------------------------------------------------------------

def test_an_nbgrader_failure_is_told_by_its_first_exception_in_one_line():
    log = (Path(__file__).with_name("logs") / "extra_grade_cell.log").read_text()
    assert _log_error(log) == (
        "nbgrader could not grade it: ValidationError: nbgrader cell does not have a grade_id: "
        "# my own test, worth 5 points (graded cell(s) the course's notebook does not have: my_bonus)")
    assert _log_error("[AutogradeApp | ERROR] Traceback (most recent call last):\n"
                      "  File 'x', line 1\n[AutogradeApp | ERROR] There was an error processing "
                      "assignment: x\nnbgrader.api.MissingEntry: no such cell\n") == (
        "nbgrader could not grade it: MissingEntry: no such cell")


def timed_out(seconds: int):
    """A graded notebook whose cell 1 was stopped after ``seconds`` (nbclient's message)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1"), nbformat.v4.new_code_cell(
        "while True: pass")])
    nb.cells[1].outputs = [nbformat.v4.new_output(
        "error", ename="CellTimeoutError", evalue=f"A cell timed out while it was being executed, "
        f"after {seconds} seconds.\nThe message was: Cell execution timed out.", traceback=[])]
    return nb


def test_a_stopped_cell_names_the_limit_that_stopped_it():
    own = diagnose("s", LAB00, 0, "", [timed_out(20)], 1, 4, False, 25, 90, cell_timeout=20)
    assert (own.status, own.score, own.reason) == (
        "graded", 1, "cell 1 (ungraded): stopped at the time limit for one cell (20 s)")
    left = diagnose("s", LAB00, 0, "", [timed_out(7)], 1, 4, False, 91, 90, cell_timeout=20)
    assert (left.status, left.score, left.reason) == ("timeout", 1, (
        "the notebook reached its time limit (90 s): the points of the tests that ran before are "
        "kept; cell 1 (ungraded): stopped when the notebook's time limit (90 s) ran out, after 7 s "
        "in this cell"))


def test_a_notebook_killed_at_its_limit_says_why_no_points_are_kept():
    killed = diagnose("s", LAB00, -9, "", [], 0, 4, False, 150, 90, ["a note"])
    assert (killed.status, killed.score, killed.reason) == ("timeout", 0, (
        "grading was stopped after 150 s: the notebook did not finish within its time limit (90 s) "
        "for all cells together; no points, as nbgrader scores a notebook only once it has run to "
        "its end; a note"))


# --- collect: layouts, skipped entries, limits, repairs, times -------------------------------

@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    shutil.copyfile(REPO / "course.toml", root / "course.toml")
    shutil.copytree(REPO / "solutions" / LAB00, root / "solutions" / LAB00)
    shutil.copytree(REPO / "labs" / LAB00, root / "labs" / LAB00)
    return load_course(root)


SOLUTION = (REPO / "solutions" / LAB00 / NOTEBOOK).read_bytes()


def zipped(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def test_a_wrapper_folder_named_like_a_lab_is_a_wrapper(course, tmp_path):
    archive = zipped(tmp_path / "in.zip", {f"{LAB00}/{s}/{LAB00}/{NOTEBOOK}": SOLUTION
                                           for s in ("alice", "bob")})
    found = collect(course, archive)
    assert (found.submissions, found.problems, found.warnings) == (
        [("alice", LAB00), ("bob", LAB00)], [], [])


def test_a_student_named_like_a_lab_among_others_is_still_refused(course, tmp_path):
    archive = zipped(tmp_path / "in.zip", {f"{s}/{LAB00}/{NOTEBOOK}": SOLUTION
                                           for s in ("alice", LAB00)})
    found = collect(course, archive)
    assert found.submissions == [("alice", LAB00)]
    assert [(p.student, p.status, p.reason) for p in found.problems] == [
        (LAB00, "invalid", "a student id cannot be a lab's name: rename the folder")]


def test_hidden_entries_are_named_as_skipped_and_letter_case_twins_warned(course, tmp_path):
    archive = zipped(tmp_path / "in.zip", {
        f"alice/{LAB00}/{NOTEBOOK}": SOLUTION, f"Alice/{LAB00}/{NOTEBOOK}": SOLUTION,
        "alice/.git/config": b"x", "alice/.git/HEAD": b"x", f"__MACOSX/alice/{LAB00}/._x": b"x",
        f"alice/{LAB00}/.DS_Store": b"x"})
    found = collect(course, archive)
    assert found.submissions == [("Alice", LAB00), ("alice", LAB00)] and found.problems == []
    assert found.warnings == [
        f"zip entries 'alice/{LAB00}/{NOTEBOOK}' and 'Alice/{LAB00}/{NOTEBOOK}' differ only in "
        "letter case: both taken, but on Windows or macOS they are one file; check which student "
        "is which",
        "zip entries under '__MACOSX/' skipped (1): a hidden folder (.git, __MACOSX, ...), not part "
        "of a submission",
        "zip entries under 'alice/.git/' skipped (2): a hidden folder (.git, __MACOSX, ...), not "
        "part of a submission",
        f"zip entry 'alice/{LAB00}/.DS_Store' skipped: a hidden file, not part of a submission"]


def test_names_are_compared_after_unicode_normalisation(course, tmp_path):
    archive = zipped(tmp_path / "in.zip", {f"alice/{LAB00}/{NOTEBOOK}": SOLUTION,
                                           f"alice/{LAB00}/caf\u00e9.txt": b"1",
                                           f"alice/{LAB00}/cafe\u0301.txt": b"2"})
    found = collect(course, archive)
    assert found.submissions == [("alice", LAB00)]
    assert [(p.student, p.reason) for p in found.problems] == [
        ("alice", f"zip entry 'alice/{LAB00}/cafe\\u0301.txt' skipped: a second entry with the "
                  "same name (after Unicode normalisation)")]


def example_folder(tmp_path: Path, *names: str) -> Path:
    for name in names:
        shutil.copytree(EXAMPLES / name, tmp_path / "in" / name)
    return tmp_path / "in"


def test_too_many_cells_is_refused_before_anything_runs(course, tmp_path):
    found = collect(course, example_folder(tmp_path, "many_cells"))
    assert found.submissions == []
    assert [(p.student, p.lab, p.status, p.reason) for p in found.problems] == [
        ("many_cells", LAB00, "invalid", f"{NOTEBOOK}: 1,212 cells, more than the 1,000 a notebook "
         "may have (course.toml [grading] max_cells): not run, no points; merge cells and hand it "
         "in again")]


def test_a_graded_cell_the_course_does_not_have_is_run_as_a_plain_cell(course, tmp_path):
    found = collect(course, example_folder(tmp_path, "extra_grade_cell"))
    assert found.notes == {("extra_grade_cell", LAB00): [
        f"{NOTEBOOK}: cell 8 is graded cell 'my_bonus', which the course's notebook does not "
        "have: run as a plain cell, no points"]}


def canvas_zip(path: Path, day: int) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo(f"lovelaceada_101_1_{NOTEBOOK}", (2026, 10, day, 12, 0, 0)),
                         SOLUTION)
    return path


def test_times_come_from_intake_and_a_students_timestamp_is_ignored(course, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student,name,canvas_id,moodle_id,email\nada,Ada Lovelace,101,,\n")
    times = course.work_dir / TRUSTED_TIMES
    incoming = tmp_path / "submissions"
    intake(canvas_zip(tmp_path / "c.zip", 5), read_roster(roster), "canvas", LAB00, NOTEBOOK,
           incoming, zone="Europe/Zurich", times=times)
    assert not (incoming / "ada" / LAB00 / "timestamp.txt").exists()
    assert read_trusted_times(times)[f"ada/{LAB00}"]["time"] == "2026-10-05T10:00:00+00:00"
    submitted = course.work_dir / "submitted" / "ada" / LAB00
    found = collect(course, incoming)
    assert found.notes[("ada", LAB00)] == []
    assert (submitted / "timestamp.txt").read_text() == "2026-10-05T10:00:00+00:00\n"

    (incoming / "ada" / LAB00 / "timestamp.txt").write_text("2026-10-01T00:00:00Z")
    found = collect(course, incoming)
    assert found.notes[("ada", LAB00)] == [
        "timestamp.txt in the submission ignored: times come from intake or collect"]
    assert (submitted / "timestamp.txt").read_text() == "2026-10-05T10:00:00+00:00\n"

    (incoming / "ada" / LAB00 / NOTEBOOK).write_bytes(SOLUTION + b"\n")  # changed after intake
    found = collect(course, incoming)
    assert found.notes[("ada", LAB00)] == [
        "timestamp.txt in the submission ignored: times come from intake or collect",
        f"{NOTEBOOK} is not the file intake took in from c.zip:lovelaceada_101_1_{NOTEBOOK}: "
        "submission time unknown (run intake again)"]
    assert not (submitted / "timestamp.txt").exists()
    times.unlink()


def test_collects_own_clock_times_what_intake_has_no_time_for(course, tmp_path):
    moment = datetime(2026, 10, 5, 21, 0)
    found = collect(course, example_folder(tmp_path, "forged_time"), received=moment)
    assert found.submissions == [("forged_time", LAB00)]
    stamp = course.work_dir / "submitted" / "forged_time" / LAB00 / "timestamp.txt"
    assert stamp.read_text() == "2026-10-05T21:00:00+00:00\n"  # not the forged 2026-01-01


# --- grade: an LMS download, nothing to grade ------------------------------------------------

def cli(course, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", "--course", str(course.root), *args],
                          capture_output=True, text=True, timeout=600)


def test_grade_given_an_lms_download_says_to_run_intake(course, tmp_path):
    grades = course.work_dir / "grades.csv"
    grades.parent.mkdir(parents=True, exist_ok=True)
    grades.write_text("earlier grades\n")
    archive = canvas_zip(tmp_path / "submissions.zip", 5)
    done = cli(course, "grade", str(archive))
    assert done.returncode == 2 and grades.read_text() == "earlier grades\n"
    assert done.stderr == (f"error: {archive} is a canvas submissions download: take it in first "
                           f"with `.venv/bin/grader intake {archive} --lms canvas --lab LAB`, then "
                           "run `.venv/bin/grader grade`\n")


@pytest.mark.parametrize("names, lms", [
    ([f"lovelaceada_LATE_101_9_{NOTEBOOK}", "__MACOSX/._x"], "canvas"),
    ([f"Ada Lovelace_501_assignsubmission_file_{NOTEBOOK}"], "moodle"),
    ([f"Ada Lovelace_501_assignsubmission_file/{NOTEBOOK}"], "moodle"),
    ([f"ada/{LAB00}/{NOTEBOOK}", f"bob_12_34_{NOTEBOOK}"], None),
    (["readme.txt"], None),
])
def test_an_lms_download_is_recognised_by_its_file_names(names, lms, tmp_path):
    assert looks_like_download(zipped(tmp_path / "in.zip", dict.fromkeys(names, b"{}"))) == lms


def test_grade_with_nothing_gradable_keeps_the_grades_csv(course, tmp_path):
    grades = course.work_dir / "grades.csv"
    grades.parent.mkdir(parents=True, exist_ok=True)
    grades.write_text("earlier grades\n")
    archive = zipped(tmp_path / "in.zip", {"../escape.ipynb": SOLUTION})
    done = cli(course, "grade", str(archive), "--lab", LAB00)
    assert done.returncode == 1, done.stderr
    assert grades.read_text() == "earlier grades\n"
    assert (f"nothing to grade in {archive} (1 problem row(s) above): the gradebook and grades.csv "
            "were left as they were") in done.stderr
    assert "path leaves the archive" in done.stdout
    grades.unlink()


def test_a_student_forged_time_is_never_taken_when_grading_a_folder(course, tmp_path):
    found = collect(course, example_folder(tmp_path, "forged_time"))
    assert found.notes == {("forged_time", LAB00): [
        "timestamp.txt in the submission ignored: times come from intake or collect"]}
    assert not (course.work_dir / "submitted" / "forged_time" / LAB00 / "timestamp.txt").exists()
