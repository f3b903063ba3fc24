"""Numerical gradient helpers (central differences, float64) shared by op and layer tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(f: Callable[[], np.ndarray], x: np.ndarray, dout: np.ndarray,
                       h: float = 1e-5) -> np.ndarray:
    """Gradient of ``sum(f() * dout)`` with respect to ``x`` by central differences.

    ``f`` takes no arguments and reads ``x``, which is perturbed in place one element at a time
    (and restored), so any array the function closes over can be checked.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        idx = it.multi_index
        saved = x[idx]
        x[idx] = saved + h
        plus = np.sum(f() * dout)
        x[idx] = saved - h
        minus = np.sum(f() * dout)
        x[idx] = saved
        grad[idx] = (plus - minus) / (2 * h)
    return grad


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """Relative error of ``a`` against ``b``, scaled by the larger of the two arrays.

    Elementwise relative errors blow up on entries that are nearly zero (where central
    differences have only absolute accuracy), so the worst absolute difference is divided by
    the arrays' largest magnitude instead. A wrong gradient formula is off by the order of
    the gradient itself and still fails by orders of magnitude.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    scale = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)))
    return float(np.max(np.abs(a - b), initial=0.0) / max(scale, 1e-8))
