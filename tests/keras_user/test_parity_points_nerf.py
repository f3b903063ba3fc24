"""The tensor functions keras.io's NeRF and its ray helpers use, as TF 2.21 computes them:
``tf.norm`` of matrices (1, inf and 2 are matrix norms over two axes, not element-wise
reductions), vector p-norms for any positive p, and TF's ValueError for an ``ord`` or
``axis`` it does not take. Expected values are what TF 2.21 gave."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

_X = [[3.0, -4.0, 1.0], [1.0, -2.0, 0.5]]
_X3 = np.arange(24.0, dtype=np.float32).reshape(2, 3, 4) % 7 - 3


@pytest.mark.parametrize(("kwargs", "expected"), [
    # TF 2.21's values for _X
    ({}, 5.5902),
    ({"ord": 1}, 11.5),
    ({"ord": 3}, 4.6589),
    ({"ord": 0.5}, 61.6754),
    ({"ord": np.inf}, 4.0),
    ({"ord": 3, "axis": -1}, [4.5144, 2.0897]),
    ({"ord": 0.5, "axis": 0}, [7.4641, 11.6569, 2.9142]),
    ({"ord": 1, "axis": [0, 1]}, 6.0),
    ({"ord": 1, "axis": (1, 0)}, 8.0),
    ({"ord": np.inf, "axis": [0, 1]}, 8.0),
    ({"ord": np.inf, "axis": [-1, -2]}, 6.0),
    ({"ord": 2, "axis": [0, 1]}, 5.5779),
    ({"ord": "fro", "axis": [0, 1]}, 5.5902),
    ({"ord": 1, "axis": [0, 1], "keepdims": True}, [[6.0]]),
])
def test_norm_values(kwargs, expected):
    out = tf.norm(tf.constant(_X), **kwargs)
    assert out.dtype == tf.float32
    np.testing.assert_allclose(out, expected, atol=1e-4)


@pytest.mark.parametrize(("kwargs", "shape", "values", "grad"), [
    # TF 2.21's norms of _X3 and the gradients of 1.5 * their sum (first 6 entries)
    ({"ord": 2, "axis": [1, 2]}, (2,), [5.7737, 5.8575],
     [-0.4348, -0.4163, -0.3978, 0.3714, 0.6132, 0.5871]),
    ({"ord": 1, "axis": [0, 2], "keepdims": True}, (1, 3, 1), [5.0, 5.0, 5.0],
     [-0.75, -0.75, 0.0, 0.0, 0.0, 0.0]),
    ({"ord": np.inf, "axis": (2, 1)}, (2,), [6.0, 6.0], [-1.5, 0.0, 0.0, 0.0, 1.5, 0.0]),
    ({"ord": np.inf}, (), [3.0], [-0.2143, 0.0, 0.0, 0.0, 0.0, 0.0]),
])
def test_matrix_norms_and_their_gradients(kwargs, shape, values, grad):
    v = tf.Variable(_X3)
    with tf.GradientTape() as tape:
        y = tf.norm(v, **kwargs)
        loss = tf.reduce_sum(y * 1.5)
    assert tuple(y.shape) == shape
    np.testing.assert_allclose(np.reshape(y, -1), values, atol=1e-4)
    np.testing.assert_allclose(np.reshape(tape.gradient(loss, v), -1)[:6], grad, atol=1e-3)


def test_spectral_norm_keepdims_and_p_norm_gradient():
    v = tf.Variable(_X3)
    out = tf.norm(v, ord=2, axis=[2, 0], keepdims=True)
    # TF 2.21: shape (1, 3, 1), values per middle index
    assert tuple(out.shape) == (1, 3, 1)
    np.testing.assert_allclose(np.reshape(out, -1), [5.5513, 4.8882, 4.8882], atol=1e-4)
    w = tf.Variable([[3.0, 4.0]])
    with tf.GradientTape() as tape:
        y = tf.norm(w, ord=3)
    np.testing.assert_allclose(tape.gradient(y, w), [[0.4449, 0.7908]], atol=1e-4)


@pytest.mark.parametrize("kwargs", [
    # each a ValueError in TF 2.21
    {"ord": 3, "axis": [0, 1]}, {"ord": 0}, {"ord": -1}, {"ord": "nuc"}, {"ord": "inf"},
    {"ord": -np.inf}, {"ord": "fro"}, {"ord": "fro", "axis": 0}, {"axis": [0, 0]},
    {"axis": [0, 1, 2]}, {"axis": 1.0},
])
def test_norm_refuses_what_tf_refuses(kwargs):
    with pytest.raises(ValueError, match="norm"):
        tf.norm(tf.constant(_X), **kwargs)


def test_norm_axis_out_of_range_is_invalid_argument():
    # TF 2.21: InvalidArgumentError for an axis beyond the rank
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.norm(tf.constant(_X), axis=2)


def test_keras_ops_norm_of_a_matrix_and_reduce_euclidean_norm_over_three_axes():
    x = np.array(_X, np.float32)
    # TF 2.21 (Keras 3.15): with no axis, a 2-D x given an ord takes the matrix norm
    for ord, expected in ((1, 6.0), (2, 5.5779), (np.inf, 8.0), ("fro", 5.5902), (None, 5.5902)):
        np.testing.assert_allclose(tf.keras.ops.norm(x, ord=ord), expected, atol=1e-4)
    np.testing.assert_allclose(tf.keras.ops.norm(x[0], ord=1), 8.0)
    np.testing.assert_allclose(tf.keras.ops.norm(x, ord=3, axis=1), [4.5144, 2.0897], atol=1e-4)
    # any number of axes, as TF 2.21's tf.math.reduce_euclidean_norm
    np.testing.assert_allclose(tf.math.reduce_euclidean_norm(_X3, axis=[0, 1, 2]), 9.8995,
                               atol=1e-4)
    np.testing.assert_allclose(tf.math.reduce_euclidean_norm(_X3, axis=[0, 2]),
                               [6.3246, 5.3852, 5.3852], atol=1e-4)


def test_uniform_jitter_with_reversed_bounds_and_integer_misuse():
    # TF 2.21 checks no order for floats: minval + (maxval - minval) * u, in (0, 1] here
    u = np.asarray(tf.random.uniform((200,), minval=1.0, maxval=0.0))
    assert u.dtype == np.float32 and 0.0 <= u.min() and u.max() <= 1.0
    assert np.asarray(tf.random.uniform((3,), minval=1.0, maxval=1.0)).tolist() == [1.0] * 3
    # integers need minval < maxval: TF 2.21's InvalidArgumentError
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.random.uniform((2,), minval=5, maxval=2, dtype=tf.int32)


def test_linspace_num_checks():
    # TF 2.21: a float num is a TypeError, a negative one an InvalidArgumentError
    with pytest.raises(TypeError):
        tf.linspace(0.0, 1.0, 3.0)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.linspace(0.0, 1.0, -1)
    assert np.asarray(tf.linspace(2.0, 6.0, tf.constant(3))).tolist() == [2.0, 4.0, 6.0]
    assert np.asarray(tf.linspace(2.0, 6.0, np.int64(0))).shape == (0,)
