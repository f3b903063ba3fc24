"""Stateful metrics: accumulate over batches, report the epoch value.

Every metric here is a running weighted mean, like Keras's `MeanMetricWrapper`: each batch
contributes its per-sample values (`total += sum(values * w)`, `count += sum(w)`) and
`result()` is `total / count`. The loss shown in `fit`'s logs is a `Mean` updated with the batch
loss and `sample_weight=batch_size` (what Keras 3's trainer does), so the epoch loss is the
sample-weighted mean of the batch losses.

Per-sample values follow Keras 3 (`keras/src/metrics/accuracy_metrics.py`):

* binary accuracy: `y_pred > threshold` (strictly greater) compared with `y_true`, mean over
  the last axis;
* categorical accuracy: `argmax(y_true) == argmax(y_pred)` (first maximum wins on ties);
* sparse categorical accuracy: `y_true == argmax(y_pred)`, labels `(m,)` or `(m, 1)`;
* accuracy: exact equality `y_true == y_pred`.

`"accuracy"` / `"acc"` in `compile(metrics=[...])`. Keras 3 picks the variant from the
*shapes* of the first batch (`keras/src/trainers/compile_utils.py: get_metric`): binary when
the output has last dimension 1; sparse categorical when `y_true` has lower rank than `y_pred`
or `y_true` ends in 1 while `y_pred` does not; categorical otherwise. `get("accuracy")`
returns an `AutoAccuracy` that does the same on its first `update_state`; if a `loss` is
given, it also pre-resolves from the loss (binary_crossentropy -> binary, categorical ->
categorical, sparse -> sparse; what Keras 2 did) so the choice is known before any data, and
the shape rule overrides it only if the two disagree. The metric keeps the user's name, so
`History` shows `accuracy` / `val_accuracy`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "Accuracy",
    "AutoAccuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "Mean",
    "MeanMetricWrapper",
    "MeanSquaredError",
    "Metric",
    "SparseCategoricalAccuracy",
    "accuracy",
    "binary_accuracy",
    "categorical_accuracy",
    "deserialize",
    "get",
    "serialize",
    "sparse_categorical_accuracy",
]


def _align(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keras's squeeze_or_expand_to_same_rank."""
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        if y_pred.ndim == 1:
            y_pred = y_pred[:, None]
        else:
            y_true = y_true[..., 0]
    elif y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        if y_true.ndim == 1:
            y_true = y_true[:, None]
        else:
            y_pred = y_pred[..., 0]
    return y_true, y_pred


def _check_same(name: str, y_true: np.ndarray, y_pred: np.ndarray) -> None:
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{name}: y_true and y_pred shapes do not match: received {y_true.shape} and "
            f"{y_pred.shape}")


def binary_accuracy(y_true, y_pred, threshold: float = 0.5) -> np.ndarray:
    """Per-sample fraction of labels where `(y_pred > threshold) == y_true`."""
    y_true, y_pred = _align(np.asarray(y_true), np.asarray(y_pred))
    if y_pred.ndim == 1:
        y_true, y_pred = y_true[:, None], y_pred[:, None]
    _check_same("binary_accuracy", y_true, y_pred)
    # Keras casts the thresholded prediction to y_true's dtype and tests equality, so only a
    # label of exactly 0 or 1 can match.
    hits = (y_pred > threshold).astype(np.float64) == y_true.astype(np.float64)
    return np.mean(hits, axis=-1, dtype=np.float32)


def categorical_accuracy(y_true, y_pred) -> np.ndarray:
    """Per-sample `argmax(y_true) == argmax(y_pred)`."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"categorical_accuracy expects one-hot y_true shaped like y_pred {y_pred.shape}, "
            f"received {y_true.shape}; for integer labels use sparse_categorical_accuracy")
    return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(np.float32)


def sparse_categorical_accuracy(y_true, y_pred) -> np.ndarray:
    """Per-sample `y_true == argmax(y_pred)` for integer labels `(m,)` or `(m, 1)`."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape[:-1]:
        raise ValueError(
            f"sparse_categorical_accuracy expects labels of shape {y_pred.shape[:-1]} or "
            f"{y_pred.shape[:-1] + (1,)}, received {np.shape(y_true)}")
    return (y_true == np.argmax(y_pred, axis=-1)).astype(np.float32)


def accuracy(y_true, y_pred) -> np.ndarray:
    """Per-sample fraction of exactly equal entries."""
    y_true, y_pred = _align(np.asarray(y_true), np.asarray(y_pred))
    if y_pred.ndim == 1:
        y_true, y_pred = y_true[:, None], y_pred[:, None]
    _check_same("accuracy", y_true, y_pred)
    return np.mean(y_true == y_pred, axis=-1, dtype=np.float32)


