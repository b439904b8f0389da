"""Every solution notebook runs clean under the test profile; every student notebook runs up to
its first unanswered exercise. Both executed by a real Jupyter kernel (nbclient)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted(REPO.glob("solutions/*/*.ipynb"))
RELEASED = sorted(REPO.glob("labs/*/*.ipynb"))
DEFAULT_BUDGET_S = 60
MAX_BUDGET_S = 60


def _budget(nb) -> int:
    budget = nb.metadata.get("rnnlab", {}).get("test_budget_s", DEFAULT_BUDGET_S)
    assert budget <= MAX_BUDGET_S, f"a stated test budget must be at most {MAX_BUDGET_S} s"
    return budget


@pytest.fixture(autouse=True)
def _test_profile(monkeypatch):
    """The kernel inherits this process's environment: run it under the test profile."""
    monkeypatch.setenv("RNNLAB_PROFILE", "test")
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)


def _client(nb, workdir: Path) -> NotebookClient:
    return NotebookClient(nb, timeout=MAX_BUDGET_S, kernel_name="python3",
                          resources={"metadata": {"path": str(workdir)}})


def _copy_lab(notebook: Path, tmp_path: Path) -> Path:
    workdir = tmp_path / notebook.parent.name
    shutil.copytree(notebook.parent, workdir)
    return workdir


@pytest.mark.parametrize("notebook", SOLUTIONS, ids=[p.parent.name for p in SOLUTIONS])
def test_solution_runs_clean_under_the_test_profile(notebook, tmp_path):
    nb = nbformat.read(notebook, as_version=4)
    budget = _budget(nb)
    start = time.perf_counter()
    _client(nb, _copy_lab(notebook, tmp_path)).execute()
    elapsed = time.perf_counter() - start
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    assert elapsed <= budget, f"{notebook.name} took {elapsed:.0f} s, over its {budget} s budget"


def _is_graded_code(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and (meta.get("solution", False) or meta.get("grade", False))


def _is_exercise(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("solution", False)


@pytest.mark.parametrize("notebook", RELEASED, ids=[p.parent.name for p in RELEASED])
def test_student_notebook_runs_up_to_its_first_exercise(notebook, tmp_path):
    """Everything before the first exercise works; the first failure is that exercise (or the
    test cell checking it) raising NotImplementedError."""
    nb = nbformat.read(notebook, as_version=4)
    exercises = [i for i, c in enumerate(nb.cells) if _is_exercise(c)]
    assert exercises, f"{notebook} has no exercise cells"
    client = _client(nb, _copy_lab(notebook, tmp_path))
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as err:
                assert index >= exercises[0] and _is_graded_code(cell), (
                    f"cell {index} failed before the first exercise (cell {exercises[0]}): {err}"
                )
                assert "NotImplementedError" in str(err)
                return
    pytest.fail("the blank student notebook ran to the end without reaching an unanswered exercise")
