"""Mutation testing of the labs' autograded exercises: does a wrong answer lose points, and does a
right answer written differently keep them all?

Each lab has a module ``tests/mutants/labNN.py`` (its format is below). ``tests/test_mutants.py``
runs them; one lab at a time, e.g. for lab 03::

    cpu-slot .venv/bin/python -m pytest tests/test_mutants.py -k lab03 -q -s

(``-s`` prints the lab's table: exercises, mutants, killed, equivalents.) Or, without pytest::

    cpu-slot .venv/bin/python tests/mutation.py lab03

A lab module::

    from mutation import Equivalent, Mutant

    LAB = "03_caption_text_generator"          # the folder under solutions/
    EXERCISES = {                              # answer cell grade_id -> the test cells grading it
        "parameter_count": ("test_parameter_count",),
    }
    MUTANTS = [                                # plausible wrong answers: each must lose points
        Mutant("parameter_count", "biases of the RNN forgotten", old="...", new="..."),
        Mutant("parameter_count", "...", answer="...code between the SOLUTION markers..."),
    ]
    EQUIVALENTS = [                            # correct answers written differently: full marks
        Equivalent("parameter_count", "counted with a loop over named parameters", answer="..."),
    ]
    GRADER_SAMPLE = 0                          # optional: which mutant the real grader also grades
    FROM_RNNLAB = [                            # answers built only from rnnlab's public functions,
        Mutant("parameter_count", "FROM_RNNLAB: ...", answer="..."),  # also in MUTANTS: none may score
    ]
    NO_RELATED_HELPER = {                      # exercises no rnnlab function relates to, and why
        "lstm_model": "rnnlab builds no torch model",
    }

A variant changes one answer cell of the *solution* notebook: ``old``/``new`` substitute text that
must occur exactly once in the cell; ``answer`` (indented as in the cell) replaces everything
between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, in a cell with one such pair. A variant
that no longer applies (text not found or found twice, unknown grade_id, markers missing) is stale
and fails the suite loudly.

How a lab is judged (the fast path): one real Jupyter kernel (nbclient) runs the solution notebook
cell by cell under the ``grading`` profile, as autograding does (``NBGRADER_EXECUTION=1``, no
``RNNLAB_PROFILE``), in a copy of the lab's folder. At an answer cell with variants, for each
variant: the global names the kernel did not have before the answer cell are deleted (so nothing a
previous variant defined survives), the variant's cell runs, then every code cell after it up to
the exercise's last test cell, and each of the exercise's test cells is scored with the course's
rule (``grader.scoring.test_cell_score``: 0 if the cell raised, else its points); a probe-and-judge
test cell runs as the grader runs it: its probes in the kernel, its judges in a fresh judge
process, the verdict as its outputs (rnnlab/probing.py). Then the original cell and the same cells
run again, and the notebook goes on. Every cell has the grader's per-cell limit (``course.toml``);
a cell over it is interrupted and counts as raised, so a variant that hangs is killed only if one
of its test cells failed.
  - a mutant is killed when one of its exercise's test cells scores less than the solution's;
  - an equivalent must keep full points on every test cell of its exercise;
  - the solution must score full points on every test cell of the notebook;
  - every autograded exercise (code cell with nbgrader ``solution: true``) needs at least
    ``MIN_MUTANTS`` mutants and ``MIN_EQUIVALENTS`` equivalents.
Limit: values a variant changes in place (a global array modified by a mutant) are not restored;
the solution's own run, last at each answer cell, shows it when that matters.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from grader.scoring import raised, test_cell_score  # noqa: E402
from rnnlab.judging import (  # noqa: E402
    ProbeRun,
    judge_command,
    kernel_problem,
    probe_code,
    probe_parts,
    request,
    verdict_outputs,
)
from rnnlab.probing import MIME  # noqa: E402

MUTANTS_DIR = Path(__file__).resolve().parent / "mutants"
MIN_MUTANTS = 3
MIN_EQUIVALENTS = 1
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
CELL_TIMEOUT_S = tomllib.loads((REPO / "course.toml").read_text())["grading"]["cell_timeout_s"]
SNAPSHOT = "__mutation_names__"


class StaleVariant(AssertionError):
    """A lab module that no longer matches its solution notebook."""


@dataclass(frozen=True)
class Variant:
    """A change to one answer cell (by grade_id): ``old`` -> ``new``, or the whole ``answer``."""

    cell: str
    what: str
    old: str | None = None
    new: str | None = None
    answer: str | None = None

    def apply(self, source: str) -> str:
        """The answer cell's source with this change made; StaleVariant if it does not apply."""
        if (self.old is None) == (self.answer is None) or (self.old is None) != (self.new is None):
            raise StaleVariant(f"{self.label}: give either old= and new=, or answer=")
        if self.answer is not None:
            if source.count(BEGIN) != 1 or source.count(END) != 1:
                raise StaleVariant(f"{self.label}: answer= needs exactly one {BEGIN} / {END} "
                                   f"pair in the cell, it has {source.count(BEGIN)}: use old=/new=")
            head, rest = source.split(BEGIN)
            _, tail = rest.split(END)
            indent = re.search(r"[ \t]*$", head).group()
            body = self.answer.strip("\n") + "\n"
            return f"{head}{BEGIN}\n{body}{indent}{END}{tail}"
        found = source.count(self.old)
        if found != 1:
            raise StaleVariant(f"{self.label}: old text found {found} times in the cell, not once:\n"
                               f"{self.old!r}")
        return source.replace(self.old, self.new)

    @property
    def label(self) -> str:
        return f"{type(self).__name__.lower()} [{self.cell}] {self.what!r}"


