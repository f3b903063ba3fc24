"""A .keras file written by convnp keeps the compile state and the Adam/SGD state: convnp and
real Keras (recorded by tests/fixtures/make_compiled_keras_file.py) reload it compiled and
continue training where it stopped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import convnp as tf

FIXTURES = Path(__file__).parents[1] / "fixtures"
pytest.importorskip("h5py")


def test_committed_file_continues_like_keras_did():
    keras_run = np.load(FIXTURES / "compiled_by_convnp_keras.npz", allow_pickle=False)
    assert int(keras_run["compiled"]) == 1 and int(keras_run["iterations"]) == 4
    model = tf.keras.models.load_model(FIXTURES / "compiled_by_convnp.keras")
    assert model.optimizer.iterations == 4
    history = model.fit(keras_run["x"], keras_run["y"], epochs=1, batch_size=8, verbose=0,
                        shuffle=False).history
    np.testing.assert_allclose(history["loss"], keras_run["loss"], atol=1e-6)
    np.testing.assert_allclose(history["accuracy"], keras_run["accuracy"])


@pytest.mark.parametrize("optimizer", ["adam", "sgd_momentum", "rmsprop"])
def test_round_trip_resumes_exactly(tmp_path, optimizer):
    tf.keras.utils.set_random_seed(1)
    opt = {"adam": "adam", "rmsprop": "rmsprop",
           "sgd_momentum": tf.keras.optimizers.SGD(0.05, momentum=0.9)}[optimizer]
    model = tf.keras.Sequential([tf.keras.layers.Dense(3, activation="relu", input_shape=(4,)),
                                 tf.keras.layers.Dense(1)])
    model.compile(opt, "mse", metrics=["mse"] if optimizer == "adam" else None)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(12, 4)), rng.normal(size=(12, 1))
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    model.save(tmp_path / "m.keras")
    again = tf.keras.models.load_model(tmp_path / "m.keras")
    h1 = model.fit(x, y, epochs=1, batch_size=4, verbose=0, shuffle=False).history
    h2 = again.fit(x, y, epochs=1, batch_size=4, verbose=0, shuffle=False).history
    assert h1 == h2


def test_shared_layers_round_trip_through_keras_files(tmp_path):
    # a layer called twice is one entry with two inbound nodes; the second call's output is
    # referred to as node 1 of the layer (Keras's layout)
    import json
    import zipfile

    a, b = tf.keras.Input((3,)), tf.keras.Input((3,))
    shared = tf.keras.layers.Dense(2, name="shared")
    sa, sb = shared(a), shared(b)
    model = tf.keras.Model([a, b], [tf.keras.layers.Add()([sa, sb]), sb])
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        config = json.loads(archive.read("config.json"))["config"]
    entry = next(e for e in config["layers"] if e["name"] == "shared")
    assert len(entry["inbound_nodes"]) == 2
    assert config["output_layers"][1] == ["shared", 1, 0]
    again = tf.keras.models.load_model(tmp_path / "m.keras")
    assert len(again.layers) == len(model.layers)
    rng = np.random.default_rng(0)
    xs = [rng.normal(size=(4, 3)), rng.normal(size=(4, 3))]
    for got, want in zip(again.predict(xs, verbose=0), model.predict(xs, verbose=0)):
        np.testing.assert_array_equal(got, want)
