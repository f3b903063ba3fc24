"""Damaged and hostile inputs end in a ValueError (or the CLI's one line), never a traceback
(issue 16, defect 6), and images are read at their true scale (defect 7)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import convnp
from convnp.io import saving
from tests.hardening import crafted

SRC = str(Path(convnp.__file__).resolve().parents[1])


def _saved(tmp_path, suffix=".convnp"):
    model = crafted.small_model()
    path = tmp_path / f"good{suffix}"
    model.save(path)
    return model, path


# -- images ---------------------------------------------------------------------------------

def _png(path, array, mode=None):
    Image = pytest.importorskip("PIL.Image")
    Image.fromarray(array, mode=mode).save(path) if mode else Image.fromarray(array).save(path)
    return path


def test_decompression_bomb_in_image_folder_is_a_value_error(tmp_path, monkeypatch):
    Image = pytest.importorskip("PIL.Image")
    from convnp.datasets import image_folder

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        _png(tmp_path / name / "x.png", np.zeros((100, 100, 3), np.uint8))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 10000 pixels: over twice the limit
    with pytest.raises(ValueError, match="x.png"):
        image_folder(tmp_path, image_size=(8, 8))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 6000)  # between 1x and 2x: only a warning
    with pytest.raises(ValueError, match="too many pixels"):
        image_folder(tmp_path, image_size=(8, 8))


def test_decompression_bomb_in_cli_predict_is_one_line(tmp_path, monkeypatch, capsys):
    Image = pytest.importorskip("PIL.Image")
    from convnp.app import cli

    image = _png(tmp_path / "big.png", np.zeros((100, 100, 3), np.uint8))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    crafted.conv_classifier_file(tmp_path / "conv.convnp", 8, 2)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["predict", str(tmp_path / "conv.convnp"), str(image), "--resize"])
    assert exit_info.value.code == 2
    assert "big.png" in capsys.readouterr().err


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    from convnp.datasets import image_folder

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        _png(tmp_path / name / "g.png", np.full((4, 4), 32768, np.uint16))
    x, _, _ = image_folder(tmp_path, image_size=(4, 4), color_mode="grayscale", shuffle=False)
    np.testing.assert_allclose(x, 32768 / 65535, atol=1 / 255)  # was 1.0 (clipped)
    x, _, _ = image_folder(tmp_path, image_size=(2, 2), color_mode="rgb", shuffle=False)
    assert x.shape == (2, 2, 2, 3)
    np.testing.assert_allclose(x, 32768 / 65535, atol=1 / 255)


def test_image_size_given_as_a_string_is_refused(tmp_path):
    from convnp.datasets import image_folder

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        _png(tmp_path / name / "g.png", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="image_size"):
        image_folder(tmp_path, image_size="64")


# -- model files ------------------------------------------------------------------------------

def test_crc_damage_in_keras_archive_is_a_value_error(tmp_path):
    pytest.importorskip("h5py")
    from convnp.io.keras_format import load_keras

    _, path = _saved(tmp_path, ".keras")
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("model.weights.h5")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF  # stored member: one byte of its data
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="model.weights.h5"):
        load_keras(path)


def test_shape_of_ten_to_the_thirty_is_a_value_error(tmp_path):
    _, path = _saved(tmp_path)
    config = crafted.config_json(path)
    config["weights"][0]["shape"] = [10**30]
    bad = tmp_path / "bad.convnp"
    crafted.replace_members(path, bad, config__json=json.dumps(config).encode())
    with pytest.raises(ValueError):
        saving.load_model(bad)


def test_unknown_compression_inside_the_npz_is_a_value_error(tmp_path):
    _, path = _saved(tmp_path)
    inner = bytearray(crafted.members(path)["weights.npz"])
    # compression method 99 in every local and central header of the inner npz
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        at = inner.find(signature)
        while at >= 0:
            inner[at + offset:at + offset + 2] = (99).to_bytes(2, "little")
            at = inner.find(signature, at + 4)
    bad = tmp_path / "bad.convnp"
    crafted.replace_members(path, bad, weights__npz=bytes(inner))
    with pytest.raises(ValueError, match="weights.npz"):
        saving.load_model(bad)


@pytest.mark.parametrize("suffix", [".convnp", ".keras"])
def test_deeply_nested_json_is_a_value_error(tmp_path, suffix):
    if suffix == ".keras":
        pytest.importorskip("h5py")
    _, path = _saved(tmp_path, suffix)
    bad = tmp_path / f"bad{suffix}"
    crafted.replace_members(path, bad, config__json=b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(ValueError, match="config.json"):
        saving.load_model(bad)


def test_duplicate_members_are_refused(tmp_path):
    _, path = _saved(tmp_path)
    items = list(crafted.members(path).items())
    bad = tmp_path / "dup.convnp"
    crafted.write_zip(bad, items + [("config.json", items[0][1])])
    with pytest.raises(ValueError, match="several members named"):
        saving.load_model(bad)


def test_truncated_convnp_does_not_report_the_inner_npz_members(tmp_path):
    _, path = _saved(tmp_path)
    data = path.read_bytes()
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("weights.npz")
    cut = tmp_path / "cut.convnp"
    # cut right after the inner npz: its end record is the last one in the file
    cut.write_bytes(data[:info.header_offset + 30 + len(info.filename) + info.compress_size])
    with pytest.raises(ValueError, match="truncated") as error:
        saving.load_model(cut)
    assert ".npy" not in str(error.value)


@pytest.mark.parametrize("damage", ["truncated", "not hdf5"])
def test_h5_errors_name_the_file(tmp_path, damage):
    pytest.importorskip("h5py")
    model, _ = _saved(tmp_path)
    path = tmp_path / "w.weights.h5"
    model.save_weights(path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2] if damage == "truncated" else b"x" * 4096)
    with pytest.raises(ValueError, match="w.weights.h5"):
        model.load_weights(path)


# -- the command line -------------------------------------------------------------------------

def test_cli_output_to_a_closed_pipe_is_quiet():
    env = {**os.environ, "PYTHONPATH": SRC}
    process = subprocess.Popen([sys.executable, "-m", "convnp", "summary", "signs"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    process.stdout.close()  # the reader (`| head`) is gone before anything is written
    err = process.stderr.read().decode()
    process.wait(timeout=120)
    # nothing to report: the reader just stopped reading
    assert err == "", err
