"""Drawing the next token id from probabilities that the lab computed.

The probabilities themselves (softmax, temperature, top-k) are lab exercises and stay in the labs.
"""

from __future__ import annotations

import numpy as np


def sample_probabilities(probs, rng: np.random.Generator | None = None) -> int:
    """Draw one id from a probability vector (V,), renormalised in float64 first.

    probs: (V,) non-negative numbers with a positive sum (numpy array or torch tensor)
    A float32 softmax rarely sums to exactly 1, which makes numpy's multinomial refuse it.
    """
    if hasattr(probs, "detach"):
        probs = probs.detach().cpu().numpy()
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"expected one non-empty vector of probabilities (V,), got shape {p.shape}")
    if (p < 0).any() or p.sum() <= 0:
        raise ValueError("probabilities must be non-negative with a positive sum")
    p = p / p.sum()
    rng = rng if rng is not None else np.random.default_rng()
    return int(rng.choice(p.size, p=p))
