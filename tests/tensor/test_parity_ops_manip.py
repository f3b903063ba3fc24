"""tf.strided_slice (with its masks), reverse_sequence, unravel_index, saturate_cast,
tensor_scatter_nd_sub/max/min, histogram_fixed_width(_bins), shape_n and get_static_value,
against the values, dtypes, gradients and exception types TensorFlow 2.21 gives (written in:
the tests do not import TensorFlow)."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp.tensor.debugging import InvalidArgumentError

F = np.arange(24, dtype=np.float32).reshape(2, 3, 4)


def test_strided_slice_masks_match_tensorflow():
    def ss(*args, **kwargs):
        return tf.strided_slice(F, *args, **kwargs).numpy()

    np.testing.assert_array_equal(ss([0, 1, 0], [2, 3, 4], [1, 1, 2]), F[0:2, 1:3, 0:4:2])
    np.testing.assert_array_equal(ss([1, -1, 3], [0, 0, 0], [-1, -1, -1]), F[1:0:-1, -1:0:-1,
                                                                              3:0:-1])
    # TF 2.21's results for the masks
    np.testing.assert_array_equal(ss([0, 1, 1], [0, 0, 3], [1, 1, 1], begin_mask=1,
                                     end_mask=3), F[:, 1:, 1:3])
    out = ss([1, 0, 2], [2, 3, 3], shrink_axis_mask=5)
    assert out.shape == (3,)
    np.testing.assert_array_equal(out, [14, 18, 22])
    assert ss([0, 0], [1, 2], new_axis_mask=1).shape == (1, 2, 3, 4)
    np.testing.assert_array_equal(ss([0, 1], [0, 3], ellipsis_mask=1), F[..., 1:3])
    assert ss([0], [1]).shape == (1, 3, 4)
    with pytest.raises(InvalidArgumentError):
        tf.strided_slice(F, [0], [1], [0])
    with pytest.raises(InvalidArgumentError):
        tf.strided_slice(F, [0, 0], [1], [1])


def test_strided_slice_gradient():
    v = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.strided_slice(v, [0, 2], [2, 0], [1, -2]) ** 2)
    np.testing.assert_array_equal(tape.gradient(y, v), [[0, 0, 4], [0, 0, 10]])  # TF 2.21


def test_reverse_sequence():
    seq = tf.reshape(tf.range(12), (3, 4))
    out = tf.reverse_sequence(seq, [2, 3, 4], seq_axis=1, batch_axis=0)
    assert out.dtype == tf.int32
    np.testing.assert_array_equal(out, [[1, 0, 2, 3], [6, 5, 4, 7], [11, 10, 9, 8]])
    np.testing.assert_array_equal(
        tf.reverse_sequence(tf.transpose(seq), tf.constant([2, 3, 4], tf.int64), seq_axis=0,
                            batch_axis=1), np.transpose(out))
    with pytest.raises(InvalidArgumentError):
        tf.reverse_sequence(seq, [2, 3, 5], seq_axis=1, batch_axis=0)
    v = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.reverse_sequence(v, [2, 3], seq_axis=1) * [[1., 2., 3.]])
    np.testing.assert_array_equal(tape.gradient(y, v), [[2, 1, 3], [3, 2, 1]])


def test_unravel_index():
    out = tf.unravel_index(tf.constant([1, 5, 7]), tf.constant([3, 4]))
    assert out.dtype == tf.int32 and out.shape == (2, 3)
    np.testing.assert_array_equal(out, [[0, 1, 1], [1, 1, 3]])
    np.testing.assert_array_equal(tf.unravel_index(7, [3, 4]), [1, 3])
    assert tf.unravel_index(tf.constant([7], tf.int64), tf.constant([3, 4], tf.int64)
                            ).dtype == tf.int64
    with pytest.raises(InvalidArgumentError):
        tf.unravel_index(tf.constant([12]), tf.constant([3, 4]))


def test_saturate_cast_values_of_tensorflow():
    out = tf.saturate_cast(tf.constant([-300., 3.7, 300., 1e10]), tf.uint8)
    assert out.dtype == tf.uint8
    np.testing.assert_array_equal(out, [0, 3, 255, 255])
    np.testing.assert_array_equal(tf.saturate_cast(tf.constant([-300, 5, 300]), tf.int8),
                                  [-128, 5, 127])
    np.testing.assert_array_equal(tf.saturate_cast(tf.constant([1e39, -1.5], tf.float64),
                                                   tf.float32),
                                  [np.finfo(np.float32).max, -1.5])
    np.testing.assert_array_equal(tf.saturate_cast(tf.constant([1e6, -1e6, 1.5]), tf.float16),
                                  [65504, -65504, 1.5])
    # TF 2.21: the largest float32 below 2**31, and NaN as the smallest int32
    np.testing.assert_array_equal(tf.saturate_cast(tf.constant([3e9, -3e9, 2.5, np.nan]),
                                                   tf.int32),
                                  [2147483520, -2147483648, 2, -2147483648])
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = tf.saturate_cast(x * 3.0, tf.float64)
    assert float(tape.gradient(y, x)) == 3.0


def test_tensor_scatter_nd_sub_max_min_and_gradients():
    t = tf.constant([1., 5., 3., 4.])
    np.testing.assert_array_equal(tf.tensor_scatter_nd_sub(t, [[1], [1], [3]], [1., 2., 3.]),
                                  [1, 2, 3, 1])
    np.testing.assert_array_equal(tf.tensor_scatter_nd_max(t, [[0], [2], [2]], [2., 1., 7.]),
                                  [2, 5, 7, 4])
    np.testing.assert_array_equal(tf.tensor_scatter_nd_min(t, [[0], [2], [2]], [2., 1., 7.]),
                                  [1, 5, 1, 4])
    weights = tf.constant([1., 2., 3., 4.])
    v, u = tf.Variable([1., 5., 3., 4.]), tf.Variable([2., 1., 0.])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.tensor_scatter_nd_max(v, [[0], [1], [3]], u) * weights)
    gv, gu = tape.gradient(y, [v, u])
    np.testing.assert_array_equal(gv, [0, 2, 3, 4])  # TF 2.21's gradients
    np.testing.assert_array_equal(gu, [1, 0, 0])
    v, u = tf.Variable([1., 5., 3., 4.]), tf.Variable([2., 1.])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.tensor_scatter_nd_sub(v, [[0], [0]], u) * weights)
    gv, gu = tape.gradient(y, [v, u])
    np.testing.assert_array_equal(gv, [1, 2, 3, 4])
    np.testing.assert_array_equal(gu, [-1, -1])


def test_histogram_fixed_width():
    values = tf.constant([-1.0, 0.0, 1.5, 2.0, 5.0, 15])
    counts = tf.histogram_fixed_width(values, [0.0, 5.0], nbins=5)
    assert counts.dtype == tf.int32
    np.testing.assert_array_equal(counts, [2, 1, 1, 0, 2])
    assert tf.histogram_fixed_width(values, [0.0, 5.0], nbins=5,
                                    dtype=tf.int64).dtype == tf.int64
    np.testing.assert_array_equal(tf.histogram_fixed_width_bins(values, [0.0, 5.0], nbins=5),
                                  [0, 0, 1, 2, 4, 4])
    np.testing.assert_array_equal(tf.histogram_fixed_width(tf.constant([1, 2, 3]), [0, 4],
                                                           nbins=2), [1, 2])
    np.testing.assert_array_equal(tf.histogram_fixed_width_bins(
        tf.constant([[0.5, 4.9], [2.5, 9.]]), [0.0, 5.0], nbins=5), [[0, 4], [2, 4]])
    with pytest.raises(InvalidArgumentError):
        tf.histogram_fixed_width(values, [5.0, 0.0], nbins=5)
    with pytest.raises(InvalidArgumentError):
        tf.histogram_fixed_width(values, [0.0, 5.0], nbins=0)


def test_shape_n_and_get_static_value():
    shapes = tf.shape_n([tf.zeros((2, 3)), tf.zeros(4)])
    assert isinstance(shapes, list) and shapes[0].dtype == tf.int32
    np.testing.assert_array_equal(shapes[0], [2, 3])
    assert tf.shape_n([tf.zeros((2, 3))], out_type=tf.int64)[0].dtype == tf.int64
    value = tf.get_static_value(tf.constant([1, 2]))
    assert type(value) is np.ndarray and value.dtype == np.int32  # a plain array in TF 2.21
    assert tf.get_static_value(3) == 3
    assert tf.get_static_value(tf.Variable(1.0)) is None
    assert tf.get_static_value(None) is None


def test_bad_indices_policy_ignore():
    t = tf.constant([1., 5., 3., 4.])
    # TF 2.21: "IGNORE" drops index rows outside the tensor, the default refuses them
    np.testing.assert_array_equal(tf.tensor_scatter_nd_sub(
        t, [[1], [7], [3]], [1., 2., 3.], bad_indices_policy="IGNORE"), [1, 4, 3, 1])
    np.testing.assert_array_equal(tf.tensor_scatter_nd_add(
        t, [[1], [-1], [3]], [1., 2., 3.], bad_indices_policy="IGNORE"), [1, 6, 3, 7])
    with pytest.raises(InvalidArgumentError):
        tf.tensor_scatter_nd_add(t, [[1], [7]], [1., 2.], bad_indices_policy="ERROR")
    with pytest.raises(InvalidArgumentError):
        tf.tensor_scatter_nd_add(t, [[1]], [1.], bad_indices_policy="bogus")
    v, u = tf.Variable([1., 5., 3., 4.]), tf.Variable([2., 1., 0.])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.tensor_scatter_nd_max(v, [[0], [9], [3]], u,
                                                   bad_indices_policy="IGNORE")
                          * tf.constant([1., 2., 3., 4.]))
    gv, gu = tape.gradient(y, [v, u])
    np.testing.assert_array_equal(gv, [0, 2, 3, 4])
    np.testing.assert_array_equal(gu, [1, 0, 0])
