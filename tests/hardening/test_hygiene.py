"""Silently wrong results, file hygiene and clearer errors (issue 16, defects 7, 8 and 9)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import warnings

import numpy as np
import pytest

import convnp.layers as L
from convnp.io import saving
from convnp.models import Sequential
from tests.hardening import crafted


def _fitted_model():
    return crafted.binary_model(2, L.Dropout(0.5))


def _xy(n=8):
    return crafted.binary_data(n, 2)


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


# -- 7: silently wrong ------------------------------------------------------------------------

def test_saving_to_a_symlink_writes_its_target(tmp_path):
    target = tmp_path / "real.convnp"
    target.write_bytes(b"old")
    link = tmp_path / "link.convnp"
    link.symlink_to(target)
    saving.save_model(_fitted_model(), link)
    assert link.is_symlink()
    assert saving.read_config(target)["format"] == "convnp"


def test_non_finite_hyperparameters_in_a_file_are_refused(tmp_path):
    path = tmp_path / "m.convnp"
    saving.save_model(_fitted_model(), path)
    text = crafted.members(path)["config.json"].decode().replace('"rate": 0.5',
                                                                 '"rate": Infinity')
    assert "Infinity" in text
    bad = tmp_path / "bad.convnp"
    crafted.replace_members(path, bad, config__json=text.encode())
    with pytest.raises(ValueError, match="non-finite"):
        saving.load_model(bad)


def test_non_finite_metadata_still_loads(tmp_path):
    path = tmp_path / "m.convnp"
    saving.save_model(_fitted_model(), path, metadata={"test_loss": float("nan")})
    assert np.isnan(saving.load_model(path).metadata["test_loss"])


@pytest.mark.parametrize("epochs, error", [(2.7, TypeError), ("3", TypeError),
                                           (True, TypeError), (-1, ValueError)])
def test_epochs_must_be_an_int(epochs, error):
    # not an int: TypeError, as TF 2.21 raises for 2.7 and "3"
    model = _fitted_model()
    x, y = _xy()
    with pytest.raises(error, match="epochs"):
        model.fit(x, y, epochs=epochs, verbose=0)


def test_one_shot_generator_with_several_epochs_warns():
    model = _fitted_model()
    x, y = _xy()
    batches = ((x[i:i + 4], y[i:i + 4]) for i in range(0, 8, 4))
    with pytest.warns(UserWarning, match="ran out of data"):
        history = model.fit(batches, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 1


def test_float64_beyond_float32_range_is_refused():
    model = _fitted_model()
    x, y = _xy()
    x = x.astype(np.float64)
    x[0, 0] = 1e300
    with pytest.raises(ValueError, match="float32"):
        model.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match="float32"):
        model.predict(x, verbose=0)


# -- 8: trust and hygiene ------------------------------------------------------------------------

def test_files_respect_the_umask(tmp_path):
    old = os.umask(0o077)
    try:
        path = saving.save_model(_fitted_model(), tmp_path / "m.convnp")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_killed_save_leaves_nothing_behind_after_the_next_save(tmp_path):
    stale = tmp_path / f".m.convnp.{_dead_pid()}.abc123.tmp"
    stale.write_bytes(b"half a file")
    live = tmp_path / f".m.convnp.{os.getpid()}.def456.tmp"  # a save running now
    live.write_bytes(b"in progress")
    other = tmp_path / f".m.convnp.5.{_dead_pid()}.x.tmp"  # belongs to "m.convnp.5"
    other.write_bytes(b"not ours")
    saving.save_model(_fitted_model(), tmp_path / "m.convnp")
    assert not stale.exists()
    assert live.exists() and other.exists()


def _cli(*args):
    from convnp.app import cli

    return cli.main(list(args))


def test_cli_prints_class_names_escaped(tmp_path, capsys):
    Image = pytest.importorskip("PIL.Image")
    path = crafted.conv_classifier_file(tmp_path / "m.convnp", 8, 2, metadata={
        "class_names": ["\x1b[2Jred\nfake", "\x07b"]})
    image = tmp_path / "i.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(image)
    assert _cli("predict", str(path), str(image)) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b" in out or "\\x07" in out
    assert len(out.strip().splitlines()) == 1


def test_cli_evaluate_says_when_it_reads_the_files_data_path(tmp_path, capsys):
    path = crafted.conv_classifier_file(tmp_path / "m.convnp", 64, 6, metadata={
        "data": "no-such-place/\x1b[31mx.h5"})
    with pytest.raises(SystemExit):
        _cli("evaluate", str(path))
    err = capsys.readouterr().err
    assert "recorded in the model file" in err and "\x1b" not in err


def test_cli_train_out_is_all_new_or_all_old(tmp_path, monkeypatch):
    from convnp import plot

    out = tmp_path / "out"
    out.mkdir()
    for name in ("model.convnp", "history.csv", "history.png"):
        (out / name).write_text("old")
    stale = out / f".convnp-train.{_dead_pid()}.abc"
    stale.mkdir()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(plot, "history", broken)
    with pytest.raises(SystemExit):
        _cli("train", "happy", "--epochs", "1", "--out", str(out), "--data",
             str(_tiny_h5(tmp_path)))
    assert sorted(p.name for p in out.iterdir()) == ["history.csv", "history.png",
                                                      "model.convnp"]
    assert all((out / n).read_text() == "old" for n in ("model.convnp", "history.csv"))


def _tiny_h5(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "train_tiny.h5"
    with h5py.File(path, "w") as f:
        f["train_set_x"] = np.zeros((6, 64, 64, 3), np.uint8)
        f["train_set_y"] = np.array([0, 1, 0, 1, 0, 1])
    return path


# -- 9: clearer errors -----------------------------------------------------------------------------

def test_dict_loss_config_is_not_called_one_loss_per_output():
    model = _fitted_model()
    model.compile(optimizer="sgd", loss={"class_name": "BinaryCrossentropy", "config": {}})
    assert type(model.compiled_loss).__name__ == "BinaryCrossentropy"


def test_directory_as_data_is_called_a_directory(tmp_path, capsys):
    folder = tmp_path / "data.h5"
    folder.mkdir()
    with pytest.raises(SystemExit):
        _cli("train", "happy", "--epochs", "1", "--data", str(folder), "--out",
             str(tmp_path / "o"))
    assert "is a directory" in capsys.readouterr().err


def test_uint64_label_of_2_to_63_is_not_called_negative(tmp_path):
    h5py = pytest.importorskip("h5py")
    from convnp.datasets import load_h5

    path = tmp_path / "test_big.h5"
    with h5py.File(path, "w") as f:
        f["test_set_x"] = np.zeros((1, 2, 2, 3), np.uint8)
        f["test_set_y"] = np.array([2**63], np.uint64)
    with pytest.raises(ValueError, match="too large") as error:
        load_h5(path)
    assert "negative" not in str(error.value)


def test_bad_metadata_epochs_is_a_clear_error(tmp_path, capsys):
    path = crafted.conv_classifier_file(tmp_path / "m.convnp", 64, 2,
                                        metadata={"epochs": "abc"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(SystemExit):
            _cli("train", str(path), "--epochs", "1", "--data", str(_tiny_h5(tmp_path)),
                 "--out", str(tmp_path / "o"))
    err = capsys.readouterr().err
    assert "epochs" in err and "invalid literal" not in err



@pytest.mark.parametrize("config", [{"epsilon": float("inf")}, {"momentum": 0.9,
                                                               "epsilon": float("nan")}])
def test_non_finite_hyperparameters_in_layer_configs_are_refused(config):
    with pytest.raises(ValueError, match="not finite"):
        L.BatchNormalization.from_config(config)
    model = Sequential([L.Dense(2, input_shape=(3,)), L.BatchNormalization()])
    model_config = model.get_config()
    model_config["layers"][-1]["config"].update(config)
    with pytest.raises(ValueError, match="not finite"):
        Sequential.from_config(model_config)
