"""keras.random.gamma / beta / binomial (Keras 3's signatures): output shape and dtype,
parameters broadcast to the shape, repeatable seeds and SeedGenerator streams, the sample
moments, and the keras.io MixUp recipe (a Beta draw from two Gamma draws)."""

from __future__ import annotations

import numpy as np
import pytest

from convnp import keras
from convnp.tensor import EagerTensor


@pytest.mark.parametrize("draw", [
    lambda **kw: keras.random.gamma((3, 4), 2.0, **kw),
    lambda **kw: keras.random.beta((3, 4), 0.5, 2.0, **kw),
    lambda **kw: keras.random.binomial((3, 4), 10, 0.3, **kw),
])
def test_shape_dtype_and_seeds(draw):
    a = draw(seed=5)
    assert isinstance(a, EagerTensor)
    assert a.shape == (3, 4) and a.dtype == np.float32
    np.testing.assert_array_equal(a.numpy(), draw(seed=5).numpy())
    assert draw(dtype="float64", seed=5).dtype == np.float64
    gen = keras.random.SeedGenerator(3)
    first, second = draw(seed=gen).numpy(), draw(seed=gen).numpy()
    assert not np.array_equal(first, second)
    again = keras.random.SeedGenerator(3)
    np.testing.assert_array_equal(draw(seed=again).numpy(), first)


def test_sample_moments():
    g = keras.random.gamma((20000,), 3.0, dtype="float64", seed=0).numpy()
    assert abs(g.mean() - 3.0) < 0.06 and abs(g.var() - 3.0) < 0.2
    b = keras.random.beta((20000,), 2.0, 6.0, dtype="float64", seed=0).numpy()
    assert b.min() >= 0 and b.max() <= 1
    assert abs(b.mean() - 0.25) < 0.01
    n = keras.random.binomial((20000,), 8, 0.25, seed=0).numpy()
    assert set(np.unique(n)) <= set(range(9)) and abs(n.mean() - 2.0) < 0.05


def test_parameters_broadcast_to_the_shape():
    a = keras.random.gamma((2, 3), np.array([0.5, 50.0, 500.0]), dtype="float64", seed=1)
    assert a.shape == (2, 3)
    assert np.all(a.numpy()[:, 2] > 200)  # concentration 500: draws near 500
    b = keras.random.beta((4, 2), np.array([[1000.0], [1000.0], [1e-3], [1e-3]]), 1000.0,
                          seed=1)
    assert b.shape == (4, 2)
    np.testing.assert_allclose(b.numpy()[:2], 0.5, atol=0.05)


def test_mixup_recipe_from_keras_io():
    def sample_beta_distribution(size, concentration_0=0.2, concentration_1=0.2):
        gamma_1 = keras.random.gamma(shape=[size], alpha=concentration_1, seed=1)
        gamma_2 = keras.random.gamma(shape=[size], alpha=concentration_0, seed=2)
        return gamma_1 / (gamma_1 + gamma_2)

    lam = sample_beta_distribution(64)
    assert lam.shape == (64,) and np.all((lam.numpy() >= 0) & (lam.numpy() <= 1))
    x1, x2 = np.ones((64, 2, 2, 1), np.float32), np.zeros((64, 2, 2, 1), np.float32)
    mixed = x1 * keras.ops.reshape(lam, (64, 1, 1, 1)) + x2 * (1 - keras.ops.reshape(
        lam, (64, 1, 1, 1)))
    np.testing.assert_allclose(mixed.numpy()[:, 0, 0, 0], lam.numpy(), rtol=1e-6)


@pytest.mark.parametrize("call", [
    lambda: keras.random.gamma((2,), -1.0),
    lambda: keras.random.gamma((2,), np.ones(3)),
    lambda: keras.random.beta((2,), 1.0, 0.0),
    lambda: keras.random.binomial((2,), 2.5, 0.5),
    lambda: keras.random.binomial((2,), 3, 1.5),
    lambda: keras.random.beta((-1,), 1.0, 1.0),
])
def test_bad_arguments_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_sizes_given_as_tensors_inside_a_dataset_map():
    import convnp as tf

    x = np.ones((8, 4, 4, 1), np.float32)

    def mix(images):
        batch_size = keras.ops.shape(images)[0]
        lam = keras.random.beta([batch_size], 0.2, 0.2, seed=3)
        return images * keras.ops.reshape(lam, (batch_size, 1, 1, 1))

    out = next(iter(tf.data.Dataset.from_tensor_slices(x).batch(4).map(mix)))
    assert out.shape == (4, 4, 4, 1)
    assert keras.random.gamma(tf.shape(x)[:1], 2.0, seed=1).shape == (8,)
    assert keras.random.gamma((tf.shape(x)[0], 2), 2.0, seed=1).shape == (8, 2)
    with pytest.raises(ValueError):
        keras.random.gamma((tf.constant(2.0),), 1.0)
