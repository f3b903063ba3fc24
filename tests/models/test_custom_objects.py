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


def test_layer_names_must_be_unique_as_in_keras(tmp_path):
    """A model whose layers share a name could be saved but never loaded (files find layers
    by name): Keras refuses it when the model is made, and so does convnp now."""
    layers = keras.layers
    inp = keras.Input((3,))
    with pytest.raises(ValueError, match='The name "d" is used 2 times in the model'):
        keras.Model(inp, layers.Concatenate()([layers.Dense(2, name="d")(inp),
                                               layers.Dense(3, name="d")(inp)]))
    named = keras.Input((3,), name="x")
    with pytest.raises(ValueError, match='The name "x" is used 2 times'):
        keras.Model(named, layers.Dense(2, name="x")(named))
    with pytest.raises(ValueError, match="Name 'y' is already the name of a layer"):
        keras.Sequential([layers.Dense(2, name="y"), layers.Dense(2, name="y")])
    # a layer called twice is one layer, and a nested model's own layers may reuse names
    twice = layers.Dense(3, name="d")
    keras.Model(inp, twice(twice(inp)))
    inner = keras.Sequential([keras.Input((3,)), layers.Dense(3, name="d")])
    model = keras.Model(inp, layers.Dense(1, name="d")(inner(inp)))
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0))
