"""Similarity report: which students' answers of a lab look alike, for a person to look at.

``python -m grader similarity --lab L [--source DIR] [--top N]`` reads every student's notebooks
of lab L (DIR holds ``<student>/<lab>/<nb>.ipynb``; default course_work/submitted/, filled by
``python -m grader grade``) and writes course_work/similarity/<lab>.html, the N most similar pairs
with their matching lines side by side, and <lab>.csv, every pair's score, for a spreadsheet. It
reads submissions only: no score, gradebook or grades.csv is touched.

What is compared: each answer cell (nbgrader ``solution: true``, code or written answer), found by
its grade_id, against the same cell of every other student. Lines that the released notebook
already has in that cell (the def line, docstring, ``# YOUR CODE HERE``, ``YOUR ANSWER HERE``...)
are removed first, so a cell left as released holds nothing and two blank submissions share nothing.

Method: k-gram fingerprinting, as in MOSS (Schleimer, Wilkerson and Aiken, "Winnowing: local
algorithms for document fingerprinting", SIGMOD 2003), with every k-gram kept (winnowing window
1: cells are small, and keeping all k-grams finds every shared run of k tokens). Code is split
into tokens; comments and layout are dropped, and every name the student chose (their variables
and functions) becomes ``V``, while keywords, builtins, attribute names (``np.tanh``, ``.T``) and
the names in the released cell's code (its parameters, its return line) stay: renaming cannot
change them, and keeping them stops ``dx = da @ Wx.T`` and ``dprev_h = da @ Wh.T`` from looking
alike. Written answers become lower-case word sequences (markdown and punctuation dropped). Tokens
that form a run of k found in the released cell (a given line re-typed or re-spaced) are removed
like given lines. A run of K_CODE tokens (K_TEXT words) found in both answers is a match, unless
most of the class wrote it (at least COMMON_MIN students and more than half of those who answered
the cell: the natural way to write it, as with MOSS's ``-m``).

Score: the share of the two answers' tokens that lie in a match, over the cells of the lab
(matched tokens of both students / all their answer tokens), from 0 (nothing shared) to 1 (the
same answers up to renaming, comments and layout); each cell gets the same share on its own.
Reordering lines or rewording only breaks the k-grams that span the change.

Limits: a high score flags a pair for a person to read, it proves nothing: short exercises with
one natural answer, a shared study group or the same tutorial give honest pairs matches, and a
determined copier who restructures code is missed. A cell with fewer than K tokens never matches.

Why not copydetect (PyPI 0.5.0, a maintained winnowing library): its normaliser turns every name,
attributes and library functions included, into ``V``, so ``np.zeros(n)`` and ``np.ones(n)``, or
``dx = da @ Wx.T`` and ``dprev_h = da @ Wh.T``, become the same string and honest numpy answers
look alike; it fingerprints characters of a whitespace-free string and maps matches back to the
source through an offset table, where this report needs lines; it has no word-level comparison for
written answers and no discount for passages most of the class shares; and importing it loads
matplotlib and jinja2 for its own report. The method here is the same idea over tokens that keep
their line numbers, in the standard library only.
"""

from __future__ import annotations

import builtins
import html
import io
import keyword
import os
import re
import tokenize
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from itertools import combinations
from pathlib import Path

import nbformat

from ..collect import MIB, STUDENT_ID, read_notebook, shown
from ..course import Course
from ..text import write_rows

K_CODE = 10  # tokens in a code k-gram (about one line of numpy)
K_TEXT = 5  # words in a written-answer k-gram
COMMON_MIN = 3  # fewest students who must share a k-gram for it to be the class's common answer
CSV_COLUMNS = ["student_a", "student_b", "score", "cells"]
CODE_TOKEN = re.compile(r"""'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"|#.*|[A-Za-z_]\w*|\d[\w.]*|\S""")
WORD = re.compile(r"\w+")
NAME = re.compile(r"[A-Za-z_]\w*")
KEPT_NAMES = frozenset(keyword.kwlist) | frozenset(dir(builtins))


