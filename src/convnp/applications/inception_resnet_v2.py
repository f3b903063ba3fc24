"""InceptionResNetV2 as ``keras.applications.InceptionResNetV2`` builds it: the stem of
InceptionV3 (five conv-BN-ReLU units, two max poolings), an Inception block (``mixed_5b``),
ten ``block35_N`` residual blocks, a grid reduction (``mixed_6a``), twenty ``block17_N``, a
second reduction (``mixed_7a``), ten ``block8_N`` (the last without its ReLU) and a 1x1
``conv_7b`` unit.

A residual block concatenates its branches (``<block>_mixed``), projects them back to the
input's channels with a biased 1x1 conv (``<block>_conv``) and adds them to its input scaled
by a fixed factor with `convnp.layers.CustomScaleLayer` (Keras's class of the same name,
automatically named ``custom_scale_layer_N``), then applies ReLU (``<block>_ac``). The other
conv-BN-ReLU units are named automatically (``conv2d_N``, ``batch_normalization_N``,
``activation_N``; batch normalization without ``scale``). Parameter counts are Keras's
(55,873,736 with the 1000-class top). Input at least 75x75 (default 299x299)."""

from __future__ import annotations

from convnp import layers
from convnp.applications import _common
from convnp.applications.mobilenet_v2 import decode_predictions, preprocess_input
from convnp.models import Model

__all__ = ["InceptionResNetV2", "decode_predictions", "preprocess_input"]
WEIGHTS_FILE = "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5"


_unit = _common.conv_bn


def _chain(x, steps):
    """Units one after another; a step is ``(filters, kernel)``, or that plus ``2`` for a
    stride-2 'valid' unit."""
    for step in steps:
        if len(step) == 3:
            x = _unit(x, *step[:2], strides=2, padding="valid")
        else:
            x = _unit(x, *step)
    return x


# the branches of each residual block type, as `_chain` steps
_BRANCHES = {
    "block35": ([(32, 1)], [(32, 1), (32, 3)], [(32, 1), (48, 3), (64, 3)]),
    "block17": ([(192, 1)], [(128, 1), (160, (1, 7)), (192, (7, 1))]),
    "block8": ([(192, 1)], [(192, 1), (224, (1, 3)), (256, (3, 1))]),
}


def _residual_block(x, block_type: str, index: int, scale: float, activation="relu"):
    name = f"{block_type}_{index}"
    mixed = layers.Concatenate(axis=3, name=f"{name}_mixed")(
        [_chain(x, steps) for steps in _BRANCHES[block_type]])
    up = _unit(mixed, x.shape[3], 1, activation=None, use_bias=True, name=f"{name}_conv")
    x = layers.CustomScaleLayer(scale)([x, up])
    if activation is not None:
        x = layers.Activation(activation, name=f"{name}_ac")(x)
    return x


def _max_pool(x):
    return layers.MaxPooling2D(3, strides=2)(x)


def InceptionResNetV2(include_top: bool = True, weights=None, input_tensor=None,
                      input_shape=None, pooling=None, classes: int = 1000,
                      classifier_activation="softmax",
                      name: str = "inception_resnet_v2") -> Model:
    """Inception-ResNet-v2 for ``(rows, cols, 3)`` images (default 299x299, at least 75x75);
    arguments as `convnp.applications.ResNet50`."""
    _common.check_arguments("InceptionResNetV2", weights, include_top, classes, pooling,
                            classifier_activation,
                            _common.weights_file_for(WEIGHTS_FILE, include_top))
    shape = _common.image_shape("InceptionResNetV2", input_shape, 299, 75, input_tensor,
                                any_size=not include_top)
    inputs = _common.model_input(shape, input_tensor)
    x = _chain(inputs, [(32, 3, 2)])
    x = _unit(x, 32, 3, padding="valid")
    x = _unit(x, 64, 3)
    x = _max_pool(x)
    x = _unit(x, 80, 1, padding="valid")
    x = _unit(x, 192, 3, padding="valid")
    x = _max_pool(x)
    pooled = layers.AveragePooling2D(3, strides=1, padding="same")(x)
    x = layers.Concatenate(axis=3, name="mixed_5b")(
        [_unit(x, 96, 1), _chain(x, [(48, 1), (64, 5)]),
         _chain(x, [(64, 1), (96, 3), (96, 3)]), _unit(pooled, 64, 1)])
    for i in range(1, 11):
        x = _residual_block(x, "block35", i, 0.17)
    # grid reduction to 17x17 (for a 299x299 input)
    x = layers.Concatenate(axis=3, name="mixed_6a")(
        [_chain(x, [(384, 3, 2)]), _chain(x, [(256, 1), (256, 3), (384, 3, 2)]),
         _max_pool(x)])
    for i in range(1, 21):
        x = _residual_block(x, "block17", i, 0.1)
    # grid reduction to 8x8
    x = layers.Concatenate(axis=3, name="mixed_7a")(
        [_chain(x, [(256, 1), (384, 3, 2)]), _chain(x, [(256, 1), (288, 3, 2)]),
         _chain(x, [(256, 1), (288, 3), (320, 3, 2)]), _max_pool(x)])
    for i in range(1, 10):
        x = _residual_block(x, "block8", i, 0.2)
    x = _residual_block(x, "block8", 10, 1.0, activation=None)
    x = _unit(x, 1536, 1, name="conv_7b")
    return _common.finish(name, inputs, x, include_top, pooling, weights,
                          _common.dense_top(classes, classifier_activation))
