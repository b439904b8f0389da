"""Run profile, device choice, seeding and where the course data lives.

The run profile decides how much work a notebook does, with the same code path in all of them:
  full     the student default (a few minutes on a 2-core CPU)
  grading  set automatically under nbgrader (NBGRADER_EXECUTION is present): short runs
  test     RNNLAB_PROFILE=test, used by the test suite: shortest runs
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Plan:
    """How much of a full-profile run to do: train on the first ``items`` items (None: all of
    them), for ``epochs`` epochs, ``seeds`` training runs per model."""

    items: int | None
    epochs: int
    seeds: int


def fit_to_time(n_items: int, course_items: int, epochs: int, seeds: int = 1, *,
                unit: str = "items", stated: str = "its stated time", whole: bool = False,
                share: float = 1.0) -> Plan:
    """Scale a run to the work the lab's stated time covers: ``course_items`` x ``epochs`` x
    ``seeds`` (the course data's run). On more data (a student's own), it gives up the repeated
    seeds first, then epochs (down to one), then trains on the first items that fit, and prints
    what it did. ``whole=True`` keeps everything, however long it takes. ``share`` < 1 keeps
    that part of the course run's work, where the rest of the run (evaluation, sampling) is not
    scaled and itself grows with the data.

    n_items: training items in this run's data (words, captions, ...), course_items: in the course's
    """
    allowed = int(course_items * epochs * seeds * share)
    if whole or n_items * epochs * seeds <= allowed:
        return Plan(None, epochs, seeds)
    new_epochs = max(1, min(epochs, allowed // n_items))
    items = None if n_items * new_epochs <= allowed else allowed // new_epochs
    plan = Plan(items, new_epochs, 1)
    changes = [f"{plan.seeds} training run per model instead of {seeds}"] if seeds > 1 else []
    if new_epochs < epochs:
        changes.append(f"{new_epochs} epoch{'s' * (new_epochs > 1)} instead of {epochs}")
    if items is not None:
        changes.append(f"the first {items:,} {unit} of {n_items:,}")
    print(f"rnnlab: this data has {n_items:,} {unit}, {n_items / course_items:.1f}x the course's "
          f"{course_items:,}. To keep the lab near {stated} on 2 cores, this run trains "
          f"{'; '.join(changes)}. Set WHOLE_RUN = True in the set-up cell to train on all of it "
          f"(about {n_items * epochs * seeds / allowed:.0f}x longer).")
    return plan
