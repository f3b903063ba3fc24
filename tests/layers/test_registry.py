"""The layer registry and serialize/deserialize."""

from __future__ import annotations

import pytest

from convnp import layers
from convnp.layers import get_layer_class


def test_every_exported_layer_is_registered():
    for name in layers.__all__:
        obj = getattr(layers, name)
        if isinstance(obj, type) and issubclass(obj, layers.Layer) and obj is not layers.Layer:
            assert get_layer_class(name) is obj


def test_aliases_and_course_names():
    assert get_layer_class("MaxPool2D") is layers.MaxPooling2D
    assert get_layer_class("AvgPool2D") is layers.AveragePooling2D


def test_unknown_name_lists_known():
    with pytest.raises(ValueError, match=r"'Conv4D'.*Conv2D"):
        get_layer_class("Conv4D")


def test_serialize_round_trip():
    layer = layers.Conv2D(4, 3, padding="same", activation="relu", name="c1")
    data = layers.serialize(layer)
    assert data["class_name"] == "Conv2D"
    clone = layers.deserialize(data)
    assert isinstance(clone, layers.Conv2D) and clone.get_config() == layer.get_config()


def test_deserialize_bad_input():
    with pytest.raises(ValueError):
        layers.deserialize({"config": {}})
    with pytest.raises(TypeError):
        layers.serialize("Conv2D")


def test_initializer_objects_serialize_by_name():
    from convnp import initializers

    layer = layers.Dense(3, kernel_initializer=initializers.HeNormal())
    assert layer.get_config()["kernel_initializer"] == "he_normal"
    seeded = layers.Dense(3, kernel_initializer=initializers.HeNormal(seed=1)).get_config()
    assert seeded["kernel_initializer"]["class_name"] == "HeNormal"
    rebuilt = layers.Dense.from_config(seeded)
    assert rebuilt.get_config()["kernel_initializer"] == seeded["kernel_initializer"]


def test_input_shape_keyword_on_any_layer_survives_config():
    layer = layers.ZeroPadding2D(padding=3, input_shape=(64, 64, 3))
    assert layer.input_shape_arg == (None, 64, 64, 3)
    clone = layers.deserialize(layers.serialize(layer))
    assert clone.input_shape_arg == (None, 64, 64, 3)


def test_a_registered_class_is_in_every_namespace():
    import convnp as tf
    from convnp.layers import registry

    assert set(registry.registered_layers()) <= set(tf.keras.layers.__all__)
    assert set(registry.registered_layers()) <= set(layers.__all__)

    class Tripler(layers.Layer):
        def call(self, inputs, training=False):
            return inputs * 3

    try:
        registry.register(Tripler, aliases=("Times3",))
        assert tf.keras.layers.Times3 is Tripler
        assert layers.deserialize(layers.serialize(Tripler(name="t"))).name == "t"
        assert not registry.is_builtin(Tripler)
        assert registry.is_builtin(layers.Conv2D)
    finally:
        for key in ("Tripler", "Times3"):
            registry._REGISTRY.pop(key)


def test_layer_modules_are_discovered():
    import pkgutil

    import convnp.layers

    modules = {m.name for m in pkgutil.iter_modules(convnp.layers.__path__)}
    for name in modules - {"base", "registry"}:
        if not name.startswith("_"):
            assert hasattr(convnp.layers, name)
