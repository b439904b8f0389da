"""Check your notebook as the course grades it: `make check LAB=03` or `python -m rnnlab.check 03`.

    python -m rnnlab.check 03                     # your copy: labs/03_*/<notebook>.ipynb
    python -m rnnlab.check 03 path/to/mine.ipynb  # a notebook elsewhere (e.g. downloaded from Colab)

Runs the notebook from the top in a fresh Jupyter kernel under the grading profile, printing a line
as each cell starts. At each test cell only the test's probes run in your kernel (they call your
code); the judges then decide in a separate interpreter, with the same code as the course's grader
(rnnlab/judging.py), so what this check says of a test is what grading says of it. In the
self-study edition the tests are the worked solutions' full tests, hidden ones included; in the
class edition they are the visible tests of your notebook (grading adds hidden ones).

Each graded cell is reported under the name the notebook gives its question, as passed, failed
(with the test's message), not attempted (the answer still raises NotImplementedError) or missing;
a failure that follows an error in an earlier cell points to that cell, which is the one to fix.
Written answers are listed, to be compared with the worked solution or marked by a person.
Nothing is saved: your notebook is left as it is.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from .judging import ProbingCells, is_test_cell, judge, request, verdict_outputs

CELL_TIMEOUT_S = 600
PROBE_BYTES = 16 * 2**20  # probe data accepted per test cell, as when grading
NOT_ATTEMPTED = "raise NotImplementedError"
UNANSWERED = "YOUR ANSWER HERE"
QUESTION_LEAD = r"\*\*((?:Optional |Written )?(?:question|exercise|Q\d)[^*]*)\*\*"  # **Question 2 ...**
OPTIONAL = "optional"  # the grade_id prefix of an optional question: its points are extra credit


@dataclass(frozen=True)
class Result:
    """One graded cell of the checked notebook, under its question's name."""

    question: str
    grade_id: str
    points: float
    max_points: float
    status: str  # passed | failed: <why> | not attempted: <why> | missing | written answer | not answered


def edition_root() -> Path:
    """The course's root: the folder holding labs/ next to rnnlab/."""
    root = Path(__file__).resolve().parents[1]
    if not (root / "labs").is_dir():
        raise FileNotFoundError(f"no labs/ folder in {root}: install the course with `pip install -e .` "
                                "from its checkout (make lab does)")
    return root


def find_lab(root: Path, key: str) -> str:
    """The lab folder name under labs/ that ``key`` names ("03" or "03_caption_text_generator")."""
    labs = sorted(p.name for p in (root / "labs").iterdir() if p.is_dir())
    found = [lab for lab in labs if lab == key or lab.split("_", 1)[0] == key.zfill(2)]
    if len(found) != 1:
        raise ValueError(f"no lab {key!r}: the labs are {', '.join(labs)}")
    return found[0]


def grading(cell) -> dict:
    """The cell's nbgrader metadata ({} for an ordinary cell)."""
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def question_names(nb: nbformat.NotebookNode) -> list[str]:
    """For each cell, the name of the question it belongs to: the last heading or bold lead
    ("**Question 2 ...**") of an explanation cell above it, without the points."""
    names, current = [], "(set-up)"
    for cell in nb.cells:
        if cell.cell_type == "markdown" and not grading(cell).get("solution"):
            for line in cell.source.splitlines():
                heading = re.match(r"#+\s+(.*)", line) or re.match(QUESTION_LEAD, line, re.IGNORECASE)
                if heading:
                    current = re.sub(r"\s*\([^)]*\b(points?|pts?)\b[^)]*\)", "", heading.group(1))
                    current = current.strip().rstrip(".:") or current
        names.append(current)
    return names


def test_sources(solution: nbformat.NotebookNode) -> dict[str, str]:
    """grade_id -> source of every test cell of ``solution``."""
    return {grading(cell)["grade_id"]: cell.source for cell in solution.cells if is_test_cell(cell)}


def with_tests(mine: nbformat.NotebookNode, tests: dict[str, str]) -> list[str]:
    """Put ``tests`` into ``mine`` in place; returns the grade_ids it has no cell for."""
    for cell in mine.cells:
        if is_test_cell(cell) and grading(cell)["grade_id"] in tests:
            cell.source = tests[grading(cell)["grade_id"]]
    present = {grading(cell).get("grade_id") for cell in mine.cells}
    return [grade_id for grade_id in tests if grade_id not in present]


