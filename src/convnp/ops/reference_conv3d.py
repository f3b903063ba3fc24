"""The 3-D ops of `convnp.ops.conv3d` as plain loops over examples, voxels and filters: the
oracle the fast versions are tested against, and the version to read first.

Same arguments and results as the fast ops (no caches: these return outputs and gradients
only). Imported by tests and readers only.
"""

from __future__ import annotations

import numpy as np

from convnp.ops.conv3d import as_triple, transpose_geometry, volume_geometry


def _padded(x: np.ndarray, pads, value: float = 0.0) -> np.ndarray:
    return np.pad(x, ((0, 0), *pads, (0, 0)), constant_values=value)


def _unpadded(xp: np.ndarray, pads, size) -> np.ndarray:
    """The part of the padded ``xp`` that is the input of spatial ``size`` (the inverse of
    `_padded`)."""
    return xp[(slice(None), *(slice(b, b + n) for (b, _), n in zip(pads, size)), slice(None))]


def _window(corner, stride, kernel, dil=(1, 1, 1)) -> tuple[slice, ...]:
    """The depth, height and width slices of the padded input that output voxel ``corner``
    ``(d, h, w)`` reads: ``kernel`` taps, ``dil`` apart, from ``corner * stride``."""
    return tuple(slice(o * s, o * s + (f - 1) * r + 1, r)
                 for o, s, f, r in zip(corner, stride, kernel, dil))


