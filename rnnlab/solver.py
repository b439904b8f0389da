"""A minibatch trainer for NumPy models: SGD or Adam, learning-rate decay, loss history.

The model is any object with
  params: dict[str, np.ndarray]                         the trainable arrays (updated in place)
  loss(features, captions) -> (loss: float, grads: dict) grads has the same keys and shapes
and the data is a dict with the keys of ``rnnlab.datasets.shapes_features.load``.
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

UPDATE_RULES = ("sgd", "adam")


def sgd(w: np.ndarray, dw: np.ndarray, config: dict) -> tuple[np.ndarray, dict]:
    """Plain stochastic gradient descent: w - learning_rate * dw.

    w, dw: same shape; config: {'learning_rate': float}; returns (next_w, config)
    """
    config.setdefault("learning_rate", 1e-2)
    return w - config["learning_rate"] * dw, config


def adam(w: np.ndarray, dw: np.ndarray, config: dict) -> tuple[np.ndarray, dict]:
    """Adam with bias correction (Kingma and Ba, 2015).

    w, dw: same shape
    config: learning_rate, beta1, beta2, epsilon, and the running moments m, v and step t
            (created on the first call)
    returns: (next_w, config)
    """
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)
    config["t"] += 1
    config["m"] = config["beta1"] * config["m"] + (1 - config["beta1"]) * dw
    config["v"] = config["beta2"] * config["v"] + (1 - config["beta2"]) * dw**2
    m_hat = config["m"] / (1 - config["beta1"] ** config["t"])
    v_hat = config["v"] / (1 - config["beta2"] ** config["t"])
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config


def sample_minibatch(data: dict, batch_size: int, split: str = "train",
                     rng: np.random.Generator | None = None):
    """Random captions of a split with their images' features and file paths.

    returns: (captions: (batch_size, T) int, features: (batch_size, D), image_paths: list of str)
    """
    for key in (f"{split}_captions", f"{split}_image_idxs", f"{split}_features"):
        if key not in data:
            raise KeyError(f"the data has no {key!r}: load it with "
                           f"rnnlab.datasets.shapes_features.load(splits=(..., {split!r}))")
    rng = rng if rng is not None else np.random.default_rng()
    count = len(data[f"{split}_captions"])
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    picks = rng.choice(count, size=batch_size, replace=batch_size > count)
    image_idxs = data[f"{split}_image_idxs"][picks]
    paths = data.get(f"{split}_image_paths")
    image_paths = [str(paths[i]) for i in image_idxs] if paths is not None else []
    return data[f"{split}_captions"][picks], data[f"{split}_features"][image_idxs], image_paths


class CaptioningSolver:
    """Trains a captioning model on ``data`` with minibatch SGD or Adam.

    model:        an object with ``params`` and ``loss(features, captions)`` (see the module doc)
    data:         dict with train_captions (C, T), train_image_idxs (C,), train_features (N, D)
    update_rule:  'sgd' or 'adam'
    optim_config: settings for the update rule, e.g. {'learning_rate': 5e-3}
    lr_decay:     the learning rate is multiplied by this after every epoch
    batch_size, num_epochs: an epoch is max(C // batch_size, 1) steps
    print_every:  with verbose=True, write the loss every this many steps
    seed:         seeds the minibatch sampling, so a run repeats
    After ``train()``: loss_history holds the loss of every step.
    """

    def __init__(self, model, data: dict, update_rule: str = "sgd",
                 optim_config: dict | None = None, lr_decay: float = 1.0, batch_size: int = 100,
                 num_epochs: int = 10, print_every: int = 10, verbose: bool = True,
                 progress: bool = True, seed: int = 0):
        if not isinstance(getattr(model, "params", None), dict) or not callable(
                getattr(model, "loss", None)):
            raise TypeError("the model needs a `params` dict and a `loss(features, captions)` "
                            "method returning (loss, grads)")
        if update_rule not in UPDATE_RULES:
            raise ValueError(f"unknown update_rule {update_rule!r}: use one of {UPDATE_RULES}")
        if not 0 < lr_decay <= 1:
            raise ValueError(f"lr_decay must be in (0, 1], got {lr_decay}")
        if batch_size < 1 or num_epochs < 1 or print_every < 1:
            raise ValueError("batch_size, num_epochs and print_every must all be at least 1")
        for key in ("train_captions", "train_image_idxs", "train_features"):
            if key not in data:
                raise KeyError(f"the data has no {key!r}: load it with "
                               "rnnlab.datasets.shapes_features.load()")
        self.model, self.data = model, data
        self.update = {"sgd": sgd, "adam": adam}[update_rule]
        self.lr_decay, self.batch_size, self.num_epochs = lr_decay, batch_size, num_epochs
        self.print_every, self.verbose, self.progress = print_every, verbose, progress
        self.rng = np.random.default_rng(seed)
        self.configs = {name: dict(optim_config or {}) for name in model.params}
        self.loss_history: list[float] = []

    def step(self) -> float:
        """One update on a random minibatch; returns its loss."""
        captions, features, _ = sample_minibatch(self.data, self.batch_size, "train", self.rng)
        loss, grads = self.model.loss(features, captions)
        missing = set(self.model.params) - set(grads)
        if missing:
            raise KeyError(f"model.loss returned no gradient for {sorted(missing)}")
        for name, value in self.model.params.items():
            self.model.params[name], self.configs[name] = self.update(
                value, grads[name], self.configs[name])
        self.loss_history.append(float(loss))
        return float(loss)

    def train(self) -> list[float]:
        """Run num_epochs epochs; returns the loss history."""
        steps_per_epoch = max(len(self.data["train_captions"]) // self.batch_size, 1)
        total = steps_per_epoch * self.num_epochs
        bar = tqdm(range(total), desc="training", disable=not self.progress, leave=False)
        for it in bar:
            loss = self.step()
            bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
            if self.verbose and (it % self.print_every == 0 or it == total - 1):
                tqdm.write(f"step {it + 1:5d} / {total}  loss {loss:.4f}")
            if (it + 1) % steps_per_epoch == 0:
                for config in self.configs.values():
                    config["learning_rate"] *= self.lr_decay
        bar.close()
        return self.loss_history
