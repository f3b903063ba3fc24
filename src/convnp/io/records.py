"""TFRecord files: the record framing TensorBoard's event files and ``tf.data`` input files
share, `TFRecordWriter` (``tf.io.TFRecordWriter``) and the checked reader `iter_records` behind
``tf.data.TFRecordDataset``.

A TFRecord file is a sequence of records, each framed as::

    length      uint64, little-endian
    crc(length) uint32, the *masked* CRC-32C of those 8 bytes
    data        ``length`` bytes
    crc(data)   uint32, the masked CRC-32C of the data

CRC-32C is the Castagnoli polynomial (reflected: ``0x82F63B78``); masking rotates the CRC right
by 15 bits and adds ``0xA282EAD8`` (mod 2**32). A ``"GZIP"`` or ``"ZLIB"`` file is that same
byte sequence compressed as one gzip or zlib stream (Python's `gzip` and `zlib` read and write
them).

Reading checks both CRCs of every record (a last header cut short ends the file quietly, as
in TensorFlow, which lets a reader follow a file being written), and a declared length is compared with what the file
still holds before anything is read for it, so a damaged or crafted file fails with a
`CorruptRecordError` (``tf.errors.DataLossError``, a `ValueError` too) naming the file and the
byte offset of the record, instead of allocating what the length claims.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Self

import numpy as np

from convnp._limits import expansion_limit
from convnp.io._files import AtomicFile
from convnp.io.gfile import NotFound
from convnp.tensor import errors

__all__ = ["CorruptRecordError", "RecordNotFoundError", "TFRecordOptions", "TFRecordWriter",
           "crc32c", "crc32c_many", "frame", "frames", "iter_records", "masked_crc32c"]

def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc_table()
_LANE = 256  # bytes per lane of the vectorized CRC (`_crc_lanes`)


def _advance(crc: int, data) -> int:
    """The CRC register after feeding ``data`` to it, one byte at a time."""
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


_shift_tables: np.ndarray | None = None


def _lane_shift() -> np.ndarray:
    """Four 256-entry tables whose XOR, looked up by the four bytes of a register, is that
    register after ``_LANE`` zero bytes (the register update is linear over GF(2), so the
    images of the 32 single-bit registers determine it)."""
    global _shift_tables
    if _shift_tables is None:
        zeros = bytes(_LANE)
        images = [_advance(1 << bit, zeros) for bit in range(32)]
        tables = np.zeros((4, 256), dtype=np.uint32)
        for part in range(4):
            for value in range(256):
                acc = 0
                for bit in range(8):
                    if value >> bit & 1:
                        acc ^= images[8 * part + bit]
                tables[part, value] = acc
        _shift_tables = tables
    return _shift_tables


def _crc_lanes(data: bytes) -> int:
    """The register after all whole ``_LANE``-byte lanes of ``data``, started at all ones.

    Every lane is run at once (NumPy over the lanes, one step per byte position), each from
    a zero register except the first; then, lane after lane, the running register is carried
    over ``_LANE`` zero bytes (`_lane_shift`) and XORed with the next lane's register, which
    is what feeding the two lanes one after the other gives, by linearity."""
    lanes = len(data) // _LANE
    block = np.frombuffer(data, dtype=np.uint8, count=lanes * _LANE).reshape(lanes, _LANE)
    table = np.asarray(_TABLE, dtype=np.uint32)
    state = np.zeros(lanes, dtype=np.uint32)
    state[0] = 0xFFFFFFFF
    for position in range(_LANE):
        state = table[(state ^ block[:, position]) & 0xFF] ^ (state >> 8)
    shift = _lane_shift()
    crc = int(state[0])
    for lane in state[1:].tolist():
        crc = int(shift[0, crc & 0xFF] ^ shift[1, crc >> 8 & 0xFF] ^ shift[2, crc >> 16 & 0xFF]
                  ^ shift[3, crc >> 24]) ^ lane
    return crc


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of ``data``; ``crc32c(b"123456789") == 0xE3069283``. Long data
    (images) runs in lanes with NumPy (`_crc_lanes`), the rest byte by byte."""
    if len(data) < 128 * _LANE:
        return _advance(0xFFFFFFFF, data) ^ 0xFFFFFFFF
    whole = len(data) // _LANE * _LANE
    return _advance(_crc_lanes(data), memoryview(data)[whole:]) ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """The CRC TFRecord stores: CRC-32C rotated right by 15 bits, plus a constant."""
    return _mask(crc32c(data))


