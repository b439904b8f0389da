"""Run student notebooks up to their first unanswered exercise: ``python first_exercise.py NB...``.

Everything before the first exercise must work; the first failure must be that exercise (or the
test cell checking it) raising NotImplementedError. Prints one line per notebook, "ok" or what went
wrong, and exits 1 if any notebook failed. A script (not a test module) so that it runs with the
Python of the environment under test, e.g. a published edition's own .venv.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

CELL_TIMEOUT_S = 60


def grading(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def first_exercise_verdict(path: Path) -> str:
    """'ok', or why the notebook did not stop at its first exercise."""
    nb = nbformat.read(path, as_version=4)
    exercises = [i for i, c in enumerate(nb.cells)
                 if c.cell_type == "code" and grading(c).get("solution")]
    if not exercises:
        return "has no exercise cells"
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as error:
                graded = grading(cell).get("solution") or grading(cell).get("grade")
                if index < exercises[0] or not graded:
                    return f"cell {index} failed before the first exercise (cell {exercises[0]}): {error}"
                if "NotImplementedError" not in str(error):
                    return f"cell {index} raised something else than NotImplementedError: {error}"
                return "ok"
    return "ran to the end without reaching an unanswered exercise"


def main(paths: list[str]) -> int:
    failed = 0
    for path in paths:
        verdict = first_exercise_verdict(Path(path))
        failed += verdict != "ok"
        print(f"{path}: {verdict}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
