"""Judge the probes of a submission in a fresh interpreter that no student code has touched.

After the kernel is gone, ``JudgeTests`` (an nbgrader preprocessor, after the execute step) sends
every probe-and-judge test cell's judge code and probe data to one new Python process,
``python -I -m rnnlab.probing``, which imports nothing of nbgrader, the notebook or the student.
It runs in the same sandbox as the kernel (no network, read-only files, memory and time limits),
decodes the data without pickle and within size limits, runs each judge on it, and answers with
one verdict per cell. The verdict becomes the cell's only output: what the judge printed, and an
error when it failed, so the course's scoring rule (grader/scoring.py) turns it into points. A
cell the judge did not answer for keeps its "not judged" error and scores 0. Judges' tracebacks
never leave the process: a failure shows the assertion's message only, so no test code reaches a
feedback page.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Dict, Integer, Unicode

from rnnlab.judging import judge, request, verdict_outputs

from .. import sandbox


class JudgeTests(NbGraderPreprocessor):
    """Turn the probes that the execute step kept into verdicts (module doc)."""

    policy = Dict(help="sandbox policy from grader.sandbox.default_policy").tag(config=True)
    runtime_root = Unicode("", help="folder for the judge's scratch folder").tag(config=True)
    timeout = Integer(300, help="seconds for judging one notebook").tag(config=True)
    max_bytes = Integer(256 * 2**20, help="bytes of decoded probe data per test").tag(config=True)

    def preprocess(self, nb, resources):
        probes = resources.get("grader_probes") or {}
        if not probes:
            return nb, resources
        indices = sorted(probes)
        runs = request([probes[i] for i in indices], self.max_bytes)
        scratch = tempfile.mkdtemp(prefix="j", dir=self.runtime_root or None)
        try:
            verdicts = judge(runs, wrap=lambda argv: self._wrap(argv, scratch),
                             timeout=self.timeout, env=self._env(scratch))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        for index, verdict in zip(indices, verdicts):
            nb.cells[index].outputs = verdict_outputs(verdict)
        return nb, resources

    def _wrap(self, argv: list[str], scratch: str) -> list[str]:
        if not self.policy:
            return argv
        workdir = os.path.join(scratch, "work")
        os.makedirs(workdir, exist_ok=True)
        os.chmod(scratch, 0o711)
        return sandbox.wrap_command(argv, workdir, scratch, self.policy)

    def _env(self, scratch: str) -> dict:
        home = "/tmp" if self.policy.get("mode") == "bwrap" else scratch
        return sandbox.kernel_env(os.environ, home)
