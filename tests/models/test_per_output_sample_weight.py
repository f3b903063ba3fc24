"""Sample weights per output for a model with several outputs, against Keras 3.15
(tests/fixtures/make_per_output_sample_weight.py): a list (one entry per output, None for an
unweighted one) or a dict by output name weighs each output's loss and weighted metrics by its
own; one array still weighs them all. evaluate, two epochs of fit (logs and final weights),
test_on_batch / train_on_batch, a Dataset yielding per-output weights, and the errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convnp as tf
from tests.helpers import load_fixture

keras = tf.keras
layers = keras.layers
Z = load_fixture("per_output_sample_weight.npz")
X, Y0, Y1, SW0, SW1 = (Z[k] for k in ("x", "y0", "y1", "sw0", "sw1"))
Y = [Y0, Y1]
CASES = {"list": [SW0, SW1], "dict": {"a": SW0, "b": SW1}, "none": [SW0, None],
         "single": SW0}


def make():
    i = keras.Input((4,), name="in")
    h = layers.Dense(3, activation="relu", name="h")(i)
    model = keras.Model(i, [layers.Dense(1, activation="sigmoid", name="a")(h),
                            layers.Dense(2, name="b")(h)])
    model.set_weights([Z[f"w/{k}"] for k in range(len(model.get_weights()))])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=["binary_crossentropy", "mse"],
                  loss_weights=[1.0, 0.5], weighted_metrics=[["accuracy"], ["mae"]])
    return model


def expected(key) -> dict:
    return json.loads(str(Z[key]))


def same_logs(got: dict, want: dict, rtol: float = 1e-5) -> None:
    assert sorted(got) == sorted(want)
    for k, v in want.items():
        np.testing.assert_allclose(got[k], v, rtol=rtol, atol=1e-7, err_msg=k)


def same_weights(model, prefix: str) -> None:
    for k, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, Z[f"{prefix}/{k}"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_evaluate_as_keras(name):
    got = make().evaluate(X, Y, sample_weight=CASES[name], verbose=0, return_dict=True)
    same_logs(got, expected(f"{name}/eval"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_two_epochs_of_fit_as_keras(name):
    model = make()
    history = model.fit(X, Y, sample_weight=CASES[name], batch_size=4, epochs=2,
                        shuffle=False, verbose=0)
    same_logs(history.history, expected(f"{name}/fit"))
    same_weights(model, f"{name}/final")


def test_a_tuple_and_a_dict_with_a_missing_output_weigh_per_output():
    got = make().evaluate(X, Y, sample_weight=(SW0, SW1), verbose=0, return_dict=True)
    same_logs(got, expected("list/eval"))
    got = make().evaluate(X, Y, sample_weight={"a": SW0}, verbose=0, return_dict=True)
    same_logs(got, expected("none/eval"))


def test_on_batch_with_a_list_of_weights():
    first = [SW0[:4], SW1[:4]]
    model = make()
    got = model.test_on_batch(X[:4], [Y0[:4], Y1[:4]], sample_weight=first, return_dict=True)
    same_logs(got, expected("list/tob"))
    got = model.train_on_batch(X[:4], [Y0[:4], Y1[:4]], sample_weight=first,
                               return_dict=True)
    same_logs(got, expected("list/trob"))
    same_weights(model, "list/trob_w")


@pytest.mark.parametrize("weights", ["tuple", "dict"])
def test_a_dataset_yielding_weights_per_output(weights):
    sw = (SW0, SW1) if weights == "tuple" else {"a": SW0, "b": SW1}
    ds = tf.data.Dataset.from_tensor_slices((X, (Y0, Y1), sw)).batch(4)
    model = make()
    same_logs(model.evaluate(ds, verbose=0, return_dict=True), expected("list/eval"))
    history = model.fit(ds, epochs=2, verbose=0)
    same_logs(history.history, expected("list/fit"))
    same_weights(model, "list/final")


def test_validation_split_splits_each_outputs_weights():
    model = make()
    history = model.fit(X, Y, sample_weight=[SW0, None], validation_split=0.5, batch_size=6,
                        epochs=1, shuffle=False, verbose=0)
    model = make()
    model.fit(X[:6], [Y0[:6], Y1[:6]], sample_weight=[SW0[:6], None], batch_size=6, epochs=1,
              shuffle=False, verbose=0)
    want = model.evaluate(X[6:], [Y0[6:], Y1[6:]], sample_weight=[SW0[6:], None], verbose=0,
                          return_dict=True)
    for k, v in want.items():
        np.testing.assert_allclose(history.history[f"val_{k}"][0], v, rtol=1e-6, err_msg=k)


def test_validation_data_with_weights_per_output():
    history = make().fit(X[:4], [Y0[:4], Y1[:4]], validation_data=(X, Y, {"a": SW0, "b": SW1}),
                         epochs=1, verbose=0)
    model = make()
    model.fit(X[:4], [Y0[:4], Y1[:4]], epochs=1, verbose=0)
    want = model.evaluate(X, Y, sample_weight=[SW0, SW1], verbose=0, return_dict=True)
    for k, v in want.items():
        np.testing.assert_allclose(history.history[f"val_{k}"][0], v, rtol=1e-6, err_msg=k)


def test_a_list_of_two_weight_arrays_for_a_batch_of_two_is_per_output():
    """Not one (2, 2) array weighing the values: with several outputs a list is per output."""
    x, y = X[:2], [Y0[:2], Y1[:2]]
    w0, w1 = np.array([1.0, 0.0], "float32"), np.array([0.0, 1.0], "float32")
    got = make().test_on_batch(x, y, sample_weight=[w0, w1], return_dict=True)
    a = make().test_on_batch(x, y, sample_weight=w0, return_dict=True)
    b = make().test_on_batch(x, y, sample_weight=w1, return_dict=True)
    np.testing.assert_allclose(got["a_loss"], a["a_loss"], rtol=1e-6)
    np.testing.assert_allclose(got["b_loss"], b["b_loss"], rtol=1e-6)
    np.testing.assert_allclose(got["a_accuracy"], a["a_accuracy"], rtol=1e-6)
    np.testing.assert_allclose(got["b_mae"], b["b_mae"], rtol=1e-6)
    np.testing.assert_allclose(got["loss"], a["a_loss"] + 0.5 * b["b_loss"], rtol=1e-6)


def test_a_single_output_model_still_reads_a_list_as_the_weights():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(1)])
    model.compile("sgd", "mse")
    y = Y1[:, :1]
    np.testing.assert_allclose(
        model.evaluate(X, y, sample_weight=list(SW0), verbose=0),
        model.evaluate(X, y, sample_weight=SW0, verbose=0), rtol=1e-6)


@pytest.mark.parametrize("sw, match", [
    ([SW0], r"sample_weight must hold one entry per output \(2: \['a', 'b'\].*list of 1"),
    ([SW0, SW1, SW0], "sample_weight must hold one entry per output.*list of 3"),
    ({"a": SW0, "c": SW1}, r"sample_weight has keys \['c'\]; the model's outputs are"),
    ([SW0, SW1[:11]], r"sample_weight for output 'b' must have shape \(12,\).*got \(11,\)"),
    ([1.0, 2.0], r"sample_weight for output 'a' must have shape \(12,\).*got \(\)"),
])
@pytest.mark.parametrize("method", ["fit", "evaluate"])
def test_bad_weights_per_output_are_refused(sw, match, method):
    model = make()
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match=f"{method}\\(\\): {match}"):
        getattr(model, method)(X, Y, sample_weight=sw, verbose=0)
    for w, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, b)


def test_bad_weights_in_a_dataset_and_on_a_batch_are_refused():
    ds = tf.data.Dataset.from_tensor_slices((X, (Y0, Y1), {"a": SW0, "z": SW1})).batch(4)
    with pytest.raises(ValueError, match=r"evaluate\(\): sample_weight has keys \['z'\]"):
        make().evaluate(ds, verbose=0)
    with pytest.raises(ValueError, match=r"train_on_batch\(\): .*list of 1"):
        make().train_on_batch(X, Y, sample_weight=[SW0])
