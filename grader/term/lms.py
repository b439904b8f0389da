"""Canvas and Moodle, both ways: take in their submission downloads, write their gradebook imports.

The roster (a CSV with a header, one row per student) ties the course's ids to the LMS's:
  student    the course's id, the folder name grading uses (letters, digits, '_', '.', '-')
  name       the full name as the LMS shows it (used only to warn about a mismatch)
  canvas_id  Canvas user id (numeric)          sis_id  SIS user id (optional column)
  moodle_id  Moodle participant id (numeric)   email   the address Moodle knows the student by
  moodle_id:<lab>  (optional, one column per lab) the participant id in that lab's assignment
An identifier may be left empty where the course does not use that LMS; ids must be unique.
Moodle numbers participants per assignment (its assign_user_mapping table), so a student's
id changes from lab to lab: moodle_id serves the labs without a moodle_id:<lab> column; fill
those from each assignment's grading worksheet ("Download grading worksheet": its Identifier
column reads "Participant <id>", next to the Email address). Moodle writes the full name
with '_' turned into spaces, after a group name and '-' in group assignments; the name is
only checked, as a warning.

Intake reads one assignment's (= one lab's) "download all submissions" zip:
  Canvas  flat files  <loginname or lastnamefirstname>_[LATE_]<user id>_<submission id>_<file>
          (LATE_ when Canvas flagged the submission late; a re-submitted file gets -1, -2 ...
          before its extension, e.g. lab01-1.ipynb)
  Moodle  flat files  <Full Name>_<participant id>_assignsubmission_file_<file>
          or folders  <Full Name>_<participant id>_assignsubmission_file/<file>
A file is mapped by its numeric id, never by its name, to dest/<student>/<lab>/<notebook>; the
time the zip stores for it (read in course.toml's [late] timezone) is recorded in
course_work/submission_times.json, the trusted submission time grading compares with the due
date (grader/term/late.py); the name is only compared with the roster's, as a warning. Only .ipynb
files are submissions. Nothing is guessed: an unknown id, a name off the convention, a file that
is not a notebook, a hidden file an archiver added (__MACOSX/, dot-files) is reported as
unmapped; two notebooks from one student, or an unknown id whose name matches several roster
students, as ambiguous; roster students without a file as missing. Zip entries are checked and
extracted with collect.py's helpers (unsafe entries skipped, names in Unicode NFC, size limit);
names that differ only in letter case are warned about. `looks_like_download` tells `grade` that
a zip is such a download, to be taken in first.

Export writes a gradebook CSV the LMS imports, one row per roster student, one column per lab:
  canvas  Student, ID, SIS User ID, SIS Login ID, Section (as Canvas's own export; it matches
          rows by ID), then '<lab>' per lab: Canvas matches a column to the assignment of that
          name, and asks on import what an unmatched column is (an assignment, or a new one)
  moodle  Email address, then '<lab>' per lab; Moodle's import maps the identifier column to
          'Email address' and each lab column to its grade item
  csv     student, then '<lab>' per lab
A cell holds the lab's required score (Outcome.score); extra-credit points, where a lab has
any, get their own column '<lab> extra'. A student without an outcome gets an empty cell.
"""

from __future__ import annotations

import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..collect import MIB, STUDENT_ID, _extract, _zip_entry_problem, case_twin, entry_name, hidden_part, shown
from ..course import GRADING_DEFAULTS
from ..report import PROVISIONAL, Outcome
from ..text import read_rows, write_rows
from .late import TRUSTED_TIMES, as_utc, record_trusted_time

LMSES = ("canvas", "moodle")
FORMATS = (*LMSES, "csv")
ROSTER_COLUMNS = ("student", "name", "canvas_id", "moodle_id", "email")
PER_LAB = "moodle_id:"

CANVAS_NAME = re.compile(r"(?P<name>[^/]+?)_(?P<late>LATE_)?(?P<id>\d+)_\d+_(?P<file>[^/]+)")
MOODLE_NAME = re.compile(r"(?P<name>[^/]+)_(?P<id>\d+)_assignsubmission_file[_/](?P<file>[^/]+)")
RESUBMITTED = re.compile(r"-\d+(?=\.ipynb$)")


