"""The sandbox around student kernels: real bubblewrap, namespaces and rlimits, no nbgrader."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from traitlets.config import Config

from grader import sandbox
from grader.course import GRADING_DEFAULTS

UID = sandbox.SANDBOX_UID_BASE - 50  # below the ids grading runs use
HAS_BWRAP = sandbox.available_mode() == "bwrap"
needs_bwrap = pytest.mark.skipif(
    not HAS_BWRAP, reason="bubblewrap is not usable here; the degraded modes are tested below"
)


@pytest.fixture
def course(tmp_path):
    """A course root with a secret solution and a gradebook the sandbox must not reach."""
    root = tmp_path / "course"
    (root / "solutions" / "00_lab").mkdir(parents=True)
    (root / "solutions" / "00_lab" / "secret.ipynb").write_text("hidden tests")
    (root / "course_work").mkdir()
    (root / "course_work" / "gradebook.db").write_text("grades")
    return root


def run_sandboxed(code: str, course: Path, *args: str, mode: str | None = None, judge: bool = False,
                  **limits):
    """Run ``python -c code`` in the sandbox (the kernel's, or with ``judge`` the judge's); its
    working folder is <course>/../work."""
    workdir = course.parent / "work"
    workdir.mkdir(exist_ok=True)
    rundir = tempfile.mkdtemp(prefix="sbx")
    policy = sandbox.default_policy({**GRADING_DEFAULTS, **limits}, UID)
    policy = sandbox.judge_policy(policy) if judge else policy
    if mode:
        policy["mode"] = mode
    if policy["uid"] is not None:
        for folder in (workdir, rundir):
            os.chown(folder, UID, UID)
    cmd = sandbox.wrap_command([sys.executable, "-c", code, *args], str(workdir), rundir, policy)
    env = sandbox.kernel_env(os.environ, "/tmp")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=workdir, env=env)


def free_listener() -> socket.socket:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    return server


def assert_no_connection(server: socket.socket) -> None:
    with pytest.raises(TimeoutError):
        server.accept()


@needs_bwrap
def test_course_files_are_hidden_but_the_package_and_data_are_readable(course):
    code = (
        "import os, rnnlab, rnnlab.runtime as r\n"
        "print('secret', os.path.exists(os.path.join(os.sys.argv[1], 'solutions')))\n"
        "print('gradebook', os.path.exists(os.path.join(os.sys.argv[1], 'course_work')))\n"
        "print('data', os.path.isdir(r.shipped_data_dir() / 'lyrics'))\n"
    )
    done = run_sandboxed(code, course, str(course))
    assert done.returncode == 0, done.stderr
    assert "secret False" in done.stdout and "gradebook False" in done.stdout
    assert "data True" in done.stdout


@needs_bwrap
def test_lab06s_hidden_picture_is_drawn_for_the_judge_only(course):
    """The judge's sandbox can import the picture's renderer; the kernel's cannot see it."""
    code = "import sys; sys.path.pop(0); from grader.lab06_scene import render; print(render().shape)"
    judged = run_sandboxed(code, course, judge=True)
    assert judged.returncode == 0 and "(448, 448, 3)" in judged.stdout, judged.stderr
    kernel = run_sandboxed(code, course)
    assert kernel.returncode != 0 and "No module named 'grader" in kernel.stderr, kernel.stderr


@needs_bwrap
def test_only_the_private_scratch_folder_is_writable_and_it_never_reaches_the_host(course):
    code = (
        "import pathlib, sys\n"
        "pathlib.Path('answer.txt').write_text('ok')\n"
        "print('read back', pathlib.Path('answer.txt').read_text())\n"
        "for target in sys.argv[1:]:\n"
        "    try:\n"
        "        pathlib.Path(target).write_text('x'); print('wrote', target)\n"
        "    except OSError as error:\n"
        "        print('refused', type(error).__name__)\n"
    )
    package_file = Path(sandbox.__file__).parent.parent / "rnnlab" / "planted.py"
    done = run_sandboxed(code, course, str(package_file), "/usr/planted", "/etc/planted")
    assert done.returncode == 0, done.stderr
    assert "read back ok" in done.stdout
    assert "wrote" not in done.stdout and done.stdout.count("refused") == 3
    assert not (course.parent / "work" / "answer.txt").exists()
    assert not package_file.exists()


