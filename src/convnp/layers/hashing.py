"""Keras 3's `Hashing`: values to hash bins, as TensorFlow's Keras hashes them.

Every value is hashed as text: strings as their UTF-8 bytes, integers (and floats, first cut
to int64) as their decimal text, with FarmHash Fingerprint64 (``tf.strings.
to_hash_bucket_fast``) or, given a ``salt``, SipHash-2-4 keyed by it
(``to_hash_bucket_strong``); the bin is the hash modulo the number of bins. ``mask_value``
reserves bin 0 for itself (the others hash into ``num_bins - 1`` bins, shifted by one).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp.layers._index_lookup import NoGradientLayer, categorical, check_salt, hash_bucket
from convnp.layers.registry import register

MODES = ("int", "one_hot", "multi_hot", "count")


def _values(inputs, where: str) -> np.ndarray:
    array = np.asarray(inputs)
    if array.dtype.kind == "f":
        return array.astype(np.int64)
    if array.dtype.kind in "iubUSO":
        return array
    raise TypeError(f"{where} takes strings or numbers, got dtype {array.dtype}")


@register
class Hashing(NoGradientLayer):
    """Hash strings or numbers into ``num_bins`` bins.

    Args:
        num_bins: the number of bins (bin 0 is the mask's when ``mask_value`` is set).
        mask_value: a value mapped to bin 0.
        salt: an int or a pair of ints: hash with SipHash-2-4 under this key instead.
        output_mode: ``"int"`` (int64 bins, default), ``"one_hot"``, ``"multi_hot"`` or
            ``"count"`` (float32, over axis 1 of a batch).
        sparse: False only.

    >>> Hashing(num_bins=3)([["A"], ["B"], ["C"], ["D"], ["E"]]).numpy().ravel().tolist()
    [1, 0, 1, 1, 2]
    """

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False,
                 **kwargs):
        dtype = kwargs.pop("dtype", None)
        if isinstance(dtype, dict):
            dtype = (dtype.get("config") or {}).get("name")
        super().__init__(**kwargs)
        if num_bins is None or isinstance(num_bins, bool) or not isinstance(
                num_bins, (int, np.integer)) or num_bins <= 0:
            raise ValueError(f"Hashing: num_bins must be a positive int, got {num_bins!r}")
        if output_mode not in MODES:
            raise ValueError(f"Hashing: output_mode must be one of {MODES}, got "
                             f"{output_mode!r}")
        if sparse:
            raise ValueError("Hashing: sparse=True is not supported (convnp has no sparse "
                             "tensors)")
        out_dtype = np.dtype(dtype or ("int64" if output_mode == "int" else "float32"))
        if output_mode == "int" and out_dtype.name not in ("int32", "int64"):
            raise ValueError(f"Hashing: output_mode='int' needs dtype 'int32' or 'int64', got "
                             f"{out_dtype.name!r}")
        self.out_dtype = out_dtype
        self.num_bins = int(num_bins)
        self.mask_value = mask_value
        self.salt = None if salt is None else check_salt(salt, "Hashing")
        self.strong_hash = salt is not None
        self.output_mode = output_mode
        self.sparse = False

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        if self.output_mode == "int":
            return shape
        if not shape:
            return (self.num_bins,)
        if self.output_mode == "one_hot" and shape[-1] == 1:
            return shape[:-1] + (self.num_bins,)
        if self.output_mode == "one_hot":
            return shape + (self.num_bins,)
        return (shape[:1] + shape[2:] if len(shape) > 1 else ()) + (self.num_bins,)

    def _bins(self, values: np.ndarray) -> np.ndarray:
        bins = self.num_bins
        masked = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            masked = values == self.mask_value
            if values.dtype.kind in "OS":
                masked = np.vectorize(lambda v: (v.decode("utf-8") if isinstance(v, bytes)
                                                 else v) == self.mask_value,
                                      otypes=[bool])(values) if values.size else masked
        unique, inverse = np.unique(values.reshape(-1), return_inverse=True)
        table = np.array([hash_bucket(v.item() if isinstance(v, np.generic) else v,
                                      bins, self.salt) for v in unique], np.int64)
        out = table[inverse].reshape(values.shape)
        if masked is not None:
            out = np.where(masked, 0, out + 1)
        return out

    def call(self, inputs, training: bool = False) -> np.ndarray:
        self._cache = ()
        values = _values(inputs, f"Hashing '{self.name}'")
        bins = self._bins(values)
        if self.output_mode == "int":
            return bins.astype(self.out_dtype)
        return categorical(bins, self.output_mode, self.num_bins, self.out_dtype)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "trainable": self.trainable, "dtype": self.out_dtype.name,
                "num_bins": self.num_bins, "salt": self.salt, "mask_value": self.mask_value,
                "output_mode": self.output_mode, "sparse": False}
