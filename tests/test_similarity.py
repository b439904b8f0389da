"""python -m grader similarity: a planted copy among honest answers to lab 04 comes out on top.

The class is built from lab 04's released notebook: six honest students who answered five cells
each in their own way, a student ``gus`` and ``hal`` who copied gus (names changed, comments
rewritten, harmless lines reordered, the written answer lightly reworded), two blank notebooks
and two students who kept only the given code, re-typing a def line. Nothing is executed.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader.course import load_course
from grader.term.similarity import Cell, compare, extract, similarity_report

REPO = Path(__file__).resolve().parents[1]
LAB = "04_captioning_rnn_numpy"
NOTEBOOK = "captioning_rnn_numpy.ipynb"
HONEST = ["ada", "ben", "chen", "dana", "eli", "fay"]
HONEST_MAX = 0.3  # no honest pair may score this much
STUB = re.compile(r"^( *)# YOUR CODE HERE\n *raise NotImplementedError\(\)$", re.MULTILINE)

ANSWERS = {
    "ada": {
        "rnn_step_forward": """
next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
cache = (x, prev_h, Wx, Wh, next_h)""",
        "rnn_step_backward": """
x, prev_h, Wx, Wh, next_h = cache
da = dnext_h * (1 - next_h ** 2)
dx = da @ Wx.T
dprev_h = da @ Wh.T
dWx = x.T @ da
dWh = prev_h.T @ da
db = da.sum(axis=0)""",
        "rnn_forward": """
N, T, _ = x.shape
h = np.zeros((N, T, h0.shape[1]))
cache = []
prev_h = h0
for t in range(T):
    prev_h, step_cache = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
    h[:, t, :] = prev_h
    cache.append(step_cache)""",
        "forget_gate_backward": """
f = sigmoid(a_f)
da_f = dc * prev_c * f * (1 - f)""",
        "char_vs_word": """A character model has a tiny vocabulary, so its embedding and output layers are
small and it never meets an unknown word. The price is length: captions become many more steps
long, so the model must carry the image information much further and training is slower.""",
    },
    "ben": {
        "rnn_step_forward": """
activation = x.dot(Wx) + prev_h.dot(Wh) + b
next_h = np.tanh(activation)
cache = x, prev_h, Wx, Wh, next_h""",
        "rnn_step_backward": """
x, prev_h, Wx, Wh, next_h = cache
grad_act = (1.0 - np.square(next_h)) * dnext_h
dx, dprev_h = grad_act.dot(Wx.T), grad_act.dot(Wh.T)
dWx, dWh = x.T.dot(grad_act), prev_h.T.dot(grad_act)
db = np.sum(grad_act, axis=0)""",
        "rnn_forward": """
states, caches = [], []
current = h0
for step in range(x.shape[1]):
    current, c = rnn_step_forward(x[:, step], current, Wx, Wh, b)
    states.append(current)
    caches.append(c)
h = np.stack(states, axis=1)
cache = caches""",
        "forget_gate_backward": """
gate = 1 / (1 + np.exp(-a_f))
da_f = dc * prev_c * gate * (1 - gate)""",
        "char_vs_word": """Advantage: no <UNK> token is ever needed, since any word can be spelled letter
by letter, and the softmax runs over about 30 symbols only.

Disadvantage: sequences are roughly five times longer, so gradients have to flow back through many
more time steps, and they vanish on the way.""",
    },
    "chen": {
        "rnn_step_forward": """
pre = np.matmul(x, Wx)
pre += np.matmul(prev_h, Wh)
pre += b
next_h = np.tanh(pre)
cache = {"x": x, "h": prev_h, "Wx": Wx, "Wh": Wh, "out": next_h}""",
        "rnn_step_backward": """
local = dnext_h * (1 - cache["out"] * cache["out"])
dx = np.matmul(local, cache["Wx"].T)
dWx = np.matmul(cache["x"].T, local)
dprev_h = np.matmul(local, cache["Wh"].T)
dWh = np.matmul(cache["h"].T, local)
db = local.sum(0)""",
        "rnn_forward": """
T = x.shape[1]
h = np.empty(x.shape[:2] + h0.shape[1:])
cache = [None] * T
state = h0
t = 0
while t < T:
    state, cache[t] = rnn_step_forward(x[:, t], state, Wx, Wh, b)
    h[:, t] = state
    t += 1""",
        "forget_gate_backward": """
s = sigmoid(a_f)
df = prev_c * dc
da_f = df * s * (1.0 - s)""",
        "char_vs_word": """With characters, V is a few dozen instead of thousands, which cuts the
parameters of W_embed and W_vocab. But the network has to learn spelling before grammar, it may
invent words that do not exist, and it needs more data.""",
    },
    "dana": {
        "rnn_step_forward": """
