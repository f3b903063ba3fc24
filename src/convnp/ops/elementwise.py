"""Elementwise steps that NumPy runs much slower in their obvious spelling, and `blockwise`,
which runs a chain of elementwise passes block by block in cache on all cores.

Measured here (NumPy 2.4, x86-64 with AVX-512, one thread, float32 blocks of 128K numbers):

- **ReLU.** ``np.maximum(x, 0)`` takes ~60 µs a block: NumPy's maximum loop with a scalar
  operand is not vectorized. ``np.clip(x, 0, inf)`` computes the same numbers in ~23 µs
  (NaN stays NaN, ``inf`` stays ``inf``; only ``-0.0`` stays ``-0.0`` where maximum would
  give ``+0.0``, and the two compare equal). `relu` is that.
- **A per-column vector.** ``x * v`` for ``x`` of shape ``(rows, n)`` and ``v`` of shape
  ``(n,)`` broadcasts ``v`` over the rows, and NumPy runs its inner loop once per row (``n``
  numbers at a time): ~35 µs a block for ``n`` from 32 to 1024, ~90 µs for ``n = 8``. With
  ``v`` repeated to the block's length beforehand (`ColumnTile`) the product is one flat loop
  over two contiguous arrays: ~18 µs. The tile is made once per call and read from cache by
  every block.
- **A choice per number.** ``np.where(mask, a, b)`` on float32 takes ~4.5 ns a number when
  the mask is random (the signs of a ReLU's input): it branches on each one and the branches
  are mispredicted. `select` picks the same bits with integer masks: 0.4-0.8 ns.
"""

from __future__ import annotations

import numpy as np

from convnp.ops.threads import map_rows


def relu(x: np.ndarray, out: np.ndarray | None = None, cap=None) -> np.ndarray:
    """``max(x, 0)`` (and ``min(., cap)`` when given: ReLU6), into ``out`` if given."""
    return np.clip(x, 0, np.inf if cap is None else cap, out=out)


def leaky_relu(x: np.ndarray, slope: float) -> np.ndarray:
    """``x`` where ``x > 0``, else ``slope * x``, as a new array of ``x``'s dtype.

    ``max(x, slope x)`` for slopes up to 1 (``min`` above): two vectorized passes.
    ``np.where(x > 0, x, slope * x)`` picks each number by a branch, and on random signs it
    costs about 6 ns a number on this AVX2 machine against 0.3 for a multiply.
    """
    if slope == 0:
        return relu(x)
    scaled = np.multiply(x, x.dtype.type(slope))
    (np.maximum if slope <= 1 else np.minimum)(x, scaled, out=scaled)
    return scaled


_BITS = {np.dtype(np.float32): np.int32, np.dtype(np.float64): np.int64}


