"""tf.image.resize's methods beyond bilinear/nearest ('bicubic', 'area', 'lanczos3', 'lanczos5',
'gaussian', 'mitchellcubic') and antialias=True, up- and downscaling at several sizes: values
and tape gradients against TensorFlow 2.21's numbers in ``tests/fixtures/tensor_extras.npz``
(``make_tensor_extras.py``; TensorFlow has no gradient for 'area', so that one is checked by
central differences only), preserve_aspect_ratio's sizes, and keras.ops.image.resize."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import convnp as tf
from convnp import keras
from tests.tensor import gradcheck

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tensor_extras.npz"


@pytest.fixture(scope="module")
def golden():
    with np.load(FIXTURE, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _cases() -> list[str]:
    with np.load(FIXTURE, allow_pickle=False) as z:
        return sorted({k.rsplit("/", 1)[0] for k in z.files if k.startswith("resize/")})


def _parse(case: str):
    _, method, antialias, sizes = case.split("/")
    new_h, new_w = (int(v) for v in sizes.split("to")[1].split("x"))
    return method, bool(int(antialias)), (new_h, new_w)


@pytest.mark.parametrize("case", _cases())
def test_values_and_gradients_match_tensorflow(case, golden):
    method, antialias, size = _parse(case)
    x = tf.constant(golden[f"{case}/x"])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.image.resize(x, size, method=method, antialias=antialias)
        s = tf.reduce_sum(y * golden[f"{case}/r"])
    assert y.dtype == np.float32
    assert y.shape == golden[f"{case}/y"].shape
    np.testing.assert_allclose(y.numpy(), golden[f"{case}/y"], rtol=1e-5, atol=2e-6)
    expected = golden[f"{case}/grad"]
    grad = tape.gradient(s, x).numpy()
    if np.isnan(expected).all():  # TensorFlow's area resize: no gradient there
        assert method == "area" and np.isfinite(grad).all()
    else:
        np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=5e-6)


@pytest.mark.parametrize("method, antialias, size", [
    ("bicubic", False, (7, 3)), ("bicubic", True, (2, 3)), ("area", False, (2, 7)),
    ("area", False, (3, 2)), ("bilinear", True, (2, 2)), ("lanczos3", True, (7, 2)),
    ("mitchellcubic", False, (3, 7)),
])
def test_gradients_match_central_differences(method, antialias, size):
    x = np.random.default_rng(5).uniform(size=(1, 5, 4, 1))
    r = np.random.default_rng(6).normal(size=(1, *size, 1))
    # float64 throughout: `_resize` (tf.image.resize rounds its result to float32)
    gradcheck.check(lambda t: tf.reduce_sum(
        tf.image._resize(t, size, method=method, antialias=antialias) * r), x)


def test_area_averages_whole_blocks():
    x = np.arange(16, dtype=np.float32).reshape(4, 4, 1)
    y = tf.image.resize(x, (2, 2), method="area").numpy()[..., 0]
    np.testing.assert_allclose(y, [[2.5, 4.5], [10.5, 12.5]])


def test_bicubic_keeps_a_same_size_image_and_integers_become_float32():
    x = np.random.default_rng(0).integers(0, 255, size=(6, 5, 3)).astype(np.uint8)
    y = tf.image.resize(x, (6, 5), method="bicubic")
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), x.astype(np.float32), atol=1e-4)
    assert tf.image.resize(x, (3, 2), method="area", antialias=True).dtype == np.float32


# TensorFlow 2.21's output sizes for a 7x5 image with preserve_aspect_ratio=True
@pytest.mark.parametrize("size, expected", [((3, 3), (3, 2)), ((10, 4), (6, 4)),
                                            ((4, 100), (4, 3)), ((9, 9), (9, 6))])
def test_preserve_aspect_ratio_sizes(size, expected):
    x = np.random.default_rng(0).uniform(size=(7, 5, 1)).astype(np.float32)
    assert tf.image.resize(x, size, preserve_aspect_ratio=True).shape == (*expected, 1)


def test_method_names_and_bad_sizes():
    x = np.ones((1, 4, 4, 1), np.float32)
    assert tf.image.resize(x, (2, 2), method=tf.image.ResizeMethod.BICUBIC).shape == (1, 2, 2, 1)
    with pytest.raises(ValueError, match="method"):
        tf.image.resize(x, (2, 2), method="cubic")
    with pytest.raises(ValueError, match="positive"):
        tf.image.resize(x, (0, 2))


@pytest.mark.parametrize("interpolation", ["bicubic", "area", "lanczos3", "lanczos5"])
@pytest.mark.parametrize("antialias", [False, True])
def test_keras_ops_image_resize_is_tf_image_resize(interpolation, antialias):
    x = np.random.default_rng(1).uniform(size=(2, 9, 6, 3)).astype(np.float32)
    got = keras.ops.image.resize(x, (4, 11), interpolation=interpolation, antialias=antialias)
    want = tf.image.resize(x, (4, 11), method=interpolation, antialias=antialias)
    np.testing.assert_array_equal(np.asarray(got), want.numpy())


def test_bicubic_resize_inside_a_functional_model():
    inputs = keras.Input(shape=(6, 4, 2))
    outputs = keras.ops.image.resize(inputs, (12, 8), interpolation="bicubic")
    model = keras.Model(inputs, outputs)
    assert model.output_shape == (None, 12, 8, 2)
    x = np.random.default_rng(2).uniform(size=(3, 6, 4, 2)).astype(np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               tf.image.resize(x, (12, 8), method="bicubic").numpy(), rtol=1e-6)


def _keras_cases() -> list[str]:
    with np.load(FIXTURE, allow_pickle=False) as z:
        return sorted({k.rsplit("/", 1)[0] for k in z.files if k.startswith("keras_resize/")})


@pytest.mark.parametrize("case", _keras_cases())
def test_keras_resize_crop_and_pad_to_aspect_ratio_match_keras(case, golden):
    _, mode, method, sizes = case.split("/")
    size = tuple(int(v) for v in sizes.split("to")[1].split("x"))
    x = tf.constant(golden[f"{case}/x"])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = keras.ops.image.resize(x, size, interpolation=method,
                                   crop_to_aspect_ratio=mode == "crop",
                                   pad_to_aspect_ratio=mode == "pad", fill_value=0.25)
        s = tf.reduce_sum(y * golden[f"{case}/r"])
    np.testing.assert_allclose(np.asarray(y), golden[f"{case}/y"], rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(tape.gradient(s, x).numpy(), golden[f"{case}/grad"],
                               rtol=1e-5, atol=5e-6)


def test_keras_resize_aspect_ratio_on_one_image_and_both_flags_refused():
    x = np.random.default_rng(4).uniform(size=(5, 9, 3)).astype(np.float32)
    assert keras.ops.image.resize(x, (6, 3), crop_to_aspect_ratio=True).shape == (6, 3, 3)
    assert keras.ops.image.resize(x, (6, 3), pad_to_aspect_ratio=True).shape == (6, 3, 3)
    with pytest.raises(ValueError, match="Only one"):
        keras.ops.image.resize(x, (6, 3), crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
