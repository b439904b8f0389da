"""Canvas and Moodle intake and gradebook export (grader/term/lms.py), on fixture zips and rosters
written here from the LMSes' published naming conventions."""

import csv
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.report import Outcome
from grader.term.lms import export_gradebook, intake, read_roster

ROSTER = """student,name,canvas_id,sis_id,moodle_id,email
ada,Ada Lovelace,101,S1,501,ada@uni.edu
alan,Alan Turing,102,S2,502,alan@uni.edu
grace,Grace Hopper,103,,503,grace@uni.edu
kurt,Kurt Godel,104,S4,504,kurt@uni.edu
"""
REPO = Path(__file__).resolve().parents[1]
LAB00, NOTEBOOK00 = "00_getting_started", "getting_started.ipynb"
NOTEBOOK = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@pytest.fixture
def roster(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER)
    return read_roster(path)


def make_zip(path, names):
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, NOTEBOOK if name.endswith(".ipynb") else "text")
    return path


def collected(dest):
    """The notebooks intake wrote (each has its timestamp.txt next to it: tests/test_late.py)."""
    return sorted(str(p.relative_to(dest)) for p in dest.rglob("*.ipynb"))


def test_canvas_zip_maps_by_user_id_with_late_flags_and_resubmissions(tmp_path, roster):
    archive = make_zip(tmp_path / "canvas.zip", [
        "lovelaceada_101_9001_lab01.ipynb",
        "turingalan_LATE_102_9002_lab01-1.ipynb",   # late, re-submitted
        "hopperg_103_9003_lab01.ipynb",             # login name differs: warned, still mapped
        "stranger_999_9009_lab01.ipynb",            # unknown id
        "notes.txt",                                # off the convention
        "lovelaceada_101_9001_readme.pdf",          # not a notebook
    ])
    report = intake(archive, roster, "canvas", "lab01", "lab01.ipynb", tmp_path / "out")
    assert collected(tmp_path / "out") == [
        "ada/lab01/lab01.ipynb", "alan/lab01/lab01.ipynb", "grace/lab01/lab01.ipynb"]
    assert json.loads((tmp_path / "out/alan/lab01/lab01.ipynb").read_text())["nbformat"] == 4
    assert report.late == {"ada": False, "alan": True, "grace": False}
    warned = {entry.student: entry.reason for entry in report.mapped}
    assert warned["ada"] == warned["alan"] == "" and "hopperg" in warned["grace"]
    unmapped = {entry.file: entry.reason for entry in report.unmapped}
    assert "999 is not in the roster" in unmapped["stranger_999_9009_lab01.ipynb"]
    assert "convention" in unmapped["notes.txt"]
    assert "not a notebook" in unmapped["lovelaceada_101_9001_readme.pdf"]
    assert report.ambiguous == [] and report.missing == ["kurt"]


def test_canvas_two_notebooks_from_one_student_are_ambiguous_not_guessed(tmp_path, roster):
    archive = make_zip(tmp_path / "canvas.zip", [
        "godelkurt_104_9004_lab01.ipynb", "godelkurt_104_9004_lab01_copy.ipynb",
        "../evil_101_1_lab01.ipynb"])
    report = intake(archive, roster, "canvas", "lab01", "lab01.ipynb", tmp_path / "out")
    assert collected(tmp_path / "out") == [] and report.mapped == []
    assert [(e.student, "sent 2 notebooks" in e.reason) for e in report.ambiguous] == [
        ("kurt", True), ("kurt", True)]
    assert "'..'" in report.unmapped[0].reason and not (tmp_path / "evil_101_1_lab01.ipynb").exists()
    assert report.missing == ["ada", "alan", "grace"] and report.late == {}  # kurt: ambiguous


