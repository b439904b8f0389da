"""rnnlab.datasets.download against a real HTTP server on 127.0.0.1 (no other address is used)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import random
import re
import socket
import threading
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rnnlab.datasets.download import (
    REGISTRY,
    DownloadError,
    RemoteFile,
    coco_registry,
    download,
    fetch_coco_captions,
)

PAYLOAD = random.Random(0).randbytes(200_000)
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()
FAST = {"timeout": 2.0, "chunk_size": 8192, "progress": False}


@dataclass
class Loopback:
    """The test server: the files it serves and a log of the requests it received."""

    base: str
    files: dict[str, bytes]
    requests: list[dict] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def remote(self, mode: str, name: str = "data.bin", *, size: int | None = None,
               sha256: str | None = PAYLOAD_SHA) -> RemoteFile:
        """A RemoteFile for ``name`` served in ``mode``, registered as PAYLOAD unless told."""
        return RemoteFile(name="test", url=f"{self.base}/{mode}/{name}",
                          size=len(PAYLOAD) if size is None else size, sha256=sha256,
                          filename=name, description="test payload")


class _Handler(BaseHTTPRequestHandler):
    """Serves server.files under /<mode>/<name>; the mode decides how it (mis)behaves.

    good       honours Range (206 + Content-Range)
    corrupt    like good but every byte is flipped
    norange    ignores Range, always 200 with the whole file
    wrongrange answers Range with 206 but from byte 0
    truncated  announces the full length, sends half, closes
    stall      announces the full length, sends half, then waits (until the test ends)
    """

    def do_GET(self) -> None:  # noqa: N802 (name fixed by http.server)
        loop: Loopback = self.server.loopback
        loop.requests.append({"path": self.path, "range": self.headers.get("Range")})
        mode, _, name = self.path.lstrip("/").partition("/")
        body = loop.files.get(name)
        if body is None or mode not in {"good", "corrupt", "norange", "wrongrange", "truncated",
                                        "stall"}:
            self.send_error(404)
            return
        if mode == "corrupt":
            body = bytes(b ^ 0xFF for b in body)
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if match and mode in {"good", "corrupt", "wrongrange"}:
            start = int(match.group(1)) if mode != "wrongrange" else 0
            if start >= len(body):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if mode in {"truncated", "stall"}:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            if mode == "stall":
                loop.release.wait(timeout=5)
            return
        self.wfile.write(body[start:])

    def log_message(self, format: str, *args) -> None:  # keep pytest output clean
        pass


def drop_proxies(monkeypatch) -> None:
    """Proxy settings would route loopback requests elsewhere: the tests talk to 127.0.0.1 only."""
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    drop_proxies(monkeypatch)


@contextlib.contextmanager
def serving(files: dict[str, bytes]):
    """A ThreadingHTTPServer on 127.0.0.1 (free port) serving ``files``; yields its Loopback."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.loopback = loop = Loopback(base=f"http://127.0.0.1:{httpd.server_address[1]}", files=files)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def server():
    """PAYLOAD served as data.bin on 127.0.0.1."""
    with serving({"data.bin": PAYLOAD}) as loop:
        yield loop


