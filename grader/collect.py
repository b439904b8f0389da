"""Collect student notebooks into nbgrader's submitted/ folder, checking each one on the way.

Accepted input (a folder, or a .zip of the same tree, possibly inside one top folder):
  <student>/<lab>/<notebook>.ipynb
A notebook that is not valid JSON or not a valid notebook is not handed to nbgrader: it is reported
as 'invalid' with the parser's message. Labs that do not exist are reported and skipped.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .course import Course

STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class Problem:
    """A submission that cannot be graded, with a reason a person can act on."""

    student: str
    lab: str
    status: str
    reason: str


@dataclass(frozen=True)
class Collected:
    """What collect() put into submitted/: (student, lab) pairs, plus the problems it found."""

    submissions: list[tuple[str, str]]
    problems: list[Problem]


def unpack(source: Path, scratch: Path) -> Path:
    """The folder of student folders: ``source`` itself, or the zip extracted under ``scratch``."""
    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(f"submissions not found: {source} (a folder or a .zip)")
    if source.is_dir():
        return source
    if not zipfile.is_zipfile(source):
        raise ValueError(f"{source} is neither a folder nor a zip file of student notebooks")
    target = scratch / "unzipped"
    with zipfile.ZipFile(source) as archive:
        for member in archive.namelist():
            if member.startswith("/") or ".." in Path(member).parts:
                raise ValueError(f"{source}: unsafe path {member!r} in the zip; refusing to extract")
        archive.extractall(target)
    return target


def students_root(tree: Path, labs: set[str]) -> Path:
    """The folder whose subfolders are students: ``tree``, or the single folder an LMS export
    wraps them in (recognised because its grandchildren are not lab names)."""
    folders = [p for p in tree.iterdir() if p.is_dir() and not p.name.startswith(("__MACOSX", "."))]
    holds_labs = any(sub.name in labs for folder in folders for sub in folder.iterdir() if sub.is_dir())
    if len(folders) == 1 and not holds_labs:
        return students_root(folders[0], labs)
    return tree


def check_notebook(path: Path) -> str | None:
    """None if ``path`` is a readable, valid notebook, else what is wrong with it."""
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as error:  # nbformat raises JSON, schema and unicode errors
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return f"not a valid notebook ({type(error).__name__}: {first[:200]})"
    return None


def collect(course: Course, source: Path, labs: list[str] | None = None) -> Collected:
    """Copy every valid ``<student>/<lab>/*.ipynb`` of ``source`` into course_work/submitted/."""
    known = set(course.labs())
    wanted = set(labs) if labs else known
    submitted = course.work_dir / "submitted"
    found, problems = [], []
    with tempfile.TemporaryDirectory() as scratch:
        tree = students_root(unpack(source, Path(scratch)), known)
        for student_dir in sorted(p for p in tree.iterdir() if p.is_dir()):
            student = student_dir.name
            if not STUDENT_ID.fullmatch(student):
                problems.append(Problem(student, "", "invalid", "student folder name must be "
                                        "letters, digits, '_', '.', '-'"))
                continue
            for lab_dir in sorted(p for p in student_dir.iterdir() if p.is_dir()):
                lab = lab_dir.name
                if lab not in known:
                    problems.append(Problem(student, lab, "invalid", f"no lab named {lab!r}"))
                    continue
                if lab not in wanted:
                    continue
                problem = _copy_lab(course, lab_dir, submitted / student / lab)
                if problem:
                    problems.append(Problem(student, lab, "invalid", problem))
                else:
                    found.append((student, lab))
    return Collected(found, problems)


def _copy_lab(course: Course, lab_dir: Path, target: Path) -> str | None:
    """Copy one student's lab folder; the reason it cannot be graded, if any."""
    lab = lab_dir.name
    expected = {p.name for p in course.notebooks(lab)}
    given = {p.name for p in lab_dir.glob("*.ipynb")}
    if not given & expected:
        return f"none of the lab's notebooks ({', '.join(sorted(expected))}) was handed in"
    for name in sorted(given & expected):
        reason = check_notebook(lab_dir / name)
        if reason:
            return f"{name}: {reason}"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in sorted(given & expected):
        shutil.copyfile(lab_dir / name, target / name)
    return None


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
