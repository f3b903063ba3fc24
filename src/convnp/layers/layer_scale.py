"""`LayerScale`: multiply the last axis by a learned per-feature factor (ConvNeXt's residual
branches; Keras has it in ``keras.applications.convnext``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp.layers import _utils
from convnp.layers.base import Layer
from convnp.layers.registry import register


@register
class LayerScale(Layer):
    """``y = x * gamma``, ``gamma`` one factor per feature of the last axis.

    Args:
        init_values: the factors' initial value (ConvNeXt: 1e-6, so a new residual branch
            starts close to zero).
        projection_dim: the size of the last axis.

    Weights: ``gamma`` of shape ``(projection_dim,)``. Caches the input.

    >>> import numpy as np
    >>> LayerScale(0.5, 2)(np.ones((1, 2), dtype="float32")).numpy().tolist()
    [[0.5, 0.5]]
    """

    config_keys = ("init_values", "projection_dim")

    def __init__(self, init_values, projection_dim, **kwargs):
        if isinstance(init_values, bool) or not isinstance(init_values, (int, float)) or \
                not np.isfinite(init_values):
            raise ValueError(f"LayerScale: init_values must be a finite number, got "
                             f"{init_values!r}")
        if isinstance(projection_dim, bool) or not isinstance(projection_dim, (int, np.integer)) \
                or projection_dim < 1:
            raise ValueError(f"LayerScale: projection_dim must be a positive int, got "
                             f"{projection_dim!r}")
        super().__init__(**kwargs)
        self.init_values = float(init_values)
        self.projection_dim = int(projection_dim)
        self.gamma = None

    def build(self, input_shape) -> None:
        if input_shape[-1] is not None and input_shape[-1] != self.projection_dim:
            raise ValueError(f"layer '{self.name}': projection_dim {self.projection_dim} but "
                             f"the input's last axis has {input_shape[-1]} features")
        from convnp.initializers import Constant

        self.gamma = self.add_weight("gamma", (self.projection_dim,),
                                     Constant(self.init_values))
        self.built = True

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        self._cache = x
        return x * self.gamma.value

    def backward(self, dy: np.ndarray) -> np.ndarray:
        x = self.take_cache()
        dy = _utils.as_dtype(dy, self.dtype)
        self.gamma.grad = (dy * x).reshape(-1, self.projection_dim).sum(axis=0)
        return dy * self.gamma.value

    def get_config(self) -> dict[str, Any]:
        return super().get_config()
