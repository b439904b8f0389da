"""Due dates and late work: course.toml's [late], [due] and [extensions], and what they do to a score.

  [late]
  penalty = "per-day"         # none: late work is only marked | zero | per-day
  points_per_day = 1.0        # per-day: points off for each day or part of a day past the due date
  timezone = "Europe/Zurich"  # for dates and submission times written without a UTC offset (UTC)
  [due]
  "01_char_lstm_keras" = 2026-10-05T23:59:00       # a TOML date-time, with or without an offset
  [extensions."01_char_lstm_keras"]
  ada = 2026-10-08T23:59:00                         # ada's own due date for that lab

Submission times are trusted only from the grader itself: `grader intake` records the time the
LMS stored with each file of its download in course_work/submission_times.json (TRUSTED_TIMES),
keyed by student and lab, with the notebook's SHA-256; collect writes that time as nbgrader's
`timestamp.txt` (ISO 8601) into submitted/ only while the notebook is still the one intake took
in, or else collect's own clock where asked (`grade --received-now`). A `timestamp.txt` that
comes with a submission (a student's folder or zip) is ignored and the
reason column says so. A lab with a due date whose submission has no trusted time is graded as
on time and marked "no submission time" in grades.csv.

nbgrader applies the penalty while it autogrades (AssignLatePenalties with the plugin configured
here) and its feedback pages show it. grades.csv works it out again from the current score each
time it is written, and `grader feedback` sets it again before writing the pages, so points a
person gives later (written answers) are penalised the same way; it comes off the lab's required
score first, then off its extra credit.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float

PENALTIES = ("none", "zero", "per-day")
DAY_S = 86400
TRUSTED_TIMES = "submission_times.json"  # in course_work/: written by intake, read by collect


@dataclass(frozen=True)
class LatePolicy:
    """course.toml's late-work settings; every datetime is naive UTC, as nbgrader stores them."""

    penalty: str = "none"
    points_per_day: float = 0.0
    timezone: str = "UTC"
    due: dict[str, datetime] = field(default_factory=dict)
    extensions: dict[str, dict[str, datetime]] = field(default_factory=dict)

    def extension(self, lab: str, student: str) -> timedelta | None:
        """How much later than the lab's due date ``student`` may hand in (None: no extension)."""
        own = self.extensions.get(lab, {}).get(student)
        return None if own is None else own - self.due[lab]

    def is_late(self, lab: str, student: str, moment: datetime) -> bool:
        """Whether ``student`` handing ``lab`` in at ``moment`` (naive UTC) is past their due date."""
        if lab not in self.due:
            return False
        return moment > self.due[lab] + (self.extension(lab, student) or timedelta(0))

    def penalty_for(self, seconds_late: float, score: float) -> float:
        """Points taken off a lab submitted ``seconds_late`` after its due date with ``score``."""
        if seconds_late <= 0 or self.penalty == "none":
            return 0.0
        if self.penalty == "zero":
            return score
        return min(score, math.ceil(seconds_late / DAY_S) * self.points_per_day)


def read_policy(config: dict, source: str) -> LatePolicy:
    """The LatePolicy of a parsed course.toml (``source`` names it in errors)."""
    late, due, extensions = (config.get(key, {}) for key in ("late", "due", "extensions"))
    unknown = sorted(set(late) - {"penalty", "points_per_day", "timezone"})
    if unknown:
        raise ValueError(f"{source}: unknown [late] key(s) {', '.join(unknown)}; known: penalty, "
                         "points_per_day, timezone")
    penalty = late.get("penalty", "none")
    if penalty not in PENALTIES:
        raise ValueError(f"{source}: [late] penalty must be one of {', '.join(PENALTIES)}, "
                         f"not {penalty!r}")
    points = late.get("points_per_day", 0)
    if penalty == "per-day" and (not isinstance(points, int | float) or points <= 0):
        raise ValueError(f"{source}: [late] penalty = \"per-day\" needs points_per_day, a number > 0")
    zone = late.get("timezone", "UTC")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"{source}: [late] timezone {zone!r} is not a time zone name such as "
                         "\"UTC\" or \"Europe/Zurich\"") from error
    dues = {lab: _toml_datetime(value, zone, f"{source}: [due] {lab}") for lab, value in due.items()}
    own = {}
    for lab, students in extensions.items():
        if lab not in dues:
            raise ValueError(f"{source}: [extensions.\"{lab}\"] but [due] has no date for {lab}")
        own[lab] = {student: _toml_datetime(value, zone, f"{source}: [extensions.\"{lab}\"] {student}")
                    for student, value in students.items()}
    return LatePolicy(penalty, float(points), zone, dues, own)


