"""Keras 3's categorical preprocessing layers: `CategoryEncoding` (integer tokens to one-hot,
multi-hot or count vectors) and `Discretization` (numbers to bin indices, or their
encodings; bin boundaries given or found by ``adapt``).

Both are dense only (``sparse=False``) and have no gradient: their inputs are indices or
comparisons, so, as `Embedding`'s ids, they pass None back (a model never needs more: they
read the model's inputs).

Shapes follow Keras 3 (TensorFlow backend): ``"one_hot"`` adds a last axis of ``depth``
(replacing a last axis of 1), ``"multi_hot"`` and ``"count"`` reduce axis 1 of a batch (the
only axis of a single sample) to ``depth``; a scalar is one sample.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp.layers import _utils
from convnp.layers.base import KerasTensor, Layer
from convnp.layers.feature_normalization import _batches
from convnp.layers.registry import register

ENCODINGS = ("one_hot", "multi_hot", "count")


def encoded_shape(input_shape, output_mode: str, depth: int) -> tuple:
    """The output shape of `encode` for an input of ``input_shape``."""
    shape = tuple(input_shape)
    if output_mode == "int":
        return shape
    if not shape:
        return (1, depth) if output_mode == "one_hot" else (depth,)
    if output_mode == "one_hot":
        return (shape[:-1] if len(shape) > 1 and shape[-1] == 1 else shape) + (depth,)
    return (shape[0],) + shape[2:] + (depth,) if len(shape) > 1 else (depth,)


def encode(indices: np.ndarray, output_mode: str, depth: int, dtype,
           count_weights: np.ndarray | None = None) -> np.ndarray:
    """Keras' ``encode_categorical_inputs`` for ``indices`` in ``[0, depth)``: ``"int"``
    (int32 as they are), ``"one_hot"``, ``"multi_hot"`` (1 where an index occurs) or
    ``"count"`` (how often it occurs, or the sum of its ``count_weights``)."""
    if output_mode == "int":
        return indices.astype(np.int32)
    if indices.ndim == 0:
        indices = indices.reshape(1)
        if count_weights is not None:
            count_weights = np.reshape(count_weights, (1,))
    if output_mode == "one_hot" and indices.ndim > 1 and indices.shape[-1] == 1:
        indices = indices[..., 0]
    hot = indices[..., None] == np.arange(depth)
    if output_mode == "one_hot":
        return hot.astype(dtype)
    axis = 1 if indices.ndim > 1 else 0
    if output_mode == "multi_hot":
        return hot.any(axis=axis).astype(dtype)
    if count_weights is None:
        return hot.sum(axis=axis).astype(dtype)
    return (hot * count_weights[..., None]).sum(axis=axis).astype(count_weights.dtype)


def _mode(output_mode, options: tuple, layer: str) -> str:
    if output_mode not in options:
        raise ValueError(f"{layer}: output_mode must be one of {options}, got "
                         f"{output_mode!r}")
    return output_mode


def _whole_number(value, name: str, layer: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{layer}: {name} must be an int >= {minimum}, got {value!r}")
    return int(value)


class _EncodingLayer(Layer):
    """Shared parts: any input shape, no weights, no gradient."""

    def check_input_shape(self, input_shape) -> None:
        return None

    def build(self, input_shape) -> None:
        self.built = True

    def backward(self, dy: np.ndarray):
        """Indices and comparisons get no gradient (None, as `Embedding`'s ids)."""
        self.take_cache()

    def compute_output_shape(self, input_shape):
        return encoded_shape(input_shape, self.output_mode, self.depth)


@register
class CategoryEncoding(_EncodingLayer):
    """Encode integer tokens in ``[0, num_tokens)`` as ``"multi_hot"`` (default),
    ``"one_hot"`` or ``"count"`` vectors of length ``num_tokens`` (``"binary"`` is the old
    name of ``"multi_hot"``). ``count_weights`` (count mode only, the inputs' shape) adds up
    weights instead of ones: ``layer(tokens, count_weights=w)`` on arrays. Float tokens are
    truncated to ints, as Keras casts them; tokens outside the range are refused."""

    config_keys = ("num_tokens", "output_mode")

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        if num_tokens is None:
            raise ValueError(f"{cls}: num_tokens must be set (the number of token values; "
                             f"unknown tokens need IntegerLookup)")
        self.num_tokens = _whole_number(num_tokens, "num_tokens", cls, 1)
        if output_mode == "binary":
            output_mode = "multi_hot"
        self.output_mode = _mode(output_mode, ENCODINGS, cls)
        _utils.not_supported(cls, sparse=sparse)
        self.sparse = False

    @property
    def depth(self) -> int:
        return self.num_tokens

    def __call__(self, inputs, count_weights=None, training: bool | None = None):
        if count_weights is None:
            return super().__call__(inputs, training=training)
        from convnp.tensor.eager import to_eager, to_numpy

        if self.output_mode != "count":
            raise ValueError(f"CategoryEncoding '{self.name}': count_weights apply to "
                             f"output_mode='count' only, this layer's is "
                             f"{self.output_mode!r}")
        if isinstance(inputs, KerasTensor) or isinstance(count_weights, KerasTensor):
            raise TypeError(f"CategoryEncoding '{self.name}': count_weights are taken on "
                            f"arrays only, not in a model definition")
        tokens = self._tokens(to_numpy(inputs))
        weights = _utils.as_dtype(to_numpy(count_weights), self.dtype)
        if weights.shape != tokens.shape:
            raise ValueError(f"CategoryEncoding '{self.name}': count_weights must have the "
                             f"tokens' shape {tokens.shape}, got {weights.shape}")
        return to_eager(encode(tokens, "count", self.num_tokens, self.dtype, weights))

    def _tokens(self, inputs) -> np.ndarray:
        tokens = np.asarray(inputs)
        if tokens.dtype.kind == "f":
            tokens = tokens.astype(np.int64)  # Keras casts: truncation
        elif tokens.dtype.kind not in "iub":
            raise TypeError(f"CategoryEncoding '{self.name}' takes integer tokens, got dtype "
                            f"{tokens.dtype}")
        if tokens.size and (tokens.min() < 0 or tokens.max() >= self.num_tokens):
            bad = int(tokens.min()) if tokens.min() < 0 else int(tokens.max())
            raise ValueError(f"CategoryEncoding '{self.name}': token {bad} is not in [0, "
                             f"{self.num_tokens}) (num_tokens={self.num_tokens})")
        return tokens

    def call(self, inputs, training: bool = False) -> np.ndarray:
        self._cache = ()
        return encode(self._tokens(inputs), self.output_mode, self.num_tokens, self.dtype)


# -- Discretization: Keras' quantile summaries, in its steps ------------------------------


def summarize(values: np.ndarray, epsilon: float) -> np.ndarray:
    """``(2, k)``: every ``step``-th sorted value (``step = max(n epsilon, 1)``, from index
    ``step - 1``) and its weight ``step``."""
    values = np.sort(values.reshape(-1))
    step = max(values.size / (1.0 / epsilon), 1)
    kept = values[int(step - 1)::int(step)]
    return np.stack([kept, np.ones_like(kept) * step])


def compress(summary: np.ndarray, epsilon: float) -> np.ndarray:
    """The summary at the cumulative-weight shares ``epsilon, 2 epsilon, ..., 1`` (values and
    weights interpolated), float32; a summary of fewer than ``1 / epsilon`` points is kept."""
    if summary.shape[1] * epsilon < 1:
        return summary
    shares = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    at = cumulative / cumulative[-1]
    values = np.interp(shares, at, summary[0])
    weights = np.interp(shares, at, cumulative)
    return np.stack([values, np.diff(weights, prepend=0.0)]).astype(np.float32)


def merge(first: np.ndarray, second: np.ndarray, epsilon: float) -> np.ndarray:
    joined = np.concatenate([first, second], axis=1)
    return compress(joined[:, np.argsort(joined[0])], epsilon)


@register
class Discretization(_EncodingLayer):
    """Bin numbers by ``bin_boundaries`` (``[a, b]`` makes the bins ``(-inf, a)``, ``[a,
    b)``, ``[b, inf)``), or by ``num_bins`` bins found by ``adapt(data)`` at the data's
    quantiles (Keras' summaries, to ``epsilon``, default 0.01). ``output_mode``: ``"int"``
    (default; int32 bin indices), ``"one_hot"``, ``"multi_hot"`` or ``"count"`` over the
    bins. Inputs are read as float32, as Keras does."""

    config_keys = ("bin_boundaries", "num_bins", "epsilon", "output_mode", "sparse")

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int",
                 sparse=False, dtype=None, name=None, **kwargs):
        super().__init__(dtype=dtype, name=name, **kwargs)
        cls = type(self).__name__
        self.output_mode = _mode(output_mode, ("int",) + ENCODINGS, cls)
        _utils.not_supported(cls, sparse=sparse)
        self.sparse = False
        if (num_bins is None) == (bin_boundaries is None):
            raise ValueError(f"{cls}: give either bin_boundaries or num_bins (then call "
                             f"adapt), not {'both' if num_bins is not None else 'neither'}")
        self.num_bins = None if num_bins is None else _whole_number(num_bins, "num_bins",
                                                                    cls, 1)
        self.epsilon = _utils.number(epsilon, "epsilon", cls)
        if not 0 < self.epsilon <= 1:
            raise ValueError(f"{cls}: epsilon must be in (0, 1], got {epsilon!r}")
        self.bin_boundaries = None
        if bin_boundaries is not None:
            self.bin_boundaries = self._checked_boundaries(bin_boundaries)
        self._summary = None

    @staticmethod
    def _checked_boundaries(bin_boundaries) -> list[float]:
        values = list(bin_boundaries) if isinstance(bin_boundaries, (list, tuple,
                                                                     np.ndarray)) else None
        if values is None or not all(
                isinstance(v, (int, float, np.integer, np.floating))
                and not isinstance(v, bool) for v in values) \
                or not np.all(np.isfinite(np.asarray(values, float))):
            raise ValueError(f"Discretization: bin_boundaries must be a list of finite "
                             f"numbers, got {bin_boundaries!r}")
        if np.any(np.diff(np.asarray(values, float)) < 0):
            raise ValueError(f"Discretization: bin_boundaries must be sorted in increasing "
                             f"order, got {values!r}")
        return [float(v) for v in values]

    @property
    def depth(self) -> int:
        if self.bin_boundaries is None:
            return self.num_bins
        return len(self.bin_boundaries) + 1

    def adapt(self, data, steps=None) -> None:
        """Find ``num_bins - 1`` boundaries at the quantiles of ``data`` (an array, a list of
        batches or a `Dataset`; ``steps`` batches at most), as Keras' summaries do."""
        if self.num_bins is None:
            raise ValueError(f"Discretization '{self.name}': adapt() needs a layer made with "
                             f"num_bins, this one was given bin_boundaries")
        summary = np.zeros((2, 0), np.float32)
        for i, batch in enumerate(_batches(data, "Discretization")):
            if steps is not None and i >= steps:
                break
            values = np.asarray(batch).astype(np.float32)
            if not np.all(np.isfinite(values)):
                raise ValueError("Discretization.adapt: the data holds NaN or infinite "
                                 "values")
            summary = merge(summarize(values, self.epsilon), summary, self.epsilon)
        if summary.shape[1] == 0:
            raise ValueError("Discretization.adapt: the data holds no values")
        self._summary = summary
        self.bin_boundaries = [float(v) for v in compress(summary, 1.0 / self.num_bins)[0, :-1]]

    def call(self, inputs, training: bool = False) -> np.ndarray:
        if self.bin_boundaries is None:
            raise ValueError(f"Discretization '{self.name}' has no bin boundaries: give "
                             f"bin_boundaries or call adapt(data) first")
        self._cache = ()
        x = np.asarray(inputs, dtype=np.float32)
        indices = np.digitize(x, np.asarray(self.bin_boundaries, np.float32))
        return encode(indices, self.output_mode, self.depth, self.dtype)

    def get_config(self) -> dict[str, Any]:
        # Keras 3.15's keys only: its constructor takes no `trainable`
        return {"bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins,
                "epsilon": self.epsilon, "output_mode": self.output_mode,
                "sparse": self.sparse, "name": self.name, "dtype": self.dtype.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Discretization:
        config = dict(config)
        boundaries = config.pop("bin_boundaries", None)
        if config.get("num_bins") is None:
            return super().from_config({**config, "bin_boundaries": boundaries})
        layer = super().from_config(config)  # an adapted layer: both are written
        if boundaries is not None:
            layer.bin_boundaries = cls._checked_boundaries(boundaries)
        return layer
