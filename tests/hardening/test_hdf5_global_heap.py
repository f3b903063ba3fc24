"""A damaged HDF5 global heap is refused before the HDF5 library reads it.

Keras's weight-name lists are variable-length strings kept in global heap collections. A
fuzzed legacy ``.h5`` model file (seed 2026) whose name object's size grew by one byte flip
left a free-space entry of size 0, and the HDF5 library loops forever on that inside C code
(``load_model`` never returned). `convnp._hdf5.open_file` now walks the heaps first.
"""

import io
import struct

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

from convnp import _hdf5


def _names_file(path):
    with h5py.File(path, "w") as f:
        group = f.create_group("model_weights/conv2d")
        group.attrs["weight_names"] = np.array([b"sequential/conv2d/kernel",
                                                b"sequential/conv2d/bias"], dtype=object)
    return bytearray(path.read_bytes())


def _first_object(data: bytearray) -> int:
    at = data.find(b"GCOL\x01\x00\x00\x00")
    assert at >= 0, "h5py wrote no global heap"
    return at + 16  # the first object's header


def test_an_intact_file_opens(tmp_path):
    path = tmp_path / "ok.h5"
    _names_file(path)
    with _hdf5.open_file(h5py, str(path), "ok.h5") as f:
        names = f["model_weights/conv2d"].attrs["weight_names"]
        assert [n.decode() if isinstance(n, bytes) else n for n in names] == [
            "sequential/conv2d/kernel", "sequential/conv2d/bias"]


def test_a_grown_object_is_refused_before_hdf5_reads_it(tmp_path):
    path = tmp_path / "bad.h5"
    data = _names_file(path)
    first = _first_object(data)
    size = struct.unpack_from("<Q", data, first + 8)[0]
    struct.pack_into("<Q", data, first + 8, size + 256)  # the fuzz case's kind of flip
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="bad.h5: damaged HDF5 file"):
        _hdf5.open_file(h5py, str(path), "bad.h5")
    with open(path, "rb") as handle, pytest.raises(ValueError, match="damaged HDF5 file"):
        _hdf5.open_file(h5py, handle, "bad.h5")  # a file object too
    in_memory = io.BytesIO(bytes(data))  # a .keras file's weights member
    with pytest.raises(ValueError, match="damaged HDF5 file"):
        _hdf5.open_file(h5py, in_memory, "model.weights.h5")
    in_memory.write(b"more")  # the check let go of its view of the buffer


def test_a_heap_larger_than_the_file_is_refused(tmp_path):
    path = tmp_path / "big.h5"
    data = _names_file(path)
    at = data.find(b"GCOL\x01\x00\x00\x00")
    struct.pack_into("<Q", data, at + 8, 2**40)
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="declares 1099511627776 bytes"):
        _hdf5.open_file(h5py, str(path), "big.h5")


def test_a_missing_file_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="not a readable HDF5 file"):
        _hdf5.open_file(h5py, str(tmp_path / "none.h5"), "none.h5")
