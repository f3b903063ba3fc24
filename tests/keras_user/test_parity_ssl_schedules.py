"""Learning-rate schedules as keras.io's self-supervised examples write them: SimSiam's
``CosineDecay`` in ``SGD``, Barlow Twins' own ``LearningRateSchedule`` subclass with a warmup
(``tf.cast(step, tf.float32)``, ``tf.where(step < warmup_steps, ...)``, ``get_config``).
Keras 3 calls a user's schedule with the optimizer's ``iterations``, an int64 variable, so
``step.dtype`` is int64 there. The expected numbers are TensorFlow 2.21's."""

from __future__ import annotations

import numpy as np

import convnp as tf
from tests.keras_user.test_parity_recipes_schedules import WarmUpCosine  # keras.io's

keras = tf.keras


class _Inverse(keras.optimizers.schedules.LearningRateSchedule):
    """Reads ``step.dtype``, which Keras 3's int64 step has."""

    def __init__(self):
        self.dtypes = []

    def __call__(self, step):
        self.dtypes.append(step.dtype)
        return 0.1 / (1.0 + tf.cast(step, tf.float32))

    def get_config(self):
        return {}


def _fit(schedule):
    model = keras.Sequential([keras.Input((3,)),
                              keras.layers.Dense(1, kernel_initializer="ones")])
    model.compile(keras.optimizers.SGD(schedule), "mse")
    model.fit(np.ones((4, 3), "float32"), np.zeros((4, 1), "float32"), batch_size=2,
              epochs=1, verbose=0, shuffle=False)
    return model


def test_a_users_schedule_gets_an_int64_step_in_fit():
    schedule = _Inverse()
    model = _fit(schedule)
    assert schedule.dtypes and all(d == tf.int64 for d in schedule.dtypes)
    # TF 2.21: two SGD steps at rates 0.1 and 0.05
    np.testing.assert_allclose(model.get_weights()[0].ravel(), [0.34] * 3, rtol=1e-6)
    assert round(float(model.optimizer.learning_rate), 6) == 0.033333


def test_barlow_twins_warmup_cosine_values_and_config():
    schedule = WarmUpCosine(learning_rate_base=0.1, total_steps=10, warmup_learning_rate=0.0,
                            warmup_steps=3)
    # TF 2.21's values at steps 0..11
    expected = [0.0, 0.033333, 0.066667, 0.1, 0.095048, 0.081174, 0.061126, 0.038874,
                0.018826, 0.004952, 0.0, 0.0]
    np.testing.assert_allclose([float(schedule(s)) for s in range(12)], expected, atol=1e-6)
    again = WarmUpCosine.from_config(schedule.get_config())
    assert round(float(again(5)), 6) == 0.081174
    optimizer = keras.optimizers.Adam(learning_rate=schedule)
    assert optimizer.get_config()["learning_rate"]["config"] == schedule.get_config()


def test_simsiam_cosine_decay_in_sgd_with_momentum():
    decay = keras.optimizers.schedules.CosineDecay(initial_learning_rate=0.03, decay_steps=4)
    # TF 2.21
    np.testing.assert_allclose([float(decay(s)) for s in range(6)],
                               [0.03, 0.025607, 0.015, 0.004393, 0.0, 0.0], atol=1e-6)
    warm = keras.optimizers.schedules.CosineDecay(0.0, 10, alpha=0.1, warmup_target=0.1,
                                                  warmup_steps=4)
    np.testing.assert_allclose([float(warm(s)) for s in (0, 2, 4, 9, 14, 20)],
                               [0.0, 0.05, 0.1, 0.055, 0.01, 0.01], atol=1e-6)
    model = _fit(decay)
    assert int(model.optimizer.iterations) == 2
    assert round(float(model.optimizer.learning_rate), 6) == 0.015
