"""Fast convolution: strided-view im2col, one matrix product, window-offset col2im.

The idea, for an input batch ``A_prev`` of shape ``(m, n_H_prev, n_W_prev, n_C_prev)`` and
kernels ``W`` of shape ``(f_h, f_w, n_C_prev, n_C)``:

1. pad the input once (only if there is padding);
2. look at it through a strided *view* of shape ``(m, n_H, n_W, f_h, f_w, n_C_prev)``: entry
   ``[i, h, w]`` is the window under output pixel ``(h, w)`` of example ``i``. The view costs
   nothing; copying it gives the im2col matrix ``cols`` with one row per output pixel. Its
   innermost ``f_w * n_C_prev`` numbers are contiguous in the input, so the copy streams;
3. ``Z = cols @ W`` reshaped — a single GEMM that BLAS runs on every core.

Backward reuses ``cols`` from the cache: ``dW = cols.T @ dZ`` (one GEMM), ``db`` is a column
sum, and ``dA_prev`` comes from ``dcols = dZ @ W.T`` scattered back onto the input by looping
over the ``f_h * f_w`` window offsets (each step adds one strided slab; no loop over pixels).

Functions keep the float dtype they are given (ints compute in float64).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from convnp.ops.padding import Geometry, check_batch, conv_geometry, explicit_pads, float_dtype


def zero_pad(X: np.ndarray, pad) -> np.ndarray:
    """Pad the height and width of a batch of images with zeros.

    Args:
        X: images, shape ``(m, n_H, n_W, n_C)``.
        pad: an int, a ``(p_h, p_w)`` pair, or ``((top, bottom), (left, right))``.

    Returns:
        ``X_pad`` of shape ``(m, n_H + top + bottom, n_W + left + right, n_C)``, same dtype.
    """
    check_batch(X, "X")
    (top, bottom), (left, right) = explicit_pads(pad)
    return _pad(X, ((top, bottom), (left, right)))


def _pad(X: np.ndarray, pads, fill: float = 0.0) -> np.ndarray:
    """Copy ``X`` into the middle of a new array filled with ``fill`` (faster than np.pad)."""
    (top, bottom), (left, right) = pads
    m, n_H, n_W, n_C = X.shape
    out = np.empty((m, n_H + top + bottom, n_W + left + right, n_C), dtype=X.dtype)
    if top or bottom or left or right:
        out[:, :top] = fill
        out[:, top + n_H:] = fill
        out[:, top:top + n_H, :left] = fill
        out[:, top:top + n_H, left + n_W:] = fill
    out[:, top:top + n_H, left:left + n_W] = X
    return out


def conv_single_step(a_slice_prev: np.ndarray, W: np.ndarray, b) -> np.floating:
    """One output value: the sum of ``a_slice_prev * W`` plus the bias.

    Args:
        a_slice_prev: one window of the input, shape ``(f_h, f_w, n_C_prev)``.
        W: one filter, same shape.
        b: the filter's bias, any array holding exactly one number (e.g. ``(1, 1, 1)``) or a
            scalar.

    Returns:
        A NumPy scalar of the inputs' float dtype.
    """
    a_slice_prev = np.asarray(a_slice_prev)
    W = np.asarray(W)
    b = np.asarray(b)
    if a_slice_prev.shape != W.shape:
        raise ValueError(f"conv_single_step: a_slice_prev and W must have the same shape, "
                         f"got {a_slice_prev.shape} and {W.shape}")
    if b.size != 1:
        raise ValueError(f"conv_single_step: b must hold one number (shape (1, 1, 1)), "
                         f"got shape {b.shape}")
    dtype = float_dtype(a_slice_prev, W, b)
    # b.reshape(()) turns a (1, 1, 1) array into a 0-d one, which NumPy 2 can add as a scalar.
    return dtype.type(np.sum(a_slice_prev * W, dtype=dtype) + b.reshape(()).astype(dtype))


@dataclass
class ConvCache:
    """What `conv_backward` needs; callers treat it as opaque.

    Attributes:
        cols: the im2col matrix in window-major layout, shape
            ``(f_h * f_w * n_C_prev, m * n_H * n_W)`` (see `im2col`).
        W: the kernels, shape ``(f_h, f_w, n_C_prev, n_C)``, in the compute dtype.
        b: the bias as given, shape ``(1, 1, 1, n_C)``.
        input_shape: shape of ``A_prev``.
        geometry: kernel, stride, pads and output size.
        hparameters: the dict given to `conv_forward`.
    """

    cols: np.ndarray
    W: np.ndarray
    b: np.ndarray
    input_shape: tuple[int, int, int, int]
    geometry: Geometry
    hparameters: dict


def channels_first_padded(A: np.ndarray, pads, fill: float = 0.0) -> np.ndarray:
    """Copy an NHWC batch into a padded ``(n_C, m, n_H_pad, n_W_pad)`` array.

    One copy does both the transpose and the padding. In this layout every window offset of
    every channel is a plain 2-D slab, so `im2col` and `col2im` move long contiguous rows.
    """
    (top, bottom), (left, right) = pads
    m, n_H, n_W, n_C = A.shape
    out = np.empty((n_C, m, n_H + top + bottom, n_W + left + right), dtype=A.dtype)
    if top or bottom or left or right:
        out[:, :, :top] = fill
        out[:, :, top + n_H:] = fill
        out[:, :, top:top + n_H, :left] = fill
        out[:, :, top:top + n_H, left + n_W:] = fill
    out[:, :, top:top + n_H, left:left + n_W] = A.transpose(3, 0, 1, 2)
    return out


def im2col(A_t: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Copy every window of a padded channels-first batch into the columns of a matrix.

    Args:
        A_t: padded input in ``(n_C, m, n_H_pad, n_W_pad)`` layout (`channels_first_padded`).
        geometry: window geometry (its pads are already applied).

    Returns:
        ``cols`` of shape ``(f_h * f_w * n_C, m * n_H * n_W)``: row ``(i, j, c)`` holds, for
        every output pixel ``(example, h, w)``, the input value at window offset ``(i, j)``
        of channel ``c``. The row order ``(f_h, f_w, n_C)`` matches ``W.reshape(-1, n_C_out)``.
    """
    n_C, m, _, _ = A_t.shape
    f_h, f_w = geometry.kernel
    s_h, s_w = geometry.stride
    n_H, n_W = geometry.out_hw
    st_c, st_m, st_h, st_w = A_t.strides
    windows = as_strided(
        A_t,
        shape=(f_h, f_w, n_C, m, n_H, n_W),
        strides=(st_h, st_w, st_c, st_m, st_h * s_h, st_w * s_w),
        writeable=False,
    )
    cols = np.empty(windows.shape, dtype=A_t.dtype)
    np.copyto(cols, windows)
    return cols.reshape(f_h * f_w * n_C, m * n_H * n_W)


