"""`.keras` files with the functional-API layers: one written by Keras 3.15
(`tests/fixtures/make_fnlayers_keras.py`) loads and predicts as Keras did; one written by
convnp reloads with every config key kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import convnp as tf

pytest.importorskip("h5py")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_keras_written_file_predicts_as_keras():
    model = tf.keras.models.load_model(FIXTURES / "fnlayers.keras")
    with np.load(FIXTURES / "fnlayers_keras_expected.npz", allow_pickle=False) as data:
        x, pred = data["x"], data["pred"]
    np.testing.assert_allclose(np.asarray(model.predict(x, verbose=0)), pred, atol=2e-6)
    names = {type(layer).__name__ for layer in model.layers}
    assert {"Conv2DTranspose", "UpSampling2D", "Cropping2D", "PReLU", "LayerNormalization",
            "Conv1D", "Dot", "SpatialDropout2D", "GaussianNoise", "Softmax"} <= names


def test_convnp_written_file_keeps_configs(tmp_path):
    from tests.product.test_saving_fn_layers import image_model

    model = image_model()
    model.save(tmp_path / "m.keras")
    loaded = tf.keras.models.load_model(tmp_path / "m.keras")
    def settings(layer):
        # initializers come back as Keras dicts rather than the strings they were given by
        return {k: v for k, v in layer.get_config().items() if not k.endswith("_initializer")}

    for a, b in zip(model.layers, loaded.layers):
        assert type(a) is type(b)
        if type(a).__name__ != "InputLayer":
            assert settings(a) == settings(b), type(a).__name__
    x = np.random.default_rng(3).random((2, 6, 8, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(loaded.predict(x, verbose=0)),
                               np.asarray(model.predict(x, verbose=0)), rtol=1e-6)
