"""image_folder: class sub-folders of PNG/JPEG files → arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from convnp.datasets import image_folder

Image = pytest.importorskip("PIL.Image")


def save(path: Path, array: np.ndarray, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **kwargs)
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """cats: 2 RGB PNGs (one 64×64, one 20×30); dogs: 1 grayscale PNG, 1 RGBA PNG, 1 JPEG."""
    root = tmp_path / "photos"
    save(root / "cats" / "a.png", np.full((64, 64, 3), [255, 0, 0], np.uint8))
    save(root / "cats" / "b.png", np.full((20, 30, 3), [0, 255, 0], np.uint8))
    save(root / "dogs" / "c.png", np.full((64, 64), 128, np.uint8))
    save(root / "dogs" / "d.png", np.full((10, 10, 4), [0, 0, 255, 7], np.uint8))
    save(root / "dogs" / "e.JPG", np.full((16, 16, 3), 200, np.uint8), quality=95)
    (root / "dogs" / "notes.txt").write_text("ignored")
    (root / ".hidden").mkdir()
    return root


def test_loads_classes_in_sorted_order(tree):
    x, y, names = image_folder(tree)
    assert names == ["cats", "dogs"]
    assert x.shape == (5, 64, 64, 3) and x.dtype == np.float32
    assert y.dtype == np.int64 and y.tolist() == [0, 0, 1, 1, 1]
    assert 0.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_allclose(x[0, 0, 0], [1, 0, 0])
    np.testing.assert_allclose(x[1, 5, 5], [0, 1, 0])  # resized from 20×30
    np.testing.assert_allclose(x[2, 0, 0], [128 / 255] * 3)  # grayscale → RGB
    np.testing.assert_allclose(x[3, 0, 0], [0, 0, 1])  # alpha dropped
    np.testing.assert_allclose(x[4, 8, 8], [200 / 255] * 3, atol=3 / 255)  # JPEG is lossy


def test_image_size_and_modes(tree):
    x, y, _ = image_folder(tree, image_size=(8, 12), color_mode="grayscale",
                           label_mode="categorical")
    assert x.shape == (5, 8, 12, 1)
    assert y.shape == (5, 2) and y.dtype == np.float32
    x, y, _ = image_folder(tree, image_size=(4, 4), color_mode="rgba", label_mode="binary")
    assert x.shape == (5, 4, 4, 4) and y.shape == (5, 1)


def test_class_names_select_and_order(tree):
    x, y, names = image_folder(tree, class_names=["dogs", "cats"])
    assert names == ["dogs", "cats"] and y.tolist() == [0, 0, 0, 1, 1]
    x, y, names = image_folder(tree, class_names=["cats"])
    assert len(x) == 2 and names == ["cats"]


def test_shuffle_keeps_pairs(tree):
    x, y, _ = image_folder(tree)
    xs, ys, _ = image_folder(tree, shuffle=True, seed=3)
    assert sorted(ys.tolist()) == sorted(y.tolist())
    for image, label in zip(xs, ys):
        match = [i for i in range(len(x)) if np.array_equal(x[i], image)]
        assert match and y[match[0]] == label
    xs2, ys2, _ = image_folder(tree, shuffle=True, seed=3)
    np.testing.assert_array_equal(xs, xs2)
    np.testing.assert_array_equal(ys, ys2)


def test_empty_directory(tmp_path):
    with pytest.raises(ValueError, match="no class sub-folders"):
        image_folder(tmp_path)


def test_class_folder_without_images(tree):
    (tree / "birds").mkdir()
    (tree / "birds" / "readme.md").write_text("nothing here")
    with pytest.raises(ValueError, match="birds"):
        image_folder(tree)


def test_unreadable_image_is_named(tree):
    (tree / "cats" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    with pytest.raises(ValueError, match="broken.png"):
        image_folder(tree)


def test_missing_and_file_paths(tmp_path):
    with pytest.raises(FileNotFoundError):
        image_folder(tmp_path / "nope")
    f = tmp_path / "file.png"
    f.write_bytes(b"")
    with pytest.raises(ValueError, match="directory"):
        image_folder(f)


@pytest.mark.parametrize("kwargs, message", [
    ({"image_size": (0, 4)}, "positive"),
    ({"image_size": 64}, "height, width"),
    ({"color_mode": "cmyk"}, "color_mode"),
    ({"label_mode": "sparse"}, "label_mode"),
    ({"interpolation": "magic"}, "interpolation"),
    ({"class_names": ["cats", "fish"]}, "fish"),
    ({"class_names": ["cats", "cats"]}, "duplicates"),
])
def test_bad_arguments(tree, kwargs, message):
    with pytest.raises(ValueError, match=message):
        image_folder(tree, **kwargs)


def test_binary_needs_two_classes(tree):
    (tree / "birds").mkdir()
    save(tree / "birds" / "x.png", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="exactly 2"):
        image_folder(tree, label_mode="binary")