@pytest.fixture
def closed_port() -> int:
    """A loopback port that nothing listens on (bound to find it free, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_good_download_is_verified_renamed_and_shows_progress(server, tmp_path, capsys):
    path = download(server.remote("good"), tmp_path, timeout=2.0, chunk_size=8192, progress=True)
    assert path == tmp_path / "data.bin"
    assert path.read_bytes() == PAYLOAD
    assert not (tmp_path / "data.bin.part").exists()
    assert [r["range"] for r in server.requests] == [None]
    captured = capsys.readouterr()
    assert "data.bin" in captured.err and "100%" in captured.err  # the tqdm bar
    assert "only the size was checked" not in captured.out


def test_partial_file_is_resumed_with_a_range_request(server, tmp_path):
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD[:70_000])
    path = download(server.remote("good"), tmp_path, **FAST)
    assert server.requests == [{"path": "/good/data.bin", "range": "bytes=70000-"}]
    assert path.read_bytes() == PAYLOAD
    assert not (tmp_path / "data.bin.part").exists()


def test_server_ignoring_range_restarts_from_zero(server, tmp_path, capsys):
    (tmp_path / "data.bin.part").write_bytes(b"\0" * 70_000)  # wrong bytes: appending would fail
    path = download(server.remote("norange"), tmp_path, **FAST)
    assert server.requests[0]["range"] == "bytes=70000-"
    assert path.read_bytes() == PAYLOAD
    assert "does not support resuming" in capsys.readouterr().out


def test_resume_at_the_wrong_place_deletes_the_part(server, tmp_path):
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD[:70_000])
    with pytest.raises(DownloadError, match="resumed at the wrong place"):
        download(server.remote("wrongrange"), tmp_path, **FAST)
    assert not (tmp_path / "data.bin").exists()
    assert not (tmp_path / "data.bin.part").exists()


def test_corrupt_download_names_both_hashes_and_leaves_nothing(server, tmp_path):
    corrupt_sha = hashlib.sha256(bytes(b ^ 0xFF for b in PAYLOAD)).hexdigest()
    with pytest.raises(DownloadError) as info:
        download(server.remote("corrupt"), tmp_path, **FAST)
    message = str(info.value)
    assert f"expected sha256 {PAYLOAD_SHA}, got {corrupt_sha}" in message
    assert "corrupt or changed upstream; it was deleted, run again" in message
    assert list(tmp_path.iterdir()) == []


def test_truncated_transfer_keeps_part_and_next_call_resumes(server, tmp_path):
    with pytest.raises(DownloadError, match="interrupted after 100,000 of 200,000 bytes"):
        download(server.remote("truncated"), tmp_path, **FAST)
    assert not (tmp_path / "data.bin").exists()
    assert (tmp_path / "data.bin.part").read_bytes() == PAYLOAD[:100_000]

    path = download(server.remote("good"), tmp_path, **FAST)
    assert server.requests[-1] == {"path": "/good/data.bin", "range": "bytes=100000-"}
    assert path.read_bytes() == PAYLOAD
    assert not (tmp_path / "data.bin.part").exists()


def test_stalled_transfer_times_out_and_keeps_part(server, tmp_path):
    with pytest.raises(DownloadError, match=r"interrupted after [\d,]+ of 200,000 bytes \(Timeout"):
        download(server.remote("stall"), tmp_path, timeout=0.3, chunk_size=8192, progress=False)
    kept = (tmp_path / "data.bin.part").read_bytes()
    assert 0 < len(kept) <= 100_000 and kept == PAYLOAD[: len(kept)]
    assert not (tmp_path / "data.bin").exists()


def test_http_404_names_the_url_and_status(server, tmp_path):
    remote = server.remote("good", "absent.bin")
    with pytest.raises(DownloadError, match=r"/good/absent\.bin answered HTTP 404"):
        download(remote, tmp_path, **FAST)
    assert list(tmp_path.iterdir()) == []


def test_size_announced_by_server_differs_from_registry(server, tmp_path):
    remote = server.remote("good", size=len(PAYLOAD) + 10)
    with pytest.raises(DownloadError, match="200,000 bytes on the server but the registry expects"):
        download(remote, tmp_path, **FAST)
    assert list(tmp_path.iterdir()) == []


def test_part_longer_than_server_file_gets_416_and_is_deleted(server, tmp_path):
    remote = server.remote("good", size=len(PAYLOAD) + 10)
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD + b"\0\0\0\0\0")
    with pytest.raises(DownloadError, match="HTTP 416 .* partial file was deleted"):
        download(remote, tmp_path, **FAST)
    assert list(tmp_path.iterdir()) == []


def test_no_server_says_no_network_and_how_to_get_the_file(closed_port, tmp_path):
    remote = RemoteFile(name="test", url=f"http://127.0.0.1:{closed_port}/good/data.bin",
                        size=len(PAYLOAD), sha256=PAYLOAD_SHA, filename="data.bin",
                        description="test payload")
    with pytest.raises(DownloadError) as info:
        download(remote, tmp_path, **FAST)
    message = str(info.value)
    assert "no network" in message
    assert f"put it in {tmp_path} as data.bin" in message
    assert "200,000 bytes" in message
    assert not (tmp_path / "data.bin").exists()


def test_existing_complete_file_is_returned_without_any_request(server, tmp_path):
    (tmp_path / "data.bin").write_bytes(PAYLOAD)
    assert download(server.remote("good"), tmp_path, **FAST) == tmp_path / "data.bin"
    assert server.requests == []


def test_complete_part_is_verified_and_renamed_without_any_request(server, tmp_path):
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD)
    assert download(server.remote("good"), tmp_path, **FAST).read_bytes() == PAYLOAD
    assert server.requests == []
    assert not (tmp_path / "data.bin.part").exists()


def test_existing_file_with_wrong_bytes_is_downloaded_again(server, tmp_path, capsys):
    (tmp_path / "data.bin").write_bytes(b"\0" * len(PAYLOAD))  # right size, wrong sha256
    path = download(server.remote("good"), tmp_path, **FAST)
    assert path.read_bytes() == PAYLOAD
    assert len(server.requests) == 1
    assert "does not match the registry" in capsys.readouterr().out


def test_entry_without_sha256_is_size_checked_with_a_notice(server, tmp_path, capsys):
    path = download(server.remote("good", sha256=None), tmp_path, **FAST)
    assert path.read_bytes() == PAYLOAD
    out = capsys.readouterr().out
    assert "data.bin: only the size was checked (200,000 bytes)" in out
    assert len(out.strip().splitlines()) == 1


def test_unknown_name_lists_the_known_names(tmp_path):
    with pytest.raises(ValueError, match="'coco2015' is not a registered file") as info:
        download("coco2015", tmp_path)
    for name in REGISTRY:
        assert name in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_registry_holds_the_coco_2014_files_with_their_published_sizes():
    sizes = {name: remote.size for name, remote in REGISTRY.items()}
    assert sizes == {"coco2014_annotations": 252_907_541, "coco2014_train_images": 13_510_573_713,
                     "coco2014_val_images": 6_645_013_297}
    for name, remote in REGISTRY.items():
        assert remote.name == name
        assert remote.url.startswith("http://images.cocodataset.org/")
        assert remote.url.rsplit("/", 1)[1] == remote.filename


@pytest.mark.parametrize("field_name, value, problem", [
    ("url", "ftp://127.0.0.1/x", "must start with http"),
    ("size", 0, "positive number of bytes"),
    ("sha256", "ABC", "64 lowercase hex digits"),
    ("filename", "../data.bin", "bare file name"),
])
def test_remote_file_rejects_bad_fields(field_name, value, problem):
    fields = {"name": "x", "url": "http://127.0.0.1/x", "size": 1, "sha256": None,
              "filename": "x", "description": "d"}
    with pytest.raises(ValueError, match=problem):
        RemoteFile(**{**fields, field_name: value})


def _annotations_zip(members: dict[str, object]) -> bytes:
    """A small zip shaped like COCO's annotations_trainval2014.zip, members as JSON."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("annotations/", "")
        for name, content in members.items():
            zf.writestr(f"annotations/{name}", json.dumps(content))
    return buffer.getvalue()


