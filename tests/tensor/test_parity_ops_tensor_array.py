"""tf.TensorArray as eager TensorFlow 2.21 has it (missing before): shared storage between
handles, zeros for unwritten entries, growth only with dynamic_size, TF's exception types,
and gradients through stack/read/unstack, also as a tf.while_loop variable. Expected values
are TF 2.21's, written in."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp.tensor.debugging import InvalidArgumentError
from convnp.tensor.errors import OutOfRangeError


def test_writes_share_storage_and_unwritten_entries_are_zeros():
    ta = tf.TensorArray(tf.float32, size=3)
    handle = ta.write(0, tf.constant([1., 2.]))
    assert handle is not ta  # a new handle, as TF's ...
    ta.write(2, [5., 6.])  # ... over the same entries: a bare write lands too
    np.testing.assert_array_equal(handle.stack(), [[1, 2], [0, 0], [5, 6]])
    np.testing.assert_array_equal(ta.read(1), [0, 0])
    size = ta.size()
    assert size.dtype == tf.int32 and int(size) == 3
    assert ta.element_shape.as_list() == [2]
    assert isinstance(ta, tf.TensorArray) and ta.dtype == tf.float32


def test_growth_dtypes_and_errors():
    np.testing.assert_array_equal(
        tf.TensorArray(tf.float32, size=0, dynamic_size=True).write(3, 1.0).stack(),
        [0, 0, 0, 1])
    np.testing.assert_array_equal(tf.TensorArray(tf.float32, size=2).write(0, 1).stack(),
                                  [1, 0])
    ints = tf.TensorArray(tf.int32, size=2).write(0, 3).write(1, 4).stack()
    assert ints.dtype == tf.int32
    with pytest.raises(OutOfRangeError):
        tf.TensorArray(tf.float32, size=2).write(2, 1.0)
    with pytest.raises(OutOfRangeError):
        tf.TensorArray(tf.float32, size=2).read(5)
    with pytest.raises(InvalidArgumentError):
        tf.TensorArray(tf.float32, size=2).write(0, tf.constant(1))
    with pytest.raises(ValueError):
        tf.TensorArray(tf.float32, size=2).write(0, [1., 2.]).write(1, [1., 2., 3.])
    with pytest.raises(ValueError):  # eager TF needs a size
        tf.TensorArray(tf.float32)
    with pytest.raises(ValueError):
        tf.TensorArray(tf.float32, size=1).unstack([1., 2.])


def test_unstack_gather_scatter_split_concat():
    values = tf.constant([[1., 2.], [3., 4.], [5., 6.]])
    ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True).unstack(values)
    np.testing.assert_array_equal(ta.read(1), [3, 4])
    # unstacking replaces the entries: the size becomes their number (TF 2.21)
    assert int(tf.TensorArray(tf.float32, size=5).unstack([1., 2.]).size()) == 2
    np.testing.assert_array_equal(
        tf.TensorArray(tf.float32, size=3).unstack(tf.constant([1., 2., 3.])).gather([2, 0]),
        [3, 1])
    np.testing.assert_array_equal(
        tf.TensorArray(tf.float32, size=3).scatter([2, 0], tf.constant([9., 7.])).stack(),
        [7, 0, 9])
    np.testing.assert_array_equal(
        tf.TensorArray(tf.float32, size=2, infer_shape=False).write(0, [1., 2.]).write(
            1, [3.]).concat(), [1, 2, 3])
    np.testing.assert_array_equal(
        tf.TensorArray(tf.float32, size=2).split(tf.constant([1., 2., 3.]), [1, 2]).read(1),
        [2, 3])
    assert tf.TensorArray(tf.float32, size=0).stack().shape == (0,)
    assert tf.TensorArray(tf.float32, size=0, element_shape=[2]).stack().shape == (0, 2)


def test_gradients_and_while_loop():
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        ta = tf.TensorArray(tf.float32, size=3)
        for i in range(3):
            ta = ta.write(i, x ** (i + 1))
        y = tf.reduce_sum(ta.stack())
    assert float(tape.gradient(y, x)) == 17.0  # TF 2.21: 1 + 2x + 3x^2 at 2
    with tf.GradientTape() as tape:
        ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
        _, ta = tf.while_loop(lambda i, ta: i < 3,
                              lambda i, ta: (i + 1, ta.write(i, x * tf.cast(i, tf.float32))),
                              [0, ta])
        y = tf.reduce_sum(ta.stack() ** 2)
    assert float(tape.gradient(y, x)) == 20.0
    with tf.GradientTape() as tape:
        ta = tf.TensorArray(tf.float32, size=2).unstack(tf.stack([x, x * 3]))
        y = ta.read(1) * ta.read(0)
    assert float(tape.gradient(y, x)) == 12.0
