"""Lab 02 bench: word-level RNN/LSTM on the course lyrics.

Measures, in one process so the ratios hold:
  - training speed (words/s, s per epoch) of the original lab's configuration (embedding 64,
    hidden 64, seq 20, batch 16) and of a batch size that keeps a CPU busier (batch 64), with one
    torch thread as in the notebook, and the original configuration with torch's default threads;
  - test perplexity of the RNN and of the LSTM trained as in the notebook's full profile (at most
    12 epochs, stopped when the validation perplexity has not improved for 2 epochs, best epoch
    kept), for several seeds: seed 0 is the notebook's run, the spread over seeds says how noisy
    the RNN-versus-LSTM comparison is;
  - the wall time of the whole notebook under the full profile (nbclient, a fresh kernel).
The model and data code mirrors solutions/02_word_rnn_lyrics (which holds the exercises).
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from bench._notebook import full_profile_wall_s
from rnnlab import runtime
from rnnlab.datasets.corpora import lyrics_files, read_text
from rnnlab.metrics import perplexity
from rnnlab.text import tokenize

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "solutions" / "02_word_rnn_lyrics" / "word_rnn_lyrics.ipynb"
EOL, UNK = "<eol>", "<unk>"
SEED_CONFIG = {"embedding_size": 64, "hidden_size": 64, "seq_size": 20, "batch_size": 16}
CPU_BATCH = 64
MAX_EPOCHS, PATIENCE = 12, 2
SEEDS = (0, 1, 2, 3, 4)


def _take_from_end(documents: list[list[str]], words: float) -> int:
    from_end = np.cumsum([len(doc) for doc in reversed(documents)])
    return int(np.searchsorted(from_end, words)) + 1


def corpus(valid_fraction: float = 0.1, test_fraction: float = 0.1,
           min_count: int = 2) -> tuple[list[str], list[str], list[str]]:
    """(training, validation, test) words of the course lyrics, prepared as in the notebook."""
    songs = []
    for path in lyrics_files():
        words = []
        for line in read_text(path).splitlines():
            tokens = tokenize(line)
            if tokens:
                words += [*tokens, EOL]
        songs.append(words)
    total = sum(map(len, songs))
    k_test = min(_take_from_end(songs, test_fraction * total), len(songs) - 2)
    rest, test = songs[:-k_test], songs[-k_test:]
    k_valid = min(_take_from_end(rest, valid_fraction * total), len(rest) - 1)
    train, valid = rest[:-k_valid], rest[-k_valid:]
    train, valid, test = ([w for doc in part for w in doc] for part in (train, valid, test))
    counts = Counter(train)
    train = [w if counts[w] >= min_count else UNK for w in train]
    known = set(train)
    return (train, [w if w in known else UNK for w in valid],
            [w if w in known else UNK for w in test])


class WordModel(nn.Module):
    """Embedding -> RNN or LSTM -> Linear. x: (B, T) -> logits (B, T, V), state."""

    def __init__(self, cell: str, n_vocab: int, embedding_size: int, hidden_size: int):
        super().__init__()
        self.cell, self.hidden_size = cell, hidden_size
        self.embedding = nn.Embedding(n_vocab, embedding_size)
        layer = nn.RNN if cell == "rnn" else nn.LSTM
        self.recurrent = layer(embedding_size, hidden_size, batch_first=True)
        self.dense = nn.Linear(hidden_size, n_vocab)

    def init_hidden(self, batch_size: int):
        h = torch.zeros(1, batch_size, self.hidden_size)
        return h if self.cell == "rnn" else (h, h.clone())

    def forward(self, x, hidden):
        outputs, hidden = self.recurrent(self.embedding(x), hidden)
        return self.dense(outputs), hidden


def _detach(hidden):
    return tuple(h.detach() for h in hidden) if isinstance(hidden, tuple) else hidden.detach()


def _arrays(ids: np.ndarray, batch_size: int, seq_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    n = (len(ids) - 1) // (batch_size * seq_size) * batch_size * seq_size
    return (torch.as_tensor(ids[:n]).view(batch_size, -1),
            torch.as_tensor(ids[1:n + 1]).view(batch_size, -1))


def _ppl(model: WordModel, ids: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        logits, _ = model(ids[None, :-1], model.init_hidden(1))
        nll = nn.functional.cross_entropy(logits[0], ids[1:]).item()
    model.train()
    return perplexity(nll)


def train(cell: str, n_vocab: int, train_ids: np.ndarray, epochs: int, batch_size: int,
          seq_size: int, embedding_size: int, hidden_size: int, seed: int = 0,
          valid_ids: np.ndarray | None = None, test_ids: np.ndarray | None = None) -> dict:
    """Truncated-BPTT training as in the notebook; with valid_ids, early stopping on the
    validation perplexity (best epoch restored) and the test perplexity of that epoch."""
    torch.manual_seed(seed)
    model = WordModel(cell, n_vocab, embedding_size, hidden_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    x_all, y_all = _arrays(train_ids, batch_size, seq_size)
    best, best_epoch, best_state, train_time, words, epoch = math.inf, 0, None, 0.0, 0, 0
    for epoch in range(1, epochs + 1):
        hidden = model.init_hidden(batch_size)
        start = time.perf_counter()
        for i in range(0, x_all.shape[1], seq_size):
            logits, hidden = model(x_all[:, i:i + seq_size], hidden)
            loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                               y_all[:, i:i + seq_size].reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            hidden = _detach(hidden)
        train_time += time.perf_counter() - start
        words += x_all.numel()
        if valid_ids is None:
            continue
        ppl = _ppl(model, torch.as_tensor(valid_ids))
        if ppl < best:
            best, best_epoch, best_state = ppl, epoch, copy.deepcopy(model.state_dict())
        elif epoch - best_epoch >= PATIENCE:
            break
    result = {"words_per_s": words / train_time, "s_per_epoch": train_time / epoch,
              "steps_per_epoch": x_all.shape[1] // seq_size, "epochs": epoch}
    if valid_ids is not None:
        model.load_state_dict(best_state)
        result.update(valid_ppl=best, best_epoch=best_epoch,
                      test_ppl=_ppl(model, torch.as_tensor(test_ids)))
    return result


def run() -> dict:
    load_average = os.getloadavg()[0]  # other programs on the machine slow every figure below
    runtime.seed_everything(0)
    train_words, valid_words, test_words = corpus()
    counts = Counter(train_words)
    vocab = {w: i for i, w in enumerate(sorted(counts, key=counts.get, reverse=True))}
    train_ids, valid_ids, test_ids = (np.array([vocab[w] for w in part], dtype=np.int64)
                                      for part in (train_words, valid_words, test_words))
    n = len(vocab)
    all_threads = torch.get_num_threads()
    seed_all_threads = train("rnn", n, train_ids, 3, **SEED_CONFIG)
    torch.set_num_threads(1)  # as the notebook does; see its set-up cell
    sizes = dict(SEED_CONFIG)
    seed_speed = train("rnn", n, train_ids, 3, **sizes)
    sizes["batch_size"] = CPU_BATCH
    cpu_speed = train("rnn", n, train_ids, 3, **sizes)
    runs = {cell: [train(cell, n, train_ids, MAX_EPOCHS, **SEED_CONFIG, seed=seed,
                         valid_ids=valid_ids, test_ids=test_ids) for seed in SEEDS]
            for cell in ("rnn", "lstm")}
    torch.set_num_threads(all_threads)
    figures = {
        "load_average_1min_at_start": round(load_average, 2),
        "torch_threads": 1,
        "all_threads": all_threads,
        "seed_config_words_per_s_all_threads": round(seed_all_threads["words_per_s"]),
        "vocab_size": n,
        "train_words": len(train_ids),
        "valid_words": len(valid_ids),
        "test_words": len(test_ids),
        "seed_config_words_per_s": round(seed_speed["words_per_s"]),
        "seed_config_s_per_epoch": round(seed_speed["s_per_epoch"], 3),
        "seed_config_steps_per_epoch": seed_speed["steps_per_epoch"],
        f"batch{CPU_BATCH}_words_per_s": round(cpu_speed["words_per_s"]),
        f"batch{CPU_BATCH}_s_per_epoch": round(cpu_speed["s_per_epoch"], 3),
        f"batch{CPU_BATCH}_steps_per_epoch": cpu_speed["steps_per_epoch"],
        "max_epochs": MAX_EPOCHS,
        "patience": PATIENCE,
        "seeds": " ".join(map(str, SEEDS)),
        "lstm_s_per_epoch": round(runs["lstm"][0]["s_per_epoch"], 3),
    }
    for cell, results in runs.items():
        test = [r["test_ppl"] for r in results]
        figures.update({
            f"{cell}_test_ppl": round(test[0], 2),  # seed 0: the notebook's run
            f"{cell}_valid_ppl": round(results[0]["valid_ppl"], 2),
            f"{cell}_best_epoch": results[0]["best_epoch"],
            f"{cell}_epochs_run": results[0]["epochs"],
            f"{cell}_test_ppl_per_seed": " ".join(f"{p:.1f}" for p in test),
            f"{cell}_test_ppl_mean": round(float(np.mean(test)), 2),
            f"{cell}_test_ppl_min": round(min(test), 2),
            f"{cell}_test_ppl_max": round(max(test), 2),
            f"{cell}_best_epoch_per_seed": " ".join(str(r["best_epoch"]) for r in results),
        })
    gaps = [r["test_ppl"] - lstm["test_ppl"] for r, lstm in zip(runs["rnn"], runs["lstm"])]
    figures.update({
        "rnn_minus_lstm_test_ppl_per_seed": " ".join(f"{g:.1f}" for g in gaps),
        "lstm_better_in_seeds": sum(g > 0 for g in gaps),
        "full_profile_wall_s": full_profile_wall_s(NOTEBOOK),
    })
    return figures


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
