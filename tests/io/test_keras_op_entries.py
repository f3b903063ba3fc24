"""keras.ops functions on KerasTensors in ``.keras`` files: written as Keras 3.15 writes them
(operation entries; the formats below are copied from files Keras wrote), read back into
`TFOpLambda` layers, and refused by name where a Keras file cannot hold them. Real Keras reads
convnp's files and the other way round in tests/io/test_keras_real_fixture.py (model
``keras_ops``)."""

from __future__ import annotations

import copy
import inspect
import json
import zipfile

import numpy as np
import pytest

import convnp as tf
from convnp.io import keras_format
from convnp.io.keras_op_entries import _by_class, _keras_ops_function
from convnp.io.keras_operations import OPERATIONS

pytest.importorskip("h5py")

keras = tf.keras
ops = keras.ops
rng = np.random.default_rng(3)


def _entries(model) -> dict:
    config = keras_format.keras_config(model)
    return {e["name"]: e for e in config["config"]["layers"]}


def _ref(entry, i=0):
    return entry["inbound_nodes"][0]["args"][i]["config"]["keras_history"]


def test_entries_are_written_as_keras_writes_them():
    keras.backend.clear_session()
    inputs = keras.Input((8, 8, 3))
    ops.mean(inputs, axis=[1, 2])
    model = keras.Model(inputs, [
        ops.mean(inputs, axis=[1, 2]), inputs[:, 1:3, ..., 0], ops.reshape(inputs, (-1, 192)),
        ops.cast(inputs, "float16"), ops.clip(inputs, 0.0, 1.0),
        ops.matmul(inputs, np.ones((3, 2), "float32")), ops.softmax(inputs, axis=1),
        ops.image.resize(inputs, (4, 4)), ops.where(ops.greater(inputs, 0.0), inputs, 0.0)])
    entries = _entries(model)
    mean = entries["mean_1"]
    assert (mean["module"], mean["class_name"], mean["registered_name"]) == \
        ("keras.src.ops.numpy", "Mean", "Mean")
    assert mean["config"] == {"name": "mean_1", "axis": [1, 2], "keepdims": False}
    assert _ref(mean) == ["input_layer", 0, 0]
    item = entries["get_item"]
    assert item["config"] == {"name": "get_item"}
    assert item["inbound_nodes"][0]["args"][1] == [
        {"class_name": "__slice__", "config": {"start": None, "stop": None, "step": None}},
        {"class_name": "__slice__", "config": {"start": 1, "stop": 3, "step": None}},
        {"class_name": "__ellipsis__", "config": {}}, 0]
    assert entries["reshape"]["config"] == {"name": "reshape", "newshape": [-1, 192]}
    cast = entries["cast"]
    assert (cast["module"], cast["config"]) == ("keras.src.ops.core",
                                                {"name": "cast", "dtype": "float16"})
    assert entries["clip"]["config"] == {"name": "clip", "x_min": 0.0, "x_max": 1.0}
    constant = entries["matmul"]["inbound_nodes"][0]["args"][1]
    assert constant == {"class_name": "__tensor__",
                        "config": {"value": [[1.0, 1.0]] * 3, "dtype": "float32"}}
    assert entries["softmax"]["module"] == "keras.src.ops.nn"
    resize = entries["resize"]
    assert (resize["module"], resize["class_name"]) == ("keras.src.ops.image", "Resize")
    assert resize["config"]["size"] == [4, 4] and resize["config"]["interpolation"] == "bilinear"
    where = entries["where"]
    assert [a if not isinstance(a, dict) else a["config"]["keras_history"][0]
            for a in where["inbound_nodes"][0]["args"]] == ["greater", "input_layer", 0.0]


# what to apply to an (6, 6, 3) input, saved and loaded back
ROUND_TRIP = [
    lambda t: ops.max(ops.relu(t), axis=-1) ** 2,
    lambda t: t[:, ::-1, 1:4, None, 0],
    lambda t: ops.concatenate([t, abs(t) / (t * t + 1.0)], axis=-1),
    lambda t: ops.transpose(ops.expand_dims(t, 1), (0, 4, 2, 3, 1))[..., 0],
    lambda t: ops.squeeze(ops.sum(t, axis=-1, keepdims=True), axis=-1),
    lambda t: ops.image.resize(t, (3, 9), interpolation="nearest"),
    lambda t: ops.exp(ops.clip(t, -1.0, 1.0)) * np.arange(3, dtype="float32"),
    lambda t: ops.argmax(t, axis=-1) * 1.0,
    lambda t: ops.einsum("bhwc,c->bhw", t, np.ones(3, "float32")),
]


@pytest.mark.parametrize("case", range(len(ROUND_TRIP)))
def test_models_with_keras_ops_save_and_load_as_keras_files(case, tmp_path):
    inputs = keras.Input((6, 6, 3))
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(
        ROUND_TRIP[case](keras.layers.Conv2D(3, 1)(inputs)))))
    x = rng.standard_normal((2, 6, 6, 3)).astype("float32")
    model.save(tmp_path / "ops.keras")
    loaded = keras.models.load_model(tmp_path / "ops.keras")
    def kinds(m):  # a per-channel constant comes back as keras.ops.multiply's op layer
        return [type(layer).__name__.replace("TensorFlowOpLayer", "TFOpLambda")
                for layer in m.layers]

    assert kinds(loaded) == kinds(model)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_per_channel_constants_are_written_as_constant_tensors(tmp_path):
    inputs = keras.Input((4, 4, 3))
    scaled = (inputs - [1.0, 2.0, 3.0]) / [2.0, 4.0, 8.0]
    model = keras.Model(inputs, scaled)
    entries = _entries(model)
    sub = next(e for e in entries.values() if e["class_name"] == "Subtract")
    assert sub["inbound_nodes"][0]["args"][1] == {
        "class_name": "__tensor__", "config": {"value": [1.0, 2.0, 3.0], "dtype": "float32"}}
    model.save(tmp_path / "scaled.keras")
    x = rng.standard_normal((2, 4, 4, 3)).astype("float32")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "scaled.keras").predict(
        x, verbose=0), (x - [1, 2, 3]) / [2, 4, 8], rtol=1e-6)


