"""Keras 3 files whose functional config holds tensor operations that are not layers
(``x + 3.0``, ``a * b``, ``x / 255.0``: entries of module ``keras.src.ops.numpy``), written by
Keras 3.15.1 (``tests/fixtures/make_keras_ops_file.py``)."""

from __future__ import annotations

import copy
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

import convnp as tf
from convnp.io import keras_format

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

pytest.importorskip("h5py")


@pytest.fixture(scope="module")
def expected():
    return np.load(FIXTURES / "keras_ops_expected.npz", allow_pickle=False)


def _config():
    with zipfile.ZipFile(FIXTURES / "keras_ops.keras") as archive:
        return json.loads(archive.read("config.json"))


def test_operations_between_tensors_and_numbers_load(expected):
    model = tf.keras.models.load_model(FIXTURES / "keras_ops.keras")
    kinds = {layer.name: (type(layer).__name__, getattr(layer, "op", None),
                          getattr(layer, "value", None)) for layer in model.layers}
    assert kinds["true_divide"] == ("TensorFlowOpLayer", "truediv", 255.0)
    assert kinds["add"] == ("TensorFlowOpLayer", "add", 3.0)
    assert kinds["multiply_1"] == ("TensorFlowOpLayer", "mul", 2.0)  # 2.0 * y
    assert kinds["subtract_1"] == ("TensorFlowOpLayer", "sub", 0.5)
    assert kinds["subtract"][0] == "Subtract" and kinds["multiply_2"][0] == "Multiply"
    assert kinds["add_1"][0] == "Add"
    y = expected["ops/y"]
    np.testing.assert_allclose(model.predict(expected["ops/x"], verbose=0), y,
                               rtol=1e-5, atol=1e-6 * np.abs(y).max())


def test_a_keras_mobilenet_v3_file_loads(expected):
    # its squeeze-and-excitation gates are ReLU(6)(x + 3.0) * (1 / 6)
    model = tf.keras.models.load_model(FIXTURES / "mobilenet_v3_ops.keras")
    assert sum(type(layer).__name__ == "TensorFlowOpLayer" for layer in model.layers) == 18
    np.testing.assert_allclose(model.predict(expected["mnv3/x"], verbose=0),
                               expected["mnv3/y"], atol=1e-5)


def _with(entry_name, change):
    config = copy.deepcopy(_config())
    entry = next(e for e in config["config"]["layers"] if e["name"] == entry_name)
    change(entry)
    return config


@pytest.mark.parametrize("entry_name, change, message", [
    ("subtract_1", lambda e: e["inbound_nodes"][0]["args"].reverse(),
     r"'subtract_1' \(keras.src.ops.numpy.Subtract\) on \[0.5, "),
    ("true_divide", lambda e: e["inbound_nodes"][0]["args"].__setitem__(1, 0.0),
     "'true_divide'"),
    ("add", lambda e: e.__setitem__("class_name", "Power"), r"numpy.Power\) is not supported"),
    ("add", lambda e: e.__setitem__("module", "keras.src.ops.nn"), r"ops.nn.Add\) is not"),
    ("add", lambda e: e["inbound_nodes"][0].__setitem__("kwargs", {"x": 1}), "'add'"),
    ("add", lambda e: e["inbound_nodes"][0]["args"].__setitem__(1, "3"), "'add'"),
])
def test_other_operations_are_refused_by_name(entry_name, change, message):
    with pytest.raises(ValueError, match=message) as info:
        keras_format.model_from_keras_config(_with(entry_name, change))
    assert "convnp reads the tensor operations +, -, * and /" in str(info.value)
