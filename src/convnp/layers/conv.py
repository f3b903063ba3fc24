"""`Conv2D`: a 2-D convolution layer over NHWC images, on top of `convnp.ops.conv_forward`."""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp import ops
from convnp.layers import _utils, second_order
from convnp.layers.base import Layer
from convnp.layers.registry import register
from convnp.ops.grouped_conv import grouped_conv_backward, grouped_conv_forward


@register
class Conv2D(Layer):
    """2-D convolution (cross-correlation), optionally followed by an activation.

    ``outputs = activation(conv(inputs, kernel) + bias)``, computed by `convnp.ops.conv_forward`
    (one GEMM over image patches) and differentiated by `convnp.ops.conv_backward`.

    Args:
        filters: number of output channels ``n_C``.
        kernel_size: window size, an int or ``(f_h, f_w)``.
        strides: an int or ``(s_h, s_w)``.
        padding: ``"valid"`` (no padding) or ``"same"`` (output ``ceil(n / s)``; TensorFlow puts
            the odd extra row/column at the bottom/right).
        data_format: only ``"channels_last"`` (or ``None``) is supported.
        dilation_rate: an int or ``(d_h, d_w)``: the kernel taps are ``d`` pixels apart
            (atrous convolution); cannot exceed 1 together with ``strides`` (as in Keras).
        groups: split the input channels and the filters into this many equal groups, each
            group of filters seeing only its group of channels (`convnp.ops.grouped_conv`);
            must divide ``filters`` and the input channels. The kernel is then ``(f_h, f_w,
            n_C_prev // groups, filters)``.
        activation: name of an activation fused after the convolution (``None`` is linear).
        use_bias: whether to add a learned bias per filter.
        kernel_initializer: initializer name for ``kernel`` (Keras default ``"glorot_uniform"``).
        bias_initializer: initializer name for ``bias``.
        kernel_regularizer, bias_regularizer, activity_regularizer: `convnp.regularizers`
            (``l1``, ``l2``, ``l1_l2``); their penalties join the training loss.
        kernel_constraint, bias_constraint: `convnp.constraints` (``max_norm``, ``non_neg``,
            ...), applied to the weights after every optimizer update.
        lora_rank: accepted as ``None`` only.
        **kwargs: `Layer` arguments (``name``, ``trainable``, ``dtype``, ``input_shape``).

    Shape:
        Input: ``(m, n_H_prev, n_W_prev, n_C_prev)``.
        Output: ``(m, n_H, n_W, filters)`` with ``n_H = (n_H_prev - f_h) // s_h + 1`` for
        ``"valid"`` and ``ceil(n_H_prev / s_h)`` for ``"same"`` (likewise ``n_W``); a dilated
        kernel counts as ``(f_h - 1) * d_h + 1`` rows.

    Attributes:
        kernel: `Variable` of shape ``(f_h, f_w, n_C_prev // groups, filters)``.
        bias: `Variable` of shape ``(filters,)``, or ``None`` when ``use_bias=False``.
        needs_input_gradient: set to False (the model does, for layers fed by the model input)
            to skip computing the input gradient; `backward` then returns ``None``.

    Caches (between `call` and `backward`): the op's cache (the input patches and the kernel,
    in the form the fast kernel wants) and what the activation's derivative needs (for
    ``"relu"`` only the output, rectified in place).

    >>> import numpy as np
    >>> conv = Conv2D(8, 3, padding="same")
    >>> tuple(conv(np.zeros((2, 5, 5, 3), dtype="float32")).shape)
    (2, 5, 5, 8)
    """

    activation = _utils.ActivationAttribute()

    fuses_activation = True

    def __init__(self, filters: int, kernel_size, strides=(1, 1), padding: str = "valid",
                 data_format: str | None = None, dilation_rate=(1, 1), groups: int = 1,
                 activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.filters = _utils.positive_int(filters, "filters", cls)
        _utils.window_arguments(self, kernel_size, strides, padding, data_format, dilation_rate)
        self.groups = checked_groups(groups, self.filters, cls)
        _utils.setup_kernel_layer_from(self, locals())

    def build(self, input_shape) -> None:
        cls = type(self).__name__
        _utils.check_rank(input_shape, 4, cls, "(batch, height, width, channels)")
        n_C_prev = _utils.known_dim(input_shape, 3, cls, "channels")
        check_channel_groups(self, n_C_prev, input_shape)
        self.kernel = self.add_weight("kernel", self.kernel_size + (n_C_prev // self.groups,
                                                                    self.filters),
                                      self.kernel_initializer, constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer,
                                        constraint=self.bias_constraint)
        else:
            # The op always adds a bias; a constant zero one costs one broadcast add.
            self._zero_bias = np.zeros((1, 1, 1, self.filters), dtype=self.dtype)
        self.built = True

    def check_input_shape(self, input_shape) -> None:
        _utils.check_feature_dims(self, input_shape, {3: self.kernel.shape[2] * self.groups},
                                  rank=4)

    def compute_output_shape(self, input_shape):
        return _utils.window_output_shape(self, input_shape, self.filters)

    def _ops_bias(self) -> np.ndarray:
        if self.bias is None:
            return self._zero_bias
        return self.bias.value.reshape(1, 1, 1, self.filters)  # a view: same memory

    def call(self, inputs, training: bool = False) -> np.ndarray:
        """Forward pass: ``inputs`` ``(m, n_H_prev, n_W_prev, n_C_prev)`` -> ``(m, n_H, n_W,
        filters)``."""
        x = _utils.as_dtype(inputs, self.dtype)
        if self.groups > 1:
            return _utils.activated_forward(self, grouped_conv_forward(
                x, self.kernel.value, self._ops_bias(), self._hparameters, self.groups))
        relu = _utils.is_relu(self.activation)  # applied by the conv while in cache
        return _utils.activated_forward(self, ops.conv_forward(
            x, self.kernel.value, self._ops_bias(), self._hparameters, relu=relu),
            rectified=relu)

    def backward(self, dy: np.ndarray):
        """Backward pass: sets ``kernel.grad`` (and ``bias.grad``); returns the input gradient
        ``(m, n_H_prev, n_W_prev, n_C_prev)``, or ``None`` when ``needs_input_gradient`` is
        False."""
        if self.groups > 1:
            return _utils.activated_backward(self, dy, lambda dz, cache: grouped_conv_backward(
                dz, cache, compute_dA_prev=self.needs_input_gradient))
        return _utils.activated_backward(self, dy, lambda dz, cache: ops.conv_backward(
            dz, cache, compute_dA_prev=self.needs_input_gradient,
            compute_dW=self.needs_weight_gradients))

    def second_order(self, dy, t_dx, t_weights: dict):
        """Second-order rule (`convnp.layers.second_order.bilinear_rule`): a convolution is
        linear in its input and in its kernel."""
        if self.groups > 1:
            raise second_order.refuse(f"Conv2D '{self.name}' with groups > 1")
        op_cache, saved = self._cache
        x, hparameters = op_cache[0], op_cache[3]
        no_bias = np.zeros((1, 1, 1, self.filters), dtype=self.kernel.value.dtype)

        def forward(inputs, kernel):
            return ops.conv_forward(inputs, kernel, no_bias, hparameters)[0]

        def backward(dz, inputs, kernel, need_dx):
            dx, dW, _ = ops.conv_backward(dz, (inputs, kernel, no_bias, hparameters),
                                          compute_dA_prev=need_dx)
            return dx, dW

        return second_order.bilinear_rule(
            self, dy, t_dx, t_weights, x, saved, forward, backward,
            lambda g: _utils.activate_backward(self.activation, g, saved))

    def get_config(self) -> dict[str, Any]:
        return conv_config(self, super().get_config())


def conv_config(layer, config: dict[str, Any]) -> dict[str, Any]:
    """A convolution layer's own `get_config` entries (Conv2D and Conv1D), added to the base
    layer's ``config``."""
    config["filters"] = layer.filters
    config.update(_utils.window_config(layer))
    config["groups"] = layer.groups
    config.update(_utils.kernel_layer_config(layer))
    return config


def checked_groups(groups, filters: int, layer: str) -> int:
    """Keras' ``groups`` of a convolution: a positive int dividing ``filters`` (the input
    channels are checked when the layer is built, `check_channel_groups`)."""
    groups = _utils.positive_int(groups, "groups", layer)
    if filters % groups:
        raise ValueError(f"{layer}: filters ({filters}) must be divisible by groups "
                         f"({groups})")
    return groups


def check_channel_groups(layer, channels: int, input_shape) -> None:
    """Refuse input channels a grouped convolution cannot split into ``layer.groups``."""
    if channels % layer.groups:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': the input channels "
                         f"({channels}) must be divisible by groups ({layer.groups}), got "
                         f"input shape {tuple(input_shape)}")
