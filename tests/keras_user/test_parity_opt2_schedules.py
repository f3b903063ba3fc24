"""Learning-rate schedules together with Keras 3's gradient accumulation: TF 2.21 reads the
schedule at its raw step counter (every step, not every update), so the first update of
``gradient_accumulation_steps=2`` takes the schedule's value at step 1.

The expected values below were read from TensorFlow 2.21 running the same programs."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras


def test_schedule_is_read_at_every_step_under_accumulation():
    # TF 2.21: the rate after each step and the variable after each step (convnp read the
    # schedule at the update count: 0.1, 0.07071, 0.07071, 0.05, and updated with 0.1 first)
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 2, 0.5)
    opt = keras.optimizers.SGD(schedule, gradient_accumulation_steps=2)
    v = tf.Variable([1.0, -2.0])
    rates, values = [], []
    for k in range(4):
        opt.apply_gradients([(tf.constant([1.0, 2.0]) * (k + 1), v)])
        rates.append(float(opt.learning_rate))
        values.append(v.numpy().tolist())
    assert rates == pytest.approx([0.070711, 0.05, 0.035355, 0.025], abs=1e-6)
    assert np.array(values) == pytest.approx(np.array(
        [[1.0, -2.0], [0.893934, -2.212132], [0.893934, -2.212132], [0.770190, -2.459619]]),
        abs=1e-5)
    assert int(opt.iterations) == 2


def test_adam_with_piecewise_schedule_under_accumulation():
    # TF 2.21: the two updates take the rates at steps 1 and 3 (0.01 and 0.001)
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([1, 3], [0.1, 0.01, 0.001])
    opt = keras.optimizers.Adam(schedule, gradient_accumulation_steps=2)
    v = tf.Variable([1.0, -2.0])
    for k in range(4):
        opt.apply_gradients([(tf.constant([1.0, 2.0]) * (k + 1), v)])
    assert v.numpy() == pytest.approx([0.890522, -2.109478], abs=1e-5)


def test_fit_with_schedule_and_accumulation():
    # TF 2.21: losses and first weights after two epochs of 4 batches
    rng = np.random.default_rng(1)
    x = rng.normal(size=(16, 4)).astype("float32")
    y = rng.normal(size=(16, 2)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="tanh"),
                              keras.layers.Dense(2)])
    model.set_weights([np.round(np.cos(np.arange(w.size).reshape(w.shape) * 0.7) * 0.4, 4)
                       .astype("float32") for w in model.get_weights()])
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 2, 0.5)
    model.compile(optimizer=keras.optimizers.SGD(schedule, gradient_accumulation_steps=2),
                  loss="mse")
    history = model.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    # (convnp before: losses 0.926918, 0.848797)
    assert history.history["loss"] == pytest.approx([0.933677, 0.884937], abs=1e-5)
    assert model.get_weights()[0].ravel()[:3] == pytest.approx([0.409588, 0.296825, 0.06135],
                                                               abs=1e-5)


@keras.utils.register_keras_serializable(package="opt2")
class _FlatRate(keras.optimizers.schedules.LearningRateSchedule):
    def __call__(self, step):
        return 0.1

    def get_config(self):
        return {}


def test_schedules_serialize_as_keras_3():
    # TF 2.21: module and registered name around class_name and config; a user's class by
    # its class name with the registered name beside it (convnp: class_name and config
    # only, a registered class as "package>Name")
    schedules = keras.optimizers.schedules
    written = schedules.serialize(schedules.ExponentialDecay(0.1, 10, 0.5))
    assert written == {"module": "keras.optimizers.schedules", "class_name": "ExponentialDecay",
                       "config": {"initial_learning_rate": 0.1, "decay_steps": 10,
                                  "decay_rate": 0.5, "staircase": False,
                                  "name": "ExponentialDecay"},
                       "registered_name": None}
    assert type(schedules.deserialize(written)) is schedules.ExponentialDecay
    written = schedules.serialize(_FlatRate())
    assert (written["class_name"], written["config"], written["registered_name"]) == (
        "_FlatRate", {}, "opt2>_FlatRate")
    assert type(schedules.deserialize(written)) is _FlatRate
    assert keras.optimizers.Adam(_FlatRate()).get_config()["learning_rate"] == written
    assert schedules.serialize(None) is None
