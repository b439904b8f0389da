"""Lab 04 bench: the NumPy captioning RNN/LSTM on the shapes features.

Measures, in one process so the ratios hold (one BLAS thread, as in the notebook):
  - seconds to overfit 50 captions with the original lab's configuration (hidden 512, word vectors
    256, batch 25, 50 epochs, Adam 5e-3, learning-rate decay 0.95) and with ours (no decay, which
    reaches a loss below 0.1 on our longer captions), for the RNN and the LSTM;
  - forward+backward throughput of CaptioningRNN.loss (time steps per second) at the original
    configuration in float32 and float64, and of the RNN layer vectorised over the batch against
    a Python loop over the examples;
  - semantic accuracy of greedy captions on the validation and held-out-combination images after
    the notebook's full-profile training (30,000 captions, 5 epochs, hidden 256, batch 100);
  - the wall time of the whole notebook under the full profile (nbclient, a fresh kernel).
The model code is the solution notebook's own: its exercise cells are executed here.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import numpy as np
from threadpoolctl import threadpool_limits

from bench._notebook import full_profile_wall_s
from rnnlab.datasets import shapes_features
from rnnlab.metrics import semantic_accuracy
from rnnlab.solver import CaptioningSolver

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "solutions" / "04_captioning_rnn_numpy" / "captioning_rnn_numpy.ipynb"
SEED_OVERFIT = {"hidden_dim": 512, "wordvec_dim": 256, "batch_size": 25, "num_epochs": 50,
                "learning_rate": 5e-3, "lr_decay": 0.95}
OURS_OVERFIT = dict(SEED_OVERFIT, lr_decay=1.0)
FULL = {"captions": 30_000, "num_epochs": 5, "hidden_dim": 256, "wordvec_dim": 128,
        "batch_size": 100, "learning_rate": 5e-3, "lr_decay": 0.9}


def solution_namespace() -> dict:
    """The notebook's exercise cells (solutions included) executed with the layers they use."""
    namespace = {"np": np}
    exec("from rnnlab.layers_numpy import *", namespace)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution") and not meta.get("grade"):
            exec(cell.source, namespace)
    return namespace


def train_captioner(ns: dict, data: dict, config: dict, cell_type: str, seed: int):
    """Train the solution's CaptioningRNN on data's training captions with Adam as configured.

    returns: (model, solver, seconds of training)
    """
    model = ns["CaptioningRNN"](data["word_to_idx"], input_dim=data["train_features"].shape[1],
                                wordvec_dim=config["wordvec_dim"],
                                hidden_dim=config["hidden_dim"], cell_type=cell_type)
    solver = CaptioningSolver(model, data, update_rule="adam", num_epochs=config["num_epochs"],
                              batch_size=config["batch_size"], lr_decay=config["lr_decay"],
                              optim_config={"learning_rate": config["learning_rate"]},
                              verbose=False, progress=False, seed=seed)
    start = time.perf_counter()
    solver.train()
    return model, solver, time.perf_counter() - start


def overfit(ns: dict, data: dict, cell_type: str, config: dict) -> tuple[float, float]:
    """(seconds, final loss) of overfitting data's training captions."""
    _, solver, seconds = train_captioner(ns, data, config, cell_type, seed=231)
    return seconds, solver.loss_history[-1]


def loss_steps_per_s(ns: dict, data: dict, dtype, repeats: int = 10) -> float:
    """Time steps per second of CaptioningRNN.loss (forward + backward), original configuration."""
    model = ns["CaptioningRNN"](data["word_to_idx"], input_dim=data["train_features"].shape[1],
                                wordvec_dim=256, hidden_dim=512, dtype=dtype)
    captions = data["train_captions"][:25]
    features = data["train_features"][data["train_image_idxs"][:25]].astype(dtype)
    model.loss(features, captions)
    start = time.perf_counter()
    for _ in range(repeats):
        model.loss(features, captions)
    return repeats * captions.shape[0] * (captions.shape[1] - 1) / (time.perf_counter() - start)


def rnn_layer_steps_per_s(ns: dict, per_example: bool, n: int = 50, t: int = 20) -> float:
    """Time steps per second of rnn_forward + rnn_backward (hidden 512, inputs 256, float32)."""
    rng = np.random.default_rng(0)
    shapes = [(n, t, 256), (n, 512), (256, 512), (512, 512), (512,)]
    x, h0, wx, wh, b = [rng.normal(size=s).astype(np.float32) for s in shapes]
    batches = [slice(i, i + 1) for i in range(n)] if per_example else [slice(0, n)]
    start = time.perf_counter()
    for part in batches:
        h, cache = ns["rnn_forward"](x[part], h0[part], wx, wh, b)
        ns["rnn_backward"](np.ones_like(h), cache)
    return n * t / (time.perf_counter() - start)


def full_training_accuracy(ns: dict) -> dict:
    """Train as the notebook's full profile does; semantic accuracy on val and heldout."""
    data = shapes_features.load(max_train=FULL["captions"], splits=("train", "val", "heldout"))
    model, solver, seconds = train_captioner(ns, data, FULL, "rnn", seed=0)
    out = {"full_training_s": seconds,
           "full_training_steps": len(solver.loss_history),
           "full_training_final_loss": solver.loss_history[-1]}
    for split in ("val", "heldout"):
        ids = model.sample(data[f"{split}_features"])
        captions = shapes_features.decode_captions(ids, data["idx_to_word"])
        out[f"semantic_accuracy_{split}"] = semantic_accuracy(captions, data[f"{split}_scenes"])
    return out


def run() -> dict:
    shapes_features.ensure_built()
    ns = solution_namespace()
    small = shapes_features.load(max_train=50, seed=231)
    out: dict = {}
    with threadpool_limits(limits=1):
        for name, config in (("seed_config", SEED_OVERFIT), ("ours", OURS_OVERFIT)):
            for cell_type in ("rnn", "lstm"):
                seconds, loss = overfit(ns, small, cell_type, config)
                out[f"{name}_overfit50_{cell_type}_s"] = round(seconds, 2)
                out[f"{name}_overfit50_{cell_type}_final_loss"] = round(float(loss), 4)
        out["seed_config_loss_fwd_bwd_steps_per_s_float32"] = round(
            loss_steps_per_s(ns, small, np.float32))
        out["loss_fwd_bwd_steps_per_s_float64"] = round(loss_steps_per_s(ns, small, np.float64))
        out["rnn_layer_vectorised_steps_per_s"] = round(rnn_layer_steps_per_s(ns, False))
        out["rnn_layer_per_example_steps_per_s"] = round(rnn_layer_steps_per_s(ns, True))
        out.update({k: round(v, 4) if isinstance(v, float) else v
                    for k, v in full_training_accuracy(ns).items()})
    if os.environ.get("RNNLAB_BENCH_SKIP_NOTEBOOK") != "1":
        out["full_profile_wall_s"] = full_profile_wall_s(NOTEBOOK)
    return out


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:48s} {value}")
