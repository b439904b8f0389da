"""A small torch fit loop: progress bar, gradient clipping, loss history, optional validation."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from tqdm.auto import tqdm


def fit(
    model: torch.nn.Module,
    loss_fn: Callable[[torch.nn.Module, object], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    train_batches: Iterable,
    epochs: int,
    val_batches: Iterable | None = None,
    clip_norm: float | None = None,
    progress: bool = True,
) -> dict[str, list[float]]:
    """Train for some epochs; ``loss_fn(model, batch)`` returns the scalar loss of one batch.

    train_batches / val_batches: re-iterable (e.g. DataLoaders), yielding whatever loss_fn takes
    clip_norm: if given, clip the gradients' global L2 norm to this value before each step
    returns: {"step_loss": [per step], "train_loss": [per epoch mean], "val_loss": [per epoch]}
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    history = {"step_loss": [], "train_loss": [], "val_loss": []}
    for epoch in range(epochs):
        model.train()
        losses = []
        bar = tqdm(train_batches, desc=f"epoch {epoch + 1}/{epochs}", disable=not progress,
                   leave=False)
        for batch in bar:
            loss = loss_fn(model, batch)
            optimizer.zero_grad()
            loss.backward()
            if clip_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
            optimizer.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
        if not losses:
            raise ValueError("the training batches are empty: check the dataset and batch size")
        history["step_loss"] += losses
        history["train_loss"].append(sum(losses) / len(losses))
        if val_batches is not None:
            history["val_loss"].append(evaluate(model, loss_fn, val_batches))
    return history


@torch.no_grad()
def evaluate(model: torch.nn.Module, loss_fn: Callable, batches: Iterable) -> float:
    """Mean of loss_fn(model, batch) over the batches, in eval mode without gradients."""
    model.eval()
    losses = [loss_fn(model, batch).item() for batch in batches]
    if not losses:
        raise ValueError("no validation batches")
    return sum(losses) / len(losses)
