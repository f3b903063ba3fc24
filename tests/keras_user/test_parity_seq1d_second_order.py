"""Gradient penalties (a second-order gradient: WGAN-GP on time series) through the 1-D
layers: `DepthwiseConv1D`, `SeparableConv1D`, `Conv1DTranspose`, `MaxPooling1D`,
`GlobalMaxPooling1D` and `Conv1D(groups > 1)` had no second-order rule in convnp
(NotImplementedError); TF 2.21 differentiates them.

Each case is ``layers -> Flatten -> Dense(1)`` on a fixed ``(2, 12, 3)`` batch, weights
``RandomState(i).randn(...) * 0.5``; the penalty is ``mean((||d y / d x|| - 1) ** 2)``. The
numbers are TF 2.21's: the penalty and the sums of the absolute values of its gradients with
respect to the trainable weights (None where TF gives None).
"""

import numpy as np
import pytest

import convnp as tf

L = tf.keras.layers
X = np.random.RandomState(0).randn(2, 12, 3).astype("float32")

CASES = {
    "depthwise": (lambda: [L.DepthwiseConv1D(3, depth_multiplier=2)],
                  3.296, [19.4533, None, 31.753, None]),
    "depthwise_same_strided_tanh": (
        lambda: [L.DepthwiseConv1D(3, strides=2, padding="same", activation="tanh")],
        0.128, [1.3017, 0.2054, 1.3837, None]),
    "depthwise_channels_first": (
        lambda: [L.DepthwiseConv1D(3, data_format="channels_first", activation="tanh")],
        0.0208, [0.4734, 0.1245, 0.2604, None]),
    "transpose": (lambda: [L.Conv1DTranspose(4, 3, strides=2)],
                  29.4187, [132.5725, None, 178.9023, None]),
    "transpose_same_output_padding_tanh": (
        lambda: [L.Conv1DTranspose(4, 3, strides=2, padding="same", output_padding=1,
                                   activation="tanh")],
        5.8832, [34.6388, 3.517, 36.1616, None]),
    "transpose_dilated": (lambda: [L.Conv1DTranspose(4, 3, dilation_rate=2, activation="tanh")],
                          3.4584, [29.6599, 1.7408, 22.6853, None]),
    "transpose_channels_first": (
        lambda: [L.Conv1DTranspose(4, 3, strides=2, data_format="channels_first",
                                   activation="tanh")],
        2.6171, [112.6752, 7.5012, 17.7357, None]),
    "max_pool": (lambda: [L.Conv1D(4, 3), L.MaxPool1D(2)],
                 8.1612, [44.4632, 0.0, 39.7949, None]),
    "max_pool_same": (lambda: [L.Conv1D(4, 3, activation="tanh"),
                               L.MaxPool1D(3, 2, padding="same")],
                      1.0103, [13.8213, 2.571, 4.8491, None]),
    "max_pool_channels_first": (
        lambda: [L.Conv1D(12, 1, data_format="channels_first", activation="tanh"),
                 L.MaxPool1D(2, data_format="channels_first")],
        0.5203, [16.1634, 1.3005, 2.8751, None]),
    "global_max_pool": (lambda: [L.Conv1D(4, 3, activation="tanh"),
                                 L.GlobalMaxPooling1D(keepdims=True)],
                        0.3403, [2.6705, 0.3342, 0.2693, None]),
    "global_max_pool_flat": (lambda: [L.Conv1D(4, 3, activation="tanh"),
                                      L.GlobalMaxPooling1D()],
                             0.3403, [2.6705, 0.3342, 0.2693, None]),
    "grouped_one_channel_per_group": (lambda: [L.Conv1D(6, 3, groups=3)],
                                      3.296, [19.4533, None, 31.753, None]),
    "grouped_causal_dilated_tanh": (
        lambda: [L.Conv1D(6, 3, groups=3, padding="causal", dilation_rate=2,
                          activation="tanh")],
        1.0792, [6.4608, 1.3378, 9.6306, None]),
    "grouped_two_channels_per_group": (
        lambda: [L.Conv1D(4, 3, strides=2), L.Conv1D(4, 2, groups=2, activation="tanh")],
        0.4176, [7.4916, 0.206, 6.1964, 0.5106, 5.4413, None]),
    "grouped_channels_first": (
        lambda: [L.Conv1D(12, 1), L.Conv1D(6, 3, groups=3, data_format="channels_first",
                                           activation="tanh")],
        1.5783, [22.673, 5.5887, 26.3903, 1.4647, 14.3577, None]),
    "separable": (lambda: [L.SeparableConv1D(4, 3, padding="same")],
                  7.5399, [29.3497, 36.9315, None, 56.5771, None]),
    "separable_strided_tanh": (
        lambda: [L.SeparableConv1D(4, 3, strides=2, depth_multiplier=2, activation="tanh")],
        0.0263, [0.8846, 1.1231, 0.1448, 0.8201, None]),
    "separable_relu_without_bias": (
        lambda: [L.SeparableConv1D(4, 3, padding="same", use_bias=False, activation="relu")],
        4.1759, [18.9357, 17.7549, 24.5786, None]),
    "separable_channels_first": (
        lambda: [L.SeparableConv1D(4, 3, data_format="channels_first", activation="tanh")],
        0.6251, [7.9203, 4.5743, 0.5257, 0.9806, None]),
    "separable_then_conv": (
        lambda: [L.SeparableConv1D(4, 3, activation="tanh"),
                 L.Conv1D(2, 3, activation="tanh")],
        0.4799, [5.682, 6.0636, 1.6093, 13.2417, 1.4937, 3.3516, None]),
    "global_max_pool_channels_first": (
        lambda: [L.Conv1D(4, 3, activation="tanh"),
                 L.GlobalMaxPooling1D(data_format="channels_first")],
        0.6225, [14.7836, 2.635, 2.764, None]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradient_penalty_through_one_d_layers(case):
    make, tf_penalty, tf_sums = CASES[case]
    inp = tf.keras.Input((12, 3))
    h = inp
    for layer in make():
        h = layer(h)
    model = tf.keras.Model(inp, L.Dense(1)(L.Flatten()(h)))
    model.set_weights([np.random.RandomState(i).randn(*w.shape).astype("float32") * 0.5
                       for i, w in enumerate(model.get_weights())])
    x = tf.constant(X)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = model(x, training=True)
        g = inner.gradient(y, x)
        penalty = tf.reduce_mean((tf.sqrt(tf.reduce_sum(g * g, axis=[1, 2]) + 1e-12) - 1.0)
                                 ** 2)
    grads = outer.gradient(penalty, model.trainable_variables)
    np.testing.assert_allclose(float(penalty), tf_penalty, rtol=1e-3, atol=1e-4)
    assert [v is None for v in grads] == [s is None for s in tf_sums]
    got = [float(np.abs(np.asarray(v)).sum()) for v in grads if v is not None]
    np.testing.assert_allclose(got, [s for s in tf_sums if s is not None], rtol=1e-3,
                               atol=1e-4)
