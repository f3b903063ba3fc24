"""Labels ``(m,)`` with outputs ``(m, 1)`` (and the other way round) in the focal and overlap
losses: aligned as Keras aligns them, as TensorFlow 2.21 computes them.

The expected values below were read from TensorFlow 2.21 running the same programs."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

losses = tf.keras.losses

LABELS = np.array([0, 1, 1, 0], "float32")
SCORES = np.array([.2, .7, .4, .1], "float32")
WEIGHTS = np.array([1, 0, 2, .5], "float32")


@pytest.mark.parametrize("make, per_sample, weighted_mean", [
    # TF 2.21; convnp broadcast (m,) against (m, 1) to (m, m): 0.49234 for the first
    (lambda **k: losses.BinaryFocalCrossentropy(**k), [0.00893, 0.0321, 0.32986, 0.00105],
     0.1673),
    (lambda **k: losses.BinaryFocalCrossentropy(apply_class_balancing=True, from_logits=True,
                                                **k),
     [0.18097, 0.0111, 0.02066, 0.15387], 0.0748),
])
def test_binary_focal_labels_m_with_outputs_m_1(make, per_sample, weighted_mean):
    for y_true, y_pred in ((LABELS, SCORES[:, None]), (LABELS[:, None], SCORES)):
        values = make(reduction="none")(y_true, y_pred)
        np.testing.assert_allclose(np.asarray(values), per_sample, atol=1e-5)
    value = make()(LABELS, SCORES[:, None], sample_weight=WEIGHTS)
    assert float(value) == pytest.approx(weighted_mean, abs=1e-5)


def test_binary_focal_gradient_with_labels_m():
    # TF 2.21's gradient w.r.t. outputs (m, 1) for labels (m,)
    scores = tf.Variable(SCORES[:, None])
    with tf.GradientTape() as tape:
        loss = losses.BinaryFocalCrossentropy()(LABELS, scores)
    np.testing.assert_allclose(np.asarray(tape.gradient(loss, scores)),
                               [[0.03481], [-0.08564], [-0.49989], [0.00805]], atol=1e-5)


@pytest.mark.parametrize("cls", [losses.Dice, losses.Tversky])
def test_overlap_losses_labels_m_with_outputs_m_1(cls):
    # TF 2.21: 0.35294 both ways round (convnp: 0.58824 / -0.64706, from an (m, m) product)
    for y_true, y_pred in ((LABELS, SCORES[:, None]), (LABELS[:, None], SCORES)):
        assert float(cls()(y_true, y_pred)) == pytest.approx(0.35294, abs=1e-5)
    scores = tf.Variable(SCORES[:, None])
    with tf.GradientTape() as tape:
        loss = cls()(LABELS, scores)
    np.testing.assert_allclose(np.asarray(tape.gradient(loss, scores)),
                               [[0.19031], [-0.39792], [-0.39792], [0.19031]], atol=1e-5)
