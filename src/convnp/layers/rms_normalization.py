"""`RMSNormalization`: scale each example by the inverse root mean square of its features
(no centering, no batch statistics), then by a learned per-feature ``scale``."""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp.layers import _utils
from convnp.layers.base import Layer
from convnp.layers.registry import register


@register
class RMSNormalization(Layer):
    """``y = x / sqrt(mean(x**2 over axis) + epsilon) * scale``.

    Args:
        axis: an int or a list of ints, the axes averaged over (default -1).
        epsilon: added to the mean square (Keras default 1e-6).

    Weights: ``scale`` (the normalized axes' shape, initialized to ones). Caches the
    normalized input and the inverse root mean square.
    """

    def __init__(self, axis=-1, epsilon: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis = _utils.int_or_ints(axis, "axis", "RMSNormalization")
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or epsilon <= 0:
            raise ValueError(f"RMSNormalization: epsilon must be a positive number, "
                             f"got {epsilon!r}")
        self.epsilon = float(epsilon)
        self.scale = None

    def _axes(self, rank: int) -> tuple[int, ...]:
        return _utils.normalized_axes(self, self.axis, rank)

    def build(self, input_shape) -> None:
        self.scale = self.add_weight("scale", _utils.per_axes_weight_shape(self, input_shape),
                                     "ones")
        self.built = True

    def check_input_shape(self, input_shape) -> None:
        rank = len(self.input_shape)
        _utils.check_feature_dims(self, input_shape,
                                  {a: self.input_shape[a] for a in self._axes(rank)}, rank=rank)

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        axes = self._axes(x.ndim)
        inv_rms = 1.0 / np.sqrt(np.mean(x * x, axis=axes, keepdims=True)
                                + self.dtype.type(self.epsilon))
        x_hat = x * inv_rms
        self._cache = (x_hat, inv_rms, axes)
        return x_hat * _utils.along_axes(self.scale.value, x.ndim, axes)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        x_hat, inv_rms, axes = self.take_cache()
        dy = _utils.as_dtype(dy, self.dtype)
        other = tuple(i for i in range(dy.ndim) if i not in axes)
        self.scale.grad = (dy * x_hat).sum(axis=other).reshape(self.scale.shape)
        d_hat = dy * _utils.along_axes(self.scale.value, dy.ndim, axes)
        # x_hat = x * r(x); r's derivative feeds back the mean of d_hat * x_hat
        return inv_rms * (d_hat - x_hat * np.mean(d_hat * x_hat, axis=axes, keepdims=True))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"axis": self.axis, "epsilon": self.epsilon})
        return config
