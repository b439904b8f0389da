"""Collect student notebooks into nbgrader's submitted/ folder, checking each one on the way.

Accepted input (a folder, or a .zip of the same tree, possibly inside one top folder):
  <student>/<lab>/<notebook>.ipynb
Nothing in the input is trusted: links, named pipes and devices are never followed or opened,
only reported; a zip entry that is unsafe (`..`, an absolute path, a name part over 255 bytes, a
link, a duplicate) is skipped with a reason, and extraction stops at course.toml's `unzip_mb`.
A notebook that is not valid JSON or not a valid notebook is reported as 'invalid' with the
parser's message. Two accidents are repaired, with a note: a cell whose grading metadata is
broken (`"nbgrader": null`) and a graded cell duplicated by copy-paste (the copy is ungraded).
Every problem ends as a row of grades.csv; nothing is dropped silently. A `timestamp.txt` next
to the notebooks (the submission time, grader/late.py) is carried over, in UTC.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .course import Course
from .late import read_timestamp, timestamp_text

STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
NAME_MAX = 255  # bytes in one path component (Linux)
MIB = 2**20
TIMESTAMP = "timestamp.txt"  # the submission time, next to the notebook (grader/late.py)


@dataclass(frozen=True)
class Problem:
    """A submission (or part of one) that cannot be graded, with a reason a person can act on."""

    student: str
    lab: str
    status: str
    reason: str


@dataclass(frozen=True)
class Collected:
    """What collect() put into submitted/: (student, lab) pairs, the problems it found, and
    notes on what it repaired, per (student, lab)."""

    submissions: list[tuple[str, str]]
    problems: list[Problem]
    notes: dict[tuple[str, str], list[str]] = field(default_factory=dict)


def shown(name: str) -> str:
    """A file name as it can safely appear in a CSV or a page: printable ASCII, at most 80 chars."""
    text = ascii(name)[1:-1]
    return text if len(text) <= 80 else text[:77] + "..."


def _zip_entry_problem(info: zipfile.ZipInfo, seen: set[str]) -> str | None:
    """Why a zip entry must be skipped, or None."""
    name = info.filename
    parts = [part for part in name.split("/") if part]
    if name.startswith("/") or re.match(r"[A-Za-z]:", name) or "\\" in name:
        return "absolute or non-portable path"
    if ".." in parts:
        return "path leaves the archive ('..')"
    if any(len(part.encode("utf-8", "surrogateescape")) > NAME_MAX for part in parts):
        return f"a name longer than {NAME_MAX} bytes"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link"
    if name in seen:
        return "a second entry with the same name"
    return None


def unpack(source: Path, scratch: Path, limit_mb: int) -> tuple[Path, list[Problem]]:
    """The folder of student folders: ``source`` itself, or the zip extracted under ``scratch``,
    plus one Problem per zip entry skipped."""
    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(f"submissions not found: {source} (a folder or a .zip)")
    if source.is_dir():
        return source, []
    if not zipfile.is_zipfile(source):
        raise ValueError(f"{source} is neither a folder nor a zip file of student notebooks")
    target, problems, seen, budget = scratch / "unzipped", [], set(), limit_mb * MIB
    target.mkdir()
    with zipfile.ZipFile(source) as archive:
        for info in archive.infolist():
            reason = _zip_entry_problem(info, seen)
            seen.add(info.filename)
            if reason:
                problems.append(Problem(_owner(info.filename), "", "invalid",
                                        f"zip entry '{shown(info.filename)}' skipped: {reason}"))
                continue
            if info.is_dir():
                continue
            budget = _extract(archive, info, target / info.filename, budget)
            if budget < 0:
                problems.append(Problem(_owner(info.filename), "", "invalid", (
                    f"the zip expands beyond {limit_mb} MB (course.toml [grading] unzip_mb): "
                    f"'{shown(info.filename)}' and the entries after it were skipped")))
                break
    return target, problems


def _owner(name: str) -> str:
    """The student a zip entry seems to belong to (its first folder), for the report."""
    parts = [part for part in name.split("/") if part not in ("", ".", "..")]
    return shown(parts[0]) if len(parts) > 1 else "(zip)"


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int) -> int:
    """Copy one entry, counting the bytes really written (a header's size can lie); returns the
    budget left, negative when it ran out (the partial file is removed)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with archive.open(info) as entry, open(target, "xb") as out:
        while chunk := entry.read(MIB):
            budget -= len(chunk)
            if budget < 0:
                break
            out.write(chunk)
    if budget < 0:
        target.unlink()
    return budget


def _kind(path: Path) -> str:
    """'dir', 'file', 'link' or 'other' (named pipe, socket, device), without following links."""
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISDIR(mode):
        return "dir"
    return "file" if stat.S_ISREG(mode) else "other"


def _entries(folder: Path) -> list[tuple[Path, str]]:
    """(path, kind) of a folder's entries, sorted, dot-files and __MACOSX left out."""
    return [(folder / name, _kind(folder / name)) for name in sorted(os.listdir(folder))
            if not name.startswith((".", "__MACOSX"))]


def students_root(tree: Path, labs: set[str]) -> Path:
    """The folder whose subfolders are students: ``tree``, or the single folder an LMS export
    wraps them in (recognised because its grandchildren are not lab names)."""
    folders = [path for path, kind in _entries(tree) if kind == "dir"]
    holds_labs = any(sub.name in labs for folder in folders
                     for sub, kind in _entries(folder) if kind == "dir")
    if len(folders) == 1 and not holds_labs and folders[0].name not in labs:
        return students_root(folders[0], labs)
    return tree


NOT_FOLLOWED = {"link": "a symbolic link, not followed", "other": "not a regular file or folder "
                "(a named pipe, socket or device), not opened"}


def collect(course: Course, source: Path, labs: list[str] | None = None) -> Collected:
    """Copy every valid ``<student>/<lab>/*.ipynb`` of ``source`` into course_work/submitted/."""
    known = set(course.labs())
    wanted = set(labs) if labs else known
    submitted = course.work_dir / "submitted"
    found, notes = [], {}
    with tempfile.TemporaryDirectory() as scratch:
        tree, problems = unpack(source, Path(scratch), course.grading["unzip_mb"])
        for student_dir, kind in _entries(students_root(tree, known)):
            student = student_dir.name
            if kind == "file":
                continue  # an LMS export's index or a stray file at the top: not a submission
            problem = _student_problem(student, kind, known)
            if problem:
                problems.append(Problem(shown(student), "", "invalid", problem))
                continue
            for lab_dir, lab_kind in _entries(student_dir):
                lab = lab_dir.name
                if lab_kind != "dir" or lab not in known:
                    why = NOT_FOLLOWED.get(lab_kind, f"no lab named '{shown(lab)}'")
                    problems.append(Problem(student, shown(lab), "invalid", why))
                    continue
                if lab not in wanted:
                    continue
                problem, repaired = _copy_lab(course, lab_dir, submitted / student / lab)
                if problem:
                    problems.append(Problem(student, lab, "invalid", problem))
                else:
                    found.append((student, lab))
                    notes[(student, lab)] = repaired
    return Collected(found, problems, notes)


def _student_problem(student: str, kind: str, labs: set[str]) -> str | None:
    if kind != "dir":
        return f"the student's entry is {NOT_FOLLOWED[kind]}"
    if not STUDENT_ID.fullmatch(student):
        return ("student folder name must be 1-100 letters, digits, '_', '.', '-' (starting "
                "with a letter or digit): rename the folder")
    if student in labs:
        return "a student id cannot be a lab's name: rename the folder"
    return None


def _copy_lab(course: Course, lab_dir: Path, target: Path) -> tuple[str | None, list[str]]:
    """Copy one student's lab folder: (the reason it cannot be graded, or None; repair notes)."""
    lab = lab_dir.name
    expected = {p.name for p in course.notebooks(lab)}
    given = {path.name: kind for path, kind in _entries(lab_dir) if path.name.endswith(".ipynb")}
    handed_in = sorted(set(given) & expected)
    if not handed_in:
        return f"none of the lab's notebooks ({', '.join(sorted(expected))}) was handed in", []
    notebooks, notes = {}, []
    for name in handed_in:
        if given[name] != "file":
            return f"{name} is {NOT_FOLLOWED[given[name]]}", []
        nb, reason = read_notebook(lab_dir / name, course.grading["unzip_mb"] * MIB)
        if reason:
            return f"{name}: {reason}", []
        notes += [f"{name}: {note}" for note in repair(nb)]
        notebooks[name] = nb
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name, nb in notebooks.items():
        nbformat.write(nb, target / name)
    return None, notes + _copy_timestamp(lab_dir, target, course.late.timezone)


def _copy_timestamp(lab_dir: Path, target: Path, zone: str) -> list[str]:
    """Write the submission time of ``lab_dir/timestamp.txt`` to ``target`` in UTC, as nbgrader
    reads it; returns a note when the file is there but unreadable (the time is then unknown)."""
    if not os.path.lexists(lab_dir / TIMESTAMP):
        return []
    try:
        moment = read_timestamp(lab_dir / TIMESTAMP, zone)
    except (OSError, ValueError) as error:
        return [f"{TIMESTAMP} ignored ({error}): submission time unknown"]
    (target / TIMESTAMP).write_text(timestamp_text(moment))
    return []


def read_notebook(path: Path, limit: int):
    """(notebook, None) if ``path`` is a regular, readable, valid notebook of at most ``limit``
    bytes, else (None, what is wrong). Opened without following links or blocking on a pipe."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None, "not a regular file"
            data = handle.read(limit + 1)
        if len(data) > limit:
            return None, f"larger than {limit // MIB} MB"
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as error:  # OS, JSON, schema and unicode errors
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return None, f"not a valid notebook ({type(error).__name__}: {first[:200]})"
    return nb, None


def repair(nb) -> list[str]:
    """Mend two accidents in place; returns a note for each: grading metadata that is not a
    mapping (e.g. `"nbgrader": null`) is removed, and a graded cell whose grade_id appeared
    earlier (a copy-paste) loses its grading metadata, so the course's version is graded once."""
    notes, seen = [], set()
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {})
        if "nbgrader" not in meta:
            continue
        value = meta["nbgrader"].get("grade_id") if isinstance(meta["nbgrader"], dict) else None
        if not isinstance(meta["nbgrader"], dict) or not isinstance(value, (str, type(None))):
            del meta["nbgrader"]
            notes.append(f"cell {index} had broken grading metadata, removed (graded as a plain cell)")
            continue
        grade_id = meta["nbgrader"].get("grade_id")
        if grade_id in seen:
            del meta["nbgrader"]
            notes.append(f"cell {index} is a copy of graded cell '{shown(str(grade_id))}': "
                         "graded once, from the course's version")
        elif grade_id:
            seen.add(grade_id)
    return notes


def examples_tree(course: Course, target: Path, labs: list[str] | None = None) -> Path:
    """The bundled example submissions, ready to collect: grader/examples/ plus two synthesized
    students, ``full`` (the solution notebooks) and ``blank`` (the released notebooks)."""
    examples = Path(__file__).with_name("examples")
    if examples.is_dir():
        shutil.copytree(examples, target, dirs_exist_ok=True)
    for lab in labs or course.labs():
        for path in course.notebooks(lab):
            for student, origin in (("full", path), ("blank", course.release_dir / lab / path.name)):
                if not origin.is_file():
                    raise FileNotFoundError(f"{origin} is missing: run `make release` first")
                (target / student / lab).mkdir(parents=True, exist_ok=True)
                shutil.copyfile(origin, target / student / lab / path.name)
    return target
