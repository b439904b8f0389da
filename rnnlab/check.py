"""Check your own notebook against a lab's full tests, visible and hidden (self-study edition).

    python -m rnnlab.check 03                     # your copy: labs/03_*/<notebook>.ipynb
    python -m rnnlab.check 03 path/to/mine.ipynb  # a notebook elsewhere (e.g. downloaded from Colab)

Runs the notebook from the top in a fresh Jupyter kernel under the grading profile, as a course's
grader would, with every test cell replaced by the full test cell of the worked solution
(solutions/<lab>/<notebook>.ipynb), and reports each graded cell: points, and the first line of
the error where it failed. A test cell scores its points only if it runs without an error.
Written answers are listed for you to compare with the worked solution; nothing is saved.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HIDDEN_MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
CELL_TIMEOUT_S = 600


@dataclass(frozen=True)
class Result:
    """One graded cell of the checked notebook."""

    grade_id: str
    points: float
    max_points: float
    status: str  # "passed", "failed: <first line of the error>", "missing", "written answer"


def edition_root() -> Path:
    """The self-study edition's root: the folder holding labs/ and solutions/ next to rnnlab/."""
    root = Path(__file__).resolve().parents[1]
    if not (root / "solutions").is_dir():
        raise FileNotFoundError(
            f"no worked solutions in {root}: the check needs the self-study edition of the course "
            "(its solutions/ folder), installed with `pip install -e .` from its checkout"
        )
    return root


def find_lab(root: Path, key: str) -> str:
    """The lab folder name under solutions/ that ``key`` names ("03" or "03_caption_text_generator")."""
    labs = sorted(p.name for p in (root / "solutions").iterdir() if p.is_dir())
    found = [lab for lab in labs if lab == key or lab.split("_", 1)[0] == key.zfill(2)]
    if len(found) != 1:
        raise ValueError(f"no lab {key!r}: the labs are {', '.join(labs)}")
    return found[0]


def grading(cell) -> dict:
    """The cell's nbgrader metadata ({} for an ordinary cell)."""
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def full_tests(solution: nbformat.NotebookNode) -> dict[str, str]:
    """grade_id -> source of every test cell of the worked solution, hidden tests included."""
    tests = {}
    for cell in solution.cells:
        meta = grading(cell)
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            lines = [line for line in cell.source.splitlines()
                     if line.strip() not in HIDDEN_MARKERS]
            tests[meta["grade_id"]] = "\n".join(lines)
    return tests


def with_full_tests(mine: nbformat.NotebookNode, tests: dict[str, str]) -> list[str]:
    """Put the full tests into ``mine`` in place; returns the grade_ids it has no cell for."""
    for cell in mine.cells:
        grade_id = grading(cell).get("grade_id")
        if grade_id in tests and cell.cell_type == "code":
            cell.source = tests[grade_id]
    present = {grading(cell).get("grade_id") for cell in mine.cells}
    return [grade_id for grade_id in tests if grade_id not in present]


def execute(mine: nbformat.NotebookNode, lab_folder: Path) -> None:
    """Run ``mine`` top to bottom in a fresh kernel, in a scratch copy of its lab folder."""
    os.environ["NBGRADER_EXECUTION"] = "autograde"  # the grading profile of rnnlab.runtime
    with tempfile.TemporaryDirectory(prefix="rnnlab-check-") as scratch:
        workdir = Path(scratch) / lab_folder.name
        shutil.copytree(lab_folder, workdir, ignore=shutil.ignore_patterns("*.ipynb", "checkpoints"))
        NotebookClient(mine, timeout=CELL_TIMEOUT_S, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(workdir)}}).execute()


def first_error(cell) -> str | None:
    """'<Error>: <message>' of the cell's first error output, or None if it raised nothing."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".splitlines()[0]
    return None


def results(solution: nbformat.NotebookNode, mine: nbformat.NotebookNode,
            missing: list[str]) -> list[Result]:
    """One Result per graded cell of the worked solution, in its order."""
    mine_by_id = {grading(cell).get("grade_id"): cell for cell in mine.cells}
    rows = []
    for cell in solution.cells:
        meta = grading(cell)
        if not meta.get("grade"):
            continue
        grade_id, points = meta["grade_id"], float(meta.get("points", 0))
        if meta.get("solution"):
            rows.append(Result(grade_id, 0.0, points, "written answer"))
        elif grade_id in missing:
            rows.append(Result(grade_id, 0.0, points, "missing"))
        else:
            error = first_error(mine_by_id[grade_id])
            rows.append(Result(grade_id, 0.0 if error else points, points,
                               f"failed: {error}" if error else "passed"))
    return rows


def check(root: Path, key: str, notebook: Path | str | None = None) -> list[Result]:
    """Run the lab ``key``'s full tests on ``notebook`` (default: the lab's copy in labs/)."""
    lab = find_lab(root, key)
    solution_path = next((root / "solutions" / lab).glob("*.ipynb"))
    notebook = Path(notebook) if notebook else root / "labs" / lab / solution_path.name
    if not notebook.is_file():
        raise FileNotFoundError(f"{notebook} not found: give the path of your notebook")
    solution = nbformat.read(solution_path, as_version=4)
    mine = nbformat.read(notebook, as_version=4)
    missing = with_full_tests(mine, full_tests(solution))
    execute(mine, root / "labs" / lab)
    return results(solution, mine, missing)


OPTIONAL = "optional"  # the grade_id prefix of an optional question: its points are extra credit


def shown(row: Result) -> str:
    """The points column: '-' for a written answer, which no program marks."""
    return "-" if row.status == "written answer" else f"{row.points:g}"


def report(rows: list[Result], notebook_name: str) -> str:
    """The per-cell table and the total, as printed by the command."""
    scored = [row for row in rows if row.status != "written answer"]
    lines = [f"{notebook_name}: the lab's full tests (visible and hidden)", ""]
    lines += [f"  {row.grade_id:<32} {shown(row)} / {row.max_points:g}  {row.status}" for row in rows]
    required = [row for row in scored if not row.grade_id.startswith(OPTIONAL)]
    extra = [row for row in scored if row.grade_id.startswith(OPTIONAL)]
    total, most = sum(r.points for r in required), sum(r.max_points for r in required)
    written = sum(r.max_points for r in rows if r.status == "written answer")
    lines += ["", f"  autograded: {total:g} / {most:g} points"]
    if extra:
        lines.append(f"  extra credit (optional questions): {sum(r.points for r in extra):g} / "
                     f"{sum(r.max_points for r in extra):g} points, outside the lab's maximum")
    if written:
        lines.append(f"  written answers ({written:g} point{'' if written == 1 else 's'}): compare "
                     "yours with the worked solution in solutions/")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """The command line: check one lab, print the table; 2 with a message on bad input."""
    parser = argparse.ArgumentParser(prog="python -m rnnlab.check",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("lab", help='the lab, e.g. "03" or "03_caption_text_generator"')
    parser.add_argument("notebook", nargs="?", help="your notebook (default: the lab's in labs/)")
    args = parser.parse_args(argv)
    try:
        rows = check(edition_root(), args.lab, args.notebook)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(report(rows, Path(args.notebook).name if args.notebook else args.lab))
    return 0


if __name__ == "__main__":
    sys.exit(main())
