"""``tf.linalg``: matmul, norm, einsum, tensordot, l2_normalize, global_norm, the
diagonal and band functions (``diag``, ``diag_part``, ``set_diag``, ``band_part``, ``trace``,
``eye``), and the NumPy-backed solvers and decompositions (``inv``, ``det``, ``logdet``,
``slogdet``, ``solve``, ``cross``, ``pinv``, ``cholesky``, ``eigh``, ``eigvalsh``, ``svd``,
``qr``), batched over every leading axis as in TensorFlow (a matrix is the last two axes).

Each records its vector-Jacobian product on a recording `GradientTape`; bad shapes raise
`InvalidArgumentError` (a `ValueError`), as TensorFlow's kernels do.
"""

from __future__ import annotations

from collections import namedtuple

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
from convnp.tensor.tape import is_variable, new_tensor, record, recording, unbroadcast, value_of

matrix_transpose = transpose

__all__ = ["band_part", "cholesky", "cross", "det", "diag", "diag_part", "eigh", "eigvalsh",
           "einsum", "eye", "global_norm", "inv", "l2_normalize", "logdet", "matmul",
           "matrix_transpose", "norm", "pinv", "qr", "set_diag", "slogdet", "solve", "svd",
           "tensordot", "trace"]


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


# ----------------------------------------------------------------------------- solvers


def _square_floats(x, who: str) -> np.ndarray:
    """The float matrices of ``x`` (..., n, n); integer matrices are refused, as TensorFlow's
    kernels have none."""
    a = _value(x)
    if a.dtype.kind not in "fc":
        raise InvalidArgumentError(f"{who}: expects float matrices, got dtype {a.dtype}")
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise InvalidArgumentError(f"{who}: expects square matrices (..., n, n), got shape "
                                   f"{list(a.shape)}")
    return a


def _swap(m: np.ndarray) -> np.ndarray:
    return np.swapaxes(m, -1, -2)


def _no_gradient(outputs: list, inputs: list, who: str) -> None:
    """Record that ``who`` has no gradient in convnp: differentiating through it raises
    instead of silently giving None."""
    if not recording():
        return

    def vjp(_):
        raise NotImplementedError(f"convnp has no gradient for tf.linalg.{who}; compute it "
                                  f"with TensorFlow, or wrap the value in tf.stop_gradient")

    record(outputs, inputs, vjp)


def inv(input, adjoint=False, name=None) -> EagerTensor:
    """The inverse of each matrix; a singular one raises `InvalidArgumentError`."""
    a = _square_floats(input, "inv")
    if adjoint:
        a = np.conj(_swap(a))
    try:
        out = np.linalg.inv(a)
    except np.linalg.LinAlgError:
        raise InvalidArgumentError("inv: Input is not invertible.") from None
    out = out.astype(a.dtype, copy=False)

    def vjp(g):
        grad = -_swap(out) @ g @ _swap(out)  # d(A^-1) = -A^-1 dA A^-1
        return [np.conj(_swap(grad)) if adjoint else grad]

    return _op(out, [input], vjp)


def det(input, name=None) -> EagerTensor:
    """The determinant of each matrix; its gradient is ``det(A) * inv(A)^T``."""
    a = _square_floats(input, "det")
    out = np.linalg.det(a).astype(a.dtype, copy=False)

    def vjp(g):
        scale = (np.asarray(g) * out)[..., None, None]
        return [scale * _swap(np.linalg.inv(a))]

    return _op(out, [input], vjp)


LogMatrixDeterminant = namedtuple("LogMatrixDeterminant", ["sign", "log_abs_determinant"])
Qr = namedtuple("Qr", ["q", "r"])


