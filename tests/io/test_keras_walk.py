"""The .keras writer: configs from get_config(), the model's own graph as the walk."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

pytest.importorskip("h5py")

import convnp.layers as L
from convnp.io import keras_format as kf
from convnp.models import Input, Model, Sequential


def config_of(path):
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("config.json"))


def round_trip(model, xs, tmp_path):
    """Save, load, save again: same config, same predictions."""
    kf.save_keras(model, tmp_path / "a.keras")
    again = kf.load_keras(tmp_path / "a.keras")
    kf.save_keras(again, tmp_path / "b.keras")
    assert config_of(tmp_path / "a.keras") == config_of(tmp_path / "b.keras")
    got, want = again.predict(xs, verbose=0), model.predict(xs, verbose=0)
    for g, w in zip(got if isinstance(got, list) else [got],
                    want if isinstance(want, list) else [want]):
        np.testing.assert_array_equal(g, w)
    return config_of(tmp_path / "a.keras")


def test_sequential(tmp_path):
    model = Sequential([Input((5, 5, 2)), L.Conv2D(3, 3, kernel_regularizer="l2"),
                        L.Flatten(), L.Dense(2, activation="softmax")])
    config = round_trip(model, np.ones((2, 5, 5, 2)), tmp_path)
    conv = config["config"]["layers"][1]["config"]
    # the layer's own get_config(), in Keras's form
    assert conv["kernel_regularizer"] == {"module": "keras.regularizers", "class_name": "L2",
                                          "config": {"l2": 0.01}, "registered_name": None}
    assert conv["kernel_size"] == [3, 3]


def test_functional_with_branches(tmp_path):
    x = Input((6, 6, 2))
    a = L.Conv2D(2, 1, name="a")(x)
    b = L.Conv2D(2, 3, padding="same", name="b")(x)
    y = L.Dense(1)(L.Flatten()(L.Concatenate()([a, b])))
    round_trip(Model(x, y), np.ones((2, 6, 6, 2)), tmp_path)


def test_siamese_shared_tower(tmp_path):
    left, right = Input((4, 4, 1)), Input((4, 4, 1))
    tower = L.Conv2D(2, 3, name="tower")
    flat = L.Flatten(name="flat")
    d = L.Subtract()([flat(tower(left)), flat(tower(right))])
    model = Model([left, right], L.Dense(1)(d))
    rng = np.random.default_rng(0)
    config = round_trip(model, [rng.normal(size=(3, 4, 4, 1)), rng.normal(size=(3, 4, 4, 1))],
                        tmp_path)
    layers = {e["name"]: e for e in config["config"]["layers"]}
    assert len(layers["tower"]["inbound_nodes"]) == 2
    second = layers["flat"]["inbound_nodes"][1]["args"][0]["config"]["keras_history"]
    assert second == ["tower", 1, 0]


def test_nested_model_is_written_inline(tmp_path):
    # once refused by name; now written as Keras does: the inner model's config inline
    inner_in = Input((3,))
    inner = Model(inner_in, L.Dense(2)(inner_in), name="inner_block")
    x = Input((3,))
    model = Model(x, inner(x))
    config = round_trip(model, np.ones((2, 3)), tmp_path)
    entry = config["config"]["layers"][1]
    assert (entry["class_name"], entry["name"]) == ("Functional", "inner_block")
    assert [e["class_name"] for e in entry["config"]["layers"]] == ["InputLayer", "Dense"]


def test_unknown_config_key_is_named():
    with pytest.raises(ValueError, match="unknown config key 'surprise' for Dense"):
        kf._make_layer("Dense", {"units": 2, "surprise": 1, "name": "d"})


def test_lambda_layer_is_refused_by_name(tmp_path):
    x = Input((3,))
    model = Model(x, L.Lambda(lambda t: t * 2, name="doubling")(x))
    with pytest.raises(ValueError, match=r"'doubling' \(Lambda\).*Python code"):
        kf.save_keras(model, tmp_path / "m.keras")
    assert not (tmp_path / "m.keras").exists()


_WITH_ARGUMENTS = {"Dense": (2,), "Conv2D": (2, 3), "Conv1D": (2, 3), "Activation": ("relu",),
                   "Dropout": (0.5,), "Reshape": ((4,),), "Permute": ((2, 1),),
                   "Rescaling": (0.5,), "SeparableConv2D": (2, 3), "DepthwiseConv2D": (3,),
                   "Conv1DTranspose": (2, 3), "DepthwiseConv1D": (3,), "SeparableConv1D": (2, 3),
                   "Conv3D": (2, 3), "Conv3DTranspose": (2, 3), "SpatialDropout2D": (0.5,),
                   "SpatialDropout3D": (0.5,), "CategoryEncoding": (3,),
                   "Discretization": ([0.0, 1.0],)}


def _normalized(config: dict) -> dict:
    """Initializers as one spelling ('zeros' and {'class_name': 'Zeros'} are the same)."""
    from convnp import initializers

    return {k: initializers.serialize(initializers.get(v)) if k.endswith("_initializer") else v
            for k, v in config.items()}


def test_every_registered_layer_goes_through_the_generic_keras_path():
    # no per-class table in io/: a layer's Keras config is its get_config(), read back through
    # the registry and its constructor
    from convnp.layers import registry

    checked = []
    for name, cls in registry.registered_layers().items():
        if name != cls.__name__ or not registry.is_builtin(cls) \
                or name in ("InputLayer", "TensorFlowOpLayer", "Lambda"):
            continue
        try:
            layer = cls(*_WITH_ARGUMENTS.get(name, ()))
        except TypeError:
            continue  # needs arguments this test does not know
        config = json.loads(json.dumps(kf._keras_layer_config(layer)))
        back = kf._make_layer(name, config)
        assert type(back) is cls
        assert _normalized(back.get_config()) == _normalized(layer.get_config()), name
        checked.append(name)
    assert len(checked) >= 40
    assert {"Dense", "Conv2D", "BatchNormalization", "PReLU", "Add"} <= set(checked)
    assert {"Conv3D", "Conv3DTranspose", "MaxPooling3D", "AveragePooling3D",
            "GlobalAveragePooling3D", "GlobalMaxPooling3D", "UpSampling3D", "ZeroPadding3D",
            "Cropping3D", "SpatialDropout3D"} <= set(checked)
