"""`InputSpec`: what a layer accepts (rank, sizes of some axes), as Keras users declare it in
custom layers (``self.input_spec = InputSpec(ndim=4)``). A layer call checks the input
against ``layer.input_spec`` before building or computing anything, and raises a `ValueError`
naming the layer, the expected and the received shape.

Only shapes are checked (convnp computes in the layer's float dtype); ``dtype`` and
``allow_last_axis_squeeze`` are stored for code that reads them.
"""

from __future__ import annotations

from typing import Any


def _optional_int(value, name: str):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"InputSpec: {name} must be a non-negative int or None, got {value!r}")
    return value


class InputSpec:
    """The rank and axis sizes a layer's input must have.

    Args:
        dtype: stored, not checked.
        shape: a full shape with ``None`` for free sizes (sets ``ndim``).
        ndim, max_ndim, min_ndim: the exact / largest / smallest rank.
        axes: ``{axis: size}`` for axes whose size is fixed (negative axes count from the
            end).
        allow_last_axis_squeeze, name, optional: stored, as Keras.

    >>> spec = InputSpec(ndim=4, axes={-1: 3})
    >>> spec.check((None, 8, 8, 3), "conv")
    >>> spec.check((None, 8, 3), "conv")
    Traceback (most recent call last):
    ...
    ValueError: Input 0 of layer 'conv' is incompatible with the layer: expected ndim=4, found ndim=3. Full shape received: (None, 8, 3)
    """

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None,
                 axes=None, allow_last_axis_squeeze: bool = False, name=None,
                 optional: bool = False):
        self.dtype = dtype
        if shape is not None:
            if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
                raise TypeError(f"InputSpec: shape must be a tuple of ints or None, "
                                f"got {shape!r}")
            shape = tuple(_optional_int(d, "each shape entry") for d in shape)
            ndim = len(shape)
        self.shape = shape
        self.ndim = _optional_int(ndim, "ndim")
        self.max_ndim = _optional_int(max_ndim, "max_ndim")
        self.min_ndim = _optional_int(min_ndim, "min_ndim")
        if axes is not None and not isinstance(axes, dict):
            raise TypeError(f"InputSpec: axes must be a dict {{axis: size}}, got {axes!r}")
        self.axes = {}
        for axis, size in (axes or {}).items():
            if isinstance(axis, bool) or not isinstance(axis, int):
                raise TypeError(f"InputSpec: axes keys must be ints, got {axis!r}")
            self.axes[axis] = _optional_int(size, f"axes[{axis}]")
        if self.ndim is not None:
            for axis in self.axes:
                if not -self.ndim <= axis < self.ndim:
                    raise ValueError(f"InputSpec: axis {axis} is out of range for "
                                     f"ndim={self.ndim}")
        self.allow_last_axis_squeeze = bool(allow_last_axis_squeeze)
        self.name = name
        self.optional = bool(optional)

    def check(self, shape, layer_name: str, index: int = 0) -> None:
        """Raise `ValueError` if ``shape`` (batch axis included) does not meet the spec."""
        shape = tuple(shape)
        rank = len(shape)
        where = f"Input {index} of layer '{layer_name}' is incompatible with the layer"

        def fail(expected: str, found: str) -> None:
            raise ValueError(f"{where}: expected {expected}, found {found}. Full shape "
                             f"received: {shape}")

        if self.ndim is not None and rank != self.ndim:
            fail(f"ndim={self.ndim}", f"ndim={rank}")
        if self.max_ndim is not None and rank > self.max_ndim:
            fail(f"max_ndim={self.max_ndim}", f"ndim={rank}")
        if self.min_ndim is not None and rank < self.min_ndim:
            fail(f"min_ndim={self.min_ndim}", f"ndim={rank}")
        for axis, size in self.axes.items():
            if not -rank <= axis < rank:
                fail(f"an axis {axis}", f"ndim={rank}")
            if size is not None and shape[axis] is not None and shape[axis] != size:
                fail(f"axis {axis} of input shape to have value {size}",
                     f"shape={shape}")
        if self.shape is not None:
            for spec_dim, dim in zip(self.shape, shape):
                if spec_dim is not None and dim is not None and spec_dim != dim:
                    fail(f"shape={self.shape}", f"shape={shape}")

    def get_config(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim,
                "max_ndim": self.max_ndim, "min_ndim": self.min_ndim, "axes": self.axes}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> InputSpec:
        return cls(**config)

    def __repr__(self) -> str:
        parts = [f"{k}={v}" for k, v in self.get_config().items() if v]
        return f"InputSpec({', '.join(parts)})"


def check_input_spec(layer_name: str, spec, input_shape) -> None:
    """Check the input shape(s) of a call against a layer's ``input_spec`` (one spec, or a
    list of specs for a layer called on a list of inputs; ``None`` entries are skipped)."""
    if spec is None:
        return
    several = isinstance(input_shape, list)
    shapes = input_shape if several else [input_shape]
    specs = list(spec) if isinstance(spec, (list, tuple)) else [spec]
    if len(specs) != 1 and len(specs) != len(shapes):
        raise ValueError(f"layer '{layer_name}' expects {len(specs)} input(s) (its "
                         f"input_spec), got {len(shapes)}")
    if len(specs) == 1 and len(shapes) > 1:
        specs = specs * len(shapes)
    for i, (s, shape) in enumerate(zip(specs, shapes)):
        if s is None:
            continue
        if not isinstance(s, InputSpec):
            raise TypeError(f"layer '{layer_name}': input_spec must be an InputSpec, a list "
                            f"of them or None, got {s!r}")
        s.check(shape, layer_name, i)
