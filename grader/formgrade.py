"""nbgrader's formgrader on this course, with a configuration the course writes itself.

``python -m grader formgrade [--port P] [--ip 127.0.0.1] [--token T]`` writes
course_work/formgrader/nbgrader_config.py from course.toml (the same settings every grader
command uses: folders under course_work/, the gradebook) and starts a headless Jupyter server
there whose formgrader extension reads it; the URL to open is printed, as `make lab` does.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from . import nbgrader_run
from .course import Course


def write_config(course: Course) -> Path:
    """course_work/formgrader/nbgrader_config.py, the folder the server starts in."""
    config = nbgrader_run.course_config(course.root, course.work_dir, course.course_id,
                                        show_hidden_tests=course.show_hidden_tests,
                                        db_url=course.gradebook_url)
    lines = ["# Written by `python -m grader formgrade` from course.toml: edits are overwritten."]
    lines += [f"c.{section}.{name} = {value!r}" for section, values in config.items()
              for name, value in values.items()]
    folder = course.work_dir / "formgrader"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nbgrader_config.py").write_text("\n".join(lines) + "\n")
    return folder


def server_command(course: Course, ip: str, port: int, token: str) -> list[str]:
    """A headless Jupyter server on the course root (the formgrader is at /formgrader)."""
    return [sys.executable, "-m", "jupyter", "server", "--no-browser", f"--ServerApp.ip={ip}",
            f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={course.root}", f"--IdentityProvider.token={token}",
            *(["--allow-root"] if os.geteuid() == 0 else [])]


def formgrade(course: Course, ip: str = "127.0.0.1", port: int = 8890, token: str | None = None
              ) -> None:
    """Print the URL, then become the Jupyter server (so Ctrl-C or a SIGTERM stops it directly)."""
    token = token or secrets.token_hex(16)
    folder = write_config(course)
    print(f"formgrader for {course.name}: http://{ip}:{port}/formgrader?token={token}  "
          "(Ctrl-C stops it)", flush=True)
    os.chdir(folder)
    command = server_command(course, ip, port, token)
    os.execve(command[0], command, nbgrader_run.with_venv_path(os.environ))
