"""Lab 06 helpers: the puzzle's network and target activations, image pre- and post-processing, SSIM.

The puzzle: ``data/vgg_inversion/incognito_layer19.npz`` holds what module ``LAYER`` (conv4_2) of
VGG-16's ``features`` gave for an unknown photo, at every image size in ``TARGET_SIZES``; the
network has the seeded random weights of ``seeded_features()``. The file holds activations only.
The lab reconstructs the photo from them. ``PyramidImage`` is the multi-scale image it optimises.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torchvision.transforms import v2

from rnnlab.runtime import shipped_data_dir
from rnnlab.vision import IMAGENET_MEAN, IMAGENET_STD, denormalize, weights_file

ARCH = "vgg16"
LAYER = 19
SEED = 0
TARGET_SIZES = (224, 64)
PROBE_SIZE = 32
_FOLDER = "vgg_inversion"
_FILE = f"incognito_layer{LAYER}.npz"
# Relative L2 distance between the probe activations a network gives and the recorded ones above
# which it is another network: float rounding (CPU kernels, TF32 on a GPU) stays far below it, other
# weights give about 1.
_PROBE_TOLERANCE = 0.02


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


def seeded_features() -> torch.nn.Sequential:
    """VGG-16's ``features`` with the seeded random weights (seed ``SEED``) that made the target.

    The same weights as ``rnnlab.vision.pretrained_model('vgg16', seed=SEED)`` without ImageNet
    weights in the cache, whether or not they are there (the target is for this network only).
    Frozen and in eval mode. Leaves the global random state as it was.
    returns: nn.Sequential of 31 modules, on the CPU
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        model = torchvision.models.get_model(ARCH, weights=None)
    if weights_file(ARCH).is_file():
        print(f"rnnlab: ImageNet {ARCH} weights are in your torch cache, but the puzzle's activations "
              f"come from the seeded random {ARCH} (seed {SEED}): this is that network")
    else:
        print(f"rnnlab: {ARCH} with seeded random weights (seed {SEED}), the network of the puzzle")
    return model.features.eval().requires_grad_(False)


def probe_image() -> torch.Tensor:
    """A fixed synthetic image (1, 3, PROBE_SIZE, PROBE_SIZE) that tells two networks apart."""
    grid = torch.linspace(0, 1, PROBE_SIZE)
    rows, cols = torch.meshgrid(grid, grid, indexing="ij")
    channels = [torch.sin(7 * rows + 3 * cols), torch.cos(5 * rows * cols + 2), 2 * rows - 1]
    return 2 * torch.stack(channels).unsqueeze(0)


def probe(features: torch.nn.Module) -> torch.Tensor:
    """Module ``LAYER``'s activations of ``probe_image()``: (1, 512, 4, 4), float32, on the CPU."""
    device = next(features.parameters()).device
    with torch.no_grad():
        return features[: LAYER + 1](probe_image().to(device)).float().cpu()


def target_path(root: Path | None = None) -> Path:
    """The target file under ``root`` (default: the repository's ``data/`` folder)."""
    root = shipped_data_dir() if root is None else Path(root)
    return root / _FOLDER / _FILE


def save_target(path: Path, activations: dict[int, torch.Tensor], features: torch.nn.Module) -> None:
    """Write a target file: activations {size: (1, 512, size // 8, size // 8)} of ``features``.

    Stored as float16 (the relative rounding, under 1e-3, is far below what a reconstruction
    reaches), with the probe activations of the same network and the record of the weights.
    """
    arrays = {f"size_{size}": x.detach().cpu().numpy().astype(np.float16)
              for size, x in sorted(activations.items())}
    record = f"arch={ARCH} layer={LAYER} seed={SEED} weights={fingerprint(features)}"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as file:
        np.savez_compressed(file, probe=probe(features).numpy(), record=np.array(record), **arrays)


def _read(root: Path | None) -> dict:
    path = target_path(root)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: it ships with the course in data/{_FOLDER}/; restore it from the "
            "course repository (git checkout -- data)"
        )
    try:
        with np.load(path, allow_pickle=False) as saved:
            data = {key: saved[key] for key in saved.files}
    except (OSError, ValueError) as err:
        raise ValueError(f"{path} is not a target file ({err}): restore it from the repository") from err
    if "probe" not in data or "record" not in data:
        raise ValueError(f"{path} is not a target file (no probe or record): restore it from the repository")
    return data


def describe(root: Path | None = None) -> dict:
    """The record of the target: {'layer': int, 'sizes': sorted sizes, 'record': str}."""
    data = _read(root)
    sizes = sorted(int(key.removeprefix("size_")) for key in data if key.startswith("size_"))
    return {"layer": LAYER, "sizes": sizes, "record": str(data["record"])}


def load_incognito(features: torch.nn.Module, size: int, root: Path | None = None) -> torch.Tensor:
    """The puzzle's target at ``size``: (1, 512, size // 8, size // 8), float32, on the CPU.

    features: the VGG-16 ``features`` the lab uses; must compute what the network that made the
              target computed (checked on a probe image), i.e. hold ``seeded_features()``'s weights
    root:     folder holding vgg_inversion/ (default: the repository's data/)
    """
    data = _read(root)
    key = f"size_{size}"
    if key not in data:
        raise ValueError(
            f"the target has sizes {describe(root)['sizes']}, not {size}: use one of those "
            "(rnnlab.inversion.TARGET_SIZES)"
        )
    recorded = torch.from_numpy(data["probe"]).float()
    got = probe(features)
    if got.shape != recorded.shape or (got - recorded).norm() > _PROBE_TOLERANCE * recorded.norm():
        raise ValueError(
            f"the target was made by {ARCH} with seeded random weights (seed {SEED}), and the network "
            "you passed computes something else (ImageNet weights? another seed or layer?): pass "
            "rnnlab.inversion.seeded_features(). If you did, your torch or torchvision initialises "
            f"{ARCH} differently from the course's; see data/README.md"
        )
    return torch.from_numpy(data[key].astype(np.float32))


def fingerprint(features: torch.nn.Module) -> str:
    """A short sha256 of a network's parameters: tells two sets of weights apart."""
    digest = hashlib.sha256()
    for name, tensor in sorted(features.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


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