def slogdet(input, name=None) -> LogMatrixDeterminant:
    """``(sign, log_abs_determinant)`` of each matrix, the latter without overflow."""
    a = _square_floats(input, "slogdet")
    sign, logabs = np.linalg.slogdet(a)
    logabs = logabs.astype(a.dtype, copy=False)
    out = _op(logabs, [input], lambda g: [np.asarray(g)[..., None, None] *
                                          _swap(np.linalg.inv(a))])
    return LogMatrixDeterminant(new_tensor(sign.astype(a.dtype, copy=False)), out)


def logdet(matrix, name=None) -> EagerTensor:
    """``log(det(matrix))`` of symmetric positive definite matrices; NaN for a matrix that
    is not positive definite (TensorFlow computes it from a Cholesky factor)."""
    a = _square_floats(matrix, "logdet")
    logabs = slogdet(matrix).log_abs_determinant
    good = _positive_definite(a)
    if not np.all(good):
        return new_tensor(np.where(good, np.asarray(logabs), np.nan).astype(a.dtype))
    return logabs


def _positive_definite(a: np.ndarray) -> np.ndarray:
    """Per matrix of ``a`` (..., n, n): whether a Cholesky factor exists."""
    flat = a.reshape((-1,) + a.shape[-2:])
    ok = np.ones(len(flat), dtype=bool)
    for i, m in enumerate(flat):
        try:
            np.linalg.cholesky(m)
        except np.linalg.LinAlgError:
            ok[i] = False
    return ok.reshape(a.shape[:-2])


def solve(matrix, rhs, adjoint=False, name=None) -> EagerTensor:
    """``X`` with ``matrix @ X = rhs`` (``rhs`` is (..., n, k)); gradients reach both."""
    a = _square_floats(matrix, "solve")
    b = _value(rhs)
    if b.ndim < 2 or b.shape[-2] != a.shape[-1]:
        raise InvalidArgumentError(f"solve: rhs must be (..., {a.shape[-1]}, k) for matrices "
                                   f"of shape {list(a.shape)}, got {list(b.shape)}")
    if b.dtype != a.dtype:
        raise InvalidArgumentError(f"solve: matrix and rhs must have the same dtype, got "
                                   f"{a.dtype} and {b.dtype}")
    m = np.conj(_swap(a)) if adjoint else a
    try:
        out = np.linalg.solve(m, b).astype(a.dtype, copy=False)
    except np.linalg.LinAlgError:
        raise InvalidArgumentError("solve: Input matrix is not invertible.") from None

    def vjp(g):
        gb = np.linalg.solve(np.conj(_swap(m)), np.asarray(g))
        gm = -gb @ np.conj(_swap(out))
        ga = np.conj(_swap(gm)) if adjoint else gm
        return [unbroadcast(ga, a.shape), unbroadcast(gb, b.shape)]

    return _op(out, [matrix, rhs], vjp)


def cross(a, b, name=None) -> EagerTensor:
    """The cross product of 3-vectors (the last axis)."""
    x, y = _value(a), _value(b)
    if x.shape[-1:] != (3,) or y.shape[-1:] != (3,):
        raise InvalidArgumentError(f"cross: the last axis must hold 3 values, got shapes "
                                   f"{list(x.shape)} and {list(y.shape)}")
    out = np.cross(x, y)
    return _op(out, [a, b], lambda g: [unbroadcast(np.cross(y, g), x.shape),
                                       unbroadcast(np.cross(g, x), y.shape)])


def pinv(a, rcond=None, validate_args=False, name=None) -> EagerTensor:
    """The Moore-Penrose pseudo-inverse of each matrix (values only: no gradient)."""
    x = _value(a)
    if x.dtype.kind not in "fc" or x.ndim < 2:
        raise InvalidArgumentError(f"pinv: expects float matrices, got dtype {x.dtype} and "
                                   f"shape {list(x.shape)}")
    if rcond is None:  # TensorFlow's default: 10 * max(rows, cols) * epsilon
        rcond = 10 * max(x.shape[-2:]) * np.finfo(x.dtype).eps
    out = new_tensor(np.linalg.pinv(x, rcond=rcond).astype(x.dtype, copy=False))
    _no_gradient([out], [a], "pinv")
    return out


