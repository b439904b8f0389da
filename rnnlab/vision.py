"""Images: loading, ImageNet normalisation, sample photos, and pretrained-weight resolution."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def load_image(path: str | Path, size: int | None = None) -> np.ndarray:
    """An RGB image as uint8 (H, W, 3), resized to (size, size) if given."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: check the image path")
    image = Image.open(path).convert("RGB")
    if size is not None:
        image = image.resize((size, size), Image.BICUBIC)
    return np.asarray(image)


def sample_image(name: str = "astronaut") -> np.ndarray:
    """A photo that ships with scikit-image (astronaut, coffee, chelsea, rocket, ...): (H, W, 3)."""
    import skimage.data

    loader = getattr(skimage.data, name, None)
    if loader is None or not callable(loader):
        raise ValueError(f"skimage.data has no image {name!r}: try 'astronaut', 'coffee', 'chelsea'")
    image = loader()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return image[..., :3]


def _stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if x.ndim not in (3, 4) or x.shape[-3] != 3:
        raise ValueError(f"expected an image tensor (3, H, W) or (N, 3, H, W), got {tuple(x.shape)}")
    shape = (3, 1, 1)
    mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device).view(shape)
    std = torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device).view(shape)
    return mean, std


def normalize(x: torch.Tensor) -> torch.Tensor:
    """(…, 3, H, W) in [0, 1] -> ImageNet-normalised (x - mean) / std, per channel."""
    mean, std = _stats(x)
    return (x - mean) / std


def denormalize(x: torch.Tensor) -> torch.Tensor:
    """The inverse of ``normalize``: (…, 3, H, W) normalised -> [0, 1] (clamped) for display."""
    mean, std = _stats(x)
    return (x * std + mean).clamp(0, 1)


def weights_file(arch: str) -> Path:
    """Where torch hub caches the default ImageNet weights of a torchvision model (TORCH_HOME)."""
    weights = torchvision.models.get_model_weights(arch).DEFAULT
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name


def pretrained_model(arch: str, seed: int = 0, allow_download: bool | None = None,
                     url: str | None = None) -> tuple[torch.nn.Module, str]:
    """A torchvision model (e.g. 'resnet18', 'resnet152', 'vgg16') with the best weights we can get.

    1. 'cache':    ImageNet weights found in the local torch hub cache (``weights_file(arch)``);
    2. 'download': downloaded into that cache, only if allow_download (default: the environment
                   variable RNNLAB_ALLOW_DOWNLOAD=1) and the network answers;
    3. 'seeded':   otherwise a seeded random initialisation, with a one-line notice.
    returns: (model, source)
    """
    path = weights_file(arch)
    if allow_download is None:
        allow_download = os.environ.get("RNNLAB_ALLOW_DOWNLOAD") == "1"
    model = torchvision.models.get_model(arch, weights=None)
    if path.is_file():
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        print(f"rnnlab: {arch} uses pretrained ImageNet weights from {path}")
        return model, "cache"
    if allow_download:
        source_url = url or torchvision.models.get_model_weights(arch).DEFAULT.url
        try:
            state = torch.hub.load_state_dict_from_url(source_url, file_name=path.name,
                                                       map_location="cpu", progress=True)
        except OSError as err:
            print(f"rnnlab: could not download {arch} weights ({err}); falling back to seeded")
        else:
            model.load_state_dict(state)
            print(f"rnnlab: {arch} uses pretrained ImageNet weights, downloaded to {path}")
            return model, "download"
    torch.manual_seed(seed)
    model = torchvision.models.get_model(arch, weights=None)
    print(
        f"rnnlab: no pretrained {arch} weights at {path}; using a seeded random initialisation "
        f"(seed {seed}). Put the file there for ImageNet weights."
    )
    return model, "seeded"
