"""Numerical gradients (centred differences) and relative error, for checking backward passes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def rel_error(x, y) -> float:
    """max |x - y| / max(1e-8, |x| + |y|), elementwise; ~1e-7 or less means 'equal'."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"shapes differ: {x.shape} vs {y.shape}")
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Gradient of a scalar function f at x by centred differences; x is changed and restored.

    x: float array of any shape; returns an array of the same shape.
    """
    _check_float(x)
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        plus = f(x)
        x[ix] = old - h
        minus = f(x)
        x[ix] = old
        grad[ix] = (plus - minus) / (2 * h)
    return grad


def numerical_gradient_array(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                             df: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Gradient of sum(f(x) * df) w.r.t. x, for an array-valued f and upstream gradient df.

    x:  float array, any shape (changed and restored); df: same shape as f(x).
    returns: array shaped like x.
    """
    _check_float(x)
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        plus = np.array(f(x), copy=True)
        x[ix] = old - h
        minus = np.array(f(x), copy=True)
        x[ix] = old
        grad[ix] = np.sum((plus - minus) * df) / (2 * h)
    return grad


def _check_float(x: np.ndarray) -> None:
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise TypeError("numerical gradients need a float numpy array (integers cannot move by h)")
