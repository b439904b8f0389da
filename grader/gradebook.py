"""The gradebook, the course's one truth: every outcome of every lab in, every view out.

nbgrader's tables hold the points (autograded, manual, extra credit), the comments and each
submission's time and extension. What nbgrader has no place for lives in one table of the
course's own in the same database (SQLite or PostgreSQL), OUTCOMES: per course, student and lab
the status grading gave, the reason a student can read and the review note. A submission
nbgrader could not grade (invalid, error, a notebook stopped at its time limit) has a row there
and none in nbgrader's tables.

Commands only write rows in (`record`, `set_review`, nbgrader's own writes); grades.csv, the LMS
imports, the per-question CSV and the feedback pages' notes are views rebuilt from both tables
over all labs (`outcomes`, `write_views`, `write_per_question`), so no command loses a row
another wrote and running any of them again gives the same views. A course graded before this
table existed is migrated on first use: its grades.csv's statuses, reasons and review notes go
in once.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.utils import compute_checksum
from sqlalchemy import Column, MetaData, String, Table, Text, and_, delete, insert, inspect, select

from . import nbgrader_run
from .report import WAITING, Outcome, is_optional, read_csv, write_csv
from .term.late import LatePolicy, after_penalty, late_note
from .text import write_rows

SCORED = ("graded", "needs manual grading", "needs review")  # statuses whose score counts

OUTCOMES = Table(
    "rnnlab_outcomes", MetaData(),
    Column("course_id", String(128), primary_key=True),
    Column("student", Text, primary_key=True),  # as submitted: a problem row's may be long
    Column("lab", Text, primary_key=True),
    Column("status", String(32), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("review", Text, nullable=False, default=""),
)


def open_gradebook(db_url: str, course_id: str) -> Gradebook:
    """nbgrader's gradebook at ``db_url`` (it checks its schema with `alembic` from PATH); a new
    SQLite one, course_work/ included, on a course that has none yet. Adding a submission to it
    without SQLAlchemy warnings: grader/executors/worker.py, quiet_add."""
    os.environ.update(nbgrader_run.with_venv_path(os.environ))
    if db_url.startswith("sqlite:///"):
        Path(db_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return Gradebook(db_url, course_id)


def _outcome_table(gb: Gradebook, grades_csv: Path) -> Table:
    """The OUTCOMES table of ``gb``'s database, created on first use and filled from an existing
    grades.csv (a course graded before the table existed)."""
    if inspect(gb.engine).has_table(OUTCOMES.name):
        return OUTCOMES
    try:
        earlier = read_csv(grades_csv) if grades_csv.is_file() else []
    except (KeyError, ValueError) as error:
        raise ValueError(f"{grades_csv} is not a grades.csv the grader wrote ({error}): move it "
                         "away, then run the command again") from None
    OUTCOMES.create(gb.engine, checkfirst=True)
    _upsert(gb, earlier)
    return OUTCOMES


def _upsert(gb: Gradebook, outcomes: list[Outcome]) -> None:
    """Replace the rows of ``outcomes``' (student, lab) in one transaction."""
    with gb.engine.begin() as db:
        for o in outcomes:
            db.execute(delete(OUTCOMES).where(_key(gb.course_id, o.student, o.lab)))
            db.execute(insert(OUTCOMES).values(
                course_id=gb.course_id, student=o.student, lab=o.lab, status=o.status,
                reason=o.reason.replace(WAITING, ""), review=o.review))


def _key(course_id: str, student: str, lab: str):
    return and_(OUTCOMES.c.course_id == course_id, OUTCOMES.c.student == student,
                OUTCOMES.c.lab == lab)


def record(course, outcomes: list[Outcome]) -> None:
    """Store what grading found for each (student, lab) of ``outcomes``; every other row stays."""
    with open_gradebook(course.gradebook_url, course.course_id) as gb:
        _outcome_table(gb, course.work_dir / "grades.csv")
        _upsert(gb, outcomes)


def set_review(course, lab: str, student: str, review: str) -> None:
    """Replace the review note of one student's lab (e.g. once a person accepted it)."""
    with open_gradebook(course.gradebook_url, course.course_id) as gb:
        _outcome_table(gb, course.work_dir / "grades.csv")
        with gb.engine.begin() as db:
            db.execute(OUTCOMES.update().where(_key(gb.course_id, student, lab)).values(review=review))


def outcomes(course) -> list[Outcome]:
    """Every (student, lab) the gradebook knows, sorted by lab then student: points from
    nbgrader's tables after the late penalty, status from both tables (a person's grading moves a
    submission from `needs manual grading` to `graded`), reason and review from OUTCOMES."""
    with open_gradebook(course.gradebook_url, course.course_id) as gb:
        table = _outcome_table(gb, course.work_dir / "grades.csv")
        with gb.engine.connect() as db:
            stored = {(r.student, r.lab): r for r in db.execute(
                select(table).where(table.c.course_id == gb.course_id))}
        maxima = {a.name: (float(a.max_score), sum(extra_credit_cells(course, a.name).values(), 0.0))
                  for a in gb.assignments}
        submissions = {(s.student.id, a.name): s for a in gb.assignments
                       for s in gb.assignment_submissions(a.name)}
        rows = [_view(key, stored.get(key), submissions.get(key), maxima.get(key[1], (0.0, 0.0)),
                      course.late) for key in sorted(set(stored) | set(submissions),
                                                     key=lambda k: (k[1], k[0]))]
    return rows


