"""tf.strings: values as TensorFlow 2.21 prints them (its ``.numpy()``: bytes, dtype object)."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp.keras import layers

S = tf.strings


def values(t):
    out = t.numpy()
    return out.tolist() if isinstance(out, np.ndarray) else out


def test_unicode_split_scalar_gives_utf8_bytes_per_character():
    t = S.unicode_split("abé", input_encoding="UTF-8")
    assert tuple(t.shape) == (3,) and t.numpy().dtype == object
    assert "dtype=string" in repr(t)
    assert values(t) == [b"a", b"b", b"\xc3\xa9"]
    assert values(S.unicode_split(b"", "UTF-8")) == []


def test_unicode_split_invalid_bytes():
    assert values(S.unicode_split(b"a\xffb", "UTF-8")) == [b"a", b"\xef\xbf\xbd", b"b"]
    assert values(S.unicode_split(b"a\xe2\x82b", "UTF-8")) == [b"a", b"\xef\xbf\xbd", b"b"]
    assert values(S.unicode_split(b"a\xffb", "UTF-8", replacement_char=63)) == [b"a", b"?", b"b"]
    assert values(S.unicode_split(b"a\xffb", "UTF-8", errors="ignore")) == [b"a", b"b"]
    with pytest.raises(ValueError, match="not valid UTF-8"):
        S.unicode_split(b"a\xffb", "UTF-8", errors="strict")


def test_unicode_split_batch_dense_when_equal_ragged_refused():
    t = S.unicode_split(["ab", "cd"], "UTF-8")  # TF: a RaggedTensor [[b'a', b'b'], [b'c', b'd']]
    assert values(t) == [[b"a", b"b"], [b"c", b"d"]]
    assert tuple(S.unicode_split(np.array([], dtype=object), "UTF-8").shape) == (0, 0)
    with pytest.raises(ValueError, match="ragged"):
        S.unicode_split(["ab", "c"], "UTF-8")


def test_unicode_split_feeds_string_lookup():
    char_to_num = layers.StringLookup(vocabulary=list("abcd"), mask_token=None)
    ids = char_to_num(S.unicode_split(tf.constant("cab"), input_encoding="UTF-8"))
    np.testing.assert_array_equal(np.asarray(ids), [3, 1, 2])


def test_reduce_join():
    t = S.reduce_join(["a", "b", "c"])
    assert tuple(t.shape) == () and t.numpy() == b"abc"
    assert t.numpy().decode("utf-8") == "abc"
    grid = [["a", "b"], ["c", "d"]]
    assert values(S.reduce_join(grid)) == b"abcd"
    assert values(S.reduce_join(grid, axis=1, separator="-")) == [b"a-b", b"c-d"]
    assert values(S.reduce_join(grid, axis=0, keepdims=True)) == [[b"ac", b"bd"]]
    assert values(S.reduce_join(grid, axis=-1, keepdims=True)) == [[b"ab"], [b"cd"]]
    assert values(S.reduce_join(grid, axis=[1, 0])) == b"abcd"
    assert values(S.reduce_join([["a", "b"]], keepdims=True)) == [[b"ab"]]
    assert values(S.reduce_join(np.array([], dtype=object))) == b""
    with pytest.raises(ValueError, match="axis"):
        S.reduce_join(grid, axis=2)


def test_reduce_join_of_string_lookup_output():
    num_to_char = layers.StringLookup(vocabulary=list("abcd"), mask_token=None, invert=True)
    text = S.reduce_join(num_to_char(np.array([3, 1, 2]))).numpy().decode("utf-8")
    assert text == "cab"


def test_join_elementwise():
    assert values(S.join(["a", "b"], separator="+")) == b"a+b"
    assert values(S.join([["a", "b"], ["c", "d"]], separator="+")) == [b"a+c", b"b+d"]
    assert values(S.join([["a", "b"], "c"], separator="+")) == [b"a+c", b"b+c"]
    assert values(S.join([])) == b""
    with pytest.raises(ValueError, match="one shape"):
        S.join([["a", "b"], ["c", "d", "e"]])


def test_length_lower_upper_strip():
    t = S.length(["abé", ""])
    assert t.dtype == tf.int32 and values(t) == [4, 0]
    assert values(S.length("abé", unit="UTF8_CHAR")) == 3
    assert values(S.length(b"a\xffb\xc3\xa9", unit="UTF8_CHAR")) == 4
    assert values(S.lower(["AbÉ"])) == [b"ab\xc3\x89"]  # ASCII only by default
    assert values(S.upper("abé")) == b"AB\xc3\xa9"
    assert values(S.upper("abé", encoding="utf-8")) == b"AB\xc3\x89"
    assert values(S.strip(["  a b \n"])) == [b"a b"]
    assert values(S.strip("\t x\x0b")) == b"x"


def test_as_string():
    assert values(S.as_string([1, 2])) == [b"1", b"2"]
    assert values(S.as_string([1.5, 2.0])) == [b"1.500000", b"2.000000"]
    assert values(S.as_string(True)) == b"true" and values(S.as_string(False)) == b"false"
    assert values(S.as_string(1.5, precision=2)) == b"1.50"
    assert values(S.as_string(12345.678, scientific=True)) == b"1.234568e+04"
    assert values(S.as_string([0.1, 1e10, 1.0], shortest=True)) == [b"0.1", b"1e+10", b"1"]
    assert values(S.as_string(7, width=4, fill="0")) == b"0007"
    assert values(S.as_string(7, width=4)) == b"   7"
    assert values(S.as_string(-7, width=4, fill="0")) == b"-007"
    assert values(S.as_string(1.5, width=10)) == b"  1.500000"
    assert values(S.as_string([np.nan, np.inf, -np.inf])) == [b"nan", b"inf", b"-inf"]
    assert values(S.as_string(np.float32(1 / 3))) == b"0.333333"
    assert values(S.as_string(np.uint8(200))) == b"200"
    assert values(S.as_string("a")) == b"a"
    with pytest.raises(ValueError, match="both scientific and shortest"):
        S.as_string(1.5, shortest=True, scientific=True)


def test_bad_inputs_are_refused():
    with pytest.raises(TypeError, match="string tensor"):
        S.length(3)
    with pytest.raises(TypeError, match="string tensor"):
        S.reduce_join([1, 2])
    with pytest.raises(TypeError, match="string tensor"):
        S.lower(1.0)
    with pytest.raises(TypeError, match="string tensor"):
        S.unicode_split(5, "UTF-8")
    with pytest.raises(TypeError, match="must hold strings"):
        S.strip(np.array(["a", 1], dtype=object))
    with pytest.raises(ValueError, match="'BYTE' or 'UTF8_CHAR'"):
        S.length("a", unit="X")
    with pytest.raises(ValueError, match="input_encoding"):
        S.unicode_split("a", input_encoding="latin-1")
    with pytest.raises(TypeError, match="list of string tensors"):
        S.join("ab")
