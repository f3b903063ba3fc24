"""LayerScale (ConvNeXt's per-channel residual scale): the layer contract, gradients, files."""

import json
import zipfile

import numpy as np
import pytest

import convnp as tf
from tests.layers.harness import check_case, check_file_round_trip


@pytest.mark.parametrize("shape", [(2, 5), (2, 3, 4, 5)])
def test_contract_and_gradients(shape):
    check_case(tf.keras.layers.LayerScale, {"init_values": 0.7, "projection_dim": 5}, shape,
               shape, 1)


def test_multiplies_the_last_axis_by_gamma():
    layer = tf.keras.layers.LayerScale(1e-6, 3)
    x = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
    np.testing.assert_allclose(layer(x), x * np.float32(1e-6))
    layer.set_weights([np.array([1.0, 2.0, 3.0], np.float32)])
    np.testing.assert_allclose(layer(x), x * [1, 2, 3])
    assert layer.get_config()["init_values"] == 1e-6
    assert layer.get_config()["projection_dim"] == 3


def test_bad_arguments():
    with pytest.raises(ValueError, match="projection_dim must be a positive int, got 0"):
        tf.keras.layers.LayerScale(0.1, 0)
    with pytest.raises(ValueError, match="init_values must be a finite number"):
        tf.keras.layers.LayerScale("big", 3)
    with pytest.raises(ValueError, match="projection_dim 4 but the input's last axis has 3"):
        tf.keras.layers.LayerScale(0.1, 4)(np.ones((1, 3), np.float32))


def test_in_a_saved_model(tmp_path):
    inputs = tf.keras.Input((4,))
    model = tf.keras.Model(inputs, tf.keras.layers.LayerScale(0.5, 4)(
        tf.keras.layers.Dense(4)(inputs)))
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    check_file_round_trip(model, x, tmp_path / "m.convnp")
    pytest.importorskip("h5py")
    model.save(tmp_path / "m.keras")
    loaded = tf.keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    # written where Keras 3.15 keeps the class (its own files say the same), so Keras loads it
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        entry = json.loads(archive.read("config.json"))["config"]["layers"][2]
    assert entry["module"] == "keras.src.applications.convnext"
    assert entry["class_name"] == entry["registered_name"] == "LayerScale"
