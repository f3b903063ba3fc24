"""Readable loop twins of `convnp.ops.conv_transpose` and `convnp.ops.resize` (the oracle).

Slow on purpose: one Python loop per index, so each line can be checked against the maths.
Nothing in the library calls this module; tests and readers do. Shapes and arguments are the
fast versions'; the sizes come from the same geometry code, so the two cannot disagree on them.
"""

from __future__ import annotations

import math

import numpy as np

from convnp.ops.conv_transpose import transpose_geometry
from convnp.ops.padding import float_dtype


def _patch_positions(x_shape, W_shape, geo):
    """Yield ``(e, h, w, i, j, r, c)``: input pixel ``(e, h, w)`` at kernel offset ``(i, j)``
    lands on output pixel ``(r, c)`` (positions cut off by 'same' padding are skipped)."""
    m, n_H, n_W, _ = x_shape
    f_h, f_w = W_shape[:2]
    s_h, s_w = geo.stride
    top, left = geo.crop
    out_h, out_w = geo.out_hw
    for e in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for i in range(f_h):
                    for j in range(f_w):
                        r = h * s_h + i - top
                        c = w * s_w + j - left
                        if 0 <= r < out_h and 0 <= c < out_w:
                            yield e, h, w, i, j, r, c


def conv_transpose_forward(x: np.ndarray, W: np.ndarray, b, strides, padding: str = "valid",
                           output_padding=None) -> np.ndarray:
    """Transposed convolution: each input pixel adds ``x[m, h, w, k] * W[i, j, f, k]`` at
    canvas position ``(h * s_h + i, w * s_w + j)``; the output is the canvas shifted by the
    crop. Returns ``y`` only (the backward twin recomputes what it needs)."""
    geo = transpose_geometry(x.shape, W.shape, strides, padding, output_padding)
    dtype = float_dtype(x, W)
    n_C, n_C_in = W.shape[2:]
    y = np.zeros((x.shape[0], *geo.out_hw, n_C), dtype=dtype)
    for e, h, w, i, j, r, c in _patch_positions(x.shape, W.shape, geo):
        for f in range(n_C):
            for k in range(n_C_in):
                y[e, r, c, f] += x[e, h, w, k] * W[i, j, f, k]
    if b is not None:
        y += np.asarray(b, dtype=dtype).reshape(n_C)
    return y


def conv_transpose_backward(dy: np.ndarray, x: np.ndarray, W: np.ndarray, strides,
                            padding: str = "valid", output_padding=None):
    """``(dx, dW, db)`` of `conv_transpose_forward`, by the same loops run backwards."""
    geo = transpose_geometry(x.shape, W.shape, strides, padding, output_padding)
    dtype = float_dtype(x, W)
    n_C, n_C_in = W.shape[2:]
    dx = np.zeros(x.shape, dtype=dtype)
    dW = np.zeros(W.shape, dtype=dtype)
    for e, h, w, i, j, r, c in _patch_positions(x.shape, W.shape, geo):
        for f in range(n_C):
            g = dy[e, r, c, f]
            for k in range(n_C_in):
                dx[e, h, w, k] += g * W[i, j, f, k]
                dW[i, j, f, k] += g * x[e, h, w, k]
    db = dy.sum(axis=(0, 1, 2)).astype(dtype)
    return dx, dW, db


def _source_index(o: int, n_in: int, n_out: int, method: str) -> tuple[int, int, float]:
    """For output row ``o``: the two input rows it reads and the weight of the second."""
    scale = n_in / n_out
    if method == "nearest":
        return min(math.floor(o * scale), n_in - 1), 0, 0.0
    # half-pixel centres: output pixel centre o + 0.5 maps to input coordinate (o + 0.5) *
    # scale, i.e. to (o + 0.5) * scale - 0.5 in pixel-index units; clamp to the real pixels.
    t = min(max((o + 0.5) * scale - 0.5, 0.0), n_in - 1)
    low = math.floor(t)
    high = min(low + 1, n_in - 1)
    return low, high, t - low


def resize(x: np.ndarray, size, method: str = "bilinear") -> np.ndarray:
    """Resize ``(m, n_H, n_W, n_C)`` images to ``size = (out_h, out_w)`` pixel by pixel."""
    m, n_H, n_W, n_C = x.shape
    out_h, out_w = size
    dtype = float_dtype(x)
    y = np.zeros((m, out_h, out_w, n_C), dtype=dtype)
    for r in range(out_h):
        r0, r1, a = _source_index(r, n_H, out_h, method)
        for c in range(out_w):
            c0, c1, b = _source_index(c, n_W, out_w, method)
            if method == "nearest":
                y[:, r, c, :] = x[:, r0, c0, :]
                continue
            top = (1 - b) * x[:, r0, c0, :] + b * x[:, r0, c1, :]
            bottom = (1 - b) * x[:, r1, c0, :] + b * x[:, r1, c1, :]
            y[:, r, c, :] = (1 - a) * top + a * bottom
    return y
