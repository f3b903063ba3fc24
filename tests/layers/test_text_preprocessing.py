"""StringLookup, IntegerLookup, TextVectorization, Hashing and HashedCrossing against Keras
3.15 (text_preprocessing.json from tests/fixtures/make_text_preprocessing.py), the hashes
they use against TensorFlow's, .keras files both ways, and a text classifier trained with
fit."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import convnp as tf
from convnp.layers import _hashes

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")
with open(os.path.join(FIXTURES, "text_preprocessing.json"), encoding="utf-8") as _f:
    DATA = json.load(_f)
CASES = {c["name"]: c for c in DATA["cases"]}
HASHES = DATA["hashes"]


def _kwargs(case):
    kwargs = dict(case["kwargs"])
    if isinstance(kwargs.get("ngrams"), list):
        kwargs["ngrams"] = tuple(kwargs["ngrams"])
    return kwargs


def _run(case):
    layer = getattr(tf.keras.layers, case["class"])(**_kwargs(case))
    if case["adapt"] is not None:
        layer.adapt(np.array(case["adapt"]))
    if case["adapt_batches"] is not None:
        data = tf.data.Dataset.from_tensor_slices(np.array(case["adapt_batches"])).batch(2)
        layer.adapt(data)
    dtype = case["input_dtype"]
    if case["call_many"]:
        x = [np.array(v, dtype=dtype) for v in case["inputs"]]
    else:
        x = np.array(case["inputs"], dtype=dtype)
    return layer, layer(x)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_keras(name):
    case = CASES[name]
    if "error" in case and "output" not in case:
        with pytest.raises((ValueError, TypeError)):
            _run(case)
        return
    layer, out = _run(case)
    out = np.asarray(out)
    want = case["output"]
    if case["output_dtype"] == "string":
        assert out.tolist() == want
    else:
        np.testing.assert_allclose(out, np.array(want), rtol=1e-6, atol=1e-6)
        assert out.shape == np.array(want).shape
        assert out.dtype == np.dtype(case["output_dtype"])
    x = np.array(case["inputs"], dtype=case["input_dtype"]) if not case["call_many"] else None
    if x is not None and x.ndim > 0 and out.ndim > 0:
        declared = layer.compute_output_shape((None,) + x.shape[1:])
        assert len(declared) == out.ndim
        assert all(d is None or d == n for d, n in zip(declared[1:], out.shape[1:])), declared
    if "vocabulary" in case:
        assert layer.get_vocabulary() == case["vocabulary"]
        assert layer.vocabulary_size() == case["vocabulary_size"]
    if "idf_weights" in case:
        lookup = getattr(layer, "_lookup_layer", layer)
        np.testing.assert_allclose(lookup.idf_weights, case["idf_weights"], rtol=1e-6)
    config = layer.get_config()
    for key, value in case["config"].items():
        if key in ("dtype", "name", "trainable"):
            continue
        if isinstance(value, str) and key in ("standardize", "split") and value.startswith("<"):
            continue
        got = config[key]
        assert (list(got) if isinstance(got, tuple) else got) == value, key


def test_fingerprint64_matches_tensorflow():
    for text, big, small in zip(HASHES["texts"], HASHES["fast_big"], HASHES["fast_1000003"]):
        h = _hashes.fingerprint64(bytes.fromhex(text))
        assert h % (2 ** 63 - 1) == big, len(text) // 2
        assert h % 1000003 == small


def test_siphash_matches_tensorflow():
    for text, big, small in zip(HASHES["texts"], HASHES["strong_big"], HASHES["strong_97"]):
        data = bytes.fromhex(text)
        assert _hashes.siphash((123, 456), data) % (2 ** 63 - 1) == big
        assert _hashes.siphash((7, 2 ** 40 + 5), data) % 97 == small


def test_cross_hash_matches_tensorflow():
    from convnp.layers.hashed_crossing import cross_hash

    a = [1, 2, -3, 123456789]
    b = ["x", "y", "z", "a long string value here"]
    assert [cross_hash([i, s], 2 ** 63 - 1) for i, s in zip(a, b)] == HASHES["cross_int_str"]
    assert [cross_hash([s, i, i], 1000) for i, s in zip(a, b)] == HASHES["cross_str_int_int"]


# -- .keras files ---------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["text_vectorization", "string_lookup"])
def test_keras_written_file_loads_and_predicts_alike(key, tmp_path):
    import zipfile

    expected = DATA["models"][key]
    model = tf.keras.models.load_model(os.path.join(FIXTURES, f"{key}_model.keras"))
    probe = np.array(expected["probe"])
    got = model.predict(probe, verbose=0)
    np.testing.assert_allclose(got, expected["predict"], rtol=1e-5, atol=1e-6)
    lookup = next(layer for layer in model.layers if hasattr(layer, "get_vocabulary"))
    assert lookup.get_vocabulary() == expected["vocabulary"]
    # written back: the vocabulary where Keras keeps it, and read again alike
    for suffix in (".keras", ".convnp"):
        path = str(tmp_path / f"again{suffix}")
        model.save(path)
        again = tf.keras.models.load_model(path)
        np.testing.assert_array_equal(again.predict(probe, verbose=0), got)
    with zipfile.ZipFile(tmp_path / "again.keras") as archive:
        names = set(archive.namelist())
    if key == "text_vectorization":
        assert {"assets/layers/text_vectorization/vocabulary.txt",
                "assets/layers/text_vectorization/_lookup_layer/vocabulary.txt"} <= names
    else:
        assert "assets/layers/string_lookup/vocabulary.txt" in names


def test_round_trip_keeps_vocabulary_and_idf(tmp_path):
    text = tf.keras.Input((3,), dtype="string")
    ids = tf.keras.Input((2,), dtype="int64")
    words = tf.keras.layers.StringLookup(output_mode="tf_idf")
    words.adapt(np.array([["a", "b", "c"], ["a", "d", "d"]]))
    numbers = tf.keras.layers.IntegerLookup(output_mode="multi_hot", mask_token=0)
    numbers.adapt(np.array([[1, 2], [3, 3]]))
    hashed = tf.keras.layers.Hashing(num_bins=4, output_mode="multi_hot", salt=5)(text)
    joined = tf.keras.layers.Concatenate()([words(text), hashed, numbers(ids)])
    model = tf.keras.Model([text, ids], tf.keras.layers.Dense(2)(joined))
    data = [np.array([["a", "d", "q"], ["b", "b", "c"]]), np.array([[1, 5], [3, 0]])]
    want = model.predict(data, verbose=0)
    for suffix in (".keras", ".convnp"):
        path = str(tmp_path / f"mix{suffix}")
        model.save(path)
        again = tf.keras.models.load_model(path)
        np.testing.assert_array_equal(again.predict(data, verbose=0), want)
        layer = again.get_layer(words.name)
        assert layer.get_vocabulary() == words.get_vocabulary()
        np.testing.assert_array_equal(layer.idf_weights, words.idf_weights)


# -- behaviour ------------------------------------------------------------------------------


def test_bytes_and_str_alike_and_dataset_adapt():
    texts = ["The cat sat.", "A dog, a cat!", "the END"]
    from_str = tf.keras.layers.TextVectorization(output_sequence_length=4)
    from_str.adapt(np.array(texts))
    from_bytes = tf.keras.layers.TextVectorization(output_sequence_length=4)
    from_bytes.adapt(tf.data.Dataset.from_tensor_slices(
        np.array([t.encode() for t in texts])).batch(2))
    assert from_str.get_vocabulary() == from_bytes.get_vocabulary()
    as_bytes = np.array([t.encode() for t in texts], dtype=object)
    np.testing.assert_array_equal(from_str(np.array(texts)), from_bytes(as_bytes))


def test_set_vocabulary_and_file(tmp_path):
    layer = tf.keras.layers.TextVectorization(output_mode="multi_hot")
    layer.set_vocabulary(["cat", "dog"])
    assert layer.vocabulary_size() == 3
    assert np.asarray(layer(["dog bird"])).tolist() == [[1, 0, 1]]
    path = tmp_path / "vocab.txt"
    path.write_text("x\ny\nz\n", encoding="utf-8")
    lookup = tf.keras.layers.StringLookup(vocabulary=str(path))
    assert lookup.get_vocabulary() == ["[UNK]", "x", "y", "z"]
    assert lookup.get_config()["vocabulary"] is None  # kept as an asset, as Keras


def test_callable_standardize_and_split():
    def shout(texts):
        return np.char.upper(texts)

    def on_commas(texts):
        return [t.split(",") for t in texts]

    layer = tf.keras.layers.TextVectorization(standardize=shout, split=on_commas)
    layer.adapt(np.array(["a,b,a", "c"]))
    assert layer.get_vocabulary() == ["", "[UNK]", "A", "C", "B"]
    assert np.asarray(layer(np.array(["b,a,z"]))).tolist() == [[4, 2, 1]]


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="output_mode"):
        tf.keras.layers.StringLookup(output_mode="bag")
    with pytest.raises(ValueError, match="invert"):
        tf.keras.layers.StringLookup(invert=True, output_mode="count")
    with pytest.raises(ValueError, match="output_sequence_length"):
        tf.keras.layers.TextVectorization(output_mode="count", output_sequence_length=3)
    with pytest.raises(ValueError, match="sparse"):
        tf.keras.layers.Hashing(num_bins=3, output_mode="count", sparse=True)
    with pytest.raises(ValueError, match="ragged"):
        tf.keras.layers.TextVectorization(ragged=True)
    with pytest.raises(TypeError, match="strings"):
        tf.keras.layers.StringLookup(vocabulary=["a"])(np.array([1.5]))
    with pytest.raises(RuntimeError, match="adapt"):
        tf.keras.layers.StringLookup(output_mode="count")(np.array([["a"]]))
    with pytest.raises(ValueError, match="at least two"):
        tf.keras.layers.HashedCrossing(num_bins=3)(np.array([1]))
    model = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="dtype='string'"):
        model.predict(np.array([["a", "b"]]), verbose=0)


# -- a text classifier from scratch -----------------------------------------------------------


def _corpus(n, rng):
    good = ["great", "fine", "lovely", "superb", "happy", "wonderful"]
    bad = ["awful", "poor", "boring", "terrible", "sad", "dull"]
    filler = ["the", "film", "was", "a", "plot", "and", "acting", "really", "quite", "it"]
    texts, labels = [], []
    for _ in range(n):
        label = int(rng.integers(2))
        words = list(rng.choice(filler, size=6)) + list(rng.choice(good if label else bad,
                                                                     size=2))
        rng.shuffle(words)
        texts.append((" ".join(words).capitalize() + "!").encode())
        labels.append(label)
    return texts, labels


def test_text_classification_from_scratch(tmp_path):
    """The keras.io example in small: texts from text_dataset_from_directory (bytes),
    TextVectorization adapted on the texts and mapped over the dataset, Embedding, Conv1D,
    GlobalMaxPooling1D, Dense; then one end-to-end model on raw strings."""
    rng = np.random.default_rng(0)
    texts, labels = _corpus(160, rng)
    for i, (text, label) in enumerate(zip(texts, labels)):
        folder = tmp_path / ("pos" if label else "neg")
        folder.mkdir(exist_ok=True)
        (folder / f"{i}.txt").write_bytes(text)
    raw = tf.keras.utils.text_dataset_from_directory(str(tmp_path), batch_size=16, seed=1)
    vectorize = tf.keras.layers.TextVectorization(max_tokens=40, output_mode="int",
                                                  output_sequence_length=10)
    vectorize.adapt(raw.map(lambda x, y: x))
    assert "great" in vectorize.get_vocabulary()
    train = raw.map(lambda x, y: (vectorize(x), y))

    inputs = tf.keras.Input((None,), dtype="int64")
    x = tf.keras.layers.Embedding(40, 8)(inputs)
    x = tf.keras.layers.Dropout(0.2)(x)
    x = tf.keras.layers.Conv1D(16, 3, padding="valid", activation="relu")(x)
    x = tf.keras.layers.GlobalMaxPooling1D()(x)
    x = tf.keras.layers.Dense(16, activation="relu")(x)
    outputs = tf.keras.layers.Dense(1, activation="sigmoid")(x)
    model = tf.keras.Model(inputs, outputs)
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(train, epochs=30, verbose=0)
    assert history.history["accuracy"][-1] > 0.9

    strings = tf.keras.Input((1,), dtype="string")
    end_to_end = tf.keras.Model(strings, model(vectorize(strings)))
    end_to_end.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    test_texts, test_labels = _corpus(40, rng)
    result = end_to_end.evaluate(np.array(test_texts, dtype=object)[:, None],
                                 np.array(test_labels, "float32"), verbose=0,
                                 return_dict=True)
    assert result["accuracy"] > 0.85


def test_sequential_starting_with_text_vectorization(tmp_path):
    vectorize = tf.keras.layers.TextVectorization(max_tokens=20, output_sequence_length=5)
    vectorize.adapt(np.array(["the cat sat", "a dog ate"]))
    model = tf.keras.Sequential([vectorize, tf.keras.layers.Embedding(20, 4),
                                 tf.keras.layers.GlobalAveragePooling1D(),
                                 tf.keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    model.fit(np.array(["the cat", "a dog"]), np.array([0.0, 1.0]), epochs=1, verbose=0)
    want = model.predict(np.array(["the cat", "zebra"]), verbose=0)
    model.save(tmp_path / "seq.keras")
    again = tf.keras.models.load_model(tmp_path / "seq.keras")
    np.testing.assert_array_equal(again.predict(np.array(["the cat", "zebra"]), verbose=0),
                                  want)
