"""``tf.keras.applications``: the Keras applications with Keras's layer names, parameter
counts and weight-file layout.

VGG16, VGG19, ResNet50, ResNet101, ResNet152, ResNet50V2, ResNet101V2, ResNet152V2,
MobileNet, MobileNetV2, MobileNetV3Small, MobileNetV3Large, DenseNet121/169/201,
EfficientNetB0..B7, EfficientNetV2B0..B3/S/M/L, ConvNeXtTiny/Small/Base/Large/XLarge,
Xception, InceptionV3, InceptionResNetV2, NASNetMobile and NASNetLarge. Each family has its
module (``vgg16``, ``vgg19``, ``resnet`` (alias ``resnet50``), ``resnet_v2``, ``mobilenet``,
``mobilenet_v2``, ``mobilenet_v3``, ``convnext``, ``densenet``, ``efficientnet``,
``efficientnet_v2``, ``xception``, ``inception_v3``, ``inception_resnet_v2``, ``nasnet``) with its ``preprocess_input`` and
``decode_predictions``, as in Keras. Weights are never downloaded: ``weights=None`` or the path
of a Keras weights file (see `convnp.applications._common`).

>>> import convnp as tf
>>> base = tf.keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35,
...                                          include_top=False, weights=None)
>>> base.output_shape
(None, 3, 3, 1280)
"""

from convnp.applications import (
    convnext,
    densenet,
    efficientnet,
    efficientnet_v2,
    imagenet_utils,
    inception_resnet_v2,
    inception_v3,
    mobilenet,
    mobilenet_v2,
    mobilenet_v3,
    nasnet,
    resnet,
    resnet50,
    resnet_v2,
    vgg16,
    vgg19,
    xception,
)
from convnp.applications.convnext import (
    ConvNeXtBase,
    ConvNeXtLarge,
    ConvNeXtSmall,
    ConvNeXtTiny,
    ConvNeXtXLarge,
)
from convnp.applications.densenet import DenseNet121, DenseNet169, DenseNet201
from convnp.applications.efficientnet import (
    EfficientNetB0,
    EfficientNetB1,
    EfficientNetB2,
    EfficientNetB3,
    EfficientNetB4,
    EfficientNetB5,
    EfficientNetB6,
    EfficientNetB7,
)
from convnp.applications.efficientnet_v2 import (
    EfficientNetV2B0,
    EfficientNetV2B1,
    EfficientNetV2B2,
    EfficientNetV2B3,
    EfficientNetV2L,
    EfficientNetV2M,
    EfficientNetV2S,
)
from convnp.applications.inception_resnet_v2 import InceptionResNetV2
from convnp.applications.inception_v3 import InceptionV3
from convnp.applications.mobilenet import MobileNet
from convnp.applications.mobilenet_v2 import MobileNetV2
from convnp.applications.mobilenet_v3 import MobileNetV3Large, MobileNetV3Small
from convnp.applications.nasnet import NASNetLarge, NASNetMobile
from convnp.applications.resnet import ResNet50, ResNet101, ResNet152
from convnp.applications.resnet_v2 import ResNet50V2, ResNet101V2, ResNet152V2
from convnp.applications.vgg16 import VGG16
from convnp.applications.vgg19 import VGG19
from convnp.applications.xception import Xception

__all__ = [
    "VGG16",
    "VGG19",
    "ConvNeXtBase",
    "ConvNeXtLarge",
    "ConvNeXtSmall",
    "ConvNeXtTiny",
    "ConvNeXtXLarge",
    "DenseNet121",
    "DenseNet169",
    "DenseNet201",
    "EfficientNetB0",
    "EfficientNetB1",
    "EfficientNetB2",
    "EfficientNetB3",
    "EfficientNetB4",
    "EfficientNetB5",
    "EfficientNetB6",
    "EfficientNetB7",
    "EfficientNetV2B0",
    "EfficientNetV2B1",
    "EfficientNetV2B2",
    "EfficientNetV2B3",
    "EfficientNetV2L",
    "EfficientNetV2M",
    "EfficientNetV2S",
    "InceptionResNetV2",
    "InceptionV3",
    "MobileNet",
    "MobileNetV2",
    "MobileNetV3Large",
    "MobileNetV3Small",
    "NASNetLarge",
    "NASNetMobile",
    "ResNet50",
    "ResNet50V2",
    "ResNet101",
    "ResNet101V2",
    "ResNet152",
    "ResNet152V2",
    "Xception",
    "convnext",
    "densenet",
    "efficientnet",
    "efficientnet_v2",
    "imagenet_utils",
    "inception_resnet_v2",
    "inception_v3",
    "mobilenet",
    "mobilenet_v2",
    "mobilenet_v3",
    "nasnet",
    "resnet",
    "resnet50",
    "resnet_v2",
    "vgg16",
    "vgg19",
    "xception",
]
