"""Grading on this machine: ``.venv/bin/grader grade SRC --jobs N``.

N threads each run a worker (grader/executors/worker.py) over their share of the students, dealt
round-robin; each worker's child processes do the work, so threads are enough.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from ..course import Course
from .worker import Finished, Progress, Task, grade_tasks


def split(tasks: list[Task], jobs: int) -> list[list[Task]]:
    """Deal tasks round-robin over at most ``jobs`` workers (none of them empty)."""
    jobs = max(1, min(jobs, len(tasks)))
    return [tasks[i::jobs] for i in range(jobs)]


def grade(course: Course, tasks: list[Task], labs: list[str], progress: Progress,
          jobs: int = 1) -> list[Finished]:
    """Grade ``tasks`` with ``jobs`` workers at once; one (copy, results) per worker."""
    lock = threading.Lock()

    def told(done: list[Task]) -> None:
        with lock:
            progress(done)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(grade_tasks, i, course, share, labs, told)
                   for i, share in enumerate(split(tasks, jobs))]
        return [future.result() for future in futures]
