"""convnp-written .keras files as real Keras read them (tests/fixtures/make_convnp_written_keras.py):
the same files, regenerated here with convnp (seeded), predict what Keras predicted, carry the
compile state Keras reported, and one more training step ends where Keras's did. The models
include nested models (a frozen base called with training=False, a Sequential in a Sequential,
one nested model called twice), a user's layers, Model subclass and Lambda function
(registered); the files
Keras wrote of the same models load in convnp the same way."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("h5py")

import convnp as tf

FIXTURES = Path(__file__).parents[1] / "fixtures"
# Keras and convnp sum in different orders: float32 rounding, amplified a little by a step
ATOL = 2e-5


def _script():
    spec = importlib.util.spec_from_file_location(
        "make_convnp_written_keras", FIXTURES / "make_convnp_written_keras.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPT = _script()
SCRIPT.user_objects(tf)  # the user_layers model's classes and function, registered as a user would
KERAS = np.load(FIXTURES / "convnp_written_keras.npz", allow_pickle=False)
STATES = json.loads((FIXTURES / "convnp_written_keras.json").read_text())


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    directory = tmp_path_factory.mktemp("written")
    SCRIPT.write_files(tf, directory)
    return directory


def _plain(config):
    """A Keras object config without the keys only one side writes."""
    if isinstance(config, dict):
        return {k: _plain(v) for k, v in config.items()
                if k not in ("module", "registered_name", "dtype", "name")}
    if isinstance(config, list):
        return [_plain(v) for v in config]
    return config


@pytest.mark.parametrize("name", SCRIPT.MODELS)
def test_keras_reads_what_convnp_writes(name, written):
    state = STATES[name]
    assert state["compiled"] is True
    model = tf.keras.models.load_model(written / f"{name}.keras")
    xs, y = SCRIPT.batch(name)
    for j, x in enumerate(xs):  # the same batch on both sides
        np.testing.assert_array_equal(x, KERAS[f"{name}/x/{j}"])
    pred = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    for i, p in enumerate(pred if isinstance(pred, list) else [pred]):
        np.testing.assert_allclose(p, KERAS[f"{name}/pred/{i}"], atol=ATOL)
    # the compile state Keras rebuilt is the one convnp wrote
    assert type(model.optimizer).__name__ == state["optimizer"]
    assert model.optimizer.iterations == int(KERAS[f"{name}/iterations"]) == 4
    ours = model.optimizer.get_config()
    for key, value in state["optimizer_config"].items():
        if key not in ours:
            continue  # Keras-only options (use_ema, ...), neutral in the file
        if isinstance(value, dict):  # a learning-rate schedule
            assert _plain(ours[key])["config"] == pytest.approx(_plain(value)["config"]), key
        else:
            assert ours[key] == pytest.approx(value), key
    model.train_on_batch(xs if len(xs) > 1 else xs[0], y)
    weights = model.get_weights()
    assert len(weights) == len([k for k in KERAS.files if k.startswith(f"{name}/after/")])
    for k, w in enumerate(weights):
        np.testing.assert_allclose(w, KERAS[f"{name}/after/{k}"], atol=ATOL)


def test_loss_and_metric_objects_reached_keras_with_their_arguments():
    assert STATES["siamese"]["loss"]["config"]["from_logits"] is True
    assert STATES["siamese"]["metrics"][0]["config"]["threshold"] == 0.3
    two = STATES["two_outputs"]
    assert two["loss"]["cls"]["config"]["from_logits"] is True and two["loss"]["reg"] == "mse"
    assert two["metrics"]["reg"][0]["class_name"] == "MeanSquaredError"
    assert STATES["sgd_nesterov"]["optimizer_config"]["nesterov"] is True


EXPECTED = np.load(FIXTURES / "keras_written_expected.npz", allow_pickle=False)


@pytest.mark.parametrize("name", SCRIPT.KERAS_MODELS)
def test_convnp_reads_what_keras_writes(name):
    # shared layers, two outputs, loss/metric objects, AdamW with a schedule: loaded compiled,
    # predicting and continuing training as Keras did
    model = tf.keras.models.load_model(FIXTURES / f"keras_written_{name}.keras")
    xs, y = SCRIPT.batch(name)
    pred = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    for i, p in enumerate(pred if isinstance(pred, list) else [pred]):
        np.testing.assert_allclose(p, EXPECTED[f"{name}/pred/{i}"], atol=ATOL)
    assert model.optimizer.iterations == int(EXPECTED[f"{name}/iterations"]) == 4
    model.train_on_batch(xs if len(xs) > 1 else xs[0], y)
    for k, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, EXPECTED[f"{name}/after/{k}"], atol=ATOL)


def test_keras_written_nested_models_keep_their_structure():
    transfer = tf.keras.models.load_model(FIXTURES / "keras_written_transfer.keras")
    base = transfer.get_layer("base")
    assert type(base).__name__ == "Functional" and base._fixed_training is False
    assert not base.trainable and not any(layer.trainable for layer in base.layers)
    assert [v.name for v in transfer.trainable_weights] == ["kernel", "bias"]  # the head only
    shared = tf.keras.models.load_model(FIXTURES / "keras_written_shared_nested.keras")
    tower = shared.get_layer("tower")
    assert len(tower.inbound_nodes) == 2 and len(shared.weights) == 4  # one tower, two calls
    outer = tf.keras.models.load_model(FIXTURES / "keras_written_nested_seq.keras")
    assert [type(layer).__name__ for layer in outer.layers] == ["Sequential", "Dense"]
    user = tf.keras.models.load_model(FIXTURES / "keras_written_user_layers.keras")
    assert type(user.get_layer("scale")).__name__ == "ScaledShift"
    assert user.get_layer("scale").factor == 3.0
    assert user.get_layer("halved").function.__name__ == "halve"
    net = tf.keras.models.load_model(FIXTURES / "keras_written_subclassed.keras")
    assert type(net).__name__ == "TwoLayerNet" and net.hidden_units == 6
