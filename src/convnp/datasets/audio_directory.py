"""``keras.utils.audio_dataset_from_directory``: a `convnp.data.Dataset` of the ``.wav``
files under a folder, one sub-folder per class (the RIFF chunks read here, NumPy decoding the
samples).

Samples are float32 in ``[-1, 1]`` with shape ``(samples, channels)``, as
``tf.audio.decode_wav`` gives them (16-bit values divided by 32768). Keras (TensorFlow's
``decode_wav``) reads 16-bit PCM only, with a plain 16- or 18-byte format chunk; convnp also
reads 8-bit (unsigned), 24-bit and 32-bit integer PCM, scaled the same way (by ``2 ** (bits -
1)``), IEEE float samples (format code 3, 32 or 64-bit: taken as they are, as float32; the
common reading, e.g. soundfile's and scipy's, for files TensorFlow refuses), and
WAVE_FORMAT_EXTENSIBLE files whose sub-format is PCM or IEEE float. Other formats (A-law,
mu-law, ADPCM, ...) are refused.

Each file's header is read and checked when the function is called (a truncated file, or one
whose data chunk declares more bytes than the file holds, is a ValueError naming it, before
anything is allocated from the declared sizes); the samples are decoded batch by batch each
epoch. Without ``output_sequence_length`` a batch is padded with zeros to its longest file
(Keras's ``padded_batch``); with it every file is cut or zero-padded to that many samples
(``decode_wav(desired_samples=...)``). The files are listed, shuffled and split exactly as
Keras does (`convnp.datasets.file_index`).
"""

from __future__ import annotations

import io
import os
import struct

import numpy as np

from convnp.datasets.file_index import (
    check_common_arguments,
    draw_seed,
    file_dataset,
    index_directory,
    split_files,
)

EXTENSIONS = (".wav",)
_WHAT = "audio_dataset_from_directory"


