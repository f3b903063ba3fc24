"""The dtypes TensorFlow gives when Python numbers or NumPy arrays meet tensors (checked
against TensorFlow 2.21): a lone Python float is float32 (``tf.sqrt(2.0)``), and a NumPy
float operand of a float tensor takes the tensor's dtype (keras.io's Integrated Gradients
multiplies a float64 baseline by float32 gradients and gets float32)."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf


@pytest.mark.parametrize("make", [
    lambda: tf.sqrt(2.0), lambda: tf.exp(1.0), lambda: tf.math.rsqrt(0.5),
    lambda: tf.add(1.0, 2.0), lambda: tf.maximum(1.0, 0.0), lambda: tf.square(1.5),
    lambda: tf.nn.batch_normalization(np.ones((1, 2), np.float32), 0.5, 0.1, None, None,
                                      1e-3)])
def test_python_floats_are_float32(make):
    assert make().dtype == np.float32


def test_python_ints_are_int32():
    assert tf.add(1, 2).dtype == np.int32 and tf.square(3).dtype == np.int32


def test_numpy_float_operands_take_the_tensors_dtype():
    t = tf.ones((2,), dtype=tf.float32)
    for value in (np.ones(2) * t, t * np.ones(2), t + np.float64(1.5), np.float64(2) - t,
                  t / np.ones(2), tf.multiply(t, np.ones(2))):
        assert value.dtype == np.float32
    np.testing.assert_allclose(np.asarray(t + np.float64(1.5)), [2.5, 2.5])
    assert (t * np.ones(2, np.int64)).dtype == np.float32
    assert (tf.ones((2,), dtype=tf.int32) * np.ones(2, np.int64)).dtype == np.int32
    # float64 tensors keep float64; two tensors keep NumPy's rules (TensorFlow refuses), and
    # so do NumPy floats with an integer tensor (TensorFlow truncates them)
    assert (tf.ones((2,), dtype=tf.float64) * np.ones(2, np.float32)).dtype == np.float64
    assert (t * tf.ones((2,), dtype=tf.float64)).dtype == np.float64
    assert (tf.ones((2,), dtype=tf.int32) * np.full(2, 0.5)).dtype == np.float64


def test_gradients_through_mixed_operands():
    x = tf.Variable(np.array([1.0, 2.0], np.float32))
    baseline = np.array([0.5, 0.25])  # float64, as np.random.random gives
    with tf.GradientTape() as tape:
        y = tf.reduce_sum((x - baseline) * np.float64(3.0))
    assert y.dtype == np.float32
    g = tape.gradient(y, x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(np.asarray(g), [3.0, 3.0])
