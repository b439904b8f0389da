"""rnnlab.inversion: lab 06's shipped target (it matches the hidden picture through the seeded VGG-16,
and load refuses other networks), the seeded network, and the helpers.

Instructors only: this file draws the hidden picture (grader/lab06_scene.py, docs/lab06_photo.md).
Rewrite the target after changing the picture, the layer or the sizes with::

    .venv/bin/python tests/test_inversion.py --write
"""

from __future__ import annotations

import copy
import sys

import numpy as np
import pytest
import torch

from grader import lab06_scene
from rnnlab import inversion
from rnnlab.vision import pretrained_model, weights_file

# Relative L2 distance allowed between the shipped target and one recomputed now: the float16
# storage rounds by about 2e-4; a different picture, size or network gives 0.3 or more.
STORAGE_TOLERANCE = 2e-3


def hidden_picture() -> np.ndarray:
    """The puzzle's picture, (448, 448, 3) uint8: a lighthouse scene drawn by grader/lab06_scene.py."""
    return lab06_scene.render()


def compute_target(features: torch.nn.Module, sizes=inversion.TARGET_SIZES) -> dict[int, torch.Tensor]:
    """Module LAYER's activations of the hidden picture at each size: {size: (1, 512, size/8, size/8)}."""
    photo = hidden_picture()
    with torch.no_grad():
        return {size: features[: inversion.LAYER + 1](inversion.preprocess(photo, size))
                for size in sizes}


def write_target() -> None:
    """Recompute the shipped target file from the picture with the seeded network."""
    features = inversion.seeded_features()
    path = inversion.target_path()
    inversion.save_target(path, compute_target(features), features)
    print(f"wrote {path} ({path.stat().st_size:,} bytes): {inversion.describe()}")


@pytest.fixture(scope="module")
def torch_home(tmp_path_factory):
    """An empty torch hub cache, so pretrained_model resolves to the seeded initialisation."""
    home = tmp_path_factory.mktemp("torch_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TORCH_HOME", str(home))
        yield home


