"""COCO captions files (ours or the real captions_train2014.json): read, index, iterate."""

from __future__ import annotations

import json
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
