"""Fast pooling: loop over the f_h × f_w window offsets, vectorized over everything else.

For window offset ``(i, j)`` the strided slice ``A_pad[:, i::s_h, j::s_w, :]`` (cut to the
output size) holds, for every output pixel at once, the input cell at that offset of its
window. Max pooling is then a running ``np.maximum`` over the offsets and average pooling a
running sum, so the Python loop runs ``f_h * f_w`` times whatever the batch and image sizes.
The batch is shared out between the cores (`convnp.ops._threads.map_parts`).

Padding ('same' or explicit): max pooling pads with ``-inf`` so a padded cell never wins;
average pooling pads with zeros and divides each window by the count of its real cells
(TensorFlow's rule), so border windows are not diluted.

Max-pool backward sends each window's gradient to one maximum only: the first in row-major
window order (TensorFlow and PyTorch do the same). Forward is just a running maximum; backward
finds the winners again by walking the offsets in order and taking, for each window, the first
cell equal to its maximum. That is cheaper than tracking an argmax during forward, and
inference (which never runs backward) pays nothing for it. `create_mask_from_window` keeps
the course's contract instead: it marks every maximum of a window.
"""

from __future__ import annotations

import numpy as np

from convnp.ops import tiled_windows
from convnp.ops._threads import map_parts
from convnp.ops.conv import NotesCache, _pad
from convnp.ops.padding import (
    POOL_MODES,
    Geometry,
    cache_items,
    float_dtype,
    pool_geometry,
)


def create_mask_from_window(x: np.ndarray) -> np.ndarray:
    """Boolean mask that is True at every maximum of ``x`` (the course's contract).

    Args:
        x: one window, shape ``(f_h, f_w)`` (any shape works).

    Returns:
        Boolean array of ``x``'s shape.
    """
    x = np.asarray(x)
    if x.size == 0:
        raise ValueError("create_mask_from_window: x must not be empty")
    return x == np.max(x)


def distribute_value(dz, shape) -> np.ndarray:
    """Spread ``dz`` evenly over a window of ``shape`` (the gradient of an average).

    Args:
        dz: a scalar.
        shape: ``(n_H, n_W)`` of the window.

    Returns:
        Array of ``shape`` whose entries are ``dz / (n_H * n_W)`` and sum to ``dz``.
    """
    if not (isinstance(shape, (tuple, list)) and len(shape) == 2
            and all(isinstance(n, (int, np.integer)) and n > 0 for n in shape)):
        raise ValueError(f"distribute_value: shape must be a pair of positive ints (n_H, n_W), "
                         f"got {shape!r}")
    dz = np.asarray(dz)
    if dz.size != 1:
        raise ValueError(f"distribute_value: dz must be a scalar, got shape {dz.shape}")
    dtype = float_dtype(dz)
    n_H, n_W = shape
    return np.full((n_H, n_W), dz.reshape(()) / (n_H * n_W), dtype=dtype)


class PoolCache(NotesCache):
    """The course's pool cache ``(A_prev, hparameters)``, plus the fast path's state.

    Length, indexing and items are the notes' tuple (the course's graders compare the cache
    item by item), so the reference `pool_backward` accepts it too. The fast `pool_backward`
    reads these attributes:

    Attributes:
        input_shape: shape of ``A_prev``.
        dtype: compute dtype.
        geometry: window, stride, pads and output size.
        mode: ``"max"`` or ``"average"``: the forward pass the state below belongs to.
        A_pad: max mode only: the (padded) input, a reference, not a copy, when unpadded.
        A: max mode only: the output of the forward pass.
        counts: average mode only: real (unpadded) cells per window, shape ``(n_H, n_W, 1)``.
        row_max: separable max pooling only: the maxima of the horizontal windows,
            ``(m, n_H_pad, n_W, n_C)`` (see `_separable`).
    """

    def __new__(cls, A_prev, hparameters, *, dtype, geometry, mode, A_pad=None, A=None,
                counts=None, row_max=None):
        return super().__new__(cls, (A_prev, hparameters), dtype=dtype, geometry=geometry,
                               mode=mode, A_pad=A_pad, A=A, counts=counts, row_max=row_max)


