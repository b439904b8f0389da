"""Grading throughput on this machine: `python -m grader grade` on one batch of lab-00 submissions
with `--jobs 1`, `--jobs 2` and two local Dask workers (a real scheduler and two `dask worker`
processes on 127.0.0.1, one thread each), and the coordinator's merge time per submission.

The batch: STUDENTS honest submissions of lab 00 (the solution, the blank notebook and the partial
example, repeated under different student ids), graded under the grading profile with course.toml's
limits, into a fresh copy of the course each time. Notebooks per minute = STUDENTS / wall time;
same_csv_all_three says whether the three runs wrote the same grades.csv.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAB = "00_getting_started"
STUDENTS = 12
SHARD_SIZE = 3


def _course(folder: Path) -> Path:
    course = folder / "course"
    course.mkdir()
    shutil.copyfile(REPO / "course.toml", course / "course.toml")
    for kind in ("solutions", "labs"):
        shutil.copytree(REPO / kind / LAB, course / kind / LAB)
    return course


def _batch(folder: Path) -> Path:
    origins = [REPO / "solutions" / LAB, REPO / "labs" / LAB, REPO / "grader" / "examples" / "partial" / LAB]
    for index in range(STUDENTS):
        shutil.copytree(origins[index % 3], folder / "batch" / f"student{index:03d}" / LAB)
    return folder / "batch"


def _grade(course: Path, batch: Path, *options: str) -> tuple[float, float, str]:
    """(wall seconds, merge seconds, grades.csv) of one `grader grade` run."""
    env = {k: v for k, v in os.environ.items() if k != "RNNLAB_PROFILE"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "grader", "--course", str(course), "grade",
                           str(batch), "--lab", LAB, *options],
                          capture_output=True, text=True, env=env, timeout=3600)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"grading failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    merge = re.search(r"merged \d+ submission\(s\) into the gradebook in ([\d.]+) s", done.stdout)
    return wall, float(merge.group(1)), (course / "course_work" / "grades.csv").read_text()


def _dask_cluster(folder: Path) -> tuple[str, list[subprocess.Popen]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dask = str(Path(sys.executable).with_name("dask"))
    address = f"tcp://127.0.0.1:{port}"
    commands = [[dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]]
    commands += [[dask, "worker", address, "--name", name, "--nthreads", "1", "--no-nanny",
                  "--no-dashboard", "--host", "127.0.0.1", "--local-directory", str(folder / name)]
                 for name in ("w1", "w2")]
    processes = [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for command in commands]
    from distributed import Client

    with Client(address, timeout="60s") as client:
        client.wait_for_workers(2, timeout=120)
    return address, processes


def run() -> dict:
    figures = {"students": STUDENTS, "load_avg_start": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        batch = _batch(scratch)
        runs = {"jobs1": ["--jobs", "1"], "jobs2": ["--jobs", "2"]}
        merges, tables = [], []
        for name, options in runs.items():
            with tempfile.TemporaryDirectory(dir=scratch) as folder:
                wall, merge, table = _grade(_course(Path(folder)), batch, *options)
            figures[f"{name}_wall_s"] = round(wall, 1)
            figures[f"{name}_per_min"] = round(STUDENTS / wall * 60, 2)
            merges.append(merge)
            tables.append(table)
        address, processes = _dask_cluster(scratch)
        try:
            with tempfile.TemporaryDirectory(dir=scratch) as folder:
                wall, merge, table = _grade(_course(Path(folder)), batch, "--scheduler", address,
                                            "--shard-size", str(SHARD_SIZE))
        finally:
            for process in processes:
                process.kill()
                process.wait()
        figures["dask2_wall_s"] = round(wall, 1)
        figures["dask2_per_min"] = round(STUDENTS / wall * 60, 2)
        merges.append(merge)
        tables.append(table)
    figures["same_csv_all_three"] = len(set(tables)) == 1
    figures["merge_s_per_100"] = round(max(merges) / STUDENTS * 100, 1)
    figures["load_avg_end"] = round(os.getloadavg()[0], 2)
    return figures
