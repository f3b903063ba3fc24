"""Every built-in metric's ``result()`` is a float32 tensor, as TensorFlow returns it: the
custom-loop idioms ``result().numpy()``, ``float(result())`` and ``f"{result():.4f}"`` work,
and fit/evaluate/History still log plain floats."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import convnp as tf
from convnp import metrics
from convnp.tensor.eager import EagerTensor

keras = tf.keras

RNG = np.random.default_rng(0)
LABELS = np.array([0, 2, 1, 2, 0, 1])
ONE_HOT = np.eye(3, dtype="float32")[LABELS]
SCORES = RNG.random((6, 3)).astype("float32")
PROBS = SCORES / SCORES.sum(-1, keepdims=True)

# (constructor arguments, y_true, y_pred) where the default (multi-label 0/1 targets and
# scores in [0, 1]) does not fit
SPECIAL = {
    "IoU": ({"num_classes": 3, "target_class_ids": [0, 1]}, LABELS, np.roll(LABELS, 1)),
    "MeanIoU": ({"num_classes": 3}, LABELS, np.roll(LABELS, 1)),
    "OneHotIoU": ({"num_classes": 3, "target_class_ids": [0, 2]}, ONE_HOT, PROBS),
    "OneHotMeanIoU": ({"num_classes": 3}, ONE_HOT, PROBS),
    "SparseCategoricalAccuracy": ({}, LABELS, PROBS),
    "SparseCategoricalCrossentropy": ({}, LABELS, PROBS),
    "SparseTopKCategoricalAccuracy": ({"k": 2}, LABELS, PROBS),
    "TopKCategoricalAccuracy": ({"k": 2}, ONE_HOT, PROBS),
    "CategoricalCrossentropy": ({}, ONE_HOT, PROBS),
    "KLDivergence": ({}, ONE_HOT, PROBS),
    "SensitivityAtSpecificity": ({"specificity": 0.5}, ONE_HOT, PROBS),
    "SpecificityAtSensitivity": ({"sensitivity": 0.5}, ONE_HOT, PROBS),
    "PrecisionAtRecall": ({"recall": 0.5}, ONE_HOT, PROBS),
    "RecallAtPrecision": ({"precision": 0.5}, ONE_HOT, PROBS),
    "FBetaScore": ({"average": "macro"}, ONE_HOT, PROBS),
    "F1Score": ({"average": "micro"}, ONE_HOT, PROBS),
}
SKIP = {"Metric", "MeanMetricWrapper"}  # the bases: a user's code gives their result
BUILT_IN = sorted(name for name in metrics.__all__
                  if inspect.isclass(getattr(metrics, name))
                  and issubclass(getattr(metrics, name), metrics.Metric) and name not in SKIP)


def _updated(name):
    kwargs, y_true, y_pred = SPECIAL.get(name, ({}, ONE_HOT, PROBS))
    metric = getattr(metrics, name)(**kwargs)
    if name in ("Mean", "Sum"):
        metric.update_state(PROBS[:, 0])
    else:
        metric.update_state(y_true, y_pred)
    return metric


def test_every_built_in_metric_is_listed():
    assert len(BUILT_IN) >= 45 and {"AUC", "Mean", "Precision", "R2Score"} <= set(BUILT_IN)


@pytest.mark.parametrize("name", BUILT_IN)
def test_result_is_a_0d_float32_tensor(name):
    metric = _updated(name)
    result = metric.result()
    assert isinstance(result, EagerTensor), type(result)
    assert result.shape == () and result.dtype == np.float32
    value = float(result)
    assert np.isfinite(value)
    assert f"{metric.result():.4f}" == f"{value:.4f}"
    assert float(result.numpy()) == value
    assert isinstance(metric(*SPECIAL.get(name, ({}, ONE_HOT, PROBS))[1:])
                      if name not in ("Mean", "Sum") else metric(PROBS[:, 0]), EagerTensor)


@pytest.mark.parametrize("metric, shape", [
    (metrics.Precision(thresholds=[0.3, 0.6]), (2,)),
    (metrics.Recall(thresholds=[0.2, 0.5, 0.8]), (3,)),
    (metrics.TruePositives(thresholds=[0.3, 0.6]), (2,)),
    (metrics.F1Score(), (3,)),
    (metrics.FBetaScore(beta=2.0), (3,)),
    (metrics.R2Score(class_aggregation=None), (3,)),
])
def test_several_values_are_one_float32_tensor(metric, shape):
    metric.update_state(ONE_HOT, PROBS)
    result = metric.result()
    assert isinstance(result, EagerTensor) and result.shape == shape
    assert result.dtype == np.float32
    assert result.numpy().tolist() == pytest.approx(np.asarray(result).tolist())


def test_custom_training_loop_idioms():
    train_acc = keras.metrics.SparseCategoricalAccuracy()
    train_acc.update_state([1, 0, 1, 1], [[0.1, 0.9], [0.8, 0.2], [0.6, 0.4], [0.3, 0.7]])
    assert train_acc.result().numpy() == pytest.approx(0.75)
    assert f"{train_acc.result():.4f}" == "0.7500"
    assert float(train_acc.result()) == 0.75
    assert "numpy=0.75" in repr(train_acc.result())
    train_acc.reset_state()
    assert float(train_acc.result()) == 0.0


def test_logs_and_history_still_hold_floats():
    tf.keras.backend.clear_session()  # metric names as in a fresh session (Keras numbers them)
    tf.keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "categorical_crossentropy",
                  metrics=["accuracy", keras.metrics.Precision(thresholds=[0.3, 0.6])])
    x = RNG.random((6, 3)).astype("float32")
    seen = []
    history = model.fit(x, ONE_HOT, epochs=2, batch_size=3, verbose=0, callbacks=[
        keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(logs))])
    assert all(type(v) is float for v in history.history["accuracy"])
    assert type(seen[-1]["accuracy"]) is float
    assert isinstance(seen[-1]["precision"], np.ndarray)  # per threshold, as before
    logs = model.evaluate(x, ONE_HOT, verbose=0, return_dict=True)
    assert type(logs["accuracy"]) is float
    assert type(model.train_on_batch(x, ONE_HOT, return_dict=True)["accuracy"]) is float
