"""Peak memory of a student's kernel in each lab: what a hub's per-student server must hold.

Each lab's solution notebook runs under the full profile (the one students run) in a fresh kernel,
one lab at a time; after its last cell the kernel reports its own peak resident set size and that
of the processes it started and waited for (getrusage's ru_maxrss, RUSAGE_SELF and RUSAGE_CHILDREN).
The Jupyter server that hosts the kernel is a process of its own and is not counted here.
"""

from __future__ import annotations

from pathlib import Path

from bench._notebook import run_notebook

REPO = Path(__file__).resolve().parent.parent
PEAK_MB = {
    "kernel_peak_rss_mb": "__import__('resource').getrusage(__import__('resource').RUSAGE_SELF)"
                          ".ru_maxrss / 1024",
    "children_peak_rss_mb": "__import__('resource').getrusage(__import__('resource').RUSAGE_CHILDREN)"
                            ".ru_maxrss / 1024",
}


def lab_notebooks() -> dict[str, Path]:
    """{lab folder name: its solution notebook}, every lab of the course."""
    return {path.parent.name: path for path in sorted((REPO / "solutions").glob("*/*.ipynb"))}


def run() -> dict:
    """{'<lab>_kernel_peak_rss_mb', '<lab>_children_peak_rss_mb', '<lab>_wall_s': ...}, one run each."""
    figures = {"runs_per_lab": 1, "profile": "full"}
    for lab, notebook in lab_notebooks().items():
        measured = run_notebook(notebook, PEAK_MB, profile="full")
        figures.update({f"{lab}_{name}": round(value, 1) for name, value in measured.items()})
    return figures
