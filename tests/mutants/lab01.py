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
]

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
]

# The real grader also grades this one: the weak spot an instructor found (the global model).
GRADER_SAMPLE = 0
