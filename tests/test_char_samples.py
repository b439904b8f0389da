import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bench._char_sampler import reset_stateful_layers, sample_sentences  # noqa: E402
from rnnlab.char_samples import known_words, valid_word_rate, words  # noqa: E402

ALPHABET = ["\x02", "\x03", "a", "b"]
START, END = 0, 1


def _fixed_model(probabilities, batch: int = 8) -> keras.Model:
    """Stateful model whose output is `probabilities` (V,) at every step (zero LSTM weights)."""
    model = keras.Sequential([
        keras.Input(batch_shape=(batch, 1, len(ALPHABET))),
        keras.layers.LSTM(4, stateful=True),
        keras.layers.Dense(len(ALPHABET), activation="softmax"),
    ])
    model.layers[0].set_weights([np.zeros_like(w) for w in model.layers[0].get_weights()])
    kernel, _ = model.layers[1].get_weights()
    bias = np.log(np.maximum(np.asarray(probabilities, dtype="float32"), 1e-12))
    model.layers[1].set_weights([np.zeros_like(kernel), bias])
    return model


def test_words_and_known_words_keep_lower_case_letters_only():
    assert words("A red box, left of 2 discs.") == ["a", "red", "box", "left", "of", "discs"]
    assert known_words(["A box.", "a Disc"]) == {"a", "box", "disc"}
    with pytest.raises(ValueError, match="no words"):
        known_words(["12 34", ""])


def test_valid_word_rate_counts_words_not_sentences():
    vocabulary = {"a", "red", "box"}
    assert valid_word_rate(["a red box", "a rde box"], vocabulary) == pytest.approx(5 / 6)
    assert valid_word_rate(["...", ""], vocabulary) == 0.0
    with pytest.raises(ValueError, match="no sentences"):
        valid_word_rate([], vocabulary)


def test_sampling_stops_at_the_end_symbol_and_after_max_len():
    assert sample_sentences(_fixed_model([0, 1, 0, 0]), ALPHABET, START, END, 20) == [""] * 8
    always_a = sample_sentences(_fixed_model([0, 0, 1, 0]), ALPHABET, START, END, 5)
    assert always_a == ["aaaaa"] * 8


def test_sampling_draws_from_the_distribution_and_repeats_with_a_seed():
    model = _fixed_model([0, 0.1, 0.45, 0.45], batch=16)
    first = sample_sentences(model, ALPHABET, START, END, 60, rng=np.random.default_rng(3))
    again = sample_sentences(model, ALPHABET, START, END, 60, rng=np.random.default_rng(3))
    assert first == again
    text = "".join(first)
    assert set(text) == {"a", "b"}
    assert 0.3 < text.count("a") / len(text) < 0.7
    mean_len = np.mean([len(s) for s in first])
    assert 4 < mean_len < 20  # the end symbol has probability 0.1: about 9 characters


def test_low_temperature_picks_the_most_probable_character():
    model = _fixed_model([0, 0.05, 0.6, 0.35])
    cold = sample_sentences(model, ALPHABET, START, END, 30, temperature=0.05,
                            rng=np.random.default_rng(0))
    assert cold == ["a" * 30] * 8


def test_reset_stateful_layers_zeroes_the_carried_state():
    model = keras.Sequential([
        keras.Input(batch_shape=(1, 1, 3)),
        keras.layers.LSTM(4, stateful=True),
    ])
    x = np.ones((1, 1, 3), dtype="float32")
    reset_stateful_layers(model)
    first = keras.ops.convert_to_numpy(model.predict_on_batch(x))
    second = keras.ops.convert_to_numpy(model.predict_on_batch(x))
    reset_stateful_layers(model)
    after_reset = keras.ops.convert_to_numpy(model.predict_on_batch(x))
    assert not np.allclose(first, second)
    assert np.allclose(first, after_reset)


def test_sample_sentences_rejects_a_model_or_alphabet_that_does_not_fit():
    with pytest.raises(ValueError, match="batch_shape"):
        sample_sentences(keras.Sequential([keras.Input((None, 4)), keras.layers.Dense(4)]),
                         ALPHABET, START, END, 5)
    model = _fixed_model([0, 1, 0, 0])
    with pytest.raises(ValueError, match="alphabet has 3"):
        sample_sentences(model, ALPHABET[:3], START, END, 5)
    with pytest.raises(ValueError, match="temperature"):
        sample_sentences(model, ALPHABET, START, END, 5, temperature=0)
