"""`python -m grader publish`: the students' editions hold no solution and no instructor material,
set themselves up on their own, and the self-study check grades a notebook without the grader."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import nbformat
import pytest
from test_jupyterlab import serve_make_lab

from grader.course import load_course
from grader.editions.colab import COLAB_PINS
from grader.editions.publish import NBGRADER_MARKERS, PublishError, publish
from grader.editions.stamp import BADGE_PREFIX

REPO = Path(__file__).resolve().parents[1]
LAB00 = "00_getting_started"
CLASS_TREE = {".gitignore", ".rnnlab-edition", "Makefile", "README.md", "constraints.txt", "data",
              "docs", "environment-gpu.yml", "environment.yml", "jupyter", "labs", "pyproject.toml",
              "rnnlab"}
SHORTEST_ANSWER_LINE = 12  # shorter lines ("return x", "else:") prove nothing
BLOCK = 3  # an answer leaks when BLOCK of its consecutive meaningful lines appear in a file
COLAB_UNTOUCHABLE = {*COLAB_PINS, "prompt-toolkit"}  # Colab warns that upgrading these crashes it


def normalised(line: str) -> str:
    return " ".join(line.split())


def between(source: str, begin: str, end: str) -> list[list[str]]:
    """The runs of lines of ``source`` between each ``begin`` and ``end`` marker line."""
    runs, inside = [], False
    for line in source.splitlines():
        if line.strip() in (begin, end):
            inside = line.strip() == begin
            if inside:
                runs.append([])
        elif inside:
            runs[-1].append(line)
    return runs


def meaningful(lines: list[str], shown: set[str] = frozenset()) -> list[str]:
    """Normalised lines long enough to mean something ("return x" proves nothing), not shown."""
    kept = (normalised(line) for line in lines)
    return [line for line in kept if len(line) >= SHORTEST_ANSWER_LINE and line not in shown]


def windows(lines: list[str], n: int) -> set[tuple[str, ...]]:
    """Every run of ``n`` consecutive lines."""
    return {tuple(lines[i:i + n]) for i in range(len(lines) - n + 1)} if n else set()


def text_runs(path: Path) -> list[list[str]]:
    """The lines of a text file, or of each cell of a notebook."""
    if path.suffix == ".ipynb":
        return [cell.source.splitlines() for cell in nbformat.read(path, as_version=4).cells]
    return [path.read_text(errors="replace").splitlines()]


def answer_blocks() -> set[tuple[str, ...]]:
    """Blocks of the answers, hidden tests and model written answers of solutions/, without the
    lines that some released notebook shows anyway."""
    shown = {normalised(line) for path in (REPO / "labs").glob("*/*.ipynb")
             for run in text_runs(path) for line in run}
    found = set()
    for path in sorted((REPO / "solutions").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            runs = (between(cell.source, "### BEGIN SOLUTION", "### END SOLUTION")
                    + between(cell.source, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"))
            if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution"):
                runs.append(cell.source.splitlines())
            for run in runs:
                lines = meaningful(run, shown)
                # BLOCK consecutive lines (fewer in a short answer): a copied answer shares
                # them; a common idiom (`loss.backward()`) alone does not.
                found |= windows(lines, min(BLOCK, len(lines)))
    return found


def published_files(root: Path, *skip: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()
            and p.suffix not in (".h5", ".png", ".npy", ".npz", ".jpg")
            and not set(p.relative_to(root).parts) & {".git", *skip}]


def leaks(root: Path, *skip: str) -> list[str]:
    """'<file>: <lines>' for every answer block or nbgrader marker found under ``root``."""
    answers = answer_blocks()
    found = []
    for path in published_files(root, *skip):
        runs = text_runs(path)
        here = {block for run in runs for n in range(1, BLOCK + 1)
                for block in windows(meaningful(run), n)}
        found += [f"{path.relative_to(root)}: {' | '.join(block)}" for block in sorted(here & answers)]
        found += [f"{path.relative_to(root)}: {marker}" for marker in NBGRADER_MARKERS
                  if any(marker in line for run in runs for line in run)]
    return found


def badges_and_bootstraps(root: Path, folder: str) -> list[tuple[str, str]]:
    stamps = []
    for path in sorted((root / folder).glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        badge = [line for line in nb.cells[0].source.splitlines() if line.startswith(BADGE_PREFIX)]
        stamps.append((badge[0], nb.cells[1].source))
    return stamps


def test_class_edition_holds_no_solution_and_no_instructor_material(class_edition):
    assert {p.name for p in class_edition.iterdir()} == CLASS_TREE
    assert (class_edition / "rnnlab" / "check.py").is_file()
    assert len(answer_blocks()) > 100, "few answer blocks in solutions/: the leak check proves nothing"
    assert leaks(class_edition) == []
    course = load_course(REPO)
    students = course.edition("class")
    for path in published_files(class_edition):
        assert course.repository not in path.read_text(errors="replace"), path
    stamps = badges_and_bootstraps(class_edition, "labs")
    assert len(stamps) == len(course.labs())
    for badge, bootstrap in stamps:
        assert students.repository.removeprefix("https://github.com/") in badge
        assert f"REPOSITORY = {students.repository!r}" in bootstrap
    project = tomllib.loads((class_edition / "pyproject.toml").read_text())
    assert set(project["project"]["optional-dependencies"]) == {"lab", "keras"}
    assert "scripts" not in project["project"], "the grader's command, without the grader"
    assert project["tool"]["setuptools"]["packages"]["find"]["include"] == ["rnnlab*"]
    for name in ("environment.yml", "environment-gpu.yml"):
        assert "nh3" not in (class_edition / name).read_text()
    readme = (class_edition / "README.md").read_text()
    assert "class edition" in readme and "make lab" in readme and "make check LAB=03" in readme
    assert "nbgrader validate" not in readme
    assert all(f"`{lab}/" in readme for lab in course.labs()), "the lab table misses a lab"
    assert not re.search(r"\bseeds?\b", readme)
    assert not re.search(r"make (release|grade|publish|bench)|-m grader", readme), "instructors' text"


def test_self_study_edition_adds_the_check_and_the_worked_solutions(self_study_edition):
    course = load_course(REPO)
    assert {p.name for p in self_study_edition.iterdir()} == CLASS_TREE | {"solutions"}
    assert (self_study_edition / "rnnlab" / "check.py").is_file()
    assert leaks(self_study_edition, "solutions", "check.py") == []  # check.py names the markers
    worked = sorted((self_study_edition / "solutions").glob("*/*.ipynb"))
    assert [path.parent.name for path in worked] == course.labs()
    assert not any(marker in path.read_text() for path in worked for marker in NBGRADER_MARKERS)
    own = course.edition("self-study")
    for folder in ("labs", "solutions"):
        for badge, bootstrap in badges_and_bootstraps(self_study_edition, folder):
            assert f"{own.repository.removeprefix('https://github.com/')}/blob/" in badge
            assert f"/{folder}/" in badge
            assert f"REPOSITORY = {own.repository!r}" in bootstrap
    readme = (self_study_edition / "README.md").read_text()
    assert "self-study edition" in readme and "make check LAB=03" in readme


def run_check(edition: Path, *args: str) -> subprocess.CompletedProcess:
    """`python -m rnnlab.check` of the edition, with the grader and nbgrader made unimportable."""
    script = ("import runpy, sys\nsys.modules['grader'] = sys.modules['nbgrader'] = None\n"
              f"sys.argv = ['rnnlab.check', *{list(args)!r}]\n"
              "runpy.run_module('rnnlab.check', run_name='__main__')\n")
    env = {**os.environ, "RNNLAB_DATA": str(REPO / "data" / "generated")}
    env.pop("RNNLAB_PROFILE", None)
    return subprocess.run([sys.executable, "-c", script], cwd=edition, capture_output=True,
                          text=True, timeout=600, env=env)


def test_self_study_check_scores_blank_zero_and_the_solution_full_marks(self_study_edition):
    solution = next((self_study_edition / "solutions" / LAB00).glob("*.ipynb"))
    autograded = sum(cell.metadata["nbgrader"].get("points", 0)
                     for cell in nbformat.read(solution, as_version=4).cells
                     if cell.metadata.get("nbgrader", {}).get("grade")
                     and not cell.metadata["nbgrader"].get("solution"))
    blank = run_check(self_study_edition, "00")
    assert blank.returncode == 0, blank.stderr
    assert f"autograded: 0 / {autograded:g} points" in blank.stdout
    assert "not attempted: softmax still raises NotImplementedError" in blank.stdout
    assert "3. A first exercise: softmax with a temperature" in blank.stdout
    assert "Written question" in blank.stdout and "not answered" in blank.stdout
    assert "[5/5] 3. A first exercise" in blank.stderr, "no progress line per cell"
    worked = run_check(self_study_edition, "0", str(solution))
    assert worked.returncode == 0, worked.stderr
    assert f"autograded: {autograded:g} / {autograded:g} points" in worked.stdout
    assert "written answer" in worked.stdout
    unknown = run_check(self_study_edition, "99")
    assert unknown.returncode == 2 and "the labs are 00_getting_started" in unknown.stderr


def test_class_check_judges_the_visible_tests_and_points_to_the_first_failing_cell(class_edition, tmp_path):
    """The class edition's check: the notebook's own (visible) tests, judged outside the kernel;
    a wrong answer fails with the judge's message, and an earlier failing cell is named."""
    notebook = nbformat.read(class_edition / "labs" / LAB00 / "getting_started.ipynb", as_version=4)
    answer = next(i for i, cell in enumerate(notebook.cells)
                  if cell.metadata.get("nbgrader", {}).get("grade_id") == "softmax")
    notebook.cells[answer].source = (  # no shift by the largest score: overflows on [1000, 0, -1000]
        "import numpy as np\n\ndef softmax(scores, temperature=1.0):\n"
        "    e = np.exp(np.asarray(scores, dtype=float) / temperature)\n"
        "    return e / e.sum(axis=-1, keepdims=True)\n")
    notebook.cells.insert(answer, nbformat.v4.new_code_cell("plot(history)"))
    partial = tmp_path / "getting_started.ipynb"
    nbformat.write(notebook, partial)
    checked = run_check(class_edition, "00", str(partial))
    assert checked.returncode == 0, checked.stderr
    assert "your notebook's visible tests, judged as the course grades them" in checked.stdout
    assert "autograded: 1 / 3 points" in checked.stdout
    assert "test_softmax_row                     1 / 1   passed" in checked.stdout
    failed = checked.stdout.split("test_softmax_batch_temperature", 1)[1]
    assert "failed: scores [1000, 0, -1000] give nan or inf" in failed
    assert "first, an earlier cell failed: code cell 3 (under '3. A first exercise: softmax with a " \
           "temperature') raised NameError: name 'plot' is not defined" in failed
    assert "grading also runs hidden tests" in checked.stdout


