"""Support code for the CNN-LSTM captioning lab: mirrored captions, cached features, scores,
mixed precision on a GPU.

None of this is a lab exercise: the models, the collate function, decoding and the training step
are written by the student in the notebook.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from rnnlab import metrics, vision

MIRRORED_WORDS = {"left": "right", "right": "left"}


def mirror_tokens(tokens: Sequence[str]) -> list[str]:
    """The caption of the horizontally flipped image: 'left' and 'right' swapped, nothing else.

    tokens: (T,) word tokens, e.g. ['a', 'box', 'left', 'of', 'a', 'disc']
    returns: (T,) e.g. ['a', 'box', 'right', 'of', 'a', 'disc']
    """
    if isinstance(tokens, str):
        raise TypeError("mirror_tokens expects a list of tokens, not a string: tokenize it first")
    return [MIRRORED_WORDS.get(t, t) for t in tokens]


def images_to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 images (N, H, W, 3) -> float32 (N, 3, H, W), ImageNet-normalised, as the encoder wants."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"expected uint8 images (N, H, W, 3), got shape {images.shape}")
    if images.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels in 0..255, got {images.dtype}")
    x = torch.from_numpy(images.copy()).permute(0, 3, 1, 2).float() / 255.0
    return vision.normalize(x)


@torch.no_grad()
def encode_in_batches(module: torch.nn.Module, images: torch.Tensor, batch_size: int = 128,
                      device: torch.device | str = "cpu", progress: bool = True) -> torch.Tensor:
    """Run a (frozen) module over many images without gradients, in eval mode, batch by batch.

    images:  (N, 3, H, W) float tensor (already normalised)
    returns: (N, ...) the module's outputs, concatenated on the CPU
    """
    if images.ndim != 4:
        raise ValueError(f"expected images (N, 3, H, W), got shape {tuple(images.shape)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    was_training = module.training
    module.eval()
    outputs = []
    starts = range(0, len(images), batch_size)
    for start in tqdm(starts, desc="encoding", disable=not progress, leave=False):
        outputs.append(module(images[start:start + batch_size].to(device)).cpu())
    module.train(was_training)
    if not outputs:
        raise ValueError("no images to encode")
    return torch.cat(outputs)


def references(coco: dict) -> list[list[str]]:
    """The reference captions of every image of a COCO captions dict, in the order of coco['images']."""
    if "images" not in coco or "annotations" not in coco:
        raise ValueError("expected a COCO captions dict with 'images' and 'annotations' keys")
    by_image: dict[int, list[str]] = {img["id"]: [] for img in coco["images"]}
    for ann in coco["annotations"]:
        if ann["image_id"] in by_image:
            by_image[ann["image_id"]].append(ann["caption"])
    missing = [i for i, caps in by_image.items() if not caps]
    if missing:
        raise ValueError(f"{len(missing)} images have no caption (e.g. id {missing[0]})")
    return list(by_image.values())


def score_captions(captions: Sequence[str], coco: dict) -> dict[str, float]:
    """BLEU-1..4 against the references and, when the images carry scenes, semantic accuracy.

    captions: one generated caption per image, for the first len(captions) of coco['images']
    returns:  {'bleu1', 'bleu2', 'bleu3', 'bleu4'[, 'accuracy']}
    """
    n = len(captions)
    if n > len(coco.get("images", [])):
        raise ValueError(f"{n} captions but only {len(coco.get('images', []))} images to score them on")
    refs = references(coco)[:n]
    hyps = list(captions)
    scores = {f"bleu{k}": metrics.bleu(refs, hyps, k) for k in range(1, 5)}
    scenes = [img.get("scene") for img in coco["images"][:n]]
    if all(scene is not None for scene in scenes):
        scores["accuracy"] = metrics.semantic_accuracy(hyps, scenes)
    return scores


class MixedPrecision:
    """Float16 mixed precision (torch.amp) for a training step written for float32; on by default
    on CUDA only, where it passes everything straight through when off.

    A step that calls ``loss = criterion(scores, targets)``, ``optimizer.zero_grad()``,
    ``loss.backward()`` and ``optimizer.step()`` and returns ``loss.item()`` runs unchanged inside
    ``with amp.autocast():`` given ``criterion=amp.criterion`` and ``optimizer=amp``. The loss is
    computed in float32 and multiplied by the GradScaler's scale before backward, so that small
    float16 gradients do not round to zero; ``step`` unscales the gradients, skips the update when
    one of them is inf or nan, and adapts the scale. ``true_loss`` undoes the scale on the value the
    step returned.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, criterion, device: torch.device | str,
                 enabled: bool | None = None, init_scale: float = 2.0 ** 16):
        self.device_type = torch.device(device).type
        self.enabled = self.device_type == "cuda" if enabled is None else enabled
        self.optimizer, self.loss_function = optimizer, criterion
        self.scaler = torch.amp.GradScaler(self.device_type, init_scale=init_scale, enabled=self.enabled)
        self.scale = 1.0

    def autocast(self) -> torch.autocast:
        """The context to run the step in: float16 where it is safe (matrix products, convolutions)."""
        return torch.autocast(self.device_type, dtype=torch.float16, enabled=self.enabled)

    def criterion(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """scores (N, V) of any float dtype, targets (N,) -> the scaled float32 loss, a scalar."""
        self.scale = self.scaler.get_scale() if self.enabled else 1.0
        return self.scaler.scale(self.loss_function(scores.float(), targets))

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        """Unscale the gradients and update (skipped when they overflowed); then adapt the scale."""
        self.scaler.step(self.optimizer)
        self.scaler.update()

    def true_loss(self, scaled_loss: float) -> float:
        """The loss a step returned (scaled by ``criterion``) -> the loss itself."""
        return scaled_loss / self.scale