z = np.dot(prev_h, Wh) + np.dot(x, Wx) + b[None, :]
next_h = 1 - 2 / (np.exp(2 * z) + 1)  # tanh written out
cache = [next_h, x, prev_h, Wx, Wh]""",
        "rnn_step_backward": """
next_h, x, prev_h, Wx, Wh = cache
dz = dnext_h - dnext_h * next_h * next_h
db = dz.sum(axis=0)
dWh = np.dot(prev_h.T, dz)
dWx = np.dot(x.T, dz)
dprev_h = np.dot(dz, Wh.T)
dx = np.dot(dz, Wx.T)""",
        "rnn_forward": """
xs = np.transpose(x, (1, 0, 2))
outs, cache = [], []
h_t = h0
for x_t in xs:
    h_t, c_t = rnn_step_forward(x_t, h_t, Wx, Wh, b)
    outs.append(h_t)
    cache.append(c_t)
h = np.transpose(np.array(outs), (1, 0, 2))""",
        "forget_gate_backward": """
e = np.exp(-a_f)
da_f = dc * prev_c * e / (1 + e) ** 2""",
        "char_vs_word": """Pro: rare words, names and typos can all be written. Con: every caption turns
into a long string of letters, which makes each training step and each sample more expensive and
long-range dependencies harder to learn.""",
    },
    "eli": {
        "rnn_step_forward": """
hidden = np.einsum("nd,dh->nh", x, Wx) + np.einsum("nk,kh->nh", prev_h, Wh)
next_h = np.tanh(hidden + b)
cache = (x, prev_h, Wx, Wh, next_h)""",
        "rnn_step_backward": """
x, prev_h, Wx, Wh, next_h = cache
dhidden = dnext_h * (1 - next_h**2)
dWx = np.einsum("nd,nh->dh", x, dhidden)
dWh = np.einsum("nk,nh->kh", prev_h, dhidden)
dx = np.einsum("nh,dh->nd", dhidden, Wx)
dprev_h = np.einsum("nh,kh->nk", dhidden, Wh)
db = dhidden.sum(axis=0)""",
        "rnn_forward": """
cache = list()
hs = [h0]
for i in range(x.shape[1]):
    nxt, step = rnn_step_forward(x[:, i, :], hs[-1], Wx, Wh, b)
    hs.append(nxt)
    cache.append(step)
h = np.stack(hs[1:], axis=1)""",
        "forget_gate_backward": """
sig = sigmoid(a_f)
dsig = sig - sig ** 2
da_f = np.multiply(dsig, dc * prev_c)""",
        "char_vs_word": """Good: a small output layer and a cheap softmax, because the alphabet is small.
Bad: the first word generated is far from the last one in time steps, which strains the memory of
the hidden state; spelling mistakes also appear.""",
    },
    "fay": {
        "rnn_step_forward": """
joint = np.concatenate([x, prev_h], axis=1)
weights = np.concatenate([Wx, Wh], axis=0)
next_h = np.tanh(joint @ weights + b)
cache = (joint, weights, next_h, x.shape[1])""",
        "rnn_step_backward": """
joint, weights, next_h, split = cache
dpre = dnext_h * (1 - next_h) * (1 + next_h)
djoint = dpre @ weights.T
dweights = joint.T @ dpre
dx, dprev_h = djoint[:, :split], djoint[:, split:]
dWx, dWh = dweights[:split], dweights[split:]
db = dpre.sum(axis=0)""",
        "rnn_forward": """
N, T, D = x.shape
h = np.zeros((N, T, Wh.shape[0]), dtype=x.dtype)
cache = {}
for t in range(T):
    h_prev = h0 if t == 0 else h[:, t - 1]
    h[:, t], cache[t] = rnn_step_forward(x[:, t], h_prev, Wx, Wh, b)""",
        "forget_gate_backward": """
da_f = dc * prev_c * sigmoid(a_f) * sigmoid(-a_f)""",
        "char_vs_word": """Words outside the training vocabulary stop being a problem with characters.
On the other hand the number of recurrent steps grows by the average word length, so training and
generation get slower and long dependencies get harder to learn.""",
    },
    "gus": {
        "rnn_step_forward": """
# affine part of the step, then the squashing
affine = prev_h @ Wh + x @ Wx + b
next_h = np.tanh(affine)
cache = (x, prev_h, Wx, Wh, next_h, affine)""",
        "rnn_step_backward": """
x, prev_h, Wx, Wh, next_h, affine = cache
# tanh' = 1 - tanh^2
daffine = (1 - next_h * next_h) * dnext_h
db = np.sum(daffine, axis=0)
dx = daffine @ Wx.T
dWx = x.T @ daffine
dprev_h = daffine @ Wh.T
dWh = prev_h.T @ daffine""",
        "rnn_forward": """
