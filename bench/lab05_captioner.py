"""Lab 05, CNN-LSTM captioner: the solution notebook itself under the full profile (a fresh kernel,
nbclient), and the figures it computed.

wall_s: the whole notebook; train_s: its training loop (EPOCHS epochs of STEPS_PER_EPOCH steps, each
epoch followed by the validation loss); val_loss: the validation loss after each epoch.
Scores (the notebook's `summary`, greedy decoding unless named): test_* and heldout_*: BLEU-1..4 and
semantic accuracy on the first 500 images of each split; *_blind_*: the image-blind baseline (each
image captioned from another image's embedding); test_{1,2,3}shapes_*: accuracy by number of shapes,
*_unseen_* on the scenes that do not also occur in the training split (*_images and *_unseen_images
say how many); test_all_* and heldout_all_*: the same over the whole split; *_states_where*: how many
captions state a relation or position, and the accuracy of those; *_beam3_on_100_* and
*_greedy_on_100_*: beam search of width 3 against greedy on the first 100 images.
cache_ms_per_step_*: section 7's training step with the frozen ResNet run every step, and from
cached features.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench._notebook import run_notebook

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "solutions" / "05_cnn_lstm_captioner" / "cnn_lstm_captioner.ipynb"
COLLECT = {
    "threads": "torch.get_num_threads()", "epochs": "EPOCHS", "steps_per_epoch": "STEPS_PER_EPOCH",
    "batch_images": "BATCH_SIZE", "train_s": "round(train_s, 1)",
    "val_loss": "[round(v, 4) for v in val_history]",
    "cache_ms_per_step_resnet": "round(per_step_frozen * 1000, 1)",
    "cache_ms_per_step_cached": "round(per_step_cached * 1000, 1)",
    "scores": "{k: round(v, 4) if isinstance(v, float) else v for k, v in summary.items()}",
}


def run() -> dict:
    """The notebook's full-profile run: wall time, training time, scores (see the docstring)."""
    figures = run_notebook(NOTEBOOK, COLLECT, profile="full", env={"MPLBACKEND": "Agg"})
    figures["full_profile_wall_s"] = figures.pop("wall_s")
    figures.update(figures.pop("scores"))
    return figures


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
