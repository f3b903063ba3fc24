"""``tf.train.Example`` and its parts, ``tf.io.parse_single_example`` / ``parse_example``, and
``tf.io.serialize_tensor`` / ``parse_tensor``: what a TFRecord input pipeline stores and reads.

The messages are small Python classes with the protobuf methods programs call
(``SerializeToString``, ``FromString``, ``ParseFromString``, ``CopyFrom``, ``==``, ``str``).
Their bytes are TensorFlow's (``tensorflow/core/example/{example,feature}.proto``, proto3):

* ``BytesList``/``FloatList``/``Int64List``: ``value`` = 1 (floats and int64s packed);
* ``Feature``: one of ``bytes_list`` = 1, ``float_list`` = 2, ``int64_list`` = 3;
* ``Features``: ``feature`` = 1, a map, each entry a message with ``key`` = 1, ``value`` = 2;
* ``Example``: ``features`` = 1.

TensorFlow's protobuf writes a map's entries in hash-table order, which changes from one
process to the next; with ``SerializeToString(deterministic=True)`` it sorts them by key. convnp
always sorts, so its bytes are TensorFlow's deterministic ones (and equal to TensorFlow's
default bytes whenever there is one feature).

Parsed string features are object arrays of ``bytes``: NumPy's fixed-width bytes type would drop
the trailing zero bytes a serialized tensor or an encoded image may end with.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from convnp.io.protobuf import (
    FIXED32,
    LENGTH_DELIMITED,
    VARINT,
    field_bytes,
    field_string,
    iter_fields,
    packed_float,
    packed_varint,
    read_packed_varints,
    signed64,
)
from convnp.tensor.errors import InvalidArgumentError

__all__ = [
    "BytesList",
    "DecodeError",
    "Example",
    "Feature",
    "FeatureList",
    "FeatureLists",
    "Features",
    "FixedLenFeature",
    "FixedLenSequenceFeature",
    "FloatList",
    "Int64List",
    "SequenceExample",
    "VarLenFeature",
    "decode_raw",
    "parse_example",
    "parse_sequence_example",
    "parse_single_example",
    "parse_single_sequence_example",
    "parse_tensor",
    "serialize_tensor",
]


class DecodeError(ValueError):
    """Bytes that are not the message they are parsed as (protobuf's ``DecodeError``)."""


# -- repeated values ---------------------------------------------------------------------------


def _check_bytes(value: Any) -> bytes:
    if not isinstance(value, bytes):  # np.bytes_ is bytes
        raise TypeError(f"{value!r} has type {type(value).__name__}, but expected one of: bytes")
    return bytes(value)


def _number(value: Any) -> Any:
    """A 0-d numeric tensor as its NumPy scalar (protobuf takes TensorFlow's scalar tensors
    through their ``__index__``/``__float__``); anything else as it is."""
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "biuf":
        return value.view(np.ndarray)[()]
    return value


def _check_float(value: Any) -> float:
    value = _number(value)
    if isinstance(value, (str, bytes)) or not isinstance(value, (int, float, np.number,
                                                                  np.bool_)):
        raise TypeError(f"{value!r} has type {type(value).__name__}, but expected one of: "
                        "int, float")
    return float(np.float32(value))  # a FloatList holds float32s


def _check_int64(value: Any) -> int:
    value = _number(value)
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{value!r}: expected an int, got a boolean")  # as protobuf says
    if isinstance(value, (float, np.floating)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{value!r} has type {type(value).__name__}, but expected one of: int")
    value = int(value)
    if not -(1 << 63) <= value < 1 << 63:
        raise ValueError(f"Value out of range: {value}")
    return value


class _Values(list):
    """A repeated field's ``value``: a list that checks (and converts) what goes in, as
    protobuf's does (``append``, ``extend``, item assignment)."""

    def __init__(self, check, values=()):
        self._check = check
        super().__init__(self._checked(values))

    def _checked(self, values) -> list:
        """``values`` checked; a NumPy vector of numbers in one conversion (an image's
        150,000 floats would take a good part of a second one by one)."""
        if isinstance(values, np.ndarray) and values.ndim == 1 and values.size:
            if self._check is _check_float and values.dtype.kind in "biuf":
                return values.astype(np.float32).tolist()
            if self._check is _check_int64 and values.dtype.kind in "iu" and (
                    values.dtype.kind == "i" or values.max() < 1 << 63):
                return values.astype(np.int64).tolist()
        return [self._check(v) for v in values]

    def append(self, value) -> None:
        super().append(self._check(value))

    def extend(self, values) -> None:
        super().extend(self._checked(values))

    def insert(self, index, value) -> None:
        super().insert(index, self._check(value))

    def __setitem__(self, index, value) -> None:
        if isinstance(index, slice):
            super().__setitem__(index, [self._check(v) for v in value])
        else:
            super().__setitem__(index, self._check(value))


# -- messages ----------------------------------------------------------------------------------


class _Message:
    """What the message classes share: the protobuf methods, on `_encode` / `_decode`."""

    def SerializeToString(self, deterministic: bool | None = None) -> bytes:
        """The message's bytes (map entries sorted by key, whatever ``deterministic`` says)."""
        return self._encode()

    def ParseFromString(self, data) -> int:
        """Replace the contents with the message in ``data``; the number of bytes read."""
        data = _as_bytes(data, f"{type(self).__name__}.ParseFromString")
        self.Clear()
        try:
            self._decode(data)
        except (ValueError, KeyError) as error:
            self.Clear()
            raise DecodeError(f"Error parsing message as {type(self).__name__}: {error}") \
                from None
        return len(data)

    @classmethod
    def FromString(cls, data):
        """A new message read from ``data``."""
        message = cls()
        message.ParseFromString(data)
        return message

    def CopyFrom(self, other) -> None:
        if type(other) is not type(self):
            raise TypeError(f"CopyFrom: expected {type(self).__name__}, got "
                            f"{type(other).__name__}")
        self.ParseFromString(other.SerializeToString())

    def MergeFrom(self, other) -> None:
        """Append ``other``'s repeated values and map entries to this message's."""
        if type(other) is not type(self):
            raise TypeError(f"MergeFrom: expected {type(self).__name__}, got "
                            f"{type(other).__name__}")
        self._decode(other.SerializeToString())

    def ByteSize(self) -> int:
        return len(self._encode())

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and self._encode() == other._encode()

    def __ne__(self, other) -> bool:
        return not self.__eq__(other)

    __hash__ = None  # mutable, as protobuf messages are

    def __str__(self) -> str:
        return "".join(self._text(""))

    def __repr__(self) -> str:
        return str(self)


def _message(cls, value, where: str):
    """``value`` as a ``cls`` message: the message itself, or a dict of its constructor's
    arguments (protobuf's constructors take either for a message field)."""
    if isinstance(value, dict):
        try:
            return cls(**value)
        except TypeError as error:
            if "unexpected keyword" not in str(error):
                raise
            raise ValueError(f'Protocol message {cls.__name__} has no field among '
                             f'{sorted(value)} ({where})') from None
    if not isinstance(value, cls):
        raise TypeError(f"{where} must be a tf.train.{cls.__name__}, got "
                        f"{type(value).__name__}")
    return value


class _List(_Message):
    _check = staticmethod(_check_bytes)

    def __init__(self, value=None):
        self.value = value

    @property
    def value(self) -> _Values:
        return self._value

    @value.setter
    def value(self, values) -> None:
        if values is None:
            values = ()
        elif isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise TypeError(f"{type(self).__name__}: value must be a list of values, got "
                            f"{type(values).__name__}")
        self._value = _Values(self._check, values)

    def Clear(self) -> None:
        self.value = ()

    def _text(self, indent: str):
        for v in self.value:
            yield f"{indent}value: {self._text_value(v)}\n"


class BytesList(_List):
    """``tf.train.BytesList(value=[b"..."])``: a list of byte strings."""

    def _encode(self) -> bytes:
        return b"".join(field_bytes(1, v) for v in self.value)

    def _decode(self, data: bytes) -> None:
        for field, wire, value in iter_fields(data):
            if field == 1 and wire == LENGTH_DELIMITED:
                self.value.append(value)

    @staticmethod
    def _text_value(v: bytes) -> str:
        return '"' + "".join(_escape(b) for b in v) + '"'


class FloatList(_List):
    """``tf.train.FloatList(value=[...])``: float32 values (stored packed)."""

    _check = staticmethod(_check_float)

    def _encode(self) -> bytes:
        return packed_float(1, self.value)

    def _decode(self, data: bytes) -> None:
        for field, wire, value in iter_fields(data):
            if field != 1:
                continue
            if wire == LENGTH_DELIMITED:
                if len(value) % 4:
                    raise ValueError("packed floats of a length that is not a multiple of 4")
                self.value.extend(np.frombuffer(value, dtype="<f4"))
            elif wire == FIXED32:
                self.value.append(float(np.frombuffer(value, dtype="<f4")[0]))

    @staticmethod
    def _text_value(v: float) -> str:
        # protobuf's text format: 6 significant digits when they read back as this float32,
        # else 9 (which always do)
        text = f"{v:.6g}"
        return text if np.float32(text) == np.float32(v) else f"{v:.9g}"


class Int64List(_List):
    """``tf.train.Int64List(value=[...])``: int64 values (stored packed)."""

    _check = staticmethod(_check_int64)

    def _encode(self) -> bytes:
        return packed_varint(1, self.value)

    def _decode(self, data: bytes) -> None:
        for field, wire, value in iter_fields(data):
            if field != 1:
                continue
            if wire == LENGTH_DELIMITED:
                self.value.extend(signed64(v) for v in read_packed_varints(value))
            elif wire == VARINT:
                self.value.append(signed64(value))

    @staticmethod
    def _text_value(v: int) -> str:
        return str(v)


def _escape(byte: int) -> str:
    """One byte as protobuf's text format prints it inside quotes."""
    special = {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x22: '\\"', 0x27: "\\'", 0x5C: "\\\\"}
    if byte in special:
        return special[byte]
    return chr(byte) if 0x20 <= byte < 0x7F else f"\\{byte:03o}"


_KINDS = ("bytes_list", "float_list", "int64_list")
_KIND_CLASSES = {"bytes_list": BytesList, "float_list": FloatList, "int64_list": Int64List}


class Feature(_Message):
    """``tf.train.Feature``: one of ``bytes_list``, ``float_list`` or ``int64_list``."""

    def __init__(self, bytes_list: BytesList | None = None, float_list: FloatList | None = None,
                 int64_list: Int64List | None = None):
        self._lists: dict[str, _List] = {}
        self._kind: str | None = None
        given = {"bytes_list": bytes_list, "float_list": float_list, "int64_list": int64_list}
        given = {k: v for k, v in given.items() if v is not None}
        if len(given) > 1:
            raise ValueError(f"Feature: give one of bytes_list, float_list, int64_list (a "
                             f"oneof), got {sorted(given)}")
        for kind, value in given.items():
            self._lists[kind] = _message(_KIND_CLASSES[kind], value, f"Feature: {kind}")
            self._kind = kind

    def _list(self, kind: str) -> _List:
        # reading an unset list gives an empty one that becomes the feature's once it holds
        # values (as protobuf sets a oneof member on the first write)
        if kind not in self._lists:
            self._lists[kind] = _KIND_CLASSES[kind]()
        return self._lists[kind]

    bytes_list = property(lambda self: self._list("bytes_list"))
    float_list = property(lambda self: self._list("float_list"))
    int64_list = property(lambda self: self._list("int64_list"))

    def WhichOneof(self, oneof_group: str) -> str | None:
        """``"bytes_list"``, ``"float_list"``, ``"int64_list"`` or None (``kind`` is the only
        oneof)."""
        if oneof_group != "kind":
            raise ValueError(f'Protocol message has no oneof "{oneof_group}" field.')
        if self._kind is not None:
            return self._kind
        filled = [k for k in _KINDS if k in self._lists and self._lists[k].value]
        return filled[-1] if filled else None

    def HasField(self, field_name: str) -> bool:
        if field_name not in _KINDS and field_name != "kind":
            raise ValueError(f'Protocol message Feature has no field "{field_name}".')
        kind = self.WhichOneof("kind")
        return kind is not None and field_name in (kind, "kind")

    def Clear(self) -> None:
        self._lists, self._kind = {}, None

    def _encode(self) -> bytes:
        kind = self.WhichOneof("kind")
        if kind is None:
            return b""
        return field_bytes(_KINDS.index(kind) + 1, self._lists[kind]._encode())

    def _decode(self, data: bytes) -> None:
        for field, wire, value in iter_fields(data):
            if 1 <= field <= 3 and wire == LENGTH_DELIMITED:
                kind = _KINDS[field - 1]
                if self._kind != kind:
                    self._lists, self._kind = {}, kind
                self._list(kind)._decode(value)

    def _text(self, indent: str):
        kind = self.WhichOneof("kind")
        if kind is not None:
            yield f"{indent}{kind} {{\n"
            yield from self._lists[kind]._text(indent + "  ")
            yield f"{indent}}}\n"


class _MessageMap(dict):
    """A message map (``Features.feature``, ``FeatureLists.feature_list``): names to messages
    of one class; reading a missing name adds an empty one, as protobuf's message maps do."""

    def __init__(self, value_class, where: str):
        super().__init__()
        self._class, self._where = value_class, where

    def __missing__(self, key):
        value = self[key] = self._class()
        return value

    def __setitem__(self, key, value) -> None:
        if not isinstance(key, str):
            raise TypeError(f"{self._where}: keys are str, got {type(key).__name__}")
        super().__setitem__(key, _message(self._class, value, f"{self._where}[{key!r}]"))

    def update(self, *args, **kwargs) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def get_or_create(self, key: str):
        return self[key]

    def _encode(self) -> bytes:
        return b"".join(field_bytes(1, field_string(1, k) + field_bytes(2, self[k]._encode()))
                        for k in sorted(self))

    def _decode(self, data: bytes) -> None:
        for field, wire, entry in iter_fields(data):
            if field != 1 or wire != LENGTH_DELIMITED:
                continue
            name, value = "", b""
            for f, w, v in iter_fields(entry):
                if f == 1 and w == LENGTH_DELIMITED:
                    name = v.decode("utf-8")
                elif f == 2 and w == LENGTH_DELIMITED:
                    value = v
            message = self._class()
            message._decode(value)
            self[name] = message  # a later entry of the same key wins

    def _text(self, indent: str, field: str):
        for k in sorted(self):
            yield f"{indent}{field} {{\n{indent}  key: {BytesList._text_value(k.encode())}\n"
            yield f"{indent}  value {{\n"
            yield from self[k]._text(indent + "    ")
            yield f"{indent}  }}\n{indent}}}\n"


class _MapMessage(_Message):
    """A message whose one field is a map of names to messages (`Features`, `FeatureLists`):
    ``_field`` is the field's name, ``_value_class`` the messages' class."""

    _field: str
    _value_class: type

    def __init__(self, mapping: dict | None = None):
        self.Clear()
        if mapping is not None:
            if not hasattr(mapping, "items"):
                raise TypeError(f"{type(self).__name__}: {self._field} must be a dict of name "
                                f"to tf.train.{self._value_class.__name__}, got "
                                f"{type(mapping).__name__}")
            self._map.update(mapping)

    def Clear(self) -> None:
        self._map = _MessageMap(self._value_class, f"{type(self).__name__}.{self._field}")

    def _encode(self) -> bytes:
        return self._map._encode()

    def _decode(self, data: bytes) -> None:
        self._map._decode(data)

    def _text(self, indent: str):
        yield from self._map._text(indent, self._field)


class Features(_MapMessage):
    """``tf.train.Features(feature={name: tf.train.Feature(...)})``."""

    _field, _value_class = "feature", Feature

    def __init__(self, feature: dict | None = None):
        super().__init__(feature)

    @property
    def feature(self) -> _MessageMap:
        return self._map


class _FeatureSequence(list):
    """``FeatureList.feature``: a list of `Feature` with protobuf's ``add()``."""

    def __init__(self, values=()):
        super().__init__(_message(Feature, v, "FeatureList.feature") for v in values)

    def add(self, **fields) -> Feature:
        feature = Feature(**fields)
        super().append(feature)
        return feature

    def append(self, value) -> None:
        super().append(_message(Feature, value, "FeatureList.feature"))

    def extend(self, values) -> None:
        super().extend(_message(Feature, v, "FeatureList.feature") for v in values)


class FeatureList(_Message):
    """``tf.train.FeatureList(feature=[tf.train.Feature(...), ...])``: one step per Feature."""

    def __init__(self, feature=None):
        if feature is not None and not hasattr(feature, "__iter__"):
            raise TypeError(f"FeatureList: feature must be a list of tf.train.Feature, got "
                            f"{type(feature).__name__}")
        self._feature = _FeatureSequence(feature or ())

    @property
    def feature(self) -> _FeatureSequence:
        return self._feature

    def Clear(self) -> None:
        self._feature = _FeatureSequence()

    def _encode(self) -> bytes:
        return b"".join(field_bytes(1, f._encode()) for f in self._feature)

    def _decode(self, data: bytes) -> None:
        for field, wire, value in iter_fields(data):
            if field == 1 and wire == LENGTH_DELIMITED:
                self._feature.add()._decode(value)

    def _text(self, indent: str):
        for f in self._feature:
            yield f"{indent}feature {{\n"
            yield from f._text(indent + "  ")
            yield f"{indent}}}\n"


class FeatureLists(_MapMessage):
    """``tf.train.FeatureLists(feature_list={name: tf.train.FeatureList(...)})``."""

    _field, _value_class = "feature_list", FeatureList

    def __init__(self, feature_list: dict | None = None):
        super().__init__(feature_list)

    @property
    def feature_list(self) -> _MessageMap:
        return self._map


class _Holder(_Message):
    """A message of message fields (`Example`, `SequenceExample`). A field given to the
    constructor, read from bytes or holding anything is *present* and written, as protobuf
    writes a set sub-message even when it is empty (``Example(features=Features())`` is
    ``b"\\n\\x00"``)."""

    _FIELDS: tuple = ()  # (name, field number, class)

    def __init__(self, **given):
        self.Clear()
        for name, _, cls in self._FIELDS:
            if given.get(name) is not None:
                setattr(self, "_" + name, _message(cls, given[name],
                                                   f"{type(self).__name__}: {name}"))
                self._present.add(name)

    def Clear(self) -> None:
        self._present = set()
        for name, _, cls in self._FIELDS:
            setattr(self, "_" + name, cls())

    def _has(self, name: str) -> bool:
        return name in self._present or bool(getattr(self, "_" + name)._encode())

    def HasField(self, field_name: str) -> bool:
        if field_name not in [f[0] for f in self._FIELDS]:
            raise ValueError(f'Protocol message {type(self).__name__} has no field '
                             f'"{field_name}".')
        return self._has(field_name)

    def _encode(self) -> bytes:
        return b"".join(field_bytes(number, getattr(self, "_" + name)._encode())
                        for name, number, _ in self._FIELDS if self._has(name))

    def _decode(self, data: bytes) -> None:
        numbers = {number: name for name, number, _ in self._FIELDS}
        for field, wire, value in iter_fields(data):
            if field in numbers and wire == LENGTH_DELIMITED:
                getattr(self, "_" + numbers[field])._decode(value)
                self._present.add(numbers[field])

    def _text(self, indent: str):
        for name, _, _ in self._FIELDS:
            if self._has(name):
                yield f"{indent}{name} {{\n"
                yield from getattr(self, "_" + name)._text(indent + "  ")
                yield f"{indent}}}\n"


class Example(_Holder):
    """``tf.train.Example(features=tf.train.Features(...))``: one record of a TFRecord file."""

    _FIELDS = (("features", 1, Features),)

    def __init__(self, features: Features | dict | None = None):
        super().__init__(features=features)

    @property
    def features(self) -> Features:
        return self._features


class SequenceExample(_Holder):
    """``tf.train.SequenceExample(context=tf.train.Features(...),
    feature_lists=tf.train.FeatureLists(...))``: per-sequence features and per-step ones."""

    _FIELDS = (("context", 1, Features), ("feature_lists", 2, FeatureLists))

    def __init__(self, context: Features | dict | None = None,
                 feature_lists: FeatureLists | dict | None = None):
        super().__init__(context=context, feature_lists=feature_lists)

    @property
    def context(self) -> Features:
        return self._context

    @property
    def feature_lists(self) -> FeatureLists:
        return self._feature_lists


# -- parsing -----------------------------------------------------------------------------------

FixedLenFeature = namedtuple("FixedLenFeature", ["shape", "dtype", "default_value"],
                             defaults=[None])
FixedLenFeature.__doc__ = ("``tf.io.FixedLenFeature(shape, dtype, default_value=None)``: a "
                           "feature with exactly prod(shape) values, read as that shape.")
FixedLenSequenceFeature = namedtuple(
    "FixedLenSequenceFeature", ["shape", "dtype", "allow_missing", "default_value"],
    defaults=[False, None])
FixedLenSequenceFeature.__doc__ = (
    "``tf.io.FixedLenSequenceFeature(shape, dtype, allow_missing=True)``: any number of "
    "values of ``shape``, read as ``(n,) + shape``.")
VarLenFeature = namedtuple("VarLenFeature", ["dtype"])
VarLenFeature.__doc__ = ("``tf.io.VarLenFeature(dtype)``: TensorFlow parses it into a "
                         "SparseTensor, which convnp does not have; parsing refuses it.")

#: the dtypes a feature may be parsed as, and the list kind each reads
_PARSED = {np.dtype(np.bytes_): "bytes_list", np.dtype(np.int64): "int64_list",
           np.dtype(np.float32): "float_list"}


def _as_bytes(data, who: str) -> bytes:
    """A serialized message from bytes, a ``str`` or a 0-d string tensor."""
    if isinstance(data, np.ndarray) and data.ndim == 0 and data.dtype.kind in "SOU":
        data = data.item()
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"{who}: expected serialized bytes (a scalar string), got "
                        f"{type(data).__name__}")
    return bytes(data)


def _checked_spec(features, who: str, mode: str = "example"
                  ) -> list[tuple[str, Any, np.dtype, tuple]]:
    """``(name, spec, dtype, shape)`` per feature, sorted by name, every spec checked.
    ``mode``: ``"example"`` (an Example's features: both fixed-length kinds), ``"context"``
    (a SequenceExample's context: FixedLenFeature only) or ``"sequence"`` (its feature lists:
    FixedLenSequenceFeature only, ``allow_missing`` False allowed)."""
    from convnp.tensor.eager import as_dtype

    if not isinstance(features, dict):
        raise TypeError(f"{who}: features must be a dict of name to tf.io.FixedLenFeature, got "
                        f"{type(features).__name__}")
    if not features and mode == "example":
        raise ValueError(f"{who}: features cannot be empty")
    allowed = {"example": (FixedLenFeature, FixedLenSequenceFeature),
               "context": (FixedLenFeature,), "sequence": (FixedLenSequenceFeature,)}[mode]
    checked = []
    for name in sorted(features):
        spec = features[name]
        if isinstance(spec, VarLenFeature):
            raise NotImplementedError(
                f"{who}: VarLenFeature ({name!r}) parses into a SparseTensor, which convnp "
                "does not have; use tf.io.FixedLenSequenceFeature([], dtype, "
                "allow_missing=True) for a variable number of values, or "
                "tf.io.FixedLenFeature for a fixed one")
        if not isinstance(spec, allowed):
            # TensorFlow raises ValueError here, not TypeError
            raise ValueError(f"Unsupported {type(spec).__name__} {spec!r} for key {name!r} "  # noqa: TRY004
                             f"(expected {' or '.join('tf.io.' + c.__name__ for c in allowed)})")
        if mode == "example" and isinstance(spec, FixedLenSequenceFeature) \
                and not spec.allow_missing:
            raise ValueError(f"{who}: FixedLenSequenceFeature ({name!r}) requires "
                             "allow_missing to be True")
        dtype = as_dtype(spec.dtype).dtype
        dtype = np.dtype(np.bytes_) if dtype.kind in "SUO" else dtype
        if dtype not in _PARSED:
            # TensorFlow refuses it when the op is made: InvalidArgumentError in eager code
            raise InvalidArgumentError(f"{who}: feature {name!r} has dtype {dtype}; features "
                                       "are parsed as tf.float32, tf.int64 or tf.string")
        shape = spec.shape
        shape = () if shape is None else (shape,) if np.ndim(shape) == 0 else tuple(shape)
        if any(n is None or int(n) < 0 for n in shape):
            raise ValueError(f"{who}: feature {name!r} has shape {shape}; sizes must be known "
                             "(no -1 or None; use FixedLenSequenceFeature for a variable "
                             "first axis)")
        checked.append((name, spec, dtype, tuple(int(n) for n in shape)))
    return checked


def _features_of(data: bytes) -> dict[str, Feature]:
    example = Example()
    try:
        example._decode(data)
    except (ValueError, UnicodeDecodeError, KeyError) as error:
        raise InvalidArgumentError(f"Could not parse example input ({error})") from None
    return example.features.feature


def _values(dtype: np.dtype, values) -> np.ndarray:
    if dtype.kind == "S":
        out = np.empty(len(values), dtype=object)
        out[:] = list(values)
        return out
    return np.asarray(values, dtype=dtype).reshape(-1)


def _default(name: str, dtype: np.dtype, default, shape: tuple) -> np.ndarray:
    """``default_value`` as ``shape`` (TensorFlow reshapes it: it must have that many values)."""
    if dtype.kind == "S":
        items = np.asarray(default, dtype=object).reshape(-1).tolist()
        items = [v.encode("utf-8") if isinstance(v, str) else v for v in items]
        values = _values(dtype, items)
    else:
        values = np.asarray(default, dtype=dtype).reshape(-1)
    if values.size != int(np.prod(shape)):
        raise InvalidArgumentError(f"Input to reshape is a tensor with {values.size} values, "
                                   f"but the requested shape has {int(np.prod(shape))} "
                                   f"(default_value of feature {name!r})")
    return values.reshape(shape)


def _parse_one(data: bytes, checked) -> dict[str, np.ndarray]:
    return _parse_features(_features_of(data), checked)


def _parse_features(found: dict[str, Feature], checked) -> dict[str, np.ndarray]:
    """The features of one Example (or a SequenceExample's context) read as ``checked``."""
    out = {}
    for name, spec, dtype, shape in checked:
        feature = found.get(name)
        kind = feature.WhichOneof("kind") if feature is not None else None
        if kind is not None and kind != _PARSED[dtype]:
            raise InvalidArgumentError(f"Name: <unknown>, Key: {name}, Index: 0.  Data types "
                                       f"don't match. Data type: {_dtype_name(kind)} but "
                                       f"expected type: {_dtype_name(_PARSED[dtype])}")
        values = _values(dtype, feature._lists[kind].value) if kind is not None else None
        size = int(np.prod(shape))
        if isinstance(spec, FixedLenSequenceFeature):
            if values is None:
                values = _values(dtype, [])
            if (size == 0 and values.size) or (size and values.size % size):
                raise InvalidArgumentError(f"Name: <unknown>, Key: {name}, Index: 0.  Number "
                                           f"of values: {values.size} is not a multiple of "
                                           f"the element size {size} of shape {shape}")
            out[name] = values.reshape((values.size // size if size else 0,) + shape)
        elif values is None:
            if spec.default_value is None:
                raise InvalidArgumentError(f"Feature: {name} (data type: "
                                           f"{_dtype_name(_PARSED[dtype])}) is required but "
                                           "could not be found.")
            out[name] = _default(name, dtype, spec.default_value, shape)
        else:
            if values.size != size:
                raise InvalidArgumentError(f"Key: {name}.  Can't parse serialized Example: "
                                           f"expected {size} values (shape {shape}), got "
                                           f"{values.size}")
            out[name] = values.reshape(shape)
    return out


def _dtype_name(kind: str) -> str:
    return {"bytes_list": "string", "float_list": "float", "int64_list": "int64"}[kind]


def _as_tensors(parsed: dict[str, np.ndarray]) -> dict:
    from convnp.tensor.eager import EagerTensor

    return {name: value.view(EagerTensor) for name, value in parsed.items()}


def parse_single_example(serialized, features, example_names=None, name=None) -> dict:
    """``tf.io.parse_single_example``: one serialized ``Example`` (bytes or a scalar string
    tensor) as ``{name: tensor}`` (names sorted, as TensorFlow's dict), each feature read as
    its ``tf.io.FixedLenFeature`` / ``FixedLenSequenceFeature`` says.

    Raises:
        InvalidArgumentError: a required feature is missing, has another type or another
            number of values; ``serialized`` is not an Example.
        NotImplementedError: a ``tf.io.VarLenFeature`` (a SparseTensor in TensorFlow).
        ValueError: a spec that is not one of those classes.
    """
    checked = _checked_spec(features, "parse_single_example")
    if isinstance(serialized, (list, tuple)) or np.ndim(serialized) != 0:
        raise ValueError(f"parse_single_example: input serialized must be a scalar, got shape "
                         f"{np.shape(serialized)} (use parse_example for a batch)")
    return _as_tensors(_parse_one(_as_bytes(serialized, "parse_single_example"), checked))


def parse_example(serialized, features, example_names=None, name=None) -> dict:
    """``tf.io.parse_example``: a batch (vector) of serialized Examples as ``{name: tensor}``
    with a leading batch axis (one scalar Example gives what `parse_single_example` gives). ``FixedLenSequenceFeature`` values are padded to the longest
    example's with ``default_value`` (else 0 or ``b""``)."""
    checked = _checked_spec(features, "parse_example")
    batch = serialized
    if isinstance(batch, (bytes, str)) or (isinstance(batch, np.ndarray) and batch.ndim == 0):
        # one Example: TensorFlow gives the features without a batch axis
        return _as_tensors(_parse_one(_as_bytes(batch, "parse_example"), checked))
    batch = np.asarray(batch, dtype=object).reshape(-1) if not isinstance(batch, list) \
        else batch
    rows = [_parse_one(_as_bytes(item, "parse_example"), checked) for item in batch]
    out = {}
    for key, spec, dtype, shape in checked:
        values = [row[key] for row in rows]
        if isinstance(spec, FixedLenSequenceFeature):
            longest = max((len(v) for v in values), default=0)
            out[key] = _padded(values, longest, spec, dtype, shape)
            continue
        empty_shape = (0,) + shape
        out[key] = np.stack(values) if values else np.empty(
            empty_shape, dtype=object if dtype.kind == "S" else dtype)
    return _as_tensors(out)


# -- sequence examples -------------------------------------------------------------------------


def _sequence_specs(context_features, sequence_features, who: str):
    if context_features is None and sequence_features is None:
        raise ValueError(f"{who}: both context_features and sequence_features are None, but "
                         "at least one should have values")
    context = _checked_spec(context_features or {}, who, "context")
    sequence = _checked_spec(sequence_features or {}, who, "sequence")
    return context, sequence


def _parse_sequence_one(data: bytes, context, sequence):
    """``(context values, step values)`` of one serialized SequenceExample."""
    message = SequenceExample()
    try:
        message._decode(data)
    except (ValueError, UnicodeDecodeError, KeyError) as error:
        raise InvalidArgumentError(f"Could not parse example input ({error})") from None
    lists = message.feature_lists.feature_list
    steps = {}
    for name, spec, dtype, shape in sequence:
        size = int(np.prod(shape))
        if name not in lists:
            if not spec.allow_missing:
                raise InvalidArgumentError(f"Name: <unknown>, Feature list '{name}' is "
                                           "required but could not be found.  Did you mean "
                                           "to include it in feature_list_dense_missing_"
                                           "assumed_empty or feature_list_dense_defaults?")
            steps[name] = _values(dtype, []).reshape((0,) + shape)
            continue
        rows = []
        for t, feature in enumerate(lists[name].feature):
            kind = feature.WhichOneof("kind")
            if kind is not None and kind != _PARSED[dtype]:
                raise InvalidArgumentError(f"Name: <unknown>, Feature list: {name}, Index: "
                                           f"{t}.  Data types don't match. Expected type: "
                                           f"{_dtype_name(_PARSED[dtype])}")
            values = _values(dtype, feature._lists[kind].value if kind else [])
            if values.size != size:
                raise InvalidArgumentError(f"Name: <unknown>, Key: {name}, Index: {t}.  "
                                           f"Number of values != expected.  values size: "
                                           f"{values.size} but output shape: {shape}")
            rows.append(values.reshape(shape))
        steps[name] = np.stack(rows) if rows else _values(dtype, []).reshape((0,) + shape)
    return _parse_features(message.context.feature, context), steps


def parse_single_sequence_example(serialized, context_features=None, sequence_features=None,
                                  example_name=None, name=None) -> tuple[dict, dict]:
    """``tf.io.parse_single_sequence_example``: one serialized ``SequenceExample`` as
    ``(context, feature_lists)`` dicts: context features by ``tf.io.FixedLenFeature``, each
    feature list by ``tf.io.FixedLenSequenceFeature(shape, dtype)`` as ``(steps,) + shape``
    (a missing list is an error unless ``allow_missing=True``, which makes it empty)."""
    who = "parse_single_sequence_example"
    context, sequence = _sequence_specs(context_features, sequence_features, who)
    if isinstance(serialized, (list, tuple)) or np.ndim(serialized) != 0:
        raise ValueError(f"{who}: input serialized must be a scalar, got shape "
                         f"{np.shape(serialized)} (use parse_sequence_example for a batch)")
    found, steps = _parse_sequence_one(_as_bytes(serialized, who), context, sequence)
    return _as_tensors(found), _as_tensors(steps)


def parse_sequence_example(serialized, context_features=None, sequence_features=None,
                           example_names=None, name=None) -> tuple[dict, dict, dict]:
    """``tf.io.parse_sequence_example``: a batch of serialized SequenceExamples as
    ``(context, feature_lists, lengths)``: the feature lists padded to the batch's longest
    (with ``default_value``, else 0 or ``b""``), ``lengths`` each example's number of steps
    (int64)."""
    who = "parse_sequence_example"
    context, sequence = _sequence_specs(context_features, sequence_features, who)
    if isinstance(serialized, (bytes, str)) or np.ndim(serialized) != 1:
        raise ValueError(f"{who}: serialized must be a vector of serialized "
                         f"SequenceExamples, got shape {np.shape(serialized)}")
    batch = list(np.asarray(serialized, dtype=object).reshape(-1)) \
        if not isinstance(serialized, list) else serialized
    parsed = [_parse_sequence_one(_as_bytes(item, who), context, sequence) for item in batch]
    found = {key: np.stack([p[0][key] for p in parsed]) if parsed else
             np.empty((0,) + shape, dtype=object if dtype.kind == "S" else dtype)
             for key, _, dtype, shape in context}
    steps, lengths = {}, {}
    for key, spec, dtype, shape in sequence:
        rows = [p[1][key] for p in parsed]
        longest = max((len(r) for r in rows), default=0)
        steps[key] = _padded(rows, longest, spec, dtype, shape)
        lengths[key] = np.array([len(r) for r in rows], dtype=np.int64)
    return _as_tensors(found), _as_tensors(steps), _as_tensors(lengths)


def _padded(rows: list[np.ndarray], longest: int, spec, dtype: np.dtype,
            shape: tuple) -> np.ndarray:
    """``rows`` (each ``(n,) + shape``) padded at the end to ``longest`` and stacked."""
    fill = spec.default_value
    if fill is None:
        fill = b"" if dtype.kind == "S" else 0
    elif dtype.kind == "S" and isinstance(fill, str):
        fill = fill.encode("utf-8")
    out = np.empty((len(rows), longest) + shape, dtype=object if dtype.kind == "S" else dtype)
    out[...] = fill
    for i, row in enumerate(rows):
        out[i, :len(row)] = row
    return out


# -- tensors -----------------------------------------------------------------------------------


def serialize_tensor(tensor, name=None):
    """``tf.io.serialize_tensor``: the ``TensorProto`` of ``tensor`` (TensorFlow's bytes for
    numbers and strings), as a 0-d string tensor."""
    from convnp.tensor.eager import EagerTensor
    from convnp.tfevents import tensor_proto

    value = np.asarray(tensor.value if getattr(tensor, "_convnp_variable", False) else tensor)
    if isinstance(tensor, (float, list)) and value.dtype == np.float64:
        value = value.astype(np.float32)  # Python floats make float32 tensors in TensorFlow
    elif isinstance(tensor, (int, list)) and value.dtype == np.int64 and value.size and \
            np.iinfo(np.int32).min <= value.min() and value.max() <= np.iinfo(np.int32).max:
        value = value.astype(np.int32)
    out = np.empty((), dtype=object)
    out[()] = tensor_proto(value)
    return out.view(EagerTensor)


def parse_tensor(serialized, out_type, name=None):
    """``tf.io.parse_tensor``: the tensor in a serialized ``TensorProto``; its dtype must be
    ``out_type`` (InvalidArgumentError otherwise, as in TensorFlow). Strings come back as an
    object array of bytes."""
    from convnp.tensor.eager import EagerTensor, as_dtype
    from convnp.tfevents import _read_tensor

    want = as_dtype(out_type).dtype
    data = _as_bytes(serialized, "parse_tensor")
    try:
        value = _read_tensor(data)
    except (ValueError, KeyError) as error:
        raise InvalidArgumentError(f"Could not parse `serialized` as TensorProto ({error})") \
            from None
    got = np.dtype(np.bytes_) if value.dtype == object else value.dtype
    if (want.kind in "SUO") != (got.kind == "S") or (got.kind != "S" and got != want):
        raise InvalidArgumentError(f"Type mismatch between parsed tensor ({got}) and dtype "
                                   f"({want})")
    return np.asarray(value).view(EagerTensor)


def decode_raw(input_bytes, out_type, little_endian=True, fixed_length=None, name=None):
    """``tf.io.decode_raw``: the bytes of a string (or of each string of a tensor) read as
    numbers of ``out_type``: a scalar string gives a vector, a vector of strings (all of one
    length) a matrix. ``fixed_length`` cuts or zero-pads each string to that many bytes."""
    from convnp.tensor.eager import EagerTensor, as_dtype

    dtype = as_dtype(out_type).dtype
    if dtype.kind not in "iufb" and dtype.kind != "c":
        raise TypeError(f"decode_raw: out_type must be a number type, got {dtype}")
    strings = np.asarray(input_bytes.value if getattr(input_bytes, "_convnp_variable", False)
                         else input_bytes, dtype=object)
    items = [_as_bytes(np.asarray(v, dtype=object), "decode_raw")
             for v in strings.reshape(-1).tolist()]
    if fixed_length is not None:
        n = int(fixed_length)
        items = [x[:n].ljust(n, b"\0") for x in items]
    for x in items:
        if len(x) % dtype.itemsize:
            raise InvalidArgumentError(f"decode_raw: input to DecodeRaw has length {len(x)} "
                                       f"that is not a multiple of {dtype.itemsize}, the size "
                                       f"of {dtype}")
    if len({len(x) for x in items}) > 1:
        raise InvalidArgumentError("decode_raw: DecodeRaw requires input strings to all be "
                                   "the same size")
    order = dtype.newbyteorder("<" if little_endian else ">")
    rows = [np.frombuffer(x, dtype=order).astype(dtype) for x in items]
    width = len(items[0]) // dtype.itemsize if items else 0
    out = np.stack(rows) if rows else np.empty((0, width), dtype=dtype)
    return out.reshape(strings.shape + (width,)).view(EagerTensor)
