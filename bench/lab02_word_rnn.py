"""Lab 02 bench: word-level RNN/LSTM on the course lyrics.

Measures, in one process so the ratios hold:
  - training speed (words/s, s per epoch) of the original lab's configuration (embedding 64,
    hidden 64, seq 20, batch 16) and of a batch size that keeps a CPU busier (batch 64), with one
    torch thread as in the notebook, and the original configuration with torch's default threads;
  - held-out perplexity of the RNN and of the LSTM after the notebook's full-profile budget
    (12 epochs, best epoch kept), with the same data preparation as the notebook;
  - the wall time of the whole notebook under the full profile (nbclient, a fresh kernel).
The model and data code mirrors solutions/02_word_rnn_lyrics (which holds the exercises).
"""

from __future__ import annotations

import math
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
FULL_EPOCHS = 12


def corpus(heldout_fraction: float = 0.1, min_count: int = 2) -> tuple[list[str], list[str]]:
    """(training words, held-out words) of the course lyrics, prepared as in the notebook."""
    songs = []
    for path in lyrics_files():
        words = []
        for line in read_text(path).splitlines():
            tokens = tokenize(line)
            if tokens:
                words += [*tokens, EOL]
        songs.append(words)
    total = sum(map(len, songs))
    from_end = np.cumsum([len(song) for song in reversed(songs)])
    k = min(int(np.searchsorted(from_end, heldout_fraction * total)) + 1, len(songs) - 1)
    train = [w for song in songs[:-k] for w in song]
    heldout = [w for song in songs[-k:] for w in song]
    counts = Counter(train)
    train = [w if counts[w] >= min_count else UNK for w in train]
    known = set(train)
    return train, [w if w in known else UNK for w in heldout]


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


def _heldout_ppl(model: WordModel, ids: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        logits, _ = model(ids[None, :-1], model.init_hidden(1))
        nll = nn.functional.cross_entropy(logits[0], ids[1:]).item()
    model.train()
    return perplexity(nll)


def train(cell: str, train_ids: np.ndarray, heldout_ids: np.ndarray | None, epochs: int,
          batch_size: int, seq_size: int, embedding_size: int, hidden_size: int) -> dict:
    """Truncated-BPTT training as in the notebook; returns speed and best held-out perplexity."""
    torch.manual_seed(0)
    model = WordModel(cell, int(train_ids.max()) + 1, embedding_size, hidden_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    x_all, y_all = _arrays(train_ids, batch_size, seq_size)
    heldout = torch.as_tensor(heldout_ids) if heldout_ids is not None else None
    best, train_time, words = math.inf, 0.0, 0
    for _ in range(epochs):
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
        if heldout is not None:
            best = min(best, _heldout_ppl(model, heldout))
    return {"words_per_s": words / train_time, "s_per_epoch": train_time / epochs,
            "steps_per_epoch": x_all.shape[1] // seq_size, "heldout_ppl": best}


def run() -> dict:
    runtime.seed_everything(0)
    train_words, heldout_words = corpus()
    counts = Counter(train_words)
    vocab = {w: i for i, w in enumerate(sorted(counts, key=counts.get, reverse=True))}
    train_ids = np.array([vocab[w] for w in train_words], dtype=np.int64)
    heldout_ids = np.array([vocab[w] for w in heldout_words], dtype=np.int64)
    all_threads = torch.get_num_threads()
    seed_all_threads = train("rnn", train_ids, None, 1, **SEED_CONFIG)
    torch.set_num_threads(1)  # as the notebook does; see its set-up cell
    sizes = dict(SEED_CONFIG)
    seed_speed = train("rnn", train_ids, None, 3, **sizes)
    sizes["batch_size"] = CPU_BATCH
    cpu_speed = train("rnn", train_ids, None, 3, **sizes)
    rnn = train("rnn", train_ids, heldout_ids, FULL_EPOCHS, **SEED_CONFIG)
    lstm = train("lstm", train_ids, heldout_ids, FULL_EPOCHS, **SEED_CONFIG)
    torch.set_num_threads(all_threads)
    return {
        "torch_threads": 1,
        "seed_config_words_per_s_all_threads": round(seed_all_threads["words_per_s"]),
        "all_threads": all_threads,
        "vocab_size": len(vocab),
        "train_words": len(train_ids),
        "heldout_words": len(heldout_ids),
        "seed_config_words_per_s": round(seed_speed["words_per_s"]),
        "seed_config_s_per_epoch": round(seed_speed["s_per_epoch"], 3),
        "seed_config_steps_per_epoch": seed_speed["steps_per_epoch"],
        f"batch{CPU_BATCH}_words_per_s": round(cpu_speed["words_per_s"]),
        f"batch{CPU_BATCH}_s_per_epoch": round(cpu_speed["s_per_epoch"], 3),
        f"batch{CPU_BATCH}_steps_per_epoch": cpu_speed["steps_per_epoch"],
        "rnn_heldout_ppl": round(rnn["heldout_ppl"], 2),
        "lstm_heldout_ppl": round(lstm["heldout_ppl"], 2),
        "lstm_s_per_epoch": round(lstm["s_per_epoch"], 3),
        "full_profile_epochs": FULL_EPOCHS,
        "full_profile_wall_s": full_profile_wall_s(NOTEBOOK),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
