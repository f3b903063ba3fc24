"""``tf.linalg``: matmul, norm, einsum, tensordot, l2_normalize, global_norm, and the
diagonal and band functions (``diag``, ``diag_part``, ``set_diag``, ``band_part``, ``trace``,
``eye``), batched over every leading axis as in TensorFlow (a matrix is the last two axes).

Each records its vector-Jacobian product on a recording `GradientTape`; bad shapes raise
`InvalidArgumentError` (a `ValueError`), as TensorFlow's kernels do.
"""

from __future__ import annotations

import numpy as np

from convnp.tensor import symbolic as _symbolic
from convnp.tensor.debugging import InvalidArgumentError
from convnp.tensor.eager import EagerTensor
from convnp.tensor.manip import eye, global_norm
from convnp.tensor.ops import (
    _convert,
    _grad_dtype,
    _op,
    einsum,
    l2_normalize,
    matmul,
    norm,
    reduce_sum,
    tensordot,
    transpose,
)
from convnp.tensor.tape import is_variable, value_of

matrix_transpose = transpose

__all__ = ["band_part", "diag", "diag_part", "einsum", "eye", "global_norm", "l2_normalize",
           "matmul", "matrix_transpose", "norm", "set_diag", "tensordot", "trace"]


def _value(x) -> np.ndarray:
    return value_of(x) if isinstance(x, np.ndarray) or is_variable(x) else _convert(x)


def _int(value, what: str) -> int:
    if isinstance(value, np.ndarray) or is_variable(value):
        value = value_of(value)
        if value.size != 1:
            raise InvalidArgumentError(f"{what} must be a scalar, got shape {value.shape}")
        value = value.reshape(())[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what} must be an int, got {value!r}")
    return int(value)


def _offset(k, who: str) -> int:
    """The diagonal's offset ``k`` (0 main, > 0 above, < 0 below). TensorFlow also takes a
    pair ``(low, high)`` for a band of diagonals; convnp takes one diagonal."""
    if isinstance(k, (tuple, list)) or (isinstance(k, np.ndarray) and np.ndim(value_of(k))):
        pair = [_int(v, f"{who}: k") for v in np.asarray(value_of(k) if isinstance(
            k, np.ndarray) else k).reshape(-1)]
        if len(pair) == 2 and pair[0] == pair[1]:
            return pair[0]
        raise NotImplementedError(f"{who}: k as a range of diagonals {pair} is not supported "
                                  "by convnp; give one diagonal (an int)")
    return _int(k, f"{who}: k")