def test_fetch_coco_captions_extracts_only_the_caption_files(server, tmp_path):
    train = {"images": [{"id": 1, "file_name": "a.jpg"}],
             "annotations": [{"id": 7, "image_id": 1, "caption": "a red circle"}]}
    val = {"images": [{"id": 2, "file_name": "b.jpg"}],
           "annotations": [{"id": 8, "image_id": 2, "caption": "a blue square"}]}
    blob = _annotations_zip({"captions_train2014.json": train, "captions_val2014.json": val,
                             "instances_train2014.json": {"annotations": []}})
    server.files["annotations_trainval2014.zip"] = blob
    remote = RemoteFile(name="coco2014_annotations",
                        url=f"{server.base}/good/annotations_trainval2014.zip", size=len(blob),
                        sha256=hashlib.sha256(blob).hexdigest(),
                        filename="annotations_trainval2014.zip", description="fake COCO zip")

    folder = fetch_coco_captions(tmp_path, remote=remote, timeout=2.0, progress=False)
    assert folder == tmp_path / "annotations"
    assert sorted(p.name for p in folder.iterdir()) == ["captions_train2014.json",
                                                        "captions_val2014.json"]
    assert json.loads((folder / "captions_train2014.json").read_text()) == train
    assert json.loads((folder / "captions_val2014.json").read_text()) == val

    assert fetch_coco_captions(tmp_path, remote=remote, timeout=2.0, progress=False) == folder
    assert len(server.requests) == 1  # the second call found the zip complete


def test_fetch_coco_captions_rejects_a_zip_without_captions(server, tmp_path):
    blob = _annotations_zip({"captions_train2014.json": {"images": [], "annotations": []}})
    server.files["annotations_trainval2014.zip"] = blob
    remote = RemoteFile(name="coco2014_annotations",
                        url=f"{server.base}/good/annotations_trainval2014.zip", size=len(blob),
                        sha256=None, filename="annotations_trainval2014.zip",
                        description="fake COCO zip")
    with pytest.raises(DownloadError, match="has no captions_val2014.json: is it the COCO 2014"):
        fetch_coco_captions(tmp_path, remote=remote, timeout=2.0, progress=False)
    assert not (tmp_path / "annotations" / "captions_val2014.json").exists()


def test_registry_urls_and_sizes_can_be_pointed_at_a_mirror(tmp_path, monkeypatch):
    from rnnlab.datasets import download

    sizes = {"annotations_trainval2014.zip": 5, "train2014.zip": 7, "val2014.zip": 9}
    (tmp_path / "manifest.json").write_text(json.dumps(
        {name: {"size": size, "sha256": None} for name, size in sizes.items()}))
    monkeypatch.setenv("RNNLAB_COCO_URL", "http://127.0.0.1:9/coco/")
    monkeypatch.setenv("RNNLAB_COCO_MANIFEST", str(tmp_path / "manifest.json"))
    remote = download._resolve("coco2014_val_images")
    assert remote.url == "http://127.0.0.1:9/coco/zips/val2014.zip" and remote.size == 9
    assert download.REGISTRY["coco2014_val_images"].size == 6_645_013_297, "the published sizes stay"
    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(ValueError, match="manifest has no entry for annotations_trainval2014.zip"):
        coco_registry()
    monkeypatch.delenv("RNNLAB_COCO_MANIFEST")
    assert coco_registry()["coco2014_annotations"].size == 252_907_541, "COCO's sizes, mirror's URL"
