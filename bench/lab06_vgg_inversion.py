"""Lab 06: reconstructing the hidden picture from module 19 of the seeded VGG-16.

Runs the solution notebook itself (``bench._notebook.run_notebook``), twice:
- full profile: its wall time, the seconds of the main reconstruction, the SSIM of that
  reconstruction with the hidden picture and a blank image's; on the cat of the depth study: the
  SSIM by depth, the two "nothing recovered" scores, and module 19 with and without the TV prior;
- grading profile (the size the hidden test grades): its wall time and the SSIM with the hidden
  picture of the notebook's `reconstruct` from three starting points (seed 0, the one the notebook
  uses, then 1 and 2), next to a blank image's: where the hidden test's threshold sits.
Every figure comes from one run of the notebook; the seeded VGG-16 is the network of the target.

Instructors only: the hidden picture is drawn here (grader/lab06_scene.py, docs/lab06_photo.md).
"""

from __future__ import annotations

from pathlib import Path

from bench._notebook import run_notebook

NOTEBOOK = Path(__file__).resolve().parent.parent / "solutions/06_vgg_inversion/vgg_inversion.ipynb"

# Run after the set-up cell: the picture the bench compares with, at the profile's size.
HIDDEN_PICTURE = ("from grader.lab06_scene import render\n"
                  "hidden_picture = inversion.preprocess(render(), SIZE).to(device)")

COMMON = {
    "size": "SIZE",
    "steps": "STEPS",
    "ssim_hidden": "inversion.ssim(image, hidden_picture)",
    "ssim_blank": "inversion.ssim(torch.zeros_like(hidden_picture), hidden_picture)",
}
FULL = {
    **COMMON,
    "reconstruction_s": "reconstruction_s",
    "sweep_size": "SWEEP_SIZE",
    "sweep_steps": "SWEEP_STEPS",
    "by_depth": "[[k, value] for k, value in ssim_by_depth.items()]",
    "cat_blank": "baselines['blank']",
    "cat_unrelated": "baselines['unrelated photo']",
    "with_tv": "inversion.ssim(with_tv, photo)",
    "without_tv": "inversion.ssim(without_tv, photo)",
}
GRADING = {
    **COMMON,
    "other_starts": "[inversion.ssim(reconstruct(target, 19, SIZE, STEPS, seed=s)[0], hidden_picture)"
                    " for s in (1, 2)]",
}


def run() -> dict:
    """Figures of one full-profile and one grading-profile run of the notebook."""
    full = run_notebook(NOTEBOOK, FULL, settings=HIDDEN_PICTURE)
    grading = run_notebook(NOTEBOOK, GRADING, profile="grading", settings=HIDDEN_PICTURE)
    return {"weights": "seeded", "runs": 1, **full_figures(full), **grading_figures(grading)}


def full_figures(seen: dict) -> dict:
    """The full-profile run's figures, named with the sizes and steps they were measured at."""
    size, steps, sweep = seen["size"], seen["steps"], f"{seen['sweep_size']}px"
    figures = {
        "full_profile_wall_s": seen["wall_s"],
        f"full_reconstruction_s_{size}px_{steps}_steps": round(seen["reconstruction_s"], 1),
        f"full_ssim_layer19_{size}px_{steps}_steps": round(seen["ssim_hidden"], 3),
        f"full_ssim_blank_{size}px": round(seen["ssim_blank"], 3),
        f"full_ssim_cat_blank_{sweep}": round(seen["cat_blank"], 3),
        f"full_ssim_cat_unrelated_{sweep}": round(seen["cat_unrelated"], 3),
        f"full_ssim_cat_layer19_{sweep}_with_tv": round(seen["with_tv"], 3),
        f"full_ssim_cat_layer19_{sweep}_without_tv": round(seen["without_tv"], 3),
    }
    for k, value in seen["by_depth"]:
        figures[f"full_ssim_cat_layer{k}_{sweep}_{seen['sweep_steps']}_steps"] = round(value, 3)
    return figures


def grading_figures(seen: dict) -> dict:
    """The grading-profile run's figures: SSIM with the hidden picture from starts 0, 1 and 2."""
    size, steps = seen["size"], seen["steps"]
    figures = {"grading_profile_wall_s": seen["wall_s"],
               f"grading_ssim_blank_{size}px": round(seen["ssim_blank"], 3)}
    for start, value in enumerate([seen["ssim_hidden"], *seen["other_starts"]]):
        figures[f"grading_ssim_layer19_{size}px_{steps}_steps_start{start}"] = round(value, 3)
    return figures
