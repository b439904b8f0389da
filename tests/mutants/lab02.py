"""Lab 02: plausible wrong answers and correct variants for every autograded exercise."""

from mutation import Equivalent, Mutant

LAB = "02_word_rnn_lyrics"
EXERCISES = {
    "readTextData": ("test_readTextData",),
    "get_batches": ("test_get_batches",),
    "rnn_forward": ("test_rnn_forward",),
    "top_k_probabilities": ("test_top_k_probabilities",),
    "train_step": ("test_train_step",),
    "lstm": ("test_lstm",),
}
MUTANTS = [
    # Exercise 1: readTextData
    Mutant("readTextData", "targets not shifted: each word is its own target",
           old="out_text = int_text[1:n + 1]", new="out_text = int_text[:n]"),
    Mutant("readTextData", "wrap-around: the last target is the text's first word",
           old="out_text = int_text[1:n + 1].reshape(batch_size, -1)",
           new="out_text = np.roll(int_text[:n], -1).reshape(batch_size, -1)"),
    Mutant("readTextData", "targets shifted the wrong way: the previous word, not the next",
           old="out_text = int_text[1:n + 1]", new="out_text = np.roll(int_text[:n], 1)"),
    Mutant("readTextData", "no word kept for the last target: num_batches off by one",
           old="num_batches = (len(words) - 1) //", new="num_batches = len(words) //"),
    Mutant("readTextData", "vocabulary sorted alphabetically, not by decreasing count",
           old="sorted(word_counts, key=word_counts.get, reverse=True)", new="sorted(word_counts)"),
    Mutant("readTextData", "least frequent word first",
           old="key=word_counts.get, reverse=True)", new="key=word_counts.get)"),
    Mutant("readTextData", "vocabulary built from the kept words only, not the whole text",
           old="    word_counts = Counter(words)\n",
           new="    word_counts = Counter(words[:(len(words) - 1) // (batch_size * seq_size) "
               "* batch_size * seq_size + 1])\n"),
    Mutant("readTextData", "rows interleaved (reshape to (-1, batch_size) and transpose)",
           old="in_text = int_text[:n].reshape(batch_size, -1)\n"
               "    out_text = int_text[1:n + 1].reshape(batch_size, -1)",
           new="in_text = int_text[:n].reshape(-1, batch_size).T\n"
               "    out_text = int_text[1:n + 1].reshape(-1, batch_size).T"),
    Mutant("readTextData", "a text too short for one batch gives empty arrays, no ValueError",
           old="    if num_batches == 0:\n", new="    if num_batches < 0:\n"),
    Mutant("readTextData", "word indices stored as floats",
           old="dtype=np.int64)", new="dtype=np.float32)"),
    Mutant("readTextData", "word indices stored as int32: the loss in train_step then fails",
           old="dtype=np.int64)", new="dtype=np.int32)"),
    Mutant("readTextData", "rows counted with the notebook's OPTS.batch_size, not the argument",
           old="in_text = int_text[:n].reshape(batch_size, -1)\n"
               "    out_text = int_text[1:n + 1].reshape(batch_size, -1)",
           new="in_text = int_text[:n].reshape(OPTS.batch_size, -1)\n"
               "    out_text = int_text[1:n + 1].reshape(OPTS.batch_size, -1)"),
    Mutant("readTextData", "arrays squeezed: batch_size=1 gives 1-D arrays",
           old="in_text = int_text[:n].reshape(batch_size, -1)\n"
               "    out_text = int_text[1:n + 1].reshape(batch_size, -1)",
           new="in_text = int_text[:n].reshape(batch_size, -1).squeeze()\n"
               "    out_text = int_text[1:n + 1].reshape(batch_size, -1).squeeze()"),
    # Exercise 2: get_batches
    Mutant("get_batches", "leftover columns yielded as a short last batch",
           old="range(0, num_batches * seq_size, seq_size)", new="range(0, in_text.shape[1], seq_size)"),
    Mutant("get_batches", "off by one: the last whole batch dropped",
           old="range(0, num_batches * seq_size, seq_size)",
           new="range(0, (num_batches - 1) * seq_size, seq_size)"),
    Mutant("get_batches", "targets taken from in_text",
           old="out_text[:, i:i + seq_size]", new="in_text[:, i:i + seq_size]"),
    Mutant("get_batches", "rows sliced instead of columns",
           old="yield in_text[:, i:i + seq_size], out_text[:, i:i + seq_size]",
           new="yield in_text[i:i + seq_size], out_text[i:i + seq_size]"),
    Mutant("get_batches", "overlapping batches: a stride of one column",
           old="range(0, num_batches * seq_size, seq_size)",
           new="range(0, in_text.shape[1] - seq_size + 1)"),
    Mutant("get_batches", "a list of batches returned instead of a generator",
           answer="""\
    num_batches = in_text.shape[1] // seq_size
    return [(in_text[:, i:i + seq_size], out_text[:, i:i + seq_size])
            for i in range(0, num_batches * seq_size, seq_size)]"""),
    Mutant("get_batches", "the batch count from the notebook's OPTS.seq_size, not the argument",
           old="num_batches = in_text.shape[1] // seq_size",
           new="num_batches = in_text.shape[1] // OPTS.seq_size"),
    Mutant("get_batches", "batches squeezed: a batch of one row loses its row axis",
           old="yield in_text[:, i:i + seq_size], out_text[:, i:i + seq_size]",
           new="yield np.squeeze(in_text[:, i:i + seq_size]), np.squeeze(out_text[:, i:i + seq_size])"),
    # Exercise 3: RNN.forward
    Mutant("rnn_forward", "the hidden state passed in ignored (zeros used)",
           old="self.rnn(self.embedding(x), hidden)", new="self.rnn(self.embedding(x))"),
    Mutant("rnn_forward", "the state passed in returned instead of the new one",
           old="        outputs, hidden = self.rnn(self.embedding(x), hidden)\n"
               "        return self.dense(outputs), hidden",
           new="        outputs, _ = self.rnn(self.embedding(x), hidden)\n"
               "        return self.dense(outputs), hidden"),
    Mutant("rnn_forward", "softmax probabilities returned instead of logits",
           old="return self.dense(outputs), hidden",
           new="return torch.softmax(self.dense(outputs), dim=-1), hidden"),
    Mutant("rnn_forward", "logits of the last step only",
           old="return self.dense(outputs), hidden", new="return self.dense(hidden[-1]), hidden"),
    Mutant("rnn_forward", "the final hidden state mapped to logits at every step",
           old="return self.dense(outputs), hidden",
           new="return self.dense(hidden[-1])[:, None, :].expand(-1, x.shape[1], -1), hidden"),
    Mutant("rnn_forward", "word indices fed to the RNN as numbers (embedding skipped)",
           old="self.rnn(self.embedding(x), hidden)",
           new="self.rnn(x[..., None].float().expand(-1, -1, self.rnn.input_size), hidden)"),
    Mutant("rnn_forward", "outputs squeezed: a batch of one loses its batch axis",
           old="return self.dense(outputs), hidden", new="return self.dense(outputs.squeeze()), hidden"),
    Mutant("rnn_forward", "forward puts the network in training mode (sampling then runs in it)",
           old="        outputs, hidden = self.rnn(self.embedding(x), hidden)\n",
           new="        self.train()\n        outputs, hidden = self.rnn(self.embedding(x), hidden)\n"),
    Mutant("rnn_forward", "step by step into torch.zeros made on the CPU, whatever the device",
           answer="""\
        embedded = self.embedding(x)
        outputs = torch.zeros(x.shape[0], x.shape[1], self.hidden_size)
        for t in range(x.shape[1]):
            step, hidden = self.rnn(embedded[:, t:t + 1], hidden)
            outputs[:, t] = step[:, 0]
        return self.dense(outputs), hidden"""),
    # Exercise 4: top_k_probabilities
    Mutant("top_k_probabilities", "a uniform draw among the top k",
           answer="""\
    z = np.asarray(logits, dtype=np.float64) / temperature
    if k is None:
        p = np.exp(z - z.max())
        return p / p.sum()
    kept = z >= np.sort(z)[-k]
    return kept / kept.sum()"""),
    Mutant("top_k_probabilities", "softmax over every word, then zeroed outside the top k: not renormalised",
           answer="""\
    z = np.asarray(logits, dtype=np.float64) / temperature
    p = np.exp(z - z.max())
    p = p / p.sum()
    if k is not None:
        p = np.where(z >= np.sort(z)[-k], p, 0.0)
    return p"""),
    Mutant("top_k_probabilities", "off by one: the k + 1 highest scores kept",
           old="cutoff = np.sort(z)[-k]", new="cutoff = np.sort(z)[-k - 1]"),
    Mutant("top_k_probabilities", "the k lowest scores kept",
           old="        cutoff = np.sort(z)[-k]\n        z = np.where(z >= cutoff, z, -np.inf)",
           new="        cutoff = np.sort(z)[k - 1]\n        z = np.where(z <= cutoff, z, -np.inf)"),
    Mutant("top_k_probabilities", "scores multiplied by the temperature instead of divided",
           old="z = np.asarray(logits, dtype=np.float64) / temperature",
           new="z = np.asarray(logits, dtype=np.float64) * temperature"),
    Mutant("top_k_probabilities", "temperature ignored",
           old="z = np.asarray(logits, dtype=np.float64) / temperature",
           new="z = np.asarray(logits, dtype=np.float64)"),
    Mutant("top_k_probabilities", "no shift by the largest score: exp overflows on large scores",
           old="p = np.exp(z - z.max())", new="p = np.exp(z)"),
    Mutant("top_k_probabilities", "shifted by the mean score, not the largest",
           old="p = np.exp(z - z.max())", new="p = np.exp(z - z.mean())"),
    Mutant("top_k_probabilities", "the caller's array changed in place",
           answer="""\
    z = logits
    z /= temperature
    if k is not None:
        z[z < np.sort(z)[-k]] = -np.inf
    p = np.exp(z - z.max())
    return p / p.sum()"""),
    Mutant("top_k_probabilities", "k=None not handled (np.sort(z)[-None] raises)",
           old="    if k is not None:\n        cutoff", new="    if True:\n        cutoff"),
    Mutant("top_k_probabilities", "the masked scores returned, not probabilities",
           old="    p = np.exp(z - z.max())\n    return p / p.sum()",
           new="    return z"),
    Mutant("top_k_probabilities", "masked scores set to -1e9, not -inf: wrong when every score is below it",
           old="z = np.where(z >= cutoff, z, -np.inf)", new="z = np.where(z >= cutoff, z, -1e9)"),
    Mutant("top_k_probabilities", "scores clipped to [-50, 50] against overflow instead of shifted",
           old="p = np.exp(z - z.max())", new="p = np.exp(np.clip(z, -50, 50))"),
    # Exercise 5: train_step
    Mutant("train_step", "y.view(-1) on the column slices get_batches yields (not contiguous)",
           old="y.reshape(-1)", new="y.view(-1)"),
    Mutant("train_step", "no zero_grad: gradients pile up over the steps",
           old="    optimizer.zero_grad()\n", new=""),
    Mutant("train_step", "gradients not clipped",
           old="    nn.utils.clip_grad_norm_(net.parameters(), clip_norm)\n", new=""),
    Mutant("train_step", "clipped after the optimiser step",
           old="    nn.utils.clip_grad_norm_(net.parameters(), clip_norm)\n    optimizer.step()\n",
           new="    optimizer.step()\n    nn.utils.clip_grad_norm_(net.parameters(), clip_norm)\n"),
    Mutant("train_step", "clip_norm ignored: the notebook's OPTS.gradients_norm used instead",
           old="clip_grad_norm_(net.parameters(), clip_norm)",
           new="clip_grad_norm_(net.parameters(), OPTS.gradients_norm)"),
    Mutant("train_step", "each entry clipped to the threshold instead of the global norm",
           old="clip_grad_norm_(net.parameters(), clip_norm)",
           new="clip_grad_value_(net.parameters(), clip_norm)"),
    Mutant("train_step", "the new hidden state returned without detaching",
           old="return loss.item(), detach_hidden(hidden)", new="return loss.item(), hidden"),
    Mutant("train_step", "the carried state ignored: every batch starts from zeros",
           old="logits, hidden = net(x, hidden)",
           new="logits, hidden = net(x, net.init_hidden(x.shape[0], x.device))"),
    Mutant("train_step", "the state passed in returned instead of the new one",
           old="    logits, hidden = net(x, hidden)\n",
           new="    logits, _ = net(x, hidden)\n"),
    Mutant("train_step", "hidden.detach(): breaks on an LSTM's (h, c) pair",
           old="detach_hidden(hidden)", new="hidden.detach()"),
    Mutant("train_step", "the loss tensor returned instead of a float",
           old="return loss.item(),", new="return loss,"),
    Mutant("train_step", "no optimiser step",
           old="    optimizer.step()\n", new=""),
    Mutant("train_step", "the network left in eval mode after the step",
           old="    optimizer.step()\n", new="    optimizer.step()\n    net.eval()\n"),
    Mutant("train_step", "targets flattened to the notebook's OPTS.batch_size * OPTS.seq_size",
           old="y.reshape(-1)", new="y.reshape(OPTS.batch_size * OPTS.seq_size)"),
    # Exercise 6: LSTM
    Mutant("lstm", "the state as one tensor instead of the pair (h, c)",
           old="return torch.zeros(shape, device=device), torch.zeros(shape, device=device)",
           new="return torch.zeros((2, *shape), device=device)"),
    Mutant("lstm", "state shaped (batch, layers, hidden)",
           old="shape = (self.num_layers, batch_size, self.hidden_size)",
           new="shape = (batch_size, self.num_layers, self.hidden_size)"),
    Mutant("lstm", "num_layers ignored: always one LSTM layer",
           old="nn.LSTM(embedding_size, hidden_size, num_layers=num_layers, batch_first=True)",
           new="nn.LSTM(embedding_size, hidden_size, batch_first=True)"),
    Mutant("lstm", "batch_first forgotten: batch and time axes swapped inside the LSTM",
           old="num_layers=num_layers, batch_first=True)", new="num_layers=num_layers)"),
    Mutant("lstm", "the state passed in ignored (zeros used)",
           old="self.lstm(self.embedding(x), hidden)", new="self.lstm(self.embedding(x))"),
    Mutant("lstm", "h returned twice: the cell state c lost",
           old="        outputs, hidden = self.lstm(self.embedding(x), hidden)\n"
               "        return self.dense(outputs), hidden",
           new="        outputs, (h, c) = self.lstm(self.embedding(x), hidden)\n"
               "        return self.dense(outputs), (h, h)"),
    Mutant("lstm", "the notebook's OPTS.hidden_size used instead of the constructor's argument",
           old="shape = (self.num_layers, batch_size, self.hidden_size)",
           new="shape = (self.num_layers, batch_size, OPTS.hidden_size)"),
    Mutant("lstm", "init_hidden ignores device: the state is always made on the CPU",
           old="return torch.zeros(shape, device=device), torch.zeros(shape, device=device)",
           new="return torch.zeros(shape), torch.zeros(shape)"),
    Mutant("lstm", "init_hidden puts the state on the weights' device, not the one asked for",
           old="return torch.zeros(shape, device=device), torch.zeros(shape, device=device)",
           new="return (torch.zeros(shape, device=self.dense.weight.device),\n"
               "                torch.zeros(shape, device=self.dense.weight.device))"),
    Mutant("lstm", "init_hidden sized with the notebook's OPTS.batch_size, not the argument",
           old="shape = (self.num_layers, batch_size, self.hidden_size)",
           new="shape = (self.num_layers, OPTS.batch_size, self.hidden_size)"),
    Mutant("lstm", "outputs squeezed: a batch of one loses its batch axis",
           old="return self.dense(outputs), hidden", new="return self.dense(outputs.squeeze(0)), hidden"),
    Mutant("lstm", "forward switches the network to eval mode",
           old="        outputs, hidden = self.lstm(self.embedding(x), hidden)\n",
           new="        self.eval()\n        outputs, hidden = self.lstm(self.embedding(x), hidden)\n"),
]

