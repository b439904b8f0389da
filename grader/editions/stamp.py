"""Stamp notebooks from course.toml: the Colab badge in the header, the bootstrap cell.

Both point at a published edition's repository (the students' one, never the instructors'):
release stamps solutions/ for the class edition, publish restamps its copy for its edition.

Every solution notebook starts with two tagged cells:
  cell 0, markdown, tag "header":    title, what you will learn, times; the badge line is ours
  cell 1, code,     tag "bootstrap": replaced by BOOTSTRAP (the Colab set-up)
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from ..course import RELEASE, Course, Edition

BADGE_PREFIX = "[![Open In Colab]"
BADGE = (
    "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
    "(https://colab.research.google.com/github/{slug}/blob/{branch}/{path})"
)
BOOTSTRAP = '''\
# Course set-up. In Google Colab this cell fetches the course, installs its helper package and
# builds the course data (a minute or two, once per session). Anywhere else it does nothing.
import os
import subprocess
import sys
import time

if "google.colab" in sys.modules:
    REPOSITORY = {repository!r}
    BRANCH = {branch!r}
    EXTRAS = {extras!r}
    RESTART = ("Use Runtime > Restart session, then run this cell again; if it fails again, send "
               "the lines above to the course staff.")

    def course_step(title, command, advice, cwd=None):
        """Run one set-up step with its output kept: shown (last lines) only if it fails."""
        print(title, end=" ", flush=True)
        started = time.monotonic()
        done = subprocess.run(command, cwd=cwd, text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
        if done.returncode == 0:
            print(f"done ({{time.monotonic() - started:.0f}} s)", flush=True)
            return
        print("failed. Its last lines:")
        for line in done.stdout.splitlines()[-20:]:
            print("    " + line)
        print(advice, flush=True)
        raise RuntimeError(f"the course set-up stopped: {{title.rstrip('.')}} failed "
                           f"(exit status {{done.returncode}})")

    checkout = os.path.abspath(os.path.basename(REPOSITORY).removesuffix(".git"))
    if not os.path.isdir(checkout):
        course_step("Fetching the course...",
                    ["git", "clone", "--quiet", "--depth", "1", "--branch", BRANCH, REPOSITORY, checkout],
                    "Check REPOSITORY and BRANCH at the top of this cell (and that this Colab runtime "
                    "is online), then run the cell again.")
    pip = os.environ.get("RNNLAB_PIP", f"{{sys.executable}} -m pip install").split()
    course_step("Installing the course's helper package...", [*pip, "--editable", checkout + EXTRAS],
                RESTART)
    course_step("Building the course data...", [sys.executable, "-m", "rnnlab.build"], RESTART,
                cwd=checkout)
    if checkout not in sys.path:
        sys.path.insert(0, checkout)
    print("The course is ready.")
'''


def github_slug(repository: str) -> str:
    """'owner/name' of a GitHub repository URL; Colab opens notebooks from GitHub only."""
    found = re.fullmatch(r"(?:https://|git@)github\.com[/:]([^/]+/[^/]+?)(?:\.git)?/?", repository)
    if not found:
        raise ValueError(
            f"course.toml: edition repository {repository!r} is not a GitHub URL "
            "(https://github.com/<owner>/<name>): Colab can only open notebooks from GitHub"
        )
    return found.group(1)


def bootstrap_source(repository: str, branch: str, extras: tuple[str, ...] = ()) -> str:
    """The bootstrap cell's source for one lab: clone ``repository`` at ``branch`` in Colab."""
    extras_spec = f"[{','.join(extras)}]" if extras else ""
    return BOOTSTRAP.format(repository=repository, branch=branch, extras=extras_spec).rstrip("\n")


def badge_line(edition: Edition, lab: str, notebook: str, folder: str = RELEASE) -> str:
    """The markdown badge opening <folder>/<lab>/<notebook> of the edition's repository in Colab."""
    path = f"{folder}/{lab}/{notebook}"
    return BADGE.format(slug=github_slug(edition.repository), branch=edition.branch, path=path)


def _tagged(cell, tag: str) -> bool:
    return tag in cell.get("metadata", {}).get("tags", [])


def stamp_notebook(path: Path, course: Course, lab: str, edition: str = "class",
                   folder: str = RELEASE) -> bool:
    """Point one notebook's badge and bootstrap cell at ``edition``'s repository (the badge opens
    <folder>/<lab>/<notebook> there); True if it changed."""
    nb = nbformat.read(path, as_version=4)
    cells = nb.cells
    if len(cells) < 2 or cells[0].cell_type != "markdown" or not _tagged(cells[0], "header"):
        raise ValueError(
            f"{path}: the first cell must be a markdown cell tagged 'header' "
            "(see docs/adding_a_lab.md)"
        )
    if cells[1].cell_type != "code" or not _tagged(cells[1], "bootstrap"):
        raise ValueError(
            f"{path}: the second cell must be a code cell tagged 'bootstrap' "
            "(see docs/adding_a_lab.md)"
        )
    lines = [line for line in cells[0].source.splitlines() if not line.startswith(BADGE_PREFIX)]
    while len(lines) > 1 and lines[1] == "" and (len(lines) < 3 or lines[2] == ""):
        del lines[1]
    target = course.edition(edition)
    badge = badge_line(target, lab, path.name, folder)
    header = "\n".join(lines[:1] + ["", badge] + lines[1:])
    bootstrap = bootstrap_source(target.repository, target.branch, course.extras_for(lab))
    if cells[0].source == header and cells[1].source == bootstrap:
        return False
    cells[0].source = header
    cells[1].source = bootstrap
    nbformat.write(nb, path)
    return True


def stamp_course(course: Course, labs: list[str] | None = None) -> list[Path]:
    """Stamp the solution notebooks of ``labs`` (default: all); returns the ones that changed."""
    changed = []
    for lab in labs or course.labs():
        for path in course.notebooks(lab):
            if stamp_notebook(path, course, lab):
                changed.append(path)
    return changed
