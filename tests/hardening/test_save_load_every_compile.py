"""Every model that ``save`` accepts loads back (issue 16, defect 2).

Parametrized over every loss (by name, by class, as an object), every optimizer (fitted and
not: Adam and RMSprop have no slots before the first fit) and every metric.
"""

from __future__ import annotations

import numpy as np
import pytest

import convnp.layers as L
from convnp import losses, metrics, optimizers
from convnp.io.saving import load_model
from convnp.models import Sequential

# loss -> (output units, activation, targets maker)
_LOSS_SETUP = {
    "BinaryCrossentropy": (1, "sigmoid", lambda rng: (rng.random((6, 1)) > 0.5).astype("f4")),
    "CategoricalCrossentropy": (3, "softmax",
                                lambda rng: np.eye(3, dtype="f4")[rng.integers(0, 3, 6)]),
    "SparseCategoricalCrossentropy": (3, "softmax", lambda rng: rng.integers(0, 3, 6)),
    "MeanSquaredError": (2, None, lambda rng: rng.standard_normal((6, 2)).astype("f4")),
    "MeanAbsoluteError": (2, None, lambda rng: rng.standard_normal((6, 2)).astype("f4")),
}
# the other regression, probabilistic and hinge losses: targets of their kind
_REGRESSION = (2, None, lambda rng: rng.standard_normal((6, 2)).astype("f4"))
_POSITIVE = (2, "softplus", lambda rng: rng.uniform(0.5, 2.0, (6, 2)).astype("f4"))
_DISTRIBUTION = (3, "softmax", lambda rng: rng.dirichlet(np.ones(3), 6).astype("f4"))
_LOSS_SETUP.update({"Huber": _REGRESSION, "LogCosh": _REGRESSION,
                    "CosineSimilarity": _REGRESSION, "Hinge": _REGRESSION,
                    "SquaredHinge": _REGRESSION, "MeanAbsolutePercentageError": _POSITIVE,
                    "MeanSquaredLogarithmicError": _POSITIVE, "Poisson": _POSITIVE,
                    "KLDivergence": _DISTRIBUTION, "CategoricalHinge": _LOSS_SETUP[
                        "CategoricalCrossentropy"]})
# the focal and overlap losses: probabilities against labels
_LOSS_SETUP.update({"BinaryFocalCrossentropy": _LOSS_SETUP["BinaryCrossentropy"],
                    "Dice": _LOSS_SETUP["BinaryCrossentropy"],
                    "Tversky": _LOSS_SETUP["BinaryCrossentropy"],
                    "CategoricalFocalCrossentropy": _LOSS_SETUP["CategoricalCrossentropy"]})
# Keras 3.15's label losses: embeddings (Circle) or probabilities (GCE) against integer labels
_LOSS_SETUP.update({"Circle": (3, None, lambda rng: rng.integers(0, 3, 6)),
                    "CategoricalGeneralizedCrossEntropy":
                        _LOSS_SETUP["SparseCategoricalCrossentropy"]})
# Keras 3's CTC: per-step logits (a (steps, classes) output) against label ids, 0 the blank
_LOSS_SETUP["CTC"] = ((3, 4), None, lambda rng: rng.integers(1, 4, (6, 2)))
_LOSS_NAMES = {"BinaryCrossentropy": "binary_crossentropy", "CTC": "ctc",
               "CategoricalCrossentropy": "categorical_crossentropy",
               "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy",
               "MeanSquaredError": "mse", "MeanAbsoluteError": "mae",
               "MeanAbsolutePercentageError": "mape", "MeanSquaredLogarithmicError": "msle",
               "Huber": "huber", "LogCosh": "log_cosh", "Poisson": "poisson",
               "KLDivergence": "kld", "Hinge": "hinge", "SquaredHinge": "squared_hinge",
               "CategoricalHinge": "categorical_hinge", "CosineSimilarity": "cosine_similarity",
               "BinaryFocalCrossentropy": "binary_focal_crossentropy",
               "CategoricalFocalCrossentropy": "categorical_focal_crossentropy",
               "Dice": "dice", "Tversky": "tversky", "Circle": "circle",
               "CategoricalGeneralizedCrossEntropy": "categorical_generalized_cross_entropy"}


