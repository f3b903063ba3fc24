"""Feature scaling without learned weights: `Normalization` (standardize with a mean and
variance given or measured by ``adapt``) and `UnitNormalization` (scale each example to unit
L2 norm)."""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp import _settings
from convnp.layers import _utils
from convnp.layers.base import Layer
from convnp.layers.registry import register
from convnp.tensor.eager import EagerTensor


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _axis_arg(axis) -> tuple[int, ...]:
    """``None`` (one mean for everything), an int or a sequence of ints: the kept axes."""
    if axis is None:
        return ()
    if _is_int(axis):
        return (int(axis),)
    if isinstance(axis, (tuple, list)) and axis and all(_is_int(a) for a in axis):
        return tuple(int(a) for a in axis)
    raise TypeError(f"Normalization: axis must be None, an int or a tuple of ints, got {axis!r}")


def _batches(data, layer: str = "Normalization"):
    """The arrays of ``data``: one array, or the elements of a `Dataset` (or any iterable of
    arrays, e.g. a list of batches). A dataset of ``(features, labels, ...)`` tuples gives its
    features, as Keras 3 adapts on ``norm.adapt(train_ds)``."""
    if isinstance(data, np.ndarray) or np.isscalar(data):
        yield np.asarray(data)
        return
    if hasattr(data, "as_numpy_iterator"):
        data = data.as_numpy_iterator()
    elif isinstance(data, (list, tuple)) and data and not isinstance(
            data[0], (np.ndarray, list, tuple)):
        yield np.asarray(data)  # a flat list of numbers
        return
    elif isinstance(data, (list, tuple)) and data and isinstance(data[0], (list, tuple)):
        yield np.asarray(data)  # nested lists: one array
        return
    for batch in data:
        if isinstance(batch, tuple) and batch:
            batch = batch[0]  # (features, labels): the features, as Keras 3 reads them
        if isinstance(batch, (tuple, dict)):
            raise TypeError(f"{layer}.adapt expects features (arrays, a Dataset of arrays or "
                            "of (features, labels) pairs), got an element of type "
                            f"{type(batch).__name__}; map the dataset to its features first")
        yield np.asarray(batch)


