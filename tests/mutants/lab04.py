"""Lab 04: plausible wrong answers and correct variants for every autograded exercise."""
from mutation import Equivalent, Mutant

LAB = "04_captioning_rnn_numpy"
# answer cell grade_id -> the test cells (grade_ids) that grade it
EXERCISES = {
    "rnn_step_forward": ("test_rnn_step_forward",),
    "rnn_step_backward": ("test_rnn_step_backward",),
    "rnn_forward": ("test_rnn_forward", "test_rnn_matches_torch"),
    "rnn_backward": ("test_rnn_backward",),
    "word_embedding_forward": ("test_word_embedding_forward",),
    "word_embedding_backward": ("test_word_embedding_backward",),
    # the LSTM branch of the model's loss is graded in section 8
    "captioning_rnn": ("test_captioning_loss_value", "test_captioning_gradients",
                       "test_overfit_rnn", "test_lstm_backward"),
    # so is LSTM sampling
    "sample_captions": ("test_sample", "test_lstm_forward"),
    "lstm_step_forward": ("test_lstm_step_forward",),
    "forget_gate_backward": ("test_forget_gate_backward",),
    "lstm_step_backward": ("test_lstm_step_backward",),
    "lstm_forward": ("test_lstm_forward", "test_lstm_backward"),
}

_RNN_BACKWARD_LOOP = """\
        dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dprev_h, cache[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    dh0 = dprev_h
"""
_LOSS_BACKWARD = """\
        backward = rnn_backward if self.cell_type == "rnn" else lstm_backward
        dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = backward(dh, rnn_cache)
"""
_SAMPLE_STEP = """\
        x = p["W_embed"][words]
        if model.cell_type == "rnn":
            h, _ = rnn_step_forward(x, h, p["Wx"], p["Wh"], p["b"])
        else:
            h, c, _ = lstm_step_forward(x, h, c, p["Wx"], p["Wh"], p["b"])
        words = np.argmax(h @ p["W_vocab"] + p["b_vocab"], axis=1)
        captions[:, t] = words
"""
_LSTM_GATES = """\
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
"""
_LSTM_FORWARD_LOOP = """\
    cache = []
    for t in range(T):
        prev_h, prev_c, step_cache = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        h[:, t] = prev_h
        cache.append(step_cache)
"""

_SOFTMAX_LOSS = "        loss, dscores = temporal_softmax_loss(scores, captions_out, mask)\n"
_HAND_SOFTMAX = """\
        shifted = scores - scores.max(axis=2, keepdims=True)
        probs = np.exp(shifted) / np.exp(shifted).sum(axis=2, keepdims=True)
        n, t = np.indices(captions_out.shape)
        loss = -np.sum(mask * np.log(probs[n, t, captions_out])) / len(features)
        dscores = probs.copy()
        dscores[n, t, captions_out] -= 1
        dscores *= mask[:, :, None] / len(features)
"""
_FORGET_DEF = '''def forget_gate_backward(dc, prev_c, a_f):
    """Gradient of the loss with respect to the forget gate's pre-activation.

    dc:     (N, H) dL/dc_t, the whole gradient reaching the new cell state
    prev_c: (N, H) the previous cell state c_{t-1}
    a_f:    (N, H) the forget block of a: f = sigmoid(a_f), c_t = f * c_{t-1} + i * g
    returns: da_f: (N, H)
    """
    ### BEGIN SOLUTION
'''
_FORGET_BODY = """\
    f = sigmoid(a_f)
    da_f = dc * prev_c * f * (1 - f)
"""
_LSTM_BACKWARD_STEP = """\
        dx[:, t], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(
            dh[:, t] + dprev_h, dprev_c, cache[t])
"""

# the real grader also grades this one (killed by the LSTM sampling check of test_lstm_forward)
GRADER_SAMPLE = 38

