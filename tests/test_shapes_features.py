"""Shapes image features and encoded captions: the builder, the loader and the decoder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnnlab.datasets import shapes_features as sf
from rnnlab.metrics import caption_is_true
from rnnlab.text import Vocabulary

DIM = 32


@pytest.fixture(scope="module")
def features_dir(small_shapes, tmp_path_factory):
    out = tmp_path_factory.mktemp("features")
    return sf.build(out, shapes_dir=small_shapes, feature_dim=DIM)


def test_downsample_averages_2x2_blocks():
    images = np.zeros((1, 64, 64, 3), dtype=np.uint8)
    images[0, :2, :2, 0] = [[255, 255], [0, 0]]
    pixels = sf.downsample(images)
    assert pixels.shape == (1, 32 * 32 * 3) and pixels.dtype == np.float32
    assert pixels[0, 0] == pytest.approx(0.5) and pixels[0, 1:].max() == 0


def test_pca_components_are_orthonormal_and_ordered():
    rng = np.random.default_rng(0)
    pixels = (rng.normal(size=(200, 20)) * np.linspace(5, 0.1, 20)).astype(np.float32)
    mean, components = sf.fit_pca(pixels, dim=5, sample=200)
    assert components.shape == (20, 5)
    assert np.allclose(components.T @ components, np.eye(5), atol=1e-4)
    variances = ((pixels - mean) @ components).var(axis=0)
    assert np.all(np.diff(variances) <= 1e-6)


def test_build_writes_aligned_arrays_and_loads_with_the_seed_keys(features_dir, small_shapes):
    data = sf.load(splits=("train", "val", "heldout"), root=features_dir)
    for split, n_images in (("train", 120), ("val", 20), ("heldout", 20)):
        assert data[f"{split}_features"].shape == (n_images, DIM)
        assert data[f"{split}_captions"].shape[0] == 5 * n_images
        assert data[f"{split}_image_idxs"].max() == n_images - 1
        assert len(data[f"{split}_image_paths"]) == len(data[f"{split}_scenes"]) == n_images
    assert data["idx_to_word"][:4] == list(sf.SPECIALS)
    assert data["word_to_idx"]["<NULL>"] == 0
    squared_norm = (data["train_features"] ** 2).sum(axis=1).mean()
    assert squared_norm == pytest.approx(DIM, rel=1e-3)
    first = data["train_captions"][0]
    assert first[0] == data["word_to_idx"]["<START>"]
    assert data["word_to_idx"]["<END>"] in first
    assert data["train_image_paths"][0] == str((small_shapes / "train" / "000000.png").resolve())


def test_decoded_captions_are_true_of_their_scenes(features_dir):
    data = sf.load(root=features_dir)
    texts = sf.decode_captions(data["val_captions"][:10], data["idx_to_word"])
    scenes = [data["val_scenes"][i] for i in data["val_image_idxs"][:10]]
    assert all(caption_is_true(t, s) for t, s in zip(texts, scenes))
    assert isinstance(sf.decode_captions(data["val_captions"][0], data["idx_to_word"]), str)


def test_max_train_keeps_a_seeded_subset(features_dir):
    a = sf.load(max_train=7, root=features_dir, seed=1)
    b = sf.load(max_train=7, root=features_dir, seed=1)
    assert a["train_captions"].shape[0] == 7
    assert np.array_equal(a["train_captions"], b["train_captions"])
    assert a["train_features"].shape == (120, DIM)


def test_build_is_skipped_when_done(features_dir):
    before = (features_dir / "features_train.npy").stat().st_mtime_ns
    sf.build(features_dir)
    assert (features_dir / "features_train.npy").stat().st_mtime_ns == before
    assert json.loads((features_dir / "meta.json").read_text())["feature_dim"] == DIM


def test_encode_captions_marks_unknown_words_and_rejects_long_ones():
    vocab = Vocabulary.build([["a", "red", "box"]], specials=sf.SPECIALS, unk_token=sf.UNK)
    ids = sf.encode_captions([["a", "blue", "box"]], vocab, length=6)
    assert [vocab.token(int(i)) for i in ids[0]] == ["<START>", "a", "<UNK>", "box", "<END>",
                                                      "<NULL>"]
    with pytest.raises(ValueError, match="at most 2 fit"):
        sf.encode_captions([["a", "red", "box"]], vocab, length=4)
    with pytest.raises(TypeError, match="tokenized"):
        sf.encode_captions(["a red box"], vocab, length=6)


def test_bad_inputs_say_what_is_wrong(tmp_path, features_dir):
    with pytest.raises(FileNotFoundError, match="make data"):
        sf.load(root=tmp_path)
    with pytest.raises(ValueError, match="unknown split"):
        sf.load(splits=("training",), root=features_dir)
    with pytest.raises(ValueError, match="max_train must be between 1 and 600"):
        sf.load(max_train=10_000, root=features_dir)
    with pytest.raises(ValueError, match=r"\(N, 64, 64, 3\)"):
        sf.downsample(np.zeros((2, 32, 32, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="at least 512 images"):
        sf.fit_pca(np.zeros((10, 20), dtype=np.float32))
    with pytest.raises(ValueError, match="word ids must lie"):
        sf.decode_captions(np.array([0, 99]), ["<NULL>", "a"])
    with pytest.raises(ValueError, match=r"\(T,\) or \(N, T\)"):
        sf.decode_captions(np.zeros((1, 2, 3), dtype=int), ["<NULL>"])
