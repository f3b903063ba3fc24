"""``tf.pad``, ``tf.sort``, ``tf.argsort`` and ``tf.math.top_k``, with gradients on the tape;
``tf.unique`` and ``tf.unique_with_counts`` (no gradient, as in TensorFlow).

Ordering follows TensorFlow: sorts are stable, so equal values keep their input order (also in
``"DESCENDING"`` order), and `top_k` returns the lowest index first among equal values. The
gradient of each sends every output cell's gradient back to the input cell it came from
(padding cells have none; a reflected cell adds to its source).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from convnp.tensor import symbolic as _symbolic
from convnp.tensor.debugging import InvalidArgumentError
from convnp.tensor.ops import _convert, _grad_dtype, _op
from convnp.tensor.tape import new_tensor, value_of

__all__ = ["argsort", "pad", "sort", "top_k", "unique", "unique_with_counts"]

_PAD_MODES = ("CONSTANT", "REFLECT", "SYMMETRIC")


def _pads(paddings, shape: tuple[int, ...]) -> list[tuple[int, int]]:
    pads = np.asarray(value_of(paddings))
    if pads.shape != (len(shape), 2) or pads.dtype.kind not in "iu":
        raise ValueError(f"pad: paddings must be integers of shape ({len(shape)}, 2), one "
                         f"(before, after) pair per axis of a rank-{len(shape)} tensor, got "
                         f"{pads.tolist()!r}")
    if np.any(pads < 0):
        raise ValueError(f"pad: paddings must be non-negative, got {pads.tolist()}")
    return [(int(b), int(a)) for b, a in pads]


def pad(tensor, paddings, mode: str = "CONSTANT", constant_values=0, name=None):
    """``tensor`` with ``paddings[d] = (before, after)`` cells added on each axis ``d``.

    ``mode``: ``"CONSTANT"`` (``constant_values``), ``"REFLECT"`` (mirror without the edge;
    each pad must be smaller than the axis) or ``"SYMMETRIC"`` (mirror with the edge; at most
    the axis), in any letter case, as in TensorFlow.
    """
    a = _convert(tensor)
    if not isinstance(mode, str) or mode.upper() not in _PAD_MODES:
        raise ValueError(f"pad: mode must be one of {_PAD_MODES}, got {mode!r}")
    mode = mode.upper()
    pads = _pads(paddings, a.shape)
    for axis, ((before, after), size) in enumerate(zip(pads, a.shape)):
        most = size - 1 if mode == "REFLECT" else size
        if mode != "CONSTANT" and max(before, after) > most:
            # InvalidArgumentError, as TensorFlow's kernel (a ValueError too, as before)
            raise InvalidArgumentError(f"pad: {mode} padding of axis {axis} (size {size}) must be at "
                             f"most {most} on each side, got {(before, after)}")
    if mode == "CONSTANT":
        out = np.pad(a, pads, mode="constant",
                     constant_values=np.asarray(value_of(constant_values)).astype(a.dtype))
        inner = tuple(slice(b, b + n) for (b, _), n in zip(pads, a.shape))
        # the differentiable VJP: the same slice of the gradient tensor, recorded
        return _op(out, [tensor], lambda g: [np.asarray(g)[inner]], lambda g, t: [g[inner]])
    out = np.pad(a, pads, mode="reflect" if mode == "REFLECT" else "symmetric")

    def vjp(g):
        # where each output cell comes from: pad an array of input cell numbers the same way
        source = np.pad(np.arange(a.size).reshape(a.shape), pads,
                        mode="reflect" if mode == "REFLECT" else "symmetric")
        grad = np.bincount(source.ravel(), weights=np.asarray(g, np.float64).ravel(),
                           minlength=a.size)
        return [grad.reshape(a.shape).astype(_grad_dtype(a))]

    return _op(out, [tensor], vjp)


def _direction(direction: str, who: str) -> bool:
    if direction not in ("ASCENDING", "DESCENDING"):
        raise ValueError(f"{who}: direction must be 'ASCENDING' or 'DESCENDING', got "
                         f"{direction!r}")
    return direction == "DESCENDING"


def _order(a: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Stable sorting indices along ``axis``; equal values keep their input order."""
    if not descending:
        return np.argsort(a, axis=axis, kind="stable")
    # sorting the reversed axis ascending, then reversing the result, gives a descending
    # order whose ties are in input order; indices are mapped back to the unreversed axis
    n = a.shape[axis]
    flipped = np.argsort(np.flip(a, axis=axis), axis=axis, kind="stable")
    return (n - 1) - np.flip(flipped, axis=axis)


