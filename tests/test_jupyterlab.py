"""`make lab` serves JupyterLab: start it headless on a free loopback port and ask its API."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOKEN = "rnnlab-test-token"
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Lab:
    """A JupyterLab that `make lab` started: its address, its root listing and, once stopped,
    everything it printed."""
    url: str
    token: str = TOKEN
    listing: dict | None = None
    output: str = ""

    def get(self, path: str, timeout: float = 10) -> tuple[int, bytes]:
        """GET ``path`` on loopback with the token: the status and the body."""
        separator = "&" if "?" in path else "?"
        request = f"{self.url}{path}{separator}token={self.token}"
        try:
            with OPENER.open(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()


@contextmanager
def make_lab(checkout: Path, wait_s: float, env: dict | None = None, make_options: tuple = ()):
    """Run `make lab` headless in ``checkout`` (``make_options`` before the target), wait up to
    ``wait_s`` for JupyterLab to answer on loopback, check its API and page; yield a Lab, stop it."""
    port = _free_port()
    args = (f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} "
            f"--IdentityProvider.token={TOKEN}")
    proc = subprocess.Popen(["make", "--no-print-directory", *make_options, "lab", f"JUPYTER_ARGS={args}"],
                            cwd=checkout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True, text=True, env=env)
    lab = Lab(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + wait_s
        while lab.listing is None:
            try:
                status, body = lab.get("/api/contents", timeout=5)
                assert status == 200, (status, body)
                lab.listing = json.loads(body)
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, f"JupyterLab did not answer within {wait_s} s"
                time.sleep(1)
        status, page = lab.get("/lab")
        assert status == 200 and b"JupyterLab" in page
        yield lab
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        lab.output = proc.communicate(timeout=30)[0]
    assert f"127.0.0.1:{port}/lab" in lab.output, "the URL to open was not printed"


def serve_make_lab(checkout: Path, wait_s: float, env: dict | None = None) -> tuple[dict, str]:
    """`make lab` in ``checkout``, started, checked and stopped: the root listing and its output."""
    with make_lab(checkout, wait_s, env) as lab:
        pass
    return lab.listing, lab.output


def test_make_lab_serves_jupyterlab_on_loopback():
    listing, _ = serve_make_lab(REPO, wait_s=90)
    assert listing["type"] == "directory"
    assert {item["name"] for item in listing["content"]} >= {"00_getting_started"}