# Answers built only from rnnlab's public functions (the glue is the least that makes them run):
# rnnlab must hold no part of an exercise, so none of these may score.
FROM_RNNLAB = [
    Mutant("top_k_probabilities", "FROM_RNNLAB: the softmax inside rnnlab.layers_numpy.temporal_softmax_loss "
                                  "(its gradient plus the one-hot target), scores divided by the temperature",
           answer="""\
    from rnnlab.layers_numpy import temporal_softmax_loss

    scores = np.asarray(logits, dtype=np.float64)[None, None] / temperature
    _, dscores = temporal_softmax_loss(scores, np.zeros((1, 1), dtype=int), np.ones((1, 1), dtype=bool))
    probs = dscores[0, 0].copy()
    probs[0] += 1.0
    return probs"""),
    Mutant("top_k_probabilities", "FROM_RNNLAB: a one-hot of rnnlab.decoding.sample_probabilities's draw "
                                  "from the scores' exponentials",
           answer="""\
    from rnnlab.decoding import sample_probabilities

    z = np.asarray(logits, dtype=np.float64) / temperature
    probs = np.zeros(z.size)
    probs[sample_probabilities(np.exp(z - z.max()), np.random.default_rng(0))] = 1.0
    return probs"""),
    Mutant("top_k_probabilities", "FROM_RNNLAB: the last panel of rnnlab.diagrams.top_k_sampling, "
                                  "its probabilities function the scores' exponentials",
           answer="""\
    from rnnlab import diagrams

    z = np.asarray(logits, dtype=np.float64) / temperature
    fig = diagrams.top_k_sampling([str(i) for i in range(z.size)], z, k or z.size,
                                  lambda scores, kept: np.exp(scores - scores.max()))
    heights = np.array([bar.get_height() for bar in fig.axes[2].patches])
    diagrams.plt.close(fig)
    probs = np.zeros(z.size)
    probs[np.argsort(z)[::-1]] = heights
    return probs"""),
    Mutant("readTextData", "FROM_RNNLAB: the vocabulary of rnnlab.text.Vocabulary.build, the text's ids "
                           "as one sequence and the same shifted by one",
           answer="""\
    from rnnlab.text import Vocabulary

    vocab = Vocabulary.build([words])
    int_to_vocab, vocab_to_int, n_vocab = dict(enumerate(vocab.itos)), dict(vocab.stoi), len(vocab)
    ids = np.array(vocab.encode(words), dtype=np.int64)
    in_text, out_text = ids[None, :-1], ids[None, 1:]"""),
]
MUTANTS += FROM_RNNLAB

