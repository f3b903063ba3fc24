"""``tf.strings``: a few of TensorFlow's string ops on dense string tensors.

Results are tensors of ``bytes`` (``dtype=object``), as TensorFlow's ``.numpy()`` gives them,
so ``tf.strings.reduce_join(chars).numpy().decode("utf-8")`` is a Python ``str``. Inputs may
be ``str``/``bytes``, lists of them, NumPy string arrays (``<U``/``S``/object) or tensors
(``StringLookup(invert=True)`` outputs, ``tf.constant("...")``). convnp has no ragged tensors:
``unicode_split`` of a batch gives a dense result only when every string has as many
characters.

>>> import convnp as tf
>>> chars = tf.strings.unicode_split("abc", input_encoding="UTF-8")
>>> chars.numpy().tolist()
[b'a', b'b', b'c']
>>> tf.strings.reduce_join(chars, separator="-").numpy().decode("utf-8")
'a-b-c'
"""

from __future__ import annotations

import builtins
import codecs
import functools

import numpy as np

from convnp.tensor.eager import EagerTensor

__all__ = ["as_string", "join", "length", "lower", "reduce_join", "regex_replace", "split",
           "strip", "substr", "to_number", "unicode_split", "upper"]

_ENCODINGS = {"UTF-8": "utf-8", "UTF-16-BE": "utf-16-be", "UTF-32-BE": "utf-32-be"}
_MARK = "\udc00"  # a lone surrogate: never in validly decoded text, marks a bad byte run


@functools.cache
def _marking_errors() -> str:
    """The name of a decode error handler that puts one `_MARK` for each bad byte run;
    registered with `codecs` on first use, not when convnp is imported."""
    codecs.register_error("convnp.strings.mark", lambda err: (_MARK, err.end))
    return "convnp.strings.mark"


def _strings(value, what: str = "input") -> np.ndarray:
    """``value`` as an object array of ``bytes`` (str encoded as UTF-8); TypeError when it
    holds anything but strings."""
    if isinstance(value, (str, bytes)):
        return np.array(value.encode() if isinstance(value, str) else value, dtype=object)
    try:
        array = np.asarray(value)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"tf.strings: {what} must be a rectangular array of strings; "
                         f"received {value!r} ({exc})") from None
    if array.dtype.kind == "S":
        return array.astype(object)
    if array.dtype.kind == "U":
        out = np.empty(array.shape, dtype=object)
        out.ravel()[:] = [s.encode() for s in array.ravel().tolist()]
        return out
    if array.dtype.kind == "O":
        flat = array.ravel().tolist()
        bad = [v for v in flat if not isinstance(v, (str, bytes))]
        if not bad:
            out = np.empty(array.shape, dtype=object)
            out.ravel()[:] = [v.encode() if isinstance(v, str) else v for v in flat]
            return out
        raise TypeError(f"tf.strings: {what} must hold strings (str or bytes); received an "
                        f"element {bad[0]!r} of type {type(bad[0]).__name__}")
    raise TypeError(f"tf.strings: {what} must be a string tensor (str, bytes or an array of "
                    f"them); received dtype {array.dtype} ({type(value).__name__})")


def _tensor(array: np.ndarray) -> EagerTensor:
    return np.asarray(array).view(EagerTensor)


def _map(array: np.ndarray, fn, dtype=object) -> EagerTensor:
    out = np.empty(array.shape, dtype=dtype)
    out.ravel()[:] = [fn(v) for v in array.ravel().tolist()]
    return _tensor(out)


