"""Core layers: InputLayer, Dense, Flatten, Dropout, Activation, ReLU."""

from __future__ import annotations

import numpy as np
import pytest

import convnp.random
from convnp.layers import Activation, Dense, Dropout, Flatten, InputLayer, KerasTensor, ReLU
from tests.layers.harness import check_gradients, check_layer


def away_from_zero(shape, seed=0, margin=0.05):
    """Normal values with |x| >= margin, so ReLU-like kinks are out of finite-difference reach."""
    x = np.random.default_rng(seed).standard_normal(shape)
    return np.where(np.abs(x) < margin, np.sign(x + 1e-12) * margin, x)


# -- InputLayer ------------------------------------------------------------------------------

def test_input_layer_shapes_and_output():
    layer = InputLayer(shape=(64, 64, 3))
    assert layer.batch_shape == (None, 64, 64, 3)
    assert isinstance(layer.output, KerasTensor) and layer.output.shape == (None, 64, 64, 3)
    assert layer.output.layer is layer
    assert InputLayer(input_shape=(5,), batch_size=8).batch_shape == (8, 5)
    assert InputLayer(batch_shape=(None, 2, 3)).batch_shape == (None, 2, 3)
    clone = InputLayer.from_config(layer.get_config())
    assert clone.batch_shape == layer.batch_shape and clone.name == layer.name
    x = np.ones((2, 64, 64, 3))
    assert layer(x).dtype == np.float32


def test_input_layer_reads_a_keras3_config():
    config = {"batch_shape": [None, 8, 8, 3], "dtype": "float32", "sparse": False,
              "ragged": False, "optional": False, "name": "input_layer_7"}
    layer = InputLayer.from_config(config)
    assert layer.batch_shape == (None, 8, 8, 3) and layer.name == "input_layer_7"


@pytest.mark.parametrize("kwargs", [{}, {"shape": (2,), "batch_shape": (None, 2)},
                                    {"shape": (0, 3)}, {"shape": (2,), "sparse": True}])
def test_input_layer_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        InputLayer(**kwargs)


# -- Dense -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, n_trainable", [
    ({"units": 3}, 2), ({"units": 1, "activation": "sigmoid"}, 2),
    ({"units": 6, "activation": "softmax", "use_bias": False}, 1),
])
def test_dense_check_layer(kwargs, n_trainable):
    layer = check_layer(Dense, kwargs, (4, 5), (4, kwargs["units"]), n_trainable)
    assert layer.kernel.shape == (5, kwargs["units"])


def test_dense_on_higher_rank_input_maps_last_axis():
    layer = check_layer(Dense, {"units": 3}, (2, 4, 5), (2, 4, 3), 2)
    x = np.random.default_rng(0).standard_normal((2, 4, 5)).astype("float32")
    np.testing.assert_allclose(layer(x), x @ layer.kernel.value + layer.bias.value, rtol=1e-6)


@pytest.mark.parametrize("activation", [None, "relu", "sigmoid", "tanh", "softmax"])
@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_gradients(activation, use_bias):
    layer = Dense(4, activation=activation, use_bias=use_bias, dtype="float64",
                  bias_initializer="random_normal")
    check_gradients(layer, away_from_zero((3, 5), seed=1))


@pytest.mark.parametrize("activation", [None, "sigmoid"])
def test_single_unit_dense_gradients(activation):
    # one unit takes the outer-product path for the input gradient
    layer = Dense(1, activation=activation, dtype="float64", bias_initializer="random_normal")
    check_gradients(layer, away_from_zero((3, 5), seed=2))


def test_dense_rank3_gradients_and_input_gradient_switch():
    layer = Dense(3, activation="tanh", dtype="float64")
    x = away_from_zero((2, 3, 4), seed=2)
    check_gradients(layer, x)
    layer.needs_input_gradient = False
    layer(x, training=True)
    assert layer.backward(np.ones((2, 3, 3))) is None
    assert layer.kernel.grad.shape == (4, 3)


@pytest.mark.parametrize("kwargs, error", [
    ({"units": 0}, ValueError), ({"units": "3"}, ValueError),  # TF 2.21: ValueError
    ({"units": 3, "activation": "relux"}, ValueError),
    ({"units": 3, "bias_initializer": "zeroes"}, ValueError),
])
def test_dense_bad_arguments(kwargs, error):
    with pytest.raises(error):
        Dense(**kwargs)


