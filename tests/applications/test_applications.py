"""`convnp.applications` against real Keras: layer names, parameter counts, predictions from the
same weights (fixtures from ``tests/fixtures/make_applications.py``), weight files, preprocessing
and decoding."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import convnp as tf
from convnp.applications import VGG16, MobileNetV2, ResNet50, mobilenet_v2, resnet50, vgg16

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
sys.path.insert(0, str(FIXTURES))
from seeded_weights import seeded_weights

applications = tf.keras.applications


def parity():
    return np.load(FIXTURES / "applications_parity.npz", allow_pickle=False)


def test_keras_namespace():
    assert applications.MobileNetV2 is MobileNetV2
    assert applications.resnet50.preprocess_input is resnet50.preprocess_input
    assert applications.mobilenet_v2.decode_predictions is not None


def test_parameter_counts_and_names():
    base = MobileNetV2(input_shape=(160, 160, 3), include_top=False, weights=None)
    assert base.count_params() == 2_257_984
    assert base.name == "mobilenetv2_1.00_160" and base.output_shape == (None, 5, 5, 1280)
    names = [layer.name for layer in base.layers]
    assert names[1:4] == ["Conv1", "bn_Conv1", "Conv1_relu"]
    assert "block_16_project_BN" in names and names[-1] == "out_relu"
    assert "block_1_pad" in names and "block_2_add" in names
    assert VGG16(include_top=False, input_shape=(32, 32, 3)).count_params() == 14_714_688


def test_resnet50_layers_and_predictions_match_keras():
    z = parity()
    model = ResNet50(input_shape=(64, 64, 3), weights=None, classifier_activation=None)
    assert model.count_params() == 25_636_712  # the same at any input size
    assert len(model.layers) == int(z["resnet/n_layers"])
    # the input layer's automatic name depends on how many were made before
    assert [layer.name for layer in model.layers][1:] == list(z["resnet/names"])[1:]
    for layer in model.layers:
        if layer.weights:
            layer.set_weights(seeded_weights(type(layer).__name__, layer.name,
                                             [w.shape for w in layer.weights]))
    x = resnet50.preprocess_input(z["resnet/x_uint8"])
    np.testing.assert_allclose(x, z["resnet/x"], atol=1e-4)
    logits = model.predict(x, verbose=0)
    expected = z["resnet/logits"]
    np.testing.assert_allclose(logits, expected, atol=1e-4 * np.abs(expected).max())
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    keras_probs = np.exp(expected - expected.max(1, keepdims=True))
    keras_probs /= keras_probs.sum(1, keepdims=True)
    np.testing.assert_allclose(probs, keras_probs, atol=1e-4)


def test_mobilenet_v2_legacy_h5_weights_and_predictions_match_keras():
    pytest.importorskip("h5py")
    z = parity()
    model = MobileNetV2(alpha=0.35, input_shape=(96, 96, 3), include_top=False, pooling="avg",
                        weights=FIXTURES / "mobilenet_v2_0.35_96_no_top.h5")
    x = mobilenet_v2.preprocess_input(z["mobilenet/x_uint8"])
    np.testing.assert_allclose(x, z["mobilenet/x"], atol=1e-6)
    np.testing.assert_allclose(model.predict(x, verbose=0), z["mobilenet/pred"], atol=1e-4)


def test_weights_h5_of_keras3_loads():
    pytest.importorskip("h5py")
    expected = np.load(FIXTURES / "happy_small_expected.npz", allow_pickle=False)
    tfl = tf.keras.layers
    inputs = tf.keras.Input((16, 16, 3))
    x = tfl.ZeroPadding2D(3)(inputs)
    x = tfl.Conv2D(4, 7, name="conv2d")(x)
    x = tfl.BatchNormalization(axis=3, name="batch_normalization")(x)
    x = tfl.MaxPool2D()(tfl.ReLU()(x))
    outputs = tfl.Dense(1, activation="sigmoid", name="dense")(tfl.Flatten()(x))
    model = tf.keras.Model(inputs, outputs)
    from convnp.applications._common import load_weights_file

    load_weights_file(model, FIXTURES / "happy_small.weights.h5")
    np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["pred"],
                               atol=1e-5)


def test_weights_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="downloads nothing.*weights='/path/to/"):
        ResNet50(weights="imagenet")
    with pytest.raises(ValueError, match="does not exist"):
        VGG16(weights=tmp_path / "missing.h5")
    with pytest.raises(ValueError, match="pooling"):
        MobileNetV2(include_top=False, pooling="sum")
    with pytest.raises(ValueError, match="at least 32x32"):
        MobileNetV2(input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match="alpha"):
        MobileNetV2(alpha=0)


def test_wrong_weight_file_is_refused_before_writing():
    pytest.importorskip("h5py")
    model = MobileNetV2(alpha=0.5, input_shape=(96, 96, 3), include_top=False, weights=None)
    before = model.get_weights()
    with pytest.raises(ValueError, match="expects weights of shapes"):
        from convnp.applications._common import load_weights_file

        load_weights_file(model, FIXTURES / "mobilenet_v2_0.35_96_no_top.h5")
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_preprocess_input_families():
    x = np.array([[[[0, 127.5, 255]]]], dtype=np.float32)
    np.testing.assert_allclose(mobilenet_v2.preprocess_input(x.copy()), [[[[-1, 0, 1]]]])
    np.testing.assert_allclose(vgg16.preprocess_input(x.copy()),
                               [[[[255 - 103.939, 127.5 - 116.779, 0 - 123.68]]]], rtol=1e-6)
    vgg16.preprocess_input(x)
    assert x[0, 0, 0, 0] == -123.68  # a float array is changed in place, as TF 2.21
    with pytest.raises(ValueError, match="3 channels"):  # the "caffe" mode reads R, G, B
        resnet50.preprocess_input(np.zeros((2, 2, 2)))


def test_decode_predictions(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty_cache"))
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(5)}
    path = tmp_path / "index.json"
    path.write_text(json.dumps(index))
    preds = np.array([[0.1, 0.5, 0.05, 0.3, 0.05]])
    decoded = resnet50.decode_predictions(preds, top=2, class_index=path)
    assert decoded == [[("n00000001", "class_1", 0.5), ("n00000003", "class_3", 0.3)]]
    assert mobilenet_v2.decode_predictions(preds, top=1, class_index=index)[0][0][1] == "class_1"
    with pytest.raises(ValueError, match="downloads nothing"):
        vgg16.decode_predictions(np.zeros((1, 1000)))
    with pytest.raises(ValueError, match="no entry"):
        vgg16.decode_predictions(np.zeros((1, 7)), class_index=index)


@pytest.mark.parametrize("shape", [(2, 10), (1000,), (1, 1000, 1)])
def test_decode_predictions_checks_the_shape_first(shape):
    # Keras 3.15's message, word for word, before the missing class index is reported
    message = ("`decode_predictions` expects a batch of predictions (i.e. a 2D array of shape "
               f"(samples, 1000)). Received array with shape: {shape}")
    with pytest.raises(ValueError) as info:
        vgg16.decode_predictions(np.zeros(shape))
    assert str(info.value) == message
    if len(shape) != 2:  # a 1-D or 3-D array is refused even with a class index
        with pytest.raises(ValueError, match="expects a batch of predictions"):
            vgg16.decode_predictions(np.zeros(shape), class_index={"0": ["n0", "a"]})


@pytest.mark.parametrize("make, kwargs, file", [
    ("MobileNetV2", {}, "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5"),
    ("MobileNetV2", {"include_top": False},
     "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"),
    ("VGG16", {"include_top": False}, "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    ("VGG19", {}, "vgg19_weights_tf_dim_ordering_tf_kernels.h5"),
    ("Xception", {"include_top": False}, "xception_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    ("MobileNet", {}, "mobilenet_1_0_224_tf.h5"),
])
def test_the_imagenet_refusal_names_the_file_for_that_top(make, kwargs, file):
    # TF's FGSM tutorial builds MobileNetV2(include_top=True, weights='imagenet'): the
    # message names Keras's file with the top, not the no-top one
    import convnp

    with pytest.raises(ValueError, match=f"e.g. {file}"):
        getattr(convnp.keras.applications, make)(weights="imagenet", **kwargs)
