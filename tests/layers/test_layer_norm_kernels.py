"""LayerNormalization over the last axis runs the row kernels of `convnp.ops.last_axis`
(row statistics by matrix-vector products, blocks of rows in cache on all cores). They must
give the textbook numbers: values and all three gradients against a float64 formula, with
several blocks split between threads, with and without gamma/beta, and the layer's
gradients against central differences."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp.ops import last_axis
from tests.helpers import check_training_gradients


def _reference(x, gamma, beta, eps, dy):
    x = x.astype(np.float64)
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    inv = 1 / np.sqrt(var + eps)
    hat = (x - mean) * inv
    g = np.ones(x.shape[-1]) if gamma is None else gamma
    y = hat * g + (0 if beta is None else beta)
    d_hat = dy * g
    dx = inv * (d_hat - d_hat.mean(-1, keepdims=True)
                - hat * (d_hat * hat).mean(-1, keepdims=True))
    rows = tuple(range(x.ndim - 1))
    return y, dx, (dy * hat).sum(axis=rows), dy.sum(axis=rows)


@pytest.mark.parametrize("with_weights", [True, False])
@pytest.mark.parametrize("shape", [(5, 7, 9, 12), (3, 40, 5), (6, 3)])
def test_row_kernels_match_the_formula(monkeypatch, shape, with_weights):
    monkeypatch.setattr(last_axis, "BLOCK_NUMBERS", 64)  # blocks of a few rows
    monkeypatch.setattr(last_axis, "MIN_SHARED_ROWS", 4)  # and split between threads
    rng = np.random.default_rng(len(shape))
    x = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    gamma = rng.standard_normal(shape[-1]).astype(np.float32) if with_weights else None
    beta = rng.standard_normal(shape[-1]).astype(np.float32) if with_weights else None
    dy = rng.standard_normal(shape).astype(np.float32)
    y, x_hat, inv_std = last_axis.layer_norm(x, gamma, beta, 1e-3)
    dx, dgamma, dbeta = last_axis.layer_norm_backward(dy, x_hat, inv_std, gamma)
    want_y, want_dx, want_dgamma, want_dbeta = _reference(x, gamma, beta, 1e-3, dy)
    assert y.dtype == np.float32 and y.shape == x.shape and inv_std.shape == (*shape[:-1], 1)
    np.testing.assert_allclose(y, want_y, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dgamma, want_dgamma, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dbeta, want_dbeta, rtol=1e-5, atol=1e-5)


def test_layer_on_the_last_axis_gives_the_formula_and_passes_central_differences():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 6, 10)).astype(np.float32)
    out = tf.keras.layers.LayerNormalization(axis=-1, epsilon=1e-6)(x)
    want = _reference(x, None, None, 1e-6, np.zeros(x.shape))[0]
    np.testing.assert_allclose(np.asarray(out), want, rtol=1e-5, atol=1e-5)
    tf.keras.utils.set_random_seed(3)
    inputs = tf.keras.Input((5, 6), dtype="float64")
    h = tf.keras.layers.LayerNormalization(dtype="float64", gamma_initializer="random_normal",
                                           beta_initializer="random_normal")(inputs)
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(2, dtype="float64")(h))
    model.compile(tf.keras.optimizers.SGD(0.1), "mse")
    assert check_training_gradients(model, rng.standard_normal((3, 5, 6)),
                                    rng.standard_normal((3, 5, 2)), atol=1e-7) == 4
