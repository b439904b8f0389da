"""nbgrader's file exchange: the folder a JupyterHub's students fetch labs from and submit them to.

Layout (as nbgrader/exchange/default/*.py writes and reads it), under course.toml's [exchange] root:
  <course id>/outbound/<lab>/     the released lab, world-readable: the students fetch it
  <course id>/inbound/<student>+<lab>+<time>+<random>/
                                  one folder per submission, written by the student's own server
                                  (inbound/ lets students create folders but not list them); it holds
                                  the notebooks, timestamp.txt and submission_secret.txt
  <course id>/feedback/<hash>.html
                                  feedback pages; <hash> is the MD5 of the submission's secret and the
                                  notebook's name, so only the student who holds the secret finds it

publish():  labs/<lab>/ into outbound/, with nbgrader's folder modes.
collect():  every submission folder of inbound/ is checked with collect.py's checks (names, links
            and other non-regular files never followed, the size limit unzip_mb) and archived in
            course_work/exchange/<student>/<lab>/<time>+<random>/, so earlier ones are kept; the
            latest per student and lab goes to course_work/submissions/<student>/<lab>/, where
            `grader grade` takes it as from any other source, and its time is recorded as the
            trusted submission time (grader/term/late.py). That time is the one in the folder's
            name, which nbgrader's submit takes from the clock of the student's server. The
            student's own process writes the name, so it is checked against the file system: if
            the folder or a file in it last changed (ctime, which no user can set back) more than
            TIME_SLACK later, that later time is used, with a note. The folder must belong to the
            student ([exchange] owners: "system", the system user of that name, as on a hub whose
            users are system users; "hashed", the uid hashed_uid(student), which the generated
            Helm values give each student's pod; "any", not checked): else a student could hand in
            a newer submission in another student's name.
release_feedback():
            the sanitised pages of course_work/feedback/<student>/<lab>/ to feedback/<hash>.html,
            only where they were written for the submission collected last.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nbgrader.utils import notebook_hash, parse_utc

from .collect import MIB, NOT_FOLLOWED, Problem, case_twin, entries_of, read_bytes, shown, student_problem
from .course import Course
from .term.late import TRUSTED_TIMES, parse_timestamp, record_trusted_time, timestamp_text

TIME_SLACK = timedelta(minutes=5)  # a submission's copy and chmod after the time in its name
RANDOM = re.compile(r"[A-Za-z0-9_=-]{0,64}")  # the random part nbgrader's submit adds to a name
SECRET = re.compile(r"[0-9a-f]{16,256}")  # submission_secret.txt: secrets.token_hex(64)
COLLECTED = "collected.json"  # in course_work/exchange/: the submission taken per student and lab
FOLDER_MODE, FILE_MODE = 0o755, 0o644  # outbound/: readable by everyone
INBOUND_MODE, FEEDBACK_MODE, ROOT_MODE = 0o2733, 0o711, 0o777  # as nbgrader's release sets them


@dataclass
class Collection:
    """What collect() did: the submissions it took (student, lab, time), the folders it could not
    take, with the reason, and notes (times corrected, files left out)."""

    taken: list[tuple[str, str, datetime]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def course_folder(course: Course, root: Path | None) -> Path:
    """<root>/<course id>: ``root`` from the command line, else course.toml's [exchange] root."""
    return Path(root or course.exchange_root) / course.course_id


def hashed_uid(student: str) -> int:
    """The uid a student's server runs as where the uid is derived from the name (Kubernetes):
    100000 plus 30 bits of the name's SHA-256, the same in the Helm values and in collect."""
    return 100_000 + int.from_bytes(hashlib.sha256(student.encode()).digest()[:4], "big") % 2**30


def publish(course: Course, labs: list[str], root: Path | None = None) -> list[Path]:
    """Copy each lab's released folder (labs/<lab>/) to outbound/<lab>/, replacing an earlier one,
    and create the exchange's folders with nbgrader's modes. Returns the folders written."""
    here = course_folder(course, root)
    _ensure(here.parent, ROOT_MODE)
    for folder, mode in ((here, FOLDER_MODE), (here / "outbound", FOLDER_MODE),
                         (here / "inbound", INBOUND_MODE), (here / "feedback", FEEDBACK_MODE)):
        _ensure(folder, mode)
    written = []
    for lab in labs:
        source, target = course.release_dir / lab, here / "outbound" / lab
        if not any(source.glob("*.ipynb")):
            raise FileNotFoundError(f"{source} has no notebook: run `.venv/bin/grader release` first")
        staging = target.with_name(f".{lab}.new")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(source, staging, ignore=shutil.ignore_patterns(".*", "__pycache__", "checkpoints"))
        for folder, _, files in os.walk(staging):
            os.chmod(folder, FOLDER_MODE)
            for name in files:
                os.chmod(os.path.join(folder, name), FILE_MODE)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        written.append(target)
    return written


