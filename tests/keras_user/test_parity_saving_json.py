"""A user's Model subclass through get_config / from_config / clone_model / to_json /
model_from_json, and the type of the error for a class nobody registered, as TF 2.21 (Keras
3.15.1) behaves; the expected values were printed by TF 2.21 for the same programs."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
X = np.ones((2, 4), np.float32)


class Extends(keras.Model):
    """keras.io's usual way: the base config extended with the constructor's arguments."""

    def __init__(self, units=2, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.d = keras.layers.Dense(units)

    def call(self, x):
        return self.d(x)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units})
        return config


class NoConfig(keras.Model):
    def __init__(self, units=3, act="relu", **kwargs):
        super().__init__(**kwargs)
        self.d = keras.layers.Dense(units, activation=act)

    def call(self, x):
        return self.d(x)


class Unregistered(keras.layers.Layer):
    def call(self, x):
        return x * 2.0


def test_super_get_config_of_a_subclassed_model_is_keras_base_config():
    # TF 2.21: sorted(config) == ['dtype', 'name', 'trainable', 'units'], and
    # Extends.from_config(config) and clone_model(model) give an Extends with units 3
    model = Extends(3, name="ext")
    model(X)
    config = model.get_config()
    assert sorted(config) == ["dtype", "name", "trainable", "units"]
    again = Extends.from_config(config)
    assert type(again) is Extends and again.units == 3 and again.name == "ext"
    clone = keras.models.clone_model(model)
    assert type(clone) is Extends and clone.units == 3
    # TF 2.21's clone of a built subclassed model is built (fresh weights)
    assert clone.built and len(clone.weights) == 2
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone(X), model(X))


def test_subclassed_model_without_get_config_clones_from_its_arguments():
    # TF 2.21: get_config() == {'units': ..., 'act': ..., 'trainable': True, 'dtype': ...}
    # and clone_model gives a NoConfig (convnp records the arguments given; TF 2.21's
    # config holds the constructor's defaults instead)
    model = NoConfig()
    model(X)
    config = model.get_config()
    assert {k: config[k] for k in ("units", "act", "trainable")} == {
        "units": 3, "act": "relu", "trainable": True}
    assert type(keras.models.clone_model(model)) is NoConfig
    assert NoConfig.from_config(config).d.units == 3


def test_subclassed_model_to_json_and_back():
    # TF 2.21: {"module": <the class's module, null for __main__>, "class_name": "Extends", "config": {...}, "registered_name":
    # "Extends", "build_config": {...}, "compile_config": {...}}; model_from_json with
    # custom_objects gives an Extends, built and (from a compiled model) compiled; without
    # them a TypeError
    keras.backend.clear_session()
    model = Extends(3, name="mysub")
    model(X)
    model.compile("adam", "mse")
    written = json.loads(model.to_json())
    assert [written[k] for k in ("module", "class_name", "registered_name")] == [
        Extends.__module__, "Extends", "Extends"]
    assert written["config"]["units"] == 3 and written["compile_config"]["loss"] == "mse"
    with pytest.raises(TypeError):
        keras.models.model_from_json(model.to_json())
    again = keras.models.model_from_json(model.to_json(), custom_objects={"Extends": Extends})
    assert type(again) is Extends and again.name == "mysub" and again.units == 3
    assert again.built and [tuple(w.shape) for w in again.weights] == [(4, 3), (3,)]
    assert again.optimizer is not None  # compiled from the JSON's compile_config
    again.fit(X, np.zeros((2, 3)), verbose=0)


def test_unbuilt_subclassed_model_to_json():
    # TF 2.21: no build_config, an empty compile_config; model_from_json gives it unbuilt
    written = json.loads(Extends(3, name="u").to_json())
    assert "build_config" not in written and written["compile_config"] == {}
    again = keras.models.model_from_json(json.dumps(written),
                                         custom_objects={"Extends": Extends})
    assert type(again) is Extends and not again.built


def test_subclassed_model_whose_get_config_leaves_out_arguments_cannot_be_json():
    # TF 2.21: NotImplementedError (Keras asks the class for a get_config)
    class Partial(keras.Model):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.d = keras.layers.Dense(units)

        def call(self, x):
            return self.d(x)

        def get_config(self):
            return super().get_config()

    model = Partial(2)
    model(X)
    with pytest.raises(NotImplementedError, match="units"):
        model.to_json()


def test_model_from_json_of_a_compiled_model_is_compiled():
    # TF 2.21: model_from_json(compiled.to_json()) is compiled (optimizer Adam, loss 'mse'):
    # fit runs at once
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile("adam", "mse", metrics=["mae"])
    again = keras.models.model_from_json(model.to_json())
    assert type(again.optimizer).__name__ == "Adam"
    history = again.fit(X, np.zeros((2, 2)), verbose=0)
    assert list(history.history) == ["loss", "mae"]


def test_unknown_class_in_a_keras_file_is_a_type_error(tmp_path):
    # TF 2.21: load_model of a .keras file naming a class it cannot find raises TypeError
    # ("could not be deserialized properly"), for a Sequential, functional or subclassed
    # model alike; convnp's error is a ValueError too (its old type)
    model = keras.Sequential([keras.Input((3,)), Unregistered(), keras.layers.Dense(1)])
    model.save(tmp_path / "s.keras")
    with pytest.raises(TypeError, match="Unregistered"):
        keras.models.load_model(tmp_path / "s.keras")
    with pytest.raises(ValueError, match="Unregistered"):
        keras.models.load_model(tmp_path / "s.keras")
    sub = Extends(2)
    sub(X)
    sub.save(tmp_path / "sub.keras")
    with pytest.raises(TypeError, match="Extends"):
        keras.models.load_model(tmp_path / "sub.keras")
    loaded = keras.models.load_model(tmp_path / "sub.keras", custom_objects={"Extends": Extends})
    np.testing.assert_allclose(loaded(X), sub(X))


def test_model_dtype_argument():
    # TF 2.21's Model takes dtype (a subclass's config carries it back); convnp's models
    # compute in float32 only
    assert Extends(dtype="float32").units == 2
    assert Extends(dtype={"module": "keras", "class_name": "DTypePolicy",
                          "config": {"name": "float32"}}).units == 2
    with pytest.raises(ValueError, match="float32"):
        Extends(dtype="float64")
