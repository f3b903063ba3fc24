"""`atomic_write`: every file convnp writes is put in place whole or not at all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def atomic_write(path: str | os.PathLike, write: Callable[[IO], None], *,
                 text: bool = False) -> Path:
    """Write a file whole or not at all.

    ``write(f)`` fills a temporary file in the target's directory (same file system, so the
    final rename is atomic); it is flushed and fsynced, given the usual permissions (or the
    replaced file's), then renamed over ``path``. On any exception, Ctrl-C included, the
    temporary file is deleted and the exception propagates; ``path`` is untouched.

    Args:
        path: destination file. Its directory must exist.
        write: callback receiving the open file (binary, or UTF-8 text with ``text=True``).
        text: open the temporary file in text mode (newline translation off, as `csv` wants).

    Returns:
        ``path`` as a `Path`.

    Raises:
        FileNotFoundError: the directory of ``path`` does not exist.
        IsADirectoryError: ``path`` is a directory.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"cannot write {target}: directory {directory} does not exist")
    if target.is_dir():
        raise IsADirectoryError(f"cannot write {target}: it is a directory")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        mode_args = {"mode": "w", "newline": "", "encoding": "utf-8"} if text else {"mode": "wb"}
        with os.fdopen(fd, **mode_args) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600); give it the usual mode, or keep the old file's.
        os.chmod(tmp_name, target.stat().st_mode & 0o777 if target.exists() else 0o644)
        os.replace(tmp_name, target)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)
    return target


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable where the OS allows it (not on Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
