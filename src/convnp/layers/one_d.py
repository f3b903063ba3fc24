"""1-D layers on sequences ``(m, steps, channels)``: `Conv1D`, `MaxPooling1D`,
`AveragePooling1D`, `GlobalAveragePooling1D`, `GlobalMaxPooling1D`.

They run the 2-D kernels of `convnp.ops` on the sequence seen as an image one pixel high,
``(m, 1, steps, channels)`` (a free reshape), so there is still one convolution and one
pooling implementation. Weights keep Keras' 1-D shapes (``Conv1D`` kernel
``(kernel_size, in_channels, filters)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp import ops
from convnp.layers import _utils, second_order
from convnp.layers._channels_first_1d import sequence_data_format, steps_layout
from convnp.layers.base import Layer
from convnp.layers.conv import check_channel_groups, checked_groups, conv_config
from convnp.layers.fixed_rank import FixedRankLayer
from convnp.layers.pooling import _GlobalPooling2D, max_pool_tangent
from convnp.layers.registry import register
from convnp.ops import padding as geometry
from convnp.ops.grouped_conv import (
    grouped_conv_backward,
    grouped_conv_forward,
    grouped_conv_input,
)

_SEQUENCES = "(batch, steps, channels)"


def _one(value, name: str, layer: str) -> int:
    """Keras' 1-D size arguments: an int or a one-item tuple."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    return _utils.positive_int(value, name, layer)


def _as_image(x: np.ndarray) -> np.ndarray:
    return x.reshape(x.shape[0], 1, x.shape[1], x.shape[2])


def _as_sequence(y: np.ndarray) -> np.ndarray:
    return y.reshape(y.shape[0], y.shape[2], y.shape[3])


def _steps_out(layer, steps, window: int, stride: int, padding: str, dilation: int = 1):
    if steps is None:
        return None
    mode = "same" if padding == "causal" else padding
    try:
        return geometry.layer_output_hw((1, steps), (1, window), (1, stride), mode,
                                        (1, dilation))[1]
    except ValueError as err:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': {err}") from None