def _real_cell_counts(geometry: Geometry, in_hw: tuple[int, int]) -> np.ndarray:
    """How many cells of each window lie inside the unpadded input, shape ``(n_H, n_W, 1)``."""
    per_axis = []
    for n, f, s, (before, _), n_out in zip(in_hw, geometry.kernel, geometry.stride,
                                           geometry.pads, geometry.out_hw):
        starts = np.arange(n_out) * s - before
        per_axis.append(np.minimum(starts + f, n) - np.maximum(starts, 0))
    return (per_axis[0][:, None] * per_axis[1][None, :])[:, :, None]


def _examples(m: int) -> list[slice]:
    """One slice per example: the items `map_parts` shares out between the cores."""
    return [slice(i, i + 1) for i in range(m)]


def _span(examples: list[slice]) -> slice:
    """The batch rows covered by consecutive per-example slices."""
    return slice(examples[0].start, examples[-1].stop)


def _separable(geometry: Geometry) -> bool:
    """Whether max pooling runs in two 1-D passes (rows, then columns).

    The maximum of a window is the maximum over its rows of each row's maximum, so an
    ``f_h x f_w`` window needs ``f_h + f_w`` NumPy calls instead of ``f_h * f_w``: worth it
    for big windows (the SIGNS model's 8x8: 16 calls instead of 64), not for 2x2. The first
    maximum in row-major order is found the same way: the first row holding the window's
    maximum, then the first cell of that row holding it.
    """
    f_h, f_w = geometry.kernel
    return f_h * f_w > 2 * (f_h + f_w)


def _axis_slices(n_out: int, f: int, s: int) -> list[slice]:
    """For each offset ``0 .. f - 1`` within a window, the cells at that offset of all windows."""
    span = s * (n_out - 1) + 1
    return [slice(i, i + span, s) for i in range(f)]


def _tiles(geometry: Geometry, in_hw: tuple[int, int]) -> bool:
    """Whether the windows tile the input exactly (`convnp.ops.tiled_windows`)."""
    return tiled_windows.tiles(in_hw, geometry.out_hw, geometry.kernel, geometry.stride,
                               geometry.is_padded)


def _running_max(slabs: list[np.ndarray], out: np.ndarray) -> None:
    out[...] = slabs[0]
    for slab in slabs[1:]:
        np.maximum(out, slab, out=out)


def _route_to_first_max(slabs: list[np.ndarray], pooled: np.ndarray, grad: np.ndarray,
                        targets: list[np.ndarray], disjoint: bool) -> None:
    """Give each window's gradient to the first of its cells (in ``slabs`` order) that
    equals the window's maximum. ``slabs[k]`` and ``targets[k]`` hold the cells at offset k of
    every window, in the input and in its gradient; disjoint windows can be written directly."""
    winner = np.empty(grad.shape, dtype=bool)
    # Windows whose gradient is still to be routed; a later cell equal to the maximum (a tie)
    # must not take it again.
    open_windows = np.ones(grad.shape, dtype=bool)
    routed = None if disjoint else np.empty_like(grad)
    for index, (slab, target) in enumerate(zip(slabs, targets)):
        np.equal(slab, pooled, out=winner)
        np.logical_and(winner, open_windows, out=winner)
        if index < len(slabs) - 1:
            np.logical_xor(open_windows, winner, out=open_windows)
        if disjoint:
            np.multiply(grad, winner, out=target)
        else:
            np.multiply(grad, winner, out=routed)
            target += routed


