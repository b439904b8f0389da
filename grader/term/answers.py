"""Written answers for graders who do not use Jupyter: export them per question, import the scores.

``python -m grader answers export --lab L [--out DIR] [--anonymise]`` writes, for each written
question of lab L (a graded markdown cell of the solution: nbgrader leaves it to a person), one
page ``DIR/<question>.html`` (the question, its points, the model answer and rubric, then every
student's answer) and one ``DIR/<question>.csv`` with a row per graded student (COLUMNS; score and
comment hold what the gradebook already has, empty while ungraded). DIR defaults to
course_work/answers/<lab>/. With --anonymise the student column holds ids like ``anon-3f9c1a2b``;
the mapping stays in course_work/answers/anonymous_ids.csv, which graders never need.

``python -m grader answers import FILE.csv [...]`` reads the graders' CSVs back. Every row is
checked before anything is written (a known student, lab, notebook and question; a score between
0 and the question's points, or empty to leave the score as it is); with one bad row nothing is
imported and the error names the file, the row and the problem. The scores and comments then go
into the gradebook in one transaction; ``python -m grader export`` and ``feedback`` show them.
"""

from __future__ import annotations

import html
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import MissingEntry

from ..course import Course
from ..gradebook import open_gradebook
from ..report import is_optional
from ..text import read_rows, write_rows

