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

import warnings
from typing import Any, ClassVar

import numpy as np

from convnp import _settings, losses
from convnp._checks import check_number
from convnp._names import auto_name, snake_case
from convnp.losses import align_ranks
from convnp.serialization import Registry
from convnp.tensor.eager import EagerTensor
from convnp.variables import Variable

__all__ = [
    "AUC",
    "Accuracy",
    "AutoAccuracy",
    "BinaryAccuracy",
    "BinaryCrossentropy",
    "BinaryIoU",
    "CategoricalAccuracy",
    "CategoricalCrossentropy",
    "CategoricalHinge",
    "ConcordanceCorrelation",
    "CosineSimilarity",
    "F1Score",
    "FBetaScore",
    "FalseNegatives",
    "FalsePositives",
    "Hinge",
    "IoU",
    "KLDivergence",
    "LogCoshError",
    "Mean",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanIoU",
    "MeanMetricWrapper",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Metric",
    "OneHotIoU",
    "OneHotMeanIoU",
    "PearsonCorrelation",
    "Poisson",
    "Precision",
    "PrecisionAtRecall",
    "R2Score",
    "Recall",
    "RecallAtPrecision",
    "RootMeanSquaredError",
    "SensitivityAtSpecificity",
    "SparseCategoricalAccuracy",
    "SparseCategoricalCrossentropy",
    "SparseTopKCategoricalAccuracy",
    "SpecificityAtSensitivity",
    "SquaredHinge",
    "Sum",
    "TopKCategoricalAccuracy",
    "TrueNegatives",
    "TruePositives",
    "accuracy",
    "binary_accuracy",
    "categorical_accuracy",
    "concordance_correlation",
    "deserialize",
    "get",
    "pearson_correlation",
    "serialize",
    "sparse_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "top_k_categorical_accuracy",
]


def _check_dtype(dtype) -> None:
    """Metrics keep their state in float64 and report float32 tensors; a dtype is accepted
    for Keras code but must be a float."""
    if dtype is not None and np.dtype(dtype).kind != "f":
        raise ValueError(f"metric dtype must be a float type, got {dtype!r}")


def _result_tensor(value) -> EagerTensor:
    """A built-in metric's result as TensorFlow gives it: a float32 tensor."""
    return np.asarray(value, dtype=np.float32).view(EagerTensor)


def _check_same(name: str, y_true: np.ndarray, y_pred: np.ndarray) -> None:
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{name}: y_true and y_pred shapes do not match: received {y_true.shape} and "
            f"{y_pred.shape}")


def _one_label_for_all(y_true: np.ndarray, y_pred: np.ndarray) -> tuple:
    """A single label (a scalar ``y_true``) stands for every entry of ``y_pred``, as Keras
    broadcasts it: keras.io's adaptive-augmentation GAN scores its discriminator with
    ``BinaryAccuracy().update_state(1.0, predictions)``."""
    if y_true.ndim == 0 and y_pred.ndim > 0:
        y_true = np.broadcast_to(y_true, y_pred.shape)
    return y_true, y_pred


def binary_accuracy(y_true, y_pred, threshold: float = 0.5) -> np.ndarray:
    """1 where `(y_pred > threshold) == y_true`, else 0, for every entry (Keras 3 keeps the
    entries: no mean over the last axis, so a sample weight may weigh each label)."""
    y_true, y_pred = _one_label_for_all(np.asarray(y_true), np.asarray(y_pred))
    y_true, y_pred = align_ranks(y_true, y_pred)
    _check_same("binary_accuracy", y_true, y_pred)
    # Keras casts the thresholded prediction to y_true's dtype and tests equality, so only a
    # label of exactly 0 or 1 can match.
    hits = (y_pred > threshold).astype(np.float64) == y_true.astype(np.float64)
    return hits.astype(np.float32)


def categorical_accuracy(y_true, y_pred) -> np.ndarray:
    """Per-sample `argmax(y_true) == argmax(y_pred)`."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"categorical_accuracy expects one-hot y_true shaped like y_pred {y_pred.shape}, "
            f"received {y_true.shape}; for integer labels use sparse_categorical_accuracy")
    return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(np.float32)


def _sparse_labels(name: str, y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """Integer labels ``(m,)`` (``(m, 1)`` squeezed) checked against scores ``(m, k)``."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape[:-1]:
        raise ValueError(
            f"{name} expects labels of shape {y_pred.shape[:-1]} or "
            f"{y_pred.shape[:-1] + (1,)}, received {np.shape(y_true)}")
    return y_true, y_pred


def sparse_categorical_accuracy(y_true, y_pred) -> np.ndarray:
    """Per-sample `y_true == argmax(y_pred)` for integer labels `(m,)` or `(m, 1)`."""
    y_true, y_pred = _sparse_labels("sparse_categorical_accuracy", y_true, y_pred)
    return (y_true == np.argmax(y_pred, axis=-1)).astype(np.float32)


def accuracy(y_true, y_pred) -> np.ndarray:
    """1 where an entry equals its target exactly, else 0, for every entry (as Keras 3).

    The targets are compared in the predictions' dtype, as Keras casts them: float targets
    against integer predictions (class ids from an argmax) are truncated first, 1.7 reading 1.
    """
    y_true, y_pred = _one_label_for_all(np.asarray(y_true), np.asarray(y_pred))
    if y_pred.dtype.kind in "iu" and y_true.dtype.kind == "f" and np.all(np.isfinite(y_true)):
        y_true = y_true.astype(y_pred.dtype)
    y_true, y_pred = align_ranks(y_true, y_pred)
    _check_same("accuracy", y_true, y_pred)
    return (y_true == y_pred).astype(np.float32)


def _mse(y_true, y_pred) -> np.ndarray:
    y_true, y_pred = _one_label_for_all(np.asarray(y_true, dtype=np.float64),
                                        np.asarray(y_pred))
    y_true, y_pred = align_ranks(y_true, y_pred)
    if y_pred.ndim == 1:
        y_true, y_pred = y_true[:, None], y_pred[:, None]
    _check_same("mean_squared_error", y_true, y_pred)
    d = y_pred - y_true
    return np.mean(d * d, axis=-1)


class MetricStateVariable(Variable):
    """A built-in metric's state seen as a Keras state variable (see `Metric.variables`).

    The metric keeps its state in float64 attributes (more exact sums than float32); this
    variable reads them on every access and writes through them on ``assign``, so it always
    agrees with the metric: no copy to keep in step.
    """

    def __init__(self, metric: Metric, name: str, dtype: str, read, write):
        # no Variable.__init__: the value is not stored here but read from the metric
        self._read, self._write = read, write
        self._dtype = np.dtype(dtype)
        self.name = name
        self.path = f"{metric.name}/{name}"
        self.trainable = False
        self.constraint = None
        self.grad = None

    @property
    def value(self) -> np.ndarray:  # type: ignore[override]
        return np.array(self._read(), dtype=self._dtype)

    def _store(self, value) -> None:
        self._write(np.asarray(value, dtype=np.float64))
        self.mark_modified()

    def assign(self, value, use_locking=None, name=None, read_value=True):
        self._store(self._checked(value, "assign to"))
        return self if read_value else None

    def assign_add(self, delta, use_locking=None, name=None, read_value=True):
        self._store(np.asarray(self._read(), dtype=np.float64)
                    + self._checked(delta, "assign_add to"))
        return self if read_value else None

    def assign_sub(self, delta, use_locking=None, name=None, read_value=True):
        self._store(np.asarray(self._read(), dtype=np.float64)
                    - self._checked(delta, "assign_sub to"))
        return self if read_value else None


