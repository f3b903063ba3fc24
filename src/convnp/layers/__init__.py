"""Keras-compatible layers (see `convnp.layers.base.Layer` for the contract).

Each family lives in its own module: `conv` (Conv2D), `depthwise` (DepthwiseConv2D, SeparableConv2D),
`pooling`, `normalization` (BatchNormalization), `core` (InputLayer, Dense, Flatten, Dropout, Activation, ReLU),
`conv_transpose` (Conv2DTranspose), `reshaping` (ZeroPadding2D, Cropping2D, UpSampling2D),
`merging` (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot and the
lowercase functions), `activation_layers` (LeakyReLU, PReLU, ELU, Softmax),
`layer_normalization`, `regularization` (SpatialDropout2D, GaussianNoise), `one_d` (Conv1D and
the 1-D poolings) and `preprocessing` (Rescaling,
Resizing, CenterCrop and the Random* augmentation layers). This package imports every public module of its directory, and each layer class there joins
`registry` with the ``@register`` decorator; the class names below (and ``tf.keras.layers``)
come from the registry, so a new layer module needs no edit here.
"""

import importlib as _importlib
import pkgutil as _pkgutil

from convnp.layers.base import KerasTensor, Layer
from convnp.layers.input_spec import InputSpec
from convnp.layers.merging import (
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from convnp.layers.registry import (
    deserialize,
    get_layer_class,
    register,
    registered_layers,
    serialize,
)

# Modules that hold no layer classes (the base class, the registry itself).
_NOT_LAYER_MODULES = {"base", "input_spec", "registry"}

for _module in _pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_") and _module.name not in _NOT_LAYER_MODULES:
        _importlib.import_module(f"{__name__}.{_module.name}")
del _module

globals().update(registered_layers())

__all__ = [
    "InputSpec",
    "KerasTensor",
    "Layer",
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
    "registered_layers",
    "serialize",
    "subtract",
]
__all__.extend(registered_layers())
