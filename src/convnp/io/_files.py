"""`atomic_write`: every file convnp writes is put in place whole or not at all; and
`weights_mismatch`, what loading weights that do not fit does."""

from __future__ import annotations

import os
import tempfile
import warnings
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
    if target.is_symlink():
        # write the file the link points to, as open() would, and keep the link
        target = Path(os.path.realpath(target))
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"cannot write {target}: directory {directory} does not exist")
    if target.is_dir():
        raise IsADirectoryError(f"cannot write {target}: it is a directory")
    _remove_stale_temporaries(directory, target.name)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp",
                                    dir=directory)
    try:
        mode_args = {"mode": "w", "newline": "", "encoding": "utf-8"} if text else {"mode": "wb"}
        with os.fdopen(fd, **mode_args) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600); give it the usual mode, or keep the old file's.
        os.chmod(tmp_name, target.stat().st_mode & 0o777 if target.exists()
                 else 0o666 & ~_umask())
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


def _umask() -> int:
    """The process's umask, read without changing it where the OS allows (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: read it by setting it, and put it back at once
    os.umask(mask)
    return mask


def _remove_stale_temporaries(directory: Path, name: str) -> None:
    """Delete the temporary files a killed save of ``name`` left in ``directory``."""
    remove_stale(directory, f".{name}.", suffix=".tmp")


def remove_stale(directory: Path, prefix: str, suffix: str = "") -> None:
    """Delete what killed writers left in ``directory``: entries named
    ``<prefix><pid>.<anything><suffix>`` whose process no longer exists (a file, or a
    staging folder). Entries of running processes, a concurrent save's, are kept.
    """
    import shutil

    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        if not (entry.name.startswith(prefix) and entry.name.endswith(suffix)):
            continue
        rest = entry.name[len(prefix):len(entry.name) - len(suffix)].split(".")
        # exactly "<pid>.<random>": another target's temporaries ("<name>.5.<pid>...") differ
        if len(rest) != 2 or not rest[0].isdigit() or _process_alive(int(rest[0])):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            pass


def _process_alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":
        # another thread of this process may be writing it; on Windows os.kill would end the
        # process instead of probing it, so nothing is removed there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True
    return True


def weights_mismatch(skip: bool, message: str) -> None:
    """A layer's weights in a file do not fit the model: a ``ValueError`` with ``message``,
    or with ``load_weights(skip_mismatch=True)`` a warning, the layer keeping its values (as
    Keras skips it)."""
    if not skip:
        raise ValueError(message)
    warnings.warn(f"{message}; that layer is skipped (skip_mismatch=True)", stacklevel=4)
