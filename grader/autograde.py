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

import dataclasses
import html
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from . import nbgrader_run, sandbox
from .collect import STUDENT_ID, Collected
from .course import SHARD_SIZE, Course
from .feedback import sanitise_folder
from .gradebook import (
    SCORED,
    extra_credit_cells,
    is_extra_credit_test,
    max_score,
    open_gradebook,
    register_extra_credit,
    scored,
    waiting,
)
from .integrity import judged, review, withheld
from .late import nbgrader_config
from .pipeline.rebuild import rebuild
from .report import Outcome, compare_with_release, diagnose, summary

GRACE_S = 60  # extra wall time for nbgrader itself on top of the notebook limit


@dataclass(frozen=True)
class Task:
    student: str
    lab: str


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


def gradebook_url(work_dir: Path) -> str:
    return f"sqlite:///{work_dir / 'gradebook.db'}"


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
            gb.update_or_create_submission(task.lab, task.student, timestamp=None,
                                           extension=course.late.extension(task.lab, task.student))


def _worker(
    index: int, course: Course, tasks: list[Task], labs: list[str]
) -> tuple[Path, list[Graded]]:
    """Grade ``tasks`` one after the other in a private course copy; returns (copy, results)."""
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


def split(tasks: list[Task], jobs: int) -> list[list[Task]]:
    """Deal tasks round-robin over at most ``jobs`` workers (none of them empty)."""
    jobs = max(1, min(jobs, len(tasks)))
    return [tasks[i::jobs] for i in range(jobs)]


def autograde(
    course: Course, collected: Collected, jobs: int = 1, scheduler: str = "",
    shard_size: int = SHARD_SIZE,
) -> list[Outcome]:
    """Grade every collected submission with ``jobs`` local workers, or on the Dask cluster at
    ``scheduler`` in shards of ``shard_size`` students (grader/cluster.py); one Outcome per
    submission."""
    tasks = [Task(student, lab) for student, lab in collected.submissions]
    labs = sorted({task.lab for task in tasks})
    known = set(course.labs())
    ensure_assignments(course, sorted(set(labs) | {p.lab for p in collected.problems} & known))
    unknown = sorted(set(course.late.due) - known)
    if unknown:
        raise ValueError(f"course.toml [due] names {', '.join(unknown)}, which is not a lab of this "
                         f"course: the labs are {', '.join(sorted(known))}")
    set_due_dates(course, labs, course.gradebook_url)
    outcomes = [Outcome(p.student, p.lab, 0.0, max_score(course, p.lab) if p.lab in known else 0.0,
                        p.status, p.reason) for p in collected.problems]
    for outcome in outcomes:
        if outcome.lab in known and STUDENT_ID.fullmatch(outcome.student):
            _write_failure_feedback(course, outcome)
    if not tasks:
        return outcomes
    (course.work_dir / ".workers").mkdir(exist_ok=True)
    if scheduler:
        from .cluster import grade_on_cluster  # Dask: the optional `scale` extra

        finished = grade_on_cluster(course, tasks, scheduler, shard_size)
    else:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_worker, i, course, share, labs)
                       for i, share in enumerate(split(tasks, jobs))]
            finished = [future.result() for future in futures]
    merging = time.monotonic()
    try:
        for copy, results in finished:
            for graded in results:
                task = graded.task
                outcomes.append(_merge(course, copy, graded,
                                       collected.notes.get((task.student, task.lab), [])
                                       + graded.notes))
    finally:
        for copy, _ in finished:
            shutil.rmtree(copy, ignore_errors=True)
    print(f"merged {len(tasks)} submission(s) into the gradebook in {time.monotonic() - merging:.1f} s")
    return sorted(outcomes, key=lambda o: (o.lab, o.student))


