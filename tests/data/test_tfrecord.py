"""tf.data.TFRecordDataset and tf.io.TFRecordWriter against files TensorFlow 2.21 wrote
(tests/fixtures/make_tfrecord.py: tfrecord_tf221.tfrecord, its GZIP copy, and the values
TensorFlow parsed from them in tfrecord_tf221.npz), the reverse (files convnp writes, in
TensorFlow's framing), corrupt files, and fit on a mapped, batched TFRecordDataset."""

from __future__ import annotations

import gzip
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

import convnp as tf
from convnp.io.records import masked_crc32c

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RECORDS = FIXTURES / "tfrecord_tf221.tfrecord"


@pytest.fixture(scope="module")
def expected():
    with np.load(FIXTURES / "tfrecord_tf221.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _split(data: np.ndarray, lengths: np.ndarray) -> list[bytes]:
    raw = data.tobytes()
    ends = np.cumsum(lengths)
    return [raw[e - n:e] for e, n in zip(ends.tolist(), lengths.tolist())]


SPEC = {"image": tf.io.FixedLenFeature([], tf.string),
        "label": tf.io.FixedLenFeature([], tf.int64),
        "values": tf.io.FixedLenFeature([3], tf.float32),
        "name": tf.io.FixedLenFeature([], tf.string),
        "tensor": tf.io.FixedLenFeature([], tf.string),
        "tokens": tf.io.FixedLenSequenceFeature([], tf.int64, allow_missing=True),
        "missing": tf.io.FixedLenFeature([2], tf.float32, default_value=[7.0, 8.0])}


@pytest.mark.parametrize("compression", [None, "GZIP"])
def test_tensorflow_file_reads_to_tensorflow_values(expected, compression):
    path = str(RECORDS) + (".gz" if compression else "")
    ds = tf.data.TFRecordDataset(path, compression_type=compression)
    records = list(ds.as_numpy_iterator())
    # TF 2.21: each element is a scalar string whose .numpy() is the record's bytes
    assert records == _split(expected["records"], expected["record_lengths"])
    assert all(type(r) is bytes for r in records)
    first = next(iter(ds))
    assert first.shape == () and first.numpy() == records[0]
    parsed = tf.io.parse_example(records, SPEC)
    assert list(parsed) == sorted(SPEC)  # TF's dict has the feature names sorted
    np.testing.assert_array_equal(parsed["label"], expected["label"])
    assert parsed["label"].dtype == np.int64 and parsed["values"].dtype == np.float32
    np.testing.assert_array_equal(parsed["values"], expected["values"])
    np.testing.assert_array_equal(parsed["tokens"], expected["tokens_padded"])
    np.testing.assert_array_equal(parsed["missing"], expected["missing"])
    # names end in a zero byte, which must survive
    assert parsed["name"].tolist() == _split(expected["names"], expected["name_lengths"])
    tensors = [tf.io.parse_tensor(t, tf.float32) for t in parsed["tensor"]]
    np.testing.assert_array_equal(np.stack(tensors), expected["tensor"])
    images = np.stack([tf.io.decode_jpeg(j) for j in parsed["image"]])
    assert images.dtype == np.uint8 and images.shape == expected["image_decoded"].shape
    # Pillow's IDCT against TensorFlow's default fast one: a few levels apart at most
    assert np.abs(images.astype(int) - expected["image_decoded"]).max() <= 8


def test_cardinality_spec_and_files_from_a_dataset(expected):
    ds = tf.data.TFRecordDataset(str(RECORDS))
    # TF 2.21: unknown cardinality (-2), len() a TypeError, a scalar string spec
    assert int(ds.cardinality()) == tf.data.UNKNOWN_CARDINALITY
    with pytest.raises(TypeError):
        len(ds)
    assert ds.element_spec.shape == () and ds.element_spec.dtype == tf.string
    names = tf.data.Dataset.from_tensor_slices([str(RECORDS), str(RECORDS)])
    assert sum(1 for _ in tf.data.TFRecordDataset(names)) == 8
    assert sum(1 for _ in tf.data.TFRecordDataset([RECORDS, RECORDS])) == 8
    assert list(tf.data.TFRecordDataset([])) == []  # no files: an empty dataset in TF


def test_mapped_batched_dataset_trains_with_fit():
    def parse(record):
        p = tf.io.parse_single_example(record, {"image": SPEC["image"],
                                                "label": SPEC["label"]})
        image = tf.cast(tf.io.decode_jpeg(p["image"], channels=3), tf.float32) / 255.0
        return image, p["label"] + 1

    ds = (tf.data.TFRecordDataset([str(RECORDS)] * 2).map(parse, num_parallel_calls=tf.data.AUTOTUNE)
          .shuffle(8, seed=1).batch(3).prefetch(tf.data.AUTOTUNE))
    x, y = next(iter(ds))
    assert x.shape == (3, 4, 4, 3) and x.dtype == np.float32 and y.dtype == np.int64
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([tf.keras.Input((4, 4, 3)), tf.keras.layers.Flatten(),
                                 tf.keras.layers.Dense(4, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(ds, epochs=2, verbose=0)
    assert list(history.history) == ["accuracy", "loss"]  # TF 2.21's keys and order
    assert len(history.history["loss"]) == 2
    batched = tf.data.TFRecordDataset(str(RECORDS)).batch(4).map(
        lambda r: tf.io.parse_example(r, {"values": SPEC["values"]}))
    assert next(iter(batched))["values"].shape == (4, 3)


@pytest.mark.parametrize("options", [None, "", "GZIP", "ZLIB",
                                     tf.io.TFRecordOptions(compression_type="ZLIB")])
def test_writer_round_trip(tmp_path, options):
    path = tmp_path / "out.tfrecord"
    records = [b"abc", b"", b"\x00" * 3, bytes(range(256)) * 300]
    with tf.io.TFRecordWriter(str(path), options=options) as writer:
        for r in records:
            writer.write(r)
        writer.flush()
        assert not path.exists()  # written whole on close, under a temporary name until then
    kind = getattr(options, "compression_type", options)
    assert list(tf.data.TFRecordDataset(str(path), kind).as_numpy_iterator()) == records
    raw = path.read_bytes()
    plain = gzip.decompress(raw) if kind == "GZIP" else zlib.decompress(raw) \
        if kind == "ZLIB" else raw
    # TensorFlow's framing: length, masked CRC of the length, data, masked CRC of the data
    assert plain[:8] == struct.pack("<Q", 3)
    assert plain[8:12] == struct.pack("<I", masked_crc32c(plain[:8]))
    assert plain[12:15] == b"abc" and plain[15:19] == struct.pack("<I", masked_crc32c(b"abc"))
    assert [p.name for p in tmp_path.iterdir()] == ["out.tfrecord"]


def test_writer_misuse(tmp_path):
    path = tmp_path / "w.tfrecord"
    writer = tf.io.TFRecordWriter(path)
    writer.write("text")  # TF accepts str, written as UTF-8
    writer.close()
    writer.close()
    assert list(tf.data.TFRecordDataset(str(path)).as_numpy_iterator()) == [b"text"]
    with pytest.raises(tf.errors.FailedPreconditionError):  # TF 2.21: "Writer is closed."
        writer.write(b"x")
    with pytest.raises(TypeError):
        tf.io.TFRecordWriter(str(tmp_path / "t")).write(5)
    with pytest.raises(ValueError, match="compression_type"):
        tf.io.TFRecordWriter(str(tmp_path / "t"), options="BAD")
    with pytest.raises(tf.errors.NotFoundError):
        tf.io.TFRecordWriter(str(tmp_path / "no" / "t"))
    with pytest.raises(RuntimeError), tf.io.TFRecordWriter(str(tmp_path / "t2")) as w:
        w.write(b"partial")
        raise RuntimeError
    assert not (tmp_path / "t2").exists()  # an exception in the block writes nothing
    with pytest.raises(ValueError, match="compression_type"):
        tf.data.TFRecordDataset(str(path), compression_type="BZ2")
    with pytest.raises(TypeError):
        tf.data.TFRecordDataset(5)
    with pytest.raises(tf.errors.NotFoundError):
        list(tf.data.TFRecordDataset(str(tmp_path / "missing")))


def _frame(data: bytes) -> bytes:
    length = struct.pack("<Q", len(data))
    return (length + struct.pack("<I", masked_crc32c(length)) + data
            + struct.pack("<I", masked_crc32c(data)))


def test_corrupt_files_fail_before_allocation(tmp_path):
    good = _frame(b"first") + _frame(b"second record")
    cases = {
        "data_crc": good[:len(_frame(b"first")) - 1] + b"\x00" + good[len(_frame(b"first")):],
        "length_crc": good[:9] + bytes([good[9] ^ 0xFF]) + good[10:],
        "truncated": good[:-6],
        # a valid length CRC on a length of 2**40 bytes: refused from the header alone
        "huge": _frame(b"first") + struct.pack("<Q", 1 << 40)
        + struct.pack("<I", masked_crc32c(struct.pack("<Q", 1 << 40))) + b"tail",
    }
    offsets = {"data_crc": 0, "length_crc": 0, "truncated": 21, "huge": 21}
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        # TF 2.21 raises DataLossError; convnp's is a ValueError too
        with pytest.raises(tf.errors.DataLossError, match=f"byte {offsets[name]}"):
            list(tf.data.TFRecordDataset(str(path)))
        with pytest.raises(ValueError, match=re.escape(str(path))):
            list(tf.data.TFRecordDataset(str(path)))
    # a compressed file's record may declare no more than the file may expand to
    # (convnp._limits): refused from the header, before any of its data is read
    gz = tmp_path / "huge.gz"
    gz.write_bytes(gzip.compress(cases["huge"]))
    with pytest.raises(ValueError, match="may expand to"):
        list(tf.data.TFRecordDataset(str(gz), "GZIP"))
    # a length within that limit but beyond the data is read in pieces and found truncated
    short = _frame(b"first") + struct.pack("<Q", 1 << 20) \
        + struct.pack("<I", masked_crc32c(struct.pack("<Q", 1 << 20))) + b"tail"
    gz.write_bytes(gzip.compress(short))
    with pytest.raises(ValueError, match="truncated"):
        list(tf.data.TFRecordDataset(str(gz), "GZIP"))
    # a plain file read as GZIP: DataLossError in TF too
    with pytest.raises(tf.errors.DataLossError):
        list(tf.data.TFRecordDataset(str(RECORDS), "GZIP"))
    # a header cut short at the end ends the file quietly, as in TensorFlow
    (tmp_path / "short").write_bytes(_frame(b"only") + b"\x05\x00")
    assert list(tf.data.TFRecordDataset(str(tmp_path / "short")).as_numpy_iterator()) == [b"only"]


def test_keras_io_helpers_and_dataset_writer(tmp_path):
    image = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    # keras.io's "Creating TFRecords": encode_jpeg(...).numpy() inside a BytesList
    jpeg = tf.io.encode_jpeg(image).numpy()
    assert type(jpeg) is bytes
    feature = tf.train.Feature(bytes_list=tf.train.BytesList(value=[jpeg]))
    (tmp_path / "i.png").write_bytes(tf.io.encode_png(image))
    assert tf.io.read_file(str(tmp_path / "i.png")).numpy() == tf.io.encode_png(image)
    # TF's tutorial: tf.data.experimental.TFRecordWriter writes a dataset of strings
    serialized = tf.train.Example(features=tf.train.Features(
        feature={"image": feature})).SerializeToString()
    path = str(tmp_path / "d.tfrecord")
    tf.data.experimental.TFRecordWriter(path).write(
        tf.data.Dataset.from_generator(lambda: iter([serialized] * 2), output_types=tf.string,
                                       output_shapes=()))
    assert list(tf.data.TFRecordDataset(path).as_numpy_iterator()) == [serialized] * 2
    with pytest.raises(TypeError):
        tf.data.experimental.TFRecordWriter(path).write(tf.data.Dataset.range(3))


def test_gfile(tmp_path):
    gfile = tf.io.gfile
    root = str(tmp_path / "g")
    gfile.makedirs(root + "/a/b")
    gfile.makedirs(root + "/a/b")  # TF 2.21: no error when it exists, nor for mkdir
    gfile.mkdir(root + "/a")
    with gfile.GFile(root + "/a/x.txt", "w") as f:
        f.write("hi\nthere\n")
    with gfile.GFile(root + "/a/y.tfrec", "wb") as f:
        f.write(b"\x00\x01")
    assert gfile.GFile(root + "/a/x.txt").readlines() == ["hi\n", "there\n"]
    assert gfile.GFile(root + "/a/y.tfrec", "rb").read() == b"\x00\x01"
    assert gfile.glob(root + "/a/*") == [root + "/a/b", root + "/a/x.txt", root + "/a/y.tfrec"]
    assert gfile.glob(root + "/none/*") == []
    assert gfile.listdir(root + "/a") == ["b", "x.txt", "y.tfrec"]
    assert (gfile.exists(root + "/a"), gfile.exists(root + "/z"), gfile.isdir(root + "/a"),
            gfile.isdir(root + "/a/x.txt")) == (True, False, True, False)
    gfile.copy(root + "/a/x.txt", root + "/a/z.txt")
    with pytest.raises(tf.errors.AlreadyExistsError):
        gfile.copy(root + "/a/x.txt", root + "/a/z.txt")
    gfile.copy(root + "/a/x.txt", root + "/a/z.txt", overwrite=True)
    with pytest.raises(tf.errors.AlreadyExistsError):
        gfile.rename(root + "/a/z.txt", root + "/a/y.tfrec")
    gfile.rename(root + "/a/z.txt", root + "/a/w.txt")
    assert gfile.stat(root + "/a/w.txt").length == 9
    gfile.remove(root + "/a/w.txt")
    for missing in (lambda: gfile.remove(root + "/a/w.txt"),
                    lambda: gfile.GFile(root + "/a/missing").read(),
                    lambda: gfile.listdir(root + "/none")):
        with pytest.raises(tf.errors.NotFoundError):
            missing()
    walked = [(Path(r).relative_to(root).as_posix(), sorted(d), sorted(f))
              for r, d, f in gfile.walk(root)]
    assert walked == [(".", ["a"], []), ("a", ["b"], ["x.txt", "y.tfrec"]), ("a/b", [], [])]
    gfile.rmtree(root + "/a")
    with pytest.raises(tf.errors.NotFoundError):
        gfile.rmtree(root + "/a")


def test_gfile_writes_files_whole_or_not_at_all(tmp_path):
    """A GFile opened to write fills a temporary file, put in place when closed: a block
    left by an exception, or a file not yet closed, leaves the old contents."""
    gfile = tf.io.gfile
    path = str(tmp_path / "notes.txt")
    with gfile.GFile(path, "w") as f:
        f.write("first\n")
    with pytest.raises(RuntimeError), gfile.GFile(path, "w") as f:
        f.write("half of a new version")
        raise RuntimeError("stopped half-way")
    assert gfile.GFile(path).read() == "first\n"
    f = gfile.GFile(path, "a")
    f.write("second\n")
    assert gfile.GFile(path).read() == "first\n"  # not yet closed: not yet in place
    assert not f.closed
    f.close()
    assert f.closed and gfile.GFile(path).read() == "first\nsecond\n"
    with pytest.raises(ValueError, match="closed"):
        f.write("more")
    with pytest.raises(tf.errors.AlreadyExistsError):
        gfile.GFile(path, "x")
    with gfile.GFile(str(tmp_path / "new.bin"), "xb") as f:
        f.write(b"\x00\x01")
    assert gfile.GFile(str(tmp_path / "new.bin"), "rb").read() == b"\x00\x01"
    with pytest.raises(tf.errors.NotFoundError):
        gfile.GFile(str(tmp_path / "no" / "such.txt"), "w")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.bin", "notes.txt"]  # no temps


def test_writer_keeps_links_and_clears_stale_temporaries(tmp_path):
    target = tmp_path / "real.tfrecord"
    target.write_bytes(b"")
    link = tmp_path / "link.tfrecord"
    link.symlink_to(target)
    stale = tmp_path / ".real.tfrecord.999999999.abcdefgh.tmp"  # a killed writer's (no pid)
    stale.write_bytes(b"partial")
    with tf.io.TFRecordWriter(str(link)) as writer:
        writer.write(b"one")
    assert link.is_symlink() and not stale.exists()
    assert list(tf.data.TFRecordDataset(str(target)).as_numpy_iterator()) == [b"one"]


def test_in_memory_serialized_examples_keep_their_zero_bytes():
    # a serialized Example whose last float is 0.0 ends in zero bytes; NumPy's fixed-width
    # bytes would drop them (TF 2.21 keeps all 17 bytes)
    def serialized(v):
        return tf.train.Example(features=tf.train.Features(feature={"x": tf.train.Feature(
            float_list=tf.train.FloatList(value=[v]))})).SerializeToString()

    records = [serialized(0.0), serialized(1.5)]
    spec = {"x": tf.io.FixedLenFeature([], tf.float32)}
    ds = tf.data.Dataset.from_tensor_slices(records)
    assert [len(r) for r in ds.as_numpy_iterator()] == [17, 17]
    assert [float(tf.io.parse_single_example(r, spec)["x"]) for r in ds] == [0.0, 1.5]
    assert tf.io.parse_example(next(iter(ds.batch(2))), spec)["x"].tolist() == [0.0, 1.5]
    pairs = tf.data.Dataset.from_tensor_slices({"r": records, "y": [1, 2]})
    assert [len(e["r"]) for e in pairs.as_numpy_iterator()] == [17, 17]
    assert [len(r) for r in tf.data.Dataset.from_tensors(records[0]).as_numpy_iterator()] == [17]
    mapped = tf.data.Dataset.range(2).map(lambda i: serialized(float(i)))
    assert [len(r) for r in mapped.as_numpy_iterator()] == [17, 17]


def test_crc32c_many_matches_one_at_a_time():
    from convnp.io.records import crc32c, crc32c_many

    rng = np.random.default_rng(0)
    datas = [rng.bytes(int(n)) for n in rng.integers(0, 1200, 120)]
    datas += [b"", b"a", b"abc", b"abcd", b"123456789", b"\x00" * 300, rng.bytes(256),
              rng.bytes(70000)]
    assert crc32c_many(datas) == [crc32c(d) for d in datas]
    assert crc32c_many([b"123456789"]) == [0xE3069283]  # the CRC-32C check value


@pytest.mark.parametrize("kind", ["GZIP", "ZLIB", None])
def test_records_before_a_damage_are_read_first(tmp_path, kind):
    # TF 2.21 yields the whole records before a cut, then raises DataLossError
    rng = np.random.default_rng(1)
    plain = tmp_path / "plain"
    with tf.io.TFRecordWriter(str(plain)) as writer:
        for _ in range(3):
            writer.write(rng.bytes(10000))
    raw = plain.read_bytes()
    packed = gzip.compress(raw) if kind == "GZIP" else zlib.compress(raw) if kind else raw
    cut = tmp_path / "cut"
    cut.write_bytes(packed[:-5000])
    got = []
    with pytest.raises(tf.errors.DataLossError):
        for record in tf.data.TFRecordDataset(str(cut), compression_type=kind):
            got.append(len(record.numpy()))
    assert got == [10000, 10000]
