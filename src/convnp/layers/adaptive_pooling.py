"""Adaptive poolings: a fixed output size whatever the input size (``AdaptiveAveragePooling2D
(7)`` ends every image at 7x7, as PyTorch's ``AdaptiveAvgPool2d``). Kernels in
`convnp.ops.adaptive_pool`; the 1-D versions run the 2-D ones on ``(m, steps, 1, C)``, the 3-D
ones run them twice (see `_AdaptivePooling3D`)."""

from __future__ import annotations

import numpy as np

from convnp.layers import _utils
from convnp.layers._three_d import triple
from convnp.layers.base import Layer
from convnp.layers.fixed_rank import FixedRankLayer
from convnp.layers.registry import register
from convnp.layers.reshaping_1d import _Through2D
from convnp.ops import adaptive_pool


def _read_arguments(layer, output_size, data_format, read_size) -> None:
    """Check and keep the arguments every adaptive pooling takes (``read_size`` reads
    ``output_size``: a pair for 2-D, one positive int (alone or in a one-item tuple) for
    1-D)."""
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
        # an int, or the one-item tuple TF 2.21 writes in its config (``(3,)``)
        _read_arguments(self, output_size, data_format, _utils.single_int)
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


class _AdaptivePooling3D(FixedRankLayer):
    """Shared parts of the 3-D adaptive poolings; subclasses set ``_mode``.

    A window is a box: depth range x row range x column range. Its mean is the mean over the
    depth range of the (rows x columns) means, and its maximum the maximum over the depth range
    of the (rows x columns) maxima, whose first position in (depth, row, column) order is the
    box's first maximum. So the 2-D kernel runs twice: over (rows, columns) of every depth slice,
    then over (depth, cells) with the cells axis unchanged (size in = size out makes each
    window one cell).
    """

    _mode = "average"
    input_rank = 5
    input_layout = "(batch, depth, height, width, channels)"
    config_keys = ("output_size", "data_format")

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        _read_arguments(self, output_size, data_format, triple)

    def compute_output_shape(self, input_shape):
        self.check_rank(input_shape)
        return (input_shape[0], *self.output_size, input_shape[4])

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        m, n_d, n_h, n_w, n_c = x.shape
        out_d, out_h, out_w = self.output_size
        slices, first = adaptive_pool.adaptive_pool_forward(
            x.reshape(m * n_d, n_h, n_w, n_c), (out_h, out_w), self._mode)
        y, second = adaptive_pool.adaptive_pool_forward(
            slices.reshape(m, n_d, out_h * out_w, n_c), (out_d, out_h * out_w), self._mode)
        self._cache = (first, second, x.shape)
        return y.reshape(m, out_d, out_h, out_w, n_c)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        first, second, shape = self.take_cache()
        m, n_d, _, _, n_c = shape
        out_d, out_h, out_w = self.output_size
        dy = _utils.as_dtype(dy, self.dtype).reshape(m, out_d, out_h * out_w, n_c)
        d_slices = adaptive_pool.adaptive_pool_backward(dy, second)
        dx = adaptive_pool.adaptive_pool_backward(
            d_slices.reshape(m * n_d, out_h, out_w, n_c), first)
        return dx.reshape(shape)


@register
class AdaptiveAveragePooling3D(_AdaptivePooling3D):
    """Average pooling of ``(m, depth, height, width, C)`` to ``output_size`` (an int or
    ``(out_d, out_h, out_w)``), windows per axis as `AdaptiveAveragePooling2D`'s."""

    _mode = "average"


@register
class AdaptiveMaxPooling3D(_AdaptivePooling3D):
    """Max pooling to ``output_size``, windows as `AdaptiveAveragePooling3D`; the gradient
    goes to each window's first maximum."""

    _mode = "max"
