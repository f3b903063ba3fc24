"""The 1-D companions of the 2-D reshaping layers: `UpSampling1D`, `ZeroPadding1D`,
`Cropping1D` (and `RepeatVector`, vector -> sequence). A sequence ``(m, steps, features)`` is the image ``(m, steps, 1, features)``, so
each runs the 2-D layer's kernel (forward and backward) on that view."""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp.layers import _utils
from convnp.layers._channels_first_1d import sequence_data_format, steps_layout
from convnp.layers.base import Layer
from convnp.layers.fixed_rank import FixedRankLayer
from convnp.layers.registry import register
from convnp.layers.reshaping import Cropping2D, UpSampling2D, ZeroPadding2D
from convnp.ops.padding import int_pair


def _int_pair(value, name: str, layer: str) -> tuple[int, int]:
    """An int ``n`` (``(n, n)``) or a pair of non-negative ints (Keras' 1-D forms)."""
    pair = int_pair(value, f"{layer}: {name}")
    if min(pair) < 0:
        raise ValueError(f"{layer}: {name} must be non-negative, got {value!r}")
    return pair


class _Through2D(Layer):
    """Runs ``self._inner`` (a 2-D layer, made by `_make_inner`) on ``(m, steps, 1, C)``."""

    def _make_inner(self) -> Layer:
        raise NotImplementedError

    def _setup(self) -> None:
        self._inner = self._make_inner()

    @staticmethod
    def _as_image_shape(input_shape) -> tuple:
        return (input_shape[0], input_shape[1], 1, input_shape[2])

    def build(self, input_shape) -> None:
        _utils.check_rank(input_shape, 3, type(self).__name__, "(batch, steps, features)")
        self._inner.ensure_built(self._as_image_shape(input_shape))
        self.built = True

    def check_input_shape(self, input_shape) -> None:
        _utils.check_feature_dims(self, input_shape, {}, rank=3)

    def compute_output_shape(self, input_shape):
        _utils.check_rank(input_shape, 3, type(self).__name__, "(batch, steps, features)")
        out = self._inner.compute_output_shape(self._as_image_shape(input_shape))
        return (out[0], out[1], out[3])

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        y = self._inner.call(x[:, :, None, :], training=training)
        # the 2-D layer's cache becomes this layer's (the graph saves and restores it)
        self._cache = self._inner.take_cache()
        return y[:, :, 0, :]

    def backward(self, dy: np.ndarray) -> np.ndarray:
        self._inner._cache = self.take_cache()
        dx = self._inner.backward(_utils.as_dtype(dy, self.dtype)[:, :, None, :])
        return dx[:, :, 0, :]


@register
class UpSampling1D(_Through2D):
    """Repeat each step ``size`` times: ``(m, steps, C) -> (m, size * steps, C)``.

    >>> import numpy as np
    >>> UpSampling1D(2)(np.array([[[1.0], [2.0]]], dtype="float32")).numpy().ravel().tolist()
    [1.0, 1.0, 2.0, 2.0]
    """

    # linear in the input: second-order tangents go through `call`
    second_order_kind = "linear"

    config_keys = ("size",)

    def __init__(self, size: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.size = _utils.positive_int(size, "size", "UpSampling1D")
        self._setup()

    def _make_inner(self) -> Layer:
        return UpSampling2D((self.size, 1), name=f"{self.name}_2d", dtype=self.dtype)


@register
@steps_layout
class ZeroPadding1D(_Through2D):
    """Add zeros at the start and end of the steps axis.

    Args:
        padding: an int (both ends) or ``(start, end)``. Default 1.
        data_format: ``"channels_last"`` (``(batch, steps, features)``, also for None) or
            ``"channels_first"`` (``(batch, features, steps)``).
    """

    # linear in the input: second-order tangents go through `call`
    second_order_kind = "linear"

    config_keys = ("data_format",)
    config_list_keys = ("padding",)

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _int_pair(padding, "padding", "ZeroPadding1D")
        self.data_format = sequence_data_format(data_format, "ZeroPadding1D")
        self._setup()

    def _make_inner(self) -> Layer:
        return ZeroPadding2D((self.padding, (0, 0)), name=f"{self.name}_2d", dtype=self.dtype)


@register
class Cropping1D(_Through2D):
    """Remove steps at the start and end of the steps axis.

    Args:
        cropping: an int (both ends) or ``(start, end)``. Default ``(1, 1)``.
    """

    # linear in the input: second-order tangents go through `call`
    second_order_kind = "linear"

    config_list_keys = ("cropping",)

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = _int_pair(cropping, "cropping", "Cropping1D")
        self._setup()

    def _make_inner(self) -> Layer:
        return Cropping2D((self.cropping, (0, 0)), name=f"{self.name}_2d", dtype=self.dtype)


@register
class RepeatVector(FixedRankLayer):
    """Repeat each example's vector ``n`` times: ``(m, features) -> (m, n, features)``.

    Caches nothing; the gradient is the sum over the repeats.
    """

    # linear in the input: second-order tangents go through `call`
    second_order_kind = "linear"

    def __init__(self, n: int, **kwargs):
        super().__init__(**kwargs)
        self.n = _utils.positive_int(n, "n", "RepeatVector")

    input_rank = 2
    input_layout = "(batch, features)"

    def compute_output_shape(self, input_shape):
        self.check_rank(input_shape)
        return (input_shape[0], self.n, input_shape[1])

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        self._cache = True
        return np.repeat(x[:, None, :], self.n, axis=1)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        self.take_cache()
        return _utils.as_dtype(dy, self.dtype).sum(axis=1)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["n"] = self.n
        return config