MUTANTS = [
    # rnn_step_forward
    Mutant("rnn_step_forward", "bias forgotten",
           old="np.tanh(x @ Wx + prev_h @ Wh + b)", new="np.tanh(x @ Wx + prev_h @ Wh)"),
    Mutant("rnn_step_forward", "hidden-to-hidden weight transposed",
           old="prev_h @ Wh + b", new="prev_h @ Wh.T + b"),
    Mutant("rnn_step_forward", "sigmoid instead of tanh",
           old="next_h = np.tanh(x @ Wx + prev_h @ Wh + b)",
           new="next_h = sigmoid(x @ Wx + prev_h @ Wh + b)"),
    Mutant("rnn_step_forward", "previous hidden state ignored",
           old="np.tanh(x @ Wx + prev_h @ Wh + b)", new="np.tanh(x @ Wx + b)"),
    # rnn_step_backward
    Mutant("rnn_step_backward", "tanh derivative written as 1 - h",
           old="(1 - next_h**2)", new="(1 - next_h)"),
    Mutant("rnn_step_backward", "tanh derivative applied to the output again: 1 - tanh(h)^2",
           old="(1 - next_h**2)", new="(1 - np.tanh(next_h)**2)"),
    Mutant("rnn_step_backward", "tanh derivative forgotten in dprev_h",
           old="dprev_h = da @ Wh.T", new="dprev_h = dnext_h @ Wh.T"),
    Mutant("rnn_step_backward", "dWh transposed",
           old="dWh = prev_h.T @ da", new="dWh = da.T @ prev_h"),
    Mutant("rnn_step_backward", "bias gradient summed over the wrong axis",
           old="db = da.sum(axis=0)", new="db = da.sum(axis=1)"),
    # rnn_forward
    Mutant("rnn_forward", "hidden state not carried: every step starts from h0",
           old="rnn_step_forward(x[:, t], prev_h,", new="rnn_step_forward(x[:, t], h0,"),
    Mutant("rnn_forward", "off by one: stores the state entering each step, not the new one",
           old=("        prev_h, step_cache = rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)\n"
                "        h[:, t] = prev_h\n"),
           new=("        h[:, t] = prev_h\n"
                "        prev_h, step_cache = rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)\n")),
    Mutant("rnn_forward", "h0 overwritten in place: the state is updated with prev_h[:] = ...",
           old="        prev_h, step_cache = rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)\n",
           new=("        next_h, step_cache = rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)\n"
                "        prev_h[:] = next_h\n")),
    Mutant("rnn_forward", "time-major indexing: x[t] instead of x[:, t]",
           old="rnn_step_forward(x[:, t],", new="rnn_step_forward(x[t],"),
    # rnn_backward
    Mutant("rnn_backward", "gradient from the next step not added to dh",
           old="rnn_step_backward(dh[:, t] + dprev_h, cache[t])",
           new="rnn_step_backward(dh[:, t], cache[t])"),
    Mutant("rnn_backward", "dWh overwritten at each step instead of summed",
           old="dWh += dWh_t", new="dWh = dWh_t"),
    Mutant("rnn_backward", "walks forward in time instead of backward",
           old="for t in reversed(range(T)):", new="for t in range(T):"),
    Mutant("rnn_backward", "dh0 taken as the gradient entering step 0, not the one leaving it",
           old=_RNN_BACKWARD_LOOP,
           new=_RNN_BACKWARD_LOOP.replace("dh[:, t] + dprev_h,", "dcurrent,").replace(
               "        dx[:, t]", "        dcurrent = dh[:, t] + dprev_h\n        dx[:, t]").replace(
               "dh0 = dprev_h", "dh0 = dcurrent")),
    # word_embedding_forward
    Mutant("word_embedding_forward", "word ids transposed", old="out = W[x]", new="out = W[x.T]"),
    Mutant("word_embedding_forward", "word ids taken as 1-based", old="out = W[x]",
           new="out = W[x - 1]"),
    Mutant("word_embedding_forward", "one-hot vectors sized by the largest id seen, not by V",
           old="out = W[x]", new="out = np.eye(x.max() + 1)[x] @ W"),
    # word_embedding_backward
    Mutant("word_embedding_backward", "dW[x] += dout: a repeated word keeps one gradient",
           old="np.add.at(dW, x, dout)", new="dW[x] += dout"),
    Mutant("word_embedding_backward", "fancy-index += per time step: repeats within a step lost",
           old="np.add.at(dW, x, dout)",
           new="for t in range(x.shape[1]):\n        dW[x[:, t]] += dout[:, t]"),
    Mutant("word_embedding_backward", "gradient averaged over the batch",
           old="np.add.at(dW, x, dout)", new="np.add.at(dW, x, dout / len(x))"),
    # captioning_rnn: the loss
    Mutant("captioning_rnn", "captions not shifted: each step predicts its own input",
           old="captions_in, captions_out = captions[:, :-1], captions[:, 1:]",
           new="captions_in, captions_out = captions, captions"),
    Mutant("captioning_rnn", "captions shifted the wrong way",
           old="captions_in, captions_out = captions[:, :-1], captions[:, 1:]",
           new="captions_in, captions_out = captions[:, 1:], captions[:, :-1]"),
    Mutant("captioning_rnn", "<NULL> padding counted in the loss (no mask)",
           old="mask = captions_out != self._null",
           new="mask = np.ones(captions_out.shape, dtype=bool)"),
    Mutant("captioning_rnn", "mask computed on the inputs instead of the targets",
           old="mask = captions_out != self._null", new="mask = captions_in != self._null"),
    Mutant("captioning_rnn", "initial hidden state projected without its bias",
           old='h0, proj_cache = affine_forward(features, p["W_proj"], p["b_proj"])',
           new='h0, proj_cache = affine_forward(features, p["W_proj"], 0 * p["b_proj"])'),
    Mutant("captioning_rnn", "loss and gradient averaged over the time steps too",
           old="        loss, dscores = temporal_softmax_loss(scores, captions_out, mask)\n",
           new=("        loss, dscores = temporal_softmax_loss(scores, captions_out, mask)\n"
                "        loss, dscores = loss / mask.shape[1], dscores / mask.shape[1]\n")),
    Mutant("captioning_rnn", "gradient of h0 taken from the first step's output, not from BPTT",
           old='affine_backward(dh0, proj_cache)', new='affine_backward(dh[:, 0], proj_cache)'),
    Mutant("captioning_rnn", "BPTT written by hand that drops the gradient from step t + 1",
           old=_LOSS_BACKWARD,
           new="""\
        if self.cell_type == "lstm":
            dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = lstm_backward(dh, rnn_cache)
        else:
            dx = np.zeros_like(x)
            for name in ("Wx", "Wh", "b"):
                grads[name] = np.zeros_like(p[name])
            for t in reversed(range(x.shape[1])):
                dx[:, t], dh0, dWx, dWh, db = rnn_step_backward(dh[:, t], rnn_cache[t])
                grads["Wx"] += dWx
                grads["Wh"] += dWh
                grads["b"] += db
"""),
    Mutant("captioning_rnn", "the LSTM branch calls rnn_backward",
           old='backward = rnn_backward if self.cell_type == "rnn" else lstm_backward',
           new="backward = rnn_backward"),
    # sample_captions
    Mutant("sample_captions", "sampling feeds <START> at every step (argmax not fed back)",
           old=('        words = np.argmax(h @ p["W_vocab"] + p["b_vocab"], axis=1)\n'
                "        captions[:, t] = words\n"),
           new='        captions[:, t] = np.argmax(h @ p["W_vocab"] + p["b_vocab"], axis=1)\n'),
    Mutant("sample_captions", "sampling starts from a zero state, not from the projected image",
           old='h, _ = affine_forward(features, p["W_proj"], p["b_proj"])',
           new='h = np.zeros((len(features), p["Wh"].shape[0]))'),
    Mutant("sample_captions", "sampling starts from <NULL> instead of <START>",
           old='words = np.full(len(features), model.word_to_idx["<START>"])',
           new='words = np.full(len(features), model.word_to_idx["<NULL>"])'),
    Mutant("sample_captions", "sampling writes the input word: <START> in column 0, one step late",
           old=_SAMPLE_STEP,
           new="        captions[:, t] = words\n" + _SAMPLE_STEP.replace(
               "        captions[:, t] = words\n", "")),
    Mutant("sample_captions", "sampling restarts every step from the image's hidden state",
           old='h, _ = rnn_step_forward(x, h, p["Wx"], p["Wh"], p["b"])',
           new=('h, _ = rnn_step_forward(x, affine_forward(features, p["W_proj"], p["b_proj"])[0],'
                ' p["Wx"], p["Wh"], p["b"])')),
    Mutant("sample_captions", "sampling draws from the softmax with the global RNG instead of argmax",
           old='        words = np.argmax(h @ p["W_vocab"] + p["b_vocab"], axis=1)\n',
           new=("        scores = h @ p[\"W_vocab\"] + p[\"b_vocab\"]\n"
                "        probs = np.exp(scores - scores.max(axis=1, keepdims=True))\n"
                "        probs /= probs.sum(axis=1, keepdims=True)\n"
                "        words = np.array([np.random.choice(len(q), p=q) for q in probs])\n")),
    Mutant("sample_captions", "LSTM sampling does not carry the cell state",
           old='h, c, _ = lstm_step_forward(x, h, c, p["Wx"], p["Wh"], p["b"])',
           new='h, _c, _ = lstm_step_forward(x, h, c, p["Wx"], p["Wh"], p["b"])'),
    # lstm_step_forward
    Mutant("lstm_step_forward", "gate blocks sliced as i, f, g, o (PyTorch's order)",
           old=_LSTM_GATES,
           new=_LSTM_GATES.replace("a[:, 2 * H:3 * H])", "a[:, 3 * H:])").replace(
               "g = np.tanh(a[:, 3 * H:])", "g = np.tanh(a[:, 2 * H:3 * H])")),
    Mutant("lstm_step_forward", "candidate g squashed with sigmoid instead of tanh",
           old="g = np.tanh(a[:, 3 * H:])", new="g = sigmoid(a[:, 3 * H:])"),
    Mutant("lstm_step_forward", "no tanh on the cell state in h",
           old="next_h = o * tanh_c", new="next_h = o * next_c"),
    Mutant("lstm_step_forward", "input and forget gates swapped",
           old="next_c = f * prev_c + i * g", new="next_c = i * prev_c + f * g"),
    # lstm_step_backward
    Mutant("lstm_step_backward", "cell-state gradient dnext_c not carried",
           old="dc = dnext_c + dnext_h * o * (1 - tanh_c**2)",
           new="dc = dnext_h * o * (1 - tanh_c**2)"),
    Mutant("lstm_step_backward", "path from h_t to c_t forgotten",
           old="dc = dnext_c + dnext_h * o * (1 - tanh_c**2)", new="dc = dnext_c"),
    Mutant("lstm_step_backward", "tanh derivative written as 1 - tanh(c)",
           old="(1 - tanh_c**2)", new="(1 - tanh_c)"),
    Mutant("lstm_step_backward", "forget gate missing from dprev_c",
           old="da @ Wh.T, dc * f", new="da @ Wh.T, dc"),
    Mutant("lstm_step_backward", "output gate's gradient taken from dc instead of dnext_h",
           old="dnext_h * tanh_c * o * (1 - o)", new="dc * tanh_c * o * (1 - o)"),
    Mutant("lstm_step_backward", "gradient blocks concatenated as i, f, g, o",
           old="dnext_h * tanh_c * o * (1 - o), dc * i * (1 - g**2)]",
           new="dc * i * (1 - g**2), dnext_h * tanh_c * o * (1 - o)]"),
    # lstm_forward (and lstm_backward, same cell)
    Mutant("lstm_forward", "cell state started at h0 instead of zero",
           old="prev_h, prev_c = h0, np.zeros_like(h0)", new="prev_h, prev_c = h0, h0"),
    Mutant("lstm_forward", "cell state not carried between steps",
           old="lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)",
           new="lstm_step_forward(x[:, t], prev_h, np.zeros_like(h0), Wx, Wh, b)"),
    Mutant("lstm_forward", "returns the cell states instead of the hidden states",
           old="        h[:, t] = prev_h\n", new="        h[:, t] = prev_c\n"),
    Mutant("lstm_forward", "backward: cell-state gradient not carried to the previous step",
           old="dh[:, t] + dprev_h, dprev_c, cache[t])",
           new="dh[:, t] + dprev_h, np.zeros_like(dprev_c), cache[t])"),
    Mutant("lstm_forward", "backward: gradient from the next step not added to dh",
           old="dh[:, t] + dprev_h, dprev_c, cache[t])", new="dh[:, t], dprev_c, cache[t])"),
    Mutant("lstm_forward", "backward: dWx overwritten at each step instead of summed",
           old="dWx += dWx_t", new="dWx = dWx_t"),
    # forget_gate_backward (after the others, so that GRADER_SAMPLE keeps its index)
    Mutant("forget_gate_backward", "sigmoid's derivative forgotten",
           old="da_f = dc * prev_c * f * (1 - f)", new="da_f = dc * prev_c"),
    Mutant("forget_gate_backward", "previous cell state forgotten",
           old="da_f = dc * prev_c * f * (1 - f)", new="da_f = dc * f * (1 - f)"),
    Mutant("forget_gate_backward", "tanh's derivative instead of the sigmoid's",
           old="da_f = dc * prev_c * f * (1 - f)", new="da_f = dc * prev_c * (1 - f**2)"),
    Mutant("forget_gate_backward", "gradient of f, not of a_f: dL/df",
           old="da_f = dc * prev_c * f * (1 - f)", new="da_f = dc * prev_c * f"),
    Mutant("forget_gate_backward", "sigmoid's derivative as sigma(a) * (1 - a)",
           old="da_f = dc * prev_c * f * (1 - f)", new="da_f = dc * prev_c * f * (1 - a_f)"),
    Mutant("forget_gate_backward", "e^-a / (1 + e^-a)^2: nan once e^-a overflows", answer="""\
    e = np.exp(-a_f)
    da_f = dc * prev_c * e / (1 + e) ** 2
"""),
    # --- classes of mistakes the probe-and-judge tests close (after the others: indices kept) ---
    # a batch of one, and sizes the visible tests did not show
    Mutant("rnn_step_forward", "squeezed output: a batch of one gives (H,), not (1, H)",
           old="next_h = np.tanh(x @ Wx + prev_h @ Wh + b)",
           new="next_h = np.squeeze(np.tanh(x @ Wx + prev_h @ Wh + b))"),
    Mutant("word_embedding_forward", "squeezed lookup: one caption (or one step) loses an axis",
           old="out = W[x]", new="out = np.squeeze(W[x])"),
    Mutant("lstm_step_forward", "squeezed states: a batch of one gives (H,)",
           old="next_h = o * tanh_c", new="next_c, next_h = np.squeeze(next_c), np.squeeze(o * tanh_c)"),
    # wide-range inputs
    Mutant("rnn_step_forward", "tanh as (e^a - e^-a) / (e^a + e^-a): nan once |a| > 710",
           old="next_h = np.tanh(x @ Wx + prev_h @ Wh + b)",
           new=("a = x @ Wx + prev_h @ Wh + b\n"
                "    next_h = (np.exp(a) - np.exp(-a)) / (np.exp(a) + np.exp(-a))")),
    Mutant("lstm_step_forward", "sigmoid written as e^a / (1 + e^a): nan once a > 710",
           old=_LSTM_GATES,
           new="""\
    s = np.exp(a[:, :3 * H]) / (1 + np.exp(a[:, :3 * H]))
    i, f, o = s[:, :H], s[:, H:2 * H], s[:, 2 * H:]
    g = np.tanh(a[:, 3 * H:])
"""),
    Mutant("captioning_rnn", "softmax loss written by hand without the max shift: large scores overflow",
           old=_SOFTMAX_LOSS,
           new=_HAND_SOFTMAX.replace("scores - scores.max(axis=2, keepdims=True)", "scores")),
    # torch's autograd standing in for a hand-written backward pass
    Mutant("rnn_step_backward", "torch autograd re-runs the step from the cache", answer="""\
    x, prev_h, Wx, Wh, next_h = cache
    leaves = [torch.tensor(v, requires_grad=True) for v in (x, prev_h, Wx, Wh)]
    a = leaves[0] @ leaves[2] + leaves[1] @ leaves[3]
    b_t = torch.zeros(a.shape[1], dtype=a.dtype, requires_grad=True)
    torch.tanh(a + b_t).backward(torch.from_numpy(dnext_h))
    dx, dprev_h, dWx, dWh = (leaf.grad.numpy() for leaf in leaves)
    db = b_t.grad.numpy()
"""),
    Mutant("word_embedding_backward", "torch's embedding and autograd", answer="""\
    import torch.nn.functional as F

    x, shape = cache
    W = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
    F.embedding(torch.from_numpy(x), W).backward(torch.from_numpy(np.asarray(dout, dtype=np.float64)))
    dW = W.grad.numpy()
"""),
    Mutant("forget_gate_backward", "torch autograd, imported inside the function", answer="""\
    import torch as th

    a = th.tensor(a_f, requires_grad=True)
    (th.sigmoid(a) * th.from_numpy(prev_c)).backward(th.from_numpy(dc))
    da_f = a.grad.numpy()
"""),
    Mutant("forget_gate_backward", "torch kept in a default argument: its autograd, then .numpy()",
           old=_FORGET_DEF + _FORGET_BODY,
           new=_FORGET_DEF.replace("a_f):", "a_f, torch=torch):") + """\
    a = torch.tensor(a_f, requires_grad=True)
    (torch.sigmoid(a) * torch.from_numpy(prev_c)).backward(torch.from_numpy(dc))
    da_f = a.grad.numpy()
"""),
    Mutant("forget_gate_backward", "torch kept in a default argument: tensor maths, a tensor returned",
           old=_FORGET_DEF + _FORGET_BODY,
           new=_FORGET_DEF.replace("a_f):", "a_f, torch=torch):") + """\
    f = torch.sigmoid(torch.from_numpy(a_f))
    da_f = torch.from_numpy(dc * prev_c) * f * (1 - f)
"""),
    Mutant("lstm_step_backward", "torch autograd through the gates, rebuilt from the cached activations",
           answer="""\
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
    H = prev_h.shape[1]
    pre = np.concatenate([np.log(i / (1 - i)), np.log(f / (1 - f)), np.log(o / (1 - o)),
                          np.arctanh(g)], axis=1)
    a = torch.tensor(pre, requires_grad=True)
    gates = torch.sigmoid(a[:, :3 * H])
    c = gates[:, H:2 * H] * torch.from_numpy(prev_c) + gates[:, :H] * torch.tanh(a[:, 3 * H:])
    h = gates[:, 2 * H:] * torch.tanh(c)
    torch.autograd.backward([h, c], [torch.from_numpy(dnext_h), torch.from_numpy(dnext_c)])
    da = a.grad.numpy()
    dx, dprev_h, dprev_c = da @ Wx.T, da @ Wh.T, (dnext_c + dnext_h * o * (1 - tanh_c**2)) * f
    dWx, dWh, db = x.T @ da, prev_h.T @ da, da.sum(axis=0)
"""),
    Mutant("captioning_rnn", "the image projection's gradients from torch autograd",
           old='        _, grads["W_proj"], grads["b_proj"] = affine_backward(dh0, proj_cache)\n',
           new="""\
        W_proj = torch.tensor(p["W_proj"], requires_grad=True)
        b_proj = torch.tensor(p["b_proj"], requires_grad=True)
        (torch.from_numpy(features) @ W_proj + b_proj).backward(torch.from_numpy(dh0))
        grads["W_proj"], grads["b_proj"] = W_proj.grad.numpy(), b_proj.grad.numpy()
"""),
    Mutant("lstm_forward", "lstm_backward: each step's gates differentiated by torch autograd",
           old=_LSTM_BACKWARD_STEP,
           new="""\
        x_t, prev_h, prev_c, Wx_t, Wh_t, i, f, o, g, tanh_c = cache[t]
        pre = np.concatenate([np.log(i / (1 - i)), np.log(f / (1 - f)), np.log(o / (1 - o)),
                              np.arctanh(g)], axis=1)
        a = torch.tensor(pre, requires_grad=True)
        c_prev = torch.tensor(prev_c, requires_grad=True)
        gates = torch.sigmoid(a[:, :3 * H])
        c = gates[:, H:2 * H] * c_prev + gates[:, :H] * torch.tanh(a[:, 3 * H:])
        h = gates[:, 2 * H:] * torch.tanh(c)
        torch.autograd.backward([h, c], [torch.from_numpy(dh[:, t] + dprev_h), torch.from_numpy(dprev_c)])
        da = a.grad.numpy()
        dx[:, t], dprev_h, dprev_c = da @ Wx_t.T, da @ Wh_t.T, c_prev.grad.numpy()
        dWx_t, dWh_t, db_t = x_t.T @ da, prev_h.T @ da, da.sum(axis=0)
"""),
]

