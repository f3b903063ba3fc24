"""A layer's ``dtype`` may be a dtype policy, or the policy dict Keras 3's ``get_config()``
holds: the guide "Making new layers and models via subclassing" rebuilds a layer with
``Linear.from_config(layer.get_config())``, and a config printed by Keras 3.15 reads
``'dtype': {'module': 'keras', 'class_name': 'DTypePolicy', 'config': {'name': 'float32'},
'registered_name': None}``."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras


def _policy(name):
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name},
            "registered_name": None}


class Linear(keras.layers.Layer):
    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_from_config_takes_keras_3_policy_dicts():
    layer = Linear.from_config({"name": "linear_5", "trainable": True,
                                "dtype": _policy("float32"), "units": 64})
    assert (layer.units, layer.dtype, layer.name) == (64, np.dtype("float32"), "linear_5")
    dense = keras.layers.Dense.from_config({"name": "d", "units": 3,
                                            "dtype": _policy("float64")})
    assert dense.dtype == np.dtype("float64")
    assert dense(np.ones((2, 4))).numpy().dtype == np.float64


def test_policy_objects_and_bad_names():
    assert keras.layers.Dense(3, dtype=keras.DTypePolicy("float32")).dtype == np.float32
    assert keras.layers.Dense(3, dtype=keras.mixed_precision.Policy("float32")).dtype \
        == np.float32
    with pytest.raises(ValueError, match="float type"):
        keras.layers.Dense(3, dtype="mixed_float16")
    with pytest.raises(ValueError, match="float type"):
        keras.layers.Dense(3, dtype="int32")
