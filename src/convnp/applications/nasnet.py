"""NASNetMobile and NASNetLarge as ``keras.applications.NASNetMobile`` / ``NASNetLarge`` build
them (NASNet-A, Zoph et al. 2018): a stride-2 3x3 stem convolution (``stem_conv1``,
``stem_bn1``), two reduction cells (``stem_1``, ``stem_2``), then three stacks of ``N``
normal cells separated by reduction cells (``reduce_N``, ``reduce_2N``), a ReLU and the top.

Every cell takes the two previous outputs: ``x`` (the last cell's) and ``p`` (the one
before). ``p`` is first brought to ``x``'s grid and width (``adjust_*``): halved by two
offset 1x1 stride-2 average poolings, each followed by a 1x1 conv to half the filters,
concatenated and batch-normalized, when it is a grid finer; projected by a ReLU-1x1 conv-BN
when only its channels differ. Then ``x`` goes through ReLU-1x1 conv-BN (``h``), and pairs of
branches (two ReLU-separable conv-BN steps, a pooling, or the identity) are added
(``normal_add_K`` / ``reduction_add...``) and concatenated (``normal_concat_<id>``: ``p`` and
five sums, ``6 * filters`` channels; ``reduction_concat_<id>``: four sums). Keras's names
throughout, including the ones it gives automatically (``activation_N``, ``add_N``,
``concatenate_N``, ``zero_padding2d_N``, ``cropping2d_N``, the pools of the top); batch
normalization with momentum 0.9997 and epsilon 1e-3, 1x1 convs ``he_normal``.

NASNetMobile (4 @ 1056): 224x224 by default (also without the top, as in Keras), 5,326,716
parameters with the 1000-class top. NASNetLarge (6 @ 4032, the reduction cells' inputs not
passed on as ``p``): 331x331 by default, 88,949,818 parameters with the top.
Input at least 32x32.

The image size must be known (rows and cols not None): the stride-2 zero paddings (Keras's
``correct_pad``) depend on each grid's parity. Keras builds an unknown size too, but compares
``None == None`` where it decides whether ``p`` needs the grid reduction, projects instead and
returns a model whose additions fail on every image; so NASNetLarge without the top defaults to
331x331 here, where Keras gives ``(None, None, 3)``."""

from __future__ import annotations

from convnp import layers
from convnp.applications import _common
from convnp.applications.mobilenet_v2 import decode_predictions, preprocess_input
from convnp.models import Model

__all__ = ["NASNetLarge", "NASNetMobile", "decode_predictions", "preprocess_input"]
# the names Keras caches the published weights under (it downloads NASNet-mobile.h5,
# NASNet-mobile-no-top.h5 ...); `_common.weights_file_for` gives the one with the top
WEIGHTS_FILE_MOBILE = "nasnet_mobile_no_top.h5"
WEIGHTS_FILE_LARGE = "nasnet_large_no_top.h5"
MIN_SIZE = 32


def _bn(x, name: str | None = None):
    return layers.BatchNormalization(axis=-1, momentum=0.9997, epsilon=1e-3, name=name)(x)


def _conv1x1(x, filters: int, name: str):
    return layers.Conv2D(filters, 1, padding="same", use_bias=False, name=name,
                         kernel_initializer="he_normal")(x)


def _relu(x, name: str | None = None):
    return layers.Activation("relu", name=name)(x)


def _separable_pair(x, filters: int, kernel: int, block: str, strides: int = 1):
    """Keras's ``_separable_conv_block``: ReLU, separable conv (stride-2 ones after Keras's
    ``correct_pad`` zero padding, 'valid'), BN, ReLU, separable conv, BN."""
    x = _relu(x)
    padding = "same"
    if strides == 2:
        x = layers.ZeroPadding2D(_common.correct_pad(x.shape[1:3], kernel),
                                 name=f"separable_conv_1_pad_{block}")(x)
        padding = "valid"
    x = layers.SeparableConv2D(filters, kernel, strides=strides, padding=padding,
                               use_bias=False, name=f"separable_conv_1_{block}")(x)
    x = _bn(x, f"separable_conv_1_bn_{block}")
    x = _relu(x)
    x = layers.SeparableConv2D(filters, kernel, padding="same", use_bias=False,
                               name=f"separable_conv_2_{block}")(x)
    return _bn(x, f"separable_conv_2_bn_{block}")


