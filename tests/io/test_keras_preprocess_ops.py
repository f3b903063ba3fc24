"""A functional model that starts with ``keras.applications.resnet50.preprocess_input`` on
its Input (keras.io's DeepLabV3+ segmentation example) saves to Keras 3 files.

convnp records the caffe preprocessing as two `TensorFlowOpLayer` rows (RGB -> BGR, then the
mean subtracted), as Keras 2 did; Keras 3 records operations, not layers. The weights file
needs nothing for them, and ``.keras`` writes the channel reversal as ``keras.ops.flip(x,
axis=-1)`` (Keras 3.15's own file has GetItem/Stack entries for it, which compute the same;
checked by loading a file written by this test's model in Keras 3.15.1: same predictions to
5e-6 on a 164-layer DeepLabV3+)."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import convnp as tf

pytest.importorskip("h5py")
keras = tf.keras


def _model():
    keras.utils.set_random_seed(3)
    inputs = keras.Input((8, 8, 3))
    x = keras.applications.resnet50.preprocess_input(inputs)
    x = keras.layers.Conv2D(4, 3, padding="same")(x)
    return keras.Model(inputs, keras.layers.BatchNormalization()(x))


def _x():
    return np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")


def test_weights_file_skips_the_preprocessing_rows(tmp_path):
    model = _model()
    assert [type(layer).__name__ for layer in model.layers][1:3] == ["TensorFlowOpLayer"] * 2
    model.save_weights(tmp_path / "m.weights.h5")
    other = _model()
    for w in other.weights:
        w.assign(np.zeros(w.shape, "float32"))
    other.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_array_equal(other.predict(_x(), verbose=0), model.predict(_x(), verbose=0))


def test_keras_file_writes_the_channel_reversal_as_flip(tmp_path):
    model = _model()
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        entries = json.loads(archive.read("config.json"))["config"]["layers"]
    flip = entries[1]
    assert (flip["module"], flip["class_name"], flip["config"]["axis"]) == \
        ("keras.src.ops.numpy", "Flip", -1)
    assert flip["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0] == entries[0]["name"]
    mean = entries[2]
    assert (mean["module"], mean["class_name"]) == ("keras.src.ops.numpy", "Subtract")
    assert mean["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0] == flip["name"]
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(_x(), verbose=0), model.predict(_x(), verbose=0),
                               rtol=1e-6, atol=1e-5)
