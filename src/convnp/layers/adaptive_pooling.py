"""Adaptive poolings: a fixed output size whatever the input size (``AdaptiveAveragePooling2D
(7)`` ends every image at 7x7, as PyTorch's ``AdaptiveAvgPool2d``). Kernels in
`convnp.ops.adaptive_pool`; the 1-D versions run the 2-D ones on ``(m, steps, 1, C)``."""

from __future__ import annotations

import numpy as np

from convnp.layers import _utils
from convnp.layers.base import Layer
from convnp.layers.fixed_rank import FixedRankLayer
from convnp.layers.registry import register
from convnp.layers.reshaping_1d import _Through2D
from convnp.ops import adaptive_pool


def _read_arguments(layer, output_size, data_format, read_size) -> None:
    """Check and keep the arguments every adaptive pooling takes (``read_size`` reads
    ``output_size``: a pair for 2-D, one positive int for 1-D)."""
    cls = type(layer).__name__
    layer.output_size = read_size(output_size, "output_size", cls)
    layer.data_format = _utils.channels_last(data_format, cls)


class _AdaptivePooling2D(FixedRankLayer):
    """Shared parts; subclasses set ``_mode``."""

    _mode = "average"
    config_keys = ("output_size", "data_format")

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        _read_arguments(self, output_size, data_format, _utils.pair)

    def compute_output_shape(self, input_shape):
        self.check_rank(input_shape)
        return (input_shape[0], *self.output_size, input_shape[3])

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        y, self._cache = adaptive_pool.adaptive_pool_forward(x, self.output_size, self._mode)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return adaptive_pool.adaptive_pool_backward(_utils.as_dtype(dy, self.dtype),
                                                    self.take_cache())



@register
class AdaptiveAveragePooling2D(_AdaptivePooling2D):
    """Average pooling to ``output_size`` (an int or ``(out_h, out_w)``): output cell ``i``
    averages input rows ``floor(i * n_H / out_h)`` to ``ceil((i + 1) * n_H / out_h) - 1``
    (columns likewise). Caches the windows."""

    _mode = "average"


@register
class AdaptiveMaxPooling2D(_AdaptivePooling2D):
    """Max pooling to ``output_size``, windows as `AdaptiveAveragePooling2D`; the gradient
    goes to each window's first maximum. Caches the winners' positions."""

    _mode = "max"


class _AdaptivePooling1D(_Through2D):
    _inner_class: type = AdaptiveAveragePooling2D
    config_keys = ("output_size", "data_format")

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        _read_arguments(self, output_size, data_format, _utils.positive_int)
        self._setup()

    def _make_inner(self) -> Layer:
        return self._inner_class((self.output_size, 1), name=f"{self.name}_2d",
                                 dtype=self.dtype)



@register
class AdaptiveAveragePooling1D(_AdaptivePooling1D):
    """`AdaptiveAveragePooling2D` along the steps of ``(m, steps, C)``."""

    _inner_class = AdaptiveAveragePooling2D


@register
class AdaptiveMaxPooling1D(_AdaptivePooling1D):
    """`AdaptiveMaxPooling2D` along the steps of ``(m, steps, C)``."""

    _inner_class = AdaptiveMaxPooling2D
