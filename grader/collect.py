"""Collect student notebooks into nbgrader's submitted/ folder, checking each one on the way.

Accepted input (a folder, or a .zip of the same tree, possibly inside wrapper folders):
  <student>/<lab>/<notebook>.ipynb
The student level is found by what is in it, never by a folder's name alone: it is the first
folder, going down through single wrapper folders, with a subfolder that is a roster student or
that holds a lab-named folder with a notebook in it (so a wrapper named like a lab is a wrapper).
Nothing in the input is trusted: links, named pipes and devices are never followed or opened,
only reported; a zip entry that is unsafe (`..`, an absolute path, a name part over 255 bytes, a
link, a duplicate, also after Unicode NFC normalisation) is skipped with a reason, and extraction
stops at course.toml's `unzip_mb`. Names are normalised to NFC; entries under a hidden folder
(`.git/`, `__MACOSX/`) or hidden files are skipped with a warning, and so are named two entries
whose names differ only in letter case (both are taken). A notebook that is not valid JSON or not
a valid notebook, or that has more cells than `max_cells`, is reported as 'invalid' with the
reason. Three accidents are repaired, with a note: a cell whose grading metadata is broken
(`"nbgrader": null`), a graded cell duplicated by copy-paste (the copy is ungraded), and a graded
cell the course's notebook does not have (ungraded). Every problem ends as a row of grades.csv or
a printed warning; nothing is dropped silently. Submission times come from intake's record
(grader/term/late.py); a `timestamp.txt` in the submission is ignored, with a note.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import nbformat

from .course import Course
from .term.late import TRUSTED_TIMES, read_trusted_times, timestamp_text, trusted_time

STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
NAME_MAX = 255  # bytes in one path component (Linux)
MIB = 2**20
TIMESTAMP = "timestamp.txt"  # the submission time, next to the notebook (grader/term/late.py)


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
    warnings: list[str] = field(default_factory=list)  # entries skipped or doubtful, to print


def shown(name: str) -> str:
    """A file name as it can safely appear in a CSV or a page: printable ASCII, at most 80 chars."""
    text = ascii(name)[1:-1]
    return text if len(text) <= 80 else text[:77] + "..."


def entry_name(info: zipfile.ZipInfo) -> str:
    """A zip entry's name in Unicode NFC (macOS writes decomposed accents, NFD)."""
    return unicodedata.normalize("NFC", info.filename)


def _zip_entry_problem(info: zipfile.ZipInfo, seen: set[str]) -> str | None:
    """Why a zip entry must be skipped, or None (``seen``: the NFC names before it)."""
    name = entry_name(info)
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
        same = "" if name == info.filename else " (after Unicode normalisation)"
        return f"a second entry with the same name{same}"
    return None


def hidden_part(name: str) -> str | None:
    """The leading part of a path up to its first hidden component (a name starting with '.',
    or macOS's __MACOSX), e.g. 'ada/.git/'; None when nothing in it is hidden."""
    parts = name.split("/")
    for index, part in enumerate(parts):
        if (part.startswith(".") and part not in (".", "..")) or part == "__MACOSX":
            folder = index < len(parts) - 1
            return "/".join(parts[:index + 1]) + ("/" if folder else "")
    return None


def hidden_warnings(names: list[str]) -> list[str]:
    """One warning per hidden folder or file among zip entry names, saying they were skipped."""
    counts: dict[str, int] = {}
    for name in names:
        counts[hidden_part(name)] = counts.get(hidden_part(name), 0) + 1
    return [f"zip entries under '{shown(part)}' skipped ({count}): a hidden folder "
            "(.git, __MACOSX, ...), not part of a submission" if part.endswith("/") else
            f"zip entry '{shown(part)}' skipped: a hidden file, not part of a submission"
            for part, count in sorted(counts.items())]


def case_twin(name: str, folded: dict[str, str]) -> str | None:
    """An earlier entry name equal to ``name`` but for letter case (``folded``: casefolded name ->
    name, updated here), or None."""
    twin = folded.setdefault(name.casefold(), name)
    return twin if twin != name else None


