"""Keras 3's ``gradient_accumulation_steps``: the gradients of that many steps are averaged
and applied on the last of them; ``iterations`` counts updates, the saved step count every
step. Numbers from Keras 3.15.1 (tensorflow-cpu 2.21), running the same six ``apply`` calls
on a variable ``[1, -2]`` and printing it after each."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import convnp as tf

keras = tf.keras

GRADS = ([0.5, 1.0], [1.5, -1.0], [0.2, 0.3], [-1.0, 2.0], [0.3, 0.3], [1.0, 1.0])

# (value after each apply, iterations), from Keras 3.15.1
KERAS = {
    "sgd": [([1.0, -2.0], 0), ([0.9, -2.0], 1), ([0.9, -2.0], 1), ([0.89, -2.115], 2),
            ([0.89, -2.115], 2), ([0.82, -2.2375], 3)],
    "adam": [([1.0, -2.0], 0), ([1.0, -2.0], 0), ([0.900001, -2.099996], 1),
             ([0.900001, -2.099996], 1), ([0.900001, -2.099996], 1),
             ([0.823552, -2.180167], 2)],
    "adam_clip_decay": [([1.0, -2.0], 0), ([0.890001, -1.98], 1), ([0.890001, -1.98], 1),
                        ([0.840682, -2.034612], 2), ([0.840682, -2.034612], 2),
                        ([0.770702, -2.098602], 3)],
}


def make(kind):
    if kind == "sgd":
        return keras.optimizers.SGD(0.1, momentum=0.5, gradient_accumulation_steps=2)
    if kind == "adam":
        return keras.optimizers.Adam(0.1, gradient_accumulation_steps=3)
    return keras.optimizers.Adam(0.1, gradient_accumulation_steps=2, clipnorm=0.5,
                                 weight_decay=0.1)


@pytest.mark.parametrize("kind", sorted(KERAS))
def test_steps_match_keras(kind):
    opt = make(kind)
    v = tf.Variable(np.array([1.0, -2.0], np.float32))
    opt.build([v])
    for grad, (want, iterations) in zip(GRADS, KERAS[kind]):
        opt.apply([np.array(grad, np.float32)], [v])
        np.testing.assert_allclose(v.numpy(), want, atol=2e-6)
        assert int(opt.iterations.numpy()) == iterations
    # Keras's variables: the step count (every step), the rate, the accumulators first
    names = [var.name for var in opt.variables]
    assert names[0] == "iteration" and int(opt.variables[0].numpy()) == len(GRADS)
    assert names[2].endswith("gradient_accumulator")


def test_fit_with_accumulation_is_fit_with_the_larger_batch():
    """Two steps of batch 2 averaged are one step of batch 4 (mean losses, no batch
    statistics)."""
    rng = np.random.default_rng(0)
    x = rng.random((8, 5)).astype(np.float32)
    y = rng.random((8, 1)).astype(np.float32)
    models = []
    for steps, batch in ((2, 2), (None, 4)):
        keras.utils.set_random_seed(3)
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="tanh"),
                                  keras.layers.Dense(1)])
        model.compile(keras.optimizers.Adam(0.05, gradient_accumulation_steps=steps), "mse")
        model.fit(x, y, batch_size=batch, epochs=3, shuffle=False, verbose=0)
        models.append(model)
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert int(models[0].optimizer.iterations.numpy()) == 6  # updates, as the batch-4 run
    assert int(models[1].optimizer.iterations.numpy()) == 6


def test_saved_and_restored_mid_accumulation(tmp_path):
    pytest.importorskip("h5py")
    rng = np.random.default_rng(1)
    x, y = rng.random((6, 3)).astype(np.float32), rng.random((6, 1)).astype(np.float32)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1, gradient_accumulation_steps=3), "mse")
    model.fit(x, y, batch_size=2, epochs=1, verbose=0)  # 3 steps: one update
    model.train_on_batch(x[:2], y[:2])  # one step into the next accumulation
    path = tmp_path / "acc.keras"
    model.save(path)
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    assert config["compile_config"]["optimizer"]["config"]["gradient_accumulation_steps"] == 3
    loaded = keras.models.load_model(path)
    assert loaded.optimizer.gradient_accumulation_steps == 3
    for m in (model, loaded):  # the two remaining steps of the accumulation, then the update
        m.train_on_batch(x[2:4], y[2:4])
        m.train_on_batch(x[4:], y[4:])
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert int(loaded.optimizer.iterations.numpy()) == 2


@pytest.mark.parametrize("bad", [1, -2, 2.5, True, "3"])  # 0: no accumulation, as Keras
def test_bad_step_counts_are_refused(bad):
    with pytest.raises(ValueError, match="gradient_accumulation_steps must be an integer"):
        keras.optimizers.Adam(gradient_accumulation_steps=bad)
