"""`DepthwiseConv2D` and `SeparableConv2D`: MobileNet's convolutions, on `convnp.ops.depthwise`.

A depthwise convolution filters every input channel on its own (``depth_multiplier`` filters
per channel); a separable convolution follows it with a 1x1 convolution that mixes the
channels (the "pointwise" step, a plain `convnp.ops.conv_forward`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp import ops
from convnp.layers import _utils, second_order
from convnp.layers.base import Layer
from convnp.layers.registry import register
from convnp.ops.depthwise import depthwise_conv_backward, depthwise_conv_forward


def _depthwise_setup(layer, kernel_size, strides, padding, depth_multiplier, data_format,
                     dilation_rate) -> None:
    cls = type(layer).__name__
    _utils.window_arguments(layer, kernel_size, strides, padding, data_format, dilation_rate)
    layer.depth_multiplier = _utils.positive_int(depth_multiplier, "depth_multiplier", cls)


def _renamed(config: dict, prefix: str) -> dict:
    """`kernel_layer_config`'s ``kernel_*`` entries under Keras' ``depthwise_*`` names."""
    return {(prefix + key[len("kernel"):] if key.startswith("kernel_") else key): value
            for key, value in config.items()}


def _windowed_config(layer) -> dict:
    """The base entries, ``depth_multiplier`` and the window arguments both layers share."""
    config = Layer.get_config(layer)
    config["depth_multiplier"] = layer.depth_multiplier
    config.update(_utils.window_config(layer))
    return config


class DepthwiseKernelLayer(Layer):
    """What `DepthwiseConv2D` and `DepthwiseConv1D` share: the kernel ``window +
    (channels, depth_multiplier)`` and the bias ``(channels * depth_multiplier,)``, Keras'
    ``depthwise_*`` names for the kernel's arguments and config entries, and Keras 2's name
    ``depthwise_kernel`` for the kernel. Subclasses store ``kernel_size`` (a tuple),
    ``depth_multiplier`` and the window arguments before calling
    `_setup_depthwise_kernel`."""

    activation = _utils.ActivationAttribute()

    def _setup_depthwise_kernel(self, arguments: dict) -> None:
        """The constructor's tail: ``arguments`` are its ``locals()``."""
        _utils.setup_kernel_layer_from(self, arguments, "depthwise")
        self.depthwise_initializer = self.kernel_initializer
        self.depthwise_regularizer = self.kernel_regularizer  # Keras's attribute names
        self.depthwise_constraint = self.kernel_constraint

    @property
    def depthwise_kernel(self):
        return self.kernel

    def _add_depthwise_weights(self, n_C: int) -> int:
        """Create the kernel and (with ``use_bias``) the bias for ``n_C`` input channels;
        returns the number of output channels."""
        self.kernel = self.add_weight("kernel", self.kernel_size + (n_C, self.depth_multiplier),
                                      self.kernel_initializer,
                                      constraint=self.kernel_constraint)
        n_out = n_C * self.depth_multiplier
        if self.use_bias:
            self.bias = self.add_weight("bias", (n_out,), self.bias_initializer,
                                        constraint=self.bias_constraint)
        return n_out

    def check_input_shape(self, input_shape) -> None:
        rank = len(self.kernel_size) + 2
        _utils.check_feature_dims(self, input_shape, {rank - 1: self.kernel.shape[-2]},
                                  rank=rank)

    def get_config(self) -> dict[str, Any]:
        config = _windowed_config(self)
        config.update(_renamed(_utils.kernel_layer_config(self), "depthwise"))
        return config


