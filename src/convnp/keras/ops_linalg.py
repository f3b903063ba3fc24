"""``keras.ops.linalg`` (also at the top of ``keras.ops``, as Keras has them): inverses,
solves, determinants and factorizations of the last two axes (batches of matrices), with
Keras 3.15's signatures and results on TensorFlow.

The tape records the gradients TensorFlow has for ``inv``, ``solve``, ``solve_triangular``,
``det``, ``slogdet``, ``logdet`` and ``cholesky`` (``cholesky_inverse`` is composed of
recorded ops); the factorizations ``qr``, ``svd``, ``eigh``, ``lstsq``, ``pinv`` and
``matrix_rank``, ``lu_factor`` give values only (no gradient flows through them). Re-exported by
`convnp.keras.ops`.
"""

from __future__ import annotations

import numpy as np

from convnp.tensor import ops as _ops
from convnp.tensor import symbolic as _symbolic
from convnp.tensor.debugging import InvalidArgumentError


def _t(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


def _matrices(x, who: str, square: bool = True) -> np.ndarray:
    """The float values of a batch of (square) matrices, checked."""
    a = _ops._convert(x)
    if a.ndim < 2 or (square and a.shape[-1] != a.shape[-2]):
        raise ValueError(f"keras.ops.{who} expects {'square ' if square else ''}matrices "
                         f"(..., n, n), got shape {a.shape}")
    if a.dtype.kind != "f":
        a = a.astype(np.float32)
    return a


def _solvable(a: np.ndarray, who: str):
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        raise InvalidArgumentError(None, None, f"keras.ops.{who}: the matrix is not "
                                   "invertible") from None


def inv(x):
    """The inverse of each matrix; gradient ``-A^-T g A^-T``."""
    a = _matrices(x, "inv")
    out = _solvable(a, "inv").astype(a.dtype)
    return _ops._op(out, [x], lambda g: [-(_t(out) @ np.asarray(g) @ _t(out))])


def _as_columns(a: np.ndarray, b: np.ndarray, who: str) -> tuple[np.ndarray, bool]:
    """``b`` as a batch of columns for ``a`` (a vector per matrix is one column)."""
    vector = b.ndim == a.ndim - 1
    cols = b[..., None] if vector else b
    if cols.shape[-2] != a.shape[-1]:
        raise ValueError(f"keras.ops.{who}: a {a.shape} and b {b.shape} do not fit "
                         "(b's rows must match a's size)")
    return cols, vector


def _solve_with(x_of, a_in, b_in, who: str, mask=None):
    """``x = x_of(A, B)`` solving ``A x = B``; gradients ``gB = x_of(A^T, g)`` (through the
    transposed system) and ``gA = -gB x^T`` (restricted by ``mask`` for triangular ``A``)."""
    a = _matrices(a_in, who)
    b = _ops._convert(b_in)
    dtype = np.result_type(a.dtype, b.dtype) if b.dtype.kind == "f" else a.dtype
    a, b = a.astype(dtype), b.astype(dtype)
    cols, vector = _as_columns(a, b, who)
    x = x_of(a, cols, transposed=False).astype(dtype)

    def vjp(g):
        g = np.asarray(g, dtype=dtype)
        g = g[..., None] if vector else g
        gb = x_of(a, g, transposed=True)
        ga = -gb @ _t(x)
        if mask is not None:
            ga = ga * mask
        return [ga.astype(dtype), (gb[..., 0] if vector else gb).astype(dtype)]

    return _ops._op(x[..., 0] if vector else x, [a_in, b_in], vjp)


def solve(a, b):
    """``x`` with ``a @ x == b`` (``b`` a matrix or one vector per matrix)."""
    def x_of(m, rhs, transposed):
        try:
            return np.linalg.solve(_t(m) if transposed else m, rhs)
        except np.linalg.LinAlgError:
            raise InvalidArgumentError(None, None, "keras.ops.solve: the matrix is not "
                                       "invertible") from None

    return _solve_with(x_of, a, b, "solve")


def solve_triangular(a, b, lower=False):
    """``solve`` reading only the lower (``lower=True``) or upper triangle of ``a``."""
    n = _matrices(a, "solve_triangular").shape[-1]
    mask = np.tril(np.ones((n, n))) if lower else np.triu(np.ones((n, n)))

    def x_of(m, rhs, transposed):
        tri = m * mask
        return np.linalg.solve(_t(tri) if transposed else tri, rhs)

    return _solve_with(x_of, a, b, "solve_triangular", mask)


def det(x):
    """The determinant of each matrix; gradient ``g det(A) A^-T``."""
    a = _matrices(x, "det")
    out = np.asarray(np.linalg.det(a), dtype=a.dtype)

    def vjp(g):
        g = np.asarray(g)[..., None, None]
        return [g * out[..., None, None] * _t(np.linalg.inv(a))]

    return _ops._op(out, [x], vjp)


def _logabsdet(x, who: str):
    a = _matrices(x, who)
    sign, value = np.linalg.slogdet(a)
    out = value.astype(a.dtype)
    tensor = _ops._op(out, [x], lambda g: [np.asarray(g)[..., None, None]
                                           * _t(np.linalg.inv(a))])
    return sign.astype(a.dtype), tensor


def slogdet(x):
    """``(sign, log|det|)`` of each matrix; ``log|det|``'s gradient is ``A^-T``."""
    sign, value = _logabsdet(x, "slogdet")
    return _ops.constant(sign), value


def logdet(x):
    """``log det`` of each symmetric positive definite matrix (NaN where the determinant is
    negative, as TensorFlow's Cholesky-based ``logdet``)."""
    sign, value = _logabsdet(x, "logdet")
    return value if np.all(sign > 0) else _ops.add(value, np.where(sign > 0, 0, np.nan).astype(
        sign.dtype))


def cholesky(x, upper=False):
    """``L`` lower triangular with ``L @ L.T == x`` (``upper=True``: ``L.T``). The gradient is
    TensorFlow's: ``sym(L^-T Phi(L^T g) L^-1) / 2`` with ``Phi`` the lower triangle, its
    diagonal halved."""
    a = _matrices(x, "cholesky")
    try:
        low = np.linalg.cholesky(a).astype(a.dtype)
    except np.linalg.LinAlgError:
        raise InvalidArgumentError(None, None, "keras.ops.cholesky: the matrix is not "
                                   "symmetric positive definite") from None

    def vjp(g):
        g = np.asarray(g)
        g = _t(g) if upper else g
        low_inv = np.linalg.inv(low)
        middle = _t(low) @ g
        middle = np.tril(middle) - 0.5 * np.tril(np.triu(middle))
        grad = _t(low_inv) @ middle @ low_inv
        return [((grad + _t(grad)) * 0.5).astype(a.dtype)]

    return _ops._op(_t(low) if upper else low, [x], vjp)


def cholesky_inverse(x, upper=False):
    """The inverse of ``L @ L.T`` from its Cholesky factor ``x`` (``upper=True``: ``x`` is
    ``L.T``); only that triangle of ``x`` is read."""
    a = _matrices(x, "cholesky_inverse")
    rank, n = a.ndim, a.shape[-1]
    swap = [*range(rank - 2), rank - 1, rank - 2]
    triangle = (np.triu if upper else np.tril)(np.ones((n, n), dtype=a.dtype))
    low = _ops.multiply(_ops.cast(x, a.dtype), triangle)
    low = _ops.transpose(low, swap) if upper else low
    return inv(_ops.matmul(low, _ops.transpose(low, swap)))


def _lu_one(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Doolittle LU with partial pivoting (the largest magnitude, the first on ties): the
    packed ``L\\U`` and the row order ``perm`` with ``m[perm] == L @ U``."""
    lu = m.astype(np.float64)
    n = lu.shape[0]
    perm = np.arange(n)
    for k in range(n):
        p = k + int(np.argmax(np.abs(lu[k:, k])))
        lu[[k, p]], perm[[k, p]] = lu[[p, k]], perm[[p, k]]
        if lu[k, k] != 0:
            lu[k + 1:, k] /= lu[k, k]
            lu[k + 1:, k + 1:] -= np.outer(lu[k + 1:, k], lu[k, k + 1:])
    return lu, perm


def lu_factor(x):
    """``(lu, pivots)``: the packed LU factors of each matrix (unit lower ``L`` below the
    diagonal, ``U`` on and above) and, as Keras on TensorFlow gives them, the inverse of the
    row permutation ``perm`` with ``x[perm] == L @ U`` (int32). Values only."""
    a = _matrices(x, "lu_factor")
    lu = np.empty(a.shape, np.float64)
    pivots = np.empty(a.shape[:-1], np.int32)
    for index in np.ndindex(*a.shape[:-2]):
        lu[index], perm = _lu_one(a[index])
        pivots[index] = np.argsort(perm)
    return _ops.constant(lu.astype(a.dtype)), _ops.constant(pivots)


def _values(out: dict | tuple | np.ndarray):
    return tuple(_ops.constant(np.asarray(v)) for v in out)


def qr(x, mode="reduced"):
    """``(q, r)``; ``mode`` 'reduced' or 'complete' (as Keras on TensorFlow)."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"keras.ops.qr: mode must be 'reduced' or 'complete', got {mode!r}")
    a = _matrices(x, "qr", square=False)
    q, r = np.linalg.qr(a, mode=mode)
    return _values((q.astype(a.dtype), r.astype(a.dtype)))


def svd(x, full_matrices=True, compute_uv=True):
    """``(u, s, vh)`` with ``x == u @ diag(s) @ vh``; ``s`` alone when ``compute_uv`` is
    False."""
    a = _matrices(x, "svd", square=False)
    if not compute_uv:
        return _ops.constant(np.linalg.svd(a, compute_uv=False).astype(a.dtype))
    u, s, vh = np.linalg.svd(a, full_matrices=bool(full_matrices))
    return _values((u.astype(a.dtype), s.astype(a.dtype), vh.astype(a.dtype)))


def eigh(x):
    """``(eigenvalues ascending, eigenvectors as columns)`` of symmetric matrices (the lower
    triangle is read)."""
    a = _matrices(x, "eigh")
    w, v = np.linalg.eigh(a)
    return _values((w.astype(a.dtype), v.astype(a.dtype)))


def lstsq(a, b, rcond=None):
    """The least-squares solution ``x`` of ``a @ x ~= b`` (one matrix; ``b`` a vector or
    matrix)."""
    m = _matrices(a, "lstsq", square=False)
    rhs = _ops._convert(b).astype(m.dtype)
    if m.ndim != 2 or rhs.ndim not in (1, 2) or rhs.shape[0] != m.shape[0]:
        raise ValueError(f"keras.ops.lstsq expects a (m, n) matrix and b (m,) or (m, k), got "
                         f"{m.shape} and {rhs.shape}")
    return _ops.constant(np.linalg.lstsq(m, rhs, rcond=rcond)[0].astype(m.dtype))


def pinv(x, rcond=None):
    """The Moore-Penrose pseudo-inverse (singular values below ``rcond`` times the largest
    count as zero; NumPy's default cut-off when None)."""
    a = _matrices(x, "pinv", square=False)
    cut = 1e-15 if rcond is None else float(rcond)
    return _ops.constant(np.linalg.pinv(a, rcond=cut).astype(a.dtype))


def matrix_rank(x, tol=None):
    """The number of singular values above ``tol`` (NumPy's default when None), int32."""
    a = _matrices(x, "matrix_rank", square=False)
    return _ops.constant(np.asarray(np.linalg.matrix_rank(a, tol=tol), dtype=np.int32))


_symbolic.accept_keras_tensors(globals())
# the shape-finding runs of a layer made from these (`convnp.layers.op_layer`) feed them
# ones + I, which every one of them accepts, not all-ones matrices (singular)
for _name in ("inv", "solve", "solve_triangular", "det", "slogdet", "logdet", "cholesky",
              "cholesky_inverse", "eigh"):
    globals()[_name].trial_identity = True