@needs_bwrap
def test_scratch_space_is_bounded(course):
    code = (
        "import os\n"
        "for where in ('.', '/tmp'):\n"
        "    written = 0\n"
        "    try:\n"
        "        with open(os.path.join(where, 'fill'), 'wb') as handle:\n"
        "            for _ in range(64):\n"
        "                handle.write(b'x' * 2**20); handle.flush(); written += 1\n"
        "    except OSError as error:\n"
        "        print(where, 'full after', written, 'MiB', type(error).__name__)\n"
    )
    done = run_sandboxed(code, course, disk_mb=8, output_mb=1024)
    assert done.stdout.count("full after") == 2, done.stdout + done.stderr
    for line in done.stdout.splitlines():
        assert int(line.split()[3]) <= 8, line


@needs_bwrap
def test_only_allow_listed_folders_variables_and_no_capabilities(course, monkeypatch):
    """/var, /run (with their unix sockets), /home, /root, /srv are not there; the grader's
    variables are not inherited; a new session; no capabilities left."""
    monkeypatch.setenv("GRADER_SECRET_TOKEN", "canary-5d1f")
    monkeypatch.setenv("RNNLAB_PROFILE", "grading")
    code = (
        "import os\n"
        "for path in ('/var', '/run', '/home', '/srv', '/opt', '/sys', '/media', '/mnt'):\n"
        "    print(path, 'visible' if os.path.exists(path) and os.listdir(path) else 'absent')\n"
        "print('checkout holds', sorted(os.listdir(os.sys.argv[1])))\n"
        "print('secret', os.environ.get('GRADER_SECRET_TOKEN'))\n"
        "print('profile', os.environ.get('RNNLAB_PROFILE'))\n"
        "print('own session', os.getsid(0) != int(os.sys.argv[2]))\n"
        "caps = [l for l in open('/proc/self/status') if l.startswith('CapEff')]\n"
        "print('caps', caps[0].split()[1])\n"
    )
    checkout = Path(sandbox.__file__).parent.parent
    done = run_sandboxed(code, course, str(checkout), str(os.getsid(0)))
    assert done.returncode == 0, done.stderr
    assert "visible" not in done.stdout, done.stdout
    listed = done.stdout.split("checkout holds ")[1].splitlines()[0]
    assert set(eval(listed)) <= {".venv", "rnnlab", "data", "pyproject.toml", "grader"}, listed
    assert "secret None" in done.stdout and "profile grading" in done.stdout
    assert "own session True" in done.stdout
    assert "caps 0000000000000000" in done.stdout


# Student code that tries to reach a listener on the host's 127.0.0.1 (port in argv[1]).
CONNECT_TO_LOOPBACK = (
    "import socket, sys\n"
    "try:\n"
    "    socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=2)\n"
    "    print('connected')\n"
    "except OSError as error:\n"
    "    print('blocked', type(error).__name__)\n"
)


@needs_bwrap
def test_no_network_not_even_the_hosts_loopback(course):
    server = free_listener()
    try:
        done = run_sandboxed(CONNECT_TO_LOOPBACK, course, str(server.getsockname()[1]))
        assert "blocked" in done.stdout, done.stdout + done.stderr
        assert_no_connection(server)
    finally:
        server.close()


def test_memory_limit_turns_a_bomb_into_memory_error(course):
    code = "try:\n    x = bytearray(8 * 2**30)\nexcept MemoryError:\n    print('MemoryError')\n"
    done = run_sandboxed(code, course, memory_mb=1024)
    assert "MemoryError" in done.stdout, done.stdout + done.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="RLIMIT_NPROC is tested with a dedicated user id")
