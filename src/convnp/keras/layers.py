"""``tf.keras.layers``: every registered convnp layer class (`convnp.layers.registry`), the
merge functions, `Input` and the `Layer` base."""

from convnp import layers as _layers
from convnp.layers import get_layer_class
from convnp.models.functional import Input

# convnp.layers' public names (Layer, the merge functions, serialize/deserialize and every
# registered class, aliases such as MaxPool2D included) but those only convnp has: no second
# list of names here
_CONVNP_ONLY = ("KerasTensor", "register", "registered_layers")
_SHARED = [name for name in _layers.__all__ if name not in _CONVNP_ONLY]
globals().update({name: getattr(_layers, name) for name in _SHARED})
__all__ = ["Input", "experimental"]
__all__.extend(_SHARED)


# TensorFlow 2.3-2.5's tf.keras.layers.experimental.preprocessing classes that convnp has
# (the text and lookup layers are not image layers and are absent)
_EXPERIMENTAL_PREPROCESSING = (
    "CenterCrop", "Normalization", "RandomBrightness", "RandomContrast", "RandomCrop",
    "RandomFlip", "RandomHeight", "RandomRotation", "RandomTranslation", "RandomWidth",
    "RandomZoom", "Rescaling", "Resizing")


def _experimental_namespace():
    """``tf.keras.layers.experimental.preprocessing`` (the TensorFlow 2.3-2.5 spelling, which
    the course uses): the same classes as ``tf.keras.layers``."""
    import types

    inner = types.ModuleType("convnp.keras.layers.experimental.preprocessing",
                             "Keras' experimental preprocessing layers (the same classes as "
                             "convnp.keras.layers).")
    for name in _EXPERIMENTAL_PREPROCESSING:
        setattr(inner, name, get_layer_class(name))
    inner.__all__ = list(_EXPERIMENTAL_PREPROCESSING)
    outer = types.ModuleType("convnp.keras.layers.experimental")
    outer.preprocessing = inner
    return outer


experimental = _experimental_namespace()


def serialize(layer) -> dict:
    """Keras 3's entry of a layer or a model (``module``, ``class_name``, ``config``,
    ``registered_name``), as `tf.keras.saving.serialize_keras_object` writes it; TF 2.21
    takes a Sequential or functional model here too."""
    from convnp.keras import saving
    from convnp.layers.base import Layer
    from convnp.models.model import Model

    if not isinstance(layer, (Layer, Model)):
        raise TypeError(f"serialize expects a layer or a model, got {type(layer).__name__}")
    return saving.serialize_keras_object(layer)


def deserialize(config, custom_objects=None):
    """A new layer or model from `serialize`'s entry, or from a ``{"class_name", "config"}``
    dict naming a layer class (or ``Sequential`` / ``Functional``) without a module."""
    from convnp.keras import saving

    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"a layer config must be a dict with 'class_name' and 'config', "
                         f"got {config!r}")
    if config.get("module") is None and config["class_name"] in ("Sequential", "Functional"):
        config = {**config, "module": "keras"}
    if config.get("module") is not None:
        return saving.deserialize_keras_object(config, custom_objects)
    return _layers.deserialize(config, custom_objects)

def __getattr__(name: str):
    # a class registered after this module was imported (a user's own layer) shows up too
    try:
        return get_layer_class(name)
    except ValueError:
        raise AttributeError(f"module 'convnp.keras.layers' has no attribute {name!r}") from None
