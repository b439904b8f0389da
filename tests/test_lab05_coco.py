"""Lab 05's COCO 2014 path end to end, on a tiny COCO-format fixture that this module writes (real
JPEG files zipped like COCO's archives, captions JSON in COCO's layout), served over HTTP on
127.0.0.1 only, through rnnlab.datasets.download."""

from __future__ import annotations

import io
import json
import random
import shutil
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from PIL import Image
from test_download import Loopback, drop_proxies, serving

from rnnlab.datasets import coco as coco_module
from rnnlab.datasets.download import DownloadError, coco_registry

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "solutions" / "05_cnn_lstm_captioner" / "cnn_lstm_captioner.ipynb"
COLOURS = {"red": (200, 40, 40), "green": (40, 160, 60), "blue": (40, 70, 200), "yellow": (220, 200, 40)}
THINGS = ("square", "box", "block")
# Below the notebook's vocabulary threshold of 4: 'zebra' in 2 captions, 'giraffe' in 3; 'kite' in 4
RARE = {"zebra": 2, "giraffe": 3, "kite": 4}
TRAIN_IMAGES, VAL_IMAGES = 16, 12


def _jpeg(rng: random.Random, colour: tuple[int, int, int]) -> bytes:
    """A real JPEG of a random size: a coloured block on a grey background."""
    width, height = rng.randint(48, 96), rng.randint(48, 96)
    image = Image.new("RGB", (width, height), (128, 128, 128))
    x, y = rng.randint(0, width // 2), rng.randint(0, height // 2)
    image.paste(colour, (x, y, x + width // 2, y + height // 2))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def coco_fixture(seed: int = 0) -> dict[str, bytes]:
    """COCO 2014's three archives in miniature: {path on the server: zip bytes}."""
    rng = random.Random(seed)
    rare_words = [word for word, n in RARE.items() for _ in range(n)]
    archives, captions = {}, {}
    next_caption = 1
    for split, count, first_id in (("train2014", TRAIN_IMAGES, 9), ("val2014", VAL_IMAGES, 42)):
        images, annotations, members = [], [], {}
        for k in range(count):
            image_id = first_id + 7 * k
            name = f"COCO_{split}_{image_id:012d}.jpg"
            colour = rng.choice(sorted(COLOURS))
            members[f"{split}/{name}"] = _jpeg(rng, COLOURS[colour])
            with Image.open(io.BytesIO(members[f"{split}/{name}"])) as im:
                images.append({"license": 1, "file_name": name, "coco_url": "", "height": im.height,
                               "width": im.width, "date_captured": "2013-11-14", "id": image_id})
            for _ in range(5):
                thing = rng.choice(THINGS)
                extra = rare_words.pop() if split == "train2014" and rare_words else ""
                text = f"A {colour} {thing} on a grey background{' near a ' + extra if extra else ''}."
                annotations.append({"image_id": image_id, "id": next_caption, "caption": text})
                next_caption += 1
        captions[split] = {"info": {"description": "fixture"}, "licenses": [], "images": images,
                           "annotations": annotations}
        archives[f"zips/{split}.zip"] = _zip(members)
    archives["annotations/annotations_trainval2014.zip"] = _zip({
        "annotations/captions_train2014.json": json.dumps(captions["train2014"]).encode(),
        "annotations/captions_val2014.json": json.dumps(captions["val2014"]).encode(),
        "annotations/instances_train2014.json": b'{"images": [], "annotations": []}',
    })
    return archives


def _zip(members: dict[str, bytes]) -> bytes:
    """A zip as COCO's: a folder entry, then the files, stored (JPEGs do not compress)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(next(iter(members)).split("/")[0] + "/", b"")
        for name, body in members.items():
            zf.writestr(name, body)
    return out.getvalue()


def manifest(files: dict[str, bytes]) -> dict:
    return {Path(path).name: {"size": len(body), "sha256": None} for path, body in files.items()}


@pytest.fixture
def coco_server(monkeypatch):
    """The fixture's archives served on 127.0.0.1 (test_download's server, 'good' mode = COCO)."""
    drop_proxies(monkeypatch)
    with serving(coco_fixture()) as loop:
        yield loop


def registry(loop: Loopback, mode: str = "good") -> dict:
    return coco_registry(f"{loop.base}/{mode}", manifest(loop.files))


def test_prepare_downloads_resizes_and_splits_once(coco_server, tmp_path):
    out = coco_module.prepare(tmp_path, size=40, registry=registry(coco_server), progress=False)
    assert out == tmp_path / "resized40"
    assert len(coco_server.requests) == 3
    assert (tmp_path / "annotations" / "captions_train2014.json").is_file()
    assert not (tmp_path / "annotations" / "instances_train2014.json").exists()
    splits = {s: coco_module.CocoCaptions(out / f"captions_{s}.json", out) for s in ("train", "val", "test")}
    assert [len(splits[s].images) for s in splits] == [TRAIN_IMAGES, VAL_IMAGES // 2, VAL_IMAGES // 2]
    val_ids = [image["id"] for image in splits["val"].images]
    test_ids = [image["id"] for image in splits["test"].images]
    assert max(val_ids) < min(test_ids), "validation and test: disjoint halves of val2014"
    for split in splits.values():
        assert all(len(split.captions[image["id"]]) == 5 for image in split.images)
        for image in split.images:
            with Image.open(split.image_path(image["id"])) as im:
                assert im.size == (40, 40) and im.mode == "RGB"
    again = coco_module.prepare(tmp_path, size=40, registry=registry(coco_server), progress=False)
    assert again == out and len(coco_server.requests) == 3, "a second call needs no network"


def test_interrupted_resizing_resumes_without_downloading_again(coco_server, tmp_path):
    out = coco_module.prepare(tmp_path, size=32, registry=registry(coco_server), progress=False)
    folder = out / "train2014"
    kept = sorted(folder.glob("*.jpg"))
    stamps = {p: p.stat().st_mtime_ns for p in kept[3:]}
    for path in kept[:3]:
        path.unlink()
    (folder / ".complete").unlink()
    time.sleep(0.01)
    coco_module.prepare(tmp_path, size=32, registry=registry(coco_server), progress=False)
    assert len(coco_server.requests) == 3, "the archives on disk are reused"
    assert sorted(folder.glob("*.jpg")) == kept
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items()), "done images are not redone"


def test_damaged_archive_says_which_file_to_delete(coco_server, tmp_path):
    body = bytearray(coco_server.files["zips/train2014.zip"])
    middle = len(body) // 2
    body[middle:middle + 64] = bytes(b ^ 0xFF for b in body[middle:middle + 64])  # same size
    coco_server.files["zips/train2014.zip"] = bytes(body)
    with pytest.raises(DownloadError) as info:
        coco_module.prepare(tmp_path, size=32, registry=registry(coco_server), progress=False)
    message = str(info.value)
    assert str(tmp_path / "train2014.zip") in message
    assert "delete" in message and "run again" in message
    assert not (tmp_path / "resized32" / "train2014" / ".complete").exists()


def test_truncated_archive_download_keeps_the_part_and_says_run_again(coco_server, tmp_path):
    reg = registry(coco_server)  # the annotations in full, the training images cut short
    reg["coco2014_train_images"] = registry(coco_server, "truncated")["coco2014_train_images"]
    with pytest.raises(DownloadError, match="interrupted after .* run again"):
        coco_module.prepare(tmp_path, size=32, registry=reg, progress=False)
    assert (tmp_path / "train2014.zip.part").is_file() and not (tmp_path / "train2014.zip").exists()
    out = coco_module.prepare(tmp_path, size=32, registry=registry(coco_server), progress=False)
    assert coco_server.requests[-2]["range"] is not None, "the next call resumes the partial file"
    assert (out / "captions_train.json").is_file()


def test_archive_without_the_listed_images_is_refused(coco_server, tmp_path):
    coco_server.files["zips/val2014.zip"] = coco_server.files["zips/train2014.zip"]
    with pytest.raises(DownloadError, match=r"val2014\.zip lacks 12 of the 12 images .* delete"):
        coco_module.prepare(tmp_path, size=32, registry=registry(coco_server), progress=False)


def coco_notebook(tmp_path: Path, coco_server: Loopback, monkeypatch, settings: str) -> nbformat.NotebookNode:
    """The solution notebook with USE_COCO = True and ``settings`` under the test profile, COCO from
    the fixture, and a torch cache of its own (no ImageNet weights in it); not yet run."""
    (tmp_path / "manifest.json").write_text(json.dumps(manifest(coco_server.files)))
    for name, value in {"RNNLAB_PROFILE": "test", "MPLBACKEND": "Agg", "TORCH_HOME": str(tmp_path / "torch"),
                        "RNNLAB_COCO_URL": f"{coco_server.base}/good",
                        "RNNLAB_COCO_MANIFEST": str(tmp_path / "manifest.json")}.items():
        monkeypatch.setenv(name, value)  # the kernel inherits them
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("RNNLAB_ALLOW_DOWNLOAD", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    switch = next(i for i, cell in enumerate(nb.cells) if cell.source.startswith("USE_COCO = False"))
    nb.cells.insert(switch + 1, nbformat.v4.new_code_cell(
        f"USE_COCO = True\nCOCO_DIR = Path({str(tmp_path / 'coco')!r})\n{settings}"))
    return nb


def execute(nb: nbformat.NotebookNode, tmp_path: Path) -> Path:
    """Run the notebook in a copy of its folder; the folder."""
    work = tmp_path / NOTEBOOK.parent.name
    shutil.copytree(NOTEBOOK.parent, work)
    NotebookClient(nb, timeout=60, kernel_name="python3",
                   resources={"metadata": {"path": str(work)}}).execute()
    return work


def stdout(nb: nbformat.NotebookNode) -> str:
    return "\n".join(output.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                     for output in cell.get("outputs", []) if output.get("name") == "stdout")


def test_notebook_coco_path_runs_end_to_end_and_resumes(coco_server, tmp_path, monkeypatch):
    """COCO_FROM_SCRATCH trains a random ResNet; the run is sized to the shapes run's images and says
    so; a run resumed from the first epoch's checkpoint takes the same steps as the whole run."""
    nb = coco_notebook(tmp_path, coco_server, monkeypatch, "COCO_FROM_SCRATCH = True")
    sources = [cell.source for cell in nb.cells]
    models = next(s for s in sources if s.startswith("torch.manual_seed(0)\nEMBEDDING_SIZE"))
    training = next(s for s in sources if "def save_checkpoint(" in s)
    nb.cells += [nbformat.v4.new_code_cell(source) for source in (
        "first_run = list(history), list(val_history)\n"
        "(WORK / f'captioner-epoch{EPOCHS}.ckpt').rename(WORK / 'whole-run.ckpt')\nRESUME = True",
        models, training,
        "whole = torch.load(WORK / 'whole-run.ckpt', weights_only=True)\n"
        "resumed = torch.load(WORK / f'captioner-epoch{EPOCHS}.ckpt', weights_only=True)\n"
        "assert (history, val_history) == first_run, (history, val_history, first_run)\n"
        "for part in ('encoder', 'decoder'):\n"
        "    assert all(torch.equal(whole[part][k], resumed[part][k]) for k in whole[part]), part\n"
        "assert resumed['optimizer']['state'].keys() == whole['optimizer']['state'].keys()\n"
        "assert all(torch.equal(whole['optimizer']['state'][k]['exp_avg'], v['exp_avg'])\n"
        "           for k, v in resumed['optimizer']['state'].items())")]
    start = time.perf_counter()
    work = execute(nb, tmp_path)
    elapsed = time.perf_counter() - start
    print(f"lab 05's COCO path under the test profile, with a resumed run: {elapsed:.1f} s")
    text = stdout(nb)

    assert len(coco_server.requests) == 3, "the three archives, each downloaded once"
    vocabulary = json.loads((work / "checkpoints" / "vocabulary.json").read_text())
    words = json.dumps(vocabulary)
    assert '"zebra"' not in words and '"giraffe"' not in words, "words seen under 4 times: <unk>"
    assert '"kite"' in words and '"grey"' in words
    assert "2 seen fewer than 4 times become <unk>" in text
    assert "this data has 16 training images" in text and "2 epochs instead of 3" in text, text
    assert "encoder weights: seeded, backbone trained: True; mixed precision: False" in text, text
    epochs = [line for line in text.splitlines() if line.startswith("epoch ")]
    assert len(epochs) == 3 and all("validation loss" in line for line in epochs), text
    assert "after epoch 1, step 2" in text, "the resumed run starts after the first epoch"
    scores = json.loads((work / "checkpoints" / "scores.json").read_text())
    assert {"test_bleu4", "test_blind_bleu4"} <= set(scores)
    assert not any("accuracy" in key for key in scores), "no semantic accuracy without scenes"
    assert "bleu4" in text and "image-blind: all" not in text
    assert elapsed < 90, f"the COCO path took {elapsed:.0f} s under the test profile"


def test_notebook_coco_path_without_imagenet_weights_stops_and_says_what_to_do(coco_server, tmp_path,
                                                                                 monkeypatch):
    nb = coco_notebook(tmp_path, coco_server, monkeypatch, "")
    with pytest.raises(CellExecutionError) as info:
        execute(nb, tmp_path)
    message = str(info.value)
    assert "FileNotFoundError" in message and "COCO needs the ImageNet weights of resnet18" in message
    assert str(tmp_path / "torch" / "hub" / "checkpoints" / "resnet18-f37072fd.pth") in message
    assert "https://download.pytorch.org/models/resnet18-f37072fd.pth" in message
    assert "COCO_FROM_SCRATCH = True" in message
    assert not coco_server.requests, "it stops before downloading anything"