def _ensure(folder: Path, mode: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, mode)


def collect(course: Course, root: Path | None = None, labs: list[str] | None = None) -> Collection:
    """Archive every submission of inbound/ and put the latest per student and lab into
    course_work/submissions/, recording its time (module docstring)."""
    inbound, known = course_folder(course, root) / "inbound", set(course.labs())
    if not inbound.is_dir():
        raise FileNotFoundError(f"{inbound} not found: release the labs to the exchange first "
                                "(`.venv/bin/grader release --exchange`)")
    result, latest, folded = Collection(), {}, {}
    for folder, kind in entries_of(inbound):
        parsed = _parse_name(folder.name, kind, known, result)
        if parsed is None or parsed[1] not in set(labs or known):
            continue
        student, lab, moment = parsed
        twin = case_twin(student, folded)
        if twin:
            result.notes.append(f"students '{shown(twin)}' and '{shown(student)}' differ only in "
                                "letter case: check which is which")
        taken = _archive(course, folder, student, lab, moment, result)
        if taken:
            latest.setdefault((student, lab), []).append(taken)
    records = _read_collected(course)
    for (student, lab), submissions in sorted(latest.items()):
        submissions.sort(key=lambda item: item["time"])
        if len(submissions) > 1 and submissions[-1]["time"] == submissions[-2]["time"]:
            result.problems.append(Problem(student, lab, "invalid", "two submissions with the same "
                                           "time: neither taken (both are in course_work/exchange/)"))
            continue
        records[f"{student}/{lab}"] = _take(course, student, lab, submissions[-1])
        result.taken.append((student, lab, submissions[-1]["time"]))
    _write_collected(course, records)
    return result


def _parse_name(name: str, kind: str, known: set[str], result: Collection):
    """(student, lab, time in naive UTC) of an inbound folder's name, or None with a problem."""
    parts = name.split("+")
    if len(parts) not in (3, 4) or not RANDOM.fullmatch(parts[3] if len(parts) == 4 else ""):
        result.problems.append(Problem("(exchange)", "", "invalid", f"inbound entry '{shown(name)}' "
                                       "is not named <student>+<lab>+<time>+<random>: not taken"))
        return None
    student, lab = parts[0], parts[1]
    problem = ("a file, not a submission folder" if kind == "file" else
               student_problem(student, kind, known) or (
                   None if lab in known else f"no lab named '{shown(lab)}'"))
    try:
        moment = parse_utc(parts[2])  # naive UTC
    except (ValueError, OverflowError, TypeError):
        problem = problem or f"'{shown(parts[2])}' in the folder's name is not a time"
    if problem:
        result.problems.append(Problem(shown(student), shown(lab), "invalid",
                                       f"inbound entry '{shown(name)}': {problem}"))
        return None
    return student, lab, moment


def owner_problem(folder: Path, student: str, owners: str) -> str | None:
    """Why ``folder`` cannot be ``student``'s own submission ([exchange] owners), or None."""
    if owners == "any":
        return None
    uid = os.lstat(folder).st_uid
    if owners == "hashed":
        expected = hashed_uid(student)
    else:
        try:
            expected = pwd.getpwnam(student).pw_uid
        except KeyError:
            return f"there is no system user '{student}' ([exchange] owners = \"system\")"
    if uid != expected:
        return (f"the folder belongs to uid {uid}, not to {student} (uid {expected}): handed in "
                "under another student's name?")
    return None