@register
class Normalization(Layer):
    """``(x - mean) / max(sqrt(variance), 1e-7)``, with one mean and variance per index of the
    kept ``axis`` (``invert=True`` computes the inverse, ``mean + x * sqrt(variance)``).

    Args:
        axis: the axes that keep their own statistics (default -1, the features); ``None``
            uses one mean and one variance for all values. The batch axis cannot be kept.
        mean, variance: given together (numbers or arrays broadcastable to the kept axes), or
            both ``None`` and measured by `adapt`.
        invert: undo a normalization instead.

    Weights: none when ``mean``/``variance`` are given; otherwise the non-trainable ``mean``
    and ``variance`` (the shape of the kept axes; attributes ``adapt_mean``/``adapt_variance``)
    set by `adapt`, and ``count`` (an int64 scalar Keras 3 keeps at 0; there for its files). Caches
    the standard deviation.

    ``.mean`` and ``.variance`` are, as in Keras 3, tensors of the input's rank once built
    (size 1 on the reduced axes: ``(1, 1, 1, 3)`` for NHWC images and the default axis),
    whether given or adapted; ``None`` before.

    >>> import numpy as np
    >>> layer = Normalization(axis=None)
    >>> layer.adapt(np.array([1.0, 2.0, 3.0, 4.0, 5.0], dtype="float32"))
    >>> [round(float(v), 4) for v in layer(np.array([1.0, 3.0], dtype="float32")).numpy()]
    [-1.4142, 0.0]
    """

    supports_masking = True  # a mask passes through, as in Keras

    def __init__(self, axis=-1, mean=None, variance=None, invert: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis if axis is None or _is_int(axis) else list(_axis_arg(axis))
        self._keep = _axis_arg(axis)
        if (mean is None) != (variance is None):
            raise ValueError("Normalization: give both mean and variance, or neither (and "
                             f"call adapt); got mean={mean!r}, variance={variance!r}")
        self._given = None
        if mean is not None:
            m = np.asarray(mean, dtype=np.float64)
            v = np.asarray(variance, dtype=np.float64)
            if not (np.all(np.isfinite(m)) and np.all(np.isfinite(v))) or np.any(v < 0):
                raise ValueError("Normalization: mean must be finite and variance finite and "
                                 f">= 0, got mean={mean!r}, variance={variance!r}")
            self._given = (m, v)
        self.input_mean, self.input_variance = mean, variance
        self.invert = bool(invert)
        self.adapt_mean = self.adapt_variance = self.count = None  # the Variables when adapted
        self._broadcast_shape: tuple[int, ...] | None = None

    # -- shapes ------------------------------------------------------------------------------

    def _kept_axes(self, rank: int) -> tuple[int, ...]:
        return _utils.normalized_axes(self, list(self._keep), rank) if self._keep else ()

    def build(self, input_shape) -> None:
        if isinstance(input_shape, list):
            raise TypeError(f"Normalization takes a single input, got a list of "
                            f"{len(input_shape)}")
        rank = len(input_shape)
        kept = self._kept_axes(rank)
        sizes = tuple(_utils.known_dim(input_shape, a, "Normalization", "kept") for a in kept)
        self._kept = kept
        self._built_shape = tuple(input_shape)
        self._broadcast_shape = tuple(
            sizes[kept.index(d)] if d in kept else 1 for d in range(rank))
        if self._given is not None:
            try:
                self._constants = tuple(
                    np.broadcast_to(a, self._broadcast_shape).astype(self.dtype)
                    for a in self._given)
            except ValueError:
                raise ValueError(f"Normalization '{self.name}': mean/variance of shapes "
                                 f"{self._given[0].shape}/{self._given[1].shape} do not "
                                 f"broadcast to the kept axes' shape {sizes}") from None
        else:
            self.adapt_mean = self.add_weight("mean", sizes, "zeros", trainable=False)
            self.adapt_variance = self.add_weight("variance", sizes, "ones", trainable=False)
            # Keras 3 has this third variable (its .keras files hold three) and leaves it 0;
            # an integer (int64 on its TensorFlow backend)
            self.count = self.add_weight("count", (), "zeros", trainable=False, dtype="int")
        self.built = True

    def check_input_shape(self, input_shape) -> None:
        if not self._kept:
            # axis=None: one mean and variance for every value, so any rank fits, as in
            # Keras 3 (adapted on a column's batches (n,), called on Input(shape=(1,)))
            return
        # built by a direct build() call (no input_shape recorded): its shape's sizes
        built = self.input_shape if self.input_shape is not None else self._built_shape
        _utils.check_feature_dims(self, input_shape, {a: built[a] for a in self._kept},
                                  rank=len(built))

    # -- statistics --------------------------------------------------------------------------

    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Measure the mean and variance of ``data`` (an array, a list of arrays or a
        `Dataset` of feature batches) over every axis but the kept ones, and store them.
        ``steps`` limits how many elements of a dataset are read."""
        if self._given is not None:
            raise ValueError(f"Normalization '{self.name}': adapt() on a layer built with a "
                             "given mean and variance; create it without them to adapt")
        if steps is not None and (not _is_int(steps) or steps < 1):
            raise ValueError(f"Normalization.adapt: steps must be a positive int, got {steps!r}")
        count, mean, m2 = 0, None, None
        for i, batch in enumerate(_batches(data)):
            if steps is not None and i >= steps:
                break
            batch = np.asarray(batch, dtype=np.float64)
            if batch.ndim == 0:
                batch = batch.reshape(1)
            if not self.built:
                self.ensure_built((None,) + batch.shape[1:])
            else:
                self.check_input_shape((None,) + batch.shape[1:])
            reduce = tuple(d for d in range(batch.ndim) if d not in self._kept)
            n = int(np.prod([batch.shape[d] for d in reduce])) if reduce else 1
            if n == 0:
                continue
            b_mean = batch.mean(axis=reduce, keepdims=True)
            b_m2 = ((batch - b_mean) ** 2).sum(axis=reduce, keepdims=True)
            if mean is None:
                count, mean, m2 = n, b_mean, b_m2
                continue
            # Chan et al.'s merge of two (count, mean, sum of squared deviations) summaries
            delta = b_mean - mean
            total = count + n
            mean = mean + delta * (n / total)
            m2 = m2 + b_m2 + delta ** 2 * (count * n / total)
            count = total
        if mean is None:
            raise ValueError("Normalization.adapt: the data holds no values")
        if not np.all(np.isfinite(mean)) or not np.all(np.isfinite(m2)):
            raise ValueError("Normalization.adapt: the data holds NaN or infinite values")
        shape = self.adapt_mean.shape
        self.adapt_mean.assign(mean.reshape(shape).astype(self.dtype))
        self.adapt_variance.assign((m2 / count).reshape(shape).astype(self.dtype))

    def _statistics(self) -> tuple[np.ndarray, np.ndarray]:
        if self._given is not None:
            return self._constants
        shape = self._broadcast_shape
        return (self.adapt_mean.value.reshape(shape),
                self.adapt_variance.value.reshape(shape))

    @property
    def mean(self):
        """The mean as the call broadcasts it (input rank, 1 on reduced axes), or ``None``
        before the layer is built."""
        return self._statistic(0)

    @property
    def variance(self):
        """The variance as the call broadcasts it, or ``None`` before the layer is built."""
        return self._statistic(1)

    def _statistic(self, which: int):
        if not self.built or self._broadcast_shape is None:
            return None
        return np.array(self._statistics()[which]).view(EagerTensor)

    # -- forward and backward ----------------------------------------------------------------

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        mean, variance = self._statistics()
        if not self._kept:  # axis=None: scalars, whatever the rank it was built with
            mean, variance = mean.reshape(()), variance.reshape(())
        std = np.maximum(np.sqrt(variance), self.dtype.type(_settings.epsilon()))
        self._cache = std
        if self.invert:
            return mean + x * std
        return (x - mean) / std

    def backward(self, dy: np.ndarray) -> np.ndarray:
        std = self.take_cache()
        dy = _utils.as_dtype(dy, self.dtype)
        return dy * std if self.invert else dy / std

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()

        def plain(value):
            return np.asarray(value).tolist() if value is not None else None

        config.update({"axis": self.axis, "mean": plain(self.input_mean),
                       "variance": plain(self.input_variance), "invert": self.invert})
        return config


@register
class UnitNormalization(Layer):
    """Scale each example to unit L2 norm over ``axis``: ``x / sqrt(max(sum(x**2), 1e-12))``.

    Args:
        axis: an int or a list of ints (default -1).

    Caches the output and the norm.
    """

    config_keys = ("axis",)
    supports_masking = True  # a mask passes through, as in Keras

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = _utils.int_or_ints(axis, "axis", "UnitNormalization")

    def _axes(self, rank: int) -> tuple[int, ...]:
        return _utils.normalized_axes(self, self.axis, rank)

    def build(self, input_shape) -> None:
        if isinstance(input_shape, list):
            raise TypeError(f"UnitNormalization takes a single input, got a list of "
                            f"{len(input_shape)}")
        self._axes(len(input_shape))
        self.built = True

    def check_input_shape(self, input_shape) -> None:
        _utils.check_feature_dims(self, input_shape, {}, rank=len(self.input_shape))

    def call(self, inputs, training: bool = False) -> np.ndarray:
        x = _utils.as_dtype(inputs, self.dtype)
        axes = self._axes(x.ndim)
        squares = np.sum(x * x, axis=axes, keepdims=True)
        clipped = squares < 1e-12
        norm = np.sqrt(np.maximum(squares, self.dtype.type(1e-12)))
        y = x / norm
        self._cache = (y, norm, clipped, axes)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        y, norm, clipped, axes = self.take_cache()
        dy = _utils.as_dtype(dy, self.dtype)
        # on the sphere the gradient loses its component along y; where the norm was clipped
        # to its floor the layer is linear, x / 1e-6
        along = np.where(clipped, 0, np.sum(dy * y, axis=axes, keepdims=True))
        return (dy - y * along) / norm

    # the Jacobian (I - y y^T) / norm is symmetric: second-order tangents go through
    # `backward`, plus the curvature of the projection
    second_order_kind = "diagonal"

    def curvature_term(self, dy, t_dx):
        """The input's cotangent from differentiating ``dx = (dy - y s) / norm``, ``s =
        sum(dy y)``, contracted with ``t``: ``-(y sum(t dy) + s t + sum(t y) dy - 3 s
        sum(t y) y) / norm**2`` (zero where the norm was clipped: the layer is linear)."""
        y, norm, clipped, axes = self._cache
        dy = _utils.as_dtype(dy, self.dtype)
        t = np.asarray(t_dx, self.dtype)

        def total(a):
            return np.sum(a, axis=axes, keepdims=True)

        s, t_y = total(dy * y), total(t * y)
        x_bar = -(y * total(t * dy) + s * t + t_y * dy - 3 * s * t_y * y) / (norm * norm)
        return np.where(clipped, 0, x_bar)
