"""Keras's legacy HDF5 model files (``model.save("m.h5")``, ``load_model("m.h5")``,
``ModelCheckpoint("best.h5")``): convnp's files round trip, Keras 3.15's files load
(``tests/fixtures/make_legacy_h5.py``), bad files are ValueErrors, writes are atomic."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

import convnp as tf
from convnp import random as convnp_random
from convnp.io import legacy_h5, saving

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
L = tf.keras.layers


def _data(n=16, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 8, 8, 3)).astype("float32")
    labels = rng.integers(0, classes, n)
    return x, labels


def _functional():
    inputs = tf.keras.Input((8, 8, 3))
    h = L.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    h = L.BatchNormalization()(h)
    h = L.MaxPooling2D()(h)
    h = L.Flatten()(h)
    h = L.Dropout(0.3)(h)
    outputs = L.Dense(3, activation="softmax")(h)
    model = tf.keras.Model(inputs, outputs)
    model.compile(tf.keras.optimizers.Adam(0.01), "categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def _sequential():
    model = tf.keras.Sequential([
        tf.keras.Input((8, 8, 3)), L.Conv2D(3, 3, activation="relu"), L.BatchNormalization(),
        L.AveragePooling2D(2), L.Flatten(), L.Dropout(0.2), L.Dense(3)])
    model.compile(tf.keras.optimizers.SGD(0.05, momentum=0.9),
                  tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[tf.keras.metrics.SparseCategoricalAccuracy(name="acc")])
    return model


def _fit(model, x, y, seed, epochs=1):
    convnp_random.set_seed(seed)  # Dropout's masks: the same draws for both models
    return model.fit(x, y, epochs=epochs, batch_size=8, verbose=0, shuffle=False).history


def _assert_same_state(a, b):
    for v, w in zip(a.weights, b.weights):
        np.testing.assert_array_equal(v.numpy(), w.numpy())
    sa, sb = a.optimizer.get_state(), b.optimizer.get_state()
    assert sorted(sa) == sorted(sb)
    for key in sa:
        np.testing.assert_array_equal(sa[key], sb[key], err_msg=key)


@pytest.mark.parametrize("kind", ["functional", "sequential"])
def test_round_trip_predicts_compiles_and_trains_on(kind, tmp_path):
    model = _functional() if kind == "functional" else _sequential()
    x, labels = _data()
    y = np.eye(3, dtype="float32")[labels] if kind == "functional" else labels
    _fit(model, x, y, seed=1)
    path = tmp_path / ("m.h5" if kind == "functional" else "m.hdf5")
    if kind == "functional":
        model.save(path)
    else:
        tf.keras.saving.save_model(model, path)
    loaded = tf.keras.models.load_model(path)

    assert type(loaded).__name__ == type(model).__name__
    assert [type(layer).__name__ for layer in loaded.layers] == \
        [type(layer).__name__ for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    # compile state: the optimizer (class, hyperparameters, step count, slots), loss, metrics
    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    _assert_same_state(model, loaded)
    assert tf.keras.losses.serialize(loaded.loss) == tf.keras.losses.serialize(model.loss) \
        if not isinstance(model.loss, str) else loaded.loss == model.loss
    # training continues exactly where it stopped
    before = _fit(model, x, y, seed=7, epochs=2)
    after = _fit(loaded, x, y, seed=7, epochs=2)
    assert before == after
    _assert_same_state(model, loaded)


def test_layout_is_keras_legacy_h5(tmp_path):
    model = _functional()
    x, labels = _data()
    _fit(model, x, np.eye(3, dtype="float32")[labels], seed=1)
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r") as f:
        assert {"keras_version", "backend", "model_config", "training_config"} <= set(f.attrs)
        config = json.loads(f.attrs["model_config"])
        training = json.loads(f.attrs["training_config"])
        group = f["model_weights"]
        layer_names = list(group.attrs["layer_names"])
        assert layer_names == [layer.name for layer in model.layers]
        conv = model.layers[1]
        names = list(group[conv.name].attrs["weight_names"])
        assert names == [f"{conv.name}/kernel", f"{conv.name}/bias"]
        np.testing.assert_array_equal(group[conv.name][names[0]][()], conv.kernel.numpy())
        flatten = next(layer.name for layer in model.layers if type(layer).__name__ == "Flatten")
        assert list(group[flatten].attrs["weight_names"]) == []
        opt_names = list(f["optimizer_weights"].attrs["weight_names"])
        # the optimizer's automatic name, as Keras 3 numbers it: "adam" in a fresh session
        opt = model.optimizer.name
        assert opt.startswith("adam")
        assert opt_names[:3] == [f"{opt}/iteration", f"{opt}/learning_rate",
                                 f"{opt}/{conv.name}_kernel_momentum"]
        assert f["optimizer_weights"][opt_names[0]][()] == 2
    # Keras's legacy entries: no module/registered_name/build_config beside a layer entry
    assert config["class_name"] == "Functional"
    for entry in config["config"]["layers"]:
        assert set(entry) == {"class_name", "config", "name", "inbound_nodes"}
    assert training["loss"] == "categorical_crossentropy"
    assert training["metrics"] == ["accuracy"]
    assert training["optimizer_config"]["class_name"] == "Adam"
    assert training["optimizer_config"]["config"]["learning_rate"] == pytest.approx(0.01)


@pytest.mark.parametrize("kind", ["functional", "sequential"])
def test_keras_written_file_loads_and_predicts_like_keras(kind):
    path = FIXTURES / f"keras_legacy_{kind}.h5"
    with np.load(FIXTURES / "keras_legacy_h5_expected.npz", allow_pickle=False) as z:
        expected = {k: z[k] for k in z.files}
    model = tf.keras.models.load_model(path)
    np.testing.assert_allclose(model.predict(expected["x"], verbose=0),
                               expected[f"{kind}/pred"], rtol=1e-5, atol=1e-6)
    assert int(model.optimizer.get_state()["iterations"]) == int(expected[f"{kind}/iterations"])
    if kind == "sequential":
        assert type(model.optimizer).__name__ == "SGD"
        assert model.optimizer.get_config()["momentum"] == pytest.approx(0.9)
        assert model.loss.get_config()["from_logits"] is True
        history = model.fit(expected["sequential/x_train"], expected["sequential/y_train"],
                            epochs=1, batch_size=8, verbose=0, shuffle=False).history
        np.testing.assert_allclose(history["loss"], expected["sequential/next_loss"],
                                   rtol=1e-4)
        assert "acc" in history
    else:
        assert type(model.optimizer).__name__ == "Adam"
        assert model.loss == "categorical_crossentropy"
    uncompiled = tf.keras.models.load_model(path, compile=False)
    assert not uncompiled._compiled
    np.testing.assert_allclose(uncompiled.predict(expected["x"], verbose=0),
                               expected[f"{kind}/pred"], rtol=1e-5, atol=1e-6)


def test_keras_written_config_matches_convnp_written_one(tmp_path):
    """convnp rewrites Keras's file with the same entries, calls and optimizer weights."""
    source = FIXTURES / "keras_legacy_functional.h5"
    tf.keras.models.load_model(source).save(tmp_path / "again.h5")
    with h5py.File(source, "r") as a, h5py.File(tmp_path / "again.h5", "r") as b:
        ca, cb = (json.loads(f.attrs["model_config"]) for f in (a, b))
        assert json.loads(a.attrs["training_config"]) == json.loads(b.attrs["training_config"])
        assert list(a["model_weights"].attrs["layer_names"]) == \
            list(b["model_weights"].attrs["layer_names"])
        assert list(a["optimizer_weights"].attrs["weight_names"]) == \
            list(b["optimizer_weights"].attrs["weight_names"])
    for ea, eb in zip(ca["config"]["layers"], cb["config"]["layers"], strict=True):
        assert (set(ea), ea["class_name"], ea["name"]) == (set(eb), eb["class_name"], eb["name"])
        history = [[t["config"]["keras_history"] for t in node["args"]]
                   for node in ea["inbound_nodes"]]
        assert history == [[t["config"]["keras_history"] for t in node["args"]]
                           for node in eb["inbound_nodes"]]


