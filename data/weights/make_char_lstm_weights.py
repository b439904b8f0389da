"""Train Lab 01's character LSTM on the shapes train captions and write its pretrained weights.

    .venv/bin/python data/weights/make_char_lstm_weights.py

Run it in the course repository: it samples with bench/_char_sampler.py, which is not published.

Model: one-hot characters -> LSTM(128, return_sequences=True) -> Dense(128, relu) -> Dense(V, softmax),
exactly the notebook's training model. Trains on length-bucketed batches (rnnlab.batching) until at least
TARGET_RATE of the words in SAMPLES sampled sentences are words of the training captions, then
writes next to this script:
  char_lstm_shapes.weights.h5   the Keras weights (loads under the TensorFlow and torch backends)
  char_lstm_shapes.json         the alphabet (symbols by id), the start/end ids and how it was made
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for bench/

import keras  # noqa: E402
import numpy as np  # noqa: E402

from bench._char_sampler import sample_sentences  # noqa: E402
from rnnlab.batching import LengthBucketedBatches  # noqa: E402
from rnnlab.char_samples import known_words, valid_word_rate  # noqa: E402
from rnnlab.datasets import shapes  # noqa: E402
from rnnlab.text import char_vocabulary  # noqa: E402

OUT = Path(__file__).resolve().parent
NAME = "char_lstm_shapes"
START, END = "\x02", "\x03"
HIDDEN_SIZE = 128
BATCH_SIZE = 64
LEARNING_RATE = 2e-3
MAX_EPOCHS = 30
SAMPLES = 200
TARGET_RATE = 0.90
EXTRA_EPOCHS = 1  # keep training this many epochs past the target, for margin
SEED = 0


def training_model(vocab_size: int) -> keras.Model:
    """(N, T, V) one-hot characters -> (N, T, V) next-character probabilities."""
    return keras.Sequential([
        keras.Input((None, vocab_size)),
        keras.layers.LSTM(HIDDEN_SIZE, return_sequences=True),
        keras.layers.Dense(HIDDEN_SIZE, activation="relu"),
        keras.layers.Dense(vocab_size, activation="softmax"),
    ])


def sampling_model(vocab_size: int, batch: int) -> keras.Model:
    """Stateful copy for sampling: (batch, 1, V) one character -> (batch, V) probabilities."""
    return keras.Sequential([
        keras.Input(batch_shape=(batch, 1, vocab_size)),
        keras.layers.LSTM(HIDDEN_SIZE, stateful=True),
        keras.layers.Dense(HIDDEN_SIZE, activation="relu"),
        keras.layers.Dense(vocab_size, activation="softmax"),
    ])


def main() -> None:
    keras.utils.set_random_seed(SEED)
    coco, _ = shapes.load("train")
    captions = [a["caption"] for a in coco["annotations"]]
    vocab = char_vocabulary(captions, specials=(START, END))
    start_id, end_id = vocab[START], vocab[END]
    sequences = [vocab.encode(c) for c in captions]
    vocabulary_words = known_words(captions)
    batches = LengthBucketedBatches(sequences, len(vocab), start_id, end_id, BATCH_SIZE, seed=SEED)
    model = training_model(len(vocab))
    model.compile(optimizer=keras.optimizers.RMSprop(LEARNING_RATE),
                  loss=keras.losses.CategoricalCrossentropy(reduction="mean_with_sample_weight"))
    sampler = sampling_model(len(vocab), SAMPLES)
    rng = np.random.default_rng(SEED)
    began, reached, log = time.perf_counter(), None, []
    for epoch in range(1, MAX_EPOCHS + 1):
        loss = model.fit(batches, epochs=1, verbose=0).history["loss"][-1]
        for source, target in zip(model.layers, sampler.layers):
            target.set_weights(source.get_weights())
        samples = sample_sentences(sampler, vocab.itos, start_id, end_id, max_len=200, rng=rng)
        rate = valid_word_rate(samples, vocabulary_words)
        log.append({"epoch": epoch, "loss": round(float(loss), 4), "valid_word_rate": rate})
        print(f"epoch {epoch}: loss {loss:.4f}, valid words {rate:.1%}, "
              f"{time.perf_counter() - began:.0f} s; e.g. {samples[0]!r}", flush=True)
        if reached is None and rate >= TARGET_RATE:
            reached = epoch
        if reached is not None and epoch >= reached + EXTRA_EPOCHS and rate >= TARGET_RATE:
            break
    else:
        raise RuntimeError(f"valid-word rate stayed below {TARGET_RATE:.0%} after {MAX_EPOCHS} epochs")
    model.save_weights(OUT / f"{NAME}.weights.h5")
    meta = {
        "alphabet": vocab.itos,
        "start_id": start_id,
        "end_id": end_id,
        "hidden_size": HIDDEN_SIZE,
        "trained_on": f"shapes train captions ({len(captions)})",
        "batch_size": BATCH_SIZE,
        "optimizer": f"RMSprop(learning_rate={LEARNING_RATE})",
        "epochs": log[-1]["epoch"],
        "final_loss": log[-1]["loss"],
        "valid_word_rate": log[-1]["valid_word_rate"],
        "samples_judged": SAMPLES,
        "train_seconds": round(time.perf_counter() - began),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Keras {keras.__version__} "
                   f"({keras.backend.backend()} backend)",
        "history": log,
    }
    (OUT / f"{NAME}.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {NAME}.weights.h5 and {NAME}.json to {OUT}")


if __name__ == "__main__":
    main()
