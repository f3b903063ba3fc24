"""``model.load_weights("x.keras")``: Keras 3 reads the weights of a whole-model file (keras.io's
CT-scan example restores its ModelCheckpoint's best ``.keras`` file this way)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import convnp as tf

pytest.importorskip("h5py")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _model(seed):
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input((6, 6, 2))
    x = tf.keras.layers.Conv2D(3, 3, activation="relu")(inputs)
    x = tf.keras.layers.BatchNormalization()(x)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    return tf.keras.Model(inputs, tf.keras.layers.Dense(1, activation="sigmoid")(x))


def test_load_weights_from_a_convnp_keras_file(tmp_path):
    source = _model(0)
    source.compile(optimizer="adam", loss="binary_crossentropy")
    x = np.random.default_rng(0).random((8, 6, 6, 2), dtype=np.float32)
    source.fit(x, np.ones((8, 1), np.float32), epochs=1, verbose=0)
    path = tmp_path / "best.keras"
    source.save(path)
    target = _model(1)
    target.compile(optimizer="adam", loss="binary_crossentropy")
    # its optimizer has taken no step: as TF 2.21, the file's optimizer state is skipped
    with pytest.warns(UserWarning, match="Skipping variable loading for optimizer"):
        target.load_weights(str(path))
    for a, b in zip(target.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(target.predict(x, verbose=0), source.predict(x, verbose=0))


def test_load_weights_from_a_keras_written_keras_file():
    # happy_small.keras and happy_small.weights.h5 were written by Keras 3.15 from one model
    # (tests/fixtures/make_keras_files.py): both give the same weights
    reference = tf.keras.models.load_model(FIXTURES / "happy_small.keras", compile=False)
    fresh = tf.keras.models.clone_model(reference)
    fresh.load_weights(str(FIXTURES / "happy_small.keras"))
    for a, b in zip(fresh.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
    other = tf.keras.models.clone_model(reference)
    other.load_weights(str(FIXTURES / "happy_small.weights.h5"))
    for a, b in zip(fresh.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_keras_archive_weights_errors(tmp_path):
    model = _model(0)
    with pytest.raises(ValueError, match="whole model"):
        model.save_weights(str(tmp_path / "w.keras"))
    with pytest.raises(FileNotFoundError):
        model.load_weights(str(tmp_path / "missing.keras"))
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError):
        model.load_weights(str(bad))
    small = tf.keras.Sequential([tf.keras.Input((6, 6, 2)), tf.keras.layers.Flatten(),
                                 tf.keras.layers.Dense(1)])
    small.save(tmp_path / "small.keras")
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError):
        model.load_weights(str(tmp_path / "small.keras"))
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
