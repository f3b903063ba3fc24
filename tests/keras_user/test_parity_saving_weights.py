"""save_weights / load_weights of a compiled model: Keras 3's ``.weights.h5`` holds the
optimizer state beside the layers' weights, and ``load_weights`` gives it back to a built
optimizer of the same kind, so training goes on with the same next loss. The expected
behaviour (groups, step counts, warnings) is TF 2.21's (Keras 3.15.1) for the same programs;
TF 2.21 and convnp also read each other's files this way."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import convnp as tf

h5py = pytest.importorskip("h5py")
keras = tf.keras
rng = np.random.default_rng(0)
X = rng.random((8, 5)).astype("float32")
Y = rng.random((8, 1)).astype("float32")


def _model(optimizer="adam", compile=True):
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    if compile:
        model.compile(keras.optimizers.get(optimizer), "mse")
    return model


def _fit(model):
    return model.fit(X, Y, epochs=1, batch_size=4, shuffle=False, verbose=0).history["loss"][0]


def test_weights_file_of_a_trained_model_holds_its_optimizer(tmp_path):
    # TF 2.21: top-level groups ['layers', 'optimizer', 'vars'], optimizer/vars/0..9 for
    # Adam on two Dense layers (step count, rate, then the slots)
    model = _model()
    _fit(model)
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5", "r") as f:
        assert sorted(f) == ["layers", "optimizer", "vars"]
        assert len(f["optimizer/vars"]) == 10
        assert int(f["optimizer/vars/0"][()]) == 2
    uncompiled = _model(compile=False)
    uncompiled.save_weights(tmp_path / "u.weights.h5")
    with h5py.File(tmp_path / "u.weights.h5", "r") as f:
        assert "optimizer" not in f


def test_load_weights_into_a_built_optimizer_resumes_training(tmp_path):
    # TF 2.21: after optimizer.build(...) and load_weights, iterations == 2 and the next
    # epoch's loss is the uninterrupted run's
    model = _model()
    _fit(model)
    model.save_weights(tmp_path / "w.weights.h5")
    model.save(tmp_path / "m.keras")
    expected = _fit(model)
    for path in ("w.weights.h5", "m.keras"):  # a .keras file's optimizer state too
        again = _model()
        again.optimizer.build(again.trainable_variables)
        again.load_weights(tmp_path / path)
        assert int(again.optimizer.iterations.numpy()) == 2
        assert _fit(again) == pytest.approx(expected, rel=1e-6)


def test_optimizer_state_that_does_not_fit_is_skipped_with_a_warning(tmp_path):
    # TF 2.21: an optimizer not built yet, or of another kind, keeps its own state, with
    # the warning "Skipping variable loading for optimizer ..."; the layers are loaded
    model = _model()
    _fit(model)
    model.save_weights(tmp_path / "w.weights.h5")
    for again in (_model(), _model("sgd")):
        if again.optimizer.name == "sgd":
            again.optimizer.build(again.trainable_variables)
        with pytest.warns(UserWarning, match="Skipping variable loading for optimizer|"
                                             "optimizer starts fresh"):
            again.load_weights(tmp_path / "w.weights.h5")
        assert int(again.optimizer.iterations.numpy()) == 0
        for a, b in zip(again.get_weights(), model.get_weights()):
            np.testing.assert_array_equal(a, b)
    # an uncompiled model takes the layers' weights and says nothing
    plain = _model(compile=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plain.load_weights(tmp_path / "w.weights.h5")


def test_a_compiled_model_that_never_stepped_writes_step_count_and_rate(tmp_path):
    # TF 2.21: optimizer/vars holds ['0', '1'] (iterations, learning_rate) before the first
    # step, in .weights.h5 and in a .keras file's weights; loading it back says nothing
    model = _model()
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5", "r") as f:
        assert sorted(f["optimizer/vars"]) == ["0", "1"]
    again = _model()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again.load_weights(tmp_path / "w.weights.h5")
    assert int(again.optimizer.iterations.numpy()) == 0
