"""Readers of the files behind ``keras.datasets`` (MNIST, Fashion-MNIST, CIFAR-10/100).

Each checks what a file declares against what it stores before allocating (see
docs/limits.md), and never unpickles anything:

* MNIST: Keras' ``mnist.npz`` (``x_train``, ``y_train``, ``x_test``, ``y_test``), read with
  ``allow_pickle=False`` after checking each member's declared size.
* Fashion-MNIST: the four gzip IDX files (a big-endian header: two zero bytes, the element
  type ``0x08`` for unsigned bytes, the number of dimensions, then one 4-byte size each).
* CIFAR-10/100: Keras downloads the *Python* version, a set of pickles, which convnp must not
  load. convnp reads the *binary* version instead (``cifar-10-binary.tar.gz``,
  ``cifar-100-binary.tar.gz`` from the same site): fixed-size records of label byte(s) then
  3072 pixel bytes (1024 red, 1024 green, 1024 blue, each 32x32 row-major), read straight
  from the archive or from its extracted folder.
"""

from __future__ import annotations

import gzip
import os
import tarfile
from pathlib import Path

import numpy as np

from convnp._limits import expansion_limit
from convnp.datasets.download import cache_root, get_file

__all__ = ["cached_or_fetched", "load_cifar", "load_fashion_mnist", "load_idx", "load_mnist_npz"]

_KERAS_BUCKET = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_CIFAR_SITE = "https://www.cs.toronto.edu/~kriz/"
_PIXELS = 32 * 32 * 3

MNIST_ORIGIN = _KERAS_BUCKET + "mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
FASHION_ORIGIN = _KERAS_BUCKET
FASHION_FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")

#: name -> (archive, md5 of the archive, folder inside it, training files, test file,
#:          label bytes per record, records of the full training set, of the test set)
CIFAR = {
    "cifar10": ("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530",
                "cifar-10-batches-bin", tuple(f"data_batch_{i}.bin" for i in range(1, 6)),
                "test_batch.bin", 1, 50000, 10000),
    "cifar100": ("cifar-100-binary.tar.gz", "03b5dce01913d631647c71ecec9e9cb8",
                 "cifar-100-binary", ("train.bin",), "test.bin", 2, 50000, 10000),
}


def cached_or_fetched(fname: str, origin: str, file_hash=None, cache_subdir="datasets") -> str:
    """The file in Keras' cache as it is (a copy put there by hand is trusted, so a local
    subset works too), else downloaded with `get_file`, whose hash check then applies."""
    local = cache_root() / cache_subdir / fname
    if local.is_file():
        return str(local)
    return get_file(fname, origin=origin, file_hash=file_hash, cache_subdir=cache_subdir)


# -- MNIST ------------------------------------------------------------------------------------

