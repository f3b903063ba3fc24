"""Keras 3's sparsemax along an axis, with its input gradient (for `keras.ops.sparsemax` and
the ``"sparsemax"`` activation).

``max(x - tau, 0)``, where ``tau`` is (the sum of the running sums of the sorted values over
the support, minus 1) / the support's size. This is the formula every Keras 3.15 backend
computes; for a support of more than one entry it differs from Martins & Astudillo's
sparsemax (whose ``tau`` uses the last running sum only, so that rows sum to 1): convnp gives
Keras' numbers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def sparsemax(a: np.ndarray, axis: int = -1) -> tuple[np.ndarray, Callable]:
    """``(y, vjp)``: sparsemax of the float array ``a`` along ``axis`` and the function
    taking the output gradient to the input gradient."""
    if a.dtype.kind != "f":
        raise TypeError(f"sparsemax: expected a float tensor, got {a.dtype}")
    if not -a.ndim <= int(axis) < a.ndim:
        raise ValueError(f"sparsemax: axis {axis} is out of range for rank {a.ndim}")
    axis = int(axis) % a.ndim
    order = np.argsort(-a, axis=axis, kind="stable")
    ordered = np.take_along_axis(a, order, axis=axis)
    shape = [-1 if i == axis else 1 for i in range(a.ndim)]
    ranks = np.arange(1, a.shape[axis] + 1, dtype=a.dtype).reshape(shape)
    running = np.cumsum(ordered, axis=axis)
    support = ordered - (running - 1) / ranks > 0
    k = support.sum(axis=axis, keepdims=True).astype(a.dtype)
    tau = (np.where(support, running, 0).sum(axis=axis, keepdims=True) - 1) / k
    shifted = a - tau
    out = np.maximum(shifted, 0).astype(a.dtype)
    active = shifted >= 0
    # d tau / d x: an entry at sorted position r (0-based) inside the support enters k - r
    # of the running sums that tau adds up
    position = np.empty_like(order)
    np.put_along_axis(position, order, np.arange(a.shape[axis]).reshape(shape), axis=axis)
    slope = np.where(position < k, (k - position) / k, 0).astype(a.dtype)

    def vjp(g: np.ndarray) -> np.ndarray:
        g = np.asarray(g) * active
        return (g - g.sum(axis=axis, keepdims=True) * slope).astype(a.dtype)

    return out, vjp
