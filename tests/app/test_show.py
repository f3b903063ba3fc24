"""``convnp show``: every --what writes its PNGs; bad input is one line and exit 2, no files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import convnp as tf
from convnp.app import cli
from tests.product.test_cli import assert_clean_error, run, save_png

PIL = pytest.importorskip("PIL.Image")
pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> Path:
    pixels = np.zeros((64, 64, 3))
    pixels[16:48, 20:44] = [0.9, 0.7, 0.5]
    return save_png(pixels, tmp_path_factory.mktemp("img") / "face.png")


def _pngs(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize("what, files", [
    ("filters", ["filters.png"]),
    ("maps", ["feature_maps.png"]),
    ("saliency", ["saliency.png"]),
    ("gradcam", ["gradcam.png"]),
    ("all", ["feature_maps.png", "filters.png", "gradcam.png", "saliency.png"]),
])
def test_each_what_writes_its_files(tmp_path, image, what, files, capsys):
    # in this process (the error cases below run the real command in a subprocess)
    assert cli.main(["show", "happy", str(image), "--what", what, "--out", str(tmp_path)]) == 0
    assert _pngs(tmp_path) == files
    printed = capsys.readouterr().out.splitlines()
    assert sorted(Path(line).name for line in printed) == files
    for name in files:
        with PIL.open(tmp_path / name) as im:
            assert im.format == "PNG"
            assert np.asarray(im.convert("L"), dtype=float).var() > 50


def test_data_draws_the_confusion_matrix_and_misclassified(tmp_path):
    assert cli.main(["show", "signs", "--data", "signs", "--out", str(tmp_path)]) == 0
    assert _pngs(tmp_path) == ["confusion_matrix.png", "misclassified.png"]


def test_a_layer_and_a_class_can_be_chosen(tmp_path, image):
    tf.keras.backend.clear_session()  # automatic layer names start again at conv2d
    assert cli.main(["show", "signs", str(image), "--what", "gradcam", "--layer", "conv2d",
                     "--class", "3", "--out", str(tmp_path)]) == 0
    assert _pngs(tmp_path) == ["gradcam.png"]


@pytest.mark.parametrize("args, words", [
    (["show", "happy", "--what", "saliency"], "needs an IMAGE"),
    (["show", "happy", "missing.png"], "no such image"),
    (["show", "nope.convnp"], "no such model file"),
    (["show", "happy", "--what", "colours"], "invalid choice"),
    (["show", "happy", "--layer", "nope", "--what", "filters"], "no layer named 'nope'"),
    (["show", "signs", "--class", "-1"], "expected an integer >= 0"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, args, words):
    out = tmp_path / "pictures"
    result = run(*args, "--out", out, cwd=tmp_path)
    assert_clean_error(result, words)
    assert not out.exists()


def test_a_class_out_of_range_writes_no_partial_files(tmp_path, image):
    out = tmp_path / "pictures"
    result = run("show", "signs", image, "--class", "9", "--out", out)
    assert_clean_error(result, "[0, 5]")
    assert not out.exists()  # filters and maps were drawn, but nothing was written
