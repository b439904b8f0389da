"""The sandbox around each student's kernel during autograding.

Mechanisms (all kernel-enforced), best available first:
  bubblewrap  an allow-listed mount view: an empty root with, read-only, the system folders a
              kernel needs (/usr, /etc, the /bin and /lib links), the Python installation, the
              venv, the course's `rnnlab` package and `data/`; a minimal /dev, its own /proc,
              size-limited tmpfs /tmp and /dev/shm, and as the kernel's working folder a
              size-limited tmpfs that vanishes with the sandbox (nothing the kernel writes there
              reaches the grader). The kernel's IPC folder is the only host folder it can write,
              and only until it is ready (then it belongs to root again). Plus new network, PID,
              IPC and UTS namespaces (no network at all, not even the host's 127.0.0.1; every
              process dies with the kernel), a new session (no terminal to inject into) and no
              capabilities once the kernel runs as its unprivileged user.
  unshare     when bubblewrap is missing but we are root: a new network namespace only.
  rlimits     always (grader/limits.py): memory, address space, processes, CPU time, file size;
              as root, the kernel also runs as an unprivileged user id so RLIMIT_NPROC applies.
  cgroup      where the machine lets the grader make memory cgroups (root, cgroup v1's memory
              controller or v2 with memory delegated): all processes of one sandbox together
              get ``sandbox_memory_mb`` (swap included); past it the kernel's own OOM killer
              ends one of them. Elsewhere the bound is max_processes x memory_mb, and a warning
              says so.
Each missing mechanism is reported once with a warning saying what is not protected. In every
mode the kernel starts in an empty private folder, gets an allow-listed environment (never the
grader's own variables) and its outputs are capped in size (grader/outputs.py).

The kernel talks to the grader over IPC sockets (files in a per-kernel folder) because a network
namespace cuts the TCP loopback that Jupyter uses by default.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from functools import lru_cache
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import ensure_async, run_sync
from nbgrader.preprocessors import Execute
from traitlets import Dict, Integer, Unicode

from rnnlab.judging import is_test_cell

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


MODES = ("bwrap", "unshare", "rlimits")  # strongest first


def available_mode() -> str:
    """'bwrap', 'unshare' or 'rlimits': the strongest sandbox this machine supports.

    GRADER_SANDBOX=unshare|rlimits forces a weaker one (used to test the degraded paths).
    """
    forced = os.environ.get("GRADER_SANDBOX", "").strip()
    if forced and forced not in MODES:
        raise ValueError(f"GRADER_SANDBOX={forced!r}: use bwrap, unshare or rlimits")
    start = MODES.index(forced) if forced else 0
    for mode in MODES[start:]:
        if mode == "bwrap" and shutil.which("bwrap") and _works(
            "bwrap", "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "--"
        ):
            return mode
        if mode == "unshare" and shutil.which("unshare") and _works("unshare", "--net", "--"):
            return mode
        if mode == "rlimits":
            return mode
    raise AssertionError("unreachable")


@lru_cache(maxsize=None)
def _bwrap_sizes_tmpfs() -> bool:
    """Whether bubblewrap can limit a tmpfs's size (`--size`, bubblewrap 0.8 and later)."""
    return _works("bwrap", "--size", "1048576", "--tmpfs", "/tmp", "--ro-bind", "/", "/", "--")


CGROUP_PARENT = "rnnlab-grader"


@lru_cache(maxsize=None)
def memory_cgroups() -> str:
    """The folder in which this machine lets us make memory cgroups ('' if none): cgroup v2's
    (at /sys/fs/cgroup or /sys/fs/cgroup/unified) where the memory controller is available, or
    cgroup v1's memory hierarchy."""
    for root in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified")):
        try:
            if "memory" not in (root / "cgroup.controllers").read_text().split():
                continue
            _set(root / "cgroup.subtree_control", "+memory")
            parent = root / CGROUP_PARENT
            parent.mkdir(exist_ok=True)
            _set(parent / "cgroup.subtree_control", "+memory")
            if _can_cap(parent, "memory.max"):
                return str(parent)
        except OSError:
            continue
    v1 = Path("/sys/fs/cgroup/memory")
    try:
        if (v1 / "memory.limit_in_bytes").is_file():
            (v1 / CGROUP_PARENT).mkdir(exist_ok=True)
            if _can_cap(v1 / CGROUP_PARENT, "memory.limit_in_bytes"):
                return str(v1 / CGROUP_PARENT)
    except OSError:
        pass
    return ""


