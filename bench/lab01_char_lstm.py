"""Lab 01 bench: the seed's padded one-hot training against length-bucketed batches.

Both train LSTM-128 -> Dense(V, softmax) with RMSprop(1e-3), batch 128, on the same 10,000 shapes
captions, in the same process:
  seed      one tensor padded to the longest caption with the end symbol, every step in the loss
  bucketed  rnnlab.batching.LengthBucketedBatches (variable T per batch, padding masked out)
Speed is real characters per second: caption characters plus one end symbol each, the steps that
carry information, divided by the time of a steady epoch (the first epoch, which traces the graph,
is timed apart). Quality: the valid-word rate of 200 sampled sentences, for the bucketed model and
for the shipped pretrained weights. With RUN_NOTEBOOK (default), also the wall time of the whole
notebook under the full profile; with TORCH_TOO, the same speed figures on the torch backend (in
a subprocess, since Keras fixes its backend at import), on 256 captions to keep the bench short.

    .venv/bin/python bench/lab01_char_lstm.py       or through the harness: python -m bench
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from bench._notebook import full_profile_wall_s
from rnnlab.batching import LengthBucketedBatches, one_hot_pairs  # noqa: E402
from rnnlab.char_samples import known_words, sample_sentences, valid_word_rate  # noqa: E402
from rnnlab.datasets import shapes  # noqa: E402
from rnnlab.runtime import shipped_data_dir  # noqa: E402
from rnnlab.text import Vocabulary, char_vocabulary  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "solutions" / "01_char_lstm_keras" / "char_lstm.ipynb"
START, END = "\x02", "\x03"
NUM_CAPTIONS = 10_000
HIDDEN_SIZE = 128
BATCH_SIZE = 128
EPOCHS = 3  # the first traces the graph; the others are averaged
SAMPLES = 200
RUN_NOTEBOOK = os.environ.get("BENCH_LAB01_NOTEBOOK", "1") == "1"
TORCH_TOO = os.environ.get("BENCH_LAB01_TORCH", "1") == "1"
TORCH_CAPTIONS = 256  # the torch backend's CPU LSTM is a Python loop: a smaller run


def _model(vocab_size: int, batch: int | None = None) -> keras.Model:
    """Training model (batch None) or stateful sampling model with a fixed batch."""
    if batch is None:
        first = keras.Input((None, vocab_size))
        lstm = keras.layers.LSTM(HIDDEN_SIZE, return_sequences=True)
    else:
        first = keras.Input(batch_shape=(batch, 1, vocab_size))
        lstm = keras.layers.LSTM(HIDDEN_SIZE, stateful=True)
    return keras.Sequential([first, lstm, keras.layers.Dense(vocab_size, activation="softmax")])


def _timed_fit(model: keras.Model, epochs: int, **fit_args) -> tuple[list[float], list[float]]:
    """(seconds per epoch, loss per epoch)."""
    seconds, losses = [], []
    for _ in range(epochs):
        began = time.perf_counter()
        losses += model.fit(epochs=1, verbose=0, **fit_args).history["loss"]
        seconds.append(time.perf_counter() - began)
    return seconds, losses


def _rate(model: keras.Model, vocab: Vocabulary, vocabulary_words: set[str]) -> float:
    sampler = _model(len(vocab), SAMPLES)
    for source, target in zip(model.layers, sampler.layers):
        target.set_weights(source.get_weights())
    sentences = sample_sentences(sampler, vocab.itos, vocab[START], vocab[END], max_len=200,
                                 rng=np.random.default_rng(0))
    return valid_word_rate(sentences, vocabulary_words)


def speed(epochs: int = EPOCHS, num_captions: int = NUM_CAPTIONS) -> dict:
    """Seed against bucketed pipeline on the current Keras backend."""
    keras.utils.set_random_seed(0)
    captions = [a["caption"] for a in shapes.load("train")[0]["annotations"]][:num_captions]
    vocab = char_vocabulary(captions, specials=(START, END))
    sequences = [vocab.encode(c) for c in captions]
    start_id, end_id = vocab[START], vocab[END]
    x, y, weights = one_hot_pairs(sequences, len(vocab), start_id, end_id)
    real_chars = int(weights.sum())
    y[weights == 0, end_id] = 1.0  # the seed pads the targets with the end symbol ...
    x[weights == 0, end_id] = 1.0  # ... and the inputs too, and trains on every step

    seed_model = _model(len(vocab))
    seed_model.compile(optimizer=keras.optimizers.RMSprop(1e-3), loss="categorical_crossentropy")
    initial = seed_model.get_weights()
    seed_s, seed_loss = _timed_fit(seed_model, epochs, x=x, y=y, batch_size=BATCH_SIZE)
    del x, y

    batches = LengthBucketedBatches(sequences, len(vocab), start_id, end_id, BATCH_SIZE)
    ours = _model(len(vocab))
    ours.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                 loss=keras.losses.CategoricalCrossentropy(reduction="mean_with_sample_weight"))
    ours.set_weights(initial)
    ours_s, ours_loss = _timed_fit(ours, epochs, x=batches)

    seed_steady, ours_steady = np.mean(seed_s[1:]), np.mean(ours_s[1:])
    return {
        "backend": keras.backend.backend(),
        "captions": len(captions),
        "epochs": epochs,
        "seed_padding_fraction": round(1 - real_chars / weights.size, 3),
        "bucketed_padding_fraction": round(batches.padding_fraction(), 3),
        "seed_first_epoch_s": round(seed_s[0], 2),
        "seed_s_per_epoch": round(float(seed_steady), 2),
        "seed_real_chars_per_s": round(real_chars / seed_steady),
        "bucketed_first_epoch_s": round(ours_s[0], 2),
        "bucketed_s_per_epoch": round(float(ours_steady), 2),
        "bucketed_real_chars_per_s": round(real_chars / ours_steady),
        "speedup_real_chars_per_s": round(float(seed_steady / ours_steady), 2),
        # The seed's loss averages over padding too, so only the bucketed loss is per character.
        "seed_final_loss_incl_padding": round(seed_loss[-1], 4),
        "bucketed_final_loss": round(ours_loss[-1], 4),
        "bucketed_valid_word_rate": round(_rate(ours, vocab, known_words(captions)), 3),
    }


def pretrained_rate() -> float:
    """Valid-word rate of SAMPLES sentences from the shipped weights."""
    weights = shipped_data_dir() / "weights" / "char_lstm_shapes.weights.h5"
    meta = json.loads(weights.with_name("char_lstm_shapes.json").read_text(encoding="utf-8"))
    vocab = Vocabulary(meta["alphabet"], specials=(START, END))
    model = _model(len(vocab))
    model.load_weights(weights)
    captions = [a["caption"] for a in shapes.load("train")[0]["annotations"]]
    return round(_rate(model, vocab, known_words(captions)), 3)


def _torch_speed() -> dict:
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    code = (f"TORCH_CAPTIONS = {TORCH_CAPTIONS}; import json, bench.lab01_char_lstm as b; "
            "print('RESULT' + json.dumps(b.speed(epochs=2, num_captions=TORCH_CAPTIONS)))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                          text=True, check=True)
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT")][-1]
    return {f"torch_{k}": v for k, v in json.loads(line[len("RESULT"):]).items()}


def run() -> dict:
    shapes.ensure_built()
    result = speed()
    result["pretrained_valid_word_rate"] = pretrained_rate()
    if TORCH_TOO:
        result.update(_torch_speed())
    if RUN_NOTEBOOK:
        result["full_profile_wall_s"] = full_profile_wall_s(NOTEBOOK)
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
