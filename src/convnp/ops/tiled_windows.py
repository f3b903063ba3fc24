"""Pooling windows that tile their input exactly, in any number of spatial axes.

Windows tile the input when the stride equals the window, nothing is padded and no row (or
column, or depth) is left over: the common 2x2 pool of a 2-D net, the 2x2x2 pool of a video
net. The input ``(m, n_1, ..., n_d, n_C)`` can then be *seen* (a view, no copy) as
``(m, o_1, f_1, ..., o_d, f_d, n_C)``: output cell ``(o_1, ..., o_d)`` and offset ``(f_1, ...,
f_d)`` within its window. In that view:

- `reduce` pools along one window axis at a time, the first (the slowest-varying) first:
  its slabs are whole rows (long contiguous runs), and each later step works on data the
  earlier ones made smaller. Taking all windows' cells at one offset at a time, the other
  way, reads runs of only ``n_C`` numbers, which NumPy loops over slowly.
- `route_first_maxima` sends max pooling's gradient back with one broadcast comparison, one
  count and one multiply; ties (a ReLU's zeros) and NaN take one more pass per window offset.

`convnp.ops.pool` (2-D) and `convnp.ops.conv3d` (3-D) use them when `tiles` holds.
"""

from __future__ import annotations

import numpy as np


def tiles(in_dims, out_dims, kernel, stride, padded: bool) -> bool:
    """Whether windows of ``kernel`` at ``stride`` tile an input of ``in_dims`` exactly
    (``out_dims``: the output size; ``padded``: whether any padding is added)."""
    return (tuple(stride) == tuple(kernel) and not padded
            and all(n == o * f for n, o, f in zip(in_dims, out_dims, kernel)))


def _views(shape: tuple, kernel) -> tuple[tuple, tuple]:
    """The window view's shape of an input of ``shape``, and the shape a per-window array
    (pooled values, their gradients) broadcasts in against it."""
    m, *dims, n_C = shape
    windows, per_window = [m], [m]
    for n, f in zip(dims, kernel):
        windows += [n // f, f]
        per_window += [n // f, 1]
    return (*windows, n_C), (*per_window, n_C)


def reduce(source: np.ndarray, kernel, ufunc: np.ufunc, out: np.ndarray) -> None:
    """Pool ``source`` (C-contiguous) into ``out`` with ``ufunc`` (``np.maximum``, or
    ``np.add`` for the window sums), one window axis after the other."""
    view = source.reshape(_views(source.shape, kernel)[0])
    for k, f in enumerate(kernel):
        axis = 2 + k  # the window axes left of this one are reduced away already
        cells = [view[(slice(None),) * axis + (i,)] for i in range(f)]
        if k == len(kernel) - 1:
            target = out.reshape(cells[0].shape)
            np.copyto(target, cells[0])
        elif f == 1:
            view = cells[0]
            continue
        else:
            target = ufunc(cells[0], cells[1])
            cells = [target] + cells[2:]
        for cell in cells[1:]:
            ufunc(target, cell, out=target)
        view = target


def route_first_maxima(source: np.ndarray, pooled: np.ndarray, grad: np.ndarray,
                       target: np.ndarray, kernel, accumulate: bool) -> None:
    """Send each window's gradient ``grad`` to the first cell (row-major window order) of
    ``source`` holding its maximum ``pooled``, into ``target`` (shaped like ``source``; added
    to it with ``accumulate``, else written whole). A window whose maximum is NaN sends
    nothing (no cell equals it), as `convnp.ops.pool`'s other route.

    "Equal to the window's maximum" marks the winners in one broadcast comparison. Only when
    some window holds its maximum twice (a ReLU's zeros, small integers) or a NaN, are the
    later winners cleared, one window offset at a time in row-major order.
    """
    windows, per_window = _views(source.shape, kernel)
    winners = np.equal(source.reshape(windows), pooled.reshape(per_window))
    if np.count_nonzero(winners) != pooled.size or np.isnan(pooled).any():
        taken = np.zeros(pooled.shape, dtype=bool)  # windows whose winner is found
        for offset in np.ndindex(*kernel):
            cell = winners[(slice(None),) + tuple(v for k in offset for v in (slice(None), k))]
            np.greater(cell, taken, out=cell)  # a winner only if none came before
            taken |= cell
    routed = target.reshape(windows)
    if accumulate:
        routed += winners * grad.reshape(per_window)
    else:
        np.multiply(winners, grad.reshape(per_window), out=routed)
