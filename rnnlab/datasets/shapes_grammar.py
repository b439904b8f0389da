"""The small English grammar of the shapes captions: writing captions and reading them back.

A scene is a dict ``{"objects": [{"shape", "colour", "size", "row", "col"}, ...]}`` with 1-3
objects on a 3x3 grid (row 0 is the top, col 0 the left). A caption is read back into claims:
noun phrases (shape, colour and optionally size), a position for a single object, relations
between two objects and an optional object count. ``describes_scene`` decides whether those
claims are exactly true of a scene.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

SHAPES = ("circle", "square", "triangle")
COLOURS = ("red", "green", "blue", "yellow", "purple")
SIZES = ("small", "large")

# Surface words for each canonical word; the first is the canonical one.
SYNONYMS = {
    "circle": ("circle", "disc"),
    "square": ("square", "box"),
    "triangle": ("triangle",),
    "small": ("small", "little", "tiny"),
    "large": ("large", "big"),
}
RELATION_PHRASES = {
    "left": ("to the left of", "left of"),
    "right": ("to the right of", "right of"),
    "above": ("above", "over"),
    "below": ("below", "under", "beneath"),
}
POSITION_PHRASES = {
    ("top", None): ("at the top",),
    ("bottom", None): ("at the bottom",),
    (None, "left"): ("on the left",),
    (None, "right"): ("on the right",),
    ("middle", "middle"): ("in the middle", "in the centre"),
    ("top", "left"): ("in the top left corner",),
    ("top", "right"): ("in the top right corner",),
    ("bottom", "left"): ("in the bottom left corner",),
    ("bottom", "right"): ("in the bottom right corner",),
}
COUNT_WORDS = {"two": 2, "three": 3}
PREFIXES = ("there is", "a picture of", "an image of", "an image showing")
SUFFIX = "on a white background"
ROW_NAMES = ("top", "middle", "bottom")
COL_NAMES = ("left", "middle", "right")


@dataclass
class Claims:
    """What a caption says: noun phrases, relations (i, rel, j), positions (i, (row, col)), count."""

    phrases: list[dict] = field(default_factory=list)
    relations: list[tuple[int, str, int]] = field(default_factory=list)
    positions: list[tuple[int, tuple]] = field(default_factory=list)
    count: int | None = None


# ---------------------------------------------------------------- writing


def _article(next_word: str) -> str:
    return "an" if next_word[0] in "aeiou" else "a"


def noun_phrase(obj: dict, wording: dict[str, str], with_size: bool) -> str:
    """'a small red circle' for one scene object; wording maps canonical words to the surface
    word this caption uses (one synonym per caption, so 'circle' and 'disc' never mix)."""
    words = [wording[obj["size"]]] if with_size else []
    words += [obj["colour"], wording[obj["shape"]]]
    return f"{_article(words[0])} {' '.join(words)}"


def true_relations(a: dict, b: dict) -> list[str]:
    """Every relation word r such that 'a r b' is true."""
    rels = []
    if a["col"] < b["col"]:
        rels.append("left")
    if a["col"] > b["col"]:
        rels.append("right")
    if a["row"] < b["row"]:
        rels.append("above")
    if a["row"] > b["row"]:
        rels.append("below")
    return rels


def true_positions(obj: dict) -> list[tuple]:
    """Every (row, col) position key of POSITION_PHRASES that is true of the object."""
    row, col = ROW_NAMES[obj["row"]], COL_NAMES[obj["col"]]
    return [key for key in POSITION_PHRASES if key[0] in (row, None) and key[1] in (col, None)]


def _join(phrases: list[str]) -> str:
    if len(phrases) == 1:
        return phrases[0]
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def write_caption(scene: dict, rng) -> str:
    """One random true caption of the scene, e.g. 'A big red circle to the left of a blue box.'

    rng: a numpy Generator; every choice (frame, synonyms, order) comes from it.
    """
    objects = list(scene["objects"])
    order = rng.permutation(len(objects))
    objects = [objects[i] for i in order]
    with_size = bool(rng.random() < 0.6)
    wording = {word: str(rng.choice(surface)) for word, surface in SYNONYMS.items()}
    nps = [noun_phrase(o, wording, with_size) for o in objects]
    n = len(objects)
    frame = rng.integers(4)
    if n == 1:
        positions = true_positions(objects[0])
        body = nps[0]
        if frame in (1, 2) and positions:
            key = positions[rng.integers(len(positions))]
            body += " " + rng.choice(POSITION_PHRASES[key])
        if frame == 2:
            body = "there is " + body
        elif frame == 3:
            body = rng.choice(("a picture of ", "an image of ", "an image showing ")) + body
    else:
        rels = true_relations(objects[0], objects[1])
        if frame in (0, 1) and rels:
            rel = rels[rng.integers(len(rels))]
            verb = " is " if frame == 1 and n == 2 else " "
            body = nps[0] + verb + rng.choice(RELATION_PHRASES[rel]) + " " + nps[1]
            if n == 3:
                body += " and " + nps[2]
        else:
            body = _join(nps)
        if frame == 2:
            body = ("two shapes, " if n == 2 else "three shapes, ") + body
        elif frame == 3:
            body = "a picture of " + body
    if rng.random() < 0.2:
        body += " " + SUFFIX
    text = body[0].upper() + body[1:]
    return text + "." if rng.random() < 0.8 else text


# ---------------------------------------------------------------- reading


def _canonical_tokens(caption: str) -> list[str]:
    """Lower-case word tokens with a full stop and stray spaces removed; commas kept as ','."""
    text = caption.strip().lower().rstrip(".").replace(",", " , ")
    return text.split()


def _match(tokens: list[str], pos: int, phrase: str) -> int | None:
    words = phrase.split()
    return pos + len(words) if tokens[pos : pos + len(words)] == words else None


def _canonical_word(word: str, kind: tuple[str, ...]) -> str | None:
    for canonical in kind:
        if word in SYNONYMS.get(canonical, (canonical,)):
            return canonical
    return None


def _parse_np(tokens: list[str], pos: int):
    """'a [size] colour shape' at tokens[pos:] -> (phrase dict, next position) or None."""
    if tokens[pos : pos + 1] not in (["a"], ["an"]):
        return None
    article, pos = tokens[pos], pos + 1
    first_word = tokens[pos] if pos < len(tokens) else ""
    size = _canonical_word(first_word, SIZES)
    if size:
        pos += 1
    colour = tokens[pos] if pos < len(tokens) and tokens[pos] in COLOURS else None
    shape = _canonical_word(tokens[pos + 1], SHAPES) if pos + 1 < len(tokens) else None
    if colour is None or shape is None or article != _article(first_word):
        return None
    return {"shape": shape, "colour": colour, "size": size}, pos + 2


def _parse_phrase_table(tokens: list[str], pos: int, table: dict):
    """The key of the first phrase in the table that starts at tokens[pos] -> (key, end) or None."""
    for key, phrases in table.items():
        for phrase in phrases:
            end = _match(tokens, pos, phrase)
            if end is not None:
                return key, end
    return None


def _parse_prefix(tokens: list[str], claims: Claims) -> int:
    """Skip an opening such as 'there is' or 'three shapes ,' (recording the count)."""
    for word, number in COUNT_WORDS.items():
        end = _match(tokens, 0, f"{word} shapes ,")
        if end is not None:
            claims.count = number
            return end
    for prefix in PREFIXES:
        end = _match(tokens, 0, prefix)
        if end is not None:
            return end
    return 0


def parse_caption(caption: str) -> Claims | None:
    """Read a caption under the shapes grammar; None if it is not a well-formed shapes caption.

    Grammar: [prefix] NP ([is] RELATION NP | POSITION)? ((',' | 'and') NP)* [suffix] ['.']
    """
    tokens = _canonical_tokens(caption)
    claims = Claims()
    pos = _parse_prefix(tokens, claims)
    parsed = _parse_np(tokens, pos)
    if parsed is None:
        return None
    claims.phrases.append(parsed[0])
    pos = parsed[1]
    relation = _parse_phrase_table(tokens, pos + (tokens[pos : pos + 1] == ["is"]), RELATION_PHRASES)
    position = _parse_phrase_table(tokens, pos, POSITION_PHRASES)
    if relation is not None:
        parsed = _parse_np(tokens, relation[1])
        if parsed is None:
            return None
        claims.phrases.append(parsed[0])
        claims.relations.append((0, relation[0], 1))
        pos = parsed[1]
    elif position is not None:
        claims.positions.append((0, position[0]))
        pos = position[1]
    while tokens[pos : pos + 1] in ([","], ["and"]):
        parsed = _parse_np(tokens, pos + 1)
        if parsed is None:
            return None
        claims.phrases.append(parsed[0])
        pos = parsed[1]
    end = _match(tokens, pos, SUFFIX)
    pos = pos if end is None else end
    if pos != len(tokens) or len(claims.phrases) > 3:
        return None
    if claims.positions and len(claims.phrases) > 1:
        return None
    return claims


def _phrase_fits(phrase: dict, obj: dict) -> bool:
    return all(phrase[k] in (None, obj[k]) for k in ("shape", "colour", "size"))


def describes_scene(claims: Claims, scene: dict) -> bool:
    """True when the claims name every object of the scene exactly once and all of them hold."""
    objects = scene["objects"]
    if len(claims.phrases) != len(objects):
        return False
    if claims.count is not None and claims.count != len(objects):
        return False
    for assignment in itertools.permutations(objects):
        if not all(_phrase_fits(p, o) for p, o in zip(claims.phrases, assignment)):
            continue
        if not all(r in true_relations(assignment[i], assignment[j]) for i, r, j in claims.relations):
            continue
        if all(key in true_positions(assignment[i]) for i, key in claims.positions):
            return True
    return False
