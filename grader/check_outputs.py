"""Find committed notebooks that carry outputs or execution counts (they must be stripped)."""

from __future__ import annotations

from pathlib import Path

import nbformat


def notebooks_with_outputs(folders: list[Path]) -> list[tuple[Path, str]]:
    """(notebook, what is wrong) for every notebook under ``folders`` that is not clean."""
    offenders = []
    for folder in folders:
        for path in sorted(Path(folder).rglob("*.ipynb")):
            if ".ipynb_checkpoints" in path.parts:
                continue
            nb = nbformat.read(path, as_version=4)
            dirty = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
                     and (cell.get("outputs") or cell.get("execution_count") is not None)]
            if dirty:
                shown = ", ".join(map(str, dirty[:5])) + (" ..." if len(dirty) > 5 else "")
                offenders.append((path, f"outputs or execution counts in cell(s) {shown}"))
    return offenders