def _view(key, row, submission, maxima, policy: LatePolicy) -> Outcome:
    """One (student, lab)'s Outcome from its OUTCOMES row and nbgrader submission (either may be
    None: a submission graded through nbgrader alone, or one nbgrader could not grade)."""
    student, lab = key
    status, reason, review = (row.status, row.reason, row.review) if row else ("graded", "", "")
    top, extra_max = maxima
    if submission is None or status not in (*SCORED, "timeout"):
        return Outcome(student, lab, 0.0, top, status, reason, review, 0.0, extra_max, "")
    written, held = waiting(submission)
    if status != "timeout":
        status = "needs review" if held else "needs manual grading" if written else "graded"
    score, extra, late = scored(submission, policy)
    reason = (reason or "all cells ran without errors") + (WAITING if written else "")
    return Outcome(student, lab, score, top, status, reason, review, extra, extra_max, late)


def write_views(course, csv_path: Path | None = None) -> list[Outcome]:
    """grades.csv (or ``csv_path``) rebuilt from the gradebook over all labs; returns its rows."""
    rows = outcomes(course)
    write_csv(rows, csv_path or course.work_dir / "grades.csv")
    return rows


def write_per_question(course, path: Path) -> int:
    """One row per student x graded cell: student, lab, notebook, grade_id, score, max_score,
    status. The score includes manual grades and extra credit, as nbgrader counts it; a cell that
    waits for a person (a written answer, a test withheld for review) has an empty score and the
    status `ungraded`. Returns the number of rows."""
    rows = []
    with open_gradebook(course.gradebook_url, course.course_id) as gb:
        for assignment in gb.assignments:
            for submission in gb.assignment_submissions(assignment.name):
                rows += [(submission.student.id, assignment.name, notebook.name, grade.name,
                          "" if grade.needs_manual_grade else float(grade.score),
                          float(grade.max_score), "ungraded" if grade.needs_manual_grade else "graded")
                         for notebook in submission.notebooks for grade in notebook.grades]
    write_rows(path, ["student", "lab", "notebook", "grade_id", "score", "max_score", "status"],
               sorted(rows, key=lambda r: r[:4]))
    return len(rows)


def waiting(submission) -> tuple[bool, bool]:
    """(written answers wait for a person, test cells are withheld for review) of an nbgrader
    SubmittedAssignment (a withheld test is a code cell that needs a manual grade)."""
    pending = [grade for notebook in submission.notebooks for grade in notebook.grades
               if grade.needs_manual_grade]
    held = any(grade.cell.cell_type == "code" for grade in pending)
    return any(grade.cell.cell_type != "code" for grade in pending), held


def extra_credit_cells(course, lab: str) -> dict[tuple[str, str], float]:
    """(notebook, grade_id) -> points of each optional graded cell of a lab's source notebooks.
    Their points are extra credit: nbgrader's `extra_credit` field of a grade, outside the lab's
    maximum, so that every view (formgrader and nbgrader's feedback pages included) gives one
    required maximum and the extra credit beside it."""
    if lab not in course.labs():
        return {}
    found = {}
    for path in course.notebooks(lab):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and is_optional(meta.get("grade_id", "")):
                found[(path.stem, meta["grade_id"])] = float(meta["points"])
    return found


def register_extra_credit(db_url: str, course_id: str, lab: str) -> None:
    """After nbgrader registered a lab's cells with their points: an optional cell's maximum is
    0, its points come as extra credit (extra_credit_cells)."""
    with open_gradebook(db_url, course_id) as gb:
        for notebook in gb.find_assignment(lab).notebooks:
            for cell in notebook.grade_cells:
                if is_optional(cell.name):
                    cell.max_score = 0.0
                    source = gb.find_source_cell(cell.name, notebook.name, lab)
                    source.checksum = _checksum_at_zero(gb, source, notebook.name, lab)
        gb.db.commit()


def _checksum_at_zero(gb: Gradebook, source, notebook: str, lab: str) -> str:
    """nbgrader's checksum of a graded cell (it covers the points) once its points are 0, so that
    autograde, which compares a locked cell with it, finds the cell unchanged."""
    try:
        gb.find_solution_cell(source.name, notebook, lab)
        solution = True
    except MissingEntry:
        solution = False
    meta = {"grade": True, "solution": solution, "locked": source.locked, "grade_id": source.name,
            "points": 0.0}
    cell = (nbformat.v4.new_code_cell if source.cell_type == "code" else nbformat.v4.new_markdown_cell)(
        source.source, metadata={"nbgrader": meta})
    return compute_checksum(cell)


def is_extra_credit_test(grade) -> bool:
    """An optional test cell, whose extra credit the judge gives (not a person)."""
    return is_optional(grade.name) and grade.cell.cell_type == "code"


def split_score(submission) -> tuple[float, float]:
    """(required, extra credit) points earned by a submission (an nbgrader SubmittedAssignment)."""
    grades = [grade for notebook in submission.notebooks for grade in notebook.grades]
    extra = sum((float(grade.extra_credit or 0) for grade in grades), 0.0)
    return round(float(submission.score) - extra, 2), extra


def scored(submission, policy: LatePolicy) -> tuple[float, float, str]:
    """(required, optional) points of an nbgrader SubmittedAssignment once its late penalty is
    taken off, and the `late` column that explains it."""
    required, extra = split_score(submission)
    penalty = policy.penalty_for(submission.total_seconds_late, required + extra)
    required, extra = after_penalty(required, extra, penalty)
    return round(required, 2), round(extra, 2), late_note(submission, policy, penalty)


def max_score(course, lab: str) -> float:
    """The required maximum of a lab (0 for a lab the gradebook does not know)."""
    try:
        with open_gradebook(course.gradebook_url, course.course_id) as gb:
            return float(gb.find_assignment(lab).max_score)
    except MissingEntry:
        return 0.0
