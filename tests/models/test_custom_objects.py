"""A user's own layer class comes back from a saved model when passed as ``custom_objects``.

The class is not registered, so the registry alone cannot find it: ``load_model`` and
``from_config`` must hand ``custom_objects`` down to every layer entry, nested models included.
"""
import numpy as np
import pytest

import convnp as tf
from convnp import keras
from convnp.keras import layers


class Scale(layers.Layer):
    """Multiplies its input by a trainable per-channel factor (autodiff gives the backward)."""

    def build(self, input_shape):
        self.factor = self.add_weight(shape=(input_shape[-1],), initializer="ones",
                                      name="factor")

    def call(self, x):
        return x * self.factor


def _model(nested: bool):
    inputs = keras.Input((6, 6, 2))
    x = layers.Conv2D(3, 3, padding="same")(inputs)
    if nested:
        x = keras.Sequential([Scale(name="scale")], name="inner")(x)
    else:
        x = Scale(name="scale")(x)
    outputs = layers.Dense(2)(layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    return model


@pytest.mark.parametrize("nested", [False, True], ids=["top-level", "nested"])
def test_custom_layer_loads_with_custom_objects(tmp_path, nested):
    tf.random.set_seed(3)
    model = _model(nested)
    scale = model.get_layer("inner").layers[0] if nested else model.get_layer("scale")
    scale.factor.assign(np.array([0.5, 2.0, -1.0], dtype="float32"))
    x = np.random.default_rng(0).random((4, 6, 6, 2)).astype("float32")
    path = tmp_path / "m.convnp"
    model.save(path)

    with pytest.raises(ValueError, match="Scale"):
        keras.models.load_model(path)
    loaded = keras.models.load_model(path, custom_objects={"Scale": Scale})
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-6)


def test_from_config_passes_custom_objects_to_sequential():
    model = keras.Sequential([keras.Input((3,)), Scale(name="s"), layers.Dense(1)])
    config = model.get_config()
    with pytest.raises(ValueError, match="Scale"):
        keras.Sequential.from_config(config)
    rebuilt = keras.Sequential.from_config(config, custom_objects={"Scale": Scale})
    assert isinstance(rebuilt.layers[0], Scale)
