"""Lab 03 bench: the solution notebook itself, run twice under the full profile in a fresh kernel
(`bench._notebook.run_notebook`), its figures read from the notebook's own variables.

course:   the course's shapes captions, as a student runs the lab. full_profile_wall_s is its time;
          rnn_/lstm_ figures: <figure>_per_seed lists the training runs of section 7 (seed 0 first),
          <figure>_mean averages them; well-formed, distinct, new and BLEU-4 are seed 0's samples;
          padded_* is section 5's model trained with the [END] id as padding and a loss that
          counts it: its perplexity as that loss reports it, on the real targets, and the
          notebook's own model after one epoch.
own data: made-up captions with a vocabulary as large as real captions' (`write_captions`,
          OWN_IMAGES images in training, 5 captions each), to check that the full profile's plan
          (`runtime.fit_to_time`) keeps the notebook near its stated time; own_* figures.
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
from pathlib import Path

from bench._notebook import run_notebook

NOTEBOOK = (Path(__file__).resolve().parent.parent / "solutions" / "03_caption_text_generator"
            / "caption_text_generator.ipynb")
OWN_IMAGES, OWN_VAL_IMAGES = 7200, 1000  # 36,000 training and 5,000 validation captions
KINDS = ("count", "synonym", "size")  # metrics.AGREEMENTS

PEOPLE = ["man", "woman", "child", "boy", "girl", "person", "player", "couple", "group of people"]
THINGS = ["dog", "cat", "bike", "car", "bus", "table", "kite", "umbrella", "frisbee", "sandwich",
          "pizza", "horse", "train", "bench", "surfboard", "phone", "book", "plate"]
COLOURS = ["red", "blue", "white", "black", "green", "yellow", "brown", "large", "small", "old"]
ACTIONS = ["riding", "holding", "eating", "walking", "carrying", "watching", "throwing", "pushing"]
PREPOSITIONS = ["in", "on", "near", "next to", "in front of", "behind", "at"]

COURSE_FIGURES = {
    "train_captions": "len(train_data)", "val_captions": "len(val_data)", "vocab_size": "len(vocab)",
    "epochs": "N_EPOCHS", "runs_per_model": "N_SEEDS", "samples": "N_SAMPLES",
    "agreement_samples_per_run": "N_AGREEMENT_SAMPLES",
    **{f"{key}_s_per_epoch": f"{key}_s_per_epoch" for key in ("rnn", "lstm")},
    **{f"{key}_{name}": f"{key}_report[{label!r}]" for key in ("rnn", "lstm")
       for name, label in (("well_formed_rate", "well formed"), ("distinct", "distinct"),
                           ("new", "new"), ("bleu4", "BLEU-4"))},
    **{f"{key}_val_perplexity_per_seed": f"[perplexities(h)[-1] for _, h in runs[{model!r}]]"
       for key, model in (("rnn", "RNN"), ("lstm", "LSTM"))},
    **{f"{key}_agreement_{kind}{extra}_per_seed": f"[r[{kind + extra!r}] for r in agreements[{model!r}]]"
       for key, model in (("rnn", "RNN"), ("lstm", "LSTM")) for kind in KINDS
       for extra in ("", "_n", "_span")},
    "padded_reported_perplexity": "metrics.perplexity(padded_history['val_loss'][0])",
    "padded_real_targets_perplexity": "metrics.perplexity(honest['val_loss'][0])",
    "own_padding_first_epoch_perplexity": "perplexities(rnn_history)[0]",
}
OWN_FIGURES = {
    "train_captions": "len(train_data)", "vocab_size": "len(vocab)", "epochs": "N_EPOCHS",
    "runs_per_model": "N_SEEDS", "rnn_s_per_epoch": "rnn_s_per_epoch",
    "lstm_s_per_epoch": "lstm_s_per_epoch", "rnn_val_perplexity": "perplexities(rnn_history)[-1]",
    "lstm_val_perplexity": "perplexities(lstm_history)[-1]", "rnn_bleu4": "rnn_report['BLEU-4']",
}


def made_up_words(rng: random.Random, n: int, ending: str = "") -> list[str]:
    """n distinct pronounceable words that are not English ('kodava', 'mitesing' with ending 'ing')."""
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    words: set[str] = set()
    while len(words) < n:
        words.add("".join(rng.choice(consonants) + rng.choice(vowels)
                          for _ in range(rng.randint(2, 3))) + ending)
    return sorted(words)


def write_captions(path: Path, n_images: int, first_id: int, seed: int, rare_words: int = 8000) -> Path:
    """A COCO-format captions file of made-up captions, five per image, written like people describe
    a photo ("A small man holding a kite near the bus."), with a vocabulary as large as real
    captions': rare_words made-up nouns, adjectives and verbs after the common English ones, each
    list drawn with Zipf's law (the r-th word with weight 1 / r)."""
    lexicon = random.Random(0)  # the same made-up words in every file
    nouns = THINGS + made_up_words(lexicon, rare_words * 3 // 5)
    adjectives = COLOURS + made_up_words(lexicon, rare_words // 5)
    verbs = ACTIONS + made_up_words(lexicon, rare_words // 5, "ing")
    rng = random.Random(seed)

    def zipf(words: list[str]) -> str:
        return rng.choices(words, cum_weights=cumulative[id(words)])[0]

    cumulative = {id(words): [sum(1 / r for r in range(1, k + 2)) for k in range(len(words))]
                  for words in (nouns, adjectives, verbs)}
    images, annotations = [], []
    for image_id in range(first_id, first_id + n_images):
        images.append({"id": image_id, "file_name": f"COCO_{image_id:012d}.jpg",
                       "width": 640, "height": 480})
        for _ in range(5):
            adjective = f"{zipf(adjectives)} " if rng.random() < 0.5 else ""
            extra = f" with a {zipf(adjectives)} {zipf(nouns)}" if rng.random() < 0.4 else ""
            caption = (f"a {adjective}{rng.choice(PEOPLE)} {zipf(verbs)} a {zipf(nouns)} "
                       f"{rng.choice(PREPOSITIONS)} the {zipf(nouns)}{extra}.")
            annotations.append({"id": len(annotations) + first_id * 10, "image_id": image_id,
                                "caption": caption[0].upper() + caption[1:]})
    path.write_text(json.dumps({"info": {"description": "made-up captions"}, "images": images,
                                "annotations": annotations}), encoding="utf-8")
    return path


def with_means(figures: dict) -> dict:
    """The figures, plus <name>_mean for every <name>_per_seed list."""
    means = {key.removesuffix("_per_seed") + "_mean": round(statistics.fmean(values), 3)
             for key, values in figures.items() if key.endswith("_per_seed") and values}
    return {**figures, **means}


def run() -> dict:
    """Run the notebook on the course's captions, then on the made-up ones; flat dict of figures."""
    course = run_notebook(NOTEBOOK, COURSE_FIGURES)
    results = {"full_profile_wall_s": course.pop("wall_s"), **with_means(course)}
    print(f"lab03_caption_text: course: {results}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        train = write_captions(Path(tmp) / "train.json", OWN_IMAGES, 1, seed=0)
        val = write_captions(Path(tmp) / "val.json", OWN_VAL_IMAGES, 10**6, seed=1)
        own = run_notebook(NOTEBOOK, OWN_FIGURES,
                           settings=f"TRAIN_JSON = {str(train)!r}\nVAL_JSON = {str(val)!r}")
    results.update({f"own_{key}": value for key, value in own.items()})
    results["own_captions_in_file"] = OWN_IMAGES * 5
    return results
