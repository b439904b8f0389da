"""Lab 05: plausible wrong answers and correct variants for every autograded exercise."""

from mutation import Equivalent, Mutant

LAB = "05_cnn_lstm_captioner"
EXERCISES = {
    "collate_function": ("test_collate_function",),
    "cnn_model": ("test_cnn_model",),
    "lstm_model": ("test_lstm_forward", "test_lstm_sample"),
    "train_step": ("test_train_step",),
    "beam_search": ("optional_test_beam_search",),
}
MUTANTS = [
    # collate_function
    Mutant("collate_function", "owners left in batch order: not sorted together with the captions",
           answer="""\
    images = torch.stack([image for image, _ in data_batch])
    owners = torch.tensor([row for row, (_, captions) in enumerate(data_batch) for _ in captions])
    captions = sorted((c for _, caps in data_batch for c in caps), key=len, reverse=True)
    lengths = [len(caption) for caption in captions]
    padded = torch.full((len(captions), lengths[0]), PAD, dtype=torch.long)
    for i, caption in enumerate(captions):
        padded[i, :len(caption)] = caption
    return images, padded, lengths, owners"""),
    Mutant("collate_function", "sorted shortest first",
           old="key=lambda pair: len(pair[1]), reverse=True)", new="key=lambda pair: len(pair[1]))"),
    Mutant("collate_function", "padded with <end> instead of <pad>",
           old="lengths[0]), PAD, dtype", new="lengths[0]), END, dtype"),
    Mutant("collate_function", "lengths off by one: <start> not counted",
           old="lengths = [len(caption) for _, caption in pairs]",
           new="lengths = [len(caption) - 1 for _, caption in pairs]"),
    Mutant("collate_function", "lengths in batch order while the captions are sorted",
           answer="""\
    images = torch.stack([image for image, _ in data_batch])
    pairs = [(row, caption) for row, (_, captions) in enumerate(data_batch) for caption in captions]
    lengths = [len(caption) for _, caption in pairs]
    pairs.sort(key=lambda pair: len(pair[1]), reverse=True)
    owners = torch.tensor([row for row, _ in pairs], dtype=torch.long)
    padded = torch.full((len(pairs), max(lengths)), PAD, dtype=torch.long)
    for i, (_, caption) in enumerate(pairs):
        padded[i, :len(caption)] = caption
    return images, padded, lengths, owners"""),
    # cnn_model
    Mutant("cnn_model", "batch norm forgotten", old="return self.batch_norm(self.linear_layer(features))",
           new="return self.linear_layer(features)"),
    Mutant("cnn_model", "backbone always under no_grad: a seeded ResNet is never trained",
           old="with torch.set_grad_enabled(self.train_backbone and torch.is_grad_enabled()):",
           new="with torch.no_grad():"),
    Mutant("cnn_model", "normalised by hand with the batch's statistics, also in eval mode (batch norm "
           "stuck in train mode at sampling)",
           old="return self.batch_norm(self.linear_layer(features))",
           new="embeddings = self.linear_layer(features)\n"
               "        spread = (embeddings.var(0, unbiased=False) + 1e-5).sqrt()\n"
               "        return (embeddings - embeddings.mean(0)) / spread"),
    Mutant("cnn_model", "a ReLU after the batch norm",
           old="return self.batch_norm(self.linear_layer(features))",
           new="return torch.relu(self.batch_norm(self.linear_layer(features)))"),
    Mutant("cnn_model", "global average pooling instead of self.pool's grid",
           old="features = self.pool(feature_maps).flatten(1)", new="features = feature_maps.mean((2, 3))"),
    # lstm_model (forward and sample)
    Mutant("lstm_model", "forward reads every token, <end> included, with the full lengths",
           old="self.step_inputs(input_features, capts[:, :-1])\n"
               "        packed = pack_padded_sequence(lstm_input, [n - 1 for n in lens]",
           new="self.step_inputs(input_features, capts)\n"
               "        packed = pack_padded_sequence(lstm_input, lens"),
    Mutant("lstm_model", "forward drops the first token instead of the last: never reads <start>",
           old="self.step_inputs(input_features, capts[:, :-1])",
           new="self.step_inputs(input_features, capts[:, 1:])"),
    Mutant("lstm_model", "forward packs without batch_first: time and batch axes swapped",
           old="[n - 1 for n in lens], batch_first=True)", new="[n - 1 for n in lens])"),
    Mutant("lstm_model", "sample does not carry the LSTM state: each step starts afresh",
           old=",\n                                                            lstm_states)", new=")"),
    Mutant("lstm_model", "sample starts from <pad> (id 0) instead of <start>",
           old="len(input_features), 1), self.start_id,", new="len(input_features), 1), 0,"),
    Mutant("lstm_model", "sample draws from the softmax instead of taking the argmax",
           old="tokens = self.linear_layer(hidden_variables[:, -1]).argmax(dim=1, keepdim=True)",
           new="tokens = torch.multinomial(self.linear_layer(hidden_variables[:, -1]).softmax(dim=1), 1)"),
    Mutant("lstm_model", "sample returns <start> as its first id",
           old="sampled_indices = []", new="sampled_indices = [tokens]"),
    # train_step
    Mutant("train_step", "no zero_grad: gradients pile up over steps",
           old="    optimizer.zero_grad()\n", new=""),
    Mutant("train_step", "zero_grad between backward and step: the step uses no gradient",
           old="    optimizer.zero_grad()\n    loss.backward()\n",
           new="    loss.backward()\n    optimizer.zero_grad()\n"),
    Mutant("train_step", "targets not shifted: the tokens read are also the targets",
           old="pack_padded_sequence(captions[:, 1:],", new="pack_padded_sequence(captions[:, :-1],"),
    Mutant("train_step", "encoder run under no_grad: the CNN never learns",
           old="    scores = decoder(encoder(images)[owners], captions, lengths)\n",
           new="    with torch.no_grad():\n        features = encoder(images)\n"
               "    scores = decoder(features[owners], captions, lengths)\n"),
    Mutant("train_step", "owners ignored: captions assumed grouped 3 per image in order",
           old="encoder(images)[owners]", new="encoder(images).repeat_interleave(3, dim=0)[:len(lengths)]"),
    Mutant("train_step", "criterion ignored: cross-entropy summed over the tokens",
           old="loss = criterion(scores, targets)",
           new="loss = nn.functional.cross_entropy(scores, targets, reduction='sum')"),
    Mutant("train_step", "the loss tensor returned instead of a float",
           old="return loss.item()", new="return loss"),
    # beam_search
    Mutant("beam_search", "greedy: only the best extension survives, whatever beam_width",
           old="topk(min(beam_width, totals.numel()))", new="topk(1)"),
    Mutant("beam_search", "log-probabilities not accumulated: extensions ranked by their last token only",
           old=("totals = torch.tensor([score for _, score in beams], "
                "device=log_probs.device)[:, None] + log_probs"),
           new="totals = log_probs"),
    Mutant("beam_search", "raw scores added up: no log_softmax",
           old="decoder.linear_layer(hidden[:, 0]).log_softmax(dim=-1)",
           new="decoder.linear_layer(hidden[:, 0])"),
    Mutant("beam_search", "probabilities added up instead of log-probabilities",
           old=".log_softmax(dim=-1)", new=".softmax(dim=-1)"),
    Mutant("beam_search", "the best caption chosen by log-probability per token, not the total",
           old="key=lambda caption: caption[1])[0]",
           new="key=lambda caption: caption[1] / len(caption[0]))[0]"),
    Mutant("beam_search", "returns the first caption that reaches <end>",
           old="                finished.append(caption)\n", new="                return caption[0]\n"),
    Mutant("beam_search", "never stops at <end>: finished captions are extended like the others",
           answer="""\
    feature, states = feature.view(1, -1), None
    tokens = torch.tensor([[decoder.start_id]], device=feature.device)
    beams = [([], 0.0)]
    for _ in range(decoder.max_seq_len):
        step = decoder.step_inputs(feature.expand(len(tokens), -1), tokens)
        hidden, states = decoder.lstm_layer(step, states)
        log_probs = decoder.linear_layer(hidden[:, 0]).log_softmax(dim=-1)
        totals = torch.tensor([score for _, score in beams])[:, None] + log_probs
        top = totals.flatten().topk(min(beam_width, totals.numel()))
        rows = [flat // log_probs.shape[1] for flat in top.indices.tolist()]
        ids = [flat % log_probs.shape[1] for flat in top.indices.tolist()]
        beams = [(beams[r][0] + [t], s) for r, t, s in zip(rows, ids, top.values.tolist())]
        states = tuple(s[:, rows] for s in states)
        tokens = torch.tensor(ids).unsqueeze(1)
    return beams[0][0]"""),
    # the classes of mistakes a review found the old tests let through
    Mutant("collate_function", "padded to the longest caption of the first image only (right when it "
           "holds the longest caption)",
           old="padded = torch.full((len(pairs), lengths[0]), PAD, dtype=torch.long)",
           new="padded = torch.full((len(pairs), max(len(c) for c in data_batch[0][1])), PAD,\n"
               "                         dtype=torch.long)"),
    Mutant("collate_function", "lengths as a tensor, not a list of Python ints",
           old="lengths = [len(caption) for _, caption in pairs]",
           new="lengths = torch.tensor([len(caption) for _, caption in pairs])"),
    Mutant("cnn_model", "the 3x3 grid hard-coded for the 8x8 feature maps of 64x64 images",
           old="features = self.pool(feature_maps).flatten(1)",
           new="cells = [(0, 3), (2, 6), (5, 8)]  # adaptive pooling of 8 rows or columns into 3\n"
               "        features = torch.stack([torch.stack([feature_maps[:, :, a:b, c:d].mean((2, 3))\n"
               "                                             for c, d in cells], -1)\n"
               "                                for a, b in cells], -2).flatten(1)"),
    Mutant("cnn_model", "pooled by hand into a buffer made on the CPU (ignores the model's device)",
           old="features = self.pool(feature_maps).flatten(1)",
           new="grid = self.pool.output_size\n"
               "        height, width = feature_maps.shape[2:]\n"
               "        pooled = torch.zeros(len(feature_maps), feature_maps.shape[1], grid, grid)\n"
               "        for i in range(grid):\n"
               "            for j in range(grid):\n"
               "                rows = slice(i * height // grid, -(-(i + 1) * height // grid))\n"
               "                columns = slice(j * width // grid, -(-(j + 1) * width // grid))\n"
               "                pooled[:, :, i, j] = feature_maps[:, :, rows, columns].mean((2, 3))\n"
               "        features = pooled.flatten(1)"),
    Mutant("cnn_model", "the grid size taken from the lab's constant 3, not the model's own pool",
           old="features = self.pool(feature_maps).flatten(1)",
           new="features = nn.functional.adaptive_avg_pool2d(feature_maps, 3).flatten(1)"),
    Mutant("lstm_model", "sample makes its first tokens on the CPU, not on the features' device",
           old="dtype=torch.long,\n                            device=input_features.device)",
           new="dtype=torch.long)"),
    Mutant("lstm_model", "sample squeezes its result: one image loses the batch axis",
           old="return torch.cat(sampled_indices, dim=1)",
           new="return torch.cat(sampled_indices, dim=1).squeeze()"),
    Mutant("lstm_model", "sample puts the model in eval mode and leaves it there",
           old="        tokens = torch.full((len(input_features), 1), self.start_id,",
           new="        self.eval()\n        tokens = torch.full((len(input_features), 1), self.start_id,"),
    Mutant("lstm_model", "sample starts from the lab's START constant, not the model's start_id",
           old="len(input_features), 1), self.start_id,", new="len(input_features), 1), START,"),
    Mutant("train_step", "puts encoder and decoder in training mode (training with batch norm frozen breaks)",
           old="    targets = pack_padded_sequence(",
           new="    encoder.train(), decoder.train()\n    targets = pack_padded_sequence("),
    Mutant("train_step", "criterion ignored: nn.functional.cross_entropy with its defaults",
           old="loss = criterion(scores, targets)",
           new="loss = nn.functional.cross_entropy(scores, targets)"),
    Mutant("beam_search", "the LSTM state not carried: every step starts from a fresh state",
           old="hidden, states = decoder.lstm_layer(step, states)",
           new="hidden, states = decoder.lstm_layer(step)"),
    Mutant("beam_search", "every surviving beam continues from the best beam's state",
           old="states = tuple(s[:, keep] for s in states)",
           new="states = tuple(s[:, [0] * len(keep)] for s in states)"),
    Mutant("beam_search", "the parents' states taken in their old order, not each survivor's own parent",
           old="states = tuple(s[:, keep] for s in states)",
           new="states = tuple(s[:, sorted(keep)] for s in states)"),
    Mutant("beam_search", "log of the softmax: very large scores underflow to log(0) = -inf",
           old=".log_softmax(dim=-1)", new=".softmax(dim=-1).log()"),
    Mutant("beam_search", "puts the decoder in eval mode and leaves it there",
           old="    feature, states = feature.view(1, -1), None\n",
           new="    decoder.eval()\n    feature, states = feature.view(1, -1), None\n"),
]
# The greedy loop of the solution's sample(), which two equivalents rewrite whole.
SAMPLE_LOOP = """\
        tokens = torch.full((len(input_features), 1), self.start_id, dtype=torch.long,
                            device=input_features.device)
        sampled_indices = []
        for _ in range(self.max_seq_len):
            hidden_variables, lstm_states = self.lstm_layer(self.step_inputs(input_features, tokens),
                                                            lstm_states)
            tokens = self.linear_layer(hidden_variables[:, -1]).argmax(dim=1, keepdim=True)
            sampled_indices.append(tokens)
        return torch.cat(sampled_indices, dim=1)"""