def _merge(course: Course, copy: Path, graded: Graded, notes: list[str]) -> Outcome:
    """Move one student's grades, autograded notebooks and feedback into the course; grades a
    person already gave (written answers, overrides, comments) are kept.

    notes: what collect() repaired in the submission, for the reason column
    """
    task = graded.task
    work = copy / "work"
    for kind in ("autograded", "feedback"):
        target = course.work_dir / kind / task.student / task.lab
        if target.exists():
            shutil.rmtree(target)
        _copy_regular_files(work / kind / task.student / task.lab, target)
    notebooks = sorted((course.work_dir / "autograded" / task.student / task.lab).glob("*.ipynb"))
    graded_nbs = [nbformat.read(path, as_version=4) for path in notebooks]
    notes, reviews = list(notes), [graded.review] if graded.review else []
    for released in sorted((course.release_dir / task.lab).glob("*.ipynb")):
        handed_in = course.work_dir / "submitted" / task.student / task.lab / released.name
        if handed_in.is_file():
            mine, theirs = nbformat.read(handed_in, as_version=4), nbformat.read(released, as_version=4)
            notes += compare_with_release(
                mine, theirs, nbformat.read(course.source_dir / task.lab / released.name, as_version=4)
            )
    with open_gradebook(gradebook_url(work), course.course_id) as source, open_gradebook(
        course.gradebook_url, course.course_id
    ) as target:
        max_score = float(target.find_assignment(task.lab).max_score)
        extra_max = sum(extra_credit_cells(course, task.lab).values(), 0.0)
        given = _marks_given(target, task)
        try:
            target.remove_submission(task.lab, task.student)
        except MissingEntry:
            pass
        (score, extra, late), manual_pending, held = (0.0, 0.0, ""), False, False
        if graded.returncode == 0 and notebooks:
            _copy_grades(source, target, task, given)
            submission = target.find_submission(task.lab, task.student)
            manual_pending, held = waiting(submission)
            score, extra, late = scored(submission, course.late)
    outcome = diagnose(task.student, task.lab, graded.returncode, graded.log, graded_nbs,
                       score, max_score, manual_pending, graded.seconds,
                       course.grading["notebook_timeout_s"], notes,
                       cell_timeout=course.grading["cell_timeout_s"])
    status = "needs review" if held and outcome.status in SCORED else outcome.status
    outcome = dataclasses.replace(outcome, status=status, review="; ".join(reviews),
                                  extra=round(extra, 2), extra_max=extra_max, late=late)
    if outcome.status not in SCORED:
        _write_failure_feedback(course, outcome)
    else:
        sanitise_folder(course.work_dir / "feedback" / task.student / task.lab,
                        [summary(outcome), *reviews])
    return outcome


def _copy_regular_files(source: Path, target: Path) -> None:
    """Copy the regular files of ``source`` into ``target`` (never links, pipes or devices)."""
    if source.is_symlink() or not source.is_dir():
        return
    target.mkdir(parents=True)
    for entry in os.scandir(source):
        if entry.is_file(follow_symlinks=False):
            shutil.copyfile(entry.path, target / entry.name, follow_symlinks=False)


@dataclass
class Marks:
    """What a person gave one submission: (notebook, cell) -> (manual score, extra credit), and
    (notebook, cell) -> manual comment."""

    grades: dict[tuple[str, str], tuple[float | None, float | None]]
    comments: dict[tuple[str, str], str]


def _marks_given(gradebook: Gradebook, task: Task) -> Marks:
    try:
        submission = gradebook.find_submission(task.lab, task.student)
    except MissingEntry:
        return Marks({}, {})
    grades = {(nb.name, g.name): (g.manual_score, g.extra_credit) for nb in submission.notebooks
              for g in nb.grades if g.manual_score is not None
              or (g.extra_credit is not None and not is_extra_credit_test(g))}
    comments = {(nb.name, c.name): c.manual_comment for nb in submission.notebooks
                for c in nb.comments if c.manual_comment}
    return Marks(grades, comments)


