"""SmoothGrad draws a batch of noise as ``tf.random.normal([n] + x.shape)`` or
``(n,) + x.shape``: in TF 2.21 a list or tuple before a TensorShape concatenates into a
TensorShape (convnp's list + shape was a TypeError, tuple + shape a plain tuple)."""

import numpy as np

import convnp as tf


def test_list_or_tuple_plus_shape_is_a_shape():
    x = tf.zeros((16, 16, 3))
    for head in ([4], (4,)):
        shape = head + x.shape
        assert isinstance(shape, tf.TensorShape)
        assert shape.as_list() == [4, 16, 16, 3]
    assert ([None] + tf.TensorShape([2])).as_list() == [None, 2]
    noise = tf.random.normal([4] + x.shape, stddev=0.1)
    assert noise.shape == (4, 16, 16, 3) and noise.dtype == tf.float32
    assert (x.shape + (1,)).as_list() == [16, 16, 3, 1]
    assert np.zeros((2,) + x.shape[:2]).shape == (2, 16, 16)
