"""Benchmarks run the labs' own notebooks, never copies of their code.

``run_notebook`` executes a solution notebook as a student does (a fresh kernel, in a copy of its
folder) under a run profile, optionally with a few of its set-up values changed (a seed, a data
path), and reads back the figures it computed: the names of notebook variables, or expressions over
them, evaluated in the kernel after the last cell.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

MARK = "BENCH-FIGURES "


def run_notebook(notebook: Path, collect: dict[str, str] | None = None, *, profile: str = "full",
                 settings: str = "", after: str = "runtime.setup(", env: dict | None = None,
                 timeout: int = 3600) -> dict:
    """Execute ``notebook`` and return {"wall_s": seconds, figure: value, ...}.

    collect:  {figure name: Python expression evaluated in the kernel after the last cell}; values
              must be JSON numbers, strings or lists of them (numpy scalars are turned to float)
    settings: code run right after the first cell whose source contains ``after`` (the set-up
              cell), e.g. "N_SEEDS = 1\\nruntime.seed_everything(3)"
    env:      extra environment variables for the kernel (RNNLAB_PROFILE is set from ``profile``)
    wall_s:   the notebook's own cells, without the collection cell
    """
    import nbformat
    from nbclient import NotebookClient

    saved = dict(os.environ)
    os.environ.update({"RNNLAB_PROFILE": profile, **(env or {})})
    os.environ.pop("NBGRADER_EXECUTION", None)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp) / notebook.parent.name
            shutil.copytree(notebook.parent, workdir)
            nb = nbformat.read(workdir / notebook.name, as_version=4)
            if settings:
                where = next(i for i, cell in enumerate(nb.cells)
                             if cell.cell_type == "code" and after in cell.source)
                nb.cells.insert(where + 1, nbformat.v4.new_code_cell(settings))
            client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                    resources={"metadata": {"path": str(workdir)}})
            with client.setup_kernel():
                start = time.perf_counter()
                for index, cell in enumerate(nb.cells):
                    client.execute_cell(cell, index)
                wall_s = round(time.perf_counter() - start, 1)
                figures = _collect(client, nb, collect or {})
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return {"wall_s": wall_s, **figures}


def _collect(client, nb, collect: dict[str, str]) -> dict:
    """Evaluate the figures' expressions in the notebook's kernel and read them from its output."""
    if not collect:
        return {}
    import nbformat

    pairs = ", ".join(f"{json.dumps(name)}: ({expr})" for name, expr in collect.items())
    source = (f"import json as _bench_json\nprint({MARK!r} + _bench_json.dumps({{{pairs}}}, "
              "default=float))")
    cell = nbformat.v4.new_code_cell(source)
    nb.cells.append(cell)
    client.execute_cell(cell, len(nb.cells) - 1)
    text = "".join(out.get("text", "") for out in cell.outputs if out.get("name") == "stdout")
    return json.loads(text[text.index(MARK) + len(MARK):])
