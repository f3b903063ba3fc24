"""ResNet50, ResNet101 and ResNet152 as ``keras.applications`` builds them: same layers, names
and parameter counts (ResNet50: 25,636,712 with the 1000-class top), so Keras weight files load by
layer name. The three differ only in how many bottleneck blocks each of the four stages has."""

from __future__ import annotations

from functools import partial

from convnp.applications import _common
from convnp.layers import (
    Activation,
    Add,
    BatchNormalization,
    Conv2D,
    MaxPooling2D,
    ZeroPadding2D,
)
from convnp.models import Model


def _weights_file(depth: int) -> str:
    return f"resnet{depth}_weights_tf_dim_ordering_tf_kernels.h5"


# blocks in the stages conv2..conv5 of each depth
_DEPTHS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}
_EPSILON = 1.001e-5  # Keras's ResNet batch normalization epsilon


def _block(x, filters: int, stride: int, shortcut_conv: bool, name: str):
    """Bottleneck block: 1x1 (stride), 3x3, 1x1 to 4*filters, added to the shortcut."""
    if shortcut_conv:
        shortcut = Conv2D(4 * filters, 1, strides=stride, name=name + "_0_conv")(x)
        shortcut = BatchNormalization(axis=3, epsilon=_EPSILON, name=name + "_0_bn")(shortcut)
    else:
        shortcut = x
    x = Conv2D(filters, 1, strides=stride, name=name + "_1_conv")(x)
    x = BatchNormalization(axis=3, epsilon=_EPSILON, name=name + "_1_bn")(x)
    x = Activation("relu", name=name + "_1_relu")(x)
    x = Conv2D(filters, 3, padding="same", name=name + "_2_conv")(x)
    x = BatchNormalization(axis=3, epsilon=_EPSILON, name=name + "_2_bn")(x)
    x = Activation("relu", name=name + "_2_relu")(x)
    x = Conv2D(4 * filters, 1, name=name + "_3_conv")(x)
    x = BatchNormalization(axis=3, epsilon=_EPSILON, name=name + "_3_bn")(x)
    x = Add(name=name + "_add")([shortcut, x])
    return Activation("relu", name=name + "_out")(x)


def _stack(x, filters: int, blocks: int, stride: int, name: str):
    x = _block(x, filters, stride, True, name + "_block1")
    for i in range(2, blocks + 1):
        x = _block(x, filters, 1, False, f"{name}_block{i}")
    return x


def _resnet(depth: int, include_top, weights, input_tensor, input_shape, pooling, classes,
            classifier_activation, name) -> Model:
    """The ResNet of ``depth`` layers (a key of `_DEPTHS`); arguments as `ResNet50`."""
    label = f"ResNet{depth}"
    _common.check_arguments(label, weights, include_top, classes, pooling,
                            classifier_activation, _weights_file(depth))
    shape = _common.image_shape(label, input_shape, 224, 32, input_tensor,
                                any_size=not include_top)
    inputs = _common.model_input(shape, input_tensor)
    x = ZeroPadding2D(3, name="conv1_pad")(inputs)
    x = Conv2D(64, 7, strides=2, name="conv1_conv")(x)
    x = BatchNormalization(axis=3, epsilon=_EPSILON, name="conv1_bn")(x)
    x = Activation("relu", name="conv1_relu")(x)
    x = ZeroPadding2D(1, name="pool1_pad")(x)
    x = MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, (filters, blocks) in enumerate(zip((64, 128, 256, 512), _DEPTHS[depth])):
        x = _stack(x, filters, blocks, 1 if stage == 0 else 2, f"conv{stage + 2}")
    return _common.finish(name, inputs, x, include_top, pooling, weights,
                          _common.dense_top(classes, classifier_activation),
                          ("avg_pool", "max_pool"))


_DOCS = {
    50: """ResNet-50 for ``(rows, cols, 3)`` images (default 224x224, at least 32x32).
""" + _common.STANDARD_ARGS,
    101: "ResNet-101 (23 blocks in stage conv4); arguments as `ResNet50`.",
    152: "ResNet-152 (8 blocks in conv3, 36 in conv4); arguments as `ResNet50`.",
}
ResNet50, ResNet101, ResNet152 = (
    _common.standard_builder(partial(_resnet, depth), f"ResNet{depth}", f"resnet{depth}", doc)
    for depth, doc in _DOCS.items())


def preprocess_input(x, data_format=None):
    """Keras's "caffe" preprocessing: RGB [0, 255] to BGR minus the ImageNet channel means."""
    return _common.preprocess_caffe(x, data_format)


decode_predictions = _common.decode_predictions
