"""`SeparableConv1D`: a depthwise 1-D convolution, then a pointwise one that mixes the
channels, on `convnp.ops.depthwise` and `convnp.ops.conv` (the sequence runs as an image one
pixel high)."""

from __future__ import annotations

from types import SimpleNamespace
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
from convnp.ops.depthwise import depthwise_conv_backward, depthwise_conv_forward


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

    def second_order(self, dy, t_dx, t_weights: dict):
        """Second-order rule: the layer is two bilinear steps, the depthwise convolution
        ``mid = D(x, depthwise)`` (no bias, no activation) and ``y = act(P(mid, pointwise) +
        bias)``, so its rule is theirs chained (`second_order.bilinear_rule` for each, on the
        sequence as an image one pixel high): the depthwise step's rule, with the output
        gradient its backward received, turns the input and depthwise tangents into a
        tangent of that gradient, which the pointwise step's rule takes as its input
        tangent; the cotangent the pointwise rule leaves on ``mid`` goes back through the
        depthwise convolution as a gradient."""
        from convnp import ops
        from convnp.layers import second_order

        (depthwise_cache, pointwise_cache), saved = self._cache
        x = _utils.image_as_sequence(depthwise_cache.source.unpadded())
        mid = _utils.image_as_sequence(pointwise_cache[0])
        as_image, as_sequence = _utils.sequence_as_image, _utils.image_as_sequence
        pointwise_step = {"stride": 1, "pad": 0}

        def depthwise(inputs, kernel):
            return depthwise_conv_forward(as_image(inputs), kernel[None], self._zero_mid_bias,
                                          self._hparameters)

        def depthwise_forward(inputs, kernel):
            return as_sequence(depthwise(inputs, kernel)[0])

        def depthwise_backward(dz, inputs, kernel, need_dx):
            dx, dW, _ = depthwise_conv_backward(as_image(dz), depthwise(inputs, kernel)[1],
                                                compute_dA_prev=need_dx)
            return (as_sequence(dx) if need_dx else None), dW[0]

        def pointwise_forward(inputs, kernel):
            z, _ = ops.conv_forward(as_image(inputs), kernel[None], self._zero_bias,
                                    pointwise_step)
            return as_sequence(z)

        def pointwise_backward(dz, inputs, kernel, need_dx):
            _, cache = ops.conv_forward(as_image(inputs), kernel[None], self._zero_bias,
                                        pointwise_step)
            dx, dW, _ = ops.conv_backward(as_image(dz), cache, compute_dA_prev=need_dx)
            return (as_sequence(dx) if need_dx else None), dW[0]

        def through_activation(g):
            return _utils.activate_backward(self.activation, g, saved)

        kernel = self.depthwise_kernel.value
        dy = np.asarray(dy, dtype=kernel.dtype)
        d_mid = pointwise_backward(through_activation(dy), mid, self.pointwise_kernel.value,
                                   True)[0]
        first = SimpleNamespace(kernel=self.depthwise_kernel, bias=None)
        t_mid_grad, x_bar, first_bars = second_order.bilinear_rule(
            first, d_mid, t_dx, t_weights, x, None, depthwise_forward, depthwise_backward,
            lambda g: g)
        last = SimpleNamespace(kernel=self.pointwise_kernel, bias=self.bias,
                               activation=self.activation)
        t_dy, mid_bar, bars = second_order.bilinear_rule(
            last, dy, t_mid_grad, t_weights, mid, saved, pointwise_forward,
            pointwise_backward, through_activation)
        depthwise_bar = first_bars.get(id(self.depthwise_kernel))
        if mid_bar is not None:
            dx_mid, d_depthwise = depthwise_backward(mid_bar, x, kernel, True)
            x_bar = second_order.plus(x_bar, dx_mid)
            depthwise_bar = second_order.plus(depthwise_bar, d_depthwise)
        if t_dy is None and x_bar is None and depthwise_bar is None and not bars:
            return None, None, {}
        return t_dy, x_bar, {**bars, id(self.depthwise_kernel): depthwise_bar}

    def get_config(self) -> dict[str, Any]:
        return separable_config(self)