def unicode_split(input, input_encoding, errors="replace", replacement_char=65533,
                  name=None) -> EagerTensor:
    """The characters of each string, each one encoded in ``input_encoding`` (bytes).

    A scalar gives a 1-D tensor; a tensor of shape ``S`` gives ``S + (n,)`` when every string
    has ``n`` characters (TensorFlow returns a RaggedTensor; convnp raises ValueError when the
    lengths differ). ``errors``: "replace" puts ``replacement_char`` for each invalid byte run,
    "ignore" drops it, "strict" raises ValueError.
    """
    if not isinstance(input_encoding, str) or input_encoding.upper() not in _ENCODINGS:
        raise ValueError(f"tf.strings.unicode_split: input_encoding must be one of "
                         f"{sorted(_ENCODINGS)}; received {input_encoding!r}")
    if errors not in ("replace", "ignore", "strict"):
        raise ValueError(f"tf.strings.unicode_split: errors must be 'replace', 'ignore' or "
                         f"'strict'; received {errors!r}")
    if (isinstance(replacement_char, bool) or not isinstance(replacement_char, (int, np.integer))
            or not 0 <= int(replacement_char) <= 0x10FFFF):
        raise ValueError(f"tf.strings.unicode_split: replacement_char must be a code point "
                         f"in [0, 0x10FFFF]; received {replacement_char!r}")
    codec = _ENCODINGS[input_encoding.upper()]
    array = _strings(input)
    replacement = chr(int(replacement_char)).encode(codec, "surrogatepass")

    def split(data: bytes) -> list:
        text = data.decode(codec, _marking_errors())
        if _MARK in text and errors == "strict":
            raise ValueError(f"tf.strings.unicode_split: {data!r} is not valid "
                             f"{input_encoding} (errors='strict')")
        out = []
        for ch in text:
            if ch == _MARK:
                if errors == "replace":
                    out.append(replacement)
            else:
                out.append(ch.encode(codec))
        return out

    pieces = [split(v) for v in array.ravel().tolist()]
    lengths = {len(p) for p in pieces}
    if len(lengths) > 1:
        raise ValueError(f"tf.strings.unicode_split: the strings have different numbers of "
                         f"characters ({sorted(lengths)}); TensorFlow returns a RaggedTensor, "
                         f"and convnp does not support ragged results: split the strings one "
                         f"at a time")
    n = lengths.pop() if lengths else 0
    out = np.empty((len(pieces), n), dtype=object)
    for i, p in enumerate(pieces):
        out[i, :] = p
    return _tensor(out.reshape(array.shape + (n,)))


def reduce_join(inputs, axis=None, keepdims=False, separator="", name=None) -> EagerTensor:
    """Join the strings along ``axis`` (all axes when None, in row-major order) with
    ``separator`` between them; reducing no strings gives ``b""``."""
    array = _strings(inputs, "inputs")
    sep = _separator(separator, "reduce_join")
    ndim = array.ndim
    if axis is None:
        axes = list(range(ndim))
    else:
        raw = [axis] if isinstance(axis, (int, np.integer)) else list(np.ravel(axis))
        axes = []
        for a in raw:
            if isinstance(a, bool) or not isinstance(a, (int, np.integer)) \
                    or not -ndim <= int(a) < max(ndim, 1):
                raise ValueError(f"tf.strings.reduce_join: axis must be integers in "
                                 f"[{-ndim}, {ndim}) for an input of rank {ndim}; "
                                 f"received {axis!r}")
            axes.append(int(a) % ndim if ndim else 0)
        axes = sorted(set(axes))
    if ndim == 0:
        return _tensor(np.array(array[()], dtype=object))
    keep = [a for a in range(ndim) if a not in axes]
    moved = np.transpose(array, keep + axes)
    kept_shape = tuple(array.shape[a] for a in keep)
    count = int(np.prod([array.shape[a] for a in axes]))
    out = np.empty(kept_shape, dtype=object)
    flat_rows = moved.reshape(int(np.prod(kept_shape)), count)
    out.ravel()[:] = [sep.join(r) for r in flat_rows.tolist()]
    if keepdims:
        out = out.reshape(tuple(1 if a in axes else array.shape[a] for a in range(ndim)))
    return _tensor(out)


def join(inputs, separator="", name=None) -> EagerTensor:
    """Element-wise join of a list of string tensors of one shape (scalars broadcast)."""
    if isinstance(inputs, (str, bytes)) or not isinstance(inputs, (list, tuple)):
        raise TypeError(f"tf.strings.join: inputs must be a list of string tensors; "
                        f"received {type(inputs).__name__}")
    sep = _separator(separator, "join")
    if not inputs:
        return _tensor(np.array(b"", dtype=object))
    arrays = [_strings(x, f"inputs[{i}]") for i, x in enumerate(inputs)]
    shapes = {a.shape for a in arrays if a.ndim}
    if len(shapes) > 1:
        raise ValueError(f"tf.strings.join: the inputs must have one shape (or be scalars); "
                         f"received shapes {[a.shape for a in arrays]}")
    shape = shapes.pop() if shapes else ()
    arrays = [np.broadcast_to(a, shape) for a in arrays]
    out = np.empty(shape, dtype=object)
    out.ravel()[:] = [sep.join(parts) for parts in zip(*(a.ravel().tolist() for a in arrays))]
    return _tensor(out)


