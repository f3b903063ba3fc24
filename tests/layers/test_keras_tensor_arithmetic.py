"""Python arithmetic on KerasTensors inside a model definition (``x / 255.0``, ``1.0 - x``,
``a * b``), as Keras 3 allows: a number on either side is a `TensorFlowOpLayer`, two tensors
are the merge layer. Values, gradients, names, bad operands, saving and the example split."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp.models import batch_split
from tests.helpers import check_training_gradients

L = tf.keras.layers
pytest.importorskip("h5py")  # only the saving tests need it; keep the module whole


@pytest.fixture(autouse=True)
def _fresh_names():
    tf.keras.backend.clear_session()


# expression on a KerasTensor, the same on an array, (layer class, op, value) of the last call
NUMBER_CASES = {
    "x + 2": (lambda x: x + 2, ("TensorFlowOpLayer", "add", 2.0)),
    "2 + x": (lambda x: 2 + x, ("TensorFlowOpLayer", "add", 2.0)),
    "x - 0.5": (lambda x: x - 0.5, ("TensorFlowOpLayer", "sub", 0.5)),
    "1 - x": (lambda x: 1.0 - x, ("TensorFlowOpLayer", "rsub", 1.0)),
    "x * 3": (lambda x: x * 3, ("TensorFlowOpLayer", "mul", 3.0)),
    "float32(3) * x": (lambda x: np.float32(3) * x, ("TensorFlowOpLayer", "mul", 3.0)),
    "x / 255": (lambda x: x / 255.0, ("TensorFlowOpLayer", "truediv", 255.0)),
    "6 / x": (lambda x: 6.0 / x, ("TensorFlowOpLayer", "rtruediv", 6.0)),
    "-x": (lambda x: -x, ("TensorFlowOpLayer", "mul", -1.0)),
    "x - per channel": (lambda x: x - [1.0, 2.0, 3.0],
                        ("TensorFlowOpLayer", "sub", [1.0, 2.0, 3.0])),
    "array per channel * x": (lambda x: np.array([0.5, 1.0, 2.0]) * x,
                              ("TensorFlowOpLayer", "mul", [0.5, 1.0, 2.0])),
}


@pytest.mark.parametrize("case", sorted(NUMBER_CASES))
def test_a_number_on_either_side_is_one_op_layer(case):
    expression, (cls, op, value) = NUMBER_CASES[case]
    inputs = tf.keras.Input((2, 3))
    out = expression(inputs)
    assert out.shape == (None, 2, 3)
    layer = out.layer
    assert (type(layer).__name__, layer.op, layer.value) == (cls, op, value)
    model = tf.keras.Model(inputs, out)
    x = np.random.default_rng(0).uniform(0.5, 2.0, (4, 2, 3)).astype(np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), expression(x), rtol=1e-6)


@pytest.mark.parametrize("symbol, merge, expected", [
    ("+", "Add", np.add), ("-", "Subtract", np.subtract), ("*", "Multiply", np.multiply)])
def test_two_tensors_make_the_merge_layer(symbol, merge, expected):
    a, b = tf.keras.Input((3,), name="a"), tf.keras.Input((1,), name="b")  # (None, 1) broadcasts
    out = {"+": a + b, "-": a - b, "*": a * b}[symbol]
    assert type(out.layer).__name__ == merge
    assert [t.name for t in out.inputs] == ["a", "b"]
    model = tf.keras.Model([a, b], out)
    xa, xb = np.arange(6, dtype=np.float32).reshape(2, 3), np.array([[2.0], [5.0]], np.float32)
    np.testing.assert_allclose(model.predict([xa, xb], verbose=0), expected(xa, xb))


def test_names_follow_keras_3():
    x = tf.keras.Input((3,))
    y = (1.0 - x / 255.0) * x
    z = -(y + 1.0) - y
    names = [layer.name for layer in tf.keras.Model(x, z).layers[1:]]
    assert names == ["true_divide", "subtract", "multiply", "add", "negative", "subtract_1"]


@pytest.mark.parametrize("operand, error, message", [
    ("3", TypeError, "can't multiply sequence"),
    (None, TypeError, "unsupported operand"),
    (True, TypeError, "unsupported operand"),
    (np.ones((2, 3)), ValueError, r"multiply on inputs of shape \(None, 3\).*broadcast"),
    (["a", "b", "c"], TypeError, "takes numbers, got list"),
    (float("nan"), ValueError, "finite number"),
    ([1.0, 2.0], ValueError, "2 values for 3 channels"),
])
def test_a_bad_operand_is_refused(operand, error, message):
    x = tf.keras.Input((3,))
    with pytest.raises(error, match=message):
        x * operand


def test_two_tensors_divide_and_a_constant_tensor_applies_as_ops():
    a, b = tf.keras.Input((3,), name="a"), tf.keras.Input((3,), name="b")
    quotient = a / b  # Keras has no merge layer for it: the true_divide op
    scaled = 2.0 * (a * np.full((1, 3), 0.5, "float32"))  # a constant of 2 dimensions
    assert [t.layer.function.op_name for t in (quotient, scaled.inputs[0])] == \
        ["true_divide", "multiply"]
    model = tf.keras.Model([a, b], [quotient, scaled])
    x, y = np.ones((2, 3), "float32") * 3, np.full((2, 3), 2.0, "float32")
    got = model.predict([x, y], verbose=0)
    np.testing.assert_allclose(got[0], x / y)
    np.testing.assert_allclose(got[1], x)
    with pytest.raises(ValueError, match="Add needs inputs of one shape"):
        a + tf.keras.Input((4,))


def test_training_gradients_through_every_operation():
    tf.keras.utils.set_random_seed(1)
    inputs = tf.keras.Input((4,), dtype="float64")
    h = L.Dense(3, activation="tanh", dtype="float64")(inputs / 2.0 - 0.5)
    g = L.Dense(3, dtype="float64")(inputs)
    h = 1.0 - h * g + 2.0 * h - (-g)
    out = L.Dense(1, dtype="float64")(4.0 / (h * h + 1.0) - [0.5, 1.0, 1.5] * h)
    model = tf.keras.Model(inputs, out)
    assert {layer.dtype for layer in model.layers[1:]} == {np.dtype("float64")}
    model.compile("sgd", "mse")
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(5, 4)), rng.normal(size=(5, 1))
    assert check_training_gradients(model, x, y, atol=1e-7) == 6


def _arithmetic_model():
    tf.keras.utils.set_random_seed(3)
    inputs = tf.keras.Input((6, 6, 3), name="image")
    x = (inputs / 127.5 - 1.0) * [1.0, 0.5, 2.0]
    x = L.Conv2D(4, 3, activation="relu", name="conv")(x)
    pooled = L.GlobalAveragePooling2D(name="gap")(x)
    out = L.Dense(2, name="head")(1.0 - pooled + 0.5 * pooled * pooled)
    return tf.keras.Model(inputs, out)


def _images(m=5):
    return np.random.default_rng(4).uniform(0, 255, (m, 6, 6, 3)).astype(np.float32)


def test_saved_and_loaded_in_convnp_files(tmp_path):
    model = _arithmetic_model()
    want = model.predict(_images(), verbose=0)
    model.save(tmp_path / "ops.convnp")
    loaded = tf.keras.models.load_model(tmp_path / "ops.convnp")
    np.testing.assert_allclose(loaded.predict(_images(), verbose=0), want, rtol=1e-6)


def test_per_channel_constants_go_into_a_keras_file_as_constant_tensors(tmp_path):
    model = _arithmetic_model()
    model.save(tmp_path / "ops.keras")
    loaded = tf.keras.models.load_model(tmp_path / "ops.keras")
    scale = loaded.get_layer("multiply")  # Keras's Multiply with a constant: keras.ops'
    assert (type(scale).__name__, scale.function.op_name) == ("TFOpLambda", "multiply")
    np.testing.assert_allclose(loaded.predict(_images(), verbose=0),
                               model.predict(_images(), verbose=0), rtol=1e-6)


def test_numbers_are_written_as_keras_tensor_operations(tmp_path):
    import json
    import zipfile

    inputs = tf.keras.Input((4,), name="features")
    h = L.Dense(3, name="hidden")(inputs / 255.0)
    out = L.Dense(2, name="out")(1.0 - h + h * h)
    model = tf.keras.Model(inputs, out)
    x = np.random.default_rng(5).uniform(0, 255, (3, 4)).astype(np.float32)
    model.save(tmp_path / "ops.keras")
    with zipfile.ZipFile(tmp_path / "ops.keras") as archive:
        entries = json.loads(archive.read("config.json"))["config"]["layers"]
    ops = {e["name"]: e for e in entries if e["module"] == "keras.src.ops.numpy"}
    assert sorted(ops) == ["subtract", "true_divide"]
    assert ops["subtract"]["class_name"] == "Subtract"
    assert ops["subtract"]["inbound_nodes"][0]["args"][0] == 1.0  # 1.0 - h: the number first
    assert ops["true_divide"]["inbound_nodes"][0]["args"][1] == 255.0
    # two tensors: the merge layers
    assert {e["name"]: e["class_name"] for e in entries if e["module"] == "keras.layers"} == {
        "features": "InputLayer", "hidden": "Dense", "multiply": "Multiply", "add": "Add",
        "out": "Dense"}
    loaded = tf.keras.models.load_model(tmp_path / "ops.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_a_sequential_op_layer_stays_out_of_keras_files(tmp_path):
    model = tf.keras.Sequential([tf.keras.Input((3,)), L.TensorFlowOpLayer("mul", 2.0),
                                 L.Dense(1)])
    with pytest.raises(ValueError, match="TensorFlowOpLayer as a Keras file"):
        model.save(tmp_path / "seq.keras")


def test_predict_splits_by_examples_through_op_layers():
    model = _arithmetic_model()
    assert batch_split.per_example(model._graph.inference_schedule())


def test_mobilenet_v2_preprocess_input_saves_as_keras_operations(tmp_path):
    # the course's transfer-learning model preprocesses inside the model this way
    import json
    import zipfile

    inputs = tf.keras.Input((8, 8, 3))
    x = tf.keras.applications.mobilenet_v2.preprocess_input(inputs)
    model = tf.keras.Model(inputs, L.Conv2D(2, 3, name="conv")(x))
    model.save(tmp_path / "alpaca.keras")
    with zipfile.ZipFile(tmp_path / "alpaca.keras") as archive:
        entries = json.loads(archive.read("config.json"))["config"]["layers"]
    assert [(e["class_name"], e["inbound_nodes"][0]["args"][1]) for e in entries
            if e["module"] == "keras.src.ops.numpy"] == [("TrueDivide", 127.5),
                                                         ("Subtract", 1.0)]
    images = np.random.default_rng(6).uniform(0, 255, (2, 8, 8, 3)).astype(np.float32)
    loaded = tf.keras.models.load_model(tmp_path / "alpaca.keras")
    np.testing.assert_array_equal(loaded.predict(images, verbose=0),
                                  model.predict(images, verbose=0))
