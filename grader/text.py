"""Text from submissions, made safe to print in a terminal and to open in a spreadsheet.

Every string the grader prints or writes (the CLI's table and warnings, every CSV) goes through
``terminal_safe``: control characters (C0, DEL, C1: ESC starts every ANSI escape sequence, BEL
ends a window-title change), and the bidirectional overrides and isolates that reorder what a
reader sees (U+202A-202E, U+2066-2069, U+200E/200F, U+061C), are written as readable escapes such
as ``\\x1b`` and ``\\u202e``. Nothing else changes; a backslash stays a backslash.

Every CSV goes through ``write_rows``, whose cells get, after that, ``spreadsheet_safe``: a text
cell a spreadsheet would read as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return; OWASP, "CSV Injection") gets a leading ``'``, as does a text cell that already
starts with one, so that ``read_rows`` gives back the text exactly by taking one leading ``'``
off. A number (an int or float, or text that is a plain number like ``-2.5``) stays a number.
A spreadsheet shows such a cell as the text itself and keeps the ``'`` out of what it saves.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from pathlib import Path

BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{BIDI}]")
UNSAFE_KEEPING_LINES = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{BIDI}]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
QUOTE = "'"


NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match) -> str:
    char = match.group()
    if char in NAMED:
        return NAMED[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def terminal_safe(text: str, lines: bool = False) -> str:
    """``text`` with every control and bidi character written as an escape (``\\x1b``);
    lines=True keeps newlines and tabs (a multi-line answer in a CSV cell)."""
    return (UNSAFE_KEEPING_LINES if lines else UNSAFE).sub(_escape, str(text))


def spreadsheet_safe(value):
    """A CSV cell a spreadsheet will not run: text starting like a formula (or with ``'``) gets
    a leading ``'``; numbers, and text that is a plain number, are left alone."""
    if not isinstance(value, str) or NUMBER.fullmatch(value):
        return value
    return QUOTE + value if value.startswith((*FORMULA_START, QUOTE)) else value


def restored(value: str) -> str:
    """A cell as written before ``spreadsheet_safe``: one leading ``'`` taken off."""
    return value[1:] if value.startswith(QUOTE) else value


def safe_cell(value, lines: bool = False):
    """One CSV cell as every writer of the course writes it: terminal- and spreadsheet-safe."""
    if isinstance(value, str):
        value = terminal_safe(value, lines)
    return spreadsheet_safe(value)


def write_rows(path: Path, header: list[str], rows: Iterable[Iterable], lines: tuple[str, ...] = (),
               encoding: str | None = None) -> Path:
    """Write a CSV (header, then rows), every cell through ``safe_cell``; the columns named in
    ``lines`` keep their newlines and tabs (multi-line text)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    keep = [name in lines for name in header]
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle)
        writer.writerow([safe_cell(name) for name in header])
        for row in rows:
            writer.writerow([safe_cell(value, keep[i] if i < len(keep) else False)
                             for i, value in enumerate(row)])
    return path


def read_rows(handle) -> tuple[list[str], list[dict[str, str]]]:
    """(the header, the rows as dicts) of a CSV written by ``write_rows`` (an open file), each
    cell with its protective ``'`` taken off."""
    reader = csv.DictReader(handle)
    header = [restored(name) for name in reader.fieldnames or []]
    reader.fieldnames = header
    return header, [{key: restored(value) if isinstance(value, str) else value
                     for key, value in row.items()} for row in reader]