COLUMNS = ["student", "lab", "notebook", "question", "points", "score", "comment", "answer"]
RUBRIC = "**Rubric (for graders)**"
ANONYMOUS_IDS = "anonymous_ids.csv"
SOLUTION_MARKERS = re.compile(r"^### (BEGIN|END) SOLUTION\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Question:
    """A written (hand-graded) answer cell of a lab's solution notebook."""

    lab: str
    notebook: str  # the notebook's name without .ipynb, as nbgrader names it
    grade_id: str
    points: float
    prompt: str  # the markdown just above the answer cell
    model_answer: str
    rubric: str


def written_questions(course: Course, lab: str, required: bool = True) -> list[Question]:
    """Every graded markdown answer cell of the lab's solution notebooks, in notebook order;
    a lab without one is an error when ``required``."""
    questions = []
    for path in sorted((course.source_dir / lab).glob("*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        prompt = ""
        for cell in cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "markdown" and meta.get("solution") and meta.get("grade"):
                answer, _, rubric = SOLUTION_MARKERS.sub("", cell.source).partition(RUBRIC)
                questions.append(Question(lab, path.stem, meta["grade_id"], float(meta["points"]),
                                          prompt, answer.strip(), rubric.strip(" :\n")))
            elif cell.cell_type == "markdown" and not meta:
                prompt = cell.source
    if not questions and required:
        raise ValueError(f"{lab} has no written questions (graded markdown cells)")
    return questions


def answers_dir(course: Course, lab: str) -> Path:
    return course.work_dir / "answers" / lab


def anonymous_ids(course: Course, students: list[str]) -> dict[str, str]:
    """student -> stable anonymous id, kept in course_work/answers/anonymous_ids.csv."""
    path = course.work_dir / "answers" / ANONYMOUS_IDS
    known = _read_ids(path)
    for student in students:
        known.setdefault(student, f"anon-{secrets.token_hex(4)}")
    write_rows(path, ["student", "anonymous_id"], sorted(known.items()))
    return known


def _read_ids(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    with path.open(newline="") as handle:
        return {row["student"]: row["anonymous_id"] for row in read_rows(handle)[1]}


def _student_answer(course: Course, question: Question, student: str) -> str:
    """The student's answer cell, as graded (course_work/autograded), found by its grade_id."""
    path = course.work_dir / "autograded" / student / question.lab / f"{question.notebook}.ipynb"
    if not path.is_file():
        return ""
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == question.grade_id:
            return cell.source
    return ""


def export_answers(course: Course, lab: str, out: Path | None = None,
                   anonymise: bool = False) -> list[Path]:
    """Write one HTML page and one CSV per written question of ``lab``; returns the files."""
    out = out or answers_dir(course, lab)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with open_gradebook(course.gradebook_url, course.course_id) as gb:
        students = sorted(s.student.id for s in gb.assignment_submissions(lab))
        shown = anonymous_ids(course, students) if anonymise else {s: s for s in students}
        for question in written_questions(course, lab):
            rows = []
            for student in students:
                try:
                    grade = gb.find_grade(question.grade_id, question.notebook, lab, student)
                    comment = gb.find_comment(question.grade_id, question.notebook, lab, student)
                except MissingEntry:
                    continue  # the notebook was not graded (e.g. it could not be read)
                score = "" if grade.manual_score is None else f"{grade.score:g}"
                rows.append([shown[student], lab, question.notebook, question.grade_id,
                             f"{question.points:g}", score, comment.manual_comment or "",
                             _student_answer(course, question, student)])
            rows.sort()
            written += [_write_csv(out / f"{question.grade_id}.csv", rows),
                        _write_page(out / f"{question.grade_id}.html", question, rows)]
    return written


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    """The question's CSV: COLUMNS, the answers keeping their lines (grader/text.py)."""
    return write_rows(path, COLUMNS, rows, lines=("comment", "answer"), encoding="utf-8")


def _write_page(path: Path, question: Question, rows: list[list[str]]) -> Path:
    """A plain page (no script, every student text escaped): question, rubric, then answers."""
    def block(text: str) -> str:
        return f"<pre>{html.escape(text)}</pre>"

    answers = "\n".join(f"<h3>{html.escape(row[0])}</h3>{block(row[-1] or '(no answer)')}"
                        for row in rows)
    path.write_text(f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(question.lab)}: {question.grade_id}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:auto}} pre{{white-space:pre-wrap;
background:#f4f4f4;padding:.5em}}</style></head><body>
<h1>{html.escape(question.lab)} / {question.notebook}: {question.grade_id} ({question.points:g} points)</h1>
<h2>Question</h2>{block(question.prompt)}
<h2>Model answer</h2>{block(question.model_answer)}
<h2>Rubric</h2>{block(question.rubric)}
<h2>Answers ({len(rows)})</h2>
<p>Enter scores and comments in {question.grade_id}.csv, then run
<code>python -m grader answers import {question.grade_id}.csv</code>.</p>
{answers}
</body></html>
""", encoding="utf-8")
    return path


def import_scores(course: Course, files: list[Path]) -> int:
    """Put the scores and comments of the graders' CSVs into the gradebook, all or nothing.
    Returns the number of answers given a score or a comment (rows left empty change nothing)."""
    by_anonymous = {a: s for s, a in _read_ids(course.work_dir / "answers" / ANONYMOUS_IDS).items()}
    problems, updates = [], []
    points = {(q.lab, q.notebook, q.grade_id): q.points for lab in course.labs()
              for q in written_questions(course, lab, required=False)}
    with open_gradebook(course.gradebook_url, course.course_id) as gb:
        for path in files:
            with Path(path).open(newline="", encoding="utf-8") as handle:
                header, rows = read_rows(handle)
                missing = set(COLUMNS[:7]) - set(header)
                if missing:
                    raise ValueError(f"{path}: no column(s) {', '.join(sorted(missing))}; export "
                                     "the answers again and fill in score and comment")
                for number, row in enumerate(rows, start=2):  # row 1 is the header
                    try:
                        updates.append(_checked_update(gb, row, by_anonymous, points))
                    except ValueError as problem:
                        problems.append(f"{path}, row {number}: {problem}")
        if problems:
            gb.db.rollback()
            raise ValueError("nothing imported; fix these rows and import again:\n  "
                             + "\n  ".join(problems))
        changed = [update for update in updates if update[2] is not None or update[3]]
        for grade, comment, score, text in changed:
            if score is not None and is_optional(grade.name):  # extra credit (grader/gradebook.py)
                grade.manual_score, grade.extra_credit = 0.0, score
            elif score is not None:
                grade.manual_score = score
            if score is not None:
                grade.needs_manual_grade = False
            if text:
                comment.manual_comment = text
        gb.db.commit()
    return len(changed)


def _checked_update(gb, row: dict, by_anonymous: dict[str, str],
                    points: dict[tuple[str, str, str], float]) -> tuple:
    """(grade, comment, score or None, comment text) for one CSV row, or ValueError saying why.

    points: (lab, notebook, grade_id) -> the written question's points (extra credit included)
    """
    student = by_anonymous.get(row["student"], row["student"])
    try:
        grade = gb.find_grade(row["question"], row["notebook"], row["lab"], student)
        comment = gb.find_comment(row["question"], row["notebook"], row["lab"], student)
    except MissingEntry:
        raise ValueError(f"no graded answer {row['question']!r} of {row['lab']}/{row['notebook']} "
                         f"for student {row['student']!r}") from None
    text = (row.get("comment") or "").strip()
    if not (row.get("score") or "").strip():
        return grade, comment, None, text
    try:
        score = float(row["score"].replace(",", "."))
    except ValueError:
        raise ValueError(f"score {row['score']!r} is not a number") from None
    most = points[(row["lab"], row["notebook"], row["question"])]
    if not 0 <= score <= most:
        raise ValueError(f"score {score:g} is outside 0..{most:g}, the question's points")
    return grade, comment, score, text