def col2im(dcols: np.ndarray, padded_shape_t: tuple[int, ...], geometry: Geometry) -> np.ndarray:
    """Sum the entries of ``dcols`` back onto the input positions they were copied from.

    The adjoint of `im2col`, in the same channels-first layout: one strided slab is added per
    window offset, so the Python loop runs ``f_h * f_w`` times whatever the batch size.

    Args:
        dcols: shape ``(f_h * f_w * n_C, m * n_H * n_W)``.
        padded_shape_t: ``(n_C, m, n_H_pad, n_W_pad)``.

    Returns:
        The gradient w.r.t. the padded input, shape ``padded_shape_t``.
    """
    n_C, m = padded_shape_t[:2]
    f_h, f_w = geometry.kernel
    s_h, s_w = geometry.stride
    n_H, n_W = geometry.out_hw
    dcols = dcols.reshape(f_h, f_w, n_C, m, n_H, n_W)
    dA_t = np.zeros(padded_shape_t, dtype=dcols.dtype)
    h_span = s_h * (n_H - 1) + 1
    w_span = s_w * (n_W - 1) + 1
    for i in range(f_h):
        for j in range(f_w):
            dA_t[:, :, i:i + h_span:s_h, j:j + w_span:s_w] += dcols[i, j]
    return dA_t


