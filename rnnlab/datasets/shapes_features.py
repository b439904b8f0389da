"""Image features and encoded captions of the shapes scenes, for the NumPy captioning lab.

``build`` turns every shapes image into a 512-number feature vector: the image is averaged down to
32x32 pixels and projected on the first 512 principal components of the training images (a PCA,
fitted once on a seeded sample of them). Features are centred and scaled so that, over the
training images, the squared norm averages 512 (one unit of variance per dimension).
Captions are tokenized, wrapped in <START> ... <END>, padded with <NULL> and encoded with a
vocabulary built from the training captions.

Layout under ``<data_root>/shapes_features/``:
  features_{split}.npy     float32 (N_images, 512), row i is image i of the shapes split
  captions_{split}.npy     int32 (N_captions, T) word ids, <NULL>-padded
  image_idxs_{split}.npy   int32 (N_captions,) the image of each caption
  vocab.json               the words in id order (idx_to_word)
  meta.json                format version, feature size, caption length, the sample used
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from rnnlab.datasets import shapes
from rnnlab.runtime import data_root
from rnnlab.text import Vocabulary, tokenize

NULL, START, END, UNK = "<NULL>", "<START>", "<END>", "<UNK>"
SPECIALS = (NULL, START, END, UNK)
FEATURE_DIM = 512
PCA_SAMPLE = 1536
FORMAT_VERSION = 1
SPLITS = tuple(shapes.SPLIT_SIZES)


def default_dir() -> Path:
    """<data_root>/shapes_features, where ``build`` writes and ``load`` reads by default."""
    return data_root() / "shapes_features"


def downsample(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 64, 64, 3) -> float32 (N, 3072): 2x2 average pooling to 32x32, scaled to [0, 1]."""
    if images.ndim != 4 or images.shape[1:] != (64, 64, 3):
        raise ValueError(f"expected shapes images of shape (N, 64, 64, 3), got {images.shape}")
    n = len(images)
    pooled = images.reshape(n, 32, 2, 32, 2, 3).sum(axis=(2, 4), dtype=np.uint16)
    return pooled.reshape(n, -1).astype(np.float32) * np.float32(1 / (4 * 255))


