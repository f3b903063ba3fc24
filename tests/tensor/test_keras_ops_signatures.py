"""keras.ops functions with Keras 3's signatures and results where TensorFlow's differ
(values checked against Keras 3.15.1 on TensorFlow 2.21, by hand: the numbers are small)."""

from __future__ import annotations

import inspect

import numpy as np

import convnp as tf

ops = tf.keras.ops
X = np.array([[1.0, 3.0, 2.0], [4.0, 0.0, 5.0]], "float32")


def test_argmax_argmin_are_int32_over_all_values_by_default():
    assert ops.argmax(X, axis=-1).dtype == "int32"
    assert ops.argmax(X, axis=-1, keepdims=True).shape == (2, 1)
    assert int(ops.argmax(X)) == 5  # flattened, as NumPy and Keras 3
    np.testing.assert_array_equal(ops.argmin(X, axis=0, keepdims=True), [[0, 1, 0]])


def test_cumsum_tile_round_where():
    np.testing.assert_array_equal(ops.cumsum(X), [1, 4, 6, 10, 10, 15])
    assert ops.cumsum(X, dtype="int32").dtype == "int32"
    assert ops.tile(X, 2).shape == (2, 6) and ops.tile(X, (2, 1, 1)).shape == (2, 2, 3)
    np.testing.assert_allclose(ops.round(np.array([1.234, 2.5, 3.5]), 1), [1.2, 2.5, 3.5])
    np.testing.assert_allclose(ops.round(np.array([2.5, 3.5])), [2.0, 4.0])
    rows, cols = ops.where(X > 2)
    np.testing.assert_array_equal(rows, [0, 1, 1])
    np.testing.assert_array_equal(cols, [1, 0, 2])
    assert rows.dtype == "int32"


def test_keyword_names_are_keras_3s():
    assert ops.reshape(X, newshape=(3, 2)).shape == (3, 2)
    assert ops.transpose(X, axes=(1, 0)).shape == (3, 2)
    np.testing.assert_allclose(ops.add(x1=X, x2=1.0), X + 1)
    np.testing.assert_allclose(ops.where(X > 2, x1=X, x2=0.0), np.where(X > 2, X, 0))
    assert list(inspect.signature(ops.matmul).parameters) == ["x1", "x2"]


def test_convert_to_numpy_and_is_tensor():
    t = ops.convert_to_tensor(X)
    assert ops.is_tensor(t) and not ops.is_tensor(X)
    out = ops.convert_to_numpy(t)
    assert type(out) is np.ndarray
    np.testing.assert_array_equal(out, X)
