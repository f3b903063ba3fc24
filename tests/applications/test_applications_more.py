"""The applications added after the first three, against Keras's own builds
(``tests/fixtures/make_applications_more.py``): every layer's name, class, output shape and
inputs, the parameter counts, and for the smaller ones the predictions from the same seeded
weights."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

import convnp as tf
from convnp import applications as apps

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
sys.path.insert(0, str(FIXTURES))
from applications_specs import PREDICT, SPECS
from seeded_weights import seed_model

# builds taking more than a few seconds on a loaded 2-core machine
SLOW = {"resnet152", "densenet169", "densenet201", "efficientnetb4", "efficientnetb5",
        "efficientnetb6", "efficientnetb7"}
PREDICT_SLOW = ("xception", "inception_v3")  # a few seconds each


def _params(keys):
    return [pytest.param(k, marks=pytest.mark.slow) if k in SLOW else k for k in keys]


@pytest.fixture(scope="module")
def keras_record():
    return np.load(FIXTURES / "applications_more.npz", allow_pickle=False)


def build(key):
    builder, kwargs = SPECS[key]
    return getattr(apps, builder)(weights=None, **kwargs)


def _automatic(name: str) -> str:
    """A layer name without the ``_N`` a framework appends to make automatic names unique."""
    return re.sub(r"_\d+$", "", name)


def _same_name(ours: str, keras: str) -> bool:
    # Keras names some layers automatically (the input, DenseNet's paddings, EfficientNet's
    # stem): those depend on what was built before, so only their stem must agree
    return ours == keras or _automatic(ours) == _automatic(keras)


def _shape_text(shape) -> str:
    return str(tuple(None if d is None else int(d) for d in shape))


@pytest.mark.parametrize("key", _params(SPECS))
def test_architecture_matches_keras(key, keras_record):
    model = build(key)
    z = {name: keras_record[f"{key}/{name}"] for name in
         ("names", "classes", "shapes", "inbound", "params", "model_name")}
    assert model.name == str(z["model_name"])
    assert len(model.layers) == len(z["names"])
    ours = [layer.name for layer in model.layers]
    renamed = {}
    for mine, theirs in zip(ours, z["names"]):
        assert _same_name(mine, str(theirs)), (mine, str(theirs))
        renamed[mine] = str(theirs)
    assert [type(layer).__name__ for layer in model.layers] == list(z["classes"])
    assert [_shape_text(layer.output.shape) for layer in model.layers] == list(z["shapes"])
    for layer, expected in zip(model.layers, z["inbound"]):
        nodes = layer.inbound_nodes
        read = ",".join(renamed[t.layer.name] for t in nodes[0].input_tensors) if nodes else ""
        if not str(expected):  # Keras's input layer has no inbound node
            continue
        assert read == str(expected), layer.name
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    frozen = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    assert [trainable, frozen] == list(z["params"])


@pytest.mark.parametrize("key", [
    pytest.param(k, marks=pytest.mark.slow) if k in PREDICT_SLOW else k for k in PREDICT])
def test_predictions_match_keras(key, keras_record):
    model = build(key)
    seed_model(model, keras_record[f"{key}/names"])
    size = SPECS[key][1]["input_shape"][0]
    x = keras_record[f"x/{size}"]
    expected = keras_record[f"{key}/logits"]
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-4)


def test_mobilenet_loads_keras2_h5_weights(keras_record):
    pytest.importorskip("h5py")
    model = apps.MobileNet(input_shape=(64, 64, 3), alpha=0.25, include_top=False,
                           pooling="avg", weights=FIXTURES / "mobilenet_0.25_64_no_top.h5")
    np.testing.assert_allclose(model.predict(keras_record["x/64"], verbose=0),
                               keras_record["mobilenet_a025/logits"], atol=1e-4)


def test_keras_namespace_and_modules():
    ka = tf.keras.applications
    for name in ("VGG19", "ResNet101", "ResNet152", "MobileNet", "DenseNet121", "DenseNet169",
                 "DenseNet201", "EfficientNetB0", "EfficientNetB7", "Xception", "InceptionV3"):
        assert getattr(ka, name) is getattr(apps, name)
    assert ka.resnet.ResNet152 is apps.ResNet152 and ka.resnet50.ResNet50 is apps.ResNet50
    assert ka.vgg19.VGG19 is apps.VGG19 and ka.mobilenet.MobileNet is apps.MobileNet
    assert ka.densenet.DenseNet121 is apps.DenseNet121
    assert ka.efficientnet.EfficientNetB3 is apps.EfficientNetB3
    assert ka.xception.Xception is apps.Xception
    assert ka.inception_v3.InceptionV3 is apps.InceptionV3


@pytest.mark.parametrize("builder, size", [("Xception", 71), ("InceptionV3", 75),
                                           ("DenseNet121", 32), ("EfficientNetB0", 32),
                                           ("MobileNet", 32)])
def test_minimum_input_size_is_keras(builder, size):
    with pytest.raises(ValueError, match=f"at least {size}x{size}"):
        getattr(apps, builder)(input_shape=(size - 1, size, 3), weights=None)


@pytest.mark.parametrize("builder, file", [
    ("VGG19", "vgg19_weights"), ("ResNet152", "resnet152_weights"),
    ("MobileNet", "mobilenet_1_0_224"), ("DenseNet201", "densenet201_weights"),
    ("EfficientNetB5", "efficientnetb5.h5"), ("Xception", "xception_weights"),
    ("InceptionV3", "inception_v3_weights")])
def test_imagenet_weights_are_refused_with_the_file_to_pass(builder, file):
    with pytest.raises(ValueError, match=f"downloads nothing.*{file}.*weights='/path/to/"):
        getattr(apps, builder)(weights="imagenet")


def test_bad_arguments_are_refused_before_building():
    with pytest.raises(ValueError, match="alpha must be a positive number"):
        apps.MobileNet(alpha=-0.5)
    with pytest.raises(ValueError, match="depth_multiplier must be a positive int, got 0"):
        apps.MobileNet(depth_multiplier=0)
    with pytest.raises(ValueError, match=r"dropout must be a number in \[0, 1\), got 1.5"):
        apps.MobileNet(dropout=1.5)
    with pytest.raises(ValueError, match="classes must be a positive int, got 0"):
        apps.DenseNet121(classes=0)
    with pytest.raises(ValueError, match="pooling must be None, 'avg' or 'max'"):
        apps.EfficientNetB0(include_top=False, pooling="min")
    with pytest.raises(ValueError, match=r"input_shape must be \(rows, cols, channels\)"):
        apps.ResNet101(input_shape=(64, 64))
    with pytest.raises(TypeError, match="include_top must be a bool"):
        apps.VGG19(include_top="yes")
    with pytest.raises(ValueError, match="input_tensor must be a KerasTensor"):  # as TF 2.21
        apps.Xception(input_tensor=np.zeros((1, 80, 80, 3)), include_top=False)


def test_input_tensor_sets_the_shape_and_the_model_builds_on_it():
    inputs = tf.keras.Input((48, 40, 3))
    model = apps.MobileNet(input_tensor=inputs, alpha=0.25, include_top=False)
    assert model.inputs[0] is inputs
    assert model.name == "mobilenet_0.25_48" and model.output_shape == (None, 1, 1, 256)


def test_efficientnet_drop_connect_is_a_per_example_dropout():
    model = apps.EfficientNetB0(input_shape=(32, 32, 3), include_top=False)
    names = [layer.name for layer in model.layers]
    assert "block1a_drop" not in names and "block2a_drop" not in names  # no residual there
    drop = model.get_layer("block2b_drop")
    # rate 0.2 * block index / 16 blocks, growing along the network
    assert drop.rate == pytest.approx(0.2 * 2 / 16)
    assert model.get_layer("block7a_project_bn").name == names[-4]
    assert model.get_layer("block6d_drop").rate == pytest.approx(0.2 * 14 / 16)
    assert tuple(drop.get_config()["noise_shape"]) == (None, 1, 1, 1)
    tf.keras.utils.set_random_seed(0)
    big = tf.keras.layers.Dropout(0.5, noise_shape=(None, 1, 1, 1))
    out = np.asarray(big(np.ones((64, 2, 2, 3), np.float32), training=True))
    per_example = out.reshape(64, -1)
    assert set(np.unique(per_example)) <= {0.0, 2.0}
    assert np.all(per_example.min(1) == per_example.max(1))  # whole examples kept or dropped
    assert 0 < (per_example[:, 0] == 0).sum() < 64


def test_preprocess_input_of_the_new_families():
    from convnp.applications import (
        densenet,
        efficientnet,
        imagenet_utils,
        inception_v3,
        mobilenet,
        vgg19,
        xception,
    )

    x = np.array([[[[0.0, 127.5, 255.0]]]], dtype=np.float32)
    expected = (x / 255 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(densenet.preprocess_input(x.copy()), expected, rtol=1e-6)
    np.testing.assert_allclose(imagenet_utils.preprocess_input(x.copy(), mode="torch"), expected,
                               rtol=1e-6)
    for module in (mobilenet, xception, inception_v3):
        np.testing.assert_allclose(module.preprocess_input(x.copy()), [[[[-1, 0, 1]]]])
    np.testing.assert_allclose(vgg19.preprocess_input(x.copy()),
                               [[[[255 - 103.939, 127.5 - 116.779, 0 - 123.68]]]], rtol=1e-6)
    assert efficientnet.preprocess_input(x) is x  # the model rescales itself
    assert x[0, 0, 0, 1] == 127.5
    # inside a model definition: layers computing the same thing
    inputs = tf.keras.Input((1, 1, 3))
    model = tf.keras.Model(inputs, densenet.preprocess_input(inputs))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-6)


@pytest.mark.parametrize("suffix", [".keras", ".weights.h5"])
def test_keras3_files_load_as_weights(tmp_path, suffix, keras_record):
    pytest.importorskip("h5py")
    source = apps.MobileNet(input_shape=(64, 64, 3), alpha=0.25, include_top=False,
                            pooling="avg", weights=None)
    seed_model(source)
    path = tmp_path / f"m{suffix}"
    if suffix == ".keras":
        source.save(path)
    else:
        source.save_weights(path)
    model = apps.MobileNet(input_shape=(64, 64, 3), alpha=0.25, include_top=False,
                           pooling="avg", weights=path)
    np.testing.assert_allclose(model.predict(keras_record["x/64"], verbose=0),
                               keras_record["mobilenet_a025/logits"], atol=1e-4)


def test_a_weights_file_of_another_model_is_refused_whole():
    pytest.importorskip("h5py")
    with pytest.raises(ValueError, match="expects weights of shapes"):
        apps.MobileNet(input_shape=(64, 64, 3), alpha=0.5, include_top=False,
                       weights=FIXTURES / "mobilenet_0.25_64_no_top.h5")
    with pytest.raises(ValueError, match="the file has weights for 54 layers, the model 'efficientnetb0' has 131"):
        apps.EfficientNetB0(input_shape=(32, 32, 3), include_top=False,
                            weights=FIXTURES / "mobilenet_0.25_64_no_top.h5")


@pytest.mark.parametrize("builder, size", [
    ("MobileNet", 32), ("EfficientNetB0", 32),
    pytest.param("DenseNet121", 32, marks=pytest.mark.slow),
    pytest.param("Xception", 71, marks=pytest.mark.slow),
    pytest.param("InceptionV3", 75, marks=pytest.mark.slow)])
def test_a_training_step_reaches_every_trainable_weight(builder, size):
    # fine-tuning runs backward through every layer kind of the family (separable and
    # depthwise convs, squeeze-and-excitation's Multiply, swish, per-example dropout,
    # the Rescaling/Normalization stem, concatenations)
    tf.keras.utils.set_random_seed(3)
    model = getattr(apps, builder)(input_shape=(size, size, 3), classes=3, weights=None)
    model.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).uniform(0, 255, (4, size, size, 3)).astype(np.float32)
    before = [np.array(w) for w in model.trainable_weights]
    loss = model.train_on_batch(x, np.array([0, 1, 2, 0]))
    assert np.isfinite(loss)
    moved = [not np.array_equal(b, np.asarray(w)) for b, w in zip(before,
                                                                  model.trainable_weights)]
    assert all(moved), [w.name for w, m in zip(model.trainable_weights, moved) if not m]
