"""Grading on a Dask cluster: ``.venv/bin/grader grade SRC --scheduler tcp://HOST:8786``.

The coordinator (the machine with the course) collects the submissions as for `--jobs`, deals them
into shards of ``--shard-size`` students and sends each shard to the Dask scheduler as one task
that carries all it needs: the course's settings, the labs' source notebooks and the shard's
collected notebooks. A worker grades the shard exactly as a `--jobs` worker does
(grader/executors/worker.py: a private course copy in a scratch folder of its own, a gradebook
built from the sources, one sandboxed `nbgrader autograde` per student, then feedback), tells the
coordinator of each student graded (a Dask event), and sends back the results with the
autograded notebooks, the feedback and its private gradebook as one zip. The coordinator unpacks
each into course_work/.workers/ and merges it as it merges a `--jobs` worker (grader/autograde.py):
the course gradebook has one writer.

A worker that dies mid-shard: the scheduler hands its task to another worker (Dask's own retry,
up to `distributed.scheduler.allowed-failures` times); only a finished task's result is merged, so
no student is lost or graded twice into the gradebook.

Each worker machine needs the course's Python environment (the same grader, nbgrader and the
labs' packages: `make setup` in a checkout of the course) and bubblewrap, and runs
`dask worker tcp://HOST:8786 --nthreads 1` once per core (docs/scaling.md).
"""

from __future__ import annotations

import dataclasses
import io
import socket
import tempfile
import threading
import zipfile
from pathlib import Path

from .. import sandbox
from ..collect import unpack
from ..course import Course
from .worker import Finished, Graded, Progress, Task, ensure_assignments, grade_tasks, set_due_dates

TOPIC = "grader-graded"  # the Dask event a worker logs for each student it has graded


@dataclasses.dataclass(frozen=True)
class Shard:
    """One Dask task's input: the course settings, the labs' sources, the students' notebooks."""

    course: Course
    tasks: list[Task]
    files: dict[str, bytes]  # path relative to the course root -> content
    sandbox_mode: str  # the coordinator's (grader/sandbox.py): no worker may grade with less


def make_shard(course: Course, tasks: list[Task]) -> Shard:
    """The shard of ``tasks``: their labs' source folders and their collected notebooks."""
    folders = [course.source_dir / lab for lab in sorted({task.lab for task in tasks})]
    folders += [course.work_dir / "submitted" / task.student / task.lab for task in tasks]
    files = {str(path.relative_to(course.root)): path.read_bytes()
             for folder in folders for path in sorted(folder.rglob("*")) if path.is_file()}
    return Shard(course, tasks, files, sandbox.available_mode())


def tell_coordinator(done: list[Task]) -> None:
    """On a Dask worker: log the students just graded as an event the coordinator follows."""
    from distributed import get_worker

    get_worker().log_event(TOPIC, [[task.student, task.lab] for task in done])


def grade_shard(shard: Shard, progress: Progress = tell_coordinator) -> tuple[list[Graded], bytes]:
    """Runs on a Dask worker: grade the shard in a scratch course; returns the results and a zip
    of work/ (autograded/, feedback/, gradebook.db) of the private course copy."""
    mode = sandbox.available_mode()
    if sandbox.MODES.index(mode) > sandbox.MODES.index(shard.sandbox_mode):
        raise RuntimeError(f"worker {socket.gethostname()} can only sandbox student code with "
                           f"'{mode}', the coordinator with '{shard.sandbox_mode}': install "
                           "bubblewrap there and allow user namespaces (docs/scaling.md)")
    labs = sorted({task.lab for task in shard.tasks})
    with tempfile.TemporaryDirectory(prefix="shard-") as scratch:
        root = Path(scratch) / "course"
        for name, data in shard.files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        course = dataclasses.replace(shard.course, root=root, db_url="")
        ensure_assignments(course, labs)
        set_due_dates(course, labs, course.gradebook_url)
        (course.work_dir / ".workers").mkdir()
        copy, results = grade_tasks(0, course, shard.tasks, labs, progress)
        packed = io.BytesIO()
        with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted((copy / "work").rglob("*")):
                if path.is_file() and path.relative_to(copy / "work").parts[0] != "submitted":
                    archive.write(path, str(path.relative_to(copy)))
    return results, packed.getvalue()


def grade(course: Course, tasks: list[Task], labs: list[str], progress: Progress,
          scheduler: str, shard_size: int) -> list[Finished]:
    """Grade ``tasks`` on the Dask cluster at ``scheduler``; returns, per shard, a course copy
    folder under course_work/.workers/ holding what the worker sent back, and its results.
    ``progress`` hears of each student once, even when a shard is graded again elsewhere."""
    from distributed import Client, as_completed

    shards = [make_shard(course, tasks[i:i + shard_size]) for i in range(0, len(tasks), shard_size)]
    told, lock = set(), threading.Lock()

    def heard(done: list[Task]) -> None:
        with lock:
            new = [task for task in done if task not in told]
            told.update(new)
            if new:
                progress(new)

    finished = []
    with Client(scheduler, timeout="30s") as client:
        client.subscribe_topic(TOPIC, lambda event: heard([Task(*pair) for pair in event[1]]))
        futures = [client.submit(grade_shard, shard, pure=False) for shard in shards]
        for future in as_completed(futures):
            results, packed = future.result()
            heard([graded.task for graded in results])
            finished.append((_unpacked(course, packed), results))
    return finished


def _unpacked(course: Course, packed: bytes) -> Path:
    """A course copy folder under course_work/.workers/ with a shard's returned work/ in it."""
    copy = Path(tempfile.mkdtemp(prefix="shard-", dir=course.work_dir / ".workers"))
    (copy / "result.zip").write_bytes(packed)
    unpacked, problems = unpack(copy / "result.zip", copy, course.grading["unzip_mb"])
    if problems:
        raise RuntimeError(f"a worker sent back an unreadable result: {problems[0].reason}")
    (unpacked / "work").rename(copy / "work")
    return copy