@pytest.fixture
def small_course(tmp_path) -> Path:
    """A course with lab 00 only (a release takes seconds), and what publish copies."""
    root = tmp_path / "course"
    root.mkdir()
    for name in ("course.toml", "pyproject.toml", "README.md", "environment.yml",
                 "environment-gpu.yml", "constraints.txt"):
        shutil.copyfile(REPO / name, root / name)
    for folder in (f"solutions/{LAB00}", f"labs/{LAB00}", "rnnlab", "docs"):
        shutil.copytree(REPO / folder, root / folder,
                        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    shutil.copytree(REPO / "data", root / "data", ignore=shutil.ignore_patterns("generated"))
    return root


def test_publish_refuses_stale_labs_and_dangerous_destinations(small_course, tmp_path):
    course = load_course(small_course)
    with pytest.raises(PublishError, match="overlaps"):
        publish(course, small_course / "public")
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("years of work")
    with pytest.raises(PublishError, match="holds files that are not an edition"):
        publish(course, foreign)
    assert (foreign / "thesis.tex").read_text() == "years of work"
    released = next((small_course / "labs" / LAB00).glob("*.ipynb"))
    nb = nbformat.read(released, as_version=4)
    nb.cells[2].source += "\nEdited by hand."
    nbformat.write(nb, released)
    with pytest.raises(PublishError, match="fresh release .*make release"):
        publish(course, tmp_path / "public")
    assert not (tmp_path / "public").exists()


def test_publish_into_a_checkout_keeps_its_git_and_replaces_the_rest(small_course, tmp_path):
    checkout = tmp_path / "students"
    subprocess.run(["git", "init", "--quiet", str(checkout)], check=True)
    (checkout / "old_lab.ipynb").write_text("{}")
    publish(load_course(small_course), checkout)
    assert (checkout / ".git" / "HEAD").is_file() and not (checkout / "old_lab.ipynb").exists()
    assert (checkout / "labs" / LAB00).is_dir()
    (checkout / "stray.txt").write_text("left over")
    publish(load_course(small_course), checkout)
    assert not (checkout / "stray.txt").exists() and (checkout / "labs" / LAB00).is_dir()


def test_class_edition_sets_itself_up_serves_jupyterlab_and_runs_to_each_first_exercise(
        class_edition, tmp_path):
    """A copy of the class edition, alone in a temporary folder, runs its README's `make lab`.

    So that the test does not install 6 GB of packages again, its .venv is created beforehand with
    this environment's site-packages visible through a .pth file: pip then finds every dependency
    satisfied and installs only the edition's own package; the rest (install, data build, JupyterLab)
    runs as a student's first `make lab` does.
    """
    copy = tmp_path / "rnn-labs"
    shutil.copytree(class_edition, copy)
    venv = copy / ".venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = subprocess.run([venv / "bin" / "python", "-c", "import sysconfig; "
                           "print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "instructors-environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {key: value for key, value in os.environ.items()
           if key not in ("RNNLAB_DATA", "RNNLAB_PROFILE", "VIRTUAL_ENV", "PYTHONPATH")}
    listing, output = serve_make_lab(copy, wait_s=600, env=env)
    assert {item["name"] for item in listing["content"]} == {p.name for p in (copy / "labs").iterdir()}
    assert "rnnlab.build: data written to" in output
    located = subprocess.run([venv / "bin" / "python", "-c", "import rnnlab; print(rnnlab.__file__)"],
                             capture_output=True, text=True, check=True, cwd=tmp_path, env=env)
    assert located.stdout.strip() == str(copy / "rnnlab" / "__init__.py")
    notebooks = sorted(str(p) for p in (copy / "labs").glob("*/*.ipynb"))
    done = subprocess.run([venv / "bin" / "python", REPO / "tests" / "first_exercise.py", *notebooks],
                          capture_output=True, text=True, timeout=900, cwd=copy,
                          env={**env, "RNNLAB_PROFILE": "test"})
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]


