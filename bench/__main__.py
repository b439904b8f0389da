"""Run benchmark entries and record them: ``python -m bench [name ...]``.

Each module bench/<name>.py exposes ``run() -> dict`` of named figures. Every entry runs in a
process of its own (a crash, e.g. a library that segfaults after another one was imported, is
reported as that entry's failure and the others still run). Results are merged, under a file lock,
into bench/results/<machine>.json (one entry per benchmark, with the date and the machine) and the
whole file is rendered as bench/results/<machine>.md.
"""

from __future__ import annotations

import argparse
import datetime
import fcntl
import importlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def machine() -> dict:
    """A description of this machine: architecture, CPU count and GPU if any."""
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    label = f"{platform.machine()}-{os.cpu_count()}cpu" + (f"-{gpu.replace(' ', '_')}" if gpu else "")
    return {"label": label, "cpus": os.cpu_count(), "cpu_model": cpu_model(), "gpu": gpu,
            "python": platform.python_version(), "torch": torch.__version__}


def cpu_model() -> str:
    """The processor's name as the kernel gives it (/proc/cpuinfo), or the platform's."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def entries() -> list[str]:
    """Names of every benchmark module in bench/."""
    return sorted(p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_"))


def run(names: list[str], package: str = "bench") -> tuple[Path, list[str]]:
    """Run the named benchmarks of ``package``, each in its own process; merge their figures into
    the machine's results. Returns the results file and the names that failed."""
    info = machine()
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{info['label']}.json"
    failed = []
    for name in names:
        start, load_before = time.perf_counter(), os.getloadavg()[0]
        figures = run_in_child(f"{package}.{name}")
        if figures is None:
            failed.append(name)
            continue
        figures["bench_wall_s"] = round(time.perf_counter() - start, 1)
        figures["load_1min_before_after"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        figures["date"] = datetime.date.today().isoformat()
        record(path, info, name, figures)
        print(f"bench: {name}: {json.dumps(figures)}")
    return path, failed


def run_in_child(module: str) -> dict | None:
    """``module.run()`` in a fresh Python process: its figures, or None (reported) if it failed."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "figures.json"
        done = subprocess.run([sys.executable, "-m", "bench", "--child", module, str(out)])
        if done.returncode == 0 and out.is_file():
            return json.loads(out.read_text())
    how = f"killed by signal {-done.returncode}" if done.returncode < 0 else f"exit {done.returncode}"
    print(f"bench: {module} FAILED ({how}); its previous figures are kept", file=sys.stderr)
    return None


def record(path: Path, info: dict, name: str, figures: dict) -> None:
    """Merge one entry into the results file and re-render the markdown, under a file lock, so
    that benchmarks run at the same time by different commands do not overwrite each other."""
    with open(RESULTS / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        results = json.loads(path.read_text()) if path.is_file() else {"benchmarks": {}}
        results["machine"] = info
        results["benchmarks"][name] = figures
        path.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
        path.with_suffix(".md").write_text(markdown(results))


def markdown(results: dict) -> str:
    """The results as a markdown table per benchmark."""
    m = results["machine"]
    lines = [f"# Benchmarks on {m['label']} (CPU: {m.get('cpu_model', 'unknown')}, GPU: "
             f"{m['gpu'] or 'none'}, torch {m['torch']})", "",
             "Each entry: its date, the load average (1 min) before and after it, and in its "
             "figures the number of runs behind each one.", ""]
    for name, figures in sorted(results["benchmarks"].items()):
        lines += [f"## {name}", "", "| figure | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in sorted(figures.items())]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {entries()})")
    parser.add_argument("--child", nargs=2, metavar=("MODULE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        module, out = args.child
        Path(out).write_text(json.dumps(importlib.import_module(module).run()))
        return 0
    unknown = set(args.names) - set(entries())
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; known: {entries()}")
    path, failed = run(args.names or entries())
    print(f"bench: results in {path}" + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
