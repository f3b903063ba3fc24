"""`SeparableConv1D`: a depthwise 1-D convolution, then a pointwise one that mixes the
channels, on `convnp.ops.depthwise` and `convnp.ops.conv` (the sequence runs as an image one
pixel high)."""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp.layers import _utils
from convnp.layers._channels_first_1d import steps_layout
from convnp.layers.base import Layer
from convnp.layers.depthwise import (
    separable_backward,
    separable_config,
    separable_forward,
    separable_setup,
    separable_weights,
)
from convnp.layers.depthwise_conv1d import (
    SEQUENCES,
    sequence_output_steps,
    sequence_window_arguments,
)
from convnp.layers.registry import register


@register
@steps_layout
class SeparableConv1D(Layer):
    """Depthwise separable 1-D convolution: `DepthwiseConv1D` without bias, then a
    convolution of width 1 that mixes the channels, then the bias and the activation.

    Args:
        filters: output channels of the pointwise step.
        kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier: of the
            depthwise step, as in `DepthwiseConv1D`.
        activation, use_bias: applied after the pointwise step.
        depthwise_initializer, pointwise_initializer, bias_initializer: initializer names
            (Keras defaults ``"glorot_uniform"``, ``"glorot_uniform"``, ``"zeros"``).
        depthwise_regularizer, pointwise_regularizer, bias_regularizer, activity_regularizer,
            depthwise_constraint, pointwise_constraint, bias_constraint: as
            `SeparableConv2D`.
        **kwargs: `Layer` arguments.

    Shape:
        Input ``(m, steps, channels)``; output ``(m, new_steps, filters)``.

    Attributes (Keras' weight order):
        depthwise_kernel: ``(kernel_size, channels, depth_multiplier)``.
        pointwise_kernel: ``(1, channels * depth_multiplier, filters)``.
        bias: ``(filters,)`` or ``None``.

    Caches both ops' caches and what the activation's derivative needs.

    >>> import numpy as np
    >>> layer = SeparableConv1D(5, 3, padding="same", depth_multiplier=2)
    >>> tuple(layer(np.zeros((2, 7, 4), dtype="float32")).shape)
    (2, 7, 5)
    >>> tuple(layer.pointwise_kernel.shape)
    (1, 8, 5)
    """

    activation = _utils.ActivationAttribute()

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate=1,
                 depth_multiplier: int = 1, activation=None, use_bias: bool = True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        sequence_window_arguments(self, kernel_size, strides, padding, data_format,
                                  dilation_rate, depth_multiplier)
        separable_setup(self, filters, locals())

    def build(self, input_shape) -> None:
        cls = type(self).__name__
        _utils.check_rank(input_shape, 3, cls, SEQUENCES)
        n_C = _utils.known_dim(input_shape, 2, cls, "channels")
        separable_weights(self, self.kernel_size[:1], n_C, (1,))

    def check_input_shape(self, input_shape) -> None:
        _utils.check_feature_dims(self, input_shape, {2: self.depthwise_kernel.shape[1]},
                                  rank=3)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], sequence_output_steps(self, input_shape), self.filters)

    def call(self, inputs, training: bool = False) -> np.ndarray:
        """``(m, steps, C)`` -> ``(m, new_steps, filters)``."""
        x = _utils.as_dtype(inputs, self.dtype)
        _utils.check_rank((None, *x.shape[1:]), 3, type(self).__name__, SEQUENCES)
        z = separable_forward(self, _utils.sequence_as_image(x),
                              self.depthwise_kernel.value[None],
                              self.pointwise_kernel.value[None])
        y, saved = _utils.activate(self.activation, _utils.image_as_sequence(z))
        self._cache = (self._cache, saved)
        return y

    def backward(self, dy: np.ndarray):
        """Sets the gradients of both kernels (and the bias); returns the input gradient, or
        ``None`` when ``needs_input_gradient`` is False."""
        caches, saved = self.take_cache()
        dz = _utils.activate_backward(self.activation, _utils.as_dtype(dy, self.dtype), saved)
        dx, d_depthwise, d_pointwise = separable_backward(
            self, _utils.sequence_as_image(dz), caches)
        self.depthwise_kernel.grad = d_depthwise[0]
        self.pointwise_kernel.grad = d_pointwise[0]
        return None if dx is None else _utils.image_as_sequence(dx)

    def get_config(self) -> dict[str, Any]:
        return separable_config(self)