@dataclass(frozen=True)
class RosterEntry:
    """One student: the course's id, the name the LMS shows, and the LMS's identifiers."""

    student: str
    name: str
    canvas_id: str = ""
    sis_id: str = ""
    moodle_id: str = ""
    email: str = ""
    moodle_ids: dict[str, str] = field(default_factory=dict, compare=False)  # lab -> id

    def lms_id(self, lms: str, lab: str) -> str:
        """The id the LMS's download names this student by in ``lab`` ('' when unknown)."""
        if lms == "canvas":
            return self.canvas_id
        return self.moodle_ids.get(lab) or self.moodle_id


@dataclass(frozen=True)
class Entry:
    """A file of the LMS zip and what intake made of it (reason: why, or a warning)."""

    file: str
    student: str = ""
    reason: str = ""


@dataclass
class IntakeReport:
    """What intake did with each file of the zip, and who handed nothing in.

    mapped:     files written to dest/<student>/<lab>/<notebook> (reason: a warning, or '')
    unmapped:   files not taken, with the reason
    ambiguous:  files not taken because they could belong to several students or one student
                sent several notebooks
    missing:    roster students with no notebook in the zip
    late:       per roster student with a file: True/False when the LMS says (Canvas), else None
    times:      per roster student with a file: the time stored with it in the zip (naive UTC)
    warnings:   names that differ only in letter case
    """

    mapped: list[Entry] = field(default_factory=list)
    unmapped: list[Entry] = field(default_factory=list)
    ambiguous: list[Entry] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    late: dict[str, bool | None] = field(default_factory=dict)
    times: dict[str, datetime] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def read_roster(path: Path) -> list[RosterEntry]:
    """The roster CSV's rows, checked: required columns present, student ids valid and unique,
    each non-empty LMS id numeric (Canvas, Moodle) and unique in its column. Errors name the row."""
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        columns, rows = read_rows(handle)
    absent = [column for column in ROSTER_COLUMNS if column not in columns]
    if absent:
        raise ValueError(f"roster {path} lacks column(s) {', '.join(absent)}: its header must "
                         f"be {','.join(ROSTER_COLUMNS)} (sis_id and {PER_LAB}<lab> optional)")
    numeric = [c for c in columns if c in ("canvas_id", "moodle_id") or c.startswith(PER_LAB)]
    seen: dict[tuple[str, str], int] = {}
    roster = []
    for number, raw in enumerate(rows, start=2):
        row = {key: (value or "").strip() for key, value in raw.items() if key is not None}
        where = f"roster {path}, row {number}"
        if not STUDENT_ID.fullmatch(row["student"]):
            raise ValueError(f"{where}: student '{shown(row['student'])}' must be 1-100 letters, "
                             "digits, '_', '.', '-' starting with a letter or digit")
        for column in numeric:
            if row[column] and not row[column].isdigit():
                raise ValueError(f"{where}: {column} '{shown(row[column])}' is not a number "
                                 "(the LMS's id)")
        for column in ["student", "sis_id", "email", *numeric]:
            value = row.get(column, "")
            if value and (column, value) in seen:
                raise ValueError(f"{where}: {column} '{shown(value)}' is also on row "
                                 f"{seen[(column, value)]}")
            seen[(column, value)] = number
        per_lab = {c.removeprefix(PER_LAB): row[c] for c in numeric if c.startswith(PER_LAB)}
        roster.append(RosterEntry(row["student"], row["name"], row["canvas_id"],
                                  row.get("sis_id", ""), row["moodle_id"], row["email"],
                                  {lab: value for lab, value in per_lab.items() if value}))
    return roster


