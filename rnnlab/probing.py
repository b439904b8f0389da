"""Tests in two halves: a *probe* calls your code, a *judge* decides whether the answer is right.

A graded test cell defines probe functions, judge functions and pairs them::

    def probe():                      # calls your code; returns plain data
        return {"row": softmax(np.array([1.0, 2.0, 3.0]))}

    def judge(seen):                  # gets that data back; asserts, prints what it checked
        assert np.allclose(seen["row"], [0.090, 0.245, 0.665], atol=1e-3), "wrong values"
        print("softmax of one row: right")

    check(probe, judge)

In your notebook, ``check`` runs both here: the probe's result goes through the same encoding
the course's grader uses (plain data only: numbers, strings, None, NumPy arrays and torch tensors,
in lists, tuples and dicts with string keys), then the judge looks at it. When the course grades
a notebook, only the probes run in your kernel; their data leaves it as JSON and ``.npy`` arrays,
and the judges run in a separate, fresh interpreter that your code never touched. So what a test
decides cannot be changed from inside the notebook: only what your code returns counts.

Rules for test authors: a judge is self-contained (it uses its own imports and its argument, never
the notebook's names), and never takes the inputs it checks against from the probe: it knows them.
"""

from __future__ import annotations

import ast
import base64
import io
import json
import sys
import traceback
import zipfile
from contextlib import redirect_stdout
from dataclasses import dataclass

import numpy as np

MIME = "application/vnd.rnnlab.probe+json"  # how the grader's kernel hands probe data back
MAX_DEPTH = 8
MAX_ITEMS = 10_000
MAX_MESSAGE = 500  # characters of a judge's failure message kept
MAX_PRINTED = 4000  # characters of what a judge printed kept


class ProbeDataError(ValueError):
    """A probe returned something that cannot leave the kernel as plain data."""


# ---------------------------------------------------------------------------- plain data


def encode(value) -> tuple[object, dict[str, np.ndarray]]:
    """(JSON-able structure, arrays by key) for a probe's result; ProbeDataError otherwise.

    Arrays (NumPy, torch tensors, NumPy scalars) go to ``arrays`` as ``{"array": key}``; tuples
    become lists; dict keys must be strings. Object arrays and other objects are refused.
    """
    arrays: dict[str, np.ndarray] = {}
    count = [0]

    def walk(item, depth: int):
        count[0] += 1
        if depth > MAX_DEPTH or count[0] > MAX_ITEMS:
            raise ProbeDataError(f"probe data nested deeper than {MAX_DEPTH} or over "
                                 f"{MAX_ITEMS:,} items")
        if item is None or type(item) in (bool, str):
            return {"value": item}
        if type(item) is int:
            return {"value": item} if abs(item) < 2**53 else {"big": str(item)}
        if type(item) is float:
            return {"float": repr(item)}  # keeps nan and inf, which JSON does not
        if type(item) in (list, tuple):
            return {"list": [walk(x, depth + 1) for x in item]}
        if type(item) is dict:
            if not all(type(k) is str for k in item):
                raise ProbeDataError("probe data: dictionary keys must be strings")
            return {"dict": {k: walk(v, depth + 1) for k, v in item.items()}}
        array = _as_array(item)
        key = f"a{len(arrays)}"
        arrays[key] = array
        return {"array": key}

    return walk(value, 0), arrays


def _as_array(item) -> np.ndarray:
    """A plain NumPy array (never a subclass or an object array) holding ``item``'s values."""
    if type(item).__module__.startswith("torch") and hasattr(item, "detach"):
        item = item.detach().to("cpu")
        if str(item.dtype) == "torch.bfloat16":
            item = item.float()
        item = item.numpy()
    if not isinstance(item, (np.ndarray, np.generic)):
        raise ProbeDataError(
            f"probe data: a {type(item).__name__} cannot leave the kernel; return numbers, "
            "strings, arrays or tensors (in lists, tuples or dicts)")
    array = np.array(item, copy=True, subok=False)
    if array.dtype.hasobject or array.dtype.kind not in "biufcSU":
        raise ProbeDataError(f"probe data: arrays of dtype {array.dtype} cannot leave the kernel")
    return array.view(np.ndarray)


