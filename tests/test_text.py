import pytest

from rnnlab.text import Vocabulary, char_vocabulary, detokenize, tokenize


def test_tokenize_splits_punctuation_without_nltk_data():
    assert tokenize("A red circle, left of a box.") == [
        "a", "red", "circle", ",", "left", "of", "a", "box", "."]
    assert tokenize("Don't stop", lower=False) == ["Do", "n't", "stop"]


def test_detokenize_undoes_the_treebank_splits():
    text = "i don't know, my friend (do you?)"
    assert tokenize(text) == ["i", "do", "n't", "know", ",", "my", "friend", "(", "do", "you",
                              "?", ")"]
    assert detokenize(tokenize(text)) == text
    assert detokenize(tokenize('he said "go" now.')) == 'he said "go" now.'
    assert detokenize([]) == ""
    with pytest.raises(TypeError, match="sequence of tokens"):
        detokenize("a string")


def test_tokenize_rejects_non_strings():
    with pytest.raises(TypeError, match="string"):
        tokenize(["a", "list"])


def test_vocabulary_orders_specials_then_frequency_then_alphabet():
    vocab = Vocabulary.build([["b", "a", "c", "a"], ["b", "a"]],
                             specials=["<pad>", "<start>", "<end>"], unk_token="<unk>")
    assert vocab.itos == ["<pad>", "<start>", "<end>", "<unk>", "a", "b", "c"]
    assert vocab.encode(["a", "zebra"]) == [4, 3]
    assert vocab.decode([1, 4, 5, 2, 6], stop_token="<end>") == ["a", "b"]


def test_vocabulary_max_size_and_count_threshold():
    lists = [["a"] * 5 + ["b"] * 3 + ["c"]]
    assert Vocabulary.build(lists, max_size=3, specials=["<pad>"]).itos == ["<pad>", "a", "b"]
    assert Vocabulary.build(lists, min_count=3).itos == ["a", "b"]


def test_vocabulary_bad_sizes_are_clear_errors():
    with pytest.raises(ValueError, match="no room"):
        Vocabulary.build([["a"]], max_size=0)
    with pytest.raises(ValueError, match="no room"):
        Vocabulary.build([["a"]], max_size=2, specials=["<pad>", "<end>"])
    with pytest.raises(ValueError, match="empty"):
        Vocabulary.build([[]])


def test_unknown_word_without_unk_token_says_what_to_do():
    vocab = Vocabulary.build([["a", "b"]])
    with pytest.raises(KeyError, match="unk_token"):
        vocab.encode(["zebra"])
    with pytest.raises(IndexError, match="outside"):
        vocab.token(99)


def test_vocabulary_round_trips_through_json(tmp_path):
    vocab = Vocabulary.build([["x", "y", "y"]], specials=["<pad>"], unk_token="<unk>")
    vocab.save(tmp_path / "v.json")
    again = Vocabulary.load(tmp_path / "v.json")
    assert again.itos == vocab.itos and again["nope"] == vocab["<unk>"]
    (tmp_path / "bad.json").write_text('{"tokens": []}')
    with pytest.raises(ValueError, match="missing"):
        Vocabulary.load(tmp_path / "bad.json")
    with pytest.raises(FileNotFoundError):
        Vocabulary.load(tmp_path / "none.json")


def test_char_vocabulary_refuses_specials_that_occur_in_text():
    vocab = char_vocabulary(["ab", "ba c"], specials=["\x02", "\x03"])
    assert vocab.itos == ["\x02", "\x03", " ", "a", "b", "c"]
    with pytest.raises(ValueError, match="also occur"):
        char_vocabulary(["Start End"], specials=["S", "E"])