def cholesky(input, name=None) -> EagerTensor:
    """The lower-triangular ``L`` with ``L @ L^T = input`` (only the lower triangle of the
    input is read); a matrix that is not positive definite gives NaN in its triangle, as
    TensorFlow's (no error). The gradient is symmetric, as TensorFlow's."""
    a = _square_floats(input, "cholesky")
    n = a.shape[-1]
    lower = np.tril(np.ones((n, n), dtype=bool))
    sym = np.where(lower, a, _swap(a))
    good = _positive_definite(sym)
    safe = np.where(good[..., None, None], sym, np.eye(n, dtype=a.dtype))
    factor = np.linalg.cholesky(safe)
    out = np.where(good[..., None, None], factor, np.where(lower, np.nan, 0)).astype(a.dtype)

    def vjp(g):
        # P = the lower triangle of L^T g with its diagonal halved, S = L^-T P L^-1; the
        # gradient is the symmetric part of S (the rule TensorFlow's values follow)
        phi = np.tril(_swap(factor) @ np.asarray(g))
        phi = phi - 0.5 * np.eye(n, dtype=a.dtype) * phi
        inv_l = np.linalg.inv(factor)
        s_ = _swap(inv_l) @ phi @ inv_l
        return [0.5 * (s_ + _swap(s_))]

    return _op(out, [input], vjp)


def eigh(tensor, name=None) -> tuple:
    """``(eigenvalues, eigenvectors)`` of symmetric matrices, values ascending (values
    only: no gradient)."""
    a = _square_floats(tensor, "eigh")
    w, v = np.linalg.eigh(a)
    out = (new_tensor(w.astype(a.dtype, copy=False)), new_tensor(v.astype(a.dtype, copy=False)))
    _no_gradient(list(out), [tensor], "eigh")
    return out


def eigvalsh(tensor, name=None) -> EagerTensor:
    """The eigenvalues of symmetric matrices, ascending."""
    return eigh(tensor)[0]


def svd(tensor, full_matrices=False, compute_uv=True, name=None):
    """Singular values (descending), and with ``compute_uv`` ``(s, u, v)`` in TensorFlow's
    order, ``v`` not transposed: ``tensor = u @ diag(s) @ v^T`` (values only: no
    gradient)."""
    a = _value(tensor)
    if a.dtype.kind not in "fc" or a.ndim < 2:
        raise InvalidArgumentError(f"svd: expects float matrices, got dtype {a.dtype} and "
                                   f"shape {list(a.shape)}")
    if not compute_uv:
        out = new_tensor(np.linalg.svd(a, compute_uv=False).astype(a.dtype, copy=False))
        _no_gradient([out], [tensor], "svd")
        return out
    u, s_, vh = np.linalg.svd(a, full_matrices=bool(full_matrices))
    out = tuple(new_tensor(m.astype(a.dtype, copy=False)) for m in (s_, u, _swap(vh)))
    _no_gradient(list(out), [tensor], "svd")
    return out


def qr(input, full_matrices=False, name=None) -> Qr:
    """``(q, r)``: orthonormal columns and an upper-triangular factor (values only: no
    gradient)."""
    a = _value(input)
    if a.dtype.kind not in "fc" or a.ndim < 2:
        raise InvalidArgumentError(f"qr: expects float matrices, got dtype {a.dtype} and "
                                   f"shape {list(a.shape)}")
    q, r = np.linalg.qr(a, mode="complete" if full_matrices else "reduced")
    out = Qr(new_tensor(q.astype(a.dtype, copy=False)), new_tensor(r.astype(a.dtype, copy=False)))
    _no_gradient(list(out), [input], "qr")
    return out


# called on KerasTensors, these functions become layers of the model being built
_symbolic.accept_keras_tensors(globals())