class Metric:
    """Base class: `update_state(y_true, y_pred)`, `result()`, `reset_state()`.

    A user's metric keeps its state in variables made with `add_variable` (Keras 3) or
    `add_weight` (Keras 2), updated with ``assign_add`` in ``update_state``; the default
    `reset_state` sets them all back to zero. Calling a metric updates it and returns the
    result, as in Keras.
    """

    def __init__(self, name: str | None = None, dtype=None):
        # without a name, Keras 3's automatic one: the snake case of the class name, numbered
        # from the second instance on (``my_metric``, ``my_metric_1``): the key of the history
        # (the built-in metrics all pass their own names)
        self.name = name or auto_name(type(self).__name__)
        self.dtype = np.dtype(dtype or np.float32).name

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def result(self):
        """The metric's value: for the built-in metrics a float32 `EagerTensor` (0-d, or one
        value per class or threshold where Keras gives several), as TensorFlow returns it:
        ``result().numpy()``, ``float(result())`` and ``f"{result():.4f}"`` all work."""
        raise NotImplementedError

    def reset_state(self) -> None:
        variables = self.__dict__.get("_state_variables")
        if not variables:
            raise NotImplementedError(f"{type(self).__name__}.reset_state")
        for variable in variables:
            variable.assign(np.zeros(variable.shape, dtype=variable.dtype))

    def reset_states(self) -> None:  # Keras 2 spelling
        self.reset_state()

    def __call__(self, *args: Any, **kwargs: Any):
        self.update_state(*args, **kwargs)
        return self.result()

    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum",
                     name=None):
        """A state variable of this metric (Keras 3's ``add_variable``), initialised now."""
        from convnp import initializers
        from convnp.variables import Variable

        dtype = np.dtype(dtype or self.dtype)
        init = initializers.get("zeros" if initializer is None else initializer)
        variables = self.__dict__.setdefault("_state_variables", [])
        if name is None:
            # Keras' automatic name: "variable", then "variable_1", ...
            unnamed = self.__dict__.get("_unnamed_variables", 0)
            self._unnamed_variables = unnamed + 1
            name = "variable" if unnamed == 0 else f"variable_{unnamed}"
        variable = Variable(np.asarray(init(tuple(shape), dtype=dtype), dtype=dtype),
                            name=name, trainable=False, dtype=dtype)
        variable.path = f"{self.name}/{name}"  # under the metric's name, as in Keras
        variables.append(variable)
        return variable

    def add_weight(self, name=None, shape=(), aggregation="sum", synchronization=None,
                   initializer="zeros", dtype=None):
        """Keras 2's spelling of `add_variable` (``add_weight(name, shape=(), ...)``; Keras 3
        passes the shape first)."""
        if name is not None and not isinstance(name, str):
            name, shape = None, name
        return self.add_variable(shape, initializer, dtype, aggregation, name)

    def _keras_state(self) -> list[tuple]:
        """The state Keras keeps in variables, as ``(name, dtype, read, write)`` per
        variable in Keras' order: ``read()`` gives the current value, ``write(array)`` sets it.
        The built-in metrics keep their state in float64 attributes and list them here, so
        that `variables` can show them as Keras does; a user's metric lists nothing (its
        `add_variable` variables are the state)."""
        return []

    def _attribute_state(self, name: str, attribute: str, dtype: str = "float32") -> tuple:
        """A `_keras_state` entry for the attribute ``attribute`` (a float or a float64
        array), shown as the variable ``name``."""
        def write(value: np.ndarray) -> None:
            old = getattr(self, attribute)
            if np.ndim(old) == 0:
                setattr(self, attribute, float(value))
            else:
                setattr(self, attribute, np.array(value, dtype=np.float64).reshape(np.shape(old)))

        return name, dtype, lambda: getattr(self, attribute), write

    @property
    def variables(self) -> list:
        """The metric's state variables, as Keras lists them: for a built-in metric its
        Keras variables (``Mean``: ``total`` and ``count``; ``AUC``: the four confusion
        counts per threshold; ...), named and shaped as in Keras, with path
        ``"<metric name>/<variable name>"``, then any made with `add_variable`.

        A built-in metric's variables are views of its state: they read the current
        values (float32, int64 for the IoU confusion matrix) and an ``assign`` changes the
        metric; `reset_state` zeroes them. Variables whose shape comes with the first batch
        (``F1Score``, ``R2Score``'s sums, a multi-label ``AUC`` without ``num_labels``) are
        listed from then on, as in Keras."""
        views = self.__dict__.setdefault("_state_views", {})
        shown = []
        for name, dtype, read, write in self._keras_state():
            view = views.get(name)
            if view is None:
                view = views[name] = MetricStateVariable(self, name, dtype, read, write)
            shown.append(view)
        return shown + list(self.__dict__.get("_state_variables", ()))

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


class Mean(Metric):
    """Running (weighted) mean of the values passed to `update_state(values, sample_weight)`."""

    def __init__(self, name: str = "mean", dtype=None):
        _check_dtype(dtype)
        super().__init__(name)
        self.reset_state()

    def reset_state(self) -> None:
        self.total = 0.0
        self.count = 0.0

    def _keras_state(self) -> list[tuple]:
        return [self._attribute_state("total", "total"), self._attribute_state("count", "count")]

    #: how Keras turns a sample's several values into one before adding it to ``total``
    #: (``Sum`` adds them up instead)
    _per_sample = "mean"

    def update_state(self, values, sample_weight=None) -> None:
        """Add values; a scalar `sample_weight` weights every value (e.g. a batch size).

        The result is the weighted mean of all the values. The state is kept as Keras keeps
        it, one value per sample: a sample's several values (``values`` of shape ``(m, k)``,
        as per-label accuracies) count as their mean, so ``count`` is the (weighted) number
        of samples; a scalar weight makes the whole batch one weighted value."""
        values = np.asarray(values, dtype=np.float64)
        # the values of one sample: averaged as Keras does (Sum adds them: per_sample 1)
        per_sample = 1
        if self._per_sample == "mean" and values.ndim > 1:
            per_sample = max(int(np.prod(values.shape[1:])), 1)
        if sample_weight is None:
            self.total += float(np.sum(values)) / per_sample
            self.count += float(values.size) / per_sample if values.ndim else 1.0
            return
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.ndim > values.ndim and w.shape[-1] == 1:
            w = w.reshape(w.shape[:-1])
        if w.ndim == 0 and self._per_sample == "mean":
            # one weight for the batch: its mean value, weighted once
            self.total += float(np.mean(values) * w) if values.size else 0.0
            self.count += float(w)
            return
        try:
            w = np.broadcast_to(w.reshape(w.shape + (1,) * (values.ndim - w.ndim)), values.shape)
        except ValueError as exc:
            raise ValueError(
                f"{self.name}: sample_weight shape {np.shape(sample_weight)} does not match "
                f"values of shape {values.shape}") from exc
        self.total += float(np.sum(values * w)) / per_sample
        self.count += float(np.sum(w)) / per_sample

    def result(self):
        return _result_tensor(self.total / self.count if self.count else 0.0)


class MeanMetricWrapper(Mean):
    """Mean of a per-sample function `fn(y_true, y_pred, **kwargs)`.

    Made by hand it is called ``mean_metric_wrapper`` unless named, as in Keras 3 (which
    numbers further ones: ``mean_metric_wrapper_1``, ...; a user's subclass its own name); a
    function given to ``compile`` is wrapped under its own name in snake case. ``dtype`` is
    Keras' argument (a float type), not one of ``fn``'s."""

    def __init__(self, fn, name: str | None = None, dtype=None, **kwargs: Any):
        _check_dtype(dtype)
        super().__init__(name)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:  # type: ignore[override]
        super().update_state(self._fn(y_true, y_pred, **self._fn_kwargs), sample_weight)


class _MeanOf(MeanMetricWrapper):
    """A running mean of one per-sample function with no arguments: subclasses name the
    ``function`` and the ``default_name``; ``direction`` says which way is better."""

    function: Any = None
    default_name = "metric"

    def __init__(self, name: str | None = None, dtype=None):
        _check_dtype(dtype)
        super().__init__(type(self).function, name or self.default_name)


class Accuracy(_MeanOf):
    """How often `y_pred == y_true` exactly."""

    direction, default_name, function = "up", "accuracy", staticmethod(accuracy)


class BinaryAccuracy(MeanMetricWrapper):
    """How often `(y_pred > threshold)` matches a 0/1 label."""

    direction = "up"

    def __init__(self, name: str = "binary_accuracy", dtype=None, threshold: float = 0.5):
        _check_dtype(dtype)
        # any finite number, as in Keras: threshold=0 reads logits (TensorFlow's transfer
        # learning tutorial compiles BinaryAccuracy(threshold=0) for a from_logits output)
        threshold = check_number("threshold", threshold)
        super().__init__(binary_accuracy, name, threshold=threshold)
        self.threshold = threshold

    def get_config(self):
        return {"name": self.name, "threshold": self.threshold}


class CategoricalAccuracy(_MeanOf):
    """How often the argmax of the prediction matches the argmax of a one-hot label."""

    direction, default_name = "up", "categorical_accuracy"
    function = staticmethod(categorical_accuracy)