def unpack(source: Path, scratch: Path, limit_mb: int,
           warnings: list[str] | None = None) -> tuple[Path, list[Problem]]:
    """The folder of student folders: ``source`` itself, or the zip extracted under ``scratch``,
    plus one Problem per zip entry skipped. With a ``warnings`` list, hidden entries are skipped
    too and named there, with names that differ only in letter case."""
    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(f"submissions not found: {source} (a folder or a .zip)")
    if source.is_dir():
        return source, []
    if not zipfile.is_zipfile(source):
        raise ValueError(f"{source} is neither a folder nor a zip file of student notebooks")
    target, problems, seen, budget = scratch / "unzipped", [], set(), limit_mb * MIB
    hidden, folded = [], {}
    target.mkdir()
    with zipfile.ZipFile(source) as archive:
        for info in archive.infolist():
            reason, name = _zip_entry_problem(info, seen), entry_name(info)
            seen.add(name)
            if reason:
                problems.append(Problem(_owner(name), "", "invalid",
                                        f"zip entry '{shown(info.filename)}' skipped: {reason}"))
                continue
            if warnings is not None and hidden_part(name):
                hidden.append(name)
                continue
            if info.is_dir():
                continue
            twin = case_twin(name, folded)
            if warnings is not None and twin:
                warnings.append(f"zip entries '{shown(twin)}' and '{shown(name)}' differ only in "
                                "letter case: both taken, but on Windows or macOS they are one "
                                "file; check which student is which")
            budget = _extract(archive, info, target / name, budget)
            if budget < 0:
                problems.append(Problem(_owner(name), "", "invalid", (
                    f"the zip expands beyond {limit_mb} MB (course.toml [grading] unzip_mb): "
                    f"'{shown(info.filename)}' and the entries after it were skipped")))
                break
    if warnings is not None:
        warnings += hidden_warnings(hidden)
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


def entries_of(folder: Path) -> list[tuple[Path, str]]:
    """(path, kind) of a folder's entries, sorted, dot-files and __MACOSX left out."""
    return [(folder / name, _kind(folder / name)) for name in sorted(os.listdir(folder))
            if not name.startswith((".", "__MACOSX"))]


def _holds_a_student(folder: Path, labs: set[str], roster: set[str]) -> bool:
    """Whether a subfolder of ``folder`` looks like a student's: a roster student, or a folder
    holding a lab-named folder with a notebook in it."""
    for child, kind in entries_of(folder):
        if kind != "dir":
            continue
        if child.name in roster:
            return True
        for sub, sub_kind in entries_of(child):
            if sub_kind == "dir" and sub.name in labs and any(
                    path.name.endswith(".ipynb") for path, _ in entries_of(sub)):
                return True
    return False


def students_root(tree: Path, labs: set[str], roster: set[str] = frozenset(), depth: int = 3) -> Path:
    """The folder whose subfolders are students: ``tree``, or the one inside single wrapper
    folders (an LMS export's, or one named like a lab) whose subfolders look like students."""
    folders = [path for path, kind in entries_of(tree) if kind == "dir"]
    if depth and len(folders) == 1 and not _holds_a_student(tree, labs, roster):
        inner = students_root(folders[0], labs, roster, depth - 1)
        if _holds_a_student(inner, labs, roster):
            return inner
    return tree


def _roster_students(course: Course) -> set[str]:
    """The course ids on the roster (course.toml [lms] roster), or none without a roster."""
    if course.roster is None or not course.roster.is_file():
        return set()
    from .term.lms import read_roster  # lms builds on this module

    return {entry.student for entry in read_roster(course.roster)}


NOT_FOLLOWED = {"link": "a symbolic link, not followed", "other": "not a regular file or folder "
                "(a named pipe, socket or device), not opened"}


def collect(course: Course, source: Path, labs: list[str] | None = None,
            received: datetime | None = None) -> Collected:
    """Copy every valid ``<student>/<lab>/*.ipynb`` of ``source`` into course_work/submitted/.

    received: collect's own clock (naive UTC), the submission time of every notebook that intake
              has no time for (`grade --received-now`); None: those have no time
    """
    known = set(course.labs())
    wanted = set(labs) if labs else known
    submitted = course.work_dir / "submitted"
    found, notes = [], {}
    times, warnings = read_trusted_times(course.work_dir / TRUSTED_TIMES), []
    with tempfile.TemporaryDirectory() as scratch:
        tree, problems = unpack(source, Path(scratch), course.grading["unzip_mb"], warnings)
        root = students_root(tree, known, _roster_students(course))
        for student_dir, kind in entries_of(root):
            student = student_dir.name
            if kind == "file":
                continue  # an LMS export's index or a stray file at the top: not a submission
            problem = student_problem(student, kind, known)
            if problem:
                problems.append(Problem(shown(student), "", "invalid", problem))
                continue
            for lab_dir, lab_kind in entries_of(student_dir):
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
                    notes[(student, lab)] = repaired + _copy_time(
                        times, student, lab, lab_dir, submitted / student / lab, received)
    return Collected(found, problems, notes, warnings)


