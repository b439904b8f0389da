"""Shared fixtures: the repository root, a small shapes dataset, the published students' editions,
each built once per session, and a headless Chromium per test module."""

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


@pytest.fixture(scope="session")
def class_edition(tmp_path_factory) -> Path:
    """The class edition (`python -m grader publish DEST`) of this checkout, published once."""
    from grader.course import load_course
    from grader.editions.publish import publish

    return publish(load_course(REPO), tmp_path_factory.mktemp("editions") / "rnn-labs")


@pytest.fixture(scope="session")
def self_study_edition(tmp_path_factory) -> Path:
    """The self-study edition of this checkout, published once."""
    from grader.course import load_course
    from grader.editions.publish import publish

    dest = tmp_path_factory.mktemp("editions") / "rnn-labs-self-study"
    return publish(load_course(REPO), dest, "self-study")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium (tests/chromium.py) for one test module; mark the module needs_chromium."""
    from chromium import start_chromium

    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()
