"""Adaptive poolings: fast ops against the loop twin, harness and float64 gradients, PyTorch
parity (AdaptiveAvgPool2d / AdaptiveMaxPool2d, 1-D and 3-D too), refusals."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp.layers import (
    AdaptiveAveragePooling1D,
    AdaptiveAveragePooling2D,
    AdaptiveAveragePooling3D,
    AdaptiveMaxPooling1D,
    AdaptiveMaxPooling2D,
    AdaptiveMaxPooling3D,
)
from convnp.ops import adaptive_pool as fast
from convnp.ops import reference_adaptive_pool as reference
from tests.layers.harness import check_case, check_file_round_trip

rng = np.random.default_rng(0)


@pytest.mark.parametrize("shape, out", [((2, 7, 5, 3), (3, 2)), ((1, 4, 4, 2), (4, 4)),
                                        ((2, 5, 9, 1), (1, 4)), ((1, 3, 3, 2), (5, 4))])
@pytest.mark.parametrize("mode", ["average", "max"])
def test_fast_matches_reference(shape, out, mode):
    x = rng.standard_normal(shape)
    y, cache = fast.adaptive_pool_forward(x, out, mode)
    y_ref, cache_ref = reference.adaptive_pool_forward(x, out, mode)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12)
    dy = rng.standard_normal(y.shape)
    np.testing.assert_allclose(fast.adaptive_pool_backward(dy, cache),
                               reference.adaptive_pool_backward(dy, cache_ref), rtol=1e-12,
                               atol=1e-14)


@pytest.mark.parametrize("cls, kwargs, in_shape, out_shape", [
    (AdaptiveAveragePooling2D, {"output_size": 3}, (2, 7, 5, 2), (2, 3, 3, 2)),
    (AdaptiveMaxPooling2D, {"output_size": (2, 3)}, (2, 5, 7, 2), (2, 2, 3, 2)),
    (AdaptiveAveragePooling1D, {"output_size": 3}, (2, 7, 2), (2, 3, 2)),
    (AdaptiveMaxPooling1D, {"output_size": 4}, (2, 9, 3), (2, 4, 3)),
    (AdaptiveAveragePooling3D, {"output_size": (2, 3, 2)}, (2, 5, 7, 4, 2), (2, 2, 3, 2, 2)),
    (AdaptiveMaxPooling3D, {"output_size": 3}, (1, 4, 5, 7, 2), (1, 3, 3, 3, 2)),
])
def test_harness_and_gradients(cls, kwargs, in_shape, out_shape):
    check_case(cls, kwargs, in_shape, out_shape, 0)


@pytest.mark.parametrize("mode", ["average", "max"])
def test_matches_pytorch(mode):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 10, 7, 3))
    cls = AdaptiveAveragePooling2D if mode == "average" else AdaptiveMaxPooling2D
    layer = cls((4, 3), dtype="float64")
    y = np.asarray(layer(x))
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    tx = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    pool = torch.nn.AdaptiveAvgPool2d((4, 3)) if mode == "average" else \
        torch.nn.AdaptiveMaxPool2d((4, 3))
    ty = pool(tx)
    ty.backward(torch.tensor(dy.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 3, 1), atol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy().transpose(0, 2, 3, 1), atol=1e-12)
    s = rng.standard_normal((2, 11, 3))
    one_d = (AdaptiveAveragePooling1D if mode == "average" else AdaptiveMaxPooling1D)(
        5, dtype="float64")
    t_one_d = torch.nn.AdaptiveAvgPool1d(5) if mode == "average" else \
        torch.nn.AdaptiveMaxPool1d(5)
    np.testing.assert_allclose(
        one_d(s), t_one_d(torch.tensor(s.transpose(0, 2, 1))).numpy().transpose(0, 2, 1),
        atol=1e-12)


def test_refusals_and_any_input_size(tmp_path):
    with pytest.raises(ValueError, match="output_size"):
        AdaptiveAveragePooling2D(0)
    with pytest.raises(ValueError, match="channels_last"):
        AdaptiveMaxPooling2D(2, data_format="channels_first")
    with pytest.raises(ValueError, match="rank 4"):
        AdaptiveAveragePooling2D(2)(np.ones((1, 4, 2), "float32"))
    with pytest.raises(ValueError, match="mode"):
        fast.adaptive_pool_forward(np.ones((1, 2, 2, 1)), (1, 1), "median")
    L = tf.keras.layers
    model = tf.keras.Sequential([tf.keras.Input((None, None, 3)), L.Conv2D(4, 3),
                                 AdaptiveAveragePooling2D(2), L.Flatten(), L.Dense(1)])
    for size in (6, 9):
        assert model.predict(rng.standard_normal((2, size, size + 1, 3)).astype("float32"),
                             verbose=0).shape == (2, 1)
    model.compile("sgd", "mse")
    x = rng.standard_normal((4, 8, 8, 3)).astype("float32")
    model.fit(x, np.ones((4, 1), "float32"), epochs=1, verbose=0)
    check_file_round_trip(model, x, tmp_path / "adaptive.convnp")


@pytest.mark.parametrize("mode", ["average", "max"])
def test_3d_matches_pytorch(mode):
    """AdaptiveAvgPool3d / AdaptiveMaxPool3d, with ties (the gradient goes to the first
    maximum in depth, row, column order). Keras 3.15 gives the same forward values within
    1.2e-7 for sizes (2, 3, 4), 3 and the identity; its (1, 1, 1) crashes (SIGFPE)."""
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 5, 7, 6, 3))
    x[0, 1:3, 2, 2:4, 0] = 4.0  # a tie across depth and columns
    cls = AdaptiveAveragePooling3D if mode == "average" else AdaptiveMaxPooling3D
    for size in ((2, 3, 4), (1, 1, 1), (5, 7, 6), (4, 2, 5)):
        layer = cls(size, dtype="float64")
        y = np.asarray(layer(x))
        dy = rng.standard_normal(y.shape)
        dx = layer.backward(dy)
        tx = torch.tensor(x.transpose(0, 4, 1, 2, 3), requires_grad=True)
        pool = torch.nn.AdaptiveAvgPool3d(size) if mode == "average" else \
            torch.nn.AdaptiveMaxPool3d(size)
        ty = pool(tx)
        ty.backward(torch.tensor(dy.transpose(0, 4, 1, 2, 3)))
        np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 3, 4, 1), atol=1e-12)
        np.testing.assert_allclose(dx, tx.grad.numpy().transpose(0, 2, 3, 4, 1), atol=1e-12)
    with pytest.raises(ValueError, match="rank 5"):
        cls(2)(np.ones((1, 4, 4, 2), "float32"))
