"""Noise layers active only in training: `GaussianDropout` (each value times noise drawn
from ``N(1, rate / (1 - rate))``), `AlphaDropout` (dropout that keeps the mean and variance of
SELU activations) and `SpatialDropout1D` (drops whole features of a sequence). All are the
identity at inference."""

from __future__ import annotations

from typing import Any

import numpy as np

import convnp.random
from convnp.layers import _utils
from convnp.layers.base import Layer
from convnp.layers.registry import register
from convnp.layers.regularization import SpatialDropout

#: SELU's value at minus infinity, ``-scale * alpha`` (what AlphaDropout sets dropped units to)
SELU_FLOOR = -1.0507009873554805 * 1.6732632423543772


class _RandomNoise(Layer):
    """Shared parts: the ``rate`` and ``seed`` arguments, the generator, and a backward that
    multiplies by the factor the forward drew (``None``: identity)."""

    _keras_training_default = False  # Keras 3: call(inputs, training=False)

    supports_masking = True  # a mask (Masking's) passes through, as in Keras

    config_keys = ("rate", "seed")

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _utils.number(rate, "rate", type(self).__name__, at_least=0, below=1)
        _utils.seeded(self, seed)

    def check_input_shape(self, input_shape) -> None:
        _utils.check_feature_dims(self, input_shape, {})

    def _rng(self) -> np.random.Generator:
        return self._generator or convnp.random.generator()

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        if not training or self.rate == 0.0:
            self._cache = (None,)
            return x.copy()
        y, factor = self._noisy(x)
        self._cache = (factor,)
        return y

    def _noisy(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(y, dy/dx)`` for a training call."""
        raise NotImplementedError

    def backward(self, dy: np.ndarray) -> np.ndarray:
        (factor,) = self.take_cache()
        dy = _utils.as_dtype(dy, self.dtype)
        return dy.copy() if factor is None else dy * factor


@register
class GaussianDropout(_RandomNoise):
    """In training, multiply each value by noise from ``N(1, rate / (1 - rate))`` (the
    variance of inverted dropout at that rate, without zeros); the identity at inference.

    Args:
        rate: the equivalent drop probability, ``0 <= rate < 1``.
        seed: seeds a generator private to this layer; ``None`` draws from
            `convnp.random.generator()`.

    Caches the noise (one value per input value).
    """

    # number by number: second-order tangents go through `backward`
    second_order_kind = "diagonal"

    def second_order_reads_input(self) -> bool:
        return False  # its backward multiplies by the noise only

    def _noisy(self, x):
        stddev = np.sqrt(self.rate / (1.0 - self.rate))
        noise = (1.0 + stddev * self._rng().standard_normal(x.shape)).astype(self.dtype)
        return x * noise, noise


@register
class AlphaDropout(_RandomNoise):
    """Dropout for self-normalizing (SELU) networks: in training each value is set, with
    probability ``rate``, to SELU's negative saturation value, then the result is scaled and
    shifted (``a * x + b``) so that inputs of zero mean and unit variance keep them. The
    identity at inference.

    Args:
        rate: the drop probability, ``0 <= rate < 1``.
        noise_shape: only ``None``.
        seed: as `GaussianDropout`.

    Caches ``a`` times the keep mask.
    """

    # number by number: second-order tangents go through `backward`
    second_order_kind = "diagonal"

    def second_order_reads_input(self) -> bool:
        return False  # its backward multiplies by the noise only

    def __init__(self, rate: float, noise_shape=None, seed: int | None = None, **kwargs):
        _utils.not_supported("AlphaDropout", noise_shape=noise_shape)
        super().__init__(rate, seed=seed, **kwargs)

    def _noisy(self, x):
        keep = self._rng().random(x.shape) >= self.rate
        a = (1.0 - self.rate) * (1.0 + self.rate * SELU_FLOOR ** 2)
        a = a ** -0.5
        b = -a * SELU_FLOOR * self.rate
        factor = (a * keep).astype(self.dtype)
        y = x * factor + self.dtype.type(a * SELU_FLOOR) * ~keep + self.dtype.type(b)
        return y.astype(self.dtype, copy=False), factor

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["noise_shape"] = None
        return config


@register
class SpatialDropout1D(SpatialDropout):
    """Dropout of whole feature channels of a sequence ``(m, steps, features)``: in training
    each feature of each example is zeroed at every step with probability ``rate`` (the rest
    scaled by ``1 / (1 - rate)``).

    Args:
        rate: fraction of features to drop.
        seed: as `Dropout`.

    Caches the keep mask ``(m, 1, features)``.
    """

    rank = 3
    layout = "(batch, steps, features)"

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()  # the base leaves noise_shape out
        # Keras 3.15's SpatialDropout1D takes no trainable (it has no weights); leaving it
        # out lets Keras read the config
        del config["trainable"]
        return config
