"""Normalization's .mean / .variance have Keras 3's broadcast shape (the input's rank, 1 on
the reduced axes), given or adapted; the shapes below are what TF 2.21 / Keras 3.15 print."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

X = np.random.default_rng(0).normal(size=(8, 16, 16, 3)).astype(np.float32)


@pytest.mark.parametrize("kwargs,shape,weights", [
    ({}, (1, 1, 1, 3), (3,)),
    ({"axis": None}, (1, 1, 1, 1), ()),
    ({"axis": (1, 2)}, (1, 16, 16, 1), (16, 16)),
    ({"axis": (1, 2, 3)}, (1, 16, 16, 3), (16, 16, 3)),
    ({"axis": 2}, (1, 1, 16, 1), (16,)),
])
def test_adapted_statistics_have_the_broadcast_shape(kwargs, shape, weights):
    layer = tf.keras.layers.Normalization(**kwargs)
    layer.adapt(X)
    assert tuple(layer.mean.shape) == shape and tuple(layer.variance.shape) == shape
    # the saved variables keep the kept axes' shape, as in Keras's files
    assert [tuple(w.shape) for w in layer.weights] == [weights, weights, ()]
    kept = tuple(d for d in range(4) if shape[d] == 1)
    np.testing.assert_allclose(layer.mean.numpy(), X.mean(axis=kept, keepdims=True),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.variance.numpy(), X.var(axis=kept, keepdims=True),
                               rtol=1e-5)


@pytest.mark.parametrize("kwargs,shape", [
    ({"mean": 0.5, "variance": 2.0}, (1, 1, 1, 3)),
    ({"mean": [1., 2., 3.], "variance": [1., 1., 1.]}, (1, 1, 1, 3)),
    ({"axis": None, "mean": 0.5, "variance": 2.0}, (1, 1, 1, 1)),
    ({"axis": (1, 2), "mean": 0.5, "variance": 2.0}, (1, 16, 16, 1)),
])
def test_given_statistics_have_the_broadcast_shape(kwargs, shape):
    layer = tf.keras.layers.Normalization(**kwargs)
    assert layer.mean is None and layer.variance is None  # Keras: None before build
    y = layer(X)
    assert tuple(layer.mean.shape) == shape and layer.mean.dtype == np.float32
    assert layer.weights == []
    np.testing.assert_allclose(y, (X - layer.mean.numpy()) / np.sqrt(layer.variance.numpy()),
                               rtol=1e-5, atol=1e-6)


def test_small_adapt_matches_keras_numbers():
    layer = tf.keras.layers.Normalization()
    layer.build((None, 4))
    np.testing.assert_array_equal(layer.mean.numpy(), np.zeros((1, 4)))  # Keras 3.15
    layer.adapt(np.arange(8.0).reshape(2, 4))
    # Keras 3.15: mean [[2., 3., 4., 5.]], variance [[4., 4., 4., 4.]]
    np.testing.assert_array_equal(layer.mean.numpy(), [[2., 3., 4., 5.]])
    np.testing.assert_array_equal(layer.variance.numpy(), [[4., 4., 4., 4.]])


def test_keras_file_round_trip_keeps_the_statistics(tmp_path):
    norm = tf.keras.layers.Normalization()
    norm.adapt(X)
    model = tf.keras.Sequential([tf.keras.Input((16, 16, 3)), norm])
    path = str(tmp_path / "norm.keras")
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    again = loaded.layers[0]
    assert tuple(again.mean.shape) == (1, 1, 1, 3)
    np.testing.assert_allclose(again.mean.numpy(), norm.mean.numpy())
    np.testing.assert_allclose(loaded.predict(X[:2], verbose=0), model.predict(X[:2], verbose=0),
                               rtol=1e-6)
