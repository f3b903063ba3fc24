"""EfficientNetV2B0..B3, S, M and L as ``keras.applications`` builds them, with Keras's layer
names and parameter counts (EfficientNetV2B0: 7,200,312 with the 1000-class top), so Keras
weight files load.

The stem rescales pixels in [0, 255] inside the model (``include_preprocessing``): B0..B3 to
[0, 1] then normalized with ImageNet's channel statistics (a ``Normalization`` layer with fixed
mean and variance, no weights), S/M/L to [-1, 1]; so `preprocess_input` passes images through.
Then a 3x3 stride-2 convolution and six or seven stages of blocks. The early stages use "fused"
blocks: one 3x3 convolution (the expansion, or the projection when there is no expansion)
instead of a 1x1 expansion followed by a depthwise convolution; the later stages use the
inverted residual blocks of EfficientNet (1x1 expansion, 3x3 depthwise convolution,
squeeze-and-excitation with ratio 0.25, 1x1 projection). All convolutions pad "same", batch
normalization has momentum 0.9, activations are swish. Blocks that keep their shape add their
input back after a per-example ``Dropout`` (drop connect) whose rate grows with the block's
index up to 0.2 (the first block has none: its rate is 0). B1..B3 scale widths and numbers of
blocks; S, M and L have their own stage tables.
"""

from __future__ import annotations

import math

from convnp.applications import _common
from convnp.initializers import Constant, VarianceScaling
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
)
from convnp.models import Model

# (kernel, repeats, filters in, filters out, expansion, squeeze-excite ratio, stride, fused)
_B = ((3, 1, 32, 16, 1, 0, 1, True), (3, 2, 16, 32, 4, 0, 2, True),
      (3, 2, 32, 48, 4, 0, 2, True), (3, 3, 48, 96, 4, 0.25, 2, False),
      (3, 5, 96, 112, 6, 0.25, 1, False), (3, 8, 112, 192, 6, 0.25, 2, False))
_S = ((3, 2, 24, 24, 1, 0, 1, True), (3, 4, 24, 48, 4, 0, 2, True),
      (3, 4, 48, 64, 4, 0, 2, True), (3, 6, 64, 128, 4, 0.25, 2, False),
      (3, 9, 128, 160, 6, 0.25, 1, False), (3, 15, 160, 256, 6, 0.25, 2, False))
_M = ((3, 3, 24, 24, 1, 0, 1, True), (3, 5, 24, 48, 4, 0, 2, True),
      (3, 5, 48, 80, 4, 0, 2, True), (3, 7, 80, 160, 4, 0.25, 2, False),
      (3, 14, 160, 176, 6, 0.25, 1, False), (3, 18, 176, 304, 6, 0.25, 2, False),
      (3, 5, 304, 512, 6, 0.25, 1, False))
_L = ((3, 4, 32, 32, 1, 0, 1, True), (3, 7, 32, 64, 4, 0, 2, True),
      (3, 7, 64, 96, 4, 0, 2, True), (3, 10, 96, 192, 4, 0.25, 2, False),
      (3, 19, 192, 224, 6, 0.25, 1, False), (3, 25, 224, 384, 6, 0.25, 2, False),
      (3, 7, 384, 640, 6, 0.25, 1, False))
# variant: (stages, width coefficient, depth coefficient, default size)
_VARIANTS = {"b0": (_B, 1.0, 1.0, 224), "b1": (_B, 1.0, 1.1, 240), "b2": (_B, 1.1, 1.2, 260),
             "b3": (_B, 1.2, 1.4, 300), "s": (_S, 1.0, 1.0, 384), "m": (_M, 1.0, 1.0, 480),
             "l": (_L, 1.0, 1.0, 480)}
_DROP_CONNECT_RATE = 0.2
_TOP_DROPOUT = 0.2
_ACTIVATION = "swish"
# ImageNet channel statistics of the B variants' stem, on [0, 1] pixels
_MEAN = (0.485, 0.456, 0.406)
_VARIANCE = (0.229 ** 2, 0.224 ** 2, 0.225 ** 2)


