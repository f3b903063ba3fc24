"""Building, compiling and inspecting models as TensorFlow 2.21 (Keras 3.15) does: what a
user's program reads back (history keys, model attributes, exception types). Each expected
value below is what TF 2.21 gave for the same program."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
L = keras.layers
X = np.linspace(0.0, 1.0, 12, dtype=np.float32).reshape(4, 3)
Y = np.array([[1.0], [0.0], [1.0], [0.0]], np.float32)


def _dense_model(units=1, activation="sigmoid"):
    return keras.Sequential([keras.Input((3,)), L.Dense(units, activation=activation)])


# -- metrics given by a string log under that string ---------------------------------------

@pytest.mark.parametrize("identifier", ["AUC", "Precision", "Recall", "BinaryAccuracy", "MSE",
                                        "MAE", "MeanSquaredError", "TruePositives",
                                        "binary_accuracy", "mae", "acc"])
def test_string_metric_logs_under_the_string(identifier):
    # TF 2.21: metrics=["AUC"] logs "AUC" and "val_AUC" (not "auc"); the same for every string
    model = _dense_model()
    model.compile("sgd", "binary_crossentropy", metrics=[identifier])
    history = model.fit(X, Y, verbose=0, validation_data=(X, Y))
    assert sorted(history.history) == sorted(["loss", identifier, "val_loss", f"val_{identifier}"])
    assert sorted(model.evaluate(X, Y, verbose=0, return_dict=True)) == sorted(["loss", identifier])


def test_string_metric_per_output_is_prefixed_with_the_output_name():
    # TF 2.21: metrics={"out1": "AUC"} logs "out1_AUC"
    inputs = keras.Input((3,))
    out1 = L.Dense(1, activation="sigmoid", name="out1")(inputs)
    out2 = L.Dense(1, name="out2")(inputs)
    model = keras.Model(inputs, [out1, out2])
    model.compile("sgd", ["binary_crossentropy", "mse"], metrics={"out1": "AUC", "out2": "MSE"})
    logs = model.evaluate(X, [Y, Y], verbose=0, return_dict=True)
    assert sorted(logs) == ["loss", "out1_AUC", "out1_loss", "out2_MSE", "out2_loss"]


def test_metric_objects_keep_their_own_names():
    # TF 2.21: an object logs under its name ("auc" by default, or the name given)
    model = _dense_model()
    model.compile("sgd", "binary_crossentropy",
                  metrics=[keras.metrics.AUC(), keras.metrics.Precision(name="prec")])
    assert sorted(model.evaluate(X, Y, verbose=0, return_dict=True)) == ["auc", "loss", "prec"]
    assert keras.metrics.get("AUC").name.startswith("auc")  # standalone: the class's name
