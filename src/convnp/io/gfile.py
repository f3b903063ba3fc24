"""``tf.io.gfile``: TensorFlow's file functions, on the local file system (``os``, ``glob``,
``shutil``). TFRecord programs list their shards with ``tf.io.gfile.glob`` and make their
output folders with ``tf.io.gfile.makedirs``.

Errors are TensorFlow's: a missing file or folder is ``tf.errors.NotFoundError`` (a
`FileNotFoundError` too), copying or renaming onto an existing file without ``overwrite=True``
``tf.errors.AlreadyExistsError`` (a `FileExistsError` too).
"""

from __future__ import annotations

import glob as _glob
import os
import shutil

from convnp.tensor import errors

__all__ = ["GFile", "Open", "copy", "exists", "glob", "isdir", "listdir", "makedirs", "mkdir",
           "remove", "rename", "rmtree", "stat", "walk"]


class NotFound(errors.NotFoundError, FileNotFoundError):
    """A path that does not exist: ``tf.errors.NotFoundError``, and a `FileNotFoundError`."""


class AlreadyExists(errors.AlreadyExistsError, FileExistsError):
    """A target that exists: ``tf.errors.AlreadyExistsError``, and a `FileExistsError`."""


def _path(path) -> str:
    if isinstance(path, bytes):
        path = path.decode("utf-8")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"tf.io.gfile: expected a path (str), got {type(path).__name__}")
    return os.fspath(path)


def GFile(name, mode: str = "r"):
    """The file opened as Python's ``open`` opens it (text modes read and write ``str``,
    ``"b"`` modes bytes)."""
    path = _path(name)
    try:
        return open(path, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""}))
    except FileNotFoundError:
        raise NotFound(f"{path}; No such file or directory") from None


Open = GFile  # TensorFlow's other name for it


def glob(pattern) -> list[str]:
    """The paths matching ``pattern`` (a str or a list of them), sorted; none is ``[]``."""
    patterns = [pattern] if isinstance(pattern, (str, bytes, os.PathLike)) else list(pattern)
    return sorted({p for item in patterns for p in _glob.glob(_path(item))})


def exists(path) -> bool:
    return os.path.exists(_path(path))


def isdir(path) -> bool:
    return os.path.isdir(_path(path))


def listdir(path) -> list[str]:
    """The names in the folder ``path`` (no ``.``/``..``); NotFoundError when it is none."""
    path = _path(path)
    if not os.path.isdir(path):
        raise NotFound(f"Could not find directory {path}")
    return sorted(os.listdir(path))


def makedirs(path) -> None:
    """The folder and its missing parents (nothing when it exists)."""
    os.makedirs(_path(path), exist_ok=True)


def mkdir(path) -> None:
    """The folder (its parent must exist; nothing when it exists, as TensorFlow's)."""
    path = _path(path)
    try:
        os.mkdir(path)
    except FileExistsError:
        if not os.path.isdir(path):
            raise
    except FileNotFoundError:
        raise NotFound(f"{path}; No such file or directory") from None


def remove(path) -> None:
    path = _path(path)
    try:
        os.remove(path)
    except FileNotFoundError:
        raise NotFound(f"{path}; No such file or directory") from None


def rmtree(path) -> None:
    path = _path(path)
    if not os.path.exists(path):
        raise NotFound(f"{path} not found")
    shutil.rmtree(path)


def _target_free(target: str, overwrite: bool) -> None:
    if os.path.exists(target) and not overwrite:
        raise AlreadyExists(f"{target}: file already exists (pass overwrite=True)")


def copy(src, dst, overwrite: bool = False) -> None:
    src, dst = _path(src), _path(dst)
    if not os.path.exists(src):
        raise NotFound(f"{src}; No such file or directory")
    _target_free(dst, overwrite)
    shutil.copyfile(src, dst)


def rename(src, dst, overwrite: bool = False) -> None:
    src, dst = _path(src), _path(dst)
    if not os.path.exists(src):
        raise NotFound(f"{src}; No such file or directory")
    _target_free(dst, overwrite)
    os.replace(src, dst)


class _Stat:
    """``tf.io.gfile.stat``'s answer: ``length`` (bytes), ``mtime_nsec``, ``is_directory``."""

    def __init__(self, path: str):
        info = os.stat(path)
        self.length = info.st_size
        self.mtime_nsec = info.st_mtime_ns
        self.is_directory = os.path.isdir(path)


def stat(path) -> _Stat:
    path = _path(path)
    if not os.path.exists(path):
        raise NotFound(f"{path}; No such file or directory")
    return _Stat(path)


def walk(top, topdown: bool = True, onerror=None):
    """``(folder, subfolder names, file names)`` for ``top`` and every folder below it."""
    yield from os.walk(_path(top), topdown=topdown, onerror=onerror)