def fit_pca(pixels: np.ndarray, dim: int = FEATURE_DIM, sample: int = PCA_SAMPLE,
            seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Principal components of a seeded sample of rows, from the eigenvectors of its Gram matrix.

    pixels: (N, P) float32 with N >= dim
    returns: (mean: (P,), components: (P, dim)) with orthonormal columns, largest variance first,
             each column's sign fixed so that its largest entry is positive (repeatable output)
    """
    if len(pixels) < dim:
        raise ValueError(f"a PCA to {dim} dimensions needs at least {dim} images, got {len(pixels)}")
    mean = pixels.mean(axis=0)
    rows = np.random.default_rng(seed).choice(len(pixels), size=min(sample, len(pixels)),
                                              replace=False)
    centred = pixels[np.sort(rows)] - mean
    # Multi-threaded LAPACK is very slow on a shared 2-core machine; one thread is fast and exact.
    with threadpool_limits(limits=1):
        eigenvalues, vectors = np.linalg.eigh((centred @ centred.T).astype(np.float64))
    order = np.argsort(eigenvalues)[::-1][:dim]
    components = centred.T @ vectors[:, order].astype(np.float32)
    components /= np.linalg.norm(components, axis=0, keepdims=True)
    signs = np.sign(components[np.abs(components).argmax(axis=0), np.arange(dim)])
    return mean, components * signs


def encode_captions(captions: list[list[str]], vocab: Vocabulary, length: int) -> np.ndarray:
    """Tokenized captions -> int32 (len(captions), length): <START> words <END>, <NULL> padding.

    Words the vocabulary lacks become <UNK>; a caption longer than length - 2 words is an error.
    """
    if vocab.unk_token is None or any(s not in vocab for s in (NULL, START, END)):
        raise ValueError(f"the vocabulary needs the special tokens {SPECIALS}: build it with "
                         f"specials=SPECIALS, unk_token=UNK")
    out = np.full((len(captions), length), vocab[NULL], dtype=np.int32)
    for row, words in enumerate(captions):
        if isinstance(words, str):
            raise TypeError("encode_captions takes tokenized captions (lists of words): "
                            "use rnnlab.text.tokenize on each caption first")
        ids = [vocab[START], *vocab.encode(words), vocab[END]]
        if len(ids) > length:
            raise ValueError(f"caption {' '.join(words)!r} has {len(ids) - 2} words: "
                             f"at most {length - 2} fit in length {length}")
        out[row, : len(ids)] = ids
    return out


def build(out_dir: str | Path | None = None, shapes_dir: str | Path | None = None,
          feature_dim: int = FEATURE_DIM) -> Path:
    """Write features, encoded captions and the vocabulary for every shapes split.

    shapes_dir:  the shapes data to read (built there first if missing; default its usual folder)
    feature_dim: the number of principal components kept (at most the number of training images)
    Skips the work when meta.json says it is done for this format version. returns: the folder.
    """
    out = Path(out_dir) if out_dir is not None else default_dir()
    if _is_built(out):
        return out
    source = shapes.ensure_built(shapes_dir)
    splits = {split: shapes.load(split, source) for split in SPLITS}
    tokens = {s: [tokenize(a["caption"]) for a in coco["annotations"]]
              for s, (coco, _) in splits.items()}
    vocab = Vocabulary.build(tokens["train"], specials=SPECIALS, unk_token=UNK)
    length = max(len(t) for split in tokens.values() for t in split) + 2
    train_pixels = downsample(splits["train"][1])
    mean, components = fit_pca(train_pixels, dim=feature_dim)
    scale = np.sqrt(feature_dim / np.sum(((train_pixels - mean) @ components).var(axis=0)))
    out.mkdir(parents=True, exist_ok=True)
    for split, (coco, images) in splits.items():
        features = (downsample(images) - mean) @ components * np.float32(scale)
        index_of = {record["id"]: i for i, record in enumerate(coco["images"])}
        idxs = [index_of[a["image_id"]] for a in coco["annotations"]]
        np.save(out / f"features_{split}.npy", features.astype(np.float32))
        np.save(out / f"captions_{split}.npy", encode_captions(tokens[split], vocab, length))
        np.save(out / f"image_idxs_{split}.npy", np.asarray(idxs, dtype=np.int32))
    (out / "vocab.json").write_text(json.dumps(vocab.itos), encoding="utf-8")
    meta = {"version": FORMAT_VERSION, "feature_dim": feature_dim, "caption_length": length,
            "pca_sample": PCA_SAMPLE, "shapes_dir": str(Path(source).resolve())}
    (out / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return out


def _is_built(out: Path) -> bool:
    meta = out / "meta.json"
    if not meta.is_file():
        return False
    return json.loads(meta.read_text(encoding="utf-8")).get("version") == FORMAT_VERSION


def ensure_built(out_dir: str | Path | None = None) -> Path:
    """Build the features (and the shapes data first) if missing; returns their folder."""
    out = Path(out_dir) if out_dir is not None else default_dir()
    if not _is_built(out):
        print(f"rnnlab: computing the shapes image features in {out}")
        build(out)
    return out


def load(max_train: int | None = None, splits: tuple[str, ...] = ("train", "val"),
         root: str | Path | None = None, seed: int = 0) -> dict:
    """The captioning data as one dict of arrays.

    For each split s: s_captions (C, T) int32, s_image_idxs (C,) int32, s_features (N, D) float32
    (D = 512 unless built otherwise), s_image_paths (N,) str (the PNG of each image) and
    s_scenes (list of N scene dicts).
    Also idx_to_word (list of V words) and word_to_idx (dict).
    max_train: keep this many training captions, drawn without replacement with ``seed``.
    """
    folder = Path(root) if root is not None else default_dir()
    unknown = set(splits) - set(SPLITS)
    if unknown:
        raise ValueError(f"unknown split(s) {sorted(unknown)}: use some of {list(SPLITS)}")
    if not _is_built(folder):
        raise FileNotFoundError(
            f"no shapes features in {folder}: build them with `make data` "
            "(or rnnlab.datasets.shapes_features.ensure_built())")
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    idx_to_word = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    data: dict = {"idx_to_word": idx_to_word,
                  "word_to_idx": {w: i for i, w in enumerate(idx_to_word)}}
    for split in splits:
        coco = json.loads((Path(meta["shapes_dir"]) / f"captions_{split}.json").read_text("utf-8"))
        data[f"{split}_captions"] = np.load(folder / f"captions_{split}.npy")
        data[f"{split}_image_idxs"] = np.load(folder / f"image_idxs_{split}.npy")
        data[f"{split}_features"] = np.load(folder / f"features_{split}.npy")
        data[f"{split}_image_paths"] = np.array(
            [str(Path(meta["shapes_dir"]) / r["file_name"]) for r in coco["images"]])
        data[f"{split}_scenes"] = [r["scene"] for r in coco["images"]]
    if max_train is not None and "train" in splits:
        count = len(data["train_captions"])
        if not 1 <= max_train <= count:
            raise ValueError(f"max_train must be between 1 and {count}, got {max_train}")
        keep = np.random.default_rng(seed).choice(count, size=max_train, replace=False)
        data["train_captions"] = data["train_captions"][keep]
        data["train_image_idxs"] = data["train_image_idxs"][keep]
    return data


def decode_captions(captions: np.ndarray, idx_to_word: list[str]) -> list[str] | str:
    """Word ids -> text, stopping at <END> and leaving out <NULL> and <START>.

    captions: (T,) -> one string; (N, T) -> list of N strings
    """
    captions = np.asarray(captions)
    if captions.ndim not in (1, 2):
        raise ValueError(f"captions must be (T,) or (N, T) word ids, got shape {captions.shape}")
    if captions.size and (captions.min() < 0 or captions.max() >= len(idx_to_word)):
        raise ValueError(f"word ids must lie in [0, {len(idx_to_word)}), the vocabulary size")
    rows = captions[None] if captions.ndim == 1 else captions
    texts = []
    for row in rows:
        words = []
        for i in row:
            word = idx_to_word[int(i)]
            if word == END:
                break
            if word not in (NULL, START):
                words.append(word)
        texts.append(" ".join(words))
    return texts[0] if captions.ndim == 1 else texts
