"""Double backpropagation (the norm of d loss / d input, added to the loss and
differentiated with respect to the weights) through the cross-entropies on a softmax
output (from_logits=False), which convnp refused; values as TensorFlow 2.21's."""

import numpy as np
import pytest

import convnp as tf

_RNG = np.random.default_rng(5)
X = _RNG.normal(size=(4, 5)).astype(np.float32)
W = _RNG.normal(0, 0.5, (5, 3)).astype(np.float32)
B = np.array([0.1, -0.2, 0.05], np.float32)
LABELS = np.array([0, 2, 1, 2])
ONE_HOT = np.eye(3, dtype=np.float32)[LABELS]

# TF 2.21's total loss and weight gradients for the program in `_double_backprop`
TF_PLAIN = (1.572078824043274, [
    [-0.21138, -0.096455, 0.307835], [-0.321412, 0.249375, 0.072037],
    [-0.540753, 0.200283, 0.34047], [0.314096, -0.394611, 0.080516],
    [0.222435, 0.024488, -0.246923]], [0.475607, -0.156211, -0.319396])
TF_SMOOTHED = (1.5579581260681152, [
    [-0.209567, -0.074696, 0.284263], [-0.32164, 0.245523, 0.076117],
    [-0.515598, 0.198606, 0.316992], [0.305854, -0.366729, 0.060875],
    [0.226451, 0.006406, -0.232858]], [0.466834, -0.164728, -0.302105])


def _double_backprop(loss_fn, y):
    tf.keras.backend.clear_session()
    model = tf.keras.Sequential([tf.keras.Input((5,)),
                                 tf.keras.layers.Dense(3, activation="softmax")])
    model.set_weights([W, B])
    x = tf.constant(X)
    with tf.GradientTape() as t2:
        with tf.GradientTape() as t1:
            t1.watch(x)
            loss = loss_fn(y, model(x))
        gx = t1.gradient(loss, x)
        total = loss + 0.5 * tf.reduce_sum(tf.square(gx))
    return total, t2.gradient(total, model.trainable_variables)


@pytest.mark.parametrize("loss_fn, y, expected", [
    (tf.keras.losses.CategoricalCrossentropy(), ONE_HOT, TF_PLAIN),
    (tf.keras.losses.SparseCategoricalCrossentropy(), LABELS, TF_PLAIN),
    (tf.keras.losses.CategoricalCrossentropy(label_smoothing=0.1), ONE_HOT, TF_SMOOTHED),
])
def test_double_backprop_through_softmax_output_crossentropy(loss_fn, y, expected):
    total, (g_kernel, g_bias) = _double_backprop(loss_fn, y)
    np.testing.assert_allclose(float(total), expected[0], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(g_kernel), expected[1], atol=2e-6)
    np.testing.assert_allclose(np.asarray(g_bias), expected[2], atol=2e-6)


@pytest.mark.parametrize("loss", [
    tf.keras.losses.CategoricalCrossentropy(),
    tf.keras.losses.CategoricalCrossentropy(label_smoothing=0.2),
    tf.keras.losses.SparseCategoricalCrossentropy(),
])
def test_probability_hessian_vector_matches_central_differences(loss):
    """The rule against float64 central differences of the loss's own gradient, on
    probabilities that do not sum to one (CategoricalCrossentropy renormalizes them)."""
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 1.0, (3, 4))
    c = rng.normal(size=(3, 4))
    labels = np.array([1, 3, 0])
    t = labels if isinstance(loss, tf.keras.losses.SparseCategoricalCrossentropy) else (
        np.eye(4)[labels])
    if not isinstance(loss, tf.keras.losses.SparseCategoricalCrossentropy):
        t = loss._smooth(t)
    eps = 1e-6

    def grad(q):
        return loss._terms(labels if t.ndim == 1 else t, q, True)[1]

    numeric = (grad(p + eps * c) - grad(p - eps * c)) / (2 * eps)
    np.testing.assert_allclose(loss._hessian_vector(t, p, c), numeric, rtol=1e-6, atol=1e-8)
