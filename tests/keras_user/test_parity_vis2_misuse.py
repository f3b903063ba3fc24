"""Misuse in the Grad-CAM / filter-visualization recipes raises TF 2.21's exception classes:
``tf.argmax`` / ``tf.math.top_k`` on a scalar or an empty axis (InvalidArgumentError),
``tf.math.l2_normalize`` of integers (TypeError), a ``k`` that is not an integer (TypeError),
and ``keras.Model(inputs, layer)`` with a layer or a name instead of its output (ValueError).
The expected classes are TF 2.21's."""

import numpy as np
import pytest

import convnp as tf
from convnp import keras


def test_argmax_and_argmin_refusals():
    for find in (tf.argmax, tf.argmin, tf.math.argmax):
        with pytest.raises(tf.errors.InvalidArgumentError):
            find(tf.zeros((0,)))
        with pytest.raises(tf.errors.InvalidArgumentError):
            find(tf.zeros((2, 0)), axis=1)
        with pytest.raises(tf.errors.InvalidArgumentError):
            find(tf.constant(3.0))  # NumPy would answer 0
        with pytest.raises(tf.errors.InvalidArgumentError):
            find(tf.zeros((2, 3)), axis=2)
    # what still works, as TF
    assert tf.argmax(tf.zeros((2, 0)), axis=0).shape == (0,)
    assert tf.argmax(tf.constant([[1., 3.], [4., 2.]]), axis=-1).numpy().tolist() == [1, 0]
    assert tf.argmax([1, 3, 2], output_type=tf.int32).dtype == tf.int32


def test_top_k_refusals():
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.math.top_k(tf.constant(1.0), k=1)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.math.top_k(tf.constant([True, False]), k=1)
    with pytest.raises(TypeError):
        tf.math.top_k(tf.constant([1.0, 2.0]), k=1.0)
    values, indices = tf.math.top_k(tf.constant([[0.1, 0.7, 0.2]]), k=np.int64(2))
    assert np.allclose(values.numpy(), [[0.7, 0.2]])
    assert indices.numpy().tolist() == [[1, 2]] and indices.dtype == tf.int32
    assert tf.nn.top_k(tf.constant([1.0, 3.0, 2.0]), k=tf.constant(1)).indices.numpy() == [1]


def test_l2_normalize_of_integers_is_refused():
    with pytest.raises(TypeError):
        tf.math.l2_normalize(tf.constant([3, 4]))
    with pytest.raises(TypeError):
        tf.math.l2_normalize(np.array([3, 4]))
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.math.l2_normalize(tf.constant([True]))
    out = tf.math.l2_normalize(np.array([3.0, 4.0]))
    assert out.dtype == tf.float64 and np.allclose(out.numpy(), [0.6, 0.8])


def test_model_outputs_that_are_not_keras_tensors_are_a_value_error():
    inputs = keras.Input((4,))
    dense = keras.layers.Dense(2, name="d")
    dense(inputs)
    for outputs in ("d", dense, np.zeros(3), tf.constant([1.0])):
        with pytest.raises(ValueError):
            keras.Model(inputs, outputs)
    with pytest.raises(ValueError):
        keras.Model("x", dense.output)
    with pytest.raises(TypeError):  # still a TypeError too, as convnp raised before
        keras.Model(inputs, dense)
