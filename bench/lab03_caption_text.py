"""Lab 03 bench: speed and quality of the caption text generator, the original configuration
side by side with ours, all in one process on the shapes captions.

Runs, each trained here from seed 0:
  seed_config        the original lab: vocabulary cap 5000, embedding 300, RNN 512, batch 128,
                     Adam 5e-4, batches padded with [END] (id shared with padding), no explicit
                     [END] after a caption, padding counted in the loss; one epoch
  seed_config_fixed  the same sizes with the padding fix (explicit [END], [PAD] ignored); one epoch
  rnn, lstm          the notebook's full profile: embedding 64, hidden 128, batch 128, Adam 3e-3,
                     padding fixed, three epochs over every training caption; trained from each
                     of SEEDS (the figures without a suffix are seed 0's)

Every model is scored the same way: validation perplexity per real target token (the [END] after
each caption included, padding excluded), and, over 1000 sampled sentences, the fraction that are
well-formed shapes captions and the long-distance agreements they keep (`metrics.agreement_rates`:
agreement_<kind> the fraction kept, _n over how many sentences, _span the mean distance in words).
For rnn and lstm, <figure>_per_seed lists a figure over the seeds and <figure>_mean averages it.
val_redrawn_synonym_agreement: the synonym agreement of the validation captions with every synonym
drawn afresh (`synonyms_redrawn`), what a model that forgets its earlier choice would reach.
tokens_per_s counts real (non-padding) input tokens per second of training. The seed
configuration's own loss, padding included, is reported too, to show how much the shortcut
flatters it. Last, full_profile_wall_s: the whole solution notebook under the full
profile, in a fresh kernel.
"""

from __future__ import annotations

import math
import random
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence

from bench._notebook import full_profile_wall_s
from rnnlab import metrics, runtime, text
from rnnlab.datasets import coco, shapes
from rnnlab.datasets.shapes_grammar import SYNONYMS

NOTEBOOK = (Path(__file__).resolve().parent.parent / "solutions" / "03_caption_text_generator"
            / "caption_text_generator.ipynb")

PAD, START, END, UNK = "[PAD]", "[START]", "[END]", "UNK"
N_SAMPLES = 1000
SEEDS = (0, 1, 2)  # the RNN-vs-LSTM comparison's training seeds


@dataclass(frozen=True)
class Config:
    """One training run: model sizes, optimisation and how batches are padded."""

    name: str
    cell: str  # "rnn" or "lstm"
    embed_size: int
    hidden_size: int
    batch_size: int
    lr: float
    epochs: int
    seed_padding: bool  # True: the original lab's batches and loss (see the module docstring)


CONFIGS = (
    Config("seed_config", "rnn", 300, 512, 128, 5e-4, 1, seed_padding=True),
    Config("seed_config_fixed", "rnn", 300, 512, 128, 5e-4, 1, seed_padding=False),
    Config("rnn", "rnn", 64, 128, 128, 3e-3, 3, seed_padding=False),
    Config("lstm", "lstm", 64, 128, 128, 3e-3, 3, seed_padding=False),
)


class LanguageModel(nn.Module):
    """Embedding -> RNN or LSTM -> Linear. forward(ids (T, B), hidden) -> (scores (T, B, V), hidden)"""

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int, cell: str):
        super().__init__()
        if cell not in ("rnn", "lstm"):
            raise ValueError(f"cell must be 'rnn' or 'lstm', got {cell!r}")
        self.embedder = nn.Embedding(vocab_size, embed_size)
        self.rnn = (nn.RNN if cell == "rnn" else nn.LSTM)(embed_size, hidden_size)
        self.classifier = nn.Linear(hidden_size, vocab_size)

    def forward(self, ids: torch.Tensor, hidden=None):
        outputs, hidden = self.rnn(self.embedder(ids), hidden)
        return self.classifier(outputs), hidden


