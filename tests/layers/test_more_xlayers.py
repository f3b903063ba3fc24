"""Keras's alias names, SpatialDropout1D, RepeatVector, RMSNormalization: harness, float64
gradients, values, PyTorch parity (nn.RMSNorm), refusals."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp.layers import RepeatVector, RMSNormalization, SpatialDropout1D
from convnp.layers.aliases import ALIASES
from tests.layers.harness import check_case, check_file_round_trip

rng = np.random.default_rng(0)


@pytest.mark.parametrize("cls, kwargs, in_shape, out_shape, n_train, random", [
    (SpatialDropout1D, {"rate": 0.5, "seed": 1}, (2, 5, 4), (2, 5, 4), 0, True),
    (RepeatVector, {"n": 3}, (2, 4), (2, 3, 4), 0, False),
    (RMSNormalization, {}, (2, 3, 4), (2, 3, 4), 1, False),
    (RMSNormalization, {"axis": [1, 2], "epsilon": 1e-3}, (2, 3, 4), (2, 3, 4), 1, False),
])
def test_harness_and_gradients(cls, kwargs, in_shape, out_shape, n_train, random):
    check_case(cls, kwargs, in_shape, out_shape, n_train, random=random)


def test_aliases_are_the_same_classes():
    for alias, cls in ALIASES.items():
        assert getattr(tf.keras.layers, alias) is cls
        assert tf.keras.layers.get_layer_class(alias) is cls
    # a config written with an alias name loads as the class
    layer = tf.keras.layers.deserialize({"class_name": "GlobalAvgPool2D", "config": {}})
    assert type(layer).__name__ == "GlobalAveragePooling2D"
    conv = tf.keras.layers.Convolution2D(2, 3)
    assert type(conv).__name__ == "Conv2D" and conv.name.startswith("conv2d")


def test_values():
    x = rng.standard_normal((3, 6, 4)).astype("float32")
    y = np.asarray(SpatialDropout1D(0.5, seed=0)(x, training=True))
    dropped = np.all(y == 0, axis=1)  # (examples, features): a feature is dropped at every step
    assert dropped.any() and not dropped.all()
    np.testing.assert_allclose(y[~np.repeat(dropped[:, None, :], 6, axis=1)],
                               2 * x[~np.repeat(dropped[:, None, :], 6, axis=1)], rtol=1e-6)
    np.testing.assert_array_equal(SpatialDropout1D(0.5)(x, training=False), x)
    v = rng.standard_normal((2, 3)).astype("float32")
    np.testing.assert_array_equal(RepeatVector(2)(v), np.stack([v, v], axis=1))
    with pytest.raises(ValueError, match="rank 3"):
        SpatialDropout1D(0.1)(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="rank 2"):
        RepeatVector(2)(np.ones((2, 3, 1), "float32"))
    with pytest.raises(ValueError, match="epsilon"):
        RMSNormalization(epsilon=0)


def test_rms_normalization_matches_pytorch():
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 5, 6))
    layer = RMSNormalization(epsilon=1e-6, dtype="float64")
    layer(x)
    layer.set_weights([rng.standard_normal(6)])
    y = np.asarray(layer(x))
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    tx = torch.tensor(x, requires_grad=True)
    norm = torch.nn.RMSNorm(6, eps=1e-6).double()
    with torch.no_grad():
        norm.weight.copy_(torch.tensor(layer.scale.numpy()))
    ty = norm(tx)
    ty.backward(torch.tensor(dy))
    np.testing.assert_allclose(y, ty.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(layer.scale.grad, norm.weight.grad.numpy(), atol=1e-10)


def test_in_a_model(tmp_path):
    L = tf.keras.layers
    model = tf.keras.Sequential([
        tf.keras.Input((6,)), L.Dense(4), RepeatVector(5), L.Convolution1D(3, 2),
        SpatialDropout1D(0.2), RMSNormalization(), L.GlobalAvgPool1D(), L.Dense(1)])
    model.compile("adam", "mse")
    x = rng.standard_normal((8, 6)).astype("float32")
    model.fit(x, np.ones((8, 1), "float32"), epochs=1, verbose=0)
    check_file_round_trip(model, x, tmp_path / "more.convnp")
