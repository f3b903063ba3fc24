"""A loss called on a prediction that carries a mask (``y_pred._keras_mask``: a model's or
layer's eager output after ``Embedding(mask_zero=True)``) folds it into the sample weights as
Keras 3.15's ``Loss.__call__`` does (tests/fixtures/make_loss_call_mask.py): the mean
reductions average the kept steps, "sum" and "none" drop the masked ones,
"mean_with_sample_weight" divides by the kept weights, ``ignore_class`` ands its targets
with the mask; the values and the tape's gradient."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from tests.helpers import load_fixture

keras = tf.keras
layers = keras.layers
Z = load_fixture("loss_call_mask.npz")
WEIGHTS = ("none", "column", "steps")


class StepMAE(keras.losses.Loss):
    def call(self, y_true, y_pred):
        return keras.ops.mean(keras.ops.abs(y_true - y_pred), axis=-1)


def losses_for(from_logits):
    scce = keras.losses.SparseCategoricalCrossentropy
    return {
        "scce": (scce(from_logits=from_logits), True),
        "scce_sum": (scce(from_logits=from_logits, reduction="sum"), True),
        "scce_none": (scce(from_logits=from_logits, reduction="none"), True),
        "scce_mws": (scce(from_logits=from_logits, reduction="mean_with_sample_weight"), True),
        "cce": (keras.losses.CategoricalCrossentropy(from_logits=from_logits), False),
        "mse": (keras.losses.MeanSquaredError(), False),
        "user": (StepMAE(), False),
        "mae": (keras.losses.MeanAbsoluteError(), False),
        "ignore": (scce(from_logits=from_logits, ignore_class=-1), "ignored"),
        "ignore_sum": (scce(from_logits=from_logits, ignore_class=-1, reduction="sum"),
                       "ignored"),
    }


def targets(sparse):
    return {True: Z["labels"], False: Z["onehot"], "ignored": Z["ignored"]}[sparse]


def predict(name):
    """The model (or layers) of ``name`` with the fixture's weights, called eagerly."""
    if name == "layers":
        emb, dense = layers.Embedding(7, 3, mask_zero=True), layers.Dense(3,
                                                                           activation="softmax")
        emb.build((None, 5))
        dense.build((None, 5, 3))
        variables = emb.weights + dense.weights
    elif name == "softmax":
        model = keras.Sequential([keras.Input((5,), dtype="int32"),
                                  layers.Embedding(7, 3, mask_zero=True),
                                  layers.LSTM(4, return_sequences=True),
                                  layers.Dense(3, activation="softmax")])
        variables = model.weights
    else:
        inp = keras.Input((5,), dtype="int32")
        h = layers.LSTM(4, return_sequences=True)(layers.Embedding(7, 3, mask_zero=True)(inp))
        model = keras.Model(inp, layers.Dense(3)(h))
        variables = model.weights
    for i, v in enumerate(variables):
        v.assign(Z[f"{name}/w/{i}"])
    pred = dense(emb(Z["x"])) if name == "layers" else model(Z["x"])
    np.testing.assert_allclose(np.asarray(pred), Z[f"{name}/pred"], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(pred._keras_mask), Z[f"{name}/mask"])
    return pred


CASES = [(name, case) for name in ("softmax", "logits", "layers")
         for case in losses_for(False)]


@pytest.mark.parametrize(("name", "case"), CASES)
def test_loss_call_applies_the_prediction_mask(name, case):
    pred = predict(name)
    loss, sparse = losses_for(name == "logits")[case]
    y = targets(sparse)
    for w in WEIGHTS:
        got = loss(y, pred, None if w == "none" else Z[w])
        np.testing.assert_allclose(np.asarray(got), Z[f"{name}/{case}/{w}/value"], rtol=2e-6,
                                   atol=1e-6, err_msg=w)
    # the mask is what changes it: the same values without one give Keras's unmasked number
    plain = loss(y, np.asarray(pred))
    np.testing.assert_allclose(np.asarray(plain), Z[f"plain/{name}/{case}"], rtol=2e-6,
                               atol=1e-6)


@pytest.mark.parametrize(("name", "case"), CASES)
def test_tape_gradient_through_a_masked_loss(name, case):
    pred = predict(name)
    loss, sparse = losses_for(name == "logits")[case]
    y = targets(sparse)
    with tf.GradientTape() as tape:
        tape.watch(pred)
        value = loss(y, pred)
    np.testing.assert_allclose(np.asarray(tape.gradient(value, pred)),
                               Z[f"{name}/{case}/none/grad"], rtol=1e-5, atol=1e-7)


def test_fit_and_evaluate_apply_the_mask_once():
    """The training loop folds the mask in itself; the loss call must not do it again."""
    model = keras.Sequential([keras.Input((5,), dtype="int32"),
                              layers.Embedding(7, 3, mask_zero=True),
                              layers.LSTM(4, return_sequences=True),
                              layers.Dense(3, activation="softmax")])
    for i, v in enumerate(model.weights):
        v.assign(Z[f"softmax/w/{i}"])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy())
    got = model.evaluate(Z["x"], Z["labels"], sample_weight=Z["column"], verbose=0)
    np.testing.assert_allclose(got, Z["softmax/scce/column/value"], rtol=2e-6)
