"""tf.keras.utils.text_dataset_from_directory and audio_dataset_from_directory against Keras 3.15
(tests/fixtures/directory_loaders.npz, made by make_directory_loaders.py on the same folders),
WAV decoding and refusals, and small models trained with fit on the datasets."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest

import convnp as tf
from tests.fixtures.directory_loader_cases import (
    CASES,
    ERRORS,
    STEREO,
    build_audio_tree,
    build_text_tree,
    first_sample_ids,
    sound_samples,
    write_wav,
)

FIXTURE = Path(__file__).parents[1] / "fixtures" / "directory_loaders.npz"


@pytest.fixture(scope="module")
def keras_numbers():
    with np.load(FIXTURE) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    base = tmp_path_factory.mktemp("loaders")
    roots = {"text": build_text_tree(str(base / "texts")),
             "audio": build_audio_tree(str(base / "sounds")),
             "stereo": build_audio_tree(str(base / "stereo"), STEREO),
             "missing": str(base / "nope"),
             "empty": str(base / "empty_tree")}
    os.makedirs(roots["empty"] + "/a")
    return roots


def loader(name):
    if name.startswith(("audio", "stereo")):
        return tf.keras.utils.audio_dataset_from_directory
    return tf.keras.utils.text_dataset_from_directory


def elements(dataset):
    out = []
    for element in dataset:
        x, y = element if isinstance(element, tuple) else (element, None)
        out.append((np.asarray(x), None if y is None else np.asarray(y)))
    return out


def rows(batches, audio: bool):
    """(file key, label row) of every element, sorted by the key."""
    pairs = []
    for x, y in batches:
        xs = x if x.ndim == (3 if audio else 1) else x[None]
        keys = first_sample_ids(xs) if audio else list(xs)
        labels = [None] * len(keys) if y is None else list(y.reshape(len(keys), -1))
        pairs.extend(zip(keys, labels))
    pairs.sort(key=lambda p: p[0])
    return [p[0] for p in pairs], [p[1] for p in pairs]


@pytest.mark.parametrize("name, tree, kwargs", CASES, ids=[c[0] for c in CASES])
def test_same_files_labels_and_batches_as_keras(keras_numbers, roots, name, tree, kwargs):
    root = roots[tree]
    dataset = loader(name)(root, verbose=False, **kwargs)
    if f"{name}/class_names" in keras_numbers:
        assert dataset.class_names == keras_numbers[f"{name}/class_names"].tolist()
    else:
        assert dataset.class_names is None
    # the file list: Keras's order after its seeded shuffle, then the split
    order = keras_numbers[f"{name}/order"].tolist()
    listed = [os.path.relpath(p, root) for p in dataset.file_paths]
    split, subset = kwargs.get("validation_split"), kwargs.get("subset")
    if split:
        n_val = int(split * len(order))
        order = order[:len(order) - n_val] if subset == "training" else order[-n_val:]
    assert listed == order
    got = elements(dataset)
    n = int(keras_numbers[f"{name}/batches"])
    assert len(got) == n
    want = [(keras_numbers[f"{name}/x/{i}"], keras_numbers.get(f"{name}/y/{i}"))
            for i in range(n)]
    audio = tree != "text"
    if kwargs.get("shuffle", True):  # tf.data's epoch shuffle differs: same elements
        got_keys, got_labels = rows(got, audio)
        want_keys, want_labels = rows(want, audio)
        assert got_keys == want_keys
        for a, b in zip(got_labels, want_labels):
            np.testing.assert_array_equal(a, b)
        if audio:  # one batch: the same padded arrays, in another order
            x, xk = got[0][0], want[0][0]
            np.testing.assert_array_equal(x[np.argsort(first_sample_ids(x))],
                                          xk[np.argsort(first_sample_ids(xk))])
        return
    for (x, y), (xk, yk) in zip(got, want):
        assert x.shape == xk.shape
        if audio:
            assert x.dtype == np.float32
        else:
            assert x.dtype.kind == "S"
        np.testing.assert_array_equal(x, xk)
        if yk is None:
            assert y is None
        else:
            assert y.dtype == yk.dtype and y.shape == yk.shape
            np.testing.assert_array_equal(y, yk)


@pytest.mark.parametrize("name, tree, kwargs", ERRORS, ids=[e[0] for e in ERRORS])
def test_bad_input_raises_what_keras_raises(keras_numbers, roots, name, tree, kwargs):
    expected = str(keras_numbers[f"errors/{name}"])
    error = {"ValueError": ValueError, "FileNotFoundError": FileNotFoundError}[expected]
    with pytest.raises(error) as info:
        loader(name)(roots[tree], verbose=False, **kwargs)
    assert type(info.value) is error


def test_messages_name_expected_and_received(roots):
    text = tf.keras.utils.text_dataset_from_directory
    with pytest.raises(ValueError, match=r"label_mode must be one of .* got 'sparse'"):
        text(roots["text"], label_mode="sparse")
    with pytest.raises(ValueError, match="3 labels but found 18 files"):
        text(roots["text"], labels=[0, 1, 0], verbose=False)
    with pytest.raises(ValueError, match=r"\['llama'\] are not sub-folders"):
        text(roots["text"], class_names=["neg", "llama"], verbose=False)
    with pytest.raises(ValueError, match="exactly 2 classes"):
        text(roots["text"], label_mode="binary", verbose=False)
    with pytest.raises(ValueError, match=r"no text files found .*\.txt"):
        text(roots["empty"], verbose=False)
    with pytest.raises(ValueError, match="must hold ints, got 'a'"):
        text(roots["text"], labels=["a"] * 18)
    with pytest.raises(ValueError, match="max_length must be a non-negative int"):
        text(roots["text"], max_length=-1)
    with pytest.raises(ValueError, match="format must be 'tf' or 'grain'"):
        text(roots["text"], format="torch")
    with pytest.raises(ValueError, match="batch_size must be a positive int or None"):
        text(roots["text"], batch_size=0)
    with pytest.raises(ValueError, match="leaves no validation files"):
        text(roots["text"], validation_split=0.01, subset="both", seed=1, verbose=False)
    with pytest.raises(ValueError, match=r"labels in \[0, 2\)"):
        text(roots["text"], labels=[0, 5] * 9, label_mode="categorical", verbose=False)
    audio = tf.keras.utils.audio_dataset_from_directory
    with pytest.raises(ValueError, match="ragged=True is not supported"):
        audio(roots["audio"], ragged=True)
    with pytest.raises(ValueError, match="output_sequence_length must be a positive int"):
        audio(roots["audio"], output_sequence_length=0)
    with pytest.raises(ValueError, match="sampled at 8000 Hz, sampling_rate=16000"):
        audio(roots["audio"], sampling_rate=16000, verbose=False)
    assert len(audio(roots["audio"], sampling_rate=8000, verbose=False).file_paths) == 9


def test_split_both_seed_and_preprocessing_alias(roots, capsys):
    kwargs = {"validation_split": 0.25, "seed": 3}
    train, val = tf.keras.preprocessing.text_dataset_from_directory(roots["text"],
                                                                    subset="both", **kwargs)
    out = capsys.readouterr().out
    assert "Found 16 files belonging to 4 classes." in out
    assert "Using 12 files for training." in out and "Using 4 files for validation." in out
    alone = tf.keras.utils.text_dataset_from_directory(roots["text"], subset="validation",
                                                       verbose=False, **kwargs)
    assert val.file_paths == alone.file_paths and not set(val.file_paths) & set(
        train.file_paths)
    assert train.class_names == val.class_names == ["empty", "mid", "neg", "pos"]
    # the validation half of "both" is not reshuffled (Keras); training is, every epoch
    first = [t for t, _ in val.as_numpy_iterator()]
    np.testing.assert_array_equal(np.concatenate(first),
                                  np.concatenate([t for t, _ in val.as_numpy_iterator()]))
    assert np.concatenate(first).tolist() == [Path(p).read_bytes() for p in val.file_paths]
    epochs = [np.concatenate([t for t, _ in train.as_numpy_iterator()]).tolist()
              for _ in range(3)]
    assert sorted(epochs[0]) == sorted(epochs[1]) and len({tuple(e) for e in epochs}) > 1


def test_texts_are_keras_style_strings(roots):
    ds = tf.keras.utils.text_dataset_from_directory(roots["text"], shuffle=False,
                                                    batch_size=32, verbose=False)
    texts, labels = next(iter(ds))
    assert texts.dtype.kind == "S" and tuple(texts.shape) == (16,)  # tf.string: bytes
    assert texts.numpy()[0].decode("utf-8") == "so so"  # mid/m0.txt
    decoded = [t.decode("utf-8") for t in texts.numpy()]
    assert "très bien ✓ 0" in decoded
    assert labels.numpy().dtype == np.int32
    # max_length counts bytes, as tf.strings.substr: a cut character is the raw bytes
    short = tf.keras.utils.text_dataset_from_directory(roots["text"], shuffle=False,
                                                       max_length=4, label_mode=None,
                                                       verbose=False)
    texts = np.concatenate(list(short.as_numpy_iterator())).tolist()
    assert "très".encode()[:4] in texts and all(len(t) <= 4 for t in texts)


def test_audio_batches_padded_to_longest_and_fixed_length(roots):
    ds = tf.keras.utils.audio_dataset_from_directory(roots["audio"], shuffle=False,
                                                     batch_size=4, verbose=False)
    shapes = [tuple(x.shape) for x, _ in ds]
    # bird/b0 (10 samples), bird/b1.WAV (4), cat/c0 (3), cat/c1 (15) | c2 9, c3 6, dog/d0 7,
    # d1 12 | dog/sub/d2 5: each batch padded to its longest file
    assert shapes == [(4, 15, 1), (4, 12, 1), (1, 5, 1)]
    x = np.asarray(next(iter(ds))[0])
    want = sound_samples(7, 10, 1) / 32768.0
    np.testing.assert_array_equal(x[0, :10], want.astype(np.float32))
    np.testing.assert_array_equal(x[0, 10:], 0)
    np.testing.assert_array_equal(x[1, 4:], 0)
    assert x.min() == -1.0 and x.max() < 1.0
    stereo = tf.keras.utils.audio_dataset_from_directory(
        roots["stereo"], shuffle=False, batch_size=None, output_sequence_length=5,
        label_mode=None, verbose=False)
    assert [tuple(np.shape(a)) for a in stereo] == [(5, 2)] * 3


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_pcm_widths_scaled_to_unit_range(tmp_path, width):
    bits = 8 * width
    top = 2 ** (bits - 1)
    ints = np.array([[-top, 0], [top - 1, 1], [-1, top // 2]], dtype=np.int64)
    stored = ints + 128 if width == 1 else ints  # 8-bit WAV is unsigned
    write_wav(str(tmp_path / "c" / "x.wav"), stored, width=width)
    ds = tf.keras.utils.audio_dataset_from_directory(tmp_path, verbose=False, shuffle=False)
    x, _ = next(iter(ds))
    np.testing.assert_allclose(np.asarray(x)[0], ints / top, rtol=0, atol=1e-7)
    assert np.asarray(x).dtype == np.float32 and tuple(x.shape) == (1, 3, 2)


def wav_bytes(fmt_tag=1, channels=1, width=2, declared=None, data=b"\0\0" * 4):
    block = channels * width
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, 8000, 8000 * block, block, 8 * width)
    size = len(data) if declared is None else declared
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack(
        "<I", size) + data
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + body


def chunk(name: bytes, payload: bytes) -> bytes:
    """A RIFF chunk, padded to an even size."""
    return name + struct.pack("<I", len(payload)) + payload + b"\0" * (len(payload) % 2)


#: the sub-format GUIDs of WAVE_FORMAT_EXTENSIBLE (KSDATAFORMAT_SUBTYPE_PCM, _IEEE_FLOAT)
GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")
PCM_GUID = struct.pack("<H", 1) + GUID_TAIL
FLOAT_GUID = struct.pack("<H", 3) + GUID_TAIL


def riff(fmt_tag, channels, bits, data, guid=None, valid_bits=None, extra=(), declared=None):
    """A WAV file's bytes written by hand: ``fmt `` (format ``fmt_tag``; for 0xFFFE the
    extension with ``guid``; for 3 an 18-byte chunk), the ``extra`` chunks, then ``data``."""
    block = channels * ((bits + 7) // 8)
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, 8000, 8000 * block, block, bits)
    if fmt_tag == 0xFFFE:
        fmt += struct.pack("<HHI", 22, valid_bits or bits, 0) + guid
    elif fmt_tag == 3:
        fmt += struct.pack("<H", 0)
    body = chunk(b"fmt ", fmt) + b"".join(extra)
    if declared is None:
        body += chunk(b"data", data)
    else:
        body += b"data" + struct.pack("<I", declared) + data
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body


def read_all(tmp_path, content: bytes, **kwargs) -> np.ndarray:
    folder = tmp_path / "c"
    folder.mkdir(exist_ok=True)
    (folder / "x.wav").write_bytes(content)
    ds = tf.keras.utils.audio_dataset_from_directory(tmp_path, verbose=False, shuffle=False,
                                                     **kwargs)
    x, _ = next(iter(ds))
    assert np.asarray(x).dtype == np.float32
    return np.asarray(x)[0]


FLOATS = np.array([[0.5, -0.25], [1.5, -2.0], [1e-8, 0.0], [-1.0, 0.999]])


@pytest.mark.parametrize("dtype", ["<f4", "<f8"])
def test_ieee_float_wav_samples_are_read_as_they_are(tmp_path, dtype):
    """Format 3, 32 and 64-bit: the samples as float32, not scaled nor clipped (TensorFlow's
    decode_wav refuses these files; this is the usual reading)."""
    bits = 8 * np.dtype(dtype).itemsize
    fact = chunk(b"fact", struct.pack("<I", len(FLOATS)))  # float files usually carry one
    x = read_all(tmp_path, riff(3, 2, bits, FLOATS.astype(dtype).tobytes(), extra=[fact]))
    np.testing.assert_array_equal(x, FLOATS.astype(dtype).astype(np.float32))


def test_wave_format_extensible_pcm_and_float(tmp_path):
    ints = np.array([[100, -32768], [32767, 0], [-1, 7]], "<i2")
    plain = read_all(tmp_path, riff(1, 2, 16, ints.tobytes()))
    np.testing.assert_array_equal(plain, ints / 32768.0)
    assert np.array_equal(read_all(tmp_path, riff(0xFFFE, 2, 16, ints.tobytes(), PCM_GUID)),
                          plain)
    # 24-bit containers holding 20 valid bits: scaled by the container, as a 24-bit file
    three = bytes([0x00, 0x00, 0x80, 0x10, 0x00, 0x00])
    np.testing.assert_array_equal(
        read_all(tmp_path, riff(0xFFFE, 1, 24, three, PCM_GUID, valid_bits=20))[:, 0],
        np.array([-(1 << 23), 0x10], np.float32) / (1 << 23))
    floats = FLOATS.astype("<f4")
    np.testing.assert_array_equal(
        read_all(tmp_path, riff(0xFFFE, 2, 32, floats.tobytes(), FLOAT_GUID)), floats)


def test_chunks_before_the_data_are_skipped_with_their_padding(tmp_path):
    ints = np.array([[3], [-4], [5]], "<i2")
    listed = chunk(b"LIST", b"INFOabc")  # odd size: a pad byte follows
    x = read_all(tmp_path, riff(1, 1, 16, ints.tobytes(), extra=[listed, chunk(b"junk", b"")]))
    np.testing.assert_array_equal(x, ints / 32768.0)
    # and the stdlib's own file reads the same
    write_wav(str(tmp_path / "c" / "x.wav"), ints)
    ds = tf.keras.utils.audio_dataset_from_directory(tmp_path, verbose=False, shuffle=False)
    np.testing.assert_array_equal(np.asarray(next(iter(ds))[0])[0], x)


def test_float_wav_cut_and_padded_to_output_sequence_length(tmp_path):
    floats = FLOATS.astype("<f4")
    content = riff(3, 2, 32, floats.tobytes())
    np.testing.assert_array_equal(read_all(tmp_path, content, output_sequence_length=2),
                                  floats[:2])
    padded = read_all(tmp_path, content, output_sequence_length=6)
    np.testing.assert_array_equal(padded, np.concatenate([floats, np.zeros((2, 2))]))


@pytest.mark.parametrize("content, match", [
    (wav_bytes(fmt_tag=6, width=1),
     r"format code 6 \(A-law\) is not supported; integer PCM \(format 1.*IEEE float"),
    (wav_bytes(fmt_tag=0x55), r"format code 85 \(MPEG layer 3\) is not supported"),
    (wav_bytes(fmt_tag=0xFFFE), "WAVE_FORMAT_EXTENSIBLE fmt chunk has 16 bytes, at least 40"),
    (riff(0xFFFE, 1, 8, b"\0", struct.pack("<H", 6) + GUID_TAIL),
     "sub-format GUID 0600000000001000800000aa00389b71 is not supported"),
    (riff(3, 1, 16, b"\0\0"), "16-bit floating-point samples; 32 or 64-bit IEEE float"),
    (riff(1, 1, 40, b"\0" * 5), "40-bit PCM samples"),
    (wav_bytes(declared=2**31 - 2), "declares 2147483646 bytes of samples but only 8"),
    (riff(3, 1, 32, b"\0" * 8, declared=2**32 - 4),
     "declares 4294967292 bytes of samples but only 8"),
    (riff(1, 0, 16, b""), "declares 0 channels"),
    (b"RIFX" + wav_bytes()[4:], "RIFX files are not supported"),
    (wav_bytes()[:30], "header is truncated"),
    (b"RIFF\4\0\0\0WAVE" + chunk(b"fmt ", wav_bytes()[20:36]), "it has no data chunk"),
    (b"RIFF\4\0\0\0WAVE" + chunk(b"data", b"\0\0"), "data chunk comes before any fmt"),
    (b"RIFF\4\0\0\0WAVE" + b"fmt " + struct.pack("<I", 2**31),
     "fmt chunk declares 2147483648 bytes"),
    (b"not a wav file at all", "does not start with a RIFF WAVE header"),
])
def test_corrupt_wav_is_a_clear_error(tmp_path, content, match):
    (tmp_path / "c").mkdir()
    write_wav(str(tmp_path / "c" / "good.wav"), np.zeros((4, 1), np.int16))
    (tmp_path / "c" / "bad.wav").write_bytes(content)
    with pytest.raises(ValueError, match=match) as info:
        tf.keras.utils.audio_dataset_from_directory(tmp_path, verbose=False)
    assert "bad.wav" in str(info.value)


def test_mixed_channel_counts_need_batch_size_none(tmp_path):
    write_wav(str(tmp_path / "a" / "mono.wav"), np.zeros((4, 1), np.int16))
    write_wav(str(tmp_path / "a" / "stereo.wav"), np.zeros((3, 2), np.int16))
    with pytest.raises(ValueError, match=r"different channel counts \[1, 2\]"):
        tf.keras.utils.audio_dataset_from_directory(tmp_path, verbose=False)
    ds = tf.keras.utils.audio_dataset_from_directory(tmp_path, batch_size=None,
                                                     shuffle=False, verbose=False)
    assert [tuple(x.shape) for x, _ in ds] == [(4, 1), (3, 2)]


def test_follow_links(tmp_path):
    build_text_tree(str(tmp_path / "real"))
    (tmp_path / "tree" / "neg").mkdir(parents=True)
    (tmp_path / "tree" / "neg" / "own.txt").write_text("own")
    try:
        os.symlink(tmp_path / "real" / "pos", tmp_path / "tree" / "neg" / "linked")
    except OSError:
        pytest.skip("no symbolic links here")
    plain = tf.keras.utils.text_dataset_from_directory(tmp_path / "tree", verbose=False)
    linked = tf.keras.utils.text_dataset_from_directory(tmp_path / "tree", verbose=False,
                                                        follow_links=True, shuffle=False)
    assert len(plain.file_paths) == 1 and len(linked.file_paths) == 8
    assert linked.file_paths[1].endswith(os.path.join("neg", "linked", "g0.txt"))


def test_text_classifier_trains_with_fit(tmp_path):
    rng = np.random.default_rng(0)
    words = {"neg": ["bad", "awful", "boring"], "pos": ["good", "great", "fun"]}
    filler = ["the", "movie", "was", "and", "plot"]
    for label, cue in words.items():
        (tmp_path / label).mkdir()
        for i in range(24):
            text = " ".join(rng.choice(filler + cue, size=8))
            (tmp_path / label / f"{i}.txt").write_text(text + " " + cue[i % 3])
    train, val = tf.keras.utils.text_dataset_from_directory(
        tmp_path, batch_size=8, validation_split=0.25, subset="both", seed=1, verbose=False)
    vocab = sorted(set(filler + words["neg"] + words["pos"]))

    def vectorize(texts, labels):  # a bag of words, as TextVectorization(output_mode="count")
        rows = [t.decode("utf-8").split() for t in np.asarray(texts).tolist()]
        counts = np.array([[r.count(w) for w in vocab] for r in rows], np.float32)
        return counts, labels

    model = tf.keras.Sequential([tf.keras.Input((len(vocab),)),
                                 tf.keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=tf.keras.optimizers.Adam(0.1), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(train.map(vectorize), validation_data=val.map(vectorize), epochs=15,
                        verbose=0)
    assert history.history["val_accuracy"][-1] >= 0.9


def test_audio_classifier_trains_with_fit(tmp_path):
    rng = np.random.default_rng(1)
    for label, period in (("low", 16), ("high", 4)):
        for i in range(16):
            n = int(rng.integers(40, 64))
            t = np.arange(n) + rng.integers(period)
            wave = 0.5 * np.sin(2 * np.pi * t / period) + 0.05 * rng.standard_normal(n)
            write_wav(str(tmp_path / label / f"{i}.wav"),
                      np.round(wave * 32767).astype(np.int16)[:, None])
    train, val = tf.keras.utils.audio_dataset_from_directory(
        tmp_path, batch_size=8, validation_split=0.25, subset="both", seed=2, verbose=False)
    x, _ = next(iter(train))
    assert x.shape[0] == 8 and x.shape[2] == 1
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([
        tf.keras.Input((None, 1)),
        tf.keras.layers.Conv1D(4, 3, activation="relu"),
        tf.keras.layers.GlobalMaxPooling1D(),
        tf.keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=tf.keras.optimizers.Adam(0.05),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(train, validation_data=val, epochs=20, verbose=0)
    assert history.history["accuracy"][-1] >= 0.9
    assert history.history["val_accuracy"][-1] >= 0.85