def _adjust(p, ip, filters: int, block: str):
    """``p`` on ``ip``'s grid with ``filters`` channels (Keras's ``_adjust_block``)."""
    if p is None:
        return ip
    x = p
    if p.shape[2] != ip.shape[2]:  # a grid finer: two offset stride-2 samplings, half the filters each
        x = _relu(x, f"adjust_relu_1_{block}")
        first = layers.AveragePooling2D(1, strides=2, padding="valid",
                                        name=f"adjust_avg_pool_1_{block}")(x)
        first = _conv1x1(first, filters // 2, f"adjust_conv_1_{block}")
        second = layers.ZeroPadding2D(((0, 1), (0, 1)))(x)
        second = layers.Cropping2D(((1, 0), (1, 0)))(second)
        second = layers.AveragePooling2D(1, strides=2, padding="valid",
                                         name=f"adjust_avg_pool_2_{block}")(second)
        second = _conv1x1(second, filters // 2, f"adjust_conv_2_{block}")
        return _bn(layers.concatenate([first, second], axis=-1), f"adjust_bn_{block}")
    if x.shape[-1] != filters:
        x = _conv1x1(_relu(x), filters, f"adjust_conv_projection_{block}")
        return _bn(x, f"adjust_bn_{block}")
    return x


def _squeeze(ip, filters: int, kind: str, block: str):
    """``h``: ReLU, 1x1 conv to ``filters``, BN."""
    h = _conv1x1(_relu(ip), filters, f"{kind}_conv_1_{block}")
    return _bn(h, f"{kind}_bn_1_{block}")


def _pool(x, kind: str, strides: int, name: str):
    cls = layers.AveragePooling2D if kind == "avg" else layers.MaxPooling2D
    return cls(3, strides=strides, padding="same" if strides == 1 else "valid", name=name)(x)


def _normal_cell(ip, p, filters: int, block: str):
    """NASNet-A's normal cell: returns (its output, its input as the next cell's ``p``)."""
    p = _adjust(p, ip, filters, block)
    h = _squeeze(ip, filters, "normal", block)
    sums = [
        (_separable_pair(h, filters, 5, f"normal_left1_{block}"),
         _separable_pair(p, filters, 3, f"normal_right1_{block}")),
        (_separable_pair(p, filters, 5, f"normal_left2_{block}"),
         _separable_pair(p, filters, 3, f"normal_right2_{block}")),
        (_pool(h, "avg", 1, f"normal_left3_{block}"), p),
        (_pool(p, "avg", 1, f"normal_left4_{block}"), _pool(p, "avg", 1, f"normal_right4_{block}")),
        (_separable_pair(h, filters, 3, f"normal_left5_{block}"), h),
    ]
    added = [layers.add(list(pair), name=f"normal_add_{k}_{block}")
             for k, pair in enumerate(sums, start=1)]
    x = layers.concatenate([p, *added], axis=-1, name=f"normal_concat_{block}")
    return x, ip


def _reduction_cell(ip, p, filters: int, block: str):
    """NASNet-A's reduction cell (halves the grid): returns (its output, its input)."""
    p = _adjust(p, ip, filters, block)
    h = _squeeze(ip, filters, "reduction", block)
    h3 = layers.ZeroPadding2D(_common.correct_pad(h.shape[1:3], 3),
                              name=f"reduction_pad_1_{block}")(h)
    x1 = layers.add([_separable_pair(h, filters, 5, f"reduction_left1_{block}", 2),
                     _separable_pair(p, filters, 7, f"reduction_right1_{block}", 2)],
                    name=f"reduction_add_1_{block}")
    x2 = layers.add([_pool(h3, "max", 2, f"reduction_left2_{block}"),
                     _separable_pair(p, filters, 7, f"reduction_right2_{block}", 2)],
                    name=f"reduction_add_2_{block}")
    x3 = layers.add([_pool(h3, "avg", 2, f"reduction_left3_{block}"),
                     _separable_pair(p, filters, 5, f"reduction_right3_{block}", 2)],
                    name=f"reduction_add3_{block}")
    x4 = layers.add([x2, _pool(x1, "avg", 1, f"reduction_left4_{block}")])
    # Keras names this pair's separable block "reduction_left4_<id>" too
    x5 = layers.add([_separable_pair(x1, filters, 3, f"reduction_left4_{block}"),
                     _pool(h3, "max", 2, f"reduction_right5_{block}")],
                    name=f"reduction_add4_{block}")
    x = layers.concatenate([x2, x3, x4, x5], axis=-1, name=f"reduction_concat_{block}")
    return x, ip


def _nasnet(label: str, input_shape, penultimate_filters: int, num_blocks: int,
            stem_filters: int, skip_reduction: bool, default_size: int, weights_file: str,
            include_top, weights, input_tensor, pooling, classes, classifier_activation,
            name: str) -> Model:
    _common.check_arguments(label, weights, include_top, classes, pooling,
                            classifier_activation,
                            _common.weights_file_for(weights_file, include_top))
    if input_shape is None and input_tensor is not None:
        input_shape = tuple(input_tensor.shape[1:])
    if isinstance(input_shape, (tuple, list)) and len(input_shape) == 3 and \
            None in input_shape[:2]:
        raise ValueError(f"{label}: input_shape needs known rows and cols (the stride-2 "
                         f"paddings depend on the image size), got {input_shape!r}")
    shape = _common.image_shape(label, input_shape, default_size, MIN_SIZE)
    inputs = _common.model_input(shape, input_tensor)
    multiplier = 2
    filters = penultimate_filters // 24
    x = layers.Conv2D(stem_filters, 3, strides=2, padding="valid", use_bias=False,
                      name="stem_conv1", kernel_initializer="he_normal")(inputs)
    x = _bn(x, "stem_bn1")
    x, p = _reduction_cell(x, None, filters // multiplier ** 2, "stem_1")
    x, p = _reduction_cell(x, p, filters // multiplier, "stem_2")
    for stack in range(3):
        width = filters * multiplier ** stack
        if stack:
            x, reduced_input = _reduction_cell(x, p, width, f"reduce_{stack * num_blocks}")
            if not skip_reduction:
                p = reduced_input
        for i in range(num_blocks):
            x, p = _normal_cell(x, p, width, str(stack * num_blocks + (stack > 0) + i))
    x = _relu(x)

    def top(features):
        features = layers.GlobalAveragePooling2D()(features)
        return layers.Dense(classes, activation=classifier_activation,
                            name="predictions")(features)

    return _common.finish(name, inputs, x, include_top, pooling, weights, top)


def NASNetMobile(input_shape=None, include_top: bool = True, weights=None, input_tensor=None,
                 pooling=None, classes: int = 1000, classifier_activation="softmax",
                 name: str = "nasnet_mobile") -> Model:
    """NASNet-A Mobile (4 @ 1056) for ``(rows, cols, 3)`` images: 224x224 by default, with
    or without the top (Keras's rule for this model), at least 32x32; Keras's argument order
    (``input_shape`` first); other arguments as `convnp.applications.ResNet50`."""
    if not include_top and input_shape is None and input_tensor is None:
        input_shape = (224, 224, 3)
    return _nasnet("NASNetMobile", input_shape, 1056, 4, 32, False, 224, WEIGHTS_FILE_MOBILE,
                   include_top, weights, input_tensor, pooling, classes,
                   classifier_activation, name)


def NASNetLarge(input_shape=None, include_top: bool = True, weights=None, input_tensor=None,
                pooling=None, classes: int = 1000, classifier_activation="softmax",
                name: str = "nasnet_large") -> Model:
    """NASNet-A Large (6 @ 4032) for ``(rows, cols, 3)`` images: 331x331 by default (also
    without the top: see the module's docstring), at least 32x32; Keras's argument order (``input_shape`` first);
    other arguments as `convnp.applications.ResNet50`."""
    return _nasnet("NASNetLarge", input_shape, 4032, 6, 96, True, 331, WEIGHTS_FILE_LARGE,
                   include_top, weights, input_tensor, pooling, classes,
                   classifier_activation, name)
