"""Lab 01: plausible wrong answers and correct variants for every autograded exercise."""

from mutation import Equivalent, Mutant

LAB = "01_char_lstm_keras"
EXERCISES = {
    "q2_top_first": ("q2_top_first_test",),
    "q3_sample_caption": ("q3_sample_caption_test",),
    "q5_pretrained": ("q5_pretrained_test",),
}

MUTANTS = [
    # Q2: top_first_characters
    Mutant("q2_top_first", "the notebook's global training `model` instead of the model passed in",
           old="probs = np.asarray(inference_model.predict_on_batch(x), dtype=np.float64)[0]",
           new="probs = np.asarray(model.predict_on_batch(x), dtype=np.float64)[0, 0]"),
    Mutant("q2_top_first", "the notebook's own alphabet (char2id, V) instead of the vocab passed in",
           old="x = one_hot_char(vocab[START], len(vocab))",
           new="x = one_hot_char(char2id[START], V)"),
    Mutant("q2_top_first", "no reset: starts from whatever state the last call left",
           old="    inference_model.layers[0].reset_state()\n", new=""),
    Mutant("q2_top_first", "k ignored: always the ten best",
           old="[:k]", new="[:10]"),
    Mutant("q2_top_first", "softmax applied again to what is already a probability",
           old="[0]\n    best", new="[0]\n    probs = np.exp(probs) / np.exp(probs).sum()\n    best"),
    Mutant("q2_top_first", "argsort ascending: the k least likely characters",
           old="np.argsort(-probs, kind=\"stable\")[:k]", new="np.argsort(probs)[:k]"),
    Mutant("q2_top_first", "the start symbol assumed to be id 0 (true of the notebook's alphabet only)",
           old="x = one_hot_char(vocab[START], len(vocab))", new="x = one_hot_char(0, len(vocab))"),
    Mutant("q2_top_first", "k capped at 10: the sizes the visible test shows",
           old="[:k]", new="[:min(k, 10)]"),
    Mutant("q2_top_first", "the model called in training mode: dropout on",
           old="np.asarray(inference_model.predict_on_batch(x), dtype=np.float64)[0]",
           new="keras.ops.convert_to_numpy(inference_model(x, training=True)).astype(np.float64)[0]"),
    Mutant("q2_top_first", "probabilities rounded to 4 decimals",
           old="float(probs[i])", new="round(float(probs[i]), 4)"),
    Mutant("q2_top_first", "probabilities in float16: tiny ones become 0 and lose their order",
           old="dtype=np.float64", new="dtype=np.float16"),
    # Q3: sample_caption
    Mutant("q3_sample_caption", "greedy: always the most probable character",
           old="int(rng.multinomial(1, probs / probs.sum()).argmax())", new="int(probs.argmax())"),
    Mutant("q3_sample_caption", "NumPy's global random generator instead of rng",
           old="rng.multinomial(", new="np.random.multinomial("),
    Mutant("q3_sample_caption", "one more entry set in the previous input: a mix of characters",
           old="x = one_hot_char(next_id, len(vocab))", new="x[0, 0, next_id] = 1.0"),
    Mutant("q3_sample_caption", "the drawn character never fed back: the start symbol every step",
           old="        x = one_hot_char(next_id, len(vocab))\n", new=""),
    Mutant("q3_sample_caption", "reset ignored: the state is reset even with reset=False",
           old="    if reset:\n        inference_model", new="    if True:\n        inference_model"),
    Mutant("q3_sample_caption", "never resets the state",
           old="    if reset:\n        inference_model.layers[0].reset_state()\n", new=""),
    Mutant("q3_sample_caption", "off by one: max_len + 1 characters",
           old="range(max_len)", new="range(max_len + 1)"),
    Mutant("q3_sample_caption", "the end symbol kept in the sentence",
           old="        if next_id == vocab[END]:\n            break\n"
               "        if next_id != vocab[START]:\n            chars.append(vocab.token(next_id))\n",
           new="        chars.append(vocab.token(next_id))\n"
               "        if next_id == vocab[END]:\n            break\n"),
    Mutant("q3_sample_caption", "a generator of its own, seeded, instead of the rng passed in",
           old="    chars = []\n",
           new="    rng = np.random.default_rng(0)  # reproducible\n    chars = []\n"),
    Mutant("q3_sample_caption", "float32 probabilities handed to the sampler without dividing by "
                                "their sum",
           old="rng.multinomial(1, probs / probs.sum())", new="rng.multinomial(1, probs)"),
    Mutant("q3_sample_caption", "the model called in training mode: dropout on",
           old="np.asarray(inference_model.predict_on_batch(x), dtype=np.float64)[0]",
           new="keras.ops.convert_to_numpy(inference_model(x, training=True)).astype(np.float64)[0]"),
    Mutant("q3_sample_caption", "the end symbol assumed to be id 1 (true of the notebook's alphabet only)",
           old="if next_id == vocab[END]:", new="if next_id == 1:"),
    Mutant("q3_sample_caption", "the start symbol assumed to be id 0 (true of the notebook's alphabet "
                                "only)",
           old="x = one_hot_char(vocab[START], len(vocab))", new="x = one_hot_char(0, len(vocab))"),
    # Q5: the pretrained model
    Mutant("q5_pretrained", "the inference model gets the weights of the model trained here",
           old="copy_weights(pretrained_model, pretrained_inference)",
           new="copy_weights(model, pretrained_inference)"),
    Mutant("q5_pretrained", "the file loaded into the inference model only, the training model "
                            "left untrained",
           answer="""\
pretrained_model = build_training_model(len(pretrained_vocab), meta["hidden_size"])
pretrained_inference = build_inference_model(len(pretrained_vocab), meta["hidden_size"])
pretrained_inference.load_weights(WEIGHTS)"""),
    Mutant("q5_pretrained", "a second training model used as the 'inference' model (not stateful)",
           old="pretrained_inference = build_inference_model(len(pretrained_vocab), meta[\"hidden_size\"])",
           new="pretrained_inference = build_training_model(len(pretrained_vocab), meta[\"hidden_size\"])"),
    Mutant("q5_pretrained", "the inference model built for a batch of SAMPLES sentences",
           old="meta[\"hidden_size\"])\ncopy_weights",
           new="meta[\"hidden_size\"], SAMPLES)\ncopy_weights"),
    Mutant("q5_pretrained", "weights copied into the inference model before the file is loaded",
           answer="""\
pretrained_model = build_training_model(len(pretrained_vocab), meta["hidden_size"])
pretrained_inference = build_inference_model(len(pretrained_vocab), meta["hidden_size"])
copy_weights(pretrained_model, pretrained_inference)
pretrained_model.load_weights(WEIGHTS)"""),
    Mutant("q5_pretrained", "an inference model of its own whose LSTM is not stateful",
           answer="""\
pretrained_model = build_training_model(len(pretrained_vocab), meta["hidden_size"])
pretrained_model.load_weights(WEIGHTS)
pretrained_inference = keras.Sequential([
    keras.Input(batch_shape=(1, 1, len(pretrained_vocab))),
    keras.layers.LSTM(meta["hidden_size"]),
    keras.layers.Dense(meta["hidden_size"], activation="relu"),
    keras.layers.Dense(len(pretrained_vocab), activation="softmax"),
])
copy_weights(pretrained_model, pretrained_inference)"""),
]

