"""Lab 04: a student who writes the sampling code only after training the model, and re-runs just
that cell, can sample from the model already trained (no retraining, no re-run of section 6)."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

REPO = Path(__file__).resolve().parent.parent
LAB = "04_captioning_rnn_numpy"
SOLUTION = REPO / "solutions" / LAB / "captioning_rnn_numpy.ipynb"
RELEASED = REPO / "labs" / LAB / "captioning_rnn_numpy.ipynb"


def _index(nb, grade_id: str) -> int:
    hits = [i for i, c in enumerate(nb.cells)
            if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    assert len(hits) == 1, f"{grade_id} should be exactly one cell, found {len(hits)}"
    return hits[0]


def test_sampling_works_after_completing_sample_captions_once_the_model_is_trained(
        tmp_path, monkeypatch):
    monkeypatch.setenv("RNNLAB_PROFILE", "test")
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    nb = nbformat.read(SOLUTION, as_version=4)
    exercise = _index(nb, "sample_captions")
    answer = nb.cells[exercise].source
    stub = nbformat.read(RELEASED, as_version=4).cells[exercise]
    assert stub.metadata["nbgrader"]["grade_id"] == "sample_captions"
    assert "NotImplementedError" in stub.source and "BEGIN SOLUTION" not in stub.source
    demo, graded = exercise + 1, _index(nb, "test_sample")
    assert nb.cells[demo].cell_type == "code" and ".sample(" in nb.cells[demo].source
    assert _index(nb, "test_overfit_rnn") < exercise < demo < graded

    # every earlier exercise answered, this one still blank: the notebook run from the top
    nb.cells[exercise].source = stub.source
    workdir = tmp_path / LAB
    shutil.copytree(SOLUTION.parent, workdir)
    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    with client.setup_kernel():
        for index in range(demo):
            if nb.cells[index].cell_type == "code":
                client.execute_cell(nb.cells[index], index)
        with pytest.raises(CellExecutionError, match="NotImplementedError"):
            client.execute_cell(nb.cells[demo], demo)

        # the student writes sample_captions and re-runs that cell only, then the sampling cell
        nb.cells[exercise].source = answer
        client.execute_cell(nb.cells[exercise], exercise)
        client.execute_cell(nb.cells[demo], demo)
        client.execute_cell(nb.cells[graded], graded)
    errors = [o for o in nb.cells[graded].outputs + nb.cells[demo].outputs
              if o.get("output_type") == "error"]
    assert not errors
