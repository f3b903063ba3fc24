"""``tf.keras.applications``: MobileNetV2, ResNet50 and VGG16 with Keras's layer names.

Each family has its module (``mobilenet_v2``, ``resnet50``, ``vgg16``) with its
``preprocess_input`` and ``decode_predictions``, as in Keras. Weights are never downloaded:
``weights=None`` or the path of a Keras weights file (see `convnp.applications._common`).

>>> import convnp as tf
>>> base = tf.keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35,
...                                          include_top=False, weights=None)
>>> base.output_shape
(None, 3, 3, 1280)
"""

from convnp.applications import imagenet_utils, mobilenet_v2, resnet50, vgg16
from convnp.applications.mobilenet_v2 import MobileNetV2
from convnp.applications.resnet50 import ResNet50
from convnp.applications.vgg16 import VGG16

# Keras also names the modules by family
resnet = resnet50

__all__ = ["VGG16", "MobileNetV2", "ResNet50", "imagenet_utils", "mobilenet_v2", "resnet", "resnet50", "vgg16"]
