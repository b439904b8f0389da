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


POOL = ["a red circle left of a blue square .", "a big green triangle above a disc",
        "the cat sat on the mat", "a red box"]


@pytest.mark.parametrize("hypotheses", [
    ["a red circle above a green triangle", "the cat on a mat mat", "zebra",
     "a red box left of a blue disc and a cat"],
    ["zebra"], ["a red"], ["a red", "box"], ["", "a red box"],
])
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_pooled_bleu_equals_nltk_corpus_bleu_with_every_reference_for_every_sentence(hypotheses, n):
    expected = metrics.bleu([POOL] * len(hypotheses), hypotheses, n)
    assert metrics.pooled_bleu(hypotheses, POOL, n) == pytest.approx(expected, abs=1e-12)


def test_pooled_bleu_takes_word_lists_as_they_are():
    words = [r.replace(".", "").split() for r in POOL]
    hypotheses = ["a red box left of a blue disc", "the cat"]
    assert metrics.pooled_bleu([h.split() for h in hypotheses], words) == pytest.approx(
        metrics.pooled_bleu(hypotheses, POOL))


def test_pooled_bleu_refuses_empty_inputs_and_bad_orders():
    with pytest.raises(ValueError, match="no sentences"):
        metrics.pooled_bleu([], POOL)
    with pytest.raises(ValueError, match="no reference"):
        metrics.pooled_bleu(["a cat"], [])
    with pytest.raises(ValueError, match="1..4"):
        metrics.pooled_bleu(["a cat"], POOL, n=0)


def test_distinct_and_novel_fractions():
    assert metrics.distinct_fraction(["a cat", "a cat", "a dog", "a bird"]) == 0.75
    novel = metrics.novel_fraction(["a  cat .", "a dog", "a cat ."], ["a cat .", "a bird"])
    assert novel == pytest.approx(1 / 3), "compared word by word: runs of spaces do not count"
    for fraction in (metrics.distinct_fraction, lambda s: metrics.novel_fraction(s, [])):
        with pytest.raises(ValueError, match="no sentences"):
            fraction([])


def test_only_captions_with_scenes_count_as_shapes_data(small_shapes):
    from rnnlab.datasets import coco

    shapes_file = coco.CocoCaptions(small_shapes / "captions_train.json")
    assert metrics.is_shapes_data(shapes_file.images)
    assert not metrics.is_shapes_data([{"id": 1, "file_name": "x.jpg"}])
    assert not metrics.is_shapes_data([])


@pytest.mark.parametrize("sentence, kept, span", [
    ("Three shapes, a blue square, a yellow triangle and a green square.", True, 11),
    ("two shapes , a red disc and a big blue box", True, 9),
    ("Two shapes, a red circle, a blue box and a green triangle.", False, 11),
    ("three shapes , a red circle and a blue box", False, 8),
])
def test_count_agreement_needs_as_many_noun_phrases_as_the_count_word(sentence, kept, span):
    assert metrics.agreements(sentence)["count"] == (kept, span)


@pytest.mark.parametrize("sentence, kept, span", [
    ("A red disc left of a blue disc.", True, 5),
    ("a small red circle and a small blue box", True, 5),
    ("A red disc left of a blue circle.", False, 5),
    ("a little red box , a tiny blue box", False, 4),
    ("a big red square above a large green triangle and a blue square", False, 9),
])
def test_synonym_consistency_needs_one_surface_word_per_canonical_word(sentence, kept, span):
    assert metrics.agreements(sentence)["synonym"] == (kept, span)


@pytest.mark.parametrize("sentence, kept, span", [
    ("A small red circle to the left of a big blue box.", True, 8),
    ("two shapes , a red disc and a green triangle", True, 4),
    ("a small red circle left of a blue box and a big red triangle", False, 10),
    ("A red disc above a tiny green triangle.", False, 5),
])
def test_size_words_are_on_every_noun_phrase_or_on_none(sentence, kept, span):
    assert metrics.agreements(sentence)["size"] == (kept, span)


def test_agreements_are_only_judged_where_the_sentence_contains_them():
    assert metrics.agreements("A big red circle on the left.") == {}
    assert set(metrics.agreements("a red circle and a blue box")) == {"size"}
    assert metrics.agreements("two shapes") == {"count": (False, 0)}, "ill-formed is judged too"
    broken = "Three shapes, a red disc and a big blue circle."
    assert metrics.caption_is_well_formed(broken), "the parser accepts all three broken, hence the scan"
    assert metrics.agreements(broken) == {"count": (False, 9), "synonym": (False, 5),
                                          "size": (False, 5)}


def test_agreement_rates_are_over_the_sentences_containing_each_dependency():
    rates = metrics.agreement_rates([
        "two shapes , a red disc and a blue disc",     # count kept, synonym kept, size kept
        "three shapes , a red disc and a blue circle",  # count broken, synonym broken, size kept
        "a small green triangle",                      # none
    ])
    assert rates["count"] == 0.5 and rates["count_n"] == 2 and rates["count_span"] == 8.0
    assert rates["synonym"] == 0.5 and rates["synonym_n"] == 2 and rates["synonym_span"] == 4.0
    assert rates["size"] == 1.0 and rates["size_n"] == 2 and rates["size_span"] == 4.0
    empty = metrics.agreement_rates(["a red circle"])
    assert math.isnan(empty["count"]) and empty["count_n"] == 0 and math.isnan(empty["size_span"])
    with pytest.raises(ValueError, match="no sentences"):
        metrics.agreement_rates([])


def test_scene_key_ignores_the_order_of_objects_and_tells_scenes_apart():
    swapped = {"objects": SCENE["objects"][::-1]}
    moved = {"objects": [dict(SCENE["objects"][0], col=2), SCENE["objects"][1]]}
    assert metrics.scene_key(swapped) == metrics.scene_key(SCENE)
    assert len({metrics.scene_key(s) for s in (SCENE, swapped, moved, ONE)}) == 3
