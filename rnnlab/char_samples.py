"""How many real words sampled sentences hold (lab 01).

``valid_word_rate`` is the share of sampled words that are words of the training text: a cheap
check that a character model has learned to spell. Sampling the sentences is the lab's exercise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

_WORD = re.compile(r"[a-z]+")


def words(text: str) -> list[str]:
    """The lower-case alphabetic words of a text: 'A red box, left.' -> ['a', 'red', 'box', 'left']"""
    return _WORD.findall(text.lower())


def known_words(texts: Iterable[str]) -> set[str]:
    """Every word of the texts (see ``words``): the vocabulary that samples are checked against."""
    found = set()
    for text in texts:
        found.update(words(text))
    if not found:
        raise ValueError("the texts hold no words: is the caption list empty?")
    return found


def valid_word_rate(sentences: Sequence[str], vocabulary: set[str]) -> float:
    """Fraction of the words in the sentences that are in the vocabulary (0.0 if they hold none)."""
    if len(sentences) == 0:
        raise ValueError("no sentences to judge: sample some first")
    found = [w for s in sentences for w in words(s)]
    if not found:
        return 0.0
    return sum(w in vocabulary for w in found) / len(found)
