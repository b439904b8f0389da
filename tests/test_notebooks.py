"""Every solution notebook runs clean under the test profile, in a real Jupyter kernel (nbclient).

The student notebooks are run up to their first unanswered exercise in the published students'
edition, with its own environment (tests/test_publish.py)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted(REPO.glob("solutions/*/*.ipynb"))
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