def dry_run(folder: Path, target: str, *variables: str) -> list[list[str]]:
    """The commands `make -n target` would run in ``folder``, each split into words (settings
    of a `make` that runs the tests left out)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    done = subprocess.run(["make", "--no-print-directory", "-n", target, *variables], cwd=folder,
                          capture_output=True, text=True, check=True, timeout=60, env=env)
    return [shlex.split(line) for line in done.stdout.replace("\\\n", " ").splitlines()]


def test_torch_index_reaches_pip_as_an_extra_index_and_no_setting_adds_none(class_edition):
    """TORCH_INDEX=URL (laptops: PyTorch's CPU-only builds) gives pip --extra-index-url URL."""
    def install(*variables: str) -> list[str]:
        return next(c for c in dry_run(class_edition, "setup", *variables) if "-e" in c)

    plain = install()
    assert plain == [".venv/bin/pip", "install", "--quiet", "-c", "constraints.txt", "-e", ".[lab,keras]"]
    url = "https://download.pytorch.org/whl/cpu"
    assert install(f"TORCH_INDEX={url}") == [*plain[:5], "--extra-index-url", url, *plain[5:]]


def test_make_check_runs_the_course_check_as_the_docs_write_it(class_edition):
    """`make check LAB=03 NOTEBOOK=path/to/yours.ipynb` (docs/students.md, the editions' README)
    runs rnnlab's check on that lab and notebook; without LAB it says what to write."""
    command = dry_run(class_edition, "check", "LAB=03", "NOTEBOOK=path/to/yours.ipynb")[-1]
    assert command == [".venv/bin/python", "-m", "rnnlab.check", "03", "path/to/yours.ipynb"]
    assert dry_run(class_edition, "check", "LAB=00")[-1] == [".venv/bin/python", "-m", "rnnlab.check", "00"]
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    unnamed = subprocess.run(["make", "--no-print-directory", "check", "-o", ".venv/.stamp-install",
                              "-o", "data/generated/.stamp-data"], cwd=class_edition,
                             capture_output=True, text=True, timeout=60, env=env)
    assert unnamed.returncode == 2 and "say which lab: make check LAB=03" in unnamed.stdout


def test_only_the_editions_jupyterlab_gets_the_students_settings(class_edition):
    """The edition's `make lab` points JupyterLab at its jupyter/ settings; the instructors' keeps
    nbgrader's instructor tools (no such settings)."""
    edition = dry_run(class_edition, "lab")[-1]
    assert edition[0] == f"JUPYTER_CONFIG_PATH={class_edition / 'jupyter'}" and "jupyterlab" in edition
    assert (class_edition / "jupyter" / "labconfig" / "page_config.json").is_file()
    instructors = dry_run(REPO, "lab")[-1]
    assert "jupyterlab" in instructors and not any("JUPYTER_CONFIG_PATH" in w for w in instructors)


def test_colab_install_leaves_colabs_jupyter_stack_alone(class_edition, tmp_path):
    """In a venv holding Colab's pins, the bootstrap cell's install (pip dry run) changes none of
    them. Needs PyPI (a package registry) for the pins and the course's dependencies."""
    course = load_course(REPO)
    assert {course.extras_for(lab) for lab in course.labs()} == {()}, \
        "a lab's Colab extras changed: dry-run the bootstrap with them too"
    venv = tmp_path / "colab"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    pins = [f"{name}=={version}" for name, version in COLAB_PINS.items()]
    pinned = subprocess.run([python, "-m", "pip", "install", "--quiet", *pins],
                            capture_output=True, text=True, timeout=900)
    assert pinned.returncode == 0, pinned.stderr[-3000:]
    report = tmp_path / "report.json"
    # the bootstrap cell's command: `python -m pip install --editable <checkout>`
    done = subprocess.run([python, "-m", "pip", "install", "--quiet", "--editable", str(class_edition),
                           "--dry-run", "--report", str(report)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    installed = {item["metadata"]["name"].lower().replace("_", "-")
                 for item in json.loads(report.read_text())["install"]}
    assert "rnnlab" in installed
    assert installed & COLAB_UNTOUCHABLE == set(), "the bootstrap would change Colab's kernel side"
