"""Lab 06's hidden picture is on no student's disk: no image file a student has gives the shipped
target's activations through the lab's own network.

A student can run every image file on the machine through ``rnnlab.inversion.seeded_features()``
and compare module 19's activations with the shipped target (cosine similarity of the flattened
64-pixel activations). This test does that over what a student has: the site-packages of the
environment running the tests and the published class edition (labs/, rnnlab/, data/ as shipped,
docs/students.md). data/generated/ is not scanned: it is the shapes dataset that `rnnlab.build`
draws (64-pixel shapes, 7,500 files), not the edition. Instructors only (names the old photo).
"""

from __future__ import annotations

import sysconfig
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from rnnlab import inversion

SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp"}
MAX_BYTES = 5_000_000  # larger files are animations and screenshots, read slowly
MIN_SIDE = 32  # icons below that are too small for VGG-16's five poolings
SIZE = 64  # the target size compared (one of inversion.TARGET_SIZES)
BATCH = 32
# Channel-centred cosine (cosines()) of the shipped target's 64-px activations with an image's. The
# file of the old hidden photo scored 1.000 against the old target, the next best file 0.839; against
# the rendered picture's target the best file scores 0.808 (site-packages and data/, measured).
THRESHOLD = 0.95


def image_files(roots: list[Path]) -> list[Path]:
    """Every file under ``roots`` with an image suffix and at most MAX_BYTES, sorted."""
    found = {path for root in roots for path in root.rglob("*")
             if path.suffix.lower() in SUFFIXES and path.is_file() and path.stat().st_size <= MAX_BYTES}
    return sorted(found)


def readable(path: Path) -> np.ndarray | None:
    """The file's first frame as uint8 RGB (H, W, 3), or None if PIL cannot read it or it is tiny."""
    try:
        with Image.open(path) as image:
            if min(image.size) < MIN_SIDE:
                return None
            return np.asarray(image.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def activations(features: torch.nn.Module, pictures: list[np.ndarray]) -> torch.Tensor:
    """Module LAYER's activations of each picture at SIZE pixels, flattened: (N, 512 * (SIZE // 8)^2)."""
    rows = []
    with torch.no_grad():
        for start in range(0, len(pictures), BATCH):
            batch = torch.cat([inversion.preprocess(p, SIZE) for p in pictures[start: start + BATCH]])
            rows.append(features[: inversion.LAYER + 1](batch).flatten(1))
    return torch.cat(rows)


def cosines(scanned: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of each row of ``scanned`` (N, 512 * P) with ``target`` (1, 512, h, w), P = h w,
    each channel less its mean over the P positions (the seeded network's biases add about the same
    to every image, which lifts the plain cosine of any two images to 0.9): (N,)."""
    def centred(x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(len(x), 512, -1)
        return (x - x.mean(2, keepdim=True)).flatten(1)

    return torch.nn.functional.cosine_similarity(centred(scanned), centred(target), dim=1)


@pytest.fixture(scope="module")
def features() -> torch.nn.Module:
    return inversion.seeded_features()


@pytest.fixture(scope="module")
def scan(class_edition, features) -> tuple[list[Path], torch.Tensor]:
    """(files read, their activations (N, D)) for the student's site-packages and the class edition."""
    start = time.perf_counter()
    roots = sorted({Path(sysconfig.get_paths()[key]) for key in ("purelib", "platlib")}) + [class_edition]
    files, pictures = [], []
    for path in image_files(roots):
        picture = readable(path)
        if picture is not None:
            files.append(path)
            pictures.append(picture)
    scanned = activations(features, pictures)
    print(f"\nscanned {len(files)} image files in {time.perf_counter() - start:.1f} s")
    return files, scanned


def test_no_image_file_a_student_has_gives_the_shipped_target(scan, features):
    files, scanned = scan
    assert len(files) > 50, f"only {len(files)} image files found: is site-packages being scanned?"
    similarity = cosines(scanned, inversion.load_incognito(features, SIZE))
    best = int(similarity.argmax())
    print(f"best match: {files[best]} (cosine {similarity[best]:.3f})")
    assert similarity[best] < THRESHOLD, (
        f"{files[best]} gives the shipped target's activations (cosine {similarity[best]:.3f} >= "
        f"{THRESHOLD}): the hidden picture is on students' disks; change it (grader/lab06_scene.py)")


def test_the_scan_finds_a_file_from_its_activations(scan, features):
    """A target made from the old hidden photo (matplotlib's grace_hopper.jpg) finds that file."""
    files, scanned = scan
    photos = [path for path in files if path.name == "grace_hopper.jpg"]
    assert photos, "matplotlib's sample grace_hopper.jpg is not in site-packages: pick another photo here"
    photo = photos[0]
    with torch.no_grad():
        target = features[: inversion.LAYER + 1](inversion.preprocess(readable(photo), SIZE))
    similarity = cosines(scanned, target.half().float())  # stored as float16, like the shipped target
    assert files[int(similarity.argmax())] == photo and similarity.max() > 0.99
    assert torch.sort(similarity).values[-2] < THRESHOLD, "another file scores like the photo itself"