def test_moodle_zip_flat_and_in_folders(tmp_path, roster):
    archive = make_zip(tmp_path / "moodle.zip", [
        "Ada Lovelace_501_assignsubmission_file_lab01.ipynb",
        "Alan Turing_502_assignsubmission_file/lab01.ipynb",
        "Grace Hopper_503_assignsubmission_onlinetext_onlinetext.html",
        "Kurt Godel_777_assignsubmission_file_lab01.ipynb",   # id unknown, name fits kurt
        "__MACOSX/._Ada Lovelace_501_assignsubmission_file_lab01.ipynb",
        "Alan Turing_502_assignsubmission_file/.DS_Store",
    ])
    report = intake(archive, roster, "moodle", "lab01", "lab01.ipynb", tmp_path / "out")
    assert collected(tmp_path / "out") == ["ada/lab01/lab01.ipynb", "alan/lab01/lab01.ipynb"]
    assert report.late == {"ada": None, "alan": None}
    assert [entry.reason for entry in report.mapped] == ["", ""]
    unmapped = {entry.file: entry.reason for entry in report.unmapped}
    assert "add the id to their row" in unmapped["Kurt Godel_777_assignsubmission_file_lab01.ipynb"]
    assert "convention" in unmapped["Grace Hopper_503_assignsubmission_onlinetext_onlinetext.html"]
    hidden = "a hidden file or folder an archiver adds (__MACOSX/, dot-files), not a submission"
    assert unmapped["__MACOSX/._Ada Lovelace_501_assignsubmission_file_lab01.ipynb"] == hidden
    assert unmapped["Alan Turing_502_assignsubmission_file/.DS_Store"] == hidden
    assert len(unmapped) == 4 and report.missing == ["grace", "kurt"]