def read_captions(path, vocab: text.Vocabulary | None = None,
                  vocab_size: int = 5000) -> tuple[text.Vocabulary, list[list[int]]]:
    """Word ids of every caption in a COCO captions file (no [START]/[END]), and the vocabulary
    (built here, specials first, when not given)."""
    words = [text.tokenize(a["caption"]) for a in coco.CocoCaptions(path).annotations]
    vocab = vocab or text.Vocabulary.build(words, max_size=vocab_size, specials=(PAD, START, END),
                                           unk_token=UNK)
    return vocab, [vocab.encode(w) for w in words]


def make_batches(captions: list[list[int]], vocab: text.Vocabulary, batch_size: int,
                 seed_padding: bool, generator: torch.Generator | None = None) -> list:
    """Batches of (ids (T, B), n_real_inputs), longest caption first within a batch.

    seed_padding False: [START] w_1..w_n [END] padded with [PAD]
    seed_padding True:  [START] w_1..w_n padded with [END] (the original lab)
    generator: shuffles the captions when given; None keeps their order
    """
    order = (torch.randperm(len(captions), generator=generator).tolist() if generator is not None
             else list(range(len(captions))))
    tail = [] if seed_padding else [vocab[END]]
    pad_id = vocab[END] if seed_padding else vocab[PAD]
    batches = []
    for start in range(0, len(order), batch_size):
        seqs = [torch.tensor([vocab[START], *captions[i], *tail]) for i in order[start:start + batch_size]]
        seqs.sort(key=len, reverse=True)
        batches.append((pad_sequence(seqs, padding_value=pad_id), sum(len(s) - 1 for s in seqs)))
    return batches


def next_word_loss(model: nn.Module, ids: torch.Tensor, criterion: nn.Module) -> torch.Tensor:
    """Mean loss of predicting ids[1:] from ids[:-1]; ids (T, B)."""
    scores, _ = model(ids[:-1])
    return criterion(scores.reshape(-1, scores.shape[-1]), ids[1:].reshape(-1))


@torch.no_grad()
def mean_loss(model: nn.Module, batches: list, criterion: nn.Module, pad_id: int | None) -> float:
    """Loss per target over all batches: per real target if pad_id is given, else per position."""
    model.eval()
    total, count = 0.0, 0
    for ids, _ in batches:
        targets = ids[1:]
        n = int((targets != pad_id).sum()) if pad_id is not None else targets.numel()
        total += next_word_loss(model, ids, criterion).item() * n
        count += n
    return total / count


@torch.no_grad()
def sample_sentences(model: nn.Module, vocab: text.Vocabulary, n: int, max_len: int = 30,
                     seed: int = 0) -> list[str]:
    """n sentences sampled word by word from [START] until [END] or max_len words."""
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    sentences = []
    for _ in range(n):
        words, hidden = [], None
        ids = torch.tensor([[vocab[START]]])
        while len(words) < max_len:
            scores, hidden = model(ids, hidden)
            next_id = int(torch.multinomial(torch.softmax(scores[-1, 0].cpu().double(), -1), 1,
                                            generator=generator))
            if next_id == vocab[END]:
                break
            words.append(vocab.token(next_id))
            ids = torch.tensor([[next_id]])
        sentences.append(" ".join(words))
    return sentences