class CheckClient(ProbingCells, NotebookClient):
    """A plain nbclient run whose test cells probe only (rnnlab/judging.py)."""

    probe_limit = PROBE_BYTES


def progress(names: list[str], code_cells: int):
    """nbclient's on_cell_start hook: one line per code cell, e.g. '[12/40] Exercise 3'."""
    started = [0]

    def hook(cell, cell_index):
        if cell.cell_type != "code" or not cell.source.strip():
            return
        started[0] += 1
        print(f"  [{started[0]}/{code_cells}] {names[cell_index]}", file=sys.stderr, flush=True)
    return hook


def execute(mine: nbformat.NotebookNode, lab_folder: Path, names: list[str]) -> None:
    """Run ``mine`` top to bottom in a fresh kernel in a scratch copy of its lab folder, then
    judge its test cells in a separate interpreter; each test cell's outputs become the verdict."""
    os.environ["NBGRADER_EXECUTION"] = "autograde"  # the grading profile of rnnlab.runtime
    code_cells = sum(1 for cell in mine.cells if cell.cell_type == "code" and cell.source.strip())
    with tempfile.TemporaryDirectory(prefix="rnnlab-check-") as scratch:
        workdir = Path(scratch) / lab_folder.name
        shutil.copytree(lab_folder, workdir, ignore=shutil.ignore_patterns("*.ipynb", "checkpoints"))
        client = CheckClient(mine, timeout=CELL_TIMEOUT_S, kernel_name="python3", allow_errors=True,
                             on_cell_start=progress(names, code_cells),
                             resources={"metadata": {"path": str(workdir)}})
        client.probe_runs = {}
        client.execute()
    indices = sorted(client.probe_runs)
    print("  judging the tests...", file=sys.stderr, flush=True)
    verdicts = judge(request([client.probe_runs[i] for i in indices], PROBE_BYTES))
    for index, verdict in zip(indices, verdicts):
        mine.cells[index].outputs = verdict_outputs(verdict)


def error_line(cell) -> str | None:
    """'<Error>: <message>' of the cell's first error output, or None if it raised nothing."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            line = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".splitlines()[0]
            return line.strip().rstrip(":")
    return None


def first_failure_above(mine: nbformat.NotebookNode, index: int, names: list[str]) -> str | None:
    """Where the first error of a non-test code cell above cell ``index`` was, in words."""
    code_number = 0
    for position, cell in enumerate(mine.cells[:index]):
        if cell.cell_type != "code":
            continue
        code_number += 1
        error = error_line(cell)
        if error and not is_test_cell(cell):
            if error.startswith("NotImplementedError"):
                error = "NotImplementedError (an answer not written yet)"
            return f"code cell {code_number} (under '{names[position]}') raised {error}"
    return None


def unattempted(mine: nbformat.NotebookNode, names: list[str], question: str) -> list[str]:
    """The grade_ids of the question's answer cells that still raise NotImplementedError."""
    return [grading(cell).get("grade_id", "?") for cell, name in zip(mine.cells, names)
            if name == question and grading(cell).get("solution") and NOT_ATTEMPTED in cell.source]


def test_status(mine, index: int, names: list[str]) -> str:
    """passed, not attempted: ..., or failed: ... for the judged test cell at ``index``."""
    error = error_line(mine.cells[index])
    if error is None:
        return "passed"
    blank = unattempted(mine, names, names[index])
    if blank:
        return (f"not attempted: {', '.join(blank)} still raises NotImplementedError "
                "(replace it with your code)")
    status = f"failed: {error.removeprefix('TestFailed: ')}"
    earlier = first_failure_above(mine, index, names)
    return f"{status}\n      first, an earlier cell failed: {earlier}; fix that one" if earlier else status


