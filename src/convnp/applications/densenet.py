"""DenseNet121, DenseNet169 and DenseNet201 as ``keras.applications`` builds them: four dense
blocks (each layer a BN-ReLU-1x1 conv, BN-ReLU-3x3 conv pair whose 32 new channels are
concatenated to its input) joined by transitions that halve the channels (1x1 conv) and the size
(2x2 average pooling). Keras's layer names and parameter counts (DenseNet121: 8,062,504 with the
1000-class top)."""

from __future__ import annotations

from functools import partial

from convnp.applications import _common
from convnp.layers import (
    Activation,
    AveragePooling2D,
    BatchNormalization,
    Concatenate,
    Conv2D,
    MaxPooling2D,
    ZeroPadding2D,
)
from convnp.models import Model

_EPSILON = 1.001e-5
_GROWTH = 32  # channels each dense layer adds
# layers in each of the four dense blocks
_BLOCKS = {121: (6, 12, 24, 16), 169: (6, 12, 32, 32), 201: (6, 12, 48, 32)}


def _bn_relu(x, name: str):
    x = BatchNormalization(axis=3, epsilon=_EPSILON, name=name + "_bn")(x)
    return Activation("relu", name=name + "_relu")(x)


def _dense_layer(x, name: str):
    y = _bn_relu(x, name + "_0")
    y = Conv2D(4 * _GROWTH, 1, use_bias=False, name=name + "_1_conv")(y)
    y = _bn_relu(y, name + "_1")
    y = Conv2D(_GROWTH, 3, padding="same", use_bias=False, name=name + "_2_conv")(y)
    return Concatenate(axis=3, name=name + "_concat")([x, y])


def _transition(x, name: str):
    channels = x.shape[-1]
    x = _bn_relu(x, name)
    x = Conv2D(int(channels * 0.5), 1, use_bias=False, name=name + "_conv")(x)
    return AveragePooling2D(2, strides=2, name=name + "_pool")(x)


def _densenet(depth: int, include_top, weights, input_tensor, input_shape, pooling, classes,
              classifier_activation, name) -> Model:
    label = f"DenseNet{depth}"
    _common.check_arguments(label, weights, include_top, classes, pooling,
                            classifier_activation,
                            f"densenet{depth}_weights_tf_dim_ordering_tf_kernels.h5")
    shape = _common.image_shape(label, input_shape, 224, 32, input_tensor,
                                any_size=not include_top)
    inputs = _common.model_input(shape, input_tensor)
    x = ZeroPadding2D(3)(inputs)
    x = Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = _bn_relu(x, "conv1")
    x = ZeroPadding2D(1)(x)
    x = MaxPooling2D(3, strides=2, name="pool1")(x)
    for stage, layers in enumerate(_BLOCKS[depth], start=2):
        for i in range(1, layers + 1):
            x = _dense_layer(x, f"conv{stage}_block{i}")
        if stage < 5:
            x = _transition(x, f"pool{stage}")
    x = BatchNormalization(axis=3, epsilon=_EPSILON, name="bn")(x)
    x = Activation("relu", name="relu")(x)
    return _common.finish(name, inputs, x, include_top, pooling, weights,
                          _common.dense_top(classes, classifier_activation),
                          ("avg_pool", "max_pool"))


_DOCS = {
    121: """DenseNet-121 for ``(rows, cols, 3)`` images (default 224x224, at least 32x32);
    arguments as `convnp.applications.ResNet50`.""",
    169: "DenseNet-169 (dense blocks of 6, 12, 32, 32 layers); arguments as `DenseNet121`.",
    201: "DenseNet-201 (dense blocks of 6, 12, 48, 32 layers); arguments as `DenseNet121`.",
}
DenseNet121, DenseNet169, DenseNet201 = (
    _common.standard_builder(partial(_densenet, depth), f"DenseNet{depth}",
                             f"densenet{depth}", doc)
    for depth, doc in _DOCS.items())


def preprocess_input(x, data_format=None):
    """Keras's "torch" preprocessing: RGB [0, 255] to [0, 1], then each channel standardized
    with the ImageNet mean and standard deviation."""
    return _common.preprocess_torch(x, data_format)


decode_predictions = _common.decode_predictions
