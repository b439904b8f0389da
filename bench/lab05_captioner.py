"""Lab 05, CNN-LSTM captioner: training speed of the seed's configuration and ours, and the lab's
full profile end to end (wall time, BLEU-4 and semantic accuracy, greedy and beam search).

Seed configuration: frozen ResNet-152 (no gradients, as the classic recipe), global average pooling,
embedding 256, LSTM 512 reading the image once before the caption, batch 128 (image, caption) pairs;
an epoch is every pair of the training split (each image five times).
Ours: the stem and first two stages of a ResNet-18 trained end to end (no pretrained weights
here), 3x3 feature grid, embedding 128, LSTM 256 reading the image at every step, batch 48 images
with 3 captions each; an epoch is every image once. Both on the same 64x64 shapes images, timed on
a few batches in this process.

Quality (from the notebook's checkpoints/scores.json, full profile, greedy decoding unless named):
test_* and heldout_*: BLEU-1..4 and semantic accuracy on the first 500 images of each split;
*_blind_*: the image-blind baseline (each image captioned from another test image's embedding);
test_{1,2,3}shapes_*: accuracy by number of shapes, *_unseen_* on the scenes that do not also occur
in the training split (*_images and *_unseen_images say how many); test_all_* and heldout_all_*: the
same over the whole split; *_beam3_on_100_* / *_greedy_on_100_*: beam search of width 3 against
greedy on the first 100 images.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import torch
import torch.nn as nn
import torchvision
from torch.nn.utils.rnn import pack_padded_sequence

from rnnlab import captioning
from rnnlab.datasets import shapes

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "solutions" / "05_cnn_lstm_captioner" / "cnn_lstm_captioner.ipynb"
CONFIGS = {
    "seed": {"arch": "resnet152", "stages": 4, "grid": 1, "train_backbone": False, "embed": 256,
             "hidden": 512, "image_every_step": False, "images": 128, "captions_per_image": 1},
    "ours": {"arch": "resnet18", "stages": 2, "grid": 3, "train_backbone": True, "embed": 128,
             "hidden": 256, "image_every_step": True, "images": 48, "captions_per_image": 3},
}
VOCAB, CAPTION_LEN = 52, 14


class Captioner(nn.Module):
    """Encoder (ResNet stages, pooled grid, Linear, BatchNorm1d) + LSTM decoder, for timing."""

    def __init__(self, arch: str, stages: int, grid: int, train_backbone: bool, embed: int,
                 hidden: int, image_every_step: bool):
        super().__init__()
        resnet = torchvision.models.get_model(arch, weights=None)
        self.body = nn.Sequential(*list(resnet.children())[:4 + stages]).requires_grad_(train_backbone)
        self.train_backbone, self.image_every_step = train_backbone, image_every_step
        self.pool = nn.AdaptiveAvgPool2d(grid)
        channels = resnet.fc.in_features // 2 ** (4 - stages)
        self.linear = nn.Linear(channels * grid * grid, embed)
        self.norm = nn.BatchNorm1d(embed, momentum=0.1)
        self.embed = nn.Embedding(VOCAB, embed)
        self.lstm = nn.LSTM(embed * (2 if image_every_step else 1), hidden, batch_first=True)
        self.out = nn.Linear(hidden, VOCAB)

    def forward(self, images: torch.Tensor, captions: torch.Tensor, owners: torch.Tensor) -> torch.Tensor:
        """images (B, 3, H, W), captions (N, L) all of length L, owners (N,) -> scores (N * L', V)"""
        with torch.set_grad_enabled(self.train_backbone):
            maps = self.body(images)
        features = self.norm(self.linear(self.pool(maps).flatten(1)))[owners]
        words = self.embed(captions)
        if self.image_every_step:
            steps = torch.cat([words, features.unsqueeze(1).expand_as(words)], 2)
        else:
            steps = torch.cat([features.unsqueeze(1), words], 1)
        hidden, _ = self.lstm(pack_padded_sequence(steps, [steps.shape[1]] * len(steps), batch_first=True))
        return self.out(hidden.data)


def time_training(config: dict, images: torch.Tensor, batches: int = 3) -> float:
    """Training images per second of one configuration, over `batches` steps after a warm-up."""
    torch.manual_seed(0)
    model = Captioner(config["arch"], config["stages"], config["grid"], config["train_backbone"],
                      config["embed"], config["hidden"], config["image_every_step"])
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    size, per_image = config["images"], config["captions_per_image"]
    owners = torch.arange(size).repeat_interleave(per_image)
    captions = torch.randint(3, VOCAB, (size * per_image, CAPTION_LEN))
    elapsed = 0.0
    for step in range(batches + 1):
        x = images[(step * size) % len(images):][:size]
        start = time.perf_counter()
        scores = model(x, captions, owners)
        loss = nn.functional.cross_entropy(scores, torch.randint(0, VOCAB, scores.shape[:1]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step:
            elapsed += time.perf_counter() - start
    return batches * size / elapsed


def run_full_profile(timeout_s: int = 1800) -> dict:
    """Execute the solution notebook in its full profile in a temporary copy; its scores."""
    import nbformat
    from nbclient import NotebookClient

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / NOTEBOOK.parent.name
        shutil.copytree(NOTEBOOK.parent, work)
        nb = nbformat.read(work / NOTEBOOK.name, as_version=4)
        saved = dict(os.environ)
        os.environ.update({"RNNLAB_PROFILE": "full", "MPLBACKEND": "Agg"})  # the kernel inherits them
        os.environ.pop("NBGRADER_EXECUTION", None)
        try:
            start = time.perf_counter()
            NotebookClient(nb, timeout=timeout_s, kernel_name="python3",
                           resources={"metadata": {"path": str(work)}}).execute()
            wall = time.perf_counter() - start
        finally:
            os.environ.clear()
            os.environ.update(saved)
        scores = json.loads((work / "checkpoints" / "scores.json").read_text())
    figures = {"full_profile_wall_s": round(wall, 1)}
    for name, value in scores.items():
        figures[name] = round(value, 4) if isinstance(value, float) else value
    return figures


def run() -> dict:
    """Images/s and seconds per epoch (seed vs ours), then the full profile's time and quality.

    Threads: torch's default (OMP_NUM_THREADS if set); recorded as "threads".
    """
    coco, images = shapes.load("train", shapes.ensure_built())
    x = captioning.images_to_tensor(images[:512])
    figures: dict = {"threads": torch.get_num_threads(), "train_images": len(images),
                     "train_captions": len(coco["annotations"])}
    for name, config in CONFIGS.items():
        images_per_s = time_training(config, x)
        captions_per_s = images_per_s * config["captions_per_image"]
        epoch_images = len(coco["annotations"]) if name == "seed" else len(images)  # see the docstring
        figures[f"{name}_images_per_s"] = round(images_per_s, 1)
        figures[f"{name}_captions_per_s"] = round(captions_per_s, 1)
        figures[f"{name}_s_per_epoch"] = round(epoch_images / images_per_s, 1)
        figures[f"{name}_s_per_30k_captions"] = round(30000 / captions_per_s, 1)
    figures["seed_over_ours_epoch_time"] = round(
        figures["seed_s_per_epoch"] / figures["ours_s_per_epoch"], 2)
    figures.update(run_full_profile())
    return figures


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
