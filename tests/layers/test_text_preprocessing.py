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