# Answers built only from rnnlab's public functions (the glue is the least that makes them run):
# rnnlab must hold no part of an exercise, so none of these may score.
FROM_RNNLAB = [
    Mutant("q3_sample_caption", "FROM_RNNLAB: one draw of rnnlab.decoding.sample_probabilities after the "
                                "start symbol, as the sentence",
           answer="""\
    from rnnlab.decoding import sample_probabilities

    if reset:
        inference_model.layers[0].reset_state()
    probs = inference_model.predict_on_batch(one_hot_char(vocab[START], len(vocab)))[0]
    return vocab.token(sample_probabilities(probs, rng))"""),
    Mutant("q2_top_first", "FROM_RNNLAB: k draws of rnnlab.decoding.sample_probabilities from the first "
                           "prediction, with their probabilities",
           answer="""\
    from rnnlab.decoding import sample_probabilities

    inference_model.layers[0].reset_state()
    probs = np.asarray(inference_model.predict_on_batch(one_hot_char(vocab[START], len(vocab))))[0]
    rng = np.random.default_rng(0)
    drawn = [sample_probabilities(probs, rng) for _ in range(k)]
    return [(vocab.token(i), float(probs[i])) for i in drawn]"""),
]
MUTANTS += FROM_RNNLAB

# Exercises that no rnnlab function relates to, and why.
NO_RELATED_HELPER = {
    "q5_pretrained": "building Keras models and loading their weights: rnnlab builds no Keras model and "
                     "loads no weights (the notebook's build_training_model, build_inference_model and "
                     "copy_weights do)",
}

