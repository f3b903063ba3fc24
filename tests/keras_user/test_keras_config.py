"""``tf.keras.config``: Keras 3's settings namespace (keras.io scripts call
``keras.config.enable_unsafe_deserialization()`` or ``disable_interactive_logging()``), the
epsilon the losses clip by, and the debugging caps on epochs and steps. Expected values are
TensorFlow 2.21's, read off the same programs run there."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import convnp as tf
from convnp import _settings

K = tf.keras

# what tf.keras.config holds in TensorFlow 2.21
TF_NAMES = ["backend", "disable_flash_attention", "disable_interactive_logging",
            "disable_traceback_filtering", "dtype_policy", "enable_flash_attention",
            "enable_interactive_logging", "enable_traceback_filtering",
            "enable_unsafe_deserialization", "epsilon", "floatx", "image_data_format",
            "is_flash_attention_enabled", "is_interactive_logging_enabled", "is_nnx_enabled",
            "is_traceback_filtering_enabled", "max_epochs", "max_steps_per_epoch", "set_backend",
            "set_dtype_policy", "set_epsilon", "set_floatx", "set_image_data_format",
            "set_max_epochs", "set_max_steps_per_epoch"]


@pytest.fixture(autouse=True)
def _restore_settings(monkeypatch):
    # caps never set (the environment decides), put back afterwards, as the other settings
    monkeypatch.setattr(_settings, "_caps", dict.fromkeys(_settings._caps, _settings._UNSET))
    monkeypatch.setattr(K.config, "_flash_attention", [None])
    monkeypatch.delenv("KERAS_MAX_EPOCHS", raising=False)
    monkeypatch.delenv("KERAS_MAX_STEPS_PER_EPOCH", raising=False)
    yield
    K.config.set_epsilon(_settings.DEFAULT_EPSILON)
    K.config.enable_interactive_logging()


def _model():
    model = K.Sequential([K.Input((3,)), K.layers.Dense(1)])
    model.compile("sgd", "mse")
    rng = np.random.default_rng(0)
    return model, rng.random((40, 3), dtype=np.float32), rng.random((40, 1), dtype=np.float32)


def test_every_name_of_tensorflows_namespace_is_there():
    missing = [name for name in TF_NAMES if not callable(getattr(K.config, name, None))]
    assert missing == []


def test_defaults_as_tensorflow():
    assert K.config.max_epochs() is None and K.config.max_steps_per_epoch() is None
    assert K.config.epsilon() == 1e-7
    assert (K.config.floatx(), K.config.image_data_format(), K.config.backend()) == (
        "float32", "channels_last", "tensorflow")
    assert K.config.is_interactive_logging_enabled() is True
    assert K.config.is_flash_attention_enabled() is None
    assert K.config.is_nnx_enabled() is False
    assert K.config.dtype_policy().name == "float32"


def test_set_epsilon_changes_the_clip_of_the_losses_computed_afterwards():
    # TF 2.21: binary crossentropy of a certain 1 against 1 is -log(1 - epsilon)
    K.config.set_epsilon(1e-3)
    assert K.config.epsilon() == K.backend.epsilon() == 1e-3
    value = float(K.losses.binary_crossentropy(np.array([1.0]), np.array([1.0])))
    assert value == pytest.approx(-math.log(1 - 1e-3), rel=1e-6)
    K.backend.set_epsilon(1e-7)  # Keras 2's spelling of the same switch
    value = float(K.losses.binary_crossentropy(np.array([1.0]), np.array([1.0])))
    assert value == pytest.approx(-math.log(1 - 1e-7), rel=1e-3)


def test_set_epsilon_reaches_constraints_and_normalization():
    K.config.set_epsilon(0.5)
    # UnitNorm divides by (epsilon + norm): a unit vector comes out 1 / 1.5 long
    w = np.array([[1.0], [0.0]], dtype=np.float32)
    assert float(np.linalg.norm(K.constraints.UnitNorm(axis=0)(w))) == pytest.approx(1 / 1.5)
    # Normalization divides by max(std, epsilon): a constant feature is divided by 0.5
    layer = K.layers.Normalization(mean=0.0, variance=0.0)
    assert float(np.asarray(layer(np.array([[1.0]], dtype=np.float32)))[0, 0]) == 2.0


@pytest.mark.parametrize("value, error", [("a", TypeError), (True, TypeError), (0, ValueError),
                                          (-1e-3, ValueError), (float("nan"), ValueError)])
def test_set_epsilon_refuses_what_is_not_a_positive_number(value, error):
    with pytest.raises(error, match="set_epsilon"):
        K.config.set_epsilon(value)
    assert K.config.epsilon() == 1e-7


def test_max_epochs_and_steps_cap_fit_evaluate_and_predict_with_keras_warnings():
    model, x, y = _model()
    K.config.set_max_epochs(2)
    K.config.set_max_steps_per_epoch(3)
    assert (K.config.max_epochs(), K.config.max_steps_per_epoch()) == (2, 3)
    with pytest.warns(UserWarning) as caught:
        history = model.fit(x, y, batch_size=4, epochs=5, verbose=0)
    messages = [str(w.message) for w in caught]
    assert "Limiting epochs to 2" in messages and "Limiting steps_per_epoch to 3" in messages
    assert all(w.filename == __file__ for w in caught)  # at the user's fit line
    assert len(history.history["loss"]) == 2
    assert (history.params["epochs"], history.params["steps"]) == (2, 3)
    with pytest.warns(UserWarning, match="Limiting steps_per_epoch to 3"):
        assert model.predict(x, batch_size=4, verbose=0).shape == (12, 1)
    seen = []

    class Batches(K.callbacks.Callback):
        def on_test_batch_end(self, batch, logs=None):
            seen.append(batch)

    with pytest.warns(UserWarning, match="Limiting steps_per_epoch"):
        model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[Batches()])
    assert seen == [0, 1, 2]
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    with pytest.warns(UserWarning, match="Limiting steps_per_epoch"):
        assert model.predict(dataset, verbose=0).shape == (12, 1)


def test_caps_lifted_by_none_and_quiet_when_not_reached():
    model, x, y = _model()
    K.config.set_max_epochs(2)
    K.config.set_max_epochs(None)
    K.config.set_max_steps_per_epoch(100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = model.fit(x, y, batch_size=4, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 3 and history.params["steps"] == 10


def test_caps_from_the_environment_and_settings_win(monkeypatch):
    model, x, y = _model()
    monkeypatch.setenv("KERAS_MAX_EPOCHS", "1")
    assert K.config.max_epochs() == 1
    with pytest.warns(UserWarning, match="Limiting epochs to 1"):
        assert len(model.fit(x, y, epochs=4, verbose=0).history["loss"]) == 1
    K.config.set_max_epochs(3)
    assert K.config.max_epochs() == 3
    monkeypatch.setenv("KERAS_MAX_STEPS_PER_EPOCH", "many")
    with pytest.raises(ValueError, match="KERAS_MAX_STEPS_PER_EPOCH"):
        K.config.max_steps_per_epoch()


@pytest.mark.parametrize("value, error", [(0, ValueError), (-2, ValueError), (2.5, TypeError),
                                          ("3", TypeError), (True, TypeError)])
def test_caps_refuse_what_is_not_a_positive_int(value, error):
    with pytest.raises(error, match="set_max_epochs"):
        K.config.set_max_epochs(value)
    with pytest.raises(error, match="set_max_steps_per_epoch"):
        K.config.set_max_steps_per_epoch(value)


def test_the_switches_that_only_answer():
    K.config.enable_unsafe_deserialization()  # nothing to unlock: convnp files hold no code
    K.config.disable_interactive_logging()
    assert K.config.is_interactive_logging_enabled() is False
    K.config.enable_interactive_logging()
    assert K.config.is_interactive_logging_enabled() is True
    K.config.enable_traceback_filtering()
    assert K.config.is_traceback_filtering_enabled() is False  # never filtered here
    K.config.disable_flash_attention()
    assert K.config.is_flash_attention_enabled() is False
    K.config.enable_flash_attention()
    assert K.config.is_flash_attention_enabled() is True
    K.config.set_backend("tensorflow")
    K.config.set_dtype_policy("float32")


@pytest.mark.parametrize("call", [lambda: K.config.set_backend("jax"),
                                  lambda: K.config.set_floatx("float64"),
                                  lambda: K.config.set_image_data_format("channels_first"),
                                  lambda: K.config.set_dtype_policy("mixed_float16")])
def test_settings_convnp_cannot_take_are_refused_with_the_reason(call):
    with pytest.raises(ValueError, match="not supported"):
        call()