class SparseCategoricalAccuracy(_MeanOf):
    """How often the argmax of the prediction equals an integer label."""

    direction, default_name = "up", "sparse_categorical_accuracy"
    function = staticmethod(sparse_categorical_accuracy)


class MeanSquaredError(_MeanOf):
    """Running mean of the per-sample mean squared error."""

    direction, default_name, function = "down", "mean_squared_error", staticmethod(_mse)


class RootMeanSquaredError(Mean):
    """``sqrt`` of the running mean of the per-sample mean squared error."""

    direction = "down"

    def __init__(self, name: str = "root_mean_squared_error", dtype=None):
        _check_dtype(dtype)
        super().__init__(name)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:  # type: ignore[override]
        super().update_state(_mse(y_true, y_pred), sample_weight)

    def result(self):
        return _result_tensor(np.sqrt(float(super().result())))


class Sum(Mean):
    """Running (weighted) sum of the values passed to `update_state(values, sample_weight)`."""

    def __init__(self, name: str = "sum", dtype=None):
        super().__init__(name, dtype)

    _per_sample = "sum"

    def _keras_state(self) -> list[tuple]:
        return [self._attribute_state("total", "total")]

    def result(self):
        return _result_tensor(self.total)


def _paired(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = align_ranks(np.asarray(y_true, dtype=np.float64),
                                 np.asarray(y_pred, dtype=np.float64))
    _check_same("correlation", y_true, y_pred)
    return y_true, y_pred


def pearson_correlation(y_true, y_pred, axis: int = -1) -> np.ndarray:
    """Pearson's r of each sample along ``axis``: the mean product of the two standardized
    vectors (population standard deviations; a constant vector gives NaN, as in Keras)."""
    y_true, y_pred = _paired(y_true, y_pred)
    t = y_true - np.mean(y_true, axis=axis, keepdims=True)
    p = y_pred - np.mean(y_pred, axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = t / np.std(t, axis=axis, keepdims=True)
        p = p / np.std(p, axis=axis, keepdims=True)
    return np.mean(t * p, axis=axis)


def concordance_correlation(y_true, y_pred, axis: int = -1) -> np.ndarray:
    """Lin's concordance coefficient of each sample along ``axis``, as Keras 3.15 computes it:
    ``mean(2 (t - mean(p)) (p - mean(p)) / (var(t) + var(p) + (mean(t) - mean(p))^2 + 1e-7))``.
    Keras centres ``y_true`` on the *prediction's* mean in the numerator; kept for parity."""
    y_true, y_pred = _paired(y_true, y_pred)
    t_mean = np.mean(y_true, axis=axis, keepdims=True)
    p_mean = np.mean(y_pred, axis=axis, keepdims=True)
    norm = (np.var(y_true, axis=axis, keepdims=True) + np.var(y_pred, axis=axis, keepdims=True)
            + (t_mean - p_mean) ** 2)
    covar = (y_true - p_mean) * (y_pred - p_mean)
    return np.mean(2.0 * covar / (norm + _settings.epsilon()), axis=axis)


class _Correlation(MeanMetricWrapper):
    """Running mean of a per-sample correlation along ``axis``."""

    direction = "up"
    default_name = "correlation"
    function: Any = None

    def __init__(self, axis: int = -1, name: str | None = None, dtype=None):
        _check_dtype(dtype)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"axis must be an int, got {axis!r}")
        self.axis = int(axis)
        super().__init__(type(self).function, name or self.default_name, axis=self.axis)

    def get_config(self):
        return {"name": self.name, "axis": self.axis}


class PearsonCorrelation(_Correlation):
    """Running mean of the per-sample Pearson correlation (see `pearson_correlation`)."""

    default_name, function = "pearson_correlation", staticmethod(pearson_correlation)


class ConcordanceCorrelation(_Correlation):
    """Running mean of the per-sample concordance coefficient (see
    `concordance_correlation`)."""

    default_name, function = "concordance_correlation", staticmethod(concordance_correlation)


class R2Score(Metric):
    """Coefficient of determination of each output column, ``1 - SS_res / SS_tot``, from
    weighted running sums over every batch (labels and predictions ``(batch, outputs)``).

    ``class_aggregation``: ``"uniform_average"`` (mean over columns), ``"variance_weighted_
    average"`` (weighted by each column's SS_tot) or None (one score per column). With
    ``num_regressors`` p > 0 the adjusted score ``1 - (1 - R2)(n - 1)/(n - p - 1)`` is given,
    n being the number of label *values* seen (Keras counts every element); if ``n - 1 <= p``
    the plain score is given. A column with zero variance and nonzero error scores 0.
    """

    direction = "up"
    _AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")

    def __init__(self, class_aggregation="uniform_average", num_regressors: int = 0,
                 name: str = "r2_score", dtype=None):
        _check_dtype(dtype)
        if class_aggregation not in self._AGGREGATIONS:
            raise ValueError(f"class_aggregation must be one of {self._AGGREGATIONS}, got "
                             f"{class_aggregation!r}")
        if isinstance(num_regressors, bool) or not isinstance(
                num_regressors, (int, np.integer)) or num_regressors < 0:
            raise ValueError(f"num_regressors must be an int >= 0, got {num_regressors!r}")
        super().__init__(name)
        self.class_aggregation = class_aggregation
        self.num_regressors = int(num_regressors)
        self.reset_state()

    def reset_state(self) -> None:
        # the per-column sums get their width from the first batch; a reset keeps that width
        # (zero sums), so the result until the next batch is 0 / 0 = nan, as in Keras
        self.num_samples = 0.0
        if getattr(self, "sum", None) is None:
            self.sum = self.squared_sum = self.total_mse = self.count = None
            return
        for name in ("sum", "squared_sum", "total_mse", "count"):
            setattr(self, name, np.zeros_like(getattr(self, name)))

    def _keras_state(self) -> list[tuple]:
        # Keras makes the per-column sums with the first batch; the residual is total_mse
        state = [self._attribute_state("num_samples", "num_samples")]
        if self.sum is not None:
            state += [self._attribute_state("squared_sum", "squared_sum"),
                      self._attribute_state("sum", "sum"),
                      self._attribute_state("residual", "total_mse"),
                      self._attribute_state("count", "count")]
        return state

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred = align_ranks(np.asarray(y_true, dtype=np.float64),
                                     np.asarray(y_pred, dtype=np.float64))
        if y_true.ndim != 2 or y_pred.ndim != 2:
            raise ValueError(f"{self.name}: R2Score expects 2-D (batch_size, output_dim) "
                             f"inputs, got y_true {y_true.shape} and y_pred {y_pred.shape}")
        _check_same(self.name, y_true, y_pred)
        if self.sum is not None and self.sum.shape[0] != y_true.shape[1]:
            raise ValueError(f"{self.name}: expected {self.sum.shape[0]} outputs (from the "
                             f"first batch), got {y_true.shape[1]}")
        if sample_weight is None:
            w = np.ones_like(y_true)
        else:
            w = np.asarray(sample_weight, dtype=np.float64)
            if w.ndim == 1:
                w = w[:, None]
            try:
                w = np.broadcast_to(w, y_true.shape)
            except ValueError:
                raise ValueError(f"{self.name}: sample_weight shape {np.shape(sample_weight)} "
                                 f"does not match labels of shape {y_true.shape}") from None
        if self.sum is None:
            zeros = np.zeros(y_true.shape[1])
            self.sum, self.squared_sum = zeros.copy(), zeros.copy()
            self.total_mse, self.count = zeros.copy(), zeros.copy()
        self.sum += np.sum(y_true * w, axis=0)
        self.squared_sum += np.sum(y_true * y_true * w, axis=0)
        self.total_mse += np.sum((y_true - y_pred) ** 2 * w, axis=0)
        self.count += np.sum(w, axis=0)
        self.num_samples += y_true.size

    def result(self):
        if self.sum is None:
            return _result_tensor(0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            total = self.squared_sum - self.sum * (self.sum / self.count)
            raw = 1.0 - self.total_mse / total
        raw = np.where(np.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = np.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            score = np.sum(total * raw) / np.sum(total)
        else:
            score = raw
        n, p = self.num_samples, self.num_regressors
        if p and p < n - 1:
            score = 1.0 - (1.0 - score) * (n - 1.0) / (n - p - 1.0)
        elif p and n:  # (no values yet after a reset: the nan score, no warning)
            warnings.warn(f"{self.name}: num_regressors={p} needs more than {p + 1} label "
                          f"values for the adjusted R2 score, got {int(n)}; giving the plain "
                          "R2 score", stacklevel=2)
        return _result_tensor(score)  # one per column without class_aggregation

    def get_config(self):
        return {"name": self.name, "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}


# ------------------------------------------------------------------ losses as running means


class _LossMean(MeanMetricWrapper):
    """Running mean of a loss's per-sample values (Keras's loss-named metrics); the loss's
    own arguments (``from_logits``, ``label_smoothing``, ``delta``, ...) are accepted too."""

    loss_class: type = losses.Loss
    default_name = "loss"
    direction = "down"
    sign = 1.0  # -1 turns the cosine-similarity loss back into the similarity
    #: the loss arguments Keras's config names even when left at their defaults
    config_defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, name: str | None = None, dtype=None, **loss_arguments: Any):
        _check_dtype(dtype)
        self._loss = self.loss_class(**loss_arguments)
        self._loss_arguments = loss_arguments
        super().__init__(self._values, name or self.default_name)

    def _values(self, y_true, y_pred) -> np.ndarray:
        return self.sign * np.asarray(self._loss.per_sample(y_true, y_pred), dtype=np.float64)

    def get_config(self):
        return {"name": self.name, **self.config_defaults, **self._loss_arguments}


_CROSSENTROPY_DEFAULTS = {"from_logits": False, "label_smoothing": 0}


def _loss_metric(name: str, loss_class: type, default_name: str, direction: str = "down",
                 sign: float = 1.0, config_defaults: dict | None = None) -> type[_LossMean]:
    return type(name, (_LossMean,), {
        "loss_class": loss_class, "default_name": default_name, "direction": direction,
        "sign": sign, "config_defaults": config_defaults or {},
        "__module__": __name__, "__qualname__": name,
        "__doc__": f"Running mean of the per-sample `convnp.losses.{loss_class.__name__}`."})


(MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError, LogCoshError,
 Poisson, KLDivergence, Hinge, SquaredHinge, CategoricalHinge, CosineSimilarity,
 BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy) = (
    _loss_metric(*row) for row in (
        ("MeanAbsoluteError", losses.MeanAbsoluteError, "mean_absolute_error"),
        ("MeanAbsolutePercentageError", losses.MeanAbsolutePercentageError,
         "mean_absolute_percentage_error"),
        ("MeanSquaredLogarithmicError", losses.MeanSquaredLogarithmicError,
         "mean_squared_logarithmic_error"),
        ("LogCoshError", losses.LogCosh, "logcosh"),
        ("Poisson", losses.Poisson, "poisson"),
        ("KLDivergence", losses.KLDivergence, "kl_divergence"),
        ("Hinge", losses.Hinge, "hinge"),
        ("SquaredHinge", losses.SquaredHinge, "squared_hinge"),
        ("CategoricalHinge", losses.CategoricalHinge, "categorical_hinge"),
        ("CosineSimilarity", losses.CosineSimilarity, "cosine_similarity", "up", -1.0),
        ("BinaryCrossentropy", losses.BinaryCrossentropy, "binary_crossentropy", "down", 1.0,
         _CROSSENTROPY_DEFAULTS),
        ("CategoricalCrossentropy", losses.CategoricalCrossentropy, "categorical_crossentropy",
         "down", 1.0, {**_CROSSENTROPY_DEFAULTS, "axis": -1}),
        ("SparseCategoricalCrossentropy", losses.SparseCategoricalCrossentropy,
         "sparse_categorical_crossentropy", "down", 1.0,
         {"from_logits": False, "ignore_class": None, "axis": -1}),
    ))


# --------------------------------------------------------------------------- top-k accuracies


def _in_top_k(scores: np.ndarray, target: np.ndarray, k: int) -> np.ndarray:
    """Whether the target class's score is among the ``k`` largest of its row.

    Ties at the boundary count as inside (TensorFlow's ``in_top_k``): a target is a hit when
    fewer than ``k`` classes score strictly higher. A non-finite target score never hits.
    """
    picked = np.take_along_axis(scores, target[..., None], axis=-1)
    higher = np.sum(scores > picked, axis=-1)
    return ((higher < k) & np.isfinite(picked[..., 0])).astype(np.float32)


def top_k_categorical_accuracy(y_true, y_pred, k: int = 5) -> np.ndarray:
    """Per-sample: is the argmax of the one-hot ``y_true`` among the ``k`` top predictions."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"top_k_categorical_accuracy expects one-hot y_true shaped like y_pred "
            f"{y_pred.shape}, received {y_true.shape}")
    return _in_top_k(y_pred, np.argmax(y_true, axis=-1), k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k: int = 5,
                                      from_sorted_ids: bool = False) -> np.ndarray:
    """Per-sample: is the integer label among the ``k`` top predictions.

    With ``from_sorted_ids`` the predictions are already class ids, best first (``(batch,
    n)`` with n >= k, as ``tf.math.top_k(...).indices`` gives): a hit is the label among the
    first ``k`` of them."""
    if from_sorted_ids:
        ids = np.asarray(y_pred)
        labels = np.asarray(y_true)
        if labels.ndim == ids.ndim and labels.shape[-1:] == (1,):
            labels = labels[..., 0]
        if ids.ndim != labels.ndim + 1 or ids.shape[:-1] != labels.shape:
            raise ValueError("sparse_top_k_categorical_accuracy: with from_sorted_ids, y_pred "
                             "must be (batch, n) class ids for labels (batch,) or (batch, 1), "
                             f"got y_true {np.shape(y_true)} and y_pred {ids.shape}")
        hits = np.any(ids[..., :k] == labels[..., None].astype(ids.dtype), axis=-1)
        return hits.astype(np.float32)
    y_true, y_pred = _sparse_labels("sparse_top_k_categorical_accuracy", y_true, y_pred)
    labels = y_true.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= y_pred.shape[-1]):
        raise ValueError(f"sparse_top_k_categorical_accuracy: labels must lie in "
                         f"[0, {y_pred.shape[-1] - 1}]")
    return _in_top_k(y_pred, labels, k)


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    return int(k)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label is among the ``k`` highest predictions."""

    direction = "up"

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype=None):
        _check_dtype(dtype)
        self.k = _check_k(k)
        super().__init__(top_k_categorical_accuracy, name, k=self.k)

    def get_config(self):
        return {"name": self.name, "k": self.k}


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the ``k`` highest predictions."""

    direction = "up"

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype=None,
                 from_sorted_ids: bool = False):
        _check_dtype(dtype)
        self.k = _check_k(k)
        self.from_sorted_ids = bool(from_sorted_ids)
        super().__init__(sparse_top_k_categorical_accuracy, name, k=self.k,
                         from_sorted_ids=self.from_sorted_ids)

    def get_config(self):
        config = {"name": self.name, "k": self.k}
        if self.from_sorted_ids:  # Keras names it only when set
            config["from_sorted_ids"] = True
        return config


# ------------------------------------------------------- confusion counts: precision, recall, AUC


def _broadcast_weight(sample_weight, shape, name: str) -> np.ndarray:
    if sample_weight is None:
        return np.ones(shape, dtype=np.float64)
    w = np.asarray(sample_weight, dtype=np.float64)
    w = w.reshape(w.shape + (1,) * (len(shape) - w.ndim)) if w.ndim < len(shape) else w
    try:
        return np.broadcast_to(w, shape)
    except ValueError:
        raise ValueError(f"{name}: sample_weight shape {np.shape(sample_weight)} does not match "
                         f"predictions of shape {shape}") from None


def _weight_above(values: np.ndarray, weights: np.ndarray, thresholds) -> np.ndarray:
    """For each threshold t: the sum of ``weights`` where ``values > t``.

    Scores and thresholds are compared in float32, as Keras compares them: a score of 0.3
    is not above the threshold 0.3 (in float64, float32's 0.3 is a little above 0.3). One
    sort instead of one pass per threshold (AUC uses 200 thresholds on every pixel).
    """
    scores = np.asarray(values, dtype=np.float32)
    order = np.argsort(scores, kind="stable")
    cumulative = np.concatenate([[0.0], np.cumsum(weights[order])])
    below = np.searchsorted(scores[order], np.asarray(thresholds, dtype=np.float32),
                            side="right")
    return cumulative[-1] - cumulative[below]


_NEG_INF = -1e10  # what Keras gives the scores top_k drops


def _filter_top_k(y_pred: np.ndarray, k: int) -> np.ndarray:
    """Keep the ``k`` largest scores of each row (first index wins ties); the rest -1e10."""
    keep = np.argsort(-y_pred, axis=-1, kind="stable")[..., :k]
    out = np.full(y_pred.shape, _NEG_INF)
    np.put_along_axis(out, keep, np.take_along_axis(y_pred, keep, axis=-1), axis=-1)
    return out


class _ConfusionCounts(Metric):
    """Weighted true/false positive/negative counts at fixed thresholds (``y_pred > t``).

    Labels count as positive when nonzero. All predictions and labels are flattened together
    (Keras's ``multi_label=False``), after the optional ``top_k`` filter and ``class_id``
    column selection.
    """

    direction = "up"

    def __init__(self, thresholds, top_k=None, class_id=None, name=None):
        super().__init__(name)
        self.thresholds = np.asarray(thresholds, dtype=np.float64)
        if top_k is not None:
            top_k = _check_k(top_k)
        if class_id is not None and (isinstance(class_id, bool)
                                     or not isinstance(class_id, (int, np.integer))
                                     or class_id < 0):
            raise ValueError(f"class_id must be a non-negative int, got {class_id!r}")
        self.top_k = top_k
        self.class_id = None if class_id is None else int(class_id)
        self.reset_state()

    def reset_state(self) -> None:
        n = len(self.thresholds)
        self.true_positives = np.zeros(n)
        self.false_positives = np.zeros(n)
        self.true_negatives = np.zeros(n)
        self.false_negatives = np.zeros(n)

    #: the counts Keras keeps as variables, in its order
    _kept_counts: ClassVar[tuple[str, ...]] = ("true_positives", "false_positives",
                                                "true_negatives", "false_negatives")

    def _keras_state(self) -> list[tuple]:
        return [self._attribute_state(name, name) for name in self._kept_counts]

    def _prepare(self, y_true, y_pred):
        y_true, y_pred = _one_label_for_all(np.asarray(y_true),
                                            np.asarray(y_pred, dtype=np.float64))
        y_true, y_pred = align_ranks(y_true, y_pred)
        _check_same(self.name, y_true, y_pred)
        return y_true, y_pred

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred = self._prepare(y_true, y_pred)
        weights = _broadcast_weight(sample_weight, y_pred.shape, self.name)
        if self.top_k is not None:
            y_pred = _filter_top_k(y_pred, self.top_k)
        if self.class_id is not None:
            if self.class_id >= y_pred.shape[-1]:
                raise ValueError(f"{self.name}: class_id={self.class_id} but predictions have "
                                 f"{y_pred.shape[-1]} classes")
            y_true, y_pred = y_true[..., self.class_id], y_pred[..., self.class_id]
            weights = weights[..., self.class_id]
        positive = (y_true != 0).ravel()
        scores, w = y_pred.ravel(), np.ascontiguousarray(weights).ravel()
        tp = _weight_above(scores[positive], w[positive], self.thresholds)
        fp = _weight_above(scores[~positive], w[~positive], self.thresholds)
        self.true_positives += tp
        self.false_negatives += np.sum(w[positive]) - tp
        self.false_positives += fp
        self.true_negatives += np.sum(w[~positive]) - fp


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a / b`` with 0 where ``b`` is 0 (TensorFlow's divide_no_nan)."""
    return np.divide(a, b, out=np.zeros_like(a), where=b != 0)


def _threshold_list(thresholds) -> tuple[list[float], bool]:
    """``(thresholds, several)``; None means [0.5], as in Keras."""
    if thresholds is None:
        return [0.5], False
    several = isinstance(thresholds, (list, tuple, np.ndarray))
    values = [float(t) for t in (thresholds if several else [thresholds])]
    bad = [t for t in values if not 0.0 <= t <= 1.0]
    if bad:
        raise ValueError(f"threshold values must be in [0, 1], got {bad}")
    return values, several


class _PrecisionRecall(_ConfusionCounts):
    default_name = "metric"

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        _check_dtype(dtype)
        values, self._several = _threshold_list(thresholds)
        # with top_k and no thresholds, Keras counts every kept score as positive
        if thresholds is None and top_k is not None:
            values = [_NEG_INF]
        self._thresholds_arg = thresholds
        super().__init__(values, top_k=top_k, class_id=class_id,
                         name=name)

    def _value(self) -> np.ndarray:
        raise NotImplementedError

    def result(self):
        value = self._value()
        return _result_tensor(value if self._several else value[0])

    def get_config(self):
        return {"name": self.name, "thresholds": self._thresholds_arg, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """``tp / (tp + fp)`` at ``thresholds`` (default 0.5; a list gives one value each)."""

    default_name = "precision"
    _kept_counts = ("true_positives", "false_positives")

    def _value(self):
        return _ratio(self.true_positives, self.true_positives + self.false_positives)


class Recall(_PrecisionRecall):
    """``tp / (tp + fn)`` at ``thresholds`` (default 0.5; a list gives one value each)."""

    default_name = "recall"
    _kept_counts = ("true_positives", "false_negatives")

    def _value(self):
        return _ratio(self.true_positives, self.true_positives + self.false_negatives)


class _ConfusionCount(_ConfusionCounts):
    """One of the four weighted counts at ``thresholds`` (default 0.5; ``y_pred > t``
    predicts positive); a list of thresholds gives one count each."""

    default_name = "count"
    #: which of the `_ConfusionCounts` arrays `result` reports
    count = "true_positives"

    def __init__(self, thresholds=None, name=None, dtype=None):
        _check_dtype(dtype)
        values, self._several = _threshold_list(thresholds)
        self._thresholds_arg = thresholds
        super().__init__(values, name=name)

    def result(self):
        value = getattr(self, self.count)
        return _result_tensor(value if self._several else value[0])

    def _keras_state(self) -> list[tuple]:
        return [self._attribute_state("accumulator", self.count)]

    def get_config(self):
        return {"name": self.name, "thresholds": self._thresholds_arg}


class TruePositives(_ConfusionCount):
    default_name, count = "true_positives", "true_positives"


class FalsePositives(_ConfusionCount):
    default_name, count = "false_positives", "false_positives"


class TrueNegatives(_ConfusionCount):
    default_name, count = "true_negatives", "true_negatives"


class FalseNegatives(_ConfusionCount):
    default_name, count = "false_negatives", "false_negatives"


class FBetaScore(Metric):
    """The F-beta score of each class, ``(1 + b^2) P R / (b^2 P + R)`` from the weighted
    true positive, false positive and false negative counts of every class (labels and
    predictions ``(batch, classes)``). A prediction is positive above ``threshold``; with no
    threshold, the highest score of each row is (ties: all of them). ``average``: None (one
    score per class), ``"micro"`` (counts pooled over the classes), ``"macro"`` (the mean of
    the class scores) or ``"weighted"`` (the mean weighted by each class's label count)."""

    direction = "up"
    _AVERAGES = (None, "micro", "macro", "weighted")

    def __init__(self, average=None, beta: float = 1.0, threshold=None,
                 name: str = "fbeta_score", dtype=None):
        _check_dtype(dtype)
        if average not in self._AVERAGES:
            raise ValueError(f"{type(self).__name__}: average must be one of {self._AVERAGES}, "
                             f"got {average!r}")
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not beta > 0:
            raise ValueError(f"{type(self).__name__}: beta must be a number > 0, got {beta!r}")
        if threshold is not None:
            if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) \
                    or not 0.0 < threshold <= 1.0:
                raise ValueError(f"{type(self).__name__}: threshold must be a number in (0, 1], "
                                 f"got {threshold!r}")
            threshold = float(threshold)
        self.average, self.beta, self.threshold = average, float(beta), threshold
        super().__init__(name)
        self.reset_state()

    def reset_state(self) -> None:
        # rows: tp, fp, fn, label weight per class; the classes come with the first batch and
        # a reset keeps them (zero counts, so a zero score per class, as Keras gives)
        counts = getattr(self, "_counts", None)
        self._counts: np.ndarray | None = None if counts is None else np.zeros_like(counts)

    def _keras_state(self) -> list[tuple]:
        # Keras' four per-class variables, made with the first batch: the rows of _counts
        if self._counts is None:
            return []

        def row(i: int) -> tuple:
            def write(value: np.ndarray) -> None:
                self._counts[i] = value

            return lambda: self._counts[i], write

        names = ("true_positives", "false_positives", "false_negatives",
                 "intermediate_weights")
        return [(name, "float32", *row(i)) for i, name in enumerate(names)]

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true = np.asarray(y_true, dtype=np.float64)
        y_pred = np.asarray(y_pred, dtype=np.float64)
        if y_pred.ndim != 2:
            raise ValueError(f"{self.name}: expects predictions of shape (batch, classes), got "
                             f"{y_pred.shape}")
        _check_same(self.name, y_true, y_pred)
        if self._counts is not None and self._counts.shape[1] != y_pred.shape[1]:
            raise ValueError(f"{self.name}: {self._counts.shape[1]} classes so far, got "
                             f"predictions with {y_pred.shape[1]}")
        if self.threshold is None:
            predicted = y_pred == y_pred.max(axis=-1, keepdims=True)
        else:
            predicted = y_pred > self.threshold
        weights = _broadcast_weight(sample_weight, y_pred.shape, self.name)
        predicted = predicted.astype(np.float64)
        counts = np.stack([(predicted * y_true * weights).sum(axis=0),
                           (predicted * (1.0 - y_true) * weights).sum(axis=0),
                           ((1.0 - predicted) * y_true * weights).sum(axis=0),
                           (y_true * weights).sum(axis=0)])
        self._counts = counts if self._counts is None else self._counts + counts

    def result(self):
        if self._counts is None:
            return _result_tensor(0.0 if self.average is not None else [])
        tp, fp, fn, support = self._counts
        if self.average == "micro":
            tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
        eps = 1e-7  # Keras' epsilon in every division
        precision, recall = tp / (tp + fp + eps), tp / (tp + fn + eps)
        b2 = self.beta ** 2
        score = (1.0 + b2) * precision * recall / (b2 * precision + recall + eps)
        if self.average == "weighted":
            # no labels yet (after a reset): 0, as Keras's divide_no_nan gives
            return _result_tensor(np.sum(_ratio(score * support, np.full_like(
                support, support.sum()))))
        if self.average is not None:
            return _result_tensor(np.mean(score))
        return _result_tensor(score)  # one per class

    def get_config(self):
        return {"name": self.name, "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    """`FBetaScore` with ``beta = 1``: the harmonic mean of precision and recall."""

    def __init__(self, average=None, threshold=None, name: str = "f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name,
                         dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config


class AUC(_ConfusionCounts):
    """Area under the ROC or precision-recall curve, from counts at ``num_thresholds``
    evenly spaced thresholds (plus -1e-7 and 1 + 1e-7), summed as Keras does: trapezoids
    (``"interpolation"``; for PR, the interpolation of Davis & Goadrich), or the lower
    (``"minoring"``) or upper (``"majoring"``) step.

    ``multi_label=True`` keeps one curve per label (predictions ``(batch, labels)``) and
    reports the mean of the labels' areas, weighted by ``label_weights`` when given; the
    number of labels is ``num_labels`` or, without it, the first batch's. Without
    ``multi_label``, ``label_weights`` weigh each label's entries in the one pooled curve.
    """

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC",
                 summation_method: str = "interpolation", name: str | None = None, dtype=None,
                 thresholds=None, multi_label: bool = False, num_labels=None,
                 label_weights=None, from_logits: bool = False):
        _check_dtype(dtype)
        if num_labels is not None and (isinstance(num_labels, bool) or not isinstance(
                num_labels, (int, np.integer)) or num_labels < 1):
            raise ValueError(f"num_labels must be a positive int or None, got {num_labels!r}")
        if label_weights is not None:
            label_weights = np.asarray(label_weights, dtype=np.float64)
            if label_weights.ndim != 1:
                raise ValueError("label_weights must be a list of one weight per label, got "
                                 f"shape {label_weights.shape}")
        self.multi_label = bool(multi_label)
        self.num_labels = None if num_labels is None else int(num_labels)
        self.label_weights = label_weights
        curve = str(curve).upper()
        if curve not in ("ROC", "PR"):
            raise ValueError(f"curve must be 'ROC' or 'PR', got {curve!r}")
        summation_method = str(summation_method).lower()
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError("summation_method must be 'interpolation', 'minoring' or "
                             f"'majoring', got {summation_method!r}")
        if thresholds is not None:
            inner = sorted(_threshold_list(list(thresholds))[0])
            num_thresholds = len(inner) + 2
        else:
            if isinstance(num_thresholds, bool) or not isinstance(
                    num_thresholds, (int, np.integer)) or num_thresholds <= 1:
                raise ValueError(f"num_thresholds must be an int > 1, got {num_thresholds!r}")
            n = int(num_thresholds)
            inner = [(i + 1) / (n - 1) for i in range(n - 2)]
        self.num_thresholds = int(num_thresholds)
        self.curve, self.summation_method = curve, summation_method
        self.from_logits = bool(from_logits)
        self._thresholds_arg = None if thresholds is None else inner
        super().__init__([0.0 - 1e-7] + inner + [1.0 + 1e-7], name=name)

    def reset_state(self) -> None:
        # one column of counts per label with multi_label (none yet if the number of labels
        # comes with the first batch), else the one pooled column
        labels = self.num_labels if self.multi_label else None
        if self.multi_label and labels is None and getattr(self, "true_positives", None) is not None:
            # a reset keeps the number of labels the first batch gave (Keras keeps the
            # variables it made then, zeroed)
            labels = self.true_positives.shape[1] or None
        if self.multi_label and labels is None:
            shape: tuple[int, ...] = (len(self.thresholds), 0)
        else:
            shape = (len(self.thresholds),) if labels is None else (len(self.thresholds), labels)
        self.true_positives = np.zeros(shape)
        self.false_positives = np.zeros(shape)
        self.true_negatives = np.zeros(shape)
        self.false_negatives = np.zeros(shape)

    def _keras_state(self) -> list[tuple]:
        # Keras makes a multi-label AUC's variables once it knows the number of labels
        if self.true_positives.ndim == 2 and self.true_positives.shape[1] == 0:
            return []
        return super()._keras_state()

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        if np.ndim(y_true) == 0 and np.ndim(y_pred) > 0:
            # the other confusion metrics broadcast one label; TF 2.21's AUC refuses it
            raise ValueError(f"{self.name}: y_true must have one label per prediction, got a "
                             f"scalar for predictions of shape {np.shape(y_pred)}")
        if self.from_logits:
            y_pred = 1.0 / (1.0 + np.exp(-np.asarray(y_pred, dtype=np.float64)))
        if self.label_weights is not None and not self.multi_label:
            # the label weights scale each label's entries, as a per-column sample weight
            y_true, y_pred = self._prepare(y_true, y_pred)
            if y_pred.shape[-1:] != self.label_weights.shape:
                raise ValueError(f"{self.name}: {len(self.label_weights)} label_weights for "
                                 f"predictions of shape {y_pred.shape}")
            sample_weight = _broadcast_weight(sample_weight, y_pred.shape, self.name) \
                * self.label_weights
        if not self.multi_label:
            super().update_state(y_true, y_pred, sample_weight)
            return
        y_true, y_pred = self._prepare(y_true, y_pred)
        if y_pred.ndim != 2:
            raise ValueError(f"{self.name}: multi_label=True expects labels and predictions of "
                             f"shape (batch, labels), got {y_pred.shape}")
        labels = y_pred.shape[1]
        if self.true_positives.shape[1] == 0:
            self.true_positives = np.zeros((len(self.thresholds), labels))
            self.false_positives = np.zeros_like(self.true_positives)
            self.true_negatives = np.zeros_like(self.true_positives)
            self.false_negatives = np.zeros_like(self.true_positives)
        if labels != self.true_positives.shape[1]:
            raise ValueError(f"{self.name}: counts kept for {self.true_positives.shape[1]} "
                             f"labels, got predictions with {labels}")
        weights = _broadcast_weight(sample_weight, y_pred.shape, self.name)
        for j in range(labels):
            positive = y_true[:, j] != 0
            scores, w = y_pred[:, j], np.ascontiguousarray(weights[:, j])
            tp = _weight_above(scores[positive], w[positive], self.thresholds)
            fp = _weight_above(scores[~positive], w[~positive], self.thresholds)
            self.true_positives[:, j] += tp
            self.false_negatives[:, j] += np.sum(w[positive]) - tp
            self.false_positives[:, j] += fp
            self.true_negatives[:, j] += np.sum(w[~positive]) - fp

    def _average(self, by_label: np.ndarray) -> float:
        """One area from the per-label areas (the pooled curve's area when not multi_label):
        their mean, or their ``label_weights``-weighted mean."""
        if not self.multi_label:
            return float(by_label)
        if by_label.size == 0:
            return 0.0
        if self.label_weights is None:
            return float(np.mean(by_label))
        total = np.sum(self.label_weights)
        return float(np.sum(by_label * self.label_weights) / total) if total != 0 else 0.0

    def _interpolated_pr(self) -> float:
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        slope = _ratio(dtp, np.maximum(p[:-1] - p[1:], 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        p_ratio = np.where(both, _ratio(p[:-1], np.maximum(p[1:], 0)), 1.0)
        increments = _ratio(slope * (dtp + intercept * np.log(p_ratio)),
                            np.maximum(tp[1:] + fn[1:], 0))
        return self._average(np.sum(increments, axis=0))

    def result(self):
        if self.curve == "PR" and self.summation_method == "interpolation":
            return _result_tensor(self._interpolated_pr())
        tp, fp = self.true_positives, self.false_positives
        tn, fn = self.true_negatives, self.false_negatives
        recall = _ratio(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _ratio(fp, fp + tn), recall
        else:
            x, y = recall, _ratio(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return _result_tensor(self._average(np.sum((x[:-1] - x[1:]) * heights, axis=0)))

    def get_config(self):
        config = {"name": self.name, "num_thresholds": self.num_thresholds,
                  "curve": self.curve, "summation_method": self.summation_method,
                  "multi_label": self.multi_label, "num_labels": self.num_labels,
                  "label_weights": None if self.label_weights is None
                  else self.label_weights.tolist(), "from_logits": self.from_logits}
        # as Keras: the thresholds only when they were given
        if self._thresholds_arg is not None:
            config["thresholds"] = self._thresholds_arg
        return config


class _AtConstraint(_ConfusionCounts):
    """Best value of one rate subject to another rate reaching ``value``, over
    ``num_thresholds`` evenly spaced thresholds in ``[0, 1]`` (both ends included; one
    threshold means 0.5). ``result`` is the largest ``dependent`` rate among thresholds whose
    ``constrained`` rate is ``>= value``; 0 when none is."""

    default_name = "metric"
    argument = "value"  # Keras's name for the constraint

    def __init__(self, value, num_thresholds: int = 200, class_id=None, name=None, dtype=None):
        _check_dtype(dtype)
        value = check_number(self.argument, value, 0.0, 1.0)
        if isinstance(num_thresholds, bool) or not isinstance(
                num_thresholds, (int, np.integer)) or num_thresholds < 1:
            raise ValueError(f"num_thresholds must be an int > 0, got {num_thresholds!r}")
        n = int(num_thresholds)
        thresholds = [0.5] if n == 1 else (
            [0.0] + [(i + 1) / (n - 1) for i in range(n - 2)] + [1.0])
        self.value, self.num_thresholds = value, n
        super().__init__(thresholds, class_id=class_id, name=name)

    def _rates(self) -> dict[str, np.ndarray]:
        tp, fp = self.true_positives, self.false_positives
        tn, fn = self.true_negatives, self.false_negatives
        return {"sensitivity": _ratio(tp, tp + fn), "specificity": _ratio(tn, tn + fp),
                "precision": _ratio(tp, tp + fp)}

    #: (constrained rate, maximized rate)
    rates = ("sensitivity", "specificity")

    def result(self):
        rates = self._rates()
        constrained, dependent = rates[self.rates[0]], rates[self.rates[1]]
        return _result_tensor(np.max(np.where(constrained >= self.value, dependent, 0.0),
                                     initial=0.0))

    def get_config(self):
        return {"name": self.name, "class_id": self.class_id,
                "num_thresholds": self.num_thresholds, self.argument: self.value}


class SensitivityAtSpecificity(_AtConstraint):
    """Best sensitivity (recall) at thresholds where specificity is ``>= specificity``."""

    default_name, argument = "sensitivity_at_specificity", "specificity"
    rates = ("specificity", "sensitivity")

    def __init__(self, specificity, num_thresholds: int = 200, class_id=None, name=None,
                 dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)


class SpecificityAtSensitivity(_AtConstraint):
    """Best specificity at thresholds where sensitivity is ``>= sensitivity``."""

    default_name, argument = "specificity_at_sensitivity", "sensitivity"
    rates = ("sensitivity", "specificity")

    def __init__(self, sensitivity, num_thresholds: int = 200, class_id=None, name=None,
                 dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)


class PrecisionAtRecall(_AtConstraint):
    """Best precision at thresholds where recall is ``>= recall``."""

    default_name, argument = "precision_at_recall", "recall"
    rates = ("sensitivity", "precision")

    def __init__(self, recall, num_thresholds: int = 200, class_id=None, name=None,
                 dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)


class RecallAtPrecision(_AtConstraint):
    """Best recall at thresholds where precision is ``>= precision``."""

    default_name, argument = "recall_at_precision", "precision"
    rates = ("precision", "sensitivity")

    def __init__(self, precision, num_thresholds: int = 200, class_id=None, name=None,
                 dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)


# --------------------------------------------------------------------- IoU for segmentation


def _check_num_classes(num_classes) -> int:
    # a float count is a TypeError, as in Keras (it sizes the confusion matrix with it)
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"num_classes must be a positive int, got {num_classes!r}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    return int(num_classes)


class IoU(Metric):
    """Intersection over union per class, averaged over ``target_class_ids``.

    Predictions and labels (class ids, any shape: ``(m,)``, ``(m, H, W)``, ...) are counted
    in a ``num_classes`` x ``num_classes`` confusion matrix. A class's IoU is
    ``tp / (tp + fp + fn + 1e-7)``; classes absent from both labels and predictions are left
    out of the mean (Keras 3.15's rule). With ``sparse_y_pred=False`` the argmax over ``axis``
    of the scores is the prediction (e.g. a segmentation output ``(m, H, W, C)``); with
    ``sparse_y_true=False`` labels are one-hot. Pixels labelled ``ignore_class``, and ids
    outside ``[0, num_classes)``, are not counted.

    As in Keras the metric's ``dtype`` is the confusion matrix's, int64 unless given: a
    float ``sample_weight`` is then cast to int64 (0.7 counts 0; Keras warns about it, and so
    does convnp), while ``dtype="float32"`` counts fractional weights.
    """

    direction = "up"

    def __init__(self, num_classes: int, target_class_ids, name: str | None = None, dtype=None,
                 ignore_class=None, sparse_y_true: bool = True, sparse_y_pred: bool = True,
                 axis: int = -1):
        super().__init__(name)
        # the confusion matrix's dtype (Keras's, int64 by default); the counts are kept in
        # float64 and the weights cast to this dtype, which is what changes results
        if dtype is not None and np.dtype(dtype).kind not in "fiu":
            raise ValueError(f"IoU dtype must be an integer or float type, got {dtype!r}")
        self.dtype = np.dtype(dtype or np.int64).name
        self.num_classes = _check_num_classes(num_classes)
        ids = [int(i) for i in target_class_ids]
        if any(not 0 <= i < self.num_classes for i in ids) or not ids:
            raise ValueError(f"target_class_ids must be non-empty ids in [0, {num_classes}), "
                             f"got {list(target_class_ids)}")
        self.target_class_ids = ids
        self.ignore_class = None if ignore_class is None else int(ignore_class)
        self.sparse_y_true, self.sparse_y_pred = bool(sparse_y_true), bool(sparse_y_pred)
        self.axis = int(axis)
        self.reset_state()

    def reset_state(self) -> None:
        self._cm = np.zeros((self.num_classes, self.num_classes))

    def _keras_state(self) -> list[tuple]:
        # Keras keeps the confusion matrix as a variable of the metric's dtype (int64)
        return [self._attribute_state("total_confusion_matrix", "_cm", self.dtype)]

    @property
    def total_cm(self):
        """The confusion matrix as Keras's ``total_cm`` variable (rows are true classes,
        columns predicted ones), in the metric's dtype; ``.numpy()`` reads it."""
        return self.variables[0]

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        if not self.sparse_y_true:
            y_true = np.argmax(y_true, axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = np.argmax(y_pred, axis=self.axis)
        # class ids are truncated to integers, as Keras's integer cast does
        labels = y_true.astype(np.int64).ravel()
        preds = y_pred.astype(np.int64).ravel()
        if labels.size != preds.size:
            raise ValueError(
                f"{self.name}: y_true and y_pred must hold one class id per pixel; got shapes "
                f"{np.shape(y_true)} and {np.shape(y_pred)} (scores need sparse_y_pred=False)")
        weights = np.ones(labels.size) if sample_weight is None else np.broadcast_to(
            self._cast_weights(sample_weight).ravel(), labels.shape)
        k = self.num_classes
        keep = (labels >= 0) & (labels < k) & (preds >= 0) & (preds < k)
        if self.ignore_class is not None:
            keep &= labels != self.ignore_class
        self._cm += np.bincount(labels[keep] * k + preds[keep], weights=weights[keep],
                                     minlength=k * k).reshape(k, k)

    def _cast_weights(self, sample_weight) -> np.ndarray:
        """The weights in the metric's dtype, then float64 for counting: with an integer
        dtype a fractional weight truncates toward zero, as Keras's cast does."""
        weights = np.asarray(sample_weight)
        if np.dtype(self.dtype).kind in "iu" and weights.dtype.kind == "f":
            if hasattr(sample_weight, "dtype"):
                warnings.warn("You are passing weight as `float`, but dtype is `int`. This "
                              "may result in an incorrect weight due to type casting Consider "
                              "using integer weights.", UserWarning, stacklevel=2)
            weights = weights.astype(self.dtype)
        return weights.astype(np.float64)

    def result(self):
        cm = self._cm
        tp = np.diag(cm)
        denominator = (cm.sum(axis=0) + cm.sum(axis=1) - tp)[self.target_class_ids]
        tp = tp[self.target_class_ids]
        valid = denominator > 1e-9
        iou = np.where(valid, tp / (denominator + 1e-7), 0.0)
        return _result_tensor(np.sum(iou) / (np.sum(valid) + 1e-7))

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "num_classes": self.num_classes,
                "target_class_ids": self.target_class_ids, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class MeanIoU(IoU):
    """IoU averaged over all ``num_classes`` classes (the usual segmentation score).

    >>> m = MeanIoU(num_classes=2)
    >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
    >>> round(float(m.result()), 4)
    0.3333
    """

    def __init__(self, num_classes: int, name: str | None = None, dtype=None,
                 ignore_class=None, sparse_y_true: bool = True, sparse_y_pred: bool = True,
                 axis: int = -1):
        super().__init__(num_classes, range(_check_num_classes(num_classes)), name=name,
                         dtype=dtype, ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        config = super().get_config()
        config.pop("target_class_ids")
        return config


class OneHotMeanIoU(MeanIoU):
    """MeanIoU for one-hot labels and score predictions (argmax of both)."""

    def __init__(self, num_classes: int, name: str | None = None, dtype=None,
                 ignore_class=None, sparse_y_pred: bool = False, axis: int = -1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        config = super().get_config()
        config.pop("sparse_y_true")
        return config


class BinaryIoU(IoU):
    """IoU of classes 0 and/or 1 (``target_class_ids``) for 0/1 labels and scores: a score
    ``>= threshold`` (compared in float32, as Keras does) predicts class 1."""

    def __init__(self, target_class_ids=(0, 1), threshold: float = 0.5, name=None, dtype=None):
        super().__init__(2, target_class_ids, name=name, dtype=dtype)
        self.threshold = check_number("threshold", threshold)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_pred = np.asarray(y_pred, dtype=np.float32) >= np.float32(self.threshold)
        super().update_state(y_true, y_pred, sample_weight)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype,
                "target_class_ids": self.target_class_ids, "threshold": self.threshold}


class OneHotIoU(IoU):
    """IoU of ``target_class_ids`` for one-hot labels and score predictions (argmax of
    both over ``axis``)."""

    def __init__(self, num_classes: int, target_class_ids, name=None, dtype=None,
                 ignore_class=None, sparse_y_pred: bool = False, axis: int = -1):
        super().__init__(num_classes, target_class_ids, name=name,
                         dtype=dtype, ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        config = super().get_config()
        config.pop("sparse_y_true")
        return config


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


def _build(cls: type[Metric], spelling: str) -> Metric:
    # a lowercase spelling ("mse", "precision", a function's name) names the metric as typed,
    # as compile() shows it in the logs; a class name keeps the class's default name
    return cls(name=spelling) if spelling.islower() else cls()


_BUILTIN = (Mean, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
            MeanSquaredError, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy,
            Precision, Recall, AUC, IoU, MeanIoU, OneHotMeanIoU, RootMeanSquaredError,
            MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
            LogCoshError, Poisson, KLDivergence, Hinge, SquaredHinge, CategoricalHinge,
            CosineSimilarity, BinaryCrossentropy, CategoricalCrossentropy,
            SparseCategoricalCrossentropy, TruePositives, FalsePositives, TrueNegatives,
            FalseNegatives, FBetaScore, F1Score, Sum, R2Score, PearsonCorrelation,
            ConcordanceCorrelation, SensitivityAtSpecificity, SpecificityAtSensitivity,
            PrecisionAtRecall, RecallAtPrecision, BinaryIoU, OneHotIoU)
# Every Keras spelling: class name, snake-case name, the per-sample function's name and the
# short ones. Any other per-sample function fn(y_true, y_pred) becomes a running mean.
# (a function's wrapper is named as Keras's compile names it: the function's name in snake
# case, so a lambda's history key is "lambda")
METRICS = Registry("metric", Metric, build=_build, wrap=lambda function: MeanMetricWrapper(
    function, name=snake_case(getattr(function, "__name__", "metric"))))
for _cls in _BUILTIN:
    METRICS.add(_cls)
for _function, _cls in ((binary_accuracy, BinaryAccuracy),
                        (categorical_accuracy, CategoricalAccuracy),
                        (sparse_categorical_accuracy, SparseCategoricalAccuracy),
                        (accuracy, Accuracy), (top_k_categorical_accuracy, TopKCategoricalAccuracy),
                        (sparse_top_k_categorical_accuracy, SparseTopKCategoricalAccuracy),
                        (pearson_correlation, PearsonCorrelation),
                        (concordance_correlation, ConcordanceCorrelation)):
    METRICS.add(_cls, snake=False, functions=(_function,))
for _cls, _short in ((MeanSquaredError, "mse"), (MeanAbsoluteError, "mae"),
                     (MeanAbsolutePercentageError, "mape"),
                     (MeanSquaredLogarithmicError, "msle"), (BinaryCrossentropy, "bce"),
                     (KLDivergence, "kld")):
    METRICS.add(_cls, _short, _short.upper(), snake=False)
METRICS.add(LogCoshError, "logcosh", snake=False)
METRICS.add(AutoAccuracy, snake=False)
_CLASSES: dict[str, type[Metric]] = {c.__name__: c for c in _BUILTIN}


def get(identifier: Any, loss: Any = None) -> Metric:
    """Resolve a metric for `compile(metrics=[...])`.

    Args:
        identifier: `"accuracy"`/`"acc"` (resolved as Keras does, see module docstring), a
            metric name (`"binary_accuracy"`, `"mse"`, ...), a `Metric` instance or class, one
            of this module's per-sample functions, or a Keras config dict.
        loss: the compiled loss (name or object), used to pre-resolve `"accuracy"`.

    Raises:
        ValueError: unknown name (the message lists the close and the known ones).
        TypeError: an unsupported type.
    """
    if isinstance(identifier, str) and identifier.strip().lower() in ("accuracy", "acc"):
        return AutoAccuracy(name=identifier.strip(), loss=loss)
    return METRICS.get(identifier)


def serialize(metric: Any) -> dict[str, Any]:
    """Keras-style `{"class_name": ..., "config": ...}`."""
    return METRICS.serialize(get(metric))


def deserialize(config: Any, custom_objects=None) -> Metric:
    """Inverse of `serialize` (a name string is accepted too)."""
    if isinstance(config, str):
        return get(config)
    return METRICS.deserialize(config, custom_objects)
