"""tf.nn's transposed convolutions of every rank (dilated too), crelu, in_top_k,
zero_fraction, log_poisson_loss, the moments helpers (sufficient_statistics,
normalize_moments, weighted_moments) and space_to_batch/batch_to_space, against TensorFlow
2.21's values (printed by TF 2.21 for the same inputs and written in here)."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp.tensor.debugging import InvalidArgumentError

X1 = (np.arange(8, dtype=np.float32).reshape(1, 4, 2) % 3) - 1
W1 = (np.arange(12, dtype=np.float32).reshape(3, 2, 2) % 4) - 1.5
X2 = (np.arange(18, dtype=np.float32).reshape(1, 3, 3, 2) % 4) - 1
W2 = (np.arange(8, dtype=np.float32).reshape(2, 2, 1, 2) % 3) - 1


def test_conv1d_transpose_values_and_gradients():
    np.testing.assert_allclose(tf.nn.conv1d_transpose(X1, W1, [1, 8, 2], 2, "SAME"),
                               [[[1.5, -0.5], [1.5, -0.5], [0.5, -1.5], [-1.0, -1.0], [-1.5, 0.5], [-0.5, 1.5], [1.0, 1.0], [1.5, -0.5]]], atol=1e-4)
    x, k = tf.Variable(X1), tf.Variable(W1)
    with tf.GradientTape() as tape:
        y = tf.nn.conv1d_transpose(x, k, [1, 9, 2], 2, "VALID")
        loss = tf.reduce_sum(y * y)
    gx, gk = tape.gradient(loss, [x, k])
    np.testing.assert_allclose(gx, [[[-13.0, -11.0], [4.0, -4.0], [6.0, 10.0], [-12.0, -4.0]]], atol=1e-4)
    np.testing.assert_allclose(gk, [[[-4.0, -4.0], [-4.0, 4.0]], [[-8.0, 1.0], [0.0, 5.0]], [[-7.0, 5.0], [5.0, 1.0]]], atol=1e-4)
    # the same through the rank-generic name
    np.testing.assert_allclose(tf.nn.conv_transpose(X1, W1, [1, 8, 2], 2, "SAME"), [[[1.5, -0.5], [1.5, -0.5], [0.5, -1.5], [-1.0, -1.0], [-1.5, 0.5], [-0.5, 1.5], [1.0, 1.0], [1.5, -0.5]]],
                               atol=1e-4)


def test_dilated_transposed_convolutions():
    expected = [[[[1.0], [-2.0], [-1.0]], [[1.0], [1.0], [-2.0]], [[0.0], [1.0], [1.0]]]]
    np.testing.assert_allclose(tf.nn.atrous_conv2d_transpose(X2, W2, [1, 3, 3, 1], 2, "SAME"),
                               expected, atol=1e-4)
    np.testing.assert_allclose(tf.nn.conv2d_transpose(X2, W2, [1, 3, 3, 1], 1, "SAME",
                                                      dilations=2), expected, atol=1e-4)
    np.testing.assert_allclose(tf.nn.atrous_conv2d_transpose(X2, W2, [1, 5, 5, 1], 2,
                                                             "VALID"), [[[[1.0], [-1.0], [0.0], [-1.0], [-1.0]], [[-1.0], [1.0], [-2.0], [-1.0], [-1.0]], [[1.0], [1.0], [1.0], [-2.0], [0.0]], [[2.0], [0.0], [1.0], [1.0], [-1.0]], [[0.0], [2.0], [1.0], [-1.0], [1.0]]]], atol=1e-4)
    with pytest.raises(InvalidArgumentError):  # a conv of [1, 4, 4, 1] does not give 3x3
        tf.nn.atrous_conv2d_transpose(X2, W2, [1, 4, 4, 1], 2, "VALID")


def test_conv3d_transpose_values_and_adjointness():
    x = np.ones((1, 2, 2, 2, 1), np.float32)
    w = np.arange(8, dtype=np.float32).reshape(2, 2, 2, 1, 1)
    np.testing.assert_allclose(tf.nn.conv3d_transpose(x, w, [1, 4, 4, 4, 1], [1, 2, 2, 2, 1],
                                                      "SAME"), [[[[[0.0], [1.0], [0.0], [1.0]], [[2.0], [3.0], [2.0], [3.0]], [[0.0], [1.0], [0.0], [1.0]], [[2.0], [3.0], [2.0], [3.0]]], [[[4.0], [5.0], [4.0], [5.0]], [[6.0], [7.0], [6.0], [7.0]], [[4.0], [5.0], [4.0], [5.0]], [[6.0], [7.0], [6.0], [7.0]]], [[[0.0], [1.0], [0.0], [1.0]], [[2.0], [3.0], [2.0], [3.0]], [[0.0], [1.0], [0.0], [1.0]], [[2.0], [3.0], [2.0], [3.0]]], [[[4.0], [5.0], [4.0], [5.0]], [[6.0], [7.0], [6.0], [7.0]], [[4.0], [5.0], [4.0], [5.0]], [[6.0], [7.0], [6.0], [7.0]]]]])
    # VALID (TF 2.21's oneDNN kernel aborts on this one): <T(x), y> = <x, conv3d(y)>
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 3, 2, 2)).astype(np.float32)
    w = rng.standard_normal((2, 2, 3, 4, 2)).astype(np.float32)
    y = rng.standard_normal((1, 3, 4, 4, 4)).astype(np.float32)
    left = np.sum(tf.nn.conv3d_transpose(x, w, y.shape, 1, "VALID").numpy() * y)
    right = np.sum(x * tf.nn.conv3d(y, w, [1, 1, 1, 1, 1], "VALID").numpy())
    np.testing.assert_allclose(left, right, rtol=1e-4)


def test_crelu_in_top_k_zero_fraction():
    a = tf.constant([[-1., 2.], [3., -4.]])
    np.testing.assert_array_equal(tf.nn.crelu(a), [[0.0, 2.0, 1.0, 0.0], [3.0, 0.0, 0.0, 4.0]])
    np.testing.assert_array_equal(tf.nn.crelu(a, axis=0), [[0.0, 2.0], [3.0, 0.0], [1.0, 0.0], [0.0, 4.0]])
    np.testing.assert_array_equal(tf.nn.in_top_k(
        targets=tf.constant([2, 0]), predictions=tf.constant([[0.1, 0.9, 0.0],
                                                              [0.5, 0.2, 0.3]]), k=2),
        [False, True])
    fraction = tf.nn.zero_fraction(tf.constant([0, 1, 0]))
    assert fraction.dtype == tf.float32 and float(fraction) == pytest.approx(2 / 3)
    assert float(tf.math.zero_fraction(tf.constant([[0., 1.], [0., 0.]]))) == 0.75
    assert np.isnan(float(tf.nn.zero_fraction(tf.zeros((0,)))))


def test_log_poisson_loss_and_moments():
    np.testing.assert_allclose(tf.nn.log_poisson_loss(
        tf.constant([1., 2., 0., 5.]), tf.constant([0.5, -1., 2., 1.]), compute_full_loss=True),
        [1.1487, 3.0197, 7.3891, 2.4891], atol=1e-4)
    x = tf.constant([[1., 2.], [3., 5.], [4., 0.]])
    weights = tf.constant([[1.], [2.], [0.]])
    mean, variance = tf.nn.weighted_moments(x, [0], weights)
    np.testing.assert_allclose(mean, [2.3333, 4.0], atol=1e-4)
    np.testing.assert_allclose(variance, [0.8889, 2.0], atol=1e-4)
    stats = tf.nn.sufficient_statistics(x, [0], shift=1.0)
    assert isinstance(stats, tuple) and len(stats) == 4
    count, m_ss, v_ss, shift = stats
    assert shift.dtype == tf.float32  # TF 2.21 gives the shift back as a tensor
    np.testing.assert_allclose([float(count), *m_ss.numpy(), *v_ss.numpy(), float(shift)],
                               [3.0, 5.0, 4.0, 13.0, 18.0, 1.0])
    assert tf.nn.sufficient_statistics(x, [0])[3] is None
    np.testing.assert_allclose(tf.nn.normalize_moments(count, m_ss, v_ss, shift), [[2.6667, 2.3333], [1.5556, 4.2222]],
                               atol=1e-4)


def test_space_to_batch_and_back():
    xs = tf.reshape(tf.range(32, dtype=tf.float32), (2, 4, 4, 1))
    batched = tf.space_to_batch(xs, [2, 2], [[1, 1], [0, 2]])
    np.testing.assert_array_equal(batched, [[[[0.0], [0.0], [0.0]], [[4.0], [6.0], [0.0]], [[12.0], [14.0], [0.0]]], [[[0.0], [0.0], [0.0]], [[20.0], [22.0], [0.0]], [[28.0], [30.0], [0.0]]], [[[0.0], [0.0], [0.0]], [[5.0], [7.0], [0.0]], [[13.0], [15.0], [0.0]]], [[[0.0], [0.0], [0.0]], [[21.0], [23.0], [0.0]], [[29.0], [31.0], [0.0]]], [[[0.0], [2.0], [0.0]], [[8.0], [10.0], [0.0]], [[0.0], [0.0], [0.0]]], [[[16.0], [18.0], [0.0]], [[24.0], [26.0], [0.0]], [[0.0], [0.0], [0.0]]], [[[1.0], [3.0], [0.0]], [[9.0], [11.0], [0.0]], [[0.0], [0.0], [0.0]]], [[[17.0], [19.0], [0.0]], [[25.0], [27.0], [0.0]], [[0.0], [0.0], [0.0]]]])
    np.testing.assert_array_equal(tf.nn.space_to_batch(xs, [2, 2], [[1, 1], [0, 2]]), batched)
    np.testing.assert_array_equal(tf.space_to_batch_nd(xs, [2, 2], [[1, 1], [0, 2]]), batched)
    np.testing.assert_array_equal(tf.batch_to_space(batched, [2, 2], [[1, 1], [0, 2]]), xs)
    np.testing.assert_array_equal(tf.batch_to_space(
        tf.reshape(tf.range(16.), (4, 2, 2, 1)), [2, 2], [[0, 1], [1, 0]]), [[[[4.0], [1.0], [5.0]], [[12.0], [9.0], [13.0]], [[6.0], [3.0], [7.0]]]])
    with pytest.raises(InvalidArgumentError):
        tf.space_to_batch(xs, [3, 2], [[0, 0], [0, 0]])
    with pytest.raises(InvalidArgumentError):
        tf.batch_to_space(xs, [4, 2], [[0, 0], [0, 0]])
    # TF 2.21 has these names only where it has them
    assert not hasattr(tf.nn, "batch_to_space") and not hasattr(tf, "batch_to_space_nd")
    x = tf.Variable(xs)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.space_to_batch(x, [2, 2], [[1, 1], [0, 2]]) ** 2)
    np.testing.assert_array_equal(tape.gradient(loss, x), 2 * xs.numpy())
