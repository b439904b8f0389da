"""Lab 03: plausible wrong answers and correct variants for every autograded exercise."""

from mutation import Equivalent, Mutant

LAB = "03_caption_text_generator"
EXERCISES = {
    "parameter_count": ("test_parameter_count",),
    "train_rnn_model": ("test_train_rnn_model_learns", "test_train_rnn_model_targets"),
    "image_captioning_model": ("test_image_captioning_model",),
    "captioner_parameter_count": ("optional_test_captioner_parameter_count",),
    "lstm_model": ("optional_test_lstm_model",),
}

MUTANTS = [
    # Question 1: the text generator's parameters
    Mutant("parameter_count", "one RNN bias vector instead of two",
           old="+ 2 * hidden_size", new="+ hidden_size"),
    Mutant("parameter_count", "the classifier's bias forgotten",
           old="hidden_size * vocab_size + vocab_size", new="hidden_size * vocab_size"),
    Mutant("parameter_count", "the recurrent matrix W_hh forgotten",
           old="embed_size * hidden_size + hidden_size * hidden_size", new="embed_size * hidden_size"),
    Mutant("parameter_count", "the input matrix counted as hidden x hidden",
           old="embed_size * hidden_size + hidden_size * hidden_size",
           new="hidden_size * hidden_size + hidden_size * hidden_size"),
    Mutant("parameter_count", "a float, from a formula with a division",
           old="return embedding + rnn + classifier", new="return (embedding + rnn + classifier) / 1"),
    Mutant("parameter_count", "counted on a model built with those sizes (the visible test's own way): "
                              "no formula, so sizes too large to build fail",
           answer="""\
    built = TextGeneratorModel(vocab_size, embed_size, hidden_size)
    return sum(p.numel() for p in built.parameters() if p.requires_grad)"""),
    Mutant("parameter_count", "the products in NumPy int64: they overflow on very large sizes",
           answer="""\
    import numpy as np

    v, e, h = np.array([vocab_size, embed_size, hidden_size], dtype=np.int64)
    return int(v * e + e * h + h * h + 2 * h + h * v + v)"""),
    # Question 2: train_rnn_model
    Mutant("train_rnn_model", "targets not shifted: each word predicts itself",
           old="scores, _ = model(captions[:-1])  # predict words 2..T from words 1..T-1\n"
               "            loss = criterion(scores.reshape(-1, scores.shape[-1]), captions[1:]",
           new="scores, _ = model(captions[:-1])  # predict words 2..T from words 1..T-1\n"
               "            loss = criterion(scores.reshape(-1, scores.shape[-1]), captions[:-1]"),
    Mutant("train_rnn_model", "a criterion of its own that counts the padding",
           old="            loss = criterion(", new="            loss = nn.CrossEntropyLoss()("),
    Mutant("train_rnn_model", "no zero_grad: gradients pile up over the batches",
           old="            optimizer.zero_grad()\n", new=""),
    Mutant("train_rnn_model", "validation computed on the training loader",
           old="validation_loss(model, criterion, val_loader, device)",
           new="validation_loss(model, criterion, train_loader, device)"),
    Mutant("train_rnn_model", "validation loss: the mean of the batch means",
           old="criterion(scores.reshape(-1, scores.shape[-1]), targets).item() * n_real\n"
               "        count += n_real",
           new="criterion(scores.reshape(-1, scores.shape[-1]), targets).item()\n"
               "        count += 1"),
    Mutant("train_rnn_model", "training loss: the last batch's loss, not the epoch's mean",
           old='history["train_loss"].append(sum(losses) / len(losses))',
           new='history["train_loss"].append(losses[-1])'),
    Mutant("train_rnn_model", "loss tensors kept instead of floats (and their graphs with them)",
           old="losses.append(loss.item())", new="losses.append(loss)"),
    Mutant("train_rnn_model", "zero_grad between backward and step: every step applies nothing",
           old="            optimizer.zero_grad()\n            loss.backward()\n",
           new="            loss.backward()\n            optimizer.zero_grad()\n"),
    Mutant("train_rnn_model", "validation before each epoch's training instead of after it",
           answer="""\
    model.to(device)
    history = {"train_loss": [], "val_loss": []}
    for epoch in range(n_epochs):
        history["val_loss"].append(validation_loss(model, criterion, val_loader, device))
        model.train()
        losses = []
        for _, captions, _ in tqdm(train_loader, desc=f"epoch {epoch + 1}/{n_epochs}", leave=False):
            captions = captions.to(device)
            scores, _ = model(captions[:-1])
            loss = criterion(scores.reshape(-1, scores.shape[-1]), captions[1:].reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            losses.append(loss.item())
        history["train_loss"].append(sum(losses) / len(losses))
    return history


@torch.no_grad()
def validation_loss(model, criterion, loader, device):
    model.eval()
    total, count = 0.0, 0
    for _, captions, _ in loader:
        captions = captions.to(device)
        scores, _ = model(captions[:-1])
        targets = captions[1:].reshape(-1)
        n_real = int((targets != criterion.ignore_index).sum())
        total += criterion(scores.reshape(-1, scores.shape[-1]), targets).item() * n_real
        count += n_real
    return total / count"""),
    Mutant("train_rnn_model", "the training batches never moved to the device",
           old="            captions = captions.to(device)\n"
               "            scores, _ = model(captions[:-1])  # predict",
           new="            scores, _ = model(captions[:-1])  # predict"),
    Mutant("train_rnn_model", "the validation batches never moved to the device",
           old="        captions = captions.to(device)\n"
               "        scores, _ = model(captions[:-1])\n        targets",
           new="        scores, _ = model(captions[:-1])\n        targets"),
    Mutant("train_rnn_model", "the model never moved to the device", old="    model.to(device)\n", new=""),
    Mutant("train_rnn_model", "model.train() forgotten: trains in whatever mode the caller left",
           old="        model.train()\n", new=""),
    Mutant("train_rnn_model", "validation loss as the log of a softmax: infinite on confident scores",
           old="        total += criterion(scores.reshape(-1, scores.shape[-1]), targets).item() * n_real",
           new="        log_p = torch.log(torch.softmax(scores.reshape(-1, scores.shape[-1]), dim=-1))\n"
               "        total += nn.functional.nll_loss(log_p, targets, ignore_index=criterion.ignore_index"
               ").item() * n_real"),
    Mutant("train_rnn_model", "real tokens counted as the ids that are not 0 (padding assumed to be 0)",
           old="int((targets != criterion.ignore_index).sum())", new="int((targets != 0).sum())"),
    # Question 3: the image captioner
    Mutant("image_captioning_model", "encoder run under torch.no_grad(): its projection never trains",
           old="image_embedding = self.encoder(images).unsqueeze(0)",
           new="with torch.no_grad():\n            image_embedding = self.encoder(images).unsqueeze(0)"),
    Mutant("image_captioning_model", "image embedding detached from the graph",
           old="self.encoder(images).unsqueeze(0)", new="self.encoder(images).detach().unsqueeze(0)"),
    Mutant("image_captioning_model", "image after the words instead of before them",
           old="torch.cat([image_embedding, self.embedder(captions)])",
           new="torch.cat([self.embedder(captions), image_embedding])"),
    Mutant("image_captioning_model", "the ResNet passed in ignored: a fresh one built instead",
           old="        cnn.fc = nn.Linear(cnn.fc.in_features, embed_size)\n        self.encoder = cnn\n",
           new="        import torchvision\n\n        self.encoder = torchvision.models.resnet18()\n"
               "        self.encoder.fc = nn.Linear(512, embed_size)\n"),
    Mutant("image_captioning_model", "the hidden state passed to forward ignored",
           old="outputs, hidden = self.rnn(inputs, hidden)", new="outputs, hidden = self.rnn(inputs)"),
    Mutant("image_captioning_model", "projection to the hidden size instead of the embedding size",
           old="nn.Linear(cnn.fc.in_features, embed_size)", new="nn.Linear(cnn.fc.in_features, hidden_size)"),
    Mutant("image_captioning_model", "image embedding added to every word as well as put first",
           old="torch.cat([image_embedding, self.embedder(captions)])",
           new="torch.cat([image_embedding, self.embedder(captions) + image_embedding])"),
    Mutant("image_captioning_model", "encoder output squeezed: a batch of one loses its batch axis",
           old="image_embedding = self.encoder(images).unsqueeze(0)",
           new="image_embedding = self.encoder(images).squeeze().unsqueeze(0)"),
    Mutant("image_captioning_model", "a zero hidden state made on the default device (the CPU)",
           old="        outputs, hidden = self.rnn(inputs, hidden)",
           new="        if hidden is None:\n"
               "            hidden = torch.zeros(1, inputs.shape[1], self.rnn.hidden_size)\n"
               "        outputs, hidden = self.rnn(inputs, hidden)"),
    Mutant("image_captioning_model", "the encoder switched to eval mode in forward (the caller's mode "
                                     "overridden)",
           old="        image_embedding = self.encoder(images).unsqueeze(0)",
           new="        self.encoder.eval()\n        image_embedding = self.encoder(images).unsqueeze(0)"),
    Mutant("image_captioning_model", "image embedding added to the first word instead of its own step",
           old="inputs = torch.cat([image_embedding, self.embedder(captions)])  # (T + 1, B, E)",
           new="inputs = self.embedder(captions)\n        inputs[0] = inputs[0] + image_embedding[0]"),
    # Optional question 1: the captioner's parameters
    Mutant("captioner_parameter_count", "ResNet-18 counted with its 1000-class fc layer",
           old="resnet.named_parameters() if not name.startswith(\"fc.\")",
           new="resnet.named_parameters()"),
    Mutant("captioner_parameter_count", "the projection's bias forgotten",
           old="projection = resnet.fc.in_features * embed_size + embed_size",
           new="projection = resnet.fc.in_features * embed_size"),
    Mutant("captioner_parameter_count", "the notebook's n_parameters instead of the text part for "
                                        "these sizes",
           old="text_generator_parameter_count(vocab_size, embed_size, hidden_size)",
           new="n_parameters"),
    Mutant("captioner_parameter_count", "the text part counted on a built TextGeneratorModel: sizes "
                                        "too large to build fail",
           answer="""\
    body = 11_176_512  # torchvision's ResNet-18 without fc
    projection = 512 * embed_size + embed_size
    text_part = sum(p.numel() for p in TextGeneratorModel(vocab_size, embed_size, hidden_size).parameters())
    return body + projection + text_part"""),
    Mutant("captioner_parameter_count", "projection counted to the hidden size",
           old="resnet.fc.in_features * embed_size + embed_size",
           new="resnet.fc.in_features * hidden_size + hidden_size"),
    # Optional question 2: the LSTM
    Mutant("lstm_model", "forward ignores the hidden state it is given",
           old="        self.rnn = nn.LSTM(embed_size, hidden_size)\n",
           new="        self.rnn = nn.LSTM(embed_size, hidden_size)\n\n"
               "    def forward(self, captions, hidden=None):\n"
               "        outputs, hidden = self.rnn(self.embedder(captions))\n"
               "        return self.classifier(outputs), hidden\n"),
    Mutant("lstm_model", "(h, c) treated as one tensor: only h returned",
           old="        self.rnn = nn.LSTM(embed_size, hidden_size)\n",
           new="        self.rnn = nn.LSTM(embed_size, hidden_size)\n\n"
               "    def forward(self, captions, hidden=None):\n"
               "        outputs, (h, c) = self.rnn(self.embedder(captions), hidden)\n"
               "        return self.classifier(outputs), h\n"),
    Mutant("lstm_model", "the LSTM added next to the RNN, which stays in the model",
           old="self.rnn = nn.LSTM(embed_size, hidden_size)",
           new="self.rnn, self.old_rnn = nn.LSTM(embed_size, hidden_size), self.rnn"),
    Mutant("lstm_model", "batch_first=True on time-major batches",
           old="nn.LSTM(embed_size, hidden_size)", new="nn.LSTM(embed_size, hidden_size, batch_first=True)"),
    Mutant("lstm_model", "a zero (h, c) made on the default device (the CPU) when none is given",
           old="        self.rnn = nn.LSTM(embed_size, hidden_size)\n",
           new="        self.rnn = nn.LSTM(embed_size, hidden_size)\n\n"
               "    def forward(self, captions, hidden=None):\n"
               "        if hidden is None:\n"
               "            zeros = torch.zeros(1, captions.shape[1], self.rnn.hidden_size)\n"
               "            hidden = (zeros, zeros.clone())\n"
               "        outputs, hidden = self.rnn(self.embedder(captions), hidden)\n"
               "        return self.classifier(outputs), hidden\n"),
    Mutant("lstm_model", "two stacked LSTM layers",
           old="nn.LSTM(embed_size, hidden_size)", new="nn.LSTM(embed_size, hidden_size, num_layers=2)"),
]

