"""Flag submissions whose code reaches for the interpreter's machinery, and withhold the points
the flag casts doubt on until a person accepts them.

Tests are judged outside the student's kernel (grader/pipeline), so patching the kernel cannot
change a verdict; but code that reaches for the interpreter's machinery deserves a person's look
all the same. This scan reads the student's own code (every code cell that is not one of the
course's locked cells or given code) and names what it touches. A flagged notebook's test cells
from the first flagged cell on score 0 and wait for review (nbgrader's `needs_manual_grade`, so
formgrader lists them too) until `python -m grader accept` gives back what the judge decided.
A flag withholds points; it never awards any.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .pipeline.rebuild import grade_id
from .scoring import raised

CHECKS = {
    "IPython's transformers, hooks or display machinery": re.compile(
        r"\b(ast_transformers|input_transformers\w*|input_transformer_manager|events\.register"
        r"|pre_run_cell|post_run_cell|showtraceback|run_cell\w*|transform_cell|displayhook"
        r"|display_pub|excepthook|set_custom_exc)\b"),
    "Python's builtins": re.compile(r"\b(builtins|__builtins__)\b|\bprint\s*=[^=]"),
    "the assertion helpers": re.compile(
        r"\b(np|numpy|torch|math)(\.\w+)*\.(allclose|isclose|array_equal|isfinite|equal|testing"
        r"|assert_\w+)\s*=[^=]|\bsetattr\(\s*(np|numpy|torch|math|builtins|sys)\b"),
    "comparison methods (an object that could equal anything)": re.compile(
        r"\b__(eq|ne|bool|lt|gt|le|ge)__\b"),
    "interpreter internals": re.compile(
        r"\b(ctypes|settrace|setprofile|_grader_guard|__code__|f_globals|f_locals)\b"
        r"|\bgc\.get_(objects|referrers)\b|\bsys\.modules\s*\["),
}


@dataclass(frozen=True)
class Review:
    """What the scan found: the note for the review column ('' if nothing) and the index of the
    first flagged cell (None if nothing)."""

    note: str
    first: int | None


def review(notebook, reference) -> Review:
    """Scan ``notebook`` (what was graded) for code that touches the machinery, e.g. the note
    "code touches the assertion helpers (cell 6: np.allclose =)".

    reference: the course's notebook of the lab (released or source): its locked cells and its
    code cells are not the student's
    """
    locked = {gid for cell in reference.cells if (gid := grade_id(cell))
              and cell.metadata["nbgrader"].get("locked")}
    given = {cell.source for cell in reference.cells if cell.cell_type == "code"}
    found, first = {}, None
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or cell.source in given or grade_id(cell) in locked:
            continue
        for what, pattern in CHECKS.items():
            match = pattern.search(cell.source)
            if match:
                first = index if first is None else first
                found.setdefault(what, f"cell {index}: {match.group(0).strip()[:40]}")
    if not found:
        return Review("", None)
    listed = "; ".join(f"{what} ({where})" for what, where in found.items())
    return Review(f"code touches {listed}: a person should look at this submission; its tests "
                  f"from cell {first} on score 0 until accepted", first)


def withheld(notebook, first: int) -> list[str]:
    """grade_ids of the autograded test cells of ``notebook`` from cell ``first`` on."""
    return [gid for cell in notebook.cells[first:] if cell.cell_type == "code"
            and (gid := grade_id(cell)) and cell.metadata["nbgrader"].get("grade")
            and not cell.metadata["nbgrader"].get("solution")]


def judged(notebook) -> dict[str, bool]:
    """grade_id -> whether the judge passed each autograded test cell of a graded notebook."""
    return {grade_id(cell): not raised(cell) for cell in notebook.cells
            if grade_id(cell) in withheld(notebook, 0)}
