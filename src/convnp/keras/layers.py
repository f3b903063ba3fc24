"""``tf.keras.layers``: every convnp layer class, plus `Input` and the `Layer` base."""

from convnp.layers import (
    ELU,
    Activation,
    Add,
    Average,
    AveragePooling1D,
    AveragePooling2D,
    AvgPool2D,
    BatchNormalization,
    CenterCrop,
    Concatenate,
    Conv1D,
    Conv2D,
    Conv2DTranspose,
    Cropping2D,
    Dense,
    DepthwiseConv2D,
    Dot,
    Dropout,
    Flatten,
    GaussianNoise,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    InputLayer,
    Layer,
    LayerNormalization,
    LeakyReLU,
    Maximum,
    MaxPool2D,
    MaxPooling1D,
    MaxPooling2D,
    Minimum,
    Multiply,
    Permute,
    PReLU,
    RandomContrast,
    RandomCrop,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
    ReLU,
    Rescaling,
    Reshape,
    Resizing,
    SeparableConv2D,
    Softmax,
    SpatialDropout2D,
    Subtract,
    UpSampling2D,
    ZeroPadding2D,
    add,
    average,
    concatenate,
    deserialize,
    dot,
    get_layer_class,
    maximum,
    minimum,
    multiply,
    serialize,
    subtract,
)
from convnp.models.functional import Input

__all__ = [
    "ELU",
    "Activation",
    "Add",
    "Average",
    "AveragePooling1D",
    "AveragePooling2D",
    "AvgPool2D",
    "BatchNormalization",
    "CenterCrop",
    "Concatenate",
    "Conv1D",
    "Conv2D",
    "Conv2DTranspose",
    "Cropping2D",
    "Dense",
    "DepthwiseConv2D",
    "Dot",
    "Dropout",
    "Flatten",
    "GaussianNoise",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "Input",
    "InputLayer",
    "Layer",
    "LayerNormalization",
    "LeakyReLU",
    "MaxPool2D",
    "MaxPooling1D",
    "MaxPooling2D",
    "Maximum",
    "Minimum",
    "Multiply",
    "PReLU",
    "Permute",
    "RandomContrast",
    "RandomCrop",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "ReLU",
    "Rescaling",
    "Reshape",
    "Resizing",
    "SeparableConv2D",
    "Softmax",
    "SpatialDropout2D",
    "Subtract",
    "UpSampling2D",
    "ZeroPadding2D",
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
    # layers added to convnp.layers later show up here too
    import convnp.layers

    try:
        return getattr(convnp.layers, name)
    except AttributeError:
        raise AttributeError(f"module 'convnp.keras.layers' has no attribute {name!r}") from None
