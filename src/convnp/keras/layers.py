"""``tf.keras.layers``: every registered convnp layer class (`convnp.layers.registry`), the
merge functions, `Input` and the `Layer` base."""

from convnp.layers import (
    InputSpec,
    Layer,
    add,
    average,
    concatenate,
    deserialize,
    dot,
    get_layer_class,
    maximum,
    minimum,
    multiply,
    registered_layers,
    serialize,
    subtract,
)
from convnp.models.functional import Input

# Every registered layer class (aliases such as MaxPool2D included): no list of names here.
globals().update(registered_layers())

__all__ = [
    "Input",
    "InputSpec",
    "Layer",
    "add",
    "average",
    "concatenate",
    "deserialize",
    "dot",
    "experimental",
    "get_layer_class",
    "maximum",
    "minimum",
    "multiply",
    "serialize",
    "subtract",
]
__all__.extend(registered_layers())


def _experimental_namespace():
    """``tf.keras.layers.experimental.preprocessing`` (TensorFlow 2.3-2.5 spelling, which the
    course uses): the same preprocessing classes."""
    import types

    from convnp.layers import preprocessing as _pre

    inner = types.ModuleType("convnp.keras.layers.experimental.preprocessing",
                             "Keras' experimental preprocessing layers (the same classes as "
                             "convnp.keras.layers).")
    for cls in _pre.PREPROCESSING_LAYERS:
        setattr(inner, cls.__name__, cls)
    inner.__all__ = [
    "AveragePooling1D",
    "Conv1D",
    "ELU",
    "GaussianNoise",
    "GlobalAveragePooling1D",
    "GlobalMaxPooling1D",
    "LayerNormalization",
    "LeakyReLU",
    "MaxPooling1D",
    "Permute",
    "PReLU",
    "Reshape",
    "Softmax",
    "SpatialDropout2D",
]
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
