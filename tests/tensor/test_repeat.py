"""tf.repeat: values, dtype, gradient and errors. keras.io's conditional GAN spreads one-hot
labels over the image with ``tf.repeat(labels[:, :, None, None], repeats=[28 * 28])``.

The expected values were printed by TensorFlow 2.21 (`tf.repeat(x, ...).numpy().tolist()`
and `tape.gradient`) on x = [[1., 2.], [3., 4.]]."""

import numpy as np
import pytest

import convnp as tf
from tests.tensor.gradcheck import check

X = [[1.0, 2.0], [3.0, 4.0]]


@pytest.mark.parametrize("kwargs, expected", [
    ({"repeats": [1, 2], "axis": 0}, [[1.0, 2.0], [3.0, 4.0], [3.0, 4.0]]),
    ({"repeats": 2}, [1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0]),
    ({"repeats": [3], "axis": 1}, [[1.0, 1.0, 1.0, 2.0, 2.0, 2.0], [3.0, 3.0, 3.0, 4.0, 4.0, 4.0]]),
    ({"repeats": [0, 2], "axis": -1}, [[2.0, 2.0], [4.0, 4.0]]),
    ({"repeats": 3, "axis": 0}, [[1.0, 2.0], [1.0, 2.0], [1.0, 2.0], [3.0, 4.0], [3.0, 4.0],
                               [3.0, 4.0]]),
])
def test_values_as_tensorflow(kwargs, expected):
    out = tf.repeat(tf.constant(X), **kwargs)
    assert isinstance(out, tf.Tensor) and out.dtype == tf.float32
    assert np.asarray(out).tolist() == expected


def test_gradient_sums_the_copies_as_tensorflow():
    w = tf.Variable(X)
    weights = tf.constant(np.arange(10.0).reshape(2, 5).astype("float32"))
    with tf.GradientTape() as tape:
        s = tf.reduce_sum(tf.repeat(w, repeats=[2, 3], axis=1) * weights)
    assert np.asarray(tape.gradient(s, w)).tolist() == [[1.0, 9.0], [11.0, 24.0]]
    a = np.random.default_rng(0).normal(size=(2, 3, 2))
    check(lambda t: tf.reduce_sum(tf.repeat(t, [1, 0, 2], axis=1) ** 2), a)
    check(lambda t: tf.reduce_sum(tf.sin(tf.repeat(t, 3))), a)


def test_conditional_gan_label_maps():
    labels = tf.constant(np.eye(3, dtype="float32")[[2, 0]])
    maps = tf.reshape(tf.repeat(labels[:, :, None, None], repeats=[4 * 4]), (-1, 4, 4, 3))
    assert maps.shape == (2, 4, 4, 3)
    # the flat order is each label entry 16 times in a row (TensorFlow's too), which the
    # example's reshape then reads as (4, 4, 3)
    np.testing.assert_array_equal(np.asarray(maps).reshape(-1),
                                  np.repeat(np.eye(3, dtype="float32")[[2, 0]].reshape(-1), 16))
    assert tf.repeat(tf.constant([1, 2]), 2).dtype == tf.int32


@pytest.mark.parametrize("kwargs, error, words", [
    ({"repeats": [1, 2, 3], "axis": 0}, ValueError, "1 or 2 entries"),
    ({"repeats": [-1], "axis": 0}, ValueError, "negative"),
    ({"repeats": 1, "axis": 2}, ValueError, "out of range"),
    ({"repeats": 1.5}, TypeError, "integers"),
])
def test_bad_arguments(kwargs, error, words):
    with pytest.raises(error, match=words):
        tf.repeat(tf.constant(X), **kwargs)
