"""The Keras 3 metrics added later (BinaryIoU, OneHotIoU, R2Score, the "X at Y" confusion
metrics, Pearson/concordance correlation, Sum): Keras 3.15.1's numbers after each
``update_state`` call (tests/fixtures/make_metrics_more.py), configs, compile by object and by
name, fit, and a ``.keras`` round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from convnp import metrics
from convnp.keras import layers as L
from convnp.keras.models import Sequential, load_model
from tests.helpers import FIXTURES

_Z = dict(np.load(FIXTURES / "metrics_more.npz", allow_pickle=False))
_CASES = sorted({int(k.split("/")[0]) for k in _Z if k[0].isdigit()})


def _case_id(c: int) -> str:
    return f"{c}-{_Z[f'{c}/class']}-{_Z[f'{c}/kwargs']}"


def test_fixture_is_from_keras_3_15():
    assert str(_Z["meta/versions"][1]).startswith("3.15")
    assert len(_CASES) == 32


# float sample weights on the IoU metrics (int64 confusion matrices) are cast with Keras's
# warning, as Keras warned when it made the fixture
@pytest.mark.filterwarnings("ignore:You are passing weight as `float`:UserWarning")
@pytest.mark.parametrize("c", _CASES, ids=_case_id)
def test_matches_keras_after_every_update(c):
    metric = getattr(metrics, str(_Z[f"{c}/class"]))(**json.loads(str(_Z[f"{c}/kwargs"])))
    for s in range(int(_Z[f"{c}/steps"])):
        weight = _Z.get(f"{c}/{s}/sample_weight")
        if f"{c}/{s}/values" in _Z:
            metric.update_state(_Z[f"{c}/{s}/values"], sample_weight=weight)
        else:
            metric.update_state(_Z[f"{c}/{s}/y_true"], _Z[f"{c}/{s}/y_pred"], sample_weight=weight)
        np.testing.assert_allclose(np.asarray(metric.result(), dtype=np.float64),
                                   _Z[f"{c}/{s}/result"], rtol=2e-5, atol=2e-6,
                                   err_msg=f"{_case_id(c)} after update {s}")
    metric.reset_state()
    if str(_Z[f"{c}/class"]) == "R2Score":
        # Keras keeps the columns after a reset: zero sums, a nan score (0 / 0)
        assert np.isnan(np.asarray(metric.result())).all()
        return
    fresh = getattr(metrics, str(_Z[f"{c}/class"]))(**json.loads(str(_Z[f"{c}/kwargs"])))
    assert metric.result() == fresh.result()


@pytest.mark.parametrize("c", _CASES, ids=_case_id)
def test_keras_config_loads(c):
    """What Keras writes in a .keras compile config. The IoU metrics' configs carry their
    dtype ("int64", the confusion matrix's, which decides how weights count), as Keras's."""
    config = json.loads(str(_Z[f"{c}/keras_config"]))
    metric = metrics.deserialize(config)
    assert type(metric).__name__ == config["class_name"]
    keep_dtype = "IoU" in config["class_name"]
    expected = {k: v for k, v in config["config"].items() if k != "dtype" or keep_dtype}
    assert metric.get_config() == expected


def test_keras_documented_examples():
    m = metrics.BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
    m.update_state([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7])
    assert m.result() == pytest.approx(1 / 3, abs=1e-6)
    m.reset_state()
    # Keras's documentation gives 0.17361112 for float weights, but TensorFlow 2.21 casts
    # them to the metric's dtype, int64, first: every weight below 1 counts 0
    m.update_state([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7], sample_weight=[0.2, 0.3, 0.4, 0.1])
    assert m.result() == pytest.approx(0.0, abs=1e-6)
    m = metrics.BinaryIoU(target_class_ids=[0, 1], threshold=0.3, dtype="float32")
    m.update_state([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7], sample_weight=[0.2, 0.3, 0.4, 0.1])
    assert m.result() == pytest.approx(0.17361112, abs=1e-6)  # the documented value
    m = metrics.R2Score()
    m.update_state([[1], [4], [3]], [[2], [4], [4]])
    assert m.result() == pytest.approx(0.57142854, abs=1e-6)
    y_true, y_pred = [[0, 1, 0.5], [1, 1, 0.2]], [[0.1, 0.9, 0.5], [1, 0.9, 0.2]]
    np.testing.assert_allclose(metrics.pearson_correlation(y_true, y_pred), [1.0, 0.99339927],
                               atol=1e-6)
    np.testing.assert_allclose(metrics.concordance_correlation(y_true, y_pred),
                               [0.97560976, 0.98765432], atol=1e-6)
    m = metrics.SensitivityAtSpecificity(0.5)
    m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
    assert m.result() == 0.5
    m = metrics.Sum()
    m.update_state([1, 3, 5, 7])
    assert m.result() == 16.0


_NEW = [metrics.BinaryIoU(target_class_ids=[1], threshold=0.4),
        metrics.OneHotIoU(3, target_class_ids=[0, 2], ignore_class=1),
        metrics.R2Score(class_aggregation=None, num_regressors=1),
        metrics.PrecisionAtRecall(0.3, num_thresholds=20, class_id=1),
        metrics.RecallAtPrecision(0.8), metrics.SensitivityAtSpecificity(0.5, name="sas"),
        metrics.SpecificityAtSensitivity(0.2, num_thresholds=1),
        metrics.PearsonCorrelation(axis=-1), metrics.ConcordanceCorrelation(name="ccc"),
        metrics.Sum(name="total")]


@pytest.mark.parametrize("metric", _NEW, ids=lambda m: type(m).__name__)
def test_config_round_trip(metric):
    again = metrics.deserialize(metrics.serialize(metric))
    assert type(again) is type(metric) and again.get_config() == metric.get_config()


@pytest.mark.parametrize("name,cls", [
    ("BinaryIoU", metrics.BinaryIoU), ("binary_io_u", metrics.BinaryIoU),
    ("r2_score", metrics.R2Score), ("R2Score", metrics.R2Score),
    ("pearson_correlation", metrics.PearsonCorrelation),
    ("concordance_correlation", metrics.ConcordanceCorrelation),
    ("ConcordanceCorrelation", metrics.ConcordanceCorrelation), ("sum", metrics.Sum),
])
def test_keras_string_names(name, cls):
    assert type(metrics.get(name)) is cls
    assert type(metrics.get(getattr(metrics, cls.__name__))) is cls


def test_r2_adjusted_falls_back_with_a_warning_when_too_few_values():
    m = metrics.R2Score(num_regressors=3)
    m.update_state([[1.0], [2.0], [4.0]], [[1.5], [2.0], [3.0]])
    plain = metrics.R2Score()
    plain.update_state([[1.0], [2.0], [4.0]], [[1.5], [2.0], [3.0]])
    with pytest.warns(UserWarning, match="num_regressors=3"):
        assert m.result() == pytest.approx(plain.result())


def test_bad_arguments_name_the_problem():
    with pytest.raises(ValueError, match="recall must be"):
        metrics.PrecisionAtRecall(1.5)
    with pytest.raises(ValueError, match="num_thresholds"):
        metrics.SensitivityAtSpecificity(0.5, num_thresholds=0)
    with pytest.raises(ValueError, match="class_aggregation"):
        metrics.R2Score(class_aggregation="mean")
    with pytest.raises(ValueError, match="num_regressors"):
        metrics.R2Score(num_regressors=-1)
    with pytest.raises(ValueError, match="2-D"):
        metrics.R2Score().update_state(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="target_class_ids"):
        metrics.BinaryIoU(target_class_ids=[2])
    with pytest.raises(TypeError, match="axis"):
        metrics.PearsonCorrelation(axis="last")
    with pytest.raises(ValueError, match="shapes do not match"):
        metrics.PearsonCorrelation().update_state(np.zeros((2, 3)), np.zeros((2, 4)))


def _regression_model():
    return Sequential([L.Dense(4, activation="relu", input_shape=(3,)), L.Dense(2)])


def test_compile_fit_save_load_keras_file(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 3)).astype("f4")
    y = (x[:, :2] + 0.1 * rng.standard_normal((16, 2))).astype("f4")
    model = _regression_model()
    model.compile(optimizer="adam", loss="mse", metrics=[
        metrics.R2Score(name="r2"), metrics.PearsonCorrelation(name="pearson"),
        metrics.ConcordanceCorrelation(name="ccc"),
        "r2_score", "pearson_correlation", "concordance_correlation"])
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert {"r2", "pearson", "ccc", "r2_score", "pearson_correlation",
            "concordance_correlation"} <= set(history.history)

    labels = (x[:, :1] > 0).astype("f4")
    clf = Sequential([L.Dense(4, activation="relu", input_shape=(3,)),
                      L.Dense(1, activation="sigmoid")])
    clf.compile(optimizer="adam", loss="binary_crossentropy", metrics=[
        metrics.BinaryIoU(target_class_ids=[0, 1], threshold=0.4, name="biou"),
        metrics.PrecisionAtRecall(0.5), metrics.RecallAtPrecision(0.6),
        metrics.SensitivityAtSpecificity(0.5, num_thresholds=50),
        metrics.SpecificityAtSensitivity(0.5), "binary_io_u"])
    clf.fit(x, labels, epochs=1, batch_size=8, verbose=0)

    onehot = np.eye(3, dtype="f4")[rng.integers(0, 3, 16)]
    cat = Sequential([L.Dense(4, activation="relu", input_shape=(3,)),
                      L.Dense(3, activation="softmax")])
    cat.compile(optimizer="adam", loss="categorical_crossentropy",
                metrics=[metrics.OneHotIoU(3, target_class_ids=[0, 2]),
                         metrics.OneHotMeanIoU(3)])
    cat.fit(x, onehot, epochs=1, batch_size=8, verbose=0)

    for m, targets in ((model, y), (clf, labels), (cat, onehot)):
        path = tmp_path / f"{m.name}.keras"
        m.save(path)
        loaded = load_model(path)
        assert loaded.metrics_names == m.metrics_names
        np.testing.assert_allclose(
            np.concatenate([np.ravel(v) for v in loaded.evaluate(x, targets, verbose=0)]),
            np.concatenate([np.ravel(v) for v in m.evaluate(x, targets, verbose=0)]),
            rtol=1e-6)
