"""`convnp.zoo`: the course's happyModel and convolutional_model, layer by layer."""

from __future__ import annotations

import numpy as np
import pytest

from convnp import zoo
from convnp.models import Model, Sequential


def _layers(model) -> list[tuple[str, dict]]:
    return [(type(layer).__name__, layer.get_config()) for layer in model.layers]


def test_happy_model_matches_the_spec():
    model = zoo.happy_model()
    assert isinstance(model, Sequential)
    assert model.count_params() == 37633
    assert model.input_shape == (None, 64, 64, 3)
    assert model.output_shape == (None, 1)
    layers = _layers(model)
    assert [name for name, _ in layers] == [
        "ZeroPadding2D", "Conv2D", "BatchNormalization", "ReLU", "MaxPooling2D", "Flatten",
        "Dense"]
    pad, conv, bn, _, pool, _, dense = (config for _, config in layers)
    assert [list(p) for p in pad["padding"]] == [[3, 3], [3, 3]]
    assert conv["filters"] == 32 and list(conv["kernel_size"]) == [7, 7]
    assert list(conv["strides"]) == [1, 1] and conv["padding"] == "valid"
    assert bn["axis"] in (3, -1, [3], [-1])
    assert list(pool["pool_size"]) == [2, 2] and pool["padding"] == "valid"
    assert dense["units"] == 1 and dense["activation"] == "sigmoid"
    # shapes through the net, as in the course's expected summary
    assert [tuple(layer.output_shape) for layer in model.layers] == [
        (None, 70, 70, 3), (None, 64, 64, 32), (None, 64, 64, 32), (None, 64, 64, 32),
        (None, 32, 32, 32), (None, 32768), (None, 1)]


def test_signs_model_matches_the_spec():
    model = zoo.signs_model((64, 64, 3))
    assert isinstance(model, Model) and not isinstance(model, Sequential)
    assert model.count_params() == 1310
    assert model.output_shape == (None, 6)
    layers = _layers(model)
    assert [name for name, _ in layers] == [
        "InputLayer", "Conv2D", "ReLU", "MaxPooling2D", "Conv2D", "ReLU", "MaxPooling2D",
        "Flatten", "Dense"]
    _, c1, _, p1, c2, _, p2, _, dense = (config for _, config in layers)
    assert c1["filters"] == 8 and list(c1["kernel_size"]) == [4, 4] and c1["padding"] == "same"
    assert list(p1["pool_size"]) == [8, 8] and list(p1["strides"]) == [8, 8]
    assert p1["padding"] == "same"
    assert c2["filters"] == 16 and list(c2["kernel_size"]) == [2, 2] and c2["padding"] == "same"
    assert list(p2["pool_size"]) == [4, 4] and list(p2["strides"]) == [4, 4]
    assert p2["padding"] == "same"
    assert dense["units"] == 6 and dense["activation"] == "softmax"
    assert [tuple(layer.output_shape) for layer in model.layers[1:]] == [
        (None, 64, 64, 8), (None, 64, 64, 8), (None, 8, 8, 8), (None, 8, 8, 16),
        (None, 8, 8, 16), (None, 2, 2, 16), (None, 64), (None, 6)]


def test_signs_model_classes_and_shape():
    model = zoo.signs_model((32, 32, 1), classes=10)
    assert model.output_shape == (None, 10)
    assert model.input_shape == (None, 32, 32, 1)


@pytest.mark.parametrize("name, loss, params", [
    ("happy", "binary_crossentropy", 37633),
    ("signs", "categorical_crossentropy", 1310),
    ("  HAPPY ", "binary_crossentropy", 37633),
])
def test_build_compiles_like_the_course(name, loss, params):
    model = zoo.build(name)
    assert model.count_params() == params
    assert model.loss == loss
    assert type(model.optimizer).__name__ == "Adam"
    assert model.metrics_names == ["loss", "accuracy"]


def test_build_without_compile():
    model = zoo.build("signs", compile=False)
    with pytest.raises(RuntimeError):
        model.evaluate(np.zeros((1, 64, 64, 3), np.float32), np.eye(6)[:1], verbose=0)


@pytest.mark.parametrize("bad", ["resnet", "", None])
def test_build_unknown_name(bad):
    with pytest.raises(ValueError, match="happy"):
        zoo.build(bad)


@pytest.mark.parametrize("shape", [(64, 64), (64, 64, 0), (64.0, 64, 3), "abc"])
def test_bad_input_shape(shape):
    with pytest.raises(ValueError, match="input_shape"):
        zoo.happy_model(shape)


@pytest.mark.parametrize("classes", [1, 0, 2.5, True])
def test_bad_classes(classes):
    with pytest.raises(ValueError, match="classes"):
        zoo.signs_model(classes=classes)


def test_models_train_one_step():
    rng = np.random.default_rng(0)
    x = rng.random((4, 64, 64, 3), dtype=np.float32)
    happy = zoo.build("happy")
    happy.fit(x, np.array([[0], [1], [0], [1]], np.float32), epochs=1, verbose=0)
    signs = zoo.build("signs")
    signs.fit(x, np.eye(6, dtype=np.float32)[:4], epochs=1, verbose=0)
    assert happy.optimizer.iterations == 1 and signs.optimizer.iterations == 1
