"""ResNet50V2, ResNet101V2 and ResNet152V2 as ``keras.applications`` builds them: the
"pre-activation" ResNets, with Keras's layer names and parameter counts (ResNet50V2:
25,613,800 with the 1000-class top), so Keras weight files load.

A V2 block normalizes and rectifies its input first (``_preact_bn``, ``_preact_relu``) and adds
the residual branch to the shortcut without a batch normalization or ReLU after the sum. The
first block of a stage has a 1x1 convolution shortcut from the pre-activated input; the last
block of the stages conv2..conv4 halves the size (the stride is on its 3x3 convolution, its
identity shortcut is a 1x1 max pooling of stride 2). The stem is a biased 7x7 convolution
without normalization; ``post_bn`` and ``post_relu`` follow the last stage.
"""

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

# blocks in the stages conv2..conv5 of each depth (as the V1 ResNets)
_DEPTHS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}
_EPSILON = 1.001e-5


def _weights_file(depth: int) -> str:
    return f"resnet{depth}v2_weights_tf_dim_ordering_tf_kernels.h5"


def _norm(name: str) -> BatchNormalization:
    return BatchNormalization(axis=3, epsilon=_EPSILON, name=name)


def _block(x, filters: int, stride: int, shortcut_conv: bool, name: str):
    """Pre-activation bottleneck: BN-ReLU, 1x1, 3x3 (stride), 1x1 to 4*filters, plus the
    shortcut."""
    pre = _norm(name + "_preact_bn")(x)
    pre = Activation("relu", name=name + "_preact_relu")(pre)
    if shortcut_conv:
        shortcut = Conv2D(4 * filters, 1, strides=stride, name=name + "_0_conv")(pre)
    elif stride > 1:
        shortcut = MaxPooling2D(1, strides=stride)(x)
    else:
        shortcut = x
    x = Conv2D(filters, 1, use_bias=False, name=name + "_1_conv")(pre)
    x = _norm(name + "_1_bn")(x)
    x = Activation("relu", name=name + "_1_relu")(x)
    x = ZeroPadding2D(1, name=name + "_2_pad")(x)
    x = Conv2D(filters, 3, strides=stride, use_bias=False, name=name + "_2_conv")(x)
    x = _norm(name + "_2_bn")(x)
    x = Activation("relu", name=name + "_2_relu")(x)
    x = Conv2D(4 * filters, 1, name=name + "_3_conv")(x)
    return Add(name=name + "_out")([shortcut, x])


def _stack(x, filters: int, blocks: int, last_stride: int, name: str):
    """A stage: the first block with a convolution shortcut, the last one with
    ``last_stride``."""
    x = _block(x, filters, 1, True, name + "_block1")
    for i in range(2, blocks):
        x = _block(x, filters, 1, False, f"{name}_block{i}")
    return _block(x, filters, last_stride, False, f"{name}_block{blocks}")


def _resnet_v2(depth: int, include_top, weights, input_tensor, input_shape, pooling, classes,
               classifier_activation, name) -> Model:
    label = f"ResNet{depth}V2"
    _common.check_arguments(label, weights, include_top, classes, pooling,
                            classifier_activation, _weights_file(depth))
    shape = _common.image_shape(label, input_shape, 224, 32, input_tensor,
                                any_size=not include_top)
    inputs = _common.model_input(shape, input_tensor)
    x = ZeroPadding2D(3, name="conv1_pad")(inputs)
    x = Conv2D(64, 7, strides=2, name="conv1_conv")(x)
    x = ZeroPadding2D(1, name="pool1_pad")(x)
    x = MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, (filters, blocks) in enumerate(zip((64, 128, 256, 512), _DEPTHS[depth])):
        x = _stack(x, filters, blocks, 2 if stage < 3 else 1, f"conv{stage + 2}")
    x = _norm("post_bn")(x)
    x = Activation("relu", name="post_relu")(x)
    return _common.finish(name, inputs, x, include_top, pooling, weights,
                          _common.dense_top(classes, classifier_activation),
                          ("avg_pool", "max_pool"))


_DOCS = {
    50: """ResNet-50 V2 (pre-activation) for ``(rows, cols, 3)`` images in [-1, 1] (see
    `preprocess_input`; at least 32x32; default 224x224 with the top, without it any size,
    ``(None, None, 3)``, as in Keras).
""" + _common.STANDARD_ARGS,
    101: "ResNet-101 V2 (23 blocks in stage conv4); arguments as `ResNet50V2`.",
    152: "ResNet-152 V2 (8 blocks in conv3, 36 in conv4); arguments as `ResNet50V2`.",
}
ResNet50V2, ResNet101V2, ResNet152V2 = (
    _common.standard_builder(partial(_resnet_v2, depth), f"ResNet{depth}V2",
                             f"resnet{depth}v2", doc)
    for depth, doc in _DOCS.items())


def preprocess_input(x, data_format=None):
    """Keras's "tf" preprocessing: RGB [0, 255] to [-1, 1]."""
    return _common.preprocess_tf(x, data_format)


decode_predictions = _common.decode_predictions
