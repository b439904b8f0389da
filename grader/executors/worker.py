"""One worker's grading, the same on this machine (executors/local.py) and on a Dask worker
(executors/dask.py): a private course copy (a gradebook holding the labs, the labs' source
notebooks, the worker's share of the submissions), then one sandboxed child `nbgrader autograde`
per student with a wall-clock limit, then the feedback pages. The coordinator merges the copy's
results into the course (grader/autograde.py).
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from .. import nbgrader_run, sandbox
from ..course import Course
from ..gradebook import extra_credit_cells, open_gradebook, register_extra_credit
from ..integrity import judged, review, withheld
from ..pipeline.rebuild import rebuild
from ..term.late import nbgrader_config

GRACE_S = 60  # extra wall time for nbgrader itself on top of the notebook limit


@dataclass(frozen=True)
class Task:
    student: str
    lab: str

    def __str__(self) -> str:
        return f"{self.student} {self.lab}"


@dataclass
class Graded:
    """What one child `nbgrader autograde` run left behind, and what the rebuild on the release
    put back or dropped (grader/pipeline/rebuild.py)."""

    task: Task
    returncode: int
    log: str
    seconds: float
    notes: list[str] = dataclasses.field(default_factory=list)
    review: str = ""  # why a person should look; its test cells are withheld (grader/integrity.py)


Progress = Callable[[list[Task]], None]  # told of the submissions graded since its last call
Finished = tuple[Path, list[Graded]]  # a course copy holding the results, and the results


def gradebook_url(work_dir: Path) -> str:
    return f"sqlite:///{work_dir / 'gradebook.db'}"


def quiet_add(gb: Gradebook):
    """The context to call nbgrader's Gradebook.add_submission in (update_or_create_submission
    calls it too), so that SQLAlchemy 2 does not warn.

    add_submission builds the submission's notebooks, grades and comments, and reads
    ``submission.assignment.notebooks`` while they are not yet in the database session; then it
    adds the submission, and with it, by cascade, all of them. SQLAlchemy 2 no longer puts such
    objects in the session along a backref, so that read autoflushes too early and warns three
    times per submission ("Object of type <SubmittedAssignment> not in session, add operation
    along 'Assignment.submissions' will not proceed", the same along 'Student.submissions' and
    for SubmittedNotebook), though nothing is lost. Without autoflush there is nothing to warn
    about. (SQLAlchemy 1.4 did not warn, but cannot be pinned: the scale extra's PostgreSQL
    driver is psycopg 3, the default of ``postgresql://`` URLs only from SQLAlchemy 2.1.)"""
    return gb.db.no_autoflush


def ensure_assignments(course: Course, labs: list[str], root: Path | None = None,
                       work: Path | None = None, db_url: str = "") -> None:
    """Make sure a gradebook knows each lab's graded cells (nbgrader needs them): the course's,
    or the one of a course copy (``root`` with solutions/, ``work``, ``db_url``)."""
    root, work, db_url = root or course.root, work or course.work_dir, db_url or course.gradebook_url
    work.mkdir(exist_ok=True)
    with open_gradebook(db_url, course.course_id) as gb:
        missing = []
        for lab in labs:
            try:
                if not gb.find_assignment(lab).notebooks:
                    missing.append(lab)
            except MissingEntry:
                missing.append(lab)
    scratch = work / ".release"
    config = nbgrader_run.course_config(root, work, course.course_id, release_dir=str(scratch),
                                        db_url=db_url)
    for lab in missing:
        done = nbgrader_run.run(config, ["generate_assignment", lab, "--force"], cwd=root)
        if done.returncode != 0:
            raise RuntimeError(f"nbgrader could not register {lab}:\n{done.stderr}")
    shutil.rmtree(scratch, ignore_errors=True)
    for lab in labs:
        register_extra_credit(db_url, course.course_id, lab)


def set_due_dates(course: Course, labs: list[str], db_url: str) -> None:
    """Write course.toml's due dates of ``labs`` into a gradebook (None: no due date)."""
    with open_gradebook(db_url, course.course_id) as gb:
        for lab in labs:
            gb.find_assignment(lab).duedate = course.late.due.get(lab)
        gb.db.commit()


def prepare_submissions(db_url: str, course: Course, tasks: list[Task]) -> None:
    """In a worker's gradebook, give each student of ``tasks`` their course.toml extension (or
    none) and forget the time of an earlier submission: nbgrader reads this one's from its
    timestamp.txt, and one without a timestamp.txt has no time."""
    with open_gradebook(db_url, course.course_id) as gb:
        for task in tasks:
            gb.update_or_create_student(task.student)
            with quiet_add(gb):
                gb.update_or_create_submission(task.lab, task.student, timestamp=None,
                                               extension=course.late.extension(task.lab, task.student))


def grade_tasks(index: int, course: Course, tasks: list[Task], labs: list[str],
                progress: Progress) -> Finished:
    """Grade ``tasks`` one after the other in a private course copy, telling ``progress`` of
    each; returns (copy, results)."""
    copy = Path(tempfile.mkdtemp(prefix=f"worker{index}-", dir=course.work_dir / ".workers"))
    runtime_root = tempfile.mkdtemp(prefix=f"rk{index}")  # short: IPC socket paths are limited
    work = copy / "work"
    work.mkdir()
    for lab in labs:
        shutil.copytree(course.source_dir / lab, copy / "solutions" / lab)
    private_gradebook(course, copy, labs)
    prepare_submissions(gradebook_url(work), course, tasks)
    rebuilt = {task: _copy_rebuilt(course, copy, task) for task in tasks}
    uid = sandbox.sandbox_uid(index)
    policy = sandbox.default_policy(course.grading, uid)
    config = nbgrader_run.course_config(
        copy, work, course.course_id, release_dir="release", grading=course.grading,
        policy=policy, runtime_root=runtime_root, show_hidden_tests=course.show_hidden_tests,
        late_penalty=nbgrader_config(course.late),
    )
    limit = course.grading["notebook_timeout_s"] + GRACE_S
    results = []
    try:
        for task in tasks:
            started = time.monotonic()
            args = ["autograde", task.lab, "--student", task.student, "--force"]
            done = nbgrader_run.run(config, args, timeout=limit, cwd=copy)
            seconds = time.monotonic() - started
            flagged = _judged_extras_and_review(course, copy, task) if done.returncode == 0 else ""
            results.append(Graded(task, done.returncode, done.stdout + done.stderr, seconds,
                                  rebuilt[task], flagged))
            progress([task])
        for lab in sorted({task.lab for task in tasks}):
            nbgrader_run.run(config, ["generate_feedback", lab, "--force"], cwd=copy,
                             timeout=course.grading["feedback_timeout_s"])
    finally:
        shutil.rmtree(runtime_root, ignore_errors=True)
    return copy, results


def _copy_rebuilt(course: Course, copy: Path, task: Task) -> list[str]:
    """Copy one submission into a worker's course copy, each notebook rebuilt on its released
    notebook (grader/pipeline/rebuild.py); returns what the rebuild put back or dropped."""
    target = copy / "work" / "submitted" / task.student / task.lab
    shutil.copytree(course.work_dir / "submitted" / task.student / task.lab, target)
    notes = []
    for released in sorted((course.release_dir / task.lab).glob("*.ipynb")):
        mine = target / released.name
        if mine.is_file():
            nb, said = rebuild(nbformat.read(mine, as_version=4),
                               nbformat.read(released, as_version=4),
                               course.grading["output_kb_per_cell"] * 1024)
            nbformat.write(nb, mine)
            notes += said
    return notes


def _judged_extras_and_review(course: Course, copy: Path, task: Task) -> str:
    """What a worker graded, finished: each optional test cell gets its points as extra credit
    when its judge passed (grader/gradebook.py); a notebook whose code reaches for the machinery
    (grader/integrity.py) has its test cells from the first flagged one on at 0, extra credit
    included, waiting for a person. Returns the review note."""
    notes = []
    extra = extra_credit_cells(course, task.lab)
    folder = copy / "work" / "autograded" / task.student / task.lab
    with open_gradebook(gradebook_url(copy / "work"), course.course_id) as gb:
        for path in sorted(folder.glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            for cell_id, passed in judged(nb).items():
                if (path.stem, cell_id) in extra:
                    grade = gb.find_grade(cell_id, path.stem, task.lab, task.student)
                    grade.extra_credit = extra[(path.stem, cell_id)] if passed else 0.0
            found = review(nb, nbformat.read(copy / "solutions" / task.lab / path.name, as_version=4))
            if not found.note:
                continue
            notes.append(found.note)
            for cell_id in withheld(nb, found.first):
                grade = gb.find_grade(cell_id, path.stem, task.lab, task.student)
                grade.auto_score, grade.needs_manual_grade = 0.0, True
                grade.extra_credit = 0.0 if (path.stem, cell_id) in extra else None
        gb.db.commit()
    return "; ".join(notes)


def private_gradebook(course: Course, copy: Path, labs: list[str]) -> None:
    """The SQLite gradebook of a course copy, holding ``labs``: a copy of the course's own when it
    is SQLite, else built from the copy's solutions/ (as nbgrader does on release)."""
    work = copy / "work"
    if course.gradebook_url.startswith("sqlite:///"):
        shutil.copyfile(course.gradebook_url[len("sqlite:///"):], work / "gradebook.db")
    else:
        ensure_assignments(course, labs, copy, work, gradebook_url(work))
        set_due_dates(course, labs, gradebook_url(work))
