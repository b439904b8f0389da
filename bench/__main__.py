"""Run benchmark entries and record them: ``python -m bench [name ...]``.

Each module bench/<name>.py exposes ``run() -> dict`` of named figures. Results are merged into
bench/results/<machine>.json (one entry per benchmark, with the date and the machine) and the
whole file is rendered as bench/results/<machine>.md.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import platform
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def machine() -> dict:
    """A description of this machine: architecture, CPU count and GPU if any."""
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    label = f"{platform.machine()}-{os.cpu_count()}cpu" + (f"-{gpu.replace(' ', '_')}" if gpu else "")
    return {"label": label, "cpus": os.cpu_count(), "gpu": gpu, "python": platform.python_version(),
            "torch": torch.__version__}


def entries() -> list[str]:
    """Names of every benchmark module in bench/."""
    return sorted(p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_"))


def run(names: list[str]) -> Path:
    """Run the named benchmarks, merge their figures into the machine's results, return the file."""
    info = machine()
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{info['label']}.json"
    results = json.loads(path.read_text()) if path.is_file() else {"machine": info, "benchmarks": {}}
    results["machine"] = info
    for name in names:
        start = time.perf_counter()
        figures = importlib.import_module(f"bench.{name}").run()
        figures["bench_wall_s"] = round(time.perf_counter() - start, 1)
        figures["date"] = datetime.date.today().isoformat()
        results["benchmarks"][name] = figures
        print(f"bench: {name}: {json.dumps(figures)}")
        path.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    path.with_suffix(".md").write_text(markdown(results))
    return path


def markdown(results: dict) -> str:
    """The results as a markdown table per benchmark."""
    m = results["machine"]
    lines = [f"# Benchmarks on {m['label']} (GPU: {m['gpu'] or 'none'}, torch {m['torch']})", ""]
    for name, figures in sorted(results["benchmarks"].items()):
        lines += [f"## {name}", "", "| figure | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in sorted(figures.items())]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {entries()})")
    args = parser.parse_args()
    unknown = set(args.names) - set(entries())
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; known: {entries()}")
    print(f"bench: results in {run(args.names or entries())}")


if __name__ == "__main__":
    main()