@dataclass(frozen=True)
class Mutant(Variant):
    """A plausible wrong answer: at least one test cell of its exercise must lose points."""


@dataclass(frozen=True)
class Equivalent(Variant):
    """A correct answer written differently: every test cell of its exercise keeps full points."""


# ---------------------------------------------------------------------------- lab modules


def lab_modules() -> dict[str, Path]:
    """The lab modules that exist: {'lab03': tests/mutants/lab03.py, ...}."""
    return {p.stem: p for p in sorted(MUTANTS_DIR.glob("lab[0-9][0-9].py"))}


def missing_modules() -> list[str]:
    """Labs of solutions/ that have no module yet, e.g. ['lab05 (05_cnn_lstm_captioner)']."""
    have = lab_modules()
    labs = sorted(p.name for p in (REPO / "solutions").iterdir() if any(p.glob("*.ipynb")))
    return [f"lab{lab[:2]} ({lab})" for lab in labs if f"lab{lab[:2]}" not in have]


def load(name: str) -> ModuleType:
    """Import tests/mutants/<name>.py (e.g. 'lab03')."""
    path = MUTANTS_DIR / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"mutants_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------- the plan


@dataclass
class Exercise:
    """One answer cell, the test cells that grade it and the variants to try on it."""

    grade_id: str
    index: int
    tests: dict[str, int]  # test grade_id -> cell index
    variants: list[tuple[Variant, str]] = field(default_factory=list)  # (variant, its source)

    @property
    def last(self) -> int:
        return max(self.tests.values())


@dataclass
class Plan:
    """A lab module checked against its solution notebook."""

    name: str
    lab: str
    notebook: Path
    exercises: dict[str, Exercise]
    autograded: list[str]  # grade_ids of every code cell with solution: true, in notebook order
    grader_sample: Mutant | None

    def coverage_problems(self) -> list[str]:
        """Exercises without enough mutants or equivalents, or missing from EXERCISES."""
        problems = []
        for grade_id in self.autograded:
            exercise = self.exercises.get(grade_id)
            if exercise is None:
                problems.append(f"{self.name}: exercise {grade_id!r} is missing from EXERCISES")
                continue
            mutants = sum(isinstance(v, Mutant) for v, _ in exercise.variants)
            equivalents = sum(isinstance(v, Equivalent) for v, _ in exercise.variants)
            if mutants < MIN_MUTANTS or equivalents < MIN_EQUIVALENTS:
                problems.append(f"{self.name}: exercise {grade_id!r} has {mutants} mutants and "
                                f"{equivalents} equivalents (at least {MIN_MUTANTS} and "
                                f"{MIN_EQUIVALENTS} needed)")
        return problems


