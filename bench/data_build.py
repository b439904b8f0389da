"""Time the embedded-data build (what `make data` runs) and the shapes generator alone."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from rnnlab.build import build_all
from rnnlab.datasets import shapes


def run() -> dict:
    """Seconds for a full `make data` build into a fresh folder, and shapes images per second."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        build_all(Path(tmp) / "all")
        build_s = time.perf_counter() - start
        sizes = {"train": 2000}
        start = time.perf_counter()
        shapes.build(Path(tmp) / "gen", sizes=sizes, write_png=False)
        gen_s = time.perf_counter() - start
    return {
        "make_data_s": round(build_s, 1),
        "shapes_images_per_s_without_png": round(sizes["train"] / gen_s),
        "shapes_images_total": sum(shapes.SPLIT_SIZES.values()),
    }
