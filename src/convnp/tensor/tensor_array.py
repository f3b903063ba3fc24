"""``tf.TensorArray`` as eager TensorFlow has it: a growable list of tensors of one dtype
and one shape, written inside ``tf.while_loop`` bodies and stacked afterwards.

Eager TensorFlow keeps the entries in storage that every handle shares: ``write`` returns a
new `TensorArray` over the same storage (so ``ta = ta.write(i, v)`` and a bare
``ta.write(i, v)`` both land). The stored values are the tensors written, and `stack`,
`read`, `gather` and `concat` are recorded tensor ops, so a `GradientTape` differentiates
through a TensorArray as through the loop that filled it. Entries never written read as
zeros of the element shape.
"""

from __future__ import annotations

import builtins

import numpy as np

from convnp.tensor.eager import EagerTensor, TensorShape, as_dtype
from convnp.tensor.errors import InvalidArgumentError, OutOfRangeError
from convnp.tensor.ops import _convert, concat, convert_to_tensor, identity, split, stack, unstack
from convnp.tensor.tape import is_variable, value_of

__all__ = ["TensorArray"]


class _Storage:
    """What the handles of one TensorArray share: the entries (None where unwritten), the
    element shape once known, and whether the size may grow."""

    def __init__(self, dtype, size: int, dynamic: bool, infer_shape: bool, element_shape):
        self.dtype = dtype
        self.entries: list = [None] * size
        self.dynamic = dynamic
        self.infer_shape = infer_shape
        self.element_shape = element_shape  # a tuple, or None while unknown


def _index(value, who: str) -> int:
    i = np.asarray(value_of(value) if isinstance(value, np.ndarray) or is_variable(value)
                   else value)
    if i.shape != () or i.dtype.kind not in "iu":
        raise TypeError(f"TensorArray.{who}: index must be an int scalar, got {value!r}")
    return int(i)


