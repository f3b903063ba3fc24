"""Small helpers the Keras namespace re-exports: `to_categorical`, `set_random_seed`."""

from __future__ import annotations

import numpy as np

from convnp import random as _random

__all__ = ["set_random_seed", "to_categorical"]


def to_categorical(y, num_classes: int | None = None, dtype=np.float32) -> np.ndarray:
    """One-hot encode integer labels, like `keras.utils.to_categorical`.

    Args:
        y: integer labels of any shape; a trailing axis of size 1 is dropped (`(m, 1)` gives
            `(m, num_classes)`).
        num_classes: number of classes; default `max(y) + 1`.
        dtype: output dtype (float32 by default).

    Returns:
        Array of shape `y.shape + (num_classes,)` (after dropping a trailing 1).

    Raises:
        ValueError: negative labels, labels >= num_classes, or non-integer values.
    """
    y = np.asarray(y)
    if y.ndim >= 1 and y.shape[-1] == 1 and y.ndim > 1:
        y = y.reshape(y.shape[:-1])
    if y.size and np.issubdtype(y.dtype, np.floating):
        if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise ValueError("to_categorical expects integer class labels")
    elif y.size and not (np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_):
        raise TypeError(f"to_categorical expects integer class labels, got dtype {y.dtype}")
    labels = y.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError(f"to_categorical: labels must be >= 0, received {labels.min()}")
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    elif labels.size and labels.max() >= num_classes:
        raise ValueError(
            f"to_categorical: num_classes={num_classes} but labels go up to {labels.max()}")
    out = np.zeros(labels.shape + (int(num_classes),), dtype=dtype)
    if labels.size:
        np.put_along_axis(out, labels[..., None], 1, axis=-1)
    return out


def set_random_seed(seed: int) -> None:
    """Seed convnp's global generator (and NumPy's legacy one): runs repeat bit for bit."""
    _random.set_seed(seed)