@pytest.fixture(scope="module")
def features(torch_home) -> torch.nn.Module:
    return inversion.seeded_features()


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def test_shipped_target_is_the_hidden_picture_through_the_seeded_network(features):
    record = inversion.describe()
    assert record["layer"] == 19 and record["sizes"] == sorted(inversion.TARGET_SIZES)
    assert f"weights={inversion.fingerprint(features)}" in record["record"]
    for size, expected in compute_target(features).items():
        shipped = inversion.load_incognito(features, size)
        assert shipped.dtype == torch.float32 and shipped.shape == (1, 512, size // 8, size // 8)
        assert _relative(shipped, expected) < STORAGE_TOLERANCE, (
            f"the shipped {size}-px target is not the picture's: rerun tests/test_inversion.py --write")


def test_shipped_target_holds_activations_only_and_is_small():
    path = inversion.target_path()
    assert path.stat().st_size < 2_000_000
    with np.load(path, allow_pickle=False) as saved:
        names = set(saved.files)
        assert names == {"probe", "record", *(f"size_{s}" for s in inversion.TARGET_SIZES)}
        assert all(saved[name].ndim == 4 and saved[name].shape[1] == 512 for name in names - {"record"})


def test_seeded_features_are_pretrained_models_seeded_fallback(torch_home, features, capsys):
    model, source = pretrained_model(inversion.ARCH, seed=inversion.SEED)
    assert source == "seeded"
    assert inversion.fingerprint(model.features) == inversion.fingerprint(features)
    assert not any(p.requires_grad for p in features.parameters()) and not features.training
    torch.manual_seed(3)
    expected = torch.rand(1)
    torch.manual_seed(3)
    inversion.seeded_features()
    assert torch.equal(torch.rand(1), expected), "seeded_features must not move the global RNG"
    assert "seeded random weights" in capsys.readouterr().out


def test_seeded_features_says_so_when_imagenet_weights_are_cached(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cached = weights_file(inversion.ARCH)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"")  # seeded_features only looks whether the file is there
    net = inversion.seeded_features()
    assert "ImageNet vgg16 weights are in your torch cache" in capsys.readouterr().out
    assert inversion.probe(net).shape == (1, 512, 4, 4)


def test_load_refuses_other_networks_and_unknown_sizes(features):
    other = copy.deepcopy(features)
    with torch.no_grad():
        for module in other:
            if isinstance(module, torch.nn.Conv2d):
                module.weight.mul_(1.0 + 0.3 * torch.randn_like(module.weight))
    with pytest.raises(ValueError, match="pass rnnlab.inversion.seeded_features()"):
        inversion.load_incognito(other, 64)
    with pytest.raises(ValueError, match="not 100: use one of"):
        inversion.load_incognito(features, 100)


def test_load_accepts_float_rounding_of_the_same_network(features):
    rounded = copy.deepcopy(features).half().float()  # about 5e-4 relative change of every weight
    assert inversion.load_incognito(rounded, 64).shape == (1, 512, 8, 8)


def test_missing_or_foreign_target_file_says_what_to_do(tmp_path, features):
    with pytest.raises(FileNotFoundError, match="ships with the course"):
        inversion.load_incognito(features, 64, tmp_path)
    path = inversion.target_path(tmp_path)
    path.parent.mkdir(parents=True)
    np.savez(path, something=np.zeros(3))
    with pytest.raises(ValueError, match="not a target file"):
        inversion.describe(tmp_path)
    path.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a target file"):
        inversion.describe(tmp_path)


def test_save_target_round_trip(tmp_path, features):
    x = torch.randn(1, 512, 4, 4)
    inversion.save_target(inversion.target_path(tmp_path), {32: x}, features)
    assert inversion.describe(tmp_path)["sizes"] == [32]
    assert _relative(inversion.load_incognito(features, 32, tmp_path), x) < STORAGE_TOLERANCE


def test_student_facing_files_do_not_name_the_picture():
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    student = [repo / "rnnlab" / "inversion.py", repo / "data" / "README.md",
               *sorted((repo / "labs" / "06_vgg_inversion").glob("*.ipynb"))]
    for path in student:
        text = path.read_text().lower()
        for word in ("lighthouse", "lab06_scene", "headland", "sunset", "keeper"):
            assert word not in text, f"{path.relative_to(repo)} gives the picture away: {word!r}"


def test_preprocess_shapes_normalisation_and_bad_inputs():
    white = np.full((40, 60, 3), 255, dtype=np.uint8)
    x = inversion.preprocess(white, size=32)
    assert x.shape == (1, 3, 32, 32) and x.dtype == torch.float32
    expected = (1 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225])
    torch.testing.assert_close(x[0, :, 5, 5], expected)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        inversion.preprocess(np.zeros((32, 32), dtype=np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        inversion.preprocess(np.zeros((32, 32, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="too small"):
        inversion.preprocess(white, size=16)


def test_ssim_and_display_helpers():
    image = inversion.preprocess(hidden_picture(), 32)
    picture = inversion.to_display(image)
    assert picture.shape == (32, 32, 3) and picture.min() >= 0 and picture.max() <= 1
    assert inversion.ssim(image, image) == pytest.approx(1.0)
    assert inversion.ssim(torch.zeros_like(image), image) < 0.5
    with pytest.raises(ValueError, match="same shape"):
        inversion.ssim(image, inversion.preprocess(hidden_picture(), 64))
    with pytest.raises(ValueError, match="one image at a time"):
        inversion.to_display(torch.zeros(2, 3, 8, 8))


def test_pyramid_image_sums_upsampled_levels_and_trains():
    pyramid = inversion.PyramidImage(16, scales=(1, 4), init_std=0.0)
    assert pyramid().shape == (1, 3, 16, 16)
    assert [tuple(p.shape) for p in pyramid.parameters()] == [(1, 3, 16, 16), (1, 3, 4, 4)]
    with torch.no_grad():
        pyramid.levels[1].fill_(0.5)
    torch.testing.assert_close(pyramid(), torch.full((1, 3, 16, 16), 0.5))
    same = inversion.PyramidImage(16, seed=1)
    torch.testing.assert_close(same(), inversion.PyramidImage(16, seed=1)())
    pyramid().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in pyramid.parameters())
    with pytest.raises(ValueError, match="scales must be integers"):
        inversion.PyramidImage(16, scales=(1, 32))
    with pytest.raises(ValueError, match="positive number of pixels"):
        inversion.PyramidImage(0)


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        raise SystemExit("usage: python tests/test_inversion.py --write  (rewrites the shipped target)")
    write_target()