hidden_size = Wh.shape[0]
h = np.zeros(x.shape[:2] + (hidden_size,))
cache = []
state = h0
for t, x_t in enumerate(np.moveaxis(x, 1, 0)):
    # one step at a time, keeping each step's cache
    state, c = rnn_step_forward(x_t, state, Wx, Wh, b)
    cache.append(c)
    h[:, t] = state""",
        "forget_gate_backward": """
forget = sigmoid(a_f)
# chain rule through c_t = f * c_{t-1} + i * g
da_f = (dc * prev_c) * forget * (1 - forget)""",
        "char_vs_word": """The main benefit of a character level model is that the vocabulary is only a
few dozen symbols, so the embedding matrix and the final projection are very small and there are no
unknown words at all. The main drawback is that every caption becomes about five times longer, so
the information from the image has to survive many more recurrent steps and the gradients vanish
more easily.""",
    },
}
# hal copied gus: names changed, comments rewritten, independent lines swapped, words replaced.
DISGUISE = {
    "rnn_step_forward": ([("# affine part of the step, then the squashing", "# pre-activation, then tanh")],
                         {"affine": "s"}),
    "rnn_step_backward": ([("# tanh' = 1 - tanh^2\n", ""),
                           (" * dnext_h\n", " * dnext_h  # derivative of tanh\n"),
                           ("db = np.sum(daffine, axis=0)\n", ""),
                           ("dWx = x.T @ daffine\n", "dWx = x.T @ daffine\ndb = np.sum(daffine, axis=0)\n")],
                          {"affine": "s", "daffine": "ds"}),
    "rnn_forward": ([("    # one step at a time, keeping each step's cache\n", ""),
                     ("cache = []\nstate = h0", "state = h0\ncache = []"),
                     ("    cache.append(c)\n    h[:, t] = state",
                      "    h[:, t] = state\n    cache.append(c)")],
                    {"hidden_size": "size", "state": "current", "c": "step_cache", "t": "j", "x_t": "xj"}),
    "forget_gate_backward": ([("# chain rule through c_t = f * c_{t-1} + i * g",
                               "# product rule, then the sigmoid's derivative")], {"forget": "fg"}),
    "char_vs_word": ([("benefit", "advantage"), ("final", "output"), ("every caption", "each caption"),
                      ("has to", "must"), ("and the gradients", "and gradients"),
                      ("easily.", 'easily. <script>alert("hal")</script>')], {}),
}


def disguise(text: str, edits: list[tuple[str, str]], renames: dict[str, str]) -> str:
    """``text`` with each edit (old, new) made once and each name renamed everywhere."""
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return re.sub(r"\b\w+\b", lambda name: renames.get(name.group(), name.group()), text)


ANSWERS["hal"] = {cell: disguise(ANSWERS["gus"][cell], *how) for cell, how in DISGUISE.items()}
# Kept only the given code: removed the stub lines and re-typed the def line with other spacing.
GIVEN_ONLY = {"rnn_step_forward": "def rnn_step_forward( x, prev_h, Wx, Wh, b ):\n    pass"}


def fill(cell, answer: str) -> str:
    """The released cell with its stub replaced by ``answer`` (indented like the stub)."""
    if cell.cell_type == "markdown":
        return answer
    match = STUB.search(cell.source)
    assert match, f"no '# YOUR CODE HERE' stub in {cell.metadata.nbgrader.grade_id}: has lab 04 changed?"
    body = "\n".join(match.group(1) + line for line in answer.strip("\n").splitlines())
    return cell.source[:match.start()] + body + cell.source[match.end():]


def retyped(cell, answer: str) -> str:
    """The released cell without its stub lines, its def line replaced by ``answer``'s first line
    and ``answer``'s other lines appended."""
    first, *rest = answer.splitlines()
    kept = [line for line in cell.source.splitlines()[1:]
            if line.strip() not in ("# YOUR CODE HERE", "raise NotImplementedError()")]
    return "\n".join([first, *kept, *rest])