def decode(structure, arrays: dict[str, np.ndarray]):
    """The value ``encode`` was given (tuples come back as lists, tensors as NumPy arrays)."""
    if not isinstance(structure, dict) or len(structure) != 1:
        raise ProbeDataError("malformed probe data")
    (kind, body), = structure.items()
    if kind == "value" and (body is None or type(body) in (bool, str, int)):
        return body
    if kind == "big" and isinstance(body, str):
        return int(body)
    if kind == "float" and isinstance(body, str):
        return float(body)
    if kind == "list" and isinstance(body, list):
        return [decode(x, arrays) for x in body]
    if kind == "dict" and isinstance(body, dict):
        return {str(k): decode(v, arrays) for k, v in body.items()}
    if kind == "array" and isinstance(body, str) and body in arrays:
        return arrays[body]
    raise ProbeDataError(f"malformed probe data ({kind!r})")


def pack(value) -> dict:
    """A probe's result as one JSON-able message: {"data": structure, "npz": base64 of .npz}."""
    structure, arrays = encode(value)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # uncompressed: the reader checks sizes before loading
    return {"data": structure, "npz": base64.b64encode(buffer.getvalue()).decode("ascii")}


def unpack(message: dict, max_bytes: int):
    """The value inside a ``pack`` message, read without pickle and within ``max_bytes``;
    ProbeDataError for anything else."""
    if not isinstance(message, dict) or not isinstance(message.get("npz"), str):
        raise ProbeDataError("malformed probe message")
    try:
        raw = base64.b64decode(message["npz"], validate=True)
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            if sum(info.file_size for info in archive.infolist()) > max_bytes:
                raise ProbeDataError(f"probe data over {max_bytes:,} bytes")
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        return decode(message.get("data"), arrays)
    except (ValueError, OSError, EOFError, RecursionError, zipfile.BadZipFile) as error:
        if isinstance(error, ProbeDataError):
            raise
        raise ProbeDataError(f"unreadable probe data ({type(error).__name__})") from None


# ---------------------------------------------------------------------------- test cells


@dataclass(frozen=True)
class TestCell:
    """A probe-and-judge test cell taken apart.

    kernel: the code that runs in the student's kernel (everything but the judges and checks)
    judges: the code of the judge functions, with the cell's imports above them
    pairs:  (probe name, judge name) for each ``check(probe, judge)`` call, in order
    """

    kernel: str
    judges: str
    pairs: tuple[tuple[str, str], ...]


def split(source: str) -> TestCell | None:
    """Take a test cell apart; None for a cell without ``check(probe, judge)`` calls."""
    tree = ast.parse(source)
    kernel, judges, imports, pairs = [], [], [], []
    for node in tree.body:
        if _is_check(node):
            pairs.append((node.value.args[0].id, node.value.args[1].id))
        elif isinstance(node, ast.FunctionDef) and node.name.startswith("judge"):
            judges.append(node)
        else:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                imports.append(node)
            kernel.append(node)
    if not pairs:
        return None
    defined = {node.name for node in judges}
    unknown = sorted({j for _, j in pairs} - defined)
    if unknown:
        raise ValueError(f"check() names judge(s) {unknown} that the cell does not define")
    return TestCell(_unparse(kernel), _unparse(imports + judges), tuple(pairs))


def _is_check(node) -> bool:
    call = getattr(node, "value", None) if isinstance(node, ast.Expr) else None
    return (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
            and call.func.id == "check" and len(call.args) == 2 and not call.keywords
            and all(isinstance(arg, ast.Name) for arg in call.args))


def _unparse(nodes) -> str:
    return "\n\n".join(ast.unparse(node) for node in nodes)


def run_judge(judge_source: str, name: str, seen) -> str:
    """Run judge ``name`` from ``judge_source`` on ``seen`` in a fresh namespace; returns what
    it printed. AssertionError (or any error) propagates."""
    namespace: dict = {"__name__": "__judge__"}
    exec(compile(judge_source, "<judge>", "exec"), namespace)
    printed = io.StringIO()
    with redirect_stdout(printed):
        namespace[name](seen)
    return printed.getvalue()


def check(probe, judge) -> None:
    """Run one test here: the probe, its data through the grader's encoding, then the judge."""
    seen = unpack(json.loads(json.dumps(pack(probe()))), max_bytes=2**40)
    judge(seen)


def emit(pairs) -> None:
    """Under grading, in the kernel: run each probe of ``pairs`` [(index, probe function)] and
    publish its packed result (or its error) for the grader, one display message each."""
    from IPython.display import publish_display_data

    for index, probe in pairs:
        try:
            message = {"index": index, **pack(probe())}
        except (Exception, SystemExit) as error:  # the probe's failure is its verdict
            text = str(error).splitlines()[0][:300] if str(error) else ""
            message = {"index": index, "error": f"{type(error).__name__}: {text}".rstrip(": ")}
        publish_display_data({MIME: message})


