"""Caption and language-model metrics: BLEU, perplexity, distinct and novel samples, exact truth
on shapes scenes and the shapes captions' long-distance agreements (the shapes-only checks say so:
see `is_shapes_data`)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu

from rnnlab.datasets.shapes_grammar import (
    COUNT_WORDS,
    SHAPES,
    SIZES,
    SYNONYMS,
    describes_scene,
    parse_caption,
)
from rnnlab.text import tokenize


def bleu(references: Sequence[Sequence[str]], hypotheses: Sequence[str], n: int = 4) -> float:
    """Corpus BLEU-n of generated captions against their reference captions.

    references: for each image, its reference caption strings (e.g. the five captions)
    hypotheses: one generated caption string per image
    n:          1..4, uniform weights over 1..n-grams
    """
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} reference sets but {len(hypotheses)} hypotheses")
    if not 1 <= n <= 4:
        raise ValueError(f"BLEU order n must be 1..4, got {n}")
    if not hypotheses:
        raise ValueError("no captions to score")
    refs = [[_words(r) for r in refs] for refs in references]
    hyps = [_words(h) for h in hypotheses]
    weights = tuple([1.0 / n] * n)
    return float(corpus_bleu(refs, hyps, weights=weights,
                             smoothing_function=SmoothingFunction().method1))


def pooled_bleu(hypotheses: Sequence[str | Sequence[str]], references: Sequence[str | Sequence[str]],
                n: int = 4) -> float:
    """Corpus BLEU-n of sentences sampled without an image against one shared pool of references.

    Every hypothesis is scored against every reference (e.g. all the validation captions), which
    is `bleu` with the same reference list for each hypothesis, computed here once for the pool
    instead of once per hypothesis. Smoothing as in `bleu` (NLTK's method1).
    hypotheses, references: sentences, each a string (tokenised here) or a list of words (used as
                            they are: tokenising many references once, outside, saves time)
    n: 1..4
    """
    if not 1 <= n <= 4:
        raise ValueError(f"BLEU order n must be 1..4, got {n}")
    if not hypotheses:
        raise ValueError("no sentences to score")
    if not references:
        raise ValueError("no reference sentences to score against")
    best: Counter = Counter()  # an n-gram's largest count in any one reference
    lengths = set()
    for ref in references:
        words = _as_words(ref)
        lengths.add(len(words))
        for ngram, count in _ngrams(words, n).items():
            best[ngram] = max(best[ngram], count)
    lengths = sorted(lengths)
    matched, total = [0] * n, [0] * n
    hyp_len = ref_len = 0
    for hyp in hypotheses:
        words = _as_words(hyp)
        hyp_len += len(words)
        ref_len += min(lengths, key=lambda r: (abs(r - len(words)), r))
        counts = [0] * n
        for ngram, count in _ngrams(words, n).items():
            matched[len(ngram) - 1] += min(count, best[ngram])
            counts[len(ngram) - 1] += count
        total = [t + max(1, c) for t, c in zip(total, counts)]  # as NLTK: at least 1 per sentence
    if matched[0] == 0:
        return 0.0
    log_p = [math.log((m if m else 0.1) / t) for m, t in zip(matched, total)]
    brevity = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len) if hyp_len else 0.0
    return brevity * math.exp(sum(log_p) / n)


def _as_words(sentence: str | Sequence[str]) -> list[str]:
    if isinstance(sentence, str):
        return _words(sentence)
    return [w for w in sentence if w not in (".", ",")]


def _ngrams(words: Sequence[str], n: int) -> Counter:
    """Counts of every 1..n-gram of a word list, as tuples."""
    return Counter(tuple(words[i:i + k]) for k in range(1, n + 1) for i in range(len(words) - k + 1))


def distinct_fraction(sentences: Sequence[str]) -> float:
    """Fraction of the sentences that are different from each other (1.0: no repeats)."""
    if not sentences:
        raise ValueError("no sentences to score")
    return len(set(sentences)) / len(sentences)


def novel_fraction(sentences: Sequence[str], training: Iterable[str]) -> float:
    """Fraction of the sentences that are not one of the training sentences, compared word by word
    (runs of spaces do not count). Give both in the same form, e.g. words decoded from word ids."""
    if not sentences:
        raise ValueError("no sentences to score")
    seen = {" ".join(s.split()) for s in training}
    return sum(" ".join(s.split()) not in seen for s in sentences) / len(sentences)


def is_shapes_data(images: Sequence[Mapping]) -> bool:
    """True for the course's shapes captions: every image record carries its `scene`.

    The grammar check (`caption_is_well_formed`) and the truth checks (`caption_is_true`,
    `semantic_accuracy`) only mean something on these captions; on any other captions, real COCO
    or your own, skip them and use perplexity, BLEU and the distinct and novel fractions.
    images: the "images" records of a COCO-format captions file
    """
    return bool(images) and all("scene" in image for image in images)


def _words(caption: str) -> list[str]:
    return [t for t in tokenize(caption) if t not in (".", ",")]


def perplexity(mean_nll: float) -> float:
    """exp(mean negative log-likelihood per token, in nats)."""
    if mean_nll < 0 or math.isnan(mean_nll):
        raise ValueError(f"a mean negative log-likelihood is >= 0, got {mean_nll}")
    return math.exp(mean_nll)


def caption_is_well_formed(caption: str) -> bool:
    """True when the caption is a sentence of the shapes grammar (true or not of any image).

    Shapes captions only: any other caption (real COCO, your own) is simply not a sentence of this
    grammar, so the rate says nothing there (see `is_shapes_data`)."""
    return parse_caption(caption) is not None


def caption_is_true(caption: str, scene: dict) -> bool:
    """True when the caption is well formed and describes the scene exactly: every object
    named once with its right colour, shape (and size if given), and every relation or position
    it states holds."""
    claims = parse_caption(caption)
    return claims is not None and describes_scene(claims, scene)


def semantic_accuracy(captions: Sequence[str], scenes: Sequence[dict]) -> float:
    """Fraction of generated captions (one per scene) that are exactly true of their scene."""
    if len(captions) != len(scenes):
        raise ValueError(f"{len(captions)} captions but {len(scenes)} scenes")
    if not captions:
        raise ValueError("no captions to score")
    return sum(caption_is_true(c, s) for c, s in zip(captions, scenes)) / len(captions)


def scene_key(scene: dict) -> tuple:
    """One shapes scene as a hashable key: the same objects in the same cells, whatever the
    order they are listed in, give the same key (to tell which scenes also occur in training).

    scene: {"objects": [{"shape", "colour", "size", "row", "col"}, ...]}
    """
    return tuple(sorted(tuple(sorted(obj.items())) for obj in scene["objects"]))


AGREEMENTS = ("count", "synonym", "size")
_SURFACE = {word: canonical for canonical, words in SYNONYMS.items() for word in words}


def agreements(sentence: str) -> dict[str, tuple[bool, int]]:
    """The shapes grammar's long-distance agreements that one sentence contains, and whether it
    keeps them. The words are scanned one by one, so ill-formed sentences are judged too (the
    grammar's parser, `parse_caption`, accepts sentences that break all three).

    A noun phrase is counted by its shape word (circle, disc, square, box, triangle) and owns the
    words after the previous shape word, so its size word is one of those.
      "count":   a count word ("two", "three") is there; kept when the sentence then names that
                 many noun phrases; span from the count word to the last shape word
      "synonym": a canonical word with synonyms (circle, square, small, large) occurs twice or
                 more; kept when every canonical word keeps one surface word ("circle" never
                 with "disc"); span from the first to the last occurrence of a repeated word
      "size":    two or more noun phrases; kept when all of them or none of them have a size
                 word; span from the first to the last shape word
    sentence: words separated by spaces (punctuation is dropped), any case
    returns:  {kind: (kept, span in words: the later position minus the earlier one)}, only the
              kinds the sentence contains
    """
    words = sentence.lower().replace(",", " ").replace(".", " ").split()
    shape_at = [i for i, w in enumerate(words) if _SURFACE.get(w) in SHAPES]
    found = {}
    count_at = next((i for i, w in enumerate(words) if w in COUNT_WORDS), None)
    if count_at is not None:
        last = max(shape_at, default=count_at)
        found["count"] = (len(shape_at) == COUNT_WORDS[words[count_at]], last - count_at)
    uses: dict[str, list[int]] = {}
    for i, w in enumerate(words):
        if len(SYNONYMS.get(_SURFACE.get(w), ())) > 1:
            uses.setdefault(_SURFACE[w], []).append(i)
    repeated = [at for at in uses.values() if len(at) > 1]
    if repeated:
        kept = all(len({words[i] for i in at}) == 1 for at in uses.values())
        found["synonym"] = (kept, max(at[-1] - at[0] for at in repeated))
    if len(shape_at) > 1:
        sized = [any(_SURFACE.get(w) in SIZES for w in words[start + 1:end])
                 for start, end in zip([-1, *shape_at], shape_at)]
        found["size"] = (len(set(sized)) == 1, shape_at[-1] - shape_at[0])
    return found


def agreement_rates(sentences: Sequence[str]) -> dict[str, float]:
    """How often sampled sentences keep each long-distance agreement of the shapes captions.

    sentences: N sentences (strings), e.g. sampled from a language model
    returns:   for each kind of `agreements` ("count", "synonym", "size"):
                 kind:           fraction of the sentences containing that dependency that keep it
                                 (nan when none contains it)
                 kind + "_n":    how many sentences contain it (what the fraction is over)
                 kind + "_span": mean span of the dependency in words over those sentences (nan
                                 when none)
    """
    if not sentences:
        raise ValueError("no sentences to score")
    found = [agreements(s) for s in sentences]
    rates = {}
    for kind in AGREEMENTS:
        judged = [f[kind] for f in found if kind in f]
        n = len(judged)
        rates[kind] = sum(kept for kept, _ in judged) / n if n else math.nan
        rates[kind + "_n"] = n
        rates[kind + "_span"] = sum(span for _, span in judged) / n if n else math.nan
    return rates
