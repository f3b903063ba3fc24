"""Pooling layers over NDHWC volumes: `MaxPooling3D` and `AveragePooling3D` (windows, on
`convnp.ops.conv3d.pool3d_forward`), `GlobalAveragePooling3D` and `GlobalMaxPooling3D`."""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp.layers import _three_d, _utils
from convnp.layers.fixed_rank import FixedRankLayer
from convnp.layers.pooling import _GlobalPooling2D
from convnp.layers.registry import register
from convnp.ops import conv3d as volume_ops


class _Pooling3D(FixedRankLayer):
    """Shared body of `MaxPooling3D` and `AveragePooling3D`; ``mode`` is the op's mode."""

    mode = "max"
    input_rank = 5
    input_layout = _three_d.VOLUMES

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding: str = "valid",
                 data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.pool_size = _three_d.triple(pool_size, "pool_size", cls)
        # Keras: strides default to the pool size (windows side by side)
        self.strides = (self.pool_size if strides is None
                        else _three_d.triple(strides, "strides", cls))
        self.padding = _utils.padding_mode(padding, cls)
        self.data_format = _utils.channels_last(data_format, cls)

    def compute_output_shape(self, input_shape):
        return _three_d.window_output_shape(self, input_shape, self.pool_size, self.strides,
                                            self.padding, input_shape[-1])

    def call(self, inputs, training: bool = False) -> np.ndarray:
        """``(m, n_D, n_H, n_W, n_C)`` -> ``(m, new_D, new_H, new_W, n_C)``. Caches the op's
        cache (the input, and where each maximum is or how many real cells each window
        has)."""
        x = _utils.as_dtype(inputs, self.dtype)
        self.compute_output_shape((None, *x.shape[1:]))
        y, self._cache = volume_ops.pool3d_forward(x, self.pool_size, self.strides,
                                                   self.padding, self.mode)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return volume_ops.pool3d_backward(_utils.as_dtype(dy, self.dtype), self.take_cache())

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "padding": self.padding,
                       "strides": self.strides, "data_format": self.data_format})
        return config


@register(aliases=("MaxPool3D",))
class MaxPooling3D(_Pooling3D):
    """The largest value of each ``pool_size`` window of a volume, per channel.

    Args:
        pool_size: an int or ``(f_d, f_h, f_w)``; default ``(2, 2, 2)``.
        strides: an int or a triple; ``None`` (default) means ``pool_size``.
        padding: ``"valid"`` or ``"same"`` (padded cells never win).
        data_format: only ``"channels_last"``.

    The gradient of each window goes to its first maximum (row-major over depth, height,
    width), as in TensorFlow.

    >>> import numpy as np
    >>> tuple(MaxPooling3D()(np.zeros((1, 4, 6, 2, 3), dtype="float32")).shape)
    (1, 2, 3, 1, 3)
    """

    mode = "max"


@register(aliases=("AvgPool3D",))
class AveragePooling3D(_Pooling3D):
    """The mean of each ``pool_size`` window of a volume, per channel; with ``"same"`` a
    border window averages its real cells only (as TensorFlow). Arguments as `MaxPooling3D`.
    """

    # linear in the input: second-order tangents go through `call`
    second_order_kind = "linear"

    mode = "average"


class _GlobalPooling3D(_GlobalPooling2D):
    """The global poolings' arguments and shapes, on volumes."""

    input_rank = 5
    input_layout = _three_d.VOLUMES

    def _finish(self, y: np.ndarray) -> np.ndarray:
        """``y`` ``(m, 1, 1, 1, C)`` -> ``(m, C)`` unless ``keepdims``."""
        return y if self.keepdims else y.reshape(y.shape[0], y.shape[-1])

    def _dy(self, dy: np.ndarray) -> np.ndarray:
        dy = _utils.as_dtype(dy, self.dtype)
        return dy.reshape(dy.shape[0], 1, 1, 1, dy.shape[-1])


@register(aliases=("GlobalAvgPool3D",))
class GlobalAveragePooling3D(_GlobalPooling3D):
    """Mean over depth, height and width: ``(m, n_D, n_H, n_W, C)`` -> ``(m, C)``
    (``(m, 1, 1, 1, C)`` with ``keepdims``). Caches the input shape.

    >>> import numpy as np
    >>> np.asarray(GlobalAveragePooling3D()(np.ones((2, 2, 3, 4, 3), dtype="float32"))).tolist()
    [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """

    # linear in the input: second-order tangents go through `call`
    second_order_kind = "linear"

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        self.compute_output_shape((None, *x.shape[1:]))
        self._cache = x.shape
        return self._finish(x.mean(axis=(1, 2, 3), keepdims=True))

    def backward(self, dy: np.ndarray) -> np.ndarray:
        shape = self.take_cache()
        cells = self.dtype.type(shape[1] * shape[2] * shape[3])
        return np.broadcast_to(self._dy(dy) / cells, shape).copy()


@register(aliases=("GlobalMaxPool3D",))
class GlobalMaxPooling3D(_GlobalPooling3D):
    """Maximum over depth, height and width; the gradient of each channel goes to its first
    maximum (row-major), as in TensorFlow. Caches the input shape and the flat position of
    each maximum ``(m, C)``."""

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        self.compute_output_shape((None, *x.shape[1:]))
        flat = x.reshape(x.shape[0], -1, x.shape[-1])
        where = flat.argmax(axis=1)[:, None, :]
        self._cache = (x.shape, where)
        y = np.take_along_axis(flat, where, axis=1)
        return self._finish(y.reshape(x.shape[0], 1, 1, 1, x.shape[-1]))

    def backward(self, dy: np.ndarray) -> np.ndarray:
        shape, where = self.take_cache()
        dx = np.zeros((shape[0], shape[1] * shape[2] * shape[3], shape[4]), dtype=self.dtype)
        np.put_along_axis(dx, where, self._dy(dy).reshape(shape[0], 1, shape[4]), axis=1)
        return dx.reshape(shape)
