"""Pooling layers over NHWC images: windowed max/average (via `convnp.ops.pool_forward`)
and global max/average over height and width."""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp import ops
from convnp.layers import _utils
from convnp.layers.fixed_rank import FixedRankLayer
from convnp.layers.registry import register
from convnp.ops import padding as geometry


class _Pooling2D(FixedRankLayer):
    """Shared body of `MaxPooling2D` and `AveragePooling2D`; ``mode`` is the op's mode."""

    mode = "max"

    def __init__(self, pool_size=(2, 2), strides=None, padding: str = "valid",
                 data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.pool_size = _utils.pair(pool_size, "pool_size", cls)
        # Keras: strides default to the pool size (non-overlapping windows).
        self.strides = self.pool_size if strides is None else _utils.pair(strides, "strides", cls)
        self.padding = _utils.padding_mode(padding, cls)
        self.data_format = _utils.channels_last(data_format, cls)
        self._hparameters = {"f": self.pool_size, "stride": self.strides, "pad": self.padding}

    def compute_output_shape(self, input_shape):
        self.check_rank(input_shape)
        cls = type(self).__name__
        try:
            out_hw = geometry.layer_output_hw(input_shape[1:3], self.pool_size, self.strides,
                                              self.padding)
        except ValueError as err:
            raise ValueError(f"{cls} '{self.name}': {err}") from None
        return (input_shape[0], *out_hw, input_shape[3])

    def call(self, inputs, training: bool = False) -> np.ndarray:
        """Forward pass: ``(m, n_H_prev, n_W_prev, n_C)`` -> ``(m, n_H, n_W, n_C)``.

        Caches the op's cache (the input, and for max pooling where each maximum is)."""
        x = _utils.as_dtype(inputs, self.dtype)
        y, self._cache = ops.pool_forward(x, self._hparameters, self.mode)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Gradient w.r.t. the input, ``(m, n_H_prev, n_W_prev, n_C)``. Max pooling sends each
        window's gradient to its first maximum; average pooling spreads it over the window's
        real (unpadded) cells."""
        cache = self.take_cache()
        return ops.pool_backward(_utils.as_dtype(dy, self.dtype), cache, self.mode)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({
            "pool_size": self.pool_size,
            "padding": self.padding,
            "strides": self.strides,
            "data_format": self.data_format,
        })
        return config


@register(aliases=("MaxPool2D",))
class MaxPooling2D(_Pooling2D):
    """Max pooling: the largest value of each ``pool_size`` window, per channel.

    Args:
        pool_size: window size, an int or ``(f_h, f_w)``; default ``(2, 2)``.
        strides: an int or ``(s_h, s_w)``; ``None`` (default) means ``pool_size``.
        padding: ``"valid"`` or ``"same"`` (padded cells never win the maximum).
        data_format: only ``"channels_last"`` (or ``None``).
        **kwargs: `Layer` arguments.

    Shape:
        Input: ``(m, n_H_prev, n_W_prev, n_C)``.
        Output: ``(m, n_H, n_W, n_C)``, ``n_H = (n_H_prev - f_h) // s_h + 1`` for ``"valid"``,
        ``ceil(n_H_prev / s_h)`` for ``"same"``.

    >>> import numpy as np
    >>> MaxPooling2D()(np.zeros((1, 4, 6, 2), dtype="float32")).shape
    TensorShape([1, 2, 3, 2])
    """

    mode = "max"

    def second_order(self, dy, t_dx, t_weights: dict):
        """Second-order rule: max pooling is linear in the input wherever the maxima stay
        where they are, so the tangent is read at each window's first maximum (the cell
        backward sends the window's gradient to); nothing comes back to the input."""
        if t_dx is None:
            return None, None, {}
        return max_pool_tangent(self._cache, t_dx), None, {}


def max_pool_tangent(cache, t_dx) -> np.ndarray:
    """The tangent ``t_dx`` of a max pooling's NHWC input read at each window's first
    maximum (where the pooling of ``cache``, `convnp.ops.pool_forward`'s, took it)."""
    geometry = cache.geometry
    (top, bottom), (left, right) = geometry.pads
    t = np.pad(np.asarray(t_dx, dtype=cache.A_pad.dtype),
               ((0, 0), (top, bottom), (left, right), (0, 0)))
    best = picked = None
    for _, _, rows, cols in geometry.tap_slices():  # row-major: the first maximum wins
        values, tangents = cache.A_pad[:, rows, cols, :], t[:, rows, cols, :]
        if best is None:
            best, picked = values.copy(), tangents.copy()
            continue
        better = values > best
        best = np.where(better, values, best)
        picked = np.where(better, tangents, picked)
    return picked


@register(aliases=("AvgPool2D",))
class AveragePooling2D(_Pooling2D):
    """Average pooling: the mean of each ``pool_size`` window, per channel.

    With ``padding="same"`` a window at the border averages its real cells only, as in
    TensorFlow. Arguments and shapes as in `MaxPooling2D`.

    >>> import numpy as np
    >>> AveragePooling2D(pool_size=3, strides=1, padding="same")(
    ...     np.ones((1, 4, 4, 1), dtype="float32")).shape
    TensorShape([1, 4, 4, 1])
    """

    # linear in the input: second-order tangents go through `call`
    second_order_kind = "linear"

    mode = "average"


MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D


class _GlobalPooling2D(FixedRankLayer):
    """Shared body of the global pooling layers (reduce every axis between the batch and the
    channels: height and width here, the steps in the 1-D subclasses)."""

    config_keys = ("data_format", "keepdims")

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _utils.channels_last(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)

    def compute_output_shape(self, input_shape):
        self.check_rank(input_shape)
        if self.keepdims:
            return (input_shape[0], *[1] * (self.input_rank - 2), input_shape[-1])
        return (input_shape[0], input_shape[-1])

    def _shape_output(self, y2d: np.ndarray) -> np.ndarray:
        return y2d.reshape(y2d.shape[0], 1, 1, y2d.shape[1]) if self.keepdims else y2d



@register
class GlobalAveragePooling2D(_GlobalPooling2D):
    """Mean over height and width: ``(m, n_H, n_W, n_C)`` -> ``(m, n_C)``
    (``(m, 1, 1, n_C)`` with ``keepdims=True``).

    Caches only the input shape.
    """

    # linear in the input: second-order tangents go through `call`
    second_order_kind = "linear"

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        self._cache = x.shape
        return self._shape_output(x.mean(axis=(1, 2)))

    def backward(self, dy: np.ndarray) -> np.ndarray:
        m, n_H, n_W, n_C = self.take_cache()
        dy = _utils.as_dtype(dy, self.dtype).reshape(m, 1, 1, n_C)
        dx = np.empty((m, n_H, n_W, n_C), dtype=self.dtype)
        np.multiply(dy, self.dtype.type(1.0 / (n_H * n_W)), out=dx)  # broadcast into dx
        return dx


@register
class GlobalMaxPooling2D(_GlobalPooling2D):
    """Maximum over height and width: ``(m, n_H, n_W, n_C)`` -> ``(m, n_C)``
    (``(m, 1, 1, n_C)`` with ``keepdims=True``).

    The gradient of each channel goes to its first maximum in row-major order (as in
    TensorFlow). Caches the input shape and the flat position of each maximum, ``(m, n_C)``.
    """

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        m, n_H, n_W, n_C = x.shape
        flat = x.reshape(m, n_H * n_W, n_C)
        where = flat.argmax(axis=1)  # first maximum per (example, channel)
        y = np.take_along_axis(flat, where[:, None, :], axis=1).reshape(m, n_C)
        self._cache = (x.shape, where)
        return self._shape_output(y)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        (m, n_H, n_W, n_C), where = self.take_cache()
        dy = _utils.as_dtype(dy, self.dtype).reshape(m, 1, n_C)
        dx = np.zeros((m, n_H * n_W, n_C), dtype=self.dtype)
        np.put_along_axis(dx, where[:, None, :], dy, axis=1)
        return dx.reshape(m, n_H, n_W, n_C)

    def second_order(self, dy, t_dx, t_weights: dict):
        """Second-order rule: the tangent read at each channel's first maximum."""
        if t_dx is None:
            return None, None, {}
        (m, n_H, n_W, n_C), where = self._cache
        flat = np.asarray(t_dx).reshape(m, n_H * n_W, n_C)
        picked = np.take_along_axis(flat, where[:, None, :], axis=1).reshape(m, n_C)
        return self._shape_output(picked), None, {}
