"""Autograde collected submissions in parallel, each kernel sandboxed, and merge the results.

nbgrader keeps grades in one SQLite gradebook, which is not safe for concurrent writers. So each
of the N workers gets its own course copy (a copy of the course's gradebook with the labs in it,
the labs' source notebooks, its share of the submissions) and grades its students one at a time,
each in a child `nbgrader autograde` process with a wall-clock limit. When all workers are done,
the main process alone merges their grades into the course gradebook and copies the autograded
notebooks and feedback back. One student's crash, time-out or hostile code only ever affects that
student's own row.
"""

from __future__ import annotations

import html
import os
import shutil
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from . import nbgrader_run, sandbox
from .collect import Collected
from .course import Course
from .report import Outcome, compare_with_release, diagnose

GRACE_S = 60  # extra wall time for nbgrader itself on top of the notebook limit


@dataclass(frozen=True)
class Task:
    student: str
    lab: str


@dataclass
class Graded:
    """What one child `nbgrader autograde` run left behind."""

    task: Task
    returncode: int
    log: str
    seconds: float


def gradebook_url(work_dir: Path) -> str:
    return f"sqlite:///{work_dir / 'gradebook.db'}"


def open_gradebook(work_dir: Path, course_id: str) -> Gradebook:
    """nbgrader's gradebook in ``work_dir`` (it checks its schema with `alembic` from PATH)."""
    os.environ.update(nbgrader_run.with_venv_path(os.environ))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy's SAWarnings from nbgrader's own models
        return Gradebook(gradebook_url(work_dir), course_id)


def ensure_assignments(course: Course, labs: list[str]) -> None:
    """Make sure the course gradebook knows each lab's graded cells (nbgrader needs them)."""
    course.work_dir.mkdir(exist_ok=True)
    with open_gradebook(course.work_dir, course.course_id) as gb:
        missing = []
        for lab in labs:
            try:
                if not gb.find_assignment(lab).notebooks:
                    missing.append(lab)
            except MissingEntry:
                missing.append(lab)
    if not missing:
        return
    scratch = course.work_dir / ".release"
    config = nbgrader_run.course_config(
        course.root, course.work_dir, course.course_id, release_dir=str(scratch)
    )
    for lab in missing:
        done = nbgrader_run.run(config, ["generate_assignment", lab, "--force"], cwd=course.root)
        if done.returncode != 0:
            raise RuntimeError(f"nbgrader could not register {lab}:\n{done.stderr}")
    shutil.rmtree(scratch, ignore_errors=True)


def _worker(
    index: int, course: Course, tasks: list[Task], labs: list[str]
) -> tuple[Path, list[Graded]]:
    """Grade ``tasks`` one after the other in a private course copy; returns (copy, results)."""
    copy = Path(tempfile.mkdtemp(prefix=f"worker{index}-", dir=course.work_dir / ".workers"))
    runtime_root = tempfile.mkdtemp(prefix=f"rk{index}")  # short: IPC socket paths are limited
    work = copy / "work"
    work.mkdir()
    shutil.copyfile(course.work_dir / "gradebook.db", work / "gradebook.db")
    for lab in labs:
        shutil.copytree(course.source_dir / lab, copy / "solutions" / lab)
    for task in tasks:
        shutil.copytree(
            course.work_dir / "submitted" / task.student / task.lab,
            work / "submitted" / task.student / task.lab,
        )
    uid = sandbox.sandbox_uid(index)
    policy = sandbox.default_policy(course.grading, uid)
    config = nbgrader_run.course_config(
        copy, work, course.course_id, release_dir="release", grading=course.grading,
        policy=policy, runtime_root=runtime_root,
    )
    limit = course.grading["notebook_timeout_s"] + GRACE_S
    results = []
    try:
        for task in tasks:
            started = time.monotonic()
            args = ["autograde", task.lab, "--student", task.student, "--force"]
            done = nbgrader_run.run(config, args, timeout=limit, cwd=copy)
            seconds = time.monotonic() - started
            results.append(Graded(task, done.returncode, done.stdout + done.stderr, seconds))
        for lab in sorted({task.lab for task in tasks}):
            nbgrader_run.run(config, ["generate_feedback", lab, "--force"], cwd=copy)
    finally:
        shutil.rmtree(runtime_root, ignore_errors=True)
    return copy, results


def split(tasks: list[Task], jobs: int) -> list[list[Task]]:
    """Deal tasks round-robin over at most ``jobs`` workers (none of them empty)."""
    jobs = max(1, min(jobs, len(tasks)))
    return [tasks[i::jobs] for i in range(jobs)]


