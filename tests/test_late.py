"""Due dates and late work (grader/term/late.py): course.toml's settings, the penalty, and one real
grading run of lab 00 with students on time, late, extended, with a forged time and without a
submission time; times come from intake's record of a Canvas download, never from the students."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import zipfile
from datetime import datetime

import pytest
from nbgrader.api import Gradebook
from test_grader_cycle import LAB00, REPO, grade, make_course

from grader.report import read_csv
from grader.term.late import (
    TRUSTED_TIMES,
    LatePolicy,
    after_penalty,
    parse_timestamp,
    read_policy,
    read_trusted_times,
)
from grader.term.lms import intake, read_roster

SOURCE = "course.toml"
ZURICH_DUE = {"late": {"timezone": "Europe/Zurich"}, "due": {LAB00: datetime(2026, 10, 5, 23, 59)}}


def test_due_dates_without_an_offset_are_read_in_the_course_time_zone():
    policy = read_policy({**ZURICH_DUE, "extensions": {LAB00: {"ada": "2026-10-08T12:00:00Z"}}}, SOURCE)
    assert policy.due[LAB00] == datetime(2026, 10, 5, 21, 59)  # summer time: UTC+2
    assert policy.extensions[LAB00]["ada"] == datetime(2026, 10, 8, 12, 0)
    assert policy.extension(LAB00, "ada").total_seconds() == 2 * 86400 + 14 * 3600 + 60
    assert policy.extension(LAB00, "bob") is None
    assert policy.is_late(LAB00, "bob", datetime(2026, 10, 5, 22, 0))
    assert not policy.is_late(LAB00, "ada", datetime(2026, 10, 5, 22, 0))
    assert not policy.is_late("01_char_lstm_keras", "bob", datetime(2030, 1, 1))


@pytest.mark.parametrize("config, message", [
    ({"late": {"penalty": "half"}}, "penalty must be one of none, zero, per-day"),
    ({"late": {"penalty": "per-day"}}, "needs points_per_day, a number > 0"),
    ({"late": {"timezone": "Mars/Olympus"}}, "is not a time zone name"),
    ({"late": {"grace": 5}}, "unknown \\[late\\] key"),
    ({"due": {LAB00: datetime(2026, 10, 5).date()}}, "a date without a time"),
    ({"extensions": {LAB00: {"ada": datetime(2026, 10, 8)}}}, "\\[due\\] has no date for"),
])
def test_course_toml_mistakes_are_named(config, message):
    with pytest.raises(ValueError, match=message):
        read_policy(config, SOURCE)


@pytest.mark.parametrize("method, seconds, score, penalty", [
    ("per-day", 0, 3, 0), ("per-day", 1, 3, 1), ("per-day", 86400, 3, 1), ("per-day", 86401, 3, 2),
    ("per-day", 10 * 86400, 3, 3), ("zero", 60, 3, 3), ("none", 10 * 86400, 3, 0),
])
def test_penalty_per_started_day_capped_at_the_score(method, seconds, score, penalty):
    assert LatePolicy(method, 1.0).penalty_for(seconds, score) == penalty


def test_penalty_takes_required_points_first_then_extra_credit():
    assert after_penalty(3.0, 1.0, 2.0) == (1.0, 1.0)
    assert after_penalty(3.0, 1.0, 3.5) == (0.0, 0.5)


def test_submission_times_in_every_accepted_form():
    utc = datetime(2026, 10, 5, 21, 59)
    assert parse_timestamp("2026-10-05T21:59:00Z", "Europe/Zurich") == utc
    assert parse_timestamp("2026-10-05 23:59:00\n", "Europe/Zurich") == utc  # naive: course zone
    assert parse_timestamp("2026-10-05 21:59:00.000000 UTC", "Europe/Zurich") == utc  # nbgrader's
    with pytest.raises(ValueError, match="is not a date and time"):
        parse_timestamp("yesterday", "UTC")


def test_intake_writes_the_zip_times_as_submission_times(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student,name,canvas_id,moodle_id,email\nada,Ada Lovelace,101,,\n")
    archive = tmp_path / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        entry = zipfile.ZipInfo("lovelaceada_LATE_101_9001_lab.ipynb", (2026, 10, 6, 9, 30, 0))
        zipped.writestr(entry, "{}")
    report = intake(archive, read_roster(roster), "canvas", LAB00, "nb.ipynb", tmp_path / "in",
                    zone="Europe/Zurich")
    assert report.times == {"ada": datetime(2026, 10, 6, 7, 30)}
    assert not (tmp_path / "in" / "ada" / LAB00 / "timestamp.txt").exists()
    record = read_trusted_times(tmp_path / TRUSTED_TIMES)[f"ada/{LAB00}"]
    assert parse_timestamp(record["time"], "UTC") == datetime(2026, 10, 6, 7, 30)
    assert record["origin"] == "canvas.zip:lovelaceada_LATE_101_9001_lab.ipynb"


LATE_WORK = f"""
[late]
penalty = "per-day"
points_per_day = 1
timezone = "Europe/Zurich"