def _conv_setup(A_prev, W, strides, padding, dilation):
    """What both conv loops start from: the input and kernel as float64, the zero-padded
    input, the pads, the output size, the strides and the dilation."""
    A_prev = np.asarray(A_prev, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    stride, dil = as_triple(strides, "strides"), as_triple(dilation, "dilation_rate")
    pads, out = volume_geometry(A_prev.shape[1:4], W.shape[:3], stride, padding, dil)
    return A_prev, W, _padded(A_prev, pads), pads, out, stride, dil


def conv3d_forward(A_prev, W, b=None, strides=1, padding="valid", dilation=1, groups=1):
    """``Z[i, d, h, w, c] = sum over the window and the group's channels of A_prev * W``,
    plus ``b[c]``."""
    A_prev, W, xp, _, out, stride, dil = _conv_setup(A_prev, W, strides, padding, dilation)
    kernel, c_g, n_C = W.shape[:3], W.shape[3], W.shape[4]
    f_g = n_C // groups
    Z = np.zeros((A_prev.shape[0], *out, n_C))
    for i in range(A_prev.shape[0]):
        for d in range(out[0]):
            for h in range(out[1]):
                for w in range(out[2]):
                    for c in range(n_C):
                        g = c // f_g
                        window = xp[(i, *_window((d, h, w), stride, kernel, dil),
                                     slice(g * c_g, (g + 1) * c_g))]
                        Z[i, d, h, w, c] = np.sum(window * W[..., c])
                        if b is not None:
                            Z[i, d, h, w, c] += np.ravel(b)[c]
    return Z


def conv3d_backward(A_prev, W, dZ, strides=1, padding="valid", dilation=1, groups=1):
    """``(dA_prev, dW, db)`` of `conv3d_forward`, window by window."""
    A_prev, W, xp, pads, out, stride, dil = _conv_setup(A_prev, W, strides, padding, dilation)
    kernel, c_g, n_C = W.shape[:3], W.shape[3], W.shape[4]
    f_g = n_C // groups
    dxp = np.zeros_like(xp)
    dW = np.zeros_like(W)
    db = np.zeros(n_C)
    for i in range(A_prev.shape[0]):
        for d in range(out[0]):
            for h in range(out[1]):
                for w in range(out[2]):
                    for c in range(n_C):
                        g = c // f_g
                        where = (i, *_window((d, h, w), stride, kernel, dil),
                                 slice(g * c_g, (g + 1) * c_g))
                        grad = dZ[i, d, h, w, c]
                        dxp[where] += W[..., c] * grad
                        dW[..., c] += xp[where] * grad
                        db[c] += grad
    return _unpadded(dxp, pads, A_prev.shape[1:4]), dW, db


def conv3d_transpose_forward(x, W, b=None, strides=1, padding="valid", output_padding=None):
    """Scatter: input voxel ``(d, h, w)`` adds ``x[i, d, h, w] . W`` to the output block that
    starts at ``stride * (d, h, w)``; then the 'same' crop and the bias."""
    x = np.asarray(x, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    stride = as_triple(strides, "strides")
    if output_padding is not None:
        output_padding = as_triple(output_padding, "output_padding", minimum=0)
    kernel, n_C = W.shape[:3], W.shape[3]
    out, crop, buffer = transpose_geometry(x.shape[1:4], kernel, stride, padding,
                                           output_padding)
    full = np.zeros((x.shape[0], *buffer, n_C))
    for i in range(x.shape[0]):
        for d in range(x.shape[1]):
            for h in range(x.shape[2]):
                for w in range(x.shape[3]):
                    d0, h0, w0 = d * stride[0], h * stride[1], w * stride[2]
                    # (f_d, f_h, f_w, n_C, n_C_in) . (n_C_in,) -> (f_d, f_h, f_w, n_C)
                    full[i, d0:d0 + kernel[0], h0:h0 + kernel[1], w0:w0 + kernel[2]] += \
                        W @ x[i, d, h, w]
    y = full[:, crop[0]:crop[0] + out[0], crop[1]:crop[1] + out[1], crop[2]:crop[2] + out[2]]
    if b is not None:
        y = y + np.ravel(b)
    return y


def pool3d_forward(A_prev, pool_size, strides=None, padding="valid", mode="max"):
    """Each output voxel is the max (or the mean of the real cells) of its window."""
    A_prev = np.asarray(A_prev, dtype=np.float64)
    kernel = as_triple(pool_size, "pool_size")
    stride = kernel if strides is None else as_triple(strides, "strides")
    pads, out = volume_geometry(A_prev.shape[1:4], kernel, stride, padding)
    xp = _padded(A_prev, pads, np.nan)  # NaN marks padding: skipped by nanmax/nanmean
    A = np.zeros((A_prev.shape[0], *out, A_prev.shape[4]))
    for i in range(A_prev.shape[0]):
        for d in range(out[0]):
            for h in range(out[1]):
                for w in range(out[2]):
                    for c in range(A_prev.shape[4]):
                        window = xp[(i, *_window((d, h, w), stride, kernel), c)]
                        A[i, d, h, w, c] = (np.nanmax(window) if mode == "max"
                                            else np.nanmean(window))
    return A


def pool3d_backward(A_prev, dA, pool_size, strides=None, padding="valid", mode="max"):
    """The input gradient of `pool3d_forward`: to the first maximum of each window, or spread
    evenly over its real cells."""
    A_prev = np.asarray(A_prev, dtype=np.float64)
    kernel = as_triple(pool_size, "pool_size")
    stride = kernel if strides is None else as_triple(strides, "strides")
    pads, out = volume_geometry(A_prev.shape[1:4], kernel, stride, padding)
    xp = _padded(A_prev, pads, np.nan)
    dxp = np.zeros_like(xp)
    for i in range(A_prev.shape[0]):
        for d in range(out[0]):
            for h in range(out[1]):
                for w in range(out[2]):
                    for c in range(A_prev.shape[4]):
                        where = (i, *_window((d, h, w), stride, kernel), c)
                        window = xp[where]
                        real = ~np.isnan(window)
                        if mode == "max":
                            first = np.unravel_index(np.nanargmax(window), window.shape)
                            share = np.zeros(window.shape)
                            share[first] = 1.0
                        else:
                            share = real / real.sum()
                        dxp[where] += share * dA[i, d, h, w, c]
    return _unpadded(dxp, pads, A_prev.shape[1:4])