def test_uncompiled_and_include_optimizer_false(tmp_path):
    model = tf.keras.Sequential([tf.keras.Input((4,)), L.Dense(2)])
    model.save(tmp_path / "plain.h5")
    with h5py.File(tmp_path / "plain.h5", "r") as f:
        assert "training_config" not in f.attrs and "optimizer_weights" not in f
    assert not tf.keras.models.load_model(tmp_path / "plain.h5")._compiled
    model.compile("adam", "mse")
    model.fit(np.ones((4, 4), "float32"), np.ones((4, 2), "float32"), verbose=0)
    model.save(tmp_path / "no_opt.h5", include_optimizer=False)
    with h5py.File(tmp_path / "no_opt.h5", "r") as f:
        assert "training_config" not in f.attrs and "optimizer_weights" not in f
    # compiled but never trained: the compile state, no optimizer weights
    fresh = tf.keras.Sequential([tf.keras.Input((4,)), L.Dense(2)])
    fresh.compile(tf.keras.optimizers.RMSprop(0.003), "mae", metrics=["mse"])
    fresh.save(tmp_path / "fresh.h5")
    again = tf.keras.models.load_model(tmp_path / "fresh.h5")
    assert type(again.optimizer).__name__ == "RMSprop" and again.loss == "mae"
    assert int(again.optimizer.get_state()["iterations"]) == 0


