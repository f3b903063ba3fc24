"""Argument checks and shapes the 3-D layers share (volumes ``(batch, depth, height, width,
channels)``). Private: not a layer module."""

from __future__ import annotations

from convnp.layers import _utils
from convnp.ops import conv3d as volume_ops

VOLUMES = "(batch, depth, height, width, channels)"


def triple(value, name: str, layer: str, minimum: int = 1) -> tuple[int, int, int]:
    """Keras' 3-D size arguments: an int or a ``(d, h, w)`` triple of ints.

    Anything else is a `ValueError`, a wrong type included (``(3, 3)``, ``3.5``, ``None``),
    as Keras's tuple check raises it (and as convnp's 2-D layers do)."""
    try:
        return volume_ops.as_triple(value, name, minimum)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{layer}: {error}") from None


def window_arguments(layer, filters, kernel_size, strides, padding, data_format,
                     dilation_rate) -> None:
    """Validate and store the arguments `Conv3D` and `Conv3DTranspose` share, under Keras'
    names: ``filters``, and the window's ``kernel_size``, ``strides`` and ``dilation_rate``
    (triples), ``padding`` and ``data_format``."""
    cls = type(layer).__name__
    layer.filters = _utils.positive_int(filters, "filters", cls)
    layer.kernel_size = triple(kernel_size, "kernel_size", cls)
    layer.strides = triple(strides, "strides", cls)
    layer.padding = _utils.padding_mode(padding, cls)
    layer.data_format = _utils.channels_last(data_format, cls)
    layer.dilation_rate = triple(dilation_rate, "dilation_rate", cls)


def check_volume_rank(input_shape, layer: str) -> None:
    _utils.check_rank(input_shape, 5, layer, VOLUMES)


def window_output_shape(layer, input_shape, kernel, stride, padding, channels,
                        dilation=(1, 1, 1)) -> tuple:
    """``(batch, n_D, n_H, n_W, channels)`` of a sliding window over volumes."""
    check_volume_rank(input_shape, type(layer).__name__)
    try:
        _, out = volume_ops.volume_geometry(tuple(input_shape[1:4]), kernel, stride, padding,
                                            dilation)
    except ValueError as err:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': {err}") from None
    return (input_shape[0], *out, channels)

