"""Probe inside, judge outside: the plain-data channel, the judge process, the rebuild of a
submission on its release, and fuzzing of what a submission can hold (nothing stops a batch)."""

from __future__ import annotations

import base64
import copy
import io
import json
import random
import string
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from grader import scoring
from grader.collect import repair
from grader.integrity import review, withheld
from grader.pipeline.rebuild import rebuild
from grader.report import compare_with_release
from grader.term.late import parse_timestamp
from rnnlab.judging import ProbeRun, judge, probe_code, request, verdict_outputs
from rnnlab.probing import ProbeDataError, check, decode, encode, pack, split, unpack

REPO = Path(__file__).resolve().parents[1]
RELEASE = REPO / "labs" / "00_getting_started" / "getting_started.ipynb"
SOURCE = REPO / "solutions" / "00_getting_started" / "getting_started.ipynb"
LIMIT = 2**20


def released():
    return nbformat.read(RELEASE, as_version=4)


# ---------------------------------------------------------------------------- plain data


def test_plain_data_round_trips_and_tensors_become_arrays():
    value = {"a": np.arange(6.0).reshape(2, 3), "b": [1, 2.5, float("inf"), None, "x", True],
             "t": torch.ones(2, dtype=torch.bfloat16), "big": 2**70, "nested": ({"k": (1, 2)},)}
    back = unpack(json.loads(json.dumps(pack(value))), LIMIT)
    assert np.array_equal(back["a"], value["a"]) and back["a"].dtype == np.float64
    assert back["b"][:2] == [1, 2.5] and back["b"][2] == float("inf") and back["b"][3:] == [None, "x", True]
    assert back["t"].dtype == np.float32 and back["t"].tolist() == [1.0, 1.0]
    assert back["big"] == 2**70 and back["nested"] == [{"k": [1, 2]}]


@pytest.mark.parametrize("value", [object(), np.array([object()]), {1: 2}, lambda: 0,
                                   np.ma.masked_array([1.0]).view(type("Sub", (np.ndarray,), {}))])
def test_objects_never_leave_the_kernel(value):
    try:
        structure, arrays = encode(value)
    except ProbeDataError:
        return
    assert all(type(a) is np.ndarray for a in arrays.values())  # a subclass comes out plain
    assert decode(structure, arrays) is not value


def test_an_array_subclass_that_agrees_with_everything_leaves_as_its_plain_values():
    class Agreeable(np.ndarray):
        def __array_function__(self, *args, **kwargs):
            return True

        def __eq__(self, other):
            return True

    (structure, arrays) = encode(np.zeros(3).view(Agreeable))
    out = decode(structure, arrays)
    assert type(out) is np.ndarray and not np.allclose(out, [1.0, 2.0, 3.0])


def test_oversized_and_malformed_data_is_refused_not_crashed_on():
    huge = pack(np.zeros(2**20))
    with pytest.raises(ProbeDataError, match="over"):
        unpack(huge, max_bytes=1000)
    for bad in [{}, {"npz": 5}, {"npz": "!!!"}, {"npz": base64.b64encode(b"PK junk").decode()}]:
        with pytest.raises((ProbeDataError, ValueError, OSError)):
            unpack(bad, LIMIT)
    buffer = io.BytesIO()
    np.save(buffer, np.array([1, 2], dtype=object), allow_pickle=True)  # a pickled array
    with pytest.raises((ProbeDataError, ValueError)):
        unpack({"data": {"array": "a0"}, "npz": _npz({"a0.npy": buffer.getvalue()})}, LIMIT)
    for structure in [{"array": "nope"}, {"list": 3}, {"value": [1]}, {"a": 1, "b": 2}, "x"]:
        with pytest.raises(ProbeDataError):
            decode(structure, {})


def _npz(files: dict[str, bytes]) -> str:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return base64.b64encode(buffer.getvalue()).decode()


# ---------------------------------------------------------------------------- test cells and judge


CELL = '''import numpy as np
from rnnlab.probing import check


def probe():
    return {"v": double(np.arange(3.0))}


def judge(seen):
    assert np.allclose(seen["v"], [0.0, 2.0, 4.0]), f"double gave {seen['v']}"
    print("double: right")


check(probe, judge)
'''


def test_a_test_cell_splits_into_kernel_code_and_judges():
    test = split(CELL)
    assert test.pairs == (("probe", "judge"),)
    assert "def judge" not in test.kernel and "assert" not in test.kernel
    assert "def probe" in test.kernel and "check(" not in test.kernel.split("import check")[-1]
    assert "def judge" in test.judges and "def probe" not in test.judges
    assert "emit([(0, probe)])" in probe_code(test)
    assert split("assert 1 + 1 == 2") is None  # an assertion-style cell
    with pytest.raises(ValueError, match="judge_missing"):
        split("def probe():\n    return 1\n\ncheck(probe, judge_missing)\n")


def test_check_runs_probe_and_judge_here_through_the_graders_encoding(capsys):
    namespace = {"double": lambda x: 2 * x}
    exec(CELL, namespace)
    assert "double: right" in capsys.readouterr().out
    namespace = {"double": lambda x: 3 * x}
    with pytest.raises(AssertionError, match="double gave"):
        exec(CELL, namespace)
    with pytest.raises(ProbeDataError):
        check(lambda: {"v": object()}, lambda seen: None)


