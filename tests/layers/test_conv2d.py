"""Conv2D: shapes, config, numerical gradients, the input-gradient switch, bad arguments."""

from __future__ import annotations

import numpy as np
import pytest

from convnp import ops
from convnp.layers import Conv2D
from convnp.ops import reference
from tests.layers.harness import check_gradients, check_layer


@pytest.mark.parametrize("kwargs, input_shape, output_shape", [
    ({"filters": 4, "kernel_size": 3}, (2, 7, 6, 3), (2, 5, 4, 4)),
    ({"filters": 4, "kernel_size": (3, 2), "padding": "same"}, (2, 7, 6, 3), (2, 7, 6, 4)),
    ({"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}, (1, 7, 6, 1),
     (1, 4, 3, 2)),
    ({"filters": 5, "kernel_size": 2, "strides": (2, 1), "activation": "relu",
      "use_bias": False}, (2, 6, 5, 2), (2, 3, 4, 5)),
])
def test_check_layer(kwargs, input_shape, output_shape):
    n_trainable = 2 if kwargs.get("use_bias", True) else 1
    check_layer(Conv2D, kwargs, input_shape, output_shape, n_trainable)


def test_course_happy_model_conv_shape():
    layer = check_layer(Conv2D, {"filters": 32, "kernel_size": 7, "strides": 1},
                        (1, 12, 12, 3), (1, 6, 6, 32), 2)
    assert layer.kernel.shape == (7, 7, 3, 32)
    assert layer.bias.shape == (32,)
    assert [v.name for v in layer.weights] == ["kernel", "bias"]


@pytest.mark.parametrize("kwargs", [
    {"filters": 3, "kernel_size": 3},
    {"filters": 3, "kernel_size": 3, "padding": "same"},
    {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"},
    {"filters": 2, "kernel_size": (2, 3), "strides": 2},
    {"filters": 2, "kernel_size": 3, "use_bias": False},
    {"filters": 3, "kernel_size": 2, "activation": "relu", "bias_initializer": "random_normal"},
    {"filters": 2, "kernel_size": 2, "activation": "tanh"},
])
def test_gradients(kwargs):
    rng = np.random.default_rng(3)
    layer = Conv2D(dtype="float64", **kwargs)
    x = rng.standard_normal((2, 5, 5, 2))
    check_gradients(layer, x)


def test_matches_reference_loops():
    rng = np.random.default_rng(4)
    layer = Conv2D(3, 3, strides=2, padding="same", bias_initializer="random_normal",
                   dtype="float64")
    x = rng.standard_normal((2, 6, 5, 2))
    y = layer(x)
    b = layer.bias.value.reshape(1, 1, 1, -1)
    z, _ = reference.conv_forward(x, layer.kernel.value, b, {"stride": 2, "pad": "same"})
    np.testing.assert_allclose(y, z, rtol=1e-12, atol=1e-12)


def test_skips_input_gradient_when_told():
    rng = np.random.default_rng(5)
    layer = Conv2D(2, 3, activation="relu", dtype="float64")
    x = rng.standard_normal((2, 5, 5, 1))
    y = layer(x, training=True)
    dy = rng.standard_normal(y.shape)
    layer.backward(dy)
    full = (layer.kernel.grad.copy(), layer.bias.grad.copy())
    layer.needs_input_gradient = False
    layer(x, training=True)
    assert layer.backward(dy) is None
    np.testing.assert_allclose(layer.kernel.grad, full[0])
    np.testing.assert_allclose(layer.bias.grad, full[1])


def test_gradients_are_overwritten_not_accumulated():
    rng = np.random.default_rng(6)
    layer = Conv2D(2, 2)
    x = rng.standard_normal((1, 4, 4, 1)).astype("float32")
    dy = np.ones((1, 3, 3, 2), dtype="float32")
    layer(x)
    layer.backward(dy)
    first = layer.kernel.grad.copy()
    layer(x)
    layer.backward(dy)
    np.testing.assert_allclose(layer.kernel.grad, first)


def test_float64_input_is_cast_to_layer_dtype_and_float32_not_copied(monkeypatch):
    layer = Conv2D(2, 2)
    seen = []
    real = ops.conv_forward

    def spy(A_prev, *args, **kwargs):
        seen.append(A_prev)
        return real(A_prev, *args, **kwargs)

    monkeypatch.setattr(ops, "conv_forward", spy)
    x32 = np.ones((1, 3, 3, 1), dtype="float32")
    assert layer(np.ones((1, 3, 3, 1))).dtype == np.float32
    layer(x32)
    assert seen[0].dtype == np.float32 and seen[1] is x32


@pytest.mark.parametrize("kwargs, error", [
    ({"filters": 0, "kernel_size": 3}, ValueError),
    ({"filters": -2, "kernel_size": 3}, ValueError),
    ({"filters": 2.5, "kernel_size": 3}, TypeError),
    ({"filters": 2, "kernel_size": 0}, ValueError),
    ({"filters": 2, "kernel_size": (3, 3, 3)}, ValueError),
    ({"filters": 2, "kernel_size": 3, "strides": 0}, ValueError),
    ({"filters": 2, "kernel_size": 3, "padding": "full"}, ValueError),
    ({"filters": 2, "kernel_size": 3, "activation": "swishy"}, ValueError),
    ({"filters": 2, "kernel_size": 3, "kernel_initializer": "glorot_uniformm"}, ValueError),
    ({"filters": 2, "kernel_size": 3, "data_format": "channels_first"}, ValueError),
    ({"filters": 2, "kernel_size": 3, "dilation_rate": 0}, ValueError),
    ({"filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, ValueError),
    ({"filters": 2, "kernel_size": 3, "kernel_regularizer": "l3"}, ValueError),
    ({"filters": 2, "kernel_size": 3, "bogus": 1}, TypeError),
])
def test_bad_arguments(kwargs, error):
    with pytest.raises(error):
        Conv2D(**kwargs)


def test_bad_input_rank_and_size():
    with pytest.raises(ValueError, match="rank 4"):
        Conv2D(2, 3)(np.ones((4, 5), dtype="float32"))
    with pytest.raises(ValueError, match="larger than the input"):
        Conv2D(2, 5)(np.ones((1, 3, 3, 1), dtype="float32"))
    layer = Conv2D(2, 3)
    layer(np.ones((1, 5, 5, 3), dtype="float32"))
    with pytest.raises(ValueError, match="features on axis 3"):
        layer(np.ones((1, 5, 5, 2), dtype="float32"))
    with pytest.raises(ValueError, match="rank 4"):
        layer(np.ones((5, 5, 3), dtype="float32"))


def test_backward_before_call_raises():
    layer = Conv2D(2, 3)
    layer.build((None, 5, 5, 1))
    with pytest.raises(RuntimeError, match="forward call"):
        layer.backward(np.ones((1, 3, 3, 2), dtype="float32"))


def test_built_layer_runs_on_other_image_sizes_like_keras():
    layer = Conv2D(2, 3, padding="same")
    assert layer(np.ones((1, 8, 8, 3), dtype="float32")).shape == (1, 8, 8, 2)
    assert layer(np.ones((2, 5, 6, 3), dtype="float32")).shape == (2, 5, 6, 2)
    with pytest.raises(ValueError, match="3 features on axis 3"):
        layer(np.ones((1, 8, 8, 4), dtype="float32"))
    from convnp.layers import KerasTensor
    assert layer(KerasTensor((None, None, None, 3))).shape == (None, None, None, 2)
