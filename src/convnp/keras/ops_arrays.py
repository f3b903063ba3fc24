"""Keras 3.15's array, reduction and control functions of ``keras.ops`` that the everyday
set lacks: creation (``array``, ``tri``, ``geomspace``, ...), splitting and stacking,
``diagonal``/``diff``/``cumprod``/``kron``/``cross``/..., the ``nan*`` reductions,
``unique``/``histogram``/``digitize``/``isin``, ``select``/``switch``/``vectorize``/
``associative_scan``, ``rearrange`` (Keras' einops subset) and ``cdist``.

Most are written with recorded tensor ops, so the tape differentiates them as TensorFlow does
(checked against Keras 3.15.1 on TensorFlow in ``tests/fixtures/keras_ops_parity_arrays.npz``);
the counting and index functions give values only. Re-exported by `convnp.keras.ops`.
"""

from __future__ import annotations

import builtins
import itertools
import re

import numpy as np

from convnp.keras.ops_math import _result_dtype
from convnp.tensor import linalg as _linalg
from convnp.tensor import manip as _manip
from convnp.tensor import ops as _ops
from convnp.tensor import sorting as _sorting
from convnp.tensor import symbolic as _symbolic
from convnp.tensor.debugging import InvalidArgumentError
from convnp.tensor.eager import as_dtype


def _arr(x) -> np.ndarray:
    return _ops._convert(x)


def _float(x):
    """``x`` as a float tensor (integers and booleans as float32), recorded."""
    return x if _arr(x).dtype.kind == "f" else _ops.cast(x, "float32")


def _dtype_or(dtype, default) -> np.dtype:
    return np.dtype(default) if dtype is None else as_dtype(dtype).dtype


def _axis(axis, ndim: int, who: str) -> int:
    if not isinstance(axis, (int, np.integer)) or not -ndim <= int(axis) < builtins.max(ndim, 1):
        raise ValueError(f"keras.ops.{who}: axis {axis!r} is out of range for rank {ndim}")
    return int(axis) % builtins.max(ndim, 1)


def _moved_last(x, axis: int):
    """``x`` with ``axis`` moved last, and the permutation that undoes it."""
    rank = _arr(x).ndim
    order = [a for a in range(rank) if a != axis] + [axis]
    back = list(np.argsort(order))
    return _ops.transpose(x, order), back


# -- creation --------------------------------------------------------------------------------


def array(x, dtype=None):
    """A tensor of ``x`` (Python floats float32, ints int32, as Keras), cast to ``dtype``."""
    out = _ops.convert_to_tensor(x)
    return out if dtype is None else _ops.cast(out, dtype)


def copy(x):
    return _ops.identity(x)


def empty(shape, dtype=None):
    """A tensor of ``shape`` (zeros, as Keras on TensorFlow gives)."""
    return _ops.zeros(shape, dtype=_dtype_or(dtype, np.float32))


def empty_like(x, dtype=None):
    return _ops.zeros_like(x, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):
    """Ones at and below the ``k``-th diagonal of an ``N x M`` matrix (float32 by default)."""
    return _ops.constant(np.tri(int(N), None if M is None else int(M), int(k),
                                dtype=_dtype_or(dtype, np.float32)))


