"""Readable loop twin of `convnp.ops.adaptive_pool` (the oracle; tests and readers only):
one loop per example, output cell and channel, each window read cell by cell."""

from __future__ import annotations

import math

import numpy as np


def _window(n: int, out: int, i: int) -> range:
    return range((i * n) // out, math.ceil((i + 1) * n / out))


def adaptive_pool_forward(x: np.ndarray, output_size, mode: str = "average"):
    """Same contract as the fast version; the cache is ``(x, output_size, mode)``."""
    m, n_H, n_W, n_C = x.shape
    out_h, out_w = output_size
    y = np.zeros((m, out_h, out_w, n_C), dtype=x.dtype)
    for e in range(m):
        for i in range(out_h):
            for j in range(out_w):
                for c in range(n_C):
                    values = [x[e, r, s, c] for r in _window(n_H, out_h, i)
                              for s in _window(n_W, out_w, j)]
                    y[e, i, j, c] = sum(values) / len(values) if mode == "average" else \
                        max(values)
    return y, (x, output_size, mode)


def adaptive_pool_backward(dy: np.ndarray, cache: tuple) -> np.ndarray:
    """Average: each window cell gets ``dy / window size``; max: the window's first maximum
    (in row-major order) gets ``dy``."""
    x, (out_h, out_w), mode = cache
    m, n_H, n_W, n_C = x.shape
    dx = np.zeros_like(x, dtype=dy.dtype)
    for e in range(m):
        for i in range(out_h):
            for j in range(out_w):
                for c in range(n_C):
                    cells = [(r, s) for r in _window(n_H, out_h, i)
                             for s in _window(n_W, out_w, j)]
                    if mode == "average":
                        for r, s in cells:
                            dx[e, r, s, c] += dy[e, i, j, c] / len(cells)
                    else:
                        best = cells[0]
                        for r, s in cells:
                            if x[e, r, s, c] > x[e, best[0], best[1], c]:
                                best = (r, s)
                        dx[e, best[0], best[1], c] += dy[e, i, j, c]
    return dx
