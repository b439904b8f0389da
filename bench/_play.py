"""A generated stage play: a student's own long text, made here so nothing is downloaded.

The text has what a real play gives a word-level model: speaker names before each speech, stage
directions in brackets, sentences with punctuation and contractions, and a vocabulary of thousands
of words whose frequencies fall off with rank as in natural text (Zipf's law: the r-th most
frequent word appears about 1/r as often as the first). The words past the common English ones
are made up from syllables, so the text copies nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

COMMON = ("the and i to of a you my that in is not it me for with be his your this but he have "
          "what so will as her do we all by shall are no on our if she him thou they or how more "
          "well come let good love now lord then here there would go like when must see man say "
          "night king make from which know one may time heart yet upon speak sir why should had "
          "hath where us too than away can give tell hand life death eyes day never "
          "take stay again nothing").split()
SYLLABLES = ("ar bel cor dan el fen gar hol in jor kel lan mor nel or pel quin ras sel tor ul "
             "ven wy zan ba de fi go hu li mo ne ri sa te vo").split()
ENDINGS = ("", "", "s", "ed", "ing", "ly", "ness")
STAGE = ("Enter", "Exit", "Exeunt", "Aside", "Within", "Alarum. Enter")


def vocabulary(size: int, gen: np.random.Generator) -> list[str]:
    """``size`` distinct words, most frequent first: common English words, then made-up ones."""
    words, seen = list(COMMON), set(COMMON)
    while len(words) < size:
        stem = "".join(gen.choice(SYLLABLES, size=gen.integers(1, 4)))
        word = stem + gen.choice(ENDINGS)
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def sentence(words: list[str], cumulative: np.ndarray, gen: np.random.Generator) -> str:
    """One sentence of Zipf-distributed words, sometimes with a comma or a contraction."""
    picks = np.searchsorted(cumulative, gen.random(gen.integers(3, 14)))
    text = [words[i] for i in picks]
    if gen.random() < 0.15:
        text.insert(gen.integers(1, len(text)), "don't" if gen.random() < 0.5 else "'tis")
    if len(text) > 6 and gen.random() < 0.5:
        text[gen.integers(2, len(text) - 2)] += ","
    return " ".join(text).capitalize() + gen.choice([".", ".", ".", "!", "?"])


def play_text(n_chars: int = 1_000_000, n_words: int = 12_000, seed: int = 0) -> str:
    """About ``n_chars`` characters of a play: speeches of one to four lines under a speaker's
    name, with a bracketed stage direction every ten speeches or so."""
    gen = np.random.default_rng(seed)
    words = vocabulary(n_words, gen)
    weights = 1.0 / (np.arange(n_words) + 2.7)
    cumulative = np.cumsum(weights) / weights.sum()
    cast = [name.upper() for name in vocabulary(len(COMMON) + 12, gen)[len(COMMON):]]
    lines, length = [], 0
    while length < n_chars:
        speaker = cast[gen.integers(len(cast))]
        direction = [f"[{gen.choice(STAGE)} {speaker.capitalize()}.]"] if gen.random() < 0.1 else []
        speech = direction + [speaker + "."] + [sentence(words, cumulative, gen)
                                                for _ in range(gen.integers(1, 5))] + [""]
        lines += speech
        length += sum(len(line) + 1 for line in speech)
    return "\n".join(lines)


def write_play(path: Path, n_chars: int = 1_000_000, seed: int = 0) -> Path:
    """Write ``play_text(n_chars)`` to ``path`` (UTF-8) and return the path."""
    path.write_text(play_text(n_chars, seed=seed), encoding="utf-8")
    return path