def _spaced(values: np.ndarray, dtype, axis: int):
    out = values.astype(_dtype_or(dtype, np.float32))
    return _ops.constant(np.moveaxis(out, 0, axis) if out.ndim > 1 else out)


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``num`` numbers spaced evenly on a log scale from ``start`` to ``stop``."""
    return _spaced(np.geomspace(_arr(start), _arr(stop), int(num), endpoint=bool(endpoint)),
                   dtype, axis)


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    """``base ** linspace(start, stop, num)``."""
    return _spaced(np.logspace(_arr(start), _arr(stop), int(num), endpoint=bool(endpoint),
                               base=float(base)), dtype, axis)


def vander(x, N=None, increasing=False):
    """Columns ``x**(N-1), ..., x, 1`` (reversed when ``increasing``) of a 1-D ``x``."""
    a = _arr(x)
    if a.ndim != 1:
        raise ValueError(f"keras.ops.vander expects a 1-D x, got shape {a.shape}")
    n = a.shape[0] if N is None else int(N)
    powers = np.arange(n) if increasing else np.arange(n - 1, -1, -1)
    column = _ops.expand_dims(x, 1)
    if a.dtype.kind != "f":
        return _ops.constant(a[:, None] ** powers.astype(a.dtype))
    return _ops.pow(column, powers.astype(a.dtype))


# -- splitting, stacking, reshaping ------------------------------------------------------------


def append(x1, x2, axis=None):
    """``x2`` after ``x1`` along ``axis`` (both flattened when None); dtypes promoted."""
    dtype = _result_dtype(x1, x2)
    a, b = _ops.cast(x1, dtype), _ops.cast(x2, dtype)
    if axis is None:
        return _ops.concat([_ops.reshape(a, [-1]), _ops.reshape(b, [-1])], 0)
    return _ops.concat([a, b], int(axis))


def array_split(x, indices_or_sections, axis=0):
    """``k`` sections along ``axis`` that need not be equal: the first ``n % k`` are one
    longer (NumPy's rule). Keras takes a number of sections only (split points: ``split``)."""
    a = _arr(x)
    axis = _axis(axis, a.ndim, "array_split")
    if not isinstance(indices_or_sections, (int, np.integer)):
        raise TypeError("keras.ops.array_split: indices_or_sections must be an int, got "
                        f"{indices_or_sections!r}")
    k = int(indices_or_sections)
    if k < 1:
        raise ValueError(f"keras.ops.array_split: sections must be >= 1, got {k}")
    n = a.shape[axis]
    sizes = [n // k + 1] * (n % k) + [n // k] * (k - n % k)
    return _ops.split(x, sizes, axis)


def split_at(x, indices_or_sections, axis: int) -> list:
    """NumPy's ``split`` rule: an int gives that many equal parts, a list the split points
    (``keras.ops.split``, ``hsplit``, ``vsplit``, ``dsplit``)."""
    if isinstance(indices_or_sections, (int, np.integer)):
        return _ops.split(x, int(indices_or_sections), axis)
    n = _arr(x).shape[axis]
    points = [0, *(int(p) for p in indices_or_sections), n]
    return _ops.split(x, [b - a for a, b in itertools.pairwise(points)], axis)


def hsplit(x, indices_or_sections):
    return split_at(x, indices_or_sections, 0 if _arr(x).ndim == 1 else 1)


def vsplit(x, indices_or_sections):
    return split_at(x, indices_or_sections, 0)


def dsplit(x, indices_or_sections):
    if _arr(x).ndim < 3:
        raise ValueError(f"keras.ops.dsplit needs rank >= 3, got shape {_arr(x).shape}")
    return split_at(x, indices_or_sections, 2)


def _at_least_3d(x):
    shape = _arr(x).shape
    if len(shape) == 0:
        return _ops.reshape(x, [1, 1, 1])
    if len(shape) == 1:
        return _ops.reshape(x, [1, shape[0], 1])
    if len(shape) == 2:
        return _ops.reshape(x, [*shape, 1])
    return x


def dstack(xs):
    """Arrays stacked along a third axis (1-D ``(n,)`` as ``(1, n, 1)``, 2-D ``(m, n)`` as
    ``(m, n, 1)``)."""
    dtype = _result_dtype(*xs)
    return _ops.concat([_ops.cast(_at_least_3d(x), dtype) for x in xs], 2)


def fliplr(x):
    if _arr(x).ndim < 2:
        raise ValueError(f"keras.ops.fliplr needs rank >= 2, got shape {_arr(x).shape}")
    return _manip.reverse(x, [1])


def flipud(x):
    if _arr(x).ndim < 1:
        raise ValueError("keras.ops.flipud needs rank >= 1, got a scalar")
    return _manip.reverse(x, [0])


def rot90(array, k=1, axes=(0, 1)):
    """``array`` turned by ``k`` quarter turns in the plane of ``axes`` (from the first axis
    towards the second, as NumPy)."""
    rank = _arr(array).ndim
    if rank < 2:
        raise ValueError(f"keras.ops.rot90 needs rank >= 2, got shape {_arr(array).shape}")
    first, second = (_axis(a, rank, "rot90") for a in axes)
    if first == second:
        raise ValueError(f"keras.ops.rot90: axes must differ, got {axes!r}")
    k = int(k) % 4
    swap = list(range(rank))
    swap[first], swap[second] = second, first
    if k == 0:
        return _ops.identity(array)
    if k == 2:
        return _manip.reverse(array, [first, second])
    if k == 1:
        return _ops.transpose(_manip.reverse(array, [second]), swap)
    return _manip.reverse(_ops.transpose(array, swap), [second])


def diagonal(x, offset=0, axis1=0, axis2=1):
    """The ``offset`` diagonal of the ``(axis1, axis2)`` planes, as a last axis."""
    a = _arr(x)
    if a.ndim < 2:
        raise ValueError(f"keras.ops.diagonal needs rank >= 2, got shape {a.shape}")
    first, second = _axis(axis1, a.ndim, "diagonal"), _axis(axis2, a.ndim, "diagonal")
    if first == second:
        raise ValueError("keras.ops.diagonal: axis1 and axis2 must differ")
    order = [d for d in range(a.ndim) if d not in (first, second)] + [first, second]
    moved = _ops.transpose(x, order)
    rows, cols = a.shape[first], a.shape[second]
    k = int(offset)
    start_row, start_col = builtins.max(-k, 0), builtins.max(k, 0)
    n = builtins.max(0, builtins.min(rows - start_row, cols - start_col))
    index = np.arange(n)
    return _ops.convert_to_tensor(moved)[..., start_row + index, start_col + index]


def diagflat(x, k=0):
    """A matrix with the flattened ``x`` on its ``k``-th diagonal."""
    return _linalg.diag(_ops.reshape(x, [-1]), k=int(k))


def diff(a, n=1, axis=-1):
    """``n``-th differences along ``axis``."""
    values = _arr(a)
    axis = _axis(axis, values.ndim, "diff")
    if int(n) < 0:
        raise ValueError(f"keras.ops.diff: n must be >= 0, got {n}")
    out = _ops.convert_to_tensor(a)
    for _ in range(int(n)):
        size = _arr(out).shape[axis]
        later = [builtins.slice(None)] * values.ndim
        earlier = [builtins.slice(None)] * values.ndim
        later[axis], earlier[axis] = builtins.slice(1, size), builtins.slice(0, size - 1)
        out = _ops.subtract(out[tuple(later)], out[tuple(earlier)])
    return out


def kron(x1, x2):
    """The Kronecker product: block ``i, j`` of the result is ``x1[i, j] * x2``."""
    dtype = _result_dtype(x1, x2)
    a, b = _ops.cast(x1, dtype), _ops.cast(x2, dtype)
    sa, sb = _arr(x1).shape, _arr(x2).shape
    rank = builtins.max(len(sa), len(sb))
    sa, sb = (1,) * (rank - len(sa)) + sa, (1,) * (rank - len(sb)) + sb
    # x1's axes interleaved with x2's: (a0, 1, a1, 1, ...) * (1, b0, 1, b1, ...)
    left = _ops.reshape(a, [v for n in sa for v in (n, 1)])
    right = _ops.reshape(b, [v for n in sb for v in (1, n)])
    return _ops.reshape(_ops.multiply(left, right), [p * q for p, q in zip(sa, sb)])


def inner(x1, x2):
    """Sums of products over the last axes (a product with a scalar)."""
    dtype = _result_dtype(x1, x2)
    a, b = _ops.cast(x1, dtype), _ops.cast(x2, dtype)
    if _arr(a).ndim == 0 or _arr(b).ndim == 0:
        return _ops.multiply(a, b)
    return _ops.tensordot(a, b, [[-1], [-1]])


def dot(x1, x2):
    """NumPy's ``dot``: scalars multiply, vectors give their inner product, otherwise the last
    axis of ``x1`` meets the second-to-last of ``x2`` (the only axis of a vector)."""
    dtype = _result_dtype(x1, x2)
    a, b = _ops.cast(x1, dtype), _ops.cast(x2, dtype)
    ra, rb = _arr(a).ndim, _arr(b).ndim
    if ra == 0 or rb == 0:
        return _ops.multiply(a, b)
    return _ops.tensordot(a, b, [[-1], [-1 if rb == 1 else -2]])


def vdot(x1, x2):
    """The inner product of the flattened arrays."""
    dtype = _result_dtype(x1, x2)
    a = _ops.reshape(_ops.cast(x1, dtype), [-1])
    b = _ops.reshape(_ops.cast(x2, dtype), [-1])
    return _ops.reduce_sum(_ops.multiply(a, b))


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross products of 3-vectors (2-vectors have a zero third component; two 2-vectors give
    the scalar z component) along ``axisa``/``axisb``, results along ``axisc`` (``axis``
    sets all three)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    dtype = _result_dtype(x1, x2)
    a, b = _ops.cast(x1, dtype), _ops.cast(x2, dtype)
    a, _ = _moved_last(a, _axis(axisa, _arr(a).ndim, "cross"))
    b, _ = _moved_last(b, _axis(axisb, _arr(b).ndim, "cross"))
    na, nb = _arr(a).shape[-1], _arr(b).shape[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(f"keras.ops.cross: vectors must have 2 or 3 components, got {na} and "
                         f"{nb}")

    def parts(t, n):
        comps = [t[..., i] for i in range(n)]
        return comps + [_ops.zeros_like(comps[0])] * (3 - n)

    (a0, a1, a2), (b0, b1, b2) = parts(a, na), parts(b, nb)
    z = _ops.subtract(_ops.multiply(a0, b1), _ops.multiply(a1, b0))
    if na == 2 and nb == 2:
        return z
    x = _ops.subtract(_ops.multiply(a1, b2), _ops.multiply(a2, b1))
    y = _ops.subtract(_ops.multiply(a2, b0), _ops.multiply(a0, b2))
    out = _ops.stack([x, y, z], axis=-1)
    rank = _arr(out).ndim
    target = _axis(axisc, rank, "cross")
    order = list(range(rank - 1))
    order.insert(target, rank - 1)
    return _ops.transpose(out, order)


def cumprod(x, axis=None, dtype=None):
    """Running products along ``axis`` (over the flattened values when None). The gradient is
    TensorFlow's: ``reverse_cumsum(g * y) / x`` (inputs holding zeros give inf/NaN there)."""
    t = x if dtype is None else _ops.cast(x, dtype)
    if axis is None:
        t, axis = _ops.reshape(t, [-1]), 0
    a = _arr(t)
    axis = _axis(axis, a.ndim, "cumprod")
    out = np.cumprod(a, axis=axis).astype(a.dtype)

    def vjp(g):
        total = np.flip(np.cumsum(np.flip(np.asarray(g) * out, axis), axis), axis)
        with np.errstate(divide="ignore", invalid="ignore"):
            return [(total / a).astype(a.dtype)]

    return _ops._op(out, [t], vjp if a.dtype.kind == "f" else None)


def ptp(x, axis=None, keepdims=False):
    """Largest minus smallest value along ``axis``."""
    return _ops.subtract(_ops.reduce_max(x, axis, keepdims), _ops.reduce_min(x, axis, keepdims))


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """The trapezoid rule's integral of ``y`` along ``axis`` (sample points ``x``, or spacing
    ``dx``)."""
    values = _float(y)
    rank = _arr(values).ndim
    axis = _axis(axis, rank, "trapezoid")
    size = _arr(values).shape[axis]

    def part(t, start, stop):
        key = [builtins.slice(None)] * _arr(t).ndim
        key[axis if _arr(t).ndim == rank else 0] = builtins.slice(start, stop)
        return _ops.convert_to_tensor(t)[tuple(key)]

    sums = _ops.add(part(values, 1, size), part(values, 0, size - 1))
    if x is None:
        steps = np.asarray(dx, dtype=_arr(values).dtype)
    else:
        points = _ops.cast(x, _arr(values).dtype)
        steps = _ops.subtract(part(points, 1, size), part(points, 0, size - 1))
        if _arr(points).ndim == 1 and rank > 1:
            shape = [1] * rank
            shape[axis] = size - 1
            steps = _ops.reshape(steps, shape)
    return _ops.reduce_sum(_ops.multiply(sums, steps), axis) * np.asarray(
        0.5, dtype=_arr(values).dtype)


def correlate(x1, x2, mode="valid"):
    """NumPy's ``correlate`` of two 1-D tensors (``mode`` 'valid', 'same' or 'full'); the
    result is float (float32 for integers), as Keras."""
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"keras.ops.correlate: mode must be 'valid', 'same' or 'full', got "
                         f"{mode!r}")
    a, v = _arr(x1), _arr(x2)
    if a.ndim != 1 or v.ndim != 1:
        raise ValueError(f"keras.ops.correlate expects 1-D tensors, got {a.shape} and "
                         f"{v.shape}")
    dtype = _result_dtype(x1, x2)
    dtype = dtype if dtype.kind == "f" else np.dtype(np.float32)
    m, n = a.shape[0], v.shape[0]
    # full[k] = sum_j a[k + j - (n - 1)] * v[j]: windows of a padded by n - 1 zeros
    padded = _sorting.pad(_ops.cast(x1, dtype), [[n - 1, n - 1]])
    windows = _ops.gather(padded, np.arange(m + n - 1)[:, None] + np.arange(n)[None, :])
    full = _ops.tensordot(windows, _ops.cast(x2, dtype), [[1], [0]])
    length = {"full": m + n - 1, "same": builtins.max(m, n),
              "valid": builtins.max(m, n) - builtins.min(m, n) + 1}[mode]
    start = (m + n - 1 - length) // 2 if mode == "same" else (
        builtins.min(m, n) - 1 if mode == "valid" else 0)
    return full[start:start + length]


def corrcoef(x):
    """Pearson correlation coefficients of the rows of ``x`` (variables in rows)."""
    t = _float(x)
    if _arr(t).ndim == 1:
        t = _ops.expand_dims(t, 0)
    centered = _ops.subtract(t, _ops.reduce_mean(t, 1, True))
    cov = _ops.matmul(centered, _ops.transpose(centered))
    scale = _ops.sqrt(_ops.reduce_sum(_ops.multiply(centered, centered), 1))
    out = _ops.divide(cov, _ops.multiply(_ops.expand_dims(scale, 1),
                                         _ops.expand_dims(scale, 0)))
    return _ops.clip_by_value(out, -1.0, 1.0)


def cdist(x, y):
    """Euclidean distances between the rows of ``x`` ``(..., m, d)`` and ``y`` ``(..., n, d)``:
    ``(..., m, n)``."""
    a, b = _arr(x), _arr(y)
    if a.dtype.kind != "f" or b.dtype.kind != "f":
        raise InvalidArgumentError(None, None, f"keras.ops.cdist expects float tensors, got "
                                   f"{a.dtype} and {b.dtype}")
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-1]:
        raise ValueError(f"keras.ops.cdist expects (..., m, d) and (..., n, d), got {a.shape} "
                         f"and {b.shape}")
    gaps = _ops.subtract(_ops.expand_dims(x, -2), _ops.expand_dims(y, -3))
    return _ops.sqrt(_ops.reduce_sum(_ops.square(gaps), -1))


