"""Layers of keras.io's generative and image-to-image programs (GANs, autoencoders, super
resolution) as TensorFlow 2.21 runs them. Each expected value below is what TF 2.21 gave for
the same program."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

L = tf.keras.layers


# -- Conv2DTranspose with a dilated kernel ---------------------------------------------------

_X = (np.arange(12, dtype="float32").reshape(1, 3, 4, 1) - 5) / 4
_K = (np.arange(8, dtype="float32").reshape(2, 2, 2, 1) - 3) / 2

# TF 2.21's outputs (channel 0), input gradients and kernel gradients of sum(y ** 2)
_DILATED = {
    "valid": ({"padding": "valid", "dilation_rate": 2}, (1, 5, 6, 2),
              [[1.875, 1.5, 1.75, 1.25, 0.375, 0.25],
               [0.375, 0.0, -0.25, -0.75, -0.125, -0.25],
               [-1.75, -2.0, -4.5, -4.5, -1.75, -1.5],
               [-0.125, 0.0, -0.25, 0.25, 0.375, 0.75],
               [0.375, 0.5, 1.75, 2.25, 1.875, 2.25]],
              [-47.125, -43.25, -31.875, -26.0, -3.75, 3.5, 3.75, 11.0, 31.875, 37.75,
               47.125, 51.0],
              [-44.0, -37.75, -32.5, -24.25, 32.5, 40.75, 44.0, 50.25]),
    "same": ({"padding": "same", "dilation_rate": (1, 2)}, (1, 3, 4, 2),
             [[1.5, 1.75, 1.25, 0.375], [-0.5, -2.5, -2.5, -1.25], [-1.5, -2.5, -2.5, -0.25]],
             [-23.25, -29.75, -26.375, -13.25, -11.0, -9.0, 11.5, 9.0, 2.5, 9.0, 10.75, 9.5],
             [-27.375, -17.125, -16.188, -4.875, 3.5, 8.5, 14.25, 18.0]),
}


@pytest.mark.parametrize("case", sorted(_DILATED))
def test_conv2d_transpose_dilated_matches_tf(case):
    # TF 2.21 takes dilation_rate > 1 with strides 1 (convnp refused any dilation before)
    kwargs, shape, channel0, dx, dk = _DILATED[case]
    layer = L.Conv2DTranspose(2, 2, use_bias=False, **kwargs)
    layer.build(_X.shape)
    layer.set_weights([_K])
    x = tf.Variable(_X)
    with tf.GradientTape() as tape:
        y = layer(x)
        loss = tf.reduce_sum(y * y)
    gx, gk = tape.gradient(loss, [x, layer.kernel])
    assert tuple(y.shape) == shape
    assert tuple(layer.compute_output_shape((None, 3, 4, 1))) == (None, *shape[1:])
    np.testing.assert_allclose(np.asarray(y)[0, :, :, 0], channel0, atol=1e-4)
    np.testing.assert_allclose(np.asarray(gx).ravel(), dx, atol=1e-3)
    np.testing.assert_allclose(np.asarray(gk).ravel(), dk, atol=1e-3)
    assert layer.get_config()["dilation_rate"] == ((2, 2) if case == "valid" else (1, 2))


def test_conv2d_transpose_dilated_in_a_model_and_config_round_trip():
    model = tf.keras.Sequential([tf.keras.Input((5, 6, 2)),
                                 L.Conv2DTranspose(3, 3, dilation_rate=3, padding="valid")])
    assert tuple(model.outputs[0].shape) == (None, 11, 12, 3)  # TF 2.21
    clone = tf.keras.Sequential.from_config(model.get_config())
    assert clone.layers[0].dilation_rate == (3, 3)


def test_conv2d_transpose_strides_with_dilation_still_refused():
    # TF 2.21 refuses strides > 1 together with dilation_rate > 1 at construction
    with pytest.raises(ValueError, match="dilation_rate"):
        L.Conv2DTranspose(2, 3, strides=2, dilation_rate=2)


# -- CycleGAN's instance normalization: GroupNormalization(groups=-1) ------------------------

def test_group_normalization_minus_one_becomes_the_channel_count():
    # TF 2.21: -1 until built, then the number of channels (in the attribute and config)
    layer = L.GroupNormalization(groups=-1)
    assert layer.get_config()["groups"] == -1
    out = layer(np.arange(2 * 3 * 3 * 4, dtype="float32").reshape(2, 3, 3, 4))
    assert layer.groups == 4 and layer.get_config()["groups"] == 4
    # one group per channel: each channel of each example normalized on its own
    np.testing.assert_allclose(np.asarray(out).mean(axis=(1, 2)), 0.0, atol=1e-5)
    clone = L.GroupNormalization.from_config(layer.get_config())
    clone.build((None, 3, 3, 4))
    assert clone.groups == 4


def test_reflection_padding_too_wide_is_invalid_argument():
    # TF 2.21: tf.pad(mode="REFLECT") wider than the axis minus one raises
    # InvalidArgumentError (convnp's is a ValueError too)
    with pytest.raises(tf.errors.InvalidArgumentError, match="REFLECT"):
        tf.pad(np.arange(6.0).reshape(2, 3), [[2, 2], [0, 0]], mode="REFLECT")
    with pytest.raises(ValueError):
        tf.pad(np.arange(6.0).reshape(2, 3), [[0, 0], [4, 0]], mode="SYMMETRIC")
    padded = tf.pad(np.arange(6.0).reshape(2, 3), [[1, 1], [2, 2]], mode="SYMMETRIC")
    assert np.asarray(padded).tolist()[0] == [1.0, 0.0, 0.0, 1.0, 2.0, 2.0, 1.0]  # TF 2.21