def _archive(course: Course, folder: Path, student: str, lab: str, named: datetime,
             result: Collection) -> dict | None:
    """Check one submission folder and copy its notebooks and secret to course_work/exchange/;
    returns {"time", "folder", "archive": that copy, "secret"} or None with a problem."""
    reason = owner_problem(folder, student, course.exchange_owners)
    given = dict(entries_of(folder))
    expected = [path.name for path in course.notebooks(lab)]
    handed_in = [name for name in expected if folder / name in given]
    if not reason and not handed_in:
        reason = f"none of the lab's notebooks ({', '.join(expected)}) was handed in"
    notebooks = {}  # name -> content
    for name in [] if reason else handed_in:
        kind = given[folder / name]
        notebooks[name], why = (read_bytes(folder / name, course.grading["unzip_mb"] * MIB)
                                if kind == "file" else (None, NOT_FOLLOWED[kind]))
        reason = reason or (why and f"{name}: {why}")
    if reason:
        result.problems.append(Problem(student, lab, "invalid", f"'{shown(folder.name)}': {reason}"))
        return None
    secret, _ = read_bytes(folder / "submission_secret.txt", 1024)
    secret = secret.decode("ascii", "replace").strip() if secret else ""
    if not SECRET.fullmatch(secret):
        secret = ""
        result.notes.append(f"{student} ({lab}) '{shown(folder.name)}': no valid "
                            "submission_secret.txt: its feedback cannot go back through the exchange")
    moment = _checked_time(folder, named, student, lab, result)
    random = "".join(folder.name.split("+")[3:])
    archive = course.work_dir / "exchange" / student / lab / f"{moment:%Y-%m-%dT%H%M%S.%fZ}+{random}"
    archive.mkdir(parents=True, exist_ok=True)
    for name, data in notebooks.items():
        (archive / name).write_bytes(data)
    (archive / "submission.json").write_text(json.dumps(
        {"folder": folder.name, "time": timestamp_text(moment).strip(), "secret": secret}))
    return {"time": moment, "folder": folder.name, "archive": archive, "notebooks": list(notebooks),
            "secret": secret}


def _checked_time(folder: Path, named: datetime, student: str, lab: str, result: Collection) -> datetime:
    """The time in the folder's name, or when the folder or a file in it last changed if that is
    more than TIME_SLACK later (naive UTC)."""
    changed = max(os.lstat(path).st_ctime for path in [folder, *(p for p, _ in entries_of(folder))])
    changed_at = datetime.fromtimestamp(changed, UTC).replace(tzinfo=None)
    if changed_at <= named + TIME_SLACK:
        return named
    result.notes.append(f"{student} ({lab}) '{shown(folder.name)}': changed at "
                        f"{changed_at:%Y-%m-%d %H:%M:%S} UTC, after the time in its name: the later "
                        "time is used")
    return changed_at


def _take(course: Course, student: str, lab: str, submission: dict) -> dict:
    """Write the submission's notebooks to course_work/submissions/<student>/<lab>/ and record its
    time as trusted; returns its record for COLLECTED."""
    target = course.work_dir / "submissions" / student / lab
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in submission["notebooks"]:
        shutil.copyfile(submission["archive"] / name, target / name)
    first = target / submission["notebooks"][0]
    record_trusted_time(course.work_dir / TRUSTED_TIMES, student, lab, first, submission["time"],
                        f"the nbgrader exchange, {submission['folder']}")
    return {"folder": submission["folder"], "time": timestamp_text(submission["time"]).strip(),
            "secret": submission["secret"]}


def _read_collected(course: Course) -> dict:
    path = course.work_dir / "exchange" / COLLECTED
    return json.loads(path.read_text()) if path.is_file() else {}


def _write_collected(course: Course, records: dict) -> None:
    path = course.work_dir / "exchange" / COLLECTED
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=1, sort_keys=True))


def release_feedback(course: Course, root: Path | None = None) -> tuple[list[str], list[str]]:
    """Copy each collected submission's feedback pages to feedback/<hash>.html.

    returns: (the '<student>/<lab>' released, why others were not)
    """
    here = course_folder(course, root) / "feedback"
    _ensure(here, FEEDBACK_MODE)
    released, skipped = [], []
    for key, record in sorted(_read_collected(course).items()):
        pages = course.work_dir / "feedback" / key
        why = _not_releasable(pages, record)
        if why:
            skipped.append(f"{key}: {why}")
            continue
        for page in sorted(pages.glob("*.html")):
            digest = notebook_hash(secret=record["secret"], notebook_id=page.stem)
            staging = here / f".{digest}.new"
            shutil.copyfile(page, staging)
            os.chmod(staging, FILE_MODE)
            staging.replace(here / f"{digest}.html")
        released.append(key)
    return released, skipped


def _not_releasable(pages: Path, record: dict) -> str | None:
    """Why the pages in ``pages`` cannot go back for the submission ``record``, or None."""
    if not record["secret"]:
        return "its submission had no valid submission_secret.txt"
    if not any(pages.glob("*.html")):
        return "no feedback page yet (grade, then `grader feedback --release`)"
    stamp = pages / "timestamp.txt"
    graded = parse_timestamp(stamp.read_text(), "UTC") if stamp.is_file() else None
    if graded != parse_timestamp(record["time"], "UTC"):
        return "the feedback is for another submission than the one collected last: grade again"
    return None
