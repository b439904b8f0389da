"""Probe in the kernel, judge outside it: shared by the course's grader and the self-check.

A test cell written with ``check(probe, judge)`` (rnnlab/probing.py) is taken apart: the kernel
gets the cell's code without its judges, followed by a call that runs each probe and publishes its
result as plain data (``ProbingCells``). What comes back is kept per cell as a ``ProbeRun``; then
every run goes to one new interpreter, ``python -I -m rnnlab.probing``, which imports nothing of
the notebook, and its verdicts become the cells' outputs (``judge``, ``verdict_outputs``). The
grader (grader/pipeline/) does this inside its sandbox; ``python -m rnnlab.check`` does the same
on a student's machine, so a self-check and a grade judge the same data with the same code.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field

import nbformat
from jupyter_core.utils import run_sync

from .probing import MIME, TestCell, split

NOT_JUDGED = "GraderNotJudged"


@dataclass
class ProbeRun:
    """What the kernel handed back for one test cell.

    grade_id: the test cell's id; judges: the judge code; pairs: (probe, judge) names in order
    messages: probe index -> the packed result or {"error": ...} sent by the kernel
    problem:  why the probes gave no usable data (the cell's time limit, a kernel error), or ''
    """

    grade_id: str
    judges: str
    pairs: list[tuple[str, str]]
    messages: dict[int, dict] = field(default_factory=dict)
    problem: str = ""

    def take(self, message, limit: int) -> None:
        """Keep one probe message from the kernel (it is checked, never trusted)."""
        index = message.get("index") if isinstance(message, dict) else None
        if type(index) is not int or not 0 <= index < len(self.pairs):
            self.problem = self.problem or "the kernel sent malformed test data"
        elif index in self.messages:
            self.problem = self.problem or f"the kernel sent the data of test {index + 1} twice"
        elif len(json.dumps(message)) > limit:
            self.messages[index] = {"error": f"the data your code returned for test {index + 1} "
                                             f"is over {limit:,} bytes"}
        else:
            self.messages[index] = message


def is_test_cell(cell) -> bool:
    """An autograded code test cell: graded, not an answer cell."""
    meta = cell.get("metadata", {}).get("nbgrader") or {}
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def probe_code(test: TestCell) -> str:
    """What the kernel runs for a test cell: its code without the judges, then every probe."""
    listed = ", ".join(f"({i}, {probe})" for i, (probe, _) in enumerate(test.pairs))
    return f"{test.kernel}\n\n__import__('rnnlab.probing').probing.emit([{listed}])\n"


def probe_parts(cell) -> TestCell | None:
    """A test cell taken apart (rnnlab.probing.split), or None for an assertion-style cell."""
    try:
        return split(cell.source)
    except (SyntaxError, ValueError):
        return None


def kernel_problem(cell) -> str:
    """Why a probing cell may have given no data: its first error output, in one line."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            if output.get("ename") == "CellTimeoutError":
                return "stopped at the time limit for one cell"
            value = str(output.get("evalue", "")).strip().splitlines()
            return f"{output.get('ename')}: {value[0][:200] if value else ''}".rstrip(": ")
    return ""


def not_judged_output():
    """The output a probing test cell keeps until its verdict: an error, so it scores nothing."""
    return nbformat.v4.new_output("error", ename=NOT_JUDGED, evalue="this test was not judged",
                                  traceback=[])


class ProbingCells:
    """Mixin for an nbclient NotebookClient: probe-and-judge test cells run as probes only.

    ``probe_runs`` (cell index -> ProbeRun) fills as the notebook runs; each such cell's outputs
    become one "not judged" error until ``verdict_outputs`` replaces them. Assertion-style test
    cells and every other cell run as they are. The class using it sets ``probe_limit``, the bytes
    of probe data accepted per test cell.
    """

    probe_runs: dict[int, ProbeRun]

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        test = probe_parts(cell) if is_test_cell(cell) else None
        if test is None:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        run = ProbeRun(str(cell.metadata["nbgrader"]["grade_id"]), test.judges, list(test.pairs))
        self.probe_runs[cell_index] = run
        probing = nbformat.from_dict(dict(cell))
        probing.source, probing.outputs = probe_code(test), []
        await super().async_execute_cell(probing, cell_index, execution_count, store_history=False)
        run.problem = run.problem or kernel_problem(probing)
        cell.outputs = [not_judged_output()]
        self.nb.cells[cell_index] = cell  # nbclient put the probing copy in its place
        return cell

    execute_cell = run_sync(async_execute_cell)

    def output(self, outs, msg, display_id, cell_index):
        data = msg["content"].get("data") if msg["msg_type"] == "display_data" else None
        run = self.probe_runs.get(cell_index)
        if run is None or not isinstance(data, dict) or MIME not in data:
            return super().output(outs, msg, display_id, cell_index)
        run.take(data[MIME], self.probe_limit)
        return None


def judge_command() -> list[str]:
    """How the judge process is started: an isolated interpreter (no PYTHONPATH, no user site,
    not the current folder) of this environment."""
    return [sys.executable, "-I", "-m", "rnnlab.probing"]


def request(runs, max_bytes: int) -> list[dict]:
    """The JSON-able runs of ``runs`` (ProbeRun objects), in the order given."""
    return [{"grade_id": r.grade_id, "judges": r.judges, "pairs": r.pairs,
             "messages": {str(k): v for k, v in r.messages.items()}, "problem": r.problem,
             "max_bytes": max_bytes} for r in runs]


def judge(runs: list[dict], wrap=lambda argv: argv, timeout: float = 300,
          env: dict | None = None) -> list[dict]:
    """Verdicts for ``runs`` from a fresh judge process (started through ``wrap``); if the
    process fails, every run gets a failed verdict saying why."""
    try:
        done = subprocess.run(wrap(judge_command()), input=json.dumps(runs), text=True,
                              capture_output=True, timeout=timeout, env=env)
        verdicts = json.loads(done.stdout) if done.returncode == 0 else None
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        why = f"the judge stopped: {last[:200]}"
    except subprocess.TimeoutExpired:
        verdicts, why = None, f"the judge ran over {timeout:.0f} s"
    except json.JSONDecodeError:
        verdicts, why = None, "the judge's answer was unreadable"
    if not isinstance(verdicts, list) or len(verdicts) != len(runs):
        return [{"passed": False, "printed": "", "message": why} for _ in runs]
    return verdicts


def verdict_outputs(verdict: dict) -> list:
    """A test cell's outputs for a verdict: what the judge printed, and an error if it failed."""
    outputs = []
    if verdict.get("printed"):
        outputs.append(nbformat.v4.new_output("stream", name="stdout", text=verdict["printed"]))
    if not verdict.get("passed"):
        message = str(verdict.get("message", "a test failed"))
        outputs.append(nbformat.v4.new_output("error", ename="TestFailed", evalue=message,
                                              traceback=[f"TestFailed: {message}"]))
    return outputs
