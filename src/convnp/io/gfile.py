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

from convnp.io._files import AtomicFile, atomic_write
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
    ``"b"`` modes bytes). Writing (``"w"``, ``"a"``, ``"x"``) goes to a temporary file put
    in place whole when it is closed (`_StagedFile`): a program stopped half-way, or a
    ``with`` block left by an exception, leaves the old file as it was. The read-write
    ``"+"`` modes change the file in place, as ``open`` does."""
    path = _path(name)
    if "+" not in mode and any(c in mode for c in "wax"):
        if "x" in mode and os.path.exists(path):
            raise AlreadyExists(f"{path}: file already exists")
        try:
            return _StagedFile(AtomicFile(path, text="b" not in mode, append="a" in mode))
        except FileNotFoundError:
            raise NotFound(f"{path}; No such file or directory") from None
    try:
        return open(path, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""}))
    except FileNotFoundError:
        raise NotFound(f"{path}; No such file or directory") from None


class _StagedFile:
    """A file `GFile` opened for writing: the temporary file's methods (``write``,
    ``flush``, ...), and `close` puts it in place (leaving a ``with`` block by an exception
    drops it instead)."""

    def __init__(self, staged: AtomicFile):
        self._staged = staged

    def __getattr__(self, name):
        file = self._staged.file
        if file is None:
            raise ValueError(f"I/O operation on closed file {self._staged.target}")
        return getattr(file, name)

    @property
    def name(self) -> str:
        return str(self._staged.target)

    @property
    def closed(self) -> bool:
        return self._staged.file is None

    def close(self) -> None:
        if self._staged.file is not None:
            self._staged.commit()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self._staged.discard()

    def __iter__(self):
        return iter(self._staged.file)


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
    """Copy ``src`` to ``dst``, written whole or not at all."""
    src, dst = _path(src), _path(dst)
    if not os.path.exists(src):
        raise NotFound(f"{src}; No such file or directory")
    _target_free(dst, overwrite)
    with open(src, "rb") as source:
        atomic_write(dst, lambda f: shutil.copyfileobj(source, f))


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
