import math

import pytest

from rnnlab import metrics

SCENE = {"objects": [
    {"shape": "circle", "colour": "red", "size": "large", "row": 1, "col": 0},
    {"shape": "square", "colour": "blue", "size": "small", "row": 0, "col": 2},
]}
ONE = {"objects": [{"shape": "triangle", "colour": "green", "size": "small", "row": 0, "col": 0}]}


@pytest.mark.parametrize("caption", [
    "A big red circle to the left of a small blue square.",
    "a red disc left of a blue box",
    "A small blue square is above a large red circle.",
    "Two shapes, a blue square and a red circle.",
    "A picture of a red circle and a blue box on a white background",
])
def test_true_captions_are_true(caption):
    assert metrics.caption_is_true(caption, SCENE)


@pytest.mark.parametrize("caption, why", [
    ("A red circle to the right of a blue square.", "wrong relation"),
    ("A small red circle to the left of a small blue square.", "wrong size"),
    ("A green circle to the left of a blue square.", "wrong colour"),
    ("A red circle.", "an object is missing"),
    ("Three shapes, a blue square and a red circle.", "wrong count"),
    ("A red circle, a blue square and a red circle.", "an object too many"),
    ("a red circle to the left of", "not finished"),
    ("an red circle and a blue square", "bad article"),
    ("a red circle left of a blue square square", "trailing word"),
])
def test_false_or_malformed_captions_are_not_true(caption, why):
    assert not metrics.caption_is_true(caption, SCENE), why


def test_positions_of_a_single_object():
    assert metrics.caption_is_true("There is a tiny green triangle in the top left corner.", ONE)
    assert metrics.caption_is_true("A green triangle at the top", ONE)
    assert not metrics.caption_is_true("A green triangle at the bottom", ONE)
    assert not metrics.caption_is_true("A green triangle in the middle", ONE)


def test_well_formedness_needs_no_image():
    assert metrics.caption_is_well_formed("A purple box over a yellow disc and a red triangle.")
    assert not metrics.caption_is_well_formed("a purple the box over")
    assert not metrics.caption_is_well_formed("")


def test_semantic_accuracy_counts_exactly_true_captions():
    caps = ["A red circle left of a blue square", "A red circle.", "A green triangle"]
    assert metrics.semantic_accuracy(caps, [SCENE, SCENE, ONE]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="2 captions but 1 scenes"):
        metrics.semantic_accuracy(caps[:2], [SCENE])


def test_bleu_is_one_for_a_reference_and_lower_otherwise():
    refs = [["a red circle left of a blue square", "a red disc and a blue box"]]
    assert metrics.bleu(refs, ["a red circle left of a blue square"]) == pytest.approx(1.0)
    worse = metrics.bleu(refs, ["a green triangle above a red square"])
    assert 0 < worse < 0.5
    assert metrics.bleu(refs, ["a red circle left of a blue square"], n=1) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="1..4"):
        metrics.bleu(refs, ["x"], n=5)
    with pytest.raises(ValueError, match="hypotheses"):
        metrics.bleu(refs, [])


def test_perplexity():
    assert metrics.perplexity(0.0) == 1.0
    assert metrics.perplexity(math.log(50)) == pytest.approx(50)
    with pytest.raises(ValueError):
        metrics.perplexity(-1)
