"""``compile(weighted_metrics=...)`` against Keras 3.15 (tests/fixtures/make_weighted_metrics.py):
``metrics`` are updated without the sample weights, ``weighted_metrics`` with them (and with
the weights ``class_weight`` gives), each under Keras's log name: its own, or
``[<output>_]weighted_<name>`` when an unweighted metric took it. evaluate, test_on_batch and
one epoch of fit, for one output, two outputs (a dict and a list per output) and a masked
sequence output (the mask multiplies the weights)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convnp as tf
from tests.helpers import load_fixture

keras = tf.keras
layers = keras.layers
Z = load_fixture("weighted_metrics.npz")


def single():
    return keras.Sequential([keras.Input((4,)), layers.Dense(3, activation="relu"),
                             layers.Dense(1, activation="sigmoid")])


def multi():
    i = keras.Input((4,), name="in")
    return keras.Model(i, [layers.Dense(1, activation="sigmoid", name="a")(i),
                           layers.Dense(2, name="b")(i)])


def seq():
    return keras.Sequential([keras.Input((5,), dtype="int32"),
                             layers.Embedding(7, 3, mask_zero=True),
                             layers.LSTM(4, return_sequences=True),
                             layers.Dense(3, activation="softmax")])


CASES = {
    "single": (single, {"loss": "binary_crossentropy", "metrics": ["accuracy"],
                        "weighted_metrics": ["accuracy", "mse", "auc"]}),
    "multi": (multi, {"loss": ["binary_crossentropy", "mse"],
                      "metrics": {"a": ["accuracy"], "b": ["mae"]},
                      "weighted_metrics": {"a": ["accuracy"], "b": ["mae", "mse"]}}),
    "multi_list": (multi, {"loss": ["binary_crossentropy", "mse"],
                           "weighted_metrics": [["accuracy"], ["mae"]]}),
    "seq": (seq, {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"],
                  "weighted_metrics": ["accuracy"]}),
}


def make(name):
    build, kwargs = CASES[name]
    model = build()
    model.set_weights([Z[f"{name}/w/{i}"] for i in range(len(model.get_weights()))])
    model.compile(optimizer=keras.optimizers.SGD(0.1), **kwargs)
    return model


def data(name):
    y = [Z[f"{name}/y0"], Z[f"{name}/y1"]] if f"{name}/y0" in Z else Z[f"{name}/y"]
    return Z[f"{name}/x"], y, Z[f"{name}/sw"]


def expected(key) -> dict:
    return json.loads(str(Z[key]))


def same_logs(got: dict, want: dict, rtol: float, skip=()) -> None:
    assert sorted(got) == sorted(want)
    for k, v in want.items():
        if k not in skip:
            np.testing.assert_allclose(got[k], v, rtol=rtol, atol=1e-7, err_msg=k)


@pytest.mark.parametrize("name", sorted(CASES))
def test_evaluate_as_keras(name):
    x, y, sw = data(name)
    got = make(name).evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True)
    same_logs(got, expected(f"{name}/eval"), 1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_test_on_batch_as_keras(name):
    x, y, sw = data(name)
    y4 = [t[:4] for t in y] if isinstance(y, list) else y[:4]
    got = make(name).test_on_batch(x[:4], y4, sample_weight=sw[:4], return_dict=True)
    same_logs(got, expected(f"{name}/tob"), 1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_epoch_of_fit_as_keras(name):
    x, y, sw = data(name)
    history = make(name).fit(x, y, sample_weight=sw, batch_size=4, epochs=1, shuffle=False,
                             verbose=0)
    # Keras's per-output loss trackers in fit drift from its total when the last batch is
    # short (10 = 4 + 4 + 2; they agree at batch_size=5, and in evaluate): not compared here
    skip = ("a_loss", "b_loss") if name.startswith("multi") else ()
    same_logs(history.history, expected(f"{name}/fit"), 2e-6, skip)


def test_class_weight_weighs_the_weighted_metrics():
    x, y, _ = data("single")
    history = make("single").fit(x, y, class_weight={0: 0.5, 1: 2.0}, batch_size=4, epochs=1,
                                 shuffle=False, verbose=0)
    same_logs(history.history, expected("single/fit_cw"), 2e-6)


def test_without_sample_weights_both_lists_agree():
    x, y, _ = data("single")
    logs = make("single").evaluate(x, y, verbose=0, return_dict=True)
    assert logs["accuracy"] == logs["weighted_accuracy"]


def test_names_order_and_numbering():
    model = single()
    model.compile("sgd", "binary_crossentropy", metrics=["accuracy"],
                  weighted_metrics=["accuracy", "accuracy", "mse"])
    assert model.metrics_names == ["loss", "accuracy", "weighted_accuracy",
                                   "weighted_accuracy_1", "mse"]
    # weighted alone: its own names
    model.compile("sgd", "binary_crossentropy", weighted_metrics=["accuracy"])
    assert model.metrics_names == ["loss", "accuracy"]


def test_a_metric_object_in_both_lists_keeps_two_running_totals():
    model = single()
    model.set_weights([Z[f"single/w/{i}"] for i in range(4)])
    auc = keras.metrics.AUC(name="auc")
    model.compile("sgd", "binary_crossentropy", metrics=[auc], weighted_metrics=[auc])
    x, y, sw = data("single")
    logs = model.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True)
    assert auc.name == "auc"
    np.testing.assert_allclose(logs["weighted_auc"], expected("single/eval")["auc"], rtol=1e-6)
    assert logs["auc"] != logs["weighted_auc"]


def test_bad_weighted_metrics_are_refused():
    with pytest.raises(ValueError, match="weighted_metrics"):
        single().compile("sgd", "binary_crossentropy", weighted_metrics="accuracy")
    with pytest.raises(ValueError, match="weighted_metrics"):
        multi().compile("sgd", ["binary_crossentropy", "mse"], weighted_metrics=["accuracy"])
    with pytest.raises(ValueError, match="weighted_metrics"):
        multi().compile("sgd", ["binary_crossentropy", "mse"], weighted_metrics={"c": ["mae"]})


def test_custom_train_step_compiled_metrics_take_the_weights():
    model = make("single")
    x, y, sw = data("single")
    model.compiled_metrics.update_state(y, model.predict(x, verbose=0), sample_weight=sw)
    result = model.compiled_metrics.result()
    want = expected("single/eval")
    for k in ("accuracy", "weighted_accuracy", "mse", "auc"):
        np.testing.assert_allclose(float(result[k]), want[k], rtol=1e-6, err_msg=k)


@pytest.mark.parametrize("ext", ["keras", "h5", "convnp"])
def test_saved_and_loaded_with_the_weighted_metrics(tmp_path, ext):
    if ext != "convnp":
        pytest.importorskip("h5py")
    model = make("multi")
    path = str(tmp_path / f"m.{ext}")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.metrics_names == model.metrics_names
    x, y, sw = data("multi")
    got = loaded.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True)
    same_logs(got, expected("multi/eval"), 1e-6)
