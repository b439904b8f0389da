"""The bootstrap cell that release stamps into every notebook, run for real against a local clone.

Colab is simulated by a `google.colab` module; the repository is a git repository of the published
class edition (`python -m grader publish`, what students clone), reached through a file:// URL;
pip installs into a throwaway prefix (RNNLAB_PIP), without dependencies, so no network is needed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.editions.stamp import bootstrap_source

REPO = Path(__file__).resolve().parents[1]
FAKE_COLAB = "import sys, types\nsys.modules['google.colab'] = types.ModuleType('google.colab')\n"
REPORT = "\nimport rnnlab\nprint('rnnlab from', rnnlab.__file__)\n"


@pytest.fixture(scope="module")
def origin(class_edition, tmp_path_factory) -> Path:
    """A git repository holding the class edition, as the students' GitHub repository would."""
    root = tmp_path_factory.mktemp("origin") / "rnn-labs"
    shutil.copytree(class_edition, root)
    git = ["git", "-c", "user.name=Course", "-c", "user.email=course@example.org", "-C", str(root)]
    subprocess.run([*git, "init", "--quiet", "--initial-branch", "main"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", "course"], check=True)
    return root


def run_cell(source: str, cwd: Path, prefix: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    # --ignore-installed: without it pip first uninstalls the course package from the test's
    # own environment, and every later test (and notebook kernel) loses `rnnlab`.
    env["RNNLAB_PIP"] = (f"{sys.executable} -m pip install --quiet --no-deps --no-index "
                         f"--ignore-installed --no-build-isolation --prefix {prefix}")
    built = REPO / "data" / "generated"
    if built.is_dir():  # the builders skip what exists: point them at the checkout's data
        env["RNNLAB_DATA"] = str(built)
    return subprocess.run([sys.executable, "-c", source], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_bootstrap_in_colab_clones_installs_builds_and_imports(origin, tmp_path):
    """Run twice, as a student re-running the cell: the second run reuses the clone."""
    content = tmp_path / "content"
    content.mkdir()
    cell = bootstrap_source(f"file://{origin}", "main")
    for _ in range(2):
        done = run_cell(FAKE_COLAB + cell + REPORT, content, tmp_path / "prefix")
        assert done.returncode == 0, done.stdout + done.stderr
    clone = content / "rnn-labs"
    assert [p.name for p in content.iterdir()] == ["rnn-labs"]
    assert (clone / "rnnlab" / "runtime.py").is_file() and not (clone / "solutions").exists()
    assert f"rnnlab from {clone / 'rnnlab' / '__init__.py'}" in done.stdout
    assert "rnnlab.build: data written to" in done.stdout
    installed = list((tmp_path / "prefix").rglob("__editable__*rnnlab*"))
    assert installed, "pip did not install the course package (editable) into the prefix"


def test_bootstrap_outside_colab_does_nothing(origin, tmp_path):
    cell = bootstrap_source(f"file://{origin}", "main")
    done = run_cell(cell, tmp_path, tmp_path / "prefix")
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
    assert list(tmp_path.iterdir()) == []


def test_bootstrap_with_a_wrong_branch_fails_loudly(origin, tmp_path):
    cell = bootstrap_source(f"file://{origin}", "no-such-branch")
    done = run_cell(FAKE_COLAB + cell, tmp_path, tmp_path / "prefix")
    assert done.returncode != 0
    assert "no-such-branch" in done.stderr


def test_bootstrap_installs_the_labs_extras():
    cell = bootstrap_source("https://github.com/o/r", "main", ("keras", "grader"))
    assert "EXTRAS = '[keras,grader]'" in cell
    assert "EXTRAS = ''" in bootstrap_source("https://github.com/o/r", "main")
