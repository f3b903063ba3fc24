"""Metrics of keras.io's GAN programs as TensorFlow 2.21 computes them: the adaptive
discriminator augmentation example scores its discriminator against one label for the whole
batch. Expected values are what TF 2.21 gave."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras


def _step(values):
    return 0.5 * (1.0 + tf.sign(values))


@pytest.mark.parametrize("label, logits, expected", [
    (1.0, [[1.0], [-1.0], [2.0]], 0.6667),
    (0.0, [[1.0], [-1.0]], 0.5),
    (1.0, [1.0, -1.0, 2.0, 3.0], 0.75),
])
def test_binary_accuracy_against_one_label(label, logits, expected):
    # TF 2.21 broadcasts the scalar label over the predictions (convnp refused the shapes)
    metric = keras.metrics.BinaryAccuracy(name="real_accuracy")
    metric.update_state(label, _step(tf.constant(logits)))
    assert float(metric.result()) == pytest.approx(expected, abs=1e-4)


def test_accuracy_functions_against_one_label():
    hits = keras.metrics.binary_accuracy(1.0, tf.constant([[0.9], [0.2]]))
    assert tuple(hits.shape) == (2, 1)  # TF 2.21: one hit per entry
    np.testing.assert_array_equal(np.asarray(hits).ravel(), [1.0, 0.0])
    metric = keras.metrics.Accuracy()
    metric.update_state(2, tf.constant([2, 1, 2, 2]))
    assert float(metric.result()) == pytest.approx(0.75)


def test_mismatched_batches_still_refused():
    with pytest.raises(ValueError, match="shape"):
        keras.metrics.BinaryAccuracy().update_state(np.ones((3, 1)), np.ones((2, 1)))


# -- losses against one target for every prediction (a least-squares GAN's mse(1.0, scores)) --

_P = [[0.2, 0.4], [0.7, 0.1], [0.9, 0.3]]


@pytest.mark.parametrize("name, expected", [
    ("MeanSquaredError", 0.0833), ("MeanAbsoluteError", 0.2667),
    ("MeanAbsolutePercentageError", 53.3333), ("MeanSquaredLogarithmicError", 0.0405),
    ("Hinge", 0.7833), ("SquaredHinge", 0.6333), ("CategoricalHinge", 0.9),
    ("Huber", 0.0417), ("LogCosh", 0.0408), ("KLDivergence", 0.3892), ("Poisson", 0.9745),
])
def test_losses_broadcast_a_scalar_target(name, expected):
    # TF 2.21's values for the target 0.5 against _P
    loss = getattr(keras.losses, name)()(0.5, tf.constant(_P))
    assert float(loss) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("name", ["BinaryCrossentropy", "CategoricalCrossentropy"])
def test_crossentropies_refuse_a_scalar_target(name):
    # TF 2.21: ValueError (target and output must have the same rank)
    with pytest.raises(ValueError):
        getattr(keras.losses, name)()(0.5, tf.constant(_P))


def test_scalar_target_gradient_and_weights():
    v = tf.Variable([[0.2], [0.7]])
    with tf.GradientTape() as tape:
        loss = keras.losses.MeanSquaredError()(1.0, v)
    np.testing.assert_allclose(np.asarray(tape.gradient(loss, v)).ravel(), [-0.8, -0.3],
                               rtol=1e-5)  # TF 2.21
    weighted = keras.losses.MeanSquaredError()(1.0, tf.constant([[0.2], [0.7]]),
                                               sample_weight=[1.0, 0.0])
    assert float(weighted) == pytest.approx(0.32, abs=1e-5)  # TF 2.21


@pytest.mark.parametrize("name, expected", [
    ("MeanSquaredError", 0.2467), ("RootMeanSquaredError", 0.4967), ("MeanAbsoluteError", 0.4),
    ("Precision", 1.0), ("Recall", 0.6667), ("TruePositives", 2.0), ("LogCoshError", 0.1134),
    ("MeanSquaredLogarithmicError", 0.0967), ("Hinge", 0.4), ("Accuracy", 0.0),
])
def test_metrics_broadcast_a_scalar_label(name, expected):
    # TF 2.21's results for the label 1.0 against three scores
    metric = getattr(keras.metrics, name)()
    metric.update_state(1.0, tf.constant([[0.2], [0.7], [0.9]]))
    assert float(metric.result()) == pytest.approx(expected, abs=1e-4)


def test_auc_still_refuses_a_scalar_label():
    # TF 2.21: ValueError
    with pytest.raises(ValueError):
        keras.metrics.AUC().update_state(1.0, tf.constant([[0.2], [0.7], [0.9]]))
