import numpy as np
import pytest
import torch

from rnnlab import decoding, gradcheck
from rnnlab.gradcheck import gradient_error, rel_error


def test_draws_follow_the_probabilities_and_torch_tensors_work():
    rng = np.random.default_rng(1)
    p = np.array([0.6, 0.3, 0.1, 0.0])
    counts = np.bincount([decoding.sample_probabilities(p, rng) for _ in range(4000)], minlength=4)
    assert np.allclose(counts / 4000, p, atol=0.03)
    assert counts[3] == 0
    assert decoding.sample_probabilities(torch.tensor([0.0, 1.0, 0.0]), rng) == 1


def test_float32_probabilities_are_renormalised():
    p = np.full(7, 1 / 7, dtype=np.float32)
    assert 0 <= decoding.sample_probabilities(p, np.random.default_rng(0)) < 7


def test_bad_decoding_inputs():
    with pytest.raises(ValueError, match="non-negative"):
        decoding.sample_probabilities(np.array([0.5, -0.1]))
    with pytest.raises(ValueError, match="positive sum"):
        decoding.sample_probabilities(np.zeros(3))
    with pytest.raises(ValueError, match=r"\(V,\)"):
        decoding.sample_probabilities(np.full((2, 3), 0.5))


def test_no_exercise_left_in_decoding():
    # lab 02's exercise 4 (softmax, temperature, top-k) is the student's: rnnlab only draws
    assert [name for name in vars(decoding) if not name.startswith("_") and callable(getattr(decoding, name))
            and getattr(decoding, name).__module__ == decoding.__name__] == ["sample_probabilities"]


def test_gradient_error_small_for_the_right_gradient_large_for_a_wrong_one():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    assert gradient_error(lambda z: float(np.sum(z**3)), x, 3 * x**2) < 1e-7
    assert gradient_error(lambda z: float(np.sum(z**3)), x, 2 * x**2) > 0.1
    w = rng.normal(size=(4, 2))
    df = rng.normal(size=(3, 2))
    assert gradient_error(lambda z: z @ w, x, df @ w.T, df) < 1e-7
    assert gradient_error(lambda z: z @ w, x, -(df @ w.T), df) > 0.1


def test_gradcheck_returns_no_gradient():
    # a numerical gradient would answer lab 04's backward passes: only errors come out of rnnlab
    public = [name for name, value in vars(gradcheck).items() if not name.startswith("_")
              and callable(value) and value.__module__ == gradcheck.__name__]
    assert sorted(public) == ["gradient_error", "rel_error"]


def test_rel_error_and_input_checks():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0
    assert rel_error([1.0], [1.1]) == pytest.approx(0.1 / 2.1)
    with pytest.raises(ValueError, match="shapes differ"):
        rel_error(np.zeros(2), np.zeros(3))
    with pytest.raises(TypeError, match="float"):
        gradient_error(lambda z: 0.0, np.arange(3), np.zeros(3))
    with pytest.raises(ValueError, match="must match"):
        gradient_error(lambda z: 0.0, np.zeros(3), np.zeros(2))
