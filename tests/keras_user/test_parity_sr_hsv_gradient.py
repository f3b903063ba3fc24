"""Gradients through tf.image's HSV conversions (a colour-constancy or saturation loss in an
enhancement model): TF 2.21 differentiates ``rgb_to_hsv`` and gives no gradient (None, not
an error) through ``hsv_to_rgb``. The expected numbers are TF 2.21's, ties included (the
largest channel counts red first, the smallest blue first)."""

import numpy as np
import pytest

import convnp as tf

X = np.array([[[[0.2, 0.5, 0.9], [0.8, 0.3, 0.1], [0.5, 0.5, 0.5], [0.7, 0.7, 0.2],
                [0.9, 0.2, 0.2], [0.0, 0.0, 0.0]]]], dtype="float32")
W = np.array([0.3, -1.2, 0.7], dtype="float32")  # weights of h, s, v in the loss
# TF 2.21: tape.gradient(reduce_sum(rgb_to_hsv(v) * W), v)
TF_GRAD = [[[[1.37415, -0.071429, 0.434316], [0.492092, 0.071429, 1.44898],
             [-1.7, 0.0, 2.4], [0.110204, 0.1, 1.714286], [0.403704, 0.071429, 1.261905],
             [0.7, 0.0, 0.0]]]]


def test_rgb_to_hsv_gradient_matches_tensorflow():
    v = tf.Variable(X)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.image.rgb_to_hsv(v) * W)
    grad = tape.gradient(loss, v)
    assert grad.dtype == np.float32
    np.testing.assert_allclose(grad, TF_GRAD, rtol=1e-5, atol=1e-6)


def test_rgb_to_hsv_gradient_matches_finite_differences_away_from_ties():
    x = np.random.default_rng(2).uniform(0.05, 0.95, size=(2, 3, 3, 3))
    w = np.random.default_rng(3).normal(size=x.shape)
    t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(t)
        loss = tf.reduce_sum(tf.image.rgb_to_hsv(t) * w)
    grad = np.asarray(tape.gradient(loss, t))
    numeric = np.zeros_like(x)
    h = 1e-6
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        numeric[i] = (np.sum(np.asarray(tf.image.rgb_to_hsv(up)) * w)
                      - np.sum(np.asarray(tf.image.rgb_to_hsv(down)) * w)) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6)


def test_hsv_to_rgb_gives_no_gradient():
    v = tf.Variable(X)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.image.hsv_to_rgb(v))
    assert tape.gradient(loss, v) is None


def test_adjust_hue_still_has_none_registered():
    v = tf.Variable(X)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.image.adjust_hue(v, 0.1))
    with pytest.raises(LookupError):
        tape.gradient(loss, v)