# Answers built only from rnnlab's public functions (the glue is the least that makes them run):
# rnnlab must hold no part of an exercise, so none of these may score.
FROM_RNNLAB = [
    Mutant("collate_function", "FROM_RNNLAB: the captions padded by rnnlab.batching.one_hot_pairs, its "
                               "one-hot targets turned back into ids",
           answer="""\
    from rnnlab.batching import one_hot_pairs

    images = torch.stack([image for image, _ in data_batch])
    captions = [caption.tolist() for _, captions in data_batch for caption in captions]
    owners = torch.tensor([row for row, (_, captions) in enumerate(data_batch) for _ in captions])
    top = max(max(caption) for caption in captions) + 1
    _, y, weights = one_hot_pairs(captions, top + 2, top, top + 1)
    ids = y.argmax(axis=2)[:, :-1]
    padded = torch.from_numpy(np.where(ids < top, ids, PAD))
    return images, padded, [int(w) - 1 for w in weights.sum(axis=1)], owners"""),
    Mutant("cnn_model", "FROM_RNNLAB: the feature maps of rnnlab.captioning.encode_in_batches",
           answer="""\
        from rnnlab.captioning import encode_in_batches

        feature_maps = encode_in_batches(self.resnet_module, input_images, progress=False)
        return self.batch_norm(self.linear_layer(self.pool(feature_maps).flatten(1)))"""),
    Mutant("lstm_model", "FROM_RNNLAB: sample() draws each token with rnnlab.decoding.sample_probabilities",
           old=SAMPLE_LOOP,
           new=SAMPLE_LOOP.replace(
               "        sampled_indices = []\n",
               "        from rnnlab.decoding import sample_probabilities\n\n"
               "        sampled_indices = []\n").replace(
               "tokens = self.linear_layer(hidden_variables[:, -1]).argmax(dim=1, keepdim=True)",
               "tokens = torch.tensor([[sample_probabilities(s.softmax(0))] for s in "
               "self.linear_layer(hidden_variables[:, -1])],\n"
               "                                  device=input_features.device)")),
    Mutant("beam_search", "FROM_RNNLAB: one caption drawn token by token with "
                          "rnnlab.decoding.sample_probabilities",
           answer="""\
    from rnnlab.decoding import sample_probabilities

    feature, states = feature.view(1, -1), None
    token, caption = decoder.start_id, []
    for _ in range(decoder.max_seq_len):
        step = decoder.step_inputs(feature, torch.tensor([[token]], device=feature.device))
        hidden, states = decoder.lstm_layer(step, states)
        token = sample_probabilities(decoder.linear_layer(hidden[:, 0])[0].softmax(-1))
        caption.append(token)
        if token == END:
            break
    return caption"""),
]
MUTANTS += FROM_RNNLAB

