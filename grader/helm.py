"""The zero-to-jupyterhub Helm chart's values for this course: `grader hub-values` (docs/scaling.md).

From course.toml: [course] id, [exchange] root, [hub] students and instructors (the hub's groups),
[kubernetes] image (the students' server image, built from the class edition) and exchange_claim
(a ReadWriteMany volume claim that holds the exchange). From bench/results: each lab's measured
peak memory of a student's kernel (bench/student_server_memory.py), which sets the memory of a
student's server: the kernel's peak plus SERVER_MB for the Jupyter server and JupyterLab (an
allowance, not a measurement), times HEADROOM, rounded up to ROUND_MB. Each lab is a profile a
student picks when the server starts; the default is the largest lab's.

Each student's server runs as the uid grader.exchange.hashed_uid gives the name (set by the hub,
hub.extraConfig below), so `grader collect --exchange` with [exchange] owners = "hashed" can tell
who made each submission folder on the shared volume.
"""

from __future__ import annotations

import inspect
import json
import math
import tomllib
from pathlib import Path

import yaml

from .course import Course
from .exchange import hashed_uid

SERVER_MB = 512  # the Jupyter server and JupyterLab next to the kernel: an allowance
HEADROOM = 1.25
ROUND_MB = 256
BENCH = "student_server_memory"
KUBERNETES = {"image": "ghcr.io/rnn-labs/rnn-labs-student:latest", "exchange_claim": "nbgrader-exchange"}


def measured_peaks(results: Path) -> dict[str, float]:
    """{lab: MB} the kernel's peak RSS plus that of the processes it waited for, the largest over
    the machines in ``results`` (bench/results/)."""
    peaks = {}
    for path in sorted(results.glob("*.json")):
        figures = json.loads(path.read_text())["benchmarks"].get(BENCH, {})
        for name, value in figures.items():
            if name.endswith("_kernel_peak_rss_mb"):
                lab = name.removesuffix("_kernel_peak_rss_mb")
                both = value + figures.get(f"{lab}_children_peak_rss_mb", 0.0)
                peaks[lab] = max(peaks.get(lab, 0.0), both)
    if not peaks:
        raise FileNotFoundError(f"no '{BENCH}' figures in {results}: run `.venv/bin/python -m bench {BENCH}`")
    return peaks


def server_mb(peak_mb: float) -> int:
    """The memory limit of a student's server for a kernel peak of ``peak_mb``."""
    return math.ceil((peak_mb + SERVER_MB) * HEADROOM / ROUND_MB) * ROUND_MB


def settings(course: Course) -> dict:
    """[kubernetes] image and exchange_claim, with their defaults, and [hub]'s groups."""
    config = tomllib.loads((course.root / "course.toml").read_text())
    table = config.get("kubernetes", {})
    unknown = sorted(set(table) - set(KUBERNETES))
    if unknown:
        raise ValueError(f"course.toml: unknown [kubernetes] key(s) {', '.join(unknown)}; known: "
                         f"{', '.join(KUBERNETES)}")
    hub = config.get("hub", {})
    return {**KUBERNETES, **table, "students": list(hub.get("students", ())),
            "instructors": list(hub.get("instructors", ()))}


def hub_values(course: Course, peaks: dict[str, float]) -> dict:
    """The chart's values: the students' image and command, memory per lab, the exchange volume
    and nbgrader's settings in every server, the groups, each student's own uid."""
    wanted = settings(course)
    check_distinct_uids(wanted["students"])
    missing = sorted(set(course.labs()) - set(peaks))
    if missing:
        raise ValueError(f"no measured peak memory for {', '.join(missing)}: run "
                         f"`.venv/bin/python -m bench {BENCH}`")
    image, _, tag = wanted["image"].rpartition(":")
    limits = {lab: server_mb(peaks[lab]) for lab in course.labs()}
    heaviest = max(limits, key=limits.get)
    root = str(course.exchange_root)
    nbgrader_config = (f"c = get_config()\nc.CourseDirectory.course_id = {course.course_id!r}\n"
                       f"c.Exchange.root = {root!r}\n")
    return {
        "hub": {
            "config": {"JupyterHub": {"load_groups": {
                "students": {"users": wanted["students"]},
                "instructors": {"users": wanted["instructors"]}}}},
            "extraConfig": {"course-uid": uid_hook_source()},
        },
        "singleuser": {
            "image": {"name": image, "tag": tag or "latest"},
            "cmd": "jupyterhub-singleuser",
            "defaultUrl": "/lab",
            "memory": {"limit": f"{limits[heaviest]}M", "guarantee": f"{limits[heaviest]}M"},
            "profileList": [{
                "display_name": f"{lab} ({limit} MB)",
                "default": lab == heaviest,
                "kubespawner_override": {"mem_limit": f"{limit}M", "mem_guarantee": f"{limit}M"},
            } for lab, limit in limits.items()],
            "storage": {
                "extraVolumes": [{"name": "nbgrader-exchange",
                                  "persistentVolumeClaim": {"claimName": wanted["exchange_claim"]}}],
                "extraVolumeMounts": [{"name": "nbgrader-exchange", "mountPath": root}],
            },
            "extraFiles": {"nbgrader-config": {"mountPath": "/etc/jupyter/nbgrader_config.py",
                                               "stringData": nbgrader_config}},
        },
    }


def check_distinct_uids(students: list[str]) -> None:
    """Refuse two students whose servers would run as the same hashed_uid (either could hand in
    for the other)."""
    seen = {}
    for student in students:
        twin = seen.setdefault(hashed_uid(student), student)
        if twin != student:
            raise ValueError(f"students {twin} and {student} would run as the same uid "
                             f"{hashed_uid(student)}: rename one account")


def uid_hook_source() -> str:
    """hub.extraConfig code that starts each user's server as hashed_uid(name), the function itself
    copied from grader/exchange.py so that the hub and collect agree."""
    return ("import hashlib\n\n\n" + inspect.getsource(hashed_uid) + "\n\n"
            "def course_uid(spawner):\n    spawner.uid = hashed_uid(spawner.user.name)\n\n\n"
            "c.KubeSpawner.pre_spawn_hook = course_uid\n")


def write_values(course: Course, out: Path, results: Path) -> dict:
    """Write the values as YAML to ``out``; returns them."""
    values = hub_values(course, measured_peaks(results))
    header = ("# zero-to-jupyterhub values written by `.venv/bin/grader hub-values` from course.toml "
              "and bench/results: write them again, do not edit\n")
    out.write_text(header + as_yaml(values))
    return values


def as_yaml(values: dict) -> str:
    """``values`` as YAML, text of several lines (the hub's extra configuration, nbgrader's) as
    literal blocks, readable as they will be in the files."""

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper, value: str):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)

    Dumper.add_representer(str, text)
    return yaml.dump(values, Dumper=Dumper, sort_keys=False, width=100)
