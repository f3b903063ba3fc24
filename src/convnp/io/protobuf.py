"""A minimal Protocol Buffers encoder for the ONNX messages convnp writes (and the wire-level
pieces the TensorFlow messages of `convnp.io.example` and `convnp.tfevents` are built from).

ONNX files are serialized ``ModelProto`` messages. Rather than depend on the ``onnx`` and
``protobuf`` packages at run time, convnp writes the few messages it needs itself, with NumPy
and the standard library only. ``onnx``/``onnxruntime`` are needed only to *check* the result
(the tests decode every file with ``onnx.load_from_string`` and run it in onnxruntime).

Wire format, in brief: a message is a sequence of fields; each field starts with a *key*, the
varint ``(field_number << 3) | wire_type``. Wire type 0 is a varint (ints, enums, bools),
2 is length-delimited (strings, bytes, nested messages, packed arrays), 5 is a little-endian
32-bit value (``float``). Negative ``int64`` values are varints of their 64-bit two's
complement (ten bytes). ``onnx.proto`` is a proto2 file, so repeated scalars are written one
key per element (unpacked), which every parser accepts.

Field numbers follow ``onnx/onnx.proto`` (IR version 7 to 10). Only the fields convnp uses are
written; the message builders below name them.

A small decoder (`iter_fields`) is included for tests and debugging; it understands the wire
format only, not the ONNX schema.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

# Wire types.
VARINT = 0
FIXED64 = 1
LENGTH_DELIMITED = 2
FIXED32 = 5

# TensorProto.DataType values used by convnp.
FLOAT = 1
UINT8 = 2
INT8 = 3
UINT16 = 4
INT16 = 5
INT32 = 6
INT64 = 7
BOOL = 9
UINT32 = 12

_NUMPY_TO_ONNX = {np.dtype(np.float32): FLOAT, np.dtype(np.int64): INT64}

# AttributeProto.AttributeType values.
ATTR_FLOAT = 1
ATTR_INT = 2
ATTR_STRING = 3
ATTR_TENSOR = 4
ATTR_FLOATS = 6
ATTR_INTS = 7
ATTR_STRINGS = 8


# ---------------------------------------------------------------------------------------------
# Wire format


def varint(value: int) -> bytes:
    """Encode an integer as a base-128 varint; negative values as 64-bit two's complement."""
    value = int(value)
    if value < 0:
        value += 1 << 64
    if value >= 1 << 64:
        raise ValueError(f"varint out of the 64-bit range: {value}")
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def key(field: int, wire_type: int) -> bytes:
    """The key that starts a field."""
    return varint((field << 3) | wire_type)


def field_varint(field: int, value: int) -> bytes:
    """An int64/int32/enum/bool field."""
    return key(field, VARINT) + varint(value)


def field_bytes(field: int, data: bytes) -> bytes:
    """A length-delimited field: bytes, an embedded message, or a packed array."""
    return key(field, LENGTH_DELIMITED) + varint(len(data)) + data


def field_string(field: int, text: str) -> bytes:
    """A UTF-8 string field."""
    return field_bytes(field, text.encode("utf-8"))


def field_float(field: int, value: float) -> bytes:
    """A 32-bit float field (wire type 5, little-endian)."""
    return key(field, FIXED32) + struct.pack("<f", float(value))


def repeated_varint(field: int, values: Iterable[int]) -> bytes:
    """A repeated int64 field, unpacked (one key per value, proto2's default)."""
    return b"".join(field_varint(field, v) for v in values)


def repeated_float(field: int, values: Iterable[float]) -> bytes:
    """A repeated float field, unpacked."""
    return b"".join(field_float(field, v) for v in values)


def packed_varint(field: int, values: Sequence[int]) -> bytes:
    """A repeated int64 field, packed (proto3's default: one length-delimited field holding
    the varints); nothing at all when there are no values, as proto3 writes it."""
    return field_bytes(field, b"".join(varint(v) for v in values)) if len(values) else b""