# Exercises that no rnnlab function relates to, and why.
NO_RELATED_HELPER = {
    "train_step": "one optimisation step of a torch model: rnnlab has no training loop (rnnlab.training.fit, "
                  "used by no lab, scored full marks here and was removed)",
    "get_batches": "column windows of two id arrays: rnnlab.batching pads one-hot caption batches for "
                   "Keras (lab 01), and importing it (Keras) in this lab's kernel killed the kernel",
    "rnn_forward": "a torch module's forward pass: rnnlab holds no torch layer or model",
    "lstm": "the layers and the zero state of a torch LSTM model: rnnlab builds no torch layer, model "
            "or hidden state",
}

EQUIVALENTS = [
    Equivalent("readTextData", "most_common and a loop over the rows",
               answer="""\
    int_to_vocab = {index: word for index, (word, _) in enumerate(Counter(words).most_common())}
    vocab_to_int = {word: index for index, word in int_to_vocab.items()}
    n_vocab = len(vocab_to_int)
    width = (len(words) - 1) // (batch_size * seq_size) * seq_size
    if width == 0:
        raise ValueError("the text is too short for one batch")
    codes = [vocab_to_int[word] for word in words]
    in_text = np.array([codes[r * width:(r + 1) * width] for r in range(batch_size)])
    out_text = np.array([codes[r * width + 1:(r + 1) * width + 1] for r in range(batch_size)])"""),
    Equivalent("readTextData", "torch tensors converted at the end, a vocabulary built by hand",
               answer="""\
    counts = {}
    for word in words:
        counts[word] = counts.get(word, 0) + 1
    int_to_vocab = dict(enumerate(sorted(counts, key=lambda w: -counts[w])))
    vocab_to_int = {w: i for i, w in int_to_vocab.items()}
    n_vocab = len(counts)
    n = (len(words) - 1) // (batch_size * seq_size) * batch_size * seq_size
    if n <= 0:
        raise ValueError(f"{len(words)} words: too short")
    ids = torch.tensor([vocab_to_int[w] for w in words[:n + 1]])
    in_text = ids[:-1].view(batch_size, -1).numpy()
    out_text = ids[1:].reshape(batch_size, -1).numpy()"""),
    Equivalent("readTextData", "np.unique counts, a stable sort, rows cut in a loop, astype(np.int64)",
               answer="""\
    vocab, counts = np.unique(np.array(words), return_counts=True)
    order = np.argsort(-counts, kind="stable")
    int_to_vocab = {rank: str(vocab[j]) for rank, j in enumerate(order)}
    vocab_to_int = {word: rank for rank, word in int_to_vocab.items()}
    n_vocab = len(vocab)
    per_row = (len(words) - 1) // (batch_size * seq_size) * seq_size
    if per_row == 0:
        raise ValueError("the text is too short for one batch")
    ids = np.array([vocab_to_int[word] for word in words]).astype(np.int64)
    in_text = np.stack([ids[r * per_row:(r + 1) * per_row] for r in range(batch_size)])
    out_text = np.stack([ids[r * per_row + 1:(r + 1) * per_row + 1] for r in range(batch_size)])"""),
    Equivalent("get_batches", "np.split of the columns that fit",
               answer="""\
    width = in_text.shape[1] // seq_size * seq_size
    if width == 0:
        return
    pieces = width // seq_size
    yield from zip(np.split(in_text[:, :width], pieces, axis=1),
                   np.split(out_text[:, :width], pieces, axis=1))"""),
    Equivalent("get_batches", "a while loop that yields contiguous copies",
               answer="""\
    start = 0
    while start + seq_size <= in_text.shape[1]:
        yield in_text[:, start:start + seq_size].copy(), out_text[:, start:start + seq_size].copy()
        start += seq_size"""),
    Equivalent("get_batches", "a loop over batch numbers, columns taken with np.take",
               answer="""\
    for number in range(in_text.shape[1] // seq_size):
        columns = np.arange(number * seq_size, (number + 1) * seq_size)
        yield np.take(in_text, columns, axis=1), np.take(out_text, columns, axis=1)"""),
    Equivalent("rnn_forward", "the RNN run one time step at a time, outputs concatenated",
               answer="""\
        embedded = self.embedding(x)
        steps = []
        for t in range(x.shape[1]):
            out, hidden = self.rnn(embedded[:, t:t + 1], hidden)
            steps.append(out)
        return self.dense(torch.cat(steps, dim=1)), hidden"""),
    Equivalent("rnn_forward", "the linear layer applied to the flattened outputs",
               answer="""\
        outputs, new_hidden = self.rnn(self.embedding(x), hidden)
        flat = self.dense(outputs.reshape(-1, self.hidden_size))
        return flat.reshape(x.shape[0], x.shape[1], -1), new_hidden"""),
    Equivalent("rnn_forward", "step by step into a tensor made on the embeddings' device (new_zeros)",
               answer="""\
        embedded = self.embedding(x)
        outputs = embedded.new_zeros(x.shape[0], x.shape[1], self.hidden_size)
        for t in range(x.shape[1]):
            step, hidden = self.rnn(embedded[:, t:t + 1], hidden)
            outputs[:, t] = step[:, 0]
        return self.dense(outputs), hidden"""),
    Equivalent("top_k_probabilities", "argpartition for the k best, scipy's softmax",
               answer="""\
    from scipy.special import softmax as scipy_softmax

    scores = np.array(logits, dtype=float) / temperature
    if k is None or k >= scores.size:
        return scipy_softmax(scores)
    best = np.argpartition(scores, -k)[-k:]
    probs = np.zeros_like(scores)
    probs[best] = scipy_softmax(scores[best])
    return probs"""),
    Equivalent("top_k_probabilities", "torch.topk and torch.softmax, returned as a tensor",
               answer="""\
    scores = torch.as_tensor(logits, dtype=torch.float64) / temperature
    if k is not None:
        values, indices = torch.topk(scores, k)
        scores = torch.full_like(scores, -math.inf).scatter(0, indices, values)
    return torch.softmax(scores, dim=0)"""),
    Equivalent("top_k_probabilities", "softmax of the kept scores, then sharpened by p ** (1 / T)",
               answer="""\
    z = np.asarray(logits, dtype=np.float64)
    if k is not None:
        z = np.where(z >= np.sort(z)[-k], z, -np.inf)
    p = np.exp(z - z.max()) ** (1.0 / temperature)
    return p / p.sum()"""),
    Equivalent("top_k_probabilities", "float32 torch, -inf for the masked scores, a float32 tensor returned",
               answer="""\
    scores = torch.as_tensor(np.asarray(logits), dtype=torch.float32) / temperature
    if k is not None:
        kth = torch.topk(scores, k).values[-1]
        scores = scores.masked_fill(scores < kth, float("-inf"))
    return torch.softmax(scores, dim=-1)"""),
    Equivalent("top_k_probabilities", "float32 NumPy, the k best by argpartition",
               answer="""\
    z = np.asarray(logits, dtype=np.float32) / np.float32(temperature)
    if k is not None:
        masked = np.full_like(z, -np.inf)
        best = np.argpartition(z, -k)[-k:]
        masked[best] = z[best]
        z = masked
    p = np.exp(z - z.max())
    return p / p.sum()"""),
    Equivalent("train_step", "loss on (B, V, T) logits, net.zero_grad, float(), contiguous().view",
               answer="""\
    net.zero_grad()
    logits, new_hidden = net(x, hidden)
    loss = criterion(logits.transpose(1, 2), y.contiguous().view(y.shape[0], -1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(list(net.parameters()), max_norm=clip_norm)
    optimizer.step()
    if isinstance(new_hidden, tuple):
        return float(loss), tuple(h.detach() for h in new_hidden)
    return float(loss), new_hidden.detach()"""),
    Equivalent("train_step", "gradients set to None, flatten(), a progress message on stderr",
               answer="""\
    import sys

    optimizer.zero_grad(set_to_none=True)
    logits, hidden = net(x, hidden)
    loss = criterion(logits.flatten(0, 1), y.flatten())
    loss.backward()
    norm = nn.utils.clip_grad_norm_(net.parameters(), clip_norm)
    print(f"gradient norm before clipping: {norm:.3f}", file=sys.stderr)
    optimizer.step()
    return loss.detach().item(), detach_hidden(hidden)"""),
    Equivalent("train_step", "the global norm computed and the gradients rescaled by hand",
               answer="""\
    optimizer.zero_grad()
    logits, hidden = net(x, hidden)
    loss = criterion(logits.reshape(-1, logits.size(-1)), y.flatten())
    loss.backward()
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
    if norm > clip_norm:
        for g in grads:
            g.mul_(clip_norm / norm)
    optimizer.step()
    state = tuple(h.detach() for h in hidden) if isinstance(hidden, tuple) else hidden.detach()
    return float(loss.item()), state"""),
    Equivalent("lstm", "the same zero tensor for h and c; the state unpacked and packed again",
               old="""\
        shape = (self.num_layers, batch_size, self.hidden_size)
        return torch.zeros(shape, device=device), torch.zeros(shape, device=device)""",
               new="""\
        zeros = torch.zeros(self.num_layers, batch_size, self.hidden_size, device=device)
        return (zeros, zeros)"""),
    Equivalent("lstm", "the state unpacked and packed again, embedding in its own line",
               old="""\
        outputs, hidden = self.lstm(self.embedding(x), hidden)
        return self.dense(outputs), hidden""",
               new="""\
        h, c = hidden
        embedded = self.embedding(x)
        outputs, (h, c) = self.lstm(embedded, (h, c))
        return self.dense(outputs), (h, c)"""),
    Equivalent("lstm", "init_hidden made on the CPU, then moved to the device asked for",
               old="""\
        shape = (self.num_layers, batch_size, self.hidden_size)
        return torch.zeros(shape, device=device), torch.zeros(shape, device=device)""",
               new="""\
        h = torch.zeros(self.num_layers, batch_size, self.hidden_size)
        if device is not None:
            h = h.to(device)
        return h, h.clone()"""),
    Equivalent("lstm", "the output layer applied as a matrix product with its weight and bias",
               old="return self.dense(outputs), hidden",
               new="return outputs @ self.dense.weight.T + self.dense.bias, hidden"),
]
