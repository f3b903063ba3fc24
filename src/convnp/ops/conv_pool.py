"""A convolution followed by non-overlapping max pooling, computed as one step.

``pool(conv(A_prev))`` with pooling windows that tile the conv output (stride = window, no
padding) is the shape of the SIGNS model's first block: a 4×4×3×8 conv, then an 8×8 pool.
Run as two ops, the conv writes its whole output (8 MB for a batch of 64), the pool reads it
back, and backward builds a gradient of that size which is zero in 63 cells out of 64, only
for the conv to multiply it by every window of the input again. Here:

Forward
    The conv runs chunk by chunk as in `convnp.ops.conv`, and each chunk is pooled at once,
    while it is still in cache. Here the im2col matrix holds one *row* per (blocked) output
    position, copied from an NHWC padded copy of the input (a kernel row of a window is
    ``span * n_C_prev`` consecutive numbers there), and its rows are ordered by the row of
    the pooling window they fall in: the GEMM ``cols @ W`` then writes each window row as
    one contiguous slab, and runs much faster in this orientation than ``W.T @ cols`` (for
    the SIGNS conv 0.30 instead of 0.52 ms a chunk, and the copy 0.19 instead of 0.30 ms).
    The bias is added to the pooled values only (``max(z + b) = max(z) + b``, exactly, in
    floating point too, since rounding is monotone). When training, the pooling also records
    each window's winner: the first maximum in row-major window order, the same cell
    `convnp.ops.pool_backward` picks. The conv output itself is not kept.

    The chunks are sized by their im2col rows *and* their conv output, so that the pooling
    reads the output from cache. With ``relu`` (``Conv2D(activation="relu")``) the pooled
    values are rectified at the end: ReLU commutes with the maximum.

Backward
    Only the winners receive a gradient, so ``dW`` sums, for each filter and window, the
    pooled gradient times the input patch under the winner: the patches are gathered from the
    NHWC padded input kept by forward (one row of ``f_w * n_C_prev`` numbers per kernel row)
    and multiplied by the gradients, 1/(f_h_pool * f_w_pool) of the work of the dense
    product. That gather copies one patch per window *and filter*, so with more filters than
    window cells (MNIST's 32 filters behind 2x2 pools), or when the input gradient is needed
    too, the conv-output gradient is written whole instead (one pass per window cell: the
    pooled gradient where the winner's code is that cell's) and the ordinary `conv_backward`
    runs on it.

How the winners are found: the blocked conv (`BlockedConv`) computes ``block`` neighbouring
pixels of a row per im2col row, so the output of a chunk is ``(f_h_pool, n, n_H_pool,
n_W / block, block, n_C)``. A pooling window of width ``f_w_pool`` (a multiple of ``block``)
is then: ``block`` pixels of a block, ``f_h_pool`` rows, and ``f_w_pool / block`` blocks.
The maximum is taken in that order, each step keeping the smallest *window code*
``row * f_w_pool + column`` among the cells holding the maximum so far. The first two steps
meet candidates in increasing code order, so "replace only when strictly greater" keeps the
first; the last one does not, so ties there take the smaller code explicitly. Windows of up
to `SMALL_WINDOW` cells skip all that (`_pool_cells`): the maximum runs over the cells in
row-major order, and the code is the count of cells before the first one equal to it.
Inference needs no winners: larger windows then take the rows first (`_pool_rows_first`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from convnp.ops import elementwise
from convnp.ops.conv import (
    CHUNK_BYTES,
    NHWC_MIN_CHANNELS,
    BlockedConv,
    ConvCache,
    NHWCInput,
    _pad,
    channels_first_padded,
    conv_backward,
)
from convnp.ops.padding import Geometry, as_pair, conv_geometry, float_dtype
from convnp.ops.reductions import column_sums
from convnp.ops.row_taps import copy_windows
from convnp.ops.threads import map_parts, map_rows


@dataclass
class ConvPoolCache:
    """What `conv_max_pool_backward` needs; callers treat it as opaque.

    Attributes:
        A_prev: the input batch, NHWC (a reference, not a copy).
        A_pad: the input with the conv's padding, NHWC.
        W, b: the kernels (in the compute dtype) and the bias as given.
        geometry: the conv's window geometry; ``hparameters``: the dict it came from.
        blocked: the blocked layout forward used (see `BlockedConv`).
        pool_size: ``(f_h_pool, f_w_pool)``; the stride is the same.
        winners: for each ``(example, pooled row, pooled column, channel)``, the window code
            ``row * f_w_pool + column`` of the cell that won the maximum.
        positive: with ``relu``, where the output is positive (ReLU passes a gradient);
            None without.
    """

    A_prev: np.ndarray
    A_pad: np.ndarray
    W: np.ndarray
    b: np.ndarray
    geometry: Geometry
    hparameters: dict
    blocked: BlockedConv
    pool_size: tuple[int, int]
    winners: np.ndarray
    positive: np.ndarray | None = None

    def conv_cache(self) -> ConvCache:
        """The `ConvCache` `conv_backward` wants (built on demand: only the input gradient
        needs it). Many input channels take the NHWC path, on the padded input kept here."""
        if self.W.shape[2] >= NHWC_MIN_CHANNELS:
            cache = ConvCache(self.A_prev, self.W, self.b, self.hparameters, A_t=None,
                              kernel=self.W, geometry=self.geometry, blocked=None)
            cache.nhwc = NHWCInput(self.A_pad, pointwise=False)
            return cache
        A_t = channels_first_padded(self.A_prev.astype(self.W.dtype, copy=False),
                                    self.geometry.pads)
        return ConvCache(self.A_prev, self.W, self.b, self.hparameters, A_t=A_t,
                         kernel=self.W, geometry=self.geometry, blocked=self.blocked)


def _im2col_window_rows(A_pad: np.ndarray, geometry: Geometry, f_h_pool: int, n_H_pool: int,
                        out: np.ndarray | None) -> np.ndarray:
    """The im2col matrix of a (blocked) conv as *rows*, one per output position, ordered
    ``(r, example, h_pool, w)`` where the conv output row is ``h = h_pool * f_h_pool + r``.

    Args:
        A_pad: the padded input, NHWC, contiguous.
        geometry: the (blocked) conv geometry; its pads are already applied.
        f_h_pool, n_H_pool: pooling window height and pooled height: rows past the last
            whole window are not computed.
        out: optional buffer, reused across chunks.

    Returns:
        ``(f_h_pool * n * n_H_pool * n_W, f_h * f_w * n_C)``, columns ordered ``(i, j, c)``
        as ``W.reshape(-1, n_C_out)``.
    """
    n, _, _, n_C = A_pad.shape
    f_h, f_w = geometry.kernel
    s_h, s_w = geometry.stride
    n_W = geometry.out_hw[1]
    st_m, st_h, st_w, st_c = A_pad.strides
    windows = as_strided(
        A_pad,
        shape=(f_h_pool, n, n_H_pool, n_W, f_h, f_w * n_C),
        strides=(st_h * s_h, st_m, st_h * s_h * f_h_pool, st_w * s_w, st_h, st_c),
        writeable=False,
    )
    return copy_windows(windows, out).reshape(-1, f_h * f_w * n_C)


# Windows of at most this many cells are pooled cell by cell (`_pool_cells`); larger ones
# (the SIGNS model's 8x8) by rows and blocks first, in fewer NumPy calls.
SMALL_WINDOW = 16


def _pool_cells(z: np.ndarray, pw: int, out: np.ndarray, codes_out: np.ndarray | None) -> None:
    """`_pool_blocked` for small windows: a running maximum over the cells of the windows in
    row-major order, then each window's code is the number of cells before its first maximum,
    counted as "still looking" flags (one byte per window) anded along that order. Plain
    comparisons, no masked copies: ties and the order are settled by the count."""
    ph, _, _, _, block, _ = z.shape
    Wo = out.shape[2]
    per_window = pw // block
    cells = [z[r, :, :, t:Wo * per_window:per_window, p, :]
             for r in range(ph) for t in range(per_window) for p in range(block)]
    if len(cells) == 1:
        out[...] = cells[0]
    else:
        np.maximum(cells[0], cells[1], out=out)
    for cell in cells[2:]:
        np.maximum(out, cell, out=out)
    if codes_out is None:
        return
    looking = np.not_equal(cells[0], out)
    codes_out[...] = looking
    for cell in cells[1:-1]:
        looking &= np.not_equal(cell, out)
        codes_out += looking


def _pool_rows_first(z: np.ndarray, pw: int, out: np.ndarray) -> None:
    """`_pool_blocked` without the winners (inference): the window rows first, each one
    contiguous slab of the chunk, so the longest step runs on contiguous memory; then the
    ``pw`` columns of each window on the ``f_h_pool`` times smaller result.

    Taking the pixels of each block first, as the winners need, reads the whole chunk
    through short strided runs (``n_C`` numbers): for the SIGNS model's predict batch this
    order took 0.86-0.88x the time (same process, alternating). With the winners kept, the
    same order counts the rows before each first maximum (`_window_rows`, `_window_columns`):
    on AVX-512, 171 against 373 us a chunk of the SIGNS model's 8x8 windows (one thread).
    """
    ph, n, Ho, _, block, n_C = z.shape
    Wo = out.shape[2]
    best = z[0].copy()
    for r in range(1, ph):
        np.maximum(best, z[r], out=best)
    columns = best[:, :, :Wo * pw // block].reshape(n, Ho, Wo, pw, n_C)
    out[...] = columns[:, :, :, 0]
    for c in range(1, pw):
        np.maximum(out, columns[:, :, :, c], out=out)


def _window_rows(z: np.ndarray, width: int, best: np.ndarray, rows_before: np.ndarray) -> None:
    """The rows step of pooling with winners, on one chunk: for each of the first ``width``
    conv-output columns of every window row band, ``best`` (``(n, n_H_pool, width, n_C)``)
    gets the maximum over the window's rows, and ``rows_before`` the number of rows before
    the first one holding it. The rows are contiguous slabs of the chunk; the count is made
    with "still looking" flags (one byte a number, no masked copies)."""
    ph, n, Ho, n_Wb, block, n_C = z.shape
    rows = z.reshape(ph, n, Ho, n_Wb * block, n_C)[:, :, :, :width]
    best[...] = rows[0]
    for r in range(1, ph):
        np.maximum(best, rows[r], out=best)
    rows_before[...] = 0
    if ph == 1:
        return
    looking = np.not_equal(rows[0], best)  # rows 0 .. r all below the maximum
    for r in range(1, ph - 1):
        rows_before += looking
        looking &= np.not_equal(rows[r], best)
    rows_before += looking


def _window_columns(best: np.ndarray, rows_before: np.ndarray, pool_size: tuple[int, int],
                    out: np.ndarray, codes_out: np.ndarray) -> None:
    """The columns step after `_window_rows`: each window's maximum over its ``pw`` columns
    into ``out``, and into ``codes_out`` its winner's code ``row * pw + column``, the first
    maximum in row-major order: the smallest code among the columns that hold the maximum (a
    later column may hold it in an earlier row). A window whose maximum is NaN gets the code
    of its last cell."""
    ph, pw = pool_size
    n, Ho, Wo, n_C = out.shape
    cells = best.reshape(n, Ho, Wo, pw, n_C)
    rows_of = rows_before.reshape(cells.shape)
    out[...] = cells[..., 0, :]
    for c in range(1, pw):
        np.maximum(out, cells[..., c, :], out=out)
    last = ph * pw - 1
    codes_out[...] = last
    for c in range(pw):
        code = rows_of[..., c, :] * pw + c  # below ph * pw: the codes' dtype holds it
        code[cells[..., c, :] != out] = last  # not a maximum of its window
        np.minimum(codes_out, code, out=codes_out)


def _pool_blocked(z: np.ndarray, pool_size: tuple[int, int], out: np.ndarray,
                  codes_out: np.ndarray | None) -> None:
    """Max-pool a chunk of blocked conv output.

    Args:
        z: ``(f_h_pool, n, n_H_pool, n_W / block, block, n_C)``: pixel ``w = w_block * block
            + p`` of conv output row ``h = h_pool * f_h_pool + r`` is
            ``z[r, :, h_pool, w_block, p]`` (see `_im2col_window_rows`).
        pool_size: ``(f_h_pool, f_w_pool)``, with ``f_w_pool`` a multiple of ``block``.
        out: ``(n, n_H_pool, n_W_pool, n_C)``, receives the maxima.
        codes_out: same shape, receives the winners' window codes (None: not wanted).

    Small windows go cell by cell (`_pool_cells`), larger ones rows first
    (`_pool_rows_first`). The winners of larger windows are found in two steps instead, which
    `conv_max_pool_forward` runs itself: `_window_rows` chunk by chunk, `_window_columns` over
    the whole batch.
    """
    ph, pw = pool_size
    if ph * pw <= SMALL_WINDOW:
        _pool_cells(z, pw, out, codes_out)
    elif codes_out is None:
        _pool_rows_first(z, pw, out)
    else:
        raise ValueError(f"_pool_blocked: the winners of {ph}x{pw} windows come from "
                         f"_window_rows and _window_columns")


# The widest blocked product (``block * n_C`` columns) of the fused forward, or None for the
# default (`block_columns`). Measured on the SIGNS model (8 filters, 8x8 pool) with OpenBLAS's
# SkylakeX (AVX-512) kernels, blocks of 4 pixels (32 columns) against 2 (16): 0.90x a training
# step and a predict batch. Inference goes to 64 columns: the happy model's predict batch (32
# filters, blocks of 2 pixels instead of none) took 0.75-0.80x, MNIST's 0.96x; in training,
# where the backward reads the blocked layout too, 64 columns made the SIGNS step 1.04x (its
# second conv: blocks of 4 pixels instead of 2). With the Haswell (AVX2) kernels, once
# OpenBLAS's buffers are warm (`convnp.ops.threads`), the same widths win too: SIGNS train
# step 0.86-0.89x and predict 0.89-0.96x of 16 columns, MNIST 0.90-0.99x and 0.96-0.98x.
BLOCK_COLUMNS: int | None = None


def block_columns(training: bool = True) -> int:
    """`BLOCK_COLUMNS`, or by default 32 (training) or 64 (inference)."""
    if BLOCK_COLUMNS is not None:
        return BLOCK_COLUMNS
    return 32 if training else 64


def _chunks(m: int, blocked: BlockedConv, rows: int, itemsize: int) -> list[slice]:
    """Split the batch into equal chunks whose im2col rows *and* conv output (``rows`` of
    each per example) stay under `CHUNK_BYTES`: the pooling reads that output back, so it
    must still be in cache (a one-channel conv's output is 3.5 times its im2col block).
    Several chunks come in a multiple of the cores, as in `batch_chunks`."""
    per_example = sum(blocked.W_cols.shape) * rows * itemsize
    count = -(-m * per_example // CHUNK_BYTES)
    if count > 1:
        cores = os.cpu_count() or 1
        count = min(m, -(-count // cores) * cores)
    bounds = [round(i * m / count) for i in range(count + 1)]
    return [slice(bounds[i], bounds[i + 1]) for i in range(count)]


def conv_max_pool_forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray, hparameters: dict,
                          pool_size, keep_winners: bool = True, relu: bool = False):
    """``pool_forward(conv_forward(A_prev, W, b, hparameters)[0], {"f": pool_size, "stride":
    pool_size}, "max")[0]``, in one pass.

    With ``relu`` the conv output is rectified before the pooling (``Conv2D(...,
    activation="relu")``). ReLU is increasing, so that is the ReLU of the pooled values, and
    the gradients agree too: a window whose maximum is positive sends its gradient to the
    same first maximum, and one whose maximum is ``<= 0`` sends none either way.

    Args:
        A_prev: input batch, shape ``(m, n_H_prev, n_W_prev, n_C_prev)``.
        W, b, hparameters: as for `conv_forward`.
        pool_size: int or ``(f_h_pool, f_w_pool)``; the windows do not overlap (stride = size)
            and are not padded: rows/columns of the conv output past the last whole window are
            dropped, as in 'valid' pooling.
        keep_winners: record each window's winner for `conv_max_pool_backward` (training).
        relu: rectify the output (see above).

    Returns:
        ``(P, cache)``: ``P`` of shape ``(m, n_H // f_h_pool, n_W // f_w_pool, n_C)`` (``n_H,
        n_W`` being the conv output size), and a `ConvPoolCache` (None without
        ``keep_winners``).
    """
    op = "conv_max_pool_forward"
    geometry = conv_geometry(A_prev, W, b, hparameters, op=op)
    if geometry.dilation != (1, 1):
        raise ValueError(f"{op}: only undilated convolutions are fused, got dilation "
                         f"{geometry.dilation}")
    ph, pw = as_pair(pool_size, "pool_size")
    n_H, n_W = geometry.out_hw
    if ph > n_H or pw > n_W:
        raise ValueError(f"{op}: pool_size {(ph, pw)} is larger than the conv output "
                         f"{(n_H, n_W)}")
    dtype = float_dtype(A_prev, W, b)
    A = A_prev.astype(dtype, copy=False)
    W = W.astype(dtype, copy=False)
    m = A.shape[0]
    n_C = W.shape[3]
    Ho, Wo = n_H // ph, n_W // pw

    A_pad = _pad(A, geometry.pads)
    blocked = BlockedConv.plan(geometry, W, row_group=pw, columns=block_columns(keep_winners))
    block = blocked.block
    n_out = blocked.W_cols.shape[1]  # block * n_C
    P = np.empty((m, Ho, Wo, n_C), dtype=dtype)
    code_dtype = next(t for t in (np.int8, np.int16, np.int32) if ph * pw <= np.iinfo(t).max)
    winners = np.empty((m, Ho, Wo, n_C), dtype=code_dtype) if keep_winners else None

    # Large windows with their winners: the rows step runs chunk by chunk on contiguous
    # slabs, the columns step once over the batch on arrays f_h_pool times smaller (chunk
    # by chunk, its many short NumPy calls kept two threads from gaining anything).
    by_rows = keep_winners and ph * pw > SMALL_WINDOW
    if by_rows:
        row_best = np.empty((m, Ho, Wo * pw, n_C), dtype=dtype)
        rows_before = np.empty(row_best.shape, dtype=code_dtype)

    def forward_chunks(chunks: list[slice]) -> None:
        cols_buffer = z_buffer = None
        for chunk in chunks:
            cols = cols_buffer = _im2col_window_rows(A_pad[chunk], blocked.geometry, ph, Ho,
                                                     cols_buffer)
            size = cols.shape[0] * n_out
            if z_buffer is None or z_buffer.size < size:
                z_buffer = np.empty(size, dtype=dtype)
            z = z_buffer[:size].reshape(cols.shape[0], n_out)
            np.matmul(cols, blocked.W_cols, out=z)
            z = z.reshape(ph, chunk.stop - chunk.start, Ho, n_W // block, block, n_C)
            if by_rows:
                _window_rows(z, Wo * pw, row_best[chunk], rows_before[chunk])
            else:
                _pool_blocked(z, (ph, pw), P[chunk],
                              None if winners is None else winners[chunk])

    map_parts(forward_chunks, _chunks(m, blocked, ph * Ho * (n_W // block), dtype.itemsize))
    if by_rows:
        map_rows(lambda r: _window_columns(row_best[r], rows_before[r], (ph, pw), P[r],
                                           winners[r]), m)
    P += b.reshape(n_C).astype(dtype, copy=False)
    if relu:
        elementwise.relu(P, out=P)
    if not keep_winners:
        return P, None
    return P, ConvPoolCache(A, A_pad, W, b, geometry, hparameters, blocked, (ph, pw), winners,
                            positive=P > 0 if relu else None)


def _winner_pixels(cache: ConvPoolCache) -> tuple[np.ndarray, np.ndarray]:
    """Conv-output row and column of every winner, each ``(m, n_H_pool, n_W_pool, n_C)``."""
    ph, pw = cache.pool_size
    _, Ho, Wo, _ = cache.winners.shape
    r, j = np.divmod(cache.winners.astype(np.intp), pw)
    h = r + (np.arange(Ho) * ph)[:, None, None]
    w = j + (np.arange(Wo) * pw)[:, None]
    return h, w


# Below this many numbers a pass is not worth sharing between threads.
_SPLIT_SIZE = 1 << 17


def _conv_output_gradient(dP: np.ndarray, cache: ConvPoolCache) -> np.ndarray:
    """The gradient of the conv output: ``dP`` at each window's winner, zero elsewhere (and in
    the rows and columns past the last whole window).

    One pass per window offset: the cells at offset ``(r, c)`` of every window form one
    strided slab, and they take ``dP`` where the winner's code is ``r * f_w_pool + c``.
    """
    ph, pw = cache.pool_size
    m, Ho, Wo, n_C = dP.shape
    n_H, n_W = cache.geometry.out_hw
    dZ = np.empty((m, n_H, n_W, n_C), dtype=dP.dtype)
    codes = cache.winners

    def fill(examples: range) -> None:
        rows = slice(examples[0], examples[-1] + 1)
        target, grad, code = dZ[rows], dP[rows], codes[rows]
        target[:, Ho * ph:] = 0
        target[:, :Ho * ph, Wo * pw:] = 0
        won = np.empty(grad.shape, dtype=bool)
        for r in range(ph):
            for c in range(pw):
                np.equal(code, r * pw + c, out=won)
                np.multiply(grad, won, out=target[:, r:Ho * ph:ph, c:Wo * pw:pw])

    if dZ.size < _SPLIT_SIZE:  # too small to be worth a thread's start
        fill(range(m))
    else:
        map_parts(fill, range(m))
    return dZ


def conv_max_pool_backward(dP: np.ndarray, cache: ConvPoolCache,
                           compute_dA_prev: bool = True):
    """Gradients of `conv_max_pool_forward`.

    Args:
        dP: gradient w.r.t. the pooled output, shape ``(m, n_H_pool, n_W_pool, n_C)``.
        cache: from `conv_max_pool_forward` with ``keep_winners=True``.
        compute_dA_prev: set False to skip the input gradient (``dA_prev`` is then None).

    Returns:
        ``(dA_prev, dW, db)`` as `conv_backward` returns them.
    """
    if not isinstance(cache, ConvPoolCache):
        raise TypeError(f"conv_max_pool_backward: cache must come from "
                        f"convnp.ops.conv_max_pool_forward (keep_winners=True), "
                        f"got {type(cache).__name__}")
    W = cache.W
    f_h, f_w, n_C_prev, n_C = W.shape
    expected = cache.winners.shape
    m = expected[0]
    if not isinstance(dP, np.ndarray) or dP.shape != expected:
        raise ValueError(f"conv_max_pool_backward: dP must have shape {expected}, "
                         f"got {getattr(dP, 'shape', type(dP).__name__)}")
    dtype = W.dtype
    dP = dP.astype(dtype, copy=False)
    if cache.positive is not None:  # ReLU's gradient: none where the output is 0
        dP = dP * cache.positive
    ph, pw = cache.pool_size
    if compute_dA_prev or n_C > ph * pw:
        # The input gradient needs the dense conv-output gradient anyway; and with more
        # filters than cells in a window, gathering a patch per winner and filter copies more
        # than the dense im2col does (MNIST's first conv: 32 filters, 2x2 windows).
        return conv_backward(_conv_output_gradient(dP, cache), cache.conv_cache(),
                             compute_dA_prev=compute_dA_prev)

    db = column_sums(dP.reshape(-1, n_C)).astype(dtype).reshape(1, 1, 1, n_C)
    h, w = _winner_pixels(cache)
    # A kernel row of a window is f_w * n_C_prev consecutive numbers of the NHWC padded input.
    A_pad = cache.A_pad
    _, H_pad, W_pad, _ = A_pad.shape
    s_h, s_w = cache.geometry.stride
    flat = A_pad.reshape(-1)
    row_len = f_w * n_C_prev
    n_starts = A_pad.size // n_C_prev - f_w + 1
    # One (overlapping) row per pixel, viewed as a single opaque item so that fancy indexing
    # copies whole rows.
    kernel_rows = as_strided(flat, shape=(n_starts, row_len),
                             strides=(n_C_prev * flat.itemsize, flat.itemsize),
                             writeable=False).view(np.dtype((np.void, row_len * flat.itemsize)))
    top_left = (np.arange(m).reshape(m, 1, 1, 1) * H_pad + h * s_h) * W_pad + w * s_w
    top_left = np.ascontiguousarray(top_left.reshape(-1, n_C).T)  # one row per filter
    dP_by_filter = np.ascontiguousarray(dP.reshape(-1, n_C).T)
    row_offsets = np.arange(f_h) * W_pad

    def filter_gradients(channels: range) -> np.ndarray:
        out = np.empty((len(channels), f_h * row_len), dtype=dtype)
        for k, c in enumerate(channels):
            starts = (top_left[c][:, None] + row_offsets).reshape(-1)
            patches = kernel_rows[starts, 0].view(dtype).reshape(-1, f_h * row_len)
            np.matmul(dP_by_filter[c], patches, out=out[k])
        return out

    parts = map_parts(filter_gradients, range(n_C))
    dW = np.concatenate(parts).T.reshape(f_h, f_w, n_C_prev, n_C)
    return None, np.ascontiguousarray(dW), db
