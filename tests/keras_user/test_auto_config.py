"""A user's layer with no get_config of its own gets its constructor's arguments as its config,
as Keras 3 does (keras.io's MLP-Mixer ``Patches`` and ``MLPMixerLayer`` write none, and Keras
3 saves and reloads the model). Expected configs printed by Keras 3.15.1 for the same classes
(dtype aside: Keras writes a DTypePolicy there)."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras


class Patches(keras.layers.Layer):
    def __init__(self, patch_size, **kwargs):
        super().__init__(**kwargs)
        self.patch_size = patch_size

    def call(self, x):
        return x * 2.0


class Mixer(keras.layers.Layer):
    def __init__(self, num_patches, hidden_units, dropout_rate=0.1, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.dense = keras.layers.Dense(hidden_units)

    def call(self, x):
        return self.dense(x)


class NoKwargs(keras.layers.Layer):
    def __init__(self, units, scale=(1, 2)):
        super().__init__()
        self.units = units

    def call(self, x):
        return x


class Holder(keras.layers.Layer):
    def __init__(self, inner, **kwargs):
        super().__init__(**kwargs)
        self.inner = inner

    def call(self, x):
        return self.inner(x)


class Written(keras.layers.Layer):
    def __init__(self, k, **kwargs):
        super().__init__(**kwargs)
        self.k = k

    def get_config(self):
        return {**super().get_config(), "k2": self.k}


class MyDense(keras.layers.Dense):
    def __init__(self, units, extra=3, **kwargs):
        super().__init__(units, **kwargs)


def test_configs_as_keras_3():
    assert Patches(4, name="p").get_config() == {
        "name": "p", "patch_size": 4, "trainable": True, "dtype": "float32"}
    assert Mixer(16, 8, name="m").get_config() == {
        "name": "m", "num_patches": 16, "hidden_units": 8, "dropout_rate": 0.1,
        "trainable": True, "dtype": "float32"}
    config = Mixer(16, 8, 0.3, trainable=False).get_config()
    assert (config["dropout_rate"], config["trainable"]) == (0.3, False)
    # __init__ takes no name back: Keras leaves it out
    assert NoKwargs(5).get_config() == {"units": 5, "scale": (1, 2), "trainable": True,
                                        "dtype": "float32"}


def test_no_auto_config_where_keras_makes_none():
    # a layer argument: TF 2.21's get_config raises NotImplementedError (override it)
    with pytest.raises(NotImplementedError, match="get_config"):
        Holder(keras.layers.Dense(2)).get_config()
    assert "k" not in Written(3).get_config()  # the class writes its own
    assert "extra" not in MyDense(3).get_config()  # Dense's get_config, not the base one


def test_a_model_of_such_layers_saves_and_loads(tmp_path):
    pytest.importorskip("h5py")
    keras.utils.set_random_seed(0)
    inp = keras.Input((4, 3))
    out = Mixer(4, 5)(Patches(2)(inp))
    model = keras.Model(inp, out)
    x = np.random.default_rng(0).normal(size=(2, 4, 3)).astype("float32")
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras",
                                     custom_objects={"Patches": Patches, "Mixer": Mixer})
    assert loaded.layers[1].patch_size == 2
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
    with pytest.raises(NotImplementedError, match="Holder"):  # TF 2.21's class for it
        keras.Model(inp, Holder(keras.layers.Dense(2))(inp)).save(tmp_path / "h.keras")