def rnnlab_problems(module: ModuleType, the_plan: Plan) -> list[str]:
    """Autograded exercises that neither have a FROM_RNNLAB mutant (one in MUTANTS, so that it runs)
    nor say in NO_RELATED_HELPER why no rnnlab function relates to them; and stray entries."""
    tried = getattr(module, "FROM_RNNLAB", [])
    unrelated = getattr(module, "NO_RELATED_HELPER", {})
    problems = [f"{the_plan.name}: FROM_RNNLAB {v.label} is not a Mutant listed in MUTANTS"
                for v in tried if not isinstance(v, Mutant) or v not in module.MUTANTS]
    problems += [f"{the_plan.name}: NO_RELATED_HELPER[{grade_id!r}] is not an autograded exercise, or "
                 "gives no reason" for grade_id, why in unrelated.items()
                 if grade_id not in the_plan.autograded or not why.strip()]
    for grade_id in the_plan.autograded:
        mutants = sum(v.cell == grade_id for v in tried)
        if not mutants and grade_id not in unrelated:
            problems.append(f"{the_plan.name}: exercise {grade_id!r} has no FROM_RNNLAB mutant: write "
                            "one per rnnlab function that looks related, or say in NO_RELATED_HELPER "
                            "why none does")
        if mutants and grade_id in unrelated:
            problems.append(f"{the_plan.name}: exercise {grade_id!r} has FROM_RNNLAB mutants yet is in "
                            "NO_RELATED_HELPER")
    return problems


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def plan(module: ModuleType) -> Plan:
    """Check a lab module against its solution notebook; StaleVariant listing every problem."""
    name = module.__name__.removeprefix("mutants_")
    notebooks = sorted((REPO / "solutions" / module.LAB).glob("*.ipynb"))
    if len(notebooks) != 1:
        raise StaleVariant(f"{name}: expected one solution notebook in solutions/{module.LAB}, "
                           f"found {len(notebooks)}")
    nb = nbformat.read(notebooks[0], as_version=4)
    answers = {_meta(c)["grade_id"]: i for i, c in enumerate(nb.cells)
               if c.cell_type == "code" and _meta(c).get("solution")}
    tests = {_meta(c)["grade_id"]: i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and _meta(c).get("grade") and not _meta(c).get("solution")}
    problems, exercises = [], {}
    for grade_id, test_ids in module.EXERCISES.items():
        if grade_id not in answers:
            problems.append(f"EXERCISES: {grade_id!r} is not an autograded answer cell")
            continue
        unknown = [t for t in test_ids if t not in tests]
        before = [t for t in test_ids if t in tests and tests[t] < answers[grade_id]]
        if unknown or before or not test_ids:
            problems.append(f"EXERCISES[{grade_id!r}]: test cells unknown {unknown}, before the "
                            f"answer {before}, or none given")
            continue
        exercises[grade_id] = Exercise(grade_id, answers[grade_id], {t: tests[t] for t in test_ids})
    listed = [(Mutant, v) for v in module.MUTANTS] + [(Equivalent, v) for v in module.EQUIVALENTS]
    for expected, variant in listed:
        if type(variant) is not expected:
            problems.append(f"{variant.label}: not a {expected.__name__}, yet listed with them")
        elif variant.cell not in exercises:
            problems.append(f"{variant.label}: no exercise {variant.cell!r} in EXERCISES")
        else:
            try:
                source = variant.apply(nb.cells[answers[variant.cell]].source)
            except StaleVariant as err:
                problems.append(str(err))
            else:
                exercises[variant.cell].variants.append((variant, source))
    sample = getattr(module, "GRADER_SAMPLE", 0)
    if problems:
        raise StaleVariant(f"{name} is stale:\n  " + "\n  ".join(problems))
    return Plan(name, module.LAB, notebooks[0], exercises, list(answers),
                module.MUTANTS[sample] if module.MUTANTS else None)


# ---------------------------------------------------------------------------- running


@dataclass
class Outcome:
    """How one variant (or the solution, variant None) scored on its exercise's test cells."""

    exercise: str
    variant: Variant | None
    scores: dict[str, float]
    full: dict[str, float]
    errors: dict[str, str]  # test grade_id -> the error's name and message, for the cells that raised

    @property
    def lost_points(self) -> bool:
        return any(self.scores[t] < self.full[t] for t in self.full)


