"""COCO captions files (ours or the real captions_train2014.json): read, index, iterate; and the
real COCO 2014 made ready for training (downloaded, resized once, split), see `prepare`."""

from __future__ import annotations

import io
import json
import os
import zipfile
import zlib
from collections import defaultdict
from pathlib import Path

from torch.utils.data import Dataset

REQUIRED_KEYS = ("images", "annotations")


class CocoCaptions:
    """A COCO-format captions file.

    images:      list of image records ({"id", "file_name", ...}; ours add "scene")
    annotations: list of {"id", "image_id", "caption"}
    captions:    dict image_id -> list of caption strings
    image_dir:   folder that file_name is relative to (default: the JSON's folder)
    """

    def __init__(self, path: str | Path, image_dir: str | Path | None = None):
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found: build the embedded data with `make data`, or download COCO "
                "captions with rnnlab.datasets.download (see data/README.md)"
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path} is not valid JSON ({err}): is it a COCO captions file?") from None
        for key in REQUIRED_KEYS:
            if key not in data:
                raise ValueError(
                    f"{path.name} has no {key!r} key: is this a COCO captions file? "
                    "See data/README.md"
                )
        for ann in data["annotations"][:1]:
            missing = {"image_id", "caption"} - set(ann)
            if missing:
                raise ValueError(f"{path.name}: annotations lack {sorted(missing)}: not COCO captions")
        self.path = path
        self.image_dir = Path(image_dir) if image_dir is not None else path.parent
        self.images = data["images"]
        self.annotations = data["annotations"]
        self.image_by_id = {img["id"]: img for img in self.images}
        captions = defaultdict(list)
        for ann in self.annotations:
            captions[ann["image_id"]].append(ann["caption"])
        self.captions = dict(captions)

    def image_path(self, image_id: int) -> Path:
        """The file of an image."""
        if image_id not in self.image_by_id:
            raise KeyError(f"image id {image_id} is not in {self.path.name}")
        return self.image_dir / self.image_by_id[image_id]["file_name"]

    def all_captions(self) -> list[str]:
        """Every caption string, in annotation order."""
        return [ann["caption"] for ann in self.annotations]

    def pairs(self) -> list[tuple[int, str]]:
        """(image_id, caption) for every annotation."""
        return [(ann["image_id"], ann["caption"]) for ann in self.annotations]


class CaptionPairs(Dataset):
    """A torch Dataset of (image_id, caption string), one item per annotation."""

    def __init__(self, captions: CocoCaptions):
        self.items = captions.pairs()

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[int, str]:
        return self.items[index]


COCO_SPLITS = ("train2014", "val2014")
IMAGE_ZIPS = {"train2014": "coco2014_train_images", "val2014": "coco2014_val_images"}


