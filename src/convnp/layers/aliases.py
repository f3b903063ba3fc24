"""Keras's other spellings of layer names (``Convolution2D`` for `Conv2D`, ``GlobalAvgPool2D``
for `GlobalAveragePooling2D`, ...): each is the same class, registered under a second name, so
``tf.keras.layers.Convolution2D is tf.keras.layers.Conv2D`` and configs naming either load."""

from __future__ import annotations

from convnp.layers.conv import Conv2D
from convnp.layers.conv1d_transpose import Conv1DTranspose
from convnp.layers.conv_transpose import Conv2DTranspose
from convnp.layers.depthwise import SeparableConv2D
from convnp.layers.one_d import (
    AveragePooling1D,
    Conv1D,
    GlobalAveragePooling1D,
    GlobalMaxPooling1D,
    MaxPooling1D,
)
from convnp.layers.pooling import GlobalAveragePooling2D, GlobalMaxPooling2D
from convnp.layers.registry import register
from convnp.layers.separable_conv1d import SeparableConv1D

#: Keras alias -> the convnp class it names
ALIASES = {
    "Convolution1D": Conv1D,
    "Convolution1DTranspose": Conv1DTranspose,
    "SeparableConvolution1D": SeparableConv1D,
    "Convolution2D": Conv2D,
    "Convolution2DTranspose": Conv2DTranspose,
    "SeparableConvolution2D": SeparableConv2D,
    "MaxPool1D": MaxPooling1D,
    "AvgPool1D": AveragePooling1D,
    "GlobalAvgPool1D": GlobalAveragePooling1D,
    "GlobalMaxPool1D": GlobalMaxPooling1D,
    "GlobalAvgPool2D": GlobalAveragePooling2D,
    "GlobalMaxPool2D": GlobalMaxPooling2D,
}

for _alias, _cls in ALIASES.items():
    register(_cls, _alias)
