"""Layers that change the depth, height and width of NDHWC volumes without weights:
`ZeroPadding3D`, `Cropping3D` and `UpSampling3D`."""

from __future__ import annotations

import numpy as np

from convnp.layers import _three_d, _utils
from convnp.layers.fixed_rank import FixedRankLayer
from convnp.layers.registry import register


def _volume_slices(pads, sizes) -> tuple:
    return (slice(None), *(slice(b, b + n) for (b, _), n in zip(pads, sizes)))


@register
class ZeroPadding3D(FixedRankLayer):
    """Add zeros around every volume.

    Args:
        padding: an int (every side), ``(pad_d, pad_h, pad_w)`` (symmetric), or
            ``((front, back), (top, bottom), (left, right))``. Default 1 everywhere.
        data_format: only ``"channels_last"``.

    Shape: ``(m, n_D, n_H, n_W, C)`` -> ``(m, front + n_D + back, ..., C)``.
    The gradient is the matching slice of ``dy`` (a view).

    >>> import numpy as np
    >>> tuple(ZeroPadding3D((1, 0, 2))(np.ones((1, 2, 3, 4, 1), dtype="float32")).shape)
    (1, 4, 3, 8, 1)
    """

    # linear in the input: second-order tangents go through `call`
    second_order_kind = "linear"

    config_keys = ("padding", "data_format")
    input_rank = 5
    input_layout = _three_d.VOLUMES

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format: str | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.padding = _utils.border_pads(padding, ("depth", "height", "width"),
                                          "ZeroPadding3D", "padding")
        self.data_format = _utils.channels_last(data_format, "ZeroPadding3D")

    def compute_output_shape(self, input_shape):
        self.check_rank(input_shape)
        return (input_shape[0], *(None if n is None else n + b + a
                                  for n, (b, a) in zip(input_shape[1:4], self.padding)),
                input_shape[4])

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        self.check_rank((None, *x.shape[1:]))
        y = np.zeros(self.compute_output_shape(x.shape), dtype=self.dtype)
        y[_volume_slices(self.padding, x.shape[1:4])] = x
        self._cache = x.shape[1:4]
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        sizes = self.take_cache()
        return _utils.as_dtype(dy, self.dtype)[_volume_slices(self.padding, sizes)]


@register
class Cropping3D(FixedRankLayer):
    """Cut voxels off the borders of every volume (the inverse of `ZeroPadding3D`).

    Args:
        cropping: an int (every side), ``(crop_d, crop_h, crop_w)`` (symmetric), or
            ``((front, back), (top, bottom), (left, right))``. Default 1 everywhere.
        data_format: only ``"channels_last"``.

    Shape: ``(m, n_D, n_H, n_W, C)`` -> ``(m, n_D - front - back, ..., C)`` (at least 1 per
    axis). The output is a copy; backward places ``dy`` in a zero gradient.

    >>> import numpy as np
    >>> tuple(Cropping3D(((1, 0), (0, 2), (1, 1)))(np.ones((1, 4, 5, 6, 2), dtype="float32")).shape)
    (1, 3, 3, 4, 2)
    """

    # linear in the input: second-order tangents go through `call`
    second_order_kind = "linear"

    config_keys = ("cropping", "data_format")
    input_rank = 5
    input_layout = _three_d.VOLUMES

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format: str | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.cropping = _utils.border_pads(cropping, ("depth", "height", "width"),
                                           "Cropping3D", "cropping")
        self.data_format = _utils.channels_last(data_format, "Cropping3D")

    def build(self, input_shape) -> None:
        self.compute_output_shape(input_shape)
        self.built = True

    def check_input_shape(self, input_shape) -> None:
        super().check_input_shape(input_shape)
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape):
        self.check_rank(input_shape)
        return _utils.cropped_shape(self, input_shape)

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        out = self.compute_output_shape(x.shape)
        self._cache = x.shape
        return x[_volume_slices(self.cropping, out[1:4])].copy()

    def backward(self, dy: np.ndarray) -> np.ndarray:
        shape = self.take_cache()
        dy = _utils.as_dtype(dy, self.dtype)
        dx = np.zeros(shape, dtype=self.dtype)
        dx[_volume_slices(self.cropping, dy.shape[1:4])] = dy
        return dx


@register
class UpSampling3D(FixedRankLayer):
    """Repeat every voxel ``size`` times along depth, height and width (nearest neighbour).

    Args:
        size: an int or ``(s_d, s_h, s_w)``; default ``(2, 2, 2)``.
        data_format: only ``"channels_last"``.

    Shape: ``(m, n_D, n_H, n_W, C)`` -> ``(m, s_d * n_D, s_h * n_H, s_w * n_W, C)``.
    Caches nothing; the gradient of a voxel is the sum over its copies.

    >>> import numpy as np
    >>> tuple(UpSampling3D((2, 1, 3))(np.ones((1, 2, 3, 4, 1), dtype="float32")).shape)
    (1, 4, 3, 12, 1)
    """

    # linear in the input: second-order tangents go through `call`
    second_order_kind = "linear"

    config_keys = ("size", "data_format")
    input_rank = 5
    input_layout = _three_d.VOLUMES

    def __init__(self, size=(2, 2, 2), data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.size = _three_d.triple(size, "size", "UpSampling3D")
        self.data_format = _utils.channels_last(data_format, "UpSampling3D")

    def compute_output_shape(self, input_shape):
        self.check_rank(input_shape)
        return (input_shape[0], *(None if n is None else n * s
                                  for n, s in zip(input_shape[1:4], self.size)),
                input_shape[4])

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        self.check_rank((None, *x.shape[1:]))
        self._cache = True
        m, n_D, n_H, n_W, n_C = x.shape
        s_d, s_h, s_w = self.size
        # a broadcast view with a length-s axis after each spatial axis, then one copy
        y = np.broadcast_to(x[:, :, None, :, None, :, None, :],
                            (m, n_D, s_d, n_H, s_h, n_W, s_w, n_C))
        return y.reshape(m, n_D * s_d, n_H * s_h, n_W * s_w, n_C)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        self.take_cache()
        dy = _utils.as_dtype(dy, self.dtype)
        m, D, H, W, n_C = dy.shape
        s_d, s_h, s_w = self.size
        return dy.reshape(m, D // s_d, s_d, H // s_h, s_h, W // s_w, s_w, n_C).sum(
            axis=(2, 4, 6))
