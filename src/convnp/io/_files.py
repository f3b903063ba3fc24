"""`atomic_write`: every file convnp writes is put in place whole or not at all; and
`weights_mismatch`, what loading weights that do not fit does."""

from __future__ import annotations

import os
import shutil
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
    staged = AtomicFile(path, text=text)
    try:
        write(staged.file)
    except BaseException:
        staged.discard()
        raise
    return staged.commit()


class AtomicFile:
    """A file written whole or not at all, for writers that stream (`atomic_write` is the
    one-callback form): ``file`` is a temporary file in the target's directory (same file
    system, so the final rename is atomic); `commit` flushes and fsyncs it, gives it the usual
    permissions (or the replaced file's) and renames it over the target; `discard` deletes
    it, leaving the target untouched. A symbolic link is written through (the file it points
    to is replaced, the link kept), as ``open`` would. ``append``: the temporary file starts
    as a copy of the existing target, for append modes.

    Raises (at construction):
        FileNotFoundError: the target's directory does not exist.
        IsADirectoryError: the target is a directory.
    """

    def __init__(self, path: str | os.PathLike, *, text: bool = False, append: bool = False):
        target = Path(path)
        if target.is_symlink():
            target = Path(os.path.realpath(target))
        directory = target.parent if str(target.parent) else Path(".")
        if not directory.is_dir():
            raise FileNotFoundError(f"cannot write {target}: directory {directory} does not "
                                    "exist")
        if target.is_dir():
            raise IsADirectoryError(f"cannot write {target}: it is a directory")
        _remove_stale_temporaries(directory, target.name)
        self.target, self._directory = target, directory
        fd, self._tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.",
                                         suffix=".tmp", dir=directory)
        try:
            if append and target.exists():
                with open(target, "rb") as old, os.fdopen(os.dup(fd), "wb") as copy:
                    shutil.copyfileobj(old, copy)
            mode_args = ({"mode": "a" if append else "w", "newline": "", "encoding": "utf-8"}
                         if text else {"mode": "ab" if append else "wb"})
            self.file: IO | None = os.fdopen(fd, **mode_args)
        except BaseException:
            os.close(fd)
            os.unlink(self._tmp)
            raise

    def commit(self) -> Path:
        """Put the file in place (once; the file object is closed)."""
        if self.file is None:
            raise ValueError(f"{self.target}: the file was committed or discarded already")
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            os.chmod(self._tmp, self.target.stat().st_mode & 0o777 if self.target.exists()
                     else 0o666 & ~_umask())
            os.replace(self._tmp, self.target)
        except BaseException:
            self.discard()
            raise
        self.file = None
        _fsync_directory(self._directory)
        return self.target

    def discard(self) -> None:
        """Delete the temporary file; the target stays as it was (nothing once committed)."""
        if self.file is None:
            return
        try:
            self.file.close()
        finally:
            self.file = None
            try:
                os.unlink(self._tmp)
            except FileNotFoundError:
                pass


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
