"""`EagerTensor`, `TensorShape` and `DType`: TensorFlow's eager values as NumPy arrays.

Design (see docs/architecture.md, "Eager results"):

* `EagerTensor` is an `np.ndarray` subclass, so every NumPy function and operator works on it
  and ``np.asarray(t)`` is a free view. ``t.numpy()`` returns a copy, as TensorFlow's does.
  Outside a GradientTape, NumPy functions return what they return to TensorFlow users (plain
  NumPy values: ``np.argmax(t)`` is an ``np.int64``); operators return tensors.
* ``t.shape`` is a `TensorShape`: a tuple (so ``t.shape == (2, 3)`` and unpacking work) with
  TensorFlow's ``as_list()``, ``rank`` and ``num_elements()``; it also equals a list.
* ``t.dtype`` is the NumPy dtype (``np.dtype('float32')``). It compares equal to
  ``convnp.float32`` (a `DType`), to ``np.float32`` and to ``"float32"``, and has ``.name``.
  TensorFlow-only attributes such as ``dtype.is_floating`` live on `DType`
  (``convnp.as_dtype(t.dtype).is_floating``).
* Indexing down to one element gives a 0-d `EagerTensor`, as TensorFlow does (``float(t)``,
  ``int(t)`` and comparisons work on it).

Only the public call boundary makes these (layer and model calls on arrays, tensor ops,
Dataset iteration); internal code passes plain ndarrays, so nothing inside fit pays for the
subclass.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class TensorShape(tuple):
    """A tensor's shape: a tuple of ints (``None`` for unknown sizes) with TensorFlow's API.

    >>> s = TensorShape((2, 3))
    >>> s.as_list(), s.rank, s.num_elements(), s == [2, 3]
    ([2, 3], 2, 6, True)
    """

    def __new__(cls, dims=()):
        if dims is None:
            raise ValueError("TensorShape(None) (unknown rank) is not supported; give the "
                             "dimensions")
        if isinstance(dims, (int, np.integer)):
            dims = (dims,)
        return super().__new__(cls, (None if d is None else int(d) for d in dims))

    @property
    def rank(self) -> int:
        return len(self)

    ndims = rank

    @property
    def dims(self) -> list:
        return list(self)

    def as_list(self) -> list:
        return list(self)

    def num_elements(self) -> int | None:
        """Product of the sizes, or None when one is unknown."""
        if any(d is None for d in self):
            return None
        return int(np.prod(self, dtype=np.int64))

    def is_fully_defined(self) -> bool:
        return all(d is not None for d in self)

    def __getitem__(self, key):
        item = tuple.__getitem__(self, key)
        return TensorShape(item) if isinstance(key, slice) else item

    def __eq__(self, other) -> bool:
        if isinstance(other, (tuple, list)):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __ne__(self, other) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = tuple.__hash__

    def __repr__(self) -> str:
        return f"TensorShape({list(self)})"

    def __str__(self) -> str:
        # print(t.shape) shows "(2, 3)" in TensorFlow; the repr keeps the class name
        return str(tuple(self))

    def is_compatible_with(self, other) -> bool:
        """Same rank and equal sizes wherever both are known (``None`` matches anything;
        ``other=None``, an unknown shape, matches every shape)."""
        if other is None:
            return True
        other = TensorShape(other)
        return len(other) == len(self) and all(
            a is None or b is None or a == b for a, b in zip(self, other))

    def assert_is_compatible_with(self, other) -> None:
        if not self.is_compatible_with(other):
            raise ValueError(f"Shapes {_shape_text(self)} and {_shape_text(other)} are "
                             "incompatible")

    def merge_with(self, other) -> TensorShape:
        """The shape both describe: known sizes from either (ValueError if incompatible)."""
        self.assert_is_compatible_with(other)
        if other is None:
            return self
        return TensorShape(a if a is not None else b for a, b in zip(self, TensorShape(other)))

    def concatenate(self, other) -> TensorShape:
        return TensorShape(tuple(self) + tuple(TensorShape(other)))

    def __add__(self, other) -> TensorShape:
        # ``shape + shape`` (or + a list/tuple) concatenates into a TensorShape, as TF's
        return self.concatenate(other)

    def __radd__(self, other) -> TensorShape:
        # ``(n,) + x.shape`` and ``[n] + x.shape`` (a batch of noisy copies in SmoothGrad) are
        # a TensorShape too in TF; a list would otherwise refuse the tuple
        if not isinstance(other, (tuple, list)):
            return NotImplemented
        return TensorShape(other).concatenate(self)

    def with_rank(self, rank) -> TensorShape:
        if len(self) != int(rank):
            raise ValueError(f"Shape {_shape_text(self)} must have rank {int(rank)}")
        return self


def _shape_text(shape) -> str:
    """A shape as TensorFlow prints one in messages: ``(2, None)``, ``(3,)``."""
    if shape is None:
        return "<unknown>"
    return str(tuple(None if d is None else int(d) for d in TensorShape(shape)))


class DType:
    """A TensorFlow-style dtype name (``convnp.float32``) standing for a NumPy dtype.

    It compares equal to the NumPy dtype, its scalar type and its name, and NumPy accepts it
    wherever a dtype is expected (``np.zeros(3, dtype=convnp.float32)``).
    """

    def __init__(self, numpy_dtype):
        self._dtype = np.dtype(numpy_dtype)

    @property
    def dtype(self) -> np.dtype:
        # NumPy converts any object with a `.dtype` attribute, which makes DType usable as one
        return self._dtype

    @property
    def name(self) -> str:
        return "string" if self._dtype.kind in "SUO" else self._dtype.name

    @property
    def as_numpy_dtype(self) -> type:
        return self._dtype.type

    @property
    def is_floating(self) -> bool:
        return self._dtype.kind == "f"

    @property
    def is_integer(self) -> bool:
        return self._dtype.kind in "iu"

    @property
    def is_unsigned(self) -> bool:
        return self._dtype.kind == "u"

    @property
    def is_bool(self) -> bool:
        return self._dtype.kind == "b"

    @property
    def is_complex(self) -> bool:
        return self._dtype.kind == "c"

    @property
    def size(self) -> int:
        return self._dtype.itemsize

    @property
    def min(self):
        return _limits(self._dtype).min

    @property
    def max(self):
        return _limits(self._dtype).max

    def __eq__(self, other) -> bool:
        if isinstance(other, DType):
            return self._dtype == other._dtype
        try:
            return self._dtype == np.dtype(other)
        except (TypeError, ValueError):
            return False

    def __ne__(self, other) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self._dtype)

    def __repr__(self) -> str:
        return f"tf.{self.name}"


def _limits(dtype: np.dtype):
    if dtype.kind == "f":
        return np.finfo(dtype)
    if dtype.kind in "iu":
        return np.iinfo(dtype)
    if dtype.kind == "b":
        return type("BoolLimits", (), {"min": False, "max": True})
    raise TypeError(f"dtype {dtype} has no min/max")


def as_dtype(dtype) -> DType:
    """A `DType` from a name (``"float32"``), a NumPy dtype or type, or a `DType`.

    Raises:
        TypeError: ``dtype`` is not a dtype.
    """
    if isinstance(dtype, DType):
        return dtype
    if dtype is None:
        raise TypeError("expected a dtype (e.g. tf.float32), got None")
    if isinstance(dtype, str) and dtype == "string":
        return DType(np.bytes_)
    if dtype is float or (isinstance(dtype, str) and dtype == "float"):
        # TensorFlow reads Python's float (and the name "float") as its default float,
        # float32 (NumPy's is float64): tf.Variable(x, dtype=float), tf.cast(x, "float")
        # make float32 there
        return DType(np.float32)
    try:
        return DType(np.dtype(dtype))
    except TypeError:
        raise TypeError(f"expected a dtype (e.g. tf.float32 or 'float32'), got {dtype!r}") \
            from None


# Tapes currently recording (innermost last). Kept here, at the bottom of the package, so the
# tensor type can ask "is anything recording?" without importing the tape module.
active_tapes: list = []

# Set by `convnp.tensor.tape` when the package loads: NumPy's ufunc, function and indexing
# protocols for tensors (compute on plain arrays, record on active tapes).
_hooks: dict = {}


class EagerTensor(np.ndarray):
    """An array as TensorFlow's eager mode returns it (see the module docstring).

    >>> import numpy as np
    >>> t = np.arange(6.0, dtype=np.float32).reshape(2, 3).view(EagerTensor)
    >>> t.shape.as_list(), t.dtype == "float32", type(t.numpy()).__name__
    ([2, 3], True, 'ndarray')
    >>> float(t[1, 2] * 2)
    10.0
    """

    @property
    def shape(self) -> TensorShape:
        return TensorShape(np.ndarray.shape.__get__(self))

    @shape.setter
    def shape(self, value) -> None:
        np.ndarray.shape.__set__(self, value)

    def numpy(self) -> np.ndarray:
        """The values as a new plain `np.ndarray`, as TensorFlow's: changing it in place
        (``img = t.numpy(); img -= img.mean()``) leaves the tensor as it was. (``np.asarray(t)``
        is the free view.) A 0-d tensor gives its NumPy scalar (``np.float32(0.5)``)."""
        plain = self.view(np.ndarray)
        return plain[()] if plain.ndim == 0 else np.array(plain)

    def get_shape(self) -> TensorShape:
        return self.shape

    def set_shape(self, shape) -> None:
        """Check that ``shape`` (sizes or ``None`` for unknown ones; ``None`` for an unknown
        rank) describes this tensor, as TensorFlow's eager ``set_shape`` does: nothing changes,
        a mismatch raises `ValueError`."""
        if not self.shape.is_compatible_with(shape):
            raise ValueError(f"Tensor's shape {_shape_text(self.shape)} is not compatible "
                             f"with supplied shape {_shape_text(shape)}.")

    def __getitem__(self, key):
        if active_tapes:
            return _hooks["getitem"](self, key)
        item = super().__getitem__(key)
        if not isinstance(item, np.ndarray):  # one element: a 0-d tensor, as in TensorFlow
            return np.asarray(item).view(EagerTensor)
        return item

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _hooks["ufunc"](ufunc, method, *inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if active_tapes:
            return _hooks["function"](func, types, args, kwargs)
        # what TensorFlow users get: NumPy converts a tensor to a plain array first, so
        # np.argmax(t) is an np.int64, np.sum(t) an np.float32, np.concatenate(...) an ndarray
        # (np.shape reads the tensor's own shape: a TensorShape)
        if func is np.shape and args and isinstance(args[0], EagerTensor):
            return args[0].shape
        return func(*to_numpy(args), **to_numpy(kwargs))

    # shape methods go through the recorded ops while a tape is active
    def reshape(self, *shape, **kwargs):
        if active_tapes:
            return _hooks["method"]("reshape", self, shape, kwargs)
        return super().reshape(*shape, **kwargs)

    def transpose(self, *axes):
        if active_tapes:
            return _hooks["method"]("transpose", self, axes, {})
        return super().transpose(*axes)

    @property
    def T(self):
        return self.transpose()

    def astype(self, dtype, *args, **kwargs):
        if active_tapes:
            return _hooks["method"]("astype", self, (dtype,) + args, kwargs)
        return super().astype(dtype, *args, **kwargs)

    def ravel(self, order="C"):
        return self.reshape(-1)

    def flatten(self, order="C"):
        return self.reshape(-1)

    def squeeze(self, axis=None):
        if active_tapes:
            return _hooks["method"]("squeeze", self, (axis,), {})
        return super().squeeze(axis)

    def dot(self, other):
        return self @ other

    # Tensors are immutable, as in TensorFlow: `t += x` makes a new tensor and rebinds `t`
    # (so a recording tape sees the addition).
    def __iadd__(self, other):
        return self + other

    def __isub__(self, other):
        return self - other

    def __imul__(self, other):
        return self * other

    def __itruediv__(self, other):
        return self / other

    def __ifloordiv__(self, other):
        return self // other

    def __ipow__(self, other):
        return self ** other

    def __imatmul__(self, other):
        return self @ other

    # `t == None` is plain False in TensorFlow (so `if t == None:` works), and tensors whose
    # shapes do not broadcast compare as a scalar False (True for !=); elementwise otherwise.
    # Tensors stay unhashable, as arrays are.
    def __eq__(self, other):
        if other is None:
            return False
        try:
            return super().__eq__(other)
        except ValueError:  # shapes that do not broadcast
            return np.asarray(False).view(EagerTensor)

    def __ne__(self, other):
        if other is None:
            return True
        try:
            return super().__ne__(other)
        except ValueError:
            return np.asarray(True).view(EagerTensor)

    __hash__ = None

    def __repr__(self) -> str:
        # a 0-d tensor shows its number as TensorFlow does ("numpy=3.0", not NumPy 2's
        # "np.float32(3.0)")
        plain = repr(self.view(np.ndarray)) if self.ndim else repr(self.view(np.ndarray).item())
        sep = "\n" if "\n" in plain else ""
        return (f"<tf.Tensor: shape={tuple(self.shape)}, dtype={as_dtype(self.dtype).name}, "
                f"numpy={sep}{plain}>")

    def __str__(self) -> str:
        # a 0-d tensor prints its NumPy scalar ("3.0", where array2string gives "3."), as TF
        plain = self.view(np.ndarray)
        text = str(plain[()]) if plain.ndim == 0 else np.array2string(plain)
        return (f"tf.Tensor({text}, "
                f"shape={tuple(self.shape)}, dtype={as_dtype(self.dtype).name})")


def is_tensor(x) -> bool:
    """Whether ``x`` is an `EagerTensor` (``tf.is_tensor``)."""
    return isinstance(x, EagerTensor)


def map_nested(value: Any, leaf) -> Any:
    """``leaf(x)`` for every ``x`` inside nested lists, tuples and dicts, which keep their
    shape (a named tuple stays one, as TensorFlow's nest keeps it; another tuple subclass
    comes back as a plain tuple)."""
    if isinstance(value, list):
        return [map_nested(v, leaf) for v in value]
    if isinstance(value, tuple):
        items = [map_nested(v, leaf) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, dict):
        return {k: map_nested(v, leaf) for k, v in value.items()}
    return leaf(value)


def to_eager(value: Any) -> Any:
    """``value`` with every array (in lists, tuples and dicts) viewed as an `EagerTensor`.

    Arrays are not copied; anything else non-structural is converted with ``np.asarray``.
    """
    return map_nested(value, _eager_leaf)


def _eager_leaf(value: Any) -> Any:
    if isinstance(value, EagerTensor) or value is None:
        return value
    if isinstance(value, np.ndarray):
        return value.view(EagerTensor)
    return np.asarray(value).view(EagerTensor)


def to_numpy(value: Any) -> Any:
    """``value`` with every `EagerTensor` (in lists, tuples and dicts) as a plain ndarray view
    and every Variable as its value array."""
    return map_nested(value, _numpy_leaf)


def _numpy_leaf(value: Any) -> Any:
    if isinstance(value, EagerTensor):
        return value.view(np.ndarray)
    if getattr(value, "_convnp_variable", False):  # a Variable reads as its value
        return value.value
    return value
