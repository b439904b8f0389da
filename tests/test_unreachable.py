"""A course.toml that names a gradebook database or a Dask scheduler nobody answers at: every
command says so in one line naming the setting, and exits with status 2 before any work."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys

import pytest
from test_grader_cycle import LAB00, REPO


@pytest.fixture
def closed_port() -> int:
    """A loopback port that was just free: nothing listens there."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def course_with(tmp_path, settings: str):
    shutil.copytree(REPO / "solutions" / LAB00, tmp_path / "solutions" / LAB00)
    shutil.copytree(REPO / "labs" / LAB00, tmp_path / "labs" / LAB00)
    (tmp_path / "course.toml").write_text((REPO / "course.toml").read_text() + settings)
    return tmp_path


def run(course, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", "--course", str(course), *args],
                          capture_output=True, text=True, timeout=120)


def test_an_unreachable_gradebook_database_is_one_line(tmp_path, closed_port):
    url = f"postgresql://grader:hunter2@127.0.0.1:{closed_port}/rnnlabs"
    course = course_with(tmp_path, f'\n[gradebook]\ndb_url = "{url}"\n')
    for command in (["export"], ["grade", "--lab", LAB00], ["feedback"]):
        done = run(course, *command)
        assert done.returncode == 2, done
        assert done.stderr.startswith(
            f"error: cannot reach the gradebook database at postgresql://grader:***@127.0.0.1:"
            f"{closed_port}/rnnlabs (course.toml [gradebook] db_url): ")
        assert done.stderr.count("\n") == 1 and "hunter2" not in done.stderr, done.stderr
    assert not (course / "course_work").exists(), "work began before the database was reached"


def test_an_unreachable_dask_scheduler_is_one_line(tmp_path, closed_port):
    course = course_with(tmp_path, f'\n[cluster]\nscheduler = "tcp://127.0.0.1:{closed_port}"\n')
    done = run(course, "grade", "--lab", LAB00)
    assert done.returncode == 2, done
    assert done.stderr == (f"error: cannot reach the Dask scheduler at tcp://127.0.0.1:{closed_port} "
                           "(--scheduler, or course.toml [cluster] scheduler): [Errno 111] "
                           "Connection refused\n")
    assert not (course / "course_work").exists(), "work began before the scheduler was reached"