def _mse(y_true, y_pred) -> np.ndarray:
    y_true, y_pred = _align(np.asarray(y_true, dtype=np.float64), np.asarray(y_pred))
    if y_pred.ndim == 1:
        y_true, y_pred = y_true[:, None], y_pred[:, None]
    _check_same("mean_squared_error", y_true, y_pred)
    d = y_pred - y_true
    return np.mean(d * d, axis=-1)


class Metric:
    """Base class: `update_state(y_true, y_pred)`, `result()`, `reset_state()`."""

    def __init__(self, name: str | None = None):
        self.name = name or type(self).__name__.lower()

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def result(self) -> float:
        raise NotImplementedError

    def reset_state(self) -> None:
        raise NotImplementedError

    reset_states = reset_state  # Keras 2 spelling

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


class Mean(Metric):
    """Running (weighted) mean of the values passed to `update_state(values, sample_weight)`."""

    def __init__(self, name: str = "mean"):
        super().__init__(name)
        self.reset_state()

    def reset_state(self) -> None:
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values, sample_weight=None) -> None:
        """Add values; a scalar `sample_weight` weights every value (e.g. a batch size)."""
        values = np.asarray(values, dtype=np.float64)
        if sample_weight is None:
            self.total += float(np.sum(values))
            self.count += float(values.size)
            return
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.ndim > values.ndim and w.shape[-1] == 1:
            w = w.reshape(w.shape[:-1])
        try:
            w = np.broadcast_to(w.reshape(w.shape + (1,) * (values.ndim - w.ndim)), values.shape)
        except ValueError as exc:
            raise ValueError(
                f"{self.name}: sample_weight shape {np.shape(sample_weight)} does not match "
                f"values of shape {values.shape}") from exc
        self.total += float(np.sum(values * w))
        self.count += float(np.sum(w))

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0


class MeanMetricWrapper(Mean):
    """Mean of a per-sample function `fn(y_true, y_pred, **kwargs)`."""

    def __init__(self, fn, name: str | None = None, **kwargs: Any):
        super().__init__(name or getattr(fn, "__name__", "metric"))
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:  # type: ignore[override]
        super().update_state(self._fn(y_true, y_pred, **self._fn_kwargs), sample_weight)


class Accuracy(MeanMetricWrapper):
    """How often `y_pred == y_true` exactly."""

    def __init__(self, name: str = "accuracy"):
        super().__init__(accuracy, name)


class BinaryAccuracy(MeanMetricWrapper):
    """How often `(y_pred > threshold)` matches a 0/1 label."""

    def __init__(self, name: str = "binary_accuracy", threshold: float = 0.5):
        if not 0 < float(threshold) < 1:
            raise ValueError(f"threshold must be in (0, 1), got {threshold}")
        super().__init__(binary_accuracy, name, threshold=float(threshold))
        self.threshold = float(threshold)

    def get_config(self):
        return {"name": self.name, "threshold": self.threshold}


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of the prediction matches the argmax of a one-hot label."""

    def __init__(self, name: str = "categorical_accuracy"):
        super().__init__(categorical_accuracy, name)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of the prediction equals an integer label."""

    def __init__(self, name: str = "sparse_categorical_accuracy"):
        super().__init__(sparse_categorical_accuracy, name)


class MeanSquaredError(MeanMetricWrapper):
    """Running mean of the per-sample mean squared error."""

    def __init__(self, name: str = "mean_squared_error"):
        super().__init__(_mse, name)


_LOSS_TO_ACCURACY = {
    "binary_crossentropy": BinaryAccuracy,
    "BinaryCrossentropy": BinaryAccuracy,
    "categorical_crossentropy": CategoricalAccuracy,
    "CategoricalCrossentropy": CategoricalAccuracy,
    "sparse_categorical_crossentropy": SparseCategoricalAccuracy,
    "SparseCategoricalCrossentropy": SparseCategoricalAccuracy,
}


def _accuracy_class_for_loss(loss: Any) -> type[Metric] | None:
    if loss is None:
        return None
    if isinstance(loss, str):
        return _LOSS_TO_ACCURACY.get(loss.strip()) or _LOSS_TO_ACCURACY.get(loss.strip().lower())
    cls_name = type(loss).__name__
    if cls_name in _LOSS_TO_ACCURACY:
        return _LOSS_TO_ACCURACY[cls_name]
    fn_name = getattr(loss, "__name__", None)
    if fn_name in _LOSS_TO_ACCURACY:
        return _LOSS_TO_ACCURACY[fn_name]
    return None