@dataclass
class Result:
    """Everything one lab's run found."""

    plan: Plan
    outcomes: list[Outcome]
    solution: dict[str, tuple[float, float, str]]  # every test cell: (score, points, error)
    seconds: float

    def problems(self) -> list[str]:
        """Surviving mutants, equivalents that lost points, solution test cells that failed."""
        problems = []
        for outcome in self.outcomes:
            detail = ", ".join(f"{t} {outcome.scores[t]:g}/{outcome.full[t]:g}"
                               + (f" ({outcome.errors[t]})" if t in outcome.errors else "")
                               for t in outcome.full)
            if isinstance(outcome.variant, Mutant) and not outcome.lost_points:
                problems.append(f"mutant SURVIVED [{outcome.exercise}]: {outcome.variant.what} "
                                f"-- every test cell passed: {detail}")
            if isinstance(outcome.variant, Equivalent) and outcome.lost_points:
                problems.append(f"equivalent LOST POINTS [{outcome.exercise}]: "
                                f"{outcome.variant.what} -- {detail}")
        for test_id, (score, points, error) in self.solution.items():
            if score < points:
                problems.append(f"the solution scored {score:g}/{points:g} on {test_id}: {error}")
        return problems

    def table(self) -> str:
        """One line per exercise: mutants, killed, equivalents (with full marks)."""
        rows = [f"{self.plan.name} ({self.plan.lab}), {self.seconds:.0f} s",
                f"  {'exercise':32s} {'mutants':>7s} {'killed':>6s} {'equivalents':>11s} "
                f"{'full marks':>10s}"]
        totals = [0, 0, 0, 0]
        for grade_id in self.plan.autograded:
            mine = [o for o in self.outcomes if o.exercise == grade_id]
            mutants = [o for o in mine if isinstance(o.variant, Mutant)]
            equivalents = [o for o in mine if isinstance(o.variant, Equivalent)]
            counts = [len(mutants), sum(o.lost_points for o in mutants), len(equivalents),
                      sum(not o.lost_points for o in equivalents)]
            totals = [a + b for a, b in zip(totals, counts)]
            rows.append(f"  {grade_id:32s} {counts[0]:7d} {counts[1]:6d} {counts[2]:11d} "
                        f"{counts[3]:10d}")
        rows.append(f"  {'total (' + str(len(self.plan.autograded)) + ' exercises)':32s} "
                    f"{totals[0]:7d} {totals[1]:6d} {totals[2]:11d} {totals[3]:10d}")
        return "\n".join(rows)


def grading_env() -> dict[str, str]:
    """This process's environment under the grading profile, as autograding runs a notebook."""
    env = {k: v for k, v in os.environ.items() if k != "RNNLAB_PROFILE"}
    env["NBGRADER_EXECUTION"] = "1"
    return env


def _error(cell) -> str:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename')}: {output.get('evalue', '')}"[:300]
    return ""


class _Kernel:
    """A notebook client that runs single cells and marks a cell over its time limit as raised."""

    def __init__(self, nb, workdir: Path):
        self.client = NotebookClient(
            nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", allow_errors=True,
            interrupt_on_timeout=True, resources={"metadata": {"path": str(workdir)}},
            error_on_timeout={"ename": "TimeoutError", "traceback": [],
                              "evalue": f"cell interrupted after {CELL_TIMEOUT_S} s"})
        self.client.on_cell_executed = self._executed

    @staticmethod
    def _executed(cell, cell_index, execute_reply):
        content = execute_reply["content"]
        if content.get("status") == "error" and not raised(cell):
            cell.outputs.append(nbformat.v4.new_output(
                "error", ename=content.get("ename", "Error"), evalue=content.get("evalue", ""),
                traceback=content.get("traceback", [])))

    def run(self, cell, index: int):
        """Execute a copy of ``cell``; the notebook's own cells stay as they are (nbclient puts
        the cell it ran in their place)."""
        cells = self.client.nb.cells
        original = cells[index]
        cell = copy.deepcopy(cell)
        self.client.execute_cell(cell, index)
        cells[index] = original
        return cell

    def code(self, source: str) -> None:
        """Run bookkeeping code in the kernel; it must not fail."""
        cell = self.run(nbformat.v4.new_code_cell(source), 0)
        assert not raised(cell), f"runner code failed in the kernel: {_error(cell)}"


PROBE_LIMIT = 16 * 2**20  # the grader's default limits on probe data (grader/pipeline)
DECODED_LIMIT = 256 * 2**20


