"""Outcomes of grading: score, status and a readable reason per (student, lab), and the CSV export.

Statuses:
  graded                every autograded part is scored, nothing else to do
  needs manual grading  autograded; written answers wait for a person (nbgrader formgrader)
  needs review          the code reaches for the interpreter's machinery: its test cells from
                        the first flagged cell on score 0 until `python -m grader accept`
  timeout               the notebook ran out of time (partial credit for what ran before)
  error                 nbgrader could not grade it (e.g. the kernel died): score 0
  invalid               not a readable notebook, or not a lab of this course: score 0
Optional questions are extra credit: a graded cell whose grade_id starts with `optional` counts
in `extra` / `extra_max`, never in `score` / `max` (the lab's required points). In the gradebook
its maximum is 0 and its points are nbgrader's extra credit (grader/gradebook.py), so formgrader
and nbgrader's feedback pages show the same required maximum.
The `review` column is empty, or says why a person should look at the submission (its code
touches the interpreter's machinery, grader/integrity.py); the points it casts doubt on are
withheld until a person accepts them, never kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .pipeline.rebuild import grade_id
from .text import read_rows, write_rows

MAX_REASONS = 4
WAITING = "; written answers wait for manual grading"
PROVISIONAL = ("needs manual grading", "needs review")  # statuses whose score may still go up


@dataclass(frozen=True)
class Outcome:
    student: str
    lab: str
    score: float
    max_score: float
    status: str
    reason: str
    review: str = ""
    extra: float = 0.0  # optional (extra-credit) points earned, not counted in score
    extra_max: float = 0.0
    late: str = ""  # '' (no due date), 'on time', 'late by ...: -N points' (grader/term/late.py)


def _cell_problems(nb, cell_timeout: int | None = None, notebook_timeout: int | None = None
                   ) -> list[str]:
    """One line per code cell that ended in an error, e.g. 'cell 6 (softmax): NameError: ...'."""
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        # a timed-out cell shows the grader's interrupt (KeyboardInterrupt) and CellTimeoutError;
        # a KeyboardInterrupt alone is the student's own
        errors.sort(key=lambda o: o.get("ename") != "CellTimeoutError")
        for output in errors[:1]:
            meta = cell.get("metadata", {}).get("nbgrader")
            grade_id = meta.get("grade_id", "ungraded") if isinstance(meta, dict) else "ungraded"
            if output.get("ename") == "CellTimeoutError":
                what = _which_limit(str(output.get("evalue", "")), cell_timeout, notebook_timeout)
            else:
                value = re.sub(r"\x1b\[[0-9;]*m", "", str(output.get("evalue", ""))).strip()
                first = value.split("\n")[0][:120] if value else ""  # a '\r' is escaped, not a line
                what = f"{output.get('ename')}: {first}"
            problems.append(f"cell {index} ({grade_id}): {what.rstrip(': ')}")
    return problems


def _which_limit(message: str, cell_timeout: int | None, notebook_timeout: int | None) -> str:
    """Which limit stopped a cell, from nbclient's 'timed out ... after N seconds': the cell's
    own, or the time left of the notebook's (each cell gets at most what the notebook has left)."""
    given = re.search(r"after (\d+) seconds", message)
    seconds = int(given.group(1)) if given else None
    if seconds is not None and cell_timeout and seconds < cell_timeout and notebook_timeout:
        return (f"stopped when the notebook's time limit ({notebook_timeout} s) ran out, after "
                f"{seconds} s in this cell")
    limit = f" ({cell_timeout or seconds} s)" if (cell_timeout or seconds) else ""
    return f"stopped at the time limit for one cell{limit}"


def compare_with_release(submitted, released, source) -> list[str]:
    """What a student changed that the grader undoes: edited locked cells (graded with the
    course's version). Deleted graded cells are put back by the rebuild (grader/pipeline).

    submitted, released, source: the student's, the released and the solution notebook
    """
    def graded_cells(nb):
        return {gid: cell for cell in nb.cells if (gid := grade_id(cell))}

    mine, theirs, original = graded_cells(released), graded_cells(submitted), graded_cells(source)
    edited = [gid for gid, cell in mine.items() if cell.metadata["nbgrader"].get("locked")
              and gid in theirs and theirs[gid].get("source") not in (cell.source,
                                                                      original[gid].source)]
    if edited:
        return [f"locked cell(s) edited, graded with the course's version: {', '.join(edited)}"]
    return []


TRACEBACK_NOISE = ("Traceback (most recent call last)", "There was an error processing assignment",
                   "Please see the", "During handling of the above exception",
                   "The above exception was the direct cause")
EXCEPTION_LINE = re.compile(r"(?:[A-Za-z_][\w]*\.)*([A-Z]\w*(?:Error|Exception|Entry|Exit)): (.+)")
UNKNOWN_CELL = re.compile(r"Cell '([^']+)' does not exist in the database")