def _toml_datetime(value, zone: str, where: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            pass
    if not isinstance(value, datetime):
        kind = "a date without a time" if isinstance(value, date) else repr(value)
        raise ValueError(f"{where}: expected a date and time such as 2026-10-05T23:59:00, got {kind}")
    return as_utc(value, zone)


def as_utc(moment: datetime, zone: str) -> datetime:
    """``moment`` in naive UTC; a naive ``moment`` is read in ``zone``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.astimezone(UTC).replace(tzinfo=None)


def parse_timestamp(text: str, zone: str) -> datetime:
    """A submission time as written in timestamp.txt, in naive UTC; ValueError if unreadable."""
    text = text.strip()
    if text.endswith(" UTC"):  # nbgrader's own format
        text = text[:-4] + "+00:00"
    try:
        return as_utc(datetime.fromisoformat(text), zone)
    except (ValueError, OverflowError):  # a date at the edge of the calendar overflows in UTC
        raise ValueError(f"'{text[:40]}' is not a date and time (write e.g. 2026-10-05T21:59:00Z)"
                         ) from None


def timestamp_text(moment: datetime) -> str:
    """What timestamp.txt holds for ``moment`` (naive UTC): ISO 8601 with its offset."""
    return moment.isoformat() + "+00:00\n"


def file_digest(path) -> str:
    """The SHA-256 of a regular file (never following a link), hex."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    digest = hashlib.sha256()
    with os.fdopen(fd, "rb") as handle:
        while chunk := handle.read(2**20):
            digest.update(chunk)
    return digest.hexdigest()


def read_trusted_times(path) -> dict[str, dict]:
    """The trusted times of TRUSTED_TIMES ('<student>/<lab>' -> time, notebook, sha256, origin);
    empty when the file is absent."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return {}
    except ValueError as error:
        raise ValueError(f"{path} is not valid JSON ({error}): correct it, or run intake again"
                         ) from None


def record_trusted_time(path, student: str, lab: str, notebook, moment: datetime,
                        origin: str) -> None:
    """Record that intake took in ``notebook`` (the file it wrote) for ``student`` and ``lab``
    at ``moment`` (naive UTC), as the LMS's download ``origin`` says."""
    times = read_trusted_times(path)
    times[f"{student}/{lab}"] = {"time": timestamp_text(moment).strip(), "notebook": notebook.name,
                                 "sha256": file_digest(notebook), "origin": origin}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(times, handle, indent=1, sort_keys=True)


def trusted_time(times: dict[str, dict], student: str, lab: str, lab_dir
                 ) -> tuple[datetime | None, str]:
    """(the submission time intake recorded, or None; a note when there is a record that does not
    fit) for the notebook now in ``lab_dir``."""
    record = times.get(f"{student}/{lab}")
    if record is None:
        return None, ""
    try:
        same = file_digest(os.path.join(lab_dir, record["notebook"])) == record["sha256"]
    except OSError:
        same = False
    if not same:
        return None, (f"{record['notebook']} is not the file intake took in from {record['origin']}: "
                      "submission time unknown (run intake again)")
    try:
        return parse_timestamp(record["time"], "UTC"), ""
    except ValueError as error:
        raise ValueError(f"{TRUSTED_TIMES}, {student}/{lab}: {error}") from None


def nbgrader_config(policy: LatePolicy) -> dict:
    """nbgrader's configuration for the policy's penalty (AssignLatePenalties' plugin)."""
    if policy.penalty == "per-day":
        return {"AssignLatePenalties": {"plugin_class": "grader.term.late.PerDayPenalty"},
                "PerDayPenalty": {"points_per_day": policy.points_per_day}}
    return {"LateSubmissionPlugin": {"penalty_method": policy.penalty}}


class PerDayPenalty(LateSubmissionPlugin):
    """nbgrader plugin: ``points_per_day`` off for each day or part of a day late, at most the score."""

    points_per_day = Float(0.0, help="points off per started day past the due date").tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float:
        return LatePolicy("per-day", self.points_per_day).penalty_for(total_seconds_late, score)


def after_penalty(required: float, extra: float, penalty: float) -> tuple[float, float]:
    """(required, extra) points once ``penalty`` is taken off, required points first."""
    left_over = max(0.0, penalty - required)
    return max(0.0, required - penalty), max(0.0, extra - left_over)


def late_note(submission, policy: LatePolicy, penalty: float) -> str:
    """The `late` column of grades.csv for an nbgrader SubmittedAssignment: '' when its lab has
    no due date, else 'on time', 'late by 1 d 3 h: -2 points', or why the time is unknown."""
    lab = submission.assignment.name
    if lab not in policy.due:
        return ""
    extended = " (extension)" if submission.extension else ""
    if submission.timestamp is None:
        return "no submission time: counted as on time"
    seconds = submission.total_seconds_late
    if seconds <= 0:
        return "on time" + extended
    days, rest = divmod(math.ceil(seconds / 60), 24 * 60)
    hours, minutes = divmod(rest, 60)
    span = f"{days} d {hours} h" if days else f"{hours} h {minutes} min" if hours else f"{minutes} min"
    return f"late by {span}{extended}: {_cost(policy, seconds, penalty)}"


def _cost(policy: LatePolicy, seconds_late: float, penalty: float) -> str:
    """The penalty with its rule, and the cap where it applied: '-2 points (1 per started day
    late, 2 days)', '-3 points (1 per started day late, 7 days, at most the score)'."""
    if policy.penalty == "none":
        return "no penalty (late work is only marked)"
    points = f"-{penalty:g} point{'s' if penalty != 1 else ''}"
    if policy.penalty == "zero":
        return f"{points} (late work scores 0)"
    days = math.ceil(seconds_late / DAY_S)
    capped = ", at most the score" if penalty < days * policy.points_per_day else ""
    return (f"{points} ({policy.points_per_day:g} per started day late, {days} "
            f"day{'s' if days != 1 else ''}{capped})")
