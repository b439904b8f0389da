"""The benchmark harness runs each entry in its own process, records figures per machine and
renders them as markdown; a crashing entry is reported and the others still run."""

import importlib
import json

import bench.__main__ as harness

ENTRIES = {
    "fast": "def run():\n    return {'images_per_s': 42}\n",
    "segfault": "import os, signal\n\ndef run():\n    os.kill(os.getpid(), signal.SIGSEGV)\n",
    "after": "def run():\n    return {'words_per_s': 7}\n",
}


def test_harness_isolates_entries_merges_results_and_writes_markdown(tmp_path, monkeypatch):
    package = tmp_path / "fakebench"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, source in ENTRIES.items():
        (package / f"{name}.py").write_text(source)
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}:{harness.HERE.parent}")
    monkeypatch.setattr(harness, "RESULTS", tmp_path / "results")
    path, failed = harness.run(["fast"], package="fakebench")
    assert failed == []
    path, failed = harness.run(["fast", "segfault", "after"], package="fakebench")
    assert failed == ["segfault"]
    data = json.loads(path.read_text())
    assert sorted(data["benchmarks"]) == ["after", "fast"]
    assert data["benchmarks"]["fast"]["images_per_s"] == 42
    assert data["benchmarks"]["after"]["words_per_s"] == 7
    assert data["machine"]["cpus"] >= 1 and data["machine"]["cpu_model"]
    assert len(data["benchmarks"]["fast"]["load_1min_before_after"]) == 2
    assert "| images_per_s | 42 |" in path.with_suffix(".md").read_text()


def test_every_bench_entry_exposes_run():
    for name in harness.entries():
        assert callable(importlib.import_module(f"bench.{name}").run), name


def test_run_notebook_changes_set_up_values_and_reads_back_figures(tmp_path):
    import nbformat

    from bench._notebook import run_notebook

    folder = tmp_path / "lab"
    folder.mkdir()
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from rnnlab import runtime\nruntime.setup(seed=0)\nN = 3"),
        nbformat.v4.new_code_cell("import numpy as np\nsquares = np.arange(N) ** 2\n"
                                  "profile = runtime.profile()"),
    ])
    nbformat.write(nb, folder / "lab.ipynb")
    figures = run_notebook(folder / "lab.ipynb", {"total": "squares.sum()", "profile": "profile",
                                                  "squares": "squares.tolist()"},
                           profile="test", settings="N = 5")
    assert figures["total"] == 30 and figures["squares"] == [0, 1, 4, 9, 16]
    assert figures["profile"] == "test" and figures["wall_s"] >= 0
    assert nbformat.read(folder / "lab.ipynb", as_version=4).cells[0].outputs == []  # a copy ran
