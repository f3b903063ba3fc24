"""Learning-rate schedules read as Keras code reads them, as in TensorFlow 2.21.

The expected values below were read from TensorFlow 2.21 running the same calls."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

schedules = tf.keras.optimizers.schedules


def _all():
    return [schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5, staircase=True),
            schedules.PiecewiseConstantDecay([2, 4], [0.1, 0.05, 0.01]),
            schedules.CosineDecay(0.1, decay_steps=4, alpha=0.1),
            schedules.PolynomialDecay(0.1, 4, end_learning_rate=0.01, power=2.0),
            schedules.InverseTimeDecay(0.1, 1, 0.5),
            schedules.CosineDecayRestarts(0.1, 2)]


@pytest.mark.parametrize("schedule", _all(), ids=lambda s: type(s).__name__)
def test_one_step_gives_a_value_with_numpy(schedule):
    # TF 2.21: schedule(step) is a float32 scalar tensor; `.numpy()` (used to print or plot a
    # schedule) gives a np.float32. convnp gave a bare float, without `.numpy()`.
    value = schedule(3)
    assert isinstance(value.numpy(), np.float32)
    assert value.dtype == tf.float32
    assert float(value) == pytest.approx(float(value.numpy()))


def test_values_at_each_step():
    # TF 2.21, steps 0..6, rounded to 6 places.
    expected = {
        "ExponentialDecay": [0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125],
        "PiecewiseConstantDecay": [0.1, 0.1, 0.1, 0.05, 0.05, 0.01, 0.01],
        "CosineDecay": [0.1, 0.08682, 0.055, 0.02318, 0.01, 0.01, 0.01],
        "PolynomialDecay": [0.1, 0.060625, 0.0325, 0.015625, 0.01, 0.01, 0.01],
        "InverseTimeDecay": [0.1, 0.066667, 0.05, 0.04, 0.033333, 0.028571, 0.025],
        "CosineDecayRestarts": [0.1, 0.05, 0.1, 0.085355, 0.05, 0.014645, 0.1],
    }
    for schedule in _all():
        got = [round(float(schedule(step).numpy()), 6) for step in range(7)]
        assert got == pytest.approx(expected[type(schedule).__name__], abs=1e-6)


def test_step_counts_stay_ints_in_the_config():
    # TF 2.21: get_config() keeps decay_steps as given: {'decay_steps': 2, ...}; convnp
    # showed 2.0.
    assert schedules.ExponentialDecay(0.1, 2, 0.5).get_config()["decay_steps"] == 2
    assert isinstance(schedules.ExponentialDecay(0.1, 2, 0.5).get_config()["decay_steps"], int)
    assert isinstance(schedules.CosineDecay(0.1, 4).get_config()["decay_steps"], int)
    assert isinstance(schedules.PolynomialDecay(0.1, 4).get_config()["decay_steps"], int)
    assert isinstance(schedules.InverseTimeDecay(0.1, 1, 0.5).get_config()["decay_steps"], int)
    restarts = schedules.CosineDecayRestarts(0.1, 2).get_config()
    assert isinstance(restarts["first_decay_steps"], int)
    # a float given stays a float
    assert schedules.ExponentialDecay(0.1, 2.5, 0.5).get_config()["decay_steps"] == 2.5


def test_an_optimizer_follows_the_schedule():
    # TF 2.21: SGD(learning_rate=ExponentialDecay(0.1, 2, 0.5, staircase=True)), five updates
    # with gradient 1: learning_rate after each [0.1, 0.05, 0.05, 0.025, 0.025], weights 0.675.
    optimizer = tf.keras.optimizers.SGD(
        learning_rate=schedules.ExponentialDecay(0.1, 2, 0.5, staircase=True))
    weight = tf.Variable(np.ones(2, "float32"))
    rates = []
    for _ in range(5):
        optimizer.apply_gradients([(tf.constant(np.ones(2, "float32")), weight)])
        rates.append(round(float(optimizer.learning_rate), 6))
    assert rates == [0.1, 0.05, 0.05, 0.025, 0.025]
    assert int(optimizer.iterations) == 5
    np.testing.assert_allclose(weight.numpy(), [0.675, 0.675], atol=1e-6)
