"""EfficientNetB0 to EfficientNetB7 as ``keras.applications`` builds them.

The stem rescales pixels in [0, 255] to [0, 1] and normalizes them (a ``Rescaling`` and a
``Normalization`` layer inside the model, so `preprocess_input` passes images through), then
a 3x3 stride-2 convolution. Seven stages of inverted residual blocks follow (1x1 expansion,
depthwise convolution, squeeze-and-excitation, 1x1 projection; swish activations); blocks that
keep their shape add their input back, after a ``Dropout`` with ``noise_shape=(None, 1, 1, 1)``
that drops whole examples' residual branches during training ("drop connect"), its rate
growing linearly with the block's index up to ``drop_connect_rate`` (0.2). B1..B7 scale the
widths and the numbers of blocks by Keras's coefficients. Layer names and parameter counts are
Keras's (EfficientNetB0: 5,330,571 with the 1000-class top).
"""

from __future__ import annotations

import math
from functools import partial

from convnp.applications import _common
from convnp.initializers import VarianceScaling
from convnp.layers import (
    Activation,
    Add,
    BatchNormalization,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Dropout,
    GlobalAveragePooling2D,
    Multiply,
    Normalization,
    Rescaling,
    Reshape,
    ZeroPadding2D,
)
from convnp.models import Model

# (kernel, repeats, filters in, filters out, expansion, stride) of the seven stages of B0;
# every block has squeeze-and-excitation with ratio 0.25
_STAGES = ((3, 1, 32, 16, 1, 1), (3, 2, 16, 24, 6, 2), (5, 2, 24, 40, 6, 2),
           (3, 3, 40, 80, 6, 2), (5, 3, 80, 112, 6, 1), (5, 4, 112, 192, 6, 2),
           (3, 1, 192, 320, 6, 1))
_SE_RATIO = 0.25
# version: (width coefficient, depth coefficient, default size, top dropout rate)
_VERSIONS = {0: (1.0, 1.0, 224, 0.2), 1: (1.0, 1.1, 240, 0.2), 2: (1.1, 1.2, 260, 0.3),
             3: (1.2, 1.4, 300, 0.3), 4: (1.4, 1.8, 380, 0.4), 5: (1.6, 2.2, 456, 0.4),
             6: (1.8, 2.6, 528, 0.5), 7: (2.0, 3.1, 600, 0.5)}
_DROP_CONNECT_RATE = 0.2
_DIVISOR = 8
_ACTIVATION = "swish"


def _conv_init():
    return VarianceScaling(scale=2.0, mode="fan_out", distribution="truncated_normal")


def _round_filters(filters: int, width: float) -> int:
    """``filters * width`` to a multiple of 8, never more than 10% below it (Keras's rule)."""
    scaled = filters * width
    rounded = max(_DIVISOR, int(scaled + _DIVISOR / 2) // _DIVISOR * _DIVISOR)
    return int(rounded + _DIVISOR if rounded < 0.9 * scaled else rounded)


def _block(inputs, name: str, drop_rate: float, kernel: int, filters_in: int,
           filters_out: int, expansion: int, stride: int):
    filters = filters_in * expansion
    x = inputs
    if expansion != 1:
        x = Conv2D(filters, 1, padding="same", use_bias=False, kernel_initializer=_conv_init(),
                   name=name + "expand_conv")(x)
        x = BatchNormalization(axis=3, name=name + "expand_bn")(x)
        x = Activation(_ACTIVATION, name=name + "expand_activation")(x)
    if stride == 2:
        x = ZeroPadding2D(_common.correct_pad(x.shape[1:3], kernel), name=name + "dwconv_pad")(x)
    x = DepthwiseConv2D(kernel, strides=stride, padding="same" if stride == 1 else "valid",
                        use_bias=False, depthwise_initializer=_conv_init(),
                        name=name + "dwconv")(x)
    x = BatchNormalization(axis=3, name=name + "bn")(x)
    x = Activation(_ACTIVATION, name=name + "activation")(x)
    # squeeze and excitation: per-channel gates from the channels' means
    gate = GlobalAveragePooling2D(name=name + "se_squeeze")(x)
    gate = Reshape((1, 1, filters), name=name + "se_reshape")(gate)
    gate = Conv2D(max(1, int(filters_in * _SE_RATIO)), 1, padding="same",
                  activation=_ACTIVATION, kernel_initializer=_conv_init(),
                  name=name + "se_reduce")(gate)
    gate = Conv2D(filters, 1, padding="same", activation="sigmoid",
                  kernel_initializer=_conv_init(), name=name + "se_expand")(gate)
    x = Multiply(name=name + "se_excite")([x, gate])
    x = Conv2D(filters_out, 1, padding="same", use_bias=False, kernel_initializer=_conv_init(),
               name=name + "project_conv")(x)
    x = BatchNormalization(axis=3, name=name + "project_bn")(x)
    if stride == 1 and filters_in == filters_out:
        if drop_rate > 0:
            x = Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=name + "drop")(x)
        x = Add(name=name + "add")([x, inputs])
    return x


