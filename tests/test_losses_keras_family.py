"""The rest of Keras's losses (MAPE, MSLE, Huber, LogCosh, Poisson, KLDivergence, the hinges,
CosineSimilarity): values by their formulas, gradients by central differences, and the
metrics that are their running means."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp import losses, metrics

RNG = np.random.default_rng(11)
T_REG = RNG.standard_normal((4, 3))
P_REG = RNG.standard_normal((4, 3))
T_POS = RNG.uniform(0.1, 2.0, (4, 3))
P_POS = RNG.uniform(0.1, 2.0, (4, 3))
T_DIST = RNG.dirichlet(np.ones(3), 4)
P_DIST = RNG.dirichlet(np.ones(3), 4)
T_SIGN = np.where(RNG.random((4, 3)) > 0.5, 1.0, -1.0)
T_ONEHOT = np.eye(3)[[0, 2, 1, 1]]

CASES = {
    # class: (targets, predictions, expected per-sample values by the formula)
    "MeanAbsolutePercentageError": (T_POS, P_POS, 100 * np.mean(np.abs(P_POS - T_POS) / T_POS,
                                                                 axis=-1)),
    "MeanSquaredLogarithmicError": (T_POS, P_POS, np.mean(
        (np.log1p(P_POS) - np.log1p(T_POS)) ** 2, axis=-1)),
    "Huber": (T_REG, P_REG, np.mean(np.where(np.abs(P_REG - T_REG) <= 1,
                                             0.5 * (P_REG - T_REG) ** 2,
                                             np.abs(P_REG - T_REG) - 0.5), axis=-1)),
    "LogCosh": (T_REG, P_REG, np.mean(np.log(np.cosh(P_REG - T_REG)), axis=-1)),
    "Poisson": (T_POS, P_POS, np.mean(P_POS - T_POS * np.log(P_POS + 1e-7), axis=-1)),
    "KLDivergence": (T_DIST, P_DIST, np.sum(T_DIST * np.log(T_DIST / P_DIST), axis=-1)),
    "Hinge": (T_SIGN, P_REG, np.mean(np.maximum(1 - T_SIGN * P_REG, 0), axis=-1)),
    "SquaredHinge": (T_SIGN, P_REG, np.mean(np.maximum(1 - T_SIGN * P_REG, 0) ** 2, axis=-1)),
    "CategoricalHinge": (T_ONEHOT, P_REG, np.maximum(
        np.max((1 - T_ONEHOT) * P_REG, axis=-1) - np.sum(T_ONEHOT * P_REG, axis=-1) + 1, 0)),
    "CosineSimilarity": (T_REG, P_REG, -np.sum(T_REG * P_REG, axis=-1) / (
        np.linalg.norm(T_REG, axis=-1) * np.linalg.norm(P_REG, axis=-1))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_match_the_formula(name):
    t, p, expected = CASES[name]
    loss = getattr(losses, name)()
    np.testing.assert_allclose(loss.per_sample(t, p), expected, rtol=1e-10, atol=1e-12)
    assert float(loss(t, p)) == pytest.approx(float(np.mean(expected)), rel=1e-10)
    # the function spelling gives the same per-sample values
    np.testing.assert_allclose(losses.get(name).per_sample(t, p),
                               getattr(losses, loss.name if name != "Huber" else "huber")(t, p))


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_matches_central_differences(name):
    t, p, _ = CASES[name]
    loss = getattr(losses, name)()
    grad = loss.gradient(t, p)
    numeric = np.zeros_like(p)
    h = 1e-6
    for index in np.ndindex(p.shape):
        up, down = p.copy(), p.copy()
        up[index] += h
        down[index] -= h
        numeric[index] = (float(loss(t, up)) - float(loss(t, down))) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)
    value, both = loss.value_and_gradient(t, p)
    np.testing.assert_array_equal(both, grad)
    assert value == pytest.approx(float(loss(t, p)))


def test_hinge_turns_zero_one_labels_into_signs():
    zero_one = (T_SIGN + 1) / 2
    np.testing.assert_allclose(losses.Hinge().per_sample(zero_one, P_REG),
                               losses.Hinge().per_sample(T_SIGN, P_REG))


def test_arguments_and_configs():
    assert losses.Huber(delta=2.0).get_config()["delta"] == 2.0
    assert losses.deserialize(losses.serialize(losses.Huber(0.5))).delta == 0.5
    with pytest.raises(ValueError, match="delta"):
        losses.Huber(delta=0)
    with pytest.raises(TypeError, match="axis"):
        losses.CosineSimilarity(axis=1.0)
    assert losses.get("kld") is not losses.get("KLD")  # fresh objects, one class
    assert type(losses.get("kullback_leibler_divergence")) is losses.KLDivergence
    assert type(losses.get("logcosh")) is losses.LogCosh


@pytest.mark.parametrize("metric_name,loss_name,sign", [
    ("mae", "mae", 1), ("mape", "mape", 1), ("msle", "msle", 1), ("logcosh", "log_cosh", 1),
    ("poisson", "poisson", 1), ("kld", "kld", 1), ("hinge", "hinge", 1),
    ("squared_hinge", "squared_hinge", 1), ("categorical_hinge", "categorical_hinge", 1),
    ("cosine_similarity", "cosine_similarity", -1),
])
def test_loss_metrics_are_running_means_of_the_loss(metric_name, loss_name, sign):
    m = metrics.get(metric_name)
    assert m.name == metric_name
    t, p = T_POS / T_POS.sum(-1, keepdims=True), P_POS / P_POS.sum(-1, keepdims=True)
    m.update_state(t[:2], p[:2])
    m.update_state(t[2:], p[2:], sample_weight=np.array([1.0, 3.0]))
    per = sign * losses.get(loss_name).per_sample(t, p)
    expected = (per[0] + per[1] + per[2] + 3 * per[3]) / 6
    assert m.result() == pytest.approx(expected, rel=1e-6)  # a float32 result, as Keras


def test_root_mean_squared_error_and_crossentropy_metrics():
    rmse = metrics.get("RootMeanSquaredError")
    rmse.update_state([[0.0, 0.0], [1.0, 1.0]], [[3.0, 4.0], [1.0, 1.0]])
    assert rmse.result() == pytest.approx(np.sqrt(12.5 / 2))
    bce = metrics.BinaryCrossentropy(from_logits=True)
    bce.update_state([[1.0]], [[0.0]])
    assert bce.result() == pytest.approx(np.log(2.0))
    assert metrics.deserialize(metrics.serialize(bce)).get_config() == bce.get_config()


# Keras 3.15.1 (tensorflow-cpu 2.21) on y_true = [0, 1, 1, 0], y_pred = [0.1, 0.8, 0.6, 0.3]:
# the loss functions reduce the last axis, so two vectors are one sample and give a scalar.
ONE_SAMPLE_KERAS = {"binary_crossentropy": 0.298995, "mse": 0.075, "mae": 0.25,
                    "huber": 0.0375, "hinge": 0.75, "poisson": 0.63349,
                    "categorical_crossentropy": 1.90954, "cosine_similarity": -0.94388}


@pytest.mark.parametrize("name", sorted(ONE_SAMPLE_KERAS))
def test_loss_functions_on_two_vectors_give_one_value(name):
    y = np.array([0.0, 1.0, 1.0, 0.0], np.float32)
    p = np.array([0.1, 0.8, 0.6, 0.3], np.float32)
    got = getattr(tf.keras.losses, name)(y, p)
    assert np.shape(got) == ()
    assert float(got) == pytest.approx(ONE_SAMPLE_KERAS[name], rel=1e-4)


def test_one_sample_loss_is_differentiated():
    y = np.array([0.0, 1.0, 1.0, 0.0], np.float32)
    p = tf.Variable(np.array([0.1, 0.8, 0.6, 0.3], np.float32))
    with tf.GradientTape() as tape:
        loss = tf.keras.losses.mse(y, p)
    np.testing.assert_allclose(tape.gradient(loss, p).numpy(), 2 * (p.numpy() - y) / 4,
                               rtol=1e-6)
