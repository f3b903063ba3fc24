"""Keras 3's colour augmentations (layers/augmentation_color.py): Keras parity on the
deterministic cases of tests/fixtures/xaug_parity.npz, inference identity, value range and
dtype, repeatability, gradients (or their documented absence), configs, refusals and fit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import convnp as tf
from convnp.layers import augmentation_color as color
from tests.layers.harness import check_file_round_trip, check_gradients, check_layer

FIXTURE = Path(__file__).parents[1] / "fixtures" / "xaug_parity.npz"
CASES = ["degen_fixed", "degen_given", "hue_given", "hue_unit", "saturation_given", "saturation_unit", "solarize_default", "solarize_given", "solarize_unit", "posterize_fixed", "posterize_given", "autocontrast", "autocontrast_unit", "equalize", "equalize_bins", "sharpness_given", "sharpness_unit"]


def images(shape=(3, 5, 6, 3), top=255.0, seed=0, dtype="float32"):
    return (np.random.default_rng(seed).random(shape) * top).astype(dtype)


#: case-name prefix -> layer class name in xaug_parity.npz
PREFIXES = {"degen": "RandomColorDegeneration", "hue": "RandomHue",
            "saturation": "RandomSaturation", "solarize": "Solarization",
            "posterize": "RandomPosterization", "autocontrast": "AutoContrast",
            "equalize": "Equalization", "sharpness": "RandomSharpness",
            "blur": "RandomGaussianBlur", "jitter": "RandomColorJitter", "shear": "RandomShear", "erasing": "RandomErasing",
            "perspective": "RandomPerspective"}


def check_keras_case(name):
    """Run case ``name`` of xaug_parity.npz: the layer called in training, or its ``apply``
    with Keras' transformation dict; compare with Keras' output."""
    with np.load(FIXTURE, allow_pickle=False) as z:
        x, expected = z[f"{name}/x"], z[f"{name}/y"]
        config = json.loads(str(z[f"{name}/config"]))
        transformation = {key.split("/")[-1]: z[key] for key in z.files
                          if key.startswith(f"{name}/t/")}
    layer = getattr(tf.keras.layers, PREFIXES[name.split("_")[0]])(**config)
    if transformation:
        y, _ = layer.apply(x, {k: v.reshape(-1) if v.ndim == 4 and v.shape[1:] == (1, 1, 1)
                               else v for k, v in transformation.items()})
    else:
        y = np.asarray(layer(x, training=True))
    top = config.get("value_range", [0, 255])[1]
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=2e-5 * top)
    assert y.dtype == np.float32


@pytest.mark.parametrize("name", CASES)
def test_keras_parity(name):
    check_keras_case(name)


LAYERS = [
    (color.RandomColorDegeneration, {"factor": 0.5}),
    (color.RandomHue, {"factor": 0.5}),
    (color.RandomSaturation, {"factor": 0.5}),
    (color.Solarization, {"addition_factor": 0.2, "threshold_factor": 0.7}),
    (color.RandomPosterization, {"factor": 6}),
    (color.Equalization, {}),
    (color.RandomSharpness, {"factor": 0.8}),
    (color.RandomGaussianBlur, {"factor": (1.0, 1.0), "kernel_size": 5}),
    (color.RandomColorJitter, {"brightness_factor": 0.2, "contrast_factor": 0.3,
                               "saturation_factor": 0.4, "hue_factor": 0.2}),
]


@pytest.mark.parametrize("cls, kwargs", LAYERS)
def test_training_only_range_dtype_and_seeds(cls, kwargs):
    x = images()
    layer = cls(**kwargs)
    np.testing.assert_array_equal(layer(x, training=False), x)
    y = np.asarray(layer(x))
    assert y.dtype == np.float32 and y.shape == x.shape
    assert y.min() >= -1e-3 and y.max() <= 255 + 1e-3
    assert not np.array_equal(y, x)
    unit = np.asarray(cls(value_range=(0, 1), **kwargs)(x / 255))
    assert unit.min() >= -1e-6 and unit.max() <= 1 + 1e-6
    y64 = np.asarray(cls(dtype="float64", **kwargs)(x.astype("float64")))
    assert y64.dtype == np.float64
    if cls is color.Equalization:
        return  # nothing is drawn
    runs = []
    for _ in range(2):
        tf.keras.utils.set_random_seed(5)
        runs.append(np.asarray(cls(**kwargs)(x)))
    np.testing.assert_array_equal(*runs)
    seeded = [np.asarray(cls(seed=3, **kwargs)(x)) for _ in range(2)]
    np.testing.assert_array_equal(*seeded)
    assert cls(seed=3, **kwargs).get_config()["seed"] == 3


@pytest.mark.parametrize("cls, kwargs", LAYERS + [(color.AutoContrast, {})])
def test_config_round_trip(cls, kwargs):
    layer = cls(**kwargs)
    config = json.loads(json.dumps(layer.get_config()))
    clone = cls.from_config(config)
    assert json.dumps(clone.get_config()) == json.dumps(layer.get_config())
    restored = tf.keras.layers.deserialize(tf.keras.layers.serialize(layer))
    assert type(restored) is cls


@pytest.mark.parametrize("layer, top", [
    (color.RandomColorDegeneration((-0.7, 0.9), value_range=(-10, 10), dtype="float64"), 10),
    (color.Solarization(0.3, 0.8, value_range=(-1, 1), dtype="float64"), 1),
    (color.RandomSharpness((0.1, 0.9), value_range=(-10, 10), dtype="float64"), 10),
    (color.RandomGaussianBlur(0.8, (3, 5), value_range=(-10, 10), dtype="float64"), 10),
    (color.RandomColorJitter((-10, 10), brightness_factor=0.1, contrast_factor=0.4,
                             dtype="float64"), 10),
])
def test_gradients(layer, top):
    x = np.random.default_rng(3).uniform(-0.8, 0.8, (2, 4, 5, 3)) * top
    check_gradients(layer, x, before_forward=lambda: tf.keras.utils.set_random_seed(11))


def test_autocontrast_values_and_gradient():
    x = images((2, 4, 5, 2), top=100.0) + 50
    x[1, ..., 0] = 7.0  # a constant channel is kept
    y = np.asarray(color.AutoContrast()(x))
    np.testing.assert_array_equal(y[1, ..., 0], x[1, ..., 0])
    np.testing.assert_allclose(y[0].min(axis=(0, 1)), 0, atol=1e-4)
    np.testing.assert_allclose(y[0].max(axis=(0, 1)), 255, rtol=1e-6)
    # applied at inference too, as Keras does
    np.testing.assert_array_equal(color.AutoContrast()(x, training=False), y)
    check_layer(color.AutoContrast, {}, (2, 4, 5, 3), (2, 4, 5, 3), 0)
    x64 = np.random.default_rng(4).standard_normal((2, 4, 4, 2))
    # (a constant channel is kept, but not differentiably: any change stretches it)
    check_gradients(color.AutoContrast(value_range=(-1, 1), dtype="float64"), x64)


@pytest.mark.parametrize("cls, kwargs", [
    (color.RandomHue, {"factor": 0.5}), (color.RandomSaturation, {"factor": 0.5}),
    (color.RandomPosterization, {"factor": 4}), (color.Equalization, {}),
    (color.RandomColorJitter, {"brightness_factor": 0.2, "hue_factor": 0.1})])
def test_no_gradient(cls, kwargs):
    layer = cls(**kwargs)
    layer(images())
    with pytest.raises(LookupError, match="no gradient"):
        layer.backward(np.ones((3, 5, 6, 3), "float32"))


def test_fixed_factor_meanings():
    x = images()
    np.testing.assert_allclose(color.RandomSaturation((0.5, 0.5))(x), x, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(color.RandomSharpness((0.5, 0.5))(x), x, rtol=1e-6)
    np.testing.assert_allclose(color.RandomHue((0.0, 0.0))(x), x, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(color.Solarization()(x), 255 - x, rtol=1e-6)
    grey = np.asarray(color.RandomColorDegeneration((1.0, 1.0))(x))
    assert np.ptp(grey, axis=-1).max() < 1e-3
    np.testing.assert_array_equal(color.RandomPosterization((8, 8))(x), np.floor(x))
    assert set(np.unique(np.asarray(color.RandomPosterization((1, 1))(x))).tolist()) <= {0.0, 128.0}
    assert color.RandomHue(0.3).factor == (0.0, 0.3)
    assert color.RandomSaturation(0.3).factor == (-0.3, 0.3)  # Keras' bounds (-1, 1)
    assert color.RandomPosterization(5).factor == (1, 5)


@pytest.mark.parametrize("make, error, match", [
    (lambda: color.RandomHue(1.5), ValueError, "factor"),
    (lambda: color.RandomHue((-0.2, 0.5)), ValueError, "factor"),
    (lambda: color.RandomSaturation("a"), ValueError, "factor"),
    (lambda: color.RandomSharpness(0.5, value_range=(1, 1)), ValueError, "value_range"),
    (lambda: color.RandomSharpness(0.5, value_range=5), ValueError, "value_range"),
    (lambda: color.Solarization(addition_factor=2), ValueError, "addition_factor"),
    (lambda: color.Solarization(threshold_factor=(0.1, 0.2, 0.3)), ValueError,
     "threshold_factor"),
    (lambda: color.RandomPosterization(9), ValueError, "factor"),
    (lambda: color.RandomPosterization(2.5), ValueError, "bits"),
    (lambda: color.Equalization(bins=1), ValueError, "bins"),
    (lambda: color.RandomGaussianBlur(kernel_size=4), ValueError, "kernel_size"),
    (lambda: color.RandomGaussianBlur(kernel_size=(3, 5, 7)), ValueError, "kernel_size"),
    (lambda: color.RandomGaussianBlur(sigma=2.0), ValueError, "sigma"),
    (lambda: color.AutoContrast(value_range=(0, 1, 2)), ValueError, "value_range"),
    (lambda: color.RandomHue(0.2, seed="x"), TypeError, "seed"),
    (lambda: color.RandomColorJitter(brightness_factor=2.0), ValueError, "RandomBrightness"),
    (lambda: color.RandomColorJitter(hue_factor=(0.1, 2)), ValueError, "RandomHue"),
    (lambda: color.RandomHue(0.2, data_format="channels_first"), ValueError, "channels"),
])
def test_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_rgb_only():
    for cls in (color.RandomHue, color.RandomSaturation):
        with pytest.raises(ValueError, match="3 channels"):
            cls(0.2)(np.ones((1, 2, 2, 1), "float32"))
    # Keras' colour degeneration takes greyscale images (their grey is themselves), not 4
    with pytest.raises(ValueError, match="3 or 1 channels"):
        color.RandomColorDegeneration(0.2)(np.ones((1, 2, 2, 4), "float32"))


def check_in_model(augmentations, tmp_path, training_only: int, size: int = 6):
    """``augmentations`` then a small head in a Sequential: fit runs (finite losses),
    predict equals the model without the first ``training_only`` layers, and the model
    survives .convnp and .keras round trips."""
    L = tf.keras.layers
    model = tf.keras.Sequential([tf.keras.Input((size, size, 3)), *augmentations,
                                 L.Rescaling(1 / 255), L.Conv2D(2, 3),
                                 L.GlobalAveragePooling2D(), L.Dense(1)])
    model.compile("sgd", "mse")
    x = images((4, size, size, 3))
    history = model.fit(x, np.zeros((4, 1), "float32"), epochs=2, batch_size=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    head = tf.keras.Sequential(model.layers[training_only:])
    np.testing.assert_allclose(model.predict(x, verbose=0), head.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    check_file_round_trip(model, x, tmp_path / "augmented.convnp")
    pytest.importorskip("h5py")
    model.save(tmp_path / "augmented.keras")
    loaded = tf.keras.models.load_model(tmp_path / "augmented.keras")
    for a, b in zip(loaded.layers[:len(augmentations)], augmentations):
        assert json.dumps(a.get_config()) == json.dumps(b.get_config())
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_all_new_layers_in_fit_predict_and_convnp_file(tmp_path):
    tf.keras.utils.set_random_seed(0)
    L = tf.keras.layers
    # predict skips the training-only layers: the same as AutoContrast then the head
    check_in_model([
        L.RandomColorDegeneration(0.3), L.RandomHue(0.2), L.RandomSaturation(0.3),
        L.Solarization(0.1, 0.9), L.RandomPosterization(7), L.Equalization(),
        L.RandomSharpness(0.4), L.RandomGaussianBlur(),
        L.RandomColorJitter(brightness_factor=0.1, hue_factor=0.1), L.RandomShear(0.2, 0.2),
        L.RandomErasing(), L.RandomPerspective(scale=0.3), L.MixUp(), L.CutMix(),
        L.AutoContrast()], tmp_path, training_only=14)