def audio_dataset_from_directory(
    directory: str | os.PathLike,
    labels="inferred",
    label_mode: str | None = "int",
    class_names=None,
    batch_size: int | None = 32,
    sampling_rate: int | None = None,
    output_sequence_length: int | None = None,
    ragged: bool = False,
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    follow_links: bool = False,
    verbose: bool = True,
):
    """A `Dataset` of ``(audio, labels)`` batches from ``directory/<class>/**/*.wav``.

    Args:
        directory: one sub-folder per class with ``labels="inferred"``; any layout otherwise.
        labels: ``"inferred"``, ``None`` (audio only) or a list of int labels, one per file
            in sorted path order.
        label_mode: ``"int"``, ``"categorical"``, ``"binary"`` or ``None`` (as
            `image_dataset_from_directory`).
        class_names: which sub-folders, in label order (default: all, sorted).
        batch_size: files per batch; ``None`` yields single ``(samples, channels)`` arrays.
        sampling_rate: the files' rate in Hz. Keras resamples to it (with tensorflow-io);
            convnp does not resample: every file must already have this rate.
        output_sequence_length: cut or zero-pad every file to this many samples; ``None``
            pads each batch to its longest file.
        ragged: not supported (convnp has no ragged tensors); True is a ValueError.
        shuffle, seed, validation_split, subset, follow_links, verbose: as in
            `text_dataset_from_directory`.

    Returns:
        A `convnp.data.Dataset` (a pair for ``subset="both"``) of ``(audio, labels)`` with
        audio float32 ``(batch, samples, channels)``, and ``class_names`` and ``file_paths``
        attributes.

    Raises:
        FileNotFoundError: no such directory.
        ValueError: a bad argument, no ``.wav`` files, an unreadable, truncated,
            compressed or otherwise unsupported WAV file (named), a file at another
            ``sampling_rate``, or files with different channel counts in a batched dataset.
    """
    labels, label_mode = check_common_arguments(_WHAT, labels, label_mode, class_names,
                                                batch_size, validation_split, subset,
                                                shuffle, seed)
    if ragged and output_sequence_length is not None:
        raise ValueError(f"{_WHAT}: ragged and output_sequence_length cannot both be set, got "
                         f"ragged={ragged!r}, output_sequence_length={output_sequence_length!r}")
    if sampling_rate is not None and (isinstance(sampling_rate, bool) or not isinstance(
            sampling_rate, (int, np.integer))):
        raise ValueError(f"{_WHAT}: sampling_rate must be an int, got {sampling_rate!r}")
    if sampling_rate is not None and sampling_rate <= 0:
        raise ValueError(f"{_WHAT}: sampling_rate must be positive, got {sampling_rate!r}")
    if output_sequence_length is not None and (isinstance(output_sequence_length, bool) or (
            not isinstance(output_sequence_length, (int, np.integer)))
            or output_sequence_length < 1):
        raise ValueError(f"{_WHAT}: output_sequence_length must be a positive int or None, "
                         f"got {output_sequence_length!r}")
    if ragged:
        raise ValueError(f"{_WHAT}: ragged=True is not supported (convnp has no ragged "
                         f"tensors); use ragged=False (batches padded to the longest file) "
                         f"or output_sequence_length")
    seed = draw_seed(seed)
    paths, label_array, names = index_directory(_WHAT, directory, labels, EXTENSIONS,
                                                class_names, shuffle, seed, follow_links,
                                                verbose)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(f"{_WHAT}: label_mode='binary' needs exactly 2 classes, "
                         f"got class_names={names}")
    parts = split_files(_WHAT, "audio", directory, paths, label_array, validation_split,
                        subset, EXTENSIONS, verbose)
    length = None if output_sequence_length is None else int(output_sequence_length)
    datasets = []
    for part in parts:
        headers = [read_wav_header(path) for path in part.paths]
        if sampling_rate is not None:
            for path, header in zip(part.paths, headers):
                if header.rate != sampling_rate:
                    raise ValueError(f"{_WHAT}: {path} is sampled at {header.rate} Hz, "
                                     f"sampling_rate={sampling_rate} was asked for; convnp "
                                     f"does not resample audio")
        if batch_size is not None:
            _check_channels(part.paths, headers)

        def load(index, headers=headers):
            if index.ndim == 0:
                return decode_wav(headers[int(index)], length)
            rows = [decode_wav(headers[int(i)], length) for i in index]
            longest = max(r.shape[0] for r in rows)
            batch = np.zeros((len(rows), longest, rows[0].shape[1]), np.float32)
            for k, r in enumerate(rows):
                batch[k, :r.shape[0]] = r
            return batch

        dataset = file_dataset(part, label_mode, len(names or ()), load, batch_size,
                               part.shuffled(shuffle, subset), seed, _WHAT)
        dataset.class_names = names
        datasets.append(dataset)
    return tuple(datasets) if len(datasets) == 2 else datasets[0]


class WavHeader:
    """What `read_wav_header` found: path, channels, sample width in bytes, whether the
    samples are IEEE floats, rate, frames, and where the samples start in the file."""

    __slots__ = ("channels", "float", "frames", "offset", "path", "rate", "width")

    def __init__(self, path, channels, width, rate, frames, offset, float=False):
        self.path, self.channels, self.width = path, channels, width
        self.rate, self.frames, self.offset = rate, frames, offset
        self.float = float


_PCM, _IEEE_FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE
#: the 14 bytes after the format code in a WAVE_FORMAT_EXTENSIBLE sub-format GUID
#: (KSDATAFORMAT_SUBTYPE_PCM is code 1 with them, ..._IEEE_FLOAT code 3)
_GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")
#: names of some formats that are refused, for the message
_FORMAT_NAMES = {2: "Microsoft ADPCM", 6: "A-law", 7: "mu-law", 0x11: "IMA ADPCM",
                 0x31: "GSM 6.10", 0x50: "MPEG", 0x55: "MPEG layer 3"}
