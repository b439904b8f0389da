"""`make lab` serves JupyterLab: start it headless on a free loopback port and ask its API."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOKEN = "rnnlab-test-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_make_lab(checkout: Path, wait_s: float, env: dict | None = None) -> tuple[dict, str]:
    """Run `make lab` headless in ``checkout``, wait up to ``wait_s`` for JupyterLab to answer on
    loopback, check its API and page, stop it. Returns the root listing and everything printed."""
    port = _free_port()
    args = (f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} "
            f"--IdentityProvider.token={TOKEN}")
    proc = subprocess.Popen(["make", "--no-print-directory", "lab", f"JUPYTER_ARGS={args}"],
                            cwd=checkout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True, text=True, env=env)
    url = f"http://127.0.0.1:{port}/api/contents?token={TOKEN}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                with opener.open(url, timeout=5) as response:
                    assert response.status == 200
                    listing = json.load(response)
                    break
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, f"JupyterLab did not answer within {wait_s} s"
                time.sleep(1)
        with opener.open(f"http://127.0.0.1:{port}/lab?token={TOKEN}", timeout=10) as response:
            assert response.status == 200 and b"JupyterLab" in response.read()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
    assert f"127.0.0.1:{port}/lab" in output, "the URL to open was not printed"
    return listing, output


def test_make_lab_serves_jupyterlab_on_loopback():
    listing, _ = serve_make_lab(REPO, wait_s=90)
    assert listing["type"] == "directory"
    assert {item["name"] for item in listing["content"]} >= {"00_getting_started"}
