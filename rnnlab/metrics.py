"""Caption and language-model metrics: BLEU, perplexity and exact truth on shapes scenes."""

from __future__ import annotations

import math
from collections.abc import Sequence

from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu

from rnnlab.datasets.shapes_grammar import describes_scene, parse_caption
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


def _words(caption: str) -> list[str]:
    return [t for t in tokenize(caption) if t not in (".", ",")]


def perplexity(mean_nll: float) -> float:
    """exp(mean negative log-likelihood per token, in nats)."""
    if mean_nll < 0 or math.isnan(mean_nll):
        raise ValueError(f"a mean negative log-likelihood is >= 0, got {mean_nll}")
    return math.exp(mean_nll)


def caption_is_well_formed(caption: str) -> bool:
    """True when the caption is a sentence of the shapes grammar (true or not of any image)."""
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