def pool_forward(A_prev: np.ndarray, hparameters: dict, mode: str = "max"):
    """Max or average pooling over each channel.

    Args:
        A_prev: input batch, shape ``(m, n_H_prev, n_W_prev, n_C)``.
        hparameters: ``{"f": int | (f_h, f_w), "stride": int | (s_h, s_w)}`` and optionally
            ``"pad"`` (int, pair, pair of pairs, ``"same"`` or ``"valid"``; default 0).
        mode: ``"max"`` or ``"average"``.

    Returns:
        ``(A, cache)``: ``A`` of shape ``(m, n_H, n_W, n_C)`` and the opaque cache for
        `pool_backward`: the notes' ``(A_prev, hparameters)`` (a `PoolCache`, which also keeps
        references to the input and the output in max mode, the count of real cells per
        window in average mode).
    """
    geometry = pool_geometry(A_prev, hparameters, mode)
    dtype = float_dtype(A_prev)
    A_in = A_prev.astype(dtype, copy=False)
    fill = -np.inf if mode == "max" else 0.0
    A_pad = _pad(A_in, geometry.pads, fill) if geometry.is_padded else A_in
    offsets = [(rows, cols) for _, _, rows, cols in geometry.tap_slices()]
    m, n_C = A_in.shape[0], A_in.shape[3]
    (n_H, n_W), (f_h, f_w), (s_h, s_w) = geometry.out_hw, geometry.kernel, geometry.stride
    A = np.empty((m, n_H, n_W, n_C), dtype=dtype)
    # Windows that tile the input are reduced axis by axis, and their gradient is routed
    # without the row maxima that other big windows keep for backward (`_separable`).
    tiled = _tiles(geometry, A_in.shape[1:3])
    separable = not tiled and mode == "max" and _separable(geometry)
    row_max = np.empty((m, A_pad.shape[1], n_W, n_C), dtype=dtype) if separable else None

    def pool_examples(examples: list[slice]) -> None:
        rows = _span(examples)
        source, out = A_pad[rows], A[rows]
        if tiled:
            tiled_windows.reduce(source, geometry.kernel, np.maximum if mode == "max" else np.add,
                                 out)
        elif separable:
            _running_max([source[:, :, sl] for sl in _axis_slices(n_W, f_w, s_w)], row_max[rows])
            _running_max([row_max[rows][:, sl] for sl in _axis_slices(n_H, f_h, s_h)], out)
        elif mode == "max":
            _running_max([source[:, sl_h, sl_w, :] for sl_h, sl_w in offsets], out)
        else:
            sl_h, sl_w = offsets[0]
            out[...] = source[:, sl_h, sl_w, :]
            for sl_h, sl_w in offsets[1:]:
                out += source[:, sl_h, sl_w, :]

    map_parts(pool_examples, _examples(m))
    if mode == "max":
        cache = PoolCache(A_prev, hparameters, dtype=dtype, geometry=geometry, mode=mode,
                          A_pad=A_pad, A=A, row_max=row_max)
    else:
        counts = _real_cell_counts(geometry, A_in.shape[1:3]).astype(dtype)
        A /= counts
        cache = PoolCache(A_prev, hparameters, dtype=dtype, geometry=geometry, mode=mode,
                          counts=counts)
    return A, cache