def _axis(a: np.ndarray, axis, who: str) -> int:
    if a.ndim == 0:
        raise ValueError(f"{who}: the input must have at least one axis, got a scalar")
    axis = int(value_of(axis))
    if not -a.ndim <= axis < a.ndim:
        raise ValueError(f"{who}: axis {axis} is out of range for a rank-{a.ndim} input")
    return axis % a.ndim


def _scatter_back(a: np.ndarray, index: np.ndarray, axis: int):
    def vjp(g):
        grad = np.zeros(a.shape, dtype=_grad_dtype(a))
        np.put_along_axis(grad, index, np.asarray(g), axis=axis)
        return [grad]

    return vjp


def sort(values, axis=-1, direction: str = "ASCENDING", name=None):
    """``values`` sorted along ``axis`` (stable)."""
    a = _convert(values)
    descending = _direction(direction, "sort")
    axis = _axis(a, axis, "sort")
    index = _order(a, axis, descending)
    return _op(np.take_along_axis(a, index, axis=axis), [values],
               _scatter_back(a, index, axis))


def argsort(values, axis=-1, direction: str = "ASCENDING", stable: bool = False, name=None):
    """The int32 indices that sort ``values`` along ``axis`` (always stable: ``stable`` is
    accepted for TensorFlow's signature)."""
    a = _convert(values)
    descending = _direction(direction, "argsort")
    axis = _axis(a, axis, "argsort")
    return new_tensor(_order(a, axis, descending).astype(np.int32))


TopKV2 = namedtuple("TopKV2", ["values", "indices"])


def top_k(input, k=1, sorted: bool = True, index_type=np.int32, name=None):
    """The ``k`` largest entries of the last axis and their indices, largest first (the
    lowest index first among equal values). ``sorted`` is accepted; the result is always
    sorted, which is one of the orders TensorFlow allows."""
    a = _convert(input)
    # TF 2.21's refusals: a scalar or booleans (InvalidArgumentError), a k that is not an
    # integer (TypeError; int() would truncate 1.5)
    if a.ndim == 0:
        raise InvalidArgumentError("top_k: the input must have at least one axis, got a scalar")
    if a.dtype.kind not in "fiu":
        raise InvalidArgumentError(f"top_k expects numbers, got dtype {a.dtype}")
    k_value = np.asarray(value_of(k))
    if k_value.ndim or k_value.dtype.kind not in "iu":
        raise TypeError(f"top_k: k must be an integer, got {k!r}")
    axis = _axis(a, -1, "top_k")
    k = int(k_value)
    if not 0 <= k <= a.shape[axis]:
        raise InvalidArgumentError(f"top_k: k must be in [0, {a.shape[axis]}] (the last axis), "
                                   f"got {k}")
    index = _order(a, axis, descending=True)[..., :k]
    values = _op(np.take_along_axis(a, index, axis=axis), [input],
                 _scatter_back(a, index, axis))
    from convnp.tensor.eager import as_dtype

    return TopKV2(values, new_tensor(index.astype(as_dtype(index_type).dtype)))


Unique = namedtuple("Unique", ["y", "idx"])
UniqueWithCounts = namedtuple("UniqueWithCounts", ["y", "idx", "count"])


def _unique(x, out_idx, who: str):
    a = _convert(x)
    if a.ndim != 1:
        raise InvalidArgumentError(f"{who} expects a 1D vector, got shape {a.shape}")
    from convnp.tensor.eager import as_dtype

    index_type = as_dtype(out_idx).dtype
    if index_type not in (np.dtype(np.int32), np.dtype(np.int64)):
        raise TypeError(f"{who}: out_idx must be int32 or int64, got {index_type}")
    values, first, inverse, counts = np.unique(a, return_index=True, return_inverse=True,
                                               return_counts=True)
    order = np.argsort(first, kind="stable")  # by first appearance, as TensorFlow lists them
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return (new_tensor(values[order]), new_tensor(rank[inverse.ravel()].astype(index_type)),
            new_tensor(counts[order].astype(index_type)))


def unique(x, out_idx=np.int32, name=None) -> Unique:
    """The distinct values of the 1-D ``x`` in order of first appearance (``y``) and, for each
    entry of ``x``, the position of its value in ``y`` (``idx``, ``x == y[idx]``)."""
    y, idx, _ = _unique(x, out_idx, "unique")
    return Unique(y, idx)


def unique_with_counts(x, out_idx=np.int32, name=None) -> UniqueWithCounts:
    """`unique`, plus how many times each value of ``y`` occurs in ``x`` (``count``)."""
    return UniqueWithCounts(*_unique(x, out_idx, "unique_with_counts"))


# called on KerasTensors, these functions become layers of the model being built
_symbolic.accept_keras_tensors(globals())
