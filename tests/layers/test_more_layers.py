"""Reshape, Permute, LeakyReLU, PReLU, ELU, Softmax, LayerNormalization, SpatialDropout2D,
GaussianNoise and the 1-D layers: the harness, float64 gradients, values, refusals."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp.layers import (
    ELU,
    AveragePooling1D,
    Conv1D,
    GaussianNoise,
    GlobalAveragePooling1D,
    GlobalMaxPooling1D,
    LayerNormalization,
    LeakyReLU,
    MaxPooling1D,
    Permute,
    PReLU,
    Reshape,
    Softmax,
    SpatialDropout2D,
)
from tests.layers.harness import check_case, check_gradients

rng = np.random.default_rng(0)

# (class, kwargs, input shape, output shape, trainable weights)
CASES = [
    (Reshape, {"target_shape": (3, -1)}, (2, 4, 3), (2, 3, 4), 0),
    (Reshape, {"target_shape": (12,)}, (2, 2, 3, 2), (2, 12), 0),
    (Permute, {"dims": (2, 1)}, (2, 3, 4), (2, 4, 3), 0),
    (Permute, {"dims": (3, 1, 2)}, (2, 3, 4, 2), (2, 2, 3, 4), 0),
    (LeakyReLU, {}, (2, 3, 4), (2, 3, 4), 0),
    (LeakyReLU, {"negative_slope": 0.1}, (2, 5), (2, 5), 0),
    (PReLU, {"alpha_initializer": "random_normal"}, (2, 3, 4), (2, 3, 4), 1),
    (PReLU, {"alpha_initializer": "random_normal", "shared_axes": [1, 2]}, (2, 3, 4, 2),
     (2, 3, 4, 2), 1),
    (ELU, {"alpha": 0.5}, (2, 3, 4), (2, 3, 4), 0),
    (Softmax, {}, (2, 3, 4), (2, 3, 4), 0),
    (Softmax, {"axis": [1, 2]}, (2, 3, 4), (2, 3, 4), 0),
    (LayerNormalization, {"beta_initializer": "random_normal",
                          "gamma_initializer": "random_normal"}, (2, 3, 4), (2, 3, 4), 2),
    (LayerNormalization, {"axis": [1, 2, 3], "center": False}, (2, 3, 4, 2), (2, 3, 4, 2),
     1),
    (SpatialDropout2D, {"rate": 0.5, "seed": 1}, (2, 3, 4, 5), (2, 3, 4, 5), 0),
    (GaussianNoise, {"stddev": 0.1, "seed": 1}, (2, 3, 4), (2, 3, 4), 0),
    (Conv1D, {"filters": 4, "kernel_size": 3}, (2, 7, 3), (2, 5, 4), 2),
    (Conv1D, {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same",
              "activation": "tanh"}, (2, 7, 3), (2, 4, 2), 2),
    (Conv1D, {"filters": 2, "kernel_size": 3, "padding": "causal", "dilation_rate": 2,
              "use_bias": False}, (2, 7, 3), (2, 7, 2), 1),
    (MaxPooling1D, {}, (2, 7, 3), (2, 3, 3), 0),
    (MaxPooling1D, {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 3), (2, 4, 3),
     0),
    (AveragePooling1D, {"pool_size": 3, "strides": 1, "padding": "same"}, (2, 7, 3),
     (2, 7, 3), 0),
    (GlobalAveragePooling1D, {}, (2, 7, 3), (2, 3), 0),
    (GlobalMaxPooling1D, {"keepdims": True}, (2, 7, 3), (2, 1, 3), 0),
]

# layers whose training-mode output is random: checked at inference, gradients with a reseed
RANDOM = (SpatialDropout2D, GaussianNoise)


@pytest.mark.parametrize("cls, kwargs, in_shape, out_shape, n_weights", CASES)
def test_check_layer_and_gradients(cls, kwargs, in_shape, out_shape, n_weights):
    check_case(cls, kwargs, in_shape, out_shape, n_weights, random=cls in RANDOM)


def test_values():
    x = np.array([[-2.0, -0.5, 0.0, 1.5]], dtype="float32")
    np.testing.assert_allclose(LeakyReLU()(x), [[-0.6, -0.15, 0.0, 1.5]], rtol=1e-6)
    assert LeakyReLU(alpha=0.2).negative_slope == 0.2  # Keras 2's argument name
    np.testing.assert_allclose(ELU()(x), np.where(x > 0, x, np.expm1(x)), rtol=1e-6)
    prelu = PReLU(alpha_initializer=tf.keras.initializers.Constant(0.25))
    np.testing.assert_allclose(prelu(x), np.where(x > 0, x, 0.25 * x))
    s = np.asarray(Softmax(axis=1)(np.log(np.array([[[1.0], [3.0]]], dtype="float32"))))
    np.testing.assert_allclose(s.ravel(), [0.25, 0.75], rtol=1e-6)
    y = np.asarray(LayerNormalization(epsilon=1e-6)(rng.standard_normal((3, 8)) * 5 + 2))
    np.testing.assert_allclose(y.mean(-1), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(-1), 1, atol=1e-4)
    z = np.arange(24, dtype="float32").reshape(1, 2, 3, 4)
    np.testing.assert_array_equal(Permute((3, 1, 2))(z), z.transpose(0, 3, 1, 2))


def test_noise_layers_are_identity_at_inference_and_random_in_training():
    x = np.ones((4, 5, 6, 8), dtype="float32")
    for layer in (SpatialDropout2D(0.5), GaussianNoise(0.3)):
        np.testing.assert_array_equal(layer(x, training=False), x)
        assert not np.array_equal(np.asarray(layer(x, training=True)), x)
    y = np.asarray(SpatialDropout2D(0.5)(x, training=True))
    # whole channels: every pixel of a (image, channel) pair is kept or dropped together
    per_map = y.reshape(4, 30, 8)
    assert np.all((per_map == 0).all(axis=1) | (per_map == 2).all(axis=1))


def test_conv1d_equals_conv2d_on_one_row_images():
    x = rng.standard_normal((2, 9, 3)).astype("float32")
    conv1 = Conv1D(4, 3, strides=2, padding="same")
    y1 = np.asarray(conv1(x))
    conv2 = tf.keras.layers.Conv2D(4, (1, 3), strides=(1, 2), padding="same")
    conv2(x[:, None])
    conv2.set_weights([conv1.kernel.numpy()[None], conv1.bias.numpy()])
    np.testing.assert_allclose(y1, np.asarray(conv2(x[:, None]))[:, 0], rtol=1e-6)


def test_causal_conv1d_does_not_look_ahead():
    layer = Conv1D(1, 3, padding="causal", dtype="float64")
    x = rng.standard_normal((1, 8, 1))
    y = np.asarray(layer(x)).copy()
    x[0, 5:] += 10.0  # change the future: outputs before step 5 stay the same
    np.testing.assert_allclose(np.asarray(layer(x))[0, :5], y[0, :5])


@pytest.mark.parametrize("cls, kwargs, error", [
    (Reshape, {"target_shape": (-1, -1)}, "at most one -1"),
    (Permute, {"dims": (1, 3)}, "permutation"),
    (PReLU, {"alpha_regularizer": "nope"}, "unknown regularizer"),
    (LayerNormalization, {"rms_scaling": True}, "rms_scaling"),
    (Conv1D, {"filters": 3, "kernel_size": 3, "groups": 2}, "divisible by groups"),
    (Conv1D, {"filters": 2, "kernel_size": 3, "padding": "full"}, "causal"),
    (SpatialDropout2D, {"rate": 0.5, "data_format": "channels_first"}, "channels_last"),
    (GaussianNoise, {"stddev": -1.0}, "stddev"),
])
def test_refusals(cls, kwargs, error):
    with pytest.raises(ValueError, match=error):
        cls(**kwargs)


def test_reshape_size_mismatch():
    with pytest.raises(ValueError, match="cannot"):
        Reshape((5,))(np.zeros((2, 6), dtype="float32"))


@pytest.mark.parametrize("name", ["gelu", "elu", "selu", "swish", "silu", "hard_sigmoid",
                                  "softplus", "leaky_relu", "relu6", "hard_silu"])
def test_activations_by_name_and_function(name):
    activation = tf.keras.activations.get(name)
    x = np.linspace(-4, 4, 41)
    function = getattr(tf.keras.activations, name)
    np.testing.assert_allclose(activation.forward(x), function(x), rtol=1e-12)
    layer = tf.keras.layers.Activation(name, dtype="float64")
    check_gradients(layer, x[None, :] + 0.013)  # off the kinks of relu6 / hard_sigmoid
    dense = tf.keras.layers.Dense(2, activation=name)
    assert dense.activation.name == activation.name


def test_gelu_and_hard_sigmoid_values():
    act = tf.keras.activations
    # Phi(1) = 0.8413447460685429
    assert np.isclose(act.gelu(np.array(1.0)), 0.8413447460685429)
    assert np.isclose(act.gelu(np.array(1.0), approximate=True), 0.8411919906082768)
    np.testing.assert_allclose(act.hard_sigmoid(np.array([-4.0, 0.0, 1.5, 4.0])),
                               [0.0, 0.5, 0.75, 1.0])
