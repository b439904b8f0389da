"""Lab 02 bench: the solution notebook itself, run under the full profile (bench._notebook).

  - the course lyrics with 5 random starts of the weights (``OPTS.seed`` 0 to 4): validation and
    test perplexity of the RNN and the LSTM, their best epochs, seconds per epoch; seed 0 is the
    notebook as shipped, and its wall time is the lab's time;
  - seeds 0 to 2 again with two torch threads instead of the notebook's one, each run right after
    its one-thread twin, so the pair shares the machine's load: seconds per training epoch;
  - a generated play of about 1 MB as a student's own text (bench/_play.py): the wall time of the
    whole notebook, and what ``runtime.fit_to_time`` kept of it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from bench._notebook import run_notebook
from bench._play import write_play

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "solutions" / "02_word_rnn_lyrics" / "word_rnn_lyrics.ipynb"
SEEDS = (0, 1, 2, 3, 4)
THREAD_PAIRS = 3  # seeds 0 .. THREAD_PAIRS - 1 also run with two threads
PLAY_CHARS = 1_000_000
PER_RUN = {  # figure -> expression in the notebook's kernel after its last cell
    "rnn_test_ppl": "rnn_ppl",
    "lstm_test_ppl": "lstm_ppl",
    "rnn_valid_ppl": "min(rnn_history['valid_ppl'])",
    "lstm_valid_ppl": "min(lstm_history['valid_ppl'])",
    "rnn_best_epoch": "rnn_history['best_epoch']",
    "lstm_best_epoch": "lstm_history['best_epoch']",
    "rnn_s_per_epoch": "rnn_history['seconds'] / len(rnn_history['valid_ppl'])",
    "lstm_s_per_epoch": "lstm_history['seconds'] / len(lstm_history['valid_ppl'])",
    "s_per_epoch": "(rnn_history['seconds'] + lstm_history['seconds'])"
                   " / (len(rnn_history['valid_ppl']) + len(lstm_history['valid_ppl']))",
}
DATA = {
    "train_words": "len(train_words)",
    "valid_words": "len(valid_words)",
    "test_words": "len(test_words)",
    "n_vocab": "n_vocab",
    "valid_unk_share": "valid_words.count(UNK) / len(valid_words)",
    "test_unk_share": "test_words.count(UNK) / len(test_words)",
    "updates_per_epoch": "in_text.shape[1] // OPTS.seq_size",
    "updates_per_epoch_batch256": "(len(train_words) - 1) // (256 * OPTS.seq_size)",
    "max_epochs": "OPTS.max_epochs",
}


def lyrics_run(seed: int, threads: int = 1) -> dict:
    """The notebook on the course lyrics with weights started from ``seed``."""
    settings = f"OPTS.seed = {seed}\ntorch.set_num_threads({threads})"
    return run_notebook(NOTEBOOK, {**PER_RUN, **DATA}, settings=settings, after="OPTS = Namespace(")


def play_run() -> dict:
    """The notebook on a generated play of PLAY_CHARS characters, as a student's own text."""
    with tempfile.TemporaryDirectory() as scratch:
        play = write_play(Path(scratch) / "play.txt", PLAY_CHARS)
        whole_text = "len(split_documents(load_documents(OPTS.train_file), 0.1, 0.1)[0])"
        return run_notebook(NOTEBOOK, {**PER_RUN, **DATA, "all_train_words": whole_text},
                            settings=f"OPTS.train_file = {str(play)!r}", after="OPTS = Namespace(")


def spread(name: str, values: list[float], digits: int = 2) -> dict:
    """Per-run values of a figure with their mean, minimum and maximum."""
    return {f"{name}_per_seed": " ".join(f"{v:.{digits}f}" for v in values),
            f"{name}_mean": round(float(np.mean(values)), digits),
            f"{name}_min": round(min(values), digits), f"{name}_max": round(max(values), digits)}


def run() -> dict:
    one, two = [], []
    for seed in SEEDS:
        one.append(lyrics_run(seed))
        if seed < THREAD_PAIRS:
            two.append(lyrics_run(seed, threads=2))
    play = play_run()
    shipped = one[0]
    figures = {f"lyrics_{name}": shipped[name] for name in DATA}
    figures.update({name: round(shipped[name], 2) for name in PER_RUN})
    figures.update(full_profile_wall_s=shipped["wall_s"], seeds=" ".join(map(str, SEEDS)))
    figures.update(spread("full_profile_wall_s", [r["wall_s"] for r in one], 1))
    for name in ("rnn_test_ppl", "lstm_test_ppl", "rnn_valid_ppl", "lstm_valid_ppl"):
        figures.update(spread(name, [r[name] for r in one], 1))
    gaps = [r["rnn_test_ppl"] - r["lstm_test_ppl"] for r in one]
    figures.update(spread("rnn_minus_lstm_test_ppl", gaps, 1), lstm_better_in_seeds=sum(g > 0 for g in gaps),
                   valid_above_test_in_seeds=sum(r["rnn_valid_ppl"] > r["rnn_test_ppl"] for r in one))
    pairs = [(a["s_per_epoch"], b["s_per_epoch"]) for a, b in zip(one, two)]
    figures.update(spread("one_thread_s_per_epoch", [a for a, _ in pairs], 3))
    figures.update(spread("two_threads_s_per_epoch", [b for _, b in pairs], 3))
    figures.update(thread_pairs=len(pairs), one_thread_faster_in_pairs=sum(a < b for a, b in pairs))
    figures.update({f"play_{name}": round(value, 3) if isinstance(value, float) else value
                    for name, value in play.items()})
    figures.update(play_chars=PLAY_CHARS,
                   play_wall_over_lyrics_wall=round(play["wall_s"] / shipped["wall_s"], 2))
    return figures


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
