"""The time each lab quotes is a measured figure: the README's lab table and the notebook's header
give the full-profile wall time that `make bench` recorded in bench/results for this machine kind."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "x86_64-2cpu.json"
BENCH_ENTRY = {  # lab folder -> its bench entry (lab 00 trains nothing and has none)
    "01_char_lstm_keras": "lab01_char_lstm",
    "02_word_rnn_lyrics": "lab02_word_rnn",
    "03_caption_text_generator": "lab03_caption_text",
    "04_captioning_rnn_numpy": "lab04_captioning_numpy",
    "05_cnn_lstm_captioner": "lab05_captioner",
    "06_vgg_inversion": "lab06_vgg_inversion",
}


def measured_s(lab: str) -> int:
    figures = json.loads(RESULTS.read_text())["benchmarks"][BENCH_ENTRY[lab]]
    return round(figures["full_profile_wall_s"])


def readme_time(lab: str) -> str:
    """The 'CPU, 2 cores (full profile)' cell of the lab's row in the README's lab table."""
    for line in (REPO / "README.md").read_text().splitlines():
        if line.startswith("|") and f"`{lab}/" in line:
            return line.strip("|").split("|")[2].strip()
    raise AssertionError(f"README.md's lab table has no row for {lab}")


def test_every_lab_but_lab00_has_a_bench_entry():
    labs = sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir())
    assert sorted(BENCH_ENTRY) == [lab for lab in labs if not lab.startswith("00_")]


@pytest.mark.parametrize("lab", sorted(BENCH_ENTRY))
def test_quoted_lab_time_is_the_benchmarked_one(lab):
    seconds = measured_s(lab)
    assert re.match(rf"{seconds} s\b", readme_time(lab)), (
        f"README.md quotes {readme_time(lab)!r} for {lab}; bench/results says {seconds} s")
    notebook = next((REPO / "solutions" / lab).glob("*.ipynb"))
    header = nbformat.read(notebook, as_version=4).cells[0].source
    assert re.search(rf"\b{seconds} s\b", header), (
        f"{notebook.name}'s header does not quote the measured {seconds} s (bench/results)")
