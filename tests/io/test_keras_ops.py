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
    ("add", lambda e: e.__setitem__("class_name", "NoSuchOp"),
     r"numpy.NoSuchOp\) is not supported: convnp reads the keras.ops functions it has"),
    ("add", lambda e: e.__setitem__("module", "keras.src.ops.nn"), r"ops.nn.Add\) is not"),
    ("add", lambda e: e["inbound_nodes"][0].__setitem__("kwargs", {"x": 1}),
     "'add'.*keras.ops.add does not take these arguments"),
    ("add", lambda e: e["inbound_nodes"][0]["args"].__setitem__(1, "3"), "'add'"),
])
def test_other_operations_are_refused_by_name(entry_name, change, message):
    with pytest.raises(ValueError, match=message):
        keras_format.model_from_keras_config(_with(entry_name, change))


def test_division_of_tensors_and_other_functions_read_as_op_layers():
    """Beyond arithmetic with numbers, the entries are keras.ops functions (TFOpLambda)."""
    def tensor_by_tensor(e):
        e["inbound_nodes"][0]["args"][1] = e["inbound_nodes"][0]["args"][0]

    model = keras_format.model_from_keras_config(_with("true_divide", tensor_by_tensor))
    layer = model.get_layer("true_divide")
    assert (type(layer).__name__, layer.function.op_name) == ("TFOpLambda", "true_divide")
    model = keras_format.model_from_keras_config(
        _with("add", lambda e: e.__setitem__("class_name", "Power")))
    layer = model.get_layer("add")
    assert (type(layer).__name__, layer.function.op_name) == ("TFOpLambda", "power")
    x = np.full((1, *layer.input.shape[1:]), 2.0, dtype=np.float32)
    np.testing.assert_allclose(layer(x).numpy(), 8.0)  # x ** 3.0


@pytest.mark.parametrize("entry_name, op, value, expected", [
    ("subtract_1", "rsub", 0.5, lambda x: 0.5 - x),        # 0.5 - tensor
    ("true_divide", "rtruediv", 255.0, lambda x: 255.0 / x),  # 255.0 / tensor
])
def test_a_number_before_the_tensor_is_read_in_that_order(entry_name, op, value, expected):
    model = keras_format.model_from_keras_config(
        _with(entry_name, lambda e: e["inbound_nodes"][0]["args"].reverse()))
    layer = model.get_layer(entry_name)
    assert (type(layer).__name__, layer.op, layer.value) == ("TensorFlowOpLayer", op, value)
    x = np.array([[1.0, -2.0, 4.0, 0.5, 8.0, -1.0]], dtype=np.float32)[:, :layer.input.shape[1]]
    np.testing.assert_allclose(layer(x).numpy(), expected(x), rtol=1e-6)



@pytest.mark.parametrize("name, x_key", [("keras_ops", "ops/x"), ("mobilenet_v3_ops", "mnv3/x")])
def test_a_keras_file_with_operations_saves_back_as_one(tmp_path, expected, name, x_key):
    model = tf.keras.models.load_model(FIXTURES / f"{name}.keras")
    model.save(tmp_path / "again.keras")
    with zipfile.ZipFile(tmp_path / "again.keras") as archive:
        entries = json.loads(archive.read("config.json"))["config"]["layers"]
    with zipfile.ZipFile(FIXTURES / f"{name}.keras") as archive:
        original = json.loads(archive.read("config.json"))["config"]["layers"]

    def with_a_number(entry):
        return entry["module"] == "keras.src.ops.numpy" and sum(
            isinstance(a, (int, float)) for a in entry["inbound_nodes"][0]["args"]) == 1

    # operations with a number come back as such entries (between tensors: merge layers)
    assert [e["name"] for e in entries if e["module"] == "keras.src.ops.numpy"] == \
        [e["name"] for e in original if with_a_number(e)]
    again = tf.keras.models.load_model(tmp_path / "again.keras")
    np.testing.assert_array_equal(again.predict(expected[x_key], verbose=0),
                                  model.predict(expected[x_key], verbose=0))
