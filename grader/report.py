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
in `extra` / `extra_max`, never in `score` / `max` (the lab's required points).
The `review` column is empty, or says why a person should look at the submission (its code
touches the interpreter's machinery, grader/integrity.py); the points it casts doubt on are
withheld until a person accepts them, never kept.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from .pipeline.rebuild import grade_id

MAX_REASONS = 4
WAITING = "; written answers wait for manual grading"


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
    late: str = ""  # '' (no due date), 'on time', 'late by ...: -N points' (grader/late.py)


def _cell_problems(nb) -> list[str]:
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
                what = "stopped at the time limit for one cell"
            else:
                value = re.sub(r"\x1b\[[0-9;]*m", "", str(output.get("evalue", ""))).strip()
                first = value.splitlines()[0][:120] if value else ""
                what = f"{output.get('ename')}: {first}"
            problems.append(f"cell {index} ({grade_id}): {what.rstrip(': ')}")
    return problems


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


def _log_error(log: str) -> str:
    """The reason nbgrader gave up on a notebook, in words a student can act on."""
    if "DeadKernelError" in log or "Kernel died" in log:
        return ("the kernel died while running the notebook (os._exit, a crash, or a resource "
                "limit: memory, CPU time, file size)")
    if "Timeout waiting for execute reply" in log:
        return ("a cell ran past its time limit and the kernel stopped responding (an endless "
                "loop, or a process or memory limit reached)")
    errors = [m.group(1) for m in re.finditer(r"\[\w+ \| ERROR\] (.*)", log)]
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    detail = next((line for line in reversed(lines) if re.match(r"\w+(Error|Exception)\b", line)),
                  errors[0] if errors else (lines[-1] if lines else "no log"))
    return f"nbgrader could not grade it: {detail[:300]}"


def diagnose(student, lab, returncode, log, notebooks, score, max_score, manual_pending,
             seconds, notebook_timeout, notes=()) -> Outcome:
    """Turn one autograde run into an Outcome with a status and a reason a student can read.

    notes: what the grader repaired or undid in the submission, said first in the reason
    """
    if returncode == -9:
        reason = (f"grading was stopped after {seconds:.0f} s: the notebook did not finish within "
                  f"its time limit ({notebook_timeout} s)")
        return Outcome(student, lab, 0.0, max_score, "timeout", reason)
    if returncode != 0 or not notebooks:
        reason = "; ".join([_log_error(log), *notes])
        return Outcome(student, lab, 0.0, max_score, "error", reason)
    parts = list(notes) + [problem for nb in notebooks for problem in _cell_problems(nb)]
    if len(parts) > MAX_REASONS:
        parts = parts[:MAX_REASONS] + [f"and {len(parts) - MAX_REASONS} more"]
    status = "needs manual grading" if manual_pending else "graded"
    if seconds >= notebook_timeout and any("time limit" in part for part in parts):
        status = "timeout"
        parts.insert(0, f"the notebook reached its time limit ({notebook_timeout} s)")
    reason = "; ".join(parts) or "all cells ran without errors"
    if manual_pending:
        reason += WAITING
    return Outcome(student, lab, round(score, 2), max_score, status, reason)


CSV_HEADER = ["student", "lab", "score", "max", "extra", "extra_max", "status", "late", "reason",
              "review"]


def is_optional(grade_id: str) -> bool:
    """Optional (extra-credit) graded cells are named `optional...` in the source notebooks."""
    return grade_id.startswith("optional")


def write_csv(outcomes: list[Outcome], path: Path) -> None:
    """One row per submission, the columns of CSV_HEADER."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        for o in outcomes:
            writer.writerow([o.student, o.lab, o.score, o.max_score, o.extra, o.extra_max, o.status,
                             o.late, o.reason, o.review])


def read_csv(path: Path) -> list[Outcome]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [Outcome(r["student"], r["lab"], float(r["score"]), float(r["max"]), r["status"],
                    r["reason"], r.get("review", ""), float(r.get("extra") or 0),
                    float(r.get("extra_max") or 0), r.get("late", "")) for r in rows]
