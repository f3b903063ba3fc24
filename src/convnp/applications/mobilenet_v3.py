"""MobileNetV3Small and MobileNetV3Large as ``keras.applications`` builds them, with Keras's
layer names and parameter counts (MobileNetV3Small: 2,554,968 with the 1000-class top), so
Keras weight files load.

The stem rescales pixels in [0, 255] to [-1, 1] inside the model (``include_preprocessing``,
so `preprocess_input` passes images through). Inverted residual blocks follow (1x1 expansion,
depthwise convolution, optional squeeze-and-excitation gated by a hard sigmoid, 1x1 linear
projection), with ReLU in the early blocks and hard swish (``x * relu6(x + 3) / 6``) in the
later ones. ``minimalistic=True`` drops squeeze-and-excitation and hard swish and uses 3x3
kernels everywhere. The top is not a Dense layer: global average pooling (kept 4-D), a biased
1x1 convolution ``conv_2``, dropout, a 1x1 convolution ``logits``, ``Flatten`` and the
classifier activation ``predictions``.

One difference from Keras 3: Keras computes the squeeze-and-excitation gate as
``ReLU(6.0)(x + 3.0) * (1 / 6)``, two tensor operations around an automatically named ReLU;
convnp uses one ``Activation("hard_sigmoid")`` (the same function) under that ReLU's automatic
name, so the model has Keras's layers, names and weights, and saves as a Keras file.
"""

from __future__ import annotations

from convnp.applications import _common
from convnp.layers import (
    Activation,
    Add,
    BatchNormalization,
    Conv2D,
    DepthwiseConv2D,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    Multiply,
    ReLU,
    Rescaling,
    ZeroPadding2D,
)
from convnp.layers.base import unique_name
from convnp.models import Model

_ALPHAS = (0.75, 1.0)
# (expansion, filters, kernel (None: the model's), stride, squeeze-excite, hard swish) per block
_SMALL = ((1, 16, 3, 2, True, False), (72 / 16, 24, 3, 2, False, False),
          (88 / 24, 24, 3, 1, False, False), (4, 40, None, 2, True, True),
          (6, 40, None, 1, True, True), (6, 40, None, 1, True, True),
          (3, 48, None, 1, True, True), (3, 48, None, 1, True, True),
          (6, 96, None, 2, True, True), (6, 96, None, 1, True, True),
          (6, 96, None, 1, True, True))
_LARGE = ((1, 16, 3, 1, False, False), (4, 24, 3, 2, False, False),
          (3, 24, 3, 1, False, False), (3, 40, None, 2, True, False),
          (3, 40, None, 1, True, False), (3, 40, None, 1, True, False),
          (6, 80, 3, 2, False, True), (2.5, 80, 3, 1, False, True),
          (2.3, 80, 3, 1, False, True), (2.3, 80, 3, 1, False, True),
          (6, 112, 3, 1, True, True), (6, 112, 3, 1, True, True),
          (6, 160, None, 2, True, True), (6, 160, None, 1, True, True),
          (6, 160, None, 1, True, True))
# model type: (blocks, channels of the top's conv_2)
_TYPES = {"small": (_SMALL, 1024), "large": (_LARGE, 1280)}


def _depth(value: float, divisor: int = 8) -> int:
    """The nearest multiple of ``divisor`` to ``value``, never 10% below it (Keras's rule)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def _batch_norm(name: str) -> BatchNormalization:
    return BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999, name=name)


def _activate(x, hard_swish: bool):
    """Keras's two activations: an automatically named ``Activation("hard_swish")`` or
    ``ReLU()``."""
    return Activation("hard_swish")(x) if hard_swish else ReLU()(x)


def _squeeze_excite(inputs, filters: int, prefix: str):
    """Per-channel gates in [0, 1] from the channels' means (ratio 0.25)."""
    x = GlobalAveragePooling2D(keepdims=True, name=prefix + "squeeze_excite_avg_pool")(inputs)
    x = Conv2D(_depth(filters * 0.25), 1, padding="same",
               name=prefix + "squeeze_excite_conv")(x)
    x = ReLU(name=prefix + "squeeze_excite_relu")(x)
    x = Conv2D(filters, 1, padding="same", name=prefix + "squeeze_excite_conv_1")(x)
    # relu6(x + 3) / 6, named as Keras's automatic ReLU of that computation
    x = Activation("hard_sigmoid", name=unique_name("re_lu"))(x)
    return Multiply(name=prefix + "squeeze_excite_mul")([inputs, x])


def _inverted_residual(x, expansion: float, filters: int, kernel: int, stride: int,
                       squeeze_excite: bool, hard_swish: bool, block_id: int):
    shortcut = x
    in_channels = x.shape[-1]
    prefix = f"expanded_conv_{block_id}_" if block_id else "expanded_conv_"
    if block_id:
        x = Conv2D(_depth(in_channels * expansion), 1, padding="same", use_bias=False,
                   name=prefix + "expand")(x)
        x = _batch_norm(prefix + "expand_bn")(x)
        x = _activate(x, hard_swish)
    if stride == 2:
        x = ZeroPadding2D(_common.correct_pad(x.shape[1:3], kernel),
                          name=prefix + "depthwise_pad")(x)
    x = DepthwiseConv2D(kernel, strides=stride, padding="same" if stride == 1 else "valid",
                        use_bias=False, name=prefix + "depthwise")(x)
    x = _batch_norm(prefix + "depthwise_bn")(x)
    x = _activate(x, hard_swish)
    if squeeze_excite:
        x = _squeeze_excite(x, _depth(in_channels * expansion), prefix)
    x = Conv2D(filters, 1, padding="same", use_bias=False, name=prefix + "project")(x)
    x = _batch_norm(prefix + "project_bn")(x)
    if stride == 1 and in_channels == filters:
        x = Add(name=prefix + "add")([shortcut, x])
    return x


