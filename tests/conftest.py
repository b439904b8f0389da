"""Shared fixtures: the repository root and a small shapes dataset built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def small_shapes(tmp_path_factory) -> Path:
    """A small shapes dataset (every split, no PNGs) in a temporary folder."""
    from rnnlab.datasets import shapes

    out = tmp_path_factory.mktemp("shapes")
    sizes = {"train": 120, "val": 20, "test": 20, "heldout": 20}
    return shapes.build(out, seed=3, sizes=sizes, write_png=False)