def test_dense_bad_input_rank():
    with pytest.raises(ValueError, match="rank >= 2"):
        Dense(3)(KerasTensor((None,)))


# -- Flatten ---------------------------------------------------------------------------------

def test_flatten_is_row_major_nhwc():
    x = np.arange(24, dtype="float32").reshape(2, 2, 3, 2)
    layer = check_layer(Flatten, {}, (2, 2, 3, 2), (2, 12), 0)
    np.testing.assert_array_equal(layer(x), x.reshape(2, -1))
    check_gradients(Flatten(dtype="float64"), np.random.default_rng(0).standard_normal((2, 3, 2)))
    assert Flatten().compute_output_shape((None, None, 4)) == (None, None)


# -- Dropout ---------------------------------------------------------------------------------

def test_dropout_check_layer():
    check_layer(Dropout, {"rate": 0.3}, (4, 6), (4, 6), 0)
    check_layer(Dropout, {"rate": 0.5, "seed": 7, "noise_shape": (None, 1, 1, 3)},
                (2, 3, 3, 3), (2, 3, 3, 3), 0)


def test_dropout_is_identity_at_inference():
    x = np.random.default_rng(0).standard_normal((4, 5)).astype("float32")
    layer = Dropout(0.5)
    assert layer.call(x) is x
    assert np.shares_memory(np.asarray(layer(x)), x)  # the public call wraps without copying
    assert layer.backward(x) is x


def test_dropout_training_scales_kept_units_and_backward_uses_same_mask():
    convnp.random.set_seed(0)
    x = np.ones((200, 50), dtype="float32")
    layer = Dropout(0.25)
    y = layer(x, training=True)
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.75)
    assert abs(kept.mean() - 0.75) < 0.02
    dx = layer.backward(np.full_like(x, 2.0))
    np.testing.assert_array_equal(dx != 0, kept)
    np.testing.assert_allclose(dx[kept], 2 / 0.75)


def test_dropout_gradients_with_fixed_mask():
    layer = Dropout(0.4, dtype="float64")
    x = np.random.default_rng(1).standard_normal((3, 4, 2))
    check_gradients(layer, x, before_forward=lambda: convnp.random.set_seed(3))


def test_dropout_seed_and_global_generator_repeat():
    x = np.ones((10, 10), dtype="float32")
    assert np.array_equal(Dropout(0.5, seed=1)(x, training=True),
                          Dropout(0.5, seed=1)(x, training=True))
    convnp.random.set_seed(5)
    a = Dropout(0.5)(x, training=True)
    convnp.random.set_seed(5)
    assert np.array_equal(a, Dropout(0.5)(x, training=True))


@pytest.mark.parametrize("kwargs, error", [
    ({"rate": 1.5}, ValueError), ({"rate": -0.1}, ValueError), ({"rate": "0.5"}, TypeError),
    ({"rate": 0.5, "noise_shape": (None, 0)}, ValueError),
    ({"rate": 0.5, "noise_shape": "(1, 2)"}, TypeError), ({"rate": 0.5, "seed": 1.5}, TypeError),
])
def test_dropout_bad_arguments(kwargs, error):
    with pytest.raises(error):
        Dropout(**kwargs)


def test_dropout_rate_one_drops_everything():
    layer = Dropout(1.0)
    y = layer(np.ones((3, 4), dtype="float32"), training=True)
    assert not y.any() and not layer.backward(np.ones((3, 4), dtype="float32")).any()


# -- Activation and ReLU ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "softmax", "linear"])
def test_activation_layer(name):
    check_layer(Activation, {"activation": name}, (3, 4), (3, 4), 0)
    check_gradients(Activation(name, dtype="float64"), away_from_zero((3, 4), seed=4))


def test_activation_bad_name():
    with pytest.raises(ValueError, match="unknown activation"):
        Activation("sigmoidal")


@pytest.mark.parametrize("kwargs", [{}, {"max_value": 1.0}, {"negative_slope": 0.1},
                                    {"threshold": 0.5, "negative_slope": 0.2, "max_value": 1.5}])
