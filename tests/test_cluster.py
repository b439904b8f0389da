"""The Dask shard (grader/executors/dask.py) without a cluster: what a shard carries, and a worker that
cannot sandbox as well as the coordinator refusing it. The real scheduler and workers, a worker
killed mid-shard included, are in tests/test_grader_cycle.py."""

from __future__ import annotations

import shutil

import pytest
from test_grader_cycle import LAB00, REPO

from grader.course import load_course
from grader.executors.dask import Shard, grade_shard, make_shard
from grader.executors.worker import Task


@pytest.fixture
def course(tmp_path):
    shutil.copyfile(REPO / "course.toml", tmp_path / "course.toml")
    shutil.copytree(REPO / "solutions" / LAB00, tmp_path / "solutions" / LAB00)
    for student in ("ada", "bob"):
        shutil.copytree(REPO / "labs" / LAB00, tmp_path / "course_work" / "submitted" / student / LAB00)
    return load_course(tmp_path)


def test_a_shard_carries_its_labs_sources_and_its_students_notebooks_only(course):
    shard = make_shard(course, [Task("ada", LAB00)])
    notebooks = sorted(p.name for p in (REPO / "solutions" / LAB00).glob("*.ipynb"))
    assert sorted(shard.files) == sorted(
        [f"solutions/{LAB00}/{name}" for name in notebooks]
        + [f"course_work/submitted/ada/{LAB00}/{name}" for name in notebooks])
    assert shard.course == course and shard.tasks == [Task("ada", LAB00)]


def test_a_worker_with_a_weaker_sandbox_refuses_the_shard(course, monkeypatch):
    shard = Shard(course, [Task("ada", LAB00)], {}, sandbox_mode="unshare")
    monkeypatch.setenv("GRADER_SANDBOX", "rlimits")
    with pytest.raises(RuntimeError, match="can only sandbox student code with 'rlimits', the "
                                           "coordinator with 'unshare': install bubblewrap"):
        grade_shard(shard)
