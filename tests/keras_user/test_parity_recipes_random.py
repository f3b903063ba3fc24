"""The random draws of the MixUp / CutMix recipes: `keras.random` with its dtype and seed
checks, and `tf.random.stateless_gamma` (a Beta sample from a fixed seed), as TensorFlow 2.21
takes them.

The exception types below were read from TensorFlow 2.21 running the same calls."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras


def test_keras_random_uniform_refuses_an_integer_dtype():
    # TF 2.21: ValueError (convnp drew floats and truncated them to ints)
    with pytest.raises(ValueError, match="float"):
        keras.random.uniform((2,), 0, 10, dtype="int32", seed=1)
    with pytest.raises(ValueError):
        keras.random.uniform((2,), dtype="bool")
    assert keras.random.uniform((2,), dtype="float16", seed=1).dtype == tf.float16


@pytest.mark.parametrize("call", [
    lambda: keras.random.normal((2,), dtype="int32"),
    lambda: keras.random.truncated_normal((2,), dtype="bool"),
    lambda: keras.random.gamma((2,), 0.5, dtype="int32"),
    lambda: keras.random.beta((2,), 0.5, 0.5, dtype="int32"),
])
def test_keras_random_samplers_refuse_other_dtypes_with_type_error(call):
    # TF 2.21: TypeError from the sampling ops (convnp: normal and truncated_normal gave
    # integers, gamma and beta raised ValueError)
    with pytest.raises(TypeError, match="float"):
        call()


@pytest.mark.parametrize("seed", [1.5, "a"])
def test_a_seed_that_is_no_int_is_a_value_error(seed):
    # TF 2.21: ValueError for keras.random.* and SeedGenerator (convnp: TypeError)
    with pytest.raises(ValueError, match="seed"):
        keras.random.uniform((2,), seed=seed)
    with pytest.raises(ValueError, match="seed"):
        keras.random.SeedGenerator(seed)


def test_stateless_gamma():
    # TF 2.21: the output has the shape given (alpha broadcast to it), the same seed gives
    # the same values; convnp had no stateless_gamma (AttributeError)
    first = tf.random.stateless_gamma([3, 2], seed=[1, 2], alpha=[0.5, 1.5])
    again = tf.random.stateless_gamma([3, 2], seed=[1, 2], alpha=[0.5, 1.5])
    assert first.shape == (3, 2)
    assert first.dtype == tf.float32
    np.testing.assert_array_equal(np.asarray(first), np.asarray(again))
    assert np.all(np.asarray(first) > 0)
    assert tf.random.stateless_gamma([4], seed=(3, 4), alpha=2.0, beta=3.0,
                                     dtype=tf.float64).dtype == tf.float64
    # a Beta(0.2, 0.2) mixing weight from two of them, as MixUp draws it
    g1 = tf.random.stateless_gamma([8], seed=[5, 6], alpha=0.2)
    g2 = tf.random.stateless_gamma([8], seed=[7, 8], alpha=0.2)
    weight = np.asarray(g1 / (g1 + g2))
    assert np.all((weight >= 0) & (weight <= 1))
    with pytest.raises(ValueError):  # alpha does not broadcast to the shape
        tf.random.stateless_gamma([3], seed=[1, 2], alpha=[1.0, 2.0])
    with pytest.raises(ValueError):  # the seed must be a pair
        tf.random.stateless_gamma([2], seed=3, alpha=1.0)
