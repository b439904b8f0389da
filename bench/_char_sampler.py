"""Many sentences at once from a stateful Keras character model (data/weights/make_char_lstm_weights.py).

Not in rnnlab: it is a batched version of lab 01's Q3 (``sample_caption``), which the students
write. ``sample_sentences`` runs a stateful model whose batch holds B sentences, one character per
call, so B samples cost as many calls as one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def reset_stateful_layers(model) -> None:
    """Zero the carried state of every stateful recurrent layer of a Keras model."""
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_state()


def sample_sentences(model, alphabet: Sequence[str], start_id: int, end_id: int, max_len: int,
                     temperature: float = 1.0, rng: np.random.Generator | None = None
                     ) -> list[str]:
    """Sample B sentences in parallel, one character per call, until each reaches the end symbol.

    model:    stateful Keras model, input batch_shape (B, 1, V), output (B, V) probabilities
    alphabet: the V symbols by id (alphabet[i] is the character with id i)
    max_len:  stop a sentence after this many characters if it has not ended
    temperature: probabilities are raised to 1/temperature and renormalised (1.0: unchanged)
    returns:  B strings without the start and end symbols
    """
    batch, steps, vocab_size = tuple(model.inputs[0].shape)
    if batch is None or steps != 1:
        raise ValueError(
            f"the model's input shape is {(batch, steps, vocab_size)}: build it with "
            "keras.Input(batch_shape=(B, 1, V)) and a stateful LSTM"
        )
    if len(alphabet) != vocab_size:
        raise ValueError(f"alphabet has {len(alphabet)} symbols but the model expects {vocab_size}")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    rng = rng if rng is not None else np.random.default_rng()
    reset_stateful_layers(model)
    x = np.zeros((batch, 1, vocab_size), dtype=np.float32)
    x[:, 0, start_id] = 1.0
    chosen = np.zeros((batch, max_len), dtype=np.int64)
    ended = np.zeros(batch, dtype=bool)
    for t in range(max_len):
        probs = np.asarray(model.predict_on_batch(x), dtype=np.float64).reshape(batch, vocab_size)
        logp = np.log(np.maximum(probs, 1e-300)) / temperature
        probs = np.exp(logp - logp.max(axis=1, keepdims=True))
        cumulative = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
        ids = np.minimum((cumulative < rng.random((batch, 1))).sum(axis=1), vocab_size - 1)
        chosen[:, t] = np.where(ended, end_id, ids)
        ended |= ids == end_id
        if ended.all():
            break
        x[:] = 0.0
        x[np.arange(batch), 0, ids] = 1.0
    sentences = []
    for row in chosen:
        stop = np.flatnonzero(row == end_id)
        row = row[: stop[0]] if stop.size else row
        sentences.append("".join(alphabet[i] for i in row if i != start_id))
    return sentences