def packed_float(field: int, values: Sequence[float]) -> bytes:
    """A repeated float field, packed (little-endian float32s); nothing when empty."""
    data = np.asarray(values, dtype="<f4").tobytes()
    return field_bytes(field, data) if data else b""


# ---------------------------------------------------------------------------------------------
# ONNX messages (field numbers from onnx.proto)


def tensor_proto(name: str, array: np.ndarray) -> bytes:
    """``TensorProto``: dims=1, data_type=2, name=8, raw_data=9 (little-endian, C order).

    Args:
        name: the initializer's value name.
        array: float32 or int64 data (other dtypes are refused: convnp exports float32).
    """
    array = np.asarray(array)
    dtype = array.dtype.newbyteorder("=") if array.dtype.byteorder != "|" else array.dtype
    if np.dtype(dtype) not in _NUMPY_TO_ONNX:
        raise ValueError(f"tensor '{name}': only float32 and int64 tensors are written, "
                         f"got dtype {array.dtype}")
    data_type = _NUMPY_TO_ONNX[np.dtype(dtype)]
    little = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    return (repeated_varint(1, array.shape)
            + field_varint(2, data_type)
            + field_string(8, name)
            + field_bytes(9, little.tobytes()))


def attribute_proto(name: str, value) -> bytes:
    """``AttributeProto``: name=1, f=2, i=3, s=4, t=5, floats=7, ints=8, strings=9, type=20.

    The attribute type follows the Python value: ``int`` -> INT, ``float`` -> FLOAT, ``str``
    -> STRING, ``np.ndarray`` -> TENSOR, a list/tuple of ints -> INTS, of floats -> FLOATS,
    of strings -> STRINGS.
    """
    body = field_string(1, name)
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"attribute '{name}': give booleans as 0/1 ints")
    if isinstance(value, (int, np.integer)):
        return body + field_varint(3, int(value)) + field_varint(20, ATTR_INT)
    if isinstance(value, (float, np.floating)):
        return body + field_float(2, float(value)) + field_varint(20, ATTR_FLOAT)
    if isinstance(value, str):
        return body + field_bytes(4, value.encode("utf-8")) + field_varint(20, ATTR_STRING)
    if isinstance(value, np.ndarray):
        return body + field_bytes(5, tensor_proto(name, value)) + field_varint(20, ATTR_TENSOR)
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
            return body + repeated_varint(8, value) + field_varint(20, ATTR_INTS)
        if all(isinstance(v, (int, float, np.integer, np.floating)) for v in value):
            return body + repeated_float(7, value) + field_varint(20, ATTR_FLOATS)
        if value and all(isinstance(v, str) for v in value):
            return (body + b"".join(field_bytes(9, v.encode("utf-8")) for v in value)
                    + field_varint(20, ATTR_STRINGS))
    raise TypeError(f"attribute '{name}': unsupported value {value!r}")


def node_proto(op_type: str, inputs: Sequence[str], outputs: Sequence[str], name: str = "",
               domain: str = "", **attributes) -> bytes:
    """``NodeProto``: input=1, output=2, name=3, op_type=4, attribute=5, domain=7.

    Attributes whose value is ``None`` are left out (the operator's default applies).
    An empty input name marks an omitted optional input, as ONNX specifies.
    """
    body = b"".join(field_string(1, i) for i in inputs)
    body += b"".join(field_string(2, o) for o in outputs)
    if name:
        body += field_string(3, name)
    body += field_string(4, op_type)
    for attr_name in sorted(attributes):
        value = attributes[attr_name]
        if value is not None:
            body += field_bytes(5, attribute_proto(attr_name, value))
    if domain:
        body += field_string(7, domain)
    return body