def _efficientnet(version: int, include_top, weights, input_tensor, input_shape, pooling,
                  classes, classifier_activation, name) -> Model:
    label = f"EfficientNetB{version}"
    width, depth, default_size, dropout_rate = _VERSIONS[version]
    _common.check_arguments(label, weights, include_top, classes, pooling,
                            classifier_activation, f"efficientnetb{version}.h5")
    shape = _common.image_shape(label, input_shape, default_size, 32, input_tensor,
                                any_size=not include_top)
    inputs = _common.model_input(shape, input_tensor)
    x = Rescaling(1.0 / 255.0)(inputs)
    x = Normalization(axis=3)(x)
    x = ZeroPadding2D(_common.correct_pad(x.shape[1:3], 3), name="stem_conv_pad")(x)
    x = Conv2D(_round_filters(32, width), 3, strides=2, padding="valid", use_bias=False,
               kernel_initializer=_conv_init(), name="stem_conv")(x)
    x = BatchNormalization(axis=3, name="stem_bn")(x)
    x = Activation(_ACTIVATION, name="stem_activation")(x)
    repeats = [math.ceil(depth * stage[1]) for stage in _STAGES]
    total, index = float(sum(repeats)), 0
    for stage, ((kernel, _, f_in, f_out, expansion, stride), count) in enumerate(
            zip(_STAGES, repeats), start=1):
        f_in, f_out = _round_filters(f_in, width), _round_filters(f_out, width)
        for j in range(count):
            x = _block(x, f"block{stage}{chr(ord('a') + j)}_",
                       _DROP_CONNECT_RATE * index / total, kernel,
                       f_in if j == 0 else f_out, f_out, expansion, stride if j == 0 else 1)
            index += 1
    x = Conv2D(_round_filters(1280, width), 1, padding="same", use_bias=False,
               kernel_initializer=_conv_init(), name="top_conv")(x)
    x = BatchNormalization(axis=3, name="top_bn")(x)
    x = Activation(_ACTIVATION, name="top_activation")(x)

    def top(x):
        x = GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = Dropout(dropout_rate, name="top_dropout")(x)
        return Dense(classes, activation=classifier_activation,
                     kernel_initializer=VarianceScaling(scale=1.0 / 3.0, mode="fan_out",
                                                        distribution="uniform"),
                     name="predictions")(x)

    return _common.finish(name, inputs, x, include_top, pooling, weights, top,
                          ("avg_pool", "max_pool"))


def _make(version: int):
    width, depth, size, dropout = _VERSIONS[version]
    return _common.standard_builder(
        partial(_efficientnet, version), f"EfficientNetB{version}", f"efficientnetb{version}",
        f"EfficientNet-B{version} for ``(rows, cols, 3)`` images in [0, 255] (default "
        f"{size}x{size}, at least 32x32): widths x{width}, blocks x{depth}, top dropout "
        f"{dropout}. Arguments as `convnp.applications.ResNet50`; the top is global average "
        "pooling, ``top_dropout`` and ``predictions``.")


EfficientNetB0 = _make(0)
EfficientNetB1 = _make(1)
EfficientNetB2 = _make(2)
EfficientNetB3 = _make(3)
EfficientNetB4 = _make(4)
EfficientNetB5 = _make(5)
EfficientNetB6 = _make(6)
EfficientNetB7 = _make(7)


def preprocess_input(x, data_format=None):
    """The identity (EfficientNet rescales inside the model), as Keras: returns ``x``."""
    _common.check_data_format(data_format)
    return x


decode_predictions = _common.decode_predictions