def _run(messages: dict, problem: str = "") -> dict:
    test = split(CELL)
    run = ProbeRun("test_double", test.judges, list(test.pairs), messages, problem)
    (verdict,) = judge(request([run], LIMIT))
    return verdict


def test_the_judge_process_gives_verdicts_without_tracebacks():
    good = _run({0: {"index": 0, **pack({"v": np.array([0.0, 2.0, 4.0])})}})
    assert good == {"passed": True, "printed": "double: right\n", "message": ""}
    wrong = _run({0: {"index": 0, **pack({"v": np.array([0.0, 3.0, 6.0])})}})
    assert not wrong["passed"] and wrong["message"].startswith("double gave")
    assert "Traceback" not in wrong["message"] and "assert" not in wrong["message"]
    misfit = _run({0: {"index": 0, **pack({"w": 1})}})
    assert not misfit["passed"] and "does not fit the test (KeyError" in misfit["message"]
    raised = _run({0: {"index": 0, "error": "NotImplementedError"}})
    assert raised["message"] == "while the test called your code, it raised NotImplementedError"
    assert "did not hand back" in _run({})["message"]
    assert "time limit" in _run({}, problem="stopped at the time limit for one cell")["message"]
    outputs = verdict_outputs(wrong)
    assert scoring.test_cell_score(nbformat.v4.new_code_cell(
        outputs=outputs, metadata={"nbgrader": {"points": 2}})) == 0
    assert scoring.test_cell_score(nbformat.v4.new_code_cell(
        outputs=verdict_outputs(good), metadata={"nbgrader": {"points": 2}})) == 2


def test_kernel_messages_are_checked_before_they_are_kept():
    run = ProbeRun("t", "", [("probe", "judge")])
    run.take({"index": 0, "npz": "x" * 100}, limit=50)
    assert "over 50 bytes" in run.messages[0]["error"]
    run.take({"index": 0, "npz": ""}, limit=50)
    assert "twice" in run.problem
    for bad in [None, [], {"index": "0"}, {"index": 7}, {"index": True}]:
        fresh = ProbeRun("t", "", [("probe", "judge")])
        fresh.take(bad, limit=50)
        assert fresh.problem == "the kernel sent malformed test data" and not fresh.messages


def test_a_judge_that_cannot_start_fails_every_cell_it_was_given():
    test = split(CELL)
    runs = request([ProbeRun("a", test.judges, list(test.pairs)),
                    ProbeRun("b", test.judges, list(test.pairs))], LIMIT)
    verdicts = judge(runs, wrap=lambda argv: ["/bin/false"])
    assert [v["passed"] for v in verdicts] == [False, False]
    assert all("the judge stopped" in v["message"] for v in verdicts)


# ---------------------------------------------------------------------------- rebuild


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def test_rebuild_takes_metadata_from_the_release_and_only_text_from_the_student():
    release = released()
    mine = copy.deepcopy(release)
    _cell(mine, "softmax").source = "def softmax(s, temperature=1.0):\n    return s\n"
    for cell in mine.cells:
        meta = cell.metadata.setdefault("nbgrader", {}) if cell.cell_type == "code" else cell.metadata
        cell.metadata["tags"] = ["skip-execution", "raises-exception"]
        if meta.get("grade_id", "").startswith("test_"):
            meta.update(points=100, solution=True, locked=False)
    mine.cells.insert(3, nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["skip-execution"]}))
    nb, notes = rebuild(mine, release, LIMIT)
    assert not notes
    assert all("tags" not in c.metadata for c in nb.cells)
    for grade_id in ("test_softmax_row", "test_softmax_batch_temperature"):
        assert _cell(nb, grade_id).metadata == _cell(release, grade_id).metadata
        assert _cell(nb, grade_id).source == _cell(release, grade_id).source
    assert _cell(nb, "softmax").source.startswith("def softmax(s")
    assert nb.cells[3].source == "x = 1" and nb.cells[3].metadata == {}
    assert nb.metadata == release.metadata


def test_rebuild_puts_deleted_graded_cells_back_in_their_place():
    release = released()
    mine = copy.deepcopy(release)
    mine.cells = [c for c in mine.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                  not in ("test_softmax_row", "softmax_question")]
    nb, notes = rebuild(mine, release, LIMIT)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    order = [i for i in ids if i]
    assert order == ["softmax", "test_softmax_row", "test_softmax_batch_temperature", "softmax_question"]
    assert notes == ["graded cell(s) missing, put back from the course's version: test_softmax_row, "
                     "softmax_question"]


def test_rebuild_caps_attachments_and_drops_unknown_cells():
    release = released()
    mine = copy.deepcopy(release)
    written = _cell(mine, "softmax_question")
    written["attachments"] = {"a.png": {"image/png": "A" * (2 * LIMIT)}}
    mine.cells.append(nbformat.from_dict({"cell_type": "widget", "source": "", "metadata": {}}))
    nb, notes = rebuild(mine, release, LIMIT)
    assert "attachments" not in _cell(nb, "softmax_question")
    assert any("attachments of cell(s)" in n for n in notes) and any("widget" in n for n in notes)