_SUPPORTED = ("integer PCM (format 1: 8, 16, 24 or 32-bit) and IEEE float (format 3: "
              "32 or 64-bit), plain or WAVE_FORMAT_EXTENSIBLE, are supported")
#: a format chunk longer than this is taken for a corrupt file (WAVE_FORMAT_EXTENSIBLE's is 40)
_MAX_FMT = 1024


class _Bad(Exception):
    """A reason a WAV header is refused (made into the ValueError naming the file)."""


def _format(chunk: bytes) -> tuple[int, int, int, int]:
    """``(format code 1 or 3, channels, rate, bits per sample)`` of a ``fmt `` chunk,
    WAVE_FORMAT_EXTENSIBLE resolved to its sub-format."""
    if len(chunk) < 16:
        raise _Bad(f"its fmt chunk has {len(chunk)} bytes, at least 16 expected")
    code, channels, rate, _, _, bits = struct.unpack("<HHIIHH", chunk[:16])
    if code == _EXTENSIBLE:
        if len(chunk) < 40:
            raise _Bad(f"its WAVE_FORMAT_EXTENSIBLE fmt chunk has {len(chunk)} bytes, at "
                       f"least 40 expected")
        guid = chunk[24:40]
        sub = struct.unpack("<H", guid[:2])[0]
        if guid[2:] != _GUID_TAIL or sub not in (_PCM, _IEEE_FLOAT):
            raise _Bad(f"WAVE_FORMAT_EXTENSIBLE with sub-format GUID {guid.hex()} is not "
                       f"supported (only the PCM and IEEE float sub-formats are); "
                       f"{_SUPPORTED}")
        code = sub
    if code not in (_PCM, _IEEE_FLOAT):
        name = _FORMAT_NAMES.get(code)
        raise _Bad(f"format code {code}{f' ({name})' if name else ''} is not supported; "
                   f"{_SUPPORTED}")
    if channels < 1:
        raise _Bad(f"it declares {channels} channels; at least one is needed")
    if code == _PCM and not 1 <= bits <= 32:  # 12-bit samples sit in 16-bit words, ...
        raise _Bad(f"it has {bits}-bit PCM samples; 8, 16, 24 or 32-bit PCM is supported")
    if code == _IEEE_FLOAT and bits not in (32, 64):
        raise _Bad(f"it has {bits}-bit floating-point samples; 32 or 64-bit IEEE float is "
                   f"supported")
    return code, channels, rate, bits


def _parse(f, size: int) -> tuple:
    """``(code, channels, rate, bits, data offset, data bytes)`` read chunk by chunk; no
    size read from the file is used before it is checked against ``size``."""
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        if len(head) == 12 and head[:4] in (b"RIFX", b"RF64"):
            raise _Bad(f"{head[:4].decode()} files are not supported (only RIFF WAVE)")
        if head and len(head) < 12 and b"RIFF".startswith(head[:4]):
            raise EOFError
        raise _Bad("it does not start with a RIFF WAVE header")
    fmt = None
    position = 12
    while True:
        chunk = f.read(8)
        if len(chunk) < 8:
            if fmt is None or len(chunk):
                raise EOFError
            raise _Bad("it has no data chunk")
        name, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        position += 8
        if name == b"data":
            if fmt is None:
                raise _Bad("its data chunk comes before any fmt chunk")
            return (*fmt, position, length)
        if name == b"fmt ":
            if length > _MAX_FMT:
                raise _Bad(f"its fmt chunk declares {length} bytes (at most {_MAX_FMT} "
                           f"expected)")
            body = f.read(length)
            if len(body) < length:
                raise EOFError
            fmt = _format(body)
        skip = length + (length & 1)  # chunks are padded to an even size
        if position + skip > size:
            raise EOFError
        position += skip
        f.seek(position)