# Exercises that no rnnlab function relates to, and why.
NO_RELATED_HELPER = {
    "train_step": "one optimisation step of an encoder and a decoder: rnnlab has no training loop "
                  "(rnnlab.training.fit, used by no lab, answered lab 02's train_step and was removed)",
}

EQUIVALENTS = [
    Equivalent("collate_function", "pad_sequence and a stable argsort on the lengths",
               answer="""\
    from torch.nn.utils.rnn import pad_sequence

    images = torch.stack([item[0] for item in data_batch])
    captions = [c for _, caps in data_batch for c in caps]
    rows = torch.tensor([row for row, (_, caps) in enumerate(data_batch) for _ in caps])
    sizes = torch.tensor([len(c) for c in captions])
    order = torch.argsort(sizes, descending=True, stable=True)
    padded = pad_sequence([captions[i] for i in order], batch_first=True, padding_value=PAD)
    return images, padded.long(), sizes[order].tolist(), rows[order]"""),
    Equivalent("cnn_model", "an if/else on train_backbone and torch.flatten",
               answer="""\
        if self.train_backbone:
            feature_maps = self.resnet_module(input_images)
        else:
            with torch.no_grad():
                feature_maps = self.resnet_module(input_images)
        pooled = torch.flatten(self.pool(feature_maps), start_dim=1)
        embeddings = self.linear_layer(pooled)
        return self.batch_norm(embeddings)"""),
    Equivalent("lstm_model", "forward runs the LSTM on the padded batch and packs its outputs",
               old="""\
        packed = pack_padded_sequence(lstm_input, [n - 1 for n in lens], batch_first=True)
        hidden_variables, _ = self.lstm_layer(packed)
        return self.linear_layer(hidden_variables.data)""",
               new="""\
        outputs, _ = self.lstm_layer(lstm_input)  # causal: end padding changes no earlier step
        packed = pack_padded_sequence(outputs, [n - 1 for n in lens], batch_first=True)
        return self.linear_layer(packed.data)"""),
    Equivalent("lstm_model", "sample rereads the whole caption so far at every step, no state carried",
               old=SAMPLE_LOOP,
               new="""\
        so_far = torch.full((len(input_features), 1), self.start_id, dtype=torch.long,
                            device=input_features.device)
        for _ in range(self.max_seq_len):
            outputs, _ = self.lstm_layer(self.step_inputs(input_features, so_far))
            best = self.linear_layer(outputs[:, -1]).argmax(dim=1, keepdim=True)
            so_far = torch.cat([so_far, best], dim=1)
        return so_far[:, 1:]"""),
    Equivalent("train_step", "targets gathered step by step in the packed order; float(loss)",
               answer="""\
    steps = [n - 1 for n in lengths]
    targets = torch.cat([captions[[i for i, n in enumerate(steps) if n > t], t + 1]
                         for t in range(max(steps))])
    optimizer.zero_grad()
    features = encoder(images)
    loss = criterion(decoder(features[owners], captions, lengths), targets)
    loss.backward()
    optimizer.step()
    return float(loss)"""),
    Equivalent("beam_search", "lists of captions rescored by rerunning the LSTM on each prefix",
               answer="""\
    def next_log_probs(ids):
        tokens = torch.tensor([[decoder.start_id, *ids]], device=feature.device)
        hidden, _ = decoder.lstm_layer(decoder.step_inputs(feature.view(1, -1), tokens))
        return decoder.linear_layer(hidden[0, -1]).log_softmax(dim=-1).tolist()

    alive, finished = [((), 0.0)], []
    for _ in range(decoder.max_seq_len):
        candidates = [(ids + (token,), score + lp) for ids, score in alive
                      for token, lp in enumerate(next_log_probs(ids))]
        candidates.sort(key=lambda candidate: candidate[1], reverse=True)
        alive = []
        for ids, score in candidates[:beam_width]:
            (finished if ids[-1] == END else alive).append((ids, score))
        if not alive or (finished and max(s for _, s in finished) >= alive[0][1]):
            break
    return list(max(finished or alive, key=lambda caption: caption[1])[0])"""),
    Equivalent("collate_function", "an index sort and a zero-filled batch (PAD is 0), filled in a loop",
               answer="""\
    images = torch.stack([item[0] for item in data_batch])
    flat = [(caption, row) for row, (_, captions) in enumerate(data_batch) for caption in captions]
    order = sorted(range(len(flat)), key=lambda i: -len(flat[i][0]))
    lengths = [int(len(flat[i][0])) for i in order]
    padded = torch.zeros(len(flat), max(lengths), dtype=torch.int64)
    for out_row, i in enumerate(order):
        padded[out_row, :lengths[out_row]] = flat[i][0]
    return images, padded, lengths, torch.LongTensor([flat[i][1] for i in order])"""),
    Equivalent("cnn_model", "adaptive pooling written out by hand, on the feature maps' device",
               old="features = self.pool(feature_maps).flatten(1)",
               new="grid = self.pool.output_size\n"
                   "        height, width = feature_maps.shape[2:]\n"
                   "        pooled = feature_maps.new_zeros(*feature_maps.shape[:2], grid, grid)\n"
                   "        for i in range(grid):\n"
                   "            for j in range(grid):\n"
                   "                rows = slice(i * height // grid, -(-(i + 1) * height // grid))\n"
                   "                columns = slice(j * width // grid, -(-(j + 1) * width // grid))\n"
                   "                pooled[:, :, i, j] = feature_maps[:, :, rows, columns].mean((2, 3))\n"
                   "        features = pooled.flatten(1)"),
    Equivalent("lstm_model", "forward runs each caption alone and gathers the rows in packed order",
               old="""\
        lstm_input = self.step_inputs(input_features, capts[:, :-1])
        packed = pack_padded_sequence(lstm_input, [n - 1 for n in lens], batch_first=True)
        hidden_variables, _ = self.lstm_layer(packed)
        return self.linear_layer(hidden_variables.data)""",
               new="""\
        outputs = [self.lstm_layer(self.step_inputs(input_features[b:b + 1], capts[b:b + 1, :n - 1]))[0][0]
                   for b, n in enumerate(lens)]
        rows = [outputs[b][t] for t in range(max(lens) - 1) for b, n in enumerate(lens) if n - 1 > t]
        return self.linear_layer(torch.stack(rows))"""),
    Equivalent("lstm_model", "sample decodes one image at a time, in float64",
               old=SAMPLE_LOOP,
               new="""\
        rows = []
        for feature in input_features:
            token = torch.tensor([[self.start_id]], device=input_features.device)
            states, row = None, []
            for _ in range(self.max_seq_len):
                inputs = self.step_inputs(feature[None], token).double()
                hidden, states = self.lstm_layer.double()(inputs, states)
                token = self.linear_layer.double()(hidden[:, -1]).argmax(dim=1, keepdim=True)
                row.append(token)
            rows.append(torch.cat(row, dim=1))
        self.lstm_layer.float(), self.linear_layer.float()
        return torch.cat(rows).long()"""),
    Equivalent("train_step", "index_select for the owners, loss.detach().item()",
               answer="""\
    optimizer.zero_grad()
    features = encoder(images).index_select(0, owners)
    scores = decoder(features, captions, lengths)
    targets = pack_padded_sequence(captions[:, 1:], [n - 1 for n in lengths], batch_first=True).data
    loss = criterion(scores, targets)
    loss.backward()
    optimizer.step()
    return loss.detach().item()"""),
    Equivalent("beam_search", "one LSTM call per beam, each beam carrying its own state in a list",
               answer="""\
    feature = feature.view(1, -1)
    beams, finished = [([], 0.0, None)], []
    for _ in range(decoder.max_seq_len):
        candidates = []
        for ids, score, state in beams:
            token = torch.tensor([[ids[-1] if ids else decoder.start_id]], device=feature.device)
            hidden, new_state = decoder.lstm_layer(decoder.step_inputs(feature, token), state)
            log_probs = torch.log_softmax(decoder.linear_layer(hidden[0, -1]), dim=-1)
            candidates += [(ids + [t], score + lp, new_state) for t, lp in enumerate(log_probs.tolist())]
        candidates.sort(key=lambda candidate: candidate[1], reverse=True)
        beams = []
        for ids, score, state in candidates[:beam_width]:
            if ids[-1] == END:
                finished.append((ids, score))
            else:
                beams.append((ids, score, state))
        if not beams or (finished and max(s for _, s in finished) >= beams[0][1]):
            break
    return max(finished or [(ids, score) for ids, score, _ in beams], key=lambda caption: caption[1])[0]"""),
]
