"""InceptionV3 as ``keras.applications.InceptionV3`` builds it: a stem of five
conv-BN-ReLU units and two max poolings, then eleven "mixed" blocks whose parallel branches
(1x1, factorized 5x5/7x7/3x3 stacks, pooling) are concatenated. Every conv-BN-ReLU unit is
named automatically, as in Keras (``conv2d_N``, ``batch_normalization_N``, ``activation_N``;
batch normalization without ``scale``); the blocks are ``mixed0`` ... ``mixed10``. Parameter
counts are Keras's (23,851,784 with the 1000-class top). Input at least 75x75 (default
299x299)."""

from __future__ import annotations

from convnp import layers
from convnp.applications import _common
from convnp.applications.mobilenet_v2 import decode_predictions, preprocess_input
from convnp.models import Model

__all__ = ["InceptionV3", "decode_predictions", "preprocess_input"]
WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"


def _unit(x, filters: int, rows: int, cols: int, strides: int = 1, padding: str = "same"):
    return _common.conv_bn(x, filters, (rows, cols), strides=strides, padding=padding)


def _chain(x, steps):
    """Units one after another; a step is ``(filters, rows, cols)`` or that plus stride 2
    with 'valid' padding (``(filters, rows, cols, 2)``)."""
    for step in steps:
        if len(step) == 4:
            x = _unit(x, *step[:3], strides=2, padding="valid")
        else:
            x = _unit(x, *step)
    return x


def _average_branch(x, filters: int):
    x = layers.AveragePooling2D(3, strides=1, padding="same")(x)
    return _unit(x, filters, 1, 1)


def _block_35(x, pool_filters: int, name: str):
    """Branches 1x1; 1x1 then 5x5; 1x1 then two 3x3; average pool then 1x1."""
    branches = [_unit(x, 64, 1, 1), _chain(x, [(48, 1, 1), (64, 5, 5)]),
                _chain(x, [(64, 1, 1), (96, 3, 3), (96, 3, 3)]),
                _average_branch(x, pool_filters)]
    return layers.Concatenate(axis=3, name=name)(branches)


def _block_17(x, width: int, name: str):
    """Branches 1x1; 1x1, 1x7, 7x1; 1x1, 7x1, 1x7, 7x1, 1x7; average pool then 1x1."""
    branches = [_unit(x, 192, 1, 1),
                _chain(x, [(width, 1, 1), (width, 1, 7), (192, 7, 1)]),
                _chain(x, [(width, 1, 1), (width, 7, 1), (width, 1, 7), (width, 7, 1),
                           (192, 1, 7)]),
                _average_branch(x, 192)]
    return layers.Concatenate(axis=3, name=name)(branches)


def _block_8(x, name: str, index: int):
    """Branches 1x1; 1x1 then (1x3 | 3x1); 1x1, 3x3 then (1x3 | 3x1); average pool then 1x1."""
    first = _unit(x, 320, 1, 1)
    split = _unit(x, 384, 1, 1)
    split = layers.Concatenate(axis=3, name=f"mixed9_{index}")(
        [_unit(split, 384, 1, 3), _unit(split, 384, 3, 1)])
    double = _chain(x, [(448, 1, 1), (384, 3, 3)])
    double = layers.Concatenate(axis=3)([_unit(double, 384, 1, 3), _unit(double, 384, 3, 1)])
    return layers.Concatenate(axis=3, name=name)([first, split, double, _average_branch(x, 192)])


def InceptionV3(include_top: bool = True, weights=None, input_tensor=None, input_shape=None,
                pooling=None, classes: int = 1000, classifier_activation="softmax",
                name: str = "inception_v3") -> Model:
    """Inception-v3 for ``(rows, cols, 3)`` images (default 299x299, at least 75x75);
    arguments as `convnp.applications.ResNet50`."""
    _common.check_arguments("InceptionV3", weights, include_top, classes, pooling,
                            classifier_activation,
                            _common.weights_file_for(WEIGHTS_FILE, include_top))
    shape = _common.image_shape("InceptionV3", input_shape, 299, 75, input_tensor,
                                any_size=not include_top)
    inputs = _common.model_input(shape, input_tensor)
    x = _chain(inputs, [(32, 3, 3, 2)])
    x = _unit(x, 32, 3, 3, padding="valid")
    x = _unit(x, 64, 3, 3)
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = _unit(x, 80, 1, 1, padding="valid")
    x = _unit(x, 192, 3, 3, padding="valid")
    x = layers.MaxPooling2D(3, strides=2)(x)
    for i, pool_filters in enumerate((32, 64, 64)):
        x = _block_35(x, pool_filters, f"mixed{i}")
    # grid reduction to 17x17 (for a 299x299 input)
    x = layers.Concatenate(axis=3, name="mixed3")(
        [_chain(x, [(384, 3, 3, 2)]), _chain(x, [(64, 1, 1), (96, 3, 3), (96, 3, 3, 2)]),
         layers.MaxPooling2D(3, strides=2)(x)])
    for i, width in enumerate((128, 160, 160, 192), start=4):
        x = _block_17(x, width, f"mixed{i}")
    # grid reduction to 8x8
    x = layers.Concatenate(axis=3, name="mixed8")(
        [_chain(x, [(192, 1, 1), (320, 3, 3, 2)]),
         _chain(x, [(192, 1, 1), (192, 1, 7), (192, 7, 1), (192, 3, 3, 2)]),
         layers.MaxPooling2D(3, strides=2)(x)])
    for i in range(2):
        x = _block_8(x, f"mixed{9 + i}", i)
    return _common.finish(name, inputs, x, include_top, pooling, weights,
                          _common.dense_top(classes, classifier_activation))
