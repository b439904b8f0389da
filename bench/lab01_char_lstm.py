"""Lab 01 bench: the student's own model, and the seed's padded one-hot training against
length-bucketed batches.

The notebook's model: LSTM-128 -> Dense(128, relu) -> Dense(V, softmax), RMSprop(4e-3), batch 128,
10,000 shapes captions.
Own model (section 4 of the notebook): OWN_EPOCHS epochs on bucketed batches; the valid-word rate
of SAMPLES sampled sentences after each epoch, with and without the hidden Dense(128) layer (the
original lab's model has it).
Speed: the same model trained on the same captions, in the same process:
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

from bench._char_sampler import sample_sentences  # noqa: E402
from bench._notebook import full_profile_wall_s
from rnnlab.batching import LengthBucketedBatches, one_hot_pairs  # noqa: E402
from rnnlab.char_samples import known_words, valid_word_rate  # noqa: E402
from rnnlab.datasets import shapes  # noqa: E402
from rnnlab.runtime import shipped_data_dir  # noqa: E402
from rnnlab.text import Vocabulary, char_vocabulary  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "solutions" / "01_char_lstm_keras" / "char_lstm.ipynb"
START, END = "\x02", "\x03"
NUM_CAPTIONS = 10_000
HIDDEN_SIZE = 128
BATCH_SIZE = 128
LEARNING_RATE = 4e-3
EPOCHS = 3  # the first traces the graph; the others are averaged
OWN_EPOCHS = 6  # the notebook's EPOCHS under the full profile
SAMPLES = 200
RUN_NOTEBOOK = os.environ.get("BENCH_LAB01_NOTEBOOK", "1") == "1"
TORCH_TOO = os.environ.get("BENCH_LAB01_TORCH", "1") == "1"
TORCH_CAPTIONS = 256  # the torch backend's CPU LSTM is a Python loop: a smaller run


def _model(vocab_size: int, batch: int | None = None, hidden_layer: bool = True) -> keras.Model:
    """Training model (batch None: (N, T, V) -> (N, T, V)) or stateful sampling model with a fixed
    batch ((batch, 1, V) -> (batch, V)); hidden_layer: the Dense(128, relu) between LSTM and output."""
    if batch is None:
        first = keras.Input((None, vocab_size))
        lstm = keras.layers.LSTM(HIDDEN_SIZE, return_sequences=True)
    else:
        first = keras.Input(batch_shape=(batch, 1, vocab_size))
        lstm = keras.layers.LSTM(HIDDEN_SIZE, stateful=True)
    hidden = [keras.layers.Dense(HIDDEN_SIZE, activation="relu")] if hidden_layer else []
    return keras.Sequential([first, lstm, *hidden, keras.layers.Dense(vocab_size, activation="softmax")])


def _compiled(model: keras.Model) -> keras.Model:
    model.compile(optimizer=keras.optimizers.RMSprop(LEARNING_RATE),
                  loss=keras.losses.CategoricalCrossentropy(reduction="mean_with_sample_weight"))
    return model


def _timed_fit(model: keras.Model, epochs: int, **fit_args) -> tuple[list[float], list[float]]:
    """(seconds per epoch, loss per epoch)."""
    seconds, losses = [], []
    for _ in range(epochs):
        began = time.perf_counter()
        losses += model.fit(epochs=1, verbose=0, **fit_args).history["loss"]
        seconds.append(time.perf_counter() - began)
    return seconds, losses


def _rate(model: keras.Model, vocab: Vocabulary, vocabulary_words: set[str]) -> float:
    """Valid-word rate of SAMPLES sentences sampled (seed 0) from the training model's weights."""
    sampler = _model(len(vocab), SAMPLES, hidden_layer=len(model.layers) == 3)
    for source, target in zip(model.layers, sampler.layers):
        target.set_weights(source.get_weights())
    sentences = sample_sentences(sampler, vocab.itos, vocab[START], vocab[END], max_len=200,
                                 rng=np.random.default_rng(0))
    return valid_word_rate(sentences, vocabulary_words)


def _captions(num_captions: int) -> tuple[list[str], Vocabulary]:
    captions = [a["caption"] for a in shapes.load("train")[0]["annotations"]][:num_captions]
    return captions, char_vocabulary(captions, specials=(START, END))


def own_model(hidden_layer: bool) -> dict:
    """The notebook's section 4: OWN_EPOCHS bucketed epochs; valid-word rate after each."""
    keras.utils.set_random_seed(0)
    captions, vocab = _captions(NUM_CAPTIONS)
    batches = LengthBucketedBatches([vocab.encode(c) for c in captions], len(vocab), vocab[START],
                                    vocab[END], BATCH_SIZE, seed=0)
    model = _compiled(_model(len(vocab), hidden_layer=hidden_layer))
    seconds, losses, rates = [], [], []
    for _ in range(OWN_EPOCHS):
        epoch_s, epoch_loss = _timed_fit(model, 1, x=batches)
        seconds += epoch_s
        losses += epoch_loss
        rates.append(_rate(model, vocab, known_words(captions)))
    prefix = "own" if hidden_layer else "own_without_hidden_layer"
    return {
        f"{prefix}_epochs": OWN_EPOCHS,
        f"{prefix}_s_per_epoch": round(float(np.mean(seconds[1:])), 2),
        f"{prefix}_final_loss": round(losses[-1], 4),
        f"{prefix}_valid_word_rate": round(rates[-1], 3),
        f"{prefix}_valid_word_rate_per_epoch": " ".join(f"{r:.3f}" for r in rates),
    }


def speed(epochs: int = EPOCHS, num_captions: int = NUM_CAPTIONS) -> dict:
    """Seed against bucketed pipeline on the current Keras backend."""
    keras.utils.set_random_seed(0)
    captions, vocab = _captions(num_captions)
    sequences = [vocab.encode(c) for c in captions]
    start_id, end_id = vocab[START], vocab[END]
    x, y, weights = one_hot_pairs(sequences, len(vocab), start_id, end_id)
    real_chars = int(weights.sum())
    y[weights == 0, end_id] = 1.0  # the seed pads the targets with the end symbol ...
    x[weights == 0, end_id] = 1.0  # ... and the inputs too, and trains on every step

    seed_model = _model(len(vocab))
    seed_model.compile(optimizer=keras.optimizers.RMSprop(LEARNING_RATE),
                       loss="categorical_crossentropy")
    initial = seed_model.get_weights()
    seed_s, seed_loss = _timed_fit(seed_model, epochs, x=x, y=y, batch_size=BATCH_SIZE)
    del x, y

    batches = LengthBucketedBatches(sequences, len(vocab), start_id, end_id, BATCH_SIZE)
    ours = _compiled(_model(len(vocab)))
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
    load_average = round(os.getloadavg()[0], 2)  # other programs on the machine slow every figure
    result = {**own_model(hidden_layer=True), **own_model(hidden_layer=False), **speed()}
    result["pretrained_valid_word_rate"] = pretrained_rate()
    if TORCH_TOO:
        result.update(_torch_speed())
    if RUN_NOTEBOOK:
        result["full_profile_wall_s"] = full_profile_wall_s(NOTEBOOK)
    result["load_average_1min_at_start"] = load_average
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
