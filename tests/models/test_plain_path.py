"""The plain-path switch (`convnp.config`): with it on, a training step visits exactly the
layers of the model as written, each through its own call/backward, and computes what the
fast schedule computes."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp import config
from tests.helpers import assert_paths_agree, train_on_both_paths

tfl = tf.keras.layers


def _model(seed=0):
    """Every rewrite the scheduler knows applies somewhere in this model."""
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input(shape=(8, 8, 3))
    z = tfl.Conv2D(4, 3, padding="same")(inputs)
    z = tfl.MaxPool2D(2)(tfl.ReLU()(z))                        # ReLU/pool swap + conv+pool
    z = tfl.Conv2D(6, 3, padding="same", use_bias=False)(z)
    z = tfl.MaxPool2D(2)(tfl.BatchNormalization()(z))          # BN + pool
    shortcut = z
    z = tfl.Conv2D(6, 1)(z)
    z = tfl.Activation("relu")(tfl.BatchNormalization()(z))    # BN + ReLU
    z = tfl.Conv2D(6, 1)(z)
    z = tfl.ReLU()(tfl.Add()([tfl.BatchNormalization()(z), shortcut]))  # BN + Add + ReLU
    outputs = tfl.Dense(3, activation="softmax")(tfl.Flatten()(z))
    model = tf.keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    return model


def _data(seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((6, 8, 8, 3)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 6)]
    return x, y


def _spy(model, monkeypatch) -> list:
    visits = []
    for layer in model.layers:
        for method in ("call", "backward"):
            original = getattr(layer, method)

            def spy(*args, _original=original, _name=f"{method}:{layer.name}", **kwargs):
                visits.append(_name)
                return _original(*args, **kwargs)

            monkeypatch.setattr(layer, method, spy)
    return visits


def test_a_plain_training_step_visits_exactly_the_layers_as_written(monkeypatch):
    model = _model()
    x, y = _data()
    fast_kinds = {type(n.layer).__name__ for n in model._graph.schedule}
    assert {"ConvMaxPool", "BatchNormMaxPool", "BatchNormReLU"} <= fast_kinds
    visits = _spy(model, monkeypatch)
    with config.plain_path():
        assert [n.layer for n in model._graph.schedule] == [n.layer for n in model._graph.nodes]
        model.train_on_batch(x, y)
    written = [layer.name for layer in model.layers if not isinstance(layer, tfl.InputLayer)]
    calls = [v.split(":", 1)[1] for v in visits if v.startswith("call:")]
    backwards = [v.split(":", 1)[1] for v in visits if v.startswith("backward:")]
    assert sorted(calls) == sorted(written) and len(calls) == len(written)
    assert calls == [n.layer.name for n in model._graph.nodes]
    # every layer has something trainable upstream or its own weights: all run backward,
    # in reverse order of the forward
    assert backwards == calls[::-1]


def test_the_fast_schedule_skips_the_absorbed_layers(monkeypatch):
    model = _model()
    x, y = _data()
    visits = _spy(model, monkeypatch)
    model.train_on_batch(x, y)
    calls = [v for v in visits if v.startswith("call:")]
    assert len(calls) < len(model.layers) - 1  # the fused units call no layer's `call`


def test_both_paths_give_the_same_loss_and_gradients():
    x, y = _data()
    assert_paths_agree(train_on_both_paths(_model, x, y, steps=2))


def test_switching_between_forward_and_backward_follows_the_forward():
    model = _model()
    x, y = _data()
    model.train_on_batch(x, y)  # plans backward for the fast schedule
    with config.plain_path():
        loss = model.train_on_batch(x, y)  # must re-plan, not reuse the fast plan
    assert np.isfinite(loss)


def test_the_switch_api(monkeypatch):
    monkeypatch.delenv(config.ENVIRONMENT_VARIABLE, raising=False)
    assert not config.plain_path_enabled()
    monkeypatch.setenv(config.ENVIRONMENT_VARIABLE, "1")
    assert config.plain_path_enabled()
    with config.plain_path(False):
        assert not config.plain_path_enabled()
    assert config.plain_path_enabled()
    monkeypatch.setenv(config.ENVIRONMENT_VARIABLE, "0")
    assert not config.plain_path_enabled()
    try:
        config.set_plain_path(True)
        assert config.plain_path_enabled()
        assert tf.config.plain_path_enabled()
    finally:
        config.set_plain_path(None)
    assert not config.plain_path_enabled()
    with pytest.raises(TypeError, match="expected True, False or None, got 'yes'"):
        config.set_plain_path("yes")
    with pytest.raises(TypeError, match="expected True or False, got 1"), config.plain_path(1):
        pass
