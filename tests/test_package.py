"""The package imports, every public helper is documented, and the env files agree with pyproject."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import tomllib
from pathlib import Path

import pytest
import yaml

import rnnlab
from grader.editions.publish import requirement_name

REPO = Path(__file__).resolve().parent.parent


def _modules():
    for info in pkgutil.walk_packages(rnnlab.__path__, "rnnlab."):
        if not info.name.endswith("__main__"):
            yield importlib.import_module(info.name)


def test_every_public_helper_has_a_docstring():
    undocumented = []
    for module in _modules():
        if not module.__doc__:
            undocumented.append(module.__name__)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                if not inspect.getdoc(obj):
                    undocumented.append(f"{module.__name__}.{name}")
    assert not undocumented, f"missing docstrings: {undocumented}"


def _pyproject_names() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = {requirement_name(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        names |= {requirement_name(r) for r in extra}
    return names


def _env_names(path: Path) -> set[str]:
    env = yaml.safe_load(path.read_text())
    assert env["name"] and env["dependencies"], f"{path.name} has no name or dependencies"
    names = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            names |= {requirement_name(r) for r in dep["pip"] if not r.startswith("-")}
        elif requirement_name(dep) not in ("python", "pip"):
            names.add(requirement_name(dep))
    return names


@pytest.mark.parametrize("filename", ["environment.yml", "environment-gpu.yml"])
def test_environment_files_parse_and_name_the_pyproject_packages(filename):
    names = _env_names(REPO / filename)
    expected = _pyproject_names()
    if filename == "environment-gpu.yml":
        expected = (expected - {"tensorflow-cpu"}) | {"tensorflow"}
    assert names == expected, f"{filename}: missing {expected - names}, extra {names - expected}"


def test_gpu_environment_asks_for_cuda_builds():
    text = (REPO / "environment-gpu.yml").read_text()
    assert "tensorflow[and-cuda]" in text and "pytorch-cuda" not in text
    assert "download.pytorch.org/whl/cu" in text
