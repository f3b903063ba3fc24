"""VGG19 as ``keras.applications.VGG19`` builds it: VGG16 with a fourth convolution in each of
the last three blocks (143,667,240 parameters with the 1000-class top; 20,024,384 without)."""

from __future__ import annotations

from convnp.applications.vgg16 import build, decode_predictions, preprocess_input
from convnp.models import Model

WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels.h5"
__all__ = ["VGG19", "decode_predictions", "preprocess_input"]
_BLOCKS = ((64, 2), (128, 2), (256, 4), (512, 4), (512, 4))


def VGG19(include_top: bool = True, weights=None, input_tensor=None, input_shape=None,
          pooling=None, classes: int = 1000, classifier_activation="softmax",
          name: str = "vgg19") -> Model:
    """VGG-19 for ``(rows, cols, 3)`` images (default 224x224, at least 32x32); arguments as
    `convnp.applications.ResNet50`."""
    return build("VGG19", _BLOCKS, WEIGHTS_FILE, include_top, weights, input_tensor,
                 input_shape, pooling, classes, classifier_activation, name)