def write_student(folder: Path, answers: dict[str, str], edit=fill) -> None:
    """folder/<lab>/<nb>: the released notebook with ``answers`` (grade_id -> text) filled in."""
    nb = nbformat.read(REPO / "labs" / LAB / NOTEBOOK, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = edit(cell, answers[grade_id])
    (folder / LAB).mkdir(parents=True)
    nbformat.write(nb, folder / LAB / NOTEBOOK)


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The report of the whole class, written by similarity_report into a throwaway course."""
    root = tmp_path_factory.mktemp("course")
    shutil.copyfile(REPO / "course.toml", root / "course.toml")
    for kind in ("solutions", "labs"):
        shutil.copytree(REPO / kind / LAB, root / kind / LAB)
    submitted = root / "course_work" / "submitted"
    for student, answers in ANSWERS.items():
        write_student(submitted / student, answers)
    for student in ("blank1", "blank2"):
        write_student(submitted / student, {})
    for student in ("given1", "given2"):
        write_student(submitted / student, GIVEN_ONLY, edit=retyped)
    (submitted / "zed" / LAB).mkdir(parents=True)
    (submitted / "zed" / LAB / NOTEBOOK).write_text("{not json")
    before = tree(root)
    page = similarity_report(load_course(root), LAB, top=10)
    with page.with_suffix(".csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    scores = {frozenset((row["student_a"], row["student_b"])): float(row["score"]) for row in rows}
    return {"root": root, "page": page, "scores": scores, "rows": rows, "before": before}


def test_planted_copy_is_the_top_pair_by_a_clear_margin(report):
    first, second = report["rows"][:2]
    assert {first["student_a"], first["student_b"]} == {"gus", "hal"}, report["rows"][:3]
    assert float(first["score"]) > 0.6
    assert float(first["score"]) > 2 * float(second["score"]), report["rows"][:3]
    assert "rnn_step_backward" in first["cells"] and "char_vs_word" in first["cells"]


def test_honest_pairs_stay_low(report):
    honest = HONEST + ["gus"]
    for a in honest:
        for b in honest:
            if a < b:
                assert report["scores"][frozenset((a, b))] < HONEST_MAX, (a, b)


def test_blank_and_given_only_submissions_match_nobody(report):
    for pair, score in report["scores"].items():
        if pair & {"blank1", "blank2", "given1", "given2"}:
            assert score == 0, sorted(pair)


def test_given_lines_are_removed_from_an_answer():
    released = nbformat.read(REPO / "labs" / LAB / NOTEBOOK, as_version=4)
    source = next(cell for cell in released.cells
                  if cell.metadata.get("nbgrader", {}).get("grade_id") == "rnn_step_forward").source
    cell = Cell(NOTEBOOK, "rnn_step_forward", "rnn_step_forward", True, source)
    assert extract(source, cell).tokens == ()
    own = extract(source.replace("raise NotImplementedError()", "next_h = np.tanh(x @ Wx)"), cell)
    assert own.lines == ("    next_h = np.tanh(x @ Wx)",)


def test_renaming_and_comments_do_not_hide_a_copy():
    cell = Cell(NOTEBOOK, "q", "q", True, "")
    original = extract("total = np.sum(values * weights)  # weighted\nreturn total", cell)
    renamed = extract("# sum it\ns = np.sum(v*w)\n\nreturn s", cell)
    assert original.tokens == renamed.tokens
    assert "sum" in original.tokens  # attribute names are not renamed
    assert compare(cell, original, renamed, set()).score == 1.0


def test_an_unreadable_notebook_is_listed_not_compared(report):
    assert "zed/04_captioning_rnn_numpy/captioning_rnn_numpy.ipynb: not a valid notebook" in \
        report["page"].read_text()
    assert not any("zed" in pair for pair in report["scores"])


def test_report_escapes_student_text(report):
    page = report["page"].read_text()
    assert "&lt;script&gt;alert(&quot;hal&quot;)&lt;/script&gt;" in page
    assert "<script" not in page.lower() and "href" not in page.lower()
    assert "<mark>" in page


def test_only_the_report_files_are_written(report):
    after = tree(report["root"])
    new = sorted(set(after) - set(report["before"]))
    assert new == ["course_work/similarity/04_captioning_rnn_numpy.csv",
                   "course_work/similarity/04_captioning_rnn_numpy.html"]
    assert all(after[path] == data for path, data in report["before"].items())


def test_unknown_lab_and_missing_submissions_say_what_to_do(report, tmp_path):
    course = load_course(report["root"])
    with pytest.raises(ValueError, match="unknown lab"):
        similarity_report(course, "99_nothing")
    with pytest.raises(ValueError, match="grader grade"):
        similarity_report(course, LAB, source=tmp_path / "absent")
    (tmp_path / "ada").mkdir()
    with pytest.raises(ValueError, match="at least two"):
        similarity_report(course, LAB, source=tmp_path)


def test_similarity_command_writes_the_report(report):
    done = subprocess.run([sys.executable, "-m", "grader", "--course", str(report["root"]),
                           "similarity", "--lab", LAB, "--top", "3"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"similarity report: {report['page']}" in done.stdout
    assert len(re.findall(r"<h2>\d+\. ", report["page"].read_text())) == 3
