"""Write the bundled examples of issue 27 and 26.6 into grader/examples/ (run from the repository
root: python tests/tail_examples.py). Each starts from lab 00's released notebook with a correct
softmax, as a student would hand it in, then adds its one oddity; outputs stay empty.

  many_cells        1,200 tiny code cells after the lab's: over course.toml's max_cells
  extra_grade_cell  a graded test cell the course's notebook does not have (grade_id my_bonus)
  terminal_codes    a last cell raising SystemExit with a window-title change, a bell, a line
                    erase and a right-to-left override in its message
  forged_time       a timestamp.txt of the student's own next to the notebook
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
LAB = "00_getting_started"
NOTEBOOK = "getting_started.ipynb"
SOFTMAX = '''import numpy as np


def softmax(scores, temperature=1.0):
    """Turn scores into probabilities over the last axis."""
    z = np.asarray(scores, dtype=float) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)
'''
EXTRA_CELLS = 1200
HOSTILE_MESSAGE = "\x1b]0;grades: all 100\x07\x1b[2K\rdone \u202eevil"


def answered():
    """Lab 00's released notebook with a correct softmax in its answer cell."""
    nb = nbformat.read(REPO / "labs" / LAB / NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "softmax":
            cell.source = SOFTMAX
    return nb


def many_cells(nb):
    nb.cells += [nbformat.v4.new_code_cell(f"x{i} = {i}") for i in range(EXTRA_CELLS)]


def extra_grade_cell(nb):
    test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_softmax_row")
    cell = copy.deepcopy(test)
    cell.source = "# my own test, worth 5 points\nassert True"
    cell.metadata.nbgrader.update(grade_id="my_bonus", points=5)
    cell.metadata.nbgrader.pop("checksum", None)
    nb.cells.insert(nb.cells.index(test) + 1, cell)


def terminal_codes(nb):
    nb.cells.append(nbformat.v4.new_code_cell(f"raise SystemExit({HOSTILE_MESSAGE!r})"))


def forged_time(nb):
    pass  # the notebook is honest; the timestamp.txt next to it is not


EXAMPLES = {"many_cells": many_cells, "extra_grade_cell": extra_grade_cell,
            "terminal_codes": terminal_codes, "forged_time": forged_time}


def main() -> None:
    for name, change in EXAMPLES.items():
        nb = answered()
        change(nb)
        released, seen = {cell.get("id") for cell in answered().cells}, set()
        for index, cell in enumerate(nb.cells):
            if cell.get("id") in seen or cell.get("id") not in released:
                cell["id"] = f"added-{index}"  # new cells: stable, unique ids
            seen.add(cell["id"])
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        folder = REPO / "grader" / "examples" / name / LAB
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / NOTEBOOK)
    stamp = REPO / "grader" / "examples" / "forged_time" / LAB / "timestamp.txt"
    stamp.write_text("2026-01-01T00:00:00Z\n")


if __name__ == "__main__":
    main()
