"""Lab 00's environment check: each framework imported for real in a child process."""

from __future__ import annotations

import importlib.metadata
import sys
import types

import pytest

from rnnlab import environment


def test_the_course_install_reports_each_framework_with_its_distribution(monkeypatch, capsys):
    monkeypatch.setenv("RNNLAB_PROFILE", "full")
    findings = {item.name: item for item in environment.report()}
    printed = capsys.readouterr().out
    assert set(findings) == set(environment.PROBES)
    assert all(item.ok for item in findings.values()), printed
    assert findings["torch"].version.startswith(importlib.metadata.version("torch"))
    device = findings["torch"].detail
    assert device in ("cpu", "mps (Apple GPU)") or device.startswith("cuda"), device
    tensorflow = findings["tensorflow"].version
    assert tensorflow.startswith(importlib.metadata.version("tensorflow-cpu")), tensorflow
    assert tensorflow.endswith("(tensorflow-cpu)"), "the course's pin is tensorflow-cpu"
    assert "backend" in findings["keras"].detail
    assert "everything imports" in printed and "not installed" not in printed


def test_a_broken_framework_gets_its_error_and_one_fix(tmp_path, monkeypatch, capsys):
    """A torch that fails to import (as a wheel missing its libraries does), shadowing the real one
    in the child processes only; the other frameworks still report."""
    broken = tmp_path / "torch"
    broken.mkdir()
    (broken / "__init__.py").write_text(
        "raise ImportError('libtorch_cpu.so: cannot open shared object file')\n")
    (tmp_path / "crash.py").write_text("import os\nos.abort()\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv("RNNLAB_PROFILE", "full")
    monkeypatch.setattr(environment, "PROBES", {
        "torch": environment.PROBES["torch"],
        "crashing": "import crash\nreport = {}\n",
        "numpy": "import numpy\nreport = {'version': numpy.__version__, 'device': 'cpu'}\n",
    })
    findings = {item.name: item for item in environment.report()}
    printed = capsys.readouterr().out
    assert not findings["torch"].ok and "libtorch_cpu.so" in findings["torch"].detail
    assert "the interpreter crashed (signal 6)" in findings["crashing"].detail
    assert findings["numpy"].ok
    assert "fix: in a terminal in the course folder, `make setup`" in printed
    assert "2 problem(s)" in printed


@pytest.mark.parametrize("profile", ["grading", "test"])
def test_no_framework_is_imported_when_grading(profile, monkeypatch, capsys):
    monkeypatch.setenv("RNNLAB_PROFILE", profile)
    assert environment.report() == []
    assert "not when grading" in capsys.readouterr().out


def test_the_fix_speaks_of_colab_in_colab(monkeypatch):
    assert "make setup" in environment.fix("torch")
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert environment.fix("torch").startswith("Runtime > Restart session")
