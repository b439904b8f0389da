"""Lab 01 on a text file of the student's own, with little memory for the padded tensors: the run
is scaled to the work of the course data's (runtime.fit_to_time) and says so.

The solution notebook runs in a real Jupyter kernel under the test profile, with one cell added
after its settings cell (``CAPTIONS_SOURCE = ...``) that changes what a student would change.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "solutions" / "01_char_lstm_keras" / "char_lstm.ipynb"
SENTENCES = [
    "Café tables stand under the old plane trees.",
    "Two cyclists race down the hill at 40 km/h!",
    "A dog sleeps in the sun; its owner reads.",
    "Rain again, said Zoë, and opened her umbrella.",
]


def write_text_file(path: Path, lines: int = 300) -> Path:
    """One sentence per line, with capitals, digits, punctuation and accents a caption set lacks."""
    path.write_text("\n".join(f"{SENTENCES[i % len(SENTENCES)]} (line {i})" for i in range(lines))
                    + "\n", encoding="utf-8")
    return path


def test_own_text_file_is_scaled_to_the_course_run_with_padded_tensors_capped(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNLAB_PROFILE", "test")
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    own = write_text_file(tmp_path / "my sentences.txt")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if c.source.startswith("CAPTIONS_SOURCE = None"))
    settings = nbformat.v4.new_code_cell(
        f"CAPTIONS_SOURCE = {str(own)!r}  # a str, as a student types it\n"
        "PADDED_LIMIT_MB = 0.25  # a machine short of memory")
    checks = nbformat.v4.new_code_cell("""\
assert "é" in char2id and "4" in char2id
assert len(captions) < len(read_captions(CAPTIONS_SOURCE)), "scaled down to the course run"
assert time_steps(course_captions) - len(captions[-1]) <= time_steps(captions) <= time_steps(course_captions)
assert 0 < len(padded_captions) == input_chars.shape[0] < len(captions)
assert input_chars.nbytes + next_chars.nbytes + weights.nbytes <= PADDED_LIMIT_MB * 1e6
assert batches.real_steps == time_steps(captions), "training used every caption kept"
assert len(losses) == EPOCHS and all(np.isfinite(losses))
print("own data checks passed")""")
    nb.cells = nb.cells[:at + 1] + [settings] + nb.cells[at + 1:] + [checks]
    workdir = tmp_path / NOTEBOOK.parent.name
    shutil.copytree(NOTEBOOK.parent, workdir)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(workdir)}}).execute()
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []))
    scaled = next(line for line in text.splitlines() if line.startswith("rnnlab: this data has"))
    assert "characters" in scaled and "this run trains the first" in scaled, scaled
    assert "Set WHOLE_RUN = True" in scaled, scaled
    assert "padded tensors for all " in text, "the memory is printed first"
    assert "we build them for the first" in text
    assert "own data checks passed" in text