def _loss_forms():
    for cls_name in _LOSS_SETUP:
        yield cls_name, "name", _LOSS_NAMES[cls_name]
        yield cls_name, "class name", cls_name
        yield cls_name, "object", "object"
        yield cls_name, "fitted object", "object"


def _model(units, activation):
    """A small MLP; ``units`` a shape ``(steps, classes)``: its output reshaped to that."""
    if isinstance(units, tuple):
        return Sequential([L.Dense(4, activation="relu", input_shape=(3,)),
                           L.Dense(int(np.prod(units)), activation=activation),
                           L.Reshape(units)])
    return Sequential([L.Dense(4, activation="relu", input_shape=(3,)),
                       L.Dense(units, activation=activation)])


def _roundtrip(tmp_path, model, x, suffix=".convnp"):
    path = tmp_path / f"m{suffix}"
    model.save(path)
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    return loaded


@pytest.mark.parametrize("cls_name,form,loss", list(_loss_forms()),
                         ids=[f"{c}-{f}" for c, f, _ in _loss_forms()])
def test_every_loss_saves_and_loads(tmp_path, cls_name, form, loss):
    units, activation, targets = _LOSS_SETUP[cls_name]
    if loss == "object":
        loss = getattr(losses, cls_name)()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3)).astype("f4")
    model = _model(units, activation)
    model.compile(optimizer="sgd", loss=loss)
    if form.startswith("fitted"):
        model.fit(x, targets(rng), epochs=1, verbose=0)
    loaded = _roundtrip(tmp_path, model, x)
    assert type(loaded.compiled_loss).__name__ == cls_name
    assert loaded.compiled_loss.get_config() == model.compiled_loss.get_config()


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop", "sgd+momentum",
                                       "rmsprop+centered+momentum", "adam+amsgrad", "adamw",
                                       "nadam", "adagrad", "adamax", "adadelta", "lion",
                                       "ftrl", "lamb", "adam+ema", "sgd+momentum+ema",
                                       "lossscale", "adafactor", "muon", "schedulefree",
                                       "multi"])