def pool_backward(dA: np.ndarray, cache: PoolCache, mode: str = "max") -> np.ndarray:
    """Gradient of pooling w.r.t. its input.

    Args:
        dA: gradient of the cost w.r.t. the pooling output, shape ``(m, n_H, n_W, n_C)``.
        cache: ``(A_prev, hparameters)`` as returned by `pool_forward` (the fast or the
            reference one, of either mode).
        mode: ``"max"`` or ``"average"``. Either works on any cache, as in the course's
            notebook: when it differs from the forward pass's mode (or the cache is a plain
            tuple), the state this mode needs is recomputed from ``A_prev``.

    Returns:
        ``dA_prev`` of shape ``(m, n_H_prev, n_W_prev, n_C)``.
    """
    if mode not in POOL_MODES:
        raise ValueError(f"pool_backward: mode must be one of {POOL_MODES}, got {mode!r}")
    if not isinstance(cache, PoolCache) or mode != cache.mode:
        A_prev, hparameters = cache_items(cache, ("A_prev", "hparameters"), "pool_backward")
        cache = pool_forward(A_prev, hparameters, mode)[1]
    geometry = cache.geometry
    m, n_H_prev, n_W_prev, n_C = cache.input_shape
    expected = (m, *geometry.out_hw, n_C)
    if not isinstance(dA, np.ndarray) or dA.shape != expected:
        raise ValueError(f"pool_backward: dA must have shape {expected}, "
                         f"got {getattr(dA, 'shape', type(dA).__name__)}")
    dA = dA.astype(cache.dtype, copy=False)
    (top, bottom), (left, right) = geometry.pads
    # Max windows that tile the input write every cell (`tiled_windows.route_first_maxima`):
    # nothing to zero first.
    whole = cache.mode == "max" and _tiles(geometry, (n_H_prev, n_W_prev))
    dA_pad = (np.empty if whole else np.zeros)(
        (m, n_H_prev + top + bottom, n_W_prev + left + right, n_C), dtype=cache.dtype)
    _route(dA, cache, dA_pad)
    if not geometry.is_padded:
        return dA_pad
    return np.ascontiguousarray(dA_pad[:, top:top + n_H_prev, left:left + n_W_prev, :])


def _route(dA: np.ndarray, cache: PoolCache, target_all: np.ndarray) -> None:
    """Route ``dA`` to the windows' cells in the padded input gradient ``target_all``: zeros,
    except for max windows that tile the input (they write every cell). Non-overlapping
    windows write their cells directly."""
    geometry, mode = cache.geometry, cache.mode
    m = dA.shape[0]
    offsets = [(rows, cols) for _, _, rows, cols in geometry.tap_slices()]
    (n_H, n_W), (f_h, f_w), (s_h, s_w) = geometry.out_hw, geometry.kernel, geometry.stride
    # Non-overlapping windows own disjoint input cells: results can be written straight into
    # the target instead of being added to it.
    disjoint = all(s >= f for s, f in zip(geometry.stride, geometry.kernel))
    share = dA / cache.counts if mode == "average" else None
    tiled = _tiles(geometry, cache.input_shape[1:3])

    def route_examples(examples: list[slice]) -> None:
        rows = _span(examples)
        target, grad = target_all[rows], dA[rows]
        if mode == "average":
            for sl_h, sl_w in offsets:
                if disjoint:
                    target[:, sl_h, sl_w, :] = share[rows]
                else:
                    target[:, sl_h, sl_w, :] += share[rows]
            return
        source, pooled = cache.A_pad[rows], cache.A[rows]
        if tiled:
            tiled_windows.route_first_maxima(source, pooled, grad, target, geometry.kernel,
                                             accumulate=False)
            return
        if cache.row_max is None:
            _route_to_first_max([source[:, sl_h, sl_w, :] for sl_h, sl_w in offsets],
                                pooled, grad,
                                [target[:, sl_h, sl_w, :] for sl_h, sl_w in offsets],
                                disjoint)
            return
        # Separable: first to the row holding the maximum, then to the cell in that row.
        row_max = cache.row_max[rows]
        d_row_max = np.zeros_like(row_max)
        rows_at = _axis_slices(n_H, f_h, s_h)
        _route_to_first_max([row_max[:, sl] for sl in rows_at], pooled, grad,
                            [d_row_max[:, sl] for sl in rows_at], s_h >= f_h)
        cols_at = _axis_slices(n_W, f_w, s_w)
        _route_to_first_max([source[:, :, sl] for sl in cols_at], row_max, d_row_max,
                            [target[:, :, sl] for sl in cols_at], s_w >= f_w)

    map_parts(route_examples, _examples(m))