def accuracy_class_for_shapes(y_true_shape, y_pred_shape) -> type[Metric]:
    """Keras 3's rule for `"accuracy"` from the target and output shapes."""
    yt, yp = tuple(y_true_shape), tuple(y_pred_shape)
    yp_last = yp[-1] if yp else 1
    yt_last = yt[-1] if yt else 1
    if yp_last == 1:
        return BinaryAccuracy
    if len(yt) < len(yp) or (yt_last == 1 and yp_last > 1):
        return SparseCategoricalAccuracy
    return CategoricalAccuracy


class AutoAccuracy(Mean):
    """`"accuracy"` as compile() means it: the variant is chosen from the data (Keras 3 rule).

    Attributes:
        resolved: the concrete metric class once known (`None` before the first update when no
            loss hint was given).
    """

    def __init__(self, name: str = "accuracy", loss: Any = None, threshold: float = 0.5):
        super().__init__(name)
        self.threshold = float(threshold)
        self.resolved: type[Metric] | None = _accuracy_class_for_loss(loss)
        self._by_shape = False

    def _fn(self, y_true, y_pred):
        if self.resolved is BinaryAccuracy:
            return binary_accuracy(y_true, y_pred, self.threshold)
        if self.resolved is SparseCategoricalAccuracy:
            return sparse_categorical_accuracy(y_true, y_pred)
        return categorical_accuracy(y_true, y_pred)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:  # type: ignore[override]
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        if not self._by_shape:
            self.resolved = accuracy_class_for_shapes(y_true.shape, y_pred.shape)
            self._by_shape = True
        super().update_state(self._fn(y_true, y_pred), sample_weight)

    def get_config(self):
        return {"name": self.name}


_CLASSES: dict[str, type[Metric]] = {
    c.__name__: c
    for c in (Mean, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
              MeanSquaredError)
}
_NAMES: dict[str, type[Metric]] = {
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "mean": Mean,
}
_FUNCTIONS = {
    binary_accuracy: BinaryAccuracy,
    categorical_accuracy: CategoricalAccuracy,
    sparse_categorical_accuracy: SparseCategoricalAccuracy,
    accuracy: Accuracy,
}


def get(identifier: Any, loss: Any = None) -> Metric:
    """Resolve a metric for `compile(metrics=[...])`.

    Args:
        identifier: `"accuracy"`/`"acc"` (resolved as Keras does, see module docstring), a
            metric name (`"binary_accuracy"`, `"mse"`, ...), a `Metric` instance or class, one
            of this module's per-sample functions, or a Keras config dict.
        loss: the compiled loss (name or object), used to pre-resolve `"accuracy"`.

    Raises:
        ValueError: unknown name (the message lists the known ones).
        TypeError: an unsupported type.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        key = identifier.strip()
        if key.lower() in ("accuracy", "acc"):
            return AutoAccuracy(name=key, loss=loss)
        cls = _NAMES.get(key.lower()) or _CLASSES.get(key)
        if cls is None:
            raise ValueError(
                f"unknown metric {identifier!r}; expected 'accuracy', 'acc' or one of "
                f"{sorted(_NAMES)} (or the class names {sorted(_CLASSES)})")
        return cls(name=key) if key in _NAMES else cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        cls = _FUNCTIONS.get(identifier)
        if cls is not None:
            return cls(name=identifier.__name__)
        # Any per-sample function fn(y_true, y_pred) -> values works as a running mean.
        return MeanMetricWrapper(identifier)
    raise TypeError(f"metric must be a name, a Metric or a callable; got "
                    f"{type(identifier).__name__}: {identifier!r}")


def serialize(metric: Any) -> dict[str, Any]:
    """Keras-style `{"class_name": ..., "config": ...}`."""
    m = get(metric)
    return {"class_name": type(m).__name__, "config": m.get_config()}


def deserialize(config: Any) -> Metric:
    """Inverse of `serialize` (a name string is accepted too)."""
    if isinstance(config, str):
        return get(config)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"metric config must be a dict with 'class_name'; got {config!r}")
    name = config["class_name"]
    if name == "AutoAccuracy":
        return AutoAccuracy(**(config.get("config") or {}))
    cls = _CLASSES.get(name)
    if cls is None:
        raise ValueError(f"unknown metric class {name!r}; expected one of {sorted(_CLASSES)}")
    return cls.from_config(dict(config.get("config") or {}))
