"""Lab 06 data: the hidden "incognito" target, VGG-16 activations of a photo we do not ship.

The builder runs one photo through the first ``LAYER + 1`` modules of VGG-16's ``features`` (the
output of ``features[19]``, conv4_2, 512 channels at 1/8 of the image size) at every size in
``TARGET_SIZES``, with the weights ``rnnlab.vision.pretrained_model('vgg16')`` resolves, and saves
the activations together with a record of those weights, but not the photo. The lab reconstructs
the photo from them. ``reveal_incognito`` gives the photo back for measuring the reconstruction;
``PyramidImage`` is the multi-scale image the lab optimises.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision.transforms import v2

from rnnlab.vision import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    denormalize,
    pretrained_model,
    sample_image,
    weights_file,
)

ARCH = "vgg16"
LAYER = 19
SEED = 0
TARGET_SIZES = (224, 64)
_PHOTO = "astronaut"
_FOLDER = "vgg_inversion"
_FILE = f"incognito_layer{LAYER}.pt"


def preprocess(image: np.ndarray, size: int = 224) -> torch.Tensor:
    """uint8 RGB (H, W, 3) -> ImageNet-normalised float (1, 3, size, size), shorter side resized."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[-1] != 3:
        shape = getattr(image, "shape", type(image).__name__)
        raise ValueError(f"expected an RGB image as a (H, W, 3) numpy array, got {shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels in 0..255, got {image.dtype}: convert the image first")
    if size < 32:
        raise ValueError(f"size {size} is too small for VGG-16 (five 2x poolings): use 32 or more")
    transform = v2.Compose([
        v2.ToImage(),
        v2.Resize(size, antialias=True),
        v2.CenterCrop(size),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])
    return transform(Image.fromarray(image)).unsqueeze(0)


def target_path(root: Path) -> Path:
    """Where the builder writes the incognito activations under the data root."""
    return Path(root) / _FOLDER / _FILE


def fingerprint(features: torch.nn.Module) -> str:
    """A short sha256 of a network's parameters: tells two sets of weights apart."""
    digest = hashlib.sha256()
    for name, tensor in sorted(features.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def _expected_weights() -> dict:
    """Which weights ``pretrained_model`` will resolve now, without building the model."""
    path = weights_file(ARCH)
    if path.is_file():
        return {"arch": ARCH, "source": "cache", "file": path.name, "bytes": path.stat().st_size}
    return {"arch": ARCH, "source": "seeded", "seed": SEED}


def _read(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def build(root: Path, sizes: tuple[int, ...] = TARGET_SIZES) -> Path:
    """Write the layer-19 activations of the incognito photo at ``sizes``; returns the file.

    Skips everything when the file already holds every size for the weights that would be
    resolved now; otherwise one forward pass per missing size (all sizes if the weights changed).
    """
    path = target_path(root)
    expected = _expected_weights()
    saved = _read(path) if path.is_file() else None
    if saved is not None and {k: saved["weights"].get(k) for k in expected} != expected:
        saved = None
    activations = dict(saved["activations"]) if saved is not None else {}
    missing = [size for size in sizes if size not in activations]
    if not missing:
        return path
    model, source = pretrained_model(ARCH, seed=SEED)
    features = model.features.eval()
    weights = {**expected, "source": source, "fingerprint": fingerprint(features)}
    photo = _photo()
    with torch.no_grad():
        for size in missing:
            activations[size] = features[: LAYER + 1](preprocess(photo, size)).contiguous()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"layer": LAYER, "weights": weights, "activations": activations}, tmp)
    tmp.replace(path)
    return path


def describe(root: Path) -> dict:
    """The record of a built target: {'layer': int, 'weights': dict, 'sizes': sorted sizes}."""
    saved = _load_checked(root)
    return {"layer": saved["layer"], "weights": saved["weights"], "sizes": sorted(saved["activations"])}