def _squeezed(text: str) -> str:
    """Lowercase letters and digits only: how Canvas writes a name into a file name."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


def _names(entry: RosterEntry) -> set[str]:
    """The squeezed forms of a student's name a download may carry: 'John Smith', 'smithjohn',
    the login (email's local part)."""
    words = entry.name.split()
    return {_squeezed(entry.name), _squeezed("".join(words[-1:] + words[:-1])),
            _squeezed(entry.email.split("@")[0])} - {""}


def _parse(lms: str, name: str) -> tuple[str, str, str, bool | None] | None:
    """(name in the file name, LMS id, original file name, late) of a zip entry, or None when
    it does not follow the LMS's convention."""
    if lms == "canvas":
        match = CANVAS_NAME.fullmatch(name)
        return match and (match["name"], match["id"], match["file"], bool(match["late"]))
    match = MOODLE_NAME.fullmatch(name)
    return match and (match["name"], match["id"], match["file"], None)


def _claim(lms: str, name: str, roster: list[RosterEntry], lab: str,
           notebook_name: str) -> tuple[str, Entry, bool | None]:
    """Where one zip entry goes: ('mapped' | 'unmapped' | 'ambiguous', its Entry, late)."""
    parsed, name = _parse(lms, name), shown(name)
    if parsed is None:
        return "unmapped", Entry(name, reason=f"the name does not follow {lms}'s convention"), None
    person, lms_id, original, late = parsed
    if not original.endswith(".ipynb"):
        return "unmapped", Entry(name, reason="not a notebook (.ipynb)"), None
    owner = [entry for entry in roster if entry.lms_id(lms, lab) == lms_id]
    if owner:
        notes = [] if _squeezed(person) in _names(owner[0]) else [
            f"the file's name '{shown(person)}' differs from the roster's '{owner[0].name}'"]
        if RESUBMITTED.sub("", original) != notebook_name:
            notes.append(f"the student's file was '{shown(original)}', not {notebook_name}")
        return "mapped", Entry(name, owner[0].student, "; ".join(notes)), late
    alike = [entry.student for entry in roster if _squeezed(person) in _names(entry)]
    column = "canvas_id" if lms == "canvas" else f"moodle_id or {PER_LAB}{lab}"
    reason = f"{lms} id {lms_id} is not in the roster's {column} column"
    if len(alike) > 1:
        return "ambiguous", Entry(name, reason=f"{reason}; its name fits {', '.join(alike)}"), None
    hint = f" (the name fits {alike[0]}: add the id to their row)" if alike else ""
    return "unmapped", Entry(name, reason=reason + hint), None


def intake(archive: Path, roster: list[RosterEntry], lms: str, lab: str, notebook_name: str,
           dest: Path, limit_mb: int = GRADING_DEFAULTS["unzip_mb"], zone: str = "UTC",
           times: Path | None = None) -> IntakeReport:
    """Write each notebook of one lab's LMS download to dest/<student>/<lab>/<notebook_name>.

    archive: the zip the LMS gave ("download all submissions" of one assignment)
    roster:  read_roster's entries;  lms: 'canvas' or 'moodle'
    dest:    best a fresh folder (a notebook already at a mapped student's place is replaced)
    zone:    the time zone of the times stored in the zip (course.toml [late] timezone)
    times:   where each notebook's time is recorded (grader/term/late.py's TRUSTED_TIMES; default:
             next to ``dest``, i.e. course_work/ for course_work/submissions)
    returns: the IntakeReport (files mapped, unmapped, ambiguous; students missing; late flags)
    """
    if lms not in LMSES:
        raise ValueError(f"lms must be one of {', '.join(LMSES)}, not '{lms}'")
    for part in (lab, notebook_name):
        if not STUDENT_ID.fullmatch(part):
            raise ValueError(f"'{shown(part)}' cannot be a folder or file name under {dest}")
    if not zipfile.is_zipfile(archive):
        raise ValueError(f"{archive} is not a zip file: use {lms}'s 'Download all submissions' "
                         "of the lab's assignment")
    times = Path(times) if times else Path(dest).parent / TRUSTED_TIMES
    report, claims, seen, folded = IntakeReport(), defaultdict(list), set(), {}
    with zipfile.ZipFile(archive) as zipped:
        for info in zipped.infolist():
            problem, name = _zip_entry_problem(info, seen), entry_name(info)
            seen.add(name)
            if problem:
                report.unmapped.append(Entry(shown(info.filename), reason=problem))
            elif hidden_part(name):
                report.unmapped.append(Entry(shown(info.filename), reason=(
                    "a hidden file or folder an archiver adds (__MACOSX/, dot-files), not a "
                    "submission")))
            elif not info.is_dir():
                twin = case_twin(name, folded)
                if twin:
                    report.warnings.append(f"'{shown(twin)}' and '{shown(name)}' differ only in "
                                           "letter case: check they are two students' files")
                verdict, entry, late = _claim(lms, name, roster, lab, notebook_name)
                if verdict == "mapped":
                    claims[entry.student].append((info, entry, late))
                else:
                    getattr(report, verdict).append(entry)
        budget = limit_mb * MIB
        for student, files in sorted(claims.items()):
            if len(files) > 1:
                names = ", ".join(shown(info.filename) for info, _, _ in files)
                report.ambiguous += [Entry(entry.file, student, f"{student} sent {len(files)} "
                                           f"notebooks ({names}): keep one") for _, entry, _ in files]
                continue
            info, entry, late = files[0]
            target = Path(dest) / student / lab / notebook_name
            if target.exists():
                target.unlink()
            budget = _extract(zipped, info, target, budget)
            if budget < 0:
                raise ValueError(f"{archive} expands beyond {limit_mb} MB (course.toml [grading] "
                                 f"unzip_mb) at '{shown(info.filename)}'")
            report.mapped.append(entry)
            report.late[student] = late
            report.times[student] = as_utc(datetime(*info.date_time), zone)
            stale = target.parent / "timestamp.txt"  # written by intake before times were recorded
            if stale.is_file() and not stale.is_symlink():
                stale.unlink()
            record_trusted_time(times, student, lab, target, report.times[student],
                                f"{Path(archive).name}:{shown(info.filename)}")
    report.missing = [entry.student for entry in roster if entry.student not in claims]
    return report


def export_gradebook(outcomes: list[Outcome], roster: list[RosterEntry], lms: str,
                     path: Path, include_provisional: bool = True) -> None:
    """Write the LMS's gradebook import CSV (module docstring) of ``outcomes`` (one per
    student x lab) for every roster student; a student graded but not on the roster is an error.
    Without ``include_provisional``, a score that may still go up (written answers or a review
    still open) is left empty, as if not graded yet."""
    if lms not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not '{lms}'")
    enrolled = {entry.student for entry in roster}
    strangers = sorted({o.student for o in outcomes} - enrolled)
    if strangers:
        raise ValueError(f"graded but not on the roster: {', '.join(strangers)}; add them to the "
                         "roster (or remove their grades) before exporting")
    scores: dict[tuple[str, str], Outcome] = {}
    for o in outcomes:
        if (o.student, o.lab) in scores:
            raise ValueError(f"two outcomes for {o.student} in {o.lab}")
        scores[(o.student, o.lab)] = o
    labs = sorted({o.lab for o in outcomes})
    extras = [lab for lab in labs if any(o.extra_max for o in outcomes if o.lab == lab)]
    header, identity = _identity(lms)

    def sent(o: Outcome | None) -> Outcome | None:
        return o if o is None or include_provisional or o.status not in PROVISIONAL else None

    def row(entry: RosterEntry) -> list:
        marks = [sent(scores.get((entry.student, lab))) for lab in labs]
        bonus = [sent(scores.get((entry.student, lab))) for lab in extras]
        return (identity(entry) + ["" if o is None else o.score for o in marks]
                + ["" if o is None else o.extra for o in bonus])

    write_rows(path, header + labs + [f"{lab} extra" for lab in extras],
               [row(entry) for entry in roster])


def _identity(lms: str):
    """(the identifying columns' header, a function giving a roster entry's cells) of a format;
    the LMS's identifier must be filled in for every student."""
    def need(entry: RosterEntry, column: str) -> str:
        if not getattr(entry, column):
            raise ValueError(f"{entry.student} has no {column} in the roster: {lms} cannot match "
                             "the row to a student")
        return getattr(entry, column)

    if lms == "canvas":
        return (["Student", "ID", "SIS User ID", "SIS Login ID", "Section"],
                lambda e: [e.name, need(e, "canvas_id"), e.sis_id, "", ""])
    if lms == "moodle":
        return ["Email address"], lambda e: [need(e, "email")]
    return ["student"], lambda e: [e.student]


def looks_like_download(archive: Path) -> str | None:
    """'canvas' or 'moodle' when the zip's notebooks are named as that LMS names the files of its
    submissions download (flat, no <student>/<lab>/ folders), else None."""
    with zipfile.ZipFile(archive) as zipped:
        names = [entry_name(info) for info in zipped.infolist()
                 if not info.is_dir() and not hidden_part(entry_name(info))]
    notebooks = [name for name in names if name.endswith(".ipynb")]
    for lms in LMSES:
        if notebooks and all(_parse(lms, name) for name in notebooks):
            return lms
    return None
