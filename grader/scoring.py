"""How an autograded test cell is scored: all its points when it ran to the end, else none.

nbgrader's own rule scores 0 for an error *or any stderr output*, and reads the first
`execute_result` as partial credit, even when an error follows it. Both can be gamed or can hurt
a correct answer (a library warning in a test cell costs all its points). The course's rule:
  - a test cell that raised (an `error` output, whatever was displayed before it) scores 0;
  - otherwise it scores its points; stderr output and displayed values change nothing.
The sandboxed executor adds an `error` output to a cell whose kernel reply said "error" without
showing one, and to a cell stopped at its time limit, so the outputs alone decide.
"""

from __future__ import annotations

from nbgrader import utils
from nbgrader.preprocessors import SaveAutoGrades


def raised(cell) -> bool:
    """True if the code cell ended in an error (an `error` output anywhere in its outputs)."""
    return any(output.get("output_type") == "error" for output in cell.get("outputs", []))


def test_cell_score(cell) -> float:
    """Points earned by an autograded code test cell: its points, or 0 if it raised."""
    points = float(cell.metadata["nbgrader"]["points"])
    return 0.0 if raised(cell) else points


class SaveCourseAutoGrades(SaveAutoGrades):
    """nbgrader's SaveAutoGrades with the course's rule for code test cells (see module doc)."""

    def _add_score(self, cell, resources) -> None:
        if cell.cell_type != "code" or utils.is_solution(cell):
            return super()._add_score(cell, resources)
        grade = self.gradebook.find_grade(
            cell.metadata["nbgrader"]["grade_id"], self.notebook_id, self.assignment_id,
            self.student_id,
        )
        grade.auto_score = test_cell_score(cell)
        grade.needs_manual_grade = grade.manual_score is not None
        self.gradebook.db.commit()