EQUIVALENTS = [
    Equivalent("rnn_step_forward", "tanh from exponentials (overflows with a warning, still right)",
               answer="""\
    a = x.dot(Wx) + prev_h.dot(Wh) + b
    next_h = 1 - 2 / (np.exp(2 * a) + 1)
    cache = (x, prev_h, Wx, Wh, next_h)
"""),
    Equivalent("rnn_step_backward", "einsum and 1 - h*h written out", answer="""\
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h - dnext_h * next_h * next_h
    dx = np.einsum("nh,dh->nd", da, Wx)
    dprev_h = np.einsum("nh,kh->nk", da, Wh)
    dWx = np.einsum("nd,nh->dh", x, da)
    dWh = np.einsum("nk,nh->kh", prev_h, da)
    db = np.sum(da, axis=0)
"""),
    Equivalent("rnn_forward", "a list of states stacked at the end, time-major loop, progress bar",
               answer="""\
    from tqdm.auto import tqdm

    states, cache, prev_h = [], [], h0
    for x_t in tqdm(x.transpose(1, 0, 2), leave=False):
        prev_h, step_cache = rnn_step_forward(x_t, prev_h, Wx, Wh, b)
        states.append(prev_h)
        cache.append(step_cache)
    h = np.stack(states, axis=1)
"""),
    Equivalent("rnn_backward", "gradients collected in lists and summed at the end", answer="""\
    T = dh.shape[1]
    dxs, dWxs, dWhs, dbs = [], [], [], []
    dnext = np.zeros_like(dh[:, 0])
    for t in range(T - 1, -1, -1):
        dx_t, dnext, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dnext, cache[t])
        dxs.insert(0, dx_t)
        dWxs.append(dWx_t)
        dWhs.append(dWh_t)
        dbs.append(db_t)
    dx, dh0 = np.stack(dxs, axis=1), dnext
    dWx, dWh, db = sum(dWxs), sum(dWhs), sum(dbs)
"""),
    Equivalent("word_embedding_forward", "np.take along the rows", old="out = W[x]",
               new="out = np.take(W, x, axis=0)"),
    Equivalent("word_embedding_forward", "one-hot rows times W", old="out = W[x]",
               new="out = np.eye(W.shape[0])[x] @ W"),
    Equivalent("word_embedding_backward", "a loop over every (n, t)",
               old="np.add.at(dW, x, dout)",
               new="for n, t in np.ndindex(x.shape):\n        dW[x[n, t]] += dout[n, t]"),
    Equivalent("word_embedding_backward", "one-hot matrix product",
               old="np.add.at(dW, x, dout)",
               new="dW += np.eye(shape[0])[x.ravel()].T @ dout.reshape(-1, shape[1])"),
    Equivalent("captioning_rnn", "h0's gradients by hand and dh masked before the RNN backward",
               old=_LOSS_BACKWARD + """\
        grads["W_embed"] = word_embedding_backward(dx, embed_cache)
        _, grads["W_proj"], grads["b_proj"] = affine_backward(dh0, proj_cache)
""",
               new=_LOSS_BACKWARD.replace("backward(dh, rnn_cache)",
                                          "backward(dh * mask[:, :, None], rnn_cache)") + """\
        grads["W_embed"] = word_embedding_backward(dx, embed_cache)
        grads["W_proj"], grads["b_proj"] = features.T @ dh0, dh0.sum(axis=0)
"""),
    Equivalent("sample_captions", "sampling through the layers' functions, stopping once all ended",
               old=_SAMPLE_STEP,
               new=_SAMPLE_STEP.replace(
                   'x = p["W_embed"][words]',
                   'x = word_embedding_forward(words[:, None], p["W_embed"])[0][:, 0]').replace(
                   'np.argmax(h @ p["W_vocab"] + p["b_vocab"], axis=1)',
                   'temporal_affine_forward(h[:, None], p["W_vocab"], p["b_vocab"])[0][:, 0]'
                   '.argmax(axis=1)') + """\
        if (captions[:, :t + 1] == model.word_to_idx["<END>"]).any(axis=1).all():
            break
"""),
    Equivalent("lstm_step_forward", "np.split into four blocks and a hand-written sigmoid",
               answer="""\
    a = np.dot(x, Wx) + np.dot(prev_h, Wh) + b
    a_i, a_f, a_o, a_g = np.split(a, 4, axis=1)
    i, f, o = (1 / (1 + np.exp(-block)) for block in (a_i, a_f, a_o))
    g = np.tanh(a_g)
    next_c = prev_c * f + g * i
    tanh_c = np.tanh(next_c)
    next_h = tanh_c * o
    cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c)
"""),
    Equivalent("forget_gate_backward", "sigmoid(a) * sigmoid(-a)", answer="""\
    da_f = sigmoid(a_f) * sigmoid(-a_f) * prev_c * dc
"""),
    Equivalent("forget_gate_backward", "through tanh: sigmoid'(a) = (1 - tanh(a / 2)^2) / 4",
               answer="""\
    da_f = dc * prev_c * (1 - np.tanh(a_f / 2) ** 2) / 4
"""),
    Equivalent("lstm_step_backward", "da filled block by block", answer="""\
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
    H = prev_h.shape[1]
    dc = dnext_c + dnext_h * o * (1 - tanh_c * tanh_c)
    da = np.empty((x.shape[0], 4 * H))
    da[:, :H] = dc * g * i * (1 - i)
    da[:, H:2 * H] = dc * prev_c * f * (1 - f)
    da[:, 2 * H:3 * H] = dnext_h * tanh_c * o * (1 - o)
    da[:, 3 * H:] = dc * i * (1 - g * g)
    dx, dprev_h, dprev_c = np.dot(da, Wx.T), np.dot(da, Wh.T), f * dc
    dWx, dWh, db = np.dot(x.T, da), np.dot(prev_h.T, da), np.sum(da, axis=0)
"""),
    Equivalent("lstm_forward", "a list of states stacked at the end, cache as a tuple",
               old=_LSTM_FORWARD_LOOP,
               new="""\
    states, cache = [], []
    for t in range(T):
        prev_h, prev_c, step_cache = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        states.append(prev_h)
        cache.append(step_cache)
    h, cache = np.stack(states, axis=1), tuple(cache)
"""),
    # correct answers written differently (added with the probe-and-judge tests)
    Equivalent("rnn_step_forward", "a loop over the examples of the batch", answer="""\
    next_h = np.stack([np.tanh(x[n] @ Wx + prev_h[n] @ Wh + b) for n in range(len(x))])
    cache = (x, prev_h, Wx, Wh, next_h)
"""),
    Equivalent("rnn_step_backward", "a loop over the examples, weight gradients summed", answer="""\
    x, prev_h, Wx, Wh, next_h = cache
    dx, dprev_h = np.zeros_like(x), np.zeros_like(prev_h)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0])
    for n in range(len(x)):
        da_n = dnext_h[n] * (1 - next_h[n] ** 2)
        dx[n], dprev_h[n] = Wx @ da_n, Wh @ da_n
        dWx += np.outer(x[n], da_n)
        dWh += np.outer(prev_h[n], da_n)
        db += da_n
"""),
    Equivalent("rnn_forward", "the state kept in a copy of h0 and updated in place", answer="""\
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    state, cache = np.array(h0, dtype=float, copy=True), []
    for t in range(T):
        new_state, step_cache = rnn_step_forward(x[:, t, :], state.copy(), Wx, Wh, b)
        state[...] = new_state
        h[:, t, :] = state
        cache.append(step_cache)
"""),
    Equivalent("rnn_backward", "the incoming gradient kept in one array, dh copied first", answer="""\
    N, T, H = dh.shape
    dh = dh.copy()
    dx = np.zeros((N, T, cache[0][2].shape[0]))
    dWx, dWh, db = 0, 0, 0
    for t in range(T - 1, -1, -1):
        dx[:, t], dprev, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t], cache[t])
        if t > 0:
            dh[:, t - 1] += dprev
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    dh0 = dprev
"""),
    Equivalent("word_embedding_forward", "a loop over every (n, t)", answer="""\
    out = np.zeros(x.shape + (W.shape[1],), dtype=W.dtype)
    for n, t in np.ndindex(x.shape):
        out[n, t] = W[x[n, t]]
    cache = (x, W.shape)
"""),
    Equivalent("word_embedding_backward", "one vocabulary word at a time: dout where x is that word",
               old="np.add.at(dW, x, dout)",
               new="for word in range(shape[0]):\n        dW[word] = dout[x == word].sum(axis=0)"),
    Equivalent("captioning_rnn", "the softmax loss written by hand, shifted by the row maximum",
               old=_SOFTMAX_LOSS, new=_HAND_SOFTMAX),
    Equivalent("sample_captions", "one image at a time (a loop over the batch)", answer="""\
    p = model.params
    start, is_rnn = model.word_to_idx["<START>"], model.cell_type == "rnn"
    for n in range(len(features)):
        h = features[n:n + 1] @ p["W_proj"] + p["b_proj"]
        c, word = np.zeros_like(h), start
        for t in range(max_length):
            x = p["W_embed"][[word]]
            if is_rnn:
                h = np.tanh(x @ p["Wx"] + h @ p["Wh"] + p["b"])
            else:
                h, c, _ = lstm_step_forward(x, h, c, p["Wx"], p["Wh"], p["b"])
            word = int(np.argmax(h @ p["W_vocab"] + p["b_vocab"]))
            captions[n, t] = word
"""),
    Equivalent("lstm_step_forward", "the sigmoid as (1 + tanh(a / 2)) / 2, which never overflows",
               old=_LSTM_GATES,
               new="""\
    s = (1 + np.tanh(a[:, :3 * H] / 2)) / 2
    i, f, o = s[:, :H], s[:, H:2 * H], s[:, 2 * H:]
    g = np.tanh(a[:, 3 * H:])
"""),
    Equivalent("forget_gate_backward", "sigmoid'(a) written as f - f^2", old=_FORGET_BODY,
               new="    f = sigmoid(a_f)\n    da_f = dc * prev_c * (f - f * f)\n"),
    Equivalent("lstm_step_backward", "one example at a time", answer="""\
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
    dx, dprev_h, dprev_c = np.zeros_like(x), np.zeros_like(prev_h), np.zeros_like(prev_c)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wx.shape[1])
    for n in range(len(x)):
        dc = dnext_c[n] + dnext_h[n] * o[n] * (1 - tanh_c[n] ** 2)
        da = np.concatenate([dc * g[n] * i[n] * (1 - i[n]), dc * prev_c[n] * f[n] * (1 - f[n]),
                             dnext_h[n] * tanh_c[n] * o[n] * (1 - o[n]), dc * i[n] * (1 - g[n] ** 2)])
        dx[n], dprev_h[n], dprev_c[n] = Wx @ da, Wh @ da, dc * f[n]
        dWx += np.outer(x[n], da)
        dWh += np.outer(prev_h[n], da)
        db += da
"""),
    Equivalent("lstm_forward", "lstm_backward: step gradients collected in lists, summed at the end",
               old="""\
    for t in reversed(range(T)):
        dx[:, t], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(
            dh[:, t] + dprev_h, dprev_c, cache[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
""",
               new="""\
    steps = []
    for t in reversed(range(T)):
        dx[:, t], dprev_h, dprev_c, *weights = lstm_step_backward(dh[:, t] + dprev_h, dprev_c, cache[t])
        steps.append(weights)
    dWx, dWh, db = (sum(column) for column in zip(*steps))
"""),
]

