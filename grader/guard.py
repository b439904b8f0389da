"""Put the testing machinery back before each autograded test cell (runs inside the kernel).

The test cells run in the interpreter the student's code has prepared, and that interpreter can
be made to lie: a patched `np.allclose`, an IPython AST or input transformer that rewrites
`assert`, a `post_run_cell` hook, a replaced `print` or display hook. The grader sends this file's
source to the kernel before the first cell (`install`, a snapshot taken before any student code
runs) and calls `reset` silently before every test cell it scores. Standard library only.

Restored by `reset`:
  - the functions of the snapshotted modules (numpy, numpy.testing, math, torch, torch.testing)
    and the methods of torch.Tensor;
  - `builtins`, the notebook's `__builtins__`, sys.displayhook/excepthook/stdout/stderr, no trace
    or profile function;
  - IPython: the shell's and kernel's classes, methods shadowed on the instances, the input and
    AST transformers, the event callbacks (pre/post_run_cell), the display hook and publisher.
It cannot undo what Python cannot see (C-level patches through ctypes, a rewritten guard): the
grader flags submissions whose code reaches for that machinery for a person to review.
"""

import builtins
import importlib
import sys
import types


def _copy_lists(obj, names):
    return {name: list(getattr(obj, name)) for name in names}


def _restore_lists(obj, saved):
    """Put each saved list back in place (IPython shares some of them between objects)."""
    for name, value in saved.items():
        current = getattr(obj, name, None)
        if type(current) is list:
            current[:] = value
        else:
            setattr(obj, name, list(value))


def install(module_names):
    """Snapshot the machinery; `sys.modules['_grader_guard'].reset()` restores it later."""
    shell = sys.modules["IPython"].get_ipython()
    modules = {}
    for name in module_names:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        modules[module] = dict(vars(module))
    classes = {cls: dict(vars(cls)) for obj in (shell, shell.kernel) for cls in type(obj).__mro__
               if cls.__module__.split(".")[0] in ("IPython", "ipykernel")}
    torch = sys.modules.get("torch")
    if torch is not None:
        classes[torch.Tensor] = dict(vars(torch.Tensor))
    manager = shell.input_transformer_manager
    state = {
        "shell": _copy_lists(shell, ["ast_transformers", "input_transformers_post"]),
        "manager": _copy_lists(manager, ["cleanup_transforms", "line_transforms",
                                         "token_transformers"]),
        "callbacks": {event: list(hooks) for event, hooks in shell.events.callbacks.items()},
        "instances": {id(obj): set(vars(obj)) for obj in (shell, shell.kernel)},
        "objects": {name: getattr(shell, name) for name in ("displayhook", "display_pub", "events",
                                                            "input_transformer_manager")},
        "sys": {name: getattr(sys, name) for name in ("displayhook", "excepthook", "stdout",
                                                       "stderr")},
        "builtins": dict(vars(builtins)),
    }

    def reset():
        for module, saved in modules.items():
            _restore_namespace(vars(module), saved, setter=lambda k, v, m=module: setattr(m, k, v))
        for cls, saved in classes.items():
            for name, value in saved.items():
                if cls.__dict__.get(name, _MISSING) is not value:
                    type.__setattr__(cls, name, value)
            for name in set(cls.__dict__) - set(saved):
                type.__delattr__(cls, name)
        for obj in (shell, shell.kernel):
            for name in set(vars(obj)) - state["instances"][id(obj)]:
                if callable(getattr(type(obj), name, None)):
                    object.__delattr__(obj, name)
        for name, value in state["objects"].items():
            setattr(shell, name, value)
        _restore_lists(shell, state["shell"])
        _restore_lists(shell.input_transformer_manager, state["manager"])
        shell.events.callbacks = {event: list(hooks) for event, hooks in state["callbacks"].items()}
        for name, value in state["sys"].items():
            setattr(sys, name, value)
        _restore_namespace(vars(builtins), state["builtins"],
                           setter=lambda k, v: setattr(builtins, k, v))
        shell.user_ns["__builtins__"] = builtins
        sys.settrace(None)
        sys.setprofile(None)

    guard = types.ModuleType("_grader_guard")
    guard.reset = reset
    sys.modules["_grader_guard"] = guard


_MISSING = object()


def _restore_namespace(current, saved, setter):
    """Put back every name of ``saved`` whose value in ``current`` changed or disappeared."""
    for name, value in saved.items():
        if current.get(name, _MISSING) is not value:
            setter(name, value)
