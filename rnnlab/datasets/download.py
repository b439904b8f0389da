"""Checksummed, resumable downloads of the full datasets (COCO 2014) behind the embedded ones.

Nothing in the course calls these functions on its own: a download happens only when a user asks.
Every file is checked against the size in the registry, and its sha256 is verified whenever the
registry has one. An entry with ``sha256=None`` is size-checked only, and a one-line notice says so.
A file reaches its final name only after those checks pass; until then it is ``<filename>.part``.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

COCO_CAPTION_FILES = ("captions_train2014.json", "captions_val2014.json")


class DownloadError(RuntimeError):
    """A download that could not finish; the message says what happened and what to do next."""


@dataclass(frozen=True)
class RemoteFile:
    """A file on a web server, what it must look like, and the name it gets on disk.

    name:        registry key, e.g. 'coco2014_annotations'
    url:         http(s) address of the file
    size:        exact size in bytes
    sha256:      lowercase hex digest, or None when unknown (then only the size is checked)
    filename:    the file's name inside the destination folder (a bare name, no folders)
    description: one line saying what the file holds
    """

    name: str
    url: str
    size: int
    sha256: str | None
    filename: str
    description: str

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"RemoteFile {self.name!r}: url must start with http:// or https://, "
                             f"got {self.url!r}")
        if self.size <= 0:
            raise ValueError(f"RemoteFile {self.name!r}: size must be a positive number of bytes, "
                             f"got {self.size}")
        if self.sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", self.sha256):
            raise ValueError(f"RemoteFile {self.name!r}: sha256 must be 64 lowercase hex digits "
                             f"or None, got {self.sha256!r}")
        if self.filename in ("", ".", "..") or Path(self.filename).name != self.filename:
            raise ValueError(f"RemoteFile {self.name!r}: filename must be a bare file name "
                             f"without folders, got {self.filename!r}")


COCO_BASE_URL = "http://images.cocodataset.org"
# name -> (path under the base URL, size published by the COCO project, description). Their sha256
# digests are not published with the files and have not been measured here: size-checked only.
COCO_FILES = {
    "coco2014_annotations": ("annotations/annotations_trainval2014.zip", 252_907_541,
                             "COCO 2014 train+val annotations: captions, instances, person keypoints"),
    "coco2014_train_images": ("zips/train2014.zip", 13_510_573_713,
                              "COCO 2014 training images (82,783 JPEGs)"),
    "coco2014_val_images": ("zips/val2014.zip", 6_645_013_297,
                            "COCO 2014 validation images (40,504 JPEGs)"),
}


def coco_registry(base_url: str | None = None,
                  manifest: str | os.PathLike | dict | None = None) -> dict[str, RemoteFile]:
    """The COCO 2014 files as RemoteFiles, from the COCO project or from a mirror.

    base_url: where the files are (the same paths as on COCO's server, e.g.
              <base_url>/zips/val2014.zip); default: the environment variable RNNLAB_COCO_URL,
              else COCO's own server
    manifest: {filename: {"size": int, "sha256": str or None}} (or a JSON file holding it) for a
              mirror whose files differ from COCO's (a subset, a test fixture); default: the JSON
              file named by RNNLAB_COCO_MANIFEST, else the sizes COCO publishes
    returns:  {name: RemoteFile} with the keys of COCO_FILES
    """
    base_url = (base_url or os.environ.get("RNNLAB_COCO_URL") or COCO_BASE_URL).rstrip("/")
    if manifest is None and os.environ.get("RNNLAB_COCO_MANIFEST"):
        manifest = os.environ["RNNLAB_COCO_MANIFEST"]
    if manifest is not None and not isinstance(manifest, dict):
        try:
            manifest = json.loads(Path(manifest).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"cannot read the COCO manifest {manifest} ({err}): it must be a JSON "
                             "file {filename: {'size': bytes, 'sha256': hex or null}}") from None
    registry = {}
    for name, (path, size, description) in COCO_FILES.items():
        filename, sha256 = Path(path).name, None
        if manifest is not None:
            if filename not in manifest:
                raise ValueError(f"the COCO manifest has no entry for {filename}")
            size, sha256 = int(manifest[filename]["size"]), manifest[filename].get("sha256")
        registry[name] = RemoteFile(name=name, url=f"{base_url}/{path}", size=size, sha256=sha256,
                                    filename=filename, description=description)
    return registry


# The files as published by the COCO project (RNNLAB_COCO_URL and RNNLAB_COCO_MANIFEST are read
# when a file is asked for by name, see coco_registry).
REGISTRY: dict[str, RemoteFile] = {
    name: RemoteFile(name=name, url=f"{COCO_BASE_URL}/{path}", size=size, sha256=None,
                     filename=Path(path).name, description=description)
    for name, (path, size, description) in COCO_FILES.items()
}


def download(
    name_or_remote: str | RemoteFile,
    dest_dir: str | os.PathLike,
    *,
    timeout: float = 30.0,
    chunk_size: int = 1 << 20,
    progress: bool = True,
) -> Path:
    """Download a registered file into ``dest_dir``, resuming and verifying it; return its path.

    name_or_remote: a key of REGISTRY (e.g. 'coco2014_annotations') or a RemoteFile
    dest_dir:       folder for the file (created if missing)
    timeout:        seconds to wait for the server to connect or to send the next bytes
    chunk_size:     bytes read per step
    progress:       show a tqdm progress bar
    returns:        dest_dir / remote.filename, complete and checked

    The bytes go to ``<filename>.part``; an existing ``.part`` is resumed with an HTTP Range request
    (from zero if the server ignores it). The size is always checked and the sha256 whenever the
    registry has one; only then is the ``.part`` renamed to its final name. A final file that is
    already complete is returned without any network access.
    Raises DownloadError when the transfer fails or the bytes are wrong, ValueError for an
    unknown name.
    """
    remote = _resolve(name_or_remote)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1 byte, got {chunk_size}")
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    final = dest / remote.filename
    if final.is_file():
        if _matches(final, remote):
            _notice_if_size_only(remote)
            return final
        print(f"{final} does not match the registry (size or sha256): downloading it again")
    part = dest / (remote.filename + ".part")
    _fetch_into(remote, part, timeout=timeout, chunk_size=chunk_size, progress=progress)
    _verify(remote, part)
    os.replace(part, final)
    return final


def fetch_coco_captions(
    dest_dir: str | os.PathLike,
    *,
    remote: RemoteFile | None = None,
    timeout: float = 30.0,
    progress: bool = True,
) -> Path:
    """Download the COCO 2014 annotations zip and extract the two caption files from it.

    dest_dir: folder for the zip; the captions go to dest_dir / 'annotations'
    remote:   the zip to fetch (default: coco_registry()['coco2014_annotations'])
    returns:  the folder holding captions_train2014.json and captions_val2014.json

    Only the caption files are extracted (the zip also holds instances and keypoints). Files that
    are already extracted are kept as they are. Raises DownloadError as ``download`` does, and when
    the zip is not a zip or lacks a caption file.
    """
    archive = download(remote or coco_registry()["coco2014_annotations"], dest_dir,
                       timeout=timeout, progress=progress)
    folder = Path(dest_dir) / "annotations"
    missing = [name for name in COCO_CAPTION_FILES if not (folder / name).is_file()]
    if missing:
        folder.mkdir(exist_ok=True)
        _extract(archive, missing, folder)
    return folder


def _resolve(name_or_remote: str | RemoteFile) -> RemoteFile:
    """The RemoteFile for a registry key, or the RemoteFile itself."""
    if isinstance(name_or_remote, RemoteFile):
        return name_or_remote
    if name_or_remote not in REGISTRY:
        raise ValueError(f"{name_or_remote!r} is not a registered file: use one of "
                         f"{', '.join(sorted(REGISTRY))} or pass a RemoteFile")
    return coco_registry()[name_or_remote]  # honours RNNLAB_COCO_URL and RNNLAB_COCO_MANIFEST


def _fetch_into(remote: RemoteFile, part: Path, *, timeout: float, chunk_size: int,
                progress: bool) -> None:
    """Bring ``part`` up to ``remote.size`` bytes, resuming what is there; keep it if cut short."""
    offset = part.stat().st_size if part.is_file() else 0
    if offset > remote.size:
        part.unlink()
        offset = 0
    if offset == remote.size:
        return
    with _open(remote, part, offset, timeout) as response:
        offset = _start_offset(remote, part, offset, response)
        received, cause = offset, "the server closed the connection"
        with open(part, "ab" if offset else "wb") as out, tqdm(
            total=remote.size, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
            desc=remote.filename, disable=not progress,
        ) as bar:
            try:
                while received <= remote.size and (chunk := response.read(chunk_size)):
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            except (OSError, http.client.HTTPException) as err:  # timeout, reset, short read
                cause = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
            out.flush()
            os.fsync(out.fileno())
    if received < remote.size:
        raise DownloadError(
            f"the download of {remote.url} was interrupted after {received:,} of "
            f"{remote.size:,} bytes ({cause}); the partial file {part} was kept and the next "
            f"call will resume from there: run again"
        )


def _open(remote: RemoteFile, part: Path, offset: int,
          timeout: float) -> http.client.HTTPResponse:
    """Send the GET (with a Range header when resuming); turn failures into DownloadError."""
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    request = urllib.request.Request(remote.url, headers=headers)
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        err.close()
        if err.code == 416:  # the server's file is shorter than what we already have
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"{remote.url} answered HTTP 416 {err.reason} when resuming at byte {offset:,}: "
                f"the file changed upstream; the partial file was deleted, run again"
            ) from err
        raise DownloadError(
            f"{remote.url} answered HTTP {err.code} {err.reason}: the file is not available "
            f"there (moved or removed?); check the address in the registry"
        ) from err
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise DownloadError(
            f"cannot reach {remote.url} ({reason}): there is no network (or the server is down). "
            f"To get the file by hand, download {remote.url} ({remote.size:,} bytes) on a machine "
            f"with network and put it in {part.parent} as {remote.filename}, then run again"
        ) from err


def _start_offset(remote: RemoteFile, part: Path, offset: int,
                  response: http.client.HTTPResponse) -> int:
    """Where the response body starts in the file; checks the length the server announces."""
    if response.status == 206:
        match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
        if match is None or int(match.group(1)) != offset:
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"{remote.url} resumed at the wrong place (asked for byte {offset:,}, got "
                f"Content-Range {response.headers.get('Content-Range')!r}); the partial file was "
                f"deleted, run again"
            )
    elif offset:
        print(f"{remote.url} does not support resuming: downloading {remote.filename} again")
        offset = 0
    length = response.headers.get("Content-Length")
    if length is not None and offset + int(length) != remote.size:
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"{remote.url} is {offset + int(length):,} bytes on the server but the registry "
            f"expects {remote.size:,}: the file changed upstream (or the registry is out of date); "
            f"nothing was kept"
        )
    return offset


def _verify(remote: RemoteFile, part: Path) -> None:
    """Check the finished ``part`` against the registry; delete it and raise if it is wrong."""
    size = part.stat().st_size
    if size != remote.size:
        part.unlink()
        raise DownloadError(
            f"{remote.filename}: expected {remote.size:,} bytes, got {size:,}: the file changed "
            f"upstream; it was deleted, run again"
        )
    if remote.sha256 is not None:
        actual = _sha256(part)
        if actual != remote.sha256:
            part.unlink()
            raise DownloadError(
                f"{remote.filename}: expected sha256 {remote.sha256}, got {actual}: the file is "
                f"corrupt or changed upstream; it was deleted, run again"
            )
    _notice_if_size_only(remote)


def _matches(path: Path, remote: RemoteFile) -> bool:
    """True when ``path`` has the registered size and (when known) sha256."""
    if path.stat().st_size != remote.size:
        return False
    return remote.sha256 is None or _sha256(path) == remote.sha256


def _sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _notice_if_size_only(remote: RemoteFile) -> None:
    """One line saying the content was not verified, for registry entries without a sha256."""
    if remote.sha256 is None:
        print(f"{remote.filename}: only the size was checked ({remote.size:,} bytes); "
              f"the registry has no sha256 for it")


def _extract(archive: Path, names: list[str], folder: Path) -> None:
    """Copy the members of ``archive`` whose base names are ``names`` into ``folder``."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = {Path(m.filename).name: m for m in zf.infolist() if not m.is_dir()}
            absent = [name for name in names if name not in members]
            if absent:
                raise DownloadError(
                    f"{archive} has no {', '.join(absent)}: is it the COCO 2014 annotations zip? "
                    f"Delete it and run again"
                )
            for name in names:
                tmp = folder / (name + ".part")
                with zf.open(members[name]) as src, open(tmp, "wb") as dst:
                    while block := src.read(1 << 20):
                        dst.write(block)
                os.replace(tmp, folder / name)
    except zipfile.BadZipFile as err:
        raise DownloadError(f"{archive} is not a valid zip file ({err}): delete it and run "
                            f"again") from err
