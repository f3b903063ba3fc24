"""Keras-compatible layers (see `convnp.layers.base.Layer` for the contract).

Each family lives in its own module: `conv` (Conv2D), `depthwise` (DepthwiseConv2D, SeparableConv2D),
`pooling`, `normalization` (BatchNormalization), `core` (InputLayer, Dense, Flatten, Dropout, Activation, ReLU),
`conv_transpose` (Conv2DTranspose), `reshaping` (ZeroPadding2D, Cropping2D, UpSampling2D),
`merging` (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot and the
lowercase functions), `activation_layers` (LeakyReLU, PReLU, ELU, Softmax),
`layer_normalization`, `regularization` (SpatialDropout2D, GaussianNoise), `one_d` (Conv1D and
the 1-D poolings) and `preprocessing` (Rescaling,
Resizing, CenterCrop and the Random* augmentation layers). `registry` maps class names
to classes for configs and model files.
"""

from convnp.layers.activation_layers import ELU, LeakyReLU, PReLU, Softmax
from convnp.layers.base import KerasTensor, Layer
from convnp.layers.conv import Conv2D
from convnp.layers.conv_transpose import Conv2DTranspose
from convnp.layers.core import Activation, Dense, Dropout, Flatten, InputLayer, ReLU
from convnp.layers.depthwise import DepthwiseConv2D, SeparableConv2D
from convnp.layers.layer_normalization import LayerNormalization
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
from convnp.layers.one_d import (
    AveragePooling1D,
    Conv1D,
    GlobalAveragePooling1D,
    GlobalMaxPooling1D,
    MaxPooling1D,
)
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
from convnp.layers.regularization import GaussianNoise, SpatialDropout2D
from convnp.layers.reshaping import Cropping2D, Permute, Reshape, UpSampling2D, ZeroPadding2D
from convnp.layers.tf_op import TensorFlowOpLayer

for _cls in (Conv2D, Activation, Dense, Dropout, Flatten, InputLayer, ReLU, Add, Concatenate,
             BatchNormalization, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D,
             MaxPooling2D, ZeroPadding2D):
    register(_cls)
register(MaxPooling2D, "MaxPool2D")
register(AveragePooling2D, "AvgPool2D")
del _cls

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
    "InputLayer",
    "KerasTensor",
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
