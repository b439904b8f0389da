"""Text corpora: the course's own lyrics and any UTF-8 text file a student points at."""

from __future__ import annotations

from pathlib import Path

from rnnlab.runtime import shipped_data_dir


def read_text(path: str | Path, encoding: str = "utf-8") -> str:
    """The whole text of a file, with a clear error for a missing, undecodable or empty file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: give the path of a plain text file")
    raw = path.read_bytes()
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{path} is not valid {encoding} text (byte {err.start}: {raw[err.start:err.start + 1]!r}); "
            "save it as UTF-8 or pass encoding='latin-1' (or the file's real encoding)"
        ) from None
    if not text.strip():
        raise ValueError(f"{path} is empty: a language model needs some text to learn from")
    return text


def lyrics_files() -> list[Path]:
    """The song files of the course lyrics corpus (data/lyrics/*.txt, LICENSE excluded), sorted."""
    folder = shipped_data_dir() / "lyrics"
    files = sorted(p for p in folder.glob("*.txt") if p.name != "LICENSE.txt")
    if not files:
        raise FileNotFoundError(f"no lyrics in {folder}: is this a complete checkout?")
    return files


def load_lyrics() -> str:
    """All course songs as one text, songs separated by a blank line."""
    return "\n\n".join(read_text(p).strip() for p in lyrics_files()) + "\n"