class _Judge:
    """One judge process for a whole lab (``python -I -m rnnlab.probing --serve``): the grader's
    judge code in a process no student code touches, started once instead of once per cell."""

    def __init__(self):
        self.process = subprocess.Popen([*judge_command(), "--serve"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)

    def __call__(self, runs: list[dict]) -> list[dict]:
        self.process.stdin.write(json.dumps(runs) + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        assert answer, "the judge process stopped"
        return json.loads(answer)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def run_test(kernel: _Kernel, judge: _Judge, cell, index: int):
    """Run a test cell as the grader does: a probe-and-judge cell's probes in the kernel, its
    judges in a fresh judge process, the verdict as its outputs; an older cell as it is."""
    test = probe_parts(cell)
    if test is None:
        return kernel.run(cell, index)
    probing = copy.deepcopy(cell)
    probing.source = probe_code(test)
    ran = kernel.run(probing, index)
    probes = ProbeRun(_meta(cell)["grade_id"], test.judges, list(test.pairs))
    for output in ran.outputs:
        if output.get("output_type") == "display_data" and MIME in output.get("data", {}):
            probes.take(output["data"][MIME], PROBE_LIMIT)
    probes.problem = probes.problem or kernel_problem(ran)
    (verdict,) = judge(request([probes], DECODED_LIMIT))  # the grader's verdict for the cell
    ran.outputs = verdict_outputs(verdict)
    return ran


def run(the_plan: Plan) -> Result:
    """Run a lab's solution notebook with every variant (see the module docstring)."""
    nb = nbformat.read(the_plan.notebook, as_version=4)
    by_index = {e.index: e for e in the_plan.exercises.values() if e.variants}
    outcomes, solution = [], {}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"mutation_{the_plan.name}_") as tmp:
        workdir = Path(tmp) / the_plan.lab
        shutil.copytree(the_plan.notebook.parent, workdir)
        kernel, judge = _Kernel(nb, workdir), _Judge()
        try:
            with kernel.client.setup_kernel(env=grading_env(), cwd=str(workdir)):
                for index, cell in enumerate(nb.cells):
                    if cell.cell_type != "code":
                        continue
                    exercise = by_index.get(index)
                    if exercise is not None:
                        kernel.code(f"{SNAPSHOT} = set(globals()) | {{'{SNAPSHOT}'}}")
                        for variant, source in exercise.variants:
                            outcomes.append(_try(kernel, judge, nb, exercise, variant, source))
                        _forget(kernel)
                    meta = _meta(cell)
                    is_test = meta.get("grade") and not meta.get("solution")
                    ran = run_test(kernel, judge, cell, index) if is_test else kernel.run(cell, index)
                    if is_test:
                        solution[meta["grade_id"]] = (test_cell_score(ran), float(meta["points"]),
                                                      _error(ran))
        finally:
            judge.close()
    return Result(the_plan, outcomes, solution, time.perf_counter() - start)


def _forget(kernel: _Kernel) -> None:
    """Delete the globals defined since the snapshot taken before the answer cell."""
    loop = "__mutation_name__"  # a name no notebook uses, removed with the others
    kernel.code(f"for {loop} in set(globals()) - {SNAPSHOT}:\n    globals().pop({loop})\n"
                f"globals().pop({loop!r}, None)")


def _try(kernel: _Kernel, judge: _Judge, nb, exercise: Exercise, variant: Variant,
         source: str) -> Outcome:
    """Run one variant of an answer cell and the cells after it up to the exercise's last test."""
    _forget(kernel)
    cell = copy.deepcopy(nb.cells[exercise.index])
    cell.source = source
    kernel.run(cell, exercise.index)
    scores, full, errors = {}, {}, {}
    tests = {index: test_id for test_id, index in exercise.tests.items()}
    for index in range(exercise.index + 1, exercise.last + 1):
        if nb.cells[index].cell_type != "code":
            continue
        ran = run_test(kernel, judge, nb.cells[index], index) if index in tests else kernel.run(
            nb.cells[index], index)
        if index in tests:
            test_id = tests[index]
            scores[test_id] = test_cell_score(ran)
            full[test_id] = float(_meta(ran)["points"])
            if raised(ran):
                errors[test_id] = _error(ran)
    return Outcome(exercise.grade_id, variant, scores, full, errors)


if __name__ == "__main__":
    # Through the module `mutation`, as the lab modules import it (not this `__main__` copy).
    import mutation

    for lab_name in sys.argv[1:] or list(mutation.lab_modules()):
        lab_plan = mutation.plan(mutation.load(lab_name))
        result = mutation.run(lab_plan)
        print(result.table())
        print("\n".join(result.problems() + lab_plan.coverage_problems()) or "all good")
