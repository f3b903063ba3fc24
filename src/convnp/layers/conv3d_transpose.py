"""`Conv3DTranspose`: the learned upsampling of volumes, on `convnp.ops.conv3d`."""

from __future__ import annotations

import numpy as np

from convnp.layers import _three_d, _utils
from convnp.layers._transposed import TransposedConv
from convnp.layers.registry import register
from convnp.ops import conv3d as volume_ops
from convnp.ops import padding as geometry


@register(aliases=("Convolution3DTranspose",))
class Conv3DTranspose(TransposedConv):
    """Transposed 3-D convolution, optionally activated: each input voxel adds a copy of the
    kernel, weighted by its channels, at ``strides`` times its position; overlapping copies
    add up. It is the input gradient of a `Conv3D` with the same kernel, strides and padding.

    Args:
        filters: number of output channels.
        kernel_size, strides: an int or a ``(d, h, w)`` triple.
        padding: ``"valid"`` or ``"same"`` (output ``n * strides``).
        output_padding: ``None`` or an int/triple, each smaller than its stride: the output
            is then ``(n - 1) * s + f - 2 * pad + output_padding`` per axis (``pad`` 0 for
            ``"valid"``, ``f // 2`` for ``"same"``).
        data_format: only ``"channels_last"``.
        dilation_rate: only 1 (convnp does not dilate transposed 3-D kernels).
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
            bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint: as
            `Conv3D`.
        **kwargs: `Layer` arguments.

    Shape: ``(m, n_D, n_H, n_W, in_channels)`` -> ``(m, new_D, new_H, new_W, filters)``,
    without ``output_padding`` ``new = n * s`` (``"same"``) or ``n * s + max(f - s, 0)``
    (``"valid"``).

    Weights: ``kernel`` ``(f_d, f_h, f_w, filters, in_channels)`` (Keras' layout: output
    channels first), ``bias`` ``(filters,)``.
    Caches the op's cache (the input and the kernel) and the activation's values.

    >>> import numpy as np
    >>> up = Conv3DTranspose(4, 3, strides=2, padding="same")
    >>> tuple(up(np.zeros((1, 2, 3, 4, 5), dtype="float32")).shape)
    (1, 4, 6, 8, 4)
    """

    layout = _three_d.VOLUMES

    def __init__(self, filters: int, kernel_size, strides=(1, 1, 1), padding: str = "valid",
                 output_padding=None, data_format: str | None = None,
                 dilation_rate=(1, 1, 1), activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        _three_d.window_arguments(self, filters, kernel_size, strides, padding, data_format,
                                  dilation_rate)
        if self.dilation_rate != (1, 1, 1):
            raise ValueError(f"{cls}: dilation_rate > 1 is not supported by convnp; expected "
                             f"1, got {dilation_rate!r}")
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = _three_d.triple(output_padding, "output_padding", cls,
                                                  minimum=0)
            self._check_output_padding(output_padding, strides)
        _utils.setup_kernel_layer_from(self, locals())

    def compute_output_shape(self, input_shape):
        cls = type(self).__name__
        _three_d.check_volume_rank(input_shape, cls)
        extra = self.output_padding or (None,) * 3
        out = []
        for n, f, s, e in zip(input_shape[1:4], self.kernel_size, self.strides, extra):
            size = None if n is None else geometry.transpose_output_size(n, f, s, self.padding, e)
            if size is not None and size < 1:
                raise ValueError(f"{cls} '{self.name}': the output would be empty for input "
                                 f"shape {tuple(input_shape)}")
            out.append(size)
        return (input_shape[0], *out, self.filters)

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        self.compute_output_shape((None, *x.shape[1:]))
        bias = None if self.bias is None else self.bias.value
        return _utils.activated_forward(self, volume_ops.conv3d_transpose_forward(
            x, self.kernel.value, bias, self.strides, self.padding, self.output_padding))

    def backward(self, dy: np.ndarray):
        return _utils.activated_backward(
            self, dy, lambda dz, cache: volume_ops.conv3d_transpose_backward(
                dz, cache, compute_dx=self.needs_input_gradient))
