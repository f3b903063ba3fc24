"""keras.io's warmup-cosine learning-rate schedule (a `LearningRateSchedule` subclass with
`get_config`) in an optimizer: its rates, and the optimizer rebuilt from its config with the
class given in ``custom_objects``, as TensorFlow 2.21 does.

The expected values below were read from TensorFlow 2.21 running the same programs."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras


class WarmUpCosine(keras.optimizers.schedules.LearningRateSchedule):
    def __init__(self, learning_rate_base, total_steps, warmup_learning_rate, warmup_steps):
        super().__init__()
        self.learning_rate_base = learning_rate_base
        self.total_steps = total_steps
        self.warmup_learning_rate = warmup_learning_rate
        self.warmup_steps = warmup_steps
        self.pi = tf.constant(np.pi)

    def __call__(self, step):
        cosine = tf.cos(self.pi * (tf.cast(step, tf.float32) - self.warmup_steps)
                        / float(self.total_steps - self.warmup_steps))
        rate = 0.5 * self.learning_rate_base * (1 + cosine)
        slope = (self.learning_rate_base - self.warmup_learning_rate) / self.warmup_steps
        warmup_rate = slope * tf.cast(step, tf.float32) + self.warmup_learning_rate
        rate = tf.where(step < self.warmup_steps, warmup_rate, rate)
        return tf.where(step > self.total_steps, 0.0, rate, name="learning_rate")

    def get_config(self):
        return {"learning_rate_base": self.learning_rate_base, "total_steps": self.total_steps,
                "warmup_learning_rate": self.warmup_learning_rate,
                "warmup_steps": self.warmup_steps}


def _schedule():
    return WarmUpCosine(learning_rate_base=0.1, total_steps=10, warmup_learning_rate=0.0,
                        warmup_steps=3)


def test_the_schedule_rates():
    # TF 2.21, steps 0..11
    rates = [float(_schedule()(step)) for step in range(12)]
    assert rates == pytest.approx([0.0, 0.03333, 0.06667, 0.1, 0.09505, 0.08117, 0.06113,
                                   0.03887, 0.01883, 0.00495, 0.0, 0.0], abs=1e-5)


def test_optimizer_from_config_takes_custom_objects():
    # TF 2.21: Optimizer.from_config(config, custom_objects=...) finds the schedule class
    # (convnp refused the argument: TypeError)
    config = keras.optimizers.SGD(learning_rate=_schedule(), momentum=0.9).get_config()
    rebuilt = keras.optimizers.SGD.from_config(config, custom_objects={"WarmUpCosine": WarmUpCosine})
    assert isinstance(rebuilt, keras.optimizers.SGD)
    assert rebuilt.get_config()["momentum"] == pytest.approx(0.9)
    variable = tf.Variable([1.0])
    for _ in range(2):  # steps 0 and 1 of the schedule: rates 0 and 1/30
        rebuilt.apply_gradients([(tf.constant([1.0]), variable)])
    assert float(np.asarray(variable)[0]) == pytest.approx(1.0 - 0.1 / 3, abs=1e-6)


def test_optimizer_from_config_keeps_custom_objects_optional():
    config = keras.optimizers.Adam(learning_rate=0.01).get_config()
    assert keras.optimizers.Adam.from_config(config).get_config()["learning_rate"] == \
        pytest.approx(0.01)
    with pytest.raises((TypeError, ValueError)):  # the schedule's class is not known
        keras.optimizers.SGD.from_config(keras.optimizers.SGD(_schedule()).get_config())


def test_wrappers_from_config_take_custom_objects():
    # TF 2.21: LossScaleOptimizer.from_config(config, custom_objects=...) too
    inner = keras.optimizers.SGD(learning_rate=_schedule())
    config = keras.optimizers.LossScaleOptimizer(inner).get_config()
    rebuilt = keras.optimizers.LossScaleOptimizer.from_config(
        config, custom_objects={"WarmUpCosine": WarmUpCosine})
    assert isinstance(rebuilt.inner_optimizer, keras.optimizers.SGD)
