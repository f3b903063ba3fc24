"""Non-finite or out-of-range constructor arguments of losses, metrics, optimizers,
schedules, regularizers and initializers raise a ValueError naming the argument (a TypeError
for what is not a number), when the object is made, before any work."""

from __future__ import annotations

import pytest

from convnp import initializers, losses, metrics, optimizers, regularizers, schedules

NAN, INF = float("nan"), float("inf")

BAD_ARGUMENTS = [
    # (factory, keyword arguments, the argument the message names)
    (optimizers.SGD, {"learning_rate": NAN}, "learning_rate"),
    (optimizers.Adam, {"learning_rate": -0.1}, "learning_rate"),
    (optimizers.Adam, {"beta_1": 1.5}, "beta_1"),
    (optimizers.RMSprop, {"rho": INF}, "rho"),
    (optimizers.SGD, {"momentum": NAN}, "momentum"),
    (optimizers.AdamW, {"weight_decay": INF}, "weight_decay"),
    (optimizers.Adagrad, {"initial_accumulator_value": -1.0}, "initial_accumulator_value"),
    (optimizers.Adam, {"clipnorm": NAN}, "clipnorm"),
    (losses.BinaryCrossentropy, {"label_smoothing": 2}, "label_smoothing"),
    (losses.CategoricalCrossentropy, {"label_smoothing": NAN}, "label_smoothing"),
    (losses.MeanSquaredError, {"reduction": "average"}, "reduction"),
    (metrics.BinaryAccuracy, {"threshold": float("inf")}, "threshold"),
    (metrics.BinaryAccuracy, {"threshold": NAN}, "threshold"),
    (metrics.Precision, {"thresholds": [0.2, 1.2]}, "threshold"),
    (metrics.Recall, {"thresholds": NAN}, "threshold"),
    (metrics.AUC, {"thresholds": [-0.5]}, "threshold"),
    (metrics.AUC, {"num_thresholds": 1}, "num_thresholds"),
    (metrics.TopKCategoricalAccuracy, {"k": 0}, "k"),
    (metrics.MeanIoU, {"num_classes": 0}, "num_classes"),
    (schedules.ExponentialDecay, {"initial_learning_rate": NAN, "decay_steps": 10,
                                  "decay_rate": 0.5}, "initial_learning_rate"),
    (schedules.ExponentialDecay, {"initial_learning_rate": 0.1, "decay_steps": 10,
                                  "decay_rate": INF}, "decay_rate"),
    (schedules.ExponentialDecay, {"initial_learning_rate": 0.1, "decay_steps": 0,
                                  "decay_rate": 0.5}, "decay_steps"),
    (schedules.PiecewiseConstantDecay, {"boundaries": [10], "values": [0.1, NAN]}, "values"),
    (schedules.PiecewiseConstantDecay, {"boundaries": [INF], "values": [0.1, 0.2]},
     "boundaries"),
    (schedules.CosineDecay, {"initial_learning_rate": 0.1, "decay_steps": 10, "alpha": NAN},
     "alpha"),
    (schedules.CosineDecay, {"initial_learning_rate": 0.1, "decay_steps": 10,
                             "warmup_target": INF}, "warmup_target"),
    (schedules.CosineDecay, {"initial_learning_rate": INF, "decay_steps": 10},
     "initial_learning_rate"),
    (regularizers.L2, {"l2": INF}, "l2"),
    (regularizers.L1, {"l1": NAN}, "l1"),
    (regularizers.L1L2, {"l1": -1.0}, "l1"),
    (initializers.RandomNormal, {"stddev": NAN}, "stddev"),
    (initializers.RandomNormal, {"mean": INF}, "mean"),
    (initializers.Orthogonal, {"gain": INF}, "gain"),
]


@pytest.mark.parametrize("factory,kwargs,argument", BAD_ARGUMENTS,
                         ids=[f"{f.__name__}-{a}" for f, _, a in BAD_ARGUMENTS])
def test_bad_numbers_are_refused_by_name(factory, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        factory(**kwargs)


@pytest.mark.parametrize("factory,kwargs", [
    (optimizers.Adam, {"learning_rate": "fast"}),
    (regularizers.L2, {"l2": True}),
    (losses.BinaryCrossentropy, {"label_smoothing": "0.1"}),
    (metrics.BinaryAccuracy, {"threshold": None}),
])
def test_non_numbers_are_type_errors(factory, kwargs):
    with pytest.raises(TypeError, match="must be a number"):
        factory(**kwargs)


def test_edges_that_are_allowed():
    assert losses.BinaryCrossentropy(label_smoothing=1.0).label_smoothing == 1.0
    assert optimizers.SGD(learning_rate=0.0, momentum=1.0).momentum == 1.0
    assert regularizers.L1L2(0, 0).get_config() == {"l1": 0.0, "l2": 0.0}
    assert schedules.CosineDecay(0.0, 5, alpha=1.0, warmup_steps=2.0).warmup_steps == 2
    assert metrics.Precision(thresholds=[0.0, 1.0]).thresholds.tolist() == [0.0, 1.0]
