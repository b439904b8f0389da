"""The NumPy solver: update rules, learning-rate decay, loss history, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab.solver import CaptioningSolver, adam, sample_minibatch, sgd


class QuadraticModel:
    """loss = mean over the batch of ||w - target(features)||^2; its gradient is exact."""

    def __init__(self):
        self.params = {"w": np.zeros(3)}

    def loss(self, features, captions):
        diff = self.params["w"] - features.mean(axis=0)
        return float(diff @ diff), {"w": 2 * diff}


def tiny_data(n_images=4, n_captions=20):
    rng = np.random.default_rng(0)
    return {
        "train_captions": rng.integers(0, 5, size=(n_captions, 6)),
        "train_image_idxs": rng.integers(0, n_images, size=n_captions),
        "train_features": np.ones((n_images, 3)) + 0.01 * rng.normal(size=(n_images, 3)),
        "train_image_paths": np.array([f"img{i}.png" for i in range(n_images)]),
    }


def test_sgd_steps_against_the_gradient():
    w, config = sgd(np.array([1.0, -2.0]), np.array([0.5, -1.0]), {"learning_rate": 0.1})
    assert np.allclose(w, [0.95, -1.9]) and config["learning_rate"] == 0.1


def test_adam_first_step_moves_each_weight_by_the_learning_rate():
    w, config = adam(np.zeros(3), np.array([3.0, -0.2, 1e-3]), {"learning_rate": 0.01})
    assert np.allclose(w, [-0.01, 0.01, -0.01], atol=1e-6)
    assert config["t"] == 1 and config["m"].shape == (3,)


@pytest.mark.parametrize("rule", ["sgd", "adam"])
def test_training_lowers_the_loss_records_history_and_decays_the_rate(rule):
    model = QuadraticModel()
    solver = CaptioningSolver(model, tiny_data(), update_rule=rule, batch_size=5, num_epochs=10,
                              optim_config={"learning_rate": 0.1}, lr_decay=0.9, verbose=False,
                              progress=False)
    history = solver.train()
    assert len(history) == 10 * (20 // 5)
    assert history[-1] < 0.1 * history[0]
    assert solver.configs["w"]["learning_rate"] == pytest.approx(0.1 * 0.9**10)


def test_the_same_seed_repeats_the_same_run():
    runs = []
    for _ in range(2):
        solver = CaptioningSolver(QuadraticModel(), tiny_data(), update_rule="adam", batch_size=3,
                                  num_epochs=2, verbose=False, progress=False, seed=7)
        runs.append(solver.train())
    assert runs[0] == runs[1]


def test_sample_minibatch_returns_captions_features_and_paths():
    data = tiny_data()
    captions, features, paths = sample_minibatch(data, 8, rng=np.random.default_rng(1))
    assert captions.shape == (8, 6) and features.shape == (8, 3) and len(paths) == 8
    assert all(p.startswith("img") for p in paths)


def test_bad_inputs_say_what_is_wrong():
    data = tiny_data()
    with pytest.raises(TypeError, match="params"):
        CaptioningSolver(object(), data)
    with pytest.raises(ValueError, match="update_rule"):
        CaptioningSolver(QuadraticModel(), data, update_rule="rmsprop")
    with pytest.raises(ValueError, match="lr_decay"):
        CaptioningSolver(QuadraticModel(), data, lr_decay=1.5)
    with pytest.raises(ValueError, match="at least 1"):
        CaptioningSolver(QuadraticModel(), data, batch_size=0)
    with pytest.raises(KeyError, match="train_features"):
        CaptioningSolver(QuadraticModel(), {"train_captions": [], "train_image_idxs": []})
    with pytest.raises(KeyError, match="val_captions"):
        sample_minibatch(data, 2, split="val")

    class NoGradient(QuadraticModel):
        def loss(self, features, captions):
            return 1.0, {}

    solver = CaptioningSolver(NoGradient(), data, verbose=False, progress=False)
    with pytest.raises(KeyError, match="no gradient for"):
        solver.step()
