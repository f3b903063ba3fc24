"""What the transposed convolutions (`Conv1DTranspose`, `Conv2DTranspose`,
`Conv3DTranspose`) share. Private: not a layer module."""

from __future__ import annotations

from typing import Any

from convnp.layers import _utils
from convnp.layers.base import Layer


class TransposedConv(Layer):
    """Base of the transposed convolutions. Subclasses set ``kernel_size``, ``strides``,
    ``filters`` and ``output_padding`` (tuples with one entry per spatial axis, or ``None``)
    in their constructor, and ``layout`` (the input's axes, for error messages).

    The kernel is ``window + (filters, in_channels)`` (Keras' layout: output channels
    first), so the input's channels are the kernel's last axis."""

    activation = _utils.ActivationAttribute()

    fuses_activation = True

    layout = "(batch, ..., channels)"

    def _check_output_padding(self, output_padding, strides) -> None:
        """Refuse an ``output_padding`` (already read) not below ``strides`` on some axis;
        the message repeats the arguments as given."""
        if any(p >= s for p, s in zip(self.output_padding, self.strides)):
            raise ValueError(f"{type(self).__name__}: output_padding must be smaller than "
                             f"strides, got output_padding={output_padding!r} and "
                             f"strides={strides!r}")

    def build(self, input_shape) -> None:
        cls = type(self).__name__
        rank = len(self.kernel_size) + 2
        _utils.check_rank(input_shape, rank, cls, self.layout)
        n_C_in = _utils.known_dim(input_shape, rank - 1, cls, "channels")
        _utils.add_kernel_and_bias(self, self.kernel_size + (self.filters, n_C_in))
        self.built = True

    def check_input_shape(self, input_shape) -> None:
        rank = len(self.kernel_size) + 2
        _utils.check_feature_dims(self, input_shape, {rank - 1: self.kernel.shape[rank - 1]},
                                  rank=rank)

    def _window_config(self) -> dict[str, Any]:
        """The window arguments of the config, in Keras' order for the layer."""
        return {"kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "output_padding": self.output_padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate}

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["filters"] = self.filters
        config.update(self._window_config())
        config.update(_utils.kernel_layer_config(self))
        return config
