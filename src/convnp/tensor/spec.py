"""``tf.TensorSpec``: the shape and dtype of a value, as `Dataset.from_generator`'s
``output_signature`` describes each element's components."""

from __future__ import annotations

import numpy as np

from convnp.tensor.eager import TensorShape, as_dtype


class TensorSpec:
    """``TensorSpec(shape, dtype=tf.float32, name=None)``; ``None`` in ``shape`` matches any
    size. ``is_compatible_with(value)`` checks a value's rank, sizes and dtype.

    >>> spec = TensorSpec([None, 3], "int32")
    >>> spec.is_compatible_with(np.zeros((5, 3), np.int32)), spec.shape
    (True, TensorShape([None, 3]))
    """

    def __init__(self, shape, dtype=np.float32, name=None):
        self.shape = TensorShape(() if shape is None else shape)
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
        return len(shape) == len(self.shape) and all(
            want is None or want == got for want, got in zip(self.shape, shape))

    @classmethod
    def from_tensor(cls, tensor, name=None) -> TensorSpec:
        arr = np.asarray(tensor)
        return cls(arr.shape, arr.dtype, name)

    def __eq__(self, other) -> bool:
        return (isinstance(other, TensorSpec) and tuple(self.shape) == tuple(other.shape)
                and self.dtype == other.dtype)

    def __hash__(self) -> int:
        return hash((tuple(self.shape), str(self.dtype)))

    def __repr__(self) -> str:
        return (f"TensorSpec(shape={tuple(self.shape)}, dtype=tf.{self.dtype.name}, "
                f"name={self.name!r})")
