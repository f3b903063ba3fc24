"""Tensor ops of keras.io's GAN and image-to-image programs as TensorFlow 2.21 runs them: a
conditional GAN concatenates its noise with one-hot labels made by NumPy, and a denoising
autoencoder clips its noisy images with tf.clip_by_value. Each expected value below is what
TF 2.21 gave for the same call."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf


def _name(t) -> str:
    return tf.as_dtype(t.dtype).name


# -- concat / stack: NumPy arrays and lists beside a tensor take its dtype --------------------

@pytest.mark.parametrize("join", [lambda v: tf.concat(v, 0), lambda v: tf.stack(v)])
@pytest.mark.parametrize("make, dtype", [
    (lambda: [tf.zeros((2,)), np.zeros(2)], "float32"),
    (lambda: [np.zeros(2), tf.zeros((2,))], "float32"),
    (lambda: [np.zeros(2), np.zeros(2), tf.zeros((2,))], "float32"),
    (lambda: [tf.zeros((2,)), np.array([1, 2])], "float32"),
    (lambda: [tf.Variable(np.zeros(2, "float32")), np.zeros(2)], "float32"),
    (lambda: [np.zeros(2), tf.Variable(np.zeros(2, "float32"))], "float32"),
    (lambda: [tf.constant([1, 2]), np.array([1, 2])], "int32"),
    (lambda: [np.array([1, 2]), tf.constant([1, 2])], "int32"),
    (lambda: [tf.constant([1, 2]), np.array([1, 2], np.uint8)], "int32"),
    (lambda: [[1, 2], tf.zeros((2,))], "float32"),
    (lambda: [tf.zeros((2,)), [1, 2]], "float32"),
    (lambda: [tf.constant(np.zeros(2)), np.zeros(2, "float32")], "float64"),
    (lambda: [np.zeros(2, "float32"), tf.constant(np.zeros(2))], "float64"),
    (lambda: [np.zeros(2), np.zeros(2, "float32")], "float64"),
])
def test_join_takes_the_first_tensors_dtype(join, make, dtype):
    # TF 2.21 converts the other values to the dtype of the first tensor among them
    values = make()
    out = join(values)
    assert _name(out) == dtype
    assert np.size(out) == 2 * len(values)


def test_conditional_gan_noise_and_numpy_labels():
    noise = tf.random.normal((3, 4))
    labels = np.eye(3)[[0, 2, 1]]  # float64, as NumPy makes it
    joined = tf.concat([noise, labels], axis=1)
    assert _name(joined) == "float32" and tuple(joined.shape) == (3, 7)  # TF 2.21
    np.testing.assert_array_equal(np.asarray(joined)[:, 4:], labels)


@pytest.mark.parametrize("join", [lambda v: tf.concat(v, 0), lambda v: tf.stack(v)])
def test_python_floats_beside_an_int_tensor_are_refused(join):
    # TF 2.21: TypeError (a float list cannot become int32)
    with pytest.raises(TypeError, match="int32"):
        join([tf.constant([1, 2]), [1.5, 2.0]])


def test_join_gradient_keeps_the_tensors_dtype():
    x = tf.Variable(np.ones(2, "float32"))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.concat([x, np.full(2, 3.0)], 0) ** 2)
    g = tape.gradient(y, x)
    assert _name(y) == "float32" and _name(g) == "float32"
    np.testing.assert_allclose(np.asarray(g), [2.0, 2.0])


# -- clip_by_value: bounds broadcast to the tensor, never grow it ----------------------------

_T = [[1.0, 5.0, 9.0], [0.0, 2.0, 3.0]]


@pytest.mark.parametrize("lo, hi, expected", [
    (2.0, 7.0, [[2.0, 5.0, 7.0], [2.0, 2.0, 3.0]]),
    ([1.0, 2.0, 3.0], 7.0, [[1.0, 5.0, 7.0], [1.0, 2.0, 3.0]]),
    ([[1.0], [2.0]], 4.0, [[1.0, 4.0, 4.0], [2.0, 2.0, 3.0]]),
    (np.float64(1.5), 3, [[1.5, 3.0, 3.0], [1.5, 2.0, 3.0]]),
])
def test_clip_by_value_broadcast_bounds(lo, hi, expected):
    out = tf.clip_by_value(tf.constant(_T), lo, hi)
    assert _name(out) == "float32"
    np.testing.assert_array_equal(np.asarray(out), expected)


@pytest.mark.parametrize("lo, hi, error", [
    (lambda: tf.zeros((2, 2)), lambda: 1.0, tf.errors.InvalidArgumentError),
    (lambda: 0.0, lambda: tf.ones((3, 2, 3)), ValueError),
    (lambda: tf.zeros((1, 1, 1)), lambda: 1.0, ValueError),
])
def test_clip_by_value_refuses_bounds_that_grow_the_tensor(lo, hi, error):
    # TF 2.21: InvalidArgumentError when the shapes do not broadcast at all, ValueError
    # when the bounds broadcast to a larger shape (the result would not be t's shape)
    with pytest.raises(error, match="clip_value"):
        tf.clip_by_value(tf.constant(_T), lo(), hi())


@pytest.mark.parametrize("make, dtype", [
    (lambda: [tf.zeros((2,)), np.zeros(2)], "float64"),
    (lambda: [tf.constant([1, 2]), np.zeros(2)], "float64"),
    (lambda: [tf.constant([1, 2]), np.array([1, 2])], "int64"),
    (lambda: [tf.zeros((2,)), tf.zeros((2,))], "float32"),
])
def test_keras_ops_join_in_the_result_type(make, dtype):
    # TF 2.21's keras.ops.concatenate / stack promote all values (unlike tf.concat)
    ops = tf.keras.ops
    assert _name(ops.concatenate(make())) == dtype
    assert _name(ops.stack(make())) == dtype
    # keras.backend.concatenate is tf.concat: the first tensor's dtype
    assert _name(tf.keras.backend.concatenate([tf.zeros((2,)), np.zeros(2)])) == "float32"
