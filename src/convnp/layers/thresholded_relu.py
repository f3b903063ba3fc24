"""`ThresholdedReLU`: ``x`` where ``x > theta``, else 0 (a Keras 2 layer TensorFlow 2.21 still
ships)."""

from __future__ import annotations

import numpy as np

from convnp.layers import _utils
from convnp.layers.base import Layer
from convnp.layers.registry import register


@register
class ThresholdedReLU(Layer):
    """``y = x * (x > theta)``: values above ``theta`` pass, the rest become 0 (``-0.0`` for
    negative ones, as in TensorFlow). The gradient passes where the value did.

    Args:
        theta: the threshold, a number >= 0 (Keras' default 1.0).

    >>> import numpy as np
    >>> ThresholdedReLU(theta=0.5)(np.array([0.2, 0.6], dtype="float32")).numpy().tolist()
    [0.0, 0.6000000238418579]
    """

    supports_masking = True  # a mask (Masking's) passes through, as in Keras
    config_keys = ("theta",)

    def __init__(self, theta: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        if theta is None:
            raise ValueError("ThresholdedReLU: theta cannot be None, expected a number >= 0")
        self.theta = _utils.number(theta, "theta", "ThresholdedReLU", at_least=0)

    def check_input_shape(self, input_shape) -> None:
        _utils.check_feature_dims(self, input_shape, {})

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        passed = x > x.dtype.type(self.theta)
        self._cache = passed
        return x * passed

    def backward(self, dy: np.ndarray) -> np.ndarray:
        passed = self.take_cache()
        return (_utils.as_dtype(dy, self.dtype) * passed).astype(self.dtype, copy=False)
