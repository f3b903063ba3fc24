"""HDF5 files must not make convnp read other files (issue 16, defect 1).

Each crafted file below points one dataset at a "secret" file next to it, through HDF5
external storage, an external link or a virtual dataset. The loaders must refuse it with a
ValueError naming the dataset, for Keras weight files, the weights inside a ``.keras`` archive
and course ``.h5`` files.
"""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

import convnp.layers as L
from convnp.models import Sequential

h5py = pytest.importorskip("h5py")

KINDS = ["external_storage", "external_link", "virtual"]


def _secret_files(tmp_path, shape, dtype):
    secret = (np.arange(np.prod(shape)) % 200 + 50).astype(dtype).reshape(shape)
    raw = tmp_path / "secret.bin"
    raw.write_bytes(secret.tobytes())
    other = tmp_path / "secret.h5"
    with h5py.File(other, "w") as f:
        f["x"] = secret
    return raw, other


def _outside_dataset(group, name, kind, tmp_path, shape=(3, 4), dtype="<f4"):
    """Make ``group[name]`` a dataset whose bytes (a readable array of the right shape and
    dtype) come from a file next to it."""
    raw, other = _secret_files(tmp_path, shape, dtype)
    if kind == "external_storage":
        group.create_dataset(name, shape=shape, dtype=dtype,
                             external=[(str(raw), 0, h5py.h5f.UNLIMITED)])
    elif kind == "external_link":
        group[name] = h5py.ExternalLink(str(other), "/x")
    else:
        layout = h5py.VirtualLayout(shape=shape, dtype=dtype)
        layout[...] = h5py.VirtualSource(str(other), "x", shape=shape)
        group.create_virtual_dataset(name, layout)


def _model():
    return Sequential([L.Dense(4, input_shape=(3,))])


def _weights_file(path, kind, tmp_path):
    model = _model()
    model.save_weights(path)
    with h5py.File(path, "r+") as f:
        vars_group = f["layers/dense/vars"]
        del vars_group["0"]
        _outside_dataset(vars_group, "0", kind, tmp_path)
    return model


@pytest.mark.parametrize("kind", KINDS)
def test_weights_h5_reading_another_file_is_refused(tmp_path, kind):
    path = tmp_path / "m.weights.h5"
    _weights_file(path, kind, tmp_path)
    model = _model()
    before = model.get_weights()[0].copy()
    with pytest.raises(ValueError, match="layers/dense/vars/0"):
        model.load_weights(path)
    np.testing.assert_array_equal(model.get_weights()[0], before)


@pytest.mark.parametrize("kind", KINDS)
def test_keras_archive_weights_reading_another_file_are_refused(tmp_path, kind):
    from convnp.interop.keras_format import load_keras

    good = tmp_path / "good.keras"
    model = _model()
    model.save(good)
    inner = tmp_path / "inner.weights.h5"
    with zipfile.ZipFile(good) as z:
        inner.write_bytes(z.read("model.weights.h5"))
        config = z.read("config.json")
        metadata = z.read("metadata.json")
    with h5py.File(inner, "r+") as f:
        del f["layers/dense/vars/0"]
        _outside_dataset(f["layers/dense/vars"], "0", kind, tmp_path)
    bad = tmp_path / "bad.keras"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("metadata.json", metadata)
        z.writestr("config.json", config)
        z.writestr("model.weights.h5", inner.read_bytes())
    with pytest.raises(ValueError, match="layers/dense/vars/0"):
        load_keras(bad)


@pytest.mark.parametrize("kind", KINDS)
def test_course_h5_reading_another_file_is_refused(tmp_path, kind):
    from convnp.datasets import load_h5

    path = tmp_path / "test_x.h5"
    with h5py.File(path, "w") as f:
        _outside_dataset(f, "test_set_x", kind, tmp_path, shape=(1, 2, 2, 3), dtype="u1")
        f["test_set_y"] = np.array([0])
    with pytest.raises(ValueError, match="test_set_x"):
        load_h5(path)


def test_soft_links_inside_the_file_still_load(tmp_path):
    from convnp.datasets import load_h5

    path = tmp_path / "test_soft.h5"
    with h5py.File(path, "w") as f:
        f["real_x"] = np.zeros((1, 2, 2, 3), np.uint8)
        f["test_set_x"] = h5py.SoftLink("/real_x")
        f["test_set_y"] = np.array([0])
    data = load_h5(path)
    assert data.x_test.shape == (1, 2, 2, 3)


def test_filter_plugins_are_refused(tmp_path):
    # HDF5 would look for filter 32001 as a plugin (a shared library) on disk
    from convnp.datasets import load_h5

    path = tmp_path / "test_plugin.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("test_set_x", data=np.zeros((1, 2, 2, 3), np.uint8),
                         chunks=(1, 2, 2, 3), compression=32001, allow_unknown_filter=True)
        f["test_set_y"] = np.array([0])
    with pytest.raises(ValueError, match="test_set_x.*plugin"):
        load_h5(path)


def test_variable_length_string_class_names_still_load(tmp_path):
    from convnp.datasets import load_h5

    path = tmp_path / "test_vlen.h5"
    with h5py.File(path, "w") as f:
        f["test_set_x"] = np.zeros((2, 2, 2, 3), np.uint8)
        f["test_set_y"] = np.array([0, 1])
        f.create_dataset("list_classes", data=["cat", "dog"], dtype=h5py.string_dtype())
    assert load_h5(path).classes == ["cat", "dog"]
