"""Noise layers active only in training: `SpatialDropout2D` (drops whole channels) and
`GaussianNoise` (adds zero-mean noise). Both are the identity at inference."""

from __future__ import annotations

from typing import Any

import numpy as np

import convnp.random
from convnp.layers import _utils
from convnp.layers.base import Layer
from convnp.layers.core import Dropout
from convnp.layers.registry import register


class SpatialDropout(Dropout):
    """What the spatial dropouts share: one keep decision per example and channel, broadcast
    over the other non-batch axes (``noise_shape`` is fixed, so not in the config). Subclasses
    set ``rank`` (of the input, batch axis included) and ``layout`` (for error messages)."""

    rank = 4
    layout = "(batch, height, width, channels)"

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(rate, noise_shape=(None,) + (1,) * (self.rank - 2) + (None,),
                         seed=seed, **kwargs)

    def build(self, input_shape) -> None:
        _utils.check_rank(input_shape, self.rank, type(self).__name__, self.layout)
        super().build(input_shape)

    def check_input_shape(self, input_shape) -> None:
        _utils.check_feature_dims(self, input_shape, {}, rank=self.rank)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["noise_shape"]
        return config


class ChannelsLastSpatialDropout(SpatialDropout):
    """The spatial dropouts of images and volumes, which also take Keras' ``data_format``
    (``"channels_last"`` only) and keep it in their config."""

    def __init__(self, rate: float, data_format: str | None = None, seed: int | None = None,
                 **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = _utils.channels_last(data_format, type(self).__name__)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


@register
class SpatialDropout2D(ChannelsLastSpatialDropout):
    """Dropout of whole feature maps: in training each channel of each image is zeroed with
    probability ``rate`` (and the rest scaled by ``1 / (1 - rate)``), which suits conv
    features whose neighbouring pixels are correlated.

    Args:
        rate: fraction of channels to drop.
        data_format: only ``"channels_last"``.
        seed: as `Dropout`.

    Caches the keep mask ``(m, 1, 1, n_C)``.
    """


@register
class GaussianNoise(Layer):
    """In training, add noise drawn from ``N(0, stddev**2)`` to every input value (a
    regularizer and a simple augmentation); the identity at inference.

    Args:
        stddev: standard deviation of the noise, >= 0.
        seed: seeds a generator private to this layer; ``None`` draws from
            `convnp.random.generator()`.

    Caches nothing: the gradient passes through unchanged.
    """

    _keras_training_default = False  # Keras 3: call(inputs, training=False)

    # number by number: second-order tangents go through `backward`
    second_order_kind = "diagonal"

    def second_order_reads_input(self) -> bool:
        return False  # added noise: its backward passes the gradient on

    supports_masking = True  # a mask (Masking's) passes through, as in Keras

    config_keys = ("stddev", "seed")

    def __init__(self, stddev: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = _utils.number(stddev, "stddev", "GaussianNoise", at_least=0)
        _utils.seeded(self, seed)

    def check_input_shape(self, input_shape) -> None:
        _utils.check_feature_dims(self, input_shape, {})

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        self._cache = True
        if not training or self.stddev == 0.0:
            return x
        generator = self._generator or convnp.random.generator()
        noise = generator.standard_normal(x.shape, dtype=np.float64) * self.stddev
        return x + noise.astype(self.dtype)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        self.take_cache()
        return _utils.as_dtype(dy, self.dtype)