@dataclass(frozen=True)
class Cell:
    """An answer cell of the released notebook: where it is and the lines it is released with."""

    notebook: str  # file name, e.g. captioning_rnn_numpy.ipynb
    grade_id: str
    label: str  # how the report names it: the grade_id, with the notebook if the lab has several
    is_code: bool
    released: str  # the cell's source in the released notebook

    @cached_property
    def given(self) -> frozenset[str]:
        """The released cell's lines, stripped: a student's line equal to one of them is given."""
        return frozenset(line.strip() for line in self.released.splitlines())

    @cached_property
    def kept_names(self) -> frozenset[str]:
        """Names a student does not choose: keywords, builtins and the names in the released
        cell's code (its parameters, the names its return line uses; not its docstring)."""
        if not self.is_code:
            return KEPT_NAMES
        try:
            tokens = tokenize.generate_tokens(io.StringIO(self.released).readline)
            found = {token.string for token in tokens if token.type == tokenize.NAME}
        except (tokenize.TokenError, SyntaxError):  # not plain Python (e.g. a cell magic)
            found = set()
        return KEPT_NAMES | found

    @property
    def k(self) -> int:
        return K_CODE if self.is_code else K_TEXT

    @cached_property
    def given_grams(self) -> frozenset[tuple[str, ...]]:
        """k-grams of the released cell: a given line re-typed or re-formatted is still given."""
        return frozenset(kgrams(to_tokens(self.released.splitlines(), self)[0], self.k))


@dataclass(frozen=True)
class Answer:
    """One student's answer to one cell, given lines removed.

    lines:  the student's own lines, as written
    tokens: normalised tokens (code) or words (written), in order
    where:  for each token, the index in ``lines`` of its line
    grams:  k-gram -> start positions in ``tokens``
    """

    lines: tuple[str, ...]
    tokens: tuple[str, ...]
    where: tuple[int, ...]
    grams: dict[tuple[str, ...], list[int]]


@dataclass(frozen=True)
class CellMatch:
    """How much of two answers to one cell match, and which of their lines."""

    cell: Cell
    matched: int  # matched tokens, both answers together
    total: int  # tokens of both answers
    lines_a: frozenset[int]
    lines_b: frozenset[int]

    @property
    def score(self) -> float:
        return self.matched / self.total if self.total else 0.0


@dataclass(frozen=True)
class Pair:
    """Two students, their overall score and the cells in which they match."""

    student_a: str
    student_b: str
    score: float
    cells: list[CellMatch]


def answer_cells(course: Course, lab: str) -> list[Cell]:
    """The answer cells of the lab's released notebooks, in notebook order."""
    notebooks = [course.release_dir / lab / path.name for path in course.notebooks(lab)]
    cells = []
    for path in notebooks:
        if not path.is_file():
            raise ValueError(f"{path} is missing: run `python -m grader release --lab {lab}` first")
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution") and meta.get("grade_id"):
                label = meta["grade_id"] if len(notebooks) == 1 else f"{path.stem}/{meta['grade_id']}"
                cells.append(Cell(path.name, meta["grade_id"], label, cell.cell_type == "code",
                                  cell.source))
    if not cells:
        raise ValueError(f"{lab} has no answer cells (nbgrader solution cells) to compare")
    return cells


def to_tokens(lines: list[str], cell: Cell) -> tuple[list[str], list[int]]:
    """(tokens, the line index of each): code normalised (comments dropped, names the student
    chose -> V), written answers as lower-case words."""
    tokens, where = [], []
    for index, line in enumerate(lines):
        found = CODE_TOKEN.findall(line) if cell.is_code else WORD.findall(line.lower())
        for position, token in enumerate(found):
            if token.startswith("#"):
                continue
            attribute = position > 0 and found[position - 1] == "."
            if cell.is_code and NAME.fullmatch(token) and token not in cell.kept_names and not attribute:
                token = "V"
            tokens.append(token)
            where.append(index)
    return tokens, where


def kgrams(tokens: list[str], k: int) -> dict[tuple[str, ...], list[int]]:
    """Every run of k tokens -> the positions where it starts."""
    grams: dict[tuple[str, ...], list[int]] = {}
    for start in range(len(tokens) - k + 1):
        grams.setdefault(tuple(tokens[start:start + k]), []).append(start)
    return grams


def extract(source: str, cell: Cell) -> Answer:
    """A student's answer to ``cell``: the released cell's lines, blank lines and the tokens of
    re-typed given code (runs of k tokens found in the released cell) removed."""
    lines = [line.rstrip() for line in source.splitlines()
             if line.strip() and line.strip() not in cell.given]
    tokens, where = to_tokens(lines, cell)
    given = {start + i for gram, starts in kgrams(tokens, cell.k).items() if gram in cell.given_grams
             for start in starts for i in range(cell.k)}
    kept = [i for i in range(len(tokens)) if i not in given]
    tokens, where = [tokens[i] for i in kept], [where[i] for i in kept]
    return Answer(tuple(lines), tuple(tokens), tuple(where), kgrams(tokens, cell.k))


