"""RandomBrightness, RandomHeight, RandomWidth: inference identity, values, gradients,
repeatability, refusals, fit and a .convnp round trip."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp.layers import KerasTensor, RandomBrightness, RandomHeight, RandomWidth
from tests.layers.harness import check_file_round_trip, check_gradients, check_layer


def images(shape=(3, 6, 7, 2), seed=0):
    return (np.random.default_rng(seed).random(shape) * 255).astype("float32")


def test_brightness_harness_values_and_clipping():
    layer = check_layer(RandomBrightness, {"factor": 0.2, "seed": 1}, (3, 6, 7, 2),
                        (3, 6, 7, 2), 0, training=False)
    x = images()
    np.testing.assert_array_equal(layer(x, training=False), x)
    y = np.asarray(RandomBrightness((0.1, 0.1), value_range=(0, 1000))(x))
    np.testing.assert_allclose(y, x + 100.0, rtol=1e-6)  # delta 0.1 of the range
    y = np.asarray(RandomBrightness(0.5, seed=0)(x))
    assert y.min() >= 0 and y.max() <= 255
    shifts = (y - x).reshape(3, -1)
    inside = (y > 0) & (y < 255)
    # one shift per image, different between images
    per_image = [np.unique(np.round(s[m.ravel()], 3)) for s, m in zip(shifts, inside.reshape(3, -1))]
    assert all(len(p) == 1 for p in per_image) and len({float(p[0]) for p in per_image}) == 3


@pytest.mark.parametrize("cls", [RandomHeight, RandomWidth])
def test_size_layers(cls):
    x = images((2, 6, 7, 3))
    layer = cls(0.5, seed=3)
    np.testing.assert_array_equal(layer(x, training=False), x)
    sizes = set()
    for _ in range(8):
        y = layer(x)
        axis = 1 if cls is RandomHeight else 2
        other = 2 if axis == 1 else 1
        assert y.shape[other] == x.shape[other] and y.shape[3] == 3
        assert int(x.shape[axis] * 0.5) <= y.shape[axis] <= int(x.shape[axis] * 1.5)
        sizes.add(y.shape[axis])
    assert len(sizes) > 1
    out = cls(0.2)(KerasTensor((None, 6, 7, 3)))
    assert out.shape == ((None, None, 7, 3) if cls is RandomHeight else (None, 6, None, 3))
    # a factor of exactly (0.5, 0.5) makes it a plain resize
    y = cls((0.5, 0.5), interpolation="nearest")(x)
    expected = tf.keras.layers.Resizing(9 if cls is RandomHeight else 6,
                                        7 if cls is RandomHeight else 10,
                                        interpolation="nearest")(x)
    np.testing.assert_array_equal(y, expected)
    layer = cls.from_config(cls(0.3, seed=2).get_config())
    assert layer.get_config()["factor"] == 0.3 and layer.seed == 2


@pytest.mark.parametrize("cls, kwargs", [
    (RandomBrightness, {"factor": 0.3, "value_range": (-1.0, 1.0)}),
    (RandomHeight, {"factor": 0.4}),
    (RandomWidth, {"factor": (-0.3, 0.4), "interpolation": "nearest"}),
])
def test_gradients(cls, kwargs):
    layer = cls(dtype="float64", **kwargs)
    x = np.random.default_rng(3).standard_normal((2, 5, 6, 2)) * 0.5
    check_gradients(layer, x, before_forward=lambda: tf.keras.utils.set_random_seed(11))


def test_repeatable_under_set_random_seed():
    x = images()
    runs = []
    for _ in range(2):
        tf.keras.utils.set_random_seed(4)
        runs.append([np.asarray(c(0.3)(x)) for c in (RandomBrightness, RandomHeight,
                                                      RandomWidth)])
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make, error, match", [
    (lambda: RandomBrightness(1.5), ValueError, "factor"),
    (lambda: RandomBrightness(0.1, value_range=(1, 0)), ValueError, "value_range"),
    (lambda: RandomBrightness("big"), ValueError, "factor"),
    (lambda: RandomHeight(-1.0), ValueError, "greater than -1"),
    (lambda: RandomWidth(0.2, interpolation="cubic"), ValueError, "interpolation"),
    (lambda: RandomHeight(0.2, seed="x"), TypeError, "seed"),
])
def test_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_in_fit_and_convnp_file(tmp_path):
    tf.keras.utils.set_random_seed(0)
    L = tf.keras.layers
    model = tf.keras.Sequential([
        tf.keras.Input((8, 8, 3)), RandomHeight(0.3), RandomWidth(0.3),
        RandomBrightness(0.2), L.Rescaling(1 / 255), L.Conv2D(2, 3),
        L.GlobalAveragePooling2D(), L.Dense(1)])
    model.compile("sgd", "mse")
    x = images((4, 8, 8, 3))
    model.fit(x, np.zeros((4, 1), "float32"), epochs=2, batch_size=2, verbose=0)
    loaded = check_file_round_trip(model, x, tmp_path / "aug.convnp")
    assert [c.get_config()["factor"] for c in loaded.layers[:3]] == [0.3, 0.3, 0.2]


def test_invert_and_grayscale():
    from convnp.layers import RandomGrayscale, RandomInvert

    x = images((4, 3, 3, 3))
    np.testing.assert_allclose(RandomInvert((1.0, 1.0), value_range=(10, 20))(x), 20 - x)
    np.testing.assert_array_equal(RandomInvert(0.0)(x), x)
    np.testing.assert_array_equal(RandomInvert()(x, training=False), x)
    grey = np.asarray(RandomGrayscale(1.0)(x))
    luma = x @ np.array([0.2989, 0.5870, 0.1140], dtype="float32")
    np.testing.assert_allclose(grey, np.repeat(luma[..., None], 3, axis=-1), rtol=1e-6)
    np.testing.assert_array_equal(RandomGrayscale(0.0)(x), x)
    tf.keras.utils.set_random_seed(0)
    some = np.asarray(RandomGrayscale(0.5)(images((40, 2, 2, 3))))
    grey_images = np.all(np.ptp(some, axis=-1) < 1e-3, axis=(1, 2))
    assert 5 < grey_images.sum() < 35
    for make in (lambda: RandomInvert(1.5), lambda: RandomGrayscale(-0.1),
                 lambda: RandomInvert(0.5, value_range=(3, 3))):
        with pytest.raises(ValueError):
            make()
    with pytest.raises(ValueError, match="3 or 1 channels"):  # greyscale passes, as Keras
        RandomGrayscale()(np.ones((1, 2, 2, 4), "float32"))
    for layer in (RandomInvert((1.0, 1.0), dtype="float64"),
                  RandomGrayscale(1.0, dtype="float64")):
        check_gradients(layer, np.random.default_rng(2).standard_normal((2, 3, 3, 3)))
    check_layer(RandomGrayscale, {"factor": 0.5, "seed": 1}, (2, 3, 3, 3), (2, 3, 3, 3), 0,
                training=False)
