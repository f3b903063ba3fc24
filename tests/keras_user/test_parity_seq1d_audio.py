"""``tf.audio.decode_wav`` / ``encode_wav``, as keras.io's speaker recognition reads its
clips (``tf.audio.decode_wav(tf.io.read_file(path), 1, SAMPLING_RATE)``); convnp had no
``tf.audio``. The expected values are TF 2.21's.
"""

import io
import struct
import wave

import numpy as np
import pytest

import convnp as tf


def _wav(channels=2, frames=10, rate=8000) -> bytes:
    """16-bit PCM: sample i is (i * 997) % 60000 - 30000, frames interleaved."""
    values = [(i * 997) % 60000 - 30000 for i in range(frames * channels)]
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(struct.pack(f"<{len(values)}h", *values))
    return buffer.getvalue()


RAW = _wav()
# the first 12 samples as TF 2.21 decodes them: the 16-bit values / 32768
FIRST = np.array([(i * 997) % 60000 - 30000 for i in range(12)], np.float32) / 32768


def test_decode_wav_gives_tensorflows_samples_and_rate():
    decoded = tf.audio.decode_wav(RAW)
    audio, rate = decoded  # a namedtuple DecodeWav(audio, sample_rate), as TF 2.21
    assert type(decoded).__name__ == "DecodeWav"
    assert decoded._fields == ("audio", "sample_rate")
    assert tuple(audio.shape) == (10, 2) and audio.dtype == tf.float32
    np.testing.assert_allclose(audio.numpy().ravel()[:6], FIRST[:6], rtol=1e-6)
    assert int(rate) == 8000 and rate.dtype == tf.int32 and tuple(rate.shape) == ()


@pytest.mark.parametrize("channels, samples, shape, first", [
    (1, 15, (15, 1), FIRST[::2]),          # the first channel, zero-padded (TF 2.21)
    (3, -1, (10, 3), FIRST[[0, 1, 1, 2, 3, 3]]),  # a missing channel repeats the last
    (0, -1, (10, 0), FIRST[:0]),
    (-1, 0, (0, 2), FIRST[:0]),
    (-1, 4, (4, 2), FIRST[:6]),
])
def test_desired_channels_and_samples(channels, samples, shape, first):
    audio = tf.audio.decode_wav(RAW, channels, samples).audio.numpy()
    assert audio.shape == shape
    np.testing.assert_allclose(audio.ravel()[:6], first, rtol=1e-6)
    if shape == (15, 1):
        assert not audio[10:].any()


def test_string_tensors_keep_their_trailing_zero_samples():
    # a clip ending in a zero sample: NumPy drops trailing NUL bytes of string values
    clip = _wav(channels=1, frames=4)[:-2] + b"\x00\x00"
    for contents in (clip, tf.constant(clip),
                     next(iter(tf.data.Dataset.from_tensor_slices([clip, clip + b"..."])))):
        audio = tf.audio.decode_wav(contents).audio.numpy()
        assert audio.shape == (4, 1) and audio[3, 0] == 0.0


def test_bad_contents_and_arguments_are_refused():
    # TF 2.21: InvalidArgumentError for bytes that are not a WAV file, a truncated one or
    # desired_channels < -1; TypeError for contents that are not strings
    with pytest.raises(tf.errors.InvalidArgumentError, match="RIFF WAVE"):
        tf.audio.decode_wav(b"hello world, not a wav file at all.....")
    with pytest.raises(tf.errors.InvalidArgumentError, match="truncated"):
        tf.audio.decode_wav(RAW[:-6])
    with pytest.raises(tf.errors.InvalidArgumentError, match="desired_channels"):
        tf.audio.decode_wav(RAW, desired_channels=-2)
    with pytest.raises(TypeError, match="bytes of a WAV file"):
        tf.audio.decode_wav(3)
    with pytest.raises(tf.errors.InvalidArgumentError, match="2-dimensional"):
        tf.audio.encode_wav(np.zeros(9, "float32"), 16000)


def test_encode_wav_writes_tensorflows_bytes():
    signal = np.stack([np.linspace(-1.2, 1.2, 9), np.linspace(0.3, -0.3, 9)], 1)
    data = tf.audio.encode_wav(signal.astype("float32"), 16000)
    # TF 2.21's bytes (the 44-byte header, then the first 16 bytes of samples)
    assert len(data) == 80
    assert data[:44].hex() == ("524946464800000057415645666d74201000000001000200803e0000"
                               "00fa0000040010006461746124000000")
    assert data[44:60].hex() == "00806626cd8ccd1c33b333139ad99a09"
    # float64 input is cast, as TF
    assert tf.audio.encode_wav(signal, 16000) == data
    # rounding half away from zero, then the clip to int16 (TF 2.21's bytes)
    halves = np.array([[0.5], [1.5], [-0.5], [-2.5]], "float32") / 32768
    assert tf.audio.encode_wav(halves, tf.constant(8000))[44:].hex() == "01000200fffffdff"
    assert tf.audio.encode_wav(np.ones((3, 1), "int32"), 16000)[44:].hex() == "ff7fff7fff7f"
    back = tf.audio.decode_wav(data)
    np.testing.assert_allclose(back.audio.numpy()[:3].ravel(),
                               [-1.0, 0.29999, -0.89999, 0.22501, -0.60001, 0.14999], atol=1e-5)


def test_the_speaker_recognition_pipeline(tmp_path):
    paths = []
    for i in range(2):
        path = tmp_path / f"clip{i}.wav"
        tf.io.write_file(str(path), tf.audio.encode_wav(np.full((20, 1), 0.25 * i, "float32"),
                                                        16000))
        paths.append(str(path))

    def path_to_audio(path):
        audio = tf.io.read_file(path)
        audio, _ = tf.audio.decode_wav(audio, 1, 12)
        return audio

    ds = tf.data.Dataset.from_tensor_slices(paths).map(path_to_audio).batch(2)
    batch = next(iter(ds))
    assert tuple(batch.shape) == (2, 12, 1)
    np.testing.assert_allclose(batch.numpy()[:, 0, 0], [0.0, 0.25])
