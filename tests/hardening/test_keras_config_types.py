"""A `.keras` file whose config has other types than Keras writes (a number where Keras
writes an object: damaged or crafted) gives a ValueError naming the file, and the CLI one line
and exit 2. Before: AttributeError / TypeError from inside the reader, and a traceback."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

pytest.importorskip("h5py")

import convnp as tf


def _saved(tmp_path):
    model = tf.keras.Sequential([tf.keras.Input((4, 4, 1)), tf.keras.layers.Conv2D(2, 3),
                                 tf.keras.layers.Flatten(), tf.keras.layers.Dense(2)])
    model.compile("adam", "mse")
    model.fit(np.ones((2, 4, 4, 1), np.float32), np.ones((2, 2), np.float32), verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    return path


def _rewrite(source, target, change):
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    change(config)
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return target


def _layer_config(config, i):
    return config["config"]["layers"][i]["config"]


CHANGES = {
    "build_config": lambda c: c.update(build_config=5),
    "dtype_config": lambda c: _layer_config(c, 1).update(dtype={"class_name": "DTypePolicy",
                                                                 "config": -1}),
    "initializer_config": lambda c: _layer_config(c, 1)["kernel_initializer"].update(
        config="x"),
    "layers_list": lambda c: c["config"].update(layers=7),
}


@pytest.mark.parametrize("what", sorted(CHANGES))
def test_wrong_types_in_the_model_config(what, tmp_path, capsys):
    bad = _rewrite(_saved(tmp_path), tmp_path / "bad.keras", CHANGES[what])
    with pytest.raises(ValueError, match="bad.keras"):
        tf.keras.models.load_model(bad)
    from convnp.app import cli

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["summary", str(bad)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_wrong_types_in_the_compile_config_load_uncompiled(tmp_path):
    bad = _rewrite(_saved(tmp_path), tmp_path / "bad.keras",
                   lambda c: c["compile_config"]["optimizer"].update(config=-1))
    with pytest.warns(UserWarning, match="loaded uncompiled"):
        model = tf.keras.models.load_model(bad)
    assert not model._compiled
    assert model.predict(np.ones((1, 4, 4, 1), np.float32), verbose=0).shape == (1, 2)
