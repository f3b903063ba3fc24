"""Reading zip archives (``.convnp``, ``.keras``, ``.npz``) that may be damaged or hostile.

Every problem is a `ValueError` naming the file: not a zip, truncated (zipfile would otherwise
find the end record of an *inner* archive and report its members as the file's), duplicate
member names (the last one would silently win), a member declaring more bytes than the
`convnp._limits` allow for what it stores (a zip bomb), CRC damage, unsupported compression.
A member is only read after its declared size passed the checks, and zipfile never returns
more than the declared size.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from convnp._limits import expansion_limit

__all__ = ["ZIP_READ_ERRORS", "NotAZipError", "loads_finite", "open_archive", "read_member"]

# what zipfile raises on damaged data (NotImplementedError: unknown compression method;
# RuntimeError: an encrypted member; OverflowError/ValueError: absurd header fields)
ZIP_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
                   RuntimeError, ValueError, OverflowError, KeyError, IndexError)


class NotAZipError(ValueError, zipfile.BadZipFile):
    """A file that is not a zip archive, or one cut short. TF 2.21's ``load_weights`` of
    such a ``.keras`` file passes zipfile's BadZipFile on; convnp has long raised
    ValueError, so the error is both."""


def open_archive(source, label: str, what: str) -> zipfile.ZipFile:
    """Open ``source`` (a path or a binary file object) as a zip archive.

    Args:
        label: the file's name for messages.
        what: what the file should be (``"a convnp model file"``).

    Raises:
        FileNotFoundError: ``source`` is a path that does not exist.
        ValueError: a directory, not a zip, truncated, or with duplicate member names.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"no such file: {path}")
        if path.is_dir():
            raise ValueError(f"{label} is a directory, not {what}")
    try:
        archive = zipfile.ZipFile(source, "r")
    except ZIP_READ_ERRORS as exc:
        raise NotAZipError(f"{label} is not {what} (not a zip archive, or it is truncated: "
                           f"{exc})") from None
    try:
        infos = archive.infolist()
        if infos and min(info.header_offset for info in infos) != 0:
            # the end record found is not the archive's own: the file was cut short and an
            # archive stored inside it (weights.npz) was found instead
            raise NotAZipError(f"{label} is not {what} (it is truncated, or has data before "
                               "the archive)")
        names = [info.filename for info in infos]
        if len(set(names)) != len(names):
            repeated = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"{label}: the archive holds several members named {repeated}; "
                             "refusing to guess which one is meant")
    except BaseException:
        archive.close()
        raise
    return archive


def read_member(archive: zipfile.ZipFile, label: str, member: str,
                limit: int | None = None) -> bytes:
    """The bytes of ``member``, after checking its declared size.

    Args:
        limit: refuse a member declaring more bytes than this (besides the expansion limit).

    Raises:
        ValueError: missing member, a declared size above the limits, or corrupt data.
    """
    try:
        info = archive.getinfo(member)
    except KeyError:
        raise ValueError(f"{label} is missing the member '{member}' (members: "
                         f"{archive.namelist()[:20]})") from None
    if limit is not None and info.file_size > limit:
        raise ValueError(f"{label}: member '{member}' is {info.file_size} bytes, larger than "
                         f"the {limit}-byte limit")
    if info.file_size > expansion_limit(info.compress_size):
        raise ValueError(f"{label}: member '{member}' declares {info.file_size} bytes "
                         f"compressed into {info.compress_size}; refusing to expand it (a zip "
                         "bomb, or a damaged file)")
    try:
        return archive.read(info)
    except ZIP_READ_ERRORS as exc:
        raise ValueError(f"{label}: cannot read member '{member}' (corrupt or truncated "
                         f"archive): {exc}") from None


def loads_finite(data: bytes, keys: tuple[str, ...] | None = None):
    """``json.loads`` of UTF-8 bytes, refusing ``NaN``/``Infinity`` (which Python's json
    accepts) anywhere, or with ``keys`` only under those top-level keys (a model's
    hyperparameters are always finite; free metadata such as a diverged run's loss may not be).

    Raises:
        ValueError: bad UTF-8, bad JSON, or a non-finite number where it is refused.
        RecursionError: JSON nested too deeply.
    """
    import json
    import math

    value = json.loads(data.decode("utf-8"))
    roots = [value] if keys is None else [value.get(k) for k in keys
                                          if isinstance(value, dict)]
    stack = list(roots)
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError(f"non-finite number {item} in the config (hyperparameters must "
                             "be finite)")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return value
