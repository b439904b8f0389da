"""Lab 01 bench: the solution notebook itself, run under the full profile (bench/_notebook.py).

Course data: the notebook as a student runs it (10,000 shapes captions), COURSE_RUNS times; run i
draws the model's initial weights after ``runtime.seed_everything(i)`` (run 0 is the student's
default). The figures are the notebook's own variables: its epoch timers, losses, valid-word rates
and the padded-against-bucketed comparison of its section 10. Each figure is the one of run 0;
``<figure>_runs`` lists it for every run.

Own data: the same notebook on OWN_CAPTIONS made-up captions in the style of Flickr8k (written by
``write_flickr_style_captions``, nothing downloaded), given as a student's own text file. It must
scale its training to the lab's stated time (``runtime.fit_to_time``) and say so.

    PYTHONPATH=$PWD cpu-slot .venv/bin/python -m bench lab01_char_lstm
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

from bench._notebook import run_notebook

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "solutions" / "01_char_lstm_keras" / "char_lstm.ipynb"
COURSE_RUNS = int(os.environ.get("BENCH_LAB01_RUNS", "2"))
OWN_CAPTIONS = 40_460  # Flickr8k's size: 8,092 images with five captions each

COURSE_FIGURES = {
    "own_epochs": "EPOCHS",
    "own_first_epoch_s": "timer.seconds[0]",
    "own_s_per_epoch": "np.mean(timer.seconds[1:])",
    "own_final_loss": "losses[-1]",
    "own_valid_word_rate": "own_rate",
    "pretrained_valid_word_rate": "pretrained_rate",
    "padded_padding_fraction": "1 - weights.mean()",
    "bucketed_padding_fraction": "bucketed.padding_fraction()",
    "padded_first_epoch_s": "padded_timer.seconds[0]",
    "padded_s_per_epoch": "np.mean(padded_timer.seconds[1:])",
    "padded_real_chars_per_s": "bucketed.real_steps / np.mean(padded_timer.seconds[1:])",
    "bucketed_first_epoch_s": "bucketed_timer.seconds[0]",
    "bucketed_s_per_epoch": "np.mean(bucketed_timer.seconds[1:])",
    "bucketed_real_chars_per_s": "bucketed.real_steps / np.mean(bucketed_timer.seconds[1:])",
    "speedup_real_chars_per_s": "np.mean(padded_timer.seconds[1:]) / np.mean(bucketed_timer.seconds[1:])",
    "temperatures": "temperatures",
    "temperature_valid_word_rates": "rates",
    "temperature_distinct_sentences": "distinct",
}
OWN_DATA_FIGURES = {
    "captions_in_file": "len(read_captions(CAPTIONS_SOURCE))",
    "captions_trained": "len(captions)",
    "characters_trained": "time_steps(captions)",
    "course_characters": "time_steps(course_captions)",
    "epochs": "EPOCHS",
    "padded_captions": "len(padded_captions)",
    "valid_word_rate": "own_rate",
}

ONE = ["A man", "A woman", "A little girl", "A young boy", "A black dog", "A brown and white dog",
       "A man in a red shirt", "A woman wearing a hat", "A skier", "A boy in a blue jacket",
       "A person", "A dog with a stick in its mouth", "An older man with a beard"]
MANY = ["Two dogs", "A group of people", "Two children", "Three girls", "Some people"]
ACTIONS = ["is running", "runs", "is jumping", "jumps over a log", "is climbing a rock wall",
           "rides a bicycle", "is playing with a ball", "sits", "stands", "is walking",
           "is swimming", "plays in the water", "catches a frisbee", "is smiling", "looks up",
           "is skiing down a slope", "throws a ball", "is sitting on a bench"]
PLURAL = {"is": "are", "runs": "run", "jumps": "jump", "rides": "ride", "sits": "sit",
          "stands": "stand", "plays": "play", "catches": "catch", "looks": "look",
          "throws": "throw"}
PLACES = ["in the grass", "on the beach", "through the snow", "in a park", "on a city street",
          "near a fountain", "in front of a building", "on a dirt path", "by the lake",
          "in the woods", "at the top of a hill", "in a crowded market", "on the sidewalk"]
EXTRAS = ["while another dog watches", "as the sun sets", "next to a red car",
          "with a crowd behind them", "while people watch", "in the rain", "on a sunny day",
          "holding a cup of coffee", "with mountains in the background", "and laughs"]


def flickr_style_caption(rng: random.Random) -> str:
    """One made-up caption in the manner of Flickr8k's: one sentence, mostly 6 to 25 words."""
    action = rng.choice(ACTIONS).split(" ", 1)
    if rng.random() < 0.3:  # several people or animals: the verb agrees
        words = [rng.choice(MANY), " ".join([PLURAL[action[0]], *action[1:]])]
    else:
        words = [rng.choice(ONE), " ".join(action)]
    words += [rng.choice(PLACES)] if rng.random() < 0.8 else []
    words += [rng.choice(EXTRAS) for _ in range(rng.choice([0, 0, 0, 1, 1, 2]))]
    ending = rng.choice([" .", ".", "", " ."])  # Flickr8k's captions often end on a spaced dot
    caption = " ".join(words)
    return (caption.lower() if rng.random() < 0.2 else caption) + ending


def write_flickr_style_captions(path: Path, n_captions: int, seed: int = 0) -> Path:
    """A text file of ``n_captions`` made-up captions, one per line, as a student's own data."""
    rng = random.Random(seed)
    path.write_text("\n".join(flickr_style_caption(rng) for _ in range(n_captions)) + "\n",
                    encoding="utf-8")
    return path


def course_runs() -> dict:
    """The notebook on the course data, COURSE_RUNS times: run 0's figures and every run's."""
    runs = [run_notebook(NOTEBOOK, COURSE_FIGURES, after="runtime.seed_everything(",
                         settings=f"runtime.seed_everything({i})" if i else "")
            for i in range(COURSE_RUNS)]
    figures = {"full_profile_wall_s": runs[0]["wall_s"], "course_runs": COURSE_RUNS,
               **{name: runs[0][name] for name in COURSE_FIGURES}}
    for name in ["wall_s", *COURSE_FIGURES]:
        figures[f"{'full_profile_wall_s' if name == 'wall_s' else name}_runs"] = [
            run[name] for run in runs]
    return figures


def own_data_run() -> dict:
    """The notebook on OWN_CAPTIONS Flickr8k-style captions from a text file, full profile."""
    with tempfile.TemporaryDirectory() as scratch:
        own = write_flickr_style_captions(Path(scratch) / "my_captions.txt", OWN_CAPTIONS)
        figures = run_notebook(NOTEBOOK, OWN_DATA_FIGURES, after="CAPTIONS_SOURCE = None",
                               settings=f"CAPTIONS_SOURCE = {str(own)!r}")
    return {f"flickr_style_{name}": value for name, value in figures.items()}


def run() -> dict:
    load_average = round(os.getloadavg()[0], 2)
    return {**course_runs(), **own_data_run(), "load_average_1min_at_start": load_average}
