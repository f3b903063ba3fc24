"""``tf.keras.preprocessing.text`` (Keras 1's Tokenizer and friends, still exported by TF 2.21):
the expected values below are TF 2.21's outputs for the same calls."""

import json
import warnings

import numpy as np
import pytest

import convnp as tf

text = tf.keras.preprocessing.text
TEXTS = ["The cat sat on the mat.", "The dog ate my homework!", "cat and dog, dog and cat"]


def test_the_module_has_tf_names():
    names = ["Tokenizer", "hashing_trick", "one_hot", "text_to_word_sequence",
             "tokenizer_from_json"]
    assert [n for n in names if not hasattr(text, n)] == []


def test_text_to_word_sequence():
    assert text.text_to_word_sequence("Hello, World! The cat's hat -- is  red.\tok") == [
        "hello", "world", "the", "cat's", "hat", "is", "red", "ok"]
    assert text.text_to_word_sequence("a-b c", filters="", lower=False, split="-") == ["a", "b c"]


def test_hashing_trick_and_one_hot():
    assert text.hashing_trick("the cat sat on the mat", 10, hash_function="md5") == [
        6, 3, 1, 1, 6, 8]
    assert text.hashing_trick("The cat", 7, hash_function=len) == [4, 4]
    hashed = text.one_hot("a b c d e f g", 5)  # Python's hash: only the range is fixed
    assert len(hashed) == 7 and all(1 <= i < 5 for i in hashed)


def test_tokenizer_index_and_counts():
    tok = text.Tokenizer(num_words=6, oov_token="<OOV>")
    tok.fit_on_texts(TEXTS)
    assert tok.word_index == {"<OOV>": 1, "the": 2, "cat": 3, "dog": 4, "and": 5, "sat": 6,
                              "on": 7, "mat": 8, "ate": 9, "my": 10, "homework": 11}
    assert list(tok.word_counts.items()) == [
        ("the", 3), ("cat", 3), ("sat", 1), ("on", 1), ("mat", 1), ("dog", 3), ("ate", 1),
        ("my", 1), ("homework", 1), ("and", 2)]
    assert tok.word_docs["cat"] == 2 and tok.word_docs["and"] == 1
    assert sorted(tok.index_docs.items())[:4] == [(2, 2), (3, 2), (4, 2), (5, 1)]
    assert tok.document_count == 3
    assert tok.texts_to_sequences(["the cat ate a fish", "dog dog"]) == [[2, 3, 1, 1, 1], [4, 4]]
    assert tok.sequences_to_texts([[1, 2, 3, 9, 5, 0, 40]]) == [
        "<OOV> the cat <OOV> and <OOV> <OOV>"]


@pytest.mark.parametrize("mode, expected", [
    ("binary", [[0, 0, 1, 1, 0, 0], [0, 1, 0, 0, 1, 0]]),
    ("count", [[0, 0, 2, 1, 0, 0], [0, 1, 0, 0, 1, 0]]),
    ("freq", [[0, 0, 0.6667, 0.3333, 0, 0], [0, 0.5, 0, 0, 0.5, 0]]),
    ("tfidf", [[0, 0, 1.1736, 0.6931, 0, 0], [0, 1.3863, 0, 0, 0.6931, 0]]),
])
def test_texts_to_matrix(mode, expected):
    tok = text.Tokenizer(num_words=6, oov_token="<OOV>")
    tok.fit_on_texts(TEXTS)
    got = tok.texts_to_matrix(["the cat the", "dog zebra"], mode=mode)
    assert got.shape == (2, 6) and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_matrix_errors():
    tok = text.Tokenizer(num_words=6)
    tok.fit_on_texts(TEXTS)
    with pytest.raises(ValueError):
        tok.texts_to_matrix(["the"], mode="x")
    with pytest.raises(ValueError):
        text.Tokenizer().texts_to_matrix(["a"])
    with pytest.raises(ValueError):
        text.Tokenizer(num_words=4).sequences_to_matrix([[1]], mode="tfidf")
    assert text.Tokenizer(num_words=4).texts_to_matrix([]).shape == (0, 4)


