"""Publish a students' edition of the course: ``python -m grader publish DEST [--edition E]``.

  class       (default) the student notebooks (labs/), the helper package (with its self-check,
              `make check LAB=03`: the visible tests, judged as the grader judges), data/ (lyrics,
              weights, README), the environment files, a pyproject.toml without the grader, a
              student README, docs/students.md, a Makefile whose `make lab` works there and jupyter/,
              the settings that `make lab` gives JupyterLab (no nbgrader instructor tools)
  self-study  the class edition plus the worked solutions in solutions/, which give the
              self-check every lab's full tests (visible and hidden)

Never published: the solution notebooks (except as self-study's worked solutions), hidden tests,
the grader, example submissions, the test suite, benchmarks, course.toml, git history. Each
edition's Colab badges and bootstrap cells point at that edition's repository (course.toml
[editions.<name>]). Publishing refuses to run when labs/ is not what a fresh release gives.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import shutil
import string
import tempfile
import tomllib
from pathlib import Path

import nbformat

from ..course import EDITION_EXTRAS, EDITIONS, RELEASE, SOURCE, Course, load_course
from ..progress import ProgressLine
from .release import release
from .stamp import stamp_notebook

TEMPLATES = Path(__file__).resolve().parents[1] / "edition"  # grader/edition/
MARKER = ".rnnlab-edition"
COPIED = ("environment.yml", "environment-gpu.yml", "constraints.txt")
NBGRADER_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION",
                    "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "checkpoints")
_STALE_BY_INPUTS: dict[str, list[str]] = {}  # stale_labs' answers in this process, by inputs


class PublishError(RuntimeError):
    """The edition cannot be published as asked; the message says what to do."""


def publish(course: Course, dest: Path | str, edition: str = "class") -> Path:
    """Write ``edition`` of the course into ``dest`` (emptied first, its .git kept); returns dest."""
    if edition not in EDITIONS:
        raise ValueError(f"unknown edition {edition!r}: the editions are {', '.join(EDITIONS)}")
    course.edition(edition)
    dest = Path(dest).resolve()
    check_destination(course, dest)
    stale = stale_labs(course)
    if stale:
        raise PublishError("labs/ is not what a fresh release of solutions/ gives "
                           f"({', '.join(stale)}): run `make release`, review, commit, then publish")
    empty(dest)
    shutil.copytree(course.release_dir, dest / RELEASE, ignore=IGNORED)
    shutil.copytree(course.root / "rnnlab", dest / "rnnlab", ignore=IGNORED)
    shutil.copytree(course.root / "data", dest / "data",
                    ignore=shutil.ignore_patterns("generated", "__pycache__"))
    (dest / "docs").mkdir()
    shutil.copyfile(course.root / "docs" / "students.md", dest / "docs" / "students.md")
    dropped = dropped_requirements(course.root / "pyproject.toml")
    for name in COPIED:
        text = (course.root / name).read_text()
        (dest / name).write_text(text if name == "constraints.txt" else without(text, dropped))
    (dest / "pyproject.toml").write_text(student_pyproject((course.root / "pyproject.toml").read_text()))
    (dest / "README.md").write_text(student_readme(course, edition))
    if edition == "self-study":
        write_worked_solutions(course, dest / SOURCE)
    shutil.copyfile(TEMPLATES / "Makefile", dest / "Makefile")
    shutil.copyfile(TEMPLATES / "gitignore", dest / ".gitignore")
    shutil.copytree(TEMPLATES / "jupyter", dest / "jupyter")
    for lab in course.labs():
        for folder in (RELEASE, SOURCE):
            for path in sorted((dest / folder / lab).glob("*.ipynb")):
                stamp_notebook(path, course, lab, edition, folder)
    (dest / MARKER).write_text(f"{course.name}, {edition} edition, written by `python -m grader "
                               "publish`: everything here but .git is replaced at each publish\n")
    return dest


def check_destination(course: Course, dest: Path) -> None:
    """Refuse a destination that is, holds or lies inside the course, or that holds other files."""
    root = course.root.resolve()
    if dest == root or root.is_relative_to(dest) or dest.is_relative_to(root):
        raise PublishError(f"{dest} is the course or overlaps it: publish into a folder outside "
                           f"{root}, e.g. a checkout of the students' repository next to it")
    if dest.exists() and not dest.is_dir():
        raise PublishError(f"{dest} is a file: give a folder")
    known = (dest / ".git").exists() or (dest / MARKER).is_file()
    if dest.is_dir() and any(dest.iterdir()) and not known:
        raise PublishError(f"{dest} holds files that are not an edition of the course; publishing "
                           "replaces everything but .git: give an empty folder or a checkout of the "
                           "students' repository")


def empty(dest: Path) -> None:
    """Remove everything in ``dest`` but its .git; create it if needed."""
    dest.mkdir(parents=True, exist_ok=True)
    for entry in dest.iterdir():
        if entry.name == ".git":
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def stale_labs(course: Course) -> list[str]:
    """The notebooks of labs/ that differ from a fresh release of solutions/ (missing or extra too).
    A release takes a while, so the answer is kept for inputs (course.toml, solutions/, labs/)
    that have not changed since the last call in this process."""
    inputs = _inputs_fingerprint(course)
    if inputs not in _STALE_BY_INPUTS:
        _STALE_BY_INPUTS[inputs] = _compare_with_fresh_release(course)
    return list(_STALE_BY_INPUTS[inputs])


def _inputs_fingerprint(course: Course) -> str:
    """sha256 of course.toml and of every file's path and bytes under solutions/ and labs/."""
    digest = hashlib.sha256((course.root / "course.toml").read_bytes())
    for folder in (course.source_dir, course.release_dir):
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(course.root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _compare_with_fresh_release(course: Course) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="rnnlab-publish-") as scratch:
        copy = Path(scratch) / "course"
        copy.mkdir()
        for name in ("course.toml", "pyproject.toml"):  # the release checks the Colab extras
            shutil.copyfile(course.root / name, copy / name)
        shutil.copytree(course.source_dir, copy / SOURCE, ignore=IGNORED)
        fresh_course = load_course(copy)
        labs = fresh_course.labs()
        release(fresh_course, labs, ProgressLine("compared with a fresh release:", len(labs), "lab"))
        fresh = _notebooks(copy / RELEASE)
        committed = _notebooks(course.release_dir)
    return sorted(name for name in fresh.keys() | committed.keys()
                  if fresh.get(name) != committed.get(name))


