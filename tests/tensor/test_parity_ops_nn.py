"""tf.nn's 1-D and 3-D convolutions and poolings, dilated and separable 2-D convolutions,
the rank-generic ``max_pool``/``avg_pool``/``pool`` and ``max_pool_with_argmax``: values,
gradients, dtypes and errors as TensorFlow 2.21 gives them (the expected numbers below were
printed by TF 2.21 for the same inputs)."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp.tensor.debugging import InvalidArgumentError

X1 = np.arange(10, dtype=np.float32).reshape(1, 5, 2) % 7 - 3
W1 = np.arange(6, dtype=np.float32).reshape(3, 2, 1) - 2
X2 = (np.arange(50, dtype=np.float32).reshape(1, 5, 5, 2) % 5) - 2
W2 = (np.arange(8, dtype=np.float32).reshape(2, 2, 2, 1) % 3) - 1
X3 = (np.arange(27, dtype=np.float32).reshape(1, 3, 3, 3, 1) % 4) - 1
W3 = np.ones((2, 2, 2, 1, 1), np.float32)


def _grads(fn, *values):
    variables = [tf.Variable(v) for v in values]
    with tf.GradientTape() as tape:
        y = fn(*variables)
        loss = tf.reduce_sum(y * y)
    return [g.numpy() for g in tape.gradient(loss, variables)]


def test_conv1d_values_dilations_and_gradients():
    y = tf.nn.conv1d(X1, W1, 1, "SAME")
    assert y.dtype == tf.float32 and y.shape == (1, 5, 1)
    np.testing.assert_allclose(y, [[[-4.0], [16.0], [1.0], [-14.0], [-4.0]]])
    np.testing.assert_allclose(tf.nn.conv1d(X1, W1, 2, "VALID"), [[[16.0], [-14.0]]])
    np.testing.assert_allclose(tf.nn.conv1d(X1, W1, [1, 1, 1], "SAME", dilations=2),
                               [[[6.0], [-3.0], [3.0], [-1.0], [-5.0]]])
    gx, gk = _grads(lambda a, b: tf.nn.conv1d(a, b, 2, "SAME"), X1, W1)
    np.testing.assert_allclose(gx, [[[0.0, -8.0], [-20.0, -26.0], [0.0, 2.0], [20.0, 14.0], [0.0, -8.0]]])
    np.testing.assert_allclose(gk, [[[-26.0], [24.0]], [[42.0], [28.0]], [[14.0], [-6.0]]])


def test_dilated_conv2d_and_atrous_conv2d():
    expected = [[[[0.0], [-3.0], [2.0], [-3.0], [0.0]], [[-1.0], [3.0], [1.0], [-6.0], [1.0]], [[-1.0], [3.0], [1.0], [-6.0], [1.0]], [[-1.0], [3.0], [1.0], [-6.0], [1.0]], [[-1.0], [6.0], [-1.0], [-3.0], [1.0]]]]
    np.testing.assert_allclose(tf.nn.atrous_conv2d(X2, W2, 2, "SAME"), expected)
    np.testing.assert_allclose(tf.nn.conv2d(X2, W2, 1, "SAME", dilations=2), expected)
    # TF 2.21 (CPU) takes strides and dilations above 1 together in conv2d
    np.testing.assert_allclose(tf.nn.conv2d(X2, W2, 2, "SAME", dilations=[1, 2, 2, 1]),
                               [[[[0.0], [2.0], [0.0]], [[-1.0], [1.0], [1.0]], [[-1.0], [-1.0], [1.0]]]])
    with pytest.raises(ValueError):
        tf.nn.atrous_conv2d(X2, W2, 0, "SAME")


def test_conv3d_values_gradient_and_list_strides():
    y = tf.nn.conv3d(X3, W3, [1, 1, 1, 1, 1], "SAME")
    assert y.dtype == tf.float32 and y.shape == (1, 3, 3, 3, 1)
    np.testing.assert_allclose(y, [[[[[0.0], [4.0], [4.0]], [[4.0], [0.0], [0.0]], [[4.0], [0.0], [-1.0]]], [[[4.0], [8.0], [4.0]], [[0.0], [4.0], [4.0]], [[0.0], [0.0], [1.0]]], [[[4.0], [4.0], [1.0]], [[0.0], [4.0], [3.0]], [[-1.0], [1.0], [1.0]]]]])
    np.testing.assert_allclose(tf.nn.conv3d(X3, W3, [1, 2, 1, 1, 1], "VALID"),
                               [[[[[0.0], [4.0]], [[4.0], [0.0]]]]])
    (gx,) = _grads(lambda a: tf.nn.conv3d(a, W3, [1, 1, 1, 1, 1], "SAME"), X3)
    np.testing.assert_allclose(gx, [[[[[0.0], [8.0], [16.0]], [[8.0], [16.0], [16.0]], [[16.0], [16.0], [-2.0]]], [[[8.0], [32.0], [40.0]], [[16.0], [48.0], [56.0]], [[16.0], [24.0], [16.0]]], [[[16.0], [40.0], [34.0]], [[16.0], [56.0], [64.0]], [[-2.0], [16.0], [36.0]]]]])
    with pytest.raises(TypeError):  # TF 2.21: "Expected list for 'strides'"
        tf.nn.conv3d(X3, W3, 1, "SAME")


def test_convolution_picks_the_rank():
    np.testing.assert_allclose(tf.nn.convolution(X1, W1, padding="SAME"), [[[-4.0], [16.0], [1.0], [-14.0], [-4.0]]])
    np.testing.assert_allclose(tf.nn.convolution(X2, W2, padding="SAME", dilations=2),
                               [[[[0.0], [-3.0], [2.0], [-3.0], [0.0]], [[-1.0], [3.0], [1.0], [-6.0], [1.0]], [[-1.0], [3.0], [1.0], [-6.0], [1.0]], [[-1.0], [3.0], [1.0], [-6.0], [1.0]], [[-1.0], [6.0], [-1.0], [-3.0], [1.0]]]])
    np.testing.assert_allclose(tf.nn.convolution(X3, W3, strides=[2, 1, 1]),
                               [[[[[0.0], [4.0]], [[4.0], [0.0]]]]])
    assert tf.nn.convolution(X2, W2).shape == (1, 4, 4, 1)  # VALID and stride 1 by default


def test_one_and_three_d_pools_and_rank_generic_names():
    np.testing.assert_allclose(tf.nn.max_pool1d(X1, 3, 2, "SAME"), [[[-1.0, 0.0], [3.0, 2.0], [3.0, -1.0]]])
    np.testing.assert_allclose(tf.nn.avg_pool1d(X1, 3, 2, "SAME"), [[[-2.0, -1.0], [1.0, -0.3333333432674408], [0.5, -2.0]]], rtol=1e-6)
    np.testing.assert_allclose(tf.nn.max_pool3d(X3, 2, 2, "SAME"), [[[[[2.0], [2.0]], [[2.0], [0.0]]], [[[2.0], [2.0]], [[0.0], [1.0]]]]])
    np.testing.assert_allclose(tf.nn.avg_pool3d(X3, [1, 2, 2, 2, 1], 2, "SAME"), [[[[[0.0], [1.0]], [[1.0], [-0.5]]], [[[1.0], [0.5]], [[-0.5], [1.0]]]]])
    (gx,) = _grads(lambda a: tf.nn.avg_pool3d(a, 2, 2, "SAME"), X3)
    np.testing.assert_allclose(gx, [[[[[0.0], [0.0], [0.5]], [[0.0], [0.0], [0.5]], [[0.5], [0.5], [-0.5]]], [[[0.0], [0.0], [0.5]], [[0.0], [0.0], [0.5]], [[0.5], [0.5], [-0.5]]], [[[0.5], [0.5], [0.5]], [[0.5], [0.5], [0.5]], [[-0.5], [-0.5], [2.0]]]]])
    # tf.nn.max_pool / avg_pool follow the input's rank
    np.testing.assert_allclose(tf.nn.max_pool(X1, 3, 2, "SAME"), [[[-1.0, 0.0], [3.0, 2.0], [3.0, -1.0]]])
    np.testing.assert_allclose(tf.nn.avg_pool(X3, 2, 2, "SAME"), [[[[[0.0], [1.0]], [[1.0], [-0.5]]], [[[1.0], [0.5]], [[-0.5], [1.0]]]]])
    np.testing.assert_allclose(tf.nn.pool(X2, [2, 2], "AVG", strides=[2, 2], padding="SAME"),
                               [[[[-1.0, 0.0], [0.5, -1.0], [1.0, 2.0]], [[-1.0, 0.0], [0.5, -1.0], [1.0, 2.0]], [[-1.0, 0.0], [0.5, -1.0], [1.0, 2.0]]]])
    with pytest.raises(ValueError):
        tf.nn.pool(X2, [2, 2], "SUM")


def test_separable_conv2d():
    dw = np.ones((2, 2, 2, 1), np.float32)
    pw = np.array([1, -1], np.float32).reshape(1, 1, 2, 1)
    np.testing.assert_allclose(tf.nn.separable_conv2d(X2, dw, pw, [1, 1, 1, 1], "VALID"),
                               [[[[-4.0], [6.0], [6.0], [-4.0]], [[-4.0], [6.0], [6.0], [-4.0]], [[-4.0], [6.0], [6.0], [-4.0]], [[-4.0], [6.0], [6.0], [-4.0]]]])


def _argmax_input():
    x = np.array([[1, 5, 2, 0], [3, 5, 1, 7], [0, 2, 9, 9], [4, 1, 3, 8]],
                 np.float32).reshape(1, 4, 4, 1)
    x = np.concatenate([x, -x], -1)
    return np.concatenate([x, x + 1], 0)


def test_max_pool_with_argmax():
    x = _argmax_input()
    out = tf.nn.max_pool_with_argmax(x, 2, 2, "VALID")
    assert type(out).__name__ == "MaxPoolWithArgmax" and out._fields == ("output", "argmax")
    assert out.argmax.dtype == tf.int64
    np.testing.assert_array_equal(out.output, [[[[5.0, -1.0], [7.0, -0.0]], [[4.0, -0.0], [9.0, -3.0]]], [[[6.0, 0.0], [8.0, 1.0]], [[5.0, 1.0], [10.0, -2.0]]]])
    np.testing.assert_array_equal(out.argmax, [[[[2, 1], [14, 7]], [[24, 17], [20, 29]]], [[[2, 1], [14, 7]], [[24, 17], [20, 29]]]])
    output, argmax = tf.nn.max_pool_with_argmax(x, 3, 2, "SAME", include_batch_in_index=True)
    np.testing.assert_array_equal(output, [[[[9.0, -0.0], [9.0, -0.0]], [[9.0, -0.0], [9.0, -3.0]]], [[[10.0, 1.0], [10.0, 1.0]], [[10.0, 1.0], [10.0, -2.0]]]])
    np.testing.assert_array_equal(argmax, [[[[20, 17], [20, 7]], [[20, 17], [20, 29]]], [[[52, 49], [52, 39]], [[52, 49], [52, 61]]]])
    assert tf.nn.max_pool_with_argmax(x, 2, 2, "VALID",
                                      output_dtype=tf.int32).argmax.dtype == tf.int32
    # the output is differentiable (to the maxima), as TF's
    v = tf.Variable(x)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.nn.max_pool_with_argmax(v, 2, 2, "VALID").output)
    assert float(tf.reduce_sum(tape.gradient(loss, v))) == 16.0


def test_bad_ranks_are_value_errors():
    with pytest.raises(ValueError):
        tf.nn.conv3d(X2, W3, [1, 1, 1, 1, 1], "SAME")
    with pytest.raises(ValueError):
        tf.nn.max_pool3d(X2, 2, 2, "SAME")
    with pytest.raises(InvalidArgumentError):
        tf.nn.conv3d(X3, W3, [2, 1, 1, 1, 1], "SAME")


def test_explicit_paddings_of_conv2d_and_depthwise_conv2d():
    # TF 2.21's values for NHWC explicit paddings [[0, 0], [top, bottom], [left, right], [0, 0]]
    x = (np.arange(12, dtype=np.float32).reshape(1, 3, 4, 1) % 5) - 2
    w = (np.arange(4, dtype=np.float32).reshape(2, 2, 1, 1) % 3) - 1
    pads = [[0, 0], [1, 0], [0, 2], [0, 0]]
    np.testing.assert_allclose(tf.nn.conv2d(x, w, 1, pads), [[[[-1.0], [-1.0], [-1.0], [1.0], [0.0]], [[6.0], [0.0], [-1.0], [-1.0], [0.0]], [[-3.0], [6.0], [0.0], [-1.0], [0.0]]]])
    np.testing.assert_allclose(tf.nn.conv2d(x, w, 2, pads), [[[[-1.0], [-1.0], [0.0]], [[-3.0], [0.0], [0.0]]]])
    np.testing.assert_allclose(tf.nn.conv2d(x, w, 1, pads, dilations=2), [[[[3.0], [-2.0], [-1.0], [0.0]], [[5.0], [4.0], [-2.0], [-2.0]]]])
    gx, gk = _grads(lambda a, b: tf.nn.conv2d(a, b, 2, pads), x, w)
    np.testing.assert_allclose(gx, [[[[-2.0], [2.0], [-2.0], [2.0]], [[6.0], [0.0], [0.0], [0.0]], [[-6.0], [6.0], [0.0], [0.0]]]])
    np.testing.assert_allclose(gk, [[[[-12.0]], [[12.0]]], [[[-2.0]], [[-12.0]]]])
    np.testing.assert_allclose(tf.nn.depthwise_conv2d(x, np.ones((2, 2, 1, 2), np.float32),
                                                      [1, 1, 1, 1], pads), [[[[-3.0, -3.0], [-1.0, -1.0], [1.0, 1.0], [1.0, 1.0], [0.0, 0.0]], [[-3.0, -3.0], [-4.0, -4.0], [0.0, 0.0], [1.0, 1.0], [0.0, 0.0]], [[3.0, 3.0], [-3.0, -3.0], [-4.0, -4.0], [-1.0, -1.0], [0.0, 0.0]]]])
    with pytest.raises(ValueError):  # TF: "When padding is a list, it must be of size 4"
        tf.nn.conv2d(x, w, 1, [[1, 1], [0, 1]])
    with pytest.raises(TypeError):  # conv1d and convolution take strings only, as TF's
        tf.nn.conv1d(x[:, 0], w[0], 1, [[0, 0], [1, 1], [0, 0]])
    with pytest.raises(TypeError):
        tf.nn.convolution(x, w, padding=pads)
    with pytest.raises(InvalidArgumentError):  # TF's pooling kernel refuses them
        tf.nn.max_pool2d(x, 2, 2, pads)
