"""VGG16 (and, through `build`, VGG19) as ``keras.applications`` builds them: same layer names
and parameter counts (VGG16: 138,357,544 with the top; 14,714,688 without)."""

from __future__ import annotations

from convnp.applications import _common
from convnp.layers import (
    Conv2D,
    Dense,
    Flatten,
    MaxPooling2D,
)
from convnp.models import Model

WEIGHTS_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
# (filters, convolutions) of the five blocks
_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))


def build(label: str, blocks, weights_file: str, include_top, weights, input_tensor,
          input_shape, pooling, classes, classifier_activation, name) -> Model:
    """A VGG network: ``blocks`` of 3x3 ReLU convolutions, each block closed by a 2x2 max
    pooling; the top is Flatten, ``fc1`` and ``fc2`` (4096 ReLU units each) and
    ``predictions``."""
    _common.check_arguments(label, weights, include_top, classes, pooling,
                            classifier_activation,
                            _common.weights_file_for(weights_file, include_top))
    shape = _common.image_shape(label, input_shape, 224, 32, input_tensor,
                                any_size=not include_top)
    x = inputs = _common.model_input(shape, input_tensor)
    for block, (filters, convs) in enumerate(blocks, start=1):
        for conv in range(1, convs + 1):
            x = Conv2D(filters, 3, activation="relu", padding="same",
                       name=f"block{block}_conv{conv}")(x)
        x = MaxPooling2D(2, strides=2, name=f"block{block}_pool")(x)

    def top(x):
        x = Flatten(name="flatten")(x)
        x = Dense(4096, activation="relu", name="fc1")(x)
        x = Dense(4096, activation="relu", name="fc2")(x)
        return Dense(classes, activation=classifier_activation, name="predictions")(x)

    return _common.finish(name, inputs, x, include_top, pooling, weights, top)


def VGG16(include_top: bool = True, weights=None, input_tensor=None, input_shape=None,
          pooling=None, classes: int = 1000, classifier_activation="softmax",
          name: str = "vgg16") -> Model:
    """VGG-16 for ``(rows, cols, 3)`` images (default 224x224, at least 32x32).

    Arguments as `convnp.applications.ResNet50`. The top is Flatten, ``fc1`` and ``fc2``
    (4096 ReLU units each) and ``predictions``; 13 convolutions in blocks of 2, 2, 3, 3, 3.
    """
    return build("VGG16", _BLOCKS, WEIGHTS_FILE, include_top, weights, input_tensor,
                 input_shape, pooling, classes, classifier_activation, name)


def preprocess_input(x, data_format=None):
    """Keras's "caffe" preprocessing: RGB [0, 255] to BGR minus the ImageNet channel means."""
    return _common.preprocess_caffe(x, data_format)


decode_predictions = _common.decode_predictions
