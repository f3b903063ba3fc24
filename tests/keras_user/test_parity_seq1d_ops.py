"""``keras.ops.depthwise_conv``, ``separable_conv`` and ``conv_transpose`` on sequences.

TF 2.21's Keras takes rank-3 inputs ``(batch, steps, channels)`` in these ops (the 1-D forms
a custom time-series layer calls); convnp refused them. The expected numbers are TF 2.21's:
the output shape, its first values and sum, and the sums of the absolute gradients of
``sum(y ** 2)`` with respect to the input and each kernel.
"""

import numpy as np
import pytest

import convnp as tf

ops = tf.keras.ops

_rs = np.random.RandomState(0)
X = _rs.randn(2, 11, 3).astype("float32")
DEPTHWISE = _rs.randn(3, 3, 2).astype("float32")
TRANSPOSED = _rs.randn(3, 4, 3).astype("float32")
POINTWISE = _rs.randn(1, 6, 4).astype("float32")


def _first(t):
    return ops.transpose(t, (0, 2, 1))


# name: (op on (x, *kernels), kernels, TF 2.21's shape, first values, sum, |gradient| sums)
CASES = {
    "depthwise": (lambda t, k: ops.depthwise_conv(t, k), [DEPTHWISE], (2, 9, 6),
                  [-0.618, -1.897, 0.565], 0.455, [534.33, 630.05]),
    "depthwise_same_strided": (
        lambda t, k: ops.depthwise_conv(t, k, strides=2, padding="same"), [DEPTHWISE],
        (2, 6, 6), [1.312, -2.052, -2.015], -2.83, [337.93, 365.47]),
    "depthwise_dilated": (
        lambda t, k: ops.depthwise_conv(t, k, dilation_rate=2, padding="same"), [DEPTHWISE],
        (2, 11, 6), [1.714, -2.125, 0.337], 0.678, [501.76, 545.81]),
    "depthwise_one_item_tuples": (
        lambda t, k: ops.depthwise_conv(t, k, strides=(2,), dilation_rate=(1,)), [DEPTHWISE],
        (2, 5, 6), [-0.618, -1.897, 0.565], 3.834, [316.02, 346.43]),
    "depthwise_channels_first": (
        lambda t, k: ops.depthwise_conv(_first(t), k, data_format="channels_first"),
        [DEPTHWISE], (2, 6, 9), [-0.618, -2.698, -1.318], 0.455, [534.33, 630.05]),
    "separable_same": (
        lambda t, k, q: ops.separable_conv(t, k, q, padding="same"), [DEPTHWISE, POINTWISE],
        (2, 11, 4), [-2.533, -1.228, 1.578], -13.822, [1011.13, 1496.05, 1756.38]),
    "separable_strided": (
        lambda t, k, q: ops.separable_conv(t, k, q, strides=2), [DEPTHWISE, POINTWISE],
        (2, 5, 4), [2.011, 1.207, 1.835], 12.921, [566.61, 671.13, 780.6]),
    "separable_channels_first": (
        lambda t, k, q: ops.separable_conv(_first(t), k, q, data_format="channels_first"),
        [DEPTHWISE, POINTWISE], (2, 4, 9), [2.011, 1.009, 1.192], -7.672,
        [895.08, 1429.72, 1553.31]),
    "transpose": (lambda t, k: ops.conv_transpose(t, k, strides=2), [TRANSPOSED], (2, 23, 4),
                  [4.538, 0.286, -0.018], 14.92, [2389.37, 1717.92]),
    "transpose_same": (
        lambda t, k: ops.conv_transpose(t, k, strides=2, padding="same"), [TRANSPOSED],
        (2, 22, 4), [4.538, 0.286, -0.018], 24.852, [2345.43, 1685.01]),
    "transpose_output_padding": (
        lambda t, k: ops.conv_transpose(t, k, strides=3, output_padding=2), [TRANSPOSED],
        (2, 35, 4), [4.538, 0.286, -0.018], 14.92, [1989.43, 1715.0]),
    "transpose_one_item_tuples": (
        lambda t, k: ops.conv_transpose(t, k, strides=(3,), output_padding=(1,),
                                        padding="same"), [TRANSPOSED],
        (2, 32, 4), [4.538, 0.286, -0.018], 24.852, [1926.15, 1681.67]),
    "transpose_dilated": (
        lambda t, k: ops.conv_transpose(t, k, dilation_rate=2), [TRANSPOSED], (2, 15, 4),
        [4.538, 0.286, -0.018], 14.92, [3180.23, 2424.21]),
    "transpose_channels_first": (
        lambda t, k: ops.conv_transpose(_first(t), k, strides=2, data_format="channels_first"),
        [TRANSPOSED], (2, 4, 23), [4.538, 0.857, 11.536], 14.92, [2389.37, 1717.92]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_one_d_window_ops_match_tensorflow(case):
    op, kernels, shape, first_values, total, grad_sums = CASES[case]
    x = tf.constant(X)
    ks = [tf.constant(k) for k in kernels]
    with tf.GradientTape() as tape:
        tape.watch(x)
        for k in ks:
            tape.watch(k)
        y = op(x, *ks)
        loss = tf.reduce_sum(y * y)
    grads = tape.gradient(loss, [x, *ks])
    y = np.asarray(y)
    assert y.shape == shape and y.dtype == np.float32
    np.testing.assert_allclose(y.ravel()[:3], first_values, atol=2e-3)
    np.testing.assert_allclose(y.sum(), total, atol=5e-3)
    np.testing.assert_allclose([np.abs(np.asarray(g)).sum() for g in grads], grad_sums,
                               rtol=1e-4)


def test_a_kernel_of_the_wrong_rank_is_refused_before_any_work():
    with pytest.raises(ValueError, match=r"kernel of 1-D inputs must have rank 3, got shape "
                                         r"\(3, 3\)"):
        ops.depthwise_conv(X, np.ones((3, 3), "float32"))
    with pytest.raises(ValueError, match="kernel of 1-D inputs must have rank 3"):
        ops.conv_transpose(X, np.ones((1, 3, 4, 3), "float32"))