def test_process_limit_stops_a_fork_bomb(course):
    code = (
        "import os, time\n"
        "started = 0\n"
        "try:\n"
        "    while True:\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(30); os._exit(0)\n"
        "        started += 1\n"
        "except BlockingIOError:\n"
        "    print('stopped after', started)\n"
    )
    done = run_sandboxed(code, course, max_processes=64)
    assert "stopped after" in done.stdout, done.stdout + done.stderr
    assert int(done.stdout.split()[-1]) < 64
    assert not _processes_of(UID, wait_s=10), "the sandbox left processes behind"


def _processes_of(uid: int, wait_s: float) -> bool:
    """Whether processes of ``uid`` are still there after up to ``wait_s`` seconds (the kernel
    tears a PID namespace down asynchronously: its last processes may take a moment to go)."""
    deadline = time.monotonic() + wait_s
    while True:
        owners = subprocess.run(["ps", "-eo", "uid="], capture_output=True, text=True).stdout.split()
        if str(uid) not in owners or time.monotonic() > deadline:
            return str(uid) in owners
        time.sleep(0.2)


def test_degraded_modes_warn_and_still_limit(course, monkeypatch):
    monkeypatch.setenv("GRADER_SANDBOX", "rlimits")
    assert sandbox.available_mode() == "rlimits"
    warnings = " ".join(sandbox.warnings_for("rlimits"))
    assert "bubblewrap is not available" in warnings and "network" in warnings
    code = "try:\n    x = bytearray(8 * 2**30)\nexcept MemoryError:\n    print('MemoryError')\n"
    done = run_sandboxed(code, course, mode="rlimits", memory_mb=1024)
    assert "MemoryError" in done.stdout, done.stderr
    monkeypatch.setenv("GRADER_SANDBOX", "bogus")
    with pytest.raises(ValueError, match="GRADER_SANDBOX"):
        sandbox.available_mode()


@pytest.mark.skipif(os.geteuid() != 0, reason="`unshare --net` needs root")
def test_unshare_mode_blocks_network_without_bubblewrap(course, monkeypatch):
    monkeypatch.setenv("GRADER_SANDBOX", "unshare")
    assert sandbox.available_mode() == "unshare"
    assert "bubblewrap is not available" in " ".join(sandbox.warnings_for("unshare"))
    server = free_listener()
    try:
        done = run_sandboxed(CONNECT_TO_LOOPBACK, course, str(server.getsockname()[1]),
                             mode="unshare")
        assert "blocked" in done.stdout, done.stdout + done.stderr
        assert_no_connection(server)
    finally:
        server.close()


# torch trains before TensorFlow is imported: with TensorFlow loaded first, torch's first
# backward pass segfaults (torch 2.14 + TF, with or without the sandbox).
TRAIN_CELL = """
import os, torch
from rnnlab import runtime
print("profile", runtime.profile(), os.environ.get("NBGRADER_EXECUTION"))
x = torch.randn(256, 8); y = x @ torch.randn(8, 1)
model = torch.nn.Linear(8, 1); opt = torch.optim.SGD(model.parameters(), lr=0.1)
losses = []
for _ in range(30):
    loss = torch.nn.functional.mse_loss(model(x), y); opt.zero_grad(); loss.backward(); opt.step()
    losses.append(loss.item())
print("torch loss went down", losses[-1] < losses[0] / 10)
import tensorflow as tf, keras
net = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
net.compile(optimizer="sgd", loss="mse")
history = net.fit(x.numpy(), y.numpy(), epochs=5, verbose=0).history["loss"]
print("keras loss went down", history[-1] < history[0])
"""


def test_torch_and_tensorflow_train_inside_a_sandboxed_kernel(course, monkeypatch):
    """The memory and address-space limits leave room for both frameworks (calibration)."""
    monkeypatch.delenv("RNNLAB_PROFILE", raising=False)
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    workdir = course.parent / "work"
    workdir.mkdir()
    policy = sandbox.default_policy(dict(GRADING_DEFAULTS), UID)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(TRAIN_CELL)])
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3",
        kernel_manager_class=sandbox.SandboxedKernelManager,
        config=Config({"SandboxedKernelManager": {"policy": policy}}),
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert "profile grading autograde" in text
    assert "torch loss went down True" in text and "keras loss went down True" in text
