"""grader/hub/settings.py: what the hub reads from course.toml, and who gets which server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from grader.hub import settings

REPO = Path(__file__).resolve().parents[1]


def course_with(tmp_path: Path, tables: str) -> Path:
    (tmp_path / "course.toml").write_text('[course]\nid = "c1"\n' + tables)
    return tmp_path


def test_the_courses_own_settings_read():
    hub = settings.read_hub(REPO)
    assert hub.course_id == "rnn-labs" and hub.url.startswith("http://127.0.0.1:")
    assert hub.state == REPO / "course_work" / "hub"


def test_groups_and_exchange_from_course_toml(tmp_path):
    hub = settings.read_hub(course_with(tmp_path, '[exchange]\nroot = "/x/ex"\n'
                                        '[hub]\nstudents = ["ada", "alan"]\ninstructors = ["grace"]\n'))
    assert settings.groups(hub) == {"students": {"users": ["ada", "alan"]},
                                    "instructors": {"users": ["grace"]}}
    assert settings.server_environment(hub, {"students"}) == {
        "JUPYTER_CONFIG_PATH": str(settings.STUDENT_SETTINGS), "RNNLAB_EXCHANGE": "/x/ex",
        "RNNLAB_COURSE_ID": "c1"}
    assert "RNNLAB_EXCHANGE" not in settings.server_environment(hub, {"instructors"})
    with pytest.raises(PermissionError):
        settings.server_environment(hub, {"admins"})


@pytest.mark.parametrize("table, message", [
    ('[hub]\nstudent = ["ada"]\n', "unknown [hub] key(s) student"),
    ('[hub]\nstudents = ["ada"]\ninstructors = ["ada"]\n', "names ada as student and instructor"),
])
def test_mistakes_in_the_hub_table_are_refused(tmp_path, table, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        settings.read_hub(course_with(tmp_path, table))
