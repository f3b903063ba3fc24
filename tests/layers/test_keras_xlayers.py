"""The new layers against Keras 3.15 outputs (`tests/fixtures/xlayers_parity.npz`, made by
`tests/fixtures/make_xlayers_parity.py`), and their ONNX export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import convnp as tf
from convnp.io import onnx

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "xlayers_parity.npz"
CASES = ["norm_last", "norm_none", "norm_12", "norm_given_invert", "unit_last", "unit_12",
         "group2", "group_instance", "brightness", "brightness_clip", "upsampling1d",
         "zeropadding1d", "cropping1d", "alpha_inference", "gauss_inference", "identity",
         "adaptive_avg", "adaptive_max", "adaptive_avg1d", "adaptive_max1d", "rms", "repeat",
         "invert", "grayscale"]


@pytest.fixture(scope="module")
def z():
    with np.load(FIXTURE, allow_pickle=False) as data:
        return dict(data)


def test_every_case_is_here(z):
    names = {key.split("/")[0] for key in z} - {"td_conv", "actreg"}
    assert names == set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_layer_matches_keras(z, name):
    config = json.loads(str(z[f"{name}/config"]))
    classes = {
        "norm": "Normalization", "unit": "UnitNormalization", "group": "GroupNormalization",
        "brightness": "RandomBrightness", "upsampling1d": "UpSampling1D",
        "zeropadding1d": "ZeroPadding1D", "cropping1d": "Cropping1D",
        "alpha": "AlphaDropout", "gauss": "GaussianDropout", "identity": "Identity",
        "adaptive_avg1d": "AdaptiveAveragePooling1D", "adaptive_max1d": "AdaptiveMaxPooling1D",
        "adaptive_avg": "AdaptiveAveragePooling2D", "adaptive_max": "AdaptiveMaxPooling2D",
        "rms": "RMSNormalization", "repeat": "RepeatVector", "invert": "RandomInvert",
        "grayscale": "RandomGrayscale",
    }
    prefix = max((p for p in classes if name.startswith(p)), key=len)
    cls = getattr(tf.keras.layers, classes[prefix])
    layer = cls(**config)
    x = z[f"{name}/x"]
    if f"{name}/adapt" in z:
        layer.adapt(z[f"{name}/adapt"])
    else:
        layer(x, training=False)  # build
    weights = [z[f"{name}/w/{i}"] for i in range(len(layer.weights))]
    if f"{name}/adapt" in z:
        # the statistics adapt measured are Keras's
        assert len(layer.get_weights()) == len(weights) == 3  # mean, variance, count
        for got, want in zip(layer.get_weights(), weights):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    elif weights:
        layer.set_weights(weights)
    y = layer(x, training=bool(z[f"{name}/training"]))
    np.testing.assert_allclose(y, z[f"{name}/y"], rtol=1e-5, atol=1e-5)


def test_time_distributed_conv_matches_keras(z):
    layer = tf.keras.layers.TimeDistributed(tf.keras.layers.Conv2D(3, 3, padding="same"))
    x = z["td_conv/x"]
    layer(x)
    layer.set_weights([z["td_conv/w/0"], z["td_conv/w/1"]])
    np.testing.assert_allclose(layer(x), z["td_conv/y"], rtol=1e-5, atol=1e-5)


def test_activity_regularization_loss_matches_keras(z):
    model = tf.keras.Sequential([tf.keras.Input((3,)),
                                 tf.keras.layers.Dense(2, kernel_initializer="ones"),
                                 tf.keras.layers.ActivityRegularization(l1=0.01, l2=0.1)])
    model.compile("sgd", "mse")
    loss = model.evaluate(z["actreg/x"], z["actreg/y"], batch_size=8, verbose=0)
    np.testing.assert_allclose(loss, z["actreg/loss"], rtol=1e-5)


@pytest.mark.parametrize("make", [
    lambda L: L.Lambda(lambda t: t * 2), lambda L: L.Identity(), lambda L: L.GroupNormalization(2),
    lambda L: L.UnitNormalization(), lambda L: L.Normalization(mean=0.0, variance=1.0),
    lambda L: L.RandomBrightness(0.1),
])
def test_onnx_export_of_them(make):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    layer = make(tf.keras.layers)
    model = tf.keras.Sequential([tf.keras.Input((4, 4, 4)), layer])
    x = np.random.default_rng(0).random((2, 4, 4, 4), dtype=np.float32)
    session = ort.InferenceSession(onnx.export_bytes(model), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5)
