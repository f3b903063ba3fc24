"""The dtypes of tf.image's resizers and quality measures on float64 and integer images, as a
super-resolution notebook meets them: NumPy arrays are float64, so ``tf.image.resize(array,
..., method="bicubic")`` and ``tf.image.psnr(prediction, target, max_val=1.0)`` run on float64.

TF 2.21 converts every image to float32 in psnr / ssim / ssim_multiscale and its resize
kernels write float32 (only 'nearest' keeps the dtype); total_variation refuses unsigned
images (InvalidArgumentError: no Abs for them). Values are TF 2.21's where written out."""

import numpy as np
import pytest

import convnp as tf

RNG = np.random.default_rng(0)
X = RNG.random((2, 12, 12, 3))  # float64, as NumPy makes them
Y = np.clip(X + 0.1 * RNG.standard_normal(X.shape), 0, 1)


@pytest.mark.parametrize("method", ["bilinear", "bicubic", "area", "lanczos3", "gaussian",
                                    "mitchellcubic"])
def test_resize_of_float64_images_is_float32(method):
    out = tf.image.resize(X, (5, 7), method=method)
    assert out.dtype == np.float32
    assert out.shape == (2, 5, 7, 3)
    # the same numbers as the float32 images give
    np.testing.assert_allclose(out, tf.image.resize(X.astype(np.float32), (5, 7), method=method),
                               rtol=1e-5, atol=1e-6)


def test_nearest_keeps_the_dtype():
    assert tf.image.resize(X, (5, 7), method="nearest").dtype == np.float64
    assert tf.image.resize((X * 255).astype(np.uint8), (5, 7), method="nearest").dtype == np.uint8
    assert tf.image.resize_with_pad(X, 16, 10, method="nearest").dtype == np.float64


def test_resize_with_pad_of_float64_images_is_float32():
    assert tf.image.resize_with_pad(X, 16, 10).dtype == np.float32


def test_measures_of_float64_images_are_float32():
    assert tf.image.psnr(X, Y, max_val=1.0).dtype == np.float32
    assert tf.image.ssim(X, Y, max_val=1.0).dtype == np.float32
    assert tf.image.ssim(X, Y, max_val=1.0, return_index_map=True).dtype == np.float32
    big_x, big_y = np.tile(X, (1, 4, 4, 1)), np.tile(Y, (1, 4, 4, 1))
    ms = tf.image.ssim_multiscale(big_x, big_y, max_val=1.0, filter_size=3)
    assert ms.dtype == np.float32 and ms.shape == (2,)
    # a float32 prediction against a float64 target: float32 too
    assert tf.image.psnr(X.astype(np.float32), Y, max_val=1.0).dtype == np.float32
    np.testing.assert_allclose(tf.image.psnr(X, Y, max_val=1.0),
                               tf.image.psnr(X.astype(np.float32), Y.astype(np.float32), 1.0),
                               rtol=1e-5)


def test_gradients_reach_float64_images_as_float64():
    v = tf.Variable(X)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.image.psnr(tf.image.resize(v, (6, 6), method="bicubic"),
                                           Y[:, ::2, ::2], max_val=1.0))
    grad = tape.gradient(loss, v)
    assert grad.dtype == np.float64 and grad.shape == X.shape
    with tf.GradientTape() as tape:
        loss32 = tf.reduce_sum(tf.image.psnr(
            tf.image.resize(tf.constant(X.astype(np.float32)), (6, 6), method="bicubic"),
            Y[:, ::2, ::2], max_val=1.0))
    assert loss.dtype == np.float32
    np.testing.assert_allclose(float(loss), float(loss32), rtol=1e-5)


def test_keras_ops_keep_float64():
    # Keras's own image ops cast back to the images' dtype
    assert tf.keras.ops.image.resize(X, (5, 7)).dtype == np.float64
    assert tf.keras.ops.image.ssim(X, Y).dtype == np.float64


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_total_variation_refuses_unsigned_images(dtype):
    images = tf.constant((X * 200).astype(dtype))
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.image.total_variation(images)


def test_total_variation_of_signed_and_float_images():
    a = np.array([[[[0], [3]], [[1], [7]]]])  # (1, 2, 2, 1)
    # |1-0| + |7-3| down, |3-0| + |7-1| across = 14
    assert tf.image.total_variation(tf.constant(a.astype(np.int32))).numpy().tolist() == [14]
    out = tf.image.total_variation(tf.constant(a.astype(np.float64)))
    assert out.dtype == np.float64 and out.numpy().tolist() == [14.0]