def _log_error(log: str) -> str:
    """The reason nbgrader gave up on a notebook, in one line a student can act on: the kernel's
    death, or the first exception of nbgrader's log (the cause; later ones follow from it)."""
    if "DeadKernelError" in log or "Kernel died" in log:
        return ("the kernel died while running the notebook (os._exit, a crash, or a resource "
                "limit: memory, CPU time, file size)")
    if "Timeout waiting for execute reply" in log:
        return ("a cell ran past its time limit and the kernel stopped responding (an endless "
                "loop, or a process or memory limit reached)")
    lines = [re.sub(r"^\[\w+ \| \w+\] ", "", line).strip() for line in log.splitlines()]
    lines = [line for line in lines if line and not line.startswith(TRACEBACK_NOISE)]
    exception = next((m for m in map(EXCEPTION_LINE.fullmatch, lines) if m), None)
    errors = [m.group(1) for m in re.finditer(r"\[\w+ \| ERROR\] (.*)", log)
              if not m.group(1).strip().startswith(TRACEBACK_NOISE)]
    if exception:
        detail = f"{exception.group(1)}: {exception.group(2)}"
    else:
        detail = errors[0] if errors else (lines[-1] if lines else "no log")
    unknown = UNKNOWN_CELL.findall(log)
    if unknown:
        detail += f" (graded cell(s) the course's notebook does not have: {', '.join(unknown)})"
    return f"nbgrader could not grade it: {detail[:300]}"


def diagnose(student, lab, returncode, log, notebooks, score, max_score, manual_pending,
             seconds, notebook_timeout, notes=(), cell_timeout: int | None = None) -> Outcome:
    """Turn one autograde run into an Outcome with a status and a reason a student can read.

    notes: what the grader repaired or undid in the submission, said first in the reason
    cell_timeout: the limit of one cell, to tell which limit stopped a cell
    """
    if returncode == -9:
        reason = (f"grading was stopped after {seconds:.0f} s: the notebook did not finish within "
                  f"its time limit ({notebook_timeout} s) for all cells together; no points, as "
                  "nbgrader scores a notebook only once it has run to its end")
        return Outcome(student, lab, 0.0, max_score, "timeout", "; ".join([reason, *notes]))
    if returncode != 0 or not notebooks:
        reason = "; ".join([_log_error(log), *notes])
        return Outcome(student, lab, 0.0, max_score, "error", reason)
    parts = list(notes) + [problem for nb in notebooks
                           for problem in _cell_problems(nb, cell_timeout, notebook_timeout)]
    if len(parts) > MAX_REASONS:
        parts = parts[:MAX_REASONS] + [f"and {len(parts) - MAX_REASONS} more"]
    status = "needs manual grading" if manual_pending else "graded"
    if seconds >= notebook_timeout and any("time limit" in part for part in parts):
        status = "timeout"
        parts.insert(0, f"the notebook reached its time limit ({notebook_timeout} s): the points "
                        "of the tests that ran before are kept")
    reason = "; ".join(parts) or "all cells ran without errors"
    if manual_pending:
        reason += WAITING
    return Outcome(student, lab, round(score, 2), max_score, status, reason)


def summary(o: Outcome) -> str:
    """The outcome's total as every view says it: 'Score: 7 / 8 required points, +1 / 2 extra
    credit; late by 1 d 3 h: -2 points (...)'."""
    extra = f", +{o.extra:g} / {o.extra_max:g} extra credit" if o.extra_max else ""
    late = f"; {o.late}" if o.late else ""
    return f"Score: {o.score:g} / {o.max_score:g} required points{extra} ({o.status}){late}"


CSV_HEADER = ["student", "lab", "score", "max", "extra", "extra_max", "status", "late", "reason",
              "review"]


def is_optional(grade_id: str) -> bool:
    """Optional (extra-credit) graded cells are named `optional...` in the source notebooks."""
    return grade_id.startswith("optional")


def write_csv(outcomes: list[Outcome], path: Path) -> None:
    """One row per submission, the columns of CSV_HEADER; text terminal- and spreadsheet-safe
    (grader/text.py)."""
    write_rows(path, CSV_HEADER, ([o.student, o.lab, o.score, o.max_score, o.extra, o.extra_max,
                                   o.status, o.late, o.reason, o.review] for o in outcomes))


def read_csv(path: Path) -> list[Outcome]:
    """The outcomes of a grades.csv written by write_csv."""
    with path.open(newline="") as handle:
        _, rows = read_rows(handle)
    return [Outcome(r["student"], r["lab"], float(r["score"]), float(r["max"]), r["status"],
                    r["reason"], r.get("review", ""), float(r.get("extra") or 0),
                    float(r.get("extra_max") or 0), r.get("late", "")) for r in rows]