def test_relu(kwargs):
    check_layer(ReLU, kwargs, (2, 3, 3, 2), (2, 3, 3, 2), 0)
    x = away_from_zero((2, 3, 3, 2), seed=5) * 2
    for kink in (kwargs.get("threshold", 0.0), kwargs.get("max_value") or 0.0):
        x = np.where(np.abs(x - kink) < 0.05, kink + 0.05, x)
    check_gradients(ReLU(dtype="float64", **kwargs), x)


def test_relu_formula():
    x = np.array([[-2.0, -0.5, 0.25, 0.75, 1.0, 3.0]], dtype="float32")
    y = ReLU(max_value=1.0, negative_slope=0.5, threshold=0.5)(x)
    np.testing.assert_allclose(y, [[-1.25, -0.5, -0.125, 0.75, 1.0, 1.0]])
    np.testing.assert_array_equal(ReLU()(x), np.maximum(x, 0))


def test_capped_relu_values_and_gradient_at_the_kinks():
    # ReLU6's own path (one mask): output 0 at and below 0, 6 at and above 6; gradient 1 only
    # strictly between (TensorFlow's Relu6Grad). With a threshold Keras clips instead, and
    # TensorFlow's clip keeps the slope at the cap itself (x == 6 -> 1).
    x = np.array([[-1.0, 0.0, 0.5, 5.9, 6.0, 7.5, np.nan]], dtype="float32")
    layer = ReLU(max_value=6.0)
    y = layer.call(x, training=True)
    np.testing.assert_array_equal(y, np.array([[0, 0, 0.5, 5.9, 6, 6, np.nan]], "float32"))
    dx = layer.backward(np.full_like(x, 2.0))
    np.testing.assert_array_equal(dx, [[0.0, 0.0, 2.0, 2.0, 0.0, 0.0, 0.0]])
    general = ReLU(max_value=6.0, threshold=1e-30)  # same function, general path
    np.testing.assert_array_equal(general.call(x[:, :6], training=True), y[:, :6])
    np.testing.assert_array_equal(general.backward(np.full_like(x[:, :6], 2.0)),
                                  [[0.0, 0.0, 2.0, 2.0, 2.0, 0.0]])
    big = np.random.default_rng(3).standard_normal((4, 64, 64, 32)).astype("float32") * 4
    np.testing.assert_array_equal(layer.call(big), np.clip(big, 0, 6))  # split between threads
    np.testing.assert_array_equal(layer.backward(np.ones_like(big)), (big > 0) & (big < 6))


@pytest.mark.parametrize("kwargs", [{"max_value": -1.0}, {"negative_slope": -0.1},
                                    {"threshold": float("nan")}])
def test_relu_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        ReLU(**kwargs)


def test_dense_built_checks_features():
    layer = Dense(2)
    layer(np.ones((3, 4), dtype="float32"))
    assert layer(np.ones((3, 5, 4), dtype="float32")).shape == (3, 5, 2)
    with pytest.raises(ValueError, match="4 features"):
        layer(np.ones((3, 5), dtype="float32"))


def test_dense_splits_its_products_between_threads_with_the_same_numbers(monkeypatch):
    """Dense's three products go through `convnp.ops.gemm` (row blocks on every core, as
    fit holds BLAS to one thread): forward with bias and activation, the kernel gradient and
    the input gradient equal the plain products, on a 4-D input as ConvNeXt's MLP has it."""
    from convnp.ops import gemm
    from convnp.ops.threads import parallel_region

    monkeypatch.setattr(gemm, "MIN_SPLIT_MACS", 1)  # split even these small products
    rng = np.random.default_rng(9)
    x = rng.standard_normal((3, 5, 7, 6)).astype(np.float32)
    dy = rng.standard_normal((3, 5, 7, 4)).astype(np.float32)
    layer = Dense(4, activation="relu")
    layer(x)
    kernel, bias = layer.kernel.value, layer.bias.value
    with parallel_region():
        y = layer.call(x, training=True)
        dx = layer.backward(dy)
    z = x.reshape(-1, 6) @ kernel + bias
    np.testing.assert_allclose(y, np.maximum(z, 0).reshape(3, 5, 7, 4), rtol=1e-6, atol=1e-6)
    dz = dy.reshape(-1, 4) * (z > 0)
    np.testing.assert_allclose(layer.kernel.grad, x.reshape(-1, 6).T @ dz, rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(dx, (dz @ kernel.T).reshape(x.shape), rtol=1e-5, atol=1e-6)
