"""3-D convolution, transposed convolution and pooling over NDHWC volumes.

Volumes are ``(m, n_D, n_H, n_W, n_C)`` (video clips, medical scans); conv kernels are
``(f_d, f_h, f_w, n_C_prev // groups, n_C)`` as Keras stores Conv3D's, transposed kernels
``(f_d, f_h, f_w, n_C, n_C_prev)`` as Conv3DTranspose's.

Every conv here is the 2-D convs' design (`convnp.ops.conv`) with one more axis:

1. *im2col rows over window offsets.* A strided view of the padded NDHWC volume gives every
   window as a row ``(taps * channels)``, columns in the kernel's order, so a conv is one
   matrix product ``cols @ W.reshape(-1, n_C)`` written straight into the NDHWC output.
2. *In tiles that fit the cache.* The im2col matrix is ``taps`` (27 for 3x3x3) times larger
   than the input, so it is never built for the whole batch: a tile is a few examples, or a
   slab of output depths of one example when one example alone outgrows `CHUNK_BYTES`
   (`volume_tiles`). Each tile's block is copied into a reused buffer and multiplied while it
   is in cache; the tiles are shared between the cores (`map_parts`, BLAS on one thread each).
3. *Backward the same way.* The weight gradient adds ``cols.T @ dZ`` tile by tile into one
   partial sum per thread. At stride 1 the input gradient is the forward conv of the padded
   ``dZ`` with the turned kernel (`_input_gradient_plan`); otherwise ``dZ @ W.T`` is
   scatter-added back one window offset at a time (`col2im_rows_add`), the adjoint of 1.
   Transposed convs are the same two passes the other way round. No transposed copy of a
   kernel is made for a product: BLAS reads ``W.T`` as it lies.
4. *By kernel depths at stride 1.* With 8 or more channels, a stride-1 conv copies only the
   (h, w) taps of one kernel depth, once per input depth, and multiplies that copy shifted by
   each kernel depth (`convnp.ops.row_taps`): 9 numbers a channel under 3x3x3, not 27. Its
   weight and input gradients go the same way.

Pooling makes one pass per window offset over a strided slice (running maximum and the
offset of the first maximum, or a running sum), examples shared between the cores; its
backward adds one slab per offset. No loop runs over examples or voxels anywhere.
Readable loop twins live in `convnp.ops.reference_conv3d`; tests compare the two.

Padding is TensorFlow's: ``"same"`` puts an odd extra voxel after (bottom/right/back).
Ops keep the float dtype they are given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from itertools import product

import numpy as np
from numpy.lib.stride_tricks import as_strided

from convnp.ops import conv as _conv
from convnp.ops import elementwise, tiled_windows
from convnp.ops.padding import layer_window_axes, transpose_crop, transpose_output_size
from convnp.ops.reductions import column_sums
from convnp.ops.row_taps import RowTaps, copy_windows
from convnp.ops.threads import map_parts, map_rows

# Size of the im2col block of one tile (see `volume_tiles`): the 2-D convs' budget.
CHUNK_BYTES = _conv.CHUNK_BYTES

Triple = tuple[int, int, int]
Pads3 = tuple[tuple[int, int], tuple[int, int], tuple[int, int]]

__all__ = [
    "Conv3DCache",
    "conv3d_backward",
    "conv3d_forward",
    "conv3d_transpose_backward",
    "conv3d_transpose_forward",
    "pool3d_backward",
    "pool3d_forward",
    "volume_geometry",
]


# ---------------------------------------------------------------------------------------------
# Geometry


def as_triple(value, name: str, minimum: int = 1) -> Triple:
    """An int or a ``(d, h, w)`` triple of ints, each at least ``minimum``."""
    def is_int(v):
        return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))

    if is_int(value):
        triple = (int(value),) * 3
    elif isinstance(value, (tuple, list)) and len(value) == 3 and all(is_int(v) for v in value):
        triple = tuple(int(v) for v in value)
    else:
        raise TypeError(f"{name} must be an int or a (d, h, w) triple of ints, got {value!r}")
    if min(triple) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return triple


def spread_kernel(kernel: Triple, dilation: Triple) -> Triple:
    """The extent of a dilated kernel: ``(f - 1) * d + 1`` per axis."""
    return tuple((f - 1) * d + 1 for f, d in zip(kernel, dilation))


def volume_geometry(in_dhw, kernel: Triple, stride: Triple, padding: str,
                    dilation: Triple = (1, 1, 1)) -> tuple[Pads3, Triple]:
    """``(pads, out_dhw)`` of a sliding window over a volume of ``in_dhw``.

    ``padding`` is ``"valid"`` or ``"same"``; an input size may be ``None`` (the output size
    is then ``None`` and so are that axis' pads).

    Raises:
        ValueError: the window does not fit a known input size.
    """
    if padding not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    return layer_window_axes(in_dhw, spread_kernel(kernel, dilation), stride, padding)


def _check_volume(x, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 5:
        raise ValueError(f"{name} must be a volume batch (m, n_D, n_H, n_W, n_C), got shape "
                         f"{x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    return x


def _pad(x: np.ndarray, pads: Pads3, value: float = 0.0) -> np.ndarray:
    """``x`` inside a new array filled with ``value`` (``x`` itself when nothing is padded)."""
    if not any(b or a for b, a in pads):
        return x
    shape = (x.shape[0], *(n + b + a for n, (b, a) in zip(x.shape[1:4], pads)), x.shape[4])
    out = np.zeros(shape, dtype=x.dtype) if value == 0 else np.full(shape, value, x.dtype)
    out[(slice(None), *(slice(b, b + n) for (b, _), n in zip(pads, x.shape[1:4])))] = x
    return out


def _tap_slices(offset: Triple, stride: Triple, dilation: Triple, out: Triple):
    """The slices of a padded volume that hold tap ``offset`` of every window."""
    return tuple(slice(k * d, k * d + s * (o - 1) + 1, s)
                 for k, d, s, o in zip(offset, dilation, stride, out))


def _offsets(kernel: Triple):
    """The window offsets ``(i, j, k)`` in row-major order (the kernel's tap order)."""
    return product(*(range(f) for f in kernel))


def _crop(xp: np.ndarray, pads, dhw) -> np.ndarray:
    return xp[(slice(None), *(slice(b, b + n) for (b, _), n in zip(pads, dhw)))]


# ---------------------------------------------------------------------------------------------
# Tiles: the pieces of work a conv is cut into
#
# As in the 2-D convs (`convnp.ops.conv`), im2col is never built for the whole batch: a tile
# of work is a few examples, or, when one example's im2col block alone outgrows the chunk
# budget, a slab of output depths of one example. The tile's block is copied into a buffer
# that stays in cache, multiplied right away, and the tiles are shared between the cores
# (`map_parts`; BLAS runs one thread each inside `fit`/`predict`).


@dataclass(frozen=True)
class VolumeWindows:
    """The geometry of a sliding window over a padded volume: kernel, stride, dilation and
    the output size ``out`` (pads already applied)."""

    kernel: Triple
    stride: Triple
    dilation: Triple
    out: Triple

    @property
    def span(self) -> Triple:
        return spread_kernel(self.kernel, self.dilation)

    @property
    def taps(self) -> int:
        return self.kernel[0] * self.kernel[1] * self.kernel[2]


@dataclass(frozen=True)
class SlabTile:
    """The examples ``batch`` and, of each, the slab ``part`` of ``parts`` equal slabs of
    output depths (``parts`` is 1 for whole examples)."""

    batch: slice
    part: int = 0
    parts: int = 1

    def depths(self, n: int) -> slice:
        """This tile's slab of ``n`` depths (slabs differ in depth by one at most)."""
        return slice(self.part * n // self.parts, (self.part + 1) * n // self.parts)

    def band(self, xp: np.ndarray, windows: VolumeWindows) -> tuple[np.ndarray, Triple]:
        """The depths of the padded volume ``xp`` this tile's outputs read, and the output
        size of the tile."""
        depths = self.depths(windows.out[0])
        first = depths.start * windows.stride[0]
        last = (depths.stop - 1) * windows.stride[0] + windows.span[0]
        return xp[self.batch, first:last], (depths.stop - depths.start, *windows.out[1:])

    def voxels(self, array: np.ndarray) -> np.ndarray:
        """This tile's voxels of an output-shaped C-contiguous array as a ``(voxels,
        channels)`` matrix (a view, which products may write into)."""
        return array[self.batch, self.depths(array.shape[1])].reshape(-1, array.shape[-1])


def _cores() -> int:
    """How many cores the tiles are planned for (tests pretend to have two)."""
    return os.cpu_count() or 1


def volume_tiles(m: int, windows: VolumeWindows, channels: int, itemsize: int,
                 backward_of: int | None = None, slabs: bool = True) -> list[SlabTile]:
    """Tiles whose im2col block (``channels`` per tap) stays within `CHUNK_BYTES`.

    Whole examples when they fit: as equal chunks as possible, a multiple of the cores in
    number (at least one per core when the batch allows). Slabs of depths of each example
    when one example does not fit, or when the batch has fewer examples than cores (a clip
    predicted alone still runs on every core); ``slabs=False`` forbids them (a backward that
    scatter-adds into the padded input: two slabs of one example share input depths).
    ``backward_of``: the filter count of the conv whose backward runs on the tiles: blocks a
    quarter of the budget (the weight gradient reads each right after it is built), but of at
    least ``2 * backward_of`` voxels (each tile adds a whole partial product into dW).
    """
    o_d, o_h, o_w = windows.out
    if m == 0 or 0 in windows.out:  # nothing to compute: one empty tile
        return [SlabTile(slice(0, m))]
    budget = CHUNK_BYTES if backward_of is None else CHUNK_BYTES // 4
    min_voxels = 2 * backward_of if backward_of else 1
    depth_bytes = o_h * o_w * windows.taps * channels * itemsize  # one depth of one example
    per_example = o_d * depth_bytes
    cores = _cores()
    if slabs and o_d > 1 and (per_example > budget or m < cores):
        min_depth = -(-min_voxels // (o_h * o_w))
        parts = -(-o_d // max(1, budget // depth_bytes, min_depth))
        if m < cores:
            parts = max(parts, -(-cores // m))
        parts = min(parts, max(1, o_d // min_depth))  # every slab at least min_depth deep
        if parts > 1:
            return [SlabTile(slice(e, e + 1), k, parts) for e in range(m) for k in range(parts)]
    step = max(1, budget // per_example, -(-min_voxels // (o_d * o_h * o_w)))
    count = -(-m // step)
    if count > 1:
        count = min(m, -(-count // cores) * cores)
    elif m >= cores > 1:
        count = cores
    bounds = [round(i * m / count) for i in range(count + 1)]
    return [SlabTile(slice(bounds[i], bounds[i + 1])) for i in range(count)]


def im2col_rows(xp: np.ndarray, windows: VolumeWindows, out_dhw: Triple,
                buffer: np.ndarray | None = None) -> np.ndarray:
    """Every window of the padded NDHWC volumes ``xp`` (a band, a channel slice: any view)
    as a row: ``(m * o_d * o_h * o_w, taps * n_C)``, columns in the kernel's order
    ``(i, j, k, c)``. ``buffer``: an optional flat array reused across tiles."""
    st_m, st_d, st_h, st_w, st_c = xp.strides
    steps = tuple(st * s for st, s in zip((st_d, st_h, st_w), windows.stride))
    taps = tuple(st * d for st, d in zip((st_d, st_h, st_w), windows.dilation))
    view = as_strided(xp, shape=(xp.shape[0], *out_dhw, *windows.kernel, xp.shape[4]),
                      strides=(st_m, *steps, *taps, st_c), writeable=False)
    return copy_windows(view, buffer).reshape(-1, windows.taps * xp.shape[4])


def col2im_rows_add(drows: np.ndarray, dxp: np.ndarray, windows: VolumeWindows,
                    out_dhw: Triple) -> None:
    """The adjoint of `im2col_rows`: add each row's entries onto the cells of ``dxp`` they
    were copied from, one strided slab per window offset (one tap's windows never share a
    cell, so a plain ``+=`` is exact)."""
    drows = drows.reshape(dxp.shape[0], *out_dhw, windows.taps, dxp.shape[4])
    for t, offset in enumerate(_offsets(windows.kernel)):
        cells = _tap_slices(offset, windows.stride, windows.dilation, out_dhw)
        dxp[(slice(None), *cells)] += drows[:, :, :, :, t, :]


def _group_slices(n: int, groups: int) -> list[slice]:
    size = n // groups
    return [slice(g * size, (g + 1) * size) for g in range(groups)]


def _conv_tiles(xp: np.ndarray, kernels: list[np.ndarray], windows: VolumeWindows,
                out: np.ndarray, tiles: list[SlabTile], bias=None, relu: bool = False) -> None:
    """``out`` (NDHWC) = the conv of the padded ``xp`` with one ``(taps * c_g, f_g)``
    matrix per group, tile by tile on every core; plus ``bias``, then ReLU if asked."""
    channels = _group_slices(xp.shape[4], len(kernels))
    filters = _group_slices(out.shape[4], len(kernels))
    bias = None if bias is None else elementwise.ColumnTile(
        bias, total_rows=out.size // max(out.shape[4], 1))

    def run(part: list[SlabTile]) -> None:
        buffer = None
        for tile in part:
            band, dhw = tile.band(xp, windows)
            target = tile.voxels(out)
            for kernel, c, f in zip(kernels, channels, filters):
                cols = buffer = im2col_rows(band[..., c] if len(kernels) > 1 else band,
                                            windows, dhw, buffer)
                if len(kernels) == 1:
                    np.matmul(cols, kernel, out=target)
                else:
                    target[:, f] = cols @ kernel
            if bias is not None:
                bias.add_to(target)
            if relu:
                elementwise.relu(target, out=target)

    map_parts(run, tiles)


# A conv with few input channels and few filters (a video net's first layer: 3 channels, 16
# filters) makes a thin product on a long im2col matrix whose copy costs more than the
# product. As in the 2-D convs (`convnp.ops.conv.BlockedConv`), such a conv is rewritten so
# that one im2col row serves `block` neighbouring output voxels along the width.
BLOCK_MAX_CHANNELS = 4


@dataclass
class BlockedVolumeConv:
    """A conv whose im2col rows each serve ``block`` neighbouring output voxels of a row.

    Outputs ``(d, h, w0 .. w0 + block - 1)`` read the input columns
    ``w0 * s_w .. (w0 + block - 1) * s_w + f_w - 1``: a window ``span = (block - 1) * s_w +
    f_w`` wide, moved ``block * s_w`` at a time. So this is a plain conv with kernel
    ``(f_d, f_h, span)``, stride ``(s_d, s_h, block * s_w)`` and ``block * n_C`` filters (the
    original ones at width offsets ``p * s_w``, zeros elsewhere), whose output
    ``(m, o_d, o_h, o_w / block, block * n_C)`` is the original output in memory. Measured on
    the c3d model's first conv (8 clips 16x32x32x3, 16 filters): block 2 makes the forward
    8.5 ms of CPU instead of 10.9 (a quarter more multiply-adds, a third less copying, a
    product twice as wide); block 4 and the blocked 16- and 32-channel convs were slower.

    Attributes:
        block: output voxels per im2col row.
        windows: the blocked window geometry.
        kernel: the blocked filters as a matrix ``(f_d * f_h * span * n_C_prev, block * n_C)``.
    """

    block: int
    windows: VolumeWindows
    kernel: np.ndarray

    @classmethod
    def plan(cls, W: np.ndarray, windows: VolumeWindows, groups: int
             ) -> BlockedVolumeConv | None:
        """The blocked conv, or None when blocking does not pay (see `BLOCK_MAX_CHANNELS`,
        `convnp.ops.conv.BLOCK_COLUMNS`) or does not fit (grouped, dilated along the width,
        an output width that no block divides)."""
        f_d, f_h, f_w, n_C_prev, n_C = W.shape
        if groups != 1 or n_C_prev > BLOCK_MAX_CHANNELS or windows.dilation[2] != 1:
            return None
        o_d, o_h, o_w = windows.out
        block = next((b for b in (2,) if b * n_C <= _conv.BLOCK_COLUMNS and o_w % b == 0), 1)
        if block == 1:
            return None
        s_d, s_h, s_w = windows.stride
        span = (block - 1) * s_w + f_w
        blocked = np.zeros((f_d, f_h, span, n_C_prev, block, n_C), dtype=W.dtype)
        for p in range(block):
            blocked[:, :, p * s_w:p * s_w + f_w, :, p, :] = W
        geometry = VolumeWindows((f_d, f_h, span), (s_d, s_h, block * s_w),
                                 windows.dilation, (o_d, o_h, o_w // block))
        return cls(block, geometry, blocked.reshape(-1, block * n_C))

    def view(self, Z: np.ndarray) -> np.ndarray:
        """An output-shaped array (C-contiguous) seen as the blocked conv's output."""
        m, o_d, o_h, o_w, n_C = Z.shape
        return Z.reshape(m, o_d, o_h, o_w // self.block, self.block * n_C)

    def fold(self, dW_blocked: np.ndarray, W_shape: tuple[int, ...]) -> np.ndarray:
        """The gradient of the original filters from that of the blocked matrix."""
        f_d, f_h, f_w, n_C_prev, n_C = W_shape
        s_w = self.windows.stride[2] // self.block
        parts = dW_blocked.reshape(f_d, f_h, -1, n_C_prev, self.block, n_C)
        dW = parts[:, :, 0:f_w, :, 0, :].copy()
        for p in range(1, self.block):
            dW += parts[:, :, p * s_w:p * s_w + f_w, :, p, :]
        return dW


# Stride-1 convs with at least this many input channels run by kernel depths
# (`convnp.ops.row_taps`): the (h, w) taps of one kernel depth are copied once per input
# depth, 9 numbers a channel under 3x3x3 instead of 27. Measured on the c3d model's convs
# (8 clips, 16 and 32 channels, 2 threads): forward 0.88-0.99x, weight gradient 0.76-0.84x,
# input gradient 0.51-0.75x, the whole train step 0.80x; 3 channels were 1.1-1.5x slower.
DEPTH_TAPS_MIN_CHANNELS = 8


def _depth_taps(windows: VolumeWindows, n_C_prev: int, groups: int = 1) -> RowTaps | None:
    """The plan by kernel depths of an ungrouped conv with enough channels, or None."""
    if groups != 1 or n_C_prev < DEPTH_TAPS_MIN_CHANNELS:
        return None
    return RowTaps.plan(windows.kernel, windows.stride, windows.dilation, windows.out)


# ---------------------------------------------------------------------------------------------
# Convolution


class Conv3DCache(tuple):
    """``(A_prev, W, b, hparameters)`` as the course's conv caches, plus the padded input
    (``padded``), the pads (``pads``), the output size (``out``), the window geometry
    (``windows``) and the blocked form of the conv if it ran as one (``blocked``) that
    backward needs."""

    padded: np.ndarray
    pads: Pads3
    out: Triple
    windows: VolumeWindows
    blocked: BlockedVolumeConv | None


def _conv_hparameters(strides, padding, dilation, groups) -> dict:
    stride = as_triple(strides, "strides")
    dilation = as_triple(dilation, "dilation_rate")
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    if isinstance(groups, (bool, np.bool_)) or not isinstance(groups, (int, np.integer)) \
            or groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    return {"stride": stride, "pad": padding.lower(), "dilation": dilation,
            "groups": int(groups)}


def _group_kernels(W: np.ndarray, groups: int) -> list[np.ndarray]:
    """Each group's filters as a ``(taps * c_g, f_g)`` matrix (a view when ungrouped)."""
    if groups == 1:
        return [W.reshape(-1, W.shape[4])]
    return [W[..., f].reshape(-1, f.stop - f.start) for f in _group_slices(W.shape[4], groups)]


def conv3d_forward(A_prev, W, b=None, strides=1, padding: str = "valid", dilation=1,
                   groups: int = 1, relu: bool = False) -> tuple[np.ndarray, Conv3DCache]:
    """3-D convolution (cross-correlation) of a volume batch with a kernel.

    Args:
        A_prev: ``(m, n_D_prev, n_H_prev, n_W_prev, n_C_prev)``.
        W: ``(f_d, f_h, f_w, n_C_prev // groups, n_C)``.
        b: ``(n_C,)`` (any shape with ``n_C`` values) or ``None``.
        strides, dilation: an int or a ``(d, h, w)`` triple.
        padding: ``"valid"`` or ``"same"``.
        groups: split channels and filters into this many groups (1: an ordinary conv).
        relu: apply ``max(z, 0)`` to the output in the same pass (the returned ``Z`` is then
            the rectified output).

    Returns:
        ``Z`` ``(m, n_D, n_H, n_W, n_C)`` and a `Conv3DCache`.
    """
    A_prev = _check_volume(A_prev, "A_prev")
    W = np.asarray(W)
    hp = _conv_hparameters(strides, padding, dilation, groups)
    if W.ndim != 5:
        raise ValueError(f"W must be (f_d, f_h, f_w, n_C_prev // groups, n_C), got shape "
                         f"{W.shape}")
    n_C_prev, n_C = A_prev.shape[-1], W.shape[-1]
    if n_C_prev % hp["groups"] or n_C % hp["groups"] \
            or W.shape[3] * hp["groups"] != n_C_prev:
        raise ValueError(f"W {W.shape} with groups={hp['groups']} does not fit an input with "
                         f"{n_C_prev} channels")
    if b is not None and np.size(b) != n_C:
        raise ValueError(f"b must hold {n_C} values (one per filter), got shape "
                         f"{np.shape(b)}")
    kernel = tuple(W.shape[:3])
    pads, out = volume_geometry(A_prev.shape[1:4], kernel, hp["stride"], hp["pad"],
                                hp["dilation"])
    W = np.ascontiguousarray(W, dtype=A_prev.dtype)
    windows = VolumeWindows(kernel, hp["stride"], hp["dilation"], out)
    padded = _pad(A_prev, pads)
    m = A_prev.shape[0]
    Z = np.empty((m, *out, n_C), dtype=A_prev.dtype)
    bias = None if b is None else np.asarray(b, dtype=A_prev.dtype).reshape(n_C)
    blocked = BlockedVolumeConv.plan(W, windows, hp["groups"])
    depth_taps = _depth_taps(windows, n_C_prev, hp["groups"]) if blocked is None else None
    if depth_taps is not None:
        depth_taps.conv(padded, W.reshape(-1, n_C), Z, bias, relu)
    elif blocked is None:
        tiles = volume_tiles(m, windows, W.shape[3], W.dtype.itemsize)
        _conv_tiles(padded, _group_kernels(W, hp["groups"]), windows, Z, tiles, bias, relu)
    else:
        tiles = volume_tiles(m, blocked.windows, n_C_prev, W.dtype.itemsize)
        _conv_tiles(padded, [blocked.kernel], blocked.windows, blocked.view(Z), tiles,
                    None if bias is None else np.tile(bias, blocked.block), relu)
    cache = Conv3DCache((A_prev, W, b, hp))
    cache.padded, cache.pads, cache.out, cache.windows = padded, pads, out, windows
    cache.blocked = blocked
    return Z, cache


def _input_gradient_plan(dZ: np.ndarray, W: np.ndarray, cache: Conv3DCache):
    """At stride 1 the input gradient is itself a conv: the "full" conv of ``dZ`` (padded
    by ``span - 1 - pad`` on each side) with the kernel turned by 180 degrees and its channel
    axes swapped. Returns ``(dZ_padded, windows, kernels)`` (one ``(taps * f_g, c_g)`` matrix
    per group, the transpose of a contiguous copy: BLAS reads it as it lies), or None when
    the conv is strided, padded wider than its window, or its output is hardly larger than
    the window (then the product + scatter-add is as fast)."""
    windows = cache.windows
    if windows.stride != (1, 1, 1) or np.prod(windows.out) < 4 * windows.taps:
        return None
    pads = tuple((s - 1 - b, s - 1 - a) for s, (b, a) in zip(windows.span, cache.pads))
    if min(min(p) for p in pads) < 0:
        return None
    A_prev, groups = cache[0], cache[3]["groups"]
    kernels = []
    for f in _group_slices(W.shape[4], groups):
        turned = np.ascontiguousarray(W[::-1, ::-1, ::-1, :, f].transpose(3, 0, 1, 2, 4))
        kernels.append(turned.reshape(turned.shape[0], -1).T)
    full = VolumeWindows(windows.kernel, (1, 1, 1), windows.dilation, A_prev.shape[1:4])
    return _pad(dZ, pads), full, kernels


def _depth_taps_backward(dZ: np.ndarray, cache: Conv3DCache, as_conv,
                         compute_dA_prev: bool) -> tuple | None:
    """``(dA_prev, dW)`` by kernel depths (`_depth_taps`): the weight gradient on the conv's
    own input, the input gradient as the conv of ``as_conv`` (`_input_gradient_plan`). None
    when either does not apply (then both take the im2col rows)."""
    A_prev, W, _, hp = cache
    if cache.blocked is not None:
        return None
    taps = _depth_taps(cache.windows, A_prev.shape[4], hp["groups"])
    if taps is None:
        return None
    dA_prev = None
    if compute_dA_prev:
        if as_conv is None:
            return None
        dZ_pad, full, turned = as_conv
        input_taps = _depth_taps(full, W.shape[4])
        if input_taps is None:
            return None
        dA_prev = np.empty(A_prev.shape, dtype=A_prev.dtype)
        input_taps.conv(dZ_pad, turned[0], dA_prev)
    return dA_prev, taps.weight_gradient(cache.padded, dZ).reshape(W.shape)


def conv3d_backward(dZ, cache: Conv3DCache, compute_dA_prev: bool = True):
    """Gradients of `conv3d_forward`: ``(dA_prev, dW, db)`` with the shapes of ``A_prev``,
    ``W`` and ``(n_C,)``; ``dA_prev`` is ``None`` when not ``compute_dA_prev``."""
    A_prev, W, _, hp = cache
    dZ = np.ascontiguousarray(dZ, dtype=A_prev.dtype)
    n_C, groups, windows = W.shape[-1], hp["groups"], cache.windows
    m, n_C_prev = A_prev.shape[0], A_prev.shape[-1]
    if dZ.shape != (m, *cache.out, n_C):
        raise ValueError(f"dZ must have the forward output's shape "
                         f"{(m, *cache.out, n_C)}, got {dZ.shape}")
    db = column_sums(dZ.reshape(-1, n_C)).astype(dZ.dtype)
    channels, filters = _group_slices(n_C_prev, groups), _group_slices(n_C, groups)
    as_conv = _input_gradient_plan(dZ, W, cache) if compute_dA_prev else None
    scatter = compute_dA_prev and as_conv is None
    xp, blocked = cache.padded, cache.blocked
    by_depths = _depth_taps_backward(dZ, cache, as_conv, compute_dA_prev)
    if by_depths is not None:
        return (*by_depths, db)
    # the weight gradient (and a scatter-added input gradient) on the conv as it ran
    if blocked is None:
        kernels, dZ_w = _group_kernels(W, groups), dZ
    else:
        windows, kernels, dZ_w = blocked.windows, [blocked.kernel], blocked.view(dZ)
        filters = [slice(0, dZ_w.shape[4])]
    tiles = volume_tiles(m, windows, W.shape[3], W.dtype.itemsize,
                         backward_of=dZ_w.shape[4], slabs=not scatter)
    if as_conv is not None:
        dZ_pad, full, turned = as_conv
        dA_prev = np.empty(A_prev.shape, dtype=A_prev.dtype)
        tiles = max(tiles, volume_tiles(m, full, n_C // groups, W.dtype.itemsize,
                                        backward_of=n_C), key=len)
    dxp = np.zeros(xp.shape, dtype=xp.dtype) if scatter else None

    def run(part: list[SlabTile]) -> list[np.ndarray]:
        dW_parts = [None] * groups
        buffer = product_buffer = None
        for tile in part:
            band, dhw = tile.band(xp, windows)
            dZ_tile = tile.voxels(dZ_w)
            for g, (c, f) in enumerate(zip(channels, filters)):
                cols = buffer = im2col_rows(band[..., c] if groups > 1 else band, windows,
                                            dhw, buffer)
                dZ_g = dZ_tile[:, f] if groups > 1 else dZ_tile
                if dW_parts[g] is None:
                    dW_parts[g] = cols.T @ dZ_g
                else:  # one scratch product per thread, added into its partial gradient
                    product_buffer = np.matmul(cols.T, dZ_g, out=product_buffer)
                    dW_parts[g] += product_buffer
                if scatter:
                    dxp_g = dxp[tile.batch][..., c] if groups > 1 else dxp[tile.batch]
                    col2im_rows_add(dZ_g @ kernels[g].T, dxp_g, windows, dhw)
            if as_conv is not None:
                band, dhw = tile.band(dZ_pad, full)
                target = tile.voxels(dA_prev)
                for g, (c, f) in enumerate(zip(channels, _group_slices(n_C, groups))):
                    cols = buffer = im2col_rows(band[..., f] if groups > 1 else band, full,
                                                dhw, buffer)
                    if groups == 1:
                        np.matmul(cols, turned[g], out=target)
                    else:
                        target[:, c] = cols @ turned[g]
        return dW_parts

    parts = map_parts(run, tiles)
    dW = np.empty(W.shape, dtype=W.dtype)
    for g, f in enumerate(_group_slices(n_C, groups)):
        total = parts[0][g]
        for part in parts[1:]:
            total += part[g]
        dW[..., f] = (total.reshape(*W.shape[:4], f.stop - f.start) if blocked is None
                      else blocked.fold(total, W.shape))
    if not compute_dA_prev:
        return None, dW, db
    if as_conv is not None:
        return dA_prev, dW, db
    return np.ascontiguousarray(_crop(dxp, cache.pads, A_prev.shape[1:4])), dW, db


# ---------------------------------------------------------------------------------------------
# Transposed convolution


def transpose_geometry(in_dhw, kernel: Triple, stride: Triple, padding: str,
                       output_padding=None) -> tuple[Triple, Triple, Triple]:
    """``(out_dhw, crop, buffer_dhw)`` of a transposed 3-D convolution (Keras' sizes): the
    output is ``buffer[crop : crop + out]`` of the full scatter, which is ``(n - 1) * s + f``
    long and padded with zeros when ``output_padding`` asks for more."""
    extra = (None,) * 3 if output_padding is None else output_padding
    out = tuple(transpose_output_size(n, f, s, padding, e)
                for n, f, s, e in zip(in_dhw, kernel, stride, extra))
    if min(out) < 1:
        raise ValueError(f"the output would be empty: input {tuple(in_dhw)}, kernel {kernel}, "
                         f"strides {stride}, padding={padding!r}, "
                         f"output_padding={output_padding}")
    crop = tuple(transpose_crop(n, f, s, padding, o)
                 for n, f, s, o in zip(in_dhw, kernel, stride, out))
    full = tuple((n - 1) * s + f for n, f, s in zip(in_dhw, kernel, stride))
    buffer = tuple(max(fl, c + o) for fl, c, o in zip(full, crop, out))
    return out, crop, buffer


def conv3d_transpose_forward(x, W, b=None, strides=1, padding: str = "valid",
                             output_padding=None):
    """Transposed 3-D convolution: each input voxel adds a copy of the kernel, weighted by its
    channels, at ``stride`` times its position; overlapping copies add up (the input gradient
    of a `conv3d_forward` with the same kernel, strides and padding).

    Args:
        x: ``(m, n_D, n_H, n_W, n_C_in)``.
        W: ``(f_d, f_h, f_w, n_C, n_C_in)`` (Keras' layout: output channels first).
        b: ``(n_C,)`` or ``None``.
        strides: an int or a triple; padding ``"valid"``/``"same"``; output_padding ``None``
            or a triple (each smaller than its stride).

    Returns:
        ``y`` ``(m, n_D_out, n_H_out, n_W_out, n_C)`` and the cache ``(x, W, b, geometry)``.
    """
    x = _check_volume(x, "x")
    W = np.asarray(W)
    stride = as_triple(strides, "strides")
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    padding = padding.lower()
    if output_padding is not None:
        output_padding = as_triple(output_padding, "output_padding", minimum=0)
    if W.ndim != 5 or W.shape[4] != x.shape[4]:
        raise ValueError(f"W must be (f_d, f_h, f_w, n_C, {x.shape[4]}) for an input with "
                         f"{x.shape[4]} channels, got shape {W.shape}")
    kernel, n_C = tuple(W.shape[:3]), W.shape[3]
    if b is not None and np.size(b) != n_C:
        raise ValueError(f"b must hold {n_C} values, got shape {np.shape(b)}")
    out, crop, buffer = transpose_geometry(x.shape[1:4], kernel, stride, padding,
                                           output_padding)
    W = np.ascontiguousarray(W, dtype=x.dtype)
    m, n_C_in = x.shape[0], x.shape[4]
    # Each input voxel adds its weighted copy of the kernel, (n_C_in) @ (n_C_in, taps * n_C),
    # at stride times its position: the adjoint of im2col, tile by tile. Tiles are whole
    # examples (slabs of one example would add into the same depths from two threads).
    windows = VolumeWindows(kernel, stride, (1, 1, 1), tuple(x.shape[1:4]))
    W_rows = W.reshape(-1, n_C_in)  # (taps * n_C, n_C_in); its transpose is read in place
    full = np.zeros((m, *buffer, n_C), dtype=x.dtype)
    tiles = volume_tiles(m, windows, n_C, x.dtype.itemsize, slabs=False)

    def run(part: list[SlabTile]) -> None:
        for tile in part:
            cols = tile.voxels(x) @ W_rows.T
            col2im_rows_add(cols, full[tile.batch], windows, windows.out)

    map_parts(run, tiles)
    y = np.ascontiguousarray(full[(slice(None), *(slice(c, c + o) for c, o in zip(crop, out)))])
    if b is not None:
        y += np.asarray(b, dtype=x.dtype).reshape(n_C)
    geometry = {"stride": stride, "crop": crop, "buffer": buffer, "out": out}
    return y, (x, W, b, geometry)


def conv3d_transpose_backward(dy, cache, compute_dx: bool = True):
    """Gradients of `conv3d_transpose_forward`: ``(dx, dW, db)`` (``dx`` ``None`` when not
    ``compute_dx``)."""
    x, W, _, g = cache
    dy = np.asarray(dy, dtype=x.dtype)
    kernel, n_C, n_C_in = tuple(W.shape[:3]), W.shape[3], W.shape[4]
    if dy.shape != (x.shape[0], *g["out"], n_C):
        raise ValueError(f"dy must have the forward output's shape "
                         f"{(x.shape[0], *g['out'], n_C)}, got {dy.shape}")
    db = column_sums(dy.reshape(-1, n_C)).astype(dy.dtype)
    m = x.shape[0]
    dfull = np.zeros((m, *g["buffer"], n_C), dtype=x.dtype)
    dfull[(slice(None), *(slice(c, c + o) for c, o in zip(g["crop"], g["out"])))] = dy
    # dx is the conv of dfull (stride ``stride``) with W seen as a conv kernel from n_C to
    # n_C_in channels; dW adds up (windows of dfull).T @ x, one partial sum per thread.
    windows = VolumeWindows(kernel, g["stride"], (1, 1, 1), tuple(x.shape[1:4]))
    W_rows = W.reshape(-1, n_C_in)
    x = np.ascontiguousarray(x)
    dx = np.empty(x.shape, dtype=x.dtype) if compute_dx else None
    tiles = volume_tiles(m, windows, n_C, x.dtype.itemsize, backward_of=n_C_in)

    def run(part: list[SlabTile]) -> np.ndarray:
        dW_part = product_buffer = buffer = None
        for tile in part:
            band, dhw = tile.band(dfull, windows)
            cols = buffer = im2col_rows(band, windows, dhw, buffer)
            x_tile = tile.voxels(x)
            if dW_part is None:
                dW_part = cols.T @ x_tile
            else:
                product_buffer = np.matmul(cols.T, x_tile, out=product_buffer)
                dW_part += product_buffer
            if compute_dx:
                np.matmul(cols, W_rows, out=tile.voxels(dx))
        return dW_part

    parts = map_parts(run, tiles)
    dW = parts[0]
    for part in parts[1:]:
        dW += part
    return dx, dW.reshape(W.shape), db


# ---------------------------------------------------------------------------------------------
# Pooling


def pool3d_forward(A_prev, pool_size, strides=None, padding: str = "valid",
                   mode: str = "max"):
    """Max or average pooling of a volume batch, channel by channel.

    Args:
        A_prev: ``(m, n_D_prev, n_H_prev, n_W_prev, n_C)``.
        pool_size: an int or a triple; strides: the same (``None``: the pool size).
        padding: ``"valid"`` or ``"same"`` (a padded cell never wins a maximum and is not
            counted in an average, as in TensorFlow).
        mode: ``"max"`` or ``"average"``.

    Returns:
        ``A`` ``(m, n_D, n_H, n_W, n_C)`` and the cache ``(A_prev, hparameters)`` whose
        hparameters also hold what backward needs (for max the padded input and a copy of
        the output, for average the count of real cells of each window).
    """
    A_prev = _check_volume(A_prev, "A_prev")
    if mode not in ("max", "average"):
        raise ValueError(f"mode must be 'max' or 'average', got {mode!r}")
    kernel = as_triple(pool_size, "pool_size")
    stride = kernel if strides is None else as_triple(strides, "strides")
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    pads, out = volume_geometry(A_prev.shape[1:4], kernel, stride, padding.lower())
    hp = {"f": kernel, "stride": stride, "pads": pads, "out": out, "mode": mode}
    m = A_prev.shape[0]
    padded = _pad(A_prev, pads, -np.inf if mode == "max" else 0.0)
    A = np.empty((m, *out, A_prev.shape[4]), dtype=A_prev.dtype)
    taps = [_tap_slices(offset, stride, (1, 1, 1), out) for offset in _offsets(kernel)]
    tiled = tiled_windows.tiles(A_prev.shape[1:4], out, kernel, stride, any(np.ravel(pads)))
    # One pass per window offset over a strided slice of the volume (no im2col copy, no loop
    # over voxels), the examples shared between the cores; windows that tile the volume are
    # reduced one window axis at a time instead (`convnp.ops.tiled_windows`).
    if mode == "max":
        def run(rows: slice) -> None:
            source, best = padded[rows], A[rows]
            if tiled:
                tiled_windows.reduce(source, kernel, np.maximum, best)
                return
            best[...] = source[(slice(None), *taps[0])]
            for cells in taps[1:]:
                np.maximum(best, source[(slice(None), *cells)], out=best)

        map_rows(run, m)
        # backward finds each window's first maximum again by comparing with a copy of the
        # output (the caller may change the returned array)
        hp["padded"], hp["maximum"] = padded, A.copy()
    else:
        def run(rows: slice) -> None:
            source, total = padded[rows], A[rows]
            if tiled:
                tiled_windows.reduce(source, kernel, np.add, total)
                return
            total[...] = source[(slice(None), *taps[0])]
            for cells in taps[1:]:
                total += source[(slice(None), *cells)]

        map_rows(run, m)
        real = _pad(np.ones((1, *A_prev.shape[1:4], 1), dtype=A_prev.dtype), pads)
        count = np.zeros((1, *out, 1), dtype=A_prev.dtype)
        for cells in taps:
            count += real[(slice(None), *cells)]
        A /= count
        hp["count"] = count
    hp["padded_dhw"], hp["tiled"] = padded.shape[1:4], tiled
    return A, (A_prev, hp)


def pool3d_backward(dA, cache):
    """The input gradient of `pool3d_forward`: max sends each window's gradient to its
    (first) maximum, average spreads it evenly over the window's real cells."""
    A_prev, hp = cache
    dA = np.asarray(dA, dtype=A_prev.dtype)
    if dA.shape != (A_prev.shape[0], *hp["out"], A_prev.shape[4]):
        raise ValueError(f"dA must have the forward output's shape "
                         f"{(A_prev.shape[0], *hp['out'], A_prev.shape[4])}, got {dA.shape}")
    m = A_prev.shape[0]
    taps = [_tap_slices(offset, hp["stride"], (1, 1, 1), hp["out"])
            for offset in _offsets(hp["f"])]
    # Max windows that tile the volume write every cell (`tiled_windows.route_first_maxima`):
    # nothing to zero first.
    whole = hp["mode"] == "max" and hp["tiled"]
    dpadded = (np.empty if whole else np.zeros)((m, *hp["padded_dhw"], A_prev.shape[4]),
                                                dtype=A_prev.dtype)
    if hp["mode"] == "average":
        share = dA / hp["count"]
    # one tap's windows never share a cell, so each offset is one plain += of a slab
    if hp["mode"] == "max":
        # In tap order, each window gives what is left of its gradient to the cells equal to
        # its maximum: the first such cell takes it all (what is left becomes 0).
        # Windows that never overlap (stride >= pool size) own their cells: each offset's
        # share is written in place, with no scratch array and no addition.
        disjoint = all(s >= f for s, f in zip(hp["stride"], hp["f"]))

        def run(rows: slice) -> None:
            target, source, best = dpadded[rows], hp["padded"][rows], hp["maximum"][rows]
            if hp["tiled"]:
                tiled_windows.route_first_maxima(source, best, dA[rows], target, hp["f"],
                                                  accumulate=False)
                return
            left = np.array(dA[rows])
            hit = np.empty(left.shape, dtype=bool)
            given = None if disjoint else np.empty_like(left)
            for cells in taps:
                cells = (slice(None), *cells)
                np.equal(source[cells], best, out=hit)
                share = target[cells] if disjoint else given
                np.multiply(left, hit, out=share)
                if not disjoint:
                    target[cells] += share
                left -= share
    else:
        def run(rows: slice) -> None:
            target, grad = dpadded[rows], share[rows]
            for cells in taps:
                target[(slice(None), *cells)] += grad

    map_rows(run, m)
    return np.ascontiguousarray(_crop(dpadded, hp["pads"], A_prev.shape[1:4]))
