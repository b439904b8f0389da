"""The bootstrap cell that release stamps into every notebook, run for real against a local clone.

Colab is simulated by a `google.colab` module; the repository is a git repository of the published
class edition (`python -m grader publish`, what students clone), reached through a file:// URL.
Plain runs: `python -c`, pip installing into a throwaway prefix (RNNLAB_PIP) without dependencies.
Under Colab's pinned Jupyter (ipykernel 5, whose cells never see a child process's own output): a
kernel from a virtual environment holding COLAB_PINS (from PyPI, the package registry, ~20 s) and
seeing this environment's packages after its own, as Colab's runtime has torch and NumPy; there pip
installs the course with its dependencies from what is installed only, so it cannot move a pin.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from grader.course import load_course
from grader.editions.colab import COLAB_PINS
from grader.editions.stamp import bootstrap_source

REPO = Path(__file__).resolve().parents[1]
FAKE_COLAB = "import sys, types\nsys.modules['google.colab'] = types.ModuleType('google.colab')\n"
REPORT = "\nimport rnnlab\nprint('rnnlab from', rnnlab.__file__)\n"
STEPS = ("Fetching the course... done", "Installing the course's helper package... done",
         "Building the course data... done", "The course is ready.")


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
    assert STEPS[0] not in done.stdout and all(step in done.stdout for step in STEPS[1:])
    installed = list((tmp_path / "prefix").rglob("__editable__*rnnlab*"))
    assert installed, "pip did not install the course package (editable) into the prefix"


def test_bootstrap_outside_colab_does_nothing(origin, tmp_path):
    cell = bootstrap_source(f"file://{origin}", "main")
    done = run_cell(cell, tmp_path, tmp_path / "prefix")
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
    assert list(tmp_path.iterdir()) == []


def test_bootstrap_with_a_wrong_branch_shows_git_and_what_to_do(origin, tmp_path):
    cell = bootstrap_source(f"file://{origin}", "no-such-branch")
    done = run_cell(FAKE_COLAB + cell, tmp_path, tmp_path / "prefix")
    assert done.returncode != 0
    assert "Fetching the course... failed. Its last lines:" in done.stdout
    assert "no-such-branch" in done.stdout and "Check REPOSITORY and BRANCH" in done.stdout
    assert "the course set-up stopped: Fetching the course failed (exit status 128)" in done.stderr
    assert "CalledProcessError" not in done.stderr


def test_bootstrap_installs_the_labs_extras():
    cell = bootstrap_source("https://github.com/o/r", "main", ("keras", "grader"))
    assert "EXTRAS = '[keras,grader]'" in cell
    assert "EXTRAS = ''" in bootstrap_source("https://github.com/o/r", "main")


@pytest.fixture(scope="module")
def colab_python(tmp_path_factory) -> Path:
    """The python of a virtual environment holding COLAB_PINS, its kernelspec "colab" in
    <venv>/share/jupyter/kernels; this environment's packages come after its own."""
    venv = tmp_path_factory.mktemp("colab") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    pins = [f"{name}=={version}" for name, version in COLAB_PINS.items()]
    done = subprocess.run([python, "-m", "pip", "install", "--quiet", *pins, "setuptools>=68"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    [site] = venv.glob("lib/python*/site-packages")
    (site / "colab_runtime.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    spec = venv / "share" / "jupyter" / "kernels" / "colab"
    spec.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Colab",
                                                  "language": "python"}))
    return python


def pinned_versions(python: Path) -> dict[str, str]:
    code = ("import importlib.metadata as m, json, sys\n"
            "print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))")
    done = subprocess.run([python, "-c", code, *COLAB_PINS], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def run_in_colab_kernel(python: Path, sources: list[str], cwd: Path, monkeypatch) -> list[str]:
    """Run ``sources`` as the cells of one notebook on the pinned kernel; each cell's printed text
    (stdout and stderr), then its error's "name: value" if it raised."""
    monkeypatch.setenv("JUPYTER_PATH", str(python.parents[1] / "share" / "jupyter"))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # with --no-index: what is installed, only
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.setenv("RNNLAB_PIP", f"{python} -m pip install --no-index --no-build-isolation")
    built = REPO / "data" / "generated"
    if built.is_dir():
        monkeypatch.setenv("RNNLAB_DATA", str(built))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in sources])
    NotebookClient(nb, kernel_name="colab", timeout=600, allow_errors=True,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return ["".join(out.get("text", "") + (f"{out.ename}: {out.evalue}" if out.output_type == "error" else "")
                    for out in cell.outputs) for cell in nb.cells]


def test_bootstrap_under_colabs_pinned_jupyter_speaks_and_moves_nothing(origin, colab_python, tmp_path,
                                                                        monkeypatch):
    """The course.toml extras installed with all dependencies, where only Colab's pins and this
    environment's packages are available: the progress reaches the cell, the pins stay."""
    course = load_course(REPO)
    extras = sorted({course.extras_for(lab) for lab in course.labs()})
    before = pinned_versions(colab_python)
    assert before == COLAB_PINS
    cells = [bootstrap_source(f"file://{origin}", "main", each) for each in extras]
    report = "import ipykernel\nprint('ipykernel', ipykernel.__version__)" + REPORT
    printed = run_in_colab_kernel(colab_python, [FAKE_COLAB, *cells, report], tmp_path, monkeypatch)
    assert all(step in printed[1] for step in STEPS), printed[1]
    assert f"rnnlab from {tmp_path / 'rnn-labs' / 'rnnlab' / '__init__.py'}" in printed[-1], printed
    assert "ipykernel 5.5.6" in printed[-1]
    assert pinned_versions(colab_python) == before


FAILURES = {  # branch, extras: the step that fails, a line of its output, the advice, the exit status
    "wrong branch": ("no-such-branch", (), "Fetching the course", "Remote branch no-such-branch not found",
                     "Check REPOSITORY and BRANCH", 128),
    "lab extra": ("main", ("lab",), "Installing the course's helper package",
                  "No matching distribution found", "Runtime > Restart session", 1),
}


@pytest.mark.parametrize("case", FAILURES)
def test_bootstrap_under_colabs_pinned_jupyter_shows_a_failing_step(origin, colab_python, tmp_path,
                                                                     monkeypatch, case):
    """A wrong branch, and the `lab` extra (release refuses it: it would move the pins, and here
    pip cannot): the step's last lines and what to do reach the cell, then a one-line error."""
    branch, extras, step, shown, advice, status = FAILURES[case]
    cell = bootstrap_source(f"file://{origin}", branch, extras)
    printed = run_in_colab_kernel(colab_python, [FAKE_COLAB, cell], tmp_path, monkeypatch)[1]
    assert f"{step}... failed. Its last lines:\n" in printed, printed
    assert shown in printed and advice in printed, printed
    assert printed.endswith(f"RuntimeError: the course set-up stopped: {step} failed (exit status {status})")
    assert pinned_versions(colab_python) == COLAB_PINS
