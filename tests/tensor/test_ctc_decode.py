"""CTC decoding: ``keras.ops.ctc_decode`` (greedy and beam search) and Keras 2's
``keras.backend.ctc_decode`` / ``ctc_batch_cost`` against Keras 3.15 on TensorFlow 2.21
(``tests/fixtures/ctc_decode.npz``, made by ``make_ctc_decode.py``): decoded labels exactly,
scores to 1e-5; the -1 padding, the dtypes, and clear errors for bad arguments."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convnp as tf
from convnp import keras
from convnp.keras import backend as K
from convnp.keras import ops
from tests.helpers import load_fixture

GOLDEN = load_fixture("ctc_decode.npz")
CASES = sorted({key.split("/")[0] for key in GOLDEN if "/args" in key})
OPS_CASES = [c for c in CASES if not c.startswith("legacy")]
LEGACY_CASES = [c for c in CASES if c.startswith("legacy")]


def _np(value) -> np.ndarray:
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value)


def test_fixture_has_both_strategies_and_short_sequences():
    assert len(OPS_CASES) >= 15 and len(LEGACY_CASES) >= 3
    assert any(json.loads(str(GOLDEN[f"{c}/args"])).get("strategy") == "beam_search"
               for c in OPS_CASES)
    steps = {c: GOLDEN[f"{c}/inputs"].shape[1] for c in CASES}
    assert sum((GOLDEN[f"{c}/lengths"] < steps[c]).any() for c in CASES) >= len(CASES) - 1


@pytest.mark.parametrize("case", OPS_CASES)
def test_ops_ctc_decode_matches_keras(case):
    kwargs = json.loads(str(GOLDEN[f"{case}/args"]))
    decoded, scores = ops.ctc_decode(GOLDEN[f"{case}/inputs"], GOLDEN[f"{case}/lengths"],
                                     **kwargs)
    want = GOLDEN[f"{case}/decoded"]
    assert _np(decoded).dtype == np.int32 and _np(scores).dtype == np.float32
    assert _np(decoded).shape == want.shape
    np.testing.assert_array_equal(_np(decoded), want)
    np.testing.assert_allclose(_np(scores), GOLDEN[f"{case}/scores"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", LEGACY_CASES)
def test_backend_ctc_decode_matches_keras2(case):
    kwargs = json.loads(str(GOLDEN[f"{case}/args"]))
    decoded, log_prob = K.ctc_decode(GOLDEN[f"{case}/inputs"], GOLDEN[f"{case}/lengths"],
                                     **kwargs)
    want = GOLDEN[f"{case}/decoded"]
    assert isinstance(decoded, list) and len(decoded) == want.shape[0]
    for path, expected in zip(decoded, want):
        assert _np(path).dtype == np.int64
        np.testing.assert_array_equal(_np(path), expected)
    np.testing.assert_allclose(_np(log_prob), GOLDEN[f"{case}/scores"], rtol=1e-5, atol=1e-5)


def test_ctc_batch_cost_and_gradient_match_keras2():
    g = {k.split("/")[1]: v for k, v in GOLDEN.items() if k.startswith("batch_cost/")}
    y_pred = tf.Variable(g["y_pred"])
    with tf.GradientTape() as tape:
        cost = K.ctc_batch_cost(g["y_true"], y_pred, g["input_length"], g["label_length"])
        weighted = tf.reduce_sum(cost * g["weights"])
    assert tuple(cost.shape) == (3, 1)
    np.testing.assert_allclose(_np(cost), g["loss"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_np(tape.gradient(weighted, y_pred)), g["grad"], rtol=1e-4,
                               atol=1e-4)


def test_public_names():
    assert keras.ops.ctc_decode is ops.ctc_decode
    assert keras.ops.nn.ctc_decode is ops.ctc_decode
    assert keras.backend.ctc_decode is K.ctc_decode
    assert "ctc_decode" in K.__all__ and "ctc_batch_cost" in K.__all__


def test_greedy_rules_by_hand():
    # steps' best classes: 1 1 0 1 2 2 (blank 0) -> merged: 1 1 2; not merged: 1 1 1 2 2
    best = [1, 1, 0, 1, 2, 2]
    x = np.full((1, 6, 3), -1.0, np.float32)
    x[0, np.arange(6), best] = [0.5, 0.25, 1.0, 0.5, 0.75, 0.5]
    decoded, scores = ops.ctc_decode(x, np.array([6]))
    np.testing.assert_array_equal(_np(decoded), [[[1, 1, 2, -1, -1, -1]]])
    np.testing.assert_allclose(_np(scores), [[-3.5]])
    decoded, _ = ops.ctc_decode(x, np.array([6]), merge_repeated=False)
    np.testing.assert_array_equal(_np(decoded), [[[1, 1, 1, 2, 2, -1]]])
    decoded, scores = ops.ctc_decode(x, np.array([2]))  # steps past the length are not read
    np.testing.assert_array_equal(_np(decoded), [[[1, -1, -1, -1, -1, -1]]])
    np.testing.assert_allclose(_np(scores), [[-0.75]])
    decoded, scores = ops.ctc_decode(x, np.array([0]))
    assert (_np(decoded) == -1).all() and _np(scores)[0, 0] == 0


def test_beam_search_finds_the_sum_over_alignments():
    # greedy reads blank, blank (score of the single best path), but "a" has the larger
    # total probability over its alignments: 1 - 0.6 ** 2 = 0.64
    p = np.array([[[0.6, 0.4], [0.6, 0.4]]], np.float32)
    greedy, _ = ops.ctc_decode(np.log(p), np.array([2]))
    assert (_np(greedy) == -1).all()
    decoded, scores = ops.ctc_decode(np.log(p), np.array([2]), strategy="beam_search",
                                     top_paths=2)
    np.testing.assert_array_equal(_np(decoded), [[[1, -1]], [[-1, -1]]])
    np.testing.assert_allclose(np.exp(_np(scores)), [[0.64, 0.36]], rtol=1e-6)


def test_dtypes_follow_the_inputs():
    x = np.random.default_rng(0).normal(size=(2, 5, 4))
    for strategy in ("greedy", "beam_search"):
        decoded, scores = ops.ctc_decode(x, np.array([5, 3]), strategy=strategy)
        assert _np(decoded).dtype == np.int32 and _np(scores).dtype == np.float64
        _, scores = ops.ctc_decode(x.astype(np.float16), [5, 3], strategy=strategy)
        assert _np(scores).dtype == np.float32


def test_mask_index_none_and_negative_mean_the_last_class():
    x = np.random.default_rng(1).normal(size=(3, 7, 5)).astype(np.float32)
    lengths = np.array([7, 5, 2])
    for strategy in ("greedy", "beam_search"):
        last = ops.ctc_decode(x, lengths, strategy=strategy, mask_index=4)
        for mask in (None, -1):
            same = ops.ctc_decode(x, lengths, strategy=strategy, mask_index=mask)
            np.testing.assert_array_equal(_np(same[0]), _np(last[0]))
            np.testing.assert_array_equal(_np(same[1]), _np(last[1]))


def test_eager_tensors_are_accepted():
    x = tf.constant(np.random.default_rng(2).normal(size=(2, 4, 3)).astype(np.float32))
    decoded, scores = ops.ctc_decode(x, tf.constant([4, 2]), strategy="beam_search",
                                     beam_width=3, top_paths=2)
    assert tuple(decoded.shape) == (2, 2, 4) and tuple(scores.shape) == (2, 2)


X = np.zeros((2, 4, 3), np.float32)
LENGTHS = np.array([4, 4])


@pytest.mark.parametrize("call, error, words", [
    (lambda: ops.ctc_decode(X[0], LENGTHS), ValueError, "got shape (4, 3)"),
    (lambda: ops.ctc_decode(X[None], LENGTHS), ValueError, "(batch_size, max_length"),
    (lambda: ops.ctc_decode(X, np.array([4, 4, 4])), ValueError, "shape (2,)"),
    (lambda: ops.ctc_decode(X, np.array([[4], [4]])), ValueError, "got shape (2, 1)"),
    (lambda: ops.ctc_decode(X, 4), ValueError, "got shape ()"),
    (lambda: ops.ctc_decode(X, np.array([5, 4])), ValueError, "within [0, 4]"),
    (lambda: ops.ctc_decode(X, np.array([-1, 4])), ValueError, "within [0, 4]"),
    (lambda: ops.ctc_decode(X, np.array([1.5, 4])), TypeError, "whole-number"),
    (lambda: ops.ctc_decode(X, LENGTHS, strategy="beam"), ValueError, "'beam'"),
    (lambda: ops.ctc_decode(X, LENGTHS, strategy="beam_search", beam_width=2, top_paths=3),
     ValueError, "top_paths (3) must be at most beam_width (2)"),
    (lambda: ops.ctc_decode(X, LENGTHS, strategy="beam_search", beam_width=0), ValueError,
     "beam_width must be an int >= 1, got 0"),
    (lambda: ops.ctc_decode(X, LENGTHS, top_paths=1.0), ValueError, "top_paths"),
    (lambda: ops.ctc_decode(X, LENGTHS, mask_index=3), ValueError, "[-3, 3), got 3"),
    (lambda: ops.ctc_decode(X, LENGTHS, mask_index="0"), ValueError, "mask_index"),
    (lambda: ops.ctc_decode(X, LENGTHS, merge_repeated="yes"), TypeError, "merge_repeated"),
    (lambda: ops.ctc_decode(np.array([["a"]]), LENGTHS), ValueError, "shape (1, 1)"),
    (lambda: ops.ctc_decode(np.full((2, 4, 3), "a"), LENGTHS), TypeError, "float inputs"),
    (lambda: K.ctc_decode(X, np.array([[4], [4]])), ValueError, "got shape (2, 1)"),
    (lambda: K.ctc_decode(X[0], LENGTHS), ValueError, "(batch_size, max_length"),
    (lambda: K.ctc_decode(X, LENGTHS, greedy=False, beam_width=1, top_paths=2), ValueError,
     "top_paths (2) must be at most beam_width (1)"),
    (lambda: K.ctc_batch_cost(np.ones((2, 2)), X, LENGTHS, np.array([[2], [2]])), ValueError,
     "input_length of shape (batch_size, 1)"),
    (lambda: K.ctc_batch_cost(np.ones((2, 2)), X[0], LENGTHS[:, None], LENGTHS[:, None]),
     ValueError, "y_pred of shape"),
])
def test_bad_arguments(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


def test_too_few_beam_paths_is_a_clear_error():
    # one step of two classes: the beam ends with two paths ("" and "a"), not three
    x = np.zeros((1, 1, 2), np.float32)
    with pytest.raises(ValueError, match="fewer than top_paths=3"):
        ops.ctc_decode(x, np.array([1]), strategy="beam_search", top_paths=3)