def read_answers(course: Course, lab: str, source: Path,
                 cells: list[Cell]) -> tuple[dict[str, dict[Cell, Answer]], list[str]]:
    """Every student's answers to ``cells`` from ``source``/<student>/<lab>/, and a note for each
    folder or notebook that could not be read (links are not followed)."""
    answers, skipped = {}, []
    limit = course.grading["unzip_mb"] * MIB
    for name in sorted(os.listdir(source)):
        folder = source / name / lab
        if name.startswith(".") or not (source / name).is_dir() or not folder.is_dir():
            continue
        if not STUDENT_ID.fullmatch(name) or (source / name).is_symlink() or folder.is_symlink():
            skipped.append(f"{shown(name)}: not a student folder (a link or an odd name)")
            continue
        mine = {}
        for notebook in sorted({cell.notebook for cell in cells}):
            if not os.path.lexists(folder / notebook):
                continue
            nb, reason = read_notebook(folder / notebook, limit)
            if reason:
                skipped.append(f"{name}/{lab}/{notebook}: {reason}")
                continue
            sources = _sources_by_grade_id(nb)
            mine |= {cell: extract(sources.get(cell.grade_id, ""), cell)
                     for cell in cells if cell.notebook == notebook}
        if mine:
            answers[name] = mine
    return answers, skipped


def _sources_by_grade_id(nb) -> dict[str, str]:
    """grade_id -> source of the first cell carrying it (a copy-pasted duplicate is ignored)."""
    sources = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader")
        if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str):
            sources.setdefault(meta["grade_id"], cell.get("source", ""))
    return sources


def common_grams(cell: Cell, answers: dict[str, dict[Cell, Answer]]) -> set[tuple[str, ...]]:
    """k-grams that most of the class wrote: the natural way to write the cell, not evidence."""
    holders: dict[tuple[str, ...], int] = {}
    answered = 0
    for mine in answers.values():
        if cell in mine and mine[cell].tokens:
            answered += 1
            for gram in mine[cell].grams:
                holders[gram] = holders.get(gram, 0) + 1
    return {gram for gram, count in holders.items() if count >= COMMON_MIN and count > answered / 2}


def compare(cell: Cell, a: Answer, b: Answer, ignored: set[tuple[str, ...]]) -> CellMatch:
    """The tokens and lines of ``a`` and ``b`` covered by k-grams found in both."""
    shared = (a.grams.keys() & b.grams.keys()) - ignored
    if not shared:
        return CellMatch(cell, 0, len(a.tokens) + len(b.tokens), frozenset(), frozenset())
    k = cell.k
    covered_a = {start + i for gram in shared for start in a.grams[gram] for i in range(k)}
    covered_b = {start + i for gram in shared for start in b.grams[gram] for i in range(k)}
    return CellMatch(cell, len(covered_a) + len(covered_b), len(a.tokens) + len(b.tokens),
                     marked_lines(a, covered_a), marked_lines(b, covered_b))


def marked_lines(answer: Answer, covered: set[int]) -> frozenset[int]:
    """The lines at least half of whose tokens are covered by a match."""
    on_line = Counter(answer.where)
    matched = Counter(answer.where[i] for i in covered)
    return frozenset(line for line, count in matched.items() if 2 * count >= on_line[line])


def score_pairs(cells: list[Cell], answers: dict[str, dict[Cell, Answer]]) -> list[Pair]:
    """Every pair of students, most similar first (ties by name)."""
    ignored = {cell: common_grams(cell, answers) for cell in cells}
    empty = Answer((), (), (), {})
    pairs = []
    for student_a, student_b in combinations(sorted(answers), 2):
        matches = [compare(cell, answers[student_a].get(cell, empty),
                           answers[student_b].get(cell, empty), ignored[cell]) for cell in cells]
        total = sum(match.total for match in matches)
        score = sum(match.matched for match in matches) / total if total else 0.0
        matched = sorted((match for match in matches if match.matched), key=lambda m: -m.score)
        pairs.append(Pair(student_a, student_b, score, matched))
    pairs.sort(key=lambda pair: (-pair.score, pair.student_a, pair.student_b))
    return pairs


