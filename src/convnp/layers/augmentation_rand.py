"""Keras 3's `RandAugment`: a few augmentations picked at random from a fixed list, at one
shared strength ``factor``."""

from __future__ import annotations

import numpy as np

from convnp.layers import _utils
from convnp.layers.augmentation import RandomBrightness, _value_range
from convnp.layers.augmentation_color import (
    AutoContrast,
    Equalization,
    RandomColorDegeneration,
    RandomPosterization,
    RandomSharpness,
    Solarization,
    keras_factor,
)
from convnp.layers.augmentation_geometry import RandomShear
from convnp.layers.preprocessing import (
    RandomContrast,
    RandomRotation,
    RandomTranslation,
    _choice,
    _RandomLayer,
)
from convnp.layers.registry import register
from convnp.ops import image as image_ops


@register
class RandAugment(_RandomLayer):
    """Apply ``num_ops`` augmentations (default 2) to the whole batch, each picked uniformly
    (with repeats) per batch from Keras' list, in its order: `RandomShear`,
    `RandomTranslation`, `RandomRotation`, `RandomBrightness`, `RandomColorDegeneration`,
    `RandomContrast`, `RandomSharpness`, `RandomPosterization`, `Solarization`,
    `AutoContrast`, `Equalization`. Every one is made as Keras makes it from ``factor``
    (``(0, f)`` within [0, 1], default 0.5), ``value_range`` and ``interpolation``
    (posterization keeps ``max(1, int(8 * upper))`` bits at most), and draws its own
    parameters per image (a layer picked twice draws twice; Keras reuses one draw).
    Training only. The gradient is exact when the picked layers have one; posterization or
    equalization make it unavailable (`LookupError`)."""

    config_keys = _RandomLayer.config_keys + ("num_ops", "interpolation")
    config_list_keys = ("value_range", "factor")

    def __init__(self, value_range=(0, 255), num_ops=2, factor=0.5, interpolation="bilinear",
                 seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        cls = type(self).__name__
        self.value_range = _value_range(value_range, cls)
        if isinstance(num_ops, bool) or not isinstance(num_ops, (int, np.integer)) \
                or num_ops < 0:
            raise ValueError(f"{cls}: num_ops must be an int >= 0, got {num_ops!r}")
        self.num_ops = int(num_ops)
        self.factor = keras_factor(factor, (0.0, 1.0), cls)
        self.interpolation = _choice(interpolation, image_ops.INTERPOLATIONS,
                                     "interpolation", cls)
        f, vr, dtype = self.factor, self.value_range, self.dtype.name
        geometry = {"interpolation": self.interpolation, "dtype": dtype}
        colour = {"value_range": vr, "dtype": dtype}
        self._choices = [
            RandomShear(x_factor=f, y_factor=f, **geometry),
            RandomTranslation(height_factor=f, width_factor=f, **geometry),
            RandomRotation(factor=f, **geometry),
            RandomBrightness(factor=f, **colour),
            RandomColorDegeneration(factor=f, **colour),
            RandomContrast(factor=f, **colour),
            RandomSharpness(factor=f, **colour),
            RandomPosterization(factor=max(1, int(8 * f[1])), **colour),
            Solarization(addition_factor=f, threshold_factor=f, **colour),
            AutoContrast(value_range=vr, dtype=dtype),
            Equalization(value_range=vr, dtype=dtype),
        ]

    def build(self, input_shape) -> None:
        super().build(input_shape)
        for layer in self._choices:
            layer.build(input_shape)

    def picks(self) -> np.ndarray:
        """The indices (into Keras' list) of this batch's augmentations."""
        return self.rng().integers(0, len(self._choices), self.num_ops)

    def _augment(self, x):
        backwards = []
        for index in self.picks():
            layer = self._choices[index]
            if isinstance(layer, _RandomLayer):
                layer._generator = self._generator  # None: the global generator
            x, backward = layer._transform(x, True)
            backwards.append(backward)

        def backward(dy):
            for step in reversed(backwards):
                dy = step(dy)
            return dy

        return _utils.as_dtype(x, self.dtype), backward
