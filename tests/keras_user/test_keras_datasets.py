"""keras.datasets.{mnist, fashion_mnist, cifar10, cifar100} and keras.utils.get_file, on tiny
fake files in a temporary KERAS_HOME (nothing is ever downloaded: the network is refused)."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import urllib.request
import zipfile

import numpy as np
import pytest

import convnp as tf

ASKED: list[str] = []  # URLs the refused network was asked for, per test


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    ASKED.clear()
    asked = ASKED

    def offline(url, *args, **kwargs):
        asked.append(url)
        raise OSError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    root = tmp_path / "kh" / "datasets"
    root.mkdir(parents=True)
    return root


def _npz(path, **arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.write_bytes(buffer.getvalue())


def test_mnist_from_keras_cache(home):
    rng = np.random.default_rng(0)
    x_tr = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    y_tr = rng.integers(0, 10, 5).astype(np.uint8)
    x_te = rng.integers(0, 256, (2, 28, 28), dtype=np.uint8)
    y_te = np.array([3, 4], np.uint8)
    _npz(home / "mnist.npz", x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te)
    (a, b), (c, d) = tf.keras.datasets.mnist.load_data()
    np.testing.assert_array_equal(a, x_tr)
    assert a.dtype == np.uint8 and b.shape == (5,) and b.dtype == np.uint8
    np.testing.assert_array_equal(d, y_te)
    assert c.shape == (2, 28, 28)


def test_keras_datasets_import_forms():
    from convnp.keras.datasets import cifar10, mnist

    assert mnist is tf.keras.datasets.mnist is tf.datasets.mnist
    assert cifar10.load_data is tf.keras.datasets.cifar10.load_data
    assert tf.keras.datasets.load is tf.datasets.load  # convnp's own loaders stay there


def test_mnist_refuses_object_arrays_and_bad_shapes(home):
    _npz(home / "mnist.npz", x_train=np.array([{"a": 1}], dtype=object),
         y_train=np.zeros(1, np.uint8), x_test=np.zeros((1, 28, 28), np.uint8),
         y_test=np.zeros(1, np.uint8))
    with pytest.raises(ValueError, match="x_train"):
        tf.keras.datasets.mnist.load_data()
    _npz(home / "mnist.npz", x_train=np.zeros((3, 28, 28), np.uint8),
         y_train=np.zeros(2, np.uint8), x_test=np.zeros((1, 28, 28), np.uint8),
         y_test=np.zeros(1, np.uint8))
    with pytest.raises(ValueError, match="y_train"):
        tf.keras.datasets.mnist.load_data()


def test_missing_file_offline_names_url_and_place(home):
    with pytest.raises(OSError) as info:
        tf.keras.datasets.mnist.load_data()
    message = str(info.value)
    assert "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz" in message
    assert str(home / "mnist.npz") in message
    assert ASKED and not list(home.glob("*.part")) and not list(home.glob(".*"))


def _idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def test_fashion_mnist_idx_files(home):
    folder = home / "fashion-mnist"
    folder.mkdir()
    rng = np.random.default_rng(1)
    x_tr = rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)
    x_te = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    _idx(folder / "train-images-idx3-ubyte.gz", x_tr)
    _idx(folder / "train-labels-idx1-ubyte.gz", np.array([0, 9, 2, 3]))
    _idx(folder / "t10k-images-idx3-ubyte.gz", x_te)
    _idx(folder / "t10k-labels-idx1-ubyte.gz", np.array([1, 1, 7]))
    (a, b), (c, d) = tf.keras.datasets.fashion_mnist.load_data()
    np.testing.assert_array_equal(a, x_tr)
    np.testing.assert_array_equal(c, x_te)
    assert b.tolist() == [0, 9, 2, 3] and d.dtype == np.uint8 and d.shape == (3,)


def test_idx_refuses_lying_header(home):
    folder = home / "fashion-mnist"
    folder.mkdir()
    # declares 60000 x 2000 x 2000 bytes, stores a few: refused before allocating
    header = bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (60000, 2000, 2000))
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(header + b"\0" * 10))
    for name in ("train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        _idx(folder / name, np.zeros(2))
    _idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match="refusing to expand"):
        tf.keras.datasets.fashion_mnist.load_data()
    _idx(folder / "train-images-idx3-ubyte.gz", np.zeros((2, 28, 28)))
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big") + b"\1\2"))
    with pytest.raises(ValueError, match="declares"):
        tf.keras.datasets.fashion_mnist.load_data()


def _cifar_records(n, label_bytes, seed):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, (n, label_bytes), dtype=np.uint8)
    planes = images.transpose(0, 3, 1, 2).reshape(n, 3072)  # R plane, G plane, B plane
    return images, labels, np.concatenate([labels, planes], axis=1).tobytes()


def _tar(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_cifar10_from_binary_archive(home):
    parts = [_cifar_records(2, 1, seed) for seed in range(6)]
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    _tar(home / "cifar-10-binary.tar.gz",
         {f"cifar-10-batches-bin/{n}": p[2] for n, p in zip(names, parts)})
    (a, b), (c, d) = tf.keras.datasets.cifar10.load_data()
    assert a.shape == (10, 32, 32, 3) and a.dtype == np.uint8
    assert b.shape == (10, 1) and b.dtype == np.uint8
    np.testing.assert_array_equal(a, np.concatenate([p[0] for p in parts[:5]]))
    np.testing.assert_array_equal(b[:, 0], np.concatenate([p[1][:, 0] for p in parts[:5]]))
    np.testing.assert_array_equal(c, parts[5][0])
    assert d.shape == (2, 1)


def test_cifar100_from_extracted_folder_fine_and_coarse(home):
    folder = home / "cifar-100-binary"
    folder.mkdir()
    x_tr, y_tr, raw_tr = _cifar_records(3, 2, 7)
    _, y_te, raw_te = _cifar_records(2, 2, 8)
    (folder / "train.bin").write_bytes(raw_tr)
    (folder / "test.bin").write_bytes(raw_te)
    (a, b), (_, d) = tf.keras.datasets.cifar100.load_data()
    assert d.shape == (2, 1)
    np.testing.assert_array_equal(a, x_tr)
    np.testing.assert_array_equal(b[:, 0], y_tr[:, 1])  # fine: the second label byte
    assert b.shape == (3, 1) and b.dtype == np.int64
    (_, b2), (_, d2) = tf.keras.datasets.cifar100.load_data(label_mode="coarse")
    np.testing.assert_array_equal(b2[:, 0], y_tr[:, 0])
    np.testing.assert_array_equal(d2[:, 0], y_te[:, 0])
    with pytest.raises(ValueError, match="label_mode"):
        tf.keras.datasets.cifar100.load_data(label_mode="medium")


def test_cifar_refuses_partial_records(home):
    folder = home / "cifar-100-binary"
    folder.mkdir()
    (folder / "train.bin").write_bytes(b"\0" * 3075)
    (folder / "test.bin").write_bytes(b"\0" * 3000)
    with pytest.raises(ValueError, match="whole number of 3074-byte records"):
        tf.keras.datasets.cifar100.load_data()


# -- get_file ----------------------------------------------------------------------------------

def _serve(monkeypatch, payloads):
    """urlopen answering from ``payloads`` (url -> bytes), recording the URLs asked."""
    asked = []

    def fake(url, *args, **kwargs):
        asked.append(url)
        return io.BytesIO(payloads[url])

    monkeypatch.setattr(urllib.request, "urlopen", fake)
    return asked


def test_get_file_downloads_checks_hash_and_caches(home, monkeypatch, tmp_path):
    data = b"hello convnp"
    asked = _serve(monkeypatch, {"https://x.test/a/file.txt": data})
    sha = hashlib.sha256(data).hexdigest()
    path = tf.keras.utils.get_file(origin="https://x.test/a/file.txt", file_hash=sha)
    assert path == str(home / "file.txt")
    with open(path, "rb") as f:
        assert f.read() == data
    tf.keras.utils.get_file("file.txt", "https://x.test/a/file.txt", file_hash=sha)
    assert len(asked) == 1  # cached the second time
    md5 = hashlib.md5(data).hexdigest()
    other = tf.keras.utils.get_file("b.txt", "https://x.test/a/file.txt", md5_hash=md5,
                                    cache_dir=tmp_path / "elsewhere", cache_subdir="sub")
    assert other == str(tmp_path / "elsewhere" / "sub" / "b.txt")
    with pytest.raises(ValueError, match="corrupted"):
        tf.keras.utils.get_file("c.txt", "https://x.test/a/file.txt", file_hash="0" * 64)
    assert not (home / "c.txt").exists() and not [p for p in home.iterdir()
                                                   if p.name.startswith(".")]


def test_get_file_extracts_tar_and_zip_and_refuses_escapes(home, monkeypatch):
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w:gz") as tar:
        info = tarfile.TarInfo("photos/a.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    zip_bytes = io.BytesIO()
    with zipfile.ZipFile(zip_bytes, "w") as zf:
        zf.writestr("inner/b.txt", "zip!")
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    _serve(monkeypatch, {"https://x.test/photos.tgz": tar_bytes.getvalue(),
                         "https://x.test/z.zip": zip_bytes.getvalue(),
                         "https://x.test/evil.tar.gz": evil.getvalue()})
    folder = tf.keras.utils.get_file(origin="https://x.test/photos.tgz", extract=True)
    assert folder == str(home / "photos.tgz")
    assert (home / "photos.tgz" / "photos" / "a.txt").read_bytes() == b"abc"
    folder = tf.keras.utils.get_file("z.zip", "https://x.test/z.zip", extract=True)
    assert folder == str(home / "z_extracted")
    assert (home / "z_extracted" / "inner" / "b.txt").read_text() == "zip!"
    with pytest.raises(ValueError, match="refusing the archive member"):
        tf.keras.utils.get_file("evil.tar.gz", "https://x.test/evil.tar.gz", extract=True)
    assert not (home.parent / "escape.txt").exists() and not (home / "evil_extracted").exists()


def test_get_file_argument_errors(home):
    with pytest.raises(ValueError, match="origin"):
        tf.keras.utils.get_file("a.txt")
    with pytest.raises(ValueError, match="plain file name"):
        tf.keras.utils.get_file("dir/a.txt", origin="https://x.test/a.txt")
    with pytest.raises(ValueError, match="hash_algorithm"):
        tf.keras.utils.get_file("a.txt", origin="https://x.test/a.txt", hash_algorithm="sha1")
    with pytest.raises(ValueError, match="archive_format"):
        tf.keras.utils.get_file("a.txt", origin="https://x.test/a.txt", archive_format="rar")
    assert not ASKED
