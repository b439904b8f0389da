"""Shared fixtures: the repository root and a small shapes dataset built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

# TensorFlow (through Keras) imported before torchvision makes torchvision's import of triton
# crash the process on this stack (torch 2.14, TF 2.21); the other order works. Some test modules
# import Keras, others torchvision, so torchvision goes first, for the whole session.
import torchvision  # noqa: F401, I001

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