def conv_forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray, hparameters: dict):
    """Convolve a batch with a bank of filters.

    Args:
        A_prev: input batch, shape ``(m, n_H_prev, n_W_prev, n_C_prev)``.
        W: filters, shape ``(f_h, f_w, n_C_prev, n_C)``.
        b: biases, shape ``(1, 1, 1, n_C)``.
        hparameters: ``{"stride": int | (s_h, s_w), "pad": int | (p_h, p_w) |
            ((top, bottom), (left, right)) | "same" | "valid"}``.

    Returns:
        ``(Z, cache)``: ``Z`` of shape ``(m, n_H, n_W, n_C)``, and the opaque cache for
        `conv_backward` (a `ConvCache`; it keeps the im2col matrix).
    """
    geometry = conv_geometry(A_prev, W, b, hparameters)
    dtype = float_dtype(A_prev, W, b)
    A = A_prev.astype(dtype, copy=False)
    W = W.astype(dtype, copy=False)
    m = A.shape[0]
    f_h, f_w, n_C_prev, n_C = W.shape
    n_H, n_W = geometry.out_hw

    cols = im2col(channels_first_padded(A, geometry.pads), geometry)
    # (K, N).T @ (K, n_C): BLAS reads the transposed operand in place, no copy.
    Z = cols.T @ W.reshape(f_h * f_w * n_C_prev, n_C)
    Z += b.reshape(1, n_C).astype(dtype, copy=False)
    cache = ConvCache(cols, W, b, A.shape, geometry, hparameters)
    return Z.reshape(m, n_H, n_W, n_C), cache


def conv_backward(dZ: np.ndarray, cache: ConvCache, compute_dA_prev: bool = True):
    """Gradients of a convolution.

    Args:
        dZ: gradient of the cost w.r.t. ``Z``, shape ``(m, n_H, n_W, n_C)``.
        cache: the cache returned by `conv_forward`.
        compute_dA_prev: set False to skip the input gradient (the first layer of a network
            does not need it); ``dA_prev`` is then ``None``.

    Returns:
        ``(dA_prev, dW, db)`` of shapes ``(m, n_H_prev, n_W_prev, n_C_prev)``,
        ``(f_h, f_w, n_C_prev, n_C)`` and ``(1, 1, 1, n_C)``.
    """
    if not isinstance(cache, ConvCache):
        raise TypeError(f"conv_backward: cache must come from convnp.ops.conv_forward, "
                        f"got {type(cache).__name__}")
    W = cache.W
    f_h, f_w, n_C_prev, n_C = W.shape
    m = cache.input_shape[0]
    expected = (m, *cache.geometry.out_hw, n_C)
    if not isinstance(dZ, np.ndarray) or dZ.shape != expected:
        raise ValueError(f"conv_backward: dZ must have shape {expected}, "
                         f"got {getattr(dZ, 'shape', type(dZ).__name__)}")
    dZ2 = dZ.astype(W.dtype, copy=False).reshape(-1, n_C)

    dW = (cache.cols @ dZ2).reshape(W.shape)
    db = dZ2.sum(axis=0).reshape(1, 1, 1, n_C)
    if not compute_dA_prev:
        return None, dW, db

    dcols = W.reshape(f_h * f_w * n_C_prev, n_C) @ dZ2.T
    (top, bottom), (left, right) = cache.geometry.pads
    _, n_H_prev, n_W_prev, _ = cache.input_shape
    padded_shape_t = (n_C_prev, m, n_H_prev + top + bottom, n_W_prev + left + right)
    dA_t = col2im(dcols, padded_shape_t, cache.geometry)
    dA_prev = dA_t[:, :, top:top + n_H_prev, left:left + n_W_prev].transpose(1, 2, 3, 0)
    return np.ascontiguousarray(dA_prev), dW, db
