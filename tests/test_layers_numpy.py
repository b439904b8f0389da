"""The NumPy layers lab 04 provides: known values, gradient checks, and clear errors on bad input."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab.gradcheck import gradient_error
from rnnlab.layers_numpy import (
    affine_backward,
    affine_forward,
    sigmoid,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
)


def test_sigmoid_matches_the_formula_and_does_not_overflow():
    x = np.array([-1000.0, -2.0, 0.0, 3.0, 1000.0])
    with np.errstate(over="raise"):
        out = sigmoid(x)
    assert np.allclose(out[1:4], 1 / (1 + np.exp(-x[1:4])))
    assert out[0] == 0.0 and out[-1] == 1.0 and out[2] == 0.5


def test_affine_forward_value_and_gradients():
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(4, 3)), rng.normal(size=(3, 5)), rng.normal(size=5)
    out, cache = affine_forward(x, w, b)
    assert np.allclose(out, x @ w + b)
    dout = rng.normal(size=out.shape)
    dx, dw, db = affine_backward(dout, cache)
    assert gradient_error(lambda v: affine_forward(v, w, b)[0], x, dx, dout) < 1e-8
    assert gradient_error(lambda v: affine_forward(x, v, b)[0], w, dw, dout) < 1e-8
    assert gradient_error(lambda v: affine_forward(x, w, v)[0], b, db, dout) < 1e-8


def test_temporal_affine_applies_the_same_map_at_every_step_and_gradients_check():
    rng = np.random.default_rng(1)
    x, w, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 5)), rng.normal(size=5)
    out, cache = temporal_affine_forward(x, w, b)
    assert out.shape == (2, 3, 5)
    assert np.allclose(out[1, 2], x[1, 2] @ w + b)
    dout = rng.normal(size=out.shape)
    dx, dw, db = temporal_affine_backward(dout, cache)
    assert gradient_error(lambda v: temporal_affine_forward(v, w, b)[0], x, dx, dout) < 1e-8
    assert gradient_error(lambda v: temporal_affine_forward(x, v, b)[0], w, dw, dout) < 1e-8
    assert gradient_error(lambda v: temporal_affine_forward(x, w, v)[0], b, db, dout) < 1e-8


@pytest.mark.parametrize(("n", "t", "p", "expected"), [(100, 1, 1.0, np.log(10)),
                                                       (100, 10, 1.0, 10 * np.log(10)),
                                                       (5000, 10, 0.1, np.log(10))])
def test_softmax_loss_of_near_uniform_scores_is_log_v_per_kept_step(n, t, p, expected):
    rng = np.random.default_rng(2)
    scores = 0.001 * rng.normal(size=(n, t, 10))
    targets = rng.integers(10, size=(n, t))
    mask = rng.random((n, t)) <= p
    loss, _ = temporal_softmax_loss(scores, targets, mask)
    assert abs(loss - expected * mask.mean() / p) < 0.05 * expected


def test_softmax_loss_gradient_checks_and_masked_steps_get_no_gradient():
    rng = np.random.default_rng(3)
    scores = rng.normal(size=(7, 8, 9))
    targets = rng.integers(9, size=(7, 8))
    mask = rng.random((7, 8)) > 0.5
    loss, dscores = temporal_softmax_loss(scores, targets, mask)
    assert gradient_error(lambda s: temporal_softmax_loss(s, targets, mask)[0], scores, dscores) < 1e-7
    assert np.all(dscores[~mask] == 0)
    assert loss == pytest.approx(temporal_softmax_loss(scores + 5.0, targets, mask)[0])


def test_softmax_loss_is_finite_for_huge_scores():
    scores = np.array([[[1000.0, 0.0, -1000.0]]])
    loss, dscores = temporal_softmax_loss(scores, np.array([[0]]), np.array([[True]]))
    assert np.isfinite(loss) and loss == pytest.approx(0.0)
    assert np.all(np.isfinite(dscores))


def test_bad_inputs_say_what_is_wrong():
    scores = np.zeros((2, 3, 4))
    with pytest.raises(ValueError, match="targets and mask must both be"):
        temporal_softmax_loss(scores, np.zeros((2, 4), dtype=int), np.ones((2, 3), dtype=bool))
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 4\)"):
        temporal_softmax_loss(scores, np.full((2, 3), 4), np.ones((2, 3), dtype=bool))
    with pytest.raises(TypeError, match="integer word ids"):
        temporal_softmax_loss(scores, np.zeros((2, 3)), np.ones((2, 3), dtype=bool))
    with pytest.raises(ValueError, match="3 dimensions"):
        temporal_softmax_loss(np.zeros((2, 4)), np.zeros((2, 3), dtype=int), np.ones((2, 3)))
    with pytest.raises(ValueError, match="w must be"):
        temporal_affine_forward(np.zeros((2, 3, 4)), np.zeros((5, 6)), np.zeros(6))
    with pytest.raises(ValueError, match="b must be"):
        affine_forward(np.zeros((2, 4)), np.zeros((4, 6)), np.zeros(5))
    _, cache = temporal_affine_forward(np.zeros((2, 3, 4)), np.zeros((4, 6)), np.zeros(6))
    with pytest.raises(ValueError, match="dout has shape"):
        temporal_affine_backward(np.zeros((2, 3, 5)), cache)