# ---------------------------------------------------------------------------- fuzzing


ODD_VALUES = [None, 0, -1, 1e308, float("nan"), True, "", "x" * 10_000, [], ["softmax"], {},
              {"grade_id": "softmax"}, [[{}]], "softmax", "test_softmax_row", "\x1b]0;owned\x07"]


def _fuzzed(rng: random.Random, release) -> dict:
    nb = json.loads(json.dumps(release))
    for cell in rng.sample(nb["cells"], k=rng.randint(1, len(nb["cells"]))):
        what = rng.choice(["meta", "grading", "field", "source", "type", "drop", "copy"])
        grading = cell["metadata"].setdefault("nbgrader", {}) if what == "field" else None
        if what == "meta":
            cell["metadata"] = rng.choice([{}, {"nbgrader": rng.choice(ODD_VALUES)},
                                           {"tags": rng.choice(ODD_VALUES)}])
        elif what == "grading":
            cell["metadata"]["nbgrader"] = rng.choice(ODD_VALUES)
        elif what == "field" and isinstance(grading, dict):
            field = rng.choice(["grade_id", "points", "grade", "solution", "locked"])
            grading[field] = rng.choice(ODD_VALUES)
        elif what == "source":
            cell["source"] = rng.choice(ODD_VALUES + [["a", 1, None]])
        elif what == "type":
            cell["cell_type"] = rng.choice(["code", "markdown", "raw", "widget", 5])
        elif what == "drop":
            nb["cells"].remove(cell)
        else:
            nb["cells"].append(copy.deepcopy(cell))
    return nb


def test_no_submission_content_stops_the_pipeline():
    """300 notebooks with metadata, sources and cell types of every odd type and size: the
    rebuild, the repairs, the comparison with the release and the review scan never raise, and
    the rebuilt notebook is always valid with the release's graded cells exactly once."""
    release, source = released(), nbformat.read(SOURCE, as_version=4)
    graded = sorted(c.metadata["nbgrader"]["grade_id"] for c in release.cells
                    if "nbgrader" in c.metadata)
    rng = random.Random(7)
    for _ in range(300):
        raw = _fuzzed(rng, release)
        nb = nbformat.from_dict(raw)
        repair(nb)
        compare_with_release(nb, release, source)
        rebuilt, _ = rebuild(nb, release, LIMIT)
        nbformat.validate(rebuilt)
        ids = sorted(c.metadata["nbgrader"]["grade_id"] for c in rebuilt.cells if "nbgrader" in c.metadata)
        assert ids == graded
        found = review(rebuilt, source)
        if found.first is not None:
            withheld(rebuilt, found.first)


def test_odd_timestamps_are_unreadable_never_a_crash():
    rng = random.Random(3)
    samples = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "", "\x00" * 50,
               "2026-02-30T00:00:00", "+999999-01-01", "2026-01-01T00:00:00 UTC" * 3]
    samples += ["".join(rng.choice(string.printable) for _ in range(rng.randint(0, 40)))
                for _ in range(300)]
    for text in samples:
        try:
            parse_timestamp(text, "Europe/London")
        except ValueError:
            pass


def test_every_attachment_a_markdown_cell_names_exists_after_the_rebuild():
    """A missing attachment makes nbconvert refuse the whole page: the rebuild puts a stand-in."""
    release = released()
    mine = copy.deepcopy(release)
    _cell(mine, "softmax_question").source = "see ![x](attachment:gone.png) and ![y](attachment:big.png)"
    _cell(mine, "softmax_question")["attachments"] = {"big.png": {"image/png": "A" * (2 * LIMIT)}}
    mine.cells.append(nbformat.v4.new_markdown_cell("![z](attachment:nowhere.png)"))
    nb, _ = rebuild(mine, release, LIMIT)
    assert set(_cell(nb, "softmax_question").attachments) == {"gone.png", "big.png"}
    assert set(nb.cells[-1].attachments) == {"nowhere.png"}
    from nbconvert import HTMLExporter

    HTMLExporter().from_notebook_node(nb)  # renders, no InvalidNotebook


def test_without_autograd_keeps_torch_out_of_reach_then_puts_it_back():
    from rnnlab.probing import without_autograd

    namespace = {"torch": torch, "np": np, "ones": torch.ones}

    def imports_torch():
        import torch as hidden

        return hidden.ones(2)

    total = torch.tensor([1.0], requires_grad=True).sum()  # made before: only its backward runs
    for call in (lambda: namespace["torch"].ones(2), lambda: namespace["ones"](2), imports_torch,
                 total.backward):
        with pytest.raises(RuntimeError, match="NumPy only"):
            without_autograd(namespace, call)
    assert np.array_equal(without_autograd(namespace, lambda: np.ones(2)), [1.0, 1.0])
    assert namespace["torch"] is torch and namespace["ones"] is torch.ones
    torch.tensor([1.0], requires_grad=True).sum().backward()  # autograd is back