def test_nested_frozen_base_and_schedule_round_trip(tmp_path):
    base = tf.keras.Sequential([tf.keras.Input((8, 8, 3)), L.Conv2D(2, 3),
                                L.BatchNormalization()], name="base")
    base.trainable = False
    inputs = tf.keras.Input((8, 8, 3))
    h = base(inputs, training=False)
    h = L.GlobalAveragePooling2D()(h)
    model = tf.keras.Model(inputs, L.Dense(3)(h))
    schedule = tf.keras.optimizers.schedules.ExponentialDecay(0.05, 4, 0.5)
    model.compile(tf.keras.optimizers.SGD(schedule, momentum=0.5),
                  tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, labels = _data()
    _fit(model, x, labels, seed=2)
    model.save(tmp_path / "nested.h5")
    loaded = tf.keras.models.load_model(tmp_path / "nested.h5")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert not loaded.layers[1].trainable
    _assert_same_state(model, loaded)
    assert _fit(model, x, labels, seed=3) == _fit(loaded, x, labels, seed=3)


def test_registered_user_layer_round_trip(tmp_path):
    @tf.keras.saving.register_keras_serializable(package="legacy_h5_test")
    class Scale(L.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    model = tf.keras.Sequential([tf.keras.Input((3,)), L.Dense(2), Scale(3.0)])
    model.save(tmp_path / "user.h5")
    with h5py.File(tmp_path / "user.h5", "r") as f:
        entries = json.loads(f.attrs["model_config"])["config"]["layers"]
    assert entries[-1]["class_name"] == "legacy_h5_test>Scale"
    try:
        loaded = tf.keras.models.load_model(tmp_path / "user.h5")
    finally:  # the registration must not reach other tests (a bare "Scale" would find it)
        tf.keras.saving.get_custom_objects().pop("legacy_h5_test>Scale", None)
    x = np.ones((2, 3), "float32")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_weights_only_h5_files(tmp_path):
    model = _functional()
    x, labels = _data()
    _fit(model, x, np.eye(3, dtype="float32")[labels], seed=1)
    expected = model.predict(x, verbose=0)
    model.save_weights(tmp_path / "w.h5")  # Keras 2's layout, which Keras 3 reads from '.h5'
    with h5py.File(tmp_path / "w.h5", "r") as f:
        assert "layer_names" in f.attrs and "model_config" not in f.attrs
    model.save_weights(tmp_path / "w.weights.h5")  # Keras 3's layout, as before
    with h5py.File(tmp_path / "w.weights.h5", "r") as f:
        assert "layers" in f and "layer_names" not in f.attrs
    model.save(tmp_path / "whole.h5")
    for name in ("w.h5", "w.weights.h5", "whole.h5"):
        other = _functional()
        if name == "w.weights.h5":  # its optimizer state: skipped for an unbuilt optimizer
            with pytest.warns(UserWarning, match="Skipping variable loading for optimizer"):
                other.load_weights(tmp_path / name)
        else:
            other.load_weights(tmp_path / name)
        np.testing.assert_array_equal(other.predict(x, verbose=0), expected, err_msg=name)
    with pytest.raises(ValueError, match="weights only.*load_weights"):
        tf.keras.models.load_model(tmp_path / "w.h5")
    small = tf.keras.Sequential([tf.keras.Input((8, 8, 3)), L.Flatten(), L.Dense(3)])
    with pytest.raises(ValueError, match="weights for 3 layers.*has 1 layers with weights"):
        small.load_weights(tmp_path / "w.h5")


def test_model_checkpoint_h5(tmp_path):
    model = _functional()
    x, labels = _data()
    y = np.eye(3, dtype="float32")[labels]
    best = tf.keras.callbacks.ModelCheckpoint(str(tmp_path / "best.h5"), monitor="loss",
                                              save_best_only=True)
    every = tf.keras.callbacks.ModelCheckpoint(str(tmp_path / "w-{epoch:02d}.h5"),
                                               save_weights_only=True)
    convnp_random.set_seed(4)
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[best, every])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.h5", "w-01.h5", "w-02.h5",
                                                          "w-03.h5"]
    loaded = tf.keras.models.load_model(tmp_path / "best.h5")
    assert loaded._compiled
    last = _functional()
    last.load_weights(tmp_path / "w-03.h5")
    np.testing.assert_array_equal(last.predict(x, verbose=0), model.predict(x, verbose=0))
    if np.argmin(history.history["loss"]) == 2:
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def _keras2_style_file(path, rng):
    """A model file in tf.keras 2.x's layout, written by hand with h5py (no Keras 2 here):
    byte-string attributes, ``batch_input_shape``, dtype strings, BatchNormalization's axis as
    a list, ``kernel:0`` weight names, metrics as per-output lists of ``MeanMetricWrapper``,
    a loss object with ``reduction="auto"``, Adam's ``decay`` and its Keras 2 slots (``iter``,
    then every ``m``, then every ``v``: no learning-rate variable)."""
    def common(name):
        return {"name": name, "trainable": True, "dtype": "float32"}

    def initializer(name):
        return {"class_name": name, "config": {}}

    entries = [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 8, 8, 3],
                                                "dtype": "float32", "sparse": False,
                                                "ragged": False, "name": "conv2d_input"}},
        {"class_name": "Conv2D", "config": {
            **common("conv2d"), "filters": 4, "kernel_size": [3, 3], "strides": [1, 1],
            "padding": "valid", "data_format": "channels_last", "dilation_rate": [1, 1],
            "groups": 1, "activation": "relu", "use_bias": True,
            "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
            "bias_initializer": initializer("Zeros"), "kernel_regularizer": None,
            "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
            "bias_constraint": None}},
        {"class_name": "BatchNormalization", "config": {
            **common("batch_normalization"), "axis": [3], "momentum": 0.99, "epsilon": 0.001,
            "center": True, "scale": True, "beta_initializer": initializer("Zeros"),
            "gamma_initializer": initializer("Ones"),
            "moving_mean_initializer": initializer("Zeros"),
            "moving_variance_initializer": initializer("Ones"), "beta_regularizer": None,
            "gamma_regularizer": None, "beta_constraint": None, "gamma_constraint": None}},
        {"class_name": "MaxPooling2D", "config": {
            **common("max_pooling2d"), "pool_size": [2, 2], "padding": "valid",
            "strides": [2, 2], "data_format": "channels_last"}},
        {"class_name": "Flatten", "config": {**common("flatten"),
                                             "data_format": "channels_last"}},
        {"class_name": "Dropout", "config": {**common("dropout"), "rate": 0.5,
                                             "noise_shape": None, "seed": None}},
        {"class_name": "Dense", "config": {
            **common("dense"), "units": 3, "activation": "softmax", "use_bias": True,
            "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
            "bias_initializer": initializer("Zeros"), "kernel_regularizer": None,
            "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
            "bias_constraint": None}}]
    training = {
        "loss": {"class_name": "CategoricalCrossentropy", "config": {
            "reduction": "auto", "name": "categorical_crossentropy", "from_logits": False,
            "label_smoothing": 0}},
        "metrics": [[{"class_name": "MeanMetricWrapper", "config": {
            "name": "accuracy", "dtype": "float32", "fn": "categorical_accuracy"}}]],
        "weighted_metrics": None, "loss_weights": None,
        "optimizer_config": {"class_name": "Adam", "config": {
            "name": "Adam", "learning_rate": 0.002, "decay": 0.0, "beta_1": 0.9,
            "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False}}}
    shapes = {"conv2d": [("kernel:0", (3, 3, 3, 4)), ("bias:0", (4,))],
              "batch_normalization": [("gamma:0", (4,)), ("beta:0", (4,)),
                                      ("moving_mean:0", (4,)), ("moving_variance:0", (4,))],
              "dense": [("kernel:0", (36, 3)), ("bias:0", (3,))]}
    arrays = []
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.4.0"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {
            "name": "sequential", "layers": entries}}).encode()
        f.attrs["training_config"] = json.dumps(training).encode()
        group = f.create_group("model_weights")
        names = ["conv2d", "batch_normalization", "max_pooling2d", "flatten", "dropout",
                 "dense"]
        group.attrs["layer_names"] = np.array([n.encode() for n in names])
        for name in names:
            layer = group.create_group(name)
            weights = [f"{name}/{w}" for w, _ in shapes.get(name, [])]
            layer.attrs["weight_names"] = np.array([w.encode() for w in weights]) if weights \
                else np.zeros((0,))
            for weight, (_, shape) in zip(weights, shapes.get(name, [])):
                value = rng.random(shape).astype("float32") + 0.5 * ("variance" in weight)
                layer.create_dataset(weight, data=value)
                arrays.append(value)
        optimizer = f.create_group("optimizer_weights")
        slots = [f"Adam/{n}/{w.partition(':')[0]}/{s}:0" for s in "mv" for n in shapes
                 for w, _ in shapes[n] if "moving" not in w]
        optimizer.attrs["weight_names"] = np.array([n.encode() for n in ["Adam/iter:0", *slots]])
        optimizer.create_dataset("Adam/iter:0", data=np.int64(100))
        for slot in slots:
            layer, weight = slot.split("/")[1:3]
            shape = {w.partition(":")[0]: s for w, s in shapes[layer]}[weight]
            optimizer.create_dataset(slot, data=np.zeros(shape, "float32"))
    return arrays


