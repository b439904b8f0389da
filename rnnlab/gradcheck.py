"""Gradient checks for backward passes: how far an analytic gradient is from centred differences.

Only the error comes back, never the numerical gradient itself: it checks a backward pass, it
cannot stand in for one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def rel_error(x, y) -> float:
    """max |x - y| / max(1e-8, |x| + |y|), elementwise; ~1e-7 or less means 'equal'."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"shapes differ: {x.shape} vs {y.shape}")
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def gradient_error(f: Callable[[np.ndarray], object], x: np.ndarray, grad, df=None,
                   h: float = 1e-5) -> float:
    """``rel_error`` between an analytic gradient and the centred-difference gradient of f at x.

    f:    x -> a scalar (df None), or x -> an array whose sum(f(x) * df) is differentiated
    x:    float array of any shape; changed during the check and restored
    grad: the analytic gradient to check, shaped like x
    df:   the upstream gradient, shaped like f(x), for an array-valued f
    """
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise TypeError("gradient checks need a float numpy array (integers cannot move by h)")
    grad = np.asarray(grad)
    if grad.shape != x.shape:
        raise ValueError(f"the gradient has shape {grad.shape}, the input {x.shape}: they must match")

    def value() -> float:
        out = f(x)
        return float(out) if df is None else float(np.sum(np.asarray(out) * df))

    numeric = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        plus = value()
        x[ix] = old - h
        minus = value()
        x[ix] = old
        numeric[ix] = (plus - minus) / (2 * h)
    return rel_error(grad, numeric)
