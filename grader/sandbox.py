"""The sandbox around each student's kernel during autograding.

Mechanisms (all kernel-enforced), best available first:
  bubblewrap  a private mount view: the whole filesystem read-only, the course root, the course
              checkout, every top-level folder outside the system ones (/root, /home, /work, /opt, ...),
              /tmp and the submissions folder replaced by empty folders, then read-only binds of what a
              lab needs (the Python install, the venv, the rnnlab package, data/) and
              one writable bind: the notebook's own working copy. Plus new network, PID and IPC
              namespaces: no network at all (not even the host's 127.0.0.1), and every process the
              student starts dies with the kernel.
  unshare     when bubblewrap is missing but we are root: a new network namespace only.
  rlimits     always (grader/limits.py): memory, address space, processes, CPU time, file size;
              as root, the kernel also runs as an unprivileged user id so RLIMIT_NPROC applies.
Each missing mechanism is reported once with a warning saying what is not protected.

The kernel talks to the grader over IPC sockets (files in a per-kernel folder) because a network
namespace cuts the TCP loopback that Jupyter uses by default.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from functools import lru_cache
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from nbgrader.preprocessors import Execute
from traitlets import Dict, Integer, Unicode

LIMITS_SCRIPT = Path(__file__).with_name("limits.py")
SANDBOX_UID_BASE = 60000
NOBODY = 65534


def sandbox_uid(worker: int) -> int:
    """The user id a worker's kernels run as (when the grader is root): distinct per worker and,
    very likely, per grading run, because RLIMIT_NPROC counts all processes of a user id."""
    uid = SANDBOX_UID_BASE + (os.getpid() % 4096) * 16 + worker % 16
    return uid + 1 if uid == NOBODY else uid
log = logging.getLogger("grader.sandbox")


@lru_cache(maxsize=None)
def _works(*argv: str) -> bool:
    try:
        done = subprocess.run([*argv, "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def available_mode() -> str:
    """'bwrap', 'unshare' or 'rlimits': the strongest sandbox this machine supports.

    GRADER_SANDBOX=unshare|rlimits forces a weaker one (used to test the degraded paths).
    """
    forced = os.environ.get("GRADER_SANDBOX", "").strip()
    if forced and forced not in ("bwrap", "unshare", "rlimits"):
        raise ValueError(f"GRADER_SANDBOX={forced!r}: use bwrap, unshare or rlimits")
    order = ("bwrap", "unshare", "rlimits")
    start = order.index(forced) if forced else 0
    for mode in order[start:]:
        if mode == "bwrap" and shutil.which("bwrap") and _works(
            "bwrap", "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "--"
        ):
            return mode
        if mode == "unshare" and shutil.which("unshare") and _works("unshare", "--net", "--"):
            return mode
        if mode == "rlimits":
            return mode
    raise AssertionError("unreachable")


def warnings_for(mode: str) -> list[str]:
    """What a sandbox mode leaves unprotected, as sentences for the instructor."""
    out = []
    if mode != "bwrap":
        out.append(
            "bubblewrap is not available: student code can read and write every file the grader "
            "can (including the gradebook and the hidden tests). On Debian/Ubuntu: "
            "`sudo apt-get install bubblewrap` (make setup does it when run as root)."
        )
    if mode == "rlimits":
        out.append(
            "no network namespace (needs bubblewrap, or `unshare` as root): student code can "
            "open network connections."
        )
    if os.geteuid() == 0 and mode != "bwrap":
        out.append(
            "without bubblewrap the kernel runs as root, for which Linux does not enforce the "
            "process limit: a fork bomb is only stopped by the time limits."
        )
    if os.geteuid() != 0:
        out.append(
            "not running as root: the process limit counts all of your own processes, so it is "
            "set high; a fork bomb is stopped later than under root."
        )
    return out


def default_policy(
    course_root: Path, limits: dict[str, int], hidden: list[Path], uid: int | None
) -> dict:
    """The JSON-able sandbox policy for one grading worker (see SandboxedKernelManager.policy).

    course_root: the course being graded (hidden, except the notebook's own working copy)
    limits:      course.toml's [grading] values
    hidden:      further folders to hide (the worker's copy, the submissions folder)
    uid:         user id the kernel runs as when the grader is root
    """
    checkout = Path(__file__).resolve().parent.parent  # the checkout holding rnnlab/ and grader/
    python = [Path(sys.base_prefix), Path(sys.prefix)]  # the interpreter (may live in ~) and venv
    readable = [*python, checkout / "rnnlab", checkout / "data", checkout / "pyproject.toml"]
    readable += [LIMITS_SCRIPT]
    masked = list(dict.fromkeys([course_root, checkout, *_non_system_folders(), *hidden]))
    mode = available_mode()
    return {
        "mode": mode,
        "limits": dict(limits),
        "hidden": [str(p) for p in masked],
        "readable": [str(p) for p in readable],
        # Outside bubblewrap the course's files keep their own permissions (often root-only),
        # so the kernel can only switch to an unprivileged user inside the bubblewrap view.
        "uid": uid if os.geteuid() == 0 and mode == "bwrap" else None,
    }


# Top-level folders a kernel needs as they are; every other one (/root, /home, /work, /opt, /srv,
# ...) is hidden, so no copy of the course anywhere on the machine is visible to student code.
SYSTEM_FOLDERS = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "sys", "proc",
                  "dev", "tmp", "var", "run", "boot"}


def _non_system_folders() -> list[Path]:
    """The top-level folders outside SYSTEM_FOLDERS (real folders, not links)."""
    root = Path("/")
    return [root / name for name in sorted(os.listdir(root))
            if name not in SYSTEM_FOLDERS and (root / name).is_dir() and not (root / name).is_symlink()]


def wrap_command(argv: list[str], workdir: str, rundir: str, policy: dict) -> list[str]:
    """Prefix a kernel command line with the sandbox of ``policy``.

    argv:    the kernel's command, e.g. [python, -m, ipykernel_launcher, -f, <connection file>]
    workdir: the only folder the kernel may write (the notebook's working copy)
    rundir:  the kernel's private folder (connection file, IPC sockets, HOME)
    """
    limits = policy["limits"]
    nproc = limits["max_processes"] if policy["uid"] is not None else 4096 + limits["max_processes"]
    inner = [sys.executable, str(LIMITS_SCRIPT), "--data", str(limits["memory_mb"]),
             "--as", str(limits["address_space_mb"]), "--nproc", str(nproc),
             "--cpu", str(limits["cpu_time_s"]), "--fsize", str(limits["output_mb"])]
    if policy["uid"] is not None:
        inner += ["--uid", str(policy["uid"])]
    inner += ["--", *argv]
    if policy["mode"] == "rlimits":
        return inner
    if policy["mode"] == "unshare":
        return ["unshare", "--net", "--", *inner]
    outer = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
             "--perms", "1777", "--tmpfs", "/dev/shm", "--perms", "1777", "--tmpfs", "/tmp"]
    hidden = ["/tmp"] + [p for p in policy["hidden"] if os.path.isdir(p) and p not in ("/", "/tmp")]
    for path in hidden[1:]:
        outer += ["--tmpfs", path]
    readable = [p for p in policy["readable"] if os.path.exists(p)]
    outer += _parents_in(readable + [workdir, rundir], hidden)
    for path in readable:
        outer += ["--ro-bind", path, path]
    outer += ["--bind", workdir, workdir, "--bind", rundir, rundir, "--chdir", workdir,
              "--unshare-net", "--unshare-pid", "--unshare-ipc", "--die-with-parent",
              "--setenv", "HOME", os.path.join(rundir, "home"),
              "--unsetenv", "JPY_PARENT_PID", "--"]  # its parent is not visible in the PID namespace
    return outer + inner


def _parents_in(paths: list[str], hidden: list[str]) -> list[str]:
    """bwrap options creating, world-readable, the folders between a hidden folder and a bind.

    (bwrap would create them itself, but only readable by root.)
    """
    options, seen = [], set()
    for path in paths:
        for parent in reversed(Path(path).parents):
            inside = any(parent.is_relative_to(h) and str(parent) != h for h in hidden)
            if inside and str(parent) not in seen:
                seen.add(str(parent))
                options += ["--perms", "0755", "--dir", str(parent)]
    return options


def _chown_tree(path: str, uid: int) -> None:
    os.chown(path, uid, uid)
    for folder, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(folder, name), uid, uid, follow_symlinks=False)


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel inside the sandbox and talks to it over IPC."""

    policy = Dict(help="sandbox policy from grader.sandbox.default_policy").tag(config=True)
    runtime_root = Unicode("", help="short folder for per-kernel IPC sockets").tag(config=True)

    def __init__(self, **kwargs):
        kwargs.setdefault("transport", "ipc")
        super().__init__(**kwargs)

    async def _async_pre_start_kernel(self, **kw):
        if not self.policy:
            raise ValueError("SandboxedKernelManager.policy is empty: grade through `python -m grader`")
        self.rundir = tempfile.mkdtemp(prefix="k", dir=self.runtime_root or None)
        os.mkdir(os.path.join(self.rundir, "home"))
        self.connection_file = os.path.join(self.rundir, "kernel.json")
        self.ip = os.path.join(self.rundir, "s")
        self.kernel_spec.interrupt_mode = "message"  # signals would reach bubblewrap, not Python
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        workdir = os.path.abspath(kw.get("cwd") or os.getcwd())
        uid = self.policy["uid"]
        if uid is not None:
            _chown_tree(self.rundir, uid)
            _chown_tree(workdir, uid)
        env = dict(kw.get("env") or os.environ)
        env["HOME"] = os.path.join(self.rundir, "home")
        env.pop("JPY_SESSION_NAME", None)
        kw["env"] = env
        return wrap_command(cmd, workdir, self.rundir, self.policy), kw

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart and getattr(self, "rundir", None):
            shutil.rmtree(self.rundir, ignore_errors=True)


class SandboxedExecute(Execute):
    """nbgrader's Execute step with the sandboxed kernel and a total time limit per notebook.

    Each cell gets min(timeout, time left for the notebook) seconds, so a notebook never runs much
    longer than ``notebook_timeout`` even when every cell is slow.
    """

    notebook_timeout = Integer(600, help="seconds for the whole notebook").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)
        self.timeout_func = self._cell_timeout
        self._deadline = None

    def _cell_timeout(self, cell) -> int:
        if self._deadline is None:
            self._deadline = time.monotonic() + self.notebook_timeout
        left = int(self._deadline - time.monotonic())
        return max(1, min(self.timeout, left))

    def preprocess(self, nb, resources=None, km=None):
        self._deadline = None
        return super().preprocess(nb, resources, km=km)