def test_keras2_style_file_loads_compiled(tmp_path):
    arrays = _keras2_style_file(tmp_path / "old.h5", np.random.default_rng(3))
    with pytest.warns(UserWarning, match="13 arrays where Adam keeps 14.*starts fresh"):
        model = tf.keras.models.load_model(tmp_path / "old.h5")
    twin = tf.keras.Sequential([tf.keras.Input((8, 8, 3)), L.Conv2D(4, 3, activation="relu"),
                                L.BatchNormalization(), L.MaxPooling2D(), L.Flatten(),
                                L.Dropout(0.5), L.Dense(3, activation="softmax")])
    twin.set_weights(arrays)
    x, labels = _data(n=6)
    np.testing.assert_array_equal(model.predict(x, verbose=0), twin.predict(x, verbose=0))
    assert model._compiled and model._metric_ids == ["accuracy"]
    assert model.optimizer.get_config()["learning_rate"] == pytest.approx(0.002)
    assert model.loss.get_config()["reduction"] == "sum_over_batch_size"
    history = _fit(model, x, np.eye(3, dtype="float32")[labels], seed=0)
    assert set(history) == {"loss", "accuracy"} and np.isfinite(history["loss"]).all()


# -- refusals and bad files --------------------------------------------------------------------


def _saved(tmp_path, name="good.h5"):
    model = tf.keras.Sequential([tf.keras.Input((4,)), L.Dense(3), L.Dense(2)])
    model.compile("adam", "mse")
    model.fit(np.ones((4, 4), "float32"), np.ones((4, 2), "float32"), verbose=0)
    model.save(tmp_path / name)
    return tmp_path / name