# Answers built only from rnnlab's public functions (the glue is the least that makes them run):
# rnnlab must hold no part of an exercise, so none of these may score.
FROM_RNNLAB = [
    Mutant("image_captioning_model", "FROM_RNNLAB: the images encoded by rnnlab.captioning.encode_in_batches",
           old="        image_embedding = self.encoder(images).unsqueeze(0)",
           new="        from rnnlab.captioning import encode_in_batches\n\n"
               "        image_embedding = encode_in_batches(self.encoder, images,\n"
               "                                            progress=False).unsqueeze(0)"),
    Mutant("captioner_parameter_count", "FROM_RNNLAB: the parameters of rnnlab.vision.pretrained_model's "
                                        "ResNet-18, plus the text generator's",
           answer="""\
    from rnnlab import vision

    resnet, _ = vision.pretrained_model("resnet18")
    return (sum(p.numel() for p in resnet.parameters())
            + text_generator_parameter_count(vocab_size, embed_size, hidden_size))"""),
]
MUTANTS += FROM_RNNLAB

# Exercises that no rnnlab function relates to, and why.
NO_RELATED_HELPER = {
    "train_rnn_model": "training and validation epochs of a torch model: rnnlab has no training loop "
                       "(rnnlab.training.fit, used by no lab, answered lab 02's train_step and was removed)",
    "parameter_count": "a formula of three sizes: rnnlab counts the parameters of no model",
    "lstm_model": "one torch layer swapped for another: rnnlab holds no torch layer or model",
}

