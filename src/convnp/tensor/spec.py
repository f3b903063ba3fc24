"""``tf.TensorSpec``: the shape and dtype of a value, as `Dataset.from_generator`'s
``output_signature`` describes each element's components."""

from __future__ import annotations

import numpy as np

from convnp.tensor.eager import TensorShape, as_dtype


class _UnknownRank:
    """The shape of ``TensorSpec(shape=None)``: not even the rank is known, so every shape
    matches it. TensorFlow answers ``rank`` and ``dims`` with None and refuses to list or
    count the dimensions (ValueError); this does the same."""

    rank = ndims = dims = None

    def as_list(self):
        raise ValueError("as_list() is not defined on a shape of unknown rank")

    def __len__(self):
        raise ValueError("a shape of unknown rank has no length")

    def __iter__(self):
        raise ValueError("cannot iterate over a shape of unknown rank")

    def num_elements(self):
        return None

    def is_fully_defined(self) -> bool:
        return False

    def is_compatible_with(self, other) -> bool:
        return True

    def __eq__(self, other) -> bool:
        return isinstance(other, _UnknownRank)

    def __hash__(self) -> int:
        return hash(_UnknownRank)

    def __repr__(self) -> str:
        return "TensorShape(None)"

    def __str__(self) -> str:
        return "<unknown>"


class TensorSpec:
    """``TensorSpec(shape, dtype=tf.float32, name=None)``; ``None`` in ``shape`` matches any
    size, and ``shape=None`` matches any shape of any rank,
    as DeepDream's ``tf.function(input_signature=[tf.TensorSpec(shape=None, ...)])`` relies
    on. ``is_compatible_with(value)`` checks a value's rank, sizes and dtype.

    >>> spec = TensorSpec([None, 3], "int32")
    >>> spec.is_compatible_with(np.zeros((5, 3), np.int32)), spec.shape
    (True, TensorShape([None, 3]))
    """

    def __init__(self, shape, dtype=np.float32, name=None):
        self.shape = _UnknownRank() if shape is None else TensorShape(shape)
        self.dtype = as_dtype(dtype)
        self.name = name

    def is_compatible_with(self, value) -> bool:
        if isinstance(value, TensorSpec):
            shape, dtype = value.shape, value.dtype
        else:
            arr = np.asarray(value)
            shape, dtype = arr.shape, arr.dtype
        return self.dtype == dtype and self._shape_matches(shape)

    def _shape_matches(self, shape) -> bool:
        if isinstance(self.shape, _UnknownRank):
            return True
        if isinstance(shape, _UnknownRank):
            return False
        return len(shape) == len(self.shape) and all(
            want is None or want == got for want, got in zip(self.shape, shape))

    @classmethod
    def from_tensor(cls, tensor, name=None) -> TensorSpec:
        arr = np.asarray(tensor)
        return cls(arr.shape, arr.dtype, name)

    def __eq__(self, other) -> bool:
        return (isinstance(other, TensorSpec) and self._dims() == other._dims()
                and self.dtype == other.dtype)

    def __hash__(self) -> int:
        return hash((self._dims(), str(self.dtype)))

    def _dims(self):
        """The sizes as a tuple, or None when the rank is unknown."""
        return None if isinstance(self.shape, _UnknownRank) else tuple(self.shape)

    def __repr__(self) -> str:
        shape = "<unknown>" if self._dims() is None else self._dims()
        return f"TensorSpec(shape={shape}, dtype=tf.{self.dtype.name}, name={self.name!r})"
