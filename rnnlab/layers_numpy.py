"""NumPy layers the captioning lab provides (the recurrent layers are the students' exercise).

Every layer has a forward pass returning ``(out, cache)`` and a backward pass taking the upstream
gradient and that cache. Shapes: N batch, T time steps, D input size, M output size, V vocabulary.
"""

from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function, elementwise, without overflow for large |x|; any shape -> same shape."""
    x = np.asarray(x)
    out = np.empty_like(x, dtype=np.result_type(x.dtype, np.float32))
    positive = x >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    exp_x = np.exp(x[~positive])
    out[~positive] = exp_x / (1.0 + exp_x)
    return out


def affine_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """out = x @ w + b.

    x: (N, D), w: (D, M), b: (M,)
    returns: (out: (N, M), cache)
    """
    _check_ndim("x", x, 2)
    _check_weights(x, w, b)
    return x @ w + b, (x, w)


def affine_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of affine_forward.

    dout: (N, M); returns (dx: (N, D), dw: (D, M), db: (M,))
    """
    x, w = cache
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


def temporal_affine_forward(x: np.ndarray, w: np.ndarray,
                            b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """The same affine map applied at every time step: out[n, t] = x[n, t] @ w + b.

    x: (N, T, D), w: (D, M), b: (M,)
    returns: (out: (N, T, M), cache)
    """
    _check_ndim("x", x, 3)
    _check_weights(x, w, b)
    return x @ w + b, (x, w)


def temporal_affine_backward(dout: np.ndarray,
                             cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of temporal_affine_forward.

    dout: (N, T, M); returns (dx: (N, T, D), dw: (D, M), db: (M,))
    """
    x, w = cache
    if dout.shape[:2] != x.shape[:2] or dout.shape[-1] != w.shape[1]:
        raise ValueError(
            f"dout has shape {dout.shape} but the forward pass gave {x.shape[:2] + (w.shape[1],)}: "
            "pass the gradient of this layer's own output"
        )
    flat_x = x.reshape(-1, x.shape[-1])
    flat_dout = dout.reshape(-1, dout.shape[-1])
    return dout @ w.T, flat_x.T @ flat_dout, flat_dout.sum(axis=0)


def temporal_softmax_loss(scores: np.ndarray, targets: np.ndarray,
                          mask: np.ndarray) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy summed over the time steps the mask keeps, averaged over the batch.

    scores:  (N, T, V) unnormalised log-probabilities
    targets: (N, T) int, values in [0, V)
    mask:    (N, T) bool, False where the target is padding (it adds no loss and no gradient)
    returns: (loss: float, dscores: (N, T, V))
    """
    _check_ndim("scores", scores, 3)
    n, t, v = scores.shape
    targets, mask = np.asarray(targets), np.asarray(mask)
    if targets.shape != (n, t) or mask.shape != (n, t):
        raise ValueError(
            f"scores are (N, T, V) = {scores.shape}, so targets and mask must both be {(n, t)}; "
            f"got targets {targets.shape} and mask {mask.shape}"
        )
    if targets.dtype.kind not in "iu":
        raise TypeError(f"targets must be integer word ids, got dtype {targets.dtype}")
    if targets.size and (targets.min() < 0 or targets.max() >= v):
        raise ValueError(f"targets must lie in [0, {v}) (the vocabulary size); "
                         f"got values from {targets.min()} to {targets.max()}")
    flat_scores = scores.reshape(n * t, v)
    flat_targets = targets.reshape(n * t)
    flat_mask = mask.reshape(n * t).astype(scores.dtype)
    shifted = flat_scores - flat_scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(n * t)
    loss = -np.sum(flat_mask * log_probs[rows, flat_targets]) / n
    dflat = np.exp(log_probs)
    dflat[rows, flat_targets] -= 1
    dflat *= flat_mask[:, None] / n
    return float(loss), dflat.reshape(n, t, v)


def _check_ndim(name: str, array: np.ndarray, ndim: int) -> None:
    if not isinstance(array, np.ndarray) or array.ndim != ndim:
        shape = getattr(array, "shape", type(array).__name__)
        raise ValueError(f"{name} must be a numpy array with {ndim} dimensions, got {shape}")


def _check_weights(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> None:
    if w.ndim != 2 or w.shape[0] != x.shape[-1]:
        raise ValueError(f"w must be (D, M) with D = {x.shape[-1]} (x's last axis), got {w.shape}")
    if b.shape != (w.shape[1],):
        raise ValueError(f"b must be (M,) = ({w.shape[1]},) to match w, got {b.shape}")
