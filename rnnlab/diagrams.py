"""Explanatory diagrams for the word-level language model lab, drawn with matplotlib.

Each function draws one figure and returns it (the notebook shows it with ``plt.show()``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyBboxPatch

_COLOURS = {"input": "#f4a582", "hidden": "#a6d96a", "output": "#92c5de"}

# name -> (number of steps, steps with an input, steps with an output)
ARCHITECTURES = {
    "one to one": (1, {0}, {0}),
    "one to many\n(e.g. image -> caption)": (4, {0}, {0, 1, 2, 3}),
    "many to one\n(e.g. sentence -> mood)": (4, {0, 1, 2, 3}, {3}),
    "many to many, delayed\n(e.g. translation)": (5, {0, 1, 2}, {2, 3, 4}),
    "many to many, in step\n(e.g. next word: this lab)": (4, {0, 1, 2, 3}, {0, 1, 2, 3}),
}


def _box(ax, x, y, kind, text="", width=0.7, height=0.5, fontsize=9):
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.03", facecolor=_COLOURS[kind],
                                edgecolor="black", linewidth=0.8))
    if text:
        ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, start, end):
    ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "->", "lw": 1.0})


def rnn_architectures() -> plt.Figure:
    """Five ways to wire a recurrent cell: inputs (bottom), hidden states (middle), outputs (top)."""
    fig, axes = plt.subplots(1, len(ARCHITECTURES), figsize=(15, 3.6),
                             gridspec_kw={"width_ratios": [n + 0.6 for n, _, _ in
                                                           ARCHITECTURES.values()]})
    for ax, (name, (steps, inputs, outputs)) in zip(axes, ARCHITECTURES.items()):
        for t in range(steps):
            _box(ax, t, 1, "hidden", "h")
            if t in inputs:
                _box(ax, t, 0, "input", "x")
                _arrow(ax, (t, 0.25), (t, 0.75))
            if t in outputs:
                _box(ax, t, 2, "output", "y")
                _arrow(ax, (t, 1.25), (t, 1.75))
            if t > 0:
                _arrow(ax, (t - 0.65, 1), (t - 0.35, 1))
        ax.set(xlim=(-0.6, steps - 0.4), ylim=(-0.5, 2.5), title=name)
        ax.set_aspect("equal")
        ax.axis("off")
    fig.suptitle("Recurrent networks: inputs x (red), hidden states h (green), outputs y (blue); "
                 "time runs left to right")
    fig.tight_layout()
    return fig


def next_word_targets(words: Sequence[str]) -> plt.Figure:
    """The one-step-ahead task: at step t the network reads words[t] and must predict words[t+1].

    words: at least two word tokens; the last one is only ever a target
    """
    words = list(words)
    if len(words) < 2:
        raise ValueError(f"need at least two words (an input and its target), got {len(words)}")
    steps = len(words) - 1
    fig, ax = plt.subplots(figsize=(1.3 * steps + 1.5, 3.4))
    for t in range(steps):
        _box(ax, t, 0, "input", words[t], width=0.8)
        _box(ax, t, 1, "hidden", f"$h_{{{t + 1}}}$", width=0.8)
        _box(ax, t, 2, "output", words[t + 1], width=0.8)
        _arrow(ax, (t, 0.25), (t, 0.75))
        _arrow(ax, (t, 1.25), (t, 1.75))
        if t > 0:
            _arrow(ax, (t - 0.58, 1), (t - 0.42, 1))
    ax.text(-0.75, 0, "input $x_t$", ha="right", va="center")
    ax.text(-0.75, 1, "hidden state", ha="right", va="center")
    ax.text(-0.75, 2, "target $y_t = x_{t+1}$", ha="right", va="center")
    ax.set(xlim=(-2.6, steps - 0.4), ylim=(-0.5, 2.6),
           title="The training target of each word is the word that follows it")
    ax.axis("off")
    fig.tight_layout()
    return fig


def top_k_sampling(words: Sequence[str], logits, k: int,
                   probabilities: Callable[[np.ndarray, int | None], np.ndarray]) -> plt.Figure:
    """Top-k sampling in three panels: every word's probability, the k best kept, renormalised.

    words: (V,) labels; logits: (V,) scores; k: 1 <= k <= V
    probabilities: the lab's own function, (logits (V,), k) -> (V,) probabilities of the k best
                   (k=None: of every word); the figure draws what it returns
    """
    words = list(words)
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 1 or len(words) != logits.size:
        raise ValueError(f"need one score per word: {len(words)} words, scores of shape "
                         f"{logits.shape}")
    if not 1 <= k <= logits.size:
        raise ValueError(f"k must be between 1 and {logits.size}, got {k}")
    order = np.argsort(logits)[::-1]
    words = [words[i] for i in order]
    probs = np.asarray(probabilities(logits.copy(), None), dtype=np.float64)[order]
    renormalised = np.asarray(probabilities(logits.copy(), k), dtype=np.float64)[order]
    kept = np.arange(probs.size) < k
    grey = np.where(kept, "#4393c3", "#bbbbbb")
    panels = [("1. softmax over every word", probs, "#4393c3"),
              (f"2. keep the k = {k} most likely", probs, grey),
              ("3. renormalise, then draw one word", renormalised, grey)]
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.4), sharey=True)
    for ax, (title, heights, colour) in zip(axes, panels):
        ax.bar(words, heights, color=colour)
        ax.set(title=title, xlabel="candidate next word")
        ax.tick_params(axis="x", rotation=60)
    axes[0].set_ylabel("probability")
    fig.tight_layout()
    return fig
