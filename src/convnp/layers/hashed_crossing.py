"""Keras 3's `HashedCrossing`: the cross of two or more categorical features, hashed into
bins as ``tf.sparse.cross_hashed`` does (TensorFlow backend).

Each feature value has a 64-bit hash (an integer its own value as two's complement, a string
its FarmHash Fingerprint64); the cross chains them with TensorFlow's ``FingerprintCat64`` from
the key ``0xDECAFCAFFE``, and the bin is that modulo ``num_bins``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp.layers import _hashes
from convnp.layers._index_lookup import NoGradientLayer, categorical
from convnp.layers.registry import register

_CROSS_KEY = 0xDECAFCAFFE


def _feature_hash(value) -> int:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (str, bytes)):
        return _hashes.fingerprint64(_hashes.as_bytes(value))
    return int(value) & ((1 << 64) - 1)


def cross_hash(values, num_bins: int) -> int:
    """The bin of one crossed tuple of feature values."""
    h = _CROSS_KEY
    for v in values:
        h = _hashes.fingerprint_cat64(h, _feature_hash(v))
    return h % num_bins


@register
class HashedCrossing(NoGradientLayer):
    """Cross features into ``num_bins`` hash bins: call it on a list of two or more inputs
    of the same shape, ``()``, ``(batch,)`` or ``(batch, 1)``, of integers or strings.

    ``output_mode``: ``"int"`` (int64 bins, default) or ``"one_hot"`` (float32).
    ``sparse``: False only.
    """

    def __init__(self, num_bins, output_mode="int", sparse=False, name=None, dtype=None,
                 **kwargs):
        if isinstance(dtype, dict):
            dtype = (dtype.get("config") or {}).get("name")
        kwargs.pop("trainable", None)
        super().__init__(name=name, **kwargs)
        if num_bins is None or isinstance(num_bins, bool) or not isinstance(
                num_bins, (int, np.integer)) or num_bins <= 0:
            raise ValueError(f"HashedCrossing: num_bins must be a positive int, got "
                             f"{num_bins!r}")
        if output_mode not in ("int", "one_hot"):
            raise ValueError(f"HashedCrossing: output_mode must be 'int' or 'one_hot', got "
                             f"{output_mode!r}")
        if sparse:
            raise ValueError("HashedCrossing: sparse=True is not supported (convnp has no "
                             "sparse tensors)")
        self.num_bins = int(num_bins)
        self.output_mode = output_mode
        self.sparse = False
        self.out_dtype = np.dtype(dtype or ("int64" if output_mode == "int" else "float32"))

    def __call__(self, inputs, *args, **kwargs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f"HashedCrossing should be called on a list or tuple of at "
                             f"least two inputs, got {type(inputs).__name__}")
        return super().__call__(list(inputs), *args, **kwargs)

    def compute_output_shape(self, input_shape):
        first = tuple(input_shape[0])
        if any(tuple(s) != first for s in input_shape[1:]):
            raise ValueError(f"HashedCrossing: the inputs must have equal shapes, got "
                             f"{[tuple(s) for s in input_shape]}")
        if self.output_mode == "int":
            return first
        if not first:
            return (self.num_bins,)
        if first[-1] != 1:
            return first + (self.num_bins,)
        return first[:-1] + (self.num_bins,)

    def call(self, inputs, training: bool = False) -> np.ndarray:
        self._cache = ()
        arrays = [np.asarray(x) for x in inputs]
        shape = arrays[0].shape
        if len(shape) > 2 or (len(shape) == 2 and shape[-1] != 1):
            raise ValueError(f"HashedCrossing inputs must have shape (), (batch,) or (batch, "
                             f"1), got {shape}")
        if any(a.shape != shape for a in arrays[1:]):
            raise ValueError(f"HashedCrossing inputs must have equal shapes, got "
                             f"{[a.shape for a in arrays]}")
        if any(a.dtype.kind not in "iuUSO" for a in arrays):
            raise ValueError(f"HashedCrossing inputs must be integers or strings, got "
                             f"dtypes {[str(a.dtype) for a in arrays]}")
        flat = [a.reshape(-1) for a in arrays]
        bins = np.array([cross_hash([f[i] for f in flat], self.num_bins)
                         for i in range(flat[0].size)], np.int64).reshape(shape)
        if self.output_mode == "int":
            return bins.astype(self.out_dtype)
        return categorical(bins, "one_hot", self.num_bins, self.out_dtype)

    def get_config(self) -> dict[str, Any]:
        return {"num_bins": self.num_bins, "output_mode": self.output_mode, "sparse": False,
                "name": self.name, "dtype": self.out_dtype.name}


__all__ = ["HashedCrossing", "cross_hash"]
