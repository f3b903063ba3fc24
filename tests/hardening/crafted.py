"""Crafted files for the hardening tests, made in the test from a small legitimate model."""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib

import numpy as np


def small_model():
    import convnp.layers as L
    from convnp.models import Sequential

    model = Sequential([L.Dense(4, input_shape=(3,)), L.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {info.filename: z.read(info) for info in z.infolist()}


def write_zip(path, items, compression=zipfile.ZIP_STORED) -> None:
    """``items``: (name, bytes) pairs, duplicates allowed."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w", compression=compression) as z:
            for name, data in items:
                z.writestr(name, data)


def npy_with_shape(shape, dtype="<f4", data=b"") -> bytes:
    """An .npy file whose header declares ``shape`` but that holds only ``data``."""
    header = repr({"descr": dtype, "fortran_order": False, "shape": tuple(shape)})
    header = header.encode("latin1")
    pad = 64 - (10 + len(header) + 1) % 64
    header += b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data


def npz(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    write_zip(buffer, [(f"{k}.npy", v) for k, v in entries.items()])
    return buffer.getvalue()


def deflate_bomb_zip(path, name: str, declared: int, others=()) -> None:
    """A zip whose member ``name`` inflates to ``declared`` zero bytes (header and stream
    consistent, CRC not), written in a blink from a repeated deflate block."""
    block_size = 1 << 20
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(b"\0" * block_size) + compressor.flush(zlib.Z_FULL_FLUSH)
    stream = block * (declared // block_size) + zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    with zipfile.ZipFile(path, "w") as z:
        for other_name, data in others:
            z.writestr(other_name, data)
    with open(path, "rb") as f:
        head = f.read()
    # append the bomb by hand: local header, data, then rebuild the central directory
    with zipfile.ZipFile(io.BytesIO(head)) as z:
        infos = z.infolist()
    cd_start = _cd_offset(head)  # local data ends where the central directory starts
    body = head[:cd_start]
    name_bytes = name.encode()
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, 0,
                        0xFFFFFFFF if len(stream) >= 2**32 else len(stream),
                        min(declared, 0xFFFFFFFF), len(name_bytes), 0)
    bomb_offset = len(body)
    body += local + name_bytes + stream
    central = b""
    for info in infos:
        central += _central(info.filename.encode(), info.compress_type, info.CRC,
                            info.compress_size, info.file_size, info.header_offset)
    central += _central(name_bytes, 8, 0, len(stream), declared, bomb_offset)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(infos) + 1, len(infos) + 1,
                      len(central), len(body), 0)
    with open(path, "wb") as f:
        f.write(body + central + end)


def _cd_offset(data: bytes) -> int:
    end = data.rfind(b"PK\x05\x06")
    return struct.unpack("<I", data[end + 16:end + 20])[0]


def _central(name: bytes, method: int, crc: int, csize: int, size: int, offset: int) -> bytes:
    return struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, method, 0, 0, crc,
                       csize, size, len(name), 0, 0, 0, 0, 0, offset) + name


def config_json(path) -> dict:
    return json.loads(members(path)["config.json"])


def replace_members(src, dst, **replacements: bytes) -> None:
    items = members(src)
    items.update({k.replace("__", "."): v for k, v in replacements.items()})
    write_zip(dst, list(items.items()))


def images_h5(path, declared_shape, **extra) -> None:
    """A course .h5 file whose test_set_x declares ``declared_shape`` but stores nothing."""
    import h5py

    with h5py.File(path, "w") as f:
        f.create_dataset("test_set_x", shape=declared_shape, dtype="u1")
        f["test_set_y"] = np.zeros(declared_shape[0], np.int64)
        for key, value in extra.items():
            f[key] = value


def binary_model(features: int, middle, optimizer: str = "sgd"):
    """``Dense(units) -> middle -> Dense(1, sigmoid)``, compiled for binary cross-entropy."""
    import convnp.layers as L
    from convnp.models import Sequential

    model = Sequential([L.Dense(features + 1, input_shape=(features,)), middle,
                        L.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    return model


def binary_data(n: int, features: int):
    rng = np.random.default_rng(0)
    return (rng.standard_normal((n, features)).astype("f4"),
            (rng.random((n, 1)) > 0.5).astype("f4"))


def conv_classifier_file(path, size: int, classes: int, metadata=None):
    """Save a small compiled image classifier (``size x size x 3`` inputs) to ``path``."""
    import convnp.layers as L
    from convnp.io import saving
    from convnp.models import Sequential

    model = Sequential([L.Conv2D(2, 3, input_shape=(size, size, 3)), L.Flatten(),
                        L.Dense(classes, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    saving.save_model(model, path, metadata=metadata)
    return path
