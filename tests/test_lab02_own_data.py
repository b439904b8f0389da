"""Lab 02 on settings and data a student chooses: min_count=1, and a text file of their own.

The solution notebook runs in a real Jupyter kernel under the test profile, with one cell added
after its settings cell (``OPTS``) that changes what a student would change.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "solutions" / "02_word_rnn_lyrics" / "word_rnn_lyrics.ipynb"
LINES = [
    "the long road takes me home tonight",
    "i can hear the river calling me",
    "don't you leave me standing in the rain",
    "we ride the night until the morning comes",
    "my heart is a lantern, burning low",
    "and the road goes on and on",
]


@pytest.fixture(autouse=True)
def _test_profile(monkeypatch):
    monkeypatch.setenv("RNNLAB_PROFILE", "test")
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)


def write_play(path: Path, n_lines: int = 900) -> Path:
    """A small text with repeated lines and a few rare words, like a student's own file."""
    lines = [f"{LINES[(i * 7) % len(LINES)]}" + (f" number{i}" if i % 50 == 0 else "")
             for i in range(n_lines)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_notebook(tmp_path: Path, overrides: str, until: str | None = None,
                 checks: str = "") -> nbformat.NotebookNode:
    """Execute the solution with `overrides` after the OPTS cell, up to the first cell containing
    `until` (the whole notebook if None), then the `checks` cell; returns the executed notebook."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if c.source.startswith("OPTS = Namespace("))
    cells = nb.cells[:at + 1] + [nbformat.v4.new_code_cell(overrides)] + nb.cells[at + 1:]
    if until is not None:
        cells = cells[:next(i for i, c in enumerate(cells) if until in c.source) + 1]
    if checks:
        cells.append(nbformat.v4.new_code_cell(checks))
    nb.cells = cells
    workdir = tmp_path / NOTEBOOK.parent.name
    shutil.copytree(NOTEBOOK.parent, workdir)
    NotebookClient(nb, timeout=60, kernel_name="python3",
                   resources={"metadata": {"path": str(workdir)}}).execute()
    return nb


def outputs(nb) -> str:
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []))


def test_min_count_1_gives_unseen_words_an_unk_index(tmp_path):
    run_notebook(tmp_path, "OPTS.min_count = 1", until="heldout_ids =", checks="""\
assert train_words.count(UNK) == 0, "min_count=1 keeps every training word"
assert UNK in vocab_to_int and int_to_vocab[vocab_to_int[UNK]] == UNK
assert len(heldout_ids) == len(heldout_words) and heldout_ids.max() < n_vocab
assert (heldout_ids == vocab_to_int[UNK]).any(), "the held-out songs use words training never saw"
""")