@register
@steps_layout
class Conv1D(Layer):
    """1-D convolution over the steps of a sequence, optionally activated.

    Args:
        filters, kernel_size, strides, activation, use_bias, kernel_initializer,
            bias_initializer: as `Conv2D`, with ints for the sizes.
        padding: ``"valid"``, ``"same"`` or ``"causal"`` (zeros only before the sequence,
            so output step ``t`` sees inputs up to ``t``).
        dilation_rate: spacing of the kernel taps (with strides 1).
        groups: as `Conv2D`'s (the kernel is then ``(kernel_size, in_channels // groups,
            filters)``).
        data_format: ``"channels_last"`` (``(batch, steps, channels)``) or
            ``"channels_first"`` (``(batch, channels, steps)``, `steps_layout`); regularizers
            and constraints: as `Conv2D`.

    Shape: ``(m, steps, in_channels)`` -> ``(m, new_steps, filters)``.
    Weights: ``kernel`` ``(kernel_size, in_channels // groups, filters)``, ``bias``
    ``(filters,)``.
    Caches the op's cache and the activation's values.

    >>> import numpy as np
    >>> tuple(Conv1D(4, 3, padding="causal")(np.zeros((2, 10, 3), dtype="float32")).shape)
    (2, 10, 4)
    """

    activation = _utils.ActivationAttribute()

    fuses_activation = True

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate=1, groups: int = 1,
                 activation=None, use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        cls = "Conv1D"
        self.filters = _utils.positive_int(filters, "filters", cls)
        self.kernel_size = (_one(kernel_size, "kernel_size", cls),)
        self.strides = (_one(strides, "strides", cls),)
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same", "causal"):
            raise ValueError(f"Conv1D: padding must be 'valid', 'same' or 'causal', "
                             f"got {padding!r}")
        self.padding = padding.lower()
        self.data_format = sequence_data_format(data_format, cls)
        self.dilation_rate = (_one(dilation_rate, "dilation_rate", cls),)
        _utils.refuse_strided_dilation(cls, self.strides, self.dilation_rate,
                                       as_given=(strides, dilation_rate))
        self.groups = checked_groups(groups, self.filters, cls)
        _utils.setup_kernel_layer_from(self, locals())

    def build(self, input_shape) -> None:
        _utils.check_rank(input_shape, 3, "Conv1D", _SEQUENCES)
        n_C = _utils.known_dim(input_shape, 2, "Conv1D", "channels")
        check_channel_groups(self, n_C, input_shape)
        _utils.add_kernel_and_bias(self, (self.kernel_size[0], n_C // self.groups, self.filters))
        self.built = True

    def check_input_shape(self, input_shape) -> None:
        _utils.check_feature_dims(self, input_shape, {2: self.kernel.shape[1] * self.groups},
                                  rank=3)

    def compute_output_shape(self, input_shape):
        _utils.check_rank(input_shape, 3, "Conv1D", _SEQUENCES)
        steps = _steps_out(self, input_shape[1], self.kernel_size[0], self.strides[0],
                           self.padding, self.dilation_rate[0])
        return (input_shape[0], steps, self.filters)

    def _hparameters(self) -> dict:
        k, d = self.kernel_size[0], self.dilation_rate[0]
        pad = ((0, 0), ((k - 1) * d, 0)) if self.padding == "causal" else self.padding
        return {"stride": (1, self.strides[0]), "pad": pad, "dilation": (1, d)}

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        _utils.check_rank((None, *x.shape[1:]), 3, "Conv1D", _SEQUENCES)
        bias = (self.bias.value if self.bias is not None
                else np.zeros(self.filters, dtype=self.dtype)).reshape(1, 1, 1, self.filters)
        if self.groups > 1:
            z, cache = grouped_conv_forward(_as_image(x), self.kernel.value[None], bias,
                                            self._hparameters(), self.groups)
        else:
            z, cache = ops.conv_forward(_as_image(x), self.kernel.value[None], bias,
                                        self._hparameters())
        return _utils.activated_forward(self, (_as_sequence(z), cache))

    def backward(self, dy: np.ndarray):
        conv_backward = grouped_conv_backward if self.groups > 1 else ops.conv_backward

        def op_backward(dz, cache):
            dx, dW, db = conv_backward(_as_image(dz), cache,
                                       compute_dA_prev=self.needs_input_gradient)
            return (None if dx is None else _as_sequence(dx)), dW[0], db
        return _utils.activated_backward(self, dy, op_backward)

    def second_order(self, dy, t_dx, t_weights: dict):
        """Second-order rule (`convnp.layers.second_order.bilinear_rule`), on the image
        form the op runs (one row of ``steps`` pixels); a grouped convolution is bilinear
        too (each group's convolution on its channels)."""
        op_cache, saved = self._cache
        no_bias = np.zeros((1, 1, 1, self.filters), dtype=self.kernel.value.dtype)
        if self.groups > 1:
            x, hparameters = _as_sequence(grouped_conv_input(op_cache)), self._hparameters()

            def forward(inputs, kernel):
                z, _ = grouped_conv_forward(_as_image(inputs), kernel[None], no_bias,
                                            hparameters, self.groups)
                return _as_sequence(z)

            def backward(dz, inputs, kernel, need_dx):
                _, cache = grouped_conv_forward(_as_image(inputs), kernel[None], no_bias,
                                                hparameters, self.groups)
                dx, dW, _ = grouped_conv_backward(_as_image(dz), cache,
                                                  compute_dA_prev=need_dx)
                return (_as_sequence(dx) if need_dx else None), dW[0]
        else:
            x, hparameters = _as_sequence(op_cache[0]), op_cache[3]

            def forward(inputs, kernel):
                z, _ = ops.conv_forward(_as_image(inputs), kernel[None], no_bias, hparameters)
                return _as_sequence(z)

            def backward(dz, inputs, kernel, need_dx):
                dx, dW, _ = ops.conv_backward(_as_image(dz), (_as_image(inputs), kernel[None],
                                                              no_bias, hparameters),
                                              compute_dA_prev=need_dx)
                return (_as_sequence(dx) if need_dx else None), dW[0]

        return second_order.bilinear_rule(
            self, dy, t_dx, t_weights, x, saved, forward, backward,
            lambda g: _utils.activate_backward(self.activation, g, saved))

    def get_config(self) -> dict[str, Any]:
        return conv_config(self, super().get_config())


@steps_layout
class _Pooling1D(FixedRankLayer):
    """`MaxPooling1D` and `AveragePooling1D` on the 2-D pooling op."""

    mode = "max"
    input_rank = 3
    input_layout = _SEQUENCES

    def __init__(self, pool_size=2, strides=None, padding: str = "valid",
                 data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.pool_size = (_one(pool_size, "pool_size", cls),)
        self.strides = self.pool_size if strides is None else (_one(strides, "strides", cls),)
        self.padding = _utils.padding_mode(padding, cls)
        self.data_format = sequence_data_format(data_format, cls)

    def compute_output_shape(self, input_shape):
        self.check_rank(input_shape)
        steps = _steps_out(self, input_shape[1], self.pool_size[0], self.strides[0],
                           self.padding)
        return (input_shape[0], steps, input_shape[2])

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        _utils.check_rank((None, *x.shape[1:]), 3, type(self).__name__, _SEQUENCES)
        hparameters = {"f": (1, self.pool_size[0]), "stride": (1, self.strides[0]),
                       "pad": self.padding}
        y, self._cache = ops.pool_forward(_as_image(x), hparameters, self.mode)
        return _as_sequence(y)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        cache = self.take_cache()
        dx = ops.pool_backward(_as_image(_utils.as_dtype(dy, self.dtype)), cache, self.mode)
        return _as_sequence(dx)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "padding": self.padding,
                       "strides": self.strides, "data_format": self.data_format})
        return config


@register
@steps_layout  # (for its second-order rule: the rest is _Pooling1D's)
class MaxPooling1D(_Pooling1D):
    """Maximum over windows of ``pool_size`` steps (``strides`` defaults to the window).

    >>> import numpy as np
    >>> x = np.array([[[1.0], [3.0], [2.0], [0.0]]], dtype="float32")
    >>> np.asarray(MaxPooling1D()(x)).ravel().tolist()
    [3.0, 2.0]
    """

    def second_order(self, dy, t_dx, t_weights: dict):
        """Second-order rule: `MaxPooling2D`'s, on the image one pixel high (the tangent
        read at each window's first maximum)."""
        if t_dx is None:
            return None, None, {}
        t = np.asarray(t_dx)
        return _as_sequence(max_pool_tangent(self._cache, _as_image(t))), None, {}


@register
class AveragePooling1D(_Pooling1D):
    """Mean over windows of ``pool_size`` steps ('same' averages the real steps only)."""

    # linear in the input: second-order tangents go through `call`
    second_order_kind = "linear"

    mode = "average"


class _GlobalPooling1D(_GlobalPooling2D):
    """The 2-D global pooling's arguments and shapes, on sequences: ``(batch, steps,
    features)``, or ``(batch, features, steps)`` with ``data_format="channels_first"`` (as
    Keras's 1-D global poolings take it)."""

    input_rank = 3
    input_layout = _SEQUENCES
    takes_channels_first = True  # (read by the .keras reader)

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs):
        first = sequence_data_format(data_format, type(self).__name__) == "channels_first"
        super().__init__(data_format=None, keepdims=keepdims, **kwargs)
        if first:
            self.data_format = "channels_first"
            self.input_layout = "(batch, features, steps)"

    @property
    def _steps_axis(self) -> int:
        return 2 if self.data_format == "channels_first" else 1

    def compute_output_shape(self, input_shape):
        self.check_rank(input_shape)
        batch = input_shape[0]
        features = input_shape[1] if self.data_format == "channels_first" else input_shape[-1]
        if not self.keepdims:
            return (batch, features)
        return (batch, features, 1) if self.data_format == "channels_first" \
            else (batch, 1, features)

    def _sequences(self, inputs) -> np.ndarray:
        """The input as ``(batch, steps, features)`` (a view for channels_first)."""
        x = _utils.as_dtype(inputs, self.dtype)
        return x.transpose(0, 2, 1) if self.data_format == "channels_first" else x

    def _finish(self, y: np.ndarray) -> np.ndarray:
        """``(batch, 1, features)`` as the layer's output."""
        if not self.keepdims:
            return y[:, 0, :]
        return y.transpose(0, 2, 1) if self.data_format == "channels_first" else y

    def _dy(self, dy: np.ndarray) -> np.ndarray:
        """The output gradient as ``(batch, 1, features)``."""
        dy = _utils.as_dtype(dy, self.dtype)
        if not self.keepdims:
            return dy[:, None, :]
        return dy.transpose(0, 2, 1) if self.data_format == "channels_first" else dy

    def _as_input(self, dx: np.ndarray) -> np.ndarray:
        """A ``(batch, steps, features)`` gradient in the input's layout."""
        if self.data_format == "channels_first":
            return np.ascontiguousarray(dx.transpose(0, 2, 1))
        return dx


