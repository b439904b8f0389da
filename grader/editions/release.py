"""Release: check the Colab extras (colab.py), stamp solutions/ from course.toml, then generate labs/.

labs/ is a pure function of solutions/ and course.toml: every lab is regenerated (outputs cleared,
solutions replaced by `raise NotImplementedError()`, hidden tests removed) and lab folders that
no longer exist in solutions/ are removed.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

from .. import nbgrader_run
from ..course import Course
from ..gradebook import register_extra_credit
from .colab import check_colab_extras
from .stamp import stamp_course


class ReleaseError(RuntimeError):
    """nbgrader could not generate a lab; the message carries its log."""


def release(course: Course, labs: list[str] | None = None,
            progress: Callable[[list[str]], None] = lambda done: None) -> list[str]:
    """Stamp and release ``labs`` (default: all), telling ``progress`` of each lab released;
    returns the released lab names."""
    known = course.labs()
    labs = labs or known
    unknown = sorted(set(labs) - set(known))
    if unknown:
        raise ValueError(f"unknown lab(s) {', '.join(unknown)}: the labs are {', '.join(known)}")
    check_colab_extras(course)
    stamp_course(course, labs)
    course.release_dir.mkdir(exist_ok=True)
    for stale in course.release_dir.iterdir():
        if stale.is_dir() and stale.name not in known:
            shutil.rmtree(stale)
    course.work_dir.mkdir(exist_ok=True)
    config = nbgrader_run.course_config(course.root, course.work_dir, course.course_id,
                                        db_url=course.gradebook_url)
    for lab in labs:
        done = nbgrader_run.run(config, ["generate_assignment", lab, "--force"], cwd=course.root)
        if done.returncode != 0:
            raise ReleaseError(f"nbgrader could not release {lab}:\n{done.stdout}{done.stderr}")
        register_extra_credit(course.gradebook_url, course.course_id, lab)
        _drop_checkpoints(course, lab)
        progress([lab])
    return labs


def _drop_checkpoints(course: Course, lab: str) -> None:
    for leftover in (course.release_dir / lab).rglob(".ipynb_checkpoints"):
        shutil.rmtree(leftover)
