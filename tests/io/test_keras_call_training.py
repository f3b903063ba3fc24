"""``layer(x, training=...)`` in a functional model and ``.keras`` files: Keras 3 writes the
call's ``training`` in the inbound node's kwargs; convnp writes it the same way and reads it
back (fixture made by Keras 3.15.1: tests/fixtures/make_call_training.py)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("h5py")

import convnp as tf

K = tf.keras
L = K.layers
FIXTURES = Path(__file__).parents[1] / "fixtures"


def node_kwargs(path) -> dict:
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    return {entry["name"]: [node.get("kwargs", {}) for node in entry["inbound_nodes"]]
            for entry in config["config"]["layers"]}


@pytest.fixture(scope="module")
def keras_expected():
    with np.load(FIXTURES / "call_training_expected.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def test_keras_file_fixed_calls_load_fixed(keras_expected):
    model = K.models.load_model(FIXTURES / "call_training.keras")
    assert model.get_layer("bn_fixed")._fixed_training is True
    assert model.get_layer("dropout_fixed")._fixed_training is True
    # Keras writes training=False on every plain Dropout call: not a fixed mode
    assert model.get_layer("plain_dropout")._fixed_training is None
    assert node_kwargs(FIXTURES / "call_training.keras") == json.loads(
        str(keras_expected["kwargs"]))


def test_keras_file_fixed_batchnorm_uses_batch_statistics(keras_expected):
    model = K.models.load_model(FIXTURES / "call_training.keras")
    to_bn = K.Model(model.inputs, model.get_layer("bn_fixed").output)
    x = keras_expected["x"]
    # Keras's model(x): the recorded training=True runs BN on the batch's statistics
    np.testing.assert_allclose(to_bn(x).numpy(), keras_expected["bn_out"], atol=1e-5)
    # convnp keeps a fixed call fixed in predict too (tf.keras 2 behaviour); Keras 3's predict
    # passes training=False over it and uses the moving statistics
    np.testing.assert_allclose(to_bn.predict(x, verbose=0), keras_expected["bn_out"], atol=1e-5)
    assert not np.allclose(keras_expected["predict_bn_out"], keras_expected["bn_out"], atol=1e-2)


def build_fixed():
    base_in = K.Input((3,))
    base = K.Model(base_in, L.Dense(3, name="base_dense")(base_in), name="base")
    inputs = K.Input((4,))
    h = L.Dense(3, name="d1")(inputs)
    h = L.Dropout(0.3, name="plain_drop")(h)
    h = L.BatchNormalization(name="bn_on")(h, training=True)
    h = L.Dropout(0.5, name="drop_on")(h, training=True)
    h = L.BatchNormalization(name="bn_off")(h, training=False)
    h = base(h, training=False)
    shared = L.Dense(3, name="shared")
    h = shared(shared(h, training=True), training=True)
    return K.Model(inputs, L.Dense(2, name="out")(h))


def test_round_trip_writes_and_reads_the_call_kwargs(tmp_path):
    model = build_fixed()
    path = tmp_path / "m.keras"
    model.save(path)
    kwargs = node_kwargs(path)
    assert kwargs["bn_on"] == [{"training": True}]
    assert kwargs["drop_on"] == [{"training": True}]
    assert kwargs["bn_off"] == [{"training": False}]
    assert kwargs["base"] == [{"training": False}]
    assert kwargs["plain_drop"] == [{}] and kwargs["d1"] == [{}]
    # a shared layer: each call's node carries it
    assert kwargs["shared"] == [{"training": True}, {"training": True}]
    again = K.models.load_model(path)
    fixed = {layer.name: layer._fixed_training for layer in again.layers}
    assert fixed["bn_on"] is True and fixed["drop_on"] is True and fixed["shared"] is True
    assert fixed["base"] is False
    assert fixed["plain_drop"] is None
    # a plain layer's training=False cannot be told from Keras's plain-call marker: not fixed
    assert fixed["bn_off"] is None


def test_round_trip_predictions_keep_batch_statistics(tmp_path):
    inputs = K.Input((4,))
    h = L.BatchNormalization(name="bn_on")(L.Dense(3)(inputs), training=True)
    model = K.Model(inputs, L.Dense(2)(h))
    x = np.random.default_rng(1).normal(size=(5, 4)).astype("float32")
    model.save(tmp_path / "m.keras")
    again = K.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)
    # batch statistics: predicting one row alone gives the BN's zero (beta) row
    one = again.predict(x[:1], verbose=0)
    head = again.layers[-1]
    np.testing.assert_allclose(one, head.bias[None], atol=1e-5)


def test_json_round_trip_keeps_the_fixed_mode():
    model = build_fixed()
    again = K.models.model_from_json(model.to_json())
    assert again.get_layer("drop_on")._fixed_training is True
    assert again.get_layer("base")._fixed_training is False
