"""Every grade means something: wrong answers lose points, right ones written differently keep them.

Runs the mutation suite described in ``tests/mutation.py`` (read its docstring for the format of
``tests/mutants/labNN.py`` and how a lab is judged):
  - ``test_lab_module_is_complete[labNN]``: the module applies to the solution notebook (no stale
    variant) and every autograded exercise has enough mutants and equivalents (no kernel, fast);
  - ``test_every_exercise_tried_with_rnnlab_alone[labNN]``: every autograded exercise has a
    FROM_RNNLAB mutant (an answer built only from rnnlab's public functions: the fast path must
    kill it) or a NO_RELATED_HELPER reason (no kernel, fast);
  - ``test_mutants_killed_equivalents_full_marks[labNN]``: the fast path, one kernel per lab under
    the ``grading`` profile; prints the lab's table with ``-s``;
  - ``test_every_lab_has_a_mutation_module``: fails listing the labs without a module;
  - ``test_real_grader_agrees_on_a_sample``: the course's grader (``python -m grader grade``) grades
    one mutant per lab (the module's ``GRADER_SAMPLE``, else its first) and, for lab 00, an
    equivalent that writes a warning to stderr; the gradebook must agree with the fast path.
    When this test is selected, the grader starts in the background at the module's first test
    and grades while the fast path runs (the two use the machine's two cores).

One lab (the grader sample is not selected then, so it does not run)::

    cpu-slot .venv/bin/python -m pytest tests/test_mutants.py -k lab03 -q -s

Everything (all labs and the grader sample): ``cpu-slot .venv/bin/python -m pytest
tests/test_mutants.py -q -s``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import mutation
import nbformat
import pytest
from nbgrader.api import Gradebook
from test_grader_cycle import make_course

from grader.course import load_course
from grader.gradebook import extra_credit_cells
from grader.report import read_csv

MODULES = sorted(mutation.lab_modules())
GRADER_TEST = "test_real_grader_agrees_on_a_sample"
GRADER_TIMEOUT_S = 1500


@pytest.mark.parametrize("name", MODULES)
def test_lab_module_is_complete(name):
    the_plan = mutation.plan(mutation.load(name))
    problems = the_plan.coverage_problems()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", MODULES)
def test_every_exercise_tried_with_rnnlab_alone(name):
    module = mutation.load(name)
    problems = mutation.rnnlab_problems(module, mutation.plan(module))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", MODULES)
def test_mutants_killed_equivalents_full_marks(name):
    result = mutation.run(mutation.plan(mutation.load(name)))
    print("\n" + result.table())
    problems = result.problems()
    assert not problems, f"{name}:\n" + "\n".join(problems)


def test_every_lab_has_a_mutation_module():
    missing = mutation.missing_modules()
    assert not missing, "no module in tests/mutants/ for: " + ", ".join(missing)


def _submit(root, student: str, the_plan: mutation.Plan, variant: mutation.Variant) -> None:
    """<root>/<student>/<lab>/<notebook>: the solution notebook with ``variant`` applied."""
    nb = nbformat.read(the_plan.notebook, as_version=4)
    cell = nb.cells[the_plan.exercises[variant.cell].index]
    cell.source = variant.apply(cell.source)
    folder = root / student / the_plan.lab
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / the_plan.notebook.name)


@dataclass
class Sample:
    """The real grader, started on the sample: what it grades and the running process."""

    course: Path
    expected: list[tuple[str, mutation.Plan, mutation.Variant]]  # (student, lab's plan, variant)
    process: subprocess.Popen
    log: Path


@pytest.fixture(scope="module", autouse=True)
def grader_sample(request, tmp_path_factory):
    """When the grader test is selected, start the course's grader on the sample at once, in the
    background: it grades while the fast path runs, so the suite uses both cores."""
    if not any(item.originalname == GRADER_TEST for item in request.session.items):
        yield None
        return
    base = tmp_path_factory.mktemp("grader_sample")
    plans = []
    for name in MODULES:
        try:
            plans.append(mutation.plan(mutation.load(name)))
        except mutation.StaleVariant:
            pass  # test_lab_module_is_complete says what is stale
    expected = [("mutant", p, p.grader_sample) for p in plans if p.grader_sample is not None]
    lab00 = next(p for p in plans if p.name == "lab00")
    noisy = next(v for e in lab00.exercises.values() for v, _ in e.variants
                 if isinstance(v, mutation.Equivalent) and "warnings.warn" in (v.answer or v.new))
    expected.append(("equivalent", lab00, noisy))
    for student, the_plan, variant in expected:
        _submit(base / "incoming", student, the_plan, variant)
    course = make_course(base / "course")
    env = {k: v for k, v in os.environ.items() if k != "RNNLAB_PROFILE"}
    cmd = [sys.executable, "-m", "grader", "--course", str(course), "grade",
           str(base / "incoming"), "--jobs", "2"]
    log = base / "grader.log"
    with log.open("w") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    yield Sample(course, expected, process, log)
    if process.poll() is None:
        process.kill()
        process.wait()


def test_real_grader_agrees_on_a_sample(grader_sample):
    """The course's grader, in its sandbox, on one mutant per lab and one equivalent of lab 00
    that writes a warning to stderr inside a test cell (nbgrader alone would give that cell 0)."""
    course, expected = grader_sample.course, grader_sample.expected
    try:
        grader_sample.process.wait(timeout=GRADER_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the grader ran over {GRADER_TIMEOUT_S} s:\n{grader_sample.log.read_text()[-3000:]}")
    assert grader_sample.process.returncode == 0, (
        f"grader failed:\n{grader_sample.log.read_text()[-5000:]}")

    rows = {(o.student, o.lab): o for o in read_csv(course / "course_work" / "grades.csv")}
    missing = [(s, p.lab) for s, p, _ in expected if (s, p.lab) not in rows]
    assert not missing, f"grades.csv has no row for {missing}"
    failed = [f"{lab} {student}: {row.status}, {row.reason}" for (student, lab), row in rows.items()
              if row.status not in ("graded", "needs manual grading")]
    assert not failed, "the grader could not grade:\n" + "\n".join(failed)
    problems = []
    with Gradebook(f"sqlite:///{course / 'course_work' / 'gradebook.db'}") as gradebook:
        for student, the_plan, variant in expected:
            tests = the_plan.exercises[variant.cell].tests
            notebook = the_plan.notebook.stem
            extra = extra_credit_cells(load_course(course), the_plan.lab)  # an optional test's points
            scores = {t: gradebook.find_grade(t, notebook, the_plan.lab, student) for t in tests}
            worth = {t: extra.get((notebook, t), g.max_score) for t, g in scores.items()}
            lost = {t: f"{g.score:g}/{worth[t]:g}" for t, g in scores.items() if g.score < worth[t]}
            row = rows[(student, the_plan.lab)]
            if isinstance(variant, mutation.Mutant) and not lost:
                problems.append(f"{the_plan.lab}: mutant {variant.what!r} kept full marks on "
                                f"{sorted(tests)} ({row.status}: {row.reason})")
            if isinstance(variant, mutation.Equivalent) and lost:
                problems.append(f"{the_plan.lab}: equivalent {variant.what!r} lost points {lost} "
                                f"({row.status}: {row.reason})")
    assert not problems, "\n".join(problems)
