"""Independent formulas the op tests compare against (not loops, not the library's code).

Convolution forward and the weight gradient use `sliding_window_view` + `einsum`; the input
gradient uses the textbook identity "full correlation of the stride-dilated dZ with the
flipped, channel-swapped kernel"; pooling uses sliding windows over an input padded with
-inf (max) or NaN (average, so `nanmean` counts real cells only).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import convnp.ops as fast
from convnp.ops import padding, reference

# Both implementations take the same arguments; tests run once per version.
IMPLS = {"reference": reference, "fast": fast}


def pad_hw(A: np.ndarray, pads, value: float = 0.0) -> np.ndarray:
    (top, bottom), (left, right) = pads
    return np.pad(A, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def windows(A_pad: np.ndarray, kernel, stride) -> np.ndarray:
    """All windows, shape ``(m, n_H, n_W, n_C, f_h, f_w)``."""
    view = sliding_window_view(A_pad, tuple(kernel), axis=(1, 2))
    return view[:, :: stride[0], :: stride[1]]


def conv_forward(A, W, b, stride, pads) -> np.ndarray:
    win = windows(pad_hw(A.astype(np.float64), pads), W.shape[:2], stride)
    return np.einsum("mhwcij,ijcn->mhwn", win, W.astype(np.float64)) + np.reshape(b, -1)


def conv_dW(A, dZ, kernel, stride, pads) -> np.ndarray:
    win = windows(pad_hw(A.astype(np.float64), pads), kernel, stride)
    win = win[:, : dZ.shape[1], : dZ.shape[2]]
    return np.einsum("mhwcij,mhwn->ijcn", win, dZ.astype(np.float64))


def conv_db(dZ) -> np.ndarray:
    return dZ.astype(np.float64).sum(axis=(0, 1, 2)).reshape(1, 1, 1, -1)


def conv_dA(dZ, W, in_shape, stride, pads) -> np.ndarray:
    """Input gradient as a full correlation of the dilated ``dZ`` with the flipped kernel."""
    m, n_H, n_W, n_C = dZ.shape
    f_h, f_w = W.shape[:2]
    s_h, s_w = stride
    dilated = np.zeros((m, (n_H - 1) * s_h + 1, (n_W - 1) * s_w + 1, n_C))
    dilated[:, ::s_h, ::s_w] = dZ
    flipped = W[::-1, ::-1].transpose(0, 1, 3, 2).astype(np.float64)
    full = conv_forward(dilated, flipped, np.zeros(W.shape[2]), (1, 1),
                        ((f_h - 1, f_h - 1), (f_w - 1, f_w - 1)))
    (top, bottom), (left, right) = pads
    grid = np.zeros((m, in_shape[1] + top + bottom, in_shape[2] + left + right, W.shape[2]))
    # Rows/columns past the last window get no gradient (they never reach an output).
    grid[:, : full.shape[1], : full.shape[2]] = full
    return grid[:, top: top + in_shape[1], left: left + in_shape[2]]


def pool_forward(A, kernel, stride, pads, mode: str) -> np.ndarray:
    A = A.astype(np.float64)
    if mode == "max":
        win = windows(pad_hw(A, pads, -np.inf), kernel, stride)
        return win.max(axis=(4, 5))
    win = windows(pad_hw(A, pads, np.nan), kernel, stride)
    return np.nanmean(win, axis=(4, 5))


def geometry(A_shape, kernel, stride, pad) -> padding.Geometry:
    return padding.window_geometry(tuple(A_shape[1:3]), kernel, stride, pad)
