"""The figures a lab quotes as measured are the ones `make bench` recorded in bench/results for
this machine kind: the README's lab table and the notebook's header give the full-profile wall
time, and the notebook's prose quotes the benchmark's other figures (QUOTED) as they were measured.
"""

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


def seconds(value: float) -> str:
    return f"{value:.1f} s"


def thousands(value: float) -> str:
    return f"{round(value, -3):,.0f}"


def percent(value: float) -> str:
    return f"{value:.0%}".replace("%", " %")


def times(value: float) -> str:
    return f"{value:.1f} times"


def percent_one_decimal(value: float) -> str:
    return f"{value:.1%}".replace("%", " %")


def two_significant(value: float) -> str:
    return f"{value:.2g}"


def hundreds(value: float) -> str:
    return f"{round(value, -2):,.0f}"


def whole_number(value: int) -> str:
    return f"{value:,}"


def one_decimal(value: float) -> str:
    return f"{value:.1f}"


def two_decimals(value: float) -> str:
    return f"{value:.2f}"


def three_decimals(value: float) -> str:
    return f"{value:.3f}"


def whole_seconds(value: float) -> str:
    return f"{value:.0f} s"


# lab folder -> (bench figure, how the notebook writes it): every figure the prose quotes as measured
QUOTED = {
    "01_char_lstm_keras": [
        ("own_s_per_epoch", seconds),
        ("own_first_epoch_s", seconds),
        ("own_valid_word_rate", percent),
        ("own_final_loss", two_decimals),
        ("padded_s_per_epoch", seconds),
        ("padded_real_chars_per_s", thousands),
        ("padded_first_epoch_s", seconds),
        ("bucketed_s_per_epoch", seconds),
        ("bucketed_real_chars_per_s", thousands),
        ("bucketed_first_epoch_s", seconds),
        ("speedup_real_chars_per_s", times),
        ("pretrained_valid_word_rate", percent),
    ],
    "02_word_rnn_lyrics": [
        ("full_profile_wall_s", seconds),
        ("full_profile_wall_s_min", one_decimal),
        ("full_profile_wall_s_max", one_decimal),
        ("one_thread_s_per_epoch_mean", two_decimals),
        ("two_threads_s_per_epoch_mean", seconds),
        ("rnn_s_per_epoch", seconds),
        ("rnn_valid_ppl", one_decimal),
        ("rnn_test_ppl", one_decimal),
        ("valid_above_test_in_seeds", lambda n: f"the higher in {n} of 5 runs"),
        ("lyrics_updates_per_epoch", lambda n: f"give {n} updates per epoch"),
        ("lyrics_updates_per_epoch_batch256", lambda n: f"256 rows would give {n}."),
        ("play_all_train_words", whole_number),
        ("play_train_words", whole_number),
        ("play_n_vocab", whole_number),
        ("play_wall_s", seconds),
        ("rnn_test_ppl_min", one_decimal),
        ("rnn_test_ppl_max", one_decimal),
        ("rnn_test_ppl_mean", one_decimal),
        ("lstm_test_ppl_min", one_decimal),
        ("lstm_test_ppl_max", one_decimal),
        ("lstm_test_ppl_mean", one_decimal),
        ("rnn_minus_lstm_test_ppl_min", one_decimal),
        ("rnn_minus_lstm_test_ppl_max", one_decimal),
    ],
    "03_caption_text_generator": [
        ("rnn_agreement_synonym_mean", percent),
        ("lstm_agreement_synonym_mean", percent),
        ("rnn_val_perplexity_mean", three_decimals),
        ("lstm_val_perplexity_mean", three_decimals),
        ("rnn_s_per_epoch", seconds),
        ("lstm_s_per_epoch", seconds),
        ("rnn_well_formed_rate", percent),
        ("padded_reported_perplexity", two_decimals),
        ("padded_real_targets_perplexity", two_decimals),
        ("own_padding_first_epoch_perplexity", two_decimals),
    ],
    "04_captioning_rnn_numpy": [
        ("grad_rnn_trained_dh_1_back", two_significant),
        ("grad_rnn_trained_dh_22_back", two_significant),
        ("grad_lstm_trained_dh_1_back", two_significant),
        ("grad_lstm_trained_dc_1_back", two_significant),
        ("grad_lstm_trained_dc_22_back", two_significant),
        ("grad_lstm_untrained_dc_22_back", two_significant),
        ("val_all_accuracy", percent_one_decimal),
        ("val_1_accuracy", percent_one_decimal),
        ("val_all_unseen_accuracy", percent_one_decimal),
        ("val_2_unseen_accuracy", percent_one_decimal),
        ("val_3_unseen_accuracy", percent_one_decimal),
        ("val_all_blind_accuracy", percent_one_decimal),
        ("val_all_blind_unseen_accuracy", percent_one_decimal),
        ("heldout_all_accuracy", percent_one_decimal),
        ("heldout_all_blind_accuracy", percent_one_decimal),
    ],
    "05_cnn_lstm_captioner": [
        ("train_s", seconds),
    ],
    "06_vgg_inversion": [
        ("full_reconstruction_s_224px_150_steps", whole_seconds),
        ("full_ssim_cat_layer16_112px_100_steps", two_decimals),
        ("full_ssim_cat_layer19_112px_100_steps", two_decimals),
        ("full_ssim_cat_layer23_112px_100_steps", two_decimals),
        ("full_ssim_cat_layer30_112px_100_steps", two_decimals),
        ("full_ssim_cat_blank_112px", two_decimals),
        ("full_ssim_cat_unrelated_112px", two_decimals),
    ],
}


def benchmark(lab: str) -> dict:
    return json.loads(RESULTS.read_text())["benchmarks"][BENCH_ENTRY[lab]]


def measured_s(lab: str) -> int:
    return round(benchmark(lab)["full_profile_wall_s"])


def notebook_text(lab: str) -> str:
    notebook = next((REPO / "solutions" / lab).glob("*.ipynb"))
    text = "\n".join(cell.source for cell in nbformat.read(notebook, as_version=4).cells)
    return " ".join(text.split())  # a figure may be split over two lines


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


@pytest.mark.parametrize("lab", sorted(QUOTED))
def test_figures_the_notebook_quotes_are_the_benchmarked_ones(lab):
    figures, text = benchmark(lab), notebook_text(lab)
    missing = [f"{name} = {figures[name]} (written {write(figures[name])!r})"
               for name, write in QUOTED[lab] if write(figures[name]) not in text]
    assert not missing, f"{lab} does not quote these bench/results figures as measured: {missing}"
