"""TensorBoard event files, written with the standard library and NumPy (no TensorFlow, no
protobuf).

An event file is a sequence of TFRecord frames, each holding one serialized ``Event``
message::

    length     uint64, little-endian
    crc(length) uint32, the *masked* CRC-32C of those 8 bytes
    data       ``length`` bytes
    crc(data)  uint32, the masked CRC-32C of the data

CRC-32C is the Castagnoli polynomial (reflected: ``0x82F63B78``); masking rotates the CRC right
by 15 bits and adds ``0xA282EAD8`` (mod 2**32). The first event of a file carries only
``file_version = "brain.Event:2"``; each later one a ``wall_time`` (field 1, double), a
``step`` (field 2, int64) and a ``summary`` (field 5) whose ``value`` entries (field 1) hold a
``tag`` (1) and one of two payloads:

* ``simple_value`` (2, float): the scalar form every TensorBoard reads (the ``TensorBoard``
  callback writes these, `scalar_value`);
* ``tensor`` (8, a ``TensorProto``) with ``metadata`` (9, a ``SummaryMetadata`` naming the
  plugin that shows it: ``scalars``, ``images``, ``histograms``, ``text``): the form
  TensorFlow 2's ``tf.summary`` writes (`tensor_value`, used by `convnp.summary`).

``TensorProto`` as written here: ``dtype`` (1, enum), ``tensor_shape`` (2: one ``dim`` entry,
field 2, per axis, each with its ``size`` in field 1), then the values, either packed
little-endian in ``tensor_content`` (4; numbers) or one ``string_val`` entry (8) per string.
``SummaryMetadata``: ``plugin_data`` (1: ``plugin_name`` 1, ``content`` 2) and
``summary_description`` (3).

Files are named as TensorFlow names them, ``events.out.tfevents.<seconds>.<host>.<pid>.<n>.v2``
(``.v2`` replaced by a writer's ``filename_suffix``), so TensorBoard finds them. Records are
*appended*, each batch of records in one ``write`` and flushed: a log that TensorBoard reads
while training runs cannot be rewritten and renamed (the reader keeps the old file open), and a
record cut short by a crash is one TensorBoard skips.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from collections.abc import Iterator
from itertools import count
from pathlib import Path

import numpy as np

from convnp.io.records import crc32c, frame, iter_records, masked_crc32c

__all__ = ["EventFileWriter", "crc32c", "frame", "masked_crc32c", "read_events", "read_records",
           "scalar_value", "summary_event", "summary_metadata", "tensor_proto", "tensor_value"]

_FILE_VERSION = "brain.Event:2"
_COUNTER = count()


def _event(wall_time: float, step: int, body: bytes) -> bytes:
    from convnp.io.protobuf import FIXED64, field_varint, key

    return key(1, FIXED64) + struct.pack("<d", wall_time) + field_varint(2, step) + body


def scalar_value(tag: str, value: float) -> bytes:
    """One ``Summary.Value``: ``tag`` with a ``simple_value``."""
    from convnp.io.protobuf import field_float, field_string

    return field_string(1, tag) + field_float(2, float(value))


# TensorFlow's DataType enum numbers of the dtypes a summary tensor may hold
_DTYPES = {np.dtype(np.float32): 1, np.dtype(np.float64): 2, np.dtype(np.int32): 3,
           np.dtype(np.uint8): 4, np.dtype(np.int16): 5, np.dtype(np.int8): 6,
           np.dtype(np.int64): 9, np.dtype(np.bool_): 10, np.dtype(np.float16): 19,
           np.dtype(np.uint16): 17, np.dtype(np.uint32): 22, np.dtype(np.uint64): 23}
_STRING = 7
_NUMBERS = {code: dtype for dtype, code in _DTYPES.items()}


def tensor_proto(array) -> bytes:
    """A ``TensorProto`` holding ``array``: numbers of a dtype in ``_DTYPES`` (packed in
    ``tensor_content``), or strings/bytes (``str`` is written as UTF-8), each a ``string_val``."""
    from convnp.io.protobuf import field_bytes, field_varint

    a = np.asarray(array)
    # proto3 leaves zero values out: an axis of size 0 is an empty ``dim``, no values no
    # ``tensor_content`` (what TensorFlow writes, byte for byte)
    shape = b"".join(field_bytes(2, field_varint(1, n) if n else b"") for n in a.shape)
    if a.dtype.kind in "USO":
        items = [x.encode("utf-8") if isinstance(x, str) else x for x in a.ravel().tolist()]
        if not all(isinstance(x, bytes) for x in items):
            raise TypeError(f"tensor_proto: expected strings or bytes, got {a.dtype} values")
        return (field_varint(1, _STRING) + field_bytes(2, shape)
                + b"".join(field_bytes(8, x) for x in items))
    if a.dtype not in _DTYPES:
        raise TypeError(f"tensor_proto: cannot store {a.dtype} values (expected one of "
                        f"{', '.join(sorted(str(d) for d in _DTYPES))} or strings)")
    content = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes()
    return (field_varint(1, _DTYPES[a.dtype]) + field_bytes(2, shape)
            + (field_bytes(4, content) if content else b""))


def summary_metadata(plugin_name: str = "", description: str = "") -> bytes:
    """A ``SummaryMetadata``: the plugin that shows the value, and its description (Markdown);
    empty bytes when both are empty."""
    from convnp.io.protobuf import field_bytes, field_string

    plugin = field_bytes(1, field_string(1, plugin_name)) if plugin_name else b""
    return plugin + (field_string(3, description) if description else b"")


def tensor_value(tag: str, tensor: bytes, plugin_name: str = "", description: str = "",
                 metadata: bytes | None = None) -> bytes:
    """One ``Summary.Value``: ``tag``, a ``TensorProto`` (`tensor_proto`) and its metadata:
    ``metadata`` as given (serialized ``SummaryMetadata``), else made from ``plugin_name`` and
    ``description`` (`summary_metadata`)."""
    from convnp.io.protobuf import field_bytes, field_string

    meta = summary_metadata(plugin_name, description) if metadata is None else metadata
    return (field_string(1, tag) + field_bytes(8, tensor)
            + (field_bytes(9, meta) if meta else b""))


def summary_event(step: int, values: list[bytes], wall_time: float | None = None,
                  summary: bytes | None = None) -> bytes:
    """An ``Event`` holding one ``Summary`` made of these ``Summary.Value`` messages (or
    ``summary``, a serialized ``Summary``, as it is)."""
    from convnp.io.protobuf import field_bytes

    if summary is None:
        summary = b"".join(field_bytes(1, value) for value in values)
    return _event(time.time() if wall_time is None else wall_time, int(step),
                  field_bytes(5, summary))


def scalar_event(step: int, values: dict[str, float], wall_time: float | None = None) -> bytes:
    """An ``Event`` holding one ``Summary`` with a scalar per ``(tag, value)``."""
    return summary_event(step, [scalar_value(tag, v) for tag, v in values.items()], wall_time)


class EventFileWriter:
    """Appends summaries to a new event file in ``log_dir`` (created if missing).

    The file is made (with its ``file_version`` record) by `open`, or on the first write, so a
    writer that never logs leaves no file behind unless it was opened. ``filename_suffix``
    replaces the ``.v2`` that ends TensorFlow's file names.
    """

    def __init__(self, log_dir: str | os.PathLike, filename_suffix: str | None = None):
        self.log_dir = Path(log_dir)
        self.filename_suffix = ".v2" if filename_suffix is None else str(filename_suffix)
        self.path: Path | None = None
        self._lock = threading.Lock()  # two threads' first summaries make one file

    def open(self) -> Path:
        """Create the event file now (once): the path of the file this writer appends to."""
        with self._lock:
            if self.path is None:
                self.path = self._create()
            return self.path

    def _create(self) -> Path:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        name = (f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}."
                f"{os.getpid()}.{next(_COUNTER)}{self.filename_suffix}")
        path = self.log_dir / name
        from convnp.io.protobuf import field_string

        first = _event(time.time(), 0, field_string(3, _FILE_VERSION))
        self._append(path, frame(first), create=True)
        return path

    @staticmethod
    def _append(path: Path, data: bytes, create: bool = False) -> None:
        flags = os.O_WRONLY | os.O_APPEND | (os.O_CREAT | os.O_EXCL if create else 0)
        fd = os.open(path, flags, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)

    def add_values(self, step: int, values: list[bytes]) -> None:
        """Append one event holding these ``Summary.Value`` messages (`scalar_value`,
        `tensor_value`) at ``step``; nothing when ``values`` is empty."""
        if values:
            self._append(self.open(), frame(summary_event(step, values)))

    def add_summaries(self, step: int, summaries: list[bytes]) -> None:
        """Append one event per serialized ``Summary`` message, as it is, at ``step``."""
        data = b"".join(frame(summary_event(step, [], summary=raw)) for raw in summaries)
        if data:
            self._append(self.open(), data)

    def add_scalars(self, step: int, values: dict[str, float]) -> None:
        """Append one event with these scalars at ``step`` (nothing when ``values`` is empty)."""
        self.add_values(step, [scalar_value(tag, v) for tag, v in values.items()])


# -- reading (tests and debugging) --------------------------------------------------------------

def read_records(path: str | os.PathLike) -> Iterator[bytes]:
    """The data of each TFRecord in ``path``, checking both CRCs of every record
    (`convnp.io.records.iter_records`)."""
    return iter_records(path)


def _read_tensor(data: bytes):
    """A ``TensorProto`` as an ndarray (numbers) or a nested list of bytes (strings)."""
    from convnp.io.protobuf import iter_fields

    dtype, shape, content, strings = 0, [], b"", []
    for field, _, value in iter_fields(data):
        if field == 1:
            dtype = value
        elif field == 2:
            for f, _, dim in iter_fields(value):
                if f == 2:
                    shape.append({k: v for k, _, v in iter_fields(dim)}.get(1, 0))
        elif field == 4:
            content = value
        elif field == 8:
            strings.append(value)
    if dtype == _STRING:
        return np.array(strings, dtype=object).reshape(shape)
    if dtype not in _NUMBERS:
        raise ValueError(f"read_events: tensor of unknown dtype code {dtype}")
    return np.frombuffer(content, _NUMBERS[dtype].newbyteorder("<")).reshape(shape).astype(
        _NUMBERS[dtype])


def read_events(path: str | os.PathLike) -> list[dict]:
    """Each event as ``{"wall_time", "step", "file_version"?, "scalars": {tag: value},
    "tensors": {tag: {"plugin", "description", "value"}}}``: ``simple_value`` entries in
    ``scalars``, tensor entries in ``tensors`` (``value`` an ndarray; strings as an object
    array of bytes)."""
    from convnp.io.protobuf import iter_fields

    events = []
    for record in read_records(path):
        event: dict = {"step": 0, "scalars": {}, "tensors": {}}
        for field, _, value in iter_fields(record):
            if field == 1:
                event["wall_time"] = struct.unpack("<d", value)[0]
            elif field == 2:
                event["step"] = value - (1 << 64) if value >= 1 << 63 else value
            elif field == 3:
                event["file_version"] = value.decode()
            elif field == 5:
                for f, _, entry in iter_fields(value):
                    if f == 1:
                        _read_value(entry, event)
        events.append(event)
    return events


def _read_value(entry: bytes, event: dict) -> None:
    from convnp.io.protobuf import iter_fields

    parts = {k: v for k, _, v in iter_fields(entry)}
    tag = parts[1].decode()
    if 2 in parts:
        event["scalars"][tag] = struct.unpack("<f", parts[2])[0]
    elif 8 in parts:
        plugin, description = "", ""
        for f, _, v in iter_fields(parts.get(9, b"")):
            if f == 1:
                plugin = {k: x for k, _, x in iter_fields(v)}.get(1, b"").decode()
            elif f == 3:
                description = v.decode()
        event["tensors"][tag] = {"plugin": plugin, "description": description,
                                 "value": _read_tensor(parts[8])}