def _mask(crc: int) -> int:
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def crc32c_many(datas: list[bytes]) -> list[int]:
    """`crc32c` of each of ``datas``, computed together: many short records (a TFRecord file
    of small images) in one NumPy pass instead of a Python loop per byte.

    Two facts make every record a whole number of lanes starting from a zero register: the
    all-ones start register is the same as a zero one with the first four bytes inverted, and
    from a zero register, zero bytes leave it zero. So each record (of 4 bytes or more) is
    inverted in its first four bytes and padded with zeros *in front* to a multiple of
    ``_LANE``; all lanes of all records run at once, and each record's lanes are then joined
    as in `_crc_lanes`. Records under 4 bytes go byte by byte, and so do all of them when
    they are a few kilobytes in all."""
    if sum(len(d) for d in datas) < 64 * _LANE:
        return [crc32c(d) for d in datas]  # a few small records: the byte loop is quicker
    results = [0] * len(datas)
    first_lane, lanes = [], 0
    for data in datas:
        first_lane.append(lanes)
        if len(data) >= 4:
            lanes += -(-len(data) // _LANE)
    if lanes:
        block = np.zeros(lanes * _LANE, dtype=np.uint8)
        for data, lane in zip(datas, first_lane):
            if len(data) >= 4:
                end = (lane + -(-len(data) // _LANE)) * _LANE
                start = end - len(data)
                block[start:end] = np.frombuffer(data, dtype=np.uint8)
                block[start:start + 4] ^= 0xFF
        block = block.reshape(lanes, _LANE)
        table = np.asarray(_TABLE, dtype=np.uint32)
        state = np.zeros(lanes, dtype=np.uint32)
        for position in range(_LANE):
            state = table[(state ^ block[:, position]) & 0xFF] ^ (state >> 8)
        s0, s1, s2, s3 = _lane_shift().tolist()  # Python ints: faster to look up one by one
        registers = state.tolist()
    for i, (data, lane) in enumerate(zip(datas, first_lane)):
        if len(data) < 4:
            results[i] = crc32c(data)
            continue
        crc = registers[lane]
        for k in range(lane + 1, lane + -(-len(data) // _LANE)):
            crc = (s0[crc & 0xFF] ^ s1[crc >> 8 & 0xFF] ^ s2[crc >> 16 & 0xFF]
                   ^ s3[crc >> 24] ^ registers[k])
        results[i] = crc ^ 0xFFFFFFFF
    return results


def frame(data: bytes) -> bytes:
    """One TFRecord: length, its masked CRC, the data, its masked CRC."""
    return frames([data])


def frames(datas: list[bytes]) -> bytes:
    """These records framed one after the other (their data CRCs computed together)."""
    out = []
    for data, crc in zip(datas, crc32c_many(datas)):
        length = struct.pack("<Q", len(data))
        out += [length, struct.pack("<I", masked_crc32c(length)), data,
                struct.pack("<I", _mask(crc))]
    return b"".join(out)


# -- reading ------------------------------------------------------------------------------------


class CorruptRecordError(errors.DataLossError, ValueError):
    """A TFRecord file that cannot be read: a CRC that does not match, a record cut short, a
    length beyond the end of the file. TensorFlow raises ``tf.errors.DataLossError``; this is
    one, and a `ValueError` too."""


#: a TFRecord file (or the folder of one to write) that does not exist: TensorFlow's
#: ``tf.errors.NotFoundError``, and a `FileNotFoundError` too
RecordNotFoundError = NotFound


_CHUNK = 1 << 20  # a record's data is read in pieces of this size at most


def compression_kind(compression_type, who: str) -> str:
    """``""``, ``"GZIP"`` or ``"ZLIB"`` from what TensorFlow accepts: None, one of those
    strings, or a `TFRecordOptions`."""
    if isinstance(compression_type, TFRecordOptions):
        compression_type = compression_type.compression_type
    if compression_type is None:
        return ""
    if isinstance(compression_type, bytes):
        compression_type = compression_type.decode("utf-8", "replace")
    if not isinstance(compression_type, str):
        raise TypeError(f"{who}: compression_type must be None, '', 'GZIP' or 'ZLIB', got "
                        f"{type(compression_type).__name__}")
    if compression_type not in ("", "GZIP", "ZLIB"):
        raise ValueError(f"{who}: compression_type must be None, '', 'GZIP' or 'ZLIB', got "
                         f"{compression_type!r}")
    return compression_type


class _ZlibReader:
    """``read(n)`` over a zlib stream, decompressing only as much as is asked for."""

    def __init__(self, raw):
        self._raw = raw
        self._inflate = zlib.decompressobj()

    def read(self, n: int) -> bytes:
        out = []
        while n > 0 and not self._inflate.eof:
            data = self._inflate.unconsumed_tail
            if not data:
                data = self._raw.read(_CHUNK)
                if not data:
                    raise EOFError("the zlib stream ends early")
            piece = self._inflate.decompress(data, n)
            out.append(piece)
            n -= len(piece)
        return b"".join(out)


def iter_records(path: str | os.PathLike, compression_type=None) -> Iterator[bytes]:
    """The data of each record of the TFRecord file ``path``, one at a time, every CRC checked.

    Raises:
        RecordNotFoundError: ``path`` does not exist.
        CorruptRecordError: a bad CRC, a truncated record, or a length beyond the file (for a
            plain file this is found from the header alone, before any of the data is read).
        ValueError: ``compression_type`` is not None, '', 'GZIP' or 'ZLIB'.
    """
    kind = compression_kind(compression_type, "TFRecordDataset")
    name = os.fspath(path)
    with _opened(name) as raw:
        size, stored = None, os.fstat(raw.fileno()).st_size
        if kind == "GZIP":
            stream = gzip.GzipFile(fileobj=raw, mode="rb")
        elif kind == "ZLIB":
            stream = _ZlibReader(raw)
        else:
            stream, size = raw, stored
        try:
            yield from _records(stream, name, size, expansion_limit(stored))
        except (OSError, EOFError, zlib.error) as error:
            raise CorruptRecordError(f"{name}: cannot read it as a {kind} compressed TFRecord "
                                     f"file ({error})") from None


def _opened(name: str) -> IO[bytes]:
    try:
        return open(name, "rb")  # the caller's with-block closes it
    except FileNotFoundError:
        raise RecordNotFoundError(f"{name}; No such file or directory") from None


_BATCH = 4 << 20  # the data CRCs of this many bytes of records are checked together


def _records(stream, name: str, size: int | None, limit: int) -> Iterator[bytes]:
    """The records of ``stream`` (``size`` bytes long, when known; a compressed stream's
    records may declare at most ``limit`` bytes, `convnp._limits`), read a few megabytes at a
    time so that their data CRCs are computed together (`crc32c_many`); records are yielded
    in order, and an error comes after the good records before it."""
    pos, ended = 0, False
    while not ended:
        batch, volume, error = [], 0, None
        while volume < _BATCH:
            try:
                item = _record(stream, name, size, pos, limit)
            except CorruptRecordError as caught:
                error = caught
                break
            except (OSError, EOFError, zlib.error) as caught:  # a damaged compressed stream
                error = CorruptRecordError(f"{name}: cannot read the record at byte {pos} of "
                                           f"the decompressed data ({caught})")
                break
            if item is None:
                ended = True
                break
            body, crc = item
            batch.append((pos, body, crc))
            pos += 16 + len(body)
            volume += 16 + len(body)
        for (at, body, crc), got in zip(batch, crc32c_many([b for _, b, _ in batch])):
            if _mask(got) != crc:
                raise CorruptRecordError(f"{name}: corrupted record at byte {at} (its data "
                                         "CRC does not match)")
            yield body
        if error is not None:
            raise error


def _record(stream, name: str, size: int | None, pos: int,
            limit: int) -> tuple[bytes, int] | None:
    """The record at ``pos``: its data and the masked CRC stored for it (checked by the
    caller); None at the end of the file."""
    header = stream.read(12)
    if len(header) < 12:
        # TensorFlow ends the file there without an error: a writer may be appending
        return None
    (length,) = struct.unpack("<Q", header[:8])
    (crc,) = struct.unpack("<I", header[8:])
    if crc != masked_crc32c(header[:8]):
        raise CorruptRecordError(f"{name}: corrupted record at byte {pos} (its length CRC "
                                 "does not match)")
    if size is not None and pos + 16 + length > size:
        raise CorruptRecordError(f"{name}: the record at byte {pos} declares {length} bytes, "
                                 f"more than the {size - pos - 16} left in the file")
    if size is None and length > limit:  # compressed: the whole file may expand only so far
        raise CorruptRecordError(f"{name}: the record at byte {pos} of the decompressed data "
                                 f"declares {length} bytes, more than the {limit} a file of "
                                 "this size may expand to (see docs/limits.md)")
    pieces, left = [], length
    while left:  # the data arrives in pieces: a false length allocates no more than read
        piece = stream.read(min(left, _CHUNK))
        if not piece:
            break
        pieces.append(piece)
        left -= len(piece)
    tail = stream.read(4)
    if left or len(tail) < 4:
        raise CorruptRecordError(f"{name}: truncated record at byte {pos}")
    return b"".join(pieces), struct.unpack("<I", tail)[0]


# -- writing ------------------------------------------------------------------------------------


class TFRecordOptions:
    """``tf.io.TFRecordOptions``: the compression of a TFRecord file (``None``/``""``,
    ``"GZIP"`` or ``"ZLIB"``) and the zlib level (``compression_level``, 0 to 9). TensorFlow's
    other zlib tuning arguments are accepted and do not change the file's contents."""

    def __init__(self, compression_type=None, flush_mode=None, input_buffer_size=None,
                 output_buffer_size=None, window_bits=None, compression_level=None,
                 compression_method=None, mem_level=None, compression_strategy=None):
        self.compression_type = compression_kind(compression_type, "TFRecordOptions")
        if compression_level is not None and not (
                isinstance(compression_level, (int, np.integer))
                and -1 <= int(compression_level) <= 9):
            raise ValueError(f"TFRecordOptions: compression_level must be an int from -1 to 9, "
                             f"got {compression_level!r}")
        self.compression_level = None if compression_level is None else int(compression_level)

    @classmethod
    def get_compression_type_string(cls, options) -> str:
        """The compression name of ``options`` (a `TFRecordOptions`, a string or None)."""
        return compression_kind(options, "TFRecordOptions")


class TFRecordWriter:
    """``tf.io.TFRecordWriter(path, options=None)``: ``write(record)`` frames each record
    (bytes) into ``path``.

    The file is written whole or not at all: records go to a temporary file in the same
    folder, which `close` (or leaving a ``with`` block) renames to ``path``. ``flush`` pushes
    what was written to that temporary file; until `close`, ``path`` is unchanged. Leaving a
    ``with`` block by an exception discards the records (``path`` stays as it was).
    ``options`` is None, ``""``, ``"GZIP"``, ``"ZLIB"`` or a `TFRecordOptions`.
    """

    def __init__(self, path, options=None):
        if isinstance(path, bytes):
            path = path.decode("utf-8")
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"TFRecordWriter: path must be a string or a path, got "
                            f"{type(path).__name__}")
        self._kind = compression_kind(options, "TFRecordWriter")
        level = options.compression_level if isinstance(options, TFRecordOptions) else None
        self.path = Path(os.fspath(path))
        try:
            self._staged = AtomicFile(self.path)  # a killed writer's temporaries are cleared
        except FileNotFoundError:
            raise RecordNotFoundError(f"TFRecordWriter: cannot write {self.path}: its folder "
                                      "does not exist") from None
        except IsADirectoryError:
            raise IsADirectoryError(f"TFRecordWriter: cannot write {self.path}: it is a "
                                    "folder") from None
        self.path = self._staged.target  # through a symbolic link: the file it points to
        self._file = self._staged.file
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        level = 6 if level is None or level < 0 else level  # zlib's default level
        if self._kind == "GZIP":
            self._stream = gzip.GzipFile(fileobj=self._file, mode="wb", compresslevel=level,
                                         mtime=0)
        else:
            self._stream = self._file
        self._deflate = zlib.compressobj(level) if self._kind == "ZLIB" else None

    def _drain(self) -> None:
        """Frame and write the records held back (`write` gathers a few megabytes, so that
        their CRCs are computed together)."""
        if self._pending:
            data = frames(self._pending)
            self._pending, self._pending_bytes = [], 0
            self._stream.write(self._deflate.compress(data) if self._deflate else data)

    def write(self, record) -> None:
        """Append one record: ``bytes`` (a ``str`` is written as UTF-8; a 0-d string tensor,
        such as ``tf.io.serialize_tensor``'s result, as its bytes)."""
        if self._file is None:
            raise errors.FailedPreconditionError("TFRecordWriter: the writer is closed")
        if isinstance(record, np.ndarray) and record.ndim == 0 and record.dtype.kind in "SO":
            record = record.item()
        if isinstance(record, str):
            record = record.encode("utf-8")
        if not isinstance(record, (bytes, bytearray, memoryview)):
            raise TypeError(f"TFRecordWriter.write: expected bytes, got {type(record).__name__}")
        self._pending.append(bytes(record))
        self._pending_bytes += len(record) + 16
        if self._pending_bytes >= _BATCH:
            self._drain()

    def flush(self) -> None:
        """Push the records written so far to the temporary file (not yet at ``path``)."""
        if self._file is None:
            return
        self._drain()
        if self._deflate:
            self._stream.write(self._deflate.flush(zlib.Z_SYNC_FLUSH))
        if self._stream is not self._file:
            self._stream.flush()
        self._file.flush()

    def close(self) -> None:
        """Finish the file and rename it to ``path`` (once; later calls do nothing)."""
        if self._file is None:
            return
        try:
            self._drain()
            if self._deflate:
                self._stream.write(self._deflate.flush())
            if self._stream is not self._file:
                self._stream.close()  # gzip's trailer; the file itself stays open
            self._staged.commit()
        except BaseException:
            self._discard()
            raise
        self._file = None

    def _discard(self) -> None:
        if self._file is None:
            return
        self._file = None
        self._staged.discard()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self._discard()

    def __del__(self):
        # TensorFlow's writer finishes its file when it is garbage collected
        if getattr(self, "_file", None) is not None:
            with contextlib.suppress(OSError, ValueError):
                self.close()

