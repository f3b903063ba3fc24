"""``tf.keras.layers``: every convnp layer class, plus `Input` and the `Layer` base."""

from convnp.layers import (
    Activation,
    Add,
    AveragePooling2D,
    AvgPool2D,
    BatchNormalization,
    Concatenate,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    InputLayer,
    Layer,
    MaxPool2D,
    MaxPooling2D,
    ReLU,
    SeparableConv2D,
    ZeroPadding2D,
    deserialize,
    get_layer_class,
    serialize,
)
from convnp.models.functional import Input

__all__ = [
    "Activation",
    "Add",
    "AveragePooling2D",
    "AvgPool2D",
    "BatchNormalization",
    "Concatenate",
    "Conv2D",
    "Dense",
    "DepthwiseConv2D",
    "Dropout",
    "Flatten",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
    "Input",
    "InputLayer",
    "Layer",
    "MaxPool2D",
    "MaxPooling2D",
    "ReLU",
    "SeparableConv2D",
    "ZeroPadding2D",
    "deserialize",
    "get_layer_class",
    "serialize",
]


def __getattr__(name: str):
    # layers added to convnp.layers later show up here too
    import convnp.layers

    try:
        return getattr(convnp.layers, name)
    except AttributeError:
        raise AttributeError(f"module 'convnp.keras.layers' has no attribute {name!r}") from None
