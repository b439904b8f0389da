"""Tokenizers and vocabularies (word- and character-level) shared by the labs."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from nltk.tokenize import TreebankWordTokenizer
from nltk.tokenize.treebank import TreebankWordDetokenizer

_TOKENIZER = TreebankWordTokenizer()
_DETOKENIZER = TreebankWordDetokenizer()


def tokenize(text: str, lower: bool = True) -> list[str]:
    """Split text into word tokens with NLTK's Treebank rules (no data download needed).

    'A red circle, left of a box.' -> ['a', 'red', 'circle', ',', 'left', 'of', 'a', 'box', '.']
    """
    if not isinstance(text, str):
        raise TypeError(f"tokenize expects a string, got {type(text).__name__}")
    return _TOKENIZER.tokenize(text.lower() if lower else text)


def detokenize(tokens: Sequence[str]) -> str:
    """Word tokens (T,) -> readable text, undoing the Treebank splits of ``tokenize``.

    ['i', 'do', "n't", 'know', ',', 'friend', '.'] -> "i don't know, friend."
    """
    if isinstance(tokens, str):
        raise TypeError("detokenize expects a sequence of tokens, got a string: split it first")
    return _DETOKENIZER.detokenize(list(tokens))


class Vocabulary:
    """A two-way map between tokens and integer ids.

    Ids 0..len(specials)-1 are the special tokens in the order the caller gave them; the other
    tokens follow by decreasing count (ties in alphabetical order), so building is deterministic.
    """

    def __init__(self, tokens: Sequence[str], unk_token: str | None = None,
                 specials: Sequence[str] = ()):
        if len(set(tokens)) != len(tokens):
            raise ValueError("a vocabulary cannot list the same token twice")
        if unk_token is not None and unk_token not in tokens:
            raise ValueError(f"the unknown token {unk_token!r} must be one of the tokens")
        self.itos = list(tokens)
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        self.unk_token = unk_token
        self.specials = list(specials)

    @classmethod
    def build(
        cls,
        token_lists: Iterable[Sequence[str]],
        max_size: int | None = None,
        min_count: int = 1,
        specials: Sequence[str] = (),
        unk_token: str | None = None,
    ) -> Vocabulary:
        """Count tokens and keep the most frequent ones.

        token_lists: an iterable of token sequences (e.g. tokenized captions)
        max_size:    at most this many tokens in all, specials included (None: no cap)
        min_count:   drop tokens seen fewer times than this (a count threshold)
        specials:    tokens placed first, e.g. ('<pad>', '<start>', '<end>', '<unk>')
        unk_token:   the special that stands for every unknown token (None: unknown is an error)
        """
        if max_size is not None and max_size <= len(specials):
            raise ValueError(
                f"max_size={max_size} leaves no room for words next to {len(specials)} special "
                "tokens: choose a larger max_size"
            )
        if min_count < 1:
            raise ValueError(f"min_count must be at least 1, got {min_count}")
        if unk_token is not None and unk_token not in specials:
            specials = [*specials, unk_token]
        counts = Counter(t for tokens in token_lists for t in tokens)
        for special in specials:
            counts.pop(special, None)
        words = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
        if not words:
            raise ValueError("no token reaches min_count: is the text empty?")
        if max_size is not None:
            words = words[: max_size - len(specials)]
        vocab = cls([*specials, *words], unk_token=unk_token, specials=specials)
        vocab.counts = {t: counts[t] for t in words}
        return vocab

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        """The id of a token (the unknown token's id if it has one)."""
        if token in self.stoi:
            return self.stoi[token]
        if self.unk_token is not None:
            return self.stoi[self.unk_token]
        raise KeyError(
            f"{token!r} is not in the vocabulary and it has no unknown token: "
            "build it with unk_token='<unk>' or use a word from the training text"
        )

    def token(self, index: int) -> str:
        """The token with this id."""
        if not 0 <= index < len(self.itos):
            raise IndexError(f"id {index} is outside the vocabulary (size {len(self.itos)})")
        return self.itos[index]

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """tokens (T,) -> ids (T,)"""
        return [self[t] for t in tokens]

    def decode(self, ids: Iterable[int], stop_token: str | None = None,
               skip_specials: bool = True) -> list[str]:
        """ids (T,) -> tokens, stopping before stop_token and leaving out specials if asked."""
        tokens = []
        for i in ids:
            token = self.token(int(i))
            if token == stop_token:
                break
            if skip_specials and token in self.specials:
                continue
            tokens.append(token)
        return tokens

    def save(self, path: str | Path) -> None:
        """Write the vocabulary as JSON (tokens in id order, the unknown token, the specials)."""
        data = {"tokens": self.itos, "unk_token": self.unk_token, "specials": self.specials}
        Path(path).write_text(json.dumps(data, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        """Read a vocabulary written by ``save``."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: save a vocabulary there first")
        data = json.loads(path.read_text(encoding="utf-8"))
        missing = {"tokens", "unk_token", "specials"} - set(data)
        if missing:
            raise ValueError(f"{path} is not a saved Vocabulary: missing {sorted(missing)}")
        return cls(data["tokens"], unk_token=data["unk_token"], specials=data["specials"])


def char_vocabulary(texts: Iterable[str], specials: Sequence[str] = ()) -> Vocabulary:
    """A Vocabulary of every character in the texts (sorted), after the given special symbols.

    Specials must not occur in the texts (e.g. '\\x02' start, '\\x03' end), or they would be ambiguous.
    """
    chars = set()
    for text in texts:
        chars.update(text)
    clash = chars.intersection(specials)
    if clash:
        raise ValueError(
            f"special symbols {sorted(clash)!r} also occur in the text: pick symbols that cannot "
            "appear in it (e.g. control characters)"
        )
    if not chars:
        raise ValueError("no characters found: the texts are empty")
    return Vocabulary([*specials, *sorted(chars)], specials=specials)