def load_incognito(features: torch.nn.Module, size: int, root: Path) -> torch.Tensor:
    """The incognito target at ``size``: (1, 512, size // 8, size // 8), float32.

    features: the VGG-16 ``features`` the lab uses; must hold the weights that made the target.
    """
    saved = _load_checked(root)
    if size not in saved["activations"]:
        raise ValueError(
            f"the incognito target has sizes {sorted(saved['activations'])}, not {size}: use one of "
            "those (rnnlab.inversion.TARGET_SIZES) or add the size there and rebuild"
        )
    made_by = saved["weights"]
    if fingerprint(features) != made_by["fingerprint"]:
        raise ValueError(
            f"the incognito target was made with {made_by['source']} {ARCH} weights that differ from "
            "the network you passed: rebuild it with `python -m rnnlab.build` (it follows the weights "
            "rnnlab.vision.pretrained_model resolves) and pass that model's .features"
        )
    return saved["activations"][size]


def _load_checked(root: Path) -> dict:
    path = target_path(root)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: build the course data with `make data` (or `python -m rnnlab.build`)"
        )
    saved = _read(path)
    if not isinstance(saved, dict) or {"layer", "weights", "activations"} - saved.keys():
        raise ValueError(f"{path} is not an incognito target file: delete it and run `make data`")
    return saved


def _photo() -> np.ndarray:
    return sample_image(_PHOTO)


def reveal_incognito(size: int) -> torch.Tensor:
    """The incognito photo itself, preprocessed like the target: (1, 3, size, size), normalised."""
    return preprocess(_photo(), size)


def to_display(x: torch.Tensor) -> np.ndarray:
    """A normalised image (1, 3, H, W) or (3, H, W) -> float (H, W, 3) in [0, 1] for plt.imshow."""
    if x.ndim == 4:
        if x.shape[0] != 1:
            raise ValueError(f"to_display shows one image at a time, got a batch of {x.shape[0]}")
        x = x[0]
    return denormalize(x.detach().float().cpu()).permute(1, 2, 0).numpy()


def ssim(x: torch.Tensor, reference: torch.Tensor) -> float:
    """Structural similarity of two normalised images (1, 3, H, W), compared in [0, 1] pixel space."""
    from skimage.metrics import structural_similarity

    if x.shape != reference.shape:
        raise ValueError(f"ssim needs images of the same shape, got {tuple(x.shape)} and "
                         f"{tuple(reference.shape)}")
    return float(structural_similarity(to_display(x), to_display(reference), channel_axis=-1,
                                       data_range=1.0))



class PyramidImage(torch.nn.Module):
    """An image (1, 3, size, size) made as the sum of images at several scales, each upsampled.

    Optimising the levels instead of the pixels lets one step move a whole region at once (the
    coarse levels) as easily as a single pixel (the finest), so the layout of a picture appears in
    far fewer steps. Calling the module returns the current image.

    size:     side of the image in pixels
    scales:   downsampling factor of each level (1 is full resolution); size // scale >= 1
    init_std: standard deviation of the small random start of every level
    seed:     seed of that random start
    """

    def __init__(self, size: int, scales: tuple[int, ...] = (1, 2, 4, 8), init_std: float = 0.01,
                 seed: int = 0):
        super().__init__()
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive number of pixels, got {size!r}")
        if not scales or any(not isinstance(s, int) or s < 1 or size // s < 1 for s in scales):
            raise ValueError(f"scales must be integers from 1 to size ({size}), got {scales!r}")
        generator = torch.Generator().manual_seed(seed)
        self.size = size
        self.levels = torch.nn.ParameterList(
            torch.nn.Parameter(init_std * torch.randn(1, 3, size // s, size // s, generator=generator))
            for s in scales
        )

    def forward(self) -> torch.Tensor:
        """returns: (1, 3, size, size), the sum of every level resized to size x size (bilinear)."""
        full = (self.size, self.size)
        return sum(
            level if level.shape[-2:] == full
            else F.interpolate(level, size=full, mode="bilinear", align_corners=False)
            for level in self.levels
        )
