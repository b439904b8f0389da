"""rnnlab.diagrams: the explanatory figures of lab 02 draw, label what they show, reject bad input."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rnnlab import diagrams  # noqa: E402


def test_architectures_draw_one_panel_per_wiring():
    fig = diagrams.rnn_architectures()
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == len(diagrams.ARCHITECTURES)
    assert any("next word" in t for t in titles) and any("one to many" in t for t in titles)
    plt.close(fig)


def test_next_word_targets_put_each_words_successor_above_it():
    words = ["i", "can", "see", "<eol>"]
    fig = diagrams.next_word_targets(words)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts.count("can") == 2 and texts.count("see") == 2  # as an input and as a target
    assert texts.count("i") == 1 and texts.count("<eol>") == 1  # first: input only; last: target
    plt.close(fig)
    with pytest.raises(ValueError, match="at least two words"):
        diagrams.next_word_targets(["alone"])


def _top_k(logits, k):
    # a reference for lab 02's exercise 4 at temperature 1: softmax of the k highest scores
    z = np.where(logits >= np.sort(logits)[-(k or len(logits))], logits, -np.inf)
    return np.exp(z - z.max()) / np.exp(z - z.max()).sum()


def test_top_k_panels_draw_what_the_labs_function_returns():
    logits = np.array([0.5, 2.0, 1.0, -1.0])
    fig = diagrams.top_k_sampling(["a", "b", "c", "d"], logits, 2, _top_k)
    heights = [bar.get_height() for bar in fig.axes[2].patches]
    kept = np.exp([2.0, 1.0]) / np.exp([2.0, 1.0]).sum()
    assert np.allclose(heights, [kept[0], kept[1], 0, 0])
    assert np.isclose(sum(b.get_height() for b in fig.axes[0].patches), 1.0)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["b", "c", "a", "d"]
    plt.close(fig)
    uniform = diagrams.top_k_sampling(["a", "b", "c", "d"], logits, 2, lambda z, k: np.full(4, 0.25))
    assert [bar.get_height() for bar in uniform.axes[2].patches] == [0.25] * 4
    plt.close(uniform)
    with pytest.raises(ValueError, match="k must be"):
        diagrams.top_k_sampling(["a", "b"], [1.0, 2.0], 3, _top_k)
    with pytest.raises(ValueError, match="one score per word"):
        diagrams.top_k_sampling(["a", "b"], [1.0, 2.0, 3.0], 1, _top_k)