[due]
"{LAB00}" = 2026-10-05T23:59:00

[extensions."{LAB00}"]
extended = 2026-10-09T23:59:00
"""
TIMES = {  # the time Canvas stored with each file, in Zurich time (course.toml [late] timezone)
    "ontime": (2026, 10, 5, 23, 0, 0), "late": (2026, 10, 7, 9, 0, 0),
    "verylate": (2026, 10, 12, 14, 0, 0), "extended": (2026, 10, 8, 14, 0, 0),
    "forged": (2026, 10, 7, 9, 0, 0)}
NOTEBOOK = "getting_started.ipynb"


@pytest.fixture(scope="module")
def late_course(tmp_path_factory):
    """Lab 00's solution handed in by six students, graded once with a per-day penalty: five
    taken in from a Canvas download by intake (forged adds a timestamp.txt of its own claiming to
    be on time), untimed copied into the submissions folder by hand."""
    base = tmp_path_factory.mktemp("late")
    course = make_course(base / "course")
    with open(course / "course.toml", "a") as toml:
        toml.write(LATE_WORK)
    roster = base / "roster.csv"
    roster.write_text("student,name,canvas_id,moodle_id,email\n" + "".join(
        f"{student},{student},{100 + i},,\n" for i, student in enumerate(TIMES)))
    archive = base / "canvas.zip"
    solution = (REPO / "solutions" / LAB00 / NOTEBOOK).read_bytes()
    with zipfile.ZipFile(archive, "w") as zipped:
        for i, (student, moment) in enumerate(TIMES.items()):
            zipped.writestr(zipfile.ZipInfo(f"{student}_{100 + i}_{i}_{NOTEBOOK}", moment), solution)
    work = course / "course_work"
    intake(archive, read_roster(roster), "canvas", LAB00, NOTEBOOK, work / "submissions",
           zone="Europe/Zurich")
    (work / "submissions" / "forged" / LAB00 / "timestamp.txt").write_text("2026-10-05T20:00:00Z")
    (work / "submissions" / "untimed" / LAB00).mkdir(parents=True)
    (work / "submissions" / "untimed" / LAB00 / NOTEBOOK).write_bytes(solution)
    done = grade(course, work / "submissions", "--lab", LAB00)
    return course, done


def test_late_work_loses_points_per_day_and_the_csv_says_why(late_course):
    course, done = late_course
    rows = {o.student: o for o in read_csv(course / "course_work" / "grades.csv")}
    assert {s: (o.score, o.late) for s, o in rows.items()} == {
        "ontime": (3.0, "on time"),
        # 33 h 1 min after 23:59 Zurich: two days
        "late": (1.0, "late by 1 d 9 h: -2 points (1 per started day late, 2 days)"),
        "verylate": (0.0, "late by 6 d 14 h: -3 points (1 per started day late, 7 days, "
                                "at most the score)"),  # seven days, at most the score
        "extended": (3.0, "on time (extension)"),
        "untimed": (3.0, "no submission time: counted as on time"),
        # its own timestamp.txt says on time
        "forged": (1.0, "late by 1 d 9 h: -2 points (1 per started day late, 2 days)"),
    }
    assert rows["forged"].reason == ("timestamp.txt in the submission ignored: times come from "
                                     "intake or collect; written answers wait for manual grading")
    assert "WARNING: no submission time for untimed (00_getting_started): counted as on time " \
           "(times come from `python -m grader intake`)" in done.stderr


def test_nbgrader_applied_the_same_penalty_and_export_keeps_it(late_course):
    course, _ = late_course
    with sqlite3.connect(course / "course_work" / "gradebook.db") as db:
        penalties = dict(db.execute(
            "SELECT submitted_assignment.student_id, submitted_notebook.late_submission_penalty "
            "FROM submitted_notebook JOIN submitted_assignment "
            "ON submitted_notebook.assignment_id = submitted_assignment.id"))
    assert penalties == {"ontime": None, "late": 2.0, "verylate": 3.0, "extended": None,
                         "untimed": None, "forged": 2.0}
    before = read_csv(course / "course_work" / "grades.csv")
    subprocess.run([sys.executable, "-m", "grader", "--course", str(course), "export"],
                   check=True, capture_output=True)
    assert read_csv(course / "course_work" / "grades.csv") == before


def test_intake_command_warns_where_canvas_late_flag_and_zip_time_disagree(tmp_path):
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copytree(REPO / "solutions" / LAB00, course / "solutions" / LAB00)
    (course / "course.toml").write_text((REPO / "course.toml").read_text() + LATE_WORK
                                        + '\n[lms]\nroster = "roster.csv"\n')
    (course / "roster.csv").write_text("student,name,canvas_id,moodle_id,email\n"
                                       "ada,Ada Lovelace,101,,\nbob,Bob Byron,102,,\n")
    archive = tmp_path / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as zipped:  # both flagged late; only bob's time is late
        for name, day in (("lovelaceada_LATE_101_1_a.ipynb", 5), ("byronbob_LATE_102_2_b.ipynb", 6)):
            zipped.writestr(zipfile.ZipInfo(name, (2026, 10, day, 12, 0, 0)), "{}")
    done = subprocess.run([sys.executable, "-m", "grader", "--course", str(course), "intake",
                           str(archive), "--lms", "canvas", "--lab", LAB00],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "ada                  2026-10-05 10:00 UTC lovelaceada_LATE_101_1_a.ipynb LATE" in done.stdout
    assert "for ada: check their times" in done.stderr


def test_points_given_later_are_penalised_too_in_the_csv_and_the_feedback(late_course):
    """A written answer graded after autograding raises the score and so the capped penalty."""
    course, _ = late_course
    with Gradebook(f"sqlite:///{course / 'course_work' / 'gradebook.db'}", "rnn-labs") as gb:
        gb.find_grade("softmax_question", "getting_started", LAB00, "verylate").manual_score = 1
        gb.find_grade("softmax_question", "getting_started", LAB00, "ontime").manual_score = 1
        gb.db.commit()
    for command in ("export", "feedback"):
        subprocess.run([sys.executable, "-m", "grader", "--course", str(course), command],
                       check=True, capture_output=True, timeout=600)
    rows = {o.student: o for o in read_csv(course / "course_work" / "grades.csv")}
    assert (rows["verylate"].score, rows["verylate"].late) == (
        0.0, "late by 6 d 14 h: -4 points (1 per started day late, 7 days, at most the score)")
    assert (rows["ontime"].score, rows["ontime"].late) == (4.0, "on time")
    page = (course / "course_work" / "feedback" / "verylate" / LAB00 / "getting_started.html").read_text()
    assert "Late submission penalty (Score: -4.0)" in page and rows["verylate"].late in page
