"""Lab 05, CNN-LSTM captioner: training speed of the seed's configuration and ours, and the lab's
full profile end to end (wall time, BLEU-4 and semantic accuracy, greedy and beam search).

Seed configuration: frozen ResNet-152 (no gradients, as the classic recipe), global average pooling,
embedding 256, LSTM 512, batch 128. Ours: ResNet-18 trained end to end (no pretrained weights here),
2x2 feature grid, embedding 256, LSTM 512, batch 64. Both on the same 64x64 shapes images, timed
on a few batches in this process; an epoch is every (image, caption) pair of the training split.
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
    "seed": {"arch": "resnet152", "grid": 1, "train_backbone": False, "batch_size": 128},
    "ours": {"arch": "resnet18", "grid": 2, "train_backbone": True, "batch_size": 64},
}
EMBED, HIDDEN, VOCAB, CAPTION_LEN = 256, 512, 52, 14


class Captioner(nn.Module):
    """Encoder (ResNet body, pooled grid, Linear, BatchNorm1d) + LSTM decoder, for timing."""

    def __init__(self, arch: str, grid: int, train_backbone: bool):
        super().__init__()
        resnet = torchvision.models.get_model(arch, weights=None)
        self.body = nn.Sequential(*list(resnet.children())[:-2]).requires_grad_(train_backbone)
        self.train_backbone = train_backbone
        self.pool = nn.AdaptiveAvgPool2d(grid)
        self.linear = nn.Linear(resnet.fc.in_features * grid * grid, EMBED)
        self.norm = nn.BatchNorm1d(EMBED, momentum=0.1)
        self.embed = nn.Embedding(VOCAB, EMBED)
        self.lstm = nn.LSTM(EMBED, HIDDEN, batch_first=True)
        self.out = nn.Linear(HIDDEN, VOCAB)

    def forward(self, images: torch.Tensor, captions: torch.Tensor, lengths: list[int]) -> torch.Tensor:
        """images (B, 3, H, W), captions (B, L), lengths -> scores (sum(lengths), V)"""
        with torch.set_grad_enabled(self.train_backbone):
            maps = self.body(images)
        features = self.norm(self.linear(self.pool(maps).flatten(1)))
        steps = torch.cat([features.unsqueeze(1), self.embed(captions)], 1)
        hidden, _ = self.lstm(pack_padded_sequence(steps, lengths, batch_first=True))
        return self.out(hidden.data)


def time_training(config: dict, images: torch.Tensor, batches: int = 3) -> float:
    """Training images per second of one configuration, over `batches` steps after a warm-up."""
    torch.manual_seed(0)
    model = Captioner(config["arch"], config["grid"], config["train_backbone"])
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    size = config["batch_size"]
    captions = torch.randint(3, VOCAB, (size, CAPTION_LEN))
    lengths = [CAPTION_LEN] * size
    targets = pack_padded_sequence(captions, lengths, batch_first=True).data
    elapsed = 0.0
    for step in range(batches + 1):
        x = images[(step * size) % len(images):][:size]
        start = time.perf_counter()
        loss = nn.functional.cross_entropy(model(x, captions[: len(x)], lengths[: len(x)]),
                                           targets[: len(x) * CAPTION_LEN])
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
    pairs = len(coco["annotations"])
    x = captioning.images_to_tensor(images[:512])
    figures: dict = {"threads": torch.get_num_threads(), "epoch_pairs": pairs}
    for name, config in CONFIGS.items():
        per_s = time_training(config, x)
        figures[f"{name}_images_per_s"] = round(per_s, 1)
        figures[f"{name}_s_per_epoch"] = round(pairs / per_s, 1)
    figures["seed_over_ours_epoch_time"] = round(
        figures["seed_s_per_epoch"] / figures["ours_s_per_epoch"], 2)
    figures.update(run_full_profile())
    return figures


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