@pytest.mark.parametrize("fitted", [False, True], ids=["unfitted", "fitted"])
def test_every_optimizer_saves_and_loads(tmp_path, optimizer, fitted):
    name, *options = optimizer.split("+")
    kwargs = {"momentum": 0.9} if "momentum" in options else {}
    if "centered" in options:
        kwargs["centered"] = True
    if "amsgrad" in options:
        kwargs["amsgrad"] = True
    if "ema" in options:
        kwargs.update(use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=3)
    opt = {"sgd": optimizers.SGD, "adam": optimizers.Adam, "rmsprop": optimizers.RMSprop,
           "adamw": optimizers.AdamW, "nadam": optimizers.Nadam, "adagrad": optimizers.Adagrad,
           "adamax": optimizers.Adamax, "adadelta": optimizers.Adadelta,
           "lion": optimizers.Lion, "ftrl": optimizers.Ftrl,
           "lamb": optimizers.Lamb,
           "lossscale": lambda **kw: optimizers.LossScaleOptimizer(
               optimizers.Adam(**kw), initial_scale=64.0, dynamic_growth_steps=2),
           "adafactor": optimizers.Adafactor, "muon": optimizers.Muon,
           "schedulefree": optimizers.ScheduleFreeAdamW,
           "multi": lambda **kw: optimizers.MultiOptimizer(optimizers.OptimizerMap(
               optimizers.Adam(**kw), {".*dense.*/bias": optimizers.SGD(momentum=0.5)})),
           }[name](learning_rate=0.01, **kwargs)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 3)).astype("f4")
    y = rng.standard_normal((6, 2)).astype("f4")
    model = _model(2, None)
    model.compile(optimizer=opt, loss="mse")
    if fitted:
        model.fit(x, y, epochs=2, batch_size=3, verbose=0)
    loaded = _roundtrip(tmp_path, model, x)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    # training continues exactly as the original does
    model.fit(x, y, epochs=1, batch_size=3, verbose=0, shuffle=False)
    loaded.fit(x, y, epochs=1, batch_size=3, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def _metric_forms():
    names = ["accuracy", "acc", "binary_accuracy", "mse", "mean_squared_error"]
    classes = [c for c in sorted(metrics._CLASSES)]
    return names + [f"class:{c}" for c in classes] + ["function:binary_accuracy"]


# metrics whose constructor needs arguments, and the targets they are compiled with
_METRIC_ARGUMENTS = {"IoU": {"num_classes": 3, "target_class_ids": [0, 2], "sparse_y_pred": False},
                     "MeanIoU": {"num_classes": 3, "sparse_y_pred": False},
                     "OneHotMeanIoU": {"num_classes": 3},
                     "OneHotIoU": {"num_classes": 3, "target_class_ids": [1, 2]},
                     "PrecisionAtRecall": {"recall": 0.5},
                     "RecallAtPrecision": {"precision": 0.5},
                     "SensitivityAtSpecificity": {"specificity": 0.5},
                     "SpecificityAtSensitivity": {"sensitivity": 0.5}}
_METRIC_LOSS = {"IoU": "sparse_categorical_crossentropy",
                "MeanIoU": "sparse_categorical_crossentropy",
                "OneHotMeanIoU": "categorical_crossentropy",
                "OneHotIoU": "categorical_crossentropy"}


@pytest.mark.parametrize("metric", _metric_forms())
def test_every_metric_saves_and_loads(tmp_path, metric):
    if metric.startswith("class:"):
        cls = getattr(metrics, metric.split(":")[1])
        metric = cls(**_METRIC_ARGUMENTS.get(cls.__name__, {}))
    elif metric.startswith("function:"):
        metric = getattr(metrics, metric.split(":")[1])
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 3)).astype("f4")
    kind = type(metric).__name__ if isinstance(metric, metrics.Metric) else ""  # not a function
    kind = {"sparse_categorical_crossentropy": "Sparse",
            "categorical_crossentropy": "Categorical"}.get(_METRIC_LOSS.get(kind), kind)
    if "Sparse" in kind:
        loss, (units, activation, targets) = ("sparse_categorical_crossentropy",
                                              _LOSS_SETUP["SparseCategoricalCrossentropy"])
    elif "Categorical" in kind:
        loss, (units, activation, targets) = ("categorical_crossentropy",
                                              _LOSS_SETUP["CategoricalCrossentropy"])
    else:
        loss, (units, activation, targets) = ("binary_crossentropy",
                                              _LOSS_SETUP["BinaryCrossentropy"])
    y = targets(rng)
    model = _model(units, activation)
    model.compile(optimizer="adam", loss=loss, metrics=[metric])
    model.evaluate(x, y, verbose=0)  # metric state is not saved; the optimizer has no slots
    loaded = _roundtrip(tmp_path, model, x)
    assert loaded.metrics_names == model.metrics_names
    np.testing.assert_allclose(_flat(loaded.evaluate(x, y, verbose=0)),
                               _flat(model.evaluate(x, y, verbose=0)))


def _flat(logs) -> np.ndarray:
    """evaluate()'s values as one vector (a metric such as F1Score gives one per class)."""
    return np.concatenate([np.ravel(np.asarray(value, dtype=np.float64)) for value in logs])


def test_uncompiled_model_saves_and_loads(tmp_path):
    x = np.ones((2, 3), "f4")
    loaded = _roundtrip(tmp_path, _model(2, None), x)
    assert loaded.optimizer is None


@pytest.mark.parametrize("loss", ["binary_crossentropy", "object"])
def test_keras_archive_loads_back_with_its_loss(tmp_path, loss):
    pytest.importorskip("h5py")
    model = _model(1, "sigmoid")
    model.compile(optimizer="adam",
                  loss=losses.BinaryCrossentropy() if loss == "object" else loss)
    _roundtrip(tmp_path, model, np.ones((2, 3), "f4"), suffix=".keras")


def test_the_round_trips_above_cover_every_loss_and_optimizer():
    # a new loss or optimizer class must be added to the round trips above
    assert set(losses._CLASSES) <= set(_LOSS_SETUP)
    assert set(optimizers._CLASSES) <= {"SGD", "Adam", "RMSprop", "AdamW", "Nadam", "Adagrad",
                                        "Adamax", "Adadelta", "Lion", "Ftrl", "Lamb",
                                        "LossScaleOptimizer", "Adafactor", "Muon",
                                        "ScheduleFreeAdamW", "MultiOptimizer"}
