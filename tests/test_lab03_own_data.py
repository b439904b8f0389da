"""Lab 03 outside its defaults: a student's own COCO-format captions given as string paths, a run
on many captions of one's own scaled to the lab's stated time, and a device without float64
(Apple's ``mps``) for sampling.

The own-data tests run the solution notebook in a real Jupyter kernel, with one cell added after
its set-up cell that points ``TRAIN_JSON`` and ``VAL_JSON`` at captions files written here, as a
student would type the paths: the whole notebook under the test profile on a few captions, and,
under the full profile, its cells up to the data on many captions with a real-sized vocabulary.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import nbformat
import pytest
import torch
from nbclient import NotebookClient
from torch import nn
from torch.utils._pytree import tree_leaves

from bench.lab03_caption_text import write_captions as write_real_sized_captions
from rnnlab import text

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "solutions" / "03_caption_text_generator" / "caption_text_generator.ipynb"

PEOPLE = ["a man", "a woman", "two children", "a young boy", "an older woman", "a group of people"]
ACTIONS = ["riding a bike", "walking a dog", "eating a sandwich", "playing frisbee",
           "holding an umbrella", "sitting on a bench", "reading a newspaper", "flying a kite"]
PLACES = ["in a park", "on a busy street", "near the beach", "in front of a red building",
          "at the train station", "on a snowy hill"]
EXTRAS = ["", "", " on a sunny day", " while it rains", " next to a parked car"]


def write_captions(path: Path, n_images: int, first_id: int, seed: int) -> Path:
    """A COCO-format captions file of made-up, human-like captions: five per image."""
    rng = random.Random(seed)
    images, annotations = [], []
    for image_id in range(first_id, first_id + n_images):
        images.append({"id": image_id, "file_name": f"COCO_{image_id:012d}.jpg",
                       "width": 640, "height": 480})
        for _ in range(5):
            caption = (f"{rng.choice(PEOPLE)} {rng.choice(ACTIONS)} {rng.choice(PLACES)}"
                       f"{rng.choice(EXTRAS)}.")
            caption = caption[0].upper() + caption[1:]
            annotations.append({"id": len(annotations) + first_id * 10, "image_id": image_id,
                                "caption": caption})
    path.write_text(json.dumps({"info": {"description": "my captions"}, "images": images,
                                "annotations": annotations}), encoding="utf-8")
    return path


def execute(nb, tmp_path: Path, timeout: int) -> str:
    """Run nb in a fresh kernel, in a copy of the lab's folder: the text its code cells printed."""
    workdir = tmp_path / NOTEBOOK.parent.name
    shutil.copytree(NOTEBOOK.parent, workdir)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(workdir)}}).execute()
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []))


@pytest.fixture(autouse=True)
def _test_profile(monkeypatch):
    monkeypatch.setenv("RNNLAB_PROFILE", "test")
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)


def test_own_captions_as_string_paths_run_the_lab_without_the_shapes_only_checks(tmp_path):
    train = write_captions(tmp_path / "my train captions.json", 12, 1, seed=0)
    val = write_captions(tmp_path / "my val captions.json", 6, 100, seed=1)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if c.source.startswith("%matplotlib inline"))
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(
        f"TRAIN_JSON = {str(train)!r}  # strings, as a student types them\nVAL_JSON = {str(val)!r}"))
    nb.cells.append(nbformat.v4.new_code_cell("""\
assert isinstance(TRAIN_JSON, str) and not SHAPES_DATA
assert len(train_data) == 60 and len(val_data) == 30
assert "frisbee" in vocab and "umbrella" in vocab, "the vocabulary comes from the student's file"
for report in (rnn_report, lstm_report):
    assert set(report) == {"distinct", "new", "BLEU-4"}, f"no shapes-only measure: {report}"
    assert 0 <= report["BLEU-4"] <= 1 and 0 < report["distinct"] <= 1 and 0 <= report["new"] <= 1
assert honest["val_loss"][0] > padded_history["val_loss"][0], "padding counted flatters the loss"
"""))
    out = execute(nb, tmp_path, timeout=60)
    assert "my train captions.json: 12 images, 60 captions" in out
    assert "not the shapes captions: no grammar check" in out
    assert "no grammar check: it only applies to the shapes captions" in out
    reports = [line for line in out.splitlines() if "BLEU-4" in line and "distinct" in line]
    assert len(reports) == 3 and not any("well formed" in line for line in reports), reports
    assert "padded with [END], as its loss reports it" in out


