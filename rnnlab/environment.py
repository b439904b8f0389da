"""Is this machine ready for the course? Lab 00's environment check.

Each framework is imported in a child process, so a broken install (a missing library, a wrong
build, an import that crashes the interpreter) shows up here as one line with its fix, instead of
killing the notebook's kernel. A last child imports them all in the order the labs do, which
catches clashes between them. The children run side by side (about as long as TensorFlow's import).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import subprocess
import sys
from dataclasses import dataclass

from . import runtime

TIMEOUT_S = 300
# What each child imports and reports as JSON: {"version": ..., "device": ...}.
PROBES = {
    "torch": (
        "import torch\n"
        "mps = getattr(torch.backends, 'mps', None)\n"
        "device = (f'cuda ({torch.cuda.get_device_name(0)})' if torch.cuda.is_available() else\n"
        "          'mps (Apple GPU)' if mps is not None and mps.is_available() else 'cpu')\n"
        "report = {'version': torch.__version__, 'device': device}\n"),
    "torchvision": (
        "import torchvision\n"
        "report = {'version': torchvision.__version__, 'device': 'image models and transforms'}\n"),
    "tensorflow": (
        "import os\nos.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')\n"
        "import tensorflow as tf\n"
        "gpus = tf.config.list_physical_devices('GPU')\n"
        "report = {'version': tf.__version__, 'device': f'{len(gpus)} GPU(s)' if gpus else 'cpu'}\n"),
    "keras": (
        "import os\nos.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')\n"
        "import keras\n"
        "report = {'version': keras.__version__, 'device': f'backend {keras.backend.backend()}'}\n"),
    "all together": (
        "import os\nos.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')\n"
        "import rnnlab.runtime, torch, torchvision, tensorflow, keras\n"
        "report = {'version': '', 'device': 'all of them in one process, torchvision first'}\n"),
}
# The pip distributions that provide a framework (TensorFlow comes as either).
DISTRIBUTIONS = {"torch": ("torch",), "torchvision": ("torchvision",),
                 "tensorflow": ("tensorflow-cpu", "tensorflow"), "keras": ("keras",)}


@dataclass(frozen=True)
class Finding:
    """One line of the report: a framework and what its child process said."""

    name: str
    ok: bool
    version: str  # e.g. "2.14.1 (tensorflow-cpu)"; "" when broken
    detail: str  # the device when ok, else the error's last line

    def line(self) -> str:
        if self.ok:
            return f"  {self.name:<13} {self.version:<26} {self.detail}"
        return f"  {self.name:<13} BROKEN: {self.detail}\n  {'':<13} fix: {fix(self.name)}"


def in_colab() -> bool:
    """Whether this kernel runs in Google Colab."""
    return "google.colab" in sys.modules


def fix(name: str) -> str:
    """What to do about a framework that would not import, in the setting the kernel runs in."""
    if in_colab():
        return ("Runtime > Restart session, then run the set-up cell again; if it still fails, "
                "Runtime > Disconnect and delete runtime, and start over")
    if name in ("tensorflow", "keras"):
        return ("in a terminal in the course folder, `make setup` (it installs tensorflow-cpu and "
                "keras, which lab 01 needs), then restart this kernel")
    return "in a terminal in the course folder, `make setup` (it reinstalls the course's packages), then " \
           "restart this kernel"


def distribution(name: str) -> str:
    """' (tensorflow-cpu)' when the framework came from a distribution of another name, else ''."""
    for dist in DISTRIBUTIONS.get(name, ()):
        try:
            importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
        return "" if dist == name else f" ({dist})"
    return ""


def probe_all() -> list[Finding]:
    """Import each framework in its own child process, all at once; one Finding each."""
    children = {}
    for name, code in PROBES.items():
        script = code + "import json\nprint('\\n' + json.dumps(report))\n"
        children[name] = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    return [finding(name, child) for name, child in children.items()]


def finding(name: str, child: subprocess.Popen) -> Finding:
    """What one child said: its JSON report, or the last line of its error."""
    try:
        out, err = child.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        child.kill()
        return Finding(name, False, "", f"the import did not finish in {TIMEOUT_S} s")
    if child.returncode == 0:
        report = json.loads(out.strip().splitlines()[-1])
        return Finding(name, True, report["version"] + distribution(name), report["device"])
    lines = [line for line in err.strip().splitlines() if line.strip()]
    why = lines[-1] if lines else f"the process died (exit status {child.returncode})"
    if child.returncode < 0:
        why = f"the interpreter crashed (signal {-child.returncode}) while importing"
    return Finding(name, False, "", why[:300])


def report() -> list[Finding]:
    """Print the environment check for a notebook; returns the findings (empty when skipped)."""
    print(f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
          f"{os.cpu_count()} CPU cores; run profile: {runtime.profile()}"
          f"{' (Google Colab)' if in_colab() else ''}")
    if runtime.profile() != "full":
        print("  (the frameworks are checked when you study, in the full profile; not when grading)")
        return []
    findings = probe_all()
    for item in findings:
        print(item.line())
    broken = [item.name for item in findings if not item.ok]
    print(f"  {len(broken)} problem(s): fix them before the next lab" if broken else "  everything imports")
    data = runtime.data_root()
    if data.is_dir() and any(data.iterdir()):
        print(f"  course data: built ({len(list(data.iterdir()))} entries in {data.name}/)")
    else:
        print("  course data: not built yet; in a terminal in the course folder, `make data` "
              "(or `python -m rnnlab.build`), once")
    return findings
