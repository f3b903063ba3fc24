"""DepthwiseConv2D and dilated Conv2D layers: shapes, configs, float64 gradients, reference
loops, PyTorch parity (grouped conv2d), model files, bad arguments."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp import saving
from convnp.layers import Conv2D, DepthwiseConv2D
from convnp.ops import reference
from tests.layers.harness import check_gradients, check_layer


@pytest.mark.parametrize("kwargs, input_shape, output_shape", [
    ({"kernel_size": 3}, (2, 7, 6, 3), (2, 5, 4, 3)),
    ({"kernel_size": 3, "padding": "same", "depth_multiplier": 2}, (2, 7, 6, 3), (2, 7, 6, 6)),
    ({"kernel_size": (3, 2), "strides": 2, "padding": "same", "use_bias": False},
     (1, 7, 6, 2), (1, 4, 3, 2)),
    ({"kernel_size": 3, "dilation_rate": 2, "activation": "relu"}, (2, 8, 7, 2), (2, 4, 3, 2)),
])
def test_check_layer(kwargs, input_shape, output_shape):
    layer = check_layer(DepthwiseConv2D, kwargs, input_shape, output_shape,
                        2 if kwargs.get("use_bias", True) else 1)
    assert layer.name.startswith("depthwise_conv2d")
    assert layer.weights[0].name == "kernel"
    assert layer.depthwise_kernel is layer.kernel
    assert layer.kernel.shape == (*layer.kernel_size, input_shape[3], layer.depth_multiplier)


def test_keras_config_names():
    config = DepthwiseConv2D(3, depth_multiplier=2, depthwise_initializer="he_normal",
                             name="dw").get_config()
    assert config["depthwise_initializer"] == "he_normal"
    for key in ("depth_multiplier", "kernel_size", "strides", "padding", "data_format",
                "dilation_rate", "activation", "use_bias", "bias_initializer",
                "depthwise_regularizer", "bias_regularizer", "activity_regularizer",
                "depthwise_constraint", "bias_constraint"):
        assert key in config
    assert not any(key.startswith("kernel_") for key in config if key != "kernel_size")


@pytest.mark.parametrize("kwargs", [
    {"kernel_size": 3},
    {"kernel_size": 3, "padding": "same", "depth_multiplier": 2},
    {"kernel_size": 2, "strides": 2, "padding": "same", "bias_initializer": "random_normal"},
    {"kernel_size": (2, 3), "dilation_rate": (2, 1), "padding": "same", "activation": "tanh"},
    {"kernel_size": 3, "use_bias": False, "activation": "relu"},
])
def test_gradients(kwargs):
    rng = np.random.default_rng(0)
    check_gradients(DepthwiseConv2D(dtype="float64", **kwargs), rng.standard_normal((2, 6, 5, 2)))


@pytest.mark.parametrize("kwargs", [
    {"filters": 3, "kernel_size": 3, "dilation_rate": 2},
    {"filters": 2, "kernel_size": (2, 3), "dilation_rate": (1, 2), "padding": "same"},
])
def test_dilated_conv2d_gradients_and_reference(kwargs):
    rng = np.random.default_rng(1)
    layer = Conv2D(dtype="float64", bias_initializer="random_normal", **kwargs)
    x = rng.standard_normal((2, 7, 7, 2))
    check_gradients(layer, x)
    z, _ = reference.conv_forward(x, layer.kernel.value, layer.bias.value.reshape(1, 1, 1, -1),
                                  {"stride": 1, "pad": layer.padding,
                                   "dilation": layer.dilation_rate})
    np.testing.assert_allclose(layer(x), z, rtol=1e-12, atol=1e-12)


def test_dilated_conv2d_layer():
    layer = check_layer(Conv2D, {"filters": 4, "kernel_size": 3, "dilation_rate": 2},
                        (2, 9, 8, 3), (2, 5, 4, 4), 2)
    assert layer.get_config()["dilation_rate"] == (2, 2)


def test_matches_reference_loops():
    rng = np.random.default_rng(2)
    layer = DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2,
                            bias_initializer="random_normal", dtype="float64")
    x = rng.standard_normal((2, 6, 5, 3))
    y = layer(x)
    z, _ = reference.depthwise_conv_forward(x, layer.kernel.value,
                                            layer.bias.value.reshape(1, 1, 1, -1),
                                            {"stride": 2, "pad": "same"})
    np.testing.assert_allclose(y, z, rtol=1e-12, atol=1e-12)


def test_skips_input_gradient_when_told():
    rng = np.random.default_rng(3)
    layer = DepthwiseConv2D(3, dtype="float64")
    x = rng.standard_normal((2, 5, 5, 2))
    dy = rng.standard_normal(layer(x, training=True).shape)
    layer.backward(dy)
    kernel_grad = layer.kernel.grad.copy()
    layer.needs_input_gradient = False
    layer(x, training=True)
    assert layer.backward(dy) is None
    np.testing.assert_allclose(layer.kernel.grad, kernel_grad)


@pytest.mark.parametrize("depth_multiplier", [1, 2])
def test_backward_of_a_strided_gradient(depth_multiplier):
    """Bug: a gradient arriving as a strided view (the depthwise output read by a
    Concatenate or a Permute) made the backward fail ("Unable to avoid creating a copy")."""
    rng = np.random.default_rng(4)
    layer = DepthwiseConv2D(3, padding="same", depth_multiplier=depth_multiplier,
                            dtype="float64")
    x = rng.standard_normal((2, 6, 6, 3))
    y = np.asarray(layer(x, training=True))
    wide = rng.standard_normal(y.shape[:3] + (2 * y.shape[3],))
    strided = wide[..., ::2]  # same values as a copy, not C-ordered
    dx = layer.backward(strided)
    kernel_grad = layer.kernel.grad.copy()
    layer(x, training=True)
    np.testing.assert_allclose(layer.backward(np.ascontiguousarray(strided)), dx)
    np.testing.assert_allclose(layer.kernel.grad, kernel_grad)
    inp = tf.keras.Input((6, 6, 3))
    joined = tf.keras.layers.concatenate(
        [DepthwiseConv2D(3, padding="same", depth_multiplier=depth_multiplier)(inp), inp])
    model = tf.keras.Model(inp, tf.keras.layers.Dense(1)(tf.keras.layers.Flatten()(joined)))
    model.compile("sgd", "mse")
    model.fit(x.astype(np.float32), np.ones((2, 1)), verbose=0)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"kernel_size": 0}, ValueError, "kernel_size"),
    ({"kernel_size": 3, "depth_multiplier": 0}, ValueError, "depth_multiplier"),
    ({"kernel_size": 3, "depth_multiplier": 1.5}, TypeError, "depth_multiplier"),
    ({"kernel_size": 3, "padding": "full"}, ValueError, "padding"),
    ({"kernel_size": 3, "strides": 2, "dilation_rate": 2}, ValueError, "dilation_rate"),
    ({"kernel_size": 3, "data_format": "channels_first"}, ValueError, "channels_last"),
    ({"kernel_size": 3, "depthwise_regularizer": "nope"}, ValueError,
     "unknown regularizer 'nope'"),
    ({"kernel_size": 3, "depthwise_constraint": "nope"}, ValueError,
     "unknown constraint 'nope'"),
    ({"kernel_size": 3, "depthwise_initializer": "nope"}, ValueError, "nope"),
    ({"kernel_size": 3, "filters": 3}, TypeError, "filters"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        DepthwiseConv2D(**kwargs)


def test_conv2d_refuses_strides_with_dilation():
    with pytest.raises(ValueError, match="strides > 1"):
        Conv2D(2, 3, strides=2, dilation_rate=2)


def test_wrong_input_channels_and_too_small_input():
    layer = DepthwiseConv2D(3)
    layer(np.zeros((1, 5, 5, 2), dtype="float32"))
    with pytest.raises(ValueError, match="axis 3"):
        layer(np.zeros((1, 5, 5, 3), dtype="float32"))
    with pytest.raises(ValueError, match="larger"):
        DepthwiseConv2D(3, dilation_rate=3).compute_output_shape((None, 6, 6, 2))


def test_convnp_file_round_trip_and_training(tmp_path):
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([
        tf.keras.Input((8, 8, 3)),
        tf.keras.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2,
                                        activation="relu"),
        tf.keras.layers.Conv2D(4, 3, dilation_rate=2),
        tf.keras.layers.DepthwiseConv2D(2, strides=2, use_bias=False),
        tf.keras.layers.GlobalAveragePooling2D(),
        tf.keras.layers.Dense(2, activation="softmax"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.random((16, 8, 8, 3), dtype=np.float32)
    y = rng.integers(0, 2, 16)
    before = model.get_weights()[0].copy()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert not np.allclose(model.get_weights()[0], before)
    path = tmp_path / "dw.convnp"
    saving.save_model(model, path)
    loaded = saving.load_model(path)
    assert [type(layer).__name__ for layer in loaded.layers] == \
        [type(layer).__name__ for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


# -- SeparableConv2D ------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, input_shape, output_shape", [
    ({"filters": 4, "kernel_size": 3}, (2, 7, 6, 3), (2, 5, 4, 4)),
    ({"filters": 2, "kernel_size": 3, "padding": "same", "depth_multiplier": 2,
      "activation": "relu"}, (2, 6, 5, 3), (2, 6, 5, 2)),
    ({"filters": 3, "kernel_size": 2, "strides": 2, "use_bias": False}, (1, 6, 6, 2),
     (1, 3, 3, 3)),
])
def test_separable_check_layer(kwargs, input_shape, output_shape):
    from convnp.layers import SeparableConv2D

    layer = check_layer(SeparableConv2D, kwargs, input_shape, output_shape,
                        3 if kwargs.get("use_bias", True) else 2)
    assert layer.name.startswith("separable_conv2d")
    assert [v.name for v in layer.weights][:2] == ["depthwise_kernel", "pointwise_kernel"]
    mid = input_shape[3] * layer.depth_multiplier
    assert layer.pointwise_kernel.shape == (1, 1, mid, kwargs["filters"])


@pytest.mark.parametrize("kwargs", [
    {"filters": 3, "kernel_size": 3},
    {"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same", "depth_multiplier": 2,
     "bias_initializer": "random_normal", "activation": "tanh"},
    {"filters": 2, "kernel_size": 2, "dilation_rate": 2, "use_bias": False},
])
def test_separable_gradients_and_composition(kwargs):
    from convnp.layers import SeparableConv2D

    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 6, 5, 2))
    layer = SeparableConv2D(dtype="float64", **kwargs)
    check_gradients(layer, x)
    # the same numbers as the two steps written out with the reference loops
    mid, _ = reference.depthwise_conv_forward(x, layer.depthwise_kernel.value,
                                              np.zeros((1, 1, 1, 2 * layer.depth_multiplier)),
                                              layer._hparameters)
    bias = (layer.bias.value if layer.bias is not None
            else np.zeros(kwargs["filters"])).reshape(1, 1, 1, -1)
    z, _ = reference.conv_forward(mid, layer.pointwise_kernel.value, bias,
                                  {"stride": 1, "pad": 0})
    np.testing.assert_allclose(layer(x), layer.activation.forward(z), rtol=1e-12, atol=1e-12)


def test_separable_bad_arguments():
    from convnp.layers import SeparableConv2D

    with pytest.raises(ValueError, match="unknown regularizer 'nope'"):
        SeparableConv2D(2, 3, pointwise_regularizer="nope")
    with pytest.raises(ValueError, match="pointwise_initializer|nope"):
        SeparableConv2D(2, 3, pointwise_initializer="nope")
    with pytest.raises(TypeError, match="filters"):
        SeparableConv2D(2.0, 3)
