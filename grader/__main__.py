"""The instructor's commands: .venv/bin/grader COMMAND, from the course root, after `make setup`.

`python -m grader` with the course's Python is the same; docs/instructors.md has every command.

  release        stamp solutions/ from course.toml, regenerate labs/ with nbgrader; with
                 --exchange [DIR] also publish them to nbgrader's exchange (a JupyterHub's)
  publish DEST   write a students' edition (--edition class|self-study) into DEST
  grade [SRC]    collect SRC (folder or zip of <student>/<lab>/<nb>.ipynb; default:
                 course_work/submissions/ if present, else the bundled examples), autograde in
                 parallel sandboxes, write feedback HTML and course_work/grades.csv
  collect --exchange [DIR] [--lab L]
                 the latest submission per student from nbgrader's exchange into
                 course_work/submissions/, with its time (earlier ones kept in course_work/exchange/)
  feedback       regenerate feedback HTML after manual grading (nbgrader formgrader); with
                 --release, return it to the students through the exchange
  accept --lab L STUDENT [...]
                 give back the test points withheld for review (status `needs review`)
  intake ZIP --lms canvas|moodle --lab L
                 a Canvas or Moodle submissions download into course_work/submissions/
  export         write the CSV again from the gradebook (after manual grading); with
                 --format canvas|moodle|csv also the LMS's gradebook import and a per-question CSV
  formgrade      nbgrader's formgrader on this course (configuration written from course.toml)
  answers export --lab L [--out DIR] [--anonymise]
                 one HTML page and one CSV per written question, every student's answer
  answers import FILE.csv [...]
                 the graders' scores and comments into the gradebook (all rows or none)
  similarity --lab L [--source DIR] [--top N]
                 the most similar pairs of answers as HTML and CSV (scores unchanged)
  hub-values     the zero-to-jupyterhub Helm values for the course (docs/scaling.md)
  check-outputs  fail if a committed notebook has outputs or execution counts
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from . import exchange, gradebook, helm, nbgrader_run, sandbox
from .autograde import accept, autograde, refresh_penalties
from .check_outputs import notebooks_with_outputs
from .collect import collect, examples_tree
from .course import EDITIONS, load_course
from .editions.publish import publish
from .editions.release import release
from .progress import ProgressLine
from .reachable import check_gradebook, check_scheduler
from .report import PROVISIONAL, Outcome, summary
from .term.answers import export_answers, import_scores
from .term.feedback import sanitise_folder
from .term.formgrade import formgrade
from .term.late import TRUSTED_TIMES
from .term.lms import (
    FORMATS,
    LMSES,
    export_gradebook,
    intake,
    looks_like_download,
    read_roster,
)
from .term.similarity import similarity_report
from .text import terminal_safe


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=".venv/bin/grader", description=__doc__.splitlines()[0])
    parser.add_argument("--course", default=".", help="course root (folder with course.toml)")
    sub = parser.add_subparsers(dest="command", required=True)
    rel = sub.add_parser("release", help="stamp solutions/ and regenerate labs/")
    rel.add_argument("--lab", action="append", help="only this lab (repeatable)")
    exchange_option(rel, "also publish the labs to nbgrader's exchange")
    pub = sub.add_parser("publish", help="write a students' edition into DEST")
    pub.add_argument("dest", type=Path, help="an empty folder or a checkout of the edition's repository")
    pub.add_argument("--edition", default="class", choices=EDITIONS)
    grade = sub.add_parser("grade", help="collect, autograde, feedback, CSV")
    grade.add_argument("source", nargs="?", help="folder or zip of <student>/<lab>/<nb>.ipynb")
    grade.add_argument("--jobs", type=int, default=1, help="students graded at once")
    grade.add_argument("--scheduler", help="a Dask scheduler, tcp://HOST:8786: grade on its workers "
                       "(course.toml [cluster] scheduler)")
    grade.add_argument("--shard-size", type=int, help="students per Dask task (course.toml: 10)")
    grade.add_argument("--lab", action="append", help="only this lab (repeatable)")
    grade.add_argument("--cell-timeout", type=int, help="seconds per cell (course.toml default)")
    grade.add_argument("--notebook-timeout", type=int, help="seconds per notebook")
    grade.add_argument("--memory-mb", type=int, help="memory of each kernel, its processes "
                       "together and each one (course.toml sandbox_memory_mb, memory_mb)")
    grade.add_argument("--csv", type=Path, help="where to write the CSV (course_work/grades.csv)")
    grade.add_argument("--received-now", action="store_true", help="the submissions were received "
                       "now: this run's clock is the submission time of those intake has no time for")
    fetch = sub.add_parser("collect", help="the latest submissions from nbgrader's exchange")
    exchange_option(fetch, "take them from nbgrader's exchange", required=True)
    fetch.add_argument("--lab", action="append", help="only this lab (repeatable)")
    back = sub.add_parser("feedback", help="regenerate feedback HTML from the gradebook")
    back.add_argument("--release", action="store_true", help="and return the pages to the students "
                      "through nbgrader's exchange")
    back.add_argument("--exchange", type=Path, metavar="DIR", help="the exchange's root "
                      "(course.toml [exchange] root)")
    take_back = sub.add_parser("accept", help="give back test points withheld for review")
    take_back.add_argument("--lab", required=True)
    take_back.add_argument("students", nargs="+", help="the students whose submission you looked at")
    export = sub.add_parser("export", help="write the CSV from the gradebook")
    export.add_argument("--csv", type=Path)
    export.add_argument("--format", choices=FORMATS, help="also the LMS's gradebook import")
    export.add_argument("--include-provisional", action="store_true", help="send the scores of "
                        "students whose written answers or review are still open (left empty)")
    take = sub.add_parser("intake", help="an LMS submissions zip into course_work/submissions/")
    take.add_argument("archive", type=Path, help="the assignment's 'download all submissions' zip")
    take.add_argument("--lms", required=True, choices=LMSES)
    take.add_argument("--lab", required=True)
    take.add_argument("--dest", type=Path, help="folder (course_work/submissions/)")
    form = sub.add_parser("formgrade", help="serve nbgrader's formgrader on this course")
    form.add_argument("--ip", default="127.0.0.1")
    form.add_argument("--port", type=int, default=8890)
    form.add_argument("--token", help="the server's token (default: a random one, printed)")
    answers = sub.add_parser("answers", help="written answers: export per question, import scores")
    answers_sub = answers.add_subparsers(dest="action", required=True)
    answers_export = answers_sub.add_parser("export", help="HTML page and CSV per written question")
    answers_export.add_argument("--lab", required=True)
    answers_export.add_argument("--out", type=Path, help="folder (course_work/answers/<lab>/)")
    answers_export.add_argument("--anonymise", action="store_true",
                                help="anonymous ids instead of student ids")
    answers_import = answers_sub.add_parser("import", help="scores and comments into the gradebook")
    answers_import.add_argument("files", nargs="+", type=Path, help="CSVs written by export")
    similar = sub.add_parser("similarity", help="the most similar pairs of a lab's answers")
    similar.add_argument("--lab", required=True)
    similar.add_argument("--source", type=Path,
                         help="folder of <student>/<lab>/<nb>.ipynb (course_work/submitted/)")
    similar.add_argument("--top", type=int, default=20, help="pairs shown on the page")
    values = sub.add_parser("hub-values", help="Helm values for zero-to-jupyterhub")
    values.add_argument("--out", type=Path, help="YAML file to write (course_work/hub-values.yaml)")
    values.add_argument("--results", type=Path, help="bench results with the labs' peak memory "
                        "(bench/results/)")
    sub.add_parser("check-outputs", help="fail on committed notebooks with outputs")
    args = parser.parse_args(argv)
    if getattr(args, "jobs", 1) < 1:
        parser.error("--jobs must be at least 1")
    if (getattr(args, "shard_size", None) or 1) < 1:
        parser.error("--shard-size must be at least 1")
    return args


def exchange_option(parser: argparse.ArgumentParser, text: str, required: bool = False) -> None:
    """--exchange [DIR]: nbgrader's exchange at DIR, or without DIR at course.toml's [exchange] root."""
    parser.add_argument("--exchange", nargs="?", const="", type=str, metavar="DIR", required=required,
                        help=f"{text}: its root folder (default: course.toml [exchange] root)")


def cmd_release(course, args) -> int:
    started = time.perf_counter()
    labs = args.lab or course.labs()
    labs = release(course, labs, ProgressLine("released", len(labs), "lab"))
    print(f"released {len(labs)} lab(s) to labs/ in {time.perf_counter() - started:.1f} s")
    if args.exchange is not None:
        for folder in exchange.publish(course, labs, Path(args.exchange) if args.exchange else None):
            print(f"published {folder}")
    return 0


def cmd_collect(course, args) -> int:
    """The latest exchange submission per student and lab into course_work/submissions/."""
    done = exchange.collect(course, Path(args.exchange) if args.exchange else None, args.lab)
    for student, lab, moment in done.taken:
        print(f"{student:20s} {lab:28s} {moment:%Y-%m-%d %H:%M:%S} UTC")
    for note in done.notes:
        print(f"WARNING: {terminal_safe(note)}", file=sys.stderr)
    for problem in done.problems:
        print(f"not taken: {terminal_safe(problem.student)} {terminal_safe(problem.lab)}: "
              f"{terminal_safe(problem.reason)}", file=sys.stderr)
    print(f"{len(done.taken)} submission(s) in {course.work_dir / 'submissions'}, "
          f"{len(done.problems)} not taken; earlier ones kept in {course.work_dir / 'exchange'}. "
          "Next: `.venv/bin/grader grade`")
    return 0


def cmd_publish(course, args) -> int:
    started = time.perf_counter()
    dest = publish(course, args.dest, args.edition)
    files = [p for p in dest.rglob("*") if p.is_file() and ".git" not in p.relative_to(dest).parts]
    size_mb = sum(p.stat().st_size for p in files) / 2**20
    print(f"published the {args.edition} edition to {dest}: {len(files)} files, {size_mb:.1f} MB, "
          f"in {time.perf_counter() - started:.1f} s. Review it (git -C {dest} status), then commit "
          "and push it yourself.")
    return 0


def cmd_grade(course, args) -> int:
    limits = dict(course.grading)
    if args.cell_timeout:
        limits["cell_timeout_s"] = args.cell_timeout
    if args.notebook_timeout:
        limits["notebook_timeout_s"] = args.notebook_timeout
    if args.memory_mb:
        limits["memory_mb"] = limits["sandbox_memory_mb"] = args.memory_mb
    course = type(course)(**{**course.__dict__, "grading": limits})
    mode = sandbox.available_mode()
    print(f"sandbox: {mode}")
    for warning in sandbox.warnings_for(mode):
        print(f"WARNING: {warning}", file=sys.stderr)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(args.source) if args.source else course.work_dir / "submissions"
        if not args.source and not source.exists():
            source = examples_tree(course, Path(scratch) / "examples", args.lab)
            print("no submissions given and no course_work/submissions/: grading the examples")
        refuse_lms_download(source)
        received = datetime.now(UTC).replace(tzinfo=None) if args.received_now else None
        collected = collect(course, source, args.lab, received)
        for warning in collected.warnings:
            print(f"WARNING: {terminal_safe(warning)}", file=sys.stderr)
        scheduler = args.scheduler or course.scheduler
        if scheduler:
            print(f"grading on the Dask cluster at {scheduler}")
        outcomes = autograde(course, collected, jobs=args.jobs, scheduler=scheduler,
                             shard_size=args.shard_size or course.shard_size)
    print_table(outcomes)
    if not any(o.lab in course.labs() for o in outcomes):
        print(f"nothing to grade in {source} ({len(outcomes)} problem row(s) above): the gradebook "
              "and grades.csv were left as they were", file=sys.stderr)
        return 1
    gradebook.record(course, outcomes)
    csv_path = args.csv or course.work_dir / "grades.csv"
    gradebook.write_views(course, csv_path)
    untimed = [f"{o.student} ({o.lab})" for o in outcomes if o.late.startswith("no submission time")]
    if untimed:
        print(f"WARNING: no submission time for {terminal_safe(', '.join(untimed))}: counted as on "
              "time (times come from `python -m grader intake`); see docs/instructors.md, 'Due "
              "dates and late work'", file=sys.stderr)
    print(f"graded {len(outcomes)} submission(s) with --jobs {args.jobs} in "
          f"{time.perf_counter() - started:.1f} s; CSV: {csv_path}")
    return 0


def refuse_lms_download(source: Path) -> None:
    """A Canvas or Moodle submissions download is taken in by `intake` first: say so."""
    if source.is_file() and zipfile.is_zipfile(source):
        lms = looks_like_download(source)
        if lms:
            raise ValueError(f"{source} is a {lms} submissions download: take it in first with "
                             f"`.venv/bin/grader intake {source} --lms {lms} --lab LAB`, then run "
                             "`.venv/bin/grader grade`")


def print_table(outcomes: list[Outcome]) -> None:
    """One line per outcome; text from submissions with its control characters escaped."""
    for o in outcomes:
        extra = f"+{o.extra:g}/{o.extra_max:g}" if o.extra_max else ""
        review = f"  [review: {terminal_safe(o.review)[:60]}]" if o.review else ""
        print(f"{terminal_safe(o.student):20s} {terminal_safe(o.lab):28s} {o.score:6g}/{o.max_score:<6g} "
              f"{extra:9s} {o.status:22s} {o.late + '; ' if o.late else ''}"
              f"{terminal_safe(o.reason)[:90]}{review}")


def cmd_feedback(course, args) -> int:
    config = nbgrader_run.course_config(course.root, course.work_dir, course.course_id,
                                        show_hidden_tests=course.show_hidden_tests,
                                        db_url=course.gradebook_url)
    refresh_penalties(course)
    rows = {(o.student, o.lab): o for o in gradebook.outcomes(course)}
    for lab in course.labs():
        if any((course.work_dir / "autograded").glob(f"*/{lab}")):
            done = nbgrader_run.run(config, ["generate_feedback", lab, "--force"], cwd=course.root,
                                    timeout=course.grading["feedback_timeout_s"])
            if done.returncode != 0:
                print(terminal_safe(done.stderr, lines=True), file=sys.stderr)  # may quote submissions
                return 1
            for folder in sorted((course.work_dir / "feedback").glob(f"*/{lab}")):
                row = rows.get((folder.parent.name, lab))
                sanitise_folder(folder, [summary(row), *filter(None, [row.review])] if row else [])
    print(f"feedback in {course.work_dir / 'feedback'}")
    if getattr(args, "release", False):
        released, skipped = exchange.release_feedback(course, args.exchange)
        for reason in skipped:
            print(f"not released: {terminal_safe(reason)}", file=sys.stderr)
        print(f"feedback released through the exchange for {len(released)} submission(s)")
    return 0


def cmd_export(course, args) -> int:
    """grades.csv again from the gradebook; with --format the LMS's import and the per-question
    CSV, provisional scores (written answers or a review still open) left out unless asked."""
    refresh_penalties(course)
    outcomes = gradebook.write_views(course, args.csv)
    print_table(outcomes)
    if args.format:
        provisional = [f"{o.student} ({o.lab})" for o in outcomes if o.status in PROVISIONAL]
        lms_file = course.work_dir / f"grades_{args.format}.csv"
        export_gradebook(outcomes, read_roster(roster_of(course)), args.format, lms_file,
                         include_provisional=args.include_provisional)
        questions = course.work_dir / "grades_per_question.csv"
        gradebook.write_per_question(course, questions)
        print(f"{args.format} gradebook import: {lms_file}; per question: {questions}")
        if provisional:
            what = ("sent as they are" if args.include_provisional
                    else "left empty (send them with --include-provisional)")
            print(f"WARNING: provisional, written answers or a review still open: "
                  f"{terminal_safe(', '.join(provisional))}: {what}", file=sys.stderr)
    return 0


def cmd_accept(course, args) -> int:
    """Give back withheld points, mark the review note, then grades.csv and feedback again."""
    if args.lab not in course.labs():
        raise ValueError(f"unknown lab {args.lab!r}: the labs are {', '.join(course.labs())}")
    reviews = {o.student: o.review for o in gradebook.outcomes(course) if o.lab == args.lab}
    for student in args.students:
        given = accept(course, args.lab, student)
        print(f"{student} ({args.lab}): {given:g} point(s) given back, as judged")
        note = reviews.get(student, "")
        if note and not note.endswith(ACCEPTED):
            gradebook.set_review(course, args.lab, student, f"{note} {ACCEPTED}")
    export = argparse.Namespace(csv=None, format=None)
    return cmd_export(course, export) or cmd_feedback(course, export)


ACCEPTED = "(accepted after review)"


def roster_of(course) -> Path:
    if course.roster is None:
        raise ValueError("course.toml has no [lms] roster: add `[lms]` with `roster = "
                         "\"course_work/roster.csv\"` (its columns: docs/instructors.md)")
    return course.roster


def cmd_intake(course, args) -> int:
    dest = args.dest or course.work_dir / "submissions"
    report = intake(args.archive, read_roster(roster_of(course)), args.lms, args.lab,
                    course.notebooks(args.lab)[0].name, dest, course.grading["unzip_mb"],
                    course.late.timezone, course.work_dir / TRUSTED_TIMES)
    for entry in report.mapped:
        late = {True: " LATE", False: "", None: ""}[report.late.get(entry.student)]
        note = f"  ({terminal_safe(entry.reason)})" if entry.reason else ""
        print(f"{entry.student:20s} {report.times[entry.student]:%Y-%m-%d %H:%M} UTC "
              f"{terminal_safe(entry.file)}{late}{note}")
    disagree = [student for student, flagged in report.late.items() if args.lab in course.late.due
                and flagged not in (None, course.late.is_late(args.lab, student, report.times[student]))]
    if disagree:
        print(f"WARNING: {args.lms} flags lateness differently from the zip's times and course.toml's "
              f"due date for {', '.join(disagree)}: check their times on {args.lms}'s submissions "
              f"page; the times used are in {course.work_dir / TRUSTED_TIMES}", file=sys.stderr)
    for warning in report.warnings:
        print(f"WARNING: {terminal_safe(warning)}", file=sys.stderr)
    for title, entries in (("not taken", report.unmapped), ("ambiguous, not taken", report.ambiguous)):
        for entry in entries:
            print(f"{title}: {terminal_safe(entry.file)}: {terminal_safe(entry.reason)}",
                  file=sys.stderr)
    if report.missing:
        print(f"no file from: {', '.join(report.missing)}", file=sys.stderr)
    print(f"{len(report.mapped)} notebook(s) of {args.lab} in {dest}; {len(report.unmapped)} not "
          f"taken, {len(report.ambiguous)} ambiguous, {len(report.missing)} missing. Resolve those "
          "by hand, then `.venv/bin/grader grade`")
    return 0


def cmd_formgrade(course, args) -> int:
    formgrade(course, args.ip, args.port, args.token)  # becomes the server: returns only on error
    return 1


def cmd_answers(course, args) -> int:
    if args.action == "export":
        for path in export_answers(course, args.lab, args.out, args.anonymise):
            print(path)
        return 0
    count = import_scores(course, args.files)
    gradebook.write_views(course)
    print(f"imported {count} answer(s); grades.csv written again; run `.venv/bin/grader feedback` "
          "for the feedback pages")
    return 0


def cmd_similarity(course, args) -> int:
    page = similarity_report(course, args.lab, args.source, top=args.top)
    print(f"similarity report: {page} (every pair: {page.with_suffix('.csv')}); it flags pairs "
          "to read, it changes no score")
    return 0


def cmd_hub_values(course, args) -> int:
    out = args.out or course.work_dir / "hub-values.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    values = helm.write_values(course, out, args.results or course.root / "bench" / "results")
    for profile in values["singleuser"]["profileList"]:
        print(f"{profile['display_name']}{' (default)' if profile['default'] else ''}")
    print(f"Helm values: {out} (`helm upgrade --install jhub jupyterhub/jupyterhub --values {out}`)")
    return 0


def cmd_check_outputs(course, args) -> int:
    offenders = notebooks_with_outputs([course.source_dir, course.release_dir])
    for path, what in offenders:
        print(f"{path.relative_to(course.root)}: {what}", file=sys.stderr)
    if offenders:
        print("clear them (Jupyter: Edit > Clear Outputs of All Cells), then run `make release`",
              file=sys.stderr)
        return 1
    print("no outputs in committed notebooks")
    return 0


COMMANDS = {"release": cmd_release, "publish": cmd_publish, "grade": cmd_grade, "feedback": cmd_feedback,
            "collect": cmd_collect, "export": cmd_export, "intake": cmd_intake, "formgrade": cmd_formgrade,
            "answers": cmd_answers, "hub-values": cmd_hub_values,
            "similarity": cmd_similarity, "check-outputs": cmd_check_outputs, "accept": cmd_accept}


USE_GRADEBOOK = {"release", "publish", "grade", "feedback", "export", "formgrade", "answers", "accept"}


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        course = load_course(args.course)
        if course.db_url.startswith("postgresql") and args.command in USE_GRADEBOOK:
            check_gradebook(course.db_url)
        if args.command == "grade" and (args.scheduler or course.scheduler):
            check_scheduler(args.scheduler or course.scheduler)
        return COMMANDS[args.command](course, args)
    except (FileNotFoundError, ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