def prepare(root: str | Path, size: int = 256, *, val_images: int = 5000,
            registry: dict | None = None, progress: bool = True) -> Path:
    """Download COCO 2014 (captions and images), resize every image once, write our three splits.

    root:       folder for the downloads (kept, so a later call needs no network) and the results
    size:       every image is resized to size x size pixels (the classic recipe squashes, it does
                not keep the aspect ratio; training then takes random crops of it)
    val_images: how many val2014 images (those with the smallest ids, at most half) form our
                validation split; the other val2014 images are our test split (COCO's own test
                images have no public captions)
    registry:   the RemoteFiles to fetch (default download.coco_registry(): COCO's server, or the
                mirror named by RNNLAB_COCO_URL)
    returns:    root / f"resized{size}", holding train2014/ and val2014/ JPEGs and
                captions_{train,val,test}.json in COCO's format, file_name relative to it

    Every step is done once: a finished folder of resized images is marked complete and skipped, an
    interrupted download or resizing resumes where it stopped. A damaged archive raises
    DownloadError saying which file to delete.
    """
    from rnnlab.datasets import download

    root, registry = Path(root), registry or download.coco_registry()
    out = root / f"resized{size}"
    done = [(out / f"captions_{split}.json").is_file() for split in ("train", "val", "test")]
    if all(done) and all((out / split / ".complete").is_file() for split in COCO_SPLITS):
        return out
    captions = root / "annotations"
    if not all((captions / name).is_file() for name in download.COCO_CAPTION_FILES):
        captions = download.fetch_coco_captions(root, remote=registry["coco2014_annotations"],
                                                progress=progress)
    records = {}
    for split in COCO_SPLITS:
        coco = CocoCaptions(captions / f"captions_{split}.json")
        records[split] = coco
        if not (out / split / ".complete").is_file():
            archive = download.download(registry[IMAGE_ZIPS[split]], root, progress=progress)
            resize_archive(archive, out / split, size,
                           [image["file_name"] for image in coco.images], progress=progress)
    val = sorted(records["val2014"].images, key=lambda image: image["id"])
    cut = min(val_images, len(val) // 2)
    parts = {"train": ("train2014", records["train2014"].images),
             "val": ("val2014", val[:cut]), "test": ("val2014", val[cut:])}
    for split, (folder, images) in parts.items():
        _write_split(out / f"captions_{split}.json", records[folder], images, folder)
    return out


def resize_archive(archive: str | Path, target_dir: str | Path, size: int, names: list[str],
                   progress: bool = True) -> int:
    """Resize the JPEGs called `names` in a zip archive (any folder inside it) into target_dir.

    archive:    a zip such as COCO's train2014.zip (train2014/COCO_train2014_....jpg)
    target_dir: where the resized images go, under their own names; a file '.complete' is written
                there once every image is done
    size:       output images are size x size RGB JPEGs
    names:      the file names the captions file lists; every one must be in the archive
    returns:    how many images were resized by this call (those already there are skipped)
    """
    from PIL import Image, UnidentifiedImageError
    from tqdm.auto import tqdm

    from rnnlab.datasets.download import DownloadError

    archive, target_dir = Path(archive), Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    what_to_do = f"delete {archive} and run again (it will be downloaded again)"
    resized = 0
    try:
        with zipfile.ZipFile(archive) as zf:
            members = {Path(m.filename).name: m for m in zf.infolist() if not m.is_dir()}
            absent = [name for name in names if Path(name).name not in members]
            if absent:
                raise DownloadError(f"{archive} lacks {len(absent)} of the {len(names)} images its "
                                    f"captions file lists (e.g. {absent[0]}): is it the right "
                                    f"archive? {what_to_do}")
            todo = [name for name in names if not (target_dir / Path(name).name).is_file()]
            for name in tqdm(todo, desc=f"resizing {archive.name}", disable=not progress):
                member = members[Path(name).name]
                try:
                    with zf.open(member) as src:
                        image = Image.open(io.BytesIO(src.read())).convert("RGB")
                except (UnidentifiedImageError, OSError) as err:
                    raise DownloadError(f"{member.filename} in {archive} is not a readable image "
                                        f"({err}): {what_to_do}") from None
                tmp = target_dir / (Path(name).name + ".part")
                image.resize((size, size), Image.LANCZOS).save(tmp, format="JPEG", quality=90)
                os.replace(tmp, target_dir / Path(name).name)
                resized += 1
    except (zipfile.BadZipFile, zlib.error, EOFError) as err:
        raise DownloadError(f"{archive} is damaged ({err}); the images resized so far are kept: "
                            f"{what_to_do}") from None
    (target_dir / ".complete").write_text(f"{len(names)} images at {size}x{size}\n")
    return resized


def _write_split(path: Path, coco: CocoCaptions, images: list[dict], folder: str) -> None:
    """A COCO captions file of `images` (their captions only), file_name prefixed with folder/."""
    ids = {image["id"] for image in images}
    data = {"images": [{**image, "file_name": f"{folder}/{Path(image['file_name']).name}"}
                       for image in images],
            "annotations": [ann for ann in coco.annotations if ann["image_id"] in ids]}
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)
