"""Release (stamping + nbgrader generate_assignment), course.toml, collect and check-outputs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

from grader.collect import collect
from grader.course import load_course
from grader.editions.colab import ColabExtrasError, check_colab_extras
from grader.editions.stamp import BADGE_PREFIX, stamp_notebook

REPO = Path(__file__).resolve().parents[1]
LAB00 = "00_getting_started"
NB00 = "getting_started.ipynb"


def grader_cli(course: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", "--course", str(course), *args],
                          capture_output=True, text=True, timeout=900)


def copy_course(target: Path) -> Path:
    target.mkdir()
    shutil.copyfile(REPO / "course.toml", target / "course.toml")
    shutil.copytree(REPO / "solutions", target / "solutions")
    shutil.copytree(REPO / "labs", target / "labs")
    return target


def notebook_json(path: Path) -> dict:
    """The notebook as JSON; nbgrader writes nothing volatile, so nothing is dropped."""
    return json.loads(path.read_text())


def test_labs_equal_a_fresh_release(tmp_path):
    course = copy_course(tmp_path / "course")
    shutil.rmtree(course / "labs")
    done = grader_cli(course, "release")
    assert done.returncode == 0, done.stdout + done.stderr
    fresh = sorted(p.relative_to(course / "labs") for p in (course / "labs").rglob("*")
                   if p.is_file())
    committed = sorted(p.relative_to(REPO / "labs") for p in (REPO / "labs").rglob("*")
                       if p.is_file() and ".ipynb_checkpoints" not in p.parts)
    assert fresh == committed, "labs/ has other files than a fresh release: run `make release`"
    for relative in fresh:
        if relative.suffix == ".ipynb":
            assert notebook_json(course / "labs" / relative) == notebook_json(
                REPO / "labs" / relative
            ), f"labs/{relative} differs from a fresh release: run `make release`"
    for path in (REPO / "solutions").rglob("*.ipynb"):
        relative = path.relative_to(REPO / "solutions")
        assert notebook_json(course / "solutions" / relative) == notebook_json(path), (
            f"solutions/{relative} is not stamped from course.toml: run `make release`"
        )


def test_release_hides_solutions_and_hidden_tests():
    text = (REPO / "labs" / LAB00 / NB00).read_text()
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    assert "raise NotImplementedError()" in text and "YOUR ANSWER HERE" in text


def test_stamp_inserts_badge_and_bootstrap_once(tmp_path):
    course = load_course(REPO)
    path = tmp_path / NB00
    nb = nbformat.read(REPO / "solutions" / LAB00 / NB00, as_version=4)
    nb.cells[0].source = "\n".join(line for line in nb.cells[0].source.splitlines()
                                   if not line.startswith(BADGE_PREFIX))
    nb.cells[1].source = "print('old bootstrap')"
    nbformat.write(nb, path)
    assert stamp_notebook(path, course, LAB00) is True
    stamped = nbformat.read(path, as_version=4)
    badge = [line for line in stamped.cells[0].source.splitlines() if line.startswith(BADGE_PREFIX)]
    students = course.edition("class")
    assert badge == [
        "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"(https://colab.research.google.com/github/{students.repository.split('github.com/')[1]}"
        f"/blob/{students.branch}/labs/{LAB00}/{NB00})"
    ]
    assert "google.colab" in stamped.cells[1].source
    assert f"REPOSITORY = {students.repository!r}" in stamped.cells[1].source
    assert course.repository not in path.read_text(), "a notebook points at the instructors' repository"
    assert stamp_notebook(path, course, LAB00) is False, "stamping twice changed the notebook"


def test_stamp_refuses_a_notebook_without_header_cell(tmp_path):
    path = tmp_path / "bad.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), path)
    with pytest.raises(ValueError, match="tagged 'header'"):
        stamp_notebook(path, load_course(REPO), LAB00)


def test_course_toml_errors_say_what_to_fix(tmp_path):
    (tmp_path / "course.toml").write_text('[course]\nname = "x"\n')
    with pytest.raises(ValueError, match="repository, branch"):
        load_course(tmp_path)
    course = '[course]\nname="x"\nrepository="https://github.com/o/private"\nbranch="main"\n'
    (tmp_path / "course.toml").write_text(course)
    with pytest.raises(ValueError, match=r"\[editions.class\] is missing: it names the students"):
        load_course(tmp_path)
    course += '[editions.class]\nrepository="https://github.com/o/public"\nbranch="main"\n'
    (tmp_path / "course.toml").write_text(course + "[editions.everyone]\nrepository='x'\n")
    with pytest.raises(ValueError, match="unknown edition.*everyone"):
        load_course(tmp_path)
    (tmp_path / "course.toml").write_text(course)
    with pytest.raises(ValueError, match=r"no \[editions.self-study\]"):
        load_course(tmp_path).edition("self-study")
    (tmp_path / "course.toml").write_text(course + "[grading]\ncell_timeout=5\n")
    with pytest.raises(ValueError, match="unknown \\[grading\\] key 'cell_timeout'"):
        load_course(tmp_path)
    with pytest.raises(FileNotFoundError, match="course.toml"):
        load_course(tmp_path / "nowhere")


def test_release_refuses_a_colab_extra_that_would_move_colabs_jupyter(tmp_path):
    course = copy_course(tmp_path / "course")
    shutil.copyfile(REPO / "pyproject.toml", course / "pyproject.toml")
    toml = course / "course.toml"
    toml.write_text(toml.read_text().replace("[colab]\nextras = []", '[colab]\nextras = ["lab"]'))
    done = grader_cli(course, "release")
    assert done.returncode == 2
    assert "the extra 'lab' would move Colab's own Jupyter packages" in done.stderr
    assert "ipykernel 5.5.6: lab requires ipykernel>=" in done.stderr
    assert "notebook 6.5.5: lab requires notebook>=" in done.stderr
    assert "remove 'lab' from [colab] extras and [colab.lab_extras]" in done.stderr
    stamped = course / "solutions" / LAB00 / NB00
    assert notebook_json(stamped) == notebook_json(REPO / "solutions" / LAB00 / NB00), "stamped anyway"


def test_colab_extras_accepted_are_the_editions_that_leave_colab_alone():
    course = load_course(REPO)
    check_colab_extras(course)  # the default course.toml
    check_colab_extras(replace(course, lab_extras={"01_char_lstm_keras": ("keras",)}))
    with pytest.raises(ColabExtrasError, match="the editions have no extra 'grader' .* lab, keras"):
        check_colab_extras(replace(course, colab_extras=("grader",)))
    with pytest.raises(ColabExtrasError, match="the extra 'lab' would move"):
        check_colab_extras(replace(course, lab_extras={"00_getting_started": ("lab",)}))


def test_collect_reads_a_zip_like_a_folder_and_reports_bad_notebooks(tmp_path):
    course = load_course(copy_course(tmp_path / "course"))
    examples = REPO / "grader" / "examples"
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for student in ("partial", "invalid_json"):
            zipped.write(examples / student / LAB00 / NB00, f"course-export/{student}/{LAB00}/{NB00}")
        zipped.writestr(f"course-export/partial/99_no_such_lab/{NB00}", "{}")
    collected = collect(course, archive)
    assert collected.submissions == [("partial", LAB00)]
    problems = {(p.student, p.lab): p for p in collected.problems}
    assert "not a valid notebook" in problems[("invalid_json", LAB00)].reason
    assert "no lab named" in problems[("partial", "99_no_such_lab")].reason
    assert (course.work_dir / "submitted" / "partial" / LAB00 / NB00).is_file()


def test_collect_skips_unsafe_zip_paths_with_a_reason(tmp_path):
    course = load_course(copy_course(tmp_path / "course"))
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("../escape.ipynb", "{}")
    collected = collect(course, archive)
    assert collected.submissions == []
    (problem,) = collected.problems
    assert (problem.student, problem.lab, problem.status) == ("(zip)", "", "invalid")
    assert "zip entry '../escape.ipynb' skipped: path leaves the archive" in problem.reason


def test_check_outputs_fails_on_outputs_and_passes_when_clean(tmp_path):
    course = copy_course(tmp_path / "course")
    assert grader_cli(course, "check-outputs").returncode == 0
    path = course / "solutions" / LAB00 / NB00
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code")
    cell.execution_count = 3
    cell.outputs = [nbformat.v4.new_output("stream", text="hello")]
    nbformat.write(nb, path)
    done = grader_cli(course, "check-outputs")
    assert done.returncode == 1
    assert f"solutions/{LAB00}/{NB00}: outputs or execution counts" in done.stderr


def test_repository_notebooks_have_no_outputs():
    done = grader_cli(REPO, "check-outputs")
    assert done.returncode == 0, done.stderr
