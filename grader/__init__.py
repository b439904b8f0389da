"""Instructor tooling for RNN Labs: release, collect, autograde (sandboxed, parallel), feedback, export.

Where each command's code is (`grader --help` lists the commands):
  __main__.py    the command line: parse, call one function per command
  course.py      course.toml and the course_work/ folders
  collect.py     submissions (folder, zip) into course_work/submitted/
  pipeline/      one notebook: rebuild on the release -> execute (sandbox.py, limits.py, guard.py)
                 -> judge; scoring.py and integrity.py say what a test cell earns or withholds
  executors/     who grades: worker.py (one course copy), local.py (--jobs N), dask.py (--scheduler)
  autograde.py   grade a collection with an executor and merge each result into the gradebook
  gradebook.py   the one truth: outcomes in, views out (grades.csv, per-question CSV)
  term/          the term around grading: lms.py (intake, LMS export), late.py, answers.py,
                 formgrade.py (+ formgrader_guard.py), similarity.py, feedback.py
  editions/      what students get: release.py (labs/), stamp.py (headers), publish.py,
                 colab.py (Colab's pinned Jupyter, the [colab] extras check)
  edition/       the files a students' edition ships with (its Makefile, README)
"""
