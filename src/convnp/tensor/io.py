"""``tf.io.read_file`` / ``write_file``: whole files as bytes (a 0-d bytes tensor in TF)."""

from __future__ import annotations

import os


def read_file(filename, name=None) -> bytes:
    """The file's contents as ``bytes`` (pass them to ``tf.image.decode_png``/``decode_jpeg``).

    TensorFlow returns a scalar string tensor; convnp returns the bytes themselves.
    """
    if hasattr(filename, "dtype") and getattr(filename, "shape", None) == ():
        filename = filename.item()  # a scalar string tensor, e.g. from Dataset.list_files
    path = os.fspath(filename.decode() if isinstance(filename, bytes) else filename)
    with open(path, "rb") as f:
        return f.read()


def write_file(filename, contents, name=None) -> None:
    """Write ``contents`` (bytes or str) whole: to a temporary name, then renamed."""
    path = os.fspath(filename)
    data = contents.encode() if isinstance(contents, str) else bytes(contents)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
