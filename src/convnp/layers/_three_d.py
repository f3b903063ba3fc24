"""Argument checks and shapes the 3-D layers share (volumes ``(batch, depth, height, width,
channels)``). Private: not a layer module."""

from __future__ import annotations

import numpy as np

from convnp.layers import _utils
from convnp.ops import conv3d as volume_ops

VOLUMES = "(batch, depth, height, width, channels)"


def triple(value, name: str, layer: str, minimum: int = 1) -> tuple[int, int, int]:
    """Keras' 3-D size arguments: an int or a ``(d, h, w)`` triple of ints."""
    try:
        return volume_ops.as_triple(value, name, minimum)
    except (TypeError, ValueError) as error:
        raise type(error)(f"{layer}: {error}") from None


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


def pads3(value, layer: str, argument: str) -> tuple[tuple[int, int], ...]:
    """Keras' three forms of ZeroPadding3D's ``padding`` / Cropping3D's ``cropping``: an int,
    a ``(d, h, w)`` triple (symmetric), or three ``(before, after)`` pairs."""
    def is_int(v):
        return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))

    bad = ValueError(f"{layer}: {argument} must be an int, a triple (symmetric depth, height, "
                     f"width) or ((front, back), (top, bottom), (left, right)) of "
                     f"non-negative ints, got {value!r}")
    if is_int(value):
        pads = ((value, value),) * 3
    elif isinstance(value, (tuple, list)) and len(value) == 3:
        if all(is_int(p) for p in value):
            pads = tuple((p, p) for p in value)
        elif all(isinstance(p, (tuple, list)) and len(p) == 2 and all(is_int(v) for v in p)
                 for p in value):
            pads = tuple(tuple(p) for p in value)
        else:
            raise bad
    else:
        raise bad
    if min(min(p) for p in pads) < 0:
        raise bad
    return tuple(tuple(int(v) for v in p) for p in pads)
