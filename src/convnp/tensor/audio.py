"""``tf.audio``: `decode_wav` and `encode_wav`, the WAV reading and writing of audio input
pipelines (keras.io's speaker recognition reads its clips with
``tf.audio.decode_wav(tf.io.read_file(path), 1, SAMPLING_RATE)``).

The RIFF chunks are read by `convnp.datasets.audio_directory` (the reader of
``keras.utils.audio_dataset_from_directory``), so both read the same files. TensorFlow 2.21
decodes 16-bit PCM only; convnp also reads 8, 24 and 32-bit PCM and IEEE float files, as
that reader does (scaled the same way). Where TensorFlow returns a string tensor
(`encode_wav`), convnp returns the ``bytes``, as `tf.io.read_file` does.
"""

from __future__ import annotations

import struct
from collections import namedtuple

import numpy as np

from convnp.tensor.errors import InvalidArgumentError
from convnp.tensor.ops import constant, value_of

#: what `decode_wav` returns, with TensorFlow's field names
DecodeWav = namedtuple("DecodeWav", ["audio", "sample_rate"])


def _count(value, name: str) -> int:
    """``desired_channels``/``desired_samples``: an int >= -1 (-1: as in the file)."""
    if hasattr(value, "shape") and np.shape(value) == ():
        value = np.asarray(value_of(value) if hasattr(value, "numpy") else value).item()
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"decode_wav: {name} must be an int, got {value!r}")
    if value < -1:
        raise InvalidArgumentError(f"decode_wav: {name} must be >= -1 (-1: as in the file), "
                                   f"got {value}")
    return int(value)


def _contents(contents) -> tuple[bytes, bool]:
    """The WAV bytes, and whether they came from a NumPy string value (a string tensor),
    whose trailing NUL bytes NumPy may have dropped."""
    if isinstance(contents, (bytes, bytearray)):
        return bytes(contents), False
    if isinstance(contents, np.bytes_):
        return bytes(contents), True
    if hasattr(contents, "dtype") and np.shape(contents) == ():
        value = np.asarray(value_of(contents) if hasattr(contents, "numpy") else contents)
        if value.dtype.kind == "S":
            return bytes(value), True  # the raw buffer: trailing NULs up to its itemsize
        if value.dtype == object and isinstance(value.item(), (bytes, bytearray)):
            return bytes(value.item()), False  # a dataset's string element keeps every byte
    raise TypeError(f"decode_wav: contents must be the bytes of a WAV file (bytes or a scalar "
                    f"string tensor, e.g. from tf.io.read_file), got {type(contents).__name__}")


def decode_wav(contents, desired_channels=-1, desired_samples=-1, name=None) -> DecodeWav:
    """The samples of a WAV file: ``DecodeWav(audio, sample_rate)``, ``audio`` float32
    ``(samples, channels)`` in ``[-1, 1]``, ``sample_rate`` an int32 scalar, as TensorFlow.

    ``desired_channels`` keeps the first channels, or repeats the last one to fill more;
    ``desired_samples`` cuts the samples or pads them with zeros (-1, the default: as in the
    file). Raises `InvalidArgumentError` (a ValueError) for bytes that are not a readable
    WAV file (named reason) and TypeError for contents that are not bytes.
    """
    from convnp.datasets.audio_directory import parse_wav_bytes, samples

    channels_wanted = _count(desired_channels, "desired_channels")
    samples_wanted = _count(desired_samples, "desired_samples")
    data, from_string = _contents(contents)
    try:
        channels, width, is_float, rate, offset, length = parse_wav_bytes(data)
    except ValueError as err:
        raise InvalidArgumentError(f"decode_wav: the contents are not a readable WAV file: "
                                   f"{err}") from None
    raw = data[offset:offset + length]
    if len(raw) < length and from_string:
        # NumPy keeps a string value without its trailing NUL bytes: zero samples
        raw = raw + bytes(length - len(raw))
    if len(raw) < length:
        raise InvalidArgumentError(f"decode_wav: the WAV data is truncated: its data chunk "
                                   f"declares {length} bytes, {len(raw)} follow the header")
    frame_bytes = channels * width
    audio = samples(raw[:len(raw) - len(raw) % frame_bytes], channels, width, is_float)
    if channels_wanted != -1:
        # the first channels; a missing one repeats the file's last (TensorFlow's rule)
        audio = audio[:, np.minimum(np.arange(channels_wanted), channels - 1)]
    if samples_wanted != -1:
        kept = audio[:samples_wanted]
        audio = np.zeros((samples_wanted, audio.shape[1]), np.float32)
        audio[:len(kept)] = kept
    return DecodeWav(constant(np.ascontiguousarray(audio, np.float32)),
                     constant(np.int32(rate)))


def encode_wav(audio, sample_rate, name=None) -> bytes:
    """The bytes of a 16-bit PCM WAV file holding ``audio`` ``(samples, channels)`` (values
    in ``[-1, 1]``, clipped; each scaled by 32768 and rounded half away from zero, as
    TensorFlow) at ``sample_rate`` Hz."""
    values = np.asarray(value_of(audio) if hasattr(audio, "numpy") else audio)
    if values.ndim != 2:
        raise InvalidArgumentError(f"encode_wav: audio must be 2-dimensional (samples, "
                                   f"channels), got shape {list(values.shape)}")
    if values.dtype.kind not in "fiub":
        raise TypeError(f"encode_wav: audio must be a float tensor, got {values.dtype}")
    rate = sample_rate
    if hasattr(rate, "shape") and np.shape(rate) == ():
        rate = np.asarray(value_of(rate) if hasattr(rate, "numpy") else rate).item()
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or rate < 0:
        raise ValueError(f"encode_wav: sample_rate must be a non-negative int, got "
                         f"{sample_rate!r}")
    scaled = values.astype(np.float32) * np.float32(32768.0)
    rounded = np.sign(scaled) * np.floor(np.abs(scaled) + np.float32(0.5))
    pcm = np.clip(rounded, -32768, 32767).astype("<i2").tobytes()
    channels = values.shape[1]
    header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(pcm), b"WAVE", b"fmt ", 16,
                         1, channels, int(rate), int(rate) * channels * 2, channels * 2, 16,
                         b"data", len(pcm))
    return header + pcm
