"""Reading HDF5 files that may be hostile: the checks every convnp HDF5 reader goes through.

HDF5 can make a dataset read bytes from *other* files: external storage (raw data kept in a
separate file), external links (a name that resolves inside another HDF5 file) and virtual
datasets (a view stitched from other files). A weights file or a course ``.h5`` file using
any of them would make convnp copy bytes from elsewhere on the disk into weights or pixels,
so they are refused. A dataset may also declare a shape far larger than the bytes it stores
(unallocated storage reads as its fill value, compressed chunks expand), so sizes are
checked before anything is read. Filters other than HDF5's and h5py's built-in ones would
make the HDF5 library load a plugin (code) from disk: refused too.

Every failure is a `ValueError` naming the file and the dataset. This module imports only
`convnp._limits` from convnp, and h5py only through the objects it is handed.
"""

from __future__ import annotations

import math
import mmap
import os
import re
from typing import Any

import numpy as np

from convnp._limits import MAX_EXPANSION, expansion_limit

__all__ = ["NotHDF5Error", "check_local", "get_node", "open_file", "read_dataset"]


class NotHDF5Error(ValueError, OSError):
    """A file h5py cannot open as HDF5 (not HDF5 at all, or cut short). TF 2.21's loaders
    pass h5py's OSError on; convnp has long raised ValueError, so the error is both."""

# deflate, shuffle, fletcher32, szip, nbit, scaleoffset (HDF5's own) and lzf (built into h5py)
_BUILTIN_FILTERS = {1, 2, 3, 4, 5, 6, 32000}


# A global heap collection (where HDF5 keeps variable-length strings: Keras's layer and weight
# name lists) starts with this signature and version 1.
_HEAP_SIGNATURE = b"GCOL\x01\x00\x00\x00"
# `re` searches any buffer (bytes, a memory map, a BytesIO's memoryview) without a copy
_HEAP_START = re.compile(re.escape(_HEAP_SIGNATURE))