@register
class GlobalAveragePooling1D(_GlobalPooling1D):
    """Mean over the steps: ``(m, steps, C)`` -> ``(m, C)`` (``(m, 1, C)`` with keepdims).

    Called with a ``mask`` (``(m, steps)``; the mask its input carries, after
    ``Embedding(mask_zero=True)`` or `Masking`), the mean of the kept steps only, as Keras
    computes it: ``sum(x * mask) / sum(mask)`` (NaN for a sequence with none kept). Its
    output carries no mask. Caches the input shape (and the mask with its counts).

    >>> import numpy as np
    >>> np.asarray(GlobalAveragePooling1D()(np.ones((2, 5, 3), dtype="float32"))).tolist()
    [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    >>> x = np.array([[[1.0], [3.0], [8.0]]], dtype="float32")
    >>> np.asarray(GlobalAveragePooling1D()(x, mask=np.array([[True, True, False]]))).tolist()
    [[2.0]]
    """

    # linear in the input: second-order tangents go through `call`
    second_order_kind = "linear"

    supports_masking = True  # it reads the mask; its output carries none (compute_mask)

    def compute_mask(self, inputs, mask=None):
        return None

    def check_mask(self, input_shape, mask_shape) -> None:
        """A mask is ``(batch, steps)``."""
        steps = input_shape[self._steps_axis]
        expected = (input_shape[0], steps)
        if len(mask_shape) != 2 or any(
                a is not None and b is not None and a != b for a, b in zip(expected, mask_shape)):
            raise ValueError(f"GlobalAveragePooling1D '{self.name}': the mask must have shape "
                             f"(batch, steps) = {expected}, got {tuple(mask_shape)}")

    def call(self, inputs, training: bool = False, mask=None) -> np.ndarray:
        x = self._sequences(inputs)
        if mask is None:
            self._cache = (x.shape, None, None)
            return self._finish(x.mean(axis=1, keepdims=True))
        keep = np.asarray(mask)
        self.check_mask(np.shape(inputs), keep.shape)
        keep = (keep if keep.dtype == bool else keep.astype(bool))[:, :, None]
        count = keep.sum(axis=1, keepdims=True, dtype=self.dtype)  # (m, 1, 1)
        with np.errstate(invalid="ignore", divide="ignore"):  # 0/0: NaN, as in Keras
            y = np.where(keep, x, self.dtype.type(0)).sum(axis=1, keepdims=True) / count
        self._cache = (x.shape, keep, count)
        return self._finish(y)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        shape, keep, count = self.take_cache()
        dy = self._dy(dy)
        if keep is None:
            dx = np.broadcast_to(dy / self.dtype.type(shape[1]), shape).copy()
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                dx = np.where(keep, dy / count, self.dtype.type(0))
        return self._as_input(dx)


@register
class GlobalMaxPooling1D(_GlobalPooling1D):
    """Maximum over the steps; the gradient goes to the first maximal step."""

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = self._sequences(inputs)
        winner = np.argmax(x, axis=1)[:, None, :]
        self._cache = (x.shape, winner)
        return self._finish(np.take_along_axis(x, winner, axis=1))

    def backward(self, dy: np.ndarray) -> np.ndarray:
        shape, winner = self.take_cache()
        dx = np.zeros(shape, dtype=self.dtype)
        np.put_along_axis(dx, winner, self._dy(dy), axis=1)
        return self._as_input(dx)

    def second_order(self, dy, t_dx, t_weights: dict):
        """Second-order rule: the tangent read at each channel's first maximum step."""
        if t_dx is None:
            return None, None, {}
        _, winner = self._cache
        picked = np.take_along_axis(self._sequences(t_dx), winner, axis=1)
        return self._finish(picked), None, {}
