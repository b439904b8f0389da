"""Lab 01 runs on both Keras backends: the solution notebook, executed under KERAS_BACKEND=torch in
the test profile (the TensorFlow run is tests/test_notebooks.py), including loading the shipped
pretrained weights."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
LAB = REPO / "solutions" / "01_char_lstm_keras"


def _text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []))


def test_solution_notebook_runs_clean_on_the_torch_backend(tmp_path):
    workdir = tmp_path / LAB.name
    shutil.copytree(LAB, workdir)
    nb = nbformat.read(workdir / "char_lstm.ipynb", as_version=4)
    env = {**os.environ, "RNNLAB_PROFILE": "test", "KERAS_BACKEND": "torch", "MPLBACKEND": "Agg"}
    env.pop("NBGRADER_EXECUTION", None)
    # the kernel imports rnnlab from this checkout even where it is not pip-installed
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    client.execute(env=env)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, errors[0]
    outputs = "\n".join(_text(c) for c in nb.cells if c.cell_type == "code")
    assert "on the torch backend" in outputs and "profile=test" in outputs
    assert "pretrained_inference holds the weights of char_lstm_shapes.weights.h5" in outputs