def select(mask, a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """``np.where(mask, a, b)`` bit for bit (``b`` None: zeros), without a branch per number.

    For float32/float64 arrays ``a`` and ``b`` of one dtype (anything else goes to
    `np.where`): the mask as integers of all ones or all zeros, ANDed with each operand's
    bits and ORed together, so NaN, infinities and the sign of zero come through as
    `np.where` gives them. Broadcasts as `np.where` does."""
    mask, a = np.asarray(mask), np.asarray(a)
    itype = _BITS.get(a.dtype)
    if itype is None or mask.dtype != bool or (b is not None and np.asarray(b).dtype != a.dtype):
        return np.where(mask, a, a.dtype.type(0) if b is None else b)
    shape = np.broadcast_shapes(mask.shape, a.shape, () if b is None else np.shape(b))
    bits = mask.astype(itype)
    np.negative(bits, out=bits)  # 1 -> all ones
    out = np.empty(shape, a.dtype)
    out_bits = out.view(itype)
    np.bitwise_and(a.view(itype), bits, out=out_bits)
    if b is not None:
        np.invert(bits, out=bits)
        picked = np.bitwise_and(np.asarray(b).view(itype), bits,
                                out=bits if bits.shape == shape else None)
        out_bits |= picked
    return out


def select_gradient(dy: np.ndarray, mask: np.ndarray, inside: float,
                    outside: float = 0.0) -> np.ndarray:
    """``dy * (inside if mask else outside)`` as a new array of ``dy``'s shape and dtype (the
    backward of a piecewise-linear activation), without a branch per number (see
    `leaky_relu`)."""
    dy = np.asarray(dy)
    factor = np.multiply(mask, dy.dtype.type(inside - outside), dtype=dy.dtype)
    if outside:
        factor += dy.dtype.type(outside)
    factor *= dy
    return factor


def elu(x: np.ndarray, alpha: float, scale: float = 1.0) -> np.ndarray:
    """``scale * (x if x > 0 else alpha * expm1(x))`` (ELU; SELU with its constants) as a
    new array of ``x``'s dtype: ``relu(x) + alpha * expm1(min(x, 0))``, which needs no
    branch per number (see `leaky_relu`); big arrays block by block on all cores."""
    t = x.dtype.type

    def kernel(out, xb, negative):
        np.clip(xb, -np.inf, 0, out=negative)
        np.expm1(negative, out=negative)
        negative *= t(alpha)
        relu(xb, out=out)
        out += negative
        if scale != 1.0:
            out *= t(scale)

    return blockwise(kernel, np.empty(x.shape, x.dtype), [x], (x.dtype,))


def elu_gradient(dy: np.ndarray, x: np.ndarray, y: np.ndarray, alpha: float,
                 scale: float = 1.0, zero_is_positive: bool = False) -> np.ndarray:
    """The backward of `elu` from its output ``y``: ``dy * scale`` where x > 0 (x >= 0 with
    ``zero_is_positive``, TensorFlow's SeluGrad), else ``dy * (y + scale * alpha)``;
    computed as ``min(y, 0) + scale * alpha + [positive] (scale - scale * alpha)``."""
    t = np.result_type(x, y).type
    offset, positive_slope = t(scale * alpha), t(scale)
    factor = np.clip(y, -np.inf, 0).astype(t, copy=False)
    factor += offset
    if positive_slope != offset:
        positive = np.greater_equal(x, 0) if zero_is_positive else np.greater(x, 0)
        factor += np.multiply(positive, positive_slope - offset, dtype=factor.dtype)
    factor *= dy
    return factor


# Numbers per block of `relu_gradient`; and half the fewest worth sharing between the cores
# (measured: two threads took 1.2x the time of one at 1M numbers, 0.63x at 3M and 6M).
GRADIENT_BLOCK = 1 << 17
_MIN_SHARED = 1 << 20


def relu_gradient(dy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """ReLU's backward from its output: ``dy`` where ``y > 0``, else 0, as a new array of
    ``dy``'s shape and dtype. Each block's mask is made and used while it is in cache, and
    the blocks are shared between the cores (``np.multiply(dy, y > 0)`` writes a whole
    boolean array first, on one core)."""
    if np.size(y) != np.size(dy):
        raise ValueError(f"relu_gradient: dy and y must have the same size, got shapes "
                         f"{np.shape(dy)} and {np.shape(y)}")
    if np.size(dy) < 2 * _MIN_SHARED:  # in cache anyway: the plain product is quicker
        return np.multiply(dy, np.reshape(y, np.shape(dy)) > 0)
    flat_dy = np.ascontiguousarray(dy).reshape(-1)
    flat_y = np.ascontiguousarray(y).reshape(-1)
    out = np.empty(flat_dy.shape, dtype=flat_dy.dtype)

    def part(r: slice) -> None:
        mask = np.empty(min(GRADIENT_BLOCK, r.stop - r.start), dtype=bool)
        for start in range(r.start, r.stop, GRADIENT_BLOCK):
            block = slice(start, min(start + GRADIENT_BLOCK, r.stop))
            passes = mask[:block.stop - block.start]
            np.greater(flat_y[block], 0, out=passes)
            np.multiply(flat_dy[block], passes, out=out[block])

    map_rows(part, flat_dy.size, _MIN_SHARED)
    return out.reshape(np.shape(dy))


# Numbers in a `ColumnTile` made for `ColumnTile.add_to` (256 KB of float32: it stays in cache).
TILE_NUMBERS = 1 << 16


class ColumnTile:
    """A per-column vector ``v`` of ``(rows, n)`` blocks, repeated for up to ``rows`` rows,
    so that elementwise steps with it run on flat contiguous arrays (see the module notes).

    Args:
        v: the ``(n,)`` vector (any shape with ``n`` numbers), in the blocks' dtype.
        rows: the most rows a block will have (default: `TILE_NUMBERS` numbers' worth).
        total_rows: the rows of the whole array the blocks come from, when known: the tile
            is never made taller (one image's bias add built 64K numbers for 16K before).
    """

    def __init__(self, v: np.ndarray, rows: int | None = None, total_rows: int | None = None):
        v = np.asarray(v).reshape(-1)
        self.rows = max(1, TILE_NUMBERS // max(v.size, 1)) if rows is None else rows
        if total_rows is not None:
            self.rows = max(1, min(self.rows, total_rows))
        self.flat = np.tile(v, self.rows)

    def of(self, block: np.ndarray) -> np.ndarray:
        """The tile matching ``block`` (a C-contiguous ``(r, n)`` array, as `flat` sees it)."""
        return self.flat[:block.size]

    def add_to(self, block: np.ndarray) -> None:
        """``block += v`` for a C-contiguous ``(r, n)`` block of any height, a tile's rows at
        a time (a bias added to a conv's output chunk)."""
        for start in range(0, block.shape[0], self.rows):
            part = flat(block[start:start + self.rows])
            part += self.of(part)


def flat(block: np.ndarray) -> np.ndarray:
    """A C-contiguous block as one flat view, to write into; raises if it is not contiguous
    (a reshape would then copy, and the writes would be lost)."""
    if not block.flags.c_contiguous:
        raise ValueError(f"flat: expected a C-contiguous block, got strides {block.strides} "
                         f"for shape {block.shape}")
    return block.reshape(-1)


# Numbers per block of `blockwise`. Every NumPy call on a block hands the GIL over when the
# other thread runs too, so a block must keep a call busy for well over the hand-over:
# with AVX-512 loops (a multiply 0.05-0.09 ns a number) a 64K block's call took 3-5 us
# and two threads ran a chain of them no faster than one. GELU on 524K float32 numbers,
# two threads, 64K -> 256K blocks: forward 0.99 -> 0.70 ms (1.8 -> 0.9 ms with each
# thread on its own half, as in split inference), backward 0.83 -> 0.67 ms; one thread
# was no slower. The block and its scratch arrays then live in L2/L3 rather than L1/L2.
BLOCK = 1 << 18
# Kernels with an exp, tanh or erf cost about 4 ns a number on one core of an AVX2 machine
# (session 16's), so sharing them pays from this many numbers a thread (GELU on 524k float32
# numbers: 1.5x on two cores). With AVX-512 loops they are 10x cheaper, and calls this short
# gain little from the second thread (see `BLOCK`); not re-measured as a threshold.
TRANSCENDENTAL_SHARE = 1 << 15


def map_flat(task, size: int, min_shared: int = TRANSCENDENTAL_SHARE) -> None:
    """Run ``task(rows)`` over ``range(size)``: in this thread below ``2 * min_shared``
    numbers, else split between the cores (`convnp.ops.threads.map_rows`)."""
    if size < 2 * min_shared:
        task(slice(0, size))
    else:
        map_rows(task, size, min_rows=min_shared)


def blockwise(kernel, out: np.ndarray, inputs, scratch=(), min_shared: int =
              TRANSCENDENTAL_SHARE) -> np.ndarray:
    """``kernel(out_block, *input_blocks, *scratch_blocks)`` over blocks of `BLOCK` numbers.

    A chain of NumPy passes (``np.exp(..., out=)``, ``+=``, ...) written as ``kernel`` then
    runs on one block while it is in cache, without temporaries, and the blocks are shared
    between the cores for big arrays. ``out`` and the ``inputs`` are arrays of the same size
    (flattened in C order; ``out`` must be C-contiguous); ``scratch`` lists the dtypes of
    per-thread work arrays the kernel may overwrite. Returns ``out``.
    """
    flat_out = flat(out)
    flats = [np.ascontiguousarray(a).reshape(-1) for a in inputs]
    if any(a.size != flat_out.size for a in flats):
        raise ValueError(f"blockwise: inputs of sizes {[a.size for a in flats]} for an output "
                         f"of {flat_out.size} numbers")

    def part(rows: slice) -> None:
        length = min(BLOCK, rows.stop - rows.start)
        work = [np.empty(length, dtype) for dtype in scratch]
        for start in range(rows.start, rows.stop, BLOCK):
            block = slice(start, min(start + BLOCK, rows.stop))
            n = block.stop - block.start
            kernel(flat_out[block], *(a[block] for a in flats), *(w[:n] for w in work))

    map_flat(part, flat_out.size, min_shared)
    return out


def sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))`` of a float array, block by block (`sigmoid_block`): only
    ``exp(-|x|)`` is evaluated, so no value overflows or warns."""
    return blockwise(sigmoid_block, np.empty(x.shape, x.dtype), [x], (x.dtype, bool))


def sigmoid_block(out, x, e, positive) -> None:
    """`sigmoid` of one block (`blockwise`): with ``e = exp(-|x|)``,
    ``1 / (1 + e)`` for x >= 0 and ``e / (1 + e)`` below (not ``1 - ...``, which would lose
    the relative accuracy of the small values). The numerator is ``max(e, [x >= 0])``: a
    masked copy (``np.copyto(..., where=)``) costs 12 ns a number on this AVX2 machine, three
    times the exp."""
    one = out.dtype.type(1)
    np.abs(x, out=e)
    np.negative(e, out=e)
    np.exp(e, out=e)
    np.add(e, one, out=out)
    np.greater_equal(x, 0, out=positive)
    np.maximum(e, positive, out=e)
    np.divide(e, out, out=out)
