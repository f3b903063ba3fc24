"""``tf.io.read_file`` / ``write_file``: whole files as bytes (a 0-d bytes tensor in TF)."""

from __future__ import annotations

import os


class StringBytes(bytes):
    """``bytes`` that answer ``.numpy()`` (the plain bytes) as TensorFlow's scalar string
    tensors do: what `read_file` and the image encoders return, so that the keras.io helper
    ``BytesList(value=[tf.io.encode_jpeg(image).numpy()])`` runs, while writing the value to a
    file or comparing it with bytes works as with bytes."""

    __slots__ = ()

    def numpy(self) -> bytes:
        return bytes(self)


def read_file(filename, name=None) -> StringBytes:
    """The file's contents as bytes (pass them to ``tf.image.decode_png``/``decode_jpeg``).

    TensorFlow returns a scalar string tensor; convnp returns the bytes themselves (with
    ``.numpy()``, `StringBytes`).
    """
    if hasattr(filename, "dtype") and getattr(filename, "shape", None) == ():
        filename = filename.item()  # a scalar string tensor, e.g. from Dataset.list_files
    path = os.fspath(filename.decode() if isinstance(filename, bytes) else filename)
    with open(path, "rb") as f:
        return StringBytes(f.read())


def write_file(filename, contents, name=None) -> None:
    """Write ``contents`` (bytes or str) whole: to a temporary name, then renamed."""
    path = os.fspath(filename)
    data = contents.encode() if isinstance(contents, str) else bytes(contents)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
