"""MobileNetV2 as ``keras.applications.MobileNetV2`` builds it: inverted residual blocks
(1x1 expansion, 3x3 depthwise, 1x1 linear projection, ReLU6), Keras's layer names and parameter
counts (2,257,984 at 160x160 without the top, alpha 1.0)."""

from __future__ import annotations

from convnp.applications import _common
from convnp.layers import (
    Add,
    BatchNormalization,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    GlobalAveragePooling2D,
    ReLU,
    ZeroPadding2D,
)
from convnp.models import Model

WEIGHTS_FILE = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
# (filters, stride, expansion) of blocks 0..16
_BLOCKS = ((16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6),
           (64, 2, 6), (64, 1, 6), (64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6), (96, 1, 6),
           (160, 2, 6), (160, 1, 6), (160, 1, 6), (320, 1, 6))


def _make_divisible(value: float, divisor: int = 8) -> int:
    """The nearest multiple of ``divisor`` to ``value``, never 10% below it (Keras's rule)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def _batch_norm(name: str) -> BatchNormalization:
    return BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999, name=name)


def _inverted_residual(x, filters: int, stride: int, expansion: int, alpha: float,
                       block_id: int):
    in_channels = x.shape[-1]
    out_channels = _make_divisible(int(filters * alpha))
    inputs = x
    if block_id:
        prefix = f"block_{block_id}_"
        x = Conv2D(expansion * in_channels, 1, padding="same", use_bias=False,
                   name=prefix + "expand")(x)
        x = _batch_norm(prefix + "expand_BN")(x)
        x = ReLU(6.0, name=prefix + "expand_relu")(x)
    else:
        prefix = "expanded_conv_"
    if stride == 2:
        x = ZeroPadding2D(_common.correct_pad(x.shape[1:3], 3), name=prefix + "pad")(x)
    x = DepthwiseConv2D(3, strides=stride, use_bias=False,
                        padding="same" if stride == 1 else "valid",
                        name=prefix + "depthwise")(x)
    x = _batch_norm(prefix + "depthwise_BN")(x)
    x = ReLU(6.0, name=prefix + "depthwise_relu")(x)
    x = Conv2D(out_channels, 1, padding="same", use_bias=False, name=prefix + "project")(x)
    x = _batch_norm(prefix + "project_BN")(x)
    if stride == 1 and in_channels == out_channels:
        x = Add(name=prefix + "add")([inputs, x])
    return x


def MobileNetV2(input_shape=None, alpha: float = 1.0, include_top: bool = True, weights=None,
                input_tensor=None, pooling=None, classes: int = 1000,
                classifier_activation="softmax", name: str | None = None) -> Model:
    """MobileNetV2 for ``(rows, cols, 3)`` images (default 224x224, at least 32x32).

    Args:
        input_shape: ``(rows, cols, 3)``; without the top, rows and cols may be None and the
            default is ``(None, None, 3)`` (any image size, as in Keras); with it, the
            default size.
        alpha: width multiplier; Keras publishes weights for 0.35, 0.5, 0.75, 1.0, 1.3, 1.4
            (any positive value builds).
        include_top, weights, input_tensor, pooling, classes, classifier_activation: as
            `convnp.applications.ResNet50` (the top is global average pooling then
            ``Dense(classes)`` named ``predictions``).
        name: default ``mobilenetv2_{alpha:.2f}_{rows}``, as Keras.
    """
    _common.check_arguments("MobileNetV2", weights, include_top, classes, pooling,
                            classifier_activation,
                            _common.weights_file_for(WEIGHTS_FILE, include_top))
    _common.check_alpha("MobileNetV2", alpha, _ALPHAS)
    shape = _common.image_shape("MobileNetV2", input_shape, 224, 32, input_tensor,
                                any_size=not include_top)
    inputs = _common.model_input(shape, input_tensor)
    x = Conv2D(_make_divisible(32 * alpha), 3, strides=(2, 2), padding="same", use_bias=False,
               name="Conv1")(inputs)
    x = _batch_norm("bn_Conv1")(x)
    x = ReLU(6.0, name="Conv1_relu")(x)
    for block_id, (filters, stride, expansion) in enumerate(_BLOCKS):
        x = _inverted_residual(x, filters, stride, expansion, alpha, block_id)
    last = _make_divisible(1280 * alpha) if alpha > 1.0 else 1280
    x = Conv2D(last, 1, use_bias=False, name="Conv_1")(x)
    x = _batch_norm("Conv_1_bn")(x)
    x = ReLU(6.0, name="out_relu")(x)

    def top(x):
        x = GlobalAveragePooling2D()(x)
        return Dense(classes, activation=classifier_activation, name="predictions")(x)

    return _common.finish(name or f"mobilenetv2_{alpha:0.2f}_{shape[0]}", inputs, x,
                          include_top, pooling, weights, top)


def preprocess_input(x, data_format=None):
    """Keras's "tf" preprocessing: RGB [0, 255] to [-1, 1]."""
    return _common.preprocess_tf(x, data_format)


decode_predictions = _common.decode_predictions
