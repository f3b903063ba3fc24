"""Merge layers: `Add` and `Concatenate`, called on a list of tensors."""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp.layers import _utils
from convnp.layers.base import Layer


class _Merge(Layer):
    """Shared input handling: a non-empty list of inputs, cast to the layer dtype."""

    def _check_list(self, input_shape) -> list[tuple]:
        cls = type(self).__name__
        if not isinstance(input_shape, list) or not input_shape:
            raise TypeError(f"{cls} must be called on a list of inputs, got a single input of "
                            f"shape {tuple(input_shape) if input_shape is not None else None}")
        return [tuple(s) for s in input_shape]

    def _check_shapes(self, shapes: list[tuple]) -> None:
        raise NotImplementedError

    def build(self, input_shape) -> None:
        self._check_shapes(self._check_list(input_shape))
        self.built = True

    def _arrays(self, inputs) -> list[np.ndarray]:
        if not isinstance(inputs, (list, tuple)):
            raise TypeError(f"{type(self).__name__} must be called on a list of inputs, "
                            f"got {type(inputs).__name__}")
        arrays = [_utils.as_dtype(x, self.dtype) for x in inputs]
        # Checked on every call: a built merge layer accepts any list of shapes otherwise.
        self._check_shapes([a.shape for a in arrays])
        return arrays


def _same(a, b) -> bool:
    return a is None or b is None or a == b


class Add(_Merge):
    """Elementwise sum of a list of inputs of one shape.

    ``backward(dy)`` returns ``[dy, dy, ...]`` (one per input; the same array, not copies,
    since no layer writes into a gradient it is given). Caches the number of inputs.

    >>> import numpy as np
    >>> Add()([np.ones((2, 3)), np.ones((2, 3))]).tolist()
    [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._cache = None

    def _check_shapes(self, shapes: list[tuple]) -> None:
        first = shapes[0]
        for shape in shapes[1:]:
            if len(shape) != len(first) or not all(_same(a, b) for a, b in zip(first, shape)):
                raise ValueError(f"Add needs inputs of one shape, got shapes {shapes}")

    def compute_output_shape(self, input_shape):
        shapes = self._check_list(input_shape)
        self._check_shapes(shapes)
        # Fill a dimension unknown in one input from another that knows it.
        return tuple(next((d for d in dims if d is not None), None) for dims in zip(*shapes))

    def call(self, inputs, training: bool = False) -> np.ndarray:
        arrays = self._arrays(inputs)
        y = arrays[0] + arrays[1] if len(arrays) > 1 else arrays[0].copy()
        for x in arrays[2:]:
            y += x  # y is fresh, so summing in place is safe
        self._cache = len(arrays)
        return y

    def backward(self, dy: np.ndarray) -> list[np.ndarray]:
        count = _utils.take_cache(self)
        dy = _utils.as_dtype(dy, self.dtype)
        return [dy] * count


class Concatenate(_Merge):
    """Join a list of inputs along ``axis`` (default -1, the channels).

    All other dimensions must agree. ``backward(dy)`` returns the slices of ``dy`` for each
    input (views). Caches the split points.

    >>> import numpy as np
    >>> Concatenate()([np.ones((2, 3)), np.zeros((2, 1))]).shape
    (2, 4)
    """

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"Concatenate: axis must be an int, got {axis!r}")
        self.axis = int(axis)
        self._cache = None

    def _check_shapes(self, shapes: list[tuple]) -> None:
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes):
            raise ValueError(f"Concatenate needs inputs of one rank, got shapes {shapes}")
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ValueError(f"Concatenate: axis {self.axis} is not a non-batch axis of inputs "
                             f"of rank {rank} (shapes {shapes})")
        axis = self.axis % rank
        first = shapes[0]
        for shape in shapes[1:]:
            if not all(_same(a, b) for i, (a, b) in enumerate(zip(first, shape)) if i != axis):
                raise ValueError(f"Concatenate (axis={self.axis}) needs inputs that agree on "
                                 f"every other axis, got shapes {shapes}")

    def compute_output_shape(self, input_shape):
        shapes = self._check_list(input_shape)
        self._check_shapes(shapes)
        axis = self.axis % len(shapes[0])
        out = []
        for i, dims in enumerate(zip(*shapes)):
            if i == axis:
                out.append(None if any(d is None for d in dims) else sum(dims))
            else:
                out.append(next((d for d in dims if d is not None), None))
        return tuple(out)

    def call(self, inputs, training: bool = False) -> np.ndarray:
        arrays = self._arrays(inputs)
        axis = self.axis % arrays[0].ndim
        self._cache = (axis, np.cumsum([a.shape[axis] for a in arrays[:-1]]))
        return np.concatenate(arrays, axis=axis)

    def backward(self, dy: np.ndarray) -> list[np.ndarray]:
        axis, splits = _utils.take_cache(self)
        return np.split(_utils.as_dtype(dy, self.dtype), splits, axis=axis)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["axis"] = self.axis
        return config