@register
class DepthwiseConv2D(DepthwiseKernelLayer):
    """Depthwise 2-D convolution: each input channel convolved with its own filters.

    ``outputs[..., c * depth_multiplier + k] = activation(conv(inputs[..., c],
    kernel[:, :, c, k]) + bias[c * depth_multiplier + k])``, computed by
    `convnp.ops.depthwise.depthwise_conv_forward` (a multiply-accumulate per window offset).

    Args:
        kernel_size: window size, an int or ``(f_h, f_w)``.
        strides: an int or ``(s_h, s_w)``.
        padding: ``"valid"`` or ``"same"`` (TensorFlow's rule, as `Conv2D`).
        depth_multiplier: output channels per input channel.
        data_format: only ``"channels_last"`` (or ``None``).
        dilation_rate: spacing of the kernel taps; cannot exceed 1 together with ``strides``.
        activation: activation applied after the bias (``None`` is linear).
        use_bias: whether to add a learned bias per output channel.
        depthwise_initializer: initializer of ``kernel`` (Keras default ``"glorot_uniform"``).
        bias_initializer: initializer of ``bias``.
        depthwise_regularizer, bias_regularizer, activity_regularizer: penalties on the
            kernel, the bias and the output, added to ``losses`` (``tf.keras.regularizers``).
        depthwise_constraint, bias_constraint: projections of the kernel and the bias after
            each optimizer update (``tf.keras.constraints``).
        **kwargs: `Layer` arguments (``name``, ``trainable``, ``dtype``, ``input_shape``).

    Shape:
        Input ``(m, n_H_prev, n_W_prev, n_C_prev)``; output ``(m, n_H, n_W, n_C_prev *
        depth_multiplier)`` with `Conv2D`'s ``n_H``, ``n_W``.

    Attributes:
        kernel: `Variable` ``(f_h, f_w, n_C_prev, depth_multiplier)`` (Keras 3 names it
            ``kernel``; ``depthwise_kernel`` is the same variable, Keras 2's name).
        bias: `Variable` ``(n_C_prev * depth_multiplier,)`` or ``None``.

    Caches the op's cache (the padded input) and what the activation's derivative needs.

    >>> import numpy as np
    >>> layer = DepthwiseConv2D(3, padding="same", depth_multiplier=2)
    >>> tuple(layer(np.zeros((1, 6, 6, 4), dtype="float32")).shape)
    (1, 6, 6, 8)
    """

    def __init__(self, kernel_size, strides=(1, 1), padding: str = "valid",
                 depth_multiplier: int = 1, data_format: str | None = None,
                 dilation_rate=(1, 1), activation=None, use_bias: bool = True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        _depthwise_setup(self, kernel_size, strides, padding, depth_multiplier, data_format,
                         dilation_rate)
        self._setup_depthwise_kernel(locals())

    def build(self, input_shape) -> None:
        cls = type(self).__name__
        _utils.check_rank(input_shape, 4, cls, "(batch, height, width, channels)")
        n_C = self._add_depthwise_weights(_utils.known_dim(input_shape, 3, cls, "channels"))
        if not self.use_bias:
            self._zero_bias = np.zeros((1, 1, 1, n_C), dtype=self.dtype)
        self.built = True

    def compute_output_shape(self, input_shape):
        channels = input_shape[3] if len(input_shape) == 4 else None
        if channels is not None:
            channels *= self.depth_multiplier
        return _utils.window_output_shape(self, input_shape, channels)

    def _ops_bias(self) -> np.ndarray:
        if self.bias is None:
            return self._zero_bias
        return self.bias.value.reshape(1, 1, 1, -1)

    def call(self, inputs, training: bool = False) -> np.ndarray:
        """``(m, n_H_prev, n_W_prev, n_C_prev)`` -> ``(m, n_H, n_W, n_C_prev *
        depth_multiplier)``."""
        x = _utils.as_dtype(inputs, self.dtype)
        z, op_cache = depthwise_conv_forward(x, self.kernel.value, self._ops_bias(),
                                             self._hparameters)
        y, saved = _utils.activate(self.activation, z)
        self._cache = (op_cache, saved)
        return y

    def backward(self, dy: np.ndarray):
        """Sets ``kernel.grad`` (and ``bias.grad``); returns the input gradient, or ``None``
        when ``needs_input_gradient`` is False."""
        return _utils.activated_backward(self, dy, lambda dz, op_cache: depthwise_conv_backward(
            dz, op_cache, compute_dA_prev=self.needs_input_gradient))

    def second_order(self, dy, t_dx, t_weights: dict):
        """Second-order rule (`convnp.layers.second_order.cached_op_rule`): a depthwise
        convolution is linear in its input and in its kernel."""
        op_cache, saved = self._cache
        x = op_cache.source.unpadded()
        no_bias = np.zeros((1, 1, 1, self.kernel.shape[2] * self.kernel.shape[3]),
                           dtype=self.kernel.value.dtype)

        def run(inputs, kernel):
            return depthwise_conv_forward(inputs, kernel, no_bias, self._hparameters)

        return second_order.cached_op_rule(
            self, dy, t_dx, t_weights, x, saved, run,
            lambda dz, cache, need_dx: depthwise_conv_backward(dz, cache,
                                                               compute_dA_prev=need_dx),
            lambda g: _utils.activate_backward(self.activation, g, saved))


@register
class SeparableConv2D(Layer):
    """Depthwise separable 2-D convolution: `DepthwiseConv2D` without bias, then a 1x1
    convolution that mixes the channels, then the bias and the activation.

    Args:
        filters: output channels of the pointwise step.
        kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier: of the
            depthwise step, as in `DepthwiseConv2D`.
        activation, use_bias: applied after the pointwise step.
        depthwise_initializer, pointwise_initializer, bias_initializer: initializer names
            (Keras defaults ``"glorot_uniform"``, ``"glorot_uniform"``, ``"zeros"``).
        depthwise_regularizer, pointwise_regularizer, bias_regularizer, activity_regularizer,
            depthwise_constraint, pointwise_constraint, bias_constraint: each kernel's (and
            the bias's, the output's) penalty and projection, as in `DepthwiseConv2D`.
        **kwargs: `Layer` arguments.

    Shape:
        Input ``(m, n_H_prev, n_W_prev, n_C_prev)``; output ``(m, n_H, n_W, filters)``.

    Attributes (Keras' weight order):
        depthwise_kernel: ``(f_h, f_w, n_C_prev, depth_multiplier)``.
        pointwise_kernel: ``(1, 1, n_C_prev * depth_multiplier, filters)``.
        bias: ``(filters,)`` or ``None``.

    Caches both ops' caches (the padded input; the depthwise output for the pointwise GEMM)
    and what the activation's derivative needs.

    >>> import numpy as np
    >>> layer = SeparableConv2D(5, 3, padding="same")
    >>> tuple(layer(np.zeros((1, 6, 6, 4), dtype="float32")).shape)
    (1, 6, 6, 5)
    """

    activation = _utils.ActivationAttribute()

    def __init__(self, filters: int, kernel_size, strides=(1, 1), padding: str = "valid",
                 data_format: str | None = None, dilation_rate=(1, 1),
                 depth_multiplier: int = 1, activation=None, use_bias: bool = True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        _depthwise_setup(self, kernel_size, strides, padding, depth_multiplier, data_format,
                         dilation_rate)
        separable_setup(self, filters, locals())

    def build(self, input_shape) -> None:
        cls = type(self).__name__
        _utils.check_rank(input_shape, 4, cls, "(batch, height, width, channels)")
        n_C_prev = _utils.known_dim(input_shape, 3, cls, "channels")
        separable_weights(self, self.kernel_size, n_C_prev, (1, 1))

    def check_input_shape(self, input_shape) -> None:
        _utils.check_feature_dims(self, input_shape, {3: self.depthwise_kernel.shape[2]},
                                  rank=4)

    def compute_output_shape(self, input_shape):
        return _utils.window_output_shape(self, input_shape, self.filters)

    def call(self, inputs, training: bool = False) -> np.ndarray:
        """``(m, n_H_prev, n_W_prev, n_C_prev)`` -> ``(m, n_H, n_W, filters)``."""
        z = separable_forward(self, _utils.as_dtype(inputs, self.dtype),
                              self.depthwise_kernel.value, self.pointwise_kernel.value)
        y, saved = _utils.activate(self.activation, z)
        self._cache = (self._cache, saved)
        return y

    def backward(self, dy: np.ndarray):
        """Sets the gradients of both kernels (and the bias); returns the input gradient, or
        ``None`` when ``needs_input_gradient`` is False."""
        caches, saved = self.take_cache()
        dz = _utils.activate_backward(self.activation, _utils.as_dtype(dy, self.dtype), saved)
        dx, self.depthwise_kernel.grad, self.pointwise_kernel.grad = separable_backward(
            self, dz, caches)
        return dx

    def get_config(self) -> dict[str, Any]:
        return separable_config(self)


def separable_setup(layer, filters, arguments: dict) -> None:
    """What a separable conv layer's constructor keeps besides its window: ``filters``, and
    the kernel settings of both steps from its ``arguments`` (the constructor's locals)."""
    from convnp import constraints, initializers, regularizers

    layer.filters = _utils.positive_int(filters, "filters", type(layer).__name__)
    _utils.setup_kernel_layer_from(
        layer, {k: v for k, v in arguments.items() if not k.startswith("pointwise_")},
        "depthwise")
    layer.pointwise_regularizer = regularizers.get(arguments["pointwise_regularizer"])
    layer.pointwise_constraint = constraints.get(arguments["pointwise_constraint"])
    layer.depthwise_initializer = layer.kernel_initializer
    layer.depthwise_regularizer = layer.kernel_regularizer  # Keras's attribute names
    layer.depthwise_constraint = layer.kernel_constraint
    layer._pointwise_initializer = arguments["pointwise_initializer"]
    layer.pointwise_initializer = initializers.get(layer._pointwise_initializer)
    layer.depthwise_kernel = None
    layer.pointwise_kernel = None
    # its weights are the two kernels: no `kernel` attribute, as in Keras (a filter plot's
    # ``hasattr(layer, "kernel")`` passes it by, where a None kernel would break)
    del layer.kernel


def separable_weights(layer, window: tuple, n_C: int, pointwise_window: tuple) -> None:
    """Create a separable conv layer's weights for ``n_C`` input channels: the depthwise
    kernel ``window + (n_C, depth_multiplier)``, the pointwise kernel ``pointwise_window +
    (n_C * depth_multiplier, filters)``, the bias; and the zero biases the ops take."""
    n_mid = n_C * layer.depth_multiplier
    # The layer has no ``kernel``: the kernels' regularizers are given to add_weight.
    layer.depthwise_kernel = layer.add_weight(
        "depthwise_kernel", tuple(window) + (n_C, layer.depth_multiplier),
        layer.kernel_initializer, regularizer=layer.kernel_regularizer,
        constraint=layer.kernel_constraint)
    layer.pointwise_kernel = layer.add_weight(
        "pointwise_kernel", tuple(pointwise_window) + (n_mid, layer.filters),
        layer.pointwise_initializer, regularizer=layer.pointwise_regularizer,
        constraint=layer.pointwise_constraint)
    if layer.use_bias:
        layer.bias = layer.add_weight("bias", (layer.filters,), layer.bias_initializer,
                                      constraint=layer.bias_constraint)
    layer._zero_bias = np.zeros((1, 1, 1, layer.filters), dtype=layer.dtype)
    layer._zero_mid_bias = np.zeros((1, 1, 1, n_mid), dtype=layer.dtype)
    layer.built = True


def separable_forward(layer, image: np.ndarray, depthwise_kernel: np.ndarray,
                      pointwise_kernel: np.ndarray) -> np.ndarray:
    """The two convolutions of a separable conv ``layer`` on an NHWC ``image`` (kernels in
    the 2-D ops' shapes), bias included, activation not; both ops' caches go to
    ``layer._cache``."""
    mid, depthwise_cache = depthwise_conv_forward(image, depthwise_kernel,
                                                  layer._zero_mid_bias, layer._hparameters)
    bias = layer._zero_bias if layer.bias is None else layer.bias.value.reshape(1, 1, 1, -1)
    z, pointwise_cache = ops.conv_forward(mid, pointwise_kernel, bias, {"stride": 1, "pad": 0})
    layer._cache = (depthwise_cache, pointwise_cache)
    return z


def separable_backward(layer, dz: np.ndarray, caches: tuple) -> tuple:
    """Gradients of `separable_forward` from ``dz`` (NHWC): ``(dx, d_depthwise,
    d_pointwise)`` in the 2-D ops' shapes (``dx`` None without ``needs_input_gradient``);
    sets the bias gradient."""
    depthwise_cache, pointwise_cache = caches
    d_mid, d_pointwise, db = ops.conv_backward(dz, pointwise_cache)
    dx, d_depthwise, _ = depthwise_conv_backward(
        d_mid, depthwise_cache, compute_dA_prev=layer.needs_input_gradient)
    if layer.bias is not None:
        layer.bias.grad = db.reshape(-1)
    return dx, d_depthwise, d_pointwise


def separable_config(layer) -> dict[str, Any]:
    """Keras' config of a separable conv layer (1-D or 2-D): the window arguments, filters,
    and the kernel settings under their depthwise/pointwise names."""
    from convnp import constraints, regularizers

    config = _windowed_config(layer)
    config["filters"] = layer.filters
    shared = _renamed(_utils.kernel_layer_config(layer), "depthwise")
    for key, value in shared.items():
        config[key] = value
        if key == "depthwise_initializer":
            config["pointwise_initializer"] = _utils.initializer_config(
                layer._pointwise_initializer, layer.pointwise_initializer)
        elif key == "depthwise_regularizer":
            config["pointwise_regularizer"] = regularizers.serialize(
                layer.pointwise_regularizer)
        elif key == "depthwise_constraint":
            config["pointwise_constraint"] = constraints.serialize(layer.pointwise_constraint)
    return config