def _diagonal_index(rows: int, cols: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of diagonal ``k`` of a ``(rows, cols)`` matrix."""
    length = max(0, min(rows - max(-k, 0), cols - max(k, 0)))
    steps = np.arange(length)
    return steps + max(-k, 0), steps + max(k, 0)


def _matrices(a: np.ndarray, who: str) -> None:
    if a.ndim < 2:
        raise InvalidArgumentError(f"{who}: input must be at least 2-dim, received shape: "
                                   f"{list(a.shape)}")


def _checked_offset(a: np.ndarray, k, who: str) -> int:
    k = _offset(k, who)
    rows, cols = a.shape[-2:]
    if not -rows <= k <= cols:
        raise InvalidArgumentError(f"{who}: k is out of bound: {k}. It must be between "
                                   f"{-rows} and {cols}")
    return k


def diag_part(input, name=None, k=0, padding_value=0, align="RIGHT_LEFT") -> EagerTensor:
    """Diagonal ``k`` of each matrix of ``input`` ``(..., M, N)``: shape ``(..., L)``, ``L``
    the diagonal's length (``min(M, N)`` for the main one)."""
    a = _value(input)
    _matrices(a, "diag_part")
    k = _checked_offset(a, k, "diag_part")
    rows, cols = _diagonal_index(*a.shape[-2:], k)
    out = a[..., rows, cols]

    def vjp(g):
        full = np.zeros(a.shape, dtype=_grad_dtype(a))
        full[..., rows, cols] = g
        return [full]

    return _op(out, [input], vjp)


def set_diag(input, diagonal, name=None, k=0, align="RIGHT_LEFT") -> EagerTensor:
    """A copy of ``input`` ``(..., M, N)`` with diagonal ``k`` of each matrix replaced by
    ``diagonal`` ``(..., L)`` (the same leading axes; ``L`` the diagonal's length)."""
    a = _value(input)
    _matrices(a, "set_diag")
    k = _checked_offset(a, k, "set_diag")
    d = _value(diagonal)
    rows, cols = _diagonal_index(*a.shape[-2:], k)
    expected = a.shape[:-2] + (rows.size,)
    if d.shape != expected:
        raise InvalidArgumentError(f"set_diag: diagonal of shape {list(d.shape)} does not fit "
                                   f"input of shape {list(a.shape)}: expected diagonal shape "
                                   f"{list(expected)}")
    out = a.copy()
    out[..., rows, cols] = d

    def vjp(g):
        rest = np.array(g, dtype=_grad_dtype(a))
        on_diagonal = np.array(rest[..., rows, cols], dtype=_grad_dtype(d))
        rest[..., rows, cols] = 0
        return [rest, on_diagonal]

    return _op(out, [input, diagonal], vjp)


def diag(diagonal, name=None, k=0, num_rows=-1, num_cols=-1, padding_value=0,
         align="RIGHT_LEFT") -> EagerTensor:
    """Matrices ``(..., R, C)`` holding ``diagonal`` ``(..., L)`` on their diagonal ``k`` and
    ``padding_value`` elsewhere. Without ``num_rows``/``num_cols`` the matrices are square of
    side ``L + |k|``; with one of them, the other is as small as the diagonal allows; the
    diagonal must be exactly as long as diagonal ``k`` of an ``R x C`` matrix."""
    d = _value(diagonal)
    if d.ndim < 1:
        raise InvalidArgumentError(f"diag: diagonal must be at least 1-dim, received shape: "
                                   f"{list(d.shape)}")
    k = _offset(k, "diag")
    length = d.shape[-1]
    num_rows, num_cols = _int(num_rows, "diag: num_rows"), _int(num_cols, "diag: num_cols")
    need_rows, need_cols = length + max(-k, 0), length + max(k, 0)
    if num_rows < 0 and num_cols < 0:
        num_rows = num_cols = max(need_rows, need_cols)
    elif num_rows < 0:
        num_rows = need_rows
    elif num_cols < 0:
        num_cols = need_cols
    if num_rows < need_rows or num_cols < need_cols:
        raise InvalidArgumentError(f"diag: a diagonal of length {length} at k={k} needs at "
                                   f"least {need_rows} rows and {need_cols} columns, got "
                                   f"num_rows={num_rows}, num_cols={num_cols}")
    rows, cols = _diagonal_index(num_rows, num_cols, k)
    if rows.size != length:
        raise InvalidArgumentError(f"diag: diagonal {k} of a {num_rows} x {num_cols} matrix "
                                   f"has {rows.size} entries, but the diagonal has {length}")
    pad = _value(padding_value)
    if pad.size != 1:
        raise InvalidArgumentError(f"diag: padding_value must be a scalar, got shape "
                                   f"{list(pad.shape)}")
    out = np.full(d.shape[:-1] + (num_rows, num_cols), pad.reshape(()), dtype=d.dtype)
    out[..., rows, cols] = d
    return _op(out, [diagonal], lambda g: [np.array(g[..., rows, cols],
                                                    dtype=_grad_dtype(d))])


def band_part(input, num_lower, num_upper, name=None) -> EagerTensor:
    """Each matrix of ``input`` kept within ``num_lower`` diagonals below and ``num_upper``
    above the main one, zero elsewhere (a negative count keeps that whole triangle):
    ``band_part(x, 0, -1)`` is the upper triangle, ``band_part(x, 0, 0)`` the diagonal."""
    a = _value(input)
    _matrices(a, "band_part")
    lower, upper = _int(num_lower, "band_part: num_lower"), _int(num_upper, "band_part: "
                                                                           "num_upper")
    rows, cols = a.shape[-2:]
    if lower > rows:
        raise InvalidArgumentError(f"band_part: num_lower must be negative or at most the "
                                   f"number of rows ({rows}), got {lower}")
    if upper > cols:
        raise InvalidArgumentError(f"band_part: num_upper must be negative or at most the "
                                   f"number of columns ({cols}), got {upper}")
    below = np.arange(rows)[:, None] - np.arange(cols)[None, :]  # i - j
    keep = ((lower < 0) | (below <= lower)) & ((upper < 0) | (-below <= upper))
    out = np.where(keep, a, np.zeros((), dtype=a.dtype))
    return _op(out, [input], lambda g: [np.where(keep, g, 0).astype(_grad_dtype(a))])


def trace(x, name=None) -> EagerTensor:
    """The sum of each matrix's main diagonal: ``(..., M, N)`` -> ``(...)``."""
    return reduce_sum(diag_part(x), axis=-1)


# called on KerasTensors, these functions become layers of the model being built
_symbolic.accept_keras_tensors(globals())
