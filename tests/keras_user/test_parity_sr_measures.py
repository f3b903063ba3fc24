"""tf.image's quality measures on images of different batch shapes (a batch of
super-resolved images against one reference) and the error types of misuse.

TF 2.21 broadcasts the two images of psnr, ssim and ssim_multiscale (ssim's must share the
last three axes); mismatched sizes and images without 3 channels are InvalidArgumentErrors
(convnp's is a ValueError too), as is sobel_edges on images under 2x2 pixels."""

import numpy as np
import pytest

import convnp as tf

RNG = np.random.default_rng(1)
X = RNG.random((2, 16, 16, 3)).astype("float32")
Y = np.clip(X + 0.2 * RNG.standard_normal(X.shape), 0, 1).astype("float32")


def test_psnr_broadcasts_one_reference_over_a_batch():
    got = tf.image.psnr(X, Y[:1], max_val=1.0)
    assert got.shape == (2,) and got.dtype == np.float32
    np.testing.assert_allclose(got, tf.image.psnr(X, np.repeat(Y[:1], 2, axis=0), 1.0),
                               rtol=1e-6)
    # a single (h, w, c) image against a batch: one value per image of the batch
    single = tf.image.psnr(Y[0], X, max_val=1.0)
    assert single.shape == (2,)
    np.testing.assert_allclose(single, tf.image.psnr(np.repeat(Y[:1], 2, axis=0), X, 1.0),
                               rtol=1e-6)


def test_ssim_and_multiscale_broadcast():
    got = tf.image.ssim(X[:1], Y, max_val=1.0, filter_size=3)
    assert got.shape == (2,)
    np.testing.assert_allclose(got, tf.image.ssim(np.repeat(X[:1], 2, axis=0), Y, 1.0,
                                                  filter_size=3), rtol=1e-6)
    ms = tf.image.ssim_multiscale(X, Y[0], 1.0, filter_size=1, power_factors=(0.5, 0.5))
    np.testing.assert_allclose(ms, tf.image.ssim_multiscale(
        X, np.repeat(Y[:1], 2, axis=0), 1.0, filter_size=1, power_factors=(0.5, 0.5)),
        rtol=1e-6)


def test_broadcast_gradients_add_up_over_the_batch():
    ref = tf.Variable(Y[:1])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.image.psnr(X, ref, max_val=1.0))
    grad = tape.gradient(loss, ref)
    assert grad.shape == (1, 16, 16, 3)
    # psnr = 20 log10(1) - 10 log10(mse): d/dref = sum over images of 20 (x - ref) / (N mse ln 10)
    n = 16 * 16 * 3
    mse = ((X - Y[:1]) ** 2).reshape(2, -1).mean(axis=1)
    want = sum(20 * (X[i] - Y[0]) / (n * mse[i] * np.log(10)) for i in range(2))
    np.testing.assert_allclose(grad[0], want, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("call", [
    lambda: tf.image.psnr(X, X[:, :8, :8], 1.0),
    lambda: tf.image.ssim(X, X[:, :15], 1.0, filter_size=3),
    lambda: tf.image.ssim(X, np.concatenate([X, X[:1]]), 1.0, filter_size=3),
    lambda: tf.image.rgb_to_yuv(X[..., :2]),
    lambda: tf.image.rgb_to_hsv(X[..., :2]),
    lambda: tf.image.sobel_edges(tf.constant(X[:, :1, :1])),
])
def test_misuse_is_an_invalid_argument_error(call):
    with pytest.raises(tf.errors.InvalidArgumentError):
        call()
