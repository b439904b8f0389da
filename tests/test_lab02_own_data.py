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

from bench._play import write_play as write_generated_play

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
    run_notebook(tmp_path, "OPTS.min_count = 1", until="valid_ids, test_ids =", checks="""\
assert train_words.count(UNK) == 0, "min_count=1 keeps every training word"
assert UNK in vocab_to_int and int_to_vocab[vocab_to_int[UNK]] == UNK
for ids, words in ((valid_ids, valid_words), (test_ids, test_words)):
    assert len(ids) == len(words) and ids.max() < n_vocab
    assert (ids == vocab_to_int[UNK]).any(), "the held-out songs use words training never saw"
""")


def test_own_text_file_runs_the_whole_lab_and_early_stopping_keeps_the_best_epoch(tmp_path):
    play = write_play(tmp_path / "my play.txt")
    nb = run_notebook(tmp_path, f"OPTS.train_file = {str(play)!r}  # a str, as a student types it",
                      checks="""\
assert len(train_words) > 7 * len(test_words) > 0 and len(valid_words) > 0
assert "river" in vocab_to_int and "lantern" in vocab_to_int, "trained on the student's file"
assert render(["i", "do", "n't", "know", ",", "love", EOL, "go"]) == "i don't know, love\\ngo"
real_perplexity, saved = heldout_perplexity, []


def scripted_perplexity(net, ids):  # validation perplexity 10, 12, 11, 9, ...: best at epoch 1
    saved.append(copy.deepcopy(net.state_dict()))
    return [10.0, 12.0, 11.0, 9.0, 8.0][len(saved) - 1]


heldout_perplexity = scripted_perplexity
OPTS.max_epochs, OPTS.patience = 5, 2
probe = make_rnn()
history = train_model(probe, torch.optim.Adam(probe.parameters(), lr=0.01), "probe")
heldout_perplexity = real_perplexity
assert history["valid_ppl"] == [10.0, 12.0, 11.0] and history["best_epoch"] == 1, history
assert all(torch.equal(a, b) for a, b in zip(probe.state_dict().values(), saved[0].values())), (
    "the weights of the best epoch are restored")
""")
    text = outputs(nb)
    (tmp_path / "outputs.txt").write_text(text)
    assert "s per epoch of" in text, "the training loop estimates the time per epoch"
    assert "probe: no better validation perplexity for 2 epochs: stop" in text
    samples = [line for line in text.splitlines() if line.startswith("step ")]
    assert samples and not any(" n't" in line for line in samples), "samples are detokenised"


def test_a_folder_given_as_a_path_is_split_by_whole_documents(tmp_path):
    folder = tmp_path / "songs"
    folder.mkdir()
    for i in range(6):
        write_play(folder / f"song{i}.txt", n_lines=120 + 10 * i)
    run_notebook(tmp_path, f"OPTS.train_file = Path({str(folder)!r})", until="valid_ids, test_ids",
                 checks="""\
documents = load_documents(OPTS.train_file)
sizes = [len(doc) for doc in documents]
assert len(documents) == 6
assert len(test_words) == sizes[-1] and len(valid_words) == sizes[-2], "whole documents"
assert len(train_words) == sum(sizes[:-2])
assert len(valid_ids) == len(valid_words) and len(test_ids) == len(test_words)
""")


def test_a_long_text_of_ones_own_is_cut_to_the_labs_time_and_the_notebook_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNLAB_PROFILE", "full")  # the scaling is the full profile's; no training here
    play = write_generated_play(tmp_path / "play.txt", n_chars=300_000)
    nb = run_notebook(tmp_path, f"OPTS.train_file = {str(play)!r}",
                      until="train_words, valid_words, test_words = replace_rare(", checks="""\
all_words = split_documents(load_documents(OPTS.train_file), OPTS.valid_fraction, OPTS.test_fraction)[0]
course = split_documents(load_documents(None), OPTS.valid_fraction, OPTS.test_fraction)[0]
allowed = training_work(course, OPTS.min_count) * 12
kept = len(train_words)
assert OPTS.max_epochs == 1 and kept < len(all_words), (OPTS.max_epochs, kept, len(all_words))
assert 0.7 * allowed < training_work(all_words[:kept], OPTS.min_count) <= allowed, "the cut fits, tightly"
WHOLE_RUN = True
assert fit_to_lab_time(all_words, 12) == (all_words, 12), "WHOLE_RUN keeps all of it"
""")
    text = outputs(nb)
    assert "rnnlab: this data has" in text and "Set WHOLE_RUN = True" in text
    assert "1 epoch instead of 12" in text and "rnnlab: that is the first" in text