def value_info_proto(name: str, shape: Sequence[int | str | None],
                     elem_type: int = FLOAT) -> bytes:
    """``ValueInfoProto`` (name=1, type=2) of a dense tensor.

    ``TypeProto.tensor_type=1`` -> ``Tensor{elem_type=1, shape=2}`` ->
    ``TensorShapeProto{dim=1}`` -> ``Dimension{dim_value=1 | dim_param=2}``. A dimension given
    as a string is symbolic (e.g. ``"batch"``); ``None`` is a dimension of unknown size.
    """
    dims = b""
    for d in shape:
        if d is None:
            dims += field_bytes(1, b"")
        elif isinstance(d, str):
            dims += field_bytes(1, field_string(2, d))
        else:
            dims += field_bytes(1, field_varint(1, int(d)))
    tensor_type = field_varint(1, elem_type) + field_bytes(2, dims)
    type_proto = field_bytes(1, tensor_type)
    return field_string(1, name) + field_bytes(2, type_proto)


def graph_proto(name: str, nodes: Sequence[bytes], inputs: Sequence[bytes],
                outputs: Sequence[bytes], initializers: Sequence[bytes] = (),
                doc_string: str = "") -> bytes:
    """``GraphProto``: node=1, name=2, initializer=5, doc_string=10, input=11, output=12.

    Each element of the sequences is an already-encoded message (`node_proto`,
    `value_info_proto`, `tensor_proto`).
    """
    body = b"".join(field_bytes(1, n) for n in nodes)
    body += field_string(2, name)
    body += b"".join(field_bytes(5, t) for t in initializers)
    if doc_string:
        body += field_string(10, doc_string)
    body += b"".join(field_bytes(11, i) for i in inputs)
    body += b"".join(field_bytes(12, o) for o in outputs)
    return body


def opset_proto(version: int, domain: str = "") -> bytes:
    """``OperatorSetIdProto``: domain=1, version=2 (the default domain is ``""``)."""
    return (field_string(1, domain) if domain else b"") + field_varint(2, version)


def model_proto(graph: bytes, ir_version: int, opset: int, producer_name: str = "convnp",
                producer_version: str = "", doc_string: str = "",
                metadata: dict[str, str] | None = None) -> bytes:
    """``ModelProto``: ir_version=1, producer_name=2, producer_version=3, doc_string=6,
    graph=7, opset_import=8, metadata_props=14 (``StringStringEntryProto{key=1, value=2}``)."""
    body = field_varint(1, ir_version)
    body += field_string(2, producer_name)
    if producer_version:
        body += field_string(3, producer_version)
    if doc_string:
        body += field_string(6, doc_string)
    body += field_bytes(7, graph)
    body += field_bytes(8, opset_proto(opset))
    for k, v in (metadata or {}).items():
        body += field_bytes(14, field_string(1, str(k)) + field_string(2, str(v)))
    return body


# ---------------------------------------------------------------------------------------------
# Decoding (wire level only), for tests and debugging


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """Read a varint at ``pos``; return ``(value, new_pos)``."""
    shift = 0
    value = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def signed64(value: int) -> int:
    """A varint read as an ``int64``: values of 2**63 and above are negative (two's
    complement)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def read_packed_varints(data: bytes) -> list[int]:
    """The varints of a packed repeated field's payload, as they read (unsigned)."""
    values, pos = [], 0
    while pos < len(data):
        value, pos = read_varint(data, pos)
        values.append(value)
    return values


def iter_fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Yield ``(field_number, wire_type, value)`` for each field of one message.

    Varints come back as non-negative ints (a negative int64 reads as its two's complement),
    fixed-width values and length-delimited payloads as bytes.
    """
    pos = 0
    while pos < len(data):
        k, pos = read_varint(data, pos)
        field, wire_type = k >> 3, k & 7
        if wire_type == VARINT:
            value, pos = read_varint(data, pos)
        elif wire_type == LENGTH_DELIMITED:
            length, pos = read_varint(data, pos)
            if pos + length > len(data):
                raise ValueError("truncated length-delimited field")
            value = data[pos:pos + length]
            pos += length
        elif wire_type in (FIXED32, FIXED64):
            size = 4 if wire_type == FIXED32 else 8
            if pos + size > len(data):
                raise ValueError("truncated fixed-width field")
            value = data[pos:pos + size]
            pos += size
        else:
            raise ValueError(f"unsupported wire type {wire_type}")
        yield field, wire_type, value
