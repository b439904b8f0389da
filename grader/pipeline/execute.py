"""Execute a submission in the sandbox; at each probe-and-judge test cell, run only its probes.

A test cell written with ``check(probe, judge)`` (rnnlab/probing.py) is taken apart here: the
kernel gets the cell's code without its judges, followed by a call that runs each probe and
publishes its result as plain data. What comes back is kept in ``resources["grader_probes"]``
(cell index -> ProbeRun) for the judge (grader/pipeline/judge.py), and the cell's outputs are
replaced by one "not judged yet" error: a cell scores only once the judge has said so. Nothing the
kernel printed while probing is kept (it could show the hidden probes' code). Test cells of the
older form (assertions that run in the kernel) run as they are, after the guard's reset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import nbformat
from jupyter_core.utils import run_sync
from traitlets import Integer

from rnnlab.probing import MIME, TestCell, split

from ..sandbox import SandboxedExecute, is_test_cell

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
    return nbformat.v4.new_output("error", ename=NOT_JUDGED, evalue="this test was not judged",
                                  traceback=[])


class ProbingExecute(SandboxedExecute):
    """SandboxedExecute that runs probe-and-judge test cells as probes only (module doc)."""

    probe_limit = Integer(16 * 2**20, help="bytes of probe data accepted per test cell").tag(
        config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._runs: dict[int, ProbeRun] = {}
        nb, resources = super().preprocess(nb, resources, km=km)
        resources["grader_probes"] = self._runs
        return nb, resources

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        test = probe_parts(cell) if is_test_cell(cell) else None
        if test is None:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        run = ProbeRun(str(cell.metadata["nbgrader"]["grade_id"]), test.judges, list(test.pairs))
        self._runs[cell_index] = run
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
        run = self._runs.get(cell_index)
        if run is None or not isinstance(data, dict) or MIME not in data:
            return super().output(outs, msg, display_id, cell_index)
        run.take(data[MIME], self.probe_limit)
        return None
