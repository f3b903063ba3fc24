"""Keras 3 ``.keras`` and ``.weights.h5`` files: fixtures made by TensorFlow load and predict
like Keras; files convnp writes follow Keras's layout and round-trip; bad files are refused.

Tolerance against Keras's predictions: 1e-5 absolute (the largest difference seen is ~1.2e-7).
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

import convnp.layers as L
from convnp.interop import keras_format as kf
from convnp.layers.base import Layer
from convnp.models import Input, Model, Sequential
from tests.interop.models import branchy_model, randomize

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NAMES = ["happy_small", "signs", "zoo"]
ATOL = 1e-5


def fixture(name: str) -> Path:
    path = FIXTURES / name
    if not path.is_file():
        pytest.skip(f"fixture {path} is absent")
    return path


def expected(name: str) -> dict[str, np.ndarray]:
    with np.load(fixture(f"{name}_expected.npz"), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def archive_parts(path) -> tuple[dict, dict, bytes]:
    with zipfile.ZipFile(path) as z:
        return (json.loads(z.read("config.json")), json.loads(z.read("metadata.json")),
                z.read("model.weights.h5"))


def write_archive(path, config, weights: bytes, metadata=None) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", json.dumps(metadata or {"keras_version": "3.15.1"}))
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", weights)


def h5_datasets(data: bytes) -> dict[str, tuple]:
    found = {}
    with h5py.File(io.BytesIO(data), "r") as f:
        f.visititems(lambda name, obj: found.__setitem__(name, obj.shape)
                     if isinstance(obj, h5py.Dataset) else None)
    return found


# -- Keras-made fixtures ---------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_fixture_predicts_like_keras(name):
    model = kf.load_keras(fixture(f"{name}.keras"))
    want = expected(name)
    got = model.predict(want["x"], verbose=0)
    assert got.shape == want["pred"].shape
    np.testing.assert_allclose(got, want["pred"], atol=ATOL, rtol=0)
    # The weights are Keras's, bit for bit, in Keras's get_weights order.
    weights = model.get_weights()
    assert len(weights) == int(want["n_weights"])
    for i, w in enumerate(weights):
        np.testing.assert_array_equal(w, want[f"weights/{i}"])


@pytest.mark.parametrize("name", NAMES)
def test_layer_order_matches_keras(name):
    """Our recomputed Keras layer order equals the order Keras wrote, and every weight group's
    `name` attribute names the layer we load it into."""
    path = fixture(f"{name}.keras")
    config, _, weights = archive_parts(path)
    model = kf.load_keras(path)
    written = [e.get("name") or e["config"]["name"] for e in config["config"]["layers"]]
    if config["class_name"] == "Sequential":
        written = written[1:]  # Keras's Sequential.layers leaves out the InputLayer
    pairs = kf.weight_keys(model)
    assert [layer.name for _, layer in pairs] == written
    with h5py.File(io.BytesIO(weights), "r") as f:
        for key, layer in pairs:
            assert f[f"layers/{key}/vars"].attrs["name"] == layer.name


def test_model_types_and_compile():
    happy = kf.load_keras(fixture("happy_small.keras"))
    signs = kf.load_keras(fixture("signs.keras"))
    assert isinstance(happy, Sequential) and type(signs).__name__ == "Functional"
    assert isinstance(signs, Model) and not isinstance(signs, Sequential)
    assert happy.name == "sequential" and signs.name == "functional"
    assert type(happy.optimizer).__name__ == "Adam"
    assert happy.optimizer.learning_rate == pytest.approx(0.001)
    assert getattr(kf.load_keras(fixture("signs.keras"), compile=False), "optimizer", None) is None


def test_keras_weights_file_into_convnp_model():
    model = Sequential([
        L.ZeroPadding2D(padding=3, input_shape=(16, 16, 3)),
        L.Conv2D(4, 7),
        L.BatchNormalization(axis=3),
        L.ReLU(),
        L.MaxPool2D(),
        L.Flatten(),
        L.Dense(1, activation="sigmoid"),
    ])
    kf.load_keras_weights(model, fixture("happy_small.weights.h5"))
    want = expected("happy_small")
    np.testing.assert_allclose(model.predict(want["x"], verbose=0), want["pred"], atol=ATOL)


def test_weights_file_wrong_architecture_changes_nothing():
    model = Sequential([L.ZeroPadding2D(padding=3, input_shape=(16, 16, 3)), L.Conv2D(4, 7),
                        L.BatchNormalization(axis=3), L.ReLU(), L.MaxPool2D(), L.Flatten(),
                        L.Dense(2)])
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match=r"'kernel' has shape \(256, 2\)"):
        kf.load_keras_weights(model, fixture("happy_small.weights.h5"))
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # the conv and BN were not half-loaded


# -- files convnp writes -----------------------------------------------------------------------


def test_keras_order_of_branchy_model():
    # Checked against Keras 3.15's model.layers for the same graph (see docs/interop.md).
    names = [layer.name for layer in kf.keras_layer_order(branchy_model())]
    assert names[:7] == [names[0], "b1", "bn", "made_first", "leaky",
                         names[5], "b2"]
    keys = {layer.name: key for key, layer in kf.weight_keys(branchy_model())}
    assert keys["b1"] == "conv2d" and keys["made_first"] == "conv2d_1" and keys["b2"] == "conv2d_2"


@pytest.mark.parametrize("name", NAMES)
def test_written_archive_matches_keras_layout(name, tmp_path):
    source = fixture(f"{name}.keras")
    model = kf.load_keras(source)
    out = tmp_path / "out.keras"
    kf.save_keras(model, out)
    with zipfile.ZipFile(out) as z:
        assert z.namelist() == ["metadata.json", "config.json", "model.weights.h5"]
    config, metadata, weights = archive_parts(out)
    ref_config, _, ref_weights = archive_parts(source)
    assert metadata["keras_version"].startswith("3.")
    assert {"keras_version", "date_saved"} <= set(metadata)
    assert config["class_name"] == ref_config["class_name"]
    assert config["module"] == ref_config["module"]
    assert set(config["config"]) == set(ref_config["config"])
    for mine, ref in zip(config["config"]["layers"], ref_config["config"]["layers"], strict=True):
        assert mine["class_name"] == ref["class_name"]
        # Keras 3.15 writes a few keys convnp leaves at their defaults (BatchNormalization's
        # renorm keys convnp now writes too).
        optional = {"renorm", "renorm_clipping", "renorm_momentum", "quantization_config",
                    "ragged", "optional"}
        assert set(mine["config"]) - optional == set(ref["config"]) - optional
        assert set(mine) == set(ref)
        if "inbound_nodes" in ref:
            assert mine["inbound_nodes"] == ref["inbound_nodes"] or _same_history(
                mine["inbound_nodes"], ref["inbound_nodes"])
    for key in ("input_layers", "output_layers"):
        if key in ref_config["config"]:
            assert config["config"][key] == ref_config["config"][key]
    # the optimizer state too: a compiled file reloads compiled, with Keras's slot layout
    assert h5_datasets(weights) == h5_datasets(ref_weights)


def _same_history(a, b) -> bool:
    """Inbound nodes equal up to call kwargs (Keras records BN's mask=None, Dropout's
    training=False; convnp writes none)."""
    return [n["args"] for n in a] == [n["args"] for n in b]


@pytest.mark.parametrize("name", NAMES)
def test_convnp_round_trip(name, tmp_path):
    model = kf.load_keras(fixture(f"{name}.keras"))
    out = tmp_path / "again.keras"
    assert kf.save_keras(model, out) == str(out)
    back = kf.load_keras(out)
    want = expected(name)
    np.testing.assert_array_equal(back.predict(want["x"], verbose=0),
                                  model.predict(want["x"], verbose=0))
    assert [type(lay).__name__ for lay in back.layers] == [type(lay).__name__ for lay in
                                                          model.layers]


def test_round_trip_of_convnp_built_model(tmp_path):
    model = branchy_model()
    x = np.random.default_rng(1).standard_normal((3, 10, 9, 3)).astype(np.float32)
    kf.save_keras(model, tmp_path / "b.keras")
    back = kf.load_keras(tmp_path / "b.keras")
    np.testing.assert_array_equal(back.predict(x, verbose=0), model.predict(x, verbose=0))
    kf.save_keras_weights(model, tmp_path / "b.weights.h5")
    randomize(back, seed=9)
    kf.load_keras_weights(back, tmp_path / "b.weights.h5")
    np.testing.assert_array_equal(back.predict(x, verbose=0), model.predict(x, verbose=0))
    with h5py.File(tmp_path / "b.weights.h5", "r") as f:
        assert f["vars"].attrs["name"] == "branchy"
        assert f["layers/conv2d/vars"].attrs["name"] == "b1"
        assert f["layers/conv2d/vars/0"].dtype == np.dtype("<f4")


def test_sequential_written_config(tmp_path):
    model = Sequential([L.Conv2D(2, 3, input_shape=(6, 6, 1), name="c"), L.Flatten(),
                        L.Dense(1, activation="sigmoid")])
    kf.save_keras(model, tmp_path / "s.keras")
    config, _, weights = archive_parts(tmp_path / "s.keras")
    assert config["class_name"] == "Sequential"
    assert config["build_config"] == {"input_shape": [None, 6, 6, 1]}
    layers = config["config"]["layers"]
    assert layers[0]["class_name"] == "InputLayer"
    assert layers[0]["config"]["batch_shape"] == [None, 6, 6, 1]
    assert layers[1]["build_config"] == {"input_shape": [None, 6, 6, 1]}
    assert layers[1]["config"]["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert set(h5_datasets(weights)) == {"layers/conv2d/vars/0", "layers/conv2d/vars/1",
                                         "layers/dense/vars/0", "layers/dense/vars/1"}


# -- refusals ------------------------------------------------------------------------------


class Doubler(Layer):
    def call(self, inputs, training=False):
        return inputs * 2


def test_custom_layer_needs_its_class_to_load(tmp_path):
    # a user's layer is written as Keras writes it (class name, module, registered name); the
    # file alone never brings code: loading needs the class in custom_objects (or registered)
    inputs = Input(shape=(4, 4, 1))
    model = Model(inputs, Doubler(name="twice")(inputs))
    kf.save_keras(model, tmp_path / "x.keras")
    entry = layer_entry(archive_parts(tmp_path / "x.keras")[0], "Doubler")
    assert entry["registered_name"] == "Doubler" and entry["module"] == __name__
    with pytest.raises(ValueError, match=r"'twice'.*Doubler.*custom_objects"):
        kf.load_keras(tmp_path / "x.keras")
    again = kf.load_keras(tmp_path / "x.keras", custom_objects={"Doubler": Doubler})
    x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(again.predict(x, verbose=0), 2 * x)


def test_save_refuses_callable_activation(tmp_path):
    model = Sequential([L.Dense(2, activation=lambda t: t, input_shape=(3,), name="fn_act")])
    with pytest.raises(ValueError, match="fn_act"):
        kf.save_keras(model, tmp_path / "x.keras")


def tampered(tmp_path, edit, name="signs") -> Path:
    """A copy of a fixture whose config.json went through ``edit(config)``."""
    config, metadata, weights = archive_parts(fixture(f"{name}.keras"))
    edit(config)
    path = tmp_path / "tampered.keras"
    write_archive(path, config, weights, metadata)
    return path


def layer_entry(config, class_name, index=0):
    return [e for e in config["config"]["layers"] if e["class_name"] == class_name][index]


def _lambda(config):
    entry = layer_entry(config, "ReLU")
    entry["class_name"] = "Lambda"
    entry["config"]["function"] = {"class_name": "__lambda__",
                                   "config": {"code": "ZGVm", "defaults": None}}


REFUSALS = {
    "lambda": (_lambda, "Lambda layers hold Python code"),
    "unknown class": (lambda c: layer_entry(c, "ReLU").update(class_name="TFSMLayer"),
                      "'TFSMLayer' is not supported"),
    "custom module": (lambda c: layer_entry(c, "ReLU").update(module="my_package.layers"),
                      "my_package"),
    "registered custom": (lambda c: layer_entry(c, "ReLU").update(registered_name="Custom>X"),
                          "Custom>X"),
    "channels_first": (lambda c: layer_entry(c, "MaxPooling2D")["config"].update(
        data_format="channels_first"), "channels_first"),
    # groups > 1 loads now; 3 input channels cannot be split into 2 groups
    "groups": (lambda c: layer_entry(c, "Conv2D")["config"].update(groups=2),
               r"input channels \(3\) must be divisible by groups \(2\)"),
    # Keras's own regularizers load (see test_regularizers_round_trip); a user's loads only
    # by its name from custom_objects or the registered classes (its module is not imported)
    "regularizer": (lambda c: layer_entry(c, "Dense")["config"].update(
        kernel_regularizer={"module": "my_package", "class_name": "MyPenalty",
                            "config": {}, "registered_name": "MyPenalty"}),
                    "user class 'MyPenalty' of kernel_regularizer .*custom_objects"),
    "unknown key": (lambda c: layer_entry(c, "Dense")["config"].update(surprise=1),
                    "unknown config key 'surprise'"),
    "custom activation": (lambda c: layer_entry(c, "Dense")["config"].update(
        activation={"module": "builtins", "class_name": "function", "config": "eval"}),
        "custom activation"),
    "mixed precision": (lambda c: layer_entry(c, "Dense")["config"].update(
        dtype={"class_name": "DTypePolicy", "config": {"name": "mixed_float16"}}),
        "mixed_float16"),
    # shared layers load (several inbound nodes; test_keras_compiled.py), but a reference to
    # a call the file does not have is refused
    "second call ref": (lambda c: layer_entry(c, "Dense")["inbound_nodes"][0]["args"][0][
        "config"].update(keras_history=["flatten", 1, 0]), r"\('flatten', 1\)"),
    "second output ref": (lambda c: layer_entry(c, "Dense")["inbound_nodes"][0]["args"][0][
        "config"].update(keras_history=["flatten", 0, 1]), "output 1 of layer 'flatten'"),
    "call kwargs": (lambda c: layer_entry(c, "Dense")["inbound_nodes"][0]["kwargs"].update(
        scale=2.0), r"extra arguments \(scale=\)"),
    "dangling input": (lambda c: layer_entry(c, "Dense")["inbound_nodes"][0]["args"][0][
        "config"].update(keras_history=["nowhere", 0, 0]), "nowhere"),
    "model class": (lambda c: c.update(class_name="MyModel"), "'MyModel' is not supported"),
    "custom model module": (lambda c: c.update(module="evil.models"), "evil.models"),
    "no layers": (lambda c: c["config"].update(layers=[]), "non-empty list"),
    "bad output": (lambda c: c["config"].update(output_layers=["ghost", 0, 0]), "ghost"),
    "bad filters": (lambda c: layer_entry(c, "Conv2D")["config"].update(filters=-3),
                    r"'conv2d' \(Conv2D\)"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_tampered_config_is_refused(case, tmp_path):
    edit, message = REFUSALS[case]
    with pytest.raises(ValueError, match=message):
        kf.load_keras(tampered(tmp_path, edit))


def test_lambda_code_is_never_run(tmp_path, monkeypatch):
    import builtins

    def forbidden(*args, **kwargs):
        raise AssertionError("code from the file was executed")

    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(builtins, "eval", forbidden)
    with pytest.raises(ValueError, match="Lambda"):
        kf.load_keras(tampered(tmp_path, _lambda))


def test_missing_weight_dataset_is_refused(tmp_path):
    config, metadata, weights = archive_parts(fixture("signs.keras"))
    buffer = io.BytesIO(weights)
    with h5py.File(buffer, "a") as f:
        del f["layers/dense/vars/1"]
    path = tmp_path / "w.keras"
    write_archive(path, config, buffer.getvalue(), metadata)
    with pytest.raises(ValueError, match=r"'dense'.*expects 2 arrays"):
        kf.load_keras(path)


def test_wrong_weight_shape_is_refused(tmp_path):
    config, metadata, weights = archive_parts(fixture("signs.keras"))
    layer_entry(config, "Dense")["config"]["units"] = 5
    path = tmp_path / "w.keras"
    write_archive(path, config, weights, metadata)
    with pytest.raises(ValueError, match=r"shape \(64, 5\).*\(64, 6\)"):
        kf.load_keras(path)


def test_not_a_keras_archive(tmp_path):
    plain = tmp_path / "model.keras"
    plain.write_bytes(b"\x89HDF\r\n\x1a\n not a zip")
    with pytest.raises(ValueError, match="not a zip"):
        kf.load_keras(plain)
    empty = tmp_path / "empty.keras"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("metadata.json", "{}")
    with pytest.raises(ValueError, match="config.json"):
        kf.load_keras(empty)
    bad_json = tmp_path / "bad.keras"
    with zipfile.ZipFile(bad_json, "w") as z:
        z.writestr("config.json", "{nope")
        z.writestr("model.weights.h5", b"")
    with pytest.raises(ValueError, match="not valid JSON"):
        kf.load_keras(bad_json)


def test_keras2_metadata_is_refused(tmp_path):
    config, _, weights = archive_parts(fixture("signs.keras"))
    path = tmp_path / "old.keras"
    write_archive(path, config, weights, {"keras_version": "2.15.0"})
    with pytest.raises(ValueError, match="Keras 2.15.0"):
        kf.load_keras(path)


def test_load_model_dispatch(tmp_path):
    model = kf.load_model(fixture("happy_small.keras"))
    assert isinstance(model, Sequential)
    with pytest.raises(ValueError, match="no architecture"):
        kf.load_model(tmp_path / "x.weights.h5")
    with pytest.raises(ValueError, match="unknown model file type"):
        kf.load_model(tmp_path / "x.h5")


def test_h5py_missing_gives_install_hint(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"pip install convnp\[h5\]"):
        kf.load_keras(fixture("signs.keras"))


def test_multi_input_output_round_trip(tmp_path):
    image = Input(shape=(6, 6, 2), name="img")
    vector = Input(shape=(4,), name="vec")
    h = L.Concatenate()([L.Flatten()(L.Conv2D(2, 3)(image)), vector])
    model = Model([image, vector], [L.Dense(3, activation="softmax")(h), L.Dense(1)(vector)])
    randomize(model)
    kf.save_keras(model, tmp_path / "m.keras")
    config, _, _ = archive_parts(tmp_path / "m.keras")
    assert config["config"]["input_layers"] == [["img", 0, 0], ["vec", 0, 0]]
    assert len(config["config"]["output_layers"]) == 2
    back = kf.load_keras(tmp_path / "m.keras")
    rng = np.random.default_rng(0)
    xs = [rng.random((2, 6, 6, 2), dtype=np.float32), rng.random((2, 4), dtype=np.float32)]
    for got, want in zip(back.predict(xs, verbose=0), model.predict(xs, verbose=0), strict=True):
        np.testing.assert_array_equal(got, want)


def test_keras2_style_inbound_nodes_load(tmp_path):
    """Configs written with tf.keras 2's node lists ([[name, 0, 0, {}], ...]) load too."""
    def to_keras2(config):
        for entry in config["config"]["layers"]:
            nodes = entry["inbound_nodes"]
            if nodes:
                arg = nodes[0]["args"][0]
                refs = arg if isinstance(arg, list) else [arg]
                entry["inbound_nodes"] = [[[*r["config"]["keras_history"], {}] for r in refs]]
    model = kf.load_keras(tampered(tmp_path, to_keras2, name="zoo"))
    want = expected("zoo")
    np.testing.assert_allclose(model.predict(want["x"], verbose=0), want["pred"], atol=ATOL)