def test_moodle_participant_ids_per_lab_override_the_common_one(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("student,name,canvas_id,moodle_id,email,moodle_id:lab02\n"
                    "ada,Ada Lovelace,1,501,a@x,9501\nalan,Alan Turing,2,502,b@x,\n")
    roster = read_roster(path)
    archive = make_zip(tmp_path / "moodle.zip", [
        "Ada Lovelace_9501_assignsubmission_file_lab02.ipynb",
        "Alan Turing_502_assignsubmission_file_lab02.ipynb",
        "Ada Lovelace_501_assignsubmission_file_lab02_old.ipynb"])  # lab01's id: not ada's here
    report = intake(archive, roster, "moodle", "lab02", "lab02.ipynb", tmp_path / "out")
    assert collected(tmp_path / "out") == ["ada/lab02/lab02.ipynb", "alan/lab02/lab02.ipynb"]
    assert "moodle_id or moodle_id:lab02" in report.unmapped[0].reason


def test_intake_refuses_a_file_that_is_not_a_zip(tmp_path, roster):
    (tmp_path / "grades.csv").write_text("not a zip")
    with pytest.raises(ValueError, match="not a zip file: use canvas's 'Download all"):
        intake(tmp_path / "grades.csv", roster, "canvas", "lab01", "lab01.ipynb", tmp_path / "out")


def test_unknown_id_whose_name_fits_two_students_is_ambiguous(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("student,name,canvas_id,moodle_id,email\n"
                    "js1,Jo Smith,1,11,a@x\njs2,Jo Smith,2,12,b@x\n")
    archive = make_zip(tmp_path / "moodle.zip", ["Jo Smith_99_assignsubmission_file_lab01.ipynb"])
    report = intake(archive, read_roster(path), "moodle", "lab01", "lab01.ipynb", tmp_path / "out")
    assert report.mapped == [] and "js1, js2" in report.ambiguous[0].reason


@pytest.mark.parametrize("text, message", [
    ("student,name,canvas_id,email\n", "lacks column(s) moodle_id"),
    ("student,name,canvas_id,moodle_id,email\na,A,1,2,a@x\na,B,3,4,b@x\n", "row 3: student 'a'"),
    ("student,name,canvas_id,moodle_id,email\na,A,1,2,a@x\nb,B,1,4,b@x\n", "row 3: canvas_id '1'"),
    ("student,name,canvas_id,moodle_id,email\na,A,x1,2,a@x\n", "row 2: canvas_id 'x1' is not"),
    ("student,name,canvas_id,moodle_id,email,moodle_id:lab01\na,A,1,2,a@x,7\nb,B,3,4,b@x,7\n",
     "row 3: moodle_id:lab01 '7'"),
    ("student,name,canvas_id,moodle_id,email\n../x,A,1,2,a@x\n", "row 2: student '../x'"),
])
def test_roster_errors_name_the_row(tmp_path, text, message):
    path = tmp_path / "roster.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_roster(path)


OUTCOMES = [
    Outcome("ada", "lab01", 9.5, 10, "graded", ""),
    Outcome("alan", "lab01", 7.0, 10, "graded", ""),
    Outcome("ada", "lab02", 4.0, 6, "graded", "", extra=1.5, extra_max=2),
]


def rows(path):
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


@pytest.mark.parametrize("lms, header, first", [
    ("canvas", ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "lab01", "lab02",
                "lab02 extra"], ["Ada Lovelace", "101", "S1", "", "", "9.5", "4.0", "1.5"]),
    ("moodle", ["Email address", "lab01", "lab02", "lab02 extra"],
     ["ada@uni.edu", "9.5", "4.0", "1.5"]),
    ("csv", ["student", "lab01", "lab02", "lab02 extra"], ["ada", "9.5", "4.0", "1.5"]),
])
def test_export_gradebook_one_row_per_roster_student_one_column_per_lab(
        tmp_path, roster, lms, header, first):
    export_gradebook(OUTCOMES, roster, lms, tmp_path / "grades.csv")
    table = rows(tmp_path / "grades.csv")
    assert table[0] == header and table[1] == first and len(table) == 1 + len(roster)
    assert table[2][-3:] == ["7.0", "", ""]           # alan: lab02 not handed in
    assert table[4][-3:] == ["", "", ""]              # kurt: nothing


def test_export_gradebook_needs_the_lms_identifier_of_every_student(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("student,name,canvas_id,moodle_id,email\nada,Ada,1,,\n")
    with pytest.raises(ValueError, match="ada has no email in the roster: moodle cannot match"):
        export_gradebook(OUTCOMES[:1], read_roster(path), "moodle", tmp_path / "grades.csv")


def test_export_gradebook_refuses_students_missing_from_the_roster(tmp_path, roster):
    outcomes = [*OUTCOMES, Outcome("eve", "lab01", 1, 10, "graded", "")]
    with pytest.raises(ValueError, match="not on the roster: eve"):
        export_gradebook(outcomes, roster, "canvas", tmp_path / "grades.csv")


def test_intake_command_fills_the_submissions_folder_that_grade_reads(tmp_path):
    """`python -m grader intake` with the roster named in course.toml's [lms] section."""
    course = tmp_path / "course"
    course.mkdir()
    toml = (REPO / "course.toml").read_text()
    (course / "course.toml").write_text(toml + '\n[lms]\nroster = "roster.csv"\n')
    shutil.copytree(REPO / "solutions" / LAB00, course / "solutions" / LAB00)
    (course / "roster.csv").write_text(ROSTER)
    archive = make_zip(tmp_path / "moodle.zip", [
        f"Ada Lovelace_501_assignsubmission_file_{NOTEBOOK00}",
        "Someone Else_777_assignsubmission_file_x.ipynb"])
    done = subprocess.run([sys.executable, "-m", "grader", "--course", str(course), "intake",
                           str(archive), "--lms", "moodle", "--lab", LAB00],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert collected(course / "course_work" / "submissions") == [f"ada/{LAB00}/{NOTEBOOK00}"]
    assert "not taken: Someone Else_777" in done.stderr and "no file from: alan, grace, kurt" in done.stderr
    (course / "course.toml").write_text(toml)
    refused = subprocess.run([sys.executable, "-m", "grader", "--course", str(course), "intake",
                              str(archive), "--lms", "moodle", "--lab", LAB00],
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "[lms] roster" in refused.stderr
