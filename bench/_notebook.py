"""Timing a whole lab notebook as a student runs it: the full profile, a fresh kernel."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path


def full_profile_wall_s(notebook: Path, timeout: int = 1200) -> float:
    """Seconds to execute the notebook under the full profile (nbclient), in a copy of its folder."""
    import nbformat
    from nbclient import NotebookClient

    saved = dict(os.environ)
    os.environ["RNNLAB_PROFILE"] = "full"
    os.environ.pop("NBGRADER_EXECUTION", None)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp) / notebook.parent.name
            shutil.copytree(notebook.parent, workdir)
            nb = nbformat.read(workdir / notebook.name, as_version=4)
            start = time.perf_counter()
            NotebookClient(nb, timeout=timeout, kernel_name="python3",
                           resources={"metadata": {"path": str(workdir)}}).execute()
            return round(time.perf_counter() - start, 1)
    finally:
        os.environ.clear()
        os.environ.update(saved)
