"""tf.nn's morphology (dilation2d, erosion2d), the depthwise convolution's backprop ops,
with_space_to_batch and dilated pooling, against TensorFlow 2.21's values, gradients and
errors (printed by TF 2.21 for the same inputs; gradients weight output ``k`` by ``k + 1``)."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

X = (np.arange(20, dtype=np.float32).reshape(1, 4, 5, 1) * 7) % 11
F = np.arange(4, dtype=np.float32).reshape(2, 2, 1) % 3
W = (np.arange(8, dtype=np.float32).reshape(2, 2, 1, 2) % 3) - 1
DY = (np.arange(12, dtype=np.float32).reshape(1, 2, 3, 2) % 3) - 1


def _grad(fn, *values):
    variables = [tf.Variable(np.asarray(x, np.float32)) for x in values]
    with tf.GradientTape() as tape:
        y = fn(*variables)
        weights = np.arange(1, 1 + np.size(y), dtype=np.float32).reshape(np.shape(y))
        loss = tf.reduce_sum(y * weights)
    return [g.numpy() for g in tape.gradient(loss, variables)]


def _close(got, expected):
    np.testing.assert_allclose(np.asarray(got, np.float64), expected, atol=1e-3, rtol=1e-4)


def test_dilation2d_and_erosion2d():
    ones = [1, 1, 1, 1]
    _close(tf.nn.dilation2d(X, F, ones, "SAME", "NHWC", ones), [[[[9.0], [11.0], [11.0], [10.0], [10.0]], [[10.0], [9.0], [9.0], [10.0], [12.0]], [[8.0], [9.0], [11.0], [11.0], [10.0]], [[6.0], [10.0], [9.0], [5.0], [1.0]]]])
    _close(tf.nn.dilation2d(X, F, [1, 2, 1, 1], "VALID", "NHWC", [1, 1, 2, 1]), [[[[5.0], [11.0], [8.0]], [[9.0], [5.0], [11.0]]]])
    gx, gf = _grad(lambda a, b: tf.nn.dilation2d(a, b, ones, "SAME", "NHWC", ones), X, F)
    _close(gx, [[[[0.0], [0.0], [0.0], [7.0], [0.0]], [[0.0], [16.0], [0.0], [0.0], [5.0]], [[0.0], [0.0], [8.0], [0.0], [48.0]], [[27.0], [0.0], [60.0], [19.0], [20.0]]]])
    _close(gf, [[[99.0], [40.0]], [[49.0], [22.0]]])
    _close(tf.nn.erosion2d(X, F, ones, "SAME", "NHWC", ones), [[[[-0.0], [1.0], [1.0], [-0.0], [6.0]], [[-0.0], [-1.0], [-1.0], [1.0], [8.0]], [[-2.0], [-0.0], [1.0], [1.0], [-0.0]], [[-0.0], [2.0], [3.0], [-1.0], [1.0]]]])
    gx, gf = _grad(lambda a, b: tf.nn.erosion2d(a, b, ones, "VALID", "NHWC", ones), X, F)
    _close(gx, [[[[1.0], [-0.0], [2.0], [-0.0], [-0.0]], [[-0.0], [-0.0], [-0.0], [22.0], [-0.0]], [[-0.0], [30.0], [-0.0], [11.0], [-0.0]], [[-0.0], [-0.0], [-0.0], [-0.0], [12.0]]]])
    _close(gf, [[[-20.0], [-10.0]], [[-29.0], [-19.0]]])
    with pytest.raises(ValueError):  # TF 2.21 takes NHWC only
        tf.nn.dilation2d(X, F, ones, "SAME", "NCHW", ones)


def test_depthwise_backprop_ops():
    _close(tf.nn.depthwise_conv2d_backprop_input([1, 4, 5, 1], W, DY, [1, 2, 2, 1], "SAME"),
           [[[[1.0], [-1.0], [-1.0], [2.0], [0.0]], [[0.0], [1.0], [-1.0], [-1.0], [1.0]], [[1.0], [-1.0], [-1.0], [2.0], [0.0]], [[0.0], [1.0], [-1.0], [-1.0], [1.0]]]])
    _close(tf.nn.depthwise_conv2d_backprop_filter(X, [2, 2, 1, 2], DY, [1, 2, 2, 1], "SAME"),
           [[[[6.0, 6.0]], [[6.0, -13.0]]], [[[6.0, -5.0]], [[-5.0, -6.0]]]])
    gw, gdy = _grad(lambda a, b: tf.nn.depthwise_conv2d_backprop_input(
        [1, 4, 5, 1], a, b, [1, 2, 2, 1], "SAME"), W, DY)
    _close(gw, [[[[4.0, 4.0]], [[4.0, -18.0]]], [[[4.0, 4.0]], [[4.0, -28.0]]]])
    _close(gdy, [[[[-6.0, 4.0], [-8.0, 4.0], [-5.0, 10.0]], [[-16.0, 4.0], [-18.0, 4.0], [-15.0, 20.0]]]])
    gx, gdy = _grad(lambda a, b: tf.nn.depthwise_conv2d_backprop_filter(
        a, [2, 2, 1, 2], b, [1, 2, 2, 1], "SAME"), X, DY)
    _close(gx, [[[[-1.0], [-3.0], [-1.0], [-1.0], [2.0]], [[-5.0], [-7.0], [-1.0], [-1.0], [6.0]], [[-1.0], [-3.0], [-1.0], [-1.0], [2.0]], [[-5.0], [-7.0], [-1.0], [-1.0], [6.0]]]])
    _close(gdy, [[[[94.0, 112.0], [65.0, 84.0], [46.0, 60.0]], [[48.0, 60.0], [96.0, 120.0], [15.0, 26.0]]]])


def test_with_space_to_batch_and_dilated_pool():
    def op(t, n, padding):
        assert n == 2
        return tf.nn.conv2d(t, np.ones((2, 2, 1, 1), np.float32), 1, padding)

    _close(tf.nn.with_space_to_batch(X, [2, 2], "SAME", op, filter_shape=[2, 2]), [[[[9.0], [7.0], [10.0], [13.0], [1.0]], [[7.0], [14.0], [20.0], [26.0], [13.0]], [[11.0], [22.0], [17.0], [23.0], [6.0]], [[0.0], [11.0], [3.0], [17.0], [3.0]]]])
    _close(tf.nn.with_space_to_batch(X, [2, 1], "VALID", op), [[[[11.0], [17.0], [23.0], [29.0]], [[19.0], [25.0], [20.0], [15.0]]]])
    _close(tf.nn.pool(X, [2, 2], "AVG", padding="VALID", dilations=[2, 1]), [[[[2.75], [4.25], [5.75], [7.25]], [[4.75], [6.25], [5.0], [3.75]]]])
    # TF 2.21 refuses these two combinations with ValueError
    with pytest.raises(ValueError):
        tf.nn.pool(X, [2, 2], "MAX", padding="SAME", dilations=[2, 2])
    with pytest.raises(ValueError):
        tf.nn.pool(X, [2, 2], "AVG", strides=[2, 2], padding="VALID", dilations=[2, 1])
