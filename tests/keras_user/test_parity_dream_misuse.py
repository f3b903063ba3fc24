"""Misuse in the image-optimizing recipes (DeepDream's octaves, style transfer's clipping,
gradient normalisation), answered with TensorFlow 2.21's exception types (written in here)."""

import numpy as np
import pytest

import convnp as tf


def test_reduce_std_refuses_integers():
    # TF 2.21: TypeError for integer tensors, lists and arrays, InvalidArgumentError for bools
    # (convnp gave 0.0 for [1, 2]: an integer mean)
    for value in (tf.constant([1, 2]), [1, 2], np.array([1, 2])):
        with pytest.raises(TypeError):
            tf.math.reduce_std(value)
    with pytest.raises(TypeError):
        tf.math.reduce_variance(tf.constant([1, 2]))
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.math.reduce_std(tf.constant([True]))
    assert float(tf.math.reduce_std([1.0, 2.0])) == 0.5
    assert tf.math.reduce_std(tf.constant([1.0, 2.0], tf.float64)).dtype == tf.float64


def test_transpose_bad_perm_is_invalid_argument():
    # TF 2.21: InvalidArgumentError for a short, repeated or out-of-range perm
    for perm, shape in (([0, 1], (2, 3, 4)), ([0, 0], (2, 3)), ([0, 2], (2, 3))):
        with pytest.raises(tf.errors.InvalidArgumentError):
            tf.transpose(tf.ones(shape), perm=perm)
    assert tuple(tf.transpose(tf.ones((2, 3)), perm=[1, -2]).shape) == (3, 2)
    assert tuple(tf.transpose(tf.ones((2, 3, 4)), perm=[0, 3 - 1, 1]).shape) == (2, 4, 3)


def test_resize_sizes():
    # TF 2.21: float sizes are a ValueError (an octave's shape must be cast to int), sizes
    # below 1 an InvalidArgumentError; int arrays and NumPy ints are taken
    img = tf.zeros((1, 4, 4, 3))
    with pytest.raises(ValueError):
        tf.image.resize(img, (3.0, 3.0))
    with pytest.raises(ValueError):
        tf.image.resize(img, tf.constant([3.0, 3.0]))
    for size in ((0, 3), (-1, 3)):
        with pytest.raises(tf.errors.InvalidArgumentError):
            tf.image.resize(img, size)
    assert tuple(tf.image.resize(img, np.array([3, 5])).shape) == (1, 3, 5, 3)
    assert tuple(tf.image.resize(img, (np.int64(2), 3)).shape) == (1, 2, 3, 3)


def test_clip_by_value_bound_dtypes():
    # TF 2.21: a Python float cannot bound an int tensor (TypeError); a tensor bound of
    # another dtype is an InvalidArgumentError; Python ints and NumPy scalars are converted
    ints = tf.constant([1, 5])
    with pytest.raises(TypeError):
        tf.clip_by_value(ints, 0.0, 1.0)
    with pytest.raises(TypeError):
        tf.clip_by_value(np.array([1, 5]), 0.0, 1.0)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.clip_by_value(ints, tf.constant(0.0), 1)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.clip_by_value(tf.constant([1.0]), tf.constant(0), 1)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.clip_by_value(tf.constant([1.0]), tf.constant(0.0, tf.float64), 1.0)
    assert tf.clip_by_value(ints, 0, 1).numpy().tolist() == [1, 1]
    assert tf.clip_by_value(ints, np.float32(0), 1).numpy().tolist() == [1, 1]
    image = tf.Variable(tf.constant([[-0.5, 0.5, 1.5]]))
    image.assign(tf.clip_by_value(image, clip_value_min=0.0, clip_value_max=1.0))
    assert image.numpy().tolist() == [[0.0, 0.5, 1.0]]


def test_keras_ops_std_var_take_integers():
    # TF 2.21's Keras: keras.ops.std/var cast integers to float32 (0.5 and 0.25 for [1, 2])
    out = tf.keras.ops.std(np.array([1, 2]))
    assert out.dtype == tf.float32 and float(out) == 0.5
    assert float(tf.keras.ops.var(tf.constant([1, 2]))) == 0.25
