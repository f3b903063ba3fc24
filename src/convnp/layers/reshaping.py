"""`ZeroPadding2D`: pad NHWC images with zeros along height and width."""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp.layers import _utils
from convnp.layers.base import Layer


def _read_padding(padding) -> tuple[tuple[int, int], tuple[int, int]]:
    """Keras' three forms -> ``((top, bottom), (left, right))``."""
    def is_int(v):
        return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))

    bad = ValueError("ZeroPadding2D: padding must be an int, a pair (symmetric height, width) "
                     f"or ((top, bottom), (left, right)) of non-negative ints, got {padding!r}")
    if is_int(padding):
        pads = ((padding, padding), (padding, padding))
    elif isinstance(padding, (tuple, list)) and len(padding) == 2:
        if all(is_int(p) for p in padding):
            pads = ((padding[0], padding[0]), (padding[1], padding[1]))
        elif all(isinstance(p, (tuple, list)) and len(p) == 2 and all(is_int(v) for v in p)
                 for p in padding):
            pads = (tuple(padding[0]), tuple(padding[1]))
        else:
            raise bad
    else:
        raise bad
    if min(min(p) for p in pads) < 0:
        raise bad
    return tuple(tuple(int(v) for v in p) for p in pads)


class ZeroPadding2D(Layer):
    """Add rows and columns of zeros around every image.

    Args:
        padding: an int (all four sides), ``(pad_h, pad_w)`` (symmetric), or
            ``((top, bottom), (left, right))``. Default ``(1, 1)``.
        data_format: only ``"channels_last"`` (or ``None``).
        **kwargs: `Layer` arguments.

    Shape:
        Input: ``(m, n_H, n_W, n_C)``.
        Output: ``(m, top + n_H + bottom, left + n_W + right, n_C)``.

    Caches nothing but the geometry; the gradient is the matching slice of ``dy`` (a view).

    >>> import numpy as np
    >>> ZeroPadding2D(3)(np.ones((1, 64, 64, 3), dtype="float32")).shape
    (1, 70, 70, 3)
    """

    def __init__(self, padding=(1, 1), data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _read_padding(padding)
        self.data_format = _utils.channels_last(data_format, type(self).__name__)
        self._cache = None

    def build(self, input_shape) -> None:
        _utils.check_rank(input_shape, 4, "ZeroPadding2D", "(batch, height, width, channels)")
        self.built = True

    def check_input_shape(self, input_shape) -> None:
        _utils.check_feature_dims(self, input_shape, {}, rank=4)

    def compute_output_shape(self, input_shape):
        _utils.check_rank(input_shape, 4, "ZeroPadding2D", "(batch, height, width, channels)")
        (top, bottom), (left, right) = self.padding
        n_H, n_W = input_shape[1:3]
        return (input_shape[0],
                None if n_H is None else n_H + top + bottom,
                None if n_W is None else n_W + left + right,
                input_shape[3])

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        (top, bottom), (left, right) = self.padding
        m, n_H, n_W, n_C = x.shape
        y = np.zeros((m, n_H + top + bottom, n_W + left + right, n_C), dtype=self.dtype)
        y[:, top:top + n_H, left:left + n_W, :] = x
        self._cache = (n_H, n_W)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        n_H, n_W = _utils.take_cache(self)
        (top, _), (left, _) = self.padding
        return _utils.as_dtype(dy, self.dtype)[:, top:top + n_H, left:left + n_W, :]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"padding": self.padding, "data_format": self.data_format})
        return config