def load_mnist_npz(path) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)`` from a Keras ``mnist.npz``."""
    from convnp.io._zip import open_archive, read_member

    label = str(path)
    limit = 4 * 70000 * 28 * 28  # far above MNIST's 47 MB, far below harm
    arrays = {}
    with open_archive(path, label, "an MNIST .npz file") as archive:
        for key in ("x_train", "y_train", "x_test", "y_test"):
            data = read_member(archive, label, f"{key}.npy", limit=limit)
            arrays[key] = _npy(data, label, key)
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(f"{label}: x_{split} must be (n, rows, cols) and y_{split} (n,), "
                             f"got {x.shape} and {y.shape}")
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _npy(data: bytes, label: str, key: str) -> np.ndarray:
    import io

    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"{label}: member {key}.npy is not a plain array ({exc})") from None
    if array.dtype.kind not in "ui":
        raise ValueError(f"{label}: {key} must hold integers, got dtype {array.dtype}")
    return array


# -- IDX (Fashion-MNIST) ----------------------------------------------------------------------

def load_idx(path, ndim: int) -> np.ndarray:
    """An unsigned-byte IDX array of ``ndim`` dimensions from a gzip file."""
    label = str(path)
    stored = os.path.getsize(path)
    header_size = 4 + 4 * ndim
    try:
        with gzip.open(path, "rb") as f:
            header = f.read(header_size)
            if len(header) != header_size or header[:2] != b"\0\0":
                raise ValueError(f"{label} is not an IDX file (bad header {header[:4]!r})")
            if header[2] != 0x08 or header[3] != ndim:
                raise ValueError(f"{label}: expected unsigned bytes (type 0x08) in {ndim} "
                                 f"dimensions, got type 0x{header[2]:02x} in {header[3]}")
            shape = tuple(int.from_bytes(header[4 + 4 * i:8 + 4 * i], "big")
                          for i in range(ndim))
            size = int(np.prod(shape, dtype=np.int64))
            if size > expansion_limit(stored):
                raise ValueError(f"{label} declares {shape} = {size} bytes from {stored} "
                                 "stored; refusing to expand it (damaged or hostile file)")
            data = f.read(size + 1)
    except (OSError, EOFError) as exc:
        raise ValueError(f"{label}: cannot read the gzip IDX file ({exc})") from None
    if len(data) != size:
        raise ValueError(f"{label}: the header declares {shape} ({size} bytes) but the file "
                         f"holds {len(data) if len(data) <= size else 'more than that'}")
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


def load_fashion_mnist():
    """``(x_train, y_train), (x_test, y_test)`` of Fashion-MNIST from Keras' cache folder
    ``datasets/fashion-mnist`` (downloaded there if missing)."""
    paths = [cached_or_fetched(name, FASHION_ORIGIN + name,
                               cache_subdir=os.path.join("datasets", "fashion-mnist"))
             for name in FASHION_FILES]
    y_train, x_train = load_idx(paths[0], 1), load_idx(paths[1], 3)
    y_test, x_test = load_idx(paths[2], 1), load_idx(paths[3], 3)
    for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if len(x) != len(y):
            raise ValueError(f"Fashion-MNIST {split}: {len(x)} images but {len(y)} labels")
    return (x_train, y_train), (x_test, y_test)


# -- CIFAR (binary version) -------------------------------------------------------------------

def load_cifar(name: str, label_index: int = -1):
    """``(x_train, y_train), (x_test, y_test)`` of ``"cifar10"`` or ``"cifar100"`` from the
    binary version; ``label_index`` picks the label byte (CIFAR-100: 0 coarse, 1 fine)."""
    archive, md5, folder, train_files, test_file, label_bytes, n_train, n_test = CIFAR[name]
    extracted = cache_root() / "datasets" / folder
    wanted = [*train_files, test_file]
    if all((extracted / f).is_file() for f in wanted):  # extracted by hand
        raw = {f: _read_records_file(extracted / f, label_bytes, n_train) for f in wanted}
    else:
        path = cached_or_fetched(archive, _CIFAR_SITE + archive, file_hash=md5)
        raw = _read_records_tar(Path(path), folder, wanted, label_bytes, n_train)
    train = [_split_records(raw[f], label_bytes) for f in train_files]
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    x_test, y_test = _split_records(raw[test_file], label_bytes)
    if len(x_train) > n_train or len(x_test) > n_test:
        raise ValueError(f"{name}: {len(x_train)} training / {len(x_test)} test records, more "
                         f"than the dataset's {n_train} / {n_test}")
    pick = label_index % label_bytes
    return ((x_train, y_train[:, pick:pick + 1].copy()),
            (x_test, y_test[:, pick:pick + 1].copy()))


def _check_record_size(label: str, size: int, label_bytes: int, most: int) -> int:
    record = label_bytes + _PIXELS
    if size % record or size // record > most:
        raise ValueError(f"{label}: {size} bytes is not a whole number of {record}-byte records "
                         f"(at most {most}); not a CIFAR binary file")
    return size // record


def _read_records_file(path: Path, label_bytes: int, most: int) -> np.ndarray:
    _check_record_size(str(path), path.stat().st_size, label_bytes, most)
    return np.fromfile(path, dtype=np.uint8)


def _read_records_tar(path: Path, folder: str, files, label_bytes: int, most: int):
    raw = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            for name in files:
                member_name = f"{folder}/{name}"
                try:
                    member = tar.getmember(member_name)
                except KeyError:
                    raise ValueError(f"{path} has no member {member_name}; is it the CIFAR "
                                     "binary version?") from None
                if not member.isfile():
                    raise ValueError(f"{path}: {member_name} is not a regular file")
                _check_record_size(f"{path}:{member_name}", member.size, label_bytes, most)
                with tar.extractfile(member) as f:
                    data = f.read(member.size)
                if len(data) != member.size:
                    raise ValueError(f"{path}: {member_name} is truncated")
                raw[name] = np.frombuffer(data, dtype=np.uint8)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ValueError(f"{path}: cannot read the CIFAR archive ({exc})") from None
    return raw


def _split_records(raw: np.ndarray, label_bytes: int):
    """``(images (n, 32, 32, 3) uint8, labels (n, label_bytes) uint8)`` from raw records."""
    records = raw.reshape(-1, label_bytes + _PIXELS)
    images = records[:, label_bytes:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), records[:, :label_bytes]
