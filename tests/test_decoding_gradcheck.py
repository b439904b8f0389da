import numpy as np
import pytest
import torch

from rnnlab import decoding
from rnnlab.gradcheck import numerical_gradient, numerical_gradient_array, rel_error


def test_greedy_and_top1_pick_the_maximum():
    logits = torch.tensor([0.1, 2.0, -1.0, 1.9])
    assert decoding.greedy(logits) == 1
    rng = np.random.default_rng(0)
    assert {decoding.sample(logits, top_k=1, rng=rng) for _ in range(20)} == {1}


def test_top_k_never_draws_outside_the_top_k():
    rng = np.random.default_rng(0)
    logits = np.array([5.0, 4.0, 3.0, -2.0, -3.0])
    draws = {decoding.sample(logits, top_k=2, rng=rng) for _ in range(200)}
    assert draws == {0, 1}


def test_temperature_sharpens_and_flattens():
    logits = np.array([2.0, 1.0, 0.0])
    cold, hot = decoding.softmax(logits, 0.2), decoding.softmax(logits, 5.0)
    assert cold[0] > decoding.softmax(logits)[0] > hot[0]
    rng = np.random.default_rng(1)
    counts = np.bincount([decoding.sample(logits, rng=rng) for _ in range(4000)], minlength=3)
    assert np.allclose(counts / 4000, decoding.softmax(logits), atol=0.03)


def test_float32_probabilities_are_renormalised():
    p = np.full(7, 1 / 7, dtype=np.float32)
    assert 0 <= decoding.sample_probabilities(p, np.random.default_rng(0)) < 7


def test_bad_decoding_inputs():
    with pytest.raises(ValueError, match="top_k"):
        decoding.sample(np.zeros(3), top_k=4)
    with pytest.raises(ValueError, match="temperature"):
        decoding.softmax(np.zeros(3), temperature=0)
    with pytest.raises(ValueError, match=r"\(V,\)"):
        decoding.greedy(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="non-negative"):
        decoding.sample_probabilities(np.array([0.5, -0.1]))


def test_numerical_gradient_matches_the_analytic_one():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    grad = numerical_gradient(lambda z: float(np.sum(z**3)), x)
    assert rel_error(grad, 3 * x**2) < 1e-7
    w = rng.normal(size=(4, 2))
    df = rng.normal(size=(3, 2))
    grad = numerical_gradient_array(lambda z: z @ w, x, df)
    assert rel_error(grad, df @ w.T) < 1e-7


def test_rel_error_and_input_checks():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0
    assert rel_error([1.0], [1.1]) == pytest.approx(0.1 / 2.1)
    with pytest.raises(ValueError, match="shapes differ"):
        rel_error(np.zeros(2), np.zeros(3))
    with pytest.raises(TypeError, match="float"):
        numerical_gradient(lambda z: 0.0, np.arange(3))
