"""Batch normalization on arrays: forward with batch or moving statistics, and backward.

Every function works on a 2-D ``(rows, features)`` view of the input (`to_rows`: free for
channels-last input ``(m, n_H, n_W, n_C)``): the statistics are per feature (column), taken
over all the rows. With ``x_hat = (x - mean) / sqrt(var + epsilon)``::

    y = gamma * x_hat + beta

Training uses the batch's mean and biased variance; inference the moving ones. Both forwards
compute ``y = x * scale + shift`` with per-feature ``scale = gamma / sqrt(var + eps)`` and
``shift = beta - mean * scale``: one pass over ``x`` writing ``y``. Training first reads ``x``
once for ``sum(x)`` and ``sum(x * x)`` (`moments`). Both passes can also add a residual and
rectify (``max(y, 0)``, capped at ``max_value`` for ReLU6): the fused BatchNormalization +
(Add +) ReLU of the model scheduler.

Each row pass is shared out over blocks of rows between the cores (`convnp.ops.threads`),
and each core walks its rows in blocks of about `BLOCK` numbers (`row_blocks`): every step of
a pass (multiply, add, rectify; mask, sums) runs on a block while it is in cache, so a pass
costs one trip through memory instead of one per NumPy call. Backward is two passes: the
masked output gradient written with its two column sums, then the input gradient.
``gamma``/``beta`` may be None (``scale=False`` / ``center=False``: 1 and 0). Arrays keep
the float dtype they are given; the per-feature statistics are computed in float64, the
shift in the data's dtype (`scale_and_shift`).

The readable loop twin is `convnp.ops.reference_batchnorm`.
"""

from __future__ import annotations

import numpy as np

from convnp.ops import elementwise
from convnp.ops.elementwise import ColumnTile, flat
from convnp.ops.threads import map_rows

# Below this many rows per core a pass is too small to share out between threads.
MIN_ROWS = 8192
# Each thread walks its rows in blocks of about this many numbers (512 KB of float32), so all
# the steps of a pass run on a block while it is in cache: one trip through memory per pass.
# Every NumPy call on a block hands the GIL over to the other thread and back, so blocks must
# not be too small either: on MobileNetV2's BatchNormalization + ReLU6 tensors, 128K numbers
# took 0.75-0.9x the time of 64K forward and backward (2 threads; 256K was no better).
BLOCK = 1 << 17
# At most this many rows in a summed column of a block (`_BlockSums`): the block's float32
# column sums stay accurate to ~1e-7 (the blocks' sums are then added in float64). The
# elementwise passes need no such cap: their blocks are `BLOCK` numbers at any width (at 16
# to 32 features, 1024-row blocks of 16-32K numbers made the affine pass 1.35-2.1x slower).
_BLOCK_ROWS = 1024
# Above this (mean^2 / variance), raw moments lose too many digits to cancellation.
_RAW_MOMENTS_LIMIT = 100.0


def _check_axis(axis, ndim: int) -> int:
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"batch norm: axis must be an int, got {axis!r}")
    if ndim < 2 or not -ndim <= axis < ndim or axis % ndim == 0:
        raise ValueError(f"batch norm: axis {axis} is not a feature axis of an array of rank "
                         f"{ndim} (expected 1..{ndim - 1} or -1..{1 - ndim})")
    return int(axis) % ndim


