"""The course .h5 loader: the real test files, synthetic files, and broken ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from convnp.datasets import H5Dataset, load_h5

h5py = pytest.importorskip("h5py")


def write_h5(path: Path, **arrays) -> Path:
    with h5py.File(path, "w") as f:
        for key, value in arrays.items():
            f.create_dataset(key, data=value)
    return path


def images(m: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (m, 8, 8, 3), dtype=np.uint8)


# -- the course's own files ------------------------------------------------------------------

def test_happy_test_file(happy_h5):
    data = load_h5(happy_h5)
    assert isinstance(data, H5Dataset)
    assert data.x_train is None and data.y_train is None
    assert data.x_test.shape == (150, 64, 64, 3) and data.x_test.dtype == np.float32
    assert 0.0 <= data.x_test.min() and data.x_test.max() <= 1.0
    assert data.y_test.shape == (150,) and data.y_test.dtype == np.int64
    assert set(np.unique(data.y_test)) == {0, 1}
    assert data.classes == [0, 1] and data.num_classes == 2
    with h5py.File(happy_h5, "r") as f:
        raw = f["test_set_x"][()]
    np.testing.assert_array_equal(data.x_test, raw.astype(np.float32) / np.float32(255))


def test_signs_test_file(signs_h5):
    (x_train, y_train), (x_test, y_test) = load_h5(signs_h5)
    assert x_train is None and y_train is None
    assert x_test.shape == (120, 64, 64, 3)
    assert np.bincount(y_test).tolist() == [20] * 6
    assert load_h5(signs_h5).classes == [0, 1, 2, 3, 4, 5]


def test_truncated_copy_of_course_file(happy_h5, tmp_path):
    data = happy_h5.read_bytes()
    for fraction in (0.5, 0.05):
        cut = tmp_path / f"cut_{fraction}.h5"
        cut.write_bytes(data[: int(len(data) * fraction)])
        with pytest.raises(ValueError, match=str(cut.name)):
            load_h5(cut)


def test_corrupt_copy_of_course_file(signs_h5, tmp_path):
    bad = tmp_path / "corrupt.h5"
    shutil.copy(signs_h5, bad)
    raw = bytearray(bad.read_bytes())
    raw[:64] = b"\x00" * 64  # wipe the HDF5 signature and superblock
    bad.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="corrupt.h5"):
        load_h5(bad)


def test_not_hdf5_at_all(tmp_path):
    bad = tmp_path / "notes.h5"
    bad.write_text("this is not HDF5")
    with pytest.raises(ValueError, match="not a readable HDF5 file"):
        load_h5(bad)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_h5(tmp_path / "absent.h5")


# -- synthetic files ------------------------------------------------------------------------

def test_train_and_test_from_two_files(tmp_path):
    train = write_h5(tmp_path / "train.h5", train_set_x=images(10),
                     train_set_y=np.arange(10) % 3)
    test = write_h5(tmp_path / "test.h5", test_set_x=images(4, 1), test_set_y=[0, 1, 2, 0],
                    list_classes=np.array([b"a", b"b", b"c"]))
    data = load_h5(train, test)
    assert data.x_train.shape == (10, 8, 8, 3)
    assert data.y_train.tolist() == [0, 1, 2, 0, 1, 2, 0, 1, 2, 0]
    assert data.x_test.shape == (4, 8, 8, 3)
    assert data.classes == ["a", "b", "c"]


def test_course_row_vector_labels_are_flattened(tmp_path):
    path = write_h5(tmp_path / "row.h5", test_set_x=images(5),
                    test_set_y=np.array([[0, 1, 1, 0, 1]]))
    assert load_h5(path).y_test.tolist() == [0, 1, 1, 0, 1]


def test_float_images_in_unit_range_are_kept(tmp_path):
    x = np.random.default_rng(0).random((3, 4, 4, 3)).astype(np.float64)
    path = write_h5(tmp_path / "float.h5", test_set_x=x, test_set_y=[0, 1, 0])
    np.testing.assert_allclose(load_h5(path).x_test, x.astype(np.float32))


@pytest.mark.parametrize("arrays, message", [
    ({"test_set_x": images(4)}, "no test_set_y"),
    ({"test_set_y": [0, 1]}, "no test_set_x"),
    ({"something": [1, 2]}, "no course dataset"),
    ({"test_set_x": images(4), "test_set_y": [0, 1, 0]}, "4 images but test_set_y has 3"),
    ({"test_set_x": np.zeros((4, 8, 8), np.uint8), "test_set_y": [0] * 4}, "expected \\(m, n_H"),
    ({"test_set_x": np.zeros((4, 8, 8, 5), np.uint8), "test_set_y": [0] * 4}, "5 channels"),
    ({"test_set_x": np.full((2, 4, 4, 3), 300, np.int16), "test_set_y": [0, 1]}, "0..255"),
    ({"test_set_x": np.full((2, 4, 4, 3), 2.0), "test_set_y": [0, 1]}, "outside \\[0, 1\\]"),
    ({"test_set_x": np.array([[[[b"x"]]]]), "test_set_y": [0]}, "dtype"),
    ({"test_set_x": images(2), "test_set_y": [0.5, 1.0]}, "non-integer"),
    ({"test_set_x": images(2), "test_set_y": [-1, 0]}, "negative"),
    ({"test_set_x": images(2), "test_set_y": np.zeros((2, 2))}, "expected \\(m,\\)"),
    ({"test_set_x": images(2), "test_set_y": [0, 5], "list_classes": [0, 1]}, "list_classes has 2"),
])
def test_bad_contents_raise_value_error(tmp_path, arrays, message):
    path = write_h5(tmp_path / "bad.h5", **arrays)
    with pytest.raises(ValueError, match=message):
        load_h5(path)


def test_group_instead_of_dataset(tmp_path):
    path = tmp_path / "group.h5"
    with h5py.File(path, "w") as f:
        f.create_group("test_set_x")
        f.create_dataset("test_set_y", data=[0, 1])
    with pytest.raises(ValueError, match="group"):
        load_h5(path)


def test_same_split_in_two_files(tmp_path):
    a = write_h5(tmp_path / "a.h5", test_set_x=images(2), test_set_y=[0, 1])
    b = write_h5(tmp_path / "b.h5", test_set_x=images(2), test_set_y=[0, 1])
    with pytest.raises(ValueError, match="already read"):
        load_h5(a, b)


def test_conflicting_class_lists(tmp_path):
    a = write_h5(tmp_path / "a.h5", train_set_x=images(2), train_set_y=[0, 1], list_classes=[0, 1])
    b = write_h5(tmp_path / "b.h5", test_set_x=images(2), test_set_y=[0, 1], list_classes=[1, 0])
    with pytest.raises(ValueError, match="differs"):
        load_h5(a, b)
