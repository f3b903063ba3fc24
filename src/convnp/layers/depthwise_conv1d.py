"""`DepthwiseConv1D`: each channel of a sequence filtered on its own, on
`convnp.ops.depthwise` (the sequence runs as an image one pixel high)."""

from __future__ import annotations

import numpy as np

from convnp.layers import _utils
from convnp.layers._channels_first_1d import sequence_data_format, steps_layout
from convnp.layers.depthwise import DepthwiseKernelLayer
from convnp.layers.registry import register
from convnp.ops import padding as geometry
from convnp.ops.depthwise import depthwise_conv_backward, depthwise_conv_forward

SEQUENCES = "(batch, steps, channels)"


def sequence_window_arguments(layer, kernel_size, strides, padding, data_format,
                              dilation_rate, depth_multiplier) -> None:
    """Validate and store the 1-D window arguments of the depthwise and separable layers
    (Keras' names, one-item tuples as Keras keeps them) and the op's ``hparameters`` on the
    one-pixel-high image. Keras allows strides and dilation above 1 together here."""
    cls = type(layer).__name__
    layer.kernel_size = (_utils.single_int(kernel_size, "kernel_size", cls),)
    layer.strides = (_utils.single_int(strides, "strides", cls),)
    layer.padding = _utils.padding_mode(padding, cls)
    layer.data_format = sequence_data_format(data_format, cls)
    layer.dilation_rate = (_utils.single_int(dilation_rate, "dilation_rate", cls),)
    layer.depth_multiplier = _utils.positive_int(depth_multiplier, "depth_multiplier", cls)
    layer._hparameters = {"stride": (1, layer.strides[0]), "pad": layer.padding,
                          "dilation": (1, layer.dilation_rate[0])}


def sequence_output_steps(layer, input_shape):
    """The output length of a 1-D window layer for ``(batch, steps, channels)``."""
    cls = type(layer).__name__
    _utils.check_rank(input_shape, 3, cls, SEQUENCES)
    steps = input_shape[1]
    if steps is None:
        return None
    try:
        return geometry.layer_output_hw((1, steps), (1, layer.kernel_size[0]),
                                        (1, layer.strides[0]), layer.padding,
                                        (1, layer.dilation_rate[0]))[1]
    except ValueError as err:
        raise ValueError(f"{cls} '{layer.name}': {err}") from None


@register
@steps_layout
class DepthwiseConv1D(DepthwiseKernelLayer):
    """Depthwise 1-D convolution: each input channel convolved over the steps with its own
    ``depth_multiplier`` filters, optionally activated.

    ``outputs[..., c * depth_multiplier + k] = activation(conv(inputs[..., c],
    kernel[:, c, k]) + bias[c * depth_multiplier + k])``.

    Args:
        kernel_size: an int (or a one-item tuple).
        strides: an int.
        padding: ``"valid"`` or ``"same"`` (TensorFlow's rule, as `Conv1D`).
        depth_multiplier: output channels per input channel.
        data_format: ``"channels_last"`` or ``"channels_first"`` (``(batch, channels,
            steps)`` in and out, as `Conv1D`).
        dilation_rate: spacing of the kernel taps (Keras allows it with strides > 1 here).
        activation, use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer,
            bias_regularizer, activity_regularizer, depthwise_constraint, bias_constraint: as
            `DepthwiseConv2D`.
        **kwargs: `Layer` arguments (``name``, ``trainable``, ``dtype``, ``input_shape``).

    Shape:
        Input ``(m, steps, channels)``; output ``(m, new_steps, channels *
        depth_multiplier)`` with `Conv1D`'s ``new_steps``.

    Attributes:
        kernel: `Variable` ``(kernel_size, channels, depth_multiplier)`` (Keras 3's name;
            ``depthwise_kernel`` is the same variable). bias: ``(channels *
            depth_multiplier,)`` or ``None``.

    Caches the op's cache (the padded input) and what the activation's derivative needs.

    >>> import numpy as np
    >>> layer = DepthwiseConv1D(3, padding="same", depth_multiplier=2)
    >>> tuple(layer(np.zeros((2, 7, 4), dtype="float32")).shape)
    (2, 7, 8)
    """

    def __init__(self, kernel_size, strides=1, padding: str = "valid",
                 depth_multiplier: int = 1, data_format: str | None = None,
                 dilation_rate=1, activation=None, use_bias: bool = True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        sequence_window_arguments(self, kernel_size, strides, padding, data_format,
                                  dilation_rate, depth_multiplier)
        self._setup_depthwise_kernel(locals())

    def build(self, input_shape) -> None:
        cls = type(self).__name__
        _utils.check_rank(input_shape, 3, cls, SEQUENCES)
        self._add_depthwise_weights(_utils.known_dim(input_shape, 2, cls, "channels"))
        self.built = True

    def compute_output_shape(self, input_shape):
        steps = sequence_output_steps(self, input_shape)
        channels = input_shape[2]
        if channels is not None:
            channels *= self.depth_multiplier
        return (input_shape[0], steps, channels)

    def call(self, inputs, training: bool = False) -> np.ndarray:
        """``(m, steps, C)`` -> ``(m, new_steps, C * depth_multiplier)``."""
        x = _utils.as_dtype(inputs, self.dtype)
        _utils.check_rank((None, *x.shape[1:]), 3, type(self).__name__, SEQUENCES)
        n_out = self.kernel.shape[1] * self.depth_multiplier
        bias = (np.zeros(n_out, dtype=self.dtype) if self.bias is None
                else self.bias.value).reshape(1, 1, 1, n_out)
        z, cache = depthwise_conv_forward(_utils.sequence_as_image(x), self.kernel.value[None],
                                          bias, self._hparameters)
        return _utils.activated_forward(self, (_utils.image_as_sequence(z), cache))

    def backward(self, dy: np.ndarray):
        """Sets ``kernel.grad`` (and ``bias.grad``); returns the input gradient, or ``None``
        when ``needs_input_gradient`` is False."""
        def op_backward(dz, cache):
            dx, dW, db = depthwise_conv_backward(_utils.sequence_as_image(dz), cache,
                                                 compute_dA_prev=self.needs_input_gradient)
            return (None if dx is None else _utils.image_as_sequence(dx)), dW[0], db
        return _utils.activated_backward(self, dy, op_backward)

    def second_order(self, dy, t_dx, t_weights: dict):
        """Second-order rule (`_utils.sequence_op_rule`): `DepthwiseConv2D`'s, on the
        sequence as an image one pixel high."""
        op_cache, saved = self._cache
        x = op_cache.source.unpadded()
        n_out = self.kernel.shape[1] * self.depth_multiplier
        no_bias = np.zeros((1, 1, 1, n_out), dtype=self.kernel.value.dtype)
        return _utils.sequence_op_rule(
            self, dy, t_dx, t_weights, x, saved,
            lambda image, kernel: depthwise_conv_forward(image, kernel, no_bias,
                                                         self._hparameters),
            lambda dz, cache, need_dx: depthwise_conv_backward(dz, cache,
                                                               compute_dA_prev=need_dx))
