"""Flag submissions whose code reaches for the testing machinery, so that a person looks at them.

The grader restores a clean testing state before every test cell (grader/guard.py), but the
student's kernel is the student's process: what it cannot see, a person can. This scan reads the
student's own code (every code cell that is not one of the course's locked cells) and names what
it touches. It never changes a score; it fills the `review` column of grades.csv and puts a line
on the feedback page.
"""

from __future__ import annotations

import re

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


def review_note(submitted, released) -> str:
    """'' or one line naming what the student's code touches, e.g.
    "code touches the assertion helpers (cell 6: np.allclose =)".

    submitted, released: the student's notebook and the course's released notebook
    """
    locked = {cell.metadata["nbgrader"]["grade_id"] for cell in released.cells
              if (cell.get("metadata", {}).get("nbgrader") or {}).get("locked")}
    given = {cell.source for cell in released.cells if cell.cell_type == "code"}
    found = {}
    for index, cell in enumerate(submitted.cells):
        meta = cell.get("metadata", {}).get("nbgrader")
        if (cell.cell_type != "code" or cell.source in given
                or isinstance(meta, dict) and meta.get("grade_id") in locked):
            continue
        for what, pattern in CHECKS.items():
            match = pattern.search(cell.source)
            if match and what not in found:
                found[what] = f"cell {index}: {match.group(0).strip()[:40]}"
    if not found:
        return ""
    listed = "; ".join(f"{what} ({where})" for what, where in found.items())
    return f"code touches {listed}: a person should look at this submission"