def train_and_score(cfg: Config, vocab: text.Vocabulary, train_ids: list, val_ids: list,
                    n_samples: int = N_SAMPLES, seed: int = 0) -> dict:
    """Train one configuration from a seed; its speed, validation perplexity, well-formed-sample
    rate and agreement rates (`metrics.agreement_rates`, keys prefixed with agreement_)."""
    runtime.seed_everything(seed)
    model = LanguageModel(len(vocab), cfg.embed_size, cfg.hidden_size, cfg.cell)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    pad_id = vocab[END] if cfg.seed_padding else vocab[PAD]
    criterion = nn.CrossEntropyLoss() if cfg.seed_padding else nn.CrossEntropyLoss(ignore_index=pad_id)
    generator = torch.Generator().manual_seed(seed)
    train_s, tokens, perplexities = 0.0, 0, []
    val_fixed = make_batches(val_ids, vocab, 256, seed_padding=False)
    honest = nn.CrossEntropyLoss(ignore_index=vocab[PAD])
    for _ in range(cfg.epochs):
        batches = make_batches(train_ids, vocab, cfg.batch_size, cfg.seed_padding, generator)
        model.train()
        start = time.perf_counter()
        for ids, n_real in batches:
            loss = next_word_loss(model, ids, criterion)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            tokens += n_real
        train_s += time.perf_counter() - start
        perplexities.append(math.exp(mean_loss(model, val_fixed, honest, vocab[PAD])))
    sentences = sample_sentences(model, vocab, n_samples, seed=seed)
    figures = {
        "s_per_epoch": round(train_s / cfg.epochs, 1),
        "tokens_per_s": round(tokens / train_s),
        "val_perplexity": round(perplexities[-1], 3),
        "val_perplexity_per_epoch": " ".join(f"{p:.3f}" for p in perplexities),
        "well_formed_rate": sum(metrics.caption_is_well_formed(s) for s in sentences) / n_samples,
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    figures.update({f"agreement_{key}": round(value, 3)
                    for key, value in metrics.agreement_rates(sentences).items()})
    if cfg.seed_padding:
        val_seed = make_batches(val_ids, vocab, cfg.batch_size, seed_padding=True)
        own = mean_loss(model, val_seed, criterion, pad_id=None)
        figures["own_val_perplexity_padding_counted"] = round(math.exp(own), 3)
    return figures


def synonyms_redrawn(sentences: list[str], seed: int = 0) -> list[str]:
    """The sentences (lower case, words split on spaces) with every word that has synonyms
    replaced by one of them drawn at random: captions written with no memory of the synonyms
    already used, the chance level of the synonym agreement."""
    canonical = {word: words for words in SYNONYMS.values() for word in words}
    rng = random.Random(seed)
    return [" ".join(rng.choice(canonical[w]) if w in canonical else w for w in s.lower().split())
            for s in sentences]


def over_seeds(runs: list[dict]) -> dict:
    """The figures of one configuration trained from several seeds: for perplexity and each
    agreement rate, <figure>_per_seed (the values, in seed order) and <figure>_mean; for the
    agreements' sentence counts and spans, their mean."""
    summary = {}
    for key in ("val_perplexity", *(f"agreement_{kind}" for kind in metrics.AGREEMENTS)):
        values = [r[key] for r in runs]
        summary[f"{key}_per_seed"] = " ".join(f"{v:.3f}" for v in values)
        summary[f"{key}_mean"] = round(statistics.fmean(values), 3)
        if key != "val_perplexity":
            for extra in ("_n", "_span"):
                summary[f"{key}{extra}_mean"] = round(statistics.fmean(r[key + extra] for r in runs), 1)
    return summary


def run() -> dict:
    """Train every configuration on the shapes captions; flat dict of figures."""
    folder = shapes.ensure_built()
    vocab, train_ids = read_captions(folder / "captions_train.json")
    _, val_ids = read_captions(folder / "captions_val.json", vocab=vocab)
    results = {"vocab_size": len(vocab), "train_captions": len(train_ids),
               "val_captions": len(val_ids), "torch_threads": torch.get_num_threads()}
    for cfg in CONFIGS:
        start = time.perf_counter()
        figures = train_and_score(cfg, vocab, train_ids, val_ids)
        figures["wall_s"] = round(time.perf_counter() - start, 1)
        print(f"lab03_caption_text: {cfg.name}: {figures}", flush=True)
        if cfg.name in ("rnn", "lstm"):
            runs = [figures]
            for seed in SEEDS[1:]:
                runs.append(train_and_score(cfg, vocab, train_ids, val_ids, seed=seed))
                print(f"lab03_caption_text: {cfg.name} seed {seed}: {runs[-1]}", flush=True)
            figures.update(over_seeds(runs))
        results.update({f"{cfg.name}_{key}": value for key, value in figures.items()})
    val_sentences = [" ".join(vocab.decode(ids)) for ids in val_ids]
    results["val_redrawn_synonym_agreement"] = round(
        metrics.agreement_rates(synonyms_redrawn(val_sentences))["synonym"], 3)
    results["full_profile_train_s"] = round(results["rnn_wall_s"] + results["lstm_wall_s"], 1)
    results["full_profile_wall_s"] = full_profile_wall_s(NOTEBOOK)
    return results