def length(input, unit="BYTE", name=None) -> EagerTensor:
    """Each string's length (int32): in bytes, or in UTF-8 characters with
    ``unit="UTF8_CHAR"`` (bytes that do not continue a character)."""
    if unit not in ("BYTE", "UTF8_CHAR"):
        raise ValueError(f"tf.strings.length: unit must be 'BYTE' or 'UTF8_CHAR'; "
                         f"received {unit!r}")
    array = _strings(input)
    if unit == "BYTE":
        return _map(array, len, np.int32)
    return _map(array, lambda b: sum(1 for c in b if c & 0xC0 != 0x80), np.int32)


def _case(input, encoding, fn_name: str) -> EagerTensor:
    if encoding not in ("", "utf-8", "UTF-8"):
        raise ValueError(f"tf.strings.{fn_name}: encoding must be '' (ASCII) or 'utf-8'; "
                         f"received {encoding!r}")
    array = _strings(input)
    if encoding == "":  # bytes methods change ASCII letters only, as TensorFlow's default
        return _map(array, getattr(bytes, fn_name))
    return _map(array, lambda b: getattr(b.decode("utf-8", "surrogateescape"), fn_name)()
                .encode("utf-8", "surrogateescape"))


def lower(input, encoding="", name=None) -> EagerTensor:
    """Lowercase: ASCII letters only, or all of Unicode with ``encoding="utf-8"``."""
    return _case(input, encoding, "lower")


def upper(input, encoding="", name=None) -> EagerTensor:
    """Uppercase: ASCII letters only, or all of Unicode with ``encoding="utf-8"``."""
    return _case(input, encoding, "upper")


def strip(input, name=None) -> EagerTensor:
    """Remove leading and trailing ASCII whitespace."""
    return _map(_strings(input), bytes.strip)


def as_string(input, precision=-1, scientific=False, shortest=False, width=-1, fill="",
              name=None) -> EagerTensor:
    """Numbers (and booleans) as strings, as TensorFlow formats them: integers in decimal,
    floats with ``precision`` decimals (6 when -1), ``%e`` when ``scientific``, ``%g`` when
    ``shortest``; ``width`` pads on the left with ``fill`` (a space, or "0"). Strings are
    returned as they are."""
    if scientific and shortest:
        raise ValueError("tf.strings.as_string: cannot select both scientific and shortest "
                         "notation")
    if fill not in ("", " ", "0"):
        raise ValueError(f"tf.strings.as_string: fill must be '', ' ' or '0'; received "
                         f"{fill!r}")
    array = np.asarray(input)
    if array.dtype.kind in "USO":
        return _tensor(_strings(input))
    flag = "0" if fill == "0" else ""
    pad = f"{flag}{int(width)}" if width is not None and int(width) > 0 else ""
    if array.dtype.kind == "b":
        return _map(array, lambda v: f"{'true' if v else 'false':>{max(int(width), 0)}}"
                    .encode())
    if array.dtype.kind in "iu":
        return _map(array, lambda v: (f"%{pad}d" % v).encode())
    if array.dtype.kind == "f":
        prec = f".{int(precision)}" if precision is not None and int(precision) >= 0 else ""
        kind = "e" if scientific else "g" if shortest else "f"
        return _map(array, lambda v: (f"%{pad}{prec}{kind}" % v).encode())
    raise TypeError(f"tf.strings.as_string: input must be numbers, booleans or strings; "
                    f"received dtype {array.dtype}")


def _separator(separator, fn: str) -> bytes:
    if isinstance(separator, str):
        return separator.encode()
    if isinstance(separator, bytes):
        return separator
    raise TypeError(f"tf.strings.{fn}: separator must be a str or bytes; received "
                    f"{type(separator).__name__}")


