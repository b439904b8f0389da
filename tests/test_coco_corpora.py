import json

import pytest

from rnnlab.datasets import corpora
from rnnlab.datasets.coco import CaptionPairs, CocoCaptions


def test_reads_our_shapes_captions(small_shapes):
    coco = CocoCaptions(small_shapes / "captions_val.json")
    assert len(coco.images) == 20 and len(coco.annotations) == 100
    first = coco.images[0]["id"]
    assert len(coco.captions[first]) == 5
    assert coco.image_path(first) == small_shapes / coco.images[0]["file_name"]
    pairs = CaptionPairs(coco)
    assert len(pairs) == 100 and pairs[0] == (coco.annotations[0]["image_id"],
                                              coco.annotations[0]["caption"])


def test_reads_a_real_coco_style_file(tmp_path):
    data = {"info": {}, "images": [{"id": 9, "file_name": "COCO_train2014_000000000009.jpg"}],
            "annotations": [{"id": 1, "image_id": 9, "caption": "A plate of food."}]}
    path = tmp_path / "captions_train2014.json"
    path.write_text(json.dumps(data))
    coco = CocoCaptions(path, image_dir=tmp_path / "train2014")
    assert coco.all_captions() == ["A plate of food."]
    assert coco.image_path(9).parent == tmp_path / "train2014"
    with pytest.raises(KeyError, match="image id 10"):
        coco.image_path(10)


def test_malformed_coco_files_name_the_problem(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"images": []}))
    with pytest.raises(ValueError, match="no 'annotations' key"):
        CocoCaptions(path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        CocoCaptions(path)
    path.write_text(json.dumps({"images": [], "annotations": [{"id": 1}]}))
    with pytest.raises(ValueError, match="caption"):
        CocoCaptions(path)
    with pytest.raises(FileNotFoundError, match="make data"):
        CocoCaptions(tmp_path / "missing.json")


def test_lyrics_corpus_is_large_enough_and_ours():
    files = corpora.lyrics_files()
    assert len(files) >= 40
    assert all(f.name != "LICENSE.txt" for f in files)
    text = corpora.load_lyrics()
    assert len(text.split()) >= 12_000


def test_read_text_errors_say_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="plain text"):
        corpora.read_text(tmp_path / "none.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    with pytest.raises(ValueError, match="empty"):
        corpora.read_text(empty)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("café au lait".encode("latin-1"))
    with pytest.raises(ValueError, match="encoding='latin-1'"):
        corpora.read_text(latin)
    assert corpora.read_text(latin, encoding="latin-1") == "café au lait"
