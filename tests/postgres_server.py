"""A throw-away PostgreSQL server for tests: its own data folder, trust login on 127.0.0.1 only,
a free port; run as the `postgres` system user when the tests run as root (PostgreSQL refuses
root). Needs the server binaries (Debian: the postgresql package; `make setup` installs it)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest


def server_bin() -> Path | None:
    """The folder of initdb and pg_ctl, or None when PostgreSQL's server is not installed."""
    found = shutil.which("initdb") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))), None)
    return Path(found).resolve().parent if found else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def postgres():
    """Yields the URL of an empty database `gradebook` on a fresh server in a temporary folder of
    its own (under /tmp: pytest's folders are closed to the `postgres` user); removes it after."""
    bindir = server_bin()
    if bindir is None:
        pytest.skip("PostgreSQL's server (initdb, pg_ctl) is not installed: `make setup` installs it "
                    "as root on Debian/Ubuntu (apt-get install postgresql)")
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="gradebook-pg-"))
    if as_user:
        shutil.chown(folder, "postgres")
    data, port = folder / "data", free_port()

    def run(*args: str) -> None:
        done = subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{args[0]} failed:\n{done.stdout}{done.stderr}"

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "grader", "--auth=trust", "--no-sync")
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w", "-o",
            f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off", "start")
        try:
            run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "grader", "gradebook")
            yield f"postgresql://grader@127.0.0.1:{port}/gradebook"
        finally:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
