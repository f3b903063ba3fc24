"""tf.train.Example and its parts, tf.io.parse_single_example / parse_example, and
tf.io.serialize_tensor / parse_tensor / decode_raw: bytes and values are TensorFlow 2.21's
(tests/fixtures/tfrecord_tf221.npz, written by tests/fixtures/make_tfrecord.py, and the
behaviour of TF 2.21 written into the tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import convnp as tf

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def expected():
    with np.load(FIXTURES / "tfrecord_tf221.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _split(data: np.ndarray, lengths: np.ndarray) -> list[bytes]:
    raw, ends = data.tobytes(), np.cumsum(lengths).tolist()
    return [raw[e - n:e] for e, n in zip(ends, lengths.tolist())]


def _bytes_feature(value):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def test_examples_serialize_to_tensorflows_bytes(expected):
    records = _split(expected["records"], expected["record_lengths"])
    names = _split(expected["names"], expected["name_lengths"])
    for i, record in enumerate(records):
        jpeg = tf.train.Example.FromString(record).features.feature["image"].bytes_list.value[0]
        tokens = list(range(i + 1)) if i != 2 else []
        example = tf.train.Example(features=tf.train.Features(feature={
            "image": _bytes_feature(jpeg),
            "label": tf.train.Feature(int64_list=tf.train.Int64List(
                value=[int(expected["label"][i])])),
            "values": tf.train.Feature(float_list=tf.train.FloatList(
                value=expected["values"][i])),
            "name": _bytes_feature(names[i]),
            "tensor": _bytes_feature(tf.io.serialize_tensor(expected["tensor"][i]).numpy()),
            "tokens": tf.train.Feature(int64_list=tf.train.Int64List(value=tokens)),
        }))
        # the records hold TF's SerializeToString(deterministic=True): entries sorted by key
        assert example.SerializeToString() == record
        assert example.SerializeToString(deterministic=True) == record
        assert tf.train.Example.FromString(record) == example
    single = tf.train.Example(features=tf.train.Features(feature={
        "x": tf.train.Feature(float_list=tf.train.FloatList(value=[1.0, -0.5]))}))
    assert single.SerializeToString() == expected["single_example"].tobytes()


def test_serialize_tensor_bytes_and_parse_tensor(expected):
    for key in ("float32", "int64", "uint8", "float32_scalar", "float32_empty"):
        array = expected[f"tensor_in/{key}"]
        data = tf.io.serialize_tensor(array)
        assert data.shape == () and data.numpy() == expected[f"tensor_bytes/{key}"].tobytes()
        back = tf.io.parse_tensor(data, array.dtype)
        assert back.dtype == array.dtype and back.shape == array.shape
        np.testing.assert_array_equal(back, array)
    strings = tf.io.serialize_tensor(np.array([b"a\x00b", b"", b"xyz"], dtype=object))
    assert strings.numpy() == expected["tensor_bytes/strings"].tobytes()
    assert tf.io.parse_tensor(strings, tf.string).tolist() == [b"a\x00b", b"", b"xyz"]
    # TF 2.21: a Python int is an int32 tensor, a list of floats a float32 one
    assert tf.io.serialize_tensor(3).numpy() == b'\x08\x03\x12\x00"\x04\x03\x00\x00\x00'
    assert tf.io.parse_tensor(tf.io.serialize_tensor([1.5, 2.0]), tf.float32).tolist() == [1.5, 2]
    with pytest.raises(tf.errors.InvalidArgumentError):  # a dtype mismatch, as in TF
        tf.io.parse_tensor(tf.io.serialize_tensor(np.ones(2, np.float32)), tf.int64)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.io.parse_tensor(b"\x08", tf.float32)


def test_message_api():
    example = tf.train.Example()
    assert example.SerializeToString() == b"" and not example.HasField("features")
    # reading a missing map entry makes it, and the first write picks the feature's kind
    example.features.feature["a"].int64_list.value.append(3)
    example.features.feature["b"].bytes_list.value.extend([b"q"])
    assert example.SerializeToString().hex() == \
        "0a180a0a0a016112051a030a01030a0a0a016212050a030a0171"  # TF 2.21's bytes
    assert example.features.feature["a"].WhichOneof("kind") == "int64_list"
    assert example.HasField("features") and example.ByteSize() == 26
    feature = tf.train.Feature()
    assert feature.WhichOneof("kind") is None and not feature.HasField("int64_list")
    assert feature.SerializeToString() == b""
    assert tf.train.Feature(bytes_list=tf.train.BytesList()).SerializeToString() == b"\n\x00"
    assert tf.train.FloatList(value=[0.1]).value[0] == 0.10000000149011612  # a float32
    assert tf.train.Int64List(value=np.array([1, 2])).value == [1, 2]
    copy = tf.train.Example()
    copy.CopyFrom(example)
    assert copy == example and copy is not example
    parsed = tf.train.Example()
    assert parsed.ParseFromString(example.SerializeToString()) == 26
    assert parsed.features.feature["a"].int64_list.value == [3]
    assert str(tf.train.Feature(float_list=tf.train.FloatList(value=[1.0, 0.1, 1e-10]))) == (
        "float_list {\n  value: 1\n  value: 0.1\n  value: 1e-10\n}\n")
    assert str(_bytes_feature(b'a"\x00\n\xff\\')) == \
        'bytes_list {\n  value: "a\\"\\000\\n\\377\\\\"\n}\n'
    # TF 2.21's exception types on misuse
    with pytest.raises(TypeError):
        tf.train.BytesList(value=["text"])
    with pytest.raises(TypeError):
        tf.train.Int64List(value=[1.5])
    with pytest.raises(TypeError):
        tf.train.FloatList(value=["a"])
    with pytest.raises(TypeError):
        tf.train.Int64List(value=5)
    with pytest.raises(ValueError):
        tf.train.Int64List(value=[2 ** 63])
    with pytest.raises(TypeError):
        tf.train.Feature(int64_list=tf.train.FloatList(value=[1.0]))
    with pytest.raises(ValueError):
        tf.train.Feature().WhichOneof("nope")
    with pytest.raises(Exception, match="parsing") as info:  # protobuf's DecodeError
        tf.train.Example.FromString(b"\xff\xff")
    assert type(info.value).__name__ == "DecodeError"


def _record():
    return tf.train.Example(features=tf.train.Features(feature={
        "zeta": tf.train.Feature(int64_list=tf.train.Int64List(value=[1, -2, 300])),
        "alpha": tf.train.Feature(float_list=tf.train.FloatList(value=[0.5, 0.0])),
        "mid": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"ab\x00", b""])),
    })).SerializeToString()


def test_parse_single_example_and_parse_example():
    spec = {"zeta": tf.io.FixedLenFeature([3], tf.int64),
            "alpha": tf.io.FixedLenFeature([2], tf.float32),
            "mid": tf.io.FixedLenFeature([2], tf.string),
            "miss": tf.io.FixedLenFeature([], tf.int64, default_value=7),
            "seq": tf.io.FixedLenSequenceFeature([], tf.float32, allow_missing=True)}
    out = tf.io.parse_single_example(_record(), spec)
    assert list(out) == ["alpha", "mid", "miss", "seq", "zeta"]  # sorted, as TF 2.21's
    assert out["zeta"].tolist() == [1, -2, 300] and out["zeta"].dtype == np.int64
    assert out["alpha"].tolist() == [0.5, 0.0] and out["alpha"].dtype == np.float32
    assert out["mid"].tolist() == [b"ab\x00", b""]  # the zero byte kept
    assert out["miss"].shape == () and int(out["miss"]) == 7
    assert out["seq"].shape == (0,) and out["seq"].dtype == np.float32
    batch = tf.io.parse_example(np.array([_record(), _record()], dtype=object), spec)
    assert batch["zeta"].shape == (2, 3) and batch["seq"].shape == (2, 0)
    assert batch["miss"].tolist() == [7, 7]
    # FixedLenFeature's shape may add axes; sequences pad with default_value in a batch
    assert tf.io.parse_single_example(_record(), {"zeta": tf.io.FixedLenFeature(
        [3, 1], tf.int64)})["zeta"].shape == (3, 1)
    padded = tf.io.parse_example([_record(), tf.train.Example().SerializeToString()], {
        "zeta": tf.io.FixedLenSequenceFeature([], tf.int64, allow_missing=True,
                                              default_value=-1)})
    assert padded["zeta"].tolist() == [[1, -2, 300], [-1, -1, -1]]
    assert tf.io.parse_single_example(_record(), {"m": tf.io.FixedLenFeature(
        [2], tf.float32, default_value=[1.0, 2.0])})["m"].tolist() == [1.0, 2.0]
    assert tf.io.FixedLenFeature([3], tf.int64)._fields == ("shape", "dtype", "default_value")


def test_parse_errors_have_tensorflows_types():
    record = _record()
    bad = {
        "missing": {"nope": tf.io.FixedLenFeature([], tf.int64)},
        "dtype": {"zeta": tf.io.FixedLenFeature([3], tf.float32)},
        "size": {"zeta": tf.io.FixedLenFeature([2], tf.int64)},
        "int32": {"zeta": tf.io.FixedLenFeature([3], tf.int32)},
        "sequence size": {"zeta": tf.io.FixedLenSequenceFeature([2], tf.int64,
                                                                allow_missing=True)},
        "default size": {"m": tf.io.FixedLenFeature([2], tf.float32, default_value=1.5)},
    }
    for spec in bad.values():  # TF 2.21: InvalidArgumentError for each
        with pytest.raises(tf.errors.InvalidArgumentError):
            tf.io.parse_single_example(record, spec)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.io.parse_single_example(b"\xff\xff", {"zeta": tf.io.FixedLenFeature([3], tf.int64)})
    with pytest.raises(ValueError, match="allow_missing"):
        tf.io.parse_single_example(record, {"zeta": tf.io.FixedLenSequenceFeature([], tf.int64)})
    with pytest.raises(ValueError, match="Unsupported"):
        tf.io.parse_single_example(record, {"zeta": [3]})
    # VarLenFeature is a SparseTensor in TF, which convnp does not have
    with pytest.raises(NotImplementedError, match="FixedLenSequenceFeature"):
        tf.io.parse_single_example(record, {"v": tf.io.VarLenFeature(tf.int64)})


def test_decode_raw():
    data = np.array([1, -2, 3], np.int16).tobytes()
    assert tf.io.decode_raw(data, tf.int16).tolist() == [1, -2, 3]
    assert tf.io.decode_raw(data, tf.int16, little_endian=False).tolist() == [256, -257, 768]
    assert tf.io.decode_raw([data, data], tf.uint8).shape == (2, 6)
    assert tf.io.decode_raw([data, data[:4]], tf.uint8, fixed_length=5).tolist() == [
        [1, 0, 254, 255, 3], [1, 0, 254, 255, 0]]
    for bad in ([data, data[:4]], data[:5]):  # TF 2.21: InvalidArgumentError
        with pytest.raises(tf.errors.InvalidArgumentError):
            tf.io.decode_raw(bad, tf.int16)


def test_values_tensors_dicts_and_spec_checks():
    # TF 2.21: protobuf takes numeric scalar tensors (and iterates a vector of them), refuses
    # booleans in an Int64List and string tensors in a BytesList
    assert tf.train.Int64List(value=[tf.constant(3)]).value == [3]
    assert tf.train.FloatList(value=tf.constant([1.0, 2.0])).value == [1.0, 2.0]
    assert tf.train.FloatList(value=[True]).value == [1.0]
    for bad in (False, np.bool_(True)):
        with pytest.raises(TypeError):
            tf.train.Int64List(value=[bad])
    with pytest.raises(TypeError):
        tf.train.BytesList(value=[tf.constant(b"x")])
    with pytest.raises(TypeError):
        tf.train.BytesList(value=[bytearray(b"x")])
    # a dict for a message field is its constructor's arguments, as in protobuf
    example = tf.train.Example(features={"feature": {"a": {"int64_list": {"value": [1]}}}})
    assert example.features.feature["a"].int64_list.value == [1]
    with pytest.raises(ValueError):
        tf.train.Example(features={"a": 1})
    with pytest.raises(TypeError):
        tf.train.Features(feature={"a": 1})
    # protobuf's text format: 6 digits when they read back as the float32, else 9
    assert str(tf.train.FloatList(value=[np.exp(1), 0.9876])) == \
        "value: 2.71828175\nvalue: 0.9876\n"
    record = _record()
    with pytest.raises(ValueError):  # an unknown first axis (TF: "First dimension ... unknown")
        tf.io.parse_single_example(record, {"zeta": tf.io.FixedLenFeature([None], tf.int64)})
    with pytest.raises(ValueError):  # TF: "Input serialized must be a scalar"
        tf.io.parse_single_example([record, record], {"zeta": tf.io.FixedLenFeature([3],
                                                                                   tf.int64)})
    with pytest.raises(ValueError):  # TF: "features cannot be empty"
        tf.io.parse_single_example(record, {})
    # parse_example of one scalar Example: no batch axis, as in TF
    one = tf.io.parse_example(record, {"zeta": tf.io.FixedLenFeature([3], tf.int64)})
    assert one["zeta"].shape == (3,)
    assert tf.io.parse_single_example(record, {"zeta": tf.io.FixedLenFeature(
        3, "int64")})["zeta"].tolist() == [1, -2, 300]


def _ints(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def _sequence_example():
    floats = [tf.train.Feature(float_list=tf.train.FloatList(value=v))
              for v in ([1, 2], [3, 4], [5, 6])]
    return tf.train.SequenceExample(
        context=tf.train.Features(feature={"len": _ints([3]), "lab": _ints([1])}),
        feature_lists=tf.train.FeatureLists(feature_list={
            "tok": tf.train.FeatureList(feature=[_ints([5]), _ints([6]), _ints([7])]),
            "vec": tf.train.FeatureList(feature=floats)}))


# TF 2.21's SerializeToString(deterministic=True) of _sequence_example()
SEQUENCE_HEX = ("0a1c0a0c0a036c616212051a030a01010a0c0a036c656e12051a030a010312510a1c0a03746f6b12"
                "150a051a030a01050a051a030a01060a051a030a01070a310a03766563122a0a0c120a0a08000080"
                "3f000000400a0c120a0a0800004040000080400a0c120a0a080000a0400000c040")


def test_sequence_examples():
    example = _sequence_example()
    data = example.SerializeToString()
    assert data.hex() == SEQUENCE_HEX
    assert tf.train.SequenceExample.FromString(data) == example
    assert tf.train.FeatureList(feature=[_ints([5])]).SerializeToString().hex() == \
        "0a051a030a0105"
    built = tf.train.SequenceExample()
    built.feature_lists.feature_list["a"].feature.add().int64_list.value.append(3)
    assert built.SerializeToString().hex() == "120e0a0c0a016112070a051a030a0103"
    context_spec = {"len": tf.io.FixedLenFeature([], tf.int64),
                    "lab": tf.io.FixedLenFeature([], tf.int64),
                    "miss": tf.io.FixedLenFeature([], tf.int64, default_value=-1)}
    steps_spec = {"tok": tf.io.FixedLenSequenceFeature([], tf.int64),
                  "vec": tf.io.FixedLenSequenceFeature([2], tf.float32),
                  "none": tf.io.FixedLenSequenceFeature([], tf.int64, allow_missing=True)}
    context, steps = tf.io.parse_single_sequence_example(data, context_spec, steps_spec)
    assert {k: v.tolist() for k, v in context.items()} == {"lab": 1, "len": 3, "miss": -1}
    assert steps["tok"].tolist() == [5, 6, 7] and steps["none"].shape == (0,)
    assert steps["vec"].shape == (3, 2) and steps["vec"].dtype == np.float32
    context, steps, lengths = tf.io.parse_sequence_example([data, data], context_spec,
                                                           steps_spec)
    assert context["len"].tolist() == [3, 3] and steps["vec"].shape == (2, 3, 2)
    assert {k: v.tolist() for k, v in lengths.items()} == {"none": [0, 0], "tok": [3, 3],
                                                           "vec": [3, 3]}
    for spec in ({"none": tf.io.FixedLenSequenceFeature([], tf.int64)},  # required, missing
                 {"vec": tf.io.FixedLenSequenceFeature([3], tf.float32)},
                 {"tok": tf.io.FixedLenSequenceFeature([], tf.float32)}):
        with pytest.raises(tf.errors.InvalidArgumentError):
            tf.io.parse_single_sequence_example(data, sequence_features=spec)
    with pytest.raises(ValueError):  # TF 2.21: FixedLenFeature is no sequence feature
        tf.io.parse_single_sequence_example(data, sequence_features={
            "tok": tf.io.FixedLenFeature([], tf.int64)})
    with pytest.raises(ValueError):
        tf.io.parse_single_sequence_example(data)


def test_sub_message_presence():
    # TF 2.21: a sub-message given (or read) is written even when empty; one only looked at
    # is not
    assert tf.train.Example(features=tf.train.Features()).SerializeToString() == b"\n\x00"
    assert tf.train.SequenceExample(context=tf.train.Features()).SerializeToString() == \
        b"\n\x00"
    looked = tf.train.Example()
    assert looked.features.feature == {} and looked.SerializeToString() == b""
    read = tf.train.Example.FromString(b"\n\x00")
    assert read.HasField("features") and read.SerializeToString() == b"\n\x00"
    assert tf.train.FeatureList(feature=[tf.train.Feature()]).SerializeToString() == b"\n\x00"
    assert str(tf.train.Example(features=tf.train.Features())) == "features {\n}\n"


def test_numpy_vectors_convert_at_once():
    image = np.linspace(-1, 1, 224 * 224 * 3, dtype=np.float32)
    floats = tf.train.FloatList(value=image)
    back = tf.train.FloatList.FromString(floats.SerializeToString())
    np.testing.assert_array_equal(np.array(back.value, dtype=np.float32), image)
    assert tf.train.Int64List(value=np.arange(3, dtype=np.uint8)).value == [0, 1, 2]
    assert tf.train.FloatList(value=np.array([True])).value == [1.0]
    with pytest.raises(ValueError):  # beyond int64, as protobuf says
        tf.train.Int64List(value=np.array([2 ** 63], dtype=np.uint64))