def student_problem(student: str, kind: str, labs: set[str]) -> str | None:
    """Why a student's entry (a folder of kind ``kind``, see _kind) cannot be taken, or None."""
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
    expected = {p.name: p for p in course.notebooks(lab)}
    given = {path.name: kind for path, kind in entries_of(lab_dir) if path.name.endswith(".ipynb")}
    handed_in = sorted(set(given) & set(expected))
    if not handed_in:
        return f"none of the lab's notebooks ({', '.join(sorted(expected))}) was handed in", []
    notebooks, notes = {}, []
    for name in handed_in:
        if given[name] != "file":
            return f"{name} is {NOT_FOLLOWED[given[name]]}", []
        nb, reason = read_notebook(lab_dir / name, course.grading["unzip_mb"] * MIB)
        if reason:
            return f"{name}: {reason}", []
        too_many = _too_many_cells(nb, course.grading["max_cells"])
        if too_many:
            return f"{name}: {too_many}", []
        notes += [f"{name}: {note}" for note in repair(nb, grade_ids(expected[name]))]
        notebooks[name] = nb
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name, nb in notebooks.items():
        nbformat.write(nb, target / name)
    return None, notes


def _too_many_cells(nb, limit: int) -> str | None:
    """Why a notebook with more than ``limit`` cells is not run (each cell costs the grader time
    of its own, whatever its code), or None."""
    if len(nb.cells) <= limit:
        return None
    return (f"{len(nb.cells):,} cells, more than the {limit:,} a notebook may have (course.toml "
            "[grading] max_cells): not run, no points; merge cells and hand it in again")


def grade_ids(path: Path) -> set[str]:
    """The grade_ids of a course notebook's graded cells."""
    cells = nbformat.read(path, as_version=4).cells
    return {c.metadata["nbgrader"].get("grade_id") for c in cells
            if isinstance(c.get("metadata", {}).get("nbgrader"), dict)} - {None}


def _copy_time(times: dict, student: str, lab: str, lab_dir: Path, target: Path,
               received: datetime | None) -> list[str]:
    """Write the submission time intake recorded (if it is still this notebook's), else
    ``received``, into ``target``/timestamp.txt, as nbgrader reads it; notes on a student's own
    timestamp.txt (ignored) and on a record that does not fit."""
    notes = []
    if os.path.lexists(lab_dir / TIMESTAMP):
        notes.append(f"{TIMESTAMP} in the submission ignored: times come from intake or collect")
    moment, note = trusted_time(times, student, lab, lab_dir)
    moment = moment or received
    if moment is not None:
        (target / TIMESTAMP).write_text(timestamp_text(moment))
    return notes + [note for note in [note] if note]


def read_bytes(path: Path, limit: int) -> tuple[bytes | None, str | None]:
    """(content, None) if ``path`` is a regular, readable file of at most ``limit`` bytes, else
    (None, what is wrong). Opened without following links or blocking on a pipe."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None, "not a regular file"
            data = handle.read(limit + 1)
    except OSError as error:  # a link (ELOOP), no permission, gone
        return None, f"not readable ({type(error).__name__}: {error.strerror})"
    if len(data) > limit:
        return None, f"larger than {limit // MIB} MB" if limit >= MIB else f"larger than {limit} bytes"
    return data, None


def read_notebook(path: Path, limit: int):
    """(notebook, None) if ``path`` is a regular, readable, valid notebook of at most ``limit``
    bytes, else (None, what is wrong). Opened without following links or blocking on a pipe."""
    data, reason = read_bytes(path, limit)
    if reason:
        return None, reason
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as error:  # OS, JSON, schema and unicode errors
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return None, f"not a valid notebook ({type(error).__name__}: {first[:200]})"
    return nb, None


def repair(nb, known: set[str] | None = None) -> list[str]:
    """Mend three accidents in place; returns a note for each: grading metadata that is not a
    mapping (e.g. `"nbgrader": null`) is removed, a graded cell whose grade_id appeared earlier
    (a copy-paste) loses its grading metadata, so the course's version is graded once, and so does
    a graded cell whose grade_id is not among ``known`` (the course notebook's; None: any)."""
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
        elif grade_id and known is not None and grade_id not in known:
            del meta["nbgrader"]
            notes.append(f"cell {index} is graded cell '{shown(str(grade_id))}', which the "
                         "course's notebook does not have: run as a plain cell, no points")
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