EQUIVALENTS = [
    Equivalent("q2_top_first", "a sort over (probability, character) pairs, float32 probabilities,"
                               " reset_states()",
               answer="""\
    inference_model.layers[0].reset_states()
    start = np.zeros((1, 1, len(vocab)), dtype="float32")
    start[0, 0, vocab[START]] = 1
    probs = inference_model(start, training=False)[0]
    pairs = [(float(probs[i]), vocab.itos[i]) for i in range(len(vocab))]
    pairs.sort(key=lambda pair: pair[0], reverse=True)
    return [(char, p) for p, char in pairs[:k]]"""),
    Equivalent("q2_top_first", "ids sorted by probability, NumPy float32 probabilities returned",
               answer="""\
    inference_model.layers[0].reset_state()
    probs = inference_model.predict_on_batch(one_hot_char(vocab[START], len(vocab)))[0]
    order = sorted(range(len(vocab)), key=lambda i: probs[i], reverse=True)
    return [(vocab.itos[i], probs[i]) for i in order[:k]]"""),
    Equivalent("q2_top_first", "heapq.nlargest over the ids, predict(), pairs of (str, float32) "
                               "built with zip",
               answer="""\
    import heapq

    inference_model.layers[0].reset_states()
    probs = np.asarray(inference_model.predict(one_hot_char(vocab[START], len(vocab)), verbose=0))[0]
    best = heapq.nlargest(k, range(len(vocab)), key=lambda i: probs[i])
    return list(zip([vocab.itos[i] for i in best], probs[best]))"""),
    Equivalent("q3_sample_caption", "rng.choice over the ids, a while loop, a string built as it goes",
               answer="""\
    if reset:
        inference_model.layers[0].reset_states()
    sentence, current = "", vocab[START]
    steps = 0
    while steps < max_len:
        steps += 1
        probs = keras.ops.convert_to_numpy(
            inference_model(one_hot_char(current, len(vocab)), training=False))[0].astype(float)
        current = int(rng.choice(len(probs), p=probs / probs.sum()))
        if current == vocab[END]:
            return sentence
        if current != vocab[START]:
            sentence += vocab.token(current)
    return sentence"""),
    Equivalent("q3_sample_caption", "inverse-CDF sampling: a cumulative sum and rng.random()",
               answer="""\
    if reset:
        inference_model.layers[0].reset_state()
    current, chars = vocab[START], []
    for _ in range(max_len):
        x = one_hot_char(current, len(vocab))
        probs = np.asarray(inference_model.predict_on_batch(x), dtype=np.float64)[0]
        cumulative = np.cumsum(probs / probs.sum())
        current = min(int(np.searchsorted(cumulative, rng.random(), side="right")), len(probs) - 1)
        if current == vocab[END]:
            break
        if current != vocab[START]:
            chars.append(vocab.token(current))
    return "".join(chars)"""),
    Equivalent("q5_pretrained", "the file loaded into both models, no copy",
               answer="""\
pretrained_model = build_training_model(len(pretrained_vocab), meta["hidden_size"])
pretrained_model.load_weights(WEIGHTS)
pretrained_inference = build_inference_model(len(pretrained_vocab), meta["hidden_size"])
pretrained_inference.load_weights(WEIGHTS)"""),
    Equivalent("q5_pretrained", "set_weights from the loaded training model",
               answer="""\
pretrained_model = build_training_model(len(pretrained_vocab), hidden_size=meta["hidden_size"])
pretrained_model.load_weights(str(WEIGHTS))
pretrained_inference = build_inference_model(len(pretrained_vocab), meta["hidden_size"], 1)
pretrained_inference.set_weights(pretrained_model.get_weights())"""),
    Equivalent("q5_pretrained", "keyword arguments, the weights copied layer by layer in a loop",
               answer="""\
pretrained_model = build_training_model(vocab_size=len(pretrained_vocab), hidden_size=meta["hidden_size"])
pretrained_model.load_weights(WEIGHTS)
pretrained_inference = build_inference_model(vocab_size=len(pretrained_vocab),
                                             hidden_size=meta["hidden_size"], batch_size=1)
for source, target in zip(pretrained_model.layers, pretrained_inference.layers):
    target.set_weights([w.copy() for w in source.get_weights()])"""),
]

# The real grader also grades this one: the weak spot an instructor found (the global model).
GRADER_SAMPLE = 0