def read_wav_header(path) -> WavHeader:
    """The header of a PCM or IEEE float WAV file (plain or WAVE_FORMAT_EXTENSIBLE), checked
    against the file's size.

    Raises:
        ValueError: not a readable WAV file, compressed samples or another format, a width
            other than 8-32-bit PCM or 32/64-bit float, or a data chunk larger than what the
            file holds.
    """
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            code, channels, rate, bits, offset, length = _parse(f, size)
    except _Bad as exc:
        raise ValueError(f"{_WHAT}: cannot read WAV file {path}: {exc}") from None
    except (EOFError, struct.error) as exc:
        raise ValueError(f"{_WHAT}: cannot read WAV file {path}: the header is truncated "
                         f"({type(exc).__name__})") from None
    except OSError as exc:
        raise ValueError(f"{_WHAT}: cannot read WAV file {path}: {exc}") from None
    width = (bits + 7) // 8
    frames = length // (channels * width)
    declared = frames * channels * width
    if offset + declared > size:
        raise ValueError(f"{_WHAT}: WAV file {path} is truncated or corrupt: its data chunk "
                         f"declares {declared} bytes of samples but only "
                         f"{max(size - offset, 0)} follow the header")
    return WavHeader(os.fspath(path), channels, width, rate, frames, offset,
                     float=code == _IEEE_FLOAT)


def decode_wav(header: WavHeader, length: int | None = None) -> np.ndarray:
    """float32 ``(samples, channels)``: integer PCM scaled into ``[-1, 1]``, float samples
    as they are (cast to float32); cut or zero-padded to ``length``."""
    frames = header.frames if length is None else min(header.frames, length)
    count = frames * header.channels
    with open(header.path, "rb") as f:
        f.seek(header.offset)
        raw = f.read(count * header.width)
    if len(raw) != count * header.width:
        raise ValueError(f"{_WHAT}: WAV file {header.path} changed or was truncated after "
                         f"it was listed")
    audio = samples(raw, header.channels, header.width, header.float)
    if length is not None and frames < length:
        audio = np.concatenate([audio, np.zeros((length - frames, header.channels),
                                                np.float32)])
    return audio


def samples(raw: bytes, channels: int, width: int, is_float: bool) -> np.ndarray:
    """float32 ``(frames, channels)`` of the sample bytes ``raw`` (whole frames): integer PCM
    of ``width`` bytes scaled into ``[-1, 1]`` (by ``2 ** (bits - 1)``), float samples as
    they are."""
    if is_float:
        values = np.frombuffer(raw, "<f4" if width == 4 else "<f8").astype(np.float32)
    elif width == 1:  # 8-bit WAV is unsigned
        values = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        ints = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
        values = ints.astype(np.float32) / np.float32(1 << 23)
    else:
        dtype = "<i2" if width == 2 else "<i4"
        scale = np.float32(2.0 ** (8 * width - 1))
        values = np.frombuffer(raw, dtype).astype(np.float32) / scale
    return values.reshape(-1, channels)


def parse_wav_bytes(data: bytes) -> tuple[int, int, bool, int, int, int]:
    """``(channels, sample width in bytes, is float, rate, data offset, data bytes)`` of the
    WAV file held in ``data`` (`read_wav_header`'s checks, on bytes in memory).

    Raises:
        ValueError: the reason the bytes are not a supported WAV file.
    """
    try:
        code, channels, rate, bits, offset, length = _parse(io.BytesIO(data), len(data))
    except _Bad as exc:
        raise ValueError(str(exc)) from None
    except (EOFError, struct.error):
        raise ValueError(f"the header is truncated ({len(data)} bytes)") from None
    return channels, (bits + 7) // 8, code == _IEEE_FLOAT, rate, offset, length


def _check_channels(paths, headers) -> None:
    counts = sorted({h.channels for h in headers})
    if len(counts) > 1:
        first = {h.channels: p for p, h in zip(paths, headers)}
        raise ValueError(f"{_WHAT}: the files have different channel counts {counts} (e.g. "
                         f"{', '.join(f'{first[c]}: {c}' for c in counts)}); batches need "
                         f"one count (use batch_size=None)")
