"""The course's formgrader as a JupyterHub service: `python -m grader.hub.formgrader_service ROOT`.

The hub starts it (grader/hub/jupyterhub_config.py) with the service's address and credentials in
the environment. It writes course_work/formgrader/ as `grader formgrade` does (the guard: no student
script runs, the actions that skip the sandbox and sanitiser refused, course_work/ only, no kernel
or terminal), then becomes JupyterHub's single-user server there, so the hub's login (group
"instructors") replaces the server's token.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..course import load_course
from ..nbgrader_run import with_venv_path
from ..term.formgrade import write_config
from .settings import venv_program


def main(root: str) -> None:
    folder = write_config(load_course(Path(root)))
    os.chdir(folder)
    command = [venv_program("jupyterhub-singleuser"), f"--config={folder / 'jupyter_server_config.py'}",
               *(["--allow-root"] if os.geteuid() == 0 else [])]
    os.execve(command[0], command, with_venv_path(os.environ))


if __name__ == "__main__":
    main(sys.argv[1])
