"""Rebuild a submission on its released notebook before grading: only the student's text counts.

Everything nbgrader and Jupyter read from cell metadata (which cells are graded, their points,
`locked`, tags such as `skip-execution` or `raises-exception`) comes from the released notebook,
never from the submission. What is kept of the student's notebook is text and order:
  - a cell whose grade_id names a graded cell of the release becomes that released cell (its
    metadata, and its source unless it is an answer cell, whose source is the student's);
  - any other cell becomes a plain code, markdown or raw cell with the student's source and no
    metadata; cells of other types are dropped;
  - a released graded cell missing from the submission is put back after the graded cell that
    precedes it in the release (a deleted test still runs; a deleted answer is the release's stub);
  - markdown attachments are kept up to ``attachment_limit`` bytes per cell, and every
    ``attachment:NAME`` a markdown cell refers to exists (an empty stand-in otherwise), so no
    cell can make the feedback pages fail to render;
  - the notebook's own metadata is the release's (kernel, language).
A grade_id that is not a string, or one seen before in the notebook, is a plain cell's.
"""

from __future__ import annotations

import copy
import json
import re

import nbformat

PLAIN = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell,
         "raw": nbformat.v4.new_raw_cell}


def grade_id(cell) -> str | None:
    """The cell's grade_id when its grading metadata is well formed, else None."""
    metadata = cell.get("metadata") if isinstance(cell, dict) else None
    grading = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    value = grading.get("grade_id") if isinstance(grading, dict) else None
    return value if type(value) is str and value else None


def _text(value) -> str:
    if isinstance(value, list):
        return "".join(part for part in value if isinstance(part, str))
    return value if isinstance(value, str) else ""


def _attachments(cell, source: str, limit: int) -> tuple[dict, bool]:
    """(attachments to keep, whether some were dropped) for a student's markdown cell. Every
    ``attachment:NAME`` the text refers to exists afterwards (an empty stand-in for one that is
    missing or dropped), so rendering the cell never fails."""
    attachments = cell.get("attachments")
    kept = attachments if isinstance(attachments, dict) else {}
    dropped = len(json.dumps(kept, default=str)) > limit
    kept = {} if dropped else dict(kept)
    for name in re.findall(r"attachment:([^\s)\"'<>]+)", source):
        if not isinstance(kept.get(name), dict) or not kept[name]:
            kept[name] = {"text/plain": ""}
    return kept, dropped


def rebuild(submitted, released, attachment_limit: int) -> tuple[nbformat.NotebookNode, list[str]]:
    """(the notebook to grade, notes on what was put back or dropped) -- see the module doc."""
    graded = {gid: cell for cell in released.cells if (gid := grade_id(cell))}
    order = [gid for cell in released.cells if (gid := grade_id(cell))]
    cells, placed, dropped_types, heavy = [], {}, set(), []
    for index, cell in enumerate(submitted.get("cells", [])):
        if not isinstance(cell, dict):
            continue
        gid = grade_id(cell)
        kind = cell.get("cell_type")
        if gid in graded and gid not in placed:
            new = copy.deepcopy(graded[gid])
            if new["metadata"]["nbgrader"].get("solution"):
                new.source = _text(cell.get("source"))
                new.pop("attachments", None)
                if new.cell_type == "markdown":
                    kept, over = _attachments(cell, new.source, attachment_limit)
                    new.update({"attachments": kept} if kept else {})
                    heavy += [index] if over else []
            placed[gid] = len(cells)
        elif kind in PLAIN:
            new = PLAIN[kind](source=_text(cell.get("source")))
            if kind == "markdown":
                kept, over = _attachments(cell, new.source, attachment_limit)
                new.update({"attachments": kept} if kept else {})
                heavy += [index] if over else []
        else:
            dropped_types.add(str(kind)[:40])
            continue
        cells.append(new)
    missing = [gid for gid in order if gid not in placed]
    for gid in missing:
        before = order[:order.index(gid)]
        anchor = max((placed[g] for g in before if g in placed), default=-1)
        cells.insert(anchor + 1, copy.deepcopy(graded[gid]))
        placed = {g: i + (i > anchor) for g, i in placed.items()}
        placed[gid] = anchor + 1
    nb = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(released.metadata))
    notes = []
    if missing:
        notes.append(f"graded cell(s) missing, put back from the course's version: {', '.join(missing)}")
    if heavy:
        notes.append(f"attachments of cell(s) {', '.join(map(str, heavy))} over "
                     f"{attachment_limit:,} bytes, dropped")
    if dropped_types:
        notes.append(f"cells of unknown type dropped: {', '.join(sorted(dropped_types))}")
    return nb, notes
