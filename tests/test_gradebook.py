"""The gradebook as the one truth (grader/gradebook.py): rows go in, every view comes out of it,
over all labs, on a real nbgrader SQLite gradebook (the PostgreSQL one runs in tests/test_term.py).
No notebook is graded here: submissions and their grades are written with nbgrader's own API."""

from __future__ import annotations

import csv
import shutil
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import nbformat
import pytest

from grader import gradebook
from grader.autograde import ensure_assignments
from grader.course import load_course
from grader.report import WAITING, Outcome, write_csv
from grader.term.late import LatePolicy
from grader.term.lms import export_gradebook, read_roster

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # nbgrader's models


def rows(path):
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


LABS = {"lab_a": [("test", 2, "code"), ("answer", 2, "markdown"), ("optional_test", 1, "code")],
        "lab_b": [("test", 3, "code")]}


@pytest.fixture
def course(tmp_path):
    """Two labs: lab_a (test 2 points, written answer 2, optional test 1: extra credit), lab_b
    (test 3), each a source notebook of graded cells, registered as the grader registers them."""
    shutil.copyfile(REPO / "course.toml", tmp_path / "course.toml")
    for lab, cells in LABS.items():
        nb = nbformat.v4.new_notebook(cells=[
            (nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell)(
                "", metadata={"nbgrader": {"grade": True, "grade_id": name, "points": points,
                                           "solution": kind != "code", "locked": kind == "code"}})
            for name, points, kind in cells])
        (tmp_path / "solutions" / lab).mkdir(parents=True)
        nbformat.write(nb, tmp_path / "solutions" / lab / f"{lab}.ipynb")
    (tmp_path / "course_work").mkdir()
    course = load_course(tmp_path)
    with gradebook.open_gradebook(course.gradebook_url, course.course_id) as gb:
        for lab, cells in LABS.items():
            gb.add_assignment(lab)
            gb.add_notebook(lab, lab)
            for name, points, kind in cells:
                gb.add_grade_cell(name, lab, lab, max_score=points, cell_type=kind)
                gb.add_source_cell(name, lab, lab, cell_type=kind, locked=kind == "code", source="")
    for lab in LABS:
        gradebook.register_extra_credit(course.gradebook_url, course.course_id, lab)
    return course


def submit(course, lab, student, **scores):
    """A submission of ``lab`` whose cells got ``scores``: auto for tests (extra credit for an
    optional one), manual for written answers (None: waits for a person)."""
    with gradebook.open_gradebook(course.gradebook_url, course.course_id) as gb:
        gb.update_or_create_student(student)
        gb.add_submission(lab, student, timestamp=datetime(2026, 10, 1, 12))
        for name, score in scores.items():
            grade = gb.find_grade(name, lab, lab, student)
            if gradebook.is_extra_credit_test(grade):
                grade.auto_score, grade.extra_credit = 0.0, score
            elif grade.cell.cell_type == "code":
                grade.auto_score = score
            else:
                grade.manual_score = score
            grade.needs_manual_grade = score is None
        gb.db.commit()


def view(course):
    return {(o.student, o.lab): o for o in gradebook.outcomes(course)}


def test_every_lab_and_student_is_kept_when_one_lab_is_graded_again(course):
    submit(course, "lab_a", "ann", test=2, answer=None, optional_test=1)
    submit(course, "lab_b", "ann", test=3)
    gradebook.record(course, [Outcome("ann", "lab_a", 2, 4, "needs manual grading", "flag" + WAITING,
                                      "reaches for sys.settrace"),
                              Outcome("bob", "lab_a", 0, 4, "invalid", "not a notebook"),
                              Outcome("ann", "lab_b", 3, 3, "graded", "all cells ran without errors")])
    gradebook.record(course, [Outcome("ann", "lab_b", 3, 3, "graded", "regraded")])
    rows_now = view(course)
    assert set(rows_now) == {("ann", "lab_a"), ("bob", "lab_a"), ("ann", "lab_b")}
    ann_a = rows_now[("ann", "lab_a")]
    assert (ann_a.score, ann_a.max_score, ann_a.extra, ann_a.extra_max) == (2, 4, 1, 1)
    assert (ann_a.status, ann_a.review) == ("needs manual grading", "reaches for sys.settrace")
    assert ann_a.reason == "flag" + WAITING  # the suffix is the gradebook's, never stored twice
    bob = rows_now[("bob", "lab_a")]
    assert (bob.score, bob.max_score, bob.status, bob.reason) == (0.0, 4.0, "invalid", "not a notebook")
    assert rows_now[("ann", "lab_b")].reason == "regraded"


def test_a_person_grading_the_answer_moves_the_status_and_the_score(course):
    submit(course, "lab_a", "ann", test=2, answer=None, optional_test=0)
    gradebook.record(course, [Outcome("ann", "lab_a", 2, 4, "needs manual grading", "")])
    with gradebook.open_gradebook(course.gradebook_url, course.course_id) as gb:
        grade = gb.find_grade("answer", "lab_a", "lab_a", "ann")
        grade.manual_score, grade.needs_manual_grade = 1.5, False
        gb.db.commit()
    ann = view(course)[("ann", "lab_a")]
    assert (ann.score, ann.status, ann.reason) == (3.5, "graded", "all cells ran without errors")


def test_an_invalid_resubmission_scores_zero_though_nbgrader_keeps_the_old_one(course):
    submit(course, "lab_b", "ann", test=3)
    gradebook.record(course, [Outcome("ann", "lab_b", 0, 3, "invalid", "not a notebook")])
    ann = view(course)[("ann", "lab_b")]
    assert (ann.score, ann.max_score, ann.status) == (0.0, 3.0, "invalid")


