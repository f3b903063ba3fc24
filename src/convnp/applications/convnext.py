"""ConvNeXtTiny, Small, Base, Large and XLarge as ``keras.applications`` builds them, with
Keras's layer names and parameter counts (ConvNeXtTiny: 28,589,128 with the 1000-class top).

The stem normalizes pixels in [0, 255] with ImageNet's channel statistics inside the model
(``include_preprocessing``: a ``Normalization`` layer with fixed mean and variance, no
weights), then a 4x4 stride-4 "patchify" convolution and a layer normalization, together a
nested ``Sequential`` (``<name>_stem``). Four stages of blocks follow, each stage after the
first opened by a nested ``Sequential`` of a layer normalization and a 2x2 stride-2
convolution (``<name>_downsampling_block_<i>``). A block is a 7x7 depthwise convolution (a
``Conv2D`` with one group per channel), a layer normalization, a ``Dense`` expansion to four
times the channels, GELU, a ``Dense`` projection back, a `LayerScale` (per-channel factors
starting at 1e-6) and an identity ``Activation("linear")`` (Keras's stand-in for stochastic
depth, whose rate is 0 in every published variant), added to the block's input. The top is
global average pooling, a layer normalization and ``Dense(classes)`` (``<name>_head_*``);
without it, the optional pooling is followed by a layer normalization, as in Keras.

One difference from Keras 3: Keras adds each block's input back with the ``+`` operator, a
tensor operation that is not a layer; convnp uses an ``Add`` layer with the same automatic
name (``add``, ``add_1``, ...), so ``model.layers`` has those 18 (Tiny) more layers than
Keras's, and Keras's ``model.operations``, which lists them, is the same.
"""

from __future__ import annotations

from convnp.applications import _common
from convnp.layers import (
    Activation,
    Add,
    Conv2D,
    Dense,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    LayerNormalization,
    LayerScale,
    Normalization,
)
from convnp.models import Model, Sequential

# variant: (blocks per stage, channels per stage)
_VARIANTS = {"tiny": ((3, 3, 9, 3), (96, 192, 384, 768)),
             "small": ((3, 3, 27, 3), (96, 192, 384, 768)),
             "base": ((3, 3, 27, 3), (128, 256, 512, 1024)),
             "large": ((3, 3, 27, 3), (192, 384, 768, 1536)),
             "xlarge": ((3, 3, 27, 3), (256, 512, 1024, 2048))}
_EPSILON = 1e-6
_LAYER_SCALE = 1e-6
# ImageNet channel statistics on [0, 255] pixels
_MEAN = [0.485 * 255, 0.456 * 255, 0.406 * 255]
_VARIANCE = [(0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2]


def _norm(name: str | None = None) -> LayerNormalization:
    return LayerNormalization(epsilon=_EPSILON, name=name)


def _block(inputs, channels: int, name: str):
    x = Conv2D(channels, 7, padding="same", groups=channels, name=name + "_depthwise_conv")(
        inputs)
    x = _norm(name + "_layernorm")(x)
    x = Dense(4 * channels, name=name + "_pointwise_conv_1")(x)
    x = Activation("gelu", name=name + "_gelu")(x)
    x = Dense(channels, name=name + "_pointwise_conv_2")(x)
    x = LayerScale(_LAYER_SCALE, channels, name=name + "_layer_scale")(x)
    x = Activation("linear", name=name + "_identity")(x)
    return Add()([inputs, x])


def _convnext(variant: str, include_top, include_preprocessing, weights, input_tensor,
              input_shape, pooling, classes, classifier_activation, name) -> Model:
    label = f"ConvNeXt{'XLarge' if variant == 'xlarge' else variant.capitalize()}"
    depths, channels = _VARIANTS[variant]
    if not isinstance(include_preprocessing, bool):
        raise TypeError(f"{label}: include_preprocessing must be a bool, got "
                        f"{include_preprocessing!r}")
    if not isinstance(name, str) or not name:
        raise TypeError(f"{label}: name must be a non-empty string (it prefixes the layer "
                        f"names), got {name!r}")
    top_file = include_top if isinstance(include_top, bool) else True
    _common.check_arguments(label, weights, include_top, classes, pooling,
                            classifier_activation,
                            f"convnext_{variant}{'' if top_file else '_notop'}.h5")
    shape = _common.image_shape(label, input_shape, 224, 32, input_tensor,
                                any_size=not include_top)
    inputs = _common.model_input(shape, input_tensor)
    x = inputs
    if include_preprocessing and shape[-1] == 3:
        x = Normalization(mean=_MEAN, variance=_VARIANCE,
                          name=f"{name}_prestem_normalization")(x)
    x = Sequential([Conv2D(channels[0], 4, strides=4, name=f"{name}_stem_conv"),
                    _norm(f"{name}_stem_layernorm")], name=f"{name}_stem")(x)
    for stage, (count, width) in enumerate(zip(depths, channels)):
        if stage:
            i = stage - 1
            x = Sequential([_norm(f"{name}_downsampling_layernorm_{i}"),
                            Conv2D(width, 2, strides=2, name=f"{name}_downsampling_conv_{i}")],
                           name=f"{name}_downsampling_block_{i}")(x)
        for j in range(count):
            x = _block(x, width, f"{name}_stage_{stage}_block_{j}")
    if include_top:
        x = GlobalAveragePooling2D(name=f"{name}_head_gap")(x)
        x = _norm(f"{name}_head_layernorm")(x)
        x = Dense(classes, activation=classifier_activation, name=f"{name}_head_dense")(x)
    else:
        if pooling == "avg":
            x = GlobalAveragePooling2D()(x)
        elif pooling == "max":
            x = GlobalMaxPooling2D()(x)
        x = _norm()(x)
    model = Model(_common.model_inputs(inputs), x, name=name)
    if weights is not None:
        _common.load_weights_file(model, weights)
    return model


def _make(variant: str):
    depths, channels = _VARIANTS[variant]
    label = f"ConvNeXt{'XLarge' if variant == 'xlarge' else variant.capitalize()}"

    def builder(include_top: bool = True, include_preprocessing: bool = True, weights=None,
                input_tensor=None, input_shape=None, pooling=None, classes: int = 1000,
                classifier_activation="softmax", name: str = f"convnext_{variant}"):
        return _convnext(variant, include_top, include_preprocessing, weights, input_tensor,
                         input_shape, pooling, classes, classifier_activation, name)

    builder.__name__ = builder.__qualname__ = label
    builder.__doc__ = (
        f"{label} for ``(rows, cols, 3)`` images in [0, 255] (at least 32x32; default "
        "224x224 with the top, without it any size, ``(None, None, 3)``, as in Keras): "
        f"{depths} blocks of {channels} channels. Arguments as "
        "`convnp.applications.ResNet50` (in Keras's order: ``include_top``, "
        "``include_preprocessing``, ``weights``, ...), plus ``include_preprocessing`` "
        "(normalize the pixels inside the model; default True). ``name`` prefixes every "
        "layer's name.")
    return builder


ConvNeXtTiny = _make("tiny")
ConvNeXtSmall = _make("small")
ConvNeXtBase = _make("base")
ConvNeXtLarge = _make("large")
ConvNeXtXLarge = _make("xlarge")


def preprocess_input(x, data_format=None):
    """The identity (ConvNeXt normalizes inside the model), as Keras: returns ``x``."""
    _common.check_data_format(data_format)
    return x


decode_predictions = _common.decode_predictions
