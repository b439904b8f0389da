"""Build every embedded dataset: ``python -m rnnlab.build`` (what ``make data`` runs).

Labs that derive data (features, activations) add a builder to BUILDERS: a function taking the
data root and returning nothing, that skips work already done.
"""

from __future__ import annotations

import time
from pathlib import Path

from rnnlab.datasets import shapes, shapes_features
from rnnlab.runtime import data_root


def build_shapes(root: Path) -> None:
    """The shapes captions splits (JSON, .npy, PNG), unless already built by this code."""
    shapes.ensure_built(root / "shapes")


def build_shapes_features(root: Path) -> None:
    """Image features (PCA of pixels) and encoded captions of the shapes scenes, for lab 04."""
    shapes_features.build(root / "shapes_features", root / "shapes")


BUILDERS = [build_shapes, build_shapes_features]


def build_all(root: Path | None = None) -> Path:
    """Run every builder into root (default ``data_root()``), printing one line each with its time."""
    root = Path(root) if root is not None else data_root()
    root.mkdir(parents=True, exist_ok=True)
    for builder in BUILDERS:
        start = time.perf_counter()
        builder(root)
        print(f"rnnlab.build: {builder.__name__} done in {time.perf_counter() - start:.1f} s")
    return root


if __name__ == "__main__":
    print(f"rnnlab.build: data written to {build_all()}")