def _edit(path, function):
    with h5py.File(path, "r+") as f:
        function(f)
    return path


def test_truncated_and_damaged_files_are_value_errors(tmp_path):
    good = _saved(tmp_path)
    data = good.read_bytes()
    for cut in (16, len(data) // 3, len(data) - 200):
        bad = tmp_path / f"cut{cut}.h5"
        bad.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=f"cut{cut}.h5"):
            tf.keras.models.load_model(bad)
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not an hdf5 file at all" * 10)
    with pytest.raises(ValueError, match="not a readable HDF5 file"):
        tf.keras.models.load_model(garbage)
    with pytest.raises(FileNotFoundError):
        tf.keras.models.load_model(tmp_path / "missing.h5")


@pytest.mark.parametrize("config, match", [
    ("{not json", "model_config' is not valid JSON"),
    ('{"class_name": "Functional", "config": {"layers": NaN}}', "not valid JSON"),
    ("[1, 2]", "model config must be a JSON object"),
    ('{"class_name": "Pipeline", "config": {}}', "model class 'Pipeline' is not supported"),
    ('{"class_name": "Pipelines", "config": {}}', "'Pipelines'.*is not known"),
    (json.dumps({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "Conv9D", "config": {"name": "c"}}]}}), "'Conv9D'.*not known"),
    (json.dumps({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 4]}},
        {"class_name": "Lambda", "config": {"name": "l", "function": {
            "class_name": "__lambda__", "config": {"code": "x"}}}}]}}),
     "Lambda layers hold Python code"),
])
def test_wrong_model_config_is_a_value_error(tmp_path, config, match):
    path = _edit(_saved(tmp_path), lambda f: f.attrs.__setitem__("model_config", config))
    with pytest.raises(ValueError, match=match):
        tf.keras.models.load_model(path)