AUTOGRAD_PACKAGES = ("torch", "functorch", "jax", "tensorflow", "keras", "autograd")
NO_AUTOGRAD = "torch is not allowed here: backward passes, and the forward passes they use, are NumPy only"


class _OutOfReach:
    """Stands in for an autograd library: any use raises."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise RuntimeError(NO_AUTOGRAD)

    def __call__(self, *args, **kwargs):
        raise RuntimeError(NO_AUTOGRAD)


def _autograd_name(name) -> bool:
    return isinstance(name, str) and name.split(".")[0].startswith(AUTOGRAD_PACKAGES)


def _from_autograd(value) -> bool:
    try:
        names = [type(value).__module__, getattr(value, "__module__", None)]
        if isinstance(value, type(sys)):
            names.append(value.__name__)
        return any(_autograd_name(name) for name in names)
    except Exception:  # a student's object whose attributes raise
        return False


def without_autograd(namespace: dict, call, *args):
    """``call(*args)`` with torch and the other autograd libraries out of reach of the code it
    runs (a probe's tool in a NumPy-only lab): the modules, functions and tensors of
    ``namespace`` (the notebook's globals) that come from them, ``import torch`` and torch's own
    autograd entry points raise until ``call`` returns; then everything is put back."""
    stub = _OutOfReach()
    names = {key: value for key, value in list(namespace.items()) if _from_autograd(value)}
    modules = {key: value for key, value in list(sys.modules.items()) if _autograd_name(key)}
    absent = [key for key in AUTOGRAD_PACKAGES if key not in modules]
    torch = modules.get("torch")  # for code that kept torch somewhere else (a default argument)
    entry_points = [(torch.autograd, "backward"), (torch.autograd, "grad"),
                    (torch.Tensor, "backward")] if torch is not None else []
    originals = [getattr(owner, name) for owner, name in entry_points]
    namespace.update(dict.fromkeys(names, stub))
    sys.modules.update(dict.fromkeys([*modules, *absent], stub))
    try:
        for owner, name in entry_points:
            setattr(owner, name, stub)
        return call(*args)
    finally:
        for (owner, name), original in zip(entry_points, originals):
            setattr(owner, name, original)
        for key in absent:
            sys.modules.pop(key, None)
        sys.modules.update(modules)
        namespace.update(names)


# ---------------------------------------------------------------------------- the judge process


def verdict_for(run: dict) -> dict:
    """Judge one test cell's probe data (in the judge process: ``python -I -m rnnlab.probing``).

    run: {"judges": code, "pairs": [[probe, judge], ...], "messages": {"0": packed or
          {"error": text}, ...}, "problem": why the kernel gave no data or "", "max_bytes": int}
    returns {"passed": bool, "printed": what the judges printed, "message": why it failed}
    A failure says the assertion's message only, never a traceback (no test code leaks).
    """
    printed: list[str] = []
    if run["problem"]:
        return _failed(printed, f"your code could not be tested: {run['problem']}")
    for index, (_, judge) in enumerate(run["pairs"]):
        message = run["messages"].get(str(index))
        if not isinstance(message, dict):
            return _failed(printed, "your code did not hand back the test's data "
                                    "(the kernel stopped or skipped it)")
        if "error" in message:
            return _failed(printed, f"while the test called your code, it raised "
                                    f"{str(message['error'])[:MAX_MESSAGE]}")
        try:
            seen = unpack(message, run["max_bytes"])
        except ProbeDataError as error:
            return _failed(printed, f"the data your code returned cannot be read: {error}")
        try:
            printed.append(run_judge(run["judges"], judge, seen))
        except AssertionError as error:
            return _failed(printed, str(error) or "a test failed")
        except Exception as error:  # a judge meeting data of the wrong kind
            last = traceback.format_exception_only(type(error), error)[-1].strip()
            return _failed(printed, f"what your code returned does not fit the test ({last})")
    return {"passed": True, "printed": "".join(printed)[:MAX_PRINTED], "message": ""}


def _failed(printed: list[str], message: str) -> dict:
    return {"passed": False, "printed": "".join(printed)[:MAX_PRINTED],
            "message": message[:MAX_MESSAGE]}


def main(argv: list[str]) -> None:
    """The judge process: a JSON list of runs on stdin, a JSON list of verdicts on stdout; with
    ``--serve``, one list per line and one answer line each, until stdin closes (the mutation
    suite judges thousands of cells with one process; the grader starts one per notebook)."""
    if argv == ["--serve"]:
        for line in sys.stdin:
            print(json.dumps([verdict_for(run) for run in json.loads(line)]), flush=True)
        return
    runs = json.load(sys.stdin)
    json.dump([verdict_for(run) for run in runs], sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
