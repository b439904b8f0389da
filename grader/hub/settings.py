"""The course's JupyterHub settings, from course.toml; grader/hub/jupyterhub_config.py applies them.

course.toml's [hub] table names the hub's users (system accounts, PAM logins) by group, and where
the hub listens; [exchange] root is nbgrader's exchange that `grader release --exchange` fills.

- "students": their own Jupyter server with nbgrader's assignment list only (fetch, submit, fetch
  feedback; settings in grader/hub/student/), no formgrader, course list or create-assignment.
- "instructors": the formgrader service (grader/hub/formgrader_service.py: the course's guarded
  formgrader, course_work/ only), and their own server with none of nbgrader's tools
  (grader/edition/jupyter/). Grading itself runs from the course account's shell with
  `.venv/bin/grader collect --exchange`, `grade`, `feedback --release` (sandbox and sanitiser).
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..course import WORK, load_course

HERE = Path(__file__).resolve().parent
STUDENT_SETTINGS = HERE / "student"
INSTRUCTOR_SETTINGS = HERE.parent / "edition" / "jupyter"
FORMGRADER = "formgrader"  # the service's name: the hub serves it at /services/formgrader/


@dataclass(frozen=True)
class Hub:
    """What the hub needs from course.toml."""

    root: Path  # the course root
    course_id: str
    exchange: Path
    students: tuple[str, ...]
    instructors: tuple[str, ...]
    url: str  # where the hub (its proxy) listens

    @property
    def state(self) -> Path:
        """The hub's own files (its database, cookie secret, the proxy's pid): course_work/hub/."""
        return self.root / WORK / "hub"


def read_hub(root: Path) -> Hub:
    """The course at ``root`` and its course.toml's [hub] table."""
    course = load_course(root)
    hub = tomllib.loads((course.root / "course.toml").read_text()).get("hub", {})
    unknown = sorted(set(hub) - {"students", "instructors", "url"})
    if unknown:
        raise ValueError(f"course.toml: unknown [hub] key(s) {', '.join(unknown)}; known: students, "
                         "instructors, url")
    both = set(hub.get("students", ())) & set(hub.get("instructors", ()))
    if both:
        raise ValueError(f"course.toml: [hub] names {', '.join(sorted(both))} as student and instructor")
    return Hub(root=course.root, course_id=course.course_id, exchange=course.exchange_root,
               students=tuple(hub.get("students", ())), instructors=tuple(hub.get("instructors", ())),
               url=hub.get("url", "http://127.0.0.1:8000"))


def groups(hub: Hub) -> dict:
    """JupyterHub's load_groups: the two groups and their members."""
    return {"students": {"users": list(hub.students)}, "instructors": {"users": list(hub.instructors)}}


def roles() -> list[dict]:
    """Instructors (only) may open the formgrader service; students keep the default 'user' role,
    which reaches their own server only."""
    return [{"name": "course-instructor", "groups": ["instructors"],
             "scopes": [f"access:services!service={FORMGRADER}"]}]


def server_environment(hub: Hub, user_groups: set[str]) -> dict[str, str]:
    """The environment of a user's Jupyter server: which settings it starts with, by group."""
    if "students" in user_groups:
        return {"JUPYTER_CONFIG_PATH": str(STUDENT_SETTINGS), "RNNLAB_EXCHANGE": str(hub.exchange),
                "RNNLAB_COURSE_ID": hub.course_id}
    if "instructors" in user_groups:
        return {"JUPYTER_CONFIG_PATH": str(INSTRUCTOR_SETTINGS)}
    raise PermissionError("only the course's students and instructors have a server on this hub")


def venv_program(name: str) -> str:
    """A program of this Python's environment: bin/NAME, or an npm one in node_modules/.bin/."""
    prefix = Path(sys.prefix)
    found = [p for p in (prefix / "bin" / name, prefix / "node_modules" / ".bin" / name) if p.exists()]
    if not found:
        raise FileNotFoundError(f"{name} is not installed in {prefix}: run `make setup`")
    return str(found[0])


def formgrader_service(hub: Hub, port: int) -> dict:
    """The formgrader as a service the hub starts (as the hub's user, who owns the course)."""
    return {"name": FORMGRADER, "url": f"http://127.0.0.1:{port}", "cwd": str(hub.root),
            "command": [sys.executable, "-m", "grader.hub.formgrader_service", str(hub.root)],
            "oauth_no_confirm": True}