EQUIVALENTS = [
    Equivalent("parameter_count", "factorised formula",
               answer="""\
    return vocab_size * (embed_size + hidden_size + 1) + hidden_size * (embed_size + hidden_size + 2)"""),
    Equivalent("parameter_count", "layer by layer from a list of weight shapes",
               answer="""\
    shapes = [(vocab_size, embed_size), (hidden_size, embed_size), (hidden_size, hidden_size),
              (hidden_size,), (hidden_size,), (vocab_size, hidden_size), (vocab_size,)]
    total = 0
    for shape in shapes:
        count = 1
        for size in shape:
            count *= size
        total += count
    return total"""),
    Equivalent("train_rnn_model", "no clipping, validation without no_grad or eval, summed losses, "
                                  "a visible progress bar",
               answer="""\
    model = model.to(device)
    pad = criterion.ignore_index
    train_losses, val_losses = [], []
    for epoch in range(n_epochs):
        model.train()
        epoch_losses = []
        for batch in tqdm(train_loader):
            captions = batch[1].to(device)
            inputs, targets = captions[:-1], captions[1:]
            scores, _ = model(inputs)
            loss = criterion(scores.flatten(0, 1), targets.flatten())
            model.zero_grad()
            loss.backward()
            optimizer.step()
            epoch_losses.append(float(loss))
        train_losses.append(float(sum(epoch_losses) / len(epoch_losses)))
        summed, tokens = 0.0, 0
        for batch in val_loader:
            captions = batch[1].to(device)
            scores, _ = model(captions[:-1])
            summed += nn.functional.cross_entropy(scores.flatten(0, 1), captions[1:].flatten(),
                                                  ignore_index=pad, reduction="sum").item()
            tokens += int((captions[1:] != pad).sum())
        val_losses.append(summed / tokens)
        print(f"epoch {epoch + 1}: train {train_losses[-1]:.3f}, validation {val_losses[-1]:.3f}")
    return {"train_loss": train_losses, "val_loss": val_losses}"""),
    Equivalent("train_rnn_model", "zero_grad after step, clipping at 1, a bar with the loss, "
                                  "real targets counted from the lengths",
               answer="""\
    model.to(device)
    history = {"train_loss": [], "val_loss": []}
    for epoch in range(n_epochs):
        model.train()
        total = 0.0
        bar = tqdm(train_loader, leave=True)
        for _, captions, _ in bar:
            captions = captions.to(device)
            scores, _ = model(captions[:-1])
            loss = criterion(scores.view(-1, scores.size(-1)), captions[1:].contiguous().view(-1))
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            total += loss.item()
            bar.set_postfix(loss=f"{loss.item():.3f}")
        history["train_loss"].append(total / len(train_loader))
        model.eval()
        with torch.no_grad():
            losses, counts = [], []
            for _, captions, lengths in val_loader:
                captions = captions.to(device)
                scores, _ = model(captions[:-1])
                losses.append(criterion(scores.flatten(0, 1), captions[1:].flatten()).item())
                counts.append(sum(lengths) - len(lengths))  # a caption of L tokens has L - 1 targets
        history["val_loss"].append(sum(x * n for x, n in zip(losses, counts)) / sum(counts))
    return history"""),
    Equivalent("image_captioning_model", "a deep copy of the ResNet, batch_first RNN on permuted "
                                         "inputs, explicit zero state",
               answer="""\
    def __init__(self, cnn, vocab_size, embed_size=300, hidden_size=512):
        super().__init__()
        import copy

        self.encoder = copy.deepcopy(cnn)
        self.encoder.fc = nn.Linear(512, embed_size)
        self.embedder = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.RNN(embed_size, hidden_size, batch_first=True)
        self.classifier = nn.Linear(hidden_size, vocab_size)

    def forward(self, images, captions, hidden=None):
        words = self.embedder(captions.t())  # (B, T, E)
        inputs = torch.cat([self.encoder(images)[:, None, :], words], dim=1)  # (B, T + 1, E)
        if hidden is None:
            hidden = inputs.new_zeros(1, inputs.shape[0], self.rnn.hidden_size)
        outputs, hidden = self.rnn(inputs, hidden)
        return self.classifier(outputs).transpose(0, 1), hidden"""),
    Equivalent("train_rnn_model", "whole captions into the model and the last step's scores dropped, "
                                  "model.train() in the batch loop, targets counted from the lengths",
               answer="""\
    model = model.to(device)
    history = {"train_loss": [], "val_loss": []}
    for epoch in range(n_epochs):
        batch_losses = []
        for _, captions, lengths in tqdm(train_loader, leave=False):
            model.train()
            captions = captions.to(device)
            scores = model(captions)[0][:-1]
            loss = criterion(scores.reshape(-1, scores.size(-1)), captions[1:].flatten())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            batch_losses.append(loss.item())
        history["train_loss"].append(sum(batch_losses) / len(batch_losses))
        model.eval()
        total, tokens = 0.0, 0
        with torch.no_grad():
            for _, captions, lengths in val_loader:
                captions = captions.to(device)
                scores = model(captions)[0][:-1]
                n = sum(lengths) - len(lengths)
                total += criterion(scores.reshape(-1, scores.size(-1)), captions[1:].flatten()).item() * n
                tokens += n
        history["val_loss"].append(total / tokens)
    return history"""),
    Equivalent("image_captioning_model", "the image step run through the RNN on its own, then the words "
                                         "from its state",
               answer="""\
    def __init__(self, cnn, vocab_size, embed_size=300, hidden_size=512):
        super().__init__()
        self.encoder = cnn
        self.encoder.fc = nn.Linear(512, embed_size)
        self.embedder = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.RNN(embed_size, hidden_size)
        self.classifier = nn.Linear(hidden_size, vocab_size)

    def forward(self, images, captions, hidden=None):
        first, hidden = self.rnn(self.encoder(images)[None], hidden)
        rest, hidden = self.rnn(self.embedder(captions), hidden)
        return self.classifier(torch.cat([first, rest])), hidden"""),
    Equivalent("captioner_parameter_count", "the ResNet body as a constant, question 1's function "
                                            "for the text part",
               answer="""\
    body = 11_176_512  # torchvision's ResNet-18 without fc
    return body + 512 * embed_size + embed_size + text_generator_parameter_count(
        vocab_size, embed_size, hidden_size)"""),
    Equivalent("captioner_parameter_count", "body counted on a ResNet without its fc, every layer "
                                            "by formula",
               answer="""\
    import torchvision

    resnet = torchvision.models.resnet18()
    resnet.fc = nn.Identity()
    body = sum(p.numel() for p in resnet.parameters())
    text = (vocab_size * embed_size + embed_size * hidden_size + hidden_size * hidden_size
            + 2 * hidden_size + hidden_size * vocab_size + vocab_size)
    return body + 512 * embed_size + embed_size + text"""),
    Equivalent("lstm_model", "all layers and forward written out again",
               answer="""\
    def __init__(self, vocab_size, embed_size=300, hidden_size=512):
        nn.Module.__init__(self)
        self.embedder = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.LSTM(input_size=embed_size, hidden_size=hidden_size, num_layers=1)
        self.classifier = nn.Linear(hidden_size, vocab_size)

    def forward(self, captions, hidden=None):
        outputs, (h, c) = self.rnn(self.embedder(captions), hidden)
        return self.classifier(outputs), (h, c)"""),
    Equivalent("lstm_model", "a zero (h, c) made with new_zeros on the embeddings' device",
               answer="""\
    def __init__(self, vocab_size, embed_size=300, hidden_size=512):
        super().__init__(vocab_size, embed_size, hidden_size)
        self.rnn = nn.LSTM(embed_size, hidden_size, batch_first=False)

    def forward(self, captions, hidden=None):
        embedded = self.embedder(captions)
        if hidden is None:
            h = embedded.new_zeros(1, captions.shape[1], self.rnn.hidden_size)
            hidden = (h, h.clone())
        outputs, (h, c) = self.rnn(embedded, hidden)
        return self.classifier(outputs), (h, c)"""),
]

# The real grader also grades this one: the weak spot an instructor found (encoder under no_grad).
GRADER_SAMPLE = next(i for i, m in enumerate(MUTANTS) if "torch.no_grad()" in m.what)