def similarity_report(course: Course, lab: str, source: Path | None = None, out: Path | None = None,
                      top: int = 20) -> Path:
    """Compare every pair of students' answers to ``lab`` and write the report.

    source: folder of <student>/<lab>/<nb>.ipynb (default course_work/submitted/)
    out:    the HTML file (default course_work/similarity/<lab>.html); the CSV of every pair's
            score is written next to it, with the suffix .csv
    top:    how many pairs the HTML shows, most similar first
    returns: the path of the HTML file
    """
    if top < 1:
        raise ValueError(f"--top must be at least 1, got {top}")
    cells = answer_cells(course, lab)
    source = Path(source) if source else course.work_dir / "submitted"
    if not source.is_dir():
        raise ValueError(f"no folder {source}: run `python -m grader grade` first, or pass --source "
                         "DIR holding <student>/<lab>/<notebook>.ipynb")
    answers, skipped = read_answers(course, lab, source, cells)
    if len(answers) < 2:
        raise ValueError(f"{len(answers)} submission(s) of {lab} found in {source}: at least two "
                         "students' <student>/<lab>/<notebook>.ipynb are needed to compare")
    pairs = score_pairs(cells, answers)
    out = Path(out) if out else course.work_dir / "similarity" / f"{lab}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_csv(out.with_suffix(".csv"), pairs)
    shown_pairs = [pair for pair in pairs[:top] if pair.score > 0]
    out.write_text(render(lab, shown_pairs, answers, skipped, len(pairs)), encoding="utf-8")
    return out


def write_csv(path: Path, pairs: list[Pair]) -> Path:
    """student_a, student_b, score (0-1, 3 decimals), cells ('label 0.93; ...', best first)."""
    def cells(pair: Pair) -> str:
        return "; ".join(f"{match.cell.label} {match.score:.2f}" for match in pair.cells)

    return write_rows(path, CSV_COLUMNS, ([pair.student_a, pair.student_b, f"{pair.score:.3f}",
                                           cells(pair)] for pair in pairs), encoding="utf-8")


def render(lab: str, pairs: list[Pair], answers: dict[str, dict[Cell, Answer]], skipped: list[str],
           compared: int) -> str:
    """The report page: plain HTML, no script, every student text escaped."""
    body = "\n".join(_render_pair(rank, pair, answers) for rank, pair in enumerate(pairs, start=1))
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in skipped)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Similarity: {html.escape(lab)}</title>
<style>body{{font-family:sans-serif;margin:1em}} table{{border-collapse:collapse;width:100%;
table-layout:fixed}} td{{vertical-align:top;border:1px solid #ccc;padding:.3em}}
pre{{white-space:pre-wrap;margin:0}} mark{{background:#fd6}}</style></head><body>
<h1>Similarity of answers: {html.escape(lab)}</h1>
<p>{len(answers)} students, {compared} pairs compared; below, the {len(pairs)} most similar that
share any passage (every pair's score is in the CSV next to this page). Score:
the share of the two students' answer tokens (given code removed) that lies in a passage both
wrote; marked lines hold such a passage. A high score is a reason to read the answers, not proof of
copying. Scores are unchanged by this report.</p>
{body}
{f"<h2>Not compared</h2><ul>{notes}</ul>" if notes else ""}
</body></html>
"""


def _render_pair(rank: int, pair: Pair, answers: dict[str, dict[Cell, Answer]]) -> str:
    """One pair: its score, then each matching cell's two answers side by side."""
    a, b = html.escape(pair.student_a), html.escape(pair.student_b)
    rows = "\n".join(
        f"<tr><td colspan=2><b>{html.escape(match.cell.label)}</b>: {match.score:.0%}</td></tr>"
        f"<tr><td>{_marked(answers[pair.student_a][match.cell], match.lines_a)}</td>"
        f"<td>{_marked(answers[pair.student_b][match.cell], match.lines_b)}</td></tr>"
        for match in pair.cells)
    table = f"<table><tr><th>{a}</th><th>{b}</th></tr>\n{rows}</table>" if rows else ""
    return f"<h2>{rank}. {a} and {b}: {pair.score:.0%}</h2>\n{table}"


def _marked(answer: Answer, lines: frozenset[int]) -> str:
    """The answer's lines, escaped, those in a match wrapped in <mark>."""
    shown_lines = [f"<mark>{html.escape(line)}</mark>" if index in lines else html.escape(line)
                   for index, line in enumerate(answer.lines)]
    return "<pre>" + "\n".join(shown_lines) + "</pre>"
