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

def __getattr__(name: str):
    # a class registered after this module was imported (a user's own layer) shows up too
    try:
        return get_layer_class(name)
    except ValueError:
        raise AttributeError(f"module 'convnp.keras.layers' has no attribute {name!r}") from None
