"""The hand-written protobuf encoder: wire format by hand, ONNX messages via the onnx package."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from convnp.interop import protobuf as pb


@pytest.mark.parametrize("value, encoded", [
    (0, "00"), (1, "01"), (127, "7f"), (128, "8001"), (300, "ac02"),
    (2**63 - 1, "ffffffffffffffff7f"), (-1, "ffffffffffffffffff01"),
    (-2, "feffffffffffffffff01"),
])
def test_varint_known_bytes(value, encoded):
    assert pb.varint(value).hex() == encoded
    decoded, end = pb.read_varint(pb.varint(value), 0)
    assert end == len(encoded) // 2
    assert decoded == value % (1 << 64)


def test_varint_rejects_out_of_range():
    with pytest.raises(ValueError):
        pb.varint(1 << 64)


def test_fields_decode_back():
    data = (pb.field_varint(1, 150) + pb.field_string(2, "héllo") + pb.field_float(3, 1.5)
            + pb.field_bytes(4, b"\x00\x01") + pb.repeated_varint(5, [3, -4]))
    fields = list(pb.iter_fields(data))
    assert fields[0] == (1, pb.VARINT, 150)
    assert fields[1] == (2, pb.LENGTH_DELIMITED, "héllo".encode())
    assert fields[2] == (3, pb.FIXED32, struct.pack("<f", 1.5))
    assert fields[3] == (4, pb.LENGTH_DELIMITED, b"\x00\x01")
    assert fields[4:] == [(5, pb.VARINT, 3), (5, pb.VARINT, (1 << 64) - 4)]


def test_decoder_rejects_truncation():
    with pytest.raises(ValueError):
        list(pb.iter_fields(pb.field_string(1, "abc")[:-1]))


def test_tensor_refuses_other_dtypes():
    with pytest.raises(ValueError, match="float32 and int64"):
        pb.tensor_proto("t", np.zeros(3, dtype=np.float64))


def test_attribute_refuses_bool_and_unknown():
    with pytest.raises(TypeError):
        pb.attribute_proto("a", True)
    with pytest.raises(TypeError):
        pb.attribute_proto("a", {"x": 1})


# -- checked against the reference implementation -------------------------------------------


def test_messages_parse_with_onnx():
    onnx = pytest.importorskip("onnx")
    helper = onnx.helper
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    node = pb.node_proto("Gemm", ["x", "w"], ["y"], name="gemm", alpha=0.5, transB=0)
    graph = pb.graph_proto("g", [node], [pb.value_info_proto("x", ["batch", 2])],
                           [pb.value_info_proto("y", ["batch", 3])], [pb.tensor_proto("w", w)],
                           doc_string="doc")
    data = pb.model_proto(graph, ir_version=8, opset=17, producer_version="9.9",
                          metadata={"k": "v"})
    model = onnx.load_from_string(data)
    onnx.checker.check_model(model, full_check=True)
    assert model.ir_version == 8
    assert model.producer_name == "convnp" and model.producer_version == "9.9"
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)]
    assert model.metadata_props[0].key == "k" and model.metadata_props[0].value == "v"
    g = model.graph
    assert g.name == "g" and g.doc_string == "doc"
    np.testing.assert_array_equal(onnx.numpy_helper.to_array(g.initializer[0]), w)
    n = g.node[0]
    assert (n.op_type, list(n.input), list(n.output), n.name) == ("Gemm", ["x", "w"], ["y"],
                                                                  "gemm")
    attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
    assert attrs == {"alpha": 0.5, "transB": 0}
    dims = g.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 2


@pytest.mark.parametrize("value", [3, -7, 2.25, "SAME_UPPER", [1, -2, 3], [0.5, 1.0],
                                   np.arange(4, dtype=np.int64), ["Sigmoid", "Tanh"]])
def test_attribute_matches_onnx_helper(value):
    onnx = pytest.importorskip("onnx")
    parsed = onnx.AttributeProto()
    parsed.ParseFromString(pb.attribute_proto("a", value))
    reference = onnx.helper.make_attribute(
        "a", onnx.numpy_helper.from_array(value, "a") if isinstance(value, np.ndarray) else value)
    assert parsed.type == reference.type
    got = onnx.helper.get_attribute_value(parsed)
    want = onnx.helper.get_attribute_value(reference)
    if isinstance(value, np.ndarray):
        np.testing.assert_array_equal(onnx.numpy_helper.to_array(got),
                                      onnx.numpy_helper.to_array(want))
    elif isinstance(value, str):
        assert got == want == value.encode()
    elif isinstance(value, list) and isinstance(value[0], str):
        assert got == want == [v.encode() for v in value]
    else:
        assert got == want


def test_negative_int64_tensor_round_trips():
    onnx = pytest.importorskip("onnx")
    t = onnx.TensorProto()
    values = np.array([[-1, 2**40], [0, -(2**62)]], dtype=np.int64)
    t.ParseFromString(pb.tensor_proto("pads", values))
    np.testing.assert_array_equal(onnx.numpy_helper.to_array(t), values)
    assert t.name == "pads"
