"""Lab 03's bench helpers: the original lab's padding next to the fixed one, and the scoring."""

import math

import pytest
import torch
from torch import nn

from bench import lab03_caption_text as lab03
from rnnlab import metrics


@pytest.fixture(scope="module")
def captions(small_shapes):
    vocab, train_ids = lab03.read_captions(small_shapes / "captions_train.json")
    _, val_ids = lab03.read_captions(small_shapes / "captions_val.json", vocab=vocab)
    return vocab, train_ids, val_ids


def test_vocabulary_has_the_specials_first_and_val_reuses_it(captions):
    vocab, train_ids, val_ids = captions
    assert [vocab.token(i) for i in range(4)] == [lab03.PAD, lab03.START, lab03.END, lab03.UNK]
    assert len(train_ids) == 600 and len(val_ids) == 100
    assert all(0 < i < len(vocab) for ids in val_ids for i in ids)


def test_fixed_batches_end_every_caption_and_pad_with_their_own_id(captions):
    vocab, train_ids, _ = captions
    (ids, n_real), *_ = lab03.make_batches(train_ids[:5], vocab, 5, seed_padding=False)
    lengths = [len(c) + 2 for c in train_ids[:5]]
    assert ids.shape == (max(lengths), 5)
    assert n_real == sum(lengths) - 5
    assert (ids[0] == vocab[lab03.START]).all()
    assert int((ids == vocab[lab03.END]).sum()) == 5, "exactly one [END] per caption"
    assert int((ids == vocab[lab03.PAD]).sum()) == ids.numel() - sum(lengths)
    assert sorted(lengths, reverse=True) == [int((col != vocab[lab03.PAD]).sum()) for col in ids.T]


def test_seed_batches_pad_with_end_and_leave_the_longest_caption_without_one(captions):
    vocab, train_ids, _ = captions
    (ids, _), *_ = lab03.make_batches(train_ids[:5], vocab, 5, seed_padding=True)
    assert vocab[lab03.PAD] not in ids
    longest = ids[:, 0]
    assert vocab[lab03.END] not in longest, "the longest caption has no padding, hence no end"


def test_shuffled_batches_cover_every_caption_once(captions):
    vocab, train_ids, _ = captions
    batches = lab03.make_batches(train_ids, vocab, 64, False, torch.Generator().manual_seed(1))
    assert sum(ids.shape[1] for ids, _ in batches) == len(train_ids)
    assert sum(n for _, n in batches) == sum(len(c) + 1 for c in train_ids)


def test_mean_loss_per_real_target_ignores_padding(captions):
    vocab, train_ids, _ = captions
    torch.manual_seed(0)
    model = lab03.LanguageModel(len(vocab), 8, 16, "rnn")
    batches = lab03.make_batches(train_ids[:40], vocab, 7, seed_padding=False)
    per_token = lab03.mean_loss(model, batches, nn.CrossEntropyLoss(ignore_index=vocab[lab03.PAD]),
                                vocab[lab03.PAD])
    scores = []
    for c in train_ids[:40]:
        ids = torch.tensor([vocab[lab03.START], *c, vocab[lab03.END]]).unsqueeze(1)
        out, _ = model(ids[:-1])
        scores.append(nn.functional.cross_entropy(out[:, 0], ids[1:, 0], reduction="sum").item())
    expected = sum(scores) / sum(len(c) + 1 for c in train_ids[:40])
    assert math.isclose(per_token, expected, rel_tol=1e-5)


def test_lstm_model_and_sampling(captions):
    vocab, _, _ = captions
    model = lab03.LanguageModel(len(vocab), 8, 16, "lstm")
    sentences = lab03.sample_sentences(model, vocab, 3, max_len=5)
    assert len(sentences) == 3 and all(len(s.split()) <= 5 for s in sentences)
    assert sentences == lab03.sample_sentences(model, vocab, 3, max_len=5), "seeded sampling repeats"


def test_training_a_tiny_config_reports_every_figure(captions):
    vocab, train_ids, val_ids = captions
    cfg = lab03.Config("tiny", "rnn", 8, 16, 64, 1e-2, 2, seed_padding=True)
    figures = lab03.train_and_score(cfg, vocab, train_ids[:200], val_ids[:50],
                                     n_samples=10)
    assert len(figures["val_perplexity_per_epoch"].split()) == 2
    assert 1 < figures["val_perplexity"] < len(vocab) * 2
    assert 0 <= figures["well_formed_rate"] <= 1
    assert figures["tokens_per_s"] > 0
    assert figures["own_val_perplexity_padding_counted"] > 1
    for kind in ("count", "synonym", "size"):
        assert {f"agreement_{kind}", f"agreement_{kind}_n", f"agreement_{kind}_span"} <= set(figures)


def test_figures_over_seeds_list_each_seed_and_average_them():
    runs = [{"val_perplexity": p, "agreement_count": c, "agreement_count_n": n, "agreement_count_span": 10.0,
             **{f"agreement_{k}{e}": 1.0 for k in ("synonym", "size") for e in ("", "_n", "_span")}}
            for p, c, n in [(2.5, 0.5, 100), (2.7, 1.0, 120)]]
    summary = lab03.over_seeds(runs)
    assert summary["val_perplexity_per_seed"] == "2.500 2.700" and summary["val_perplexity_mean"] == 2.6
    assert summary["agreement_count_per_seed"] == "0.500 1.000" and summary["agreement_count_mean"] == 0.75
    assert summary["agreement_count_n_mean"] == 110 and summary["agreement_count_span_mean"] == 10
    assert "val_perplexity_n_mean" not in summary


def test_unknown_cell_is_refused():
    with pytest.raises(ValueError, match="'rnn' or 'lstm'"):
        lab03.LanguageModel(10, 4, 4, "gru")


def test_redrawn_synonyms_keep_other_words_and_break_the_agreement_at_chance():
    sentences = ["a red disc left of a blue disc"] * 400
    redrawn = lab03.synonyms_redrawn(sentences)
    assert all(r.split()[:2] == ["a", "red"] and r.split()[2] in ("circle", "disc") for r in redrawn)
    assert 0.4 < metrics.agreement_rates(redrawn)["synonym"] < 0.6, "two synonyms: kept half the time"