def autograde(
    course: Course, collected: Collected, jobs: int = 1
) -> list[Outcome]:
    """Grade every collected submission with ``jobs`` workers; one Outcome per submission."""
    tasks = [Task(student, lab) for student, lab in collected.submissions]
    labs = sorted({task.lab for task in tasks})
    known = set(course.labs())
    ensure_assignments(course, sorted(set(labs) | {p.lab for p in collected.problems} & known))
    outcomes = [Outcome(p.student, p.lab, 0.0, _max_score(course, p.lab), p.status, p.reason)
                for p in collected.problems if p.lab]
    for outcome in outcomes:
        _write_failure_feedback(course, outcome)
    if not tasks:
        return outcomes
    (course.work_dir / ".workers").mkdir(exist_ok=True)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_worker, i, course, share, labs)
                   for i, share in enumerate(split(tasks, jobs))]
        finished = [future.result() for future in futures]
    try:
        for copy, results in finished:
            for graded in results:
                outcomes.append(_merge(course, copy, graded))
    finally:
        for copy, _ in finished:
            shutil.rmtree(copy, ignore_errors=True)
    return sorted(outcomes, key=lambda o: (o.lab, o.student))


def _max_score(course: Course, lab: str) -> float:
    try:
        with open_gradebook(course.work_dir, course.course_id) as gb:
            return float(gb.find_assignment(lab).max_score)
    except MissingEntry:
        return 0.0


def _merge(course: Course, copy: Path, graded: Graded) -> Outcome:
    """Move one student's grades, autograded notebooks and feedback into the course."""
    task = graded.task
    work = copy / "work"
    for kind in ("autograded", "feedback"):
        target = course.work_dir / kind / task.student / task.lab
        if target.exists():
            shutil.rmtree(target)
        produced = work / kind / task.student / task.lab
        if produced.is_dir():
            shutil.copytree(produced, target)
    notebooks = sorted((course.work_dir / "autograded" / task.student / task.lab).glob("*.ipynb"))
    graded_nbs = [nbformat.read(path, as_version=4) for path in notebooks]
    tampering = []
    for released in sorted((course.release_dir / task.lab).glob("*.ipynb")):
        handed_in = course.work_dir / "submitted" / task.student / task.lab / released.name
        if handed_in.is_file():
            tampering += compare_with_release(
                nbformat.read(handed_in, as_version=4), nbformat.read(released, as_version=4),
                nbformat.read(course.source_dir / task.lab / released.name, as_version=4),
            )
    with open_gradebook(work, course.course_id) as source, Gradebook(
        gradebook_url(course.work_dir), course.course_id
    ) as target:
        max_score = float(target.find_assignment(task.lab).max_score)
        try:
            target.remove_submission(task.lab, task.student)
        except MissingEntry:
            pass
        score, manual_pending = 0.0, False
        if graded.returncode == 0 and notebooks:
            score, manual_pending = _copy_grades(source, target, task)
    outcome = diagnose(task.student, task.lab, graded.returncode, graded.log, graded_nbs,
                       score, max_score, manual_pending, graded.seconds,
                       course.grading["notebook_timeout_s"], tampering)
    if outcome.status not in ("graded", "needs manual grading"):
        _write_failure_feedback(course, outcome)
    return outcome


def _copy_grades(source: Gradebook, target: Gradebook, task: Task) -> tuple[float, bool]:
    """Copy one submission's grades and comments; returns (score, written answers pending)."""
    submission = source.find_submission(task.lab, task.student)
    student = submission.student
    target.update_or_create_student(
        student.id, first_name=student.first_name, last_name=student.last_name,
        email=student.email, lms_user_id=student.lms_user_id,
    )
    target.add_submission(task.lab, task.student, timestamp=submission.timestamp)
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            copy = target.find_grade(grade.name, notebook.name, task.lab, task.student)
            for field in ("auto_score", "manual_score", "extra_credit", "needs_manual_grade"):
                setattr(copy, field, getattr(grade, field))
        for comment in notebook.comments:
            copy = target.find_comment(comment.name, notebook.name, task.lab, task.student)
            copy.auto_comment = comment.auto_comment
            copy.manual_comment = comment.manual_comment
        target.find_submission_notebook(notebook.name, task.lab, task.student).flagged = (
            notebook.flagged
        )
    target.db.commit()
    merged = target.find_submission(task.lab, task.student)
    return float(merged.score), bool(merged.needs_manual_grade)


def _write_failure_feedback(course: Course, outcome: Outcome) -> None:
    """A one-page feedback file for a submission nbgrader could not grade."""
    folder = course.work_dir / "feedback" / outcome.student / outcome.lab
    folder.mkdir(parents=True, exist_ok=True)
    page = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{outcome.lab}: feedback</title>"
        f"</head><body><h1>{html.escape(outcome.lab)}: {html.escape(outcome.student)}</h1>"
        f"<p>Score: {outcome.score:g} / {outcome.max_score:g} ({html.escape(outcome.status)})</p>"
        f"<p>{html.escape(outcome.reason)}</p></body></html>\n"
    )
    (folder / "grading_problem.html").write_text(page)
