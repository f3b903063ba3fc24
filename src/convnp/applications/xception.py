"""Xception as ``keras.applications.Xception`` builds it: an entry flow of strided
separable-convolution blocks with 1x1 strided shortcuts, eight middle-flow blocks of three
ReLU-separable-conv-BN steps added to their input, and an exit flow; Keras's layer names
(the shortcut convolutions, their batch normalizations and the adds are named automatically,
as in Keras) and parameter counts (22,910,480 with the 1000-class top). Input at least 71x71
(default 299x299)."""

from __future__ import annotations

from convnp.applications import _common
from convnp.applications.mobilenet_v2 import decode_predictions, preprocess_input
from convnp.layers import (
    Activation,
    Add,
    BatchNormalization,
    Conv2D,
    MaxPooling2D,
    SeparableConv2D,
)
from convnp.models import Model

__all__ = ["Xception", "decode_predictions", "preprocess_input"]
WEIGHTS_FILE = "xception_weights_tf_dim_ordering_tf_kernels.h5"


def _sepconv_bn(x, filters: int, name: str):
    x = SeparableConv2D(filters, 3, padding="same", use_bias=False, name=name)(x)
    return BatchNormalization(axis=-1, name=name + "_bn")(x)


def _relu(x, name: str):
    return Activation("relu", name=name)(x)


def _strided_block(x, filters: tuple[int, int], block: int, relu_first: bool = True):
    """Two separable convs and a 3x3 stride-2 max pool, plus a strided 1x1 conv shortcut."""
    shortcut = Conv2D(filters[1], 1, strides=2, padding="same", use_bias=False)(x)
    shortcut = BatchNormalization(axis=-1)(shortcut)
    prefix = f"block{block}_sepconv"
    if relu_first:
        x = _relu(x, prefix + "1_act")
    x = _sepconv_bn(x, filters[0], prefix + "1")
    x = _relu(x, prefix + "2_act")
    x = _sepconv_bn(x, filters[1], prefix + "2")
    x = MaxPooling2D(3, strides=2, padding="same", name=f"block{block}_pool")(x)
    return Add()([x, shortcut])


def Xception(include_top: bool = True, weights=None, input_tensor=None, input_shape=None,
             pooling=None, classes: int = 1000, classifier_activation="softmax",
             name: str = "xception") -> Model:
    """Xception for ``(rows, cols, 3)`` images (default 299x299, at least 71x71); arguments
    as `convnp.applications.ResNet50`."""
    _common.check_arguments("Xception", weights, include_top, classes, pooling,
                            classifier_activation,
                            _common.weights_file_for(WEIGHTS_FILE, include_top))
    shape = _common.image_shape("Xception", input_shape, 299, 71, input_tensor,
                                any_size=not include_top)
    inputs = _common.model_input(shape, input_tensor)
    x = Conv2D(32, 3, strides=2, use_bias=False, name="block1_conv1")(inputs)
    x = BatchNormalization(axis=-1, name="block1_conv1_bn")(x)
    x = _relu(x, "block1_conv1_act")
    x = Conv2D(64, 3, use_bias=False, name="block1_conv2")(x)
    x = BatchNormalization(axis=-1, name="block1_conv2_bn")(x)
    x = _relu(x, "block1_conv2_act")
    x = _strided_block(x, (128, 128), 2, relu_first=False)
    x = _strided_block(x, (256, 256), 3)
    x = _strided_block(x, (728, 728), 4)
    for block in range(5, 13):
        shortcut = x
        for step in (1, 2, 3):
            x = _relu(x, f"block{block}_sepconv{step}_act")
            x = _sepconv_bn(x, 728, f"block{block}_sepconv{step}")
        x = Add()([x, shortcut])
    x = _strided_block(x, (728, 1024), 13)
    x = _sepconv_bn(x, 1536, "block14_sepconv1")
    x = _relu(x, "block14_sepconv1_act")
    x = _sepconv_bn(x, 2048, "block14_sepconv2")
    x = _relu(x, "block14_sepconv2_act")
    return _common.finish(name, inputs, x, include_top, pooling, weights,
                          _common.dense_top(classes, classifier_activation))
