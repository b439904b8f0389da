"""Run one nbgrader command with the course's configuration, in a child process.

The configuration is built here in Python (no nbgrader_config.py to keep in sync) and handed to
the child as a JSON file, so every nbgrader call of the grader sees the same settings:
  python -m grader.nbgrader_run <config.json> <nbgrader subcommand> [arguments...]
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from .sandbox import judge_policy

AUTOGRADE_STEPS = [
    "grader.pipeline.execute.ProbingExecute",
    "grader.pipeline.judge.JudgeTests",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "grader.outputs.TruncateOutput",
    "grader.scoring.SaveCourseAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

FEEDBACK_STEPS = [
    "nbgrader.preprocessors.GetGrades",
    "grader.term.feedback.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]


def course_config(
    root: Path,
    work_dir: Path,
    course_id: str,
    release_dir: str = "labs",
    grading: dict[str, int] | None = None,
    policy: dict | None = None,
    runtime_root: str = "",
    show_hidden_tests: bool = False,
    late_penalty: dict | None = None,
    db_url: str = "",
) -> dict:
    """nbgrader's traitlets configuration for a course, as a JSON-able dict.

    root:        course root (source folder solutions/ lives there)
    work_dir:    folder of submitted/, autograded/, feedback/ and gradebook.db
    release_dir: release folder, relative to root
    grading:     course.toml [grading] (timeouts); policy: the sandbox policy for autograde
    show_hidden_tests: whether feedback pages show the hidden tests (course.toml [feedback])
    late_penalty: nbgrader's late-penalty settings (grader.term.late.nbgrader_config)
    db_url:      the gradebook (default: gradebook.db in work_dir)
    """
    work = work_dir.relative_to(root) if work_dir.is_relative_to(root) else work_dir
    config = {
        "CourseDirectory": {
            "root": str(root),
            "course_id": course_id,
            "source_directory": "solutions",
            "release_directory": release_dir,
            "submitted_directory": str(work / "submitted"),
            "autograded_directory": str(work / "autograded"),
            "feedback_directory": str(work / "feedback"),
            "db_url": db_url or f"sqlite:///{work_dir / 'gradebook.db'}",
        },
        "GenerateAssignment": {"create_assignment": True},
        "ClearSolutions": {"enforce_metadata": True},
        "LimitOutput": {"max_lines": 1000},
        "Autograde": {"autograde_preprocessors": AUTOGRADE_STEPS, "create_student": True},
    }
    if not show_hidden_tests:
        config["GenerateFeedback"] = {"preprocessors": FEEDBACK_STEPS}
    if grading:
        config["Execute"] = {
            "timeout": grading["cell_timeout_s"],
            "interrupt_on_timeout": True,
            "iopub_timeout": 60,  # a cell printing 100 MB needs a while to drain its output
        }
        config["SandboxedExecute"] = {"notebook_timeout": grading["notebook_timeout_s"],
                                      "output_limit": grading["output_kb_per_cell"] * 1024}
    if policy:
        config["SandboxedKernelManager"] = {"policy": policy, "runtime_root": runtime_root}
        config["JudgeTests"] = {"policy": judge_policy(policy), "runtime_root": runtime_root}
    config.update(late_penalty or {})
    return config


def with_venv_path(env) -> dict:
    """A copy of ``env`` for nbgrader children: PATH starts with this Python's bin/ (nbgrader
    runs `alembic`) and PYTHONPATH with the checkout holding grader/ (nbgrader imports
    grader.sandbox whatever folder it runs in)."""
    env = dict(env)
    bindir = os.path.dirname(sys.executable)
    if env.get("PATH", "").split(os.pathsep)[0] != bindir:
        env["PATH"] = os.pathsep.join([bindir, env.get("PATH", "")])
    checkout = str(Path(__file__).resolve().parent.parent)
    if env.get("PYTHONPATH", "").split(os.pathsep)[0] != checkout:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [checkout, env.get("PYTHONPATH")]))
    return env


def _die_with_parent() -> None:
    """In the child: be killed when the grader dies (Linux), so no orphan keeps grading."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def run(
    config: dict, args: list[str], timeout: float | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """Run ``nbgrader <args>`` with ``config`` in a child process; its log is in stdout/stderr.

    A command that runs past ``timeout`` seconds is killed with everything it started and comes
    back with returncode -9 and "killed after N s" appended to stderr.
    """
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(config, handle)
    cmd = [sys.executable, "-m", "grader.nbgrader_run", handle.name, *args]
    env = with_venv_path(os.environ)
    child = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        errors="replace",  # a kernel may write any bytes to the log
        start_new_session=True, preexec_fn=_die_with_parent,
    )
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        out, err = child.communicate()
        err += f"\nkilled after {timeout:.0f} s"
        child.returncode = -9
    finally:
        Path(handle.name).unlink(missing_ok=True)
    return subprocess.CompletedProcess(cmd, child.returncode, out, err)


def main(argv: list[str]) -> None:
    from nbgrader.apps import NbGraderApp
    from traitlets.config import Config

    config_path, *args = argv
    config = Config(json.loads(Path(config_path).read_text()))
    NbGraderApp.launch_instance(argv=args, config=config)


if __name__ == "__main__":
    main(sys.argv[1:])
