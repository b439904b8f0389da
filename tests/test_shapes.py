import json

import numpy as np
import pytest

from rnnlab.datasets import shapes
from rnnlab.metrics import caption_is_true


def _scenes(coco):
    return {img["id"]: img["scene"] for img in coco["images"]}


def test_same_seed_gives_byte_identical_json(tmp_path):
    sizes = {"train": 40, "val": 10}
    a = shapes.build(tmp_path / "a", seed=7, sizes=sizes, write_png=False)
    b = shapes.build(tmp_path / "b", seed=7, sizes=sizes, write_png=False)
    c = shapes.build(tmp_path / "c", seed=8, sizes=sizes, write_png=False)
    for split in sizes:
        name = f"captions_{split}.json"
        assert (a / name).read_bytes() == (b / name).read_bytes()
        assert (a / name).read_bytes() != (c / name).read_bytes()
        assert np.array_equal(np.load(a / f"images_{split}.npy"), np.load(b / f"images_{split}.npy"))


def test_every_split_is_coco_format_with_five_true_captions(small_shapes):
    for split, size in {"train": 120, "val": 20, "test": 20, "heldout": 20}.items():
        coco, images = shapes.load(split, small_shapes)
        assert images.shape == (size, 64, 64, 3) and images.dtype == np.uint8
        assert len(coco["images"]) == size and len(coco["annotations"]) == 5 * size
        scenes = _scenes(coco)
        for ann in coco["annotations"]:
            assert caption_is_true(ann["caption"], scenes[ann["image_id"]]), ann["caption"]


def test_captions_are_varied(small_shapes):
    coco, _ = shapes.load("train", small_shapes)
    captions = [a["caption"] for a in coco["annotations"]]
    assert len(set(captions)) > 0.8 * len(captions)
    words = {w for c in captions for w in c.lower().rstrip(".").replace(",", " ").split()}
    for word in ("left", "above", "disc", "box", "big", "tiny", "three", "picture"):
        assert word in words
    counts = {len(img["scene"]["objects"]) for img in coco["images"]}
    assert counts == {1, 2, 3}


def test_heldout_split_alone_shows_the_heldout_pairs(small_shapes):
    def pairs(split):
        coco, _ = shapes.load(split, small_shapes)
        return [{(o["colour"], o["shape"]) for o in img["scene"]["objects"]} for img in coco["images"]]

    for split in ("train", "val", "test"):
        assert not any(p & set(shapes.HELDOUT_PAIRS) for p in pairs(split))
    assert all(p & set(shapes.HELDOUT_PAIRS) for p in pairs("heldout"))


def test_images_show_the_scene_colours(small_shapes):
    coco, images = shapes.load("train", small_shapes)
    for record, image in list(zip(coco["images"], images))[:20]:
        for obj in record["scene"]["objects"]:
            cy, cx = int((obj["row"] + 0.5) * 64 / 3), int((obj["col"] + 0.5) * 64 / 3)
            window = image[cy - 2 : cy + 3, cx - 2 : cx + 3].reshape(-1, 3).astype(int)
            distance = np.abs(window - shapes.RGB[obj["colour"]]).max(axis=1)
            assert distance.min() < 40, f"no {obj['colour']} pixel near the {obj['shape']}"


def test_pngs_match_the_array(tmp_path):
    from PIL import Image

    out = shapes.build(tmp_path, seed=1, sizes={"val": 3})
    coco = json.loads((out / "captions_val.json").read_text())
    images = np.load(out / "images_val.npy")
    for record, image in zip(coco["images"], images):
        assert np.array_equal(np.asarray(Image.open(out / record["file_name"])), image)


def test_bad_requests_are_clear(tmp_path):
    with pytest.raises(ValueError, match="unknown split"):
        shapes.build(tmp_path, sizes={"training": 3})
    with pytest.raises(ValueError, match="positive"):
        shapes.build(tmp_path, sizes={"train": 0})
    with pytest.raises(ValueError, match="unknown split"):
        shapes.load("dev", tmp_path)
    with pytest.raises(FileNotFoundError, match="make data"):
        shapes.load("train", tmp_path / "nothing")


def test_ensure_built_builds_only_when_missing_or_stale(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(shapes, "SPLIT_SIZES", {"train": 4, "val": 2, "test": 2, "heldout": 2})
    shapes.build(tmp_path, sizes={"train": 4})
    shapes.ensure_built(tmp_path)
    assert "building" in capsys.readouterr().out
    shapes.ensure_built(tmp_path)
    assert capsys.readouterr().out == ""
    (tmp_path / "fingerprint.txt").write_text("made by an older generator")
    shapes.ensure_built(tmp_path)
    assert "building" in capsys.readouterr().out
