"""`Conv1DTranspose`: the learned upsampling of sequences, on `convnp.ops.conv_transpose`.

The sequence runs as an image one pixel high, ``(m, 1, steps, channels)`` (a free reshape),
through the same transposed-convolution kernel as `Conv2DTranspose`.
"""

from __future__ import annotations

import numpy as np

from convnp.layers import _utils
from convnp.layers._channels_first_1d import sequence_data_format, steps_layout
from convnp.layers._transposed import TransposedConv
from convnp.layers.registry import register
from convnp.ops import conv_transpose as ops_transpose
from convnp.ops import padding as geometry

_SEQUENCES = "(batch, steps, channels)"


@register
@steps_layout
class Conv1DTranspose(TransposedConv):
    """Transposed 1-D convolution, optionally activated: each input step adds a copy of the
    kernel, weighted by its channels, to the output steps ``t * strides ...``; overlapping
    copies add up. It is the input gradient of a `Conv1D` with the same kernel, strides and
    padding.

    Args:
        filters: number of output channels.
        kernel_size: an int (or a one-item tuple).
        strides: an int.
        padding: ``"valid"`` or ``"same"`` (output ``steps * strides``).
        output_padding: ``None`` or an int smaller than ``strides``: the output length is then
            ``(steps - 1) * strides + k - 2 * pad + output_padding``, where ``k = (kernel_size
            - 1) * dilation_rate + 1`` and ``pad`` is 0 (``"valid"``) or ``k // 2``
            (``"same"``).
        data_format: ``"channels_last"`` or ``"channels_first"`` (``(batch, channels,
            steps)`` in and out, as `Conv1D`).
        dilation_rate: spacing of the kernel taps; not together with ``strides > 1`` (as
            Keras).
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
            bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint: as
            `Conv1D`.
        **kwargs: `Layer` arguments (``name``, ``trainable``, ``dtype``, ``input_shape``).

    Shape:
        Input ``(m, steps, in_channels)``; output ``(m, new_steps, filters)`` with, without
        ``output_padding``, ``new_steps = steps * strides`` (``"same"``) or ``steps * strides
        + max(k - strides, 0)`` (``"valid"``).

    Attributes:
        kernel: `Variable` ``(kernel_size, filters, in_channels)`` (Keras' layout: output
            channels first). bias: ``(filters,)`` or ``None``.

    Caches the op's cache (the input and the kernel) and the activation's saved values.

    >>> import numpy as np
    >>> up = Conv1DTranspose(4, 3, strides=2, padding="same")
    >>> tuple(up(np.zeros((2, 5, 6), dtype="float32")).shape)
    (2, 10, 4)
    >>> tuple(up.kernel.shape)
    (3, 4, 6)
    """

    layout = _SEQUENCES

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 output_padding=None, data_format: str | None = None, dilation_rate=1,
                 activation=None, use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.filters = _utils.positive_int(filters, "filters", cls)
        self.kernel_size = (_utils.single_int(kernel_size, "kernel_size", cls),)
        self.strides = (_utils.single_int(strides, "strides", cls),)
        self.padding = _utils.padding_mode(padding, cls)
        self.data_format = sequence_data_format(data_format, cls)
        self.dilation_rate = (_utils.single_int(dilation_rate, "dilation_rate", cls),)
        _utils.refuse_strided_dilation(cls, self.strides, self.dilation_rate,
                                       as_given=(strides, dilation_rate))
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = (_utils.single_int(output_padding, "output_padding", cls,
                                                     minimum=0),)
            self._check_output_padding(output_padding, strides)
        _utils.setup_kernel_layer_from(self, locals())

    def _spread(self) -> int:
        """The kernel's length counting the gaps of its dilation."""
        return (self.kernel_size[0] - 1) * self.dilation_rate[0] + 1

    def compute_output_shape(self, input_shape):
        cls = type(self).__name__
        _utils.check_rank(input_shape, 3, cls, _SEQUENCES)
        steps = input_shape[1]
        if steps is not None:
            extra = None if self.output_padding is None else self.output_padding[0]
            steps = geometry.transpose_output_size(steps, self._spread(), self.strides[0],
                                                   self.padding, extra)
            if steps < 1:
                raise ValueError(f"{cls} '{self.name}': the output would be empty for input "
                                 f"shape {tuple(input_shape)}")
        return (input_shape[0], steps, self.filters)

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        _utils.check_rank((None, *x.shape[1:]), 3, type(self).__name__, _SEQUENCES)
        bias = None if self.bias is None else self.bias.value
        extra = None if self.output_padding is None else (0, self.output_padding[0])
        y, cache = ops_transpose.conv_transpose_forward(
            _utils.sequence_as_image(x), self.kernel.value[None], bias, (1, self.strides[0]),
            self.padding, extra, dilation=(1, self.dilation_rate[0]))
        return _utils.activated_forward(self, (_utils.image_as_sequence(y), cache))

    def backward(self, dy: np.ndarray):
        def op_backward(dz, cache):
            dx, dW, db = ops_transpose.conv_transpose_backward(
                _utils.sequence_as_image(dz), cache, compute_dx=self.needs_input_gradient)
            return (None if dx is None else _utils.image_as_sequence(dx)), dW[0], db
        return _utils.activated_backward(self, dy, op_backward)

    def second_order(self, dy, t_dx, t_weights: dict):
        """Second-order rule (`_utils.sequence_op_rule`): `Conv2DTranspose`'s, on the
        sequence as an image one pixel high."""
        op_cache, saved = self._cache
        extra = None if self.output_padding is None else (0, self.output_padding[0])
        return _utils.sequence_op_rule(
            self, dy, t_dx, t_weights, op_cache.x, saved,
            lambda image, kernel: ops_transpose.conv_transpose_forward(
                image, kernel, None, (1, self.strides[0]), self.padding, extra,
                dilation=(1, self.dilation_rate[0])),
            lambda dz, cache, need_dx: ops_transpose.conv_transpose_backward(
                dz, cache, compute_dx=need_dx))
