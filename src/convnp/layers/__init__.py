"""Keras-compatible layers (see `convnp.layers.base.Layer` for the contract).

Each family lives in its own module: `conv` (Conv2D), `depthwise` (DepthwiseConv2D, SeparableConv2D),
`pooling`, `normalization` (BatchNormalization), `core` (InputLayer, Dense, Flatten, Dropout, Activation, ReLU),
`conv_transpose` (Conv2DTranspose), `reshaping` (ZeroPadding2D, Cropping2D, UpSampling2D),
`merging` (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot and the
lowercase functions) and `preprocessing` (Rescaling,
Resizing, CenterCrop and the Random* augmentation layers). `registry` maps class names
to classes for configs and model files.
"""

from convnp.layers.base import KerasTensor, Layer
from convnp.layers.conv import Conv2D
from convnp.layers.conv_transpose import Conv2DTranspose
from convnp.layers.core import Activation, Dense, Dropout, Flatten, InputLayer, ReLU
from convnp.layers.depthwise import DepthwiseConv2D, SeparableConv2D
from convnp.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from convnp.layers.normalization import BatchNormalization
from convnp.layers.pooling import (
    AveragePooling2D,
    AvgPool2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    MaxPool2D,
    MaxPooling2D,
)
from convnp.layers.preprocessing import (
    CenterCrop,
    RandomContrast,
    RandomCrop,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
    Rescaling,
    Resizing,
)
from convnp.layers.registry import deserialize, get_layer_class, register, serialize
from convnp.layers.reshaping import Cropping2D, UpSampling2D, ZeroPadding2D
from convnp.layers.tf_op import TensorFlowOpLayer

for _cls in (Conv2D, Activation, Dense, Dropout, Flatten, InputLayer, ReLU, Add, Concatenate,
             BatchNormalization, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D,
             MaxPooling2D, ZeroPadding2D):
    register(_cls)
register(MaxPooling2D, "MaxPool2D")
register(AveragePooling2D, "AvgPool2D")
del _cls

__all__ = [
    "Activation",
    "Add",
    "Average",
    "AveragePooling2D",
    "AvgPool2D",
    "BatchNormalization",
    "CenterCrop",
    "Concatenate",
    "Conv2D",
    "Conv2DTranspose",
    "Cropping2D",
    "Dense",
    "DepthwiseConv2D",
    "Dot",
    "Dropout",
    "Flatten",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
    "InputLayer",
    "KerasTensor",
    "Layer",
    "MaxPool2D",
    "MaxPooling2D",
    "Maximum",
    "Minimum",
    "Multiply",
    "RandomContrast",
    "RandomCrop",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "ReLU",
    "Rescaling",
    "Resizing",
    "SeparableConv2D",
    "Subtract",
    "TensorFlowOpLayer",
    "UpSampling2D",
    "ZeroPadding2D",
    "add",
    "average",
    "concatenate",
    "deserialize",
    "dot",
    "get_layer_class",
    "maximum",
    "minimum",
    "multiply",
    "register",
    "serialize",
    "subtract",
]