def _notebooks(folder: Path) -> dict[str, dict]:
    return {str(p.relative_to(folder)): json.loads(p.read_text())
            for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts}


def write_worked_solutions(course: Course, folder: Path) -> None:
    """solutions/<lab>/<nb>.ipynb with nbgrader's markers removed (metadata kept for the check)."""
    for lab in course.labs():
        (folder / lab).mkdir(parents=True)
        for path in course.notebooks(lab):
            nb = nbformat.read(path, as_version=4)
            for cell in nb.cells:
                cell.source = "\n".join(line for line in cell.source.splitlines()
                                        if line.strip() not in NBGRADER_MARKERS)
            nbformat.write(nb, folder / lab / path.name)


def requirement_name(requirement: str) -> str:
    """'tensorflow-cpu' of 'tensorflow-cpu>=2.16' (lower case, '_' as '-')."""
    return re.split(r"[<>=!\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def dropped_requirements(pyproject: Path) -> set[str]:
    """Names only the unpublished extras (grader, scale, dev) need."""
    project = tomllib.loads(pyproject.read_text())["project"]
    extras = project["optional-dependencies"]
    kept = {requirement_name(r) for r in project["dependencies"]}
    kept |= {requirement_name(r) for name in EDITION_EXTRAS for r in extras[name]}
    every = {requirement_name(r) for requirements in extras.values() for r in requirements}
    return every - kept


def without(environment_file: str, names: set[str]) -> str:
    """The environment file without the pip lines that install ``names``."""
    kept = []
    for line in environment_file.splitlines():
        item = line.strip().removeprefix("- ").strip('"')
        if line.strip().startswith("- ") and requirement_name(item) in names:
            continue
        kept.append(line)
    return "\n".join(kept) + "\n"


def _without_extras(lines: list[str]) -> list[str]:
    """pyproject.toml's lines without the unpublished extras' entries (grader, scale, dev), each
    from its `name = [` to the line that closes its list."""
    kept, depth = [], 0
    for line in lines:
        if depth == 0 and re.match(r"(grader|scale|dev) = \[", line) or depth:
            code = line.split("#", 1)[0]
            depth += code.count("[") - code.count("]")
            continue
        kept.append(line)
    return kept


def student_pyproject(text: str) -> str:
    """The course's pyproject.toml for students: the helper package and the lab and keras extras."""
    sections = re.split(r"\n(?=\[)", text)
    kept = [section for section in sections
            if not section.startswith(("[tool.ruff", "[tool.pytest", "[project.scripts]"))]
    published = "\n".join(_without_extras("\n".join(kept).splitlines())).rstrip("\n") + "\n"
    edits = {
        'include = ["rnnlab*", "grader*"]': 'include = ["rnnlab*"]',
        'description = "RNN Labs: helper package and grading tools for a course of recurrent-network '
        'lab notebooks"': 'description = "RNN Labs: the helper package of a course of recurrent-network '
        'lab notebooks"',
    }
    for old, new in edits.items():
        if old not in published:
            raise PublishError(f"pyproject.toml no longer has {old!r}: update grader/editions/publish.py")
        published = published.replace(old, new)
    return published


def student_readme(course: Course, edition: str) -> str:
    """README.md of the edition, from grader/edition/README.md and the course README's lab table."""
    target = course.edition(edition)
    template = string.Template((TEMPLATES / "README.md").read_text())
    check = (TEMPLATES / f"check.{edition}.md").read_text()
    return template.substitute(name=course.name, edition=edition, repository=target.repository,
                               lab_table=lab_table(course.root / "README.md"), check=check)


def lab_table(readme: Path) -> str:
    """The course README's lab table, cut to lab, notebook and the measured CPU time."""
    lines = readme.read_text().split("## The labs", 1)[1].strip().splitlines()
    rows = list(itertools.takewhile(lambda line: line.startswith("|"), lines))
    if len(rows) < 3:
        raise PublishError(f"{readme} has no lab table under '## The labs'")
    table = []
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        table.append("| " + " | ".join(cells[:3]) + " |")
    return "\n".join(table)
