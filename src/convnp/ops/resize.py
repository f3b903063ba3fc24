"""Fast image resizing for `UpSampling2D`: nearest (repeat), bilinear and Keras's other
methods (bicubic, lanczos3, lanczos5, area: `image_resize.resize_weights`' matrices), NHWC.

Bilinear resizing is separable: along each axis every output row is a blend of two input
rows, so it is a matrix ``(out, in)`` with two non-zeros per row, applied to the height axis
and then to the width axis; its gradient applies the transposed matrices in reverse order.
The source coordinate of output pixel ``o`` is ``(o + 0.5) * in / out - 0.5`` clamped to
``[0, in - 1]`` (half-pixel centres: what TensorFlow's ``tf.image.resize`` and so Keras'
``UpSampling2D(interpolation="bilinear")`` compute, and PyTorch's ``align_corners=False``).
The loop twin is `convnp.ops.reference_upsampling.resize`.
"""

from __future__ import annotations

import numpy as np

from convnp.ops.image_resize import resize_weights
from convnp.ops.padding import check_batch

# Keras's UpSampling2D methods (what its `ops.image.resize` takes); every one but nearest is
# a separable matrix along each axis
METHODS = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area")


def interpolation_matrix(n_in: int, n_out: int, dtype=np.float64) -> np.ndarray:
    """The ``(n_out, n_in)`` matrix of bilinear weights along one axis."""
    t = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0, n_in - 1)
    low = np.floor(t).astype(np.intp)
    high = np.minimum(low + 1, n_in - 1)
    frac = t - low
    matrix = np.zeros((n_out, n_in), dtype=dtype)
    rows = np.arange(n_out)
    np.add.at(matrix, (rows, low), 1.0 - frac)
    np.add.at(matrix, (rows, high), frac)
    return matrix


def _axis_matrix(n_in: int, n_out: int, method: str, dtype) -> np.ndarray:
    """The ``(n_out, n_in)`` weights of ``method`` along one axis (not for nearest):
    `tf.image.resize`'s, without antialiasing, as Keras's UpSampling2D resizes."""
    if method == "bilinear":
        return interpolation_matrix(n_in, n_out, dtype)
    return resize_weights(n_in, n_out, method).astype(dtype, copy=False)


def _check(x, size, method: str, op: str) -> tuple[int, int]:
    check_batch(x, "x")
    if method not in METHODS:
        raise ValueError(f"{op}: method must be one of {METHODS}, got {method!r}")
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or any(not isinstance(s, (int, np.integer)) or s < 1 for s in size)):
        raise ValueError(f"{op}: size must be a pair of positive ints, got {size!r}")
    return int(size[0]), int(size[1])


def upsample(x: np.ndarray, size, method: str = "nearest") -> np.ndarray:
    """Enlarge ``(m, n_H, n_W, n_C)`` images by integer factors ``size = (f_h, f_w)``.

    Returns ``(m, n_H * f_h, n_W * f_w, n_C)`` in ``x``'s float dtype.
    """
    f_h, f_w = _check(x, size, method, "upsample")
    x = x if x.dtype.kind == "f" else x.astype(np.float64)
    m, n_H, n_W, n_C = x.shape
    if method == "nearest":
        y = np.empty((m, n_H, f_h, n_W, f_w, n_C), dtype=x.dtype)
        y[...] = x[:, :, None, :, None, :]
        return y.reshape(m, n_H * f_h, n_W * f_w, n_C)
    rows = _axis_matrix(n_H, n_H * f_h, method, x.dtype)
    cols = _axis_matrix(n_W, n_W * f_w, method, x.dtype)
    return separable(x, rows, cols)


def separable(x: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``(m, h, w, c)`` images through a ``(H, h)`` matrix along the height and a ``(W, w)``
    matrix along the width: ``(m, H, W, c)``, as two products (the two maps commute, so the
    transposed matrices give the gradient)."""
    m, n_H, n_W, n_C = x.shape
    out_h, out_w = rows.shape[0], cols.shape[0]
    tall = np.matmul(rows, x.reshape(m, n_H, n_W * n_C))  # (m, out_h, n_W * n_C)
    wide = np.matmul(cols, tall.reshape(m * out_h, n_W, n_C))  # (m * out_h, out_w, n_C)
    return wide.reshape(m, out_h, out_w, n_C)


def upsample_backward(dy: np.ndarray, size, method: str = "nearest") -> np.ndarray:
    """Gradient of `upsample` w.r.t. its input, from ``dy`` of the output's shape."""
    f_h, f_w = _check(dy, size, method, "upsample_backward")
    m, out_h, out_w, n_C = dy.shape
    if out_h % f_h or out_w % f_w:
        raise ValueError(f"upsample_backward: dy of shape {dy.shape} is not an upsampling by "
                         f"{(f_h, f_w)}")
    n_H, n_W = out_h // f_h, out_w // f_w
    if method == "nearest":
        return dy.reshape(m, n_H, f_h, n_W, f_w, n_C).sum(axis=(2, 4))
    rows = _axis_matrix(n_H, out_h, method, dy.dtype)
    cols = _axis_matrix(n_W, out_w, method, dy.dtype)
    return separable(dy, rows.T, cols.T)
