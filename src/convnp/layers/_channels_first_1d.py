"""Keras's ``data_format="channels_first"`` for the 1-D window layers (`Conv1D`,
`Conv1DTranspose`, `SeparableConv1D`, `DepthwiseConv1D`, `MaxPooling1D`,
`AveragePooling1D`, `ZeroPadding1D`).

Their kernels work on ``(batch, steps, channels)``. With ``channels_first`` the layer takes
and gives ``(batch, channels, steps)`` (audio and sensor code often keeps the channels first,
as PyTorch does), so `steps_layout` swaps the last two axes on the way in and out of the
layer's methods: the kernels, caches and weights stay those of ``channels_last`` (Keras's
weights have the same shapes in both layouts, so weights move between the two unchanged).
TensorFlow 2.21 computes the same numbers: a ``channels_first`` layer's output is the
``channels_last`` one's with the axes swapped, and so are the gradients.
"""

from __future__ import annotations

import functools

import numpy as np

from convnp.layers.base import Layer

_FORMATS = ("channels_last", "channels_first")


def sequence_data_format(data_format, layer: str) -> str:
    """Keras's ``data_format`` of a 1-D layer: ``"channels_last"`` (also for None) or
    ``"channels_first"``, in any letter case as Keras reads it; anything else is refused."""
    if data_format is None:
        return "channels_last"
    if isinstance(data_format, str) and data_format.lower() in _FORMATS:
        return data_format.lower()
    raise ValueError(f"{layer}: data_format must be 'channels_last' or 'channels_first', "
                     f"got {data_format!r}")


def _first(layer) -> bool:
    return layer.data_format == "channels_first"


def _swap_shape(shape):
    """``(batch, a, b)`` as ``(batch, b, a)``; any other shape (a list of inputs, another
    rank) unchanged, so the layer's own checks refuse it with their usual message."""
    if isinstance(shape, list) or len(shape) != 3:
        return shape
    return (shape[0], shape[2], shape[1])


def _swap(x):
    """The array ``x`` with its last two axes swapped (contiguous, as the kernels expect);
    None and arrays of another rank unchanged."""
    if x is None or np.ndim(x) != 3:
        return x
    return np.ascontiguousarray(np.swapaxes(np.asarray(x), 1, 2))


def steps_layout(cls: type) -> type:
    """Give the 1-D layer class ``cls`` (which reads ``self.data_format``) the
    ``channels_first`` layout around its ``channels_last`` methods.

    Wrapped: ``call`` and ``backward`` (arrays in and out), ``build``,
    ``compute_output_shape`` and ``check_input_shape`` (shapes in, and out), and
    ``second_order`` where the class has a rule of its own (its ``dy`` and input tangent come
    in the layer's layout and its cotangents go back in it; the weights' are unchanged). A
    rule inherited from `Layer` runs ``call``/``backward``, which already swap. With
    ``channels_last`` every method runs as written. Sets ``takes_channels_first`` (the
    `.keras` reader accepts the layout for such classes only).

    A subclass of a decorated class is decorated again only for what it adds (a second-order
    rule of its own): the methods wrapped already are left as they are.
    """
    cls.takes_channels_first = True
    for name in ("call", "backward", "build", "compute_output_shape", "check_input_shape",
                 "second_order"):
        if not getattr(getattr(cls, name), "_swaps_steps", False):
            _WRAPPERS[name](cls)
    return cls


def _wrap_call(cls) -> None:
    call = cls.call

    @functools.wraps(call)
    def swapped_call(self, inputs, training: bool = False):
        if not _first(self):
            return call(self, inputs, training=training)
        return _swap(call(self, _swap(inputs), training=training))

    swapped_call._swaps_steps = True
    cls.call = swapped_call


def _around(method, swap):
    """``method(self, value)`` taking ``value`` and giving its result in the layer's layout:
    swapped (`_swap` for arrays, `_swap_shape` for shapes) around the channels_last method."""

    @functools.wraps(method)
    def swapped(self, value):
        if not _first(self):
            return method(self, value)
        return swap(method(self, swap(value)))

    swapped._swaps_steps = True
    return swapped


def _wrap_backward(cls) -> None:
    cls.backward = _around(cls.backward, _swap)


def _wrap_build(cls) -> None:
    """The swap goes inside the wrapper that keeps a directly built layer's input shape
    (`base._records_direct_build`), so ``layer.build(shape)`` keeps the shape as given."""
    from convnp.layers.base import _records_direct_build

    build = cls.build
    recorded = getattr(build, "_records_direct_build", False)
    if recorded:
        build = build.__wrapped__

    @functools.wraps(build)
    def swapped_build(self, input_shape):
        return build(self, _swap_shape(input_shape) if _first(self) else input_shape)

    swapped_build._swaps_steps = True
    cls.build = _records_direct_build(swapped_build) if recorded else swapped_build
    cls.build._swaps_steps = True


def _wrap_output_shape(cls) -> None:
    cls.compute_output_shape = _around(cls.compute_output_shape, _swap_shape)


def _wrap_check(cls) -> None:
    """Layer's own check compares with the shape as given, in the layer's layout: kept."""
    if cls.check_input_shape is Layer.check_input_shape:
        return
    check = cls.check_input_shape

    @functools.wraps(check)
    def swapped_check(self, input_shape):
        return check(self, _swap_shape(input_shape) if _first(self) else input_shape)

    swapped_check._swaps_steps = True
    cls.check_input_shape = swapped_check


def _wrap_rule(cls) -> None:
    """Layer's rule runs ``call``/``backward`` (already swapping): kept."""
    if cls.second_order is Layer.second_order:
        return
    rule = cls.second_order

    @functools.wraps(rule)
    def swapped_rule(self, dy, t_dx, t_weights: dict):
        if not _first(self):
            return rule(self, dy, t_dx, t_weights)
        t_dy, t_x, t_w = rule(self, _swap(dy), _swap(t_dx), t_weights)
        return _swap(t_dy), _swap(t_x), t_w

    swapped_rule._swaps_steps = True
    cls.second_order = swapped_rule


_WRAPPERS = {"call": _wrap_call, "backward": _wrap_backward, "build": _wrap_build,
             "compute_output_shape": _wrap_output_shape, "check_input_shape": _wrap_check,
             "second_order": _wrap_rule}
