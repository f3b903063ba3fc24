"""MobileNet (version 1) as ``keras.applications.MobileNet`` builds it: a 3x3 convolution,
then 13 depthwise-separable blocks (3x3 depthwise, batch normalization, ReLU6, 1x1 pointwise,
batch normalization, ReLU6), with Keras's layer names and parameter counts (4,253,864 with the
1000-class top at alpha 1.0).

``alpha`` scales the width of every pointwise convolution (``int(filters * alpha)``);
``depth_multiplier`` is the depthwise convolutions' channel multiplier.
"""

from __future__ import annotations

from convnp.applications import _common
from convnp.applications.mobilenet_v2 import decode_predictions, preprocess_input
from convnp.layers import (
    Activation,
    BatchNormalization,
    Conv2D,
    DepthwiseConv2D,
    Dropout,
    GlobalAveragePooling2D,
    ReLU,
    Reshape,
    ZeroPadding2D,
)
from convnp.models import Model

__all__ = ["MobileNet", "decode_predictions", "preprocess_input"]
WEIGHTS_FILE = "mobilenet_1_0_224_tf_no_top.h5"
_ALPHAS = (0.25, 0.5, 0.75, 1.0)
# (pointwise filters, stride) of blocks 1..13
_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
           (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


def _separable_block(x, filters: int, alpha: float, depth_multiplier: int, stride: int,
                     block_id: int):
    if stride == 2:  # Keras pads bottom/right only, then convolves 'valid'
        x = ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
    x = DepthwiseConv2D(3, strides=stride, padding="same" if stride == 1 else "valid",
                        depth_multiplier=depth_multiplier, use_bias=False,
                        name=f"conv_dw_{block_id}")(x)
    x = BatchNormalization(axis=-1, name=f"conv_dw_{block_id}_bn")(x)
    x = ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = Conv2D(int(filters * alpha), 1, padding="same", use_bias=False,
               name=f"conv_pw_{block_id}")(x)
    x = BatchNormalization(axis=-1, name=f"conv_pw_{block_id}_bn")(x)
    return ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


def MobileNet(input_shape=None, alpha: float = 1.0, depth_multiplier: int = 1,
              dropout: float = 1e-3, include_top: bool = True, weights=None,
              input_tensor=None, pooling=None, classes: int = 1000,
              classifier_activation="softmax", name: str | None = None) -> Model:
    """MobileNet for ``(rows, cols, 3)`` images (default 224x224, at least 32x32).

    Args:
        input_shape: ``(rows, cols, channels)``; without the top, rows and cols may be None
            and the default is ``(None, None, 3)`` (any image size, as in Keras); with it,
            the default size.
        alpha: width multiplier (Keras publishes weights for 0.25, 0.5, 0.75 and 1.0; any
            positive value builds).
        depth_multiplier: channel multiplier of the depthwise convolutions (a positive int).
        dropout: rate of the ``Dropout`` before the classifier (in [0, 1)).
        include_top, weights, input_tensor, pooling, classes, classifier_activation: as
            `convnp.applications.ResNet50`; the top is global average pooling (kept 4-D),
            ``dropout``, a 1x1 ``conv_preds`` convolution with ``classes`` filters,
            ``reshape_2`` and the ``predictions`` activation.
        name: default ``mobilenet_{alpha:.2f}_{rows}``, as Keras.
    """
    _common.check_arguments("MobileNet", weights, include_top, classes, pooling,
                            classifier_activation,
                            _common.weights_file_for(WEIGHTS_FILE, include_top))
    _common.check_alpha("MobileNet", alpha, _ALPHAS)
    _common.check_positive_int("MobileNet", "depth_multiplier", depth_multiplier)
    _common.check_rate("MobileNet", "dropout", dropout)
    shape = _common.image_shape("MobileNet", input_shape, 224, 32, input_tensor,
                                any_size=not include_top)
    inputs = _common.model_input(shape, input_tensor)
    x = Conv2D(int(32 * alpha), 3, strides=2, padding="same", use_bias=False,
               name="conv1")(inputs)
    x = BatchNormalization(axis=-1, name="conv1_bn")(x)
    x = ReLU(6.0, name="conv1_relu")(x)
    for block_id, (filters, stride) in enumerate(_BLOCKS, start=1):
        x = _separable_block(x, filters, alpha, depth_multiplier, stride, block_id)

    def top(x):
        x = GlobalAveragePooling2D(keepdims=True)(x)
        x = Dropout(dropout, name="dropout")(x)
        x = Conv2D(classes, 1, padding="same", name="conv_preds")(x)
        x = Reshape((classes,), name="reshape_2")(x)
        return Activation(classifier_activation, name="predictions")(x)

    return _common.finish(name or f"mobilenet_{alpha:0.2f}_{shape[0]}", inputs, x,
                          include_top, pooling, weights, top)
