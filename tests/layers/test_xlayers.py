"""Identity, ActivityRegularization, GaussianDropout, AlphaDropout, Normalization,
UnitNormalization, GroupNormalization: the harness, float64 gradients, values, refusals,
PyTorch parity, .convnp round trips."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp.layers import (
    ActivityRegularization,
    AlphaDropout,
    GaussianDropout,
    GroupNormalization,
    Identity,
    Normalization,
    UnitNormalization,
)
from tests.layers.harness import check_case, check_file_round_trip

rng = np.random.default_rng(0)

CASES = [
    (Identity, {}, (2, 3, 4), (2, 3, 4), 0, 0),
    (ActivityRegularization, {"l1": 0.01, "l2": 0.1}, (2, 5), (2, 5), 0, 0),
    (GaussianDropout, {"rate": 0.3, "seed": 1}, (2, 3, 4), (2, 3, 4), 0, 0),
    (AlphaDropout, {"rate": 0.2, "seed": 1}, (2, 3, 4), (2, 3, 4), 0, 0),
    (Normalization, {}, (2, 3, 4), (2, 3, 4), 0, 3),
    (Normalization, {"axis": None, "mean": 1.0, "variance": 4.0}, (2, 3), (2, 3), 0, 0),
    (Normalization, {"axis": (1, 2), "mean": np.arange(6.0).reshape(2, 3).tolist(),
                     "variance": 2.0, "invert": True}, (2, 2, 3), (2, 2, 3), 0, 0),
    (UnitNormalization, {}, (2, 3, 4), (2, 3, 4), 0, 0),
    (UnitNormalization, {"axis": [1, 2]}, (2, 3, 4), (2, 3, 4), 0, 0),
    (GroupNormalization, {"groups": 2, "beta_initializer": "random_normal",
                          "gamma_initializer": "random_normal"}, (2, 3, 3, 4), (2, 3, 3, 4),
     2, 0),
    (GroupNormalization, {"groups": -1, "center": False}, (2, 5, 3), (2, 5, 3), 1, 0),
    (GroupNormalization, {"groups": 1, "axis": 1, "scale": False}, (2, 4, 3), (2, 4, 3), 1,
     0),
]
RANDOM = (GaussianDropout, AlphaDropout)


@pytest.mark.parametrize("cls, kwargs, in_shape, out_shape, n_train, n_fixed", CASES)
def test_harness_and_gradients(cls, kwargs, in_shape, out_shape, n_train, n_fixed):
    check_case(cls, kwargs, in_shape, out_shape, n_train, n_fixed, random=cls in RANDOM)


def test_noise_layers_values():
    x = rng.standard_normal((200, 50)).astype("float32")
    # Gaussian dropout keeps the mean and adds the variance of dropout at that rate;
    # alpha dropout keeps both the mean and the variance of standardized inputs
    for cls, variance in ((GaussianDropout, 1 + 0.3 / 0.7), (AlphaDropout, 1.0)):
        layer = cls(0.3, seed=5)  # not the seed of x: the noise must not equal x
        np.testing.assert_array_equal(layer(x, training=False), x)
        y = np.asarray(layer(x, training=True))
        assert not np.allclose(y, x)
        assert abs(y.mean()) < 0.05 and abs(y.var() - variance) < 0.1
    y = np.asarray(AlphaDropout(0.5, seed=0)(x, training=True))
    a = (0.5 * (1 + 0.5 * 1.7580993408473766 ** 2)) ** -0.5
    dropped_value = a * -1.7580993408473766 + a * 1.7580993408473766 * 0.5
    assert np.isclose(y, dropped_value, atol=1e-6).mean() > 0.4
    with pytest.raises(ValueError, match="rate"):
        GaussianDropout(1.0)
    with pytest.raises(TypeError, match="seed"):
        AlphaDropout(0.1, seed=1.5)
    with pytest.raises(ValueError, match="noise_shape"):
        AlphaDropout(0.1, noise_shape=(None, 1))


def test_activity_regularization_adds_its_penalty_in_fit():
    x = rng.standard_normal((8, 3)).astype("float32")
    y = np.zeros((8, 2), dtype="float32")
    dense = tf.keras.layers.Dense(2, kernel_initializer="ones")
    model = tf.keras.Sequential([tf.keras.Input((3,)), dense, ActivityRegularization(l2=0.5)])
    model.compile("sgd", "mse")
    loss = model.evaluate(x, y, verbose=0)
    out = x @ np.ones((3, 2))
    mse = np.mean(out ** 2)
    assert np.isclose(loss, mse + 0.5 * np.sum(out ** 2) / 8, rtol=1e-5)
    with pytest.raises(ValueError, match="l1"):
        ActivityRegularization(l1=-1)


def test_normalization_adapt_values_and_dataset():
    data = np.array([[0., 7., 4.], [2., 9., 6.], [0., 7., 4.], [2., 9., 6.]], dtype="float32")
    layer = Normalization()
    layer.adapt(data)
    np.testing.assert_allclose(layer(data[:1]), [[-1., -1., -1.]], atol=1e-6)
    np.testing.assert_allclose(layer.mean.numpy(), [[1., 8., 5.]])  # Keras: (1, 3)
    np.testing.assert_allclose(layer.variance.numpy(), [[1., 1., 1.]])
    # batches of a Dataset merge to the statistics of the whole data
    big = rng.standard_normal((37, 4, 2)).astype("float32") * 3 + 5
    by_array, by_dataset = Normalization(axis=-1), Normalization(axis=-1)
    by_array.adapt(big)
    by_dataset.adapt(tf.data.Dataset.from_tensor_slices(big).batch(10))
    np.testing.assert_allclose(by_dataset.mean.numpy(), big.mean(axis=(0, 1), keepdims=True), rtol=1e-5)
    np.testing.assert_allclose(by_dataset.variance.numpy(), big.var(axis=(0, 1), keepdims=True), rtol=1e-4)
    np.testing.assert_allclose(by_array.get_weights()[1], by_dataset.get_weights()[1],
                               rtol=1e-4)
    inverse = Normalization(axis=-1, invert=True, mean=big.mean(axis=(0, 1)),
                            variance=big.var(axis=(0, 1)))
    np.testing.assert_allclose(inverse(by_array(big)), big, rtol=1e-4, atol=1e-4)
    scalar = Normalization(axis=None)
    scalar.adapt(np.array([1., 2., 3., 4., 5.], dtype="float32"))
    np.testing.assert_allclose(scalar(np.array([1., 2., 3.], dtype="float32")),
                               [-1.4142135, -0.70710677, 0.], rtol=1e-6)


def test_normalization_refusals():
    with pytest.raises(ValueError, match="both mean and variance"):
        Normalization(mean=1.0)
    with pytest.raises(ValueError, match="variance"):
        Normalization(mean=0.0, variance=-1.0)
    with pytest.raises(TypeError, match="axis"):
        Normalization(axis="last")
    with pytest.raises(ValueError, match="given mean"):
        Normalization(mean=0.0, variance=1.0).adapt(np.ones((2, 3)))
    with pytest.raises(ValueError, match="axis 0"):
        Normalization(axis=0)(np.ones((2, 3), dtype="float32"))
    with pytest.raises(ValueError, match="broadcast"):
        Normalization(mean=[1.0, 2.0], variance=1.0)(np.ones((2, 3), dtype="float32"))
    layer = Normalization()
    layer.adapt(np.ones((4, 3)))
    with pytest.raises(ValueError, match="3 features"):
        layer.adapt(np.ones((4, 5)))
    # TF 2.21 adapts on the features of a (features, labels) dataset; a dict is refused
    paired = Normalization()
    paired.adapt(tf.data.Dataset.from_tensor_slices((np.ones((4, 3)), np.ones(4))).batch(2))
    assert np.asarray(paired.mean).tolist() == [[1.0, 1.0, 1.0]]
    with pytest.raises(TypeError, match="features"):
        Normalization().adapt(tf.data.Dataset.from_tensor_slices({"a": np.ones((4, 3))}))
    with pytest.raises(ValueError, match="NaN"):
        Normalization().adapt(np.array([[np.nan, 1.0]]))


def test_unit_normalization_values():
    x = rng.standard_normal((3, 5)).astype("float32")
    y = np.asarray(UnitNormalization()(x))
    np.testing.assert_allclose(np.linalg.norm(y, axis=-1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(UnitNormalization()(np.zeros((1, 4), "float32")), 0.0)
    with pytest.raises(TypeError, match="axis"):
        UnitNormalization(axis=1.5)


def test_group_normalization_refusals():
    with pytest.raises(ValueError, match="divide"):
        GroupNormalization(groups=3)(np.ones((1, 2, 2, 4), "float32"))
    with pytest.raises(ValueError, match="groups"):
        GroupNormalization(groups=0)
    with pytest.raises(ValueError, match="unknown regularizer"):
        GroupNormalization(gamma_regularizer="nope")
    with pytest.raises(ValueError, match="epsilon"):
        GroupNormalization(epsilon=0)


def test_group_norm_and_unit_norm_match_pytorch():
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 5, 4, 6))
    layer = GroupNormalization(groups=3, epsilon=1e-5, dtype="float64",
                               gamma_initializer="random_normal",
                               beta_initializer="random_normal")
    y = np.asarray(layer(x))
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    tx = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    norm = torch.nn.GroupNorm(3, 6, eps=1e-5).double()
    with torch.no_grad():
        norm.weight.copy_(torch.tensor(layer.gamma.numpy()))
        norm.bias.copy_(torch.tensor(layer.beta.numpy()))
    ty = norm(tx)
    ty.backward(torch.tensor(dy.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 3, 1), atol=1e-10)
    np.testing.assert_allclose(dx, tx.grad.numpy().transpose(0, 2, 3, 1), atol=1e-10)
    np.testing.assert_allclose(layer.gamma.grad, norm.weight.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(layer.beta.grad, norm.bias.grad.numpy(), atol=1e-10)

    x = rng.standard_normal((3, 4))
    unit = UnitNormalization(dtype="float64")
    y = np.asarray(unit(x))
    dy = rng.standard_normal(y.shape)
    dx = unit.backward(dy)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.normalize(tx, dim=-1, eps=1e-6)
    ty.backward(torch.tensor(dy))
    np.testing.assert_allclose(y, ty.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), atol=1e-10)


def test_models_with_the_new_layers_save_and_load(tmp_path):
    x = rng.standard_normal((16, 6, 6, 4)).astype("float32")
    y = rng.integers(0, 2, 16)
    norm = Normalization()
    norm.adapt(x)
    model = tf.keras.Sequential([
        tf.keras.Input((6, 6, 4)), norm,
        tf.keras.layers.Conv2D(8, 3), GroupNormalization(groups=4), Identity(),
        GaussianDropout(0.1), AlphaDropout(0.1), ActivityRegularization(l2=1e-3),
        tf.keras.layers.Flatten(), UnitNormalization(),
        tf.keras.layers.Dense(2, activation="softmax"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    loaded = check_file_round_trip(model, x, tmp_path / "x.convnp")
    np.testing.assert_array_equal(loaded.layers[0].mean.numpy(), norm.mean.numpy())