def test_ops_keras_has_no_entry_for_are_refused_before_writing(tmp_path):
    keras.backend.clear_session()  # the layer's name is matched: no reduce_mean_N of earlier tests
    inputs = keras.Input((4,))
    model = keras.Model(inputs, tf.reduce_mean(inputs, axis=-1, keepdims=True))
    target = tmp_path / "no.keras"
    with pytest.raises(ValueError, match="'reduce_mean'.*reduce_mean.*keras.ops spelling"):
        model.save(target)
    assert not target.exists()
    model.save(tmp_path / "yes.convnp")  # convnp's own format keeps it
    mapped = keras.Model(inputs, keras.ops.map(lambda row: row * 2.0, inputs))
    with pytest.raises(ValueError, match="cannot be written to a Keras file"):
        mapped.save(target)
    assert not target.exists()
    model.save_weights(tmp_path / "w.weights.h5")  # no config: nothing to refuse


def _one_op_config(entry_change):
    inputs = keras.Input((5,))
    model = keras.Model(inputs, ops.max(inputs, axis=-1, keepdims=True))
    config = copy.deepcopy(keras_format.keras_config(model))
    entry = next(e for e in config["config"]["layers"] if e["class_name"] == "Max")
    entry_change(entry)
    return config


@pytest.mark.parametrize("change, message", [
    (lambda e: e["config"].__setitem__("axes", 1), r"config entries \['axes'\].*Max"),
    (lambda e: e["config"].__setitem__("initial", 3.0), "max.*initial"),
    (lambda e: e["config"].__setitem__("axis", float("nan")), "not finite"),
    (lambda e: e["inbound_nodes"].append(e["inbound_nodes"][0]), "exactly one call"),
    (lambda e: e["inbound_nodes"][0].__setitem__("args", [1.0]), "reads no tensor"),
    (lambda e: e["inbound_nodes"][0]["args"].append({"class_name": "__tensor__", "config": {
        "value": [1.0, float("nan")], "dtype": "float32"}}), "NaN or infinity"),
    (lambda e: e["inbound_nodes"][0]["args"].append({"class_name": "__tensor__", "config": {
        "value": ["a"], "dtype": "object"}}), "must hold numbers"),
    (lambda e: e["inbound_nodes"][0]["args"].append({"class_name": "__code__", "config": {}}),
     "unreadable argument"),
    (lambda e: e["inbound_nodes"][0]["args"].append(7), "does not take these arguments"),
])
def test_bad_operation_entries_are_refused_by_name(change, message):
    with pytest.raises(ValueError, match=message):
        keras_format.model_from_keras_config(_one_op_config(change))


def test_the_table_agrees_with_convnps_functions():
    """Every Keras operation convnp reads names constructor arguments its keras.ops function
    takes (a signature changed on either side fails here)."""
    read = _by_class()
    assert len(read) > 150
    for (sub, class_name), name in read.items():
        function = _keras_ops_function(name, sub)
        params = inspect.signature(function).parameters
        if any(p.kind is p.VAR_KEYWORD for p in params.values()):
            continue  # takes (and checks) any keyword itself
        missing = [a for a in OPERATIONS[name][2] if a not in params]
        assert not missing, (name, class_name, missing)


def test_a_keras_file_names_functions_convnp_looks_up_never_imports(tmp_path):
    inputs = keras.Input((5,))
    model = keras.Model(inputs, ops.relu(inputs))
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        config = json.loads(archive.read("config.json"))
    entry = next(e for e in config["config"]["layers"] if e["class_name"] == "Relu")
    entry["module"] = "os"
    entry["class_name"] = "system"
    with pytest.raises(ValueError, match="system"):
        keras_format.model_from_keras_config(config)


@pytest.mark.parametrize("change, message", [
    # resize to 10**5 x 10**5: the trial run would allocate hundreds of gigabytes
    (lambda layers: next(e for e in layers if e["class_name"] == "Resize")["config"].update(
        size=[100000, 100000]), "\\(resize\\) on inputs .* would work on \\d+ bytes"),
    # an input declared enormous
    (lambda layers: layers[0]["config"].update(batch_shape=[None, 100000, 100000, 3]),
     "would work on \\d+ bytes .* more than the file may expand to"),
])
def test_a_file_cannot_make_an_op_layer_allocate_what_it_does_not_hold(tmp_path, change,
                                                                        message):
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(2, 1)(ops.image.resize(inputs, (4, 4))))
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(parts["config.json"])
    change(config["config"]["layers"])
    parts["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "bad.keras", "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    with pytest.raises(ValueError, match=message):
        keras.models.load_model(tmp_path / "bad.keras")
