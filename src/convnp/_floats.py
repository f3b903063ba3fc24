"""NumPy's floating-point warnings, kept off where TensorFlow says nothing.

TensorFlow computes infinities and NaNs without a word (``log(0)``, ``x / 0``, ``sqrt(-1)``,
``exp(1000)``, a NaN pixel through a conv); NumPy warns about each, from whichever line of
convnp met it first ("invalid value encountered in matmul"). Model and layer calls, tensor
ops and their gradients therefore run with NumPy's overflow, invalid-value and
division-by-zero warnings off. What matters is reported by convnp itself, as Keras does: an
invalid loss in ``fit``, non-finite gradients or statistics. (Underflow is off in NumPy
already.) Kernels split between threads take the caller's error state
(`convnp.ops.threads`), so this holds in every thread.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

QUIET = {"over": "ignore", "invalid": "ignore", "divide": "ignore"}


def quiet(method: Callable) -> Callable:
    """Decorator: run ``method`` under ``np.errstate(**QUIET)``."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with np.errstate(**QUIET):
            return method(*args, **kwargs)

    return wrapper
