"""A model compiled with a user's LearningRateSchedule subclass (keras.io's warm-up cosine)
saves to .keras as Keras 3 writes it (the schedule by class name, ``"module": null``, with its
get_config), and loads with the class given, going on from the saved step. Refused before:
the optimizer's check looked the class up among convnp's schedules."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
ops = keras.ops


class WarmUpCosine(keras.optimizers.schedules.LearningRateSchedule):
    def __init__(self, base, total_steps, warmup_steps):
        super().__init__()
        self.base, self.total_steps, self.warmup_steps = base, total_steps, warmup_steps

    def __call__(self, step):
        step = ops.cast(step, "float32")
        cosine = 0.5 * self.base * (1 + ops.cos(np.pi * (step - self.warmup_steps)
                                                / (self.total_steps - self.warmup_steps)))
        return ops.where(step < self.warmup_steps, self.base * step / self.warmup_steps, cosine)

    def get_config(self):
        return {"base": self.base, "total_steps": self.total_steps,
                "warmup_steps": self.warmup_steps}


def _trained():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3)])
    model.compile(keras.optimizers.AdamW(WarmUpCosine(1e-2, 20, 4), weight_decay=1e-4), "mse")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 6)).astype(np.float32), rng.normal(size=(16, 3))
    model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    return model, x, y


def test_a_user_schedule_saves_as_keras_writes_it_and_loads(tmp_path):
    pytest.importorskip("h5py")
    model, x, y = _trained()
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        config = json.loads(archive.read("config.json"))
    rate = config["compile_config"]["optimizer"]["config"]["learning_rate"]
    assert rate == {"module": None, "class_name": "WarmUpCosine",
                    "config": {"base": 0.01, "total_steps": 20, "warmup_steps": 4},
                    "registered_name": "WarmUpCosine"}
    loaded = keras.models.load_model(tmp_path / "m.keras",
                                     custom_objects={"WarmUpCosine": WarmUpCosine})
    assert int(loaded.optimizer.iterations.numpy()) == 8
    assert isinstance(loaded.optimizer._schedule, WarmUpCosine)
    # one more epoch from the file trains exactly as the model in memory
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    loaded.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_loading_without_the_class_warns_and_loads_uncompiled(tmp_path):
    # Keras 3 likewise loads the weights and skips the compile state with a warning
    pytest.importorskip("h5py")
    model, x, _ = _trained()
    model.save(tmp_path / "m.keras")
    with pytest.warns(UserWarning, match="custom_objects=.'WarmUpCosine'"):
        loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.optimizer is None
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
