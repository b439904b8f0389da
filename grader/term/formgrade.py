"""nbgrader's formgrader on this course, with a configuration the course writes itself.

``python -m grader formgrade [--port P] [--ip 127.0.0.1] [--token T]`` writes, in
course_work/formgrader/, nbgrader_config.py from course.toml (the folders every grader command
uses, the gradebook, the grading limits and late rules) and jupyter_server_config.py, then starts
a headless Jupyter server there whose formgrader extension reads them; the URL to open is printed.

The server is made safe to open on students' work (grader/term/formgrader_guard.py says how): no
student script runs in its pages, the actions that would skip the course's sanitiser, sandbox and
late rules (feedback, autograde, release, collect) are refused, its root is course_work/ only,
it serves no terminal or kernel, and its token travels in the environment, not on the command line.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from .. import nbgrader_run
from ..course import Course
from .late import nbgrader_config

HEADER = """# Written by `python -m grader formgrade` from course.toml: edits are overwritten.
# Formgrader here views and grades by hand only: its autograde and feedback actions are refused
# (grader/term/formgrader_guard.py), so the sandbox policy is not set; `python -m grader grade` and
# `python -m grader feedback` apply it, with the sanitiser, as every grading run does."""
OTHER_EXTENSIONS = ["jupyter_server_terminals", "jupyterlab", "notebook", "jupyter_lsp",
                    "nbgrader.server_extensions.validate_assignment",
                    "nbgrader.server_extensions.assignment_list",
                    "nbgrader.server_extensions.course_list"]


def nbgrader_settings(course: Course) -> dict:
    """nbgrader's configuration for formgrader: the course's, rooted at course_work/ (the server's
    root must hold the course root), sources and releases given by absolute path."""
    config = nbgrader_run.course_config(course.work_dir, course.work_dir, course.course_id,
                                        grading=course.grading,
                                        show_hidden_tests=course.show_hidden_tests,
                                        late_penalty=nbgrader_config(course.late),
                                        db_url=course.gradebook_url)
    config["CourseDirectory"].update(source_directory=str(course.source_dir),
                                     release_directory=str(course.release_dir))
    config["FormgradeExtension"] = {"debug": False}  # it would print the config, db_url included
    filters = {"clean_html": "grader.term.feedback.clean_fragment",
               "strip_files_prefix": "grader.term.formgrader_guard.inert_markdown"}
    config["HTMLExporter"] = {"sanitize_html": True, "filters": filters}
    return config


def server_settings(course: Course) -> dict:
    """Jupyter server's configuration: root course_work/, the guard, no terminals or other apps."""
    return {"ServerApp": {
        "root_dir": str(course.work_dir),
        "terminals_enabled": False,
        "authorizer_class": "grader.term.formgrader_guard.ReadOnlyAuthorizer",
        "jpserver_extensions": {"grader.term.formgrader_guard": True,
                                "nbgrader.server_extensions.formgrader": True,
                                **dict.fromkeys(OTHER_EXTENSIONS, False)},
    }}


def _python_config(header: str, config: dict) -> str:
    lines = [header] + [f"c.{section}.{name} = {value!r}" for section, values in config.items()
                        for name, value in values.items()]
    return "\n".join(lines) + "\n"


def write_config(course: Course) -> Path:
    """course_work/formgrader/ with both configuration files: the folder the server starts in."""
    folder = course.work_dir / "formgrader"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nbgrader_config.py").write_text(_python_config(HEADER, nbgrader_settings(course)))
    (folder / "jupyter_server_config.py").write_text(
        _python_config(HEADER.splitlines()[0], server_settings(course)))
    return folder


def server_command(folder: Path, ip: str, port: int) -> list[str]:
    """A headless Jupyter server with ``folder``'s configuration (the formgrader is at
    /formgrader); nothing secret on it, `ps` shows it to every user."""
    return [sys.executable, "-m", "jupyter", "server", "--no-browser",
            f"--config={folder / 'jupyter_server_config.py'}", f"--ServerApp.ip={ip}",
            f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            *(["--allow-root"] if os.geteuid() == 0 else [])]


def formgrade(course: Course, ip: str = "127.0.0.1", port: int = 8890, token: str | None = None
              ) -> None:
    """Print the URL, then become the Jupyter server (so Ctrl-C or a SIGTERM stops it directly).
    The token: ``token``, else $JUPYTER_TOKEN, else a random one."""
    token = token or os.environ.get("JUPYTER_TOKEN") or secrets.token_hex(16)
    folder = write_config(course)
    print(f"formgrader for {course.name}: http://{ip}:{port}/formgrader?token={token}  "
          "(Ctrl-C stops it)", flush=True)
    os.chdir(folder)
    command = server_command(folder, ip, port)
    env = nbgrader_run.with_venv_path(os.environ)
    env["JUPYTER_TOKEN"] = token
    os.execve(command[0], command, env)