def _check_global_heaps(data, label: str) -> None:
    """Walk every global heap collection in ``data`` (the file's bytes) as HDF5 will, and
    refuse a damaged one before the library reads it.

    Each collection declares its size; its objects (a 16-byte header with the object's size,
    then the data padded to 8 bytes) must fit in it, and the free-space entry (index 0) must
    run exactly to its end. The HDF5 library itself loops forever on a free-space entry of
    size 0 (a fuzzed weights file whose name object grew by one byte flip hung `load_model`),
    and a hang in C cannot be interrupted from Python.
    """
    for found in _HEAP_START.finditer(data):
        at = found.start()
        if at + 16 > len(data):
            break
        size = int.from_bytes(data[at + 8:at + 16], "little")
        end = at + size
        if size < 16 or end > len(data):
            raise ValueError(f"{label}: damaged HDF5 file (a global heap at byte {at} declares "
                             f"{size} bytes; the file has {len(data) - at} from there)")
        pos = at + 16
        while pos + 16 <= end:
            index = int.from_bytes(data[pos:pos + 2], "little")
            length = int.from_bytes(data[pos + 8:pos + 16], "little")
            if index == 0:
                if length != end - pos:
                    raise ValueError(f"{label}: damaged HDF5 file (the free space of the global "
                                     f"heap at byte {at} declares {length} bytes, expected "
                                     f"{end - pos})")
                break
            pos += 16 + -(-length // 8) * 8
            if pos > end:
                raise ValueError(f"{label}: damaged HDF5 file (object {index} of the global "
                                 f"heap at byte {at} runs past the heap's end)")


def _file_bytes(source):
    """The bytes of ``source`` (a path or a binary file object) for `_check_global_heaps`:
    a memory map of a file on disk, the buffer of an in-memory one (no copy of either)."""
    if hasattr(source, "getbuffer"):
        return source.getbuffer()
    if hasattr(source, "read"):
        where = source.tell()
        data = source.read()
        source.seek(where)
        return data
    with open(source, "rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return b""
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)


def open_file(h5py: Any, source: Any, label: str) -> Any:
    """``h5py.File(source, "r")``, with h5py's errors turned into a `NotHDF5Error` (a
    ValueError and an OSError) naming ``label`` (the file's name as the user knows it); a
    damaged global heap (see `_check_global_heaps`) is refused first."""
    try:
        data = _file_bytes(source)
    except OSError as exc:
        raise NotHDF5Error(f"{label}: not a readable HDF5 file ({exc})") from None
    try:
        _check_global_heaps(data, label)
    finally:
        if isinstance(data, mmap.mmap):
            data.close()
        elif isinstance(data, memoryview):
            data.release()  # the BytesIO may be resized again
    try:
        return h5py.File(source, "r")
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise NotHDF5Error(f"{label}: not a readable HDF5 file ({exc})") from None


def get_node(h5py: Any, group: Any, path: str, label: str) -> Any:
    """The object at ``path`` (``"a/b/c"``) below ``group``, or None if a part is missing.

    Each link on the way is looked at before it is followed: hard and soft links (which stay
    inside the file) are followed, an external link or a user-defined link raises
    `ValueError`.
    """
    node = group
    try:
        base = str(group.name or "").rstrip("/")
    except (OSError, RuntimeError, ValueError):
        base = ""
    walked = [base] if base else []
    for part in path.split("/"):
        if not part:
            continue
        walked.append(part)
        if not isinstance(node, h5py.Group):
            return None
        try:
            link = node.get(part, getlink=True)
        except (OSError, RuntimeError, KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"{label}: cannot read '{'/'.join(walked)}' ({exc})") from None
        if link is None:
            return None
        if isinstance(link, h5py.ExternalLink):
            message = (f"{label}: '{'/'.join(walked)}' is an external link to "
                       f"{link.filename!r}:{link.path!r}; convnp never reads data from "
                       "other files")
            raise ValueError(message)  # noqa: TRY004 - a bad file is a ValueError
        if not isinstance(link, (h5py.HardLink, h5py.SoftLink)):
            message = (f"{label}: '{'/'.join(walked)}' is a {type(link).__name__}, "
                       "not a link inside the file")
            raise ValueError(message)  # noqa: TRY004 - a bad file is a ValueError
        try:
            node = node[part]
        except (OSError, RuntimeError, KeyError, ValueError) as exc:
            # a dangling soft link, or broken internal structures
            raise ValueError(f"{label}: cannot open '{'/'.join(walked)}' ({exc})") from None
    return node


def check_local(h5py: Any, dataset: Any, label: str, name: str) -> None:
    """Refuse a dataset whose bytes are not stored inside this file with built-in filters."""
    where = f"{label}: dataset '{name}'"
    try:
        plist = dataset.id.get_create_plist()
        layout = plist.get_layout()
        external = plist.get_external_count()
        filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    except (OSError, RuntimeError, ValueError) as exc:
        raise ValueError(f"{where}: unreadable storage description ({exc})") from None
    h5d = h5py.h5d
    if layout == getattr(h5d, "VIRTUAL", -1):
        raise ValueError(f"{where} is a virtual dataset (its data comes from other files); "
                         "convnp only reads data stored inside the file")
    if external:
        raise ValueError(f"{where} uses external storage (its bytes live in another file); "
                         "convnp only reads data stored inside the file")
    if layout not in (h5d.CONTIGUOUS, h5d.CHUNKED, h5d.COMPACT):
        raise ValueError(f"{where} has an unsupported storage layout ({layout})")
    unknown = [f for f in filters if f not in _BUILTIN_FILTERS]
    if unknown:
        raise ValueError(f"{where} needs HDF5 filter plugins {unknown}; only built-in filters "
                         "(gzip, shuffle, lzf, ...) are read")


def read_dataset(h5py: Any, dataset: Any, label: str, name: str, *,
                 expected_shape: tuple[int, ...] | None = None,
                 kinds: str = "fiub") -> np.ndarray:
    """Check ``dataset`` (storage, dtype, declared size) and only then read it whole.

    Args:
        dataset: an object from `get_node`.
        label, name: the file and the dataset path, for messages.
        expected_shape: if given, the dataset must have exactly this shape (checked before
            reading); otherwise its declared size must stay within `MAX_EXPANSION` times the
            bytes it stores (see `convnp._limits`).
        kinds: accepted NumPy dtype kinds (``"O"``: variable-length strings only).
    """
    where = f"{label}: dataset '{name}'"
    if dataset is None:
        raise ValueError(f"{label}: dataset '{name}' is missing (or its link is broken)")
    if not isinstance(dataset, h5py.Dataset):
        message = (f"{label}: '{name}' is a {type(dataset).__name__}, expected a dataset")
        raise ValueError(message)  # noqa: TRY004 - a bad file is a ValueError
    check_local(h5py, dataset, label, name)
    try:
        dtype = dataset.dtype
        shape = tuple(int(d) for d in dataset.shape) if dataset.shape is not None else None
    except (OSError, RuntimeError, ValueError, TypeError) as exc:
        raise ValueError(f"{where}: unreadable type or shape ({exc})") from None
    vlen_string = dtype.kind == "O" and h5py.check_string_dtype(dtype) is not None
    if (dtype.kind not in kinds or dtype.fields is not None or dtype.subdtype is not None
            or (dtype.kind == "O" and not vlen_string)):
        raise ValueError(f"{where} has dtype {dtype}, expected kinds {sorted(kinds)}")
    if shape is None:
        raise ValueError(f"{where} is empty (no shape)")
    if expected_shape is not None:
        if shape != tuple(expected_shape):
            raise ValueError(f"{where} has shape {shape}, expected {tuple(expected_shape)}")
    else:
        declared = math.prod(shape) * dtype.itemsize
        try:
            stored = int(dataset.id.get_storage_size())
        except (OSError, RuntimeError, ValueError) as exc:
            raise ValueError(f"{where}: unreadable storage size ({exc})") from None
        limit = expansion_limit(stored)
        if declared > limit:
            raise ValueError(f"{where} declares shape {shape} ({declared} bytes) but stores "
                             f"{stored} bytes; refusing to expand more than {MAX_EXPANSION}x "
                             f"(limit {limit} bytes)")
    try:
        return np.asarray(dataset[()])
    except (OSError, RuntimeError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{where}: cannot read its data, the file is corrupt or truncated "
                         f"({exc})") from None
