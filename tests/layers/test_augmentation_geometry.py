"""RandomShear and RandomErasing (layers/augmentation_geometry.py): Keras parity on
xaug_parity.npz, training-only behaviour, seeds, gradients, configs, refusals and fit."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convnp as tf
from convnp.layers.augmentation_geometry import (
    RandomErasing,
    RandomPerspective,
    RandomShear,
    erase_masks,
    homography,
)
from tests.layers.harness import check_gradients
from tests.layers.test_augmentation_color import FIXTURE, check_keras_case, images


@pytest.mark.parametrize("name", ["shear_given", "shear_nearest", "erasing_given",
                                  "perspective_given", "perspective_nearest"])
def test_keras_parity(name):
    check_keras_case(name)


def test_erase_masks_match_keras():
    with np.load(FIXTURE, allow_pickle=False) as z:
        shape, corners, expected = (tuple(z["erase_mask/shape"]), z["erase_mask/corners"],
                                    z["erase_mask/mask"])
    mask = erase_masks(shape, *corners.T)
    np.testing.assert_array_equal(np.broadcast_to(mask, shape), expected)


@pytest.mark.parametrize("cls, kwargs", [
    (RandomShear, {"x_factor": 0.4, "y_factor": 0.3}),
    (RandomErasing, {"factor": (1.0, 1.0), "scale": (0.2, 0.5), "fill_value": 7.0}),
    (RandomErasing, {}),
    (RandomPerspective, {"factor": (1.0, 1.0), "scale": 0.5}),
])
def test_training_only_seeds_and_config(cls, kwargs):
    x = images((3, 8, 9, 3))
    layer = cls(**kwargs)
    np.testing.assert_array_equal(layer(x, training=False), x)
    y = np.asarray(layer(x))
    assert y.dtype == np.float32 and y.shape == x.shape and not np.array_equal(y, x)
    assert y.min() >= 0 and y.max() <= 255 + 1e-3
    runs = []
    for _ in range(2):
        tf.keras.utils.set_random_seed(8)
        runs.append(np.asarray(cls(**kwargs)(x)))
    np.testing.assert_array_equal(*runs)
    np.testing.assert_array_equal(cls(seed=2, **kwargs)(x), cls(seed=2, **kwargs)(x))
    config = json.loads(json.dumps(layer.get_config()))
    assert json.dumps(cls.from_config(config).get_config()) == json.dumps(layer.get_config())
    assert type(tf.keras.layers.deserialize(tf.keras.layers.serialize(layer))) is cls


def test_erasing_values():
    x = images((6, 8, 8, 3))
    y = np.asarray(RandomErasing((1.0, 1.0), scale=(0.25, 0.25), fill_value=[1, 2, 3])(x))
    changed = np.any(y != x, axis=-1)
    assert changed.sum(axis=(1, 2)).tolist() == [16] * 6  # 4 x 4 rectangles (sqrt 0.25)
    np.testing.assert_array_equal(y[changed], np.tile([1, 2, 3], (96, 1)))
    np.testing.assert_array_equal(RandomErasing(0.0)(x), x)
    noisy = np.asarray(RandomErasing((1.0, 1.0), value_range=(0, 1))(x / 255))
    assert noisy.min() >= 0 and noisy.max() <= 1


def test_shear_values():
    x = images((2, 6, 7, 1))
    assert RandomShear(0.5).x_factor == (-0.5, 0.5) and RandomShear().y_factor == (0.0, 0.0)
    # the config keeps the number (Keras' own (-f, f) is refused by Keras; convnp reads both)
    assert RandomShear(0.5).get_config()["x_factor"] == 0.5
    assert RandomShear((-0.5, 0.5)).x_factor == (-0.5, 0.5)
    np.testing.assert_allclose(RandomShear()(x), x, atol=1e-4)  # zero shear
    layer = RandomShear(interpolation="nearest", fill_mode="constant")
    # x_factor 1: row r samples r columns to the right
    y, _ = layer.apply(x, {"shear_factor": np.array([[1.0, 0.0], [1.0, 0.0]])})
    for r in range(6):
        np.testing.assert_array_equal(y[:, r, :7 - r], x[:, r, r:])
        assert not y[:, r, 7 - r:].any()


@pytest.mark.parametrize("layer", [
    RandomShear(0.4, 0.3, dtype="float64"),
    RandomShear(0.4, fill_mode="constant", dtype="float64"),
    RandomErasing((1.0, 1.0), scale=(0.1, 0.4), value_range=(-5, 5), dtype="float64"),
    RandomPerspective(0.8, scale=0.4, fill_value=0.5, dtype="float64"),
])
def test_gradients(layer):
    x = np.random.default_rng(5).standard_normal((2, 5, 6, 2))
    check_gradients(layer, x, before_forward=lambda: tf.keras.utils.set_random_seed(13))


@pytest.mark.parametrize("make, error, match", [
    (lambda: RandomShear(1.5), ValueError, "x_factor"),
    (lambda: RandomShear(0.2, y_factor=(-1.5, 0.2)), ValueError, "y_factor"),
    (lambda: RandomShear(0.2, fill_mode="mirror"), ValueError, "fill_mode"),
    (lambda: RandomShear(0.2, interpolation="cubic"), ValueError, "interpolation"),
    (lambda: RandomErasing(scale=(0.1, 2.0)), ValueError, "scale"),
    (lambda: RandomPerspective(scale=1.5), ValueError, "scale"),
    (lambda: RandomPerspective(factor=-0.5), ValueError, "factor"),
    (lambda: RandomPerspective(interpolation="bicubic"), ValueError, "interpolation"),
    (lambda: RandomErasing(fill_value=(1, 2)), ValueError, "fill_value"),
    (lambda: RandomErasing(fill_value="x"), (TypeError, ValueError), "fill_value"),
    (lambda: RandomErasing(value_range=(2, 1)), ValueError, "value_range"),
])
def test_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_perspective_values():
    x = images((2, 6, 7, 2))
    np.testing.assert_allclose(RandomPerspective(scale=0.0)(x), x, atol=1e-3)  # no move
    np.testing.assert_array_equal(RandomPerspective(factor=0.0)(x), x)
    start = np.tile([[0.0, 0.0], [6, 0], [0, 5], [6, 5]], (1, 1, 1))
    end = np.array([[[0.0, 0.0], [5.0, 1.0], [1.0, 4.0], [7.0, 6.0]]])
    t = homography(start, end)[0]
    for (sx, sy), (ex, ey) in zip(start[0], end[0]):
        k = t[6] * ex + t[7] * ey + 1
        np.testing.assert_allclose([(t[0] * ex + t[1] * ey + t[2]) / k,
                                    (t[3] * ex + t[4] * ey + t[5]) / k], [sx, sy], atol=1e-9)
    # a pure shift of the corners is a translation: nearest sampling moves pixels
    shifted = np.array([[[1.0, 0.0], [7.0, 0.0], [1.0, 5.0], [7.0, 5.0]]])
    y, _ = RandomPerspective(interpolation="nearest").apply(
        x[:1], {"apply_perspective": [True], "start_points": start, "end_points": shifted})
    np.testing.assert_array_equal(y[0, :, 1:], x[0, :, :-1])
    assert not y[0, :, 0].any()