def _weights_file(model_type: str, minimalistic: bool, alpha, include_top: bool) -> str:
    stem = f"{model_type}{'_minimalistic' if minimalistic else ''}_224_{alpha}_float"
    return f"weights_mobilenet_v3_{stem}{'' if include_top else '_no_top_v2'}.h5"


def _check_bool(label: str, argument: str, value) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{label}: {argument} must be a bool, got {value!r}")


def _mobilenet_v3(model_type: str, input_shape, alpha, minimalistic, include_top, weights,
                  input_tensor, classes, pooling, dropout_rate, classifier_activation,
                  include_preprocessing, name) -> Model:
    label = "MobileNetV3" + model_type.capitalize()
    _common.check_alpha(label, alpha, _ALPHAS)
    _check_bool(label, "minimalistic", minimalistic)
    _check_bool(label, "include_preprocessing", include_preprocessing)
    _common.check_arguments(label, weights, include_top, classes, pooling,
                            classifier_activation,
                            _weights_file(model_type, minimalistic, alpha,
                                          include_top if isinstance(include_top, bool)
                                          else True))
    _common.check_rate(label, "dropout_rate", dropout_rate)
    # the top pools before its 1x1 convolutions: any image size, with or without it
    shape = _common.image_shape(label, input_shape, 224, 32, input_tensor, any_size=True)
    blocks, last_point = _TYPES[model_type]
    inputs = _common.model_input(shape, input_tensor)
    x = inputs
    if include_preprocessing:
        x = Rescaling(scale=1.0 / 127.5, offset=-1.0)(x)
    x = Conv2D(16, 3, strides=(2, 2), padding="same", use_bias=False, name="conv")(x)
    x = _batch_norm("conv_bn")(x)
    x = _activate(x, not minimalistic)
    for block_id, (expansion, filters, kernel, stride, squeeze_excite, hard_swish) in \
            enumerate(blocks):
        x = _inverted_residual(
            x, expansion, _depth(filters * alpha),
            3 if minimalistic else (kernel or 5), stride,
            squeeze_excite and not minimalistic, hard_swish and not minimalistic, block_id)
    x = Conv2D(_depth(x.shape[-1] * 6), 1, padding="same", use_bias=False, name="conv_1")(x)
    x = _batch_norm("conv_1_bn")(x)
    x = _activate(x, not minimalistic)
    if alpha > 1.0:
        last_point = _depth(last_point * alpha)
    if include_top:
        x = GlobalAveragePooling2D(keepdims=True)(x)
        x = Conv2D(last_point, 1, padding="same", use_bias=True, name="conv_2")(x)
        x = _activate(x, not minimalistic)
        if dropout_rate > 0:
            x = Dropout(dropout_rate)(x)
        x = Conv2D(classes, 1, padding="same", name="logits")(x)
        x = Flatten()(x)
        x = Activation(classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = GlobalMaxPooling2D(name="max_pool")(x)
    model = Model(_common.model_inputs(inputs), x, name=name)
    if weights is not None:
        _common.load_weights_file(model, weights)
    return model


_ARGS = """
    Args:
        input_shape: ``(rows, cols, 3)``, pixels in [0, 255], at least 32x32; rows and cols
            may be None. Default ``(None, None, 3)``: images of any size, as in Keras (the
            stride-2 paddings are then those of an even size, as Keras's).
        alpha: width multiplier; Keras publishes weights for 0.75 and 1.0 (any positive value
            builds).
        minimalistic: no squeeze-and-excitation, no hard swish, 3x3 kernels only.
        include_top, weights, input_tensor, pooling, classes, classifier_activation: as
            `convnp.applications.ResNet50` (the top: pooling, ``conv_2``, dropout, ``logits``,
            ``Flatten``, ``predictions``).
        dropout_rate: dropout before ``logits``.
        include_preprocessing: rescale [0, 255] to [-1, 1] in the model (a ``Rescaling``
            layer).
        name: the model's name.
"""


def MobileNetV3Small(input_shape=None, alpha: float = 1.0, minimalistic: bool = False,
                     include_top: bool = True, weights=None, input_tensor=None,
                     classes: int = 1000, pooling=None, dropout_rate: float = 0.2,
                     classifier_activation="softmax", include_preprocessing: bool = True,
                     name: str = "MobileNetV3Small") -> Model:
    return _mobilenet_v3("small", input_shape, alpha, minimalistic, include_top, weights,
                         input_tensor, classes, pooling, dropout_rate, classifier_activation,
                         include_preprocessing, name)


def MobileNetV3Large(input_shape=None, alpha: float = 1.0, minimalistic: bool = False,
                     include_top: bool = True, weights=None, input_tensor=None,
                     classes: int = 1000, pooling=None, dropout_rate: float = 0.2,
                     classifier_activation="softmax", include_preprocessing: bool = True,
                     name: str = "MobileNetV3Large") -> Model:
    return _mobilenet_v3("large", input_shape, alpha, minimalistic, include_top, weights,
                         input_tensor, classes, pooling, dropout_rate, classifier_activation,
                         include_preprocessing, name)


MobileNetV3Small.__doc__ = ("MobileNetV3-Small (11 blocks, 2.55M parameters with the "
                            "1000-class top).\n" + _ARGS)
MobileNetV3Large.__doc__ = ("MobileNetV3-Large (15 blocks, 5.51M parameters with the "
                            "1000-class top).\n" + _ARGS)


def preprocess_input(x, data_format=None):
    """The identity (the model rescales its input itself), as Keras: returns ``x``."""
    _common.check_data_format(data_format)
    return x


decode_predictions = _common.decode_predictions
