"""Kernels along the last axis, row by row: layer normalization (a ConvNeXt block's, a
transformer's: `convnp.layers.LayerNormalization`'s common case) and softmax (attention's
scores: `tf.nn.softmax`).

Rows are short (64 numbers in the suite's ViT), and NumPy's reductions over the last axis
pay a call's overhead per row, and broadcasting ``(rows, 1)`` statistics back costs passes
over the whole array. Here the row sums are matrix-vector products (one BLAS call per block
of rows), and each block of rows goes through all its passes while it is in cache, the
blocks shared between the cores. Layer normalization's general form (any axes) stays in
`convnp.layers.layer_normalization`. Checked against the formulas in
tests/layers/test_layer_norm_kernels.py and tests/tensor/test_tape_elementwise_paths.py.
"""

from __future__ import annotations

import numpy as np

from convnp.ops.threads import map_rows

# numbers per block of rows: the block and its scratch stay in L2
BLOCK_NUMBERS = 1 << 16
# rows below twice this many run in the calling thread
MIN_SHARED_ROWS = 2048


def _block_rows(n: int) -> int:
    """Rows of ``n`` numbers in a block of about `BLOCK_NUMBERS`."""
    return max(1, BLOCK_NUMBERS // max(n, 1))


def _blocks(rows: slice, n: int):
    """The blocks (slices) of ``rows`` for rows of ``n`` numbers."""
    step = _block_rows(n)
    for start in range(rows.start, rows.stop, step):
        yield slice(start, min(start + step, rows.stop))


def layer_norm(x: np.ndarray, gamma, beta, epsilon: float):
    """Normalize ``x`` ``(..., C)`` over its last axis; ``gamma``/``beta`` ``(C,)`` or None.

    Returns ``(y, x_hat, inv_std)``: the output, the normalized input (both of ``x``'s
    shape) and the inverse standard deviations ``(..., 1)``.
    """
    n_C = x.shape[-1]
    x2 = np.ascontiguousarray(x).reshape(-1, n_C)
    dtype = x2.dtype
    mean_of = np.full(n_C, 1.0 / n_C, dtype=dtype)
    x_hat = np.empty_like(x2)
    y = np.empty_like(x2)
    inv_std = np.empty(x2.shape[0], dtype=dtype)
    eps = dtype.type(epsilon)

    def rows(part: slice) -> None:
        for b in _blocks(part, n_C):
            h, out = x_hat[b], y[b]
            np.subtract(x2[b], (x2[b] @ mean_of)[:, None], out=h)
            np.multiply(h, h, out=out)  # out as scratch for the squares
            inv = np.matmul(out, mean_of, out=inv_std[b])
            inv += eps
            np.sqrt(inv, out=inv)
            np.divide(dtype.type(1), inv, out=inv)
            h *= inv[:, None]
            if gamma is None:
                np.copyto(out, h)
            else:
                np.multiply(h, gamma, out=out)
            if beta is not None:
                out += beta

    map_rows(rows, x2.shape[0], MIN_SHARED_ROWS)
    return y.reshape(x.shape), x_hat.reshape(x.shape), inv_std.reshape(*x.shape[:-1], 1)


def layer_norm_backward(dy: np.ndarray, x_hat: np.ndarray, inv_std: np.ndarray, gamma):
    """Gradients of `layer_norm`: ``(dx, dgamma, dbeta)``, the last two ``(C,)`` sums over all
    rows (computed whether or not the layer has those weights)."""
    n_C = dy.shape[-1]
    dy2 = np.ascontiguousarray(dy, dtype=x_hat.dtype).reshape(-1, n_C)
    hat2 = x_hat.reshape(-1, n_C)
    inv2 = inv_std.reshape(-1)
    dtype = hat2.dtype
    mean_of = np.full(n_C, 1.0 / n_C, dtype=dtype)
    dbeta = np.add.reduce(dy2, axis=0)
    dx = np.multiply(dy2, hat2)
    dgamma = np.add.reduce(dx, axis=0)

    def rows(part: slice) -> None:
        scratch = np.empty((min(_block_rows(n_C), part.stop - part.start), n_C), dtype=dtype)
        for b in _blocks(part, n_C):
            out, h = dx[b], hat2[b]
            d_hat = dy2[b]
            if gamma is not None:
                d_hat = np.multiply(d_hat, gamma, out=scratch[:out.shape[0]])
            # dx = inv (d_hat - mean(d_hat) - x_hat mean(d_hat x_hat)), per row
            np.multiply(d_hat, h, out=out)
            projection = out @ mean_of
            np.multiply(h, projection[:, None], out=out)
            np.subtract(d_hat, out, out=out)
            out -= (d_hat @ mean_of)[:, None]
            out *= inv2[b][:, None]

    map_rows(rows, dy2.shape[0], MIN_SHARED_ROWS)
    return dx.reshape(dy.shape), dgamma, dbeta


def by_rows(a: np.ndarray, axis: int) -> bool:
    """Whether a softmax of ``a`` along ``axis`` runs on these row kernels: float32/float64
    arrays of rank 2 or more, along their last axis."""
    return a.ndim >= 2 and axis in (-1, a.ndim - 1) and a.dtype in (np.float32, np.float64)


def softmax_rows(a: np.ndarray) -> np.ndarray:
    """``exp(a - max) / sum(exp(a - max))`` along the last axis of a float array, block by
    block of rows on all cores (attention's scores: 64 numbers a row, where NumPy's sum over
    the last axis pays a call's overhead per row; here the sums are matrix-vector products)."""
    n = a.shape[-1]
    a2 = np.ascontiguousarray(a).reshape(-1, n)
    out = np.empty_like(a2)
    ones = np.ones(n, dtype=a2.dtype)

    def rows(part: slice) -> None:
        for b in _blocks(part, n):
            e = out[b]
            np.subtract(a2[b], np.maximum.reduce(a2[b], axis=1)[:, None], out=e)
            np.exp(e, out=e)
            e /= (e @ ones)[:, None]

    map_rows(rows, a2.shape[0], MIN_SHARED_ROWS)
    return out.reshape(a.shape)


def softmax_rows_backward(g: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The gradient of `softmax_rows` given its output: ``out * (g - sum(g * out))`` along
    the last axis, by blocks of rows as the forward."""
    n = out.shape[-1]
    g2 = np.ascontiguousarray(g, dtype=out.dtype).reshape(-1, n)
    out2 = out.reshape(-1, n)
    dx = np.empty_like(out2)
    ones = np.ones(n, dtype=out2.dtype)

    def rows(part: slice) -> None:
        for b in _blocks(part, n):
            d = dx[b]
            np.multiply(g2[b], out2[b], out=d)
            np.subtract(g2[b], (d @ ones)[:, None], out=d)
            d *= out2[b]

    map_rows(rows, out2.shape[0], MIN_SHARED_ROWS)
    return dx.reshape(out.shape)
