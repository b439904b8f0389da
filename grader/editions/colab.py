"""What the Colab bootstrap may install: course.toml's [colab] extras, checked against Colab's Jupyter.

Colab runs notebooks on its own, older Jupyter stack (COLAB_PINS); a package that upgrades one of
those breaks the runtime's kernel until a restart, and then for good. Release (and so publish)
refuses an extra named in [colab] extras or [colab.lab_extras] that the editions do not have, or
whose requirements, followed offline through pyproject.toml and the metadata of the distributions
installed here, exclude a pinned version. The installed versions stand for what pip would pick,
so the check is stricter than pip (which could go back to older releases), never laxer.
"""

from __future__ import annotations

import tomllib
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ..course import EDITION_EXTRAS, Course

# Colab's Jupyter stack, the one place these versions are written: google-colab pins ipykernel and
# ipython, its notebook 6.5 needs jupyter-client < 8 (7.4.9 is the last), and Colab warns that
# upgrading any of these crashes the runtime. tests/test_colab_bootstrap.py and test_publish.py
# build virtual environments with exactly these.
COLAB_PINS = {
    "ipykernel": "5.5.6",
    "ipython": "7.34.0",
    "notebook": "6.5.5",
    "jupyter-client": "7.4.9",
    "pyzmq": "24.0.1",
    "tornado": "6.3.3",
}


class ColabExtrasError(ValueError):
    """course.toml names a Colab extra the editions lack or one that would move Colab's Jupyter."""


def check_colab_extras(course: Course) -> None:
    """Refuse the extras of [colab] extras and [colab.lab_extras] that Colab cannot take."""
    named = sorted(set(course.colab_extras).union(*course.lab_extras.values()))
    if not named:
        return
    unknown = [extra for extra in named if extra not in EDITION_EXTRAS]
    if unknown:
        raise ColabExtrasError(
            f"course.toml [colab]: the editions have no extra {', '.join(map(repr, unknown))} (the "
            f"bootstrap installs the package from an edition, whose extras are {', '.join(EDITION_EXTRAS)}): "
            "name only those in [colab] extras and [colab.lab_extras]")
    extras = tomllib.loads((course.root / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for extra in named:
        moves = colab_conflicts(extra, extras[extra])
        if moves:
            raise ColabExtrasError(
                f"course.toml [colab]: the extra {extra!r} would move Colab's own Jupyter packages, "
                "which breaks its kernel:\n" + "\n".join(f"  {line}" for line in moves) +
                f"\nremove {extra!r} from [colab] extras and [colab.lab_extras]: what a lab installs in "
                "Colab must work with " + ", ".join(f"{n} {v}" for n, v in COLAB_PINS.items()))


def colab_conflicts(origin: str, requirements: list[str]) -> list[str]:
    """One line per requirement in the closure of ``origin``'s ``requirements`` that excludes a
    pinned version, e.g. "ipykernel 5.5.6: lab -> jupyterlab requires ipykernel>=6.5.0". The
    closure follows the installed distributions' requirements (markers evaluated here), not those
    of the pinned packages (Colab keeps its own)."""
    found, seen = [], set()
    todo = [(Requirement(text), (origin,)) for text in requirements]
    while todo:
        requirement, path = todo.pop(0)
        name = canonicalize_name(requirement.name)
        if name in COLAB_PINS:
            if not requirement.specifier.contains(COLAB_PINS[name], prereleases=True):
                found.append(f"{name} {COLAB_PINS[name]}: {' -> '.join(path)} requires {requirement}")
            continue
        if (name, frozenset(requirement.extras)) in seen:
            continue
        seen.add((name, frozenset(requirement.extras)))
        todo += [(needed, (*path, name)) for needed in _requires(name, requirement.extras)]
    return found


def _requires(name: str, extras: set[str]) -> list[Requirement]:
    """The requirements of the installed distribution ``name`` with ``extras`` ([] if not installed)."""
    try:
        texts = metadata.requires(name) or []
    except metadata.PackageNotFoundError:
        return []
    needed = [Requirement(text) for text in texts]
    return [r for r in needed
            if r.marker is None or any(r.marker.evaluate({"extra": e}) for e in extras or {""})]
