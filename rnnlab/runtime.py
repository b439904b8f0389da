"""Run profile, device choice, seeding and where the course data lives.

The run profile decides how much work a notebook does, with the same code path in all of them:
  full     the student default (a few minutes on a 2-core CPU)
  grading  set automatically under nbgrader (NBGRADER_EXECUTION is present): short runs
  test     RNNLAB_PROFILE=test, used by the test suite: shortest runs
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np

PROFILES = ("full", "grading", "test")


def profile() -> str:
    """The active run profile: RNNLAB_PROFILE if set, else 'grading' under nbgrader, else 'full'."""
    chosen = os.environ.get("RNNLAB_PROFILE", "").strip().lower()
    if chosen:
        if chosen not in PROFILES:
            raise ValueError(
                f"RNNLAB_PROFILE={chosen!r} is not a run profile: use one of {', '.join(PROFILES)}"
            )
        return chosen
    if "NBGRADER_EXECUTION" in os.environ:
        return "grading"
    return "full"


def budget(full, grading, test):
    """Pick the value for the active profile, e.g. ``epochs = budget(full=20, grading=2, test=1)``."""
    return {"full": full, "grading": grading, "test": test}[profile()]


def device(prefer: str | None = None):
    """The torch device to use: RNNLAB_DEVICE or ``prefer`` if given, else cuda > mps > cpu."""
    import torch

    name = prefer or os.environ.get("RNNLAB_DEVICE")
    if name:
        dev = torch.device(name)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {name!r} was asked for but CUDA is not available: use 'cpu'")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and (when installed) torch and Keras, so runs repeat."""
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch
    except ImportError:
        pass
    else:
        torch.manual_seed(seed)
    if "keras" in __import__("sys").modules:
        import keras

        keras.utils.set_random_seed(seed)


def repo_root() -> Path | None:
    """The course checkout this package was imported from, or None for a plain install."""
    candidate = Path(__file__).resolve().parent.parent
    return candidate if (candidate / "pyproject.toml").is_file() else None


def data_root() -> Path:
    """Where generated data lives: RNNLAB_DATA, else <checkout>/data/generated, else ~/rnnlab_data."""
    if os.environ.get("RNNLAB_DATA"):
        return Path(os.environ["RNNLAB_DATA"]).expanduser()
    root = repo_root()
    if root is not None:
        return root / "data" / "generated"
    return Path.home() / "rnnlab_data"


def shipped_data_dir() -> Path:
    """The folder of data that ships in the repository (lyrics, weights): <checkout>/data."""
    root = repo_root()
    if root is None:
        raise FileNotFoundError(
            "the course's shipped data (data/lyrics, data/weights) is only in a checkout of the "
            "repository: clone it and install with `pip install -e .`"
        )
    return root / "data"


def setup(seed: int = 0, prefer: str | None = None):
    """One call for a notebook's set-up cell: seed everything, pick the device, print one line.

    returns: the torch device
    """
    seed_everything(seed)
    dev = device(prefer)
    print(f"rnnlab: profile={profile()} device={dev} seed={seed}")
    return dev
