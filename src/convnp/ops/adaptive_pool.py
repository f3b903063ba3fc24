"""Adaptive pooling, NHWC: the output has a fixed size ``(out_h, out_w)`` whatever the input's,
each output cell pooling its own window (PyTorch's and Keras's rule: along an axis of ``n``
cells, output ``i`` covers ``[floor(i * n / out), ceil((i + 1) * n / out))``; windows may
overlap by one cell when ``out`` does not divide ``n``).

Fast versions: one vectorized reduction per output cell (the batch and channels at once).
The readable loop twin is `convnp.ops.reference_adaptive_pool`.
"""

from __future__ import annotations

import math

import numpy as np

MODES = ("average", "max")


def bins(n: int, out: int) -> list[tuple[int, int]]:
    """The ``(start, end)`` of each of ``out`` windows along an axis of ``n`` cells."""
    if out < 1 or n < 1:
        raise ValueError(f"adaptive pooling needs positive sizes, got input {n}, output {out}")
    return [((i * n) // out, math.ceil((i + 1) * n / out)) for i in range(out)]


def adaptive_pool_forward(x: np.ndarray, output_size: tuple[int, int],
                          mode: str = "average") -> tuple[np.ndarray, tuple]:
    """Pool ``x`` ``(m, n_H, n_W, n_C)`` to ``(m, out_h, out_w, n_C)``.

    Returns ``(y, cache)``; the cache holds the input shape, the windows and, for ``"max"``,
    the flat index of each window's first maximum ``(m, out_h, out_w, n_C)``.
    """
    if mode not in MODES:
        raise ValueError(f"adaptive pooling mode must be one of {MODES}, got {mode!r}")
    m, n_H, n_W, n_C = x.shape
    rows, cols = bins(n_H, output_size[0]), bins(n_W, output_size[1])
    y = np.empty((m, len(rows), len(cols), n_C), dtype=x.dtype)
    winners = np.empty(y.shape, dtype=np.intp) if mode == "max" else None
    for i, (r0, r1) in enumerate(rows):
        for j, (c0, c1) in enumerate(cols):
            window = x[:, r0:r1, c0:c1, :]
            if mode == "average":
                y[:, i, j] = window.mean(axis=(1, 2))
            else:
                flat = window.reshape(m, -1, n_C)
                winners[:, i, j] = flat.argmax(axis=1)  # the first maximum, as PyTorch
                y[:, i, j] = np.take_along_axis(flat, winners[:, i, j][:, None], 1)[:, 0]
    return y, (x.shape, rows, cols, mode, winners)


def adaptive_pool_backward(dy: np.ndarray, cache: tuple) -> np.ndarray:
    """The input gradient of `adaptive_pool_forward` (overlapping windows add up)."""
    shape, rows, cols, mode, winners = cache
    m, _, _, n_C = shape
    dx = np.zeros(shape, dtype=dy.dtype)
    for i, (r0, r1) in enumerate(rows):
        for j, (c0, c1) in enumerate(cols):
            if mode == "average":
                dx[:, r0:r1, c0:c1, :] += dy[:, i, j][:, None, None, :] / ((r1 - r0) * (c1 - c0))
            else:
                w = c1 - c0
                flat = winners[:, i, j]  # (m, n_C), index into the window's (r, c) cells
                e, c = np.meshgrid(np.arange(m), np.arange(n_C), indexing="ij")
                np.add.at(dx, (e, r0 + flat // w, c0 + flat % w, c), dy[:, i, j])
    return dx