def test_huge_declared_layer_is_refused_before_allocation(tmp_path):
    def grow(f):
        config = json.loads(f.attrs["model_config"])
        config["config"]["layers"][1]["config"]["units"] = 10**9
        f.attrs["model_config"] = json.dumps(config)

    path = _edit(_saved(tmp_path), grow)
    with pytest.raises(ValueError, match="weight"):
        tf.keras.models.load_model(path)


def test_tampered_weights_are_value_errors(tmp_path):
    def reshape(f):
        group = f["model_weights"]
        layer = group.attrs["layer_names"][1]
        name = group[layer].attrs["weight_names"][0]
        del group[layer][name]
        group[layer].create_dataset(name, data=np.zeros((5, 5), "float32"))

    path = _edit(_saved(tmp_path, "shape.h5"), reshape)
    with pytest.raises(ValueError, match="expects weights of shapes"):
        tf.keras.models.load_model(path)

    def drop_group(f):
        del f["model_weights"]

    path = _edit(_saved(tmp_path, "nogroup.h5"), drop_group)
    with pytest.raises(ValueError, match="no 'model_weights' group"):
        tf.keras.models.load_model(path)

    def external(f):
        group = f["model_weights"]
        layer = group.attrs["layer_names"][1]
        name = group[layer].attrs["weight_names"][0]
        del group[layer][name]
        group[layer][name] = h5py.ExternalLink(str(tmp_path / "secret.h5"), "/x")

    with h5py.File(tmp_path / "secret.h5", "w") as f:
        f["x"] = np.zeros((4, 3), "float32")
    path = _edit(_saved(tmp_path, "link.h5"), external)
    with pytest.raises(ValueError, match="external link"):
        tf.keras.models.load_model(path)

    def bad_names(f):
        f["model_weights"].attrs["layer_names"] = np.arange(3)

    path = _edit(_saved(tmp_path, "names.h5"), bad_names)
    with pytest.raises(ValueError, match="list of strings"):
        tf.keras.models.load_model(path)


