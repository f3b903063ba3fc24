"""The new layers through Keras `.keras` files (the generic get_config() path of
`convnp.io.keras_format`): a model holding them saves and loads with the same predictions and
configs; a Lambda is refused by name."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convnp as tf

L = tf.keras.layers
rng = np.random.default_rng(0)


def _image_model():
    norm = L.Normalization()
    norm.adapt(rng.random((16, 8, 8, 3)).astype("float32") * 255)
    return tf.keras.Sequential([
        tf.keras.Input((8, 8, 3)), L.RandomBrightness(0.1), L.RandomInvert(0.5),
        L.RandomGrayscale(0.5), norm, L.Conv2D(4, 3, padding="same"),
        L.GroupNormalization(2, gamma_initializer="random_normal"), L.Identity(),
        L.GaussianDropout(0.1), L.AlphaDropout(0.1), L.ActivityRegularization(l2=1e-3),
        L.AdaptiveAveragePooling2D(3), L.AdaptiveMaxPooling2D(2), L.Flatten(),
        L.UnitNormalization(), L.RMSNormalization(), L.Dense(2, activation="softmax")])


def _sequence_model():
    return tf.keras.Sequential([
        tf.keras.Input((4, 6, 6, 2)), L.TimeDistributed(L.Conv2D(3, 3)),
        L.TimeDistributed(L.Flatten()), L.ZeroPadding1D(1), L.UpSampling1D(2),
        L.Cropping1D((1, 2)), L.SpatialDropout1D(0.2), L.AdaptiveAveragePooling1D(3),
        L.AdaptiveMaxPooling1D(2), L.GlobalAvgPool1D(), L.Dense(3), L.RepeatVector(2),
        L.Flatten(), L.Dense(1)])


def _plain(config: dict) -> dict:
    """A config through JSON, as in the file (tuples come back as lists), with initializers
    as their class (Keras writes ``"zeros"`` as ``{"class_name": "Zeros", ...}``)."""
    out = json.loads(json.dumps(config))
    for key, value in out.items():
        if key.endswith("_initializer"):
            out[key] = type(tf.keras.initializers.get(value)).__name__
        elif isinstance(value, dict) and "config" in value:
            out[key] = {**value, "config": _plain(value["config"])}
    return out


@pytest.mark.parametrize("make, shape", [(_image_model, (4, 8, 8, 3)),
                                         (_sequence_model, (3, 4, 6, 6, 2))])
def test_keras_file_round_trip(tmp_path, make, shape):
    pytest.importorskip("h5py")
    model = make()
    x = rng.random(shape).astype("float32") * (255 if len(shape) == 4 else 1)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    assert [type(a).__name__ for a in loaded.layers] == [type(b).__name__ for b in model.layers]
    for a, b in zip(loaded.layers, model.layers):
        assert _plain(a.get_config()) == _plain(b.get_config())
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_lambda_is_refused_by_name(tmp_path):
    pytest.importorskip("h5py")
    model = tf.keras.Sequential([tf.keras.Input((3,)), L.Lambda(lambda t: t, name="mine")])
    with pytest.raises((TypeError, ValueError), match="mine"):
        model.save(tmp_path / "m.keras")
    assert not (tmp_path / "m.keras").exists()
