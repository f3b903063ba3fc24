"""An optimizer without slots (SGD without momentum) keeps only its step count (and its rate)
in a Keras file, after stepping as before it: loading must restore that count, or a
learning-rate schedule starts over (keras.io's CT-scan example: SGD/Adam with ExponentialDecay,
ModelCheckpoint to .keras). Keras 3.15 reads optimizer/vars/0 as the iteration count."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

pytest.importorskip("h5py")


def _trained(optimizer):
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    x = np.linspace(0, 1, 24, dtype=np.float32).reshape(8, 3)
    model.fit(x, np.ones((8, 1), np.float32), batch_size=2, epochs=2, verbose=0)
    return model, x


@pytest.mark.parametrize("name", ["m.keras", "m.h5"])
def test_sgd_step_count_and_schedule_survive_a_reload(tmp_path, name):
    schedule = tf.keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=3,
                                                              decay_rate=0.5)
    model, x = _trained(tf.keras.optimizers.SGD(schedule))
    assert int(model.optimizer.iterations) == 8
    model.save(tmp_path / name)
    loaded = tf.keras.models.load_model(tmp_path / name)
    assert int(loaded.optimizer.iterations) == 8
    assert float(loaded.optimizer.learning_rate) == pytest.approx(
        float(model.optimizer.learning_rate))
    # the next steps use the same rates: the two models stay equal
    y = np.zeros((8, 1), np.float32)
    model.fit(x, y, batch_size=4, verbose=0, shuffle=False)
    loaded.fit(x, y, batch_size=4, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_constant_rate_sgd_keeps_its_count_and_a_fresh_adam_stays_fresh(tmp_path):
    model, _ = _trained(tf.keras.optimizers.SGD(0.05))
    model.save(tmp_path / "sgd.keras")
    assert int(tf.keras.models.load_model(tmp_path / "sgd.keras").optimizer.iterations) == 8
    fresh = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(1)])
    fresh.compile(optimizer="adam", loss="mse")
    fresh.save(tmp_path / "adam.keras")
    assert int(tf.keras.models.load_model(tmp_path / "adam.keras").optimizer.iterations) == 0
