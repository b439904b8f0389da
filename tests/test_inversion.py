"""rnnlab.inversion: lab 06's hidden target (build, skip, load, weight checks) and its helpers."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from rnnlab import inversion
from rnnlab.vision import pretrained_model


@pytest.fixture(scope="module")
def torch_home(tmp_path_factory):
    """An empty torch hub cache, so the weights resolve to the seeded initialisation."""
    home = tmp_path_factory.mktemp("torch_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TORCH_HOME", str(home))
        yield home


@pytest.fixture(scope="module")
def features(torch_home) -> torch.nn.Module:
    model, source = pretrained_model(inversion.ARCH, seed=inversion.SEED)
    assert source == "seeded"
    return model.features.eval()


@pytest.fixture(scope="module")
def built(torch_home, tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    inversion.build(root, sizes=(32, 64))
    return root


def test_build_writes_activations_and_the_weights_record_but_not_the_photo(built, features):
    record = inversion.describe(built)
    assert record["layer"] == 19 and record["sizes"] == [32, 64]
    assert record["weights"]["source"] == "seeded" and record["weights"]["seed"] == 0
    assert record["weights"]["fingerprint"] == inversion.fingerprint(features)
    saved = torch.load(inversion.target_path(built), weights_only=True)
    assert set(saved) == {"layer", "weights", "activations"}, "only activations and the record"
    target = inversion.load_incognito(features, 64, built)
    assert target.shape == (1, 512, 8, 8)
    with torch.no_grad():
        expected = features[:20](inversion.reveal_incognito(64))
    torch.testing.assert_close(target, expected)


def test_build_skips_what_is_there_and_adds_only_missing_sizes(built, features):
    path = inversion.target_path(built)
    before = path.stat().st_mtime_ns
    inversion.build(built, sizes=(32, 64))
    assert path.stat().st_mtime_ns == before, "a complete target must not be rewritten"
    old = inversion.load_incognito(features, 32, built)
    inversion.build(built, sizes=(32, 64, 48))
    assert inversion.describe(built)["sizes"] == [32, 48, 64]
    assert inversion.load_incognito(features, 48, built).shape == (1, 512, 6, 6)
    assert torch.equal(inversion.load_incognito(features, 32, built), old)


def test_load_refuses_other_weights_and_unknown_sizes(built, features):
    other = copy.deepcopy(features)
    with torch.no_grad():
        other[0].weight.add_(0.01)
    with pytest.raises(ValueError, match="rebuild it with `python -m rnnlab.build`"):
        inversion.load_incognito(other, 64, built)
    with pytest.raises(ValueError, match="not 100: use one of"):
        inversion.load_incognito(features, 100, built)


def test_missing_or_foreign_target_file_says_how_to_build(tmp_path, features):
    with pytest.raises(FileNotFoundError, match="make data"):
        inversion.load_incognito(features, 64, tmp_path)
    path = inversion.target_path(tmp_path)
    path.parent.mkdir(parents=True)
    torch.save({"something": 1}, path)
    with pytest.raises(ValueError, match="not an incognito target file"):
        inversion.describe(tmp_path)


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
    image = inversion.reveal_incognito(32)
    picture = inversion.to_display(image)
    assert picture.shape == (32, 32, 3) and picture.min() >= 0 and picture.max() <= 1
    assert inversion.ssim(image, image) == pytest.approx(1.0)
    assert inversion.ssim(torch.zeros_like(image), image) < 0.5
    with pytest.raises(ValueError, match="same shape"):
        inversion.ssim(image, inversion.reveal_incognito(64))
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
