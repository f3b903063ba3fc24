"""`Conv2DTranspose`: the learned upsampling of U-Nets and decoders, on
`convnp.ops.conv_transpose`."""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp.layers import _utils, second_order
from convnp.layers._transposed import TransposedConv
from convnp.layers.registry import register
from convnp.ops import conv_transpose as ops_transpose
from convnp.ops import padding as geometry


@register
class Conv2DTranspose(TransposedConv):
    """Transposed 2-D convolution (sometimes called deconvolution), optionally activated.

    Each input pixel adds a copy of the kernel, weighted by its channels, to an output patch
    whose corner moves ``strides`` pixels per input pixel; overlapping patches add up. It is
    the input gradient of a `Conv2D` with the same kernel, strides and padding.

    Args:
        filters: number of output channels.
        kernel_size: an int or ``(f_h, f_w)``.
        strides: an int or ``(s_h, s_w)``.
        padding: ``"valid"`` or ``"same"`` (output ``n * s``).
        output_padding: ``None`` or an int / pair, each smaller than the stride: the output
            size is then ``(n - 1) * s + f - 2 * pad + output_padding`` (``pad`` 0 or ``f // 2``).
        data_format: only ``"channels_last"``.
        dilation_rate: an int or pair, the spacing of the kernel taps; not together with
            ``strides > 1`` (as Keras). The sizes above then count the gaps: ``f`` becomes
            ``(f - 1) * dilation_rate + 1``.
        activation, use_bias, kernel_initializer, bias_initializer: as in `Conv2D`.
        kernel_regularizer, bias_regularizer, activity_regularizer, kernel_constraint,
            bias_constraint: as in `Conv2D`.

    Shape:
        Input ``(m, n_H, n_W, n_C_in)``; output ``(m, out_h, out_w, filters)`` with, without
        ``output_padding``, ``out = n * s`` (``"same"``) or ``n * s + max(f - s, 0)``
        (``"valid"``).

    Attributes:
        kernel: `Variable` ``(f_h, f_w, filters, n_C_in)`` (Keras' layout: output channels
            first). bias: ``(filters,)`` or ``None``.

    Caches the input and the kernel (the op's cache) and the activation's saved values.

    >>> import numpy as np
    >>> up = Conv2DTranspose(16, 3, strides=2, padding="same")
    >>> tuple(up(np.zeros((1, 6, 8, 32), dtype="float32")).shape)
    (1, 12, 16, 16)
    >>> tuple(up.kernel.shape)
    (3, 3, 16, 32)
    """

    layout = "(batch, height, width, channels)"

    def __init__(self, filters: int, kernel_size, strides=(1, 1), padding: str = "valid",
                 output_padding=None, data_format: str | None = None, dilation_rate=(1, 1),
                 activation=None, use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.filters = _utils.positive_int(filters, "filters", cls)
        _utils.window_arguments(self, kernel_size, strides, padding, data_format, dilation_rate)
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = _utils.pair(output_padding, "output_padding", cls, minimum=0)
            if any(p >= s for p, s in zip(self.output_padding, self.strides)):
                raise ValueError(f"{cls}: output_padding {self.output_padding} must be smaller "
                                 f"than strides {self.strides}")
        _utils.setup_kernel_layer_from(self, locals())

    def compute_output_shape(self, input_shape):
        _utils.check_rank(input_shape, 4, type(self).__name__, self.layout)
        extra = self.output_padding or (None, None)
        # a dilated kernel covers (f - 1) * d + 1 pixels: the sizes count its gaps
        spread = tuple((f - 1) * d + 1 for f, d in zip(self.kernel_size, self.dilation_rate))
        out = tuple(None if n is None else
                    geometry.transpose_output_size(n, f, s, self.padding, e)
                    for n, f, s, e in zip(input_shape[1:3], spread, self.strides, extra))
        return (input_shape[0], *out, self.filters)

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        bias = None if self.bias is None else self.bias.value
        return _utils.activated_forward(self, ops_transpose.conv_transpose_forward(
            x, self.kernel.value, bias, self.strides, self.padding, self.output_padding,
            dilation=self.dilation_rate))

    def backward(self, dy: np.ndarray):
        return _utils.activated_backward(self, dy, lambda dz, cache: (
            ops_transpose.conv_transpose_backward(dz, cache,
                                                  compute_dx=self.needs_input_gradient)))

    def second_order(self, dy, t_dx, t_weights: dict):
        """Second-order rule (`convnp.layers.second_order.cached_op_rule`): a transposed
        convolution is linear in its input and in its kernel."""
        op_cache, saved = self._cache

        def run(inputs, kernel):
            return ops_transpose.conv_transpose_forward(
                inputs, kernel, None, self.strides, self.padding, self.output_padding,
                dilation=self.dilation_rate)

        return second_order.cached_op_rule(
            self, dy, t_dx, t_weights, op_cache.x, saved, run,
            lambda dz, cache, need_dx: ops_transpose.conv_transpose_backward(
                dz, cache, compute_dx=need_dx),
            lambda g: _utils.activate_backward(self.activation, g, saved))

    def _window_config(self) -> dict[str, Any]:
        return {**_utils.window_config(self), "output_padding": self.output_padding}
