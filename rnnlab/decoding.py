"""Choosing the next token from a model's scores: greedy, temperature and top-k sampling."""

from __future__ import annotations

import numpy as np


def _as_float64(scores) -> np.ndarray:
    if hasattr(scores, "detach"):
        scores = scores.detach().cpu().numpy()
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 1 or scores.size == 0:
        raise ValueError(f"expected one non-empty vector of scores (V,), got shape {scores.shape}")
    return scores


def softmax(logits, temperature: float = 1.0) -> np.ndarray:
    """logits (V,) -> probabilities (V,) in float64, summing to 1 exactly enough for sampling."""
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}: use greedy() for 0")
    z = _as_float64(logits) / temperature
    z -= z.max()
    p = np.exp(z)
    return p / p.sum()


def greedy(logits) -> int:
    """The id with the highest score. logits: (V,) numpy array or torch tensor."""
    return int(np.argmax(_as_float64(logits)))


def sample(logits, temperature: float = 1.0, top_k: int | None = None,
           rng: np.random.Generator | None = None) -> int:
    """Draw one id from softmax(logits / temperature), optionally among the top_k scores only.

    logits: (V,) unnormalised log-probabilities (numpy array or torch tensor)
    top_k:  keep the k highest scores and renormalise (k=1 is greedy); None keeps all
    """
    logits = _as_float64(logits)
    if top_k is not None:
        if not 1 <= top_k <= logits.size:
            raise ValueError(f"top_k must be between 1 and {logits.size}, got {top_k}")
        cutoff = np.sort(logits)[-top_k]
        logits = np.where(logits >= cutoff, logits, -np.inf)
    p = softmax(logits, temperature)
    rng = rng if rng is not None else np.random.default_rng()
    return int(rng.choice(p.size, p=p))


def sample_probabilities(probs, rng: np.random.Generator | None = None) -> int:
    """Draw one id from a probability vector (V,), renormalised in float64 first.

    A float32 softmax rarely sums to exactly 1, which makes numpy's multinomial refuse it.
    """
    p = _as_float64(probs)
    if (p < 0).any() or p.sum() <= 0:
        raise ValueError("probabilities must be non-negative with a positive sum")
    p = p / p.sum()
    rng = rng if rng is not None else np.random.default_rng()
    return int(rng.choice(p.size, p=p))