def _conv_init():
    return VarianceScaling(scale=2.0, mode="fan_out", distribution="truncated_normal")


def _round_filters(filters: int, width: float, divisor: int = 8) -> int:
    """``filters * width`` to the nearest multiple of 8 (at least 8). Unlike EfficientNet
    (V1), Keras's V2 does not add 8 when that falls 10% below the product."""
    return int(max(divisor, int(filters * width + divisor / 2) // divisor * divisor))


def _conv(filters: int, kernel: int, name: str, strides: int = 1, **kwargs) -> Conv2D:
    return Conv2D(filters, kernel, strides=strides, padding="same",
                  kernel_initializer=_conv_init(), name=name, **kwargs)


def _norm(name: str) -> BatchNormalization:
    return BatchNormalization(axis=3, momentum=0.9, name=name)


def _squeeze_excite(x, filters: int, filters_in: int, ratio: float, name: str):
    gate = GlobalAveragePooling2D(name=name + "se_squeeze")(x)
    gate = Reshape((1, 1, filters), name=name + "se_reshape")(gate)
    gate = _conv(max(1, int(filters_in * ratio)), 1, name + "se_reduce",
                 activation=_ACTIVATION)(gate)
    gate = _conv(filters, 1, name + "se_expand", activation="sigmoid")(gate)
    return Multiply(name=name + "se_excite")([x, gate])


def _block(inputs, name: str, drop_rate: float, kernel: int, filters_in: int,
           filters_out: int, expansion: int, se_ratio: float, stride: int, fused: bool):
    """One block, fused (``fused``) or not; its ``drop`` and ``add`` when the shape is kept."""
    filters = filters_in * expansion
    x = inputs
    if expansion != 1:  # fused: the expansion is the 3x3 (strided) convolution itself
        x = _conv(filters, kernel if fused else 1, name + "expand_conv",
                  strides=stride if fused else 1, use_bias=False)(x)
        x = _norm(name + "expand_bn")(x)
        x = Activation(_ACTIVATION, name=name + "expand_activation")(x)
    if not fused:
        x = DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False,
                            depthwise_initializer=_conv_init(), name=name + "dwconv2")(x)
        x = _norm(name + "bn")(x)
        x = Activation(_ACTIVATION, name=name + "activation")(x)
    if 0 < se_ratio <= 1:
        x = _squeeze_excite(x, filters, filters_in, se_ratio, name)
    # the projection; a fused block without expansion does its 3x3 (strided) work here
    alone = fused and expansion == 1
    x = _conv(filters_out, kernel if alone else 1, name + "project_conv",
              strides=stride if alone else 1, use_bias=False)(x)
    x = _norm(name + "project_bn")(x)
    if alone:
        x = Activation(_ACTIVATION, name=name + "project_activation")(x)
    if stride == 1 and filters_in == filters_out:
        if drop_rate > 0:
            x = Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=name + "drop")(x)
        x = Add(name=name + "add")([x, inputs])
    return x


