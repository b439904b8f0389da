"""Figures the labs share: loss curves and image grids with captions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np


def plot_losses(curves: Mapping[str, Sequence[float]], title: str = "Training loss",
                xlabel: str = "step", ylabel: str = "loss", ax=None):
    """One line per named curve (e.g. {'RNN': [...], 'LSTM': [...]}); returns the axes."""
    if not curves:
        raise ValueError("no curves to plot")
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    for name, values in curves.items():
        ax.plot(np.arange(1, len(values) + 1), values, label=name)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def show_images(images: Sequence[np.ndarray], captions: Sequence[str] | None = None,
                ncols: int = 4, width: float = 3.0):
    """Images (each (H, W, 3) uint8 or float in [0, 1]) in a grid, captions wrapped underneath."""
    if len(images) == 0:
        raise ValueError("no images to show")
    if captions is not None and len(captions) != len(images):
        raise ValueError(f"{len(images)} images but {len(captions)} captions")
    nrows = (len(images) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, width * 1.25 * nrows),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(images):
            ax.imshow(images[i])
            if captions is not None:
                ax.set_title(_wrap(captions[i]), fontsize=8)
    fig.tight_layout()
    return fig


def _wrap(text: str, width: int = 32) -> str:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])