def results(reference: nbformat.NotebookNode, mine: nbformat.NotebookNode,
            missing: list[str]) -> list[Result]:
    """One Result per graded cell of ``reference`` (the worked solution or the notebook itself)."""
    names = question_names(reference)
    mine_names = question_names(mine)
    position = {grading(cell).get("grade_id"): i for i, cell in enumerate(mine.cells)}
    rows = []
    for cell, question in zip(reference.cells, names):
        meta = grading(cell)
        if not meta.get("grade"):
            continue
        grade_id, points = meta["grade_id"], float(meta.get("points", 0))
        if grade_id in missing or grade_id not in position:
            rows.append(Result(question, grade_id, 0.0, points, "missing"))
        elif meta.get("solution"):
            answered = UNANSWERED not in mine.cells[position[grade_id]].source
            rows.append(Result(question, grade_id, 0.0, points,
                               "written answer" if answered else "not answered"))
        else:
            status = test_status(mine, position[grade_id], mine_names)
            rows.append(Result(question, grade_id, points if status == "passed" else 0.0, points, status))
    return rows


def check(root: Path, key: str, notebook: Path | str | None = None) -> tuple[list[Result], bool]:
    """Check ``notebook`` (default: the lab's copy in labs/) with lab ``key``'s tests: the worked
    solution's full tests where the edition has solutions/, else the notebook's own.
    Returns the rows and whether hidden tests were included."""
    lab = find_lab(root, key)
    lab_notebook = next((root / "labs" / lab).glob("*.ipynb"))
    notebook = Path(notebook) if notebook else lab_notebook
    if not notebook.is_file():
        raise FileNotFoundError(f"{notebook} not found: give the path of your notebook")
    mine = nbformat.read(notebook, as_version=4)
    solution_path = root / "solutions" / lab / lab_notebook.name
    reference = nbformat.read(solution_path, as_version=4) if solution_path.is_file() else None
    missing = with_tests(mine, test_sources(reference)) if reference else []
    execute(mine, root / "labs" / lab, question_names(mine))
    return results(reference or mine, mine, missing), reference is not None


def shown(row: Result) -> str:
    """The points column: '-' for a written answer, which no program marks."""
    return "-" if row.status in ("written answer", "not answered") else f"{row.points:g}"


def report(rows: list[Result], notebook_name: str, full: bool) -> str:
    """The table by question, and the totals, as printed by the command."""
    tests = "the lab's full tests (visible and hidden)" if full else "your notebook's visible tests"
    lines = [f"{notebook_name}: {tests}, judged as the course grades them", ""]
    question = None
    for row in rows:
        if row.question != question:
            question = row.question
            lines.append(f"  {question}")
        lines.append(f"    {row.grade_id:<34} {shown(row):>3} / {row.max_points:<3g} {row.status}")
    scored = [row for row in rows if shown(row) != "-"]
    required = [row for row in scored if not row.grade_id.startswith(OPTIONAL)]
    extra = [row for row in scored if row.grade_id.startswith(OPTIONAL)]
    total, most = sum(r.points for r in required), sum(r.max_points for r in required)
    lines += ["", f"  autograded: {total:g} / {most:g} points"]
    if not full:
        lines.append("  (grading also runs hidden tests: other inputs and edge cases)")
    if extra:
        lines.append(f"  extra credit (optional questions): {sum(r.points for r in extra):g} / "
                     f"{sum(r.max_points for r in extra):g} points, outside the lab's maximum")
    written = [row for row in rows if shown(row) == "-"]
    if written:
        points = sum(r.max_points for r in written)
        where = "compare yours with the worked solution in solutions/" if full else "a person marks them"
        lines.append(f"  written answers ({points:g} point{'' if points == 1 else 's'}): {where}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """The command line: check one lab, print the table; 2 with a message on bad input."""
    parser = argparse.ArgumentParser(prog="python -m rnnlab.check",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("lab", help='the lab, e.g. "03" or "03_caption_text_generator"')
    parser.add_argument("notebook", nargs="?", help="your notebook (default: the lab's in labs/)")
    args = parser.parse_args(argv)
    try:
        root = edition_root()
        print(f"Running lab {args.lab} from the top in a fresh kernel:", file=sys.stderr, flush=True)
        rows, full = check(root, args.lab, args.notebook)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(report(rows, Path(args.notebook).name if args.notebook else args.lab, full))
    return 0


if __name__ == "__main__":
    sys.exit(main())
