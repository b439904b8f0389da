"""Lab 06: reconstructing the hidden picture from the activations of the seeded VGG-16.

Runs the solution notebook end to end under the full profile: its wall time and the SSIMs it
prints (the puzzle's reconstruction from module 19 at 224 pixels against the hidden picture, and a
blank image's; then, on the cat of the depth study: by depth, a blank and an unrelated photo, with
and without the TV prior). Then, in this process, seconds per Adam step of the lab's loss at 224
and 64 pixels, and the original puzzle's configuration (activation loss only, from random noise,
constant learning rate) for the same number of steps at 224 pixels, module 19: its SSIM against
the hidden picture and its seconds per step. Every figure comes from the seeded VGG-16
(``rnnlab.inversion.seeded_features``), the network of the shipped target.

Instructors only: the hidden picture is drawn here (grader/lab06_scene.py, docs/lab06_photo.md).
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient

from grader import lab06_scene
from rnnlab import inversion

NOTEBOOK = Path(__file__).resolve().parent.parent / "solutions/06_vgg_inversion/vgg_inversion.ipynb"
FINAL = re.compile(r"SSIM of the module-19 reconstruction with the hidden picture \((\d+) px\): ([\d.]+) "
                   r"\(a blank grey image: ([\d.]+)\)")
BASELINES = re.compile(r"SSIM against the cat \((\d+) px\): a blank image ([\d.]+), "
                       r"an unrelated photo ([\d.]+)")
BY_DEPTH = re.compile(r"SSIM by module \((\d+) px, (\d+) steps\): (.*)")
TV = re.compile(r"SSIM at module 19 \((\d+) px\): with TV ([\d.]+), without ([\d.]+)")


def _run_notebook() -> tuple[float, dict]:
    """Execute the solution notebook under the full profile; (wall seconds, figures it printed)."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    saved = dict(os.environ)  # the kernel inherits this process's environment
    os.environ.update(RNNLAB_PROFILE="full", MPLBACKEND="Agg")
    os.environ.pop("NBGRADER_EXECUTION", None)
    try:
        with tempfile.TemporaryDirectory() as workdir:
            client = NotebookClient(nb, timeout=1200, kernel_name="python3",
                                    resources={"metadata": {"path": workdir}})
            start = time.perf_counter()
            client.execute()
            wall = time.perf_counter() - start
    finally:
        os.environ.clear()
        os.environ.update(saved)
    printed = "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                      for out in cell.get("outputs", []) if out.get("output_type") == "stream")
    figures = {}
    if found := FINAL.search(printed):
        figures[f"full_ssim_layer19_{found[1]}px_{_full_steps()}_steps"] = float(found[2])
        figures[f"full_ssim_blank_{found[1]}px"] = float(found[3])
    if found := BASELINES.search(printed):
        figures[f"full_ssim_cat_blank_{found[1]}px"] = float(found[2])
        figures[f"full_ssim_cat_unrelated_{found[1]}px"] = float(found[3])
    if found := BY_DEPTH.search(printed):
        for pair in found[3].split(", "):
            k, value = pair.split(": ")
            figures[f"full_ssim_cat_layer{k}_{found[1]}px_{found[2]}_steps"] = float(value)
    if found := TV.search(printed):
        figures[f"full_ssim_cat_layer19_{found[1]}px_with_tv"] = float(found[2])
        figures[f"full_ssim_cat_layer19_{found[1]}px_without_tv"] = float(found[3])
    return wall, figures


def _loss(features, x: torch.Tensor, target: torch.Tensor, priors: bool) -> torch.Tensor:
    """The relative activation error at module 19, plus the lab's priors when asked."""
    loss = (features[: inversion.LAYER + 1](x) - target).pow(2).sum() / target.pow(2).sum()
    if priors:
        right = x[..., :-1, 1:] - x[..., :-1, :-1]
        down = x[..., 1:, :-1] - x[..., :-1, :-1]
        loss = loss + 0.05 * (right.pow(2) + down.pow(2)).mean() + 1e-5 * x.abs().pow(6).mean()
    return loss


def _reconstruct(features, target, size: int, steps: int, priors: bool) -> tuple[float, float]:
    """(SSIM reached, seconds per step) of the lab's configuration, or the seed's (priors False).

    The seed's route: activation loss only, from random noise, constant learning rate. The lab's:
    near-grey start, TV and range priors, cosine-decayed learning rate.
    """
    torch.manual_seed(0)
    x = (0.01 if priors else 1.0) * torch.randn(1, 3, size, size)
    x.requires_grad_()
    optimizer = torch.optim.Adam([x], lr=0.1)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps, eta_min=0.1 / 20)
    start = time.perf_counter()
    for _ in range(steps):
        optimizer.zero_grad()
        _loss(features, x, target, priors).backward()
        optimizer.step()
        if priors:
            schedule.step()
    seconds = (time.perf_counter() - start) / steps
    return inversion.ssim(x.detach(), inversion.preprocess(lab06_scene.render(), size)), seconds


def run() -> dict:
    """Full-profile wall time and SSIMs (from the notebook); s/step and the seed's configuration."""
    wall, printed = _run_notebook()
    steps = _full_steps()
    features = inversion.seeded_features()
    figures = {"weights": "seeded", "full_profile_wall_s": round(wall, 1), **printed, "steps_224px": steps}
    for size in (224, 64):
        target = inversion.load_incognito(features, size)
        _, seconds = _reconstruct(features, target, size, 5, priors=True)
        figures[f"ours_cpu_s_per_step_{size}px"] = round(seconds, 3)
    target = inversion.load_incognito(features, 224)
    seed_ssim, seed_seconds = _reconstruct(features, target, 224, steps, priors=False)
    figures["seed_config_cpu_s_per_step_224px"] = round(seed_seconds, 3)
    figures["seed_config_ssim_layer19_224px"] = round(seed_ssim, 3)
    return figures


def _full_steps() -> int:
    """The full profile's step count, read from the notebook's set-up cell."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        found = re.search(r"STEPS = runtime\.budget\(full=(\d+)", cell.source)
        if found:
            return int(found.group(1))
    raise ValueError(f"{NOTEBOOK} has no `STEPS = runtime.budget(full=...)` line")
