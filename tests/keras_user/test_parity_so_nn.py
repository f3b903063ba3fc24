"""Second-order gradients through tf.nn's softmax family, cross-entropies with logits and
selu: a loss written with them, whose input gradient is penalized and differentiated again
(convnp refused these). The expected numbers are TensorFlow 2.21's."""

import numpy as np
import pytest

import convnp as tf

Z = np.array([[0.5, -1.2, 2.0], [0.3, 0.1, -0.7]], np.float32)
WT = np.array([[1.0, -2.0, 3.0], [0.5, 1.5, -1.0]], np.float32)
PROBS = np.array([[0.2, 0.5, 0.3], [1.0, 0.0, 0.0]], np.float32)
BITS = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]], np.float32)
PER_ROW = np.array([1.0, 3.0], np.float32)

CASES = {
    "softmax": (lambda z: tf.reduce_sum(tf.nn.softmax(z) * WT),
                [[0.439956, 0.151286, -0.591243], [-0.054132, 0.114225, -0.060093]]),
    "softmax_axis0": (lambda z: tf.reduce_sum(tf.nn.softmax(z, axis=0) * WT),
                      [[-0.00458, -0.198354, -0.194776], [0.00458, 0.198354, 0.194776]]),
    "log_softmax": (lambda z: tf.reduce_sum(tf.nn.log_softmax(z) * WT),
                    [[2.093979, -0.066672, -2.027308], [0.747402, -0.636441, -0.110961]]),
    "softmax_ce": (lambda z: tf.reduce_sum(tf.nn.softmax_cross_entropy_with_logits(
        labels=PROBS, logits=z) * PER_ROW),
        [[-0.429147, -0.016543, 0.44569], [-2.710248, 3.395088, -0.68484]]),
    "sparse_ce": (lambda z: tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.constant([2, 0]), logits=z) * PER_ROW),
        [[0.227051, 0.025931, -0.252982], [-2.710248, 3.395088, -0.68484]]),
    "sigmoid_ce": (lambda z: tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(
        labels=BITS, logits=z) * WT),
        [[-0.177447, -0.65885, -0.675839], [0.035107, -0.799597, -0.147134]]),
    "selu": (lambda z: tf.reduce_sum(tf.nn.selu(z) * WT),
             [[0.0, -4.486421, 0.0], [0.0, 0.0, -1.52442]]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_of_penalized_gradient(name):
    f, expected = CASES[name]
    z = tf.constant(Z)
    with tf.GradientTape() as t2:
        t2.watch(z)
        with tf.GradientTape() as t1:
            t1.watch(z)
            y = f(z)
        g = t1.gradient(y, z)
        s = tf.reduce_sum(tf.square(g) * WT)
    # TF 2.21's values
    np.testing.assert_allclose(np.asarray(t2.gradient(s, z)), expected, rtol=1e-5, atol=2e-6)


def test_softmax_ce_label_gradient_is_differentiable():
    """The labels' gradient (-log_softmax(logits)) differentiated with respect to the
    logits, which only the outer tape follows (convnp gave None: the inner tape did not
    follow the logits, so it computed that gradient in plain NumPy)."""
    z, y = tf.constant(Z), tf.constant(PROBS)
    with tf.GradientTape() as t2:
        t2.watch(z)
        with tf.GradientTape() as t1:
            t1.watch(y)
            loss = tf.reduce_sum(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=z))
        gy = t1.gradient(loss, y)
        s = tf.reduce_sum(gy * WT)
    # TF 2.21's values
    expected = [[-0.646916, 2.064503, -1.417587], [-0.042671, -1.125571, 1.168242]]
    np.testing.assert_allclose(np.asarray(t2.gradient(s, z)), expected, rtol=1e-5, atol=2e-6)
