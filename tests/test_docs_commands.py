"""Every command that docs/instructors.md, docs/scaling.md and docs/hub.md give works as written
after `make setup`: each `make ...` and `.venv/bin/grader ...` in a code span or code block is checked,
so a command or flag that no longer exists fails here. `make` targets are dry-run (`make -n`) and
the grader command they run is parsed; grader commands are parsed by the grader's own argument
parser, with example values put in for placeholders; the cheap ones run for real."""

from __future__ import annotations

import importlib
import itertools
import re
import shlex
import shutil
import subprocess
import tomllib

import pytest
from conftest import REPO

from grader.__main__ import COMMANDS, parse
from grader.course import load_course

DOCS = [REPO / "docs" / "instructors.md", REPO / "docs" / "scaling.md", REPO / "docs" / "hub.md"]


def commands(page) -> list[str]:
    """The commands a page gives: code spans (wrapped ones joined) and lines of code blocks that
    start with `make ` or `.venv/bin/grader`, comments cut off; table cells' escaped pipes read
    as pipes."""
    text = page.read_text()
    found = [line for block in re.findall(r"^```\w*\n(.*?)^```", text, re.DOTALL | re.MULTILINE)
             for line in block.splitlines()]
    prose = re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)
    found += [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", prose)]  # wrapped too
    cleaned = [re.split(r"\s+#\s", line.replace("\\|", "|"))[0].strip() for line in found]
    return sorted({c for c in cleaned if re.match(r"(make |\.venv/bin/grader( |$))", c)})


def variants(command: str) -> list[list[str]]:
    """The argument lists a documented command stands for: `[...]` and `...` dropped, optional
    `[X]` taken, `<...>` and CAPITALS kept as example values, each of `a|b|c`, each COMMAND."""
    command = re.sub(r"\s*\[\.\.\.\]|\s+\.\.\.$", "", command)
    while re.search(r"\[[^\[\]]*\]", command):
        command = re.sub(r"\[([^\[\]]*)\]", r"\1", command)
    command = re.sub(r"<[^<>]*>", "example", command)
    choices = [token.split("|") if re.fullmatch(r"[\w.-]+(\|[\w.-]+)+", token) else
               sorted(COMMANDS) if token == "COMMAND" else [token] for token in shlex.split(command)]
    return [list(chosen) for chosen in itertools.product(*choices)]


def parses(argv: list[str]) -> None:
    """The grader's parser accepts ``argv`` (a `--help` counts, once it has printed the help)."""
    try:
        parse(argv)
    except SystemExit as stop:
        assert stop.code == 0, f"the grader refuses {shlex.join(argv)}"


DOCUMENTED = sorted({(page.name, command) for page in DOCS for command in commands(page)})


def test_the_pages_give_the_commands_that_work_after_make_setup():
    assert len([c for page, c in DOCUMENTED if page == "instructors.md"]) >= 30
    for page in DOCS:
        stale = re.findall(r"`(python -m grader[^`]*|grader [^`]*)`", page.read_text())
        assert not stale, f"{page.name}: needs the course's Python, say .venv/bin/grader: {stale}"


@pytest.mark.parametrize("page, command", DOCUMENTED)
def test_a_documented_command_is_accepted(page, command, capsys):
    for argv in variants(command):
        if argv[0] == "make":
            done = subprocess.run(["make", "-n", *argv[1:]], cwd=REPO, capture_output=True,
                                  text=True, timeout=60)
            assert done.returncode == 0, f"{page}: `{command}`: {done.stderr}"
            runs = [line.split(" -m grader", 1)[1] for line in done.stdout.splitlines()
                    if " -m grader" in line]
            for line in runs:
                parses(shlex.split(line))
        else:
            parses(argv[1:])


def test_the_grader_script_is_installed_by_make_setup_and_runs():
    """pyproject's [project.scripts] makes .venv/bin/grader (the Makefile installs the project
    into .venv); its function runs the cheap commands for real."""
    script = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]["grader"]
    module, function = script.split(":")
    main = getattr(importlib.import_module(module), function)
    assert main(["--course", str(REPO), "check-outputs"]) == 0
    assert "-e '.[$(EXTRAS)]'" in (REPO / "grader" / "edition" / "Makefile").read_text()


def test_export_runs_on_an_empty_course(tmp_path, capsys):
    shutil.copyfile(REPO / "course.toml", tmp_path / "course.toml")
    shutil.copytree(REPO / "solutions" / "00_getting_started", tmp_path / "solutions" / "00_getting_started")
    from grader.__main__ import main

    assert main(["--course", str(tmp_path), "export"]) == 0
    assert (tmp_path / "course_work" / "grades.csv").read_text().startswith("student,lab,score")


def test_the_course_toml_example_is_harmless_when_copied_whole(tmp_path):
    """Its example hosts, scheduler, roster and due dates are commented out."""
    page = (REPO / "docs" / "instructors.md").read_text()
    example = re.search(r"## course.toml\n\n```toml\n(.*?)```", page, re.DOTALL)[1]
    (tmp_path / "course.toml").write_text(example)
    tomllib.loads(example)
    course = load_course(tmp_path)
    assert (course.db_url, course.scheduler, course.roster, course.late.due) == ("", "", None, {})