def test_optimizer_state_of_another_layout_starts_fresh_with_a_warning(tmp_path):
    def drop_rate(f):
        group = f["optimizer_weights"]
        names = [n for n in group.attrs["weight_names"] if not n.endswith("learning_rate")]
        group.attrs["weight_names"] = np.array(names, dtype=h5py.string_dtype())

    path = _edit(_saved(tmp_path), drop_rate)
    with pytest.warns(UserWarning, match="optimizer starts fresh"):
        model = tf.keras.models.load_model(path)
    assert int(model.optimizer.get_state()["iterations"]) == 0

    def bad_slot(f):
        group = f["optimizer_weights"]
        name = group.attrs["weight_names"][2]
        del group[name]
        group.create_dataset(name, data=np.zeros((2, 2), "float32"))

    path = _edit(_saved(tmp_path, "slot.h5"), bad_slot)
    with pytest.raises(ValueError, match="has shape"):
        tf.keras.models.load_model(path)


def test_refused_models_write_nothing(tmp_path):
    class Net(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = L.Dense(2)

        def call(self, x):
            return self.dense(x)

    net = Net()
    net(np.ones((1, 3), "float32"))
    with pytest.raises(ValueError, match="subclass of keras.Model.*'.keras'"):
        net.save(tmp_path / "net.h5")
    assert list(tmp_path.iterdir()) == []
    # an existing file is left as it was by a refused save, and kept with overwrite=False
    good = _saved(tmp_path)
    before = good.read_bytes()
    with pytest.raises(ValueError, match="subclass of keras.Model"):
        net.save(good)
    model = tf.keras.Sequential([tf.keras.Input((3,)), L.Dense(2)])
    with pytest.raises(FileExistsError):
        model.save(good, overwrite=False)
    assert good.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.h5"]


def test_h5py_missing_gives_install_hint(monkeypatch, tmp_path):
    model = tf.keras.Sequential([tf.keras.Input((3,)), L.Dense(2)])
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"pip install convnp\[h5\]"):
        model.save(tmp_path / "m.h5")
    with pytest.raises(ImportError, match=r"pip install convnp\[h5\]"):
        saving.load_model(tmp_path / "m.h5")


def test_long_name_lists_are_split_as_keras_splits_them(tmp_path):
    names = [f"layer_{i:05d}_" + "x" * 40 for i in range(2000)]  # ~100 KB of names
    with h5py.File(tmp_path / "names.h5", "w") as f:
        legacy_h5._put_names(h5py, f, "layer_names", names)
        assert "layer_names" not in f.attrs and "layer_names0" in f.attrs
        assert legacy_h5._names(h5py, f, "layer_names", "names.h5") == names
