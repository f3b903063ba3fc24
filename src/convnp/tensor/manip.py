"""More of TensorFlow's tensor functions: broadcasting, slicing, reversing, scattering,
grids, the identity matrix and the norm clipping that training loops use.

Same rules as `convnp.tensor.ops`: inputs are tensors, Variables, arrays or Python values; the
result is an `EagerTensor`; a recording `GradientTape` gets each op's vector-Jacobian product.
Bad indices or shapes raise `InvalidArgumentError` (a `ValueError`), as TensorFlow's kernels do.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence

import numpy as np

from convnp.tensor import symbolic as _symbolic
from convnp.tensor.debugging import InvalidArgumentError
from convnp.tensor.eager import EagerTensor, TensorShape, _shape_text, as_dtype
from convnp.tensor.ops import (
    _convert,
    _grad_dtype,
    _lift,
    _op,
    _shape_arg,
    cast,
    maximum,
    minimum,
    reduce_sum,
    reshape,
    sqrt,
    where,
)
from convnp.tensor.tape import is_variable, new_tensor, unbroadcast, value_of

__all__ = ["batch_to_space", "broadcast_static_shape", "broadcast_to", "clip_by_global_norm",
           "clip_by_norm", "ensure_shape", "eye", "get_static_value", "global_norm",
           "histogram_fixed_width", "histogram_fixed_width_bins", "meshgrid", "repeat",
           "reverse", "reverse_sequence", "saturate_cast", "scatter_nd", "searchsorted",
           "sequence_mask", "shape_n", "slice", "space_to_batch", "space_to_batch_nd",
           "strided_slice", "tensor_scatter_nd_add", "tensor_scatter_nd_max",
           "tensor_scatter_nd_min", "tensor_scatter_nd_sub", "tensor_scatter_nd_update",
           "unravel_index"]


def _value(x) -> np.ndarray:
    return value_of(x) if isinstance(x, np.ndarray) or is_variable(x) else _convert(x)


def _ints(values, what: str) -> list[int]:
    arr = np.asarray(value_of(values) if isinstance(values, np.ndarray) else values)
    if arr.dtype.kind not in "iu" and arr.size:
        raise TypeError(f"{what} must be integers, got dtype {arr.dtype}")
    return [int(v) for v in arr.reshape(-1)]


def broadcast_to(input, shape, name=None) -> EagerTensor:
    """``input`` repeated along new or size-1 axes to ``shape`` (NumPy's broadcasting rule)."""
    a = _value(input)
    target = _shape_arg(shape)
    try:
        out = np.broadcast_to(a, target)
    except ValueError:
        raise InvalidArgumentError(f"broadcast_to: incompatible shapes: {list(a.shape)} vs. "
                                   f"{list(target)}") from None
    return _op(np.array(out), [input], lambda g: [unbroadcast(g, a.shape)])


def repeat(input, repeats, axis=None, name=None) -> EagerTensor:
    """Each entry of ``input`` written ``repeats`` times in a row along ``axis`` (``input``
    flattened first when ``axis`` is None). ``repeats`` is one count for every entry or one
    count per entry along that axis; the gradient of an entry is the sum over its copies."""
    a = _value(input)
    counts = np.asarray(_ints(repeats, "repeat: repeats"), dtype=np.int64)
    if np.ndim(value_of(repeats) if isinstance(repeats, np.ndarray) else repeats) > 1:
        raise InvalidArgumentError("repeat: repeats must be a scalar or a 1-D list of counts, "
                                   f"got shape {np.shape(repeats)}")
    if (counts < 0).any():
        raise InvalidArgumentError(f"repeat: counts must not be negative, got {counts.tolist()}")
    if axis is None:
        source_shape, a, axis = a.shape, a.reshape(-1), 0
    else:
        if not -a.ndim <= int(axis) < a.ndim:
            raise InvalidArgumentError(f"repeat: axis {axis} is out of range for a tensor of "
                                       f"rank {a.ndim}")
        source_shape, axis = a.shape, int(axis) % a.ndim
    size = a.shape[axis]
    if counts.size not in (1, size):
        raise InvalidArgumentError(f"repeat: repeats must have 1 or {size} entries (the size of "
                                   f"axis {axis}), got {counts.size}")
    index = np.repeat(np.arange(size), np.broadcast_to(counts, (size,)))

    def vjp(g):
        grad = np.zeros(a.shape, dtype=_grad_dtype(a))
        np.add.at(np.moveaxis(grad, axis, 0), index, np.moveaxis(np.asarray(g), axis, 0))
        return [grad.reshape(source_shape)]

    return _op(np.take(a, index, axis=axis), [input], vjp)


def reverse(tensor, axis, name=None) -> EagerTensor:
    """``tensor`` with the order of its entries reversed along each axis in ``axis``."""
    a = _value(tensor)
    axes = _ints(axis, "reverse: axis")
    for ax in axes:
        if not -a.ndim <= ax < a.ndim:
            raise InvalidArgumentError(f"reverse: axis {ax} is out of range for a tensor of "
                                       f"rank {a.ndim}")
    axes = tuple(ax % a.ndim for ax in axes)
    if len(set(axes)) != len(axes):
        raise InvalidArgumentError(f"reverse: axis {axes} names an axis twice")
    return _op(np.flip(a, axes).copy(), [tensor], lambda g: [np.flip(g, axes)],
               lambda g, t: [reverse(g, list(axes))])


def slice(input_, begin, size, name=None) -> EagerTensor:
    """The block of ``input_`` that starts at ``begin`` and spans ``size`` entries per axis
    (``-1``: to the end of that axis)."""
    a = _value(input_)
    start, span = _ints(begin, "slice: begin"), _ints(size, "slice: size")
    if len(start) != a.ndim or len(span) != a.ndim:
        raise InvalidArgumentError(f"slice: begin and size must each have {a.ndim} entries "
                                   f"(the rank of input_), got {start} and {span}")
    index = []
    for axis, (b, s, n) in enumerate(zip(start, span, a.shape)):
        if not 0 <= b <= n:
            raise InvalidArgumentError(f"slice: expected begin[{axis}] in [0, {n}], got {b}")
        if s == -1:
            s = n - b
        if not 0 <= s <= n - b:
            raise InvalidArgumentError(f"slice: expected size[{axis}] in [0, {n - b}], "
                                       f"got {s}")
        index.append(builtins.slice(b, b + s))
    index = tuple(index)

    def vjp(g):
        full = np.zeros(a.shape, dtype=_grad_dtype(a))
        full[index] = g
        return [full]

    return _op(a[index].copy(), [input_], vjp)


def eye(num_rows, num_columns=None, batch_shape=None, dtype=np.float32,
        name=None) -> EagerTensor:
    """Ones on the main diagonal of a ``(num_rows, num_columns)`` matrix, repeated over
    ``batch_shape``."""
    rows = int(value_of(num_rows)) if isinstance(num_rows, np.ndarray) else int(num_rows)
    cols = rows if num_columns is None else int(value_of(num_columns)) if isinstance(
        num_columns, np.ndarray) else int(num_columns)
    if rows < 0 or cols < 0:
        raise InvalidArgumentError(f"eye: the matrix size must be >= 0, got ({rows}, {cols})")
    batch = () if batch_shape is None else tuple(_ints(batch_shape, "eye: batch_shape"))
    out = np.broadcast_to(np.eye(rows, cols, dtype=as_dtype(dtype).dtype),
                          batch + (rows, cols))
    return new_tensor(np.array(out))


def _nd_indices(indices, shape: tuple, who: str) -> tuple[np.ndarray, tuple]:
    """``indices`` ``(..., k)`` checked against ``shape``; returns them and the NumPy key that
    addresses the ``k`` leading axes."""
    idx = np.asarray(value_of(indices) if isinstance(indices, np.ndarray) else indices)
    if idx.dtype.kind not in "iu":
        raise InvalidArgumentError(f"{who}: indices must be int32 or int64, got {idx.dtype}")
    if idx.ndim < 1 or idx.shape[-1] > len(shape):
        raise InvalidArgumentError(f"{who}: the last axis of indices (shape {idx.shape}) must "
                                   f"be at most the rank {len(shape)} of the target")
    k = idx.shape[-1]
    flat = idx.reshape(-1, k)
    bad = np.any((flat < 0) | (flat >= np.asarray(shape[:k])), axis=1)
    if np.any(bad):
        first = int(np.argmax(bad))
        raise InvalidArgumentError(f"{who}: indices[{first}] = {flat[first].tolist()} does "
                                   f"not index into shape {list(shape)}")
    return idx, tuple(np.moveaxis(idx.astype(np.int64), -1, 0))


def _check_updates(idx: np.ndarray, updates: np.ndarray, shape: tuple, who: str) -> None:
    expected = idx.shape[:-1] + tuple(shape[idx.shape[-1]:])
    if updates.shape != expected:
        raise InvalidArgumentError(f"{who}: updates must have shape {list(expected)} "
                                   f"(indices.shape[:-1] + shape[indices.shape[-1]:]), got "
                                   f"{list(updates.shape)}")


def scatter_nd(indices, updates, shape, name=None) -> EagerTensor:
    """A zero tensor of ``shape`` with ``updates`` added at ``indices`` (repeated indices
    add up)."""
    u = _value(updates)
    target = _shape_arg(shape)
    idx, key = _nd_indices(indices, target, "scatter_nd")
    _check_updates(idx, u, target, "scatter_nd")
    out = np.zeros(target, dtype=u.dtype)
    np.add.at(out, key, u)
    return _op(out, [updates], lambda g: [np.asarray(g)[key]])


def _ignored_rows(indices, updates: np.ndarray, shape: tuple, policy, who: str):
    """``(indices, updates, kept)``: with ``bad_indices_policy="IGNORE"`` the index rows
    outside ``shape`` and their updates dropped (``kept`` marks the rows left); with ""
    (TensorFlow's default), "DEFAULT" or "ERROR" everything as given (bad rows are then an
    error)."""
    if policy in ("", None, "DEFAULT", "ERROR"):
        return indices, updates, None
    if policy != "IGNORE":
        raise InvalidArgumentError(f"{who}: bad_indices_policy must be '', 'DEFAULT', 'ERROR' "
                                   f"or 'IGNORE', got {policy!r}")
    idx = np.asarray(value_of(indices) if isinstance(indices, np.ndarray) else indices)
    if idx.dtype.kind not in "iu" or idx.ndim < 1 or idx.shape[-1] > len(shape):
        return indices, updates, None  # malformed: _nd_indices reports it
    k = idx.shape[-1]
    kept = np.all((idx >= 0) & (idx < np.asarray(shape[:k])), axis=-1)
    return idx[kept], updates[kept], kept


def _scatter_into(tensor, indices, updates, who: str, add: bool, combine=None,
                  policy="") -> EagerTensor:
    """``tensor`` with ``updates`` written at ``indices``: replacing (``add`` False), adding
    (``add`` True) or, with ``combine`` (``np.subtract``, ``np.maximum``, ``np.minimum``),
    combined into the entries one update at a time."""
    a = _value(tensor)
    u_all = _value(updates)
    if u_all.dtype != a.dtype:
        raise InvalidArgumentError(f"{who}: updates must have the dtype of tensor "
                                   f"({a.dtype}), got {u_all.dtype}")
    indices, u, kept_rows = _ignored_rows(indices, u_all, a.shape, policy, who)
    idx, key = _nd_indices(indices, a.shape, who)
    _check_updates(idx, u, a.shape, who)
    out = a.copy()
    if combine is not None:
        combine.at(out, key, u)
    elif add:
        np.add.at(out, key, u)
    else:
        out[key] = u

    def to_updates(grad_rows):
        """The gradient of the kept update rows, zeros for the ignored ones."""
        if kept_rows is None:
            return grad_rows
        full = np.zeros(u_all.shape, dtype=np.asarray(grad_rows).dtype)
        full[kept_rows] = grad_rows
        return full

    def vjp(g):
        g = np.asarray(g)
        if combine is np.subtract:
            return [g, to_updates(-g[key])]
        if combine is not None:
            # max/min: the gradient goes to whichever values the output kept (ties: both)
            return [np.where(out == a, g, 0), to_updates(np.where(out[key] == u, g[key], 0))]
        if add:
            return [g, to_updates(g[key])]
        kept = g.copy()
        kept[key] = 0  # overwritten entries do not reach the output
        return [kept, to_updates(g[key])]

    return _op(out, [tensor, updates], vjp)


def tensor_scatter_nd_update(tensor, indices, updates, name=None) -> EagerTensor:
    """A copy of ``tensor`` with the entries at ``indices`` replaced by ``updates``."""
    return _scatter_into(tensor, indices, updates, "tensor_scatter_nd_update", add=False)


def tensor_scatter_nd_add(tensor, indices, updates, bad_indices_policy="",
                          name=None) -> EagerTensor:
    """A copy of ``tensor`` with ``updates`` added at ``indices`` (repeated indices add up);
    ``bad_indices_policy="IGNORE"`` drops the indices outside ``tensor``."""
    return _scatter_into(tensor, indices, updates, "tensor_scatter_nd_add", add=True,
                         policy=bad_indices_policy)


def tensor_scatter_nd_sub(tensor, indices, updates, bad_indices_policy="",
                          name=None) -> EagerTensor:
    """A copy of ``tensor`` with ``updates`` subtracted at ``indices``."""
    return _scatter_into(tensor, indices, updates, "tensor_scatter_nd_sub", False, np.subtract,
                         bad_indices_policy)


def tensor_scatter_nd_max(tensor, indices, updates, bad_indices_policy="",
                          name=None) -> EagerTensor:
    """A copy of ``tensor`` where each entry at ``indices`` keeps the largest of itself and
    its updates."""
    return _scatter_into(tensor, indices, updates, "tensor_scatter_nd_max", False, np.maximum,
                         bad_indices_policy)


def tensor_scatter_nd_min(tensor, indices, updates, bad_indices_policy="",
                          name=None) -> EagerTensor:
    """A copy of ``tensor`` where each entry at ``indices`` keeps the smallest of itself and
    its updates."""
    return _scatter_into(tensor, indices, updates, "tensor_scatter_nd_min", False, np.minimum,
                         bad_indices_policy)


def meshgrid(*args, **kwargs) -> list:
    """Coordinate grids of 1-D ``args``: with ``indexing="xy"`` (default) the first two axes
    are swapped (rows follow the second argument), with ``"ij"`` they are not."""
    indexing = kwargs.pop("indexing", "xy")
    kwargs.pop("name", None)
    if kwargs:
        raise TypeError(f"meshgrid: unexpected keyword argument(s) {sorted(kwargs)}")
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    vectors = [reshape(_lift(a), [-1]) for a in args]
    sizes = [int(np.size(value_of(v))) for v in vectors]
    n = len(vectors)
    if indexing == "xy" and n >= 2:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    grids = []
    for i, v in enumerate(vectors):
        axis = i
        if indexing == "xy" and n >= 2 and i < 2:
            axis = 1 - i
        shape = [1] * n
        shape[axis] = -1
        grids.append(broadcast_to(reshape(v, shape), sizes))
    return grids


def _sum_of_squares(t):
    return reduce_sum(_lift(t) * _lift(t))


def clip_by_norm(t, clip_norm, axes=None, name=None) -> EagerTensor:
    """``t * clip_norm / max(l2norm(t), clip_norm)``: ``t`` rescaled so that its L2 norm
    (over ``axes``, all by default) is at most ``clip_norm``; a zero ``t`` stays zero."""
    x = _lift(t)
    a = value_of(x)
    if a.dtype.kind != "f":
        raise InvalidArgumentError(f"clip_by_norm: t must be a floating tensor, got "
                                   f"{a.dtype}")
    clip = cast(clip_norm, a.dtype)
    sq = reduce_sum(x * x, axes, keepdims=True)
    positive = value_of(sq) > 0
    # the square root only where it has a derivative; a zero norm passes through as zero
    norm = where(positive, sqrt(where(positive, sq, np.ones_like(value_of(sq)))), sq)
    return x * clip / maximum(norm, clip)


def global_norm(t_list, name=None) -> EagerTensor:
    """sqrt of the sum of the squared entries of every tensor in ``t_list`` (None skipped)."""
    if not isinstance(t_list, Sequence) or isinstance(t_list, (str, np.ndarray)):
        raise TypeError(f"`t_list` should be a sequence of tensors. Received "
                        f"{type(t_list)}.")
    present = [t for t in t_list if t is not None]
    if not present:
        return new_tensor(np.array(0.0, dtype=np.float32))
    dtype = _value(present[0]).dtype
    for t in present[1:]:
        if _value(t).dtype != dtype:
            raise InvalidArgumentError(f"global_norm: all tensors must have one dtype, got "
                                       f"{dtype} and {_value(t).dtype}")
    total = reduce_sum(cast(_sum_of_squares(present[0]), dtype))
    for t in present[1:]:
        total = total + cast(_sum_of_squares(t), dtype)
    return sqrt(total)


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    """``(clipped, global_norm)``: every tensor of ``t_list`` times ``clip_norm /
    max(global_norm, clip_norm)``; ``None`` entries stay ``None``. A non-finite global norm
    makes every entry NaN, as in TensorFlow."""
    if not isinstance(t_list, Sequence) or isinstance(t_list, (str, np.ndarray)):
        raise TypeError(f"`t_list` should be a sequence of tensors. Received "
                        f"{type(t_list)}.")
    norm = global_norm(t_list) if use_norm is None else _lift(use_norm)
    dtype = value_of(norm).dtype
    clip = cast(clip_norm, dtype)
    with np.errstate(divide="ignore"):
        scale = clip * minimum(1.0 / norm, 1.0 / clip)
    if not np.isfinite(value_of(norm)):
        with np.errstate(invalid="ignore"):
            scale = scale + (norm - norm)  # NaN, recorded like the rest
    clipped = []
    for t in t_list:
        if t is None:
            clipped.append(None)
            continue
        x = _lift(t)
        clipped.append(x * cast(scale, value_of(x).dtype))
    return clipped, norm


def sequence_mask(lengths, maxlen=None, dtype=bool, name=None) -> EagerTensor:
    """``mask[..., j] = j < lengths[...]``: one row of ``maxlen`` entries (the longest
    length by default) per length."""
    lens = np.asarray(_value(lengths))
    if lens.dtype.kind not in "iu":
        raise TypeError(f"sequence_mask: lengths must be integers, got dtype {lens.dtype}")
    if maxlen is None:
        width = int(lens.max()) if lens.size else 0
    else:
        width = int(np.asarray(_value(maxlen)))
        if width < 0:
            raise InvalidArgumentError(f"sequence_mask: maxlen must be non-negative, got "
                                       f"{width}")
    mask = np.arange(width) < lens[..., None]
    return new_tensor(mask.astype(as_dtype(dtype).dtype))


def ensure_shape(x, shape, name=None) -> EagerTensor:
    """``x`` unchanged (gradient included) if its shape fits ``shape`` (``None`` for any
    size); `InvalidArgumentError` otherwise, as TensorFlow's."""
    actual = TensorShape(np.shape(_value(x)))
    wanted = None if shape is None else TensorShape(shape)
    if not actual.is_compatible_with(wanted):
        raise InvalidArgumentError(f"Shape of tensor {_shape_text(actual)} is not compatible "
                                   f"with expected shape {_shape_text(wanted)}.")
    return _op(_value(x), [x], lambda g: [g])


def searchsorted(sorted_sequence, values, side="left", out_type=np.int32,
                 name=None) -> EagerTensor:
    """Where each of ``values`` would go in the rows of ``sorted_sequence`` (the last axis;
    leading axes pair a row with a row of ``values``)."""
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    seq, vals = np.asarray(_value(sorted_sequence)), np.asarray(_value(values))
    if seq.ndim < 1 or seq.shape[:-1] != vals.shape[:-1]:
        raise InvalidArgumentError(f"searchsorted: sorted_sequence {list(seq.shape)} and "
                                   f"values {list(vals.shape)} must share all but the last "
                                   f"axis")
    rows_s = seq.reshape(-1, seq.shape[-1])
    rows_v = vals.reshape(-1, vals.shape[-1] if vals.ndim else 1)
    out = np.stack([np.searchsorted(r, v, side=side) for r, v in zip(rows_s, rows_v)])
    return new_tensor(out.reshape(vals.shape).astype(as_dtype(out_type).dtype))


def broadcast_static_shape(shape_x, shape_y) -> TensorShape:
    """The shape two shapes broadcast to (ValueError if they do not)."""
    try:
        return TensorShape(np.broadcast_shapes(tuple(shape_x), tuple(shape_y)))
    except ValueError:
        raise ValueError(f"Incompatible shapes for broadcasting: {_shape_text(shape_x)} and "
                         f"{_shape_text(shape_y)}") from None


def shape_n(input, out_type=np.int32, name=None) -> list:
    """The shape of each tensor of ``input``, as a list of int32 (or ``out_type``)
    tensors."""
    dtype = as_dtype(out_type).dtype
    return [new_tensor(np.array(np.shape(_value(t)), dtype=dtype)) for t in input]


def get_static_value(tensor, partial=False):
    """The value known without running anything: a tensor's as a NumPy array, a Python or
    NumPy value as it is; None for a Variable (its value may change) and for None, as
    TensorFlow."""
    if tensor is None or is_variable(tensor):
        return None
    if isinstance(tensor, EagerTensor):
        return np.array(tensor)
    return tensor


def _saturation_bounds(source: np.dtype, target: np.dtype):
    """The smallest and largest ``source`` values that fit in ``target`` (float bounds are
    moved inward until they are representable: int32's 2**31 - 1 as float32 would round up
    to 2**31, out of range)."""
    info = np.iinfo(target) if target.kind in "iub" and target != bool else np.finfo(target)
    bounds = []
    for limit in (info.min, info.max):
        if source.kind == "f":
            value = np.array(limit).astype(source)
            while abs(float(value)) > abs(float(limit)):
                value = np.nextafter(value, source.type(0))
        else:
            own = np.iinfo(source)
            value = np.array(builtins.min(builtins.max(int(limit), int(own.min)),
                                          int(own.max))).astype(source)
        bounds.append(value)
    return bounds


def saturate_cast(value, dtype, name=None) -> EagerTensor:
    """``value`` clipped to the range of ``dtype`` and cast (``tf.cast`` wraps integers
    around instead): ``saturate_cast([-300., 3.7, 300.], tf.uint8)`` is ``[0, 3, 255]``.
    Between float dtypes the gradient passes where the value was not clipped."""
    from convnp.tensor.ops import cast, clip_by_value

    a = _value(value)
    target = as_dtype(dtype).dtype
    if a.dtype.kind not in "iuf" or target.kind not in "iuf":
        raise TypeError(f"saturate_cast: expects integer or float dtypes, got {a.dtype} to "
                        f"{target}")
    needs_clip = (np.iinfo(target) if target.kind in "iu" else np.finfo(target)).max < (
        np.iinfo(a.dtype) if a.dtype.kind in "iu" else np.finfo(a.dtype)).max or (
        target.kind == "u" and a.dtype.kind != "u") or (
        target.kind in "iu" and a.dtype.kind == "f")
    if not needs_clip:
        return cast(value, target)
    lo, hi = _saturation_bounds(a.dtype, target)
    if a.dtype.kind == "f" and target.kind in "iu":
        # NaN has no integer value: TensorFlow's CPU kernel gives the smallest one
        with np.errstate(invalid="ignore"):
            clipped = np.where(np.isnan(a), lo, np.clip(a, lo, hi))
        return new_tensor(clipped.astype(target))
    return cast(clip_by_value(value, lo, hi), target)


def unravel_index(indices, dims, name=None) -> EagerTensor:
    """The coordinates in an array of shape ``dims`` of each flat index: shape
    ``(len(dims),) + indices.shape``, in the indices' dtype."""
    idx = _value(indices)
    shape = _value(dims)
    if idx.dtype.kind not in "iu" or shape.dtype.kind not in "iu":
        raise TypeError(f"unravel_index: indices and dims must be int32 or int64, got "
                        f"{idx.dtype} and {shape.dtype}")
    if shape.ndim != 1:
        raise InvalidArgumentError(f"unravel_index: dims must be a vector, got shape "
                                   f"{list(shape.shape)}")
    total = int(np.prod(shape))
    if np.any((idx < 0) | (idx >= total)):
        raise InvalidArgumentError(f"unravel_index: indices must lie in [0, {total}) for "
                                   f"dims {shape.tolist()}")
    coords = np.unravel_index(idx, tuple(int(d) for d in shape))
    return new_tensor(np.stack(coords).astype(idx.dtype).reshape((len(shape),) + idx.shape))


def reverse_sequence(input, seq_lengths, seq_axis=None, batch_axis=None,
                     name=None) -> EagerTensor:
    """For each example ``b`` along ``batch_axis`` (default 0), its first
    ``seq_lengths[b]`` entries along ``seq_axis`` reversed, the rest kept (padded sequences
    read backwards, as bidirectional RNN code does)."""
    a = _value(input)
    lengths = _value(seq_lengths)
    if seq_axis is None:
        raise ValueError("reverse_sequence: seq_axis is required")
    seq_axis, batch_axis = int(seq_axis), 0 if batch_axis is None else int(batch_axis)
    seq_axis, batch_axis = seq_axis % a.ndim, batch_axis % a.ndim
    if seq_axis == batch_axis:
        raise InvalidArgumentError("reverse_sequence: seq_axis and batch_axis must differ")
    if lengths.ndim != 1 or lengths.shape[0] != a.shape[batch_axis] or \
            lengths.dtype.kind not in "iu":
        raise InvalidArgumentError(f"reverse_sequence: seq_lengths must be an integer vector "
                                   f"of {a.shape[batch_axis]} lengths, got {lengths!r:.60}")
    if np.any((lengths < 0) | (lengths > a.shape[seq_axis])):
        raise InvalidArgumentError(f"reverse_sequence: seq_lengths must lie in [0, "
                                   f"{a.shape[seq_axis]}], got {lengths.tolist()}")
    # the source position along seq_axis of every output entry, per example
    steps = np.arange(a.shape[seq_axis])
    source = np.where(steps[None, :] < lengths[:, None], lengths[:, None] - 1 - steps[None, :],
                      steps[None, :])
    shape = [1] * a.ndim
    shape[batch_axis], shape[seq_axis] = source.shape
    order = source if batch_axis < seq_axis else source.T
    key = np.broadcast_to(order.reshape(shape), a.shape)
    out = np.take_along_axis(a, key, axis=seq_axis)

    def vjp(g):
        grad = np.zeros(a.shape, dtype=_grad_dtype(a))
        np.put_along_axis(grad, key, np.asarray(g), axis=seq_axis)  # a permutation
        return [grad, None]

    return _op(out, [input, seq_lengths], vjp)


def _block_arg(values, who: str, name: str) -> list[int]:
    v = np.asarray(value_of(values) if isinstance(values, np.ndarray) else values)
    if v.dtype.kind not in "iu":
        raise TypeError(f"{who}: {name} must be integers, got dtype {v.dtype}")
    return [int(b) for b in v.reshape(-1)]


def _pairs_arg(values, n: int, who: str, name: str) -> list[tuple[int, int]]:
    v = np.asarray(value_of(values) if isinstance(values, np.ndarray) else values)
    if v.dtype.kind not in "iu" or v.shape != (n, 2):
        raise InvalidArgumentError(f"{who}: {name} must be {n} integer [before, after] pairs, "
                                   f"got {v.tolist()}")
    if np.any(v < 0):
        raise InvalidArgumentError(f"{who}: {name} must not be negative, got {v.tolist()}")
    return [(int(p), int(q)) for p, q in v]


def _space_to_batch_array(a: np.ndarray, block: list[int], pads) -> np.ndarray:
    n = len(block)
    a = np.pad(a, [(0, 0), *pads] + [(0, 0)] * (a.ndim - 1 - n))
    b, spatial, rest = a.shape[0], a.shape[1:1 + n], a.shape[1 + n:]
    split = [b]
    for size, k in zip(spatial, block):
        split += [size // k, k]
    a = a.reshape(split + list(rest))
    # (b, s1, k1, s2, k2, ..., rest) -> (k1, k2, ..., b, s1, s2, ..., rest)
    order = [2 + 2 * i for i in builtins.range(n)] + [0] + [1 + 2 * i for i in builtins.range(n)]
    order += list(builtins.range(1 + 2 * n, a.ndim))
    a = a.transpose(order)
    return a.reshape([b * int(np.prod(block))] + [s // k for s, k in zip(spatial, block)]
                     + list(rest))


def _batch_to_space_array(a: np.ndarray, block: list[int], crops) -> np.ndarray:
    n = len(block)
    count = int(np.prod(block))
    b, spatial, rest = a.shape[0] // count, a.shape[1:1 + n], a.shape[1 + n:]
    a = a.reshape(list(block) + [b] + list(spatial) + list(rest))
    # (k1, ..., kn, b, s1, ..., sn, rest) -> (b, s1, k1, s2, k2, ..., rest)
    order = [n]
    for i in builtins.range(n):
        order += [n + 1 + i, i]
    order += list(builtins.range(2 * n + 1, a.ndim))
    a = a.transpose(order).reshape([b] + [s * k for s, k in zip(spatial, block)] + list(rest))
    key = (builtins.slice(None),) + builtins.tuple(
        builtins.slice(lo, a.shape[1 + i] - hi) for i, (lo, hi) in enumerate(crops))
    return np.ascontiguousarray(a[key])


def _checked_blocks(block_shape, a: np.ndarray, who: str) -> list:
    """``block_shape`` as a list of ints: 1 to ``a.ndim - 1`` positive sizes (the spatial
    axes after the batch), else TensorFlow's InvalidArgumentError."""
    block = _block_arg(block_shape, who, "block_shape")
    if not block or a.ndim < 1 + len(block) or min(block) < 1:
        raise InvalidArgumentError(f"{who}: block_shape {block} must hold 1 to "
                                   f"{a.ndim - 1} positive sizes for input of shape "
                                   f"{list(a.shape)}")
    return block


def space_to_batch_nd(input, block_shape, paddings, name=None) -> EagerTensor:
    """The spatial axes (the ``len(block_shape)`` after the batch) zero-padded by
    ``paddings``, then cut into ``block_shape`` blocks whose offsets go to the batch: output
    example ``(i1, ..., in) * batch + b`` holds example ``b``'s pixels at those offsets.
    Dilated convolutions are computed this way (`with_space_to_batch`)."""
    who = "space_to_batch_nd"
    a = _value(input)
    block = _checked_blocks(block_shape, a, who)
    pads = _pairs_arg(paddings, len(block), who, "paddings")
    for i, (k, (lo, hi)) in enumerate(zip(block, pads)):
        if (a.shape[1 + i] + lo + hi) % k:
            raise InvalidArgumentError(f"{who}: padded size {a.shape[1 + i] + lo + hi} of "
                                       f"axis {1 + i} is not divisible by block size {k}")
    return _op(_space_to_batch_array(a, block, pads), [input],
               lambda g: [_batch_to_space_array(np.asarray(g), block, pads)])


def batch_to_space(input, block_shape, crops, name=None) -> EagerTensor:
    """The inverse of `space_to_batch_nd`: the batch's block offsets put back into the
    spatial axes, then ``crops`` cut off."""
    who = "batch_to_space"
    a = _value(input)
    block = _checked_blocks(block_shape, a, who)
    crops = _pairs_arg(crops, len(block), who, "crops")
    if a.shape[0] % int(np.prod(block)):
        raise InvalidArgumentError(f"{who}: the batch size {a.shape[0]} is not divisible by "
                                   f"the product of block_shape {block}")
    for i, (k, (lo, hi)) in enumerate(zip(block, crops)):
        if lo + hi > a.shape[1 + i] * k:
            raise InvalidArgumentError(f"{who}: crops {crops[i]} exceed axis {1 + i}'s size "
                                       f"{a.shape[1 + i] * k}")
    return _op(_batch_to_space_array(a, block, crops), [input],
               lambda g: [_space_to_batch_array(np.asarray(g), block, crops)])


def space_to_batch(input, block_shape, paddings, name=None) -> EagerTensor:
    """`space_to_batch_nd` (TensorFlow 2's spelling)."""
    return space_to_batch_nd(input, block_shape, paddings)


def _mask_bits(mask, who: str, name: str) -> int:
    if isinstance(mask, bool) or not isinstance(mask, (int, np.integer)):
        raise TypeError(f"{who}: {name} must be an int (a bit mask), got {mask!r}")
    return int(mask)


def strided_slice(input_, begin, end, strides=None, begin_mask=0, end_mask=0,
                  ellipsis_mask=0, new_axis_mask=0, shrink_axis_mask=0, var=None,
                  name=None) -> EagerTensor:
    """``input_[begin:end:strides]`` spelled as TensorFlow's op (what ``t[...]`` compiles
    to): entry ``i`` of the specs slices one axis, unless bit ``i`` of a mask says
    otherwise: ``begin_mask``/``end_mask`` leave that bound open, ``ellipsis_mask`` makes it
    ``...``, ``new_axis_mask`` a new axis of size 1, ``shrink_axis_mask`` an integer index
    (the axis goes away). Negative bounds count from the end and are clamped, as Python's."""
    a = _value(input_)
    who = "strided_slice"
    b, e = _ints(begin, f"{who}: begin"), _ints(end, f"{who}: end")
    st = [1] * len(b) if strides is None else _ints(strides, f"{who}: strides")
    if not len(b) == len(e) == len(st):
        raise InvalidArgumentError(f"{who}: begin, end and strides must have one length, got "
                                   f"{len(b)}, {len(e)} and {len(st)}")
    if 0 in st:
        raise InvalidArgumentError(f"{who}: strides must be non-zero, got {st}")
    masks = {n: _mask_bits(m, who, n) for n, m in [
        ("begin_mask", begin_mask), ("end_mask", end_mask), ("ellipsis_mask", ellipsis_mask),
        ("new_axis_mask", new_axis_mask), ("shrink_axis_mask", shrink_axis_mask)]}

    def bit(n: str, i: int) -> bool:
        return bool(masks[n] >> i & 1)

    key: list = []
    axis = 0  # the input axis the next spec entry addresses
    seen_ellipsis = False
    for i in builtins.range(len(b)):
        if bit("ellipsis_mask", i) and not seen_ellipsis:
            seen_ellipsis = True
            later = [j for j in builtins.range(i + 1, len(b)) if not bit("new_axis_mask", j)]
            covered = a.ndim - axis - len(later)
            key.append(Ellipsis)
            axis += builtins.max(covered, 0)
        elif bit("new_axis_mask", i):
            key.append(None)
        elif bit("shrink_axis_mask", i):
            if axis >= a.ndim or not -a.shape[axis] <= b[i] < a.shape[axis]:
                raise InvalidArgumentError(f"{who}: index {b[i]} is out of bounds for axis "
                                           f"{axis} of shape {list(a.shape)}")
            key.append(b[i])
            axis += 1
        else:
            if axis >= a.ndim:
                raise InvalidArgumentError(f"{who}: more slices than the rank {a.ndim} of the "
                                           f"input")
            key.append(builtins.slice(None if bit("begin_mask", i) else b[i],
                                      None if bit("end_mask", i) else e[i], st[i]))
            axis += 1
    key = builtins.tuple(key)
    out = np.array(a[key])

    def vjp(g):
        grad = np.zeros(a.shape, dtype=_grad_dtype(a))
        grad[key] = np.asarray(g)  # a basic index: no entry is read twice
        return [grad]

    return _op(out, [input_], vjp)


def _histogram_bins(values, value_range, nbins, who: str):
    v = _value(values)
    bounds = _value(value_range)
    n = int(_value(nbins))
    if bounds.shape != (2,):
        raise InvalidArgumentError(f"{who}: value_range must be [min, max], got shape "
                                   f"{list(bounds.shape)}")
    lo, hi = float(bounds[0]), float(bounds[1])
    if not lo < hi:
        raise InvalidArgumentError(f"{who}: value_range must have min < max, got {[lo, hi]}")
    if n <= 0:
        raise InvalidArgumentError(f"{who}: nbins must be positive, got {n}")
    # values below the range fall in the first bin, at or above it in the last
    scaled = (v.astype(np.float64) - lo) / (hi - lo) * n
    return np.clip(np.floor(scaled), 0, n - 1).astype(np.int64), n


def histogram_fixed_width(values, value_range, nbins=100, dtype=np.int32,
                          name=None) -> EagerTensor:
    """How many ``values`` fall in each of ``nbins`` equal bins spanning ``value_range``
    (the ends take the values beyond them)."""
    bins, n = _histogram_bins(values, value_range, nbins, "histogram_fixed_width")
    counts = np.bincount(bins.reshape(-1), minlength=n)
    return new_tensor(counts.astype(as_dtype(dtype).dtype))


def histogram_fixed_width_bins(values, value_range, nbins=100, dtype=np.int32,
                               name=None) -> EagerTensor:
    """The bin index of every value (the shape of ``values``), as `histogram_fixed_width`
    counts them."""
    bins, _ = _histogram_bins(values, value_range, nbins, "histogram_fixed_width_bins")
    return new_tensor(bins.astype(as_dtype(dtype).dtype))


# called on KerasTensors, these functions become layers of the model being built
_symbolic.accept_keras_tensors(globals())