def _set(path: Path, text: str) -> None:
    """Write to an existing control file (never create one: outside cgroupfs it is a plain file)."""
    with open(path, "r+") as handle:
        handle.write(text)


def _can_cap(parent: Path, limit_file: str) -> bool:
    """Whether a child group of ``parent`` gets ``limit_file`` (the memory controller)."""
    probe = parent / f"probe-{os.getpid()}"
    probe.mkdir()
    try:
        return (probe / limit_file).is_file()
    finally:
        probe.rmdir()


def make_cgroup(name: str, limit_mb: int) -> str:
    """A new memory cgroup capped at ``limit_mb`` (swap included where the machine has it), or
    '' when the machine does not allow one."""
    parent = memory_cgroups()
    if not parent:
        return ""
    group = Path(parent) / name
    limit = str(limit_mb * 2**20)
    try:
        group.mkdir()
        if (group / "memory.max").is_file():
            _set(group / "memory.max", limit)
            if (group / "memory.swap.max").is_file():
                _set(group / "memory.swap.max", "0")
        else:
            _set(group / "memory.limit_in_bytes", limit)
            if (group / "memory.memsw.limit_in_bytes").is_file():
                _set(group / "memory.memsw.limit_in_bytes", limit)
    except OSError:
        remove_cgroup(str(group))
        return ""
    return str(group)


def remove_cgroup(group: str) -> None:
    """Remove a sandbox's cgroup once its processes are gone (a few tries while they exit)."""
    for _ in range(50):
        try:
            os.rmdir(group)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)


def in_cgroup(argv: list[str], group: str) -> list[str]:
    """``argv`` started inside cgroup ``group`` (the shell joins it, then becomes the command,
    so every process it starts is in the group from its first instruction)."""
    return ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', group, *argv]


def warnings_for(mode: str) -> list[str]:
    """What a sandbox mode leaves unprotected, as sentences for the instructor."""
    out = []
    if not memory_cgroups():
        out.append("this machine does not let the grader make memory cgroups (it needs root and "
                   "cgroup v1's memory controller or v2 with memory delegated): the memory of one "
                   "sandbox is bounded by max_processes x memory_mb, not by sandbox_memory_mb.")
    if mode == "bwrap" and not _bwrap_sizes_tmpfs():
        out.append("this bubblewrap cannot limit the size of the kernel's scratch folders "
                   "(bubblewrap 0.8 or later can): a submission can fill memory by writing files.")
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


def default_policy(limits: dict[str, int], uid: int | None) -> dict:
    """The JSON-able sandbox policy for one grading worker (see SandboxedKernelManager.policy).

    limits:      course.toml's [grading] values
    uid:         user id the kernel runs as when the grader is root
    """
    checkout = Path(__file__).resolve().parent.parent  # the checkout holding rnnlab/ and grader/
    python = [Path(sys.base_prefix), Path(sys.prefix)]  # the interpreter (may live in ~) and venv
    readable = [*python, checkout / "rnnlab", checkout / "data", checkout / "pyproject.toml"]
    readable += [imported_rnnlab()] if imported_rnnlab() != checkout / "rnnlab" else []
    readable += [LIMITS_SCRIPT]
    mode = available_mode()
    return {
        "mode": mode,
        "limits": dict(limits),
        "readable": [str(p) for p in readable],
        # Outside bubblewrap the course's files keep their own permissions (often root-only),
        # so the kernel can only switch to an unprivileged user inside the bubblewrap view.
        "uid": uid if os.geteuid() == 0 and mode == "bwrap" else None,
    }


