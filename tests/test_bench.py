"""The benchmark harness records figures per machine and renders them as markdown."""

import importlib
import json
import types

import bench.__main__ as harness


def test_harness_merges_results_and_writes_markdown(tmp_path, monkeypatch):
    fake = types.SimpleNamespace(run=lambda: {"images_per_s": 42})
    monkeypatch.setattr(harness, "RESULTS", tmp_path)
    monkeypatch.setattr(harness.importlib, "import_module", {"bench.fake": fake}.__getitem__)
    path = harness.run(["fake"])
    harness.run(["fake"])
    data = json.loads(path.read_text())
    assert list(data["benchmarks"]) == ["fake"]
    assert data["benchmarks"]["fake"]["images_per_s"] == 42
    assert data["machine"]["cpus"] >= 1
    assert "| images_per_s | 42 |" in path.with_suffix(".md").read_text()


def test_every_bench_entry_exposes_run():
    for name in harness.entries():
        assert callable(importlib.import_module(f"bench.{name}").run), name
