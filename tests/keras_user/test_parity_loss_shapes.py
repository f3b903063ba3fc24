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


_R = np.random.RandomState(0)
_T, _P = _R.randn(4, 3).astype("float32"), _R.randn(4, 3).astype("float32")


@pytest.mark.parametrize("axis", [0, -2])
def test_cosine_similarity_on_another_axis(axis):
    # TF 2.21: one value per column, averaged (convnp refused any axis but -1)
    assert float(losses.CosineSimilarity(axis=axis)(_T, _P)) == pytest.approx(-0.53161, abs=1e-5)
    values = losses.CosineSimilarity(axis=axis, reduction="none")(_T, _P)
    np.testing.assert_allclose(np.asarray(values), [-0.79398, -0.83416, 0.03329], atol=1e-5)
    np.testing.assert_allclose(np.asarray(losses.cosine_similarity(_T, _P, axis=axis)),
                               [-0.79398, -0.83416, 0.03329], atol=1e-5)
    assert float(losses.CosineSimilarity(axis=axis, reduction="sum")(_T, _P)) == \
        pytest.approx(-1.59484, abs=1e-5)
    scores = tf.Variable(_P)
    with tf.GradientTape() as tape:
        loss = losses.CosineSimilarity(axis=axis)(_T, scores)
    np.testing.assert_allclose(
        np.asarray(tape.gradient(loss, scores)),
        [[-0.0101, -0.02689, -0.06073], [-0.15065, -0.05634, 0.06028],
         [-0.02652, -0.05017, 0.01021], [0.10137, 0.0516, -0.08811]], atol=1e-5)
    metric = tf.keras.metrics.CosineSimilarity(axis=axis)
    metric.update_state(_T, _P)
    metric.update_state(_T[:, :2] * 2, _P[:, :2])
    assert float(metric.result()) == pytest.approx(0.6446, abs=1e-5)
    assert losses.CosineSimilarity(axis=axis).get_config()["axis"] == axis


def test_cosine_similarity_last_axis_unchanged():
    # TF 2.21 for axis=1 of (4, 3)
    values = losses.CosineSimilarity(axis=1, reduction="none")(_T, _P)
    np.testing.assert_allclose(np.asarray(values), [-0.99806, -0.78676, -0.26321, 0.34427],
                               atol=1e-5)
    with pytest.raises(ValueError, match="axis"):
        losses.CosineSimilarity(axis=5)(_T, _P)


_LABELS5 = np.array([0, 1, 0, 2, 1])
_EMB = np.random.RandomState(0).randn(5, 4).astype("float32")


def test_circle_mean_skips_rows_without_a_positive():
    # TF 2.21: the row of the lone label 2 is masked, the mean is over the other four rows
    # (convnp divided by five: 31.8626 and 42.8773)
    assert float(losses.Circle()(_LABELS5, _EMB)) == pytest.approx(39.8282, rel=1e-5)
    weights = np.array([1, 2, 0, 1, 1.])
    assert float(losses.Circle()(_LABELS5, _EMB, sample_weight=weights)) == \
        pytest.approx(53.5966, rel=1e-5)
    assert float(losses.Circle(reduction="sum")(_LABELS5, _EMB)) == pytest.approx(159.313,
                                                                                 rel=1e-5)
    values = losses.Circle(reduction="none")(_LABELS5, _EMB)
    np.testing.assert_allclose(np.asarray(values), [55.0933, 55.0932, 0.0197, 0.0, 49.1069],
                               rtol=1e-4, atol=1e-4)
    assert float(losses.Circle()(np.array([0, 0, 1, 1, 1]), _EMB)) == \
        pytest.approx(248.2982, rel=1e-5)


def test_circle_and_generalized_cross_entropy_gradients_reach_a_variable():
    # TF 2.21's gradients (convnp's tape gave None: the Variable was read as an array)
    embeddings = tf.Variable(_EMB)
    with tf.GradientTape() as tape:
        loss = losses.Circle()(_LABELS5, embeddings)
    np.testing.assert_allclose(
        np.asarray(tape.gradient(loss, embeddings)).ravel(),
        [2.5235, -0.3465, 0.5288, -1.4426, 0.0, 0.0, 0.0, 0.0, 0.3088, 0.0494, 0.1801, 0.1354,
         55.1222, -7.4082, 11.6175, -30.9447, 31.0784, 5.1683, 18.0413, 16.1047],
        rtol=1e-4, atol=1e-4)
    rng = np.random.RandomState(0)
    rng.randn(5, 4)
    probabilities = tf.Variable(rng.dirichlet([1, 1, 1], 5).astype("float32"))
    with tf.GradientTape() as tape:
        loss = losses.CategoricalGeneralizedCrossEntropy()(_LABELS5, probabilities)
    gradient = np.asarray(tape.gradient(loss, probabilities))
    np.testing.assert_allclose(gradient.ravel(),
                               [-0.9894, 0, 0, 0, -0.5509, 0, -0.3105, 0, 0, 0, 0, -0.3458,
                                0, -0.3951, 0], atol=1e-4)
