"""Preprocessing and augmentation layers: Keras semantics (inference identity, direct calls
augment, attributes the course grader reads), exact geometry on known cases, fast resampling
against the reference loops (hypothesis), float64 gradients, repeatability, use inside fit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import convnp as tf
from convnp.layers import (
    CenterCrop,
    RandomContrast,
    RandomCrop,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
    Rescaling,
    Resizing,
)
from convnp.ops import image as image_ops
from convnp.ops import reference
from tests.layers.harness import check_gradients, check_layer

L = tf.keras.layers
RANDOM = [
    (RandomFlip, {}),
    (RandomFlip, {"mode": "vertical"}),
    (RandomRotation, {"factor": 0.2}),
    (RandomRotation, {"factor": (-0.1, 0.3), "fill_mode": "constant", "fill_value": 1.0,
                      "interpolation": "nearest"}),
    (RandomZoom, {"height_factor": 0.3}),
    (RandomZoom, {"height_factor": (-0.2, 0.1), "width_factor": 0.2, "fill_mode": "wrap"}),
    (RandomTranslation, {"height_factor": 0.2, "width_factor": (-0.1, 0.3),
                         "fill_mode": "nearest"}),
    (RandomContrast, {"factor": 0.5, "value_range": (-10, 10)}),
]


def images(shape=(3, 6, 7, 2), seed=0, dtype="float32"):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("cls, kwargs", RANDOM)
def test_random_layers_check_layer_and_inference_identity(cls, kwargs):
    layer = check_layer(cls, kwargs, (3, 6, 7, 2), (3, 6, 7, 2), 0)
    x = images()
    np.testing.assert_array_equal(layer(x, training=False), x)
    assert layer.backward(np.ones_like(x)).shape == x.shape


def test_direct_call_augments_as_keras_and_predict_does_not():
    tf.keras.utils.set_random_seed(1)
    x = images((8, 5, 5, 1))
    flip = RandomFlip()
    assert not np.array_equal(flip(x), x)  # training defaults to True on a direct call
    model = tf.keras.Sequential([tf.keras.Input((5, 5, 1)), RandomFlip(), RandomRotation(0.3)])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)


def test_names_and_attributes_the_course_grader_reads():
    tf.keras.backend.clear_session()
    augmenter = tf.keras.Sequential([
        tf.keras.layers.experimental.preprocessing.RandomFlip("horizontal"),
        tf.keras.layers.experimental.preprocessing.RandomRotation(0.2),
    ])
    assert augmenter.layers[0].name.startswith("random_flip")
    assert augmenter.layers[0].mode == "horizontal"
    assert augmenter.layers[1].name.startswith("random_rotation")
    assert augmenter.layers[1].factor == 0.2
    assert L.experimental.preprocessing.Rescaling is Rescaling
    assert RandomFlip().name == "random_flip_1"  # Keras' automatic names


def test_repeatable_under_set_random_seed_and_own_seed():
    x = images((6, 6, 6, 3))
    outs = []
    for _ in range(2):
        tf.keras.utils.set_random_seed(7)
        outs.append([np.asarray(cls(**kwargs)(x)) for cls, kwargs in RANDOM])
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)
    a = RandomRotation(0.3, seed=5)(x)
    b = RandomRotation(0.3, seed=5)(x)
    np.testing.assert_array_equal(a, b)


def test_each_image_gets_its_own_flip():
    tf.keras.utils.set_random_seed(0)
    x = images((32, 4, 5, 1))
    y = np.asarray(RandomFlip("horizontal")(x))
    flipped = [np.array_equal(y[i], x[i, :, ::-1]) for i in range(32)]
    kept = [np.array_equal(y[i], x[i]) for i in range(32)]
    assert all(f or k for f, k in zip(flipped, kept))
    assert 4 < sum(flipped) < 28
    y = np.asarray(RandomFlip("horizontal_and_vertical")(x))
    options = lambda a: [a, a[::-1], a[:, ::-1], a[::-1, ::-1]]
    assert all(any(np.array_equal(y[i], o) for o in options(x[i])) for i in range(32))


def test_rotation_by_a_quarter_turn_is_rot90():
    x = images((2, 5, 5, 3))
    y = RandomRotation((0.25, 0.25))(x)
    np.testing.assert_allclose(y, np.rot90(x, 1, axes=(1, 2)), atol=1e-5)


def test_translation_and_zoom_known_cases():
    x = images((2, 8, 8, 1))
    y = np.asarray(RandomTranslation((0.25, 0.25), (0.125, 0.125), fill_mode="constant")(x))
    np.testing.assert_allclose(y[:, 2:, 1:], x[:, :-2, :-1], atol=1e-6)  # down 2, right 1
    assert not y[:, :2].any() and not y[:, :, :1].any()
    np.testing.assert_allclose(RandomZoom((0.0, 0.0))(x), x, atol=1e-6)
    # zooming in 3x about the center (1.5, 1.5) of a 4x4 image: output corners 0 and 3 read
    # input rows/columns 0 / 3 + 1 = 1 and 3 / 3 + 1 = 2
    small = images((1, 4, 4, 1))
    zoomed = np.asarray(RandomZoom((-2 / 3, -2 / 3), fill_mode="constant")(small))
    np.testing.assert_allclose(zoomed[0, ::3, ::3], small[0, 1:3, 1:3], atol=1e-6)


def test_contrast_scales_about_the_mean_and_clips():
    x = np.random.default_rng(0).uniform(0, 255, (4, 5, 5, 3)).astype("float32")
    y = np.asarray(RandomContrast((0.0, 0.0))(x))
    np.testing.assert_allclose(y, x, rtol=1e-5, atol=1e-3)
    y = np.asarray(RandomContrast((0.0, 1.0))(x))
    assert y.min() >= 0 and y.max() <= 255
    np.testing.assert_allclose(y.mean(axis=(1, 2))[y.max(axis=(1, 2)) < 255],
                               x.mean(axis=(1, 2))[y.max(axis=(1, 2)) < 255], rtol=1e-3)


def test_random_crop_training_windows_small_images_and_inference():
    x = images((5, 9, 8, 2))
    layer = RandomCrop(4, 3)
    y = np.asarray(layer(x))
    assert y.shape == (5, 4, 3, 2)
    for i in range(5):
        assert any(np.array_equal(y[i], x[i, r:r + 4, c:c + 3])
                   for r in range(6) for c in range(6))
    np.testing.assert_array_equal(layer(x, training=False), x)  # Keras 3: identity
    # an image not larger than the window: aspect-ratio crop, then resize
    big = np.asarray(RandomCrop(12, 6)(x))
    top, left, h, w = image_ops.aspect_crop_box(9, 8, 12, 6)
    np.testing.assert_allclose(big, reference.resize_bilinear(
        x[:, top:top + h, left:left + w], 12, 6), atol=1e-5)


@pytest.mark.parametrize("cls, kwargs, in_shape, out_shape", [
    (Rescaling, {"scale": 1 / 255}, (2, 4, 5, 3), (2, 4, 5, 3)),
    (Rescaling, {"scale": 1 / 127.5, "offset": -1}, (2, 7), (2, 7)),
    (Resizing, {"height": 3, "width": 7}, (2, 6, 5, 3), (2, 3, 7, 3)),
    (Resizing, {"height": 4, "width": 4, "interpolation": "nearest",
                "crop_to_aspect_ratio": True}, (2, 6, 9, 1), (2, 4, 4, 1)),
    (CenterCrop, {"height": 3, "width": 4}, (2, 6, 7, 2), (2, 3, 4, 2)),
    (CenterCrop, {"height": 8, "width": 4}, (2, 6, 7, 2), (2, 8, 4, 2)),
    (RandomCrop, {"height": 3, "width": 4}, (2, 6, 7, 2), (2, 3, 4, 2)),
])
def test_deterministic_layers(cls, kwargs, in_shape, out_shape):
    check_layer(cls, kwargs, in_shape, out_shape, 0)


def test_deterministic_values():
    x = images((2, 6, 7, 2))
    np.testing.assert_allclose(Rescaling(0.5, offset=1)(x), x * 0.5 + 1)
    np.testing.assert_array_equal(CenterCrop(3, 4)(x), x[:, 1:4, 1:5])
    np.testing.assert_allclose(Resizing(3, 9)(x), reference.resize_bilinear(x, 3, 9),
                               atol=1e-5)
    np.testing.assert_allclose(Resizing(6, 7)(x), x, atol=1e-6)
    # one image (no batch axis) works too
    assert tuple(Resizing(3, 3)(x[0]).shape) == (3, 3, 2)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 7), st.integers(1, 7), st.integers(1, 9), st.integers(1, 9),
       st.sampled_from(["reflect", "wrap", "constant", "nearest"]),
       st.sampled_from(["bilinear", "nearest"]), st.integers(0, 2**16))
def test_affine_fast_matches_reference(n_H, n_W, out_h, out_w, fill_mode, interpolation, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, n_H, n_W, 2))
    transforms = np.zeros((2, 8))
    transforms[:, :6] = rng.uniform(-2, 2, (2, 6))
    transforms[:, [2, 5]] *= 3
    plan = image_ops.affine_plan(x.shape, transforms, interpolation, fill_mode)
    np.testing.assert_allclose(image_ops.affine_apply(x, plan, 0.5),
                               reference.affine_transform(x, transforms, interpolation,
                                                          fill_mode, 0.5), atol=1e-10)
    resized, _ = image_ops.resize(x, (out_h, out_w))
    np.testing.assert_allclose(resized, reference.resize_bilinear(x, out_h, out_w), atol=1e-10)


@pytest.mark.parametrize("cls, kwargs", RANDOM + [
    (Resizing, {"height": 4, "width": 9}),
    (Resizing, {"height": 3, "width": 3, "crop_to_aspect_ratio": True}),
    (CenterCrop, {"height": 3, "width": 2}),
    (CenterCrop, {"height": 8, "width": 3}),
    (RandomCrop, {"height": 3, "width": 4}),
    (Rescaling, {"scale": 0.5, "offset": 2}),
])
def test_gradients(cls, kwargs):
    layer = cls(dtype="float64", **kwargs)
    x = np.random.default_rng(3).standard_normal((2, 5, 6, 2))
    check_gradients(layer, x, before_forward=lambda: tf.keras.utils.set_random_seed(11))


def test_augmentation_inside_fit():
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([
        tf.keras.Input((8, 8, 3)), L.Rescaling(1 / 255), L.RandomFlip("horizontal"),
        L.RandomRotation(0.1), L.RandomZoom(0.1), L.Conv2D(2, 3), L.Flatten(),
        L.Dense(1, activation="sigmoid"),
    ])
    model.compile("adam", "binary_crossentropy")
    x = np.random.default_rng(0).uniform(0, 255, (16, 8, 8, 3)).astype("float32")
    y = (np.arange(16) % 2).astype("float32").reshape(-1, 1)
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    p1, p2 = model.predict(x, verbose=0), model.predict(x, verbose=0)
    np.testing.assert_array_equal(p1, p2)  # inference is deterministic


@pytest.mark.parametrize("make, error, match", [
    (lambda: RandomFlip("diagonal"), ValueError, "mode"),
    (lambda: RandomRotation("a lot"), ValueError, "factor"),
    (lambda: RandomRotation(0.2, fill_mode="mirror"), ValueError, "fill_mode"),
    (lambda: RandomRotation(0.2, interpolation="bicubic"), ValueError, "interpolation"),
    (lambda: RandomZoom((0.3, 0.1)), ValueError, "lower <= upper"),
    (lambda: RandomContrast(1.5), ValueError, "factor"),
    (lambda: RandomContrast(0.2, value_range=(1, 0)), ValueError, "value_range"),
    (lambda: RandomCrop(0, 3), ValueError, "height"),
    (lambda: RandomFlip(seed=1.5), TypeError, "seed"),
    (lambda: Resizing(3, 3, interpolation="gaussian"), ValueError, "interpolation"),
    (lambda: Resizing(3, 3, pad_to_aspect_ratio=True, crop_to_aspect_ratio=True), ValueError,
     "only one of"),
    (lambda: Resizing(3, 3, pad_to_aspect_ratio=True, fill_mode="reflect"), ValueError,
     "fill_mode"),
    (lambda: Rescaling("1/255"), TypeError, "scale"),
    (lambda: CenterCrop(3, 3, data_format="channels_first"), ValueError, "channels_last"),
])
def test_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_bad_input_rank():
    with pytest.raises(ValueError, match="height, width"):
        RandomFlip()(np.zeros((3, 4), dtype="float32"))


def test_convnp_file_round_trip(tmp_path):
    from convnp import saving

    tf.keras.utils.set_random_seed(2)
    model = tf.keras.Sequential([
        tf.keras.Input((9, 8, 3)), L.Rescaling(1 / 127.5, offset=-1), L.RandomFlip("vertical"),
        L.RandomRotation((-0.1, 0.2), fill_mode="constant", seed=3), L.RandomZoom(0.1, 0.2),
        L.RandomTranslation(0.1, 0.1), L.RandomContrast(0.2, value_range=(-1, 1)),
        L.RandomCrop(8, 8), L.Resizing(6, 6, crop_to_aspect_ratio=True), L.CenterCrop(5, 5),
        L.SeparableConv2D(4, 3, padding="same", depth_multiplier=2, activation="relu"),
        L.ReLU(6.0), L.GlobalAveragePooling2D(),
    ])
    x = np.random.default_rng(0).uniform(0, 255, (4, 9, 8, 3)).astype("float32")
    path = tmp_path / "pre.convnp"
    saving.save_model(model, path)
    loaded = saving.load_model(path)
    assert [layer.get_config() for layer in loaded.layers] == \
        [layer.get_config() for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_resizing_pads_to_the_aspect_ratio_as_keras():
    # Keras 3.15.1's Resizing(..., pad_to_aspect_ratio=True) on these inputs (printed values)
    x = np.arange(2 * 4 * 6 * 1, dtype="float32").reshape(2, 4, 6, 1)
    layer = Resizing(4, 4, pad_to_aspect_ratio=True, fill_value=-1.0)
    np.testing.assert_allclose(layer(x)[0, :, :, 0], [
        [-0.6875, -0.3125, 0.0625, 0.4375], [4.75, 6.25, 7.75, 9.25],
        [13.75, 15.25, 16.75, 18.25], [3.8125, 4.1875, 4.5625, 4.9375]], rtol=1e-6)
    np.testing.assert_allclose(Resizing(5, 3, pad_to_aspect_ratio=True)(x)[1, :, :, 0], [
        [0.0, 0.0, 0.0], [12.25, 13.25, 14.25], [33.5, 35.5, 37.5], [21.25, 22.25, 23.25],
        [0.0, 0.0, 0.0]], rtol=1e-6)
    config = layer.get_config()
    assert (config["pad_to_aspect_ratio"], config["fill_value"]) == (True, -1.0)
    assert Resizing.from_config(config).pad_to_aspect_ratio
    # backward: the resize's transpose, the padding bands dropped
    import convnp as tf

    t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(t)
        total = tf.reduce_sum(layer(t) * tf.constant(np.arange(32.0).reshape(2, 4, 4, 1)))
    grad = np.asarray(tape.gradient(total, t))
    eps, base = 1e-2, x.astype(np.float64)
    for index in [(0, 0, 0, 0), (1, 3, 5, 0), (0, 2, 3, 0)]:
        up, down = base.copy(), base.copy()
        up[index] += eps
        down[index] -= eps
        f = [float(np.sum(np.asarray(layer(v.astype("float32"))) * np.arange(32.0).reshape(
            2, 4, 4, 1))) for v in (up, down)]
        assert grad[index] == pytest.approx((f[0] - f[1]) / (2 * eps), rel=1e-3)
