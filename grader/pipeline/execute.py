"""Execute a submission in the sandbox; at each probe-and-judge test cell, run only its probes.

A test cell written with ``check(probe, judge)`` (rnnlab/probing.py) is taken apart
(rnnlab/judging.py, shared with the students' self-check): the kernel gets the cell's code
without its judges, followed by a call that runs each probe and publishes its result as plain
data. What comes back is kept in ``resources["grader_probes"]`` (cell index -> ProbeRun) for the
judge (grader/pipeline/judge.py), and the cell's outputs are
replaced by one "not judged yet" error: a cell scores only once the judge has said so. Nothing the
kernel printed while probing is kept (it could show the hidden probes' code). Test cells of the
older form (assertions that run in the kernel) run as they are, after the guard's reset.
"""

from __future__ import annotations

from traitlets import Integer

from rnnlab.judging import ProbingCells

from ..sandbox import SandboxedExecute


class ProbingExecute(ProbingCells, SandboxedExecute):
    """SandboxedExecute that runs probe-and-judge test cells as probes only (module doc)."""

    probe_limit = Integer(16 * 2**20, help="bytes of probe data accepted per test cell").tag(
        config=True)

    def preprocess(self, nb, resources=None, km=None):
        self.probe_runs = {}
        nb, resources = super().preprocess(nb, resources, km=km)
        resources["grader_probes"] = self.probe_runs
        return nb, resources