# What the judge may read besides the kernel's view: the code that draws hidden test data (lab
# 06's picture, docs/lab06_photo.md). The student's kernel never sees it; the judge runs after the
# kernel is gone, in a sandbox of its own, and no student code runs there.
JUDGE_ONLY = ("grader/__init__.py", "grader/lab06_scene.py")


def judge_policy(policy: dict) -> dict:
    """``policy`` (default_policy's) with the judge-only files readable as well."""
    checkout = Path(__file__).resolve().parent.parent
    return {**policy, "readable": [*policy["readable"], *(str(checkout / name) for name in JUDGE_ONLY)]}


@lru_cache(maxsize=None)
def imported_rnnlab() -> Path:
    """The folder ``import rnnlab`` finds for a kernel, which gets no PYTHONPATH: asked of an
    isolated interpreter of this environment (an editable install may point at another checkout
    than this one, e.g. a git worktree's)."""
    code = "import importlib.util as u; s = u.find_spec('rnnlab'); print(s.origin if s else '')"
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                          timeout=60)
    origin = done.stdout.strip()
    return Path(origin).resolve().parent if origin else Path("/nonexistent")


# The system folders a kernel needs, read-only; every other top-level folder (/root, /home, /work,
# /var, /run with its sockets, /opt, ...) does not exist inside the sandbox.
SYSTEM_FOLDERS = ("usr", "etc", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
# Variables the kernel may inherit: what Python, Jupyter, the labs and the run profile need.
KERNEL_ENV = ("PATH", "LANG", "LANGUAGE", "TZ", "TERM", "NBGRADER_EXECUTION", "KERAS_BACKEND",
              "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE",
              "OPENBLAS_L2_SIZE", "TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS",
              "CUDA_VISIBLE_DEVICES", "PYTHONHASHSEED")
KERNEL_ENV_PREFIXES = ("LC_", "RNNLAB_")
# Under grading, warnings and progress bars stay quiet: correct code never writes to stderr.
QUIET_ENV = {"PYTHONWARNINGS": "ignore", "TQDM_DISABLE": "1", "PYTHONDONTWRITEBYTECODE": "1"}


def kernel_env(env: dict[str, str], home: str) -> dict[str, str]:
    """The kernel's environment: the allow-listed variables of ``env``, HOME, and quiet output."""
    kept = {k: v for k, v in env.items() if k in KERNEL_ENV or k.startswith(KERNEL_ENV_PREFIXES)}
    return {**kept, **QUIET_ENV, "HOME": home}


def wrap_command(argv: list[str], workdir: str, rundir: str, policy: dict) -> list[str]:
    """Prefix a kernel command line with the sandbox of ``policy``.

    argv:    the kernel's command, e.g. [python, -m, ipykernel_launcher, -f, <connection file>]
    workdir: the kernel's working folder (in bubblewrap: a size-limited tmpfs mounted there)
    rundir:  the kernel's private folder (connection file, IPC sockets)
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
    disk = ["--size", str(limits["disk_mb"] * 2**20)] if _bwrap_sizes_tmpfs() else []
    shm = ["--size", str(64 * 2**20)] if disk else []
    outer = ["bwrap", "--new-session", "--die-with-parent", "--unshare-net", "--unshare-pid",
             "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--cap-drop", "ALL"]
    if policy["uid"] is not None:  # limits.py needs these two to switch to the sandbox user
        outer += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    outer += _system_binds()
    outer += ["--dev", "/dev", "--proc", "/proc",
              "--perms", "1777", *shm, "--tmpfs", "/dev/shm", "--perms", "1777", *disk, "--tmpfs", "/tmp"]
    readable = [p for p in policy["readable"] if os.path.exists(p)]
    outer += _parents(readable + [rundir])
    for path in readable:
        outer += ["--ro-bind", path, path]
    outer += ["--bind", rundir, rundir,
              "--perms", "1777", *disk, "--tmpfs", workdir, "--chdir", workdir,
              "--unsetenv", "JPY_PARENT_PID", "--"]  # its parent is not visible in the PID namespace
    return outer + inner


def _system_binds() -> list[str]:
    """bwrap options giving the sandbox SYSTEM_FOLDERS: links as links, folders read-only."""
    options = []
    for name in SYSTEM_FOLDERS:
        path = Path("/") / name
        if path.is_symlink():
            options += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            options += ["--ro-bind", str(path), str(path)]
    return options


def _parents(paths: list[str]) -> list[str]:
    """bwrap options creating, world-readable, the folders above each bind that are not system
    folders (bwrap would create them itself, but only readable by root)."""
    system = [Path("/") / name for name in SYSTEM_FOLDERS]
    options, seen = [], set()
    for path in paths:
        for parent in reversed(Path(path).parents):
            if parent in (Path("/"), Path("/tmp")) or any(parent.is_relative_to(p) for p in system):
                continue
            if str(parent) not in seen:
                seen.add(str(parent))
                options += ["--perms", "0755", "--dir", str(parent)]
    return options


def _chown_tree(path: str, uid: int) -> None:
    os.chown(path, uid, uid)
    for folder, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(folder, name), uid, uid, follow_symlinks=False)


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel inside the sandbox and talks to it over IPC.

    The kernel's working folder is ``<rundir>/work``, never the notebook's folder: what the
    kernel leaves there is thrown away, unread, with the rundir.
    """

    policy = Dict(help="sandbox policy from grader.sandbox.default_policy").tag(config=True)
    runtime_root = Unicode("", help="short folder for per-kernel IPC sockets").tag(config=True)

    def __init__(self, **kwargs):
        kwargs.setdefault("transport", "ipc")
        super().__init__(**kwargs)

    async def _async_pre_start_kernel(self, **kw):
        if not self.policy:
            raise ValueError("SandboxedKernelManager.policy is empty: grade through `python -m grader`")
        self.rundir = tempfile.mkdtemp(prefix="k", dir=self.runtime_root or None)
        workdir = os.path.join(self.rundir, "work")
        os.mkdir(workdir)
        self.connection_file = os.path.join(self.rundir, "kernel.json")
        self.ip = os.path.join(self.rundir, "s")
        self.kernel_spec.interrupt_mode = "message"  # signals would reach bubblewrap, not Python
        kw["cwd"] = workdir
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        uid = self.policy["uid"]
        if uid is not None:
            _chown_tree(self.rundir, uid)
        os.chmod(self.rundir, 0o711)  # bwrap, without capabilities, must reach work/ inside
        home = "/tmp" if self.policy["mode"] == "bwrap" else workdir
        kw["env"] = kernel_env(kw.get("env") or os.environ, home)
        cmd = wrap_command(cmd, workdir, self.rundir, self.policy)
        self.cgroup = make_cgroup(os.path.basename(self.rundir), self.policy["limits"].get(
            "sandbox_memory_mb", self.policy["limits"]["memory_mb"]))
        return (in_cgroup(cmd, self.cgroup) if self.cgroup else cmd), kw

    def lock_rundir(self) -> None:
        """Once the kernel's sockets exist, its IPC folder is root's again: the kernel can no
        longer create files on the host (only when it runs as the sandbox user)."""
        if self.policy.get("uid") is not None and getattr(self, "rundir", None):
            os.chown(self.rundir, 0, 0)
            os.chmod(self.rundir, 0o711)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart and getattr(self, "rundir", None):
            shutil.rmtree(self.rundir, ignore_errors=True)
        if not restart and getattr(self, "cgroup", ""):
            remove_cgroup(self.cgroup)


class SandboxedExecute(Execute):
    """nbgrader's Execute step with the sandboxed kernel, a total time limit per notebook, a clean
    testing state before every test cell, and a cap on each cell's outputs.

    Each cell gets min(timeout, time left for the notebook) seconds, so a notebook never runs much
    longer than ``notebook_timeout`` even when every cell is slow. Before the first cell the
    kernel receives grader/guard.py (a snapshot of the testing machinery), and before every
    autograded test cell the guard restores it; a test cell whose clean state cannot be restored
    is not run and scores 0. Outputs past ``output_limit`` bytes in one cell are dropped,
    whatever their mime type; errors are always kept, cut to a readable size; display updates
    are ignored, so an output never grows after it was counted.
    """

    notebook_timeout = Integer(600, help="seconds for the whole notebook").tag(config=True)
    output_limit = Integer(2 * 2**20, help="bytes of output kept per cell").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)
        self.timeout_func = self._cell_timeout
        self._deadline = None
        self._guarded_modules: list[str] = []
        self._output_bytes: dict[int, int] = {}

    def _cell_timeout(self, cell) -> int:
        if self._deadline is None:
            self._deadline = time.monotonic() + self.notebook_timeout
        left = int(self._deadline - time.monotonic())
        return max(1, min(self.timeout, left))

    def preprocess(self, nb, resources=None, km=None):
        self._deadline = None
        self._output_bytes = {}
        text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
        self._guarded_modules = GUARDED_MODULES + (TORCH_MODULES if "torch" in text else [])
        return super().preprocess(nb, resources, km=km)

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        self.km.lock_rundir()
        source = f"{GUARD_SOURCE}\ninstall({self._guarded_modules!r})\n"
        if not await self._run_silently(f"exec({source!r}, {{'__name__': '_grader_guard'}})"):
            raise RuntimeError("the grader's guard could not be installed in the kernel")
        return kc

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if is_test_cell(cell) and not await self._run_silently(RESET):
            cell.outputs = [nbformat.v4.new_output(
                "error", ename="GraderIntegrityError",
                evalue="the grader could not restore a clean state for this test (the notebook "
                       "changed the kernel's testing machinery); the test was not run",
                traceback=[])]
            return cell
        return await super().async_execute_cell(cell, cell_index, execution_count, store_history)

    execute_cell = run_sync(async_execute_cell)

    async def _run_silently(self, code: str) -> bool:
        """Run ``code`` in the kernel without recording it; True if it ran without error."""
        msg_id = await ensure_async(self.kc.execute(code, silent=True, store_history=False))
        reply = await self.async_wait_for_reply(msg_id)
        return bool(reply) and reply["content"].get("status") == "ok"

    def output(self, outs, msg, display_id, cell_index):
        content = msg["content"]
        if msg["msg_type"] == "error":  # kept whatever the budget, but cut to a readable size
            content["evalue"] = str(content.get("evalue", ""))[:ERROR_CHARS]
            content["traceback"] = [str(line)[:ERROR_CHARS] for line in
                                    list(content.get("traceback") or [])[-ERROR_LINES:]]
            return super().output(outs, msg, display_id, cell_index)
        size = len(json.dumps(content, default=str))  # every mime type, metadata included
        used = self._output_bytes.get(cell_index, 0)
        self._output_bytes[cell_index] = used + size
        if used + size <= self.output_limit:
            return super().output(outs, msg, display_id, cell_index)
        if used <= self.output_limit:
            outs.append(nbformat.v4.new_output(
                "stream", name="stdout",
                text=f"\n... further output of this cell dropped (over {self.output_limit:,} bytes)\n"))
        return None

    def _update_display_id(self, display_id, msg):
        """Outputs, once kept, never change: a display update could swap a small output for a
        huge one after the cap was applied (updates only animate progress, not needed here)."""


ERROR_CHARS = 2000
ERROR_LINES = 40
GUARD_SOURCE = Path(__file__).with_name("guard.py").read_text()
GUARDED_MODULES = ["numpy", "numpy.testing", "math"]
TORCH_MODULES = ["torch", "torch.testing"]
RESET = "__import__('sys').modules['_grader_guard'].reset()"