# Answers built only from rnnlab's public functions (the glue is the least that makes them run):
# rnnlab must hold no part of an exercise, so none of these may score.
FROM_RNNLAB = [
    Mutant("rnn_step_forward", "FROM_RNNLAB: rnnlab.layers_numpy.affine_forward of x and prev_h side by "
                               "side, through rnnlab's only nonlinearity, sigmoid",
           answer="""\
    from rnnlab.layers_numpy import affine_forward, sigmoid

    a, cache = affine_forward(np.hstack([x, prev_h]), np.vstack([Wx, Wh]), b)
    next_h = sigmoid(a)"""),
    Mutant("rnn_step_backward", "FROM_RNNLAB: rnnlab.layers_numpy.affine_backward of x and prev_h side "
                                "by side",
           answer="""\
    from rnnlab.layers_numpy import affine_backward

    x, prev_h, Wx, Wh, next_h = cache
    dxh, dW, db = affine_backward(dnext_h, (np.hstack([x, prev_h]), np.vstack([Wx, Wh])))
    dx, dprev_h = dxh[:, :x.shape[1]], dxh[:, x.shape[1]:]
    dWx, dWh = dW[:x.shape[1]], dW[x.shape[1]:]"""),
    Mutant("rnn_forward", "FROM_RNNLAB: rnnlab.layers_numpy.temporal_affine_forward of the inputs",
           answer="""\
    from rnnlab.layers_numpy import temporal_affine_forward

    h, cache = temporal_affine_forward(x, Wx, b)"""),
    Mutant("rnn_backward", "FROM_RNNLAB: rnnlab.layers_numpy.temporal_affine_backward of the inputs",
           answer="""\
    from rnnlab.layers_numpy import temporal_affine_backward

    x = np.stack([step[0] for step in cache], axis=1)
    dx, dWx, db = temporal_affine_backward(dh, (x, cache[0][2]))
    dh0, dWh = np.zeros_like(cache[0][1]), np.zeros_like(cache[0][3])"""),
    # The ids as a one-hot input would score, here and in the backward pass: one_hot(x) @ W is W[x],
    # so that glue is the lookup itself, and the layer adds only a matrix product.
    Mutant("word_embedding_forward", "FROM_RNNLAB: rnnlab.layers_numpy.temporal_affine_forward of the "
                                     "word ids as one input feature",
           answer="""\
    from rnnlab.layers_numpy import temporal_affine_forward

    out, cache = temporal_affine_forward(x[..., None].astype(W.dtype), W[:1], np.zeros(W.shape[1]))
    cache = (x, W.shape)"""),
    Mutant("word_embedding_backward", "FROM_RNNLAB: rnnlab.layers_numpy.temporal_affine_backward of the "
                                      "word ids as one input feature",
           answer="""\
    from rnnlab.layers_numpy import temporal_affine_backward

    x, shape = cache
    dw = temporal_affine_backward(dout, (x[..., None].astype(dout.dtype), np.zeros((1, shape[1]))))[1]
    dW = np.repeat(dw, shape[0], axis=0)"""),
    Mutant("captioning_rnn", "FROM_RNNLAB: rnnlab.layers_numpy's layers without a recurrent one (the "
                             "projected features at every step) and their backward passes",
           answer="""\
        p = self.params
        h0, proj_cache = affine_forward(features, p["W_proj"], p["b_proj"])
        h = np.repeat(h0[:, None], captions.shape[1] - 1, axis=1)
        scores, vocab_cache = temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])
        loss, dscores = temporal_softmax_loss(scores, captions[:, 1:], captions[:, 1:] != self._null)
        dh, grads["W_vocab"], grads["b_vocab"] = temporal_affine_backward(dscores, vocab_cache)
        _, grads["W_proj"], grads["b_proj"] = affine_backward(dh.sum(axis=1), proj_cache)
        for name in ("W_embed", "Wx", "Wh", "b"):
            grads[name] = np.zeros_like(p[name])"""),
    Mutant("sample_captions", "FROM_RNNLAB: each word drawn by rnnlab.decoding.sample_probabilities "
                              "from the scores' exponentials",
           old="        words = np.argmax(h @ p[\"W_vocab\"] + p[\"b_vocab\"], axis=1)\n",
           new="        from rnnlab.decoding import sample_probabilities\n\n"
               "        scores = h @ p[\"W_vocab\"] + p[\"b_vocab\"]\n"
               "        words = np.array([sample_probabilities(np.exp(s - s.max())) for s in scores])\n"),
    Mutant("lstm_step_forward", "FROM_RNNLAB: rnnlab.layers_numpy.affine_forward of x and prev_h side "
                                "by side, every gate through rnnlab's sigmoid",
           answer="""\
    from rnnlab.layers_numpy import affine_forward

    H = prev_h.shape[1]
    a, _ = affine_forward(np.hstack([x, prev_h]), np.vstack([Wx, Wh]), b)
    i, f, o, g = np.split(sigmoid(a), 4, axis=1)
    next_c = f * prev_c + i * g
    tanh_c = np.tanh(next_c)
    next_h = o * tanh_c
    cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c)"""),
    Mutant("forget_gate_backward", "FROM_RNNLAB: rnnlab.layers_numpy.sigmoid of a_f for the gate's "
                                   "derivative",
           answer="""\
    from rnnlab.layers_numpy import sigmoid

    da_f = dc * prev_c * sigmoid(a_f)"""),
    Mutant("lstm_step_backward", "FROM_RNNLAB: rnnlab.layers_numpy.affine_backward of x and prev_h side "
                                 "by side, the gates' derivatives left out",
           answer="""\
    from rnnlab.layers_numpy import affine_backward

    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
    da = np.tile(dnext_h + dnext_c, 4)
    dxh, dW, db = affine_backward(da, (np.hstack([x, prev_h]), np.vstack([Wx, Wh])))
    dx, dprev_h, dprev_c = dxh[:, :x.shape[1]], dxh[:, x.shape[1]:], dnext_c * f
    dWx, dWh = dW[:x.shape[1]], dW[x.shape[1]:]"""),
    Mutant("lstm_forward", "FROM_RNNLAB: rnnlab.layers_numpy.temporal_affine_forward of the inputs, "
                           "the first H outputs",
           old=_LSTM_FORWARD_LOOP,
           new="    cache = []\n    h = temporal_affine_forward(x, Wx, b)[0][..., :h0.shape[1]]\n"),
]
MUTANTS += FROM_RNNLAB
