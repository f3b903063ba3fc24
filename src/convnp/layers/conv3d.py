"""`Conv3D`: a 3-D convolution layer over NDHWC volumes, on `convnp.ops.conv3d`."""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp.layers import _three_d, _utils
from convnp.layers.base import Layer
from convnp.layers.conv import check_channel_groups, checked_groups, conv_config
from convnp.layers.registry import register
from convnp.ops import conv3d as volume_ops


@register(aliases=("Convolution3D",))
class Conv3D(Layer):
    """3-D convolution (cross-correlation) over volumes (video clips, scans), optionally
    activated: ``activation(conv3d(inputs, kernel) + bias)``.

    Args:
        filters: number of output channels.
        kernel_size: an int or ``(f_d, f_h, f_w)``.
        strides: an int or ``(s_d, s_h, s_w)``.
        padding: ``"valid"`` or ``"same"`` (output ``ceil(n / s)``; the odd extra voxel goes
            after, as in TensorFlow).
        data_format: only ``"channels_last"`` (or ``None``), as the 2-D layers.
        dilation_rate: an int or a triple; not above 1 together with ``strides`` (as Keras).
        groups: split the input channels and the filters into this many groups; must divide
            both. The kernel is then ``(f_d, f_h, f_w, in_channels // groups, filters)``.
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
            bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint,
            lora_rank: as `Conv2D`.
        **kwargs: `Layer` arguments (``name``, ``trainable``, ``dtype``, ``input_shape``).

    Shape: ``(m, n_D, n_H, n_W, in_channels)`` -> ``(m, new_D, new_H, new_W, filters)``.
    Weights: ``kernel`` ``(f_d, f_h, f_w, in_channels // groups, filters)``, ``bias``
    ``(filters,)``.
    Caches the op's cache (the padded input and the kernel) and the activation's values.

    >>> import numpy as np
    >>> conv = Conv3D(4, 3, padding="same")
    >>> tuple(conv(np.zeros((2, 5, 6, 7, 3), dtype="float32")).shape)
    (2, 5, 6, 7, 4)
    """

    activation = _utils.ActivationAttribute()

    fuses_activation = True

    def __init__(self, filters: int, kernel_size, strides=(1, 1, 1), padding: str = "valid",
                 data_format: str | None = None, dilation_rate=(1, 1, 1), groups: int = 1,
                 activation=None, use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 lora_rank=None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        _three_d.window_arguments(self, filters, kernel_size, strides, padding, data_format,
                                  dilation_rate)
        _utils.refuse_strided_dilation(cls, self.strides, self.dilation_rate)
        self.groups = checked_groups(groups, self.filters, cls)
        _utils.setup_kernel_layer_from(self, locals())

    def build(self, input_shape) -> None:
        cls = type(self).__name__
        _three_d.check_volume_rank(input_shape, cls)
        n_C = _utils.known_dim(input_shape, 4, cls, "channels")
        check_channel_groups(self, n_C, input_shape)
        _utils.add_kernel_and_bias(self, self.kernel_size + (n_C // self.groups, self.filters))
        self.built = True

    def check_input_shape(self, input_shape) -> None:
        _utils.check_feature_dims(self, input_shape, {4: self.kernel.shape[3] * self.groups},
                                  rank=5)

    def compute_output_shape(self, input_shape):
        return _three_d.window_output_shape(self, input_shape, self.kernel_size, self.strides,
                                            self.padding, self.filters, self.dilation_rate)

    def call(self, inputs, training: bool = False) -> np.ndarray:
        """``(m, n_D, n_H, n_W, in_channels)`` -> ``(m, new_D, new_H, new_W, filters)``."""
        x = _utils.as_dtype(inputs, self.dtype)
        self.compute_output_shape((None, *x.shape[1:]))  # rank and window fit, before work
        bias = None if self.bias is None else self.bias.value
        relu = _utils.is_relu(self.activation)  # applied by the conv while in cache
        return _utils.activated_forward(self, volume_ops.conv3d_forward(
            x, self.kernel.value, bias, self.strides, self.padding, self.dilation_rate,
            self.groups, relu=relu), rectified=relu)

    def backward(self, dy: np.ndarray):
        """Sets ``kernel.grad`` (and ``bias.grad``); returns the input gradient, or ``None``
        when ``needs_input_gradient`` is False."""
        return _utils.activated_backward(self, dy, lambda dz, cache: volume_ops.conv3d_backward(
            dz, cache, compute_dA_prev=self.needs_input_gradient))

    def get_config(self) -> dict[str, Any]:
        return conv_config(self, super().get_config())