def _efficientnet_v2(variant: str, include_top, weights, input_tensor, input_shape, pooling,
                     classes, classifier_activation, include_preprocessing, name) -> Model:
    label = f"EfficientNetV2{variant.upper()}"
    stages, width, depth, default_size = _VARIANTS[variant]
    if not isinstance(include_preprocessing, bool):
        raise TypeError(f"{label}: include_preprocessing must be a bool, got "
                        f"{include_preprocessing!r}")
    top_file = include_top if isinstance(include_top, bool) else True
    _common.check_arguments(label, weights, include_top, classes, pooling,
                            classifier_activation,
                            f"efficientnetv2-{variant}{'' if top_file else '_notop'}.h5")
    shape = _common.image_shape(label, input_shape, default_size, 32, input_tensor,
                                any_size=not include_top)
    inputs = _common.model_input(shape, input_tensor)
    x = inputs
    if include_preprocessing:
        if variant.startswith("b") and shape[-1] == 3:
            x = Rescaling(1.0 / 255)(x)
            x = Normalization(mean=list(_MEAN), variance=list(_VARIANCE), axis=3)(x)
        else:
            x = Rescaling(1.0 / 128.0, offset=-1)(x)
    x = _conv(_round_filters(stages[0][2], width), 3, "stem_conv", strides=2,
              use_bias=False)(x)
    x = _norm("stem_bn")(x)
    x = Activation(_ACTIVATION, name="stem_activation")(x)
    repeats = [math.ceil(depth * stage[1]) for stage in stages]
    total, index = float(sum(stage[1] for stage in stages)), 0
    for stage, ((kernel, _, f_in, f_out, expansion, se_ratio, stride, fused), count) in \
            enumerate(zip(stages, repeats), start=1):
        f_in, f_out = _round_filters(f_in, width), _round_filters(f_out, width)
        for j in range(count):
            x = _block(x, f"block{stage}{chr(ord('a') + j)}_",
                       _DROP_CONNECT_RATE * index / total, kernel,
                       f_in if j == 0 else f_out, f_out, expansion, se_ratio,
                       stride if j == 0 else 1, fused)
            index += 1
    x = _conv(_round_filters(1280, width), 1, "top_conv", use_bias=False)(x)
    x = _norm("top_bn")(x)
    x = Activation(_ACTIVATION, name="top_activation")(x)

    def top(x):
        x = GlobalAveragePooling2D(name="avg_pool")(x)
        x = Dropout(_TOP_DROPOUT, name="top_dropout")(x)
        return Dense(classes, activation=classifier_activation,
                     kernel_initializer=VarianceScaling(scale=1.0 / 3.0, mode="fan_out",
                                                        distribution="uniform"),
                     bias_initializer=Constant(0.0), name="predictions")(x)

    return _common.finish(name, inputs, x, include_top, pooling, weights, top,
                          ("avg_pool", "max_pool"))


def _make(variant: str):
    stages, width, depth, size = _VARIANTS[variant]
    label = f"EfficientNetV2{variant.upper()}"

    def builder(include_top: bool = True, weights=None, input_tensor=None, input_shape=None,
                pooling=None, classes: int = 1000, classifier_activation="softmax",
                include_preprocessing: bool = True, name: str = f"efficientnetv2-{variant}"):
        return _efficientnet_v2(variant, include_top, weights, input_tensor, input_shape,
                                pooling, classes, classifier_activation,
                                include_preprocessing, name)

    builder.__name__ = builder.__qualname__ = label
    builder.__doc__ = (
        f"EfficientNetV2-{variant.upper()} for ``(rows, cols, 3)`` images in [0, 255] "
        f"(at least 32x32; default {size}x{size} with the top, without it any size, "
        f"``(None, None, 3)``, as in Keras): {sum(s[1] for s in stages)} blocks x"
        f"{depth}, widths x{width}. Arguments as `convnp.applications.ResNet50`, plus "
        "``include_preprocessing`` (rescale, and for B0..B3 normalize, the pixels inside the "
        "model; default True). The top is global average pooling, ``top_dropout`` (0.2) and "
        "``predictions``.")
    return builder


EfficientNetV2B0 = _make("b0")
EfficientNetV2B1 = _make("b1")
EfficientNetV2B2 = _make("b2")
EfficientNetV2B3 = _make("b3")
EfficientNetV2S = _make("s")
EfficientNetV2M = _make("m")
EfficientNetV2L = _make("l")


def preprocess_input(x, data_format=None):
    """The identity (EfficientNetV2 rescales inside the model), as Keras: returns ``x``."""
    _common.check_data_format(data_format)
    return x


decode_predictions = _common.decode_predictions