def split(input, sep=None, maxsplit=-1, name=None) -> EagerTensor:
    """The parts of one string (a scalar): a 1-D tensor of bytes, as TensorFlow gives it
    for a scalar (``tf.strings.split(path, os.path.sep)[-2]`` reads a file's folder).

    ``sep`` None splits on runs of ASCII whitespace and drops empty parts; a given ``sep``
    keeps them (``"/a/b"`` gives ``[b"", b"a", b"b"]``). ``maxsplit`` -1 splits everywhere.

    Raises:
        NotImplementedError: a batch of strings, whose parts TensorFlow returns as a
            RaggedTensor (convnp has no ragged tensors).
        ValueError: an empty ``sep``.
    """
    array = _strings(input)
    if array.ndim != 0:
        raise NotImplementedError(f"tf.strings.split of a string tensor of shape "
                                  f"{list(array.shape)} gives a RaggedTensor in TensorFlow, "
                                  f"which convnp does not have; split one string (a scalar), "
                                  f"e.g. inside Dataset.map")
    limit = int(maxsplit)
    if sep is None:
        parts = array.item().split(None, limit if limit >= 0 else -1)
    else:
        separator = _separator(sep, "split")
        if not separator:
            raise ValueError("tf.strings.split: sep must not be empty (use None to split on "
                             "whitespace)")
        parts = array.item().split(separator, limit if limit >= 0 else -1)
    out = np.empty(len(parts), dtype=object)
    out[:] = parts
    return _tensor(out)


def regex_replace(input, pattern, rewrite, replace_global=True, name=None) -> EagerTensor:
    """Each string with the matches of ``pattern`` replaced by ``rewrite`` (all of them, or
    the first with ``replace_global=False``); ``\\1`` in ``rewrite`` is the first group.
    Patterns are Python's ``re`` syntax, which shares RE2's for common patterns."""
    import re

    array = _strings(input)
    try:
        regex = re.compile(_separator(pattern, "regex_replace"))
    except re.error as exc:
        raise ValueError(f"tf.strings.regex_replace: invalid pattern {pattern!r}: "
                         f"{exc}") from None
    replacement = _separator(rewrite, "regex_replace")
    count = 0 if replace_global else 1
    return _map(array, lambda b: regex.sub(replacement, b, count=count))


def substr(input, pos, len, unit="BYTE", name=None) -> EagerTensor:
    """``len`` bytes of each string from ``pos`` (negative: from the end); fewer when the
    string ends first.

    Raises:
        ValueError: ``pos`` outside the string (TensorFlow's InvalidArgumentError), or a
            ``unit`` other than "BYTE".
    """
    if unit != "BYTE":
        raise NotImplementedError(f"tf.strings.substr: unit {unit!r} is not supported by "
                                  f"convnp (only 'BYTE')")
    start, size = int(np.asarray(pos)), int(np.asarray(len))

    def cut(b: bytes) -> bytes:
        n = builtins.len(b)  # ``len`` is TensorFlow's argument name here
        first = start + n if start < 0 else start
        if not 0 <= first <= n:
            from convnp.tensor.debugging import InvalidArgumentError

            raise InvalidArgumentError(f"tf.strings.substr: pos {start} out of range for a "
                                       f"string of length {n}")
        return b[first:first + max(size, 0)]

    return _map(_strings(input), cut)


def to_number(string_tensor, out_type=np.float32, name=None) -> EagerTensor:
    """Each string read as a number of ``out_type`` (float32 by default, or an int type).

    Raises:
        ValueError: a string that is not a number (TensorFlow's InvalidArgumentError).
    """
    from convnp.tensor.eager import as_dtype

    dtype = as_dtype(out_type).dtype
    if dtype.kind not in "iuf":
        raise TypeError(f"tf.strings.to_number: out_type must be a number type, got {out_type!r}")

    def read(b: bytes):
        text = b.decode("utf-8", "replace").strip()
        try:
            return float(text) if dtype.kind == "f" else int(text)
        except ValueError:
            from convnp.tensor.debugging import InvalidArgumentError

            raise InvalidArgumentError(f"tf.strings.to_number: cannot read {b!r} as "
                                       f"{dtype}") from None

    return _map(_strings(string_tensor), read, dtype)
