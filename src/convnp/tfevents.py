"""TensorBoard event files, written with the standard library (no TensorFlow, no protobuf).

An event file is a sequence of TFRecord frames, each holding one serialized ``Event``
message::

    length     uint64, little-endian
    crc(length) uint32, the *masked* CRC-32C of those 8 bytes
    data       ``length`` bytes
    crc(data)  uint32, the masked CRC-32C of the data

CRC-32C is the Castagnoli polynomial (reflected: ``0x82F63B78``); masking rotates the CRC right
by 15 bits and adds ``0xA282EAD8`` (mod 2**32). The first event of a file carries only
``file_version = "brain.Event:2"``; each later one a ``wall_time`` (field 1, double), a
``step`` (field 2, int64) and a ``summary`` (field 5) whose ``value`` entries (field 1) are a
``tag`` (1) and a ``simple_value`` (2, float), the scalar form every TensorBoard reads.

Files are named as TensorFlow names them, ``events.out.tfevents.<seconds>.<host>.<pid>.<n>.v2``,
so TensorBoard finds them. Records are *appended*, each batch of records in one ``write`` and
flushed: a log that TensorBoard reads while training runs cannot be rewritten and renamed (the
reader keeps the old file open), and a record cut short by a crash is one TensorBoard skips.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from collections.abc import Iterator
from itertools import count
from pathlib import Path

__all__ = ["EventFileWriter", "crc32c", "masked_crc32c", "read_events", "read_records"]

_FILE_VERSION = "brain.Event:2"
_COUNTER = count()


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of ``data``; ``crc32c(b"123456789") == 0xE3069283``."""
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """The CRC TFRecord stores: CRC-32C rotated right by 15 bits, plus a constant."""
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def frame(data: bytes) -> bytes:
    """One TFRecord: length, its masked CRC, the data, its masked CRC."""
    length = struct.pack("<Q", len(data))
    return (length + struct.pack("<I", masked_crc32c(length)) + data
            + struct.pack("<I", masked_crc32c(data)))


def _event(wall_time: float, step: int, body: bytes) -> bytes:
    from convnp.io.protobuf import FIXED64, field_varint, key

    return key(1, FIXED64) + struct.pack("<d", wall_time) + field_varint(2, step) + body


def scalar_event(step: int, values: dict[str, float], wall_time: float | None = None) -> bytes:
    """An ``Event`` holding one ``Summary`` with a scalar per ``(tag, value)``."""
    from convnp.io.protobuf import field_bytes, field_float, field_string

    summary = b"".join(field_bytes(1, field_string(1, tag) + field_float(2, float(value)))
                       for tag, value in values.items())
    return _event(time.time() if wall_time is None else wall_time, int(step),
                  field_bytes(5, summary))


class EventFileWriter:
    """Appends scalar summaries to a new event file in ``log_dir`` (created if missing).

    The file is made (with its ``file_version`` record) on the first write, so a writer that
    never logs leaves no file behind.
    """

    def __init__(self, log_dir: str | os.PathLike):
        self.log_dir = Path(log_dir)
        self.path: Path | None = None

    def _open(self) -> Path:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        name = (f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}."
                f"{os.getpid()}.{next(_COUNTER)}.v2")
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

    def add_scalars(self, step: int, values: dict[str, float]) -> None:
        """Append one event with these scalars at ``step`` (nothing when ``values`` is empty)."""
        if not values:
            return
        if self.path is None:
            self.path = self._open()
        self._append(self.path, frame(scalar_event(step, values)))


# -- reading (tests and debugging) --------------------------------------------------------------

def read_records(path: str | os.PathLike) -> Iterator[bytes]:
    """The data of each TFRecord in ``path``, checking both CRCs of every record."""
    data = Path(path).read_bytes()
    pos = 0
    while pos < len(data):
        if pos + 12 > len(data):
            raise ValueError(f"{path}: truncated record header at byte {pos}")
        length_bytes = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", length_bytes)
        (crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        if crc != masked_crc32c(length_bytes):
            raise ValueError(f"{path}: bad length CRC at byte {pos}")
        end = pos + 12 + length
        if end + 4 > len(data):
            raise ValueError(f"{path}: truncated record at byte {pos}")
        body = data[pos + 12:end]
        (crc,) = struct.unpack("<I", data[end:end + 4])
        if crc != masked_crc32c(body):
            raise ValueError(f"{path}: bad data CRC at byte {pos}")
        yield body
        pos = end + 4


def read_events(path: str | os.PathLike) -> list[dict]:
    """Each event as ``{"wall_time", "step", "file_version"?, "scalars": {tag: value}}``."""
    from convnp.io.protobuf import iter_fields

    events = []
    for record in read_records(path):
        event: dict = {"step": 0, "scalars": {}}
        for field, _, value in iter_fields(record):
            if field == 1:
                event["wall_time"] = struct.unpack("<d", value)[0]
            elif field == 2:
                event["step"] = value
            elif field == 3:
                event["file_version"] = value.decode()
            elif field == 5:
                for f, _, entry in iter_fields(value):
                    if f != 1:
                        continue
                    parts = {k: v for k, _, v in iter_fields(entry)}
                    event["scalars"][parts[1].decode()] = struct.unpack("<f", parts[2])[0]
        events.append(event)
    return events