def test_many_own_captions_under_the_full_profile_are_scaled_to_the_stated_time(tmp_path, monkeypatch):
    """16,000 captions with a real-sized vocabulary cost about 3x the course's run, 6x the half of
    it that training may take: one training run per model and one epoch instead of three each; with
    a smaller allowance the first captions."""
    monkeypatch.setenv("RNNLAB_PROFILE", "full")
    train = write_real_sized_captions(tmp_path / "train.json", 3200, 1, seed=0)
    val = write_real_sized_captions(tmp_path / "val.json", 100, 10**6, seed=1)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    last = next(i for i, c in enumerate(nb.cells) if c.source.startswith("train_data = CocoCaptions("))
    at = next(i for i, c in enumerate(nb.cells) if c.source.startswith("%matplotlib inline"))
    nb.cells = [*nb.cells[:at + 1], nbformat.v4.new_code_cell(
        f"TRAIN_JSON = {str(train)!r}\nVAL_JSON = {str(val)!r}"), *nb.cells[at + 1:last + 1]]
    nb.cells.append(nbformat.v4.new_code_cell("""\
assert (N_EPOCHS, N_SEEDS, TRAIN_CAPTIONS, len(train_data)) == (1, 1, None, 16_000)
assert len(vocab) == 5000, "the vocabulary fills its cap, as real captions do"
COURSE_CAPTIONS, N_EPOCHS, N_SEEDS = 1000, 3, 3
keep, epochs, seeds = fit_to_course_time(train_data)
assert (epochs, seeds) == (1, 1) and 500 < keep < 1000, (keep, epochs, seeds)
"""))
    out = execute(nb, tmp_path, timeout=120)
    assert "rnnlab: profile=full" in out
    assert "this run trains 1 training run per model instead of 3; 1 epoch instead of 3." in out, out
    assert "rnnlab: that is the first" in out and "of your 16,000 training captions" in out, out


class OnDevice(torch.Tensor):
    """A CPU tensor that stands for one on a device without float64 (Apple's mps): asking it for
    float64 raises, and .cpu() gives back a plain tensor, on which float64 is fine."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func is torch.Tensor.cpu:
            with torch._C.DisableTorchFunctionSubclass():
                return args[0].clone()
        out = super().__torch_function__(func, types, args, kwargs or {})
        for tensor in tree_leaves(out):
            if isinstance(tensor, OnDevice) and tensor.dtype == torch.float64:
                raise AssertionError(f"{getattr(func, '__name__', func)} asks for float64 on the "
                                     "model's device")
        return out


class DeviceModel(nn.Module):
    """Next-word scores (T, 1, V) that live 'on the device', favouring word 4 then [END]."""

    def __init__(self, vocab_size: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, inputs, hidden=None):
        step = 0 if hidden is None else int(hidden)
        scores = torch.full((inputs.shape[0], 1, self.bias.numel()), -5.0)
        scores[-1, 0, 4 if step < 2 else 2] = 5.0
        return scores.as_subclass(OnDevice), torch.tensor(step + 1)


@pytest.fixture
def small_vocab():
    return text.Vocabulary(["[PAD]", "[START]", "[END]", "UNK", "a", "cat"], unk_token="UNK",
                           specials=["[PAD]", "[START]", "[END]", "UNK"])


def test_the_stand_in_device_refuses_float64_as_mps_does():
    with pytest.raises(AssertionError, match="float64"):
        torch.zeros(3).as_subclass(OnDevice).double()
    assert torch.zeros(3).as_subclass(OnDevice).cpu().double().dtype == torch.float64


def test_notebook_sampling_moves_scores_to_the_cpu_before_float64(small_vocab):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    source = next(c.source for c in nb.cells if "def sample_sentence(" in c.source)
    namespace = {"torch": torch, "START": "[START]", "END": "[END]"}
    exec(source, namespace)
    sentence = namespace["sample_sentence"](DeviceModel(len(small_vocab)), small_vocab,
                                           generator=torch.Generator().manual_seed(0))
    assert sentence.split()[0] == "a", sentence