def to_rows(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``x`` as ``(rows, features)`` with the feature ``axis`` last (a view when ``axis`` is
    the last one and ``x`` is contiguous)."""
    axis = _check_axis(axis, x.ndim)
    if axis != x.ndim - 1:
        x = np.moveaxis(x, axis, -1)
    return x.reshape(-1, x.shape[-1])


def from_rows(a2d: np.ndarray, shape: tuple, axis: int = -1) -> np.ndarray:
    """Undo `to_rows`: ``(rows, features)`` back to ``shape``."""
    axis = int(axis) % len(shape)
    if axis == len(shape) - 1:
        return a2d.reshape(shape)
    moved = tuple(shape[:axis]) + tuple(shape[axis + 1:]) + (shape[axis],)
    return np.moveaxis(a2d.reshape(moved), -1, axis)


def _block_rows(n: int) -> int:
    """Rows of an elementwise pass's block of ``n`` columns: about `BLOCK` numbers."""
    return max(1, BLOCK // max(n, 1))


def row_blocks(rows: slice, n: int, step: int | None = None):
    """Consecutive slices of ``rows`` holding about `BLOCK` numbers of an ``(rows, n)``
    array each (``step`` rows each when given)."""
    step = step or _block_rows(n)
    for start in range(rows.start, rows.stop, step):
        yield slice(start, min(start + step, rows.stop))


# From this many columns, `_BlockSums` sums with `np.einsum`. Measured in whole training
# steps (same process, alternating) against the BLAS way for all widths: MobileNetV2 (16 to
# 960 channels) 0.91x, ResNet-50 0.97x, VGG 0.99x; from 16 columns instead of 64, happy
# (32 channels) 0.96x but VGG 1.02x, and alone over arrays larger than the caches, 32 columns
# took 1.6x the time.
EINSUM_COLUMNS = 64


# Narrow blocks are summed as wide ones: the numbers of a C-contiguous ``(rows, n)`` block,
# read as a ``(rows / k, k * n)`` matrix, put the block's column j in every wide column
# ``j + i * n``, so the wide column sums folded ``k`` to 1 are the block's. One call then
# streams `FOLD_WIDTH` numbers a row instead of n. Measured on one thread, both sums of
# tensors of 0.5-2M float32 (2 threads): 32 columns 2.0 -> 0.6 ms, 16 columns 0.94 -> 0.31,
# 64 columns 1.08 -> 0.63; widths of 512 to 2048 all did the same.
FOLD_WIDTH = 512


class _BlockSums:
    """Per-column float64 ``sum(a)`` and ``sum(a * b)`` over the blocks of one thread's rows
    (`add` each block, then read `totals`); each block is summed in its own dtype.

    A block is summed folded (`FOLD_WIDTH`) when it is contiguous; its last rows that do not
    fill a folded row are summed as they are. Below `EINSUM_COLUMNS` columns a sum is ``ones
    @ block``, a BLAS matrix-vector product: 3-7x faster than ``np.add.reduce(block,
    axis=0)`` on blocks of 32-96 columns, as the BLAS kernel keeps the column partial sums in
    registers; and ``sum(a * b)`` forms the product in a scratch block first. From
    `EINSUM_COLUMNS` on, ``np.einsum`` does both in one call each, with no scratch block (see
    there for the numbers).
    """

    def __init__(self, n: int, dtype):
        self.n = n
        self.fold = -(-FOLD_WIDTH // n) if 0 < n < FOLD_WIDTH else 1
        #: rows of a block to `add` (`row_blocks`): about `BLOCK` numbers, a multiple of the
        #: fold, and at most `_BLOCK_ROWS` rows in a folded column
        self.block_rows = max(self.fold, min(_BLOCK_ROWS * self.fold, BLOCK // max(n, 1))
                              // self.fold * self.fold)
        self.ones = np.ones(self.block_rows, dtype=dtype)
        self.product = np.empty(self.block_rows * n, dtype=dtype)
        self.wide = [np.zeros(n * self.fold), np.zeros(n * self.fold)]
        self.narrow = [np.zeros(n), np.zeros(n)] if self.fold > 1 else self.wide

    def add(self, a: np.ndarray, b: np.ndarray | None = None) -> None:
        """Add the column sums of the block ``a`` (and of ``a * b`` when ``b`` is given)."""
        rows = a.shape[0]
        head = 0
        if self.fold > 1 and a.flags.c_contiguous and (b is None or b.flags.c_contiguous):
            head = rows - rows % self.fold
        if head:
            width = self.n * self.fold
            self._add(self.wide, a[:head].reshape(-1, width),
                      None if b is None else b[:head].reshape(-1, width))
        if head < rows:
            self._add(self.narrow, a[head:], None if b is None else b[head:])

    def totals(self) -> tuple[np.ndarray, np.ndarray]:
        """``(sum(a), sum(a * b))`` per column over every block added, float64."""
        if self.fold == 1:
            return tuple(self.wide)
        return tuple(w.reshape(self.fold, self.n).sum(axis=0) + v
                     for w, v in zip(self.wide, self.narrow))

    def _add(self, totals, a: np.ndarray, b: np.ndarray | None) -> None:
        rows, n = a.shape
        if n >= EINSUM_COLUMNS:
            totals[0] += np.einsum("ij->j", a)
            if b is not None:
                totals[1] += np.einsum("ij,ij->j", a, b)
            return
        totals[0] += self.ones[:rows] @ a
        if b is not None:
            product = self.product[:a.size].reshape(rows, n)
            # an overflowing product makes an infinite sum, which the callers handle; no
            # warning (the einsum this replaces gave none)
            with np.errstate(over="ignore"):
                np.multiply(a, b, out=product)
            totals[1] += self.ones[:rows] @ product


def _sums(x2d: np.ndarray, shift=None) -> list:
    """Per-column float64 ``sum(x)`` and ``sum(x * x)`` (of ``x - shift`` when given), a
    block at a time: each block is read from memory once, the second sum reads it from
    cache."""

    def part(r: slice) -> tuple:
        n = x2d.shape[1]
        sums = _BlockSums(n, x2d.dtype)
        for block in row_blocks(r, n, sums.block_rows):
            values = x2d[block] if shift is None else x2d[block] - shift
            sums.add(values, values)
        return sums.totals()

    parts = map_rows(part, x2d.shape[0], MIN_ROWS)
    return [sum(p[i] for p in parts) for i in (0, 1)]


def moments(x2d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and biased variance (float64) of a ``(rows, n)`` array.

    One read of ``x`` for ``sum(x)`` and ``sum(x * x)`` (no array is written). The raw second
    moment loses ``mean^2 / var`` times more relative precision than the centred one; the
    float32 block sums are good to ~1e-7, so past `_RAW_MOMENTS_LIMIT` the variance is taken
    again from centred values (and the mean corrected by their sum).
    """
    rows = x2d.shape[0]
    if rows == 0:
        raise ValueError("batch norm: the batch statistics need at least one row, got 0")
    total, total_sq = _sums(x2d)
    mean = total / rows
    var = np.maximum(total_sq / rows - mean * mean, 0.0)
    if np.all(mean * mean <= _RAW_MOMENTS_LIMIT * var):
        return mean, var
    # both sums again, of values centred on the mean (rounded to x's dtype: nearly centred)
    shift = mean.astype(x2d.dtype)
    total, total_sq = _sums(x2d, shift)
    offset = total / rows
    return shift + offset, np.maximum(total_sq / rows - offset * offset, 0.0)


def inverse_std(variance, epsilon: float) -> np.ndarray:
    """``1 / sqrt(variance + epsilon)`` in float64."""
    return 1.0 / np.sqrt(np.asarray(variance, dtype=np.float64) + float(epsilon))


def scale_and_shift(mean, variance, gamma, beta, epsilon: float,
                    dtype) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature ``scale = gamma / sqrt(var + eps)`` (computed in float64) and
    ``shift = beta - mean * scale`` (``y = x * scale + shift``), in ``dtype``.

    The shift is computed in ``dtype`` from the rounded scale, as TensorFlow's
    ``x * inv + (beta - mean * inv)`` does: where ``x`` equals the mean, ``x * scale`` and
    ``mean * scale`` are the same rounded product and ``y`` is ``beta`` exactly. A batch of one
    image normalized over a 1x1 map (pix2pix's bottleneck) then gives exactly 0, and the ReLU
    after it takes TensorFlow's slope at 0, not that of a 1e-7 rounding residue.
    """
    scale = inverse_std(variance, epsilon)
    if gamma is not None:
        scale = scale * gamma
    scale = scale.astype(dtype)
    shift = -(np.asarray(mean, dtype=np.float64).astype(dtype) * scale)
    if beta is not None:
        shift = np.asarray(beta).astype(dtype) + shift
    return scale, shift.astype(dtype, copy=False)


def affine(x2d: np.ndarray, scale: np.ndarray, shift: np.ndarray, residual2d=None,
           relu: bool = False, max_value: float | None = None) -> np.ndarray:
    """``x * scale + shift`` per column, plus ``residual2d`` when given, then ``max(., 0)``
    when ``relu`` (and ``min(., max_value)`` with a cap): one threaded pass writing a new
    ``(rows, n)`` array."""
    y2d = np.empty(x2d.shape, dtype=x2d.dtype)
    n = x2d.shape[1]
    cap = None if max_value is None else x2d.dtype.type(max_value)
    scale_tile, shift_tile = (ColumnTile(v, _block_rows(n), len(x2d))
                              for v in (scale, shift))

    def rows_pass(r: slice) -> None:
        for block in row_blocks(r, n):
            out = flat(y2d[block])
            # reading a block through reshape is free when it is contiguous (else a copy)
            np.multiply(x2d[block].reshape(-1), scale_tile.of(out), out=out)
            out += shift_tile.of(out)
            if residual2d is not None:
                out += residual2d[block].reshape(-1)
            if relu:
                elementwise.relu(out, out=out, cap=cap)

    map_rows(rows_pass, x2d.shape[0], MIN_ROWS)
    return y2d


def add_affine(x2d: np.ndarray, scale: np.ndarray, shift: np.ndarray,
               target2d: np.ndarray) -> None:
    """``target += x * scale + shift`` per column, in one threaded pass (``target2d``
    C-contiguous, ``x2d``'s shape)."""
    n = x2d.shape[1]
    scale_tile, shift_tile = (ColumnTile(v, _block_rows(n), len(x2d))
                              for v in (scale, shift))

    def rows_pass(r: slice) -> None:
        term = _scratch(n, x2d.dtype).reshape(-1)
        for block in row_blocks(r, n):
            out = flat(target2d[block])
            part = term[:out.size]
            np.multiply(x2d[block].reshape(-1), scale_tile.of(out), out=part)
            part += shift_tile.of(out)
            out += part

    map_rows(rows_pass, x2d.shape[0], MIN_ROWS)


def update_moving(moving: np.ndarray, batch_value: np.ndarray, momentum: float) -> None:
    """``moving <- momentum * moving + (1 - momentum) * batch_value``, in place."""
    moving[...] = moving * momentum + batch_value * (1.0 - momentum)


class BatchNormCache(tuple):
    """What backward needs: ``(x2d, mean, inv_std, gamma, batch_stats)``.

    ``x2d`` is the input seen as ``(rows, features)`` (None when no gradient needs it),
    ``mean`` and ``inv_std`` the float64 statistics used, ``batch_stats`` whether they were
    the batch's own (then the gradient flows through them). Attributes: ``variance`` (the
    batch's biased variance, for the moving averages), ``shape`` and ``axis`` of the input.
    """

    variance: np.ndarray
    shape: tuple
    axis: int

    @classmethod
    def make(cls, x2d, mean, inv_std, gamma, batch_stats: bool, variance, shape,
             axis: int) -> BatchNormCache:
        cache = cls((x2d, mean, inv_std, gamma, batch_stats))
        cache.variance, cache.shape, cache.axis = variance, tuple(shape), axis % len(shape)
        return cache


def _check_params(x: np.ndarray, axis, **per_feature) -> int:
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise TypeError(f"batch norm: x must be a float ndarray, got "
                        f"{getattr(x, 'dtype', type(x).__name__)}")
    axis = _check_axis(axis, x.ndim)
    n = x.shape[axis]
    for name, value in per_feature.items():
        if value is not None and np.shape(value) != (n,):
            raise ValueError(f"batch norm: {name} must have shape ({n},) (the size of axis "
                             f"{axis}), got {np.shape(value)}")
    return axis


def batch_norm_forward(x: np.ndarray, gamma, beta, epsilon: float, axis: int = -1,
                       residual=None, relu: bool = False,
                       max_value: float | None = None) -> tuple[np.ndarray, BatchNormCache]:
    """Training forward: normalize with the batch's own statistics.

    Args:
        x: input, e.g. ``(m, n_H, n_W, n_C)``; features along ``axis``.
        gamma, beta: ``(n_C,)`` or None.
        epsilon: added to the variance.
        axis: the feature axis.
        residual: optional array of ``x``'s shape added after the normalization.
        relu: rectify the result (``max(y, 0)``).
        max_value: with ``relu``, cap the result there too (ReLU6: 6).

    Returns:
        ``(y, cache)``: ``y`` of ``x``'s shape and dtype; ``cache.mean`` is ``cache[1]``,
        ``cache.variance`` the biased batch variance (for the moving averages).
    """
    axis = _check_params(x, axis, gamma=gamma, beta=beta)
    x2d = to_rows(x, axis)
    mean, var = moments(x2d)
    scale, shift = scale_and_shift(mean, var, gamma, beta, epsilon, x.dtype)
    res2d = None if residual is None else to_rows(np.asarray(residual, dtype=x.dtype), axis)
    y2d = affine(x2d, scale, shift, res2d, relu, max_value)
    cache = BatchNormCache.make(x2d, mean, inverse_std(var, epsilon), gamma, True, var, x.shape, axis)
    return from_rows(y2d, x.shape, axis), cache


def batch_norm_inference(x: np.ndarray, moving_mean, moving_variance, gamma, beta,
                         epsilon: float, axis: int = -1, residual=None, relu: bool = False,
                         max_value: float | None = None,
                         keep_input: bool = True) -> tuple[np.ndarray, BatchNormCache]:
    """Inference forward: normalize with the moving statistics (one pass over ``x``).

    Same arguments as `batch_norm_forward`, plus ``moving_mean``/``moving_variance``
    ``(n_C,)``; ``keep_input=False`` leaves ``x`` out of the cache (nothing will ask for
    ``gamma``'s gradient).
    """
    axis = _check_params(x, axis, gamma=gamma, beta=beta, moving_mean=moving_mean,
                         moving_variance=moving_variance)
    x2d = to_rows(x, axis)
    scale, shift = scale_and_shift(moving_mean, moving_variance, gamma, beta, epsilon, x.dtype)
    res2d = None if residual is None else to_rows(np.asarray(residual, dtype=x.dtype), axis)
    y2d = affine(x2d, scale, shift, res2d, relu, max_value)
    mean = np.asarray(moving_mean, dtype=np.float64)
    cache = BatchNormCache.make(x2d if keep_input else None, mean, inverse_std(moving_variance, epsilon),
                   gamma, False, None, x.shape, axis)
    return from_rows(y2d, x.shape, axis), cache


def gradient_terms(cache: BatchNormCache, dbeta: np.ndarray, dgamma, rows: int,
                   dtype) -> tuple:
    """Per-feature ``k, a, c`` of ``dx = k * dy + a * x + c`` (``a``, ``c`` None without batch
    statistics: then ``dx = k * dy``), cast to ``dtype``.

    With ``k = gamma * inv_std`` the gradient through the batch mean and variance is
    ``k * (dy - dbeta / rows - x_hat * dgamma / rows)``; expanding ``x_hat`` gives ``a`` and
    ``c``, so no ``x_hat`` array is formed.
    """
    _, mean, inv_std, gamma, batch_stats = cache
    k = inv_std if gamma is None else gamma * inv_std
    if not batch_stats:
        return k.astype(dtype), None, None
    a = -k * inv_std * dgamma / rows
    c = -k * dbeta / rows - a * mean
    return k.astype(dtype), a.astype(dtype), c.astype(dtype)


def batch_norm_backward(dy: np.ndarray, cache: BatchNormCache, compute_dx: bool = True,
                        relu_output=None, max_value: float | None = None,
                        keep_dz: bool = False) -> tuple:
    """Gradients of a batch normalization (followed, with ``relu_output``, by a ReLU).

    Args:
        dy: gradient of the output, the input's shape.
        cache: from `batch_norm_forward` or `batch_norm_inference`.
        compute_dx: False skips the input gradient (returned as None).
        relu_output: the rectified output the forward returned (``relu=True``): ``dy`` is
            first masked where it is 0 (ReLU's backward, one multiply in the same pass),
            and where it equals ``max_value`` when the forward was capped.
        keep_dz: also return the masked gradient (a residual's gradient).

    Returns:
        ``(dx, dgamma, dbeta)`` (float64 ``dgamma``/``dbeta``; ``dgamma`` None when the
        cache has no input), and ``dz`` last with ``keep_dz``. ``dy`` is never written.
    """
    x2d, mean, inv_std, _, batch_stats = cache
    if tuple(dy.shape) != cache.shape:
        raise ValueError(f"batch norm backward: dy must have the input's shape {cache.shape}, "
                         f"got {dy.shape}")
    axis = cache.axis
    dy2d = to_rows(np.asarray(dy), axis)
    rows, n = dy2d.shape
    y2d = None if relu_output is None else to_rows(np.asarray(relu_output), axis)
    cap = None if max_value is None else dy2d.dtype.type(max_value)
    dz2d = dy2d if y2d is None else np.empty(dy2d.shape, dtype=dy2d.dtype)

    def partial_sums(r: slice) -> tuple:
        # the masked gradient of a block is written, then summed while it is in cache
        sums = _BlockSums(n, dy2d.dtype)
        for block in row_blocks(r, n, sums.block_rows):
            if y2d is not None:
                y = y2d[block]
                passes = y > 0
                if cap is not None:
                    passes &= y < cap
                np.multiply(dy2d[block], passes, out=dz2d[block])
            sums.add(dz2d[block], None if x2d is None else x2d[block])
        return sums.totals()

    parts = map_rows(partial_sums, rows, MIN_ROWS)
    dbeta = sum(p[0] for p in parts)
    dgamma = None if x2d is None else (sum(p[1] for p in parts) - mean * dbeta) * inv_std
    extra = (from_rows(dz2d, cache.shape, axis),) if keep_dz else ()
    if not compute_dx:
        return (None, dgamma, dbeta) + extra
    k, a, c = gradient_terms(cache, dbeta, dgamma, rows, dy2d.dtype)
    # The masked gradient is ours unless it is kept: then dx is written over it.
    dx2d = dz2d if dz2d is not dy2d and not keep_dz else np.empty(dy2d.shape, dtype=dy2d.dtype)

    tiles = [ColumnTile(v, _block_rows(n), len(dy2d))
             for v in ((k, a, c) if batch_stats else (k,))]

    def input_gradient(r: slice) -> None:
        product = _scratch(n, dy2d.dtype).reshape(-1) if batch_stats else None
        for block in row_blocks(r, n):
            out = flat(dx2d[block])
            np.multiply(dz2d[block].reshape(-1), tiles[0].of(out), out=out)
            if batch_stats:
                term = product[:out.size]
                np.multiply(x2d[block].reshape(-1), tiles[1].of(out), out=term)
                out += term
                out += tiles[2].of(out)

    map_rows(input_gradient, rows, MIN_ROWS)
    return (from_rows(dx2d, cache.shape, axis), dgamma, dbeta) + extra


def _scratch(n: int, dtype) -> np.ndarray:
    """A buffer for one block of `row_blocks` (of ``n`` columns)."""
    return np.empty((_block_rows(n), n), dtype=dtype)