def test_tokenizer_token_kinds():
    chars = text.Tokenizer(char_level=True)
    chars.fit_on_texts(["abca", "Bd"])
    assert chars.word_index == {"a": 1, "b": 2, "c": 3, "d": 4}
    assert chars.texts_to_sequences(["abz"]) == [[1, 2]]
    lists = text.Tokenizer()
    lists.fit_on_texts([["Hello", "world"], ["hello"]])
    assert lists.word_index == {"hello": 1, "world": 2}
    assert lists.texts_to_sequences([["HELLO", "x"]]) == [[1]]
    lone = text.Tokenizer()
    lone.fit_on_texts("abc")  # TF: a string is a list of one-letter texts
    assert lone.word_index == {"a": 1, "b": 2, "c": 3} and lone.document_count == 3
    split = text.Tokenizer(analyzer=lambda s: s.split(","))
    split.fit_on_texts(["a,b a"])
    assert split.word_index == {"a": 1, "b a": 2}
    seqs = text.Tokenizer()
    seqs.fit_on_sequences([[1, 2, 2], [2, 3]])
    assert seqs.document_count == 2 and dict(seqs.index_docs) == {1: 1, 2: 2, 3: 1}


def test_tokenizer_arguments():
    with pytest.raises(TypeError):
        text.Tokenizer(foo=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert text.Tokenizer(nb_words=3).num_words == 3


# Tokenizer(num_words=4, oov_token="?").fit_on_texts(["b a b", "c a"]).to_json() under TF 2.21
TF_JSON = ('{"class_name": "Tokenizer", "config": {"num_words": 4, "filters": '
           '"!\\"#$%&()*+,-./:;<=>?@[\\\\]^_`{|}~\\t\\n", "lower": true, "split": " ", '
           '"char_level": false, "oov_token": "?", "document_count": 2, "word_counts": '
           '"{\\"b\\": 2, \\"a\\": 2, \\"c\\": 1}", "word_docs": "{\\"b\\": 1, \\"a\\": 2, '
           '\\"c\\": 1}", "index_docs": "{\\"2\\": 1, \\"3\\": 2, \\"4\\": 1}", "index_word": '
           '"{\\"1\\": \\"?\\", \\"2\\": \\"b\\", \\"3\\": \\"a\\", \\"4\\": \\"c\\"}", '
           '"word_index": "{\\"?\\": 1, \\"b\\": 2, \\"a\\": 3, \\"c\\": 4}"}}')


def test_json_round_trip_and_tf_json():
    tok = text.Tokenizer(num_words=4, oov_token="?")
    tok.fit_on_texts(["b a b", "c a"])
    written = json.loads(tok.to_json())
    expected = json.loads(TF_JSON)
    assert written["class_name"] == "Tokenizer"
    assert list(written["config"]) == list(expected["config"])
    for key, value in expected["config"].items():
        if isinstance(value, str) and value.startswith("{"):
            assert json.loads(written["config"][key]) == json.loads(value), key
        else:
            assert written["config"][key] == value, key
    back = text.tokenizer_from_json(TF_JSON)
    assert back.word_index == {"?": 1, "b": 2, "a": 3, "c": 4}
    assert back.index_word == {1: "?", 2: "b", 3: "a", 4: "c"}  # int keys again
    assert back.index_docs == {2: 1, 3: 2, 4: 1}
    assert back.num_words == 4 and back.oov_token == "?" and back.document_count == 2
    assert back.texts_to_sequences(["c b z"]) == [[1, 2, 1]]
    np.testing.assert_allclose(back.texts_to_matrix(["a a"], mode="tfidf"),
                               [[0, 0, 0, 0.8649029646371624]])