def accept(course: Course, lab: str, student: str) -> float:
    """Give back the test cells withheld for review (grader/integrity.py) the points the judge
    gave them, as kept in the autograded notebook (extra credit for an optional one); returns
    the points given back."""
    folder = course.work_dir / "autograded" / student / lab
    if not folder.is_dir():
        raise ValueError(f"no graded submission of {lab} by {student} in {folder.parent.parent}")
    extra, given = extra_credit_cells(course, lab), 0.0
    with open_gradebook(course.gradebook_url, course.course_id) as gb:
        for path in sorted(folder.glob("*.ipynb")):
            for cell_id, passed in judged(nbformat.read(path, as_version=4)).items():
                grade = gb.find_grade(cell_id, path.stem, lab, student)
                if not grade.needs_manual_grade or grade.manual_score is not None:
                    continue
                worth = extra.get((path.stem, cell_id), float(grade.max_score)) if passed else 0.0
                if (path.stem, cell_id) in extra:
                    grade.auto_score, grade.extra_credit = 0.0, worth
                else:
                    grade.auto_score = worth
                grade.needs_manual_grade = False
                given += worth
        gb.db.commit()
    return given


def refresh_penalties(course: Course) -> None:
    """Apply course.toml's late rules to every submission as they stand now: its extension (one
    granted after grading counts too) and nbgrader's late penalty from its current score (manual
    grades included), so that feedback pages show what grades.csv counts."""
    with open_gradebook(course.gradebook_url, course.course_id) as gb:
        for assignment in gb.assignments:
            for submission in gb.assignment_submissions(assignment.name):
                if assignment.name in course.late.due:
                    submission.extension = course.late.extension(assignment.name, submission.student.id)
        gb.db.commit()
        for assignment in gb.assignments:
            for submission in gb.assignment_submissions(assignment.name):
                left = course.late.penalty_for(submission.total_seconds_late, float(submission.score))
                for notebook in submission.notebooks:
                    notebook.late_submission_penalty = min(left, float(notebook.score)) or None
                    left -= notebook.late_submission_penalty or 0.0
        gb.db.commit()


def _copy_grades(source: Gradebook, target: Gradebook, task: Task, given: Marks) -> None:
    """Copy one submission's grades and comments, then put back what a person had ``given``."""
    submission = source.find_submission(task.lab, task.student)
    student = submission.student
    target.update_or_create_student(
        student.id, first_name=student.first_name, last_name=student.last_name,
        email=student.email, lms_user_id=student.lms_user_id,
    )
    target.add_submission(task.lab, task.student, timestamp=submission.timestamp,
                          extension=submission.extension)
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            copy = target.find_grade(grade.name, notebook.name, task.lab, task.student)
            for field in ("auto_score", "manual_score", "extra_credit", "needs_manual_grade"):
                setattr(copy, field, getattr(grade, field))
            if (notebook.name, grade.name) in given.grades:
                copy.manual_score, copy.extra_credit = given.grades[(notebook.name, grade.name)]
                copy.needs_manual_grade = False
        for comment in notebook.comments:
            copy = target.find_comment(comment.name, notebook.name, task.lab, task.student)
            copy.auto_comment = comment.auto_comment
            copy.manual_comment = given.comments.get((notebook.name, comment.name),
                                                     comment.manual_comment)
        copied = target.find_submission_notebook(notebook.name, task.lab, task.student)
        copied.flagged, copied.late_submission_penalty = notebook.flagged, notebook.late_submission_penalty
    target.db.commit()


def _write_failure_feedback(course: Course, outcome: Outcome) -> None:
    """A one-page feedback file for a submission nbgrader could not grade."""
    folder = course.work_dir / "feedback" / outcome.student / outcome.lab
    folder.mkdir(parents=True, exist_ok=True)
    page = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{outcome.lab}: feedback</title>"
        f"</head><body><h1>{html.escape(outcome.lab)}: {html.escape(outcome.student)}</h1>"
        f"<p>{html.escape(summary(outcome))}</p>"
        f"<p>{html.escape(outcome.reason)}</p></body></html>\n"
    )
    (folder / "grading_problem.html").write_text(page)