# -- NaN-ignoring reductions ---------------------------------------------------------------


def _without_nan(x, fill):
    """``x`` with NaN replaced by ``fill`` (recorded: no gradient reaches the NaNs)."""
    a = _arr(x)
    if a.dtype.kind != "f":
        return _ops.convert_to_tensor(x), np.zeros(a.shape, bool)
    missing = np.isnan(a)
    return _ops.where(missing, np.asarray(fill, a.dtype), x), missing


def nansum(x, axis=None, keepdims=False):
    return _ops.reduce_sum(_without_nan(x, 0)[0], axis, keepdims)


def nanprod(x, axis=None, keepdims=False):
    t, _ = _without_nan(x, 1)
    out = _ops.reduce_prod(t, axis, keepdims)
    return out if _arr(out).dtype == _arr(x).dtype else _ops.cast(out, _arr(x).dtype)


def _count(missing: np.ndarray, axis, keepdims: bool, dtype) -> np.ndarray:
    axes = None if axis is None else tuple(np.atleast_1d(axis).tolist())
    return np.sum(~missing, axis=axes, keepdims=keepdims).astype(dtype)


def nanmean(x, axis=None, keepdims=False):
    t, missing = _without_nan(_float(x), 0)
    n = _count(missing, axis, keepdims, _arr(t).dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _ops.divide(_ops.reduce_sum(t, axis, keepdims), n)


def nanvar(x, axis=None, keepdims=False):
    t, missing = _without_nan(_float(x), 0)
    mean = nanmean(x, axis, True)
    deviations = _ops.where(missing, np.asarray(0, _arr(t).dtype), _ops.subtract(t, mean))
    filled = _ops.square(deviations)
    n = _count(missing, axis, keepdims, _arr(t).dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _ops.divide(_ops.reduce_sum(filled, axis, keepdims), n)


def nanstd(x, axis=None, keepdims=False):
    return _ops.sqrt(nanvar(x, axis, keepdims))


def nanmax(x, axis=None, keepdims=False):
    return _ops.reduce_max(_without_nan(x, -np.inf)[0], axis, keepdims)


def nanmin(x, axis=None, keepdims=False):
    return _ops.reduce_min(_without_nan(x, np.inf)[0], axis, keepdims)


def _nan_arg(pick, x, axis, keepdims: bool, fill):
    """argmax/argmin ignoring NaN, int32 (over the flattened values when ``axis`` is None)."""
    a = _arr(x)
    filled = np.where(np.isnan(a), fill, a) if a.dtype.kind == "f" else a
    if axis is None:
        out = pick(filled.reshape(-1))
        out = np.reshape(out, (1,) * a.ndim) if keepdims else out
    else:
        out = pick(filled, axis=_axis(axis, a.ndim, "nanargmax"), keepdims=bool(keepdims))
    return _ops.constant(np.asarray(out, dtype=np.int32))


def nanargmax(x, axis=None, keepdims=False):
    return _nan_arg(np.argmax, x, axis, keepdims, -np.inf)


def nanargmin(x, axis=None, keepdims=False):
    return _nan_arg(np.argmin, x, axis, keepdims, np.inf)


def nancumsum(x, axis=None, dtype=None):
    t = _without_nan(x, 0)[0]
    t = t if dtype is None else _ops.cast(t, dtype)
    if axis is None:
        t, axis = _ops.reshape(t, [-1]), 0
    return _ops.cumsum(t, _axis(axis, _arr(t).ndim, "nancumsum"))


def nancumprod(x, axis=None, dtype=None):
    return cumprod(_without_nan(x, 1)[0], axis=axis, dtype=dtype)


_QUANTILE_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile_arguments(x, q, method: str, who: str) -> tuple[np.ndarray, np.ndarray]:
    """``(x, q)`` of a quantile function as arrays (``q`` in float64), after checking the
    method and that every ``q`` lies in [0, 1]."""
    if method not in _QUANTILE_METHODS:
        raise ValueError(f"keras.ops.{who}: method must be one of {_QUANTILE_METHODS}, "
                         f"got {method!r}")
    qs = np.asarray(_arr(q), dtype=np.float64)
    if np.any((qs < 0) | (qs > 1)):
        raise ValueError(f"keras.ops.{who}: q must be in [0, 1], got {qs.tolist()}")
    return _arr(x), qs


def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """``quantile`` over the values that are not NaN (NaN where a slice holds none)."""
    a, qs = _quantile_arguments(x, q, method, "nanquantile")
    t = _float(x)
    dtype = _arr(t).dtype
    rank = a.ndim
    axes = list(range(rank)) if axis is None else sorted(
        _axis(ax, rank, "nanquantile") for ax in np.atleast_1d(axis).tolist())
    rest = [ax for ax in range(rank) if ax not in axes]
    n = int(np.prod([a.shape[ax] for ax in axes]))
    flat = _ops.reshape(_ops.transpose(t, rest + axes), [a.shape[ax] for ax in rest] + [n])
    filled, missing = _without_nan(flat, np.inf)  # NaNs sort last
    ordered = _sorting.sort(filled, axis=-1)
    counts = np.sum(~missing, axis=-1, keepdims=True)  # (..., 1)
    pos = qs.reshape(-1)[None, :] * (counts.reshape(-1, 1) - 1)  # (rows, nq)
    lo, hi = np.floor(pos), np.ceil(pos)
    if method == "lower":
        hi = lo
    elif method == "higher":
        lo = hi
    elif method == "nearest":
        lo = hi = np.round(pos)
    frac = np.full(pos.shape, 0.5) if method == "midpoint" else pos - lo
    values = _ops.reshape(ordered, [-1])  # row r's entry j at r * n + j
    starts = (np.arange(pos.shape[0]) * n)[:, None]
    below = _ops.gather(values, starts + np.clip(lo, 0, n - 1).astype(np.int64))
    above = _ops.gather(values, starts + np.clip(hi, 0, n - 1).astype(np.int64))
    out = _ops.add(below, _ops.multiply(_ops.subtract(above, below), frac.astype(dtype)))
    empty_rows = (counts.reshape(-1, 1) == 0) | np.zeros(pos.shape, bool)
    if empty_rows.any():
        out = _ops.where(empty_rows, np.asarray(np.nan, dtype), out)
    out = _ops.transpose(_ops.reshape(out, [a.shape[ax] for ax in rest] + list(qs.shape)),
                         [*range(len(rest), len(rest) + qs.ndim), *range(len(rest))])
    if keepdims:
        shape = list(qs.shape) + [1 if ax in axes else a.shape[ax] for ax in range(rank)]
        out = _ops.reshape(out, shape)
    return out


def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    return nanquantile(x, np.asarray(_arr(q), dtype=np.float64) / 100.0, axis, method,
                       keepdims)


def nanmedian(x, axis=None, keepdims=False):
    return nanquantile(x, 0.5, axis, "linear", keepdims)


# -- values and indices (no gradient) ------------------------------------------------------


def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False,
           axis=None, size=None, fill_value=None):
    """The distinct values of ``x`` (flattened when ``axis`` is None), sorted, with NumPy's
    optional first indices, inverse and counts (int32); ``size`` pads or cuts the values to a
    fixed length with ``fill_value`` (default: the smallest value)."""
    if not sorted:
        raise NotImplementedError("keras.ops.unique: sorted=False is not supported (the "
                                  "values come sorted)")
    a = _arr(x)
    found = np.unique(a, return_index=True, return_inverse=True, return_counts=True,
                      axis=None if axis is None else _axis(axis, a.ndim, "unique"))
    values, first, inverse, counts = found
    if size is not None:
        size = int(size)
        pad = size - values.shape[0 if axis is None else axis]
        if pad > 0:
            filler = values.min() if fill_value is None and values.size else (fill_value or 0)
            shape = list(values.shape)
            where = 0 if axis is None else axis
            shape[where] = pad
            values = np.concatenate([values, np.full(shape, filler, values.dtype)], where)
            first = np.concatenate([first, np.zeros(pad, first.dtype)])
            counts = np.concatenate([counts, np.zeros(pad, counts.dtype)])
        else:
            values = np.take(values, np.arange(size), axis=0 if axis is None else axis)
            first, counts = first[:size], counts[:size]
    out = [_ops.constant(values)]
    for wanted, part in ((return_index, first), (return_inverse, inverse),
                         (return_counts, counts)):
        if wanted:
            out.append(_ops.constant(np.asarray(part).reshape(-1).astype(np.int32)))
    return out[0] if len(out) == 1 else tuple(out)


def unravel_index(indices, shape):
    """The coordinates of flat ``indices`` in an array of ``shape``, one tensor per axis."""
    idx = _arr(indices)
    dims = tuple(int(d) for d in np.atleast_1d(_arr(shape)))
    if idx.size and (idx.min() < 0 or idx.max() >= np.prod(dims)):
        raise ValueError(f"keras.ops.unravel_index: indices must be in [0, {np.prod(dims)}) "
                         f"for shape {dims}")
    return tuple(_ops.constant(c.astype(idx.dtype)) for c in np.unravel_index(idx, dims))


def digitize(x, bins):
    """The index of the bin each value falls in (``bins`` increasing; ``bins[i-1] <= x <
    bins[i]`` gives ``i``), int32."""
    edges = np.asarray(_arr(bins))
    if edges.ndim != 1:
        raise ValueError(f"keras.ops.digitize: bins must be 1-D, got shape {edges.shape}")
    return _ops.constant(np.digitize(_arr(x), edges).astype(np.int32))


def histogram(x, bins=10, range=None):
    """``(counts, bin edges)`` of a 1-D ``x`` over ``bins`` equal bins spanning ``range``
    (the values' own by default); both in ``x``'s dtype, as Keras on TensorFlow."""
    a = _arr(x)
    if a.ndim != 1:
        raise ValueError(f"keras.ops.histogram expects a 1-D x, got shape {a.shape}")
    if not isinstance(bins, (int, np.integer)) or bins < 1:
        # an InvalidArgumentError (a ValueError), as TensorFlow's kernel raises
        raise InvalidArgumentError(None, None, "keras.ops.histogram: bins must be a positive "
                                   f"int, got {bins!r}")
    if range is not None and (len(range) != 2 or range[0] > range[1]):
        raise ValueError(f"keras.ops.histogram: range must be (min, max), got {range!r}")
    counts, edges = np.histogram(a, bins=int(bins), range=range)
    return _ops.constant(counts.astype(a.dtype)), _ops.constant(edges.astype(a.dtype))


def isin(x1, x2, assume_unique=False, invert=False):
    return _ops.constant(np.isin(_arr(x1), _arr(x2), invert=bool(invert)))


def argpartition(x, kth, axis=-1):
    """Indices that partition ``x`` along ``axis``: the ``kth + 1`` smallest first (in
    ascending order), then the others (largest first), int32."""
    a = _arr(x)
    if axis is None:
        a, axis = a.reshape(-1), 0
    axis = _axis(axis, a.ndim, "argpartition")
    n = a.shape[axis]
    k = int(np.clip(int(kth), 0, n - 1))
    moved = np.moveaxis(a, axis, -1)
    ascending = np.argsort(moved, axis=-1, kind="stable")
    rest = ascending[..., k + 1:]
    rest_values = np.take_along_axis(moved, rest, axis=-1)
    rest = np.take_along_axis(rest, np.argsort(-rest_values, axis=-1, kind="stable"), axis=-1)
    out = np.concatenate([ascending[..., :k + 1], rest], axis=-1)
    return _ops.constant(np.moveaxis(out, -1, axis).astype(np.int32))


def view(x, dtype=None):
    """The same bytes read as ``dtype`` (the last axis scales by the itemsize ratio)."""
    a = np.array(_arr(x), order="C")  # (ascontiguousarray would make a scalar 1-D)
    if dtype is None:
        return _ops.constant(a.copy())
    target = as_dtype(dtype).dtype
    if a.ndim == 0 and target.itemsize != a.dtype.itemsize:
        raise ValueError(f"keras.ops.view: a scalar of {a.dtype} cannot be viewed as {target}")
    try:
        return _ops.constant(a.view(target).copy())
    except ValueError as error:
        raise ValueError(f"keras.ops.view: {error}") from None


def dtype(x) -> str:
    """The dtype's name (``'float32'``)."""
    return str(_arr(x).dtype.name)


# -- choosing and looping --------------------------------------------------------------------


def select(condlist, choicelist, default=0):
    """From the first true condition's choice, elementwise; ``default`` where none is."""
    if len(condlist) != len(choicelist) or not condlist:
        raise ValueError("keras.ops.select: condlist and choicelist must be non-empty lists of "
                         f"the same length, got {len(condlist)} and {len(choicelist)}")
    dtype = _result_dtype(*choicelist)
    out = _ops.cast(_ops.convert_to_tensor(default), dtype) if not isinstance(
        default, (int, float)) else np.asarray(default, dtype)
    shape = np.broadcast_shapes(*(_arr(c).shape for c in choicelist),
                                *(_arr(c).shape for c in condlist))
    out = _manip.broadcast_to(out, shape)
    for cond, choice in zip(reversed(condlist), reversed(choicelist)):
        out = _ops.where(_arr(cond).astype(bool), _ops.cast(choice, dtype), out)
    return out


def switch(index, branches, *operands):
    """``branches[index](*operands)``, the index clipped into range (as TensorFlow's
    ``switch_case`` with Keras' clipping)."""
    if not branches:
        raise ValueError("keras.ops.switch: branches must not be empty")
    chosen = int(np.clip(int(_arr(index)), 0, len(branches) - 1))
    return branches[chosen](*operands)


def vectorize(pyfunc, *, excluded=None, signature=None):
    """``pyfunc`` mapped over the leading (broadcast) axes of its tensor arguments: each
    element (or, with a ``signature`` like ``"(n),(n)->()"``, each core block) is one call;
    results are stacked back. Arguments named in ``excluded`` pass through."""
    if not callable(pyfunc):
        raise TypeError(f"keras.ops.vectorize expects a function, got {type(pyfunc).__name__}")
    skip = set(excluded or ())
    cores = _signature_cores(signature)

    def call(*args, **kwargs):
        mapped = [i for i in range(len(args)) if i not in skip]
        tensors = [_ops.convert_to_tensor(args[i]) for i in mapped]
        if cores is not None and len(cores) != len(tensors):
            raise ValueError(f"keras.ops.vectorize: the signature {signature!r} names "
                             f"{len(cores)} inputs, got {len(tensors)}")
        ranks = cores or [0] * len(tensors)
        loops = [_arr(t).shape[:_arr(t).ndim - r] for t, r in zip(tensors, ranks)]
        shape = np.broadcast_shapes(*loops)
        tensors = [_manip.broadcast_to(t, list(shape) + list(_arr(t).shape[len(lp):]))
                   for t, lp, r in zip(tensors, loops, ranks)]
        results = []
        for index in np.ndindex(*shape):
            given = list(args)
            for i, t in zip(mapped, tensors):
                given[i] = t[index] if index else t
            results.append(_ops.convert_to_tensor(pyfunc(*given, **kwargs)))
        if not results:
            raise ValueError("keras.ops.vectorize: nothing to map over (an empty axis)")
        out = _ops.stack(results, 0)
        return _ops.reshape(out, list(shape) + list(_arr(results[0]).shape))

    return call


def _signature_cores(signature) -> list[int] | None:
    """The core rank of each input of a ``"(m,n),(n)->(m)"`` signature (None: no
    signature)."""
    if signature is None:
        return None
    match = re.fullmatch(r"\s*((?:\([\w\s,]*\)\s*,?\s*)+)->\s*(.+)", str(signature))
    if not match:
        raise ValueError(f"keras.ops.vectorize: unreadable signature {signature!r}")
    groups = re.findall(r"\(([\w\s,]*)\)", match.group(1))
    return [len([n for n in g.split(",") if n.strip()]) for g in groups]


def associative_scan(f, elems, reverse=False, axis=0):
    """Running ``f``-combinations along ``axis``: ``out[i] = f(out[i-1], elems[i])`` (from the
    end when ``reverse``); ``elems`` a tensor or a list/tuple of them. For an associative
    ``f`` this is the result of the parallel scan Keras runs."""
    several = isinstance(elems, (list, tuple))
    leaves = [_ops.convert_to_tensor(e) for e in (elems if several else [elems])]
    rank = _arr(leaves[0]).ndim
    axis = _axis(axis, rank, "associative_scan")
    n = _arr(leaves[0]).shape[axis]
    if any(_arr(t).shape[axis] != n for t in leaves):
        raise ValueError("keras.ops.associative_scan: all elems need the same length along "
                         "axis")

    def at(i):
        key = (builtins.slice(None),) * axis + (i,)
        parts = [t[key] for t in leaves]
        return type(elems)(parts) if several else parts[0]

    order = range(n - 1, -1, -1) if reverse else range(n)
    carry, outs = None, []
    for i in order:
        carry = at(i) if carry is None else (f(at(i), carry) if reverse else f(carry, at(i)))
        outs.append(carry)
    if reverse:
        outs.reverse()
    if several:
        return type(elems)(_ops.stack([o[j] for o in outs], axis) for j in range(len(leaves)))
    return _ops.stack(outs, axis)


# -- rearrange (Keras 3's einops subset) ------------------------------------------------------


def _pattern_axes(side: str, who: str) -> list[list[str]]:
    """``"b (h w) c"`` -> ``[["b"], ["h", "w"], ["c"]]``."""
    tokens = re.findall(r"\(([^()]*)\)|(\w+)|(\S)", side)
    groups = []
    for inner, name, other in tokens:
        if other:
            raise ValueError(f"keras.ops.{who}: unexpected {other!r} in pattern side "
                             f"{side!r} (names and (groups) only)")
        group = inner.split() if inner or not name else [name]
        if not group or not all(re.fullmatch(r"[A-Za-z_]\w*", g) for g in group):
            raise ValueError(f"keras.ops.{who}: bad axis group in {side!r}")
        groups.append(group)
    return groups


def rearrange(tensor, pattern, **axes_lengths):
    """Reorder, merge (``(h w)``) and split (``(h1 h)`` with ``h1=2``) axes by an einops
    pattern ``"b h w c -> b (h w) c"`` (Keras 3's subset: every input axis named once on each
    side; no ``...`` or ``1``)."""
    if not isinstance(pattern, str) or pattern.count("->") != 1:
        raise ValueError(f"keras.ops.rearrange: pattern must be 'in -> out', got {pattern!r}")
    left, right = (_pattern_axes(s, "rearrange") for s in pattern.split("->"))
    shape = _arr(tensor).shape
    if len(left) != len(shape):
        raise ValueError(f"keras.ops.rearrange: the pattern's input side has {len(left)} axes, "
                         f"the tensor {len(shape)} ({shape})")
    names_in = [n for g in left for n in g]
    names_out = [n for g in right for n in g]
    if sorted(names_in) != sorted(names_out) or len(set(names_in)) != len(names_in):
        # TensorFlow's transpose refuses it (an InvalidArgumentError, a ValueError)
        raise InvalidArgumentError(None, None, "keras.ops.rearrange: each axis must appear "
                                   f"once on both sides, got {pattern!r}")
    sizes = {}
    for group, dim in zip(left, shape):
        known = [axes_lengths[n] for n in group if n in axes_lengths]
        unknown = [n for n in group if n not in axes_lengths]
        if len(unknown) > 1:
            raise ValueError(f"keras.ops.rearrange: give the lengths of all but one of "
                             f"{group} (axes_lengths)")
        product = int(np.prod(known)) if known else 1
        if unknown:
            if dim % product:
                raise ValueError(f"keras.ops.rearrange: {dim} does not split into {group} "
                                 f"with {axes_lengths}")
            sizes[unknown[0]] = dim // product
        elif product != dim:
            raise ValueError(f"keras.ops.rearrange: {group} = {product}, but the axis has "
                             f"{dim}")
        sizes.update({n: int(axes_lengths[n]) for n in group if n in axes_lengths})
    split = _ops.reshape(tensor, [sizes[n] for n in names_in])
    moved = _ops.transpose(split, [names_in.index(n) for n in names_out])
    return _ops.reshape(moved, [int(np.prod([sizes[n] for n in g])) for g in right])




# -- segment reductions --------------------------------------------------------------------


def _segment_reduce(data, segment_ids, num_segments, sorted, kind: str):
    """``kind`` ('max', 'min', 'prod') of ``data``'s rows per segment id, as Keras on
    TensorFlow: ``max(id) + 1`` segments unless ``num_segments`` is given; empty segments
    hold the dtype's lowest/highest value (0 when ``sorted``) or 1. Ids outside the segments
    are dropped. Gradients: ties of a max/min share it, a product's entries get the product
    of the others."""
    who = f"segment_{kind}"
    a = _arr(data)
    ids = np.asarray(_arr(segment_ids)).astype(np.int64)
    if ids.ndim != 1 or ids.shape[0] != a.shape[0]:
        raise ValueError(f"keras.ops.{who}: segment_ids must be 1-D with one id per row of "
                         f"data ({a.shape[0]}), got shape {ids.shape}")
    if sorted and num_segments is not None:
        raise ValueError(f"keras.ops.{who}: num_segments cannot be set when sorted is True "
                         "(the TensorFlow backend's rule)")
    if sorted and ids.size and np.any(np.diff(ids) < 0):
        raise ValueError(f"keras.ops.{who}: sorted=True needs non-decreasing segment_ids")
    count = (int(ids.max()) + 1 if ids.size else 0) if num_segments is None else int(
        num_segments)
    keep = (ids >= 0) & (ids < count)
    limits = np.finfo(a.dtype) if a.dtype.kind == "f" else np.iinfo(a.dtype)
    start = {"max": limits.min, "min": limits.max, "prod": 1}[kind]
    ufunc = {"max": np.maximum, "min": np.minimum, "prod": np.multiply}[kind]
    out = np.full((count, *a.shape[1:]), start, dtype=a.dtype)
    ufunc.at(out, ids[keep], a[keep])
    members = np.bincount(ids[keep], minlength=count)
    if sorted and kind != "prod":
        out[members == 0] = 0
    if a.dtype.kind != "f":
        return _ops._op(out, [data])
    rows = np.where(keep, ids, 0)

    def vjp(g):
        g = np.asarray(g)
        if kind == "prod":
            zero = a == 0
            nonzero_prod = np.ones_like(out)
            np.multiply.at(nonzero_prod, ids[keep], np.where(zero, 1, a)[keep])
            zeros = np.zeros(out.shape, np.int64)
            np.add.at(zeros, ids[keep], zero[keep])
            with np.errstate(divide="ignore", invalid="ignore"):
                others = np.where(zero, np.where(zeros[rows] == 1, nonzero_prod[rows], 0),
                                  np.where(zeros[rows] == 0, out[rows] / np.where(zero, 1, a),
                                           0))
            grad = g[rows] * others
        else:
            winner = a == out[rows]
            ties = np.zeros(out.shape, a.dtype)
            np.add.at(ties, ids[keep], winner[keep])
            grad = g[rows] * winner / np.maximum(ties[rows], 1)
        grad[~keep] = 0
        return [grad.astype(a.dtype)]

    return _ops._op(out, [data], vjp)


def segment_max(data, segment_ids, num_segments=None, sorted=False):
    return _segment_reduce(data, segment_ids, num_segments, sorted, "max")


def segment_min(data, segment_ids, num_segments=None, sorted=False):
    return _segment_reduce(data, segment_ids, num_segments, sorted, "min")


def segment_prod(data, segment_ids, num_segments=None, sorted=False):
    return _segment_reduce(data, segment_ids, num_segments, sorted, "prod")


_symbolic.accept_keras_tensors(globals(), skip=("vectorize", "dtype", "switch",
                                                "associative_scan", "split_at"))