def test_grades_csv_is_rebuilt_the_same_each_time(course):
    submit(course, "lab_b", "ann", test=3)
    gradebook.record(course, [Outcome("bob", "lab_b", 0, 3, "error", "the kernel died")])
    path = course.work_dir / "grades.csv"
    first = gradebook.write_views(course)
    text = path.read_text()
    assert gradebook.write_views(course) == first and path.read_text() == text
    assert [r[:7] for r in rows(path)[1:]] == [["ann", "lab_b", "3.0", "3.0", "0.0", "0.0", "graded"],
                                               ["bob", "lab_b", "0.0", "3.0", "0.0", "0.0", "error"]]


def test_a_course_graded_before_the_table_is_migrated_from_its_grades_csv(course):
    submit(course, "lab_a", "ann", test=2, answer=1, optional_test=0)
    write_csv([Outcome("ann", "lab_a", 3, 4, "graded", "cell 3 (test): NameError: x", "reaches for gc"),
               Outcome("cy", "lab_a", 0, 4, "invalid", "not a notebook")], course.work_dir / "grades.csv")
    rows_now = view(course)
    assert rows_now[("ann", "lab_a")].review == "reaches for gc"
    assert rows_now[("cy", "lab_a")].status == "invalid"
    (course.work_dir / "grades.csv").unlink()  # migrated once: the gradebook holds them now
    assert set(view(course)) == {("ann", "lab_a"), ("cy", "lab_a")}


def test_set_review_changes_one_note(course):
    gradebook.record(course, [Outcome("ann", "lab_b", 0, 3, "graded", "", "flagged"),
                              Outcome("bob", "lab_b", 0, 3, "graded", "", "flagged")])
    gradebook.set_review(course, "lab_b", "ann", "flagged (accepted after review)")
    notes = {o.student: o.review for o in gradebook.outcomes(course)}
    assert notes == {"ann": "flagged (accepted after review)", "bob": "flagged"}


def test_per_question_leaves_ungraded_answers_empty_and_neutralises_formulas(course):
    submit(course, "lab_a", "ann", test=2, answer=None, optional_test=1)
    submit(course, "lab_b", '=HYPERLINK("http://x","y")', test=0)
    assert gradebook.write_per_question(course, course.work_dir / "q.csv") == 4
    assert rows(course.work_dir / "q.csv") == [
        ["student", "lab", "notebook", "grade_id", "score", "max_score", "status"],
        ["'=HYPERLINK(\"http://x\",\"y\")", "lab_b", "lab_b", "test", "0.0", "3.0", "graded"],
        ["ann", "lab_a", "lab_a", "answer", "", "2.0", "ungraded"],
        ["ann", "lab_a", "lab_a", "optional_test", "1.0", "0.0", "graded"],  # extra credit
        ["ann", "lab_a", "lab_a", "test", "2.0", "2.0", "graded"],
    ]


def test_the_lms_export_leaves_provisional_scores_out_unless_asked(course, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student,name,canvas_id,moodle_id,email\nann,Ann,1,,\nbob,Bob,2,,\n")
    submit(course, "lab_a", "ann", test=2, answer=None, optional_test=1)
    submit(course, "lab_a", "bob", test=2, answer=2, optional_test=0)
    outcomes = gradebook.outcomes(course)
    export_gradebook(outcomes, read_roster(roster), "csv", tmp_path / "out.csv",
                     include_provisional=False)
    assert rows(tmp_path / "out.csv")[1:] == [["ann", "", ""], ["bob", "4.0", "0.0"]]
    export_gradebook(outcomes, read_roster(roster), "csv", tmp_path / "out.csv")
    assert rows(tmp_path / "out.csv")[1] == ["ann", "2.0", "1.0"]


def test_late_text_spells_out_the_rule_and_the_cap(course):
    course = replace(course, late=LatePolicy("per-day", 1.0, due={"lab_b": datetime(2026, 9, 24, 12)}))
    with gradebook.open_gradebook(course.gradebook_url, course.course_id) as gb:
        gb.find_assignment("lab_b").duedate = course.late.due["lab_b"]
        gb.db.commit()
    submit(course, "lab_b", "ann", test=3)  # 7 days late, 7 points at most 3
    submit(course, "lab_a", "bob", test=2, answer=1, optional_test=0)  # lab_a has no due date
    rows_now = view(course)
    assert rows_now[("ann", "lab_b")].late == ("late by 7 d 0 h: -3 points (1 per started day late, "
                                               "7 days, at most the score)")
    assert rows_now[("ann", "lab_b")].score == 0 and rows_now[("bob", "lab_a")].late == ""


def test_a_lab_with_optional_questions_has_one_maximum_in_nbgrader_too(tmp_path):
    """Registered as grading registers it, lab 01's gradebook maximum is its required points (what
    formgrader and nbgrader's feedback pages show); the optional question is extra credit."""
    lab = "01_char_lstm_keras"
    shutil.copyfile(REPO / "course.toml", tmp_path / "course.toml")
    shutil.copytree(REPO / "solutions" / lab, tmp_path / "solutions" / lab)
    course = load_course(tmp_path)
    ensure_assignments(course, [lab])
    points = {False: 0.0, True: 0.0}
    for path in course.notebooks(lab):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade"):
                points[meta["grade_id"].startswith("optional")] += float(meta["points"])
    assert points[True] > 0, "lab 01 has an optional question"
    with gradebook.open_gradebook(course.gradebook_url, course.course_id) as gb:
        assert float(gb.find_assignment(lab).max_score) == points[False]
    assert sum(gradebook.extra_credit_cells(course, lab).values()) == points[True]