class TensorArray:
    """``TensorArray(dtype, size, dynamic_size=False, infer_shape=True,
    element_shape=None)``; eager TensorFlow requires ``size``."""

    def __init__(self, dtype, size=None, dynamic_size=None, clear_after_read=None,
                 tensor_array_name=None, handle=None, flow=None, infer_shape=True,
                 element_shape=None, colocate_with_first_write_call=True, name=None,
                 _storage=None):
        if _storage is not None:
            self._storage = _storage
            return
        if size is None:
            raise ValueError("Size must be declared for TensorArrays when eager execution is "
                             "enabled.")
        dtype = as_dtype(dtype)
        count = _index(size, "__init__")
        if count < 0:
            raise ValueError(f"TensorArray: size must be >= 0, got {count}")
        shape = None
        if element_shape is not None:
            dims = element_shape.as_list() if hasattr(element_shape, "as_list") else list(
                element_shape)
            shape = None if any(d is None for d in dims) else tuple(int(d) for d in dims)
        self._storage = _Storage(dtype, count, bool(dynamic_size), bool(infer_shape), shape)

    # -- what TensorFlow's TensorArray shows

    @property
    def dtype(self):
        return self._storage.dtype

    @property
    def element_shape(self) -> TensorShape:
        shape = self._storage.element_shape
        return TensorShape(None if shape is None else shape)

    @property
    def dynamic_size(self) -> bool:
        return self._storage.dynamic

    def size(self, name=None) -> EagerTensor:
        return convert_to_tensor(np.int32(len(self._storage.entries)))

    def _handle(self) -> TensorArray:
        return TensorArray(None, _storage=self._storage)

    def identity(self) -> TensorArray:
        return self._handle()

    def close(self, name=None) -> None:
        """Nothing to release eagerly."""

    # -- writing

    def _value(self, value, who: str) -> EagerTensor:
        """``value`` as a tensor of the array's dtype (Python values are converted; a tensor
        of another dtype is refused, as TensorFlow does), its shape checked against the
        element shape."""
        dtype = self._storage.dtype
        if isinstance(value, EagerTensor) or is_variable(value):
            got = as_dtype(np.asarray(value_of(value)).dtype)
            if got != dtype:
                raise InvalidArgumentError(f"TensorArray dtype is {dtype.name} but Op is trying "
                                           f"to write dtype {got.name}")
            tensor = identity(value)
        else:
            tensor = convert_to_tensor(np.asarray(_convert(value), dtype=dtype.dtype))
        shape = tuple(np.shape(tensor))
        known = self._storage.element_shape
        if known is not None and shape != known and self._storage.infer_shape:
            raise ValueError(f"TensorArray.{who}: incompatible shape for value ({shape}), "
                             f"expected ({known})")
        if known is None and self._storage.infer_shape:
            self._storage.element_shape = shape
        return tensor

    def _place(self, index: int, tensor) -> None:
        entries = self._storage.entries
        if index < 0:
            raise OutOfRangeError(f"TensorArray: index {index} is negative")
        if index >= len(entries):
            if not self._storage.dynamic:
                raise OutOfRangeError(f"Tried to write to index {index} but array is not "
                                      f"resizeable and size is: {len(entries)}")
            entries.extend([None] * (index + 1 - len(entries)))
        entries[index] = tensor

    def write(self, index, value, name=None) -> TensorArray:
        """Entry ``index`` set to ``value``; a new handle over the same entries."""
        self._place(_index(index, "write"), self._value(value, "write"))
        return self._handle()

    def scatter(self, indices, value, name=None) -> TensorArray:
        """``value[k]`` written at ``indices[k]``."""
        where = [int(i) for i in np.ravel(np.asarray(_convert(indices)))]
        parts = unstack(value) if where else []
        if len(parts) != len(where):
            raise InvalidArgumentError(f"TensorArray.scatter: {len(where)} indices for "
                                       f"{len(parts)} values")
        for i, part in zip(where, parts):
            self._place(i, self._value(part, "scatter"))
        return self._handle()

    def unstack(self, value, name=None) -> TensorArray:
        """The entries replaced by the slices of ``value`` along its first axis (the size
        becomes their number; more than a fixed size is a ValueError)."""
        parts = unstack(convert_to_tensor(value) if not isinstance(value, EagerTensor)
                        and not is_variable(value) else value)
        storage = self._storage
        if not storage.dynamic and len(parts) > len(storage.entries):
            raise ValueError(f"Cannot unstack {len(parts)} tensors into a TensorArray of "
                             f"static size {len(storage.entries)}")
        storage.entries = [None] * len(parts)
        for i, part in enumerate(parts):
            storage.entries[i] = self._value(part, "unstack")
        return self._handle()

    def split(self, value, lengths, name=None) -> TensorArray:
        """The entries replaced by pieces of ``value`` ``lengths`` long along axis 0."""
        sizes = [int(n) for n in np.ravel(np.asarray(_convert(lengths)))]
        pieces = split(value, sizes) if sizes else []
        storage = self._storage
        if not storage.dynamic and len(pieces) > len(storage.entries):
            raise ValueError(f"Cannot split into {len(pieces)} pieces in a TensorArray of "
                             f"static size {len(storage.entries)}")
        storage.entries = [None] * builtins.max(len(pieces), len(storage.entries))
        storage.infer_shape = False  # pieces may differ in length
        for i, piece in enumerate(pieces):
            storage.entries[i] = self._value(piece, "split")
        return self._handle()

    # -- reading

    def _zeros(self):
        shape = self._storage.element_shape or ()
        return convert_to_tensor(np.zeros(shape, dtype=self._storage.dtype.dtype))

    def read(self, index, name=None) -> EagerTensor:
        i = _index(index, "read")
        entries = self._storage.entries
        if not 0 <= i < len(entries):
            raise OutOfRangeError(f"Tried to read from index {i} but array size is: "
                                  f"{len(entries)}")
        entry = entries[i]
        return self._zeros() if entry is None else identity(entry)

    def _all(self) -> list:
        return [self._zeros() if e is None else e for e in self._storage.entries]

    def stack(self, name=None) -> EagerTensor:
        """The entries stacked along a new first axis (unwritten ones as zeros)."""
        entries = self._all()
        if not entries:
            shape = (0,) + (self._storage.element_shape or ())
            return convert_to_tensor(np.zeros(shape, dtype=self._storage.dtype.dtype))
        return stack(entries)

    def gather(self, indices, name=None) -> EagerTensor:
        where = [int(i) for i in np.ravel(np.asarray(_convert(indices)))]
        return stack([self.read(i) for i in where]) if where else convert_to_tensor(
            np.zeros((0,) + (self._storage.element_shape or ()),
                     dtype=self._storage.dtype.dtype))

    def concat(self, name=None) -> EagerTensor:
        """The entries joined along their first axis."""
        entries = self._all()
        if not entries:
            return convert_to_tensor(np.zeros((0,), dtype=self._storage.dtype.dtype))
        return concat(entries, 0)

    def __repr__(self) -> str:
        return (f"<TensorArray dtype={self.dtype.name} size={len(self._storage.entries)} "
                f"element_shape={self.element_shape}>")
