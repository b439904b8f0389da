"""grader/hub/settings.py: what the hub reads from course.toml, and who gets which server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from grader.hub import settings

REPO = Path(__file__).resolve().parents[1]


def with_table(toml: str, name: str, body: str) -> str:
    """``toml`` with its [name] table (if any) replaced by ``body``, at the end."""
    kept, skipping = [], False
    for line in toml.splitlines():
        if line.startswith("["):
            skipping = line.strip() == f"[{name}]"
        if not skipping:
            kept.append(line)
    return "\n".join(kept) + f"\n\n[{name}]\n{body}\n"


def course_with(tmp_path: Path, **tables: str) -> Path:
    """A course root whose course.toml is the course's own with ``tables`` replaced."""
    toml = (REPO / "course.toml").read_text()
    for name, body in tables.items():
        toml = with_table(toml, name, body)
    (tmp_path / "course.toml").write_text(toml)
    return tmp_path


def test_the_courses_own_settings_read():
    hub = settings.read_hub(REPO)
    assert hub.course_id == "rnn-labs" and hub.url.startswith("http://127.0.0.1:")
    assert hub.state == REPO / "course_work" / "hub"


def test_groups_and_exchange_from_course_toml(tmp_path):
    hub = settings.read_hub(course_with(tmp_path, exchange='root = "/x/ex"',
                                        hub='students = ["ada", "alan"]\ninstructors = ["grace"]'))
    assert settings.groups(hub) == {"students": {"users": ["ada", "alan"]},
                                    "instructors": {"users": ["grace"]}}
    assert settings.server_environment(hub, {"students"}) == {
        "JUPYTER_CONFIG_PATH": str(settings.STUDENT_SETTINGS), "RNNLAB_EXCHANGE": "/x/ex",
        "RNNLAB_COURSE_ID": "rnn-labs"}
    assert "RNNLAB_EXCHANGE" not in settings.server_environment(hub, {"instructors"})
    with pytest.raises(PermissionError):
        settings.server_environment(hub, {"admins"})


@pytest.mark.parametrize("table, message", [
    ('student = ["ada"]', "unknown [hub] key(s) student"),
    ('students = ["ada"]\ninstructors = ["ada"]', "names ada as student and instructor"),
])
def test_mistakes_in_the_hub_table_are_refused(tmp_path, table, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        settings.read_hub(course_with(tmp_path, hub=table))
