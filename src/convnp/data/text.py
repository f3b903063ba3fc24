"""Datasets read from text files, as tf.data reads them: `TextLineDataset` (one string element
per line) and `CsvDataset` (one tuple of typed fields per CSV record; TensorFlow's "Overfit and
underfit" tutorial reads the HIGGS file with it).

The files are read whole when the dataset is made (plain, ``"GZIP"`` or ``"ZLIB"``
compressed), so a bad file or field fails there, with the file and record named. Strings are
Python ``str`` elements, as convnp's string tensors hold them.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import os
import zlib
from typing import Any

import numpy as np

from convnp.data.dataset import Dataset

__all__ = ["CsvDataset", "TextLineDataset"]

#: the column types CsvDataset reads (TensorFlow's: float32, float64, int32, int64, string)
_KINDS = {np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int32), np.dtype(np.int64)}


def _filenames(filenames, who: str) -> list[str]:
    """One name, a list of names or a string tensor of names, as paths."""
    if isinstance(filenames, (str, bytes, os.PathLike)):
        filenames = [filenames]
    else:
        filenames = list(np.asarray(filenames).reshape(-1)) \
            if not isinstance(filenames, (list, tuple)) else list(filenames)
    names = []
    for name in filenames:
        if isinstance(name, (bytes, np.bytes_)):
            name = bytes(name).decode("utf-8")
        if not isinstance(name, (str, np.str_, os.PathLike)):
            raise TypeError(f"{who}: filenames must be strings or paths, got "
                            f"{type(name).__name__}")
        names.append(os.fspath(name))
    if not names:
        raise ValueError(f"{who}: no filenames given")
    return names


def _read_text(path: str, compression_type, who: str) -> str:
    kind = (compression_type or "").upper()
    if kind not in ("", "GZIP", "ZLIB"):
        raise ValueError(f"{who}: compression_type must be None, '', 'GZIP' or 'ZLIB', got "
                         f"{compression_type!r}")
    with open(path, "rb") as f:
        data = f.read()
    try:
        if kind == "GZIP":
            data = gzip.decompress(data)
        elif kind == "ZLIB":
            data = zlib.decompress(data)
        return data.decode("utf-8")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as error:
        raise ValueError(f"{who}: cannot read {path} as {kind or 'plain'} UTF-8 text "
                         f"({error})") from None


def _lines(text: str) -> list[str]:
    """The lines of ``text`` without their endings (a last line may lack one)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def TextLineDataset(filenames, compression_type=None, buffer_size=None,
                    num_parallel_reads=None, name=None) -> Dataset:
    """One ``str`` element per line of each file, in order (line endings removed)."""
    lines: list[str] = []
    for path in _filenames(filenames, "TextLineDataset"):
        lines.extend(_lines(_read_text(path, compression_type, "TextLineDataset")))
    return Dataset.from_tensor_slices(np.array(lines, dtype=str).reshape(-1))


def _column(default: Any, index: int) -> tuple[np.dtype, Any]:
    """``(dtype, default value or None when the field is required)`` of one record_defaults
    entry: a value (``float()`` is a float32 column defaulting to 0.0, an int an int32 one, a
    str a string one), a one-value list or array, or a dtype / empty list (required)."""
    where = f"CsvDataset: record_defaults[{index}]"
    dtype_like = getattr(default, "as_numpy_dtype", None)
    if dtype_like is not None or isinstance(default, (type, np.dtype)):
        kind = np.dtype(dtype_like if dtype_like is not None else default)
        return _checked_kind(kind, where), None
    if isinstance(default, (list, tuple, np.ndarray)) or hasattr(default, "numpy"):
        values = np.asarray(default).reshape(-1)
        if values.size > 1:
            raise ValueError(f"{where}: a default holds at most one value, got {values.size}")
        kind = np.dtype(str) if values.dtype.kind in "US" else values.dtype
        if values.size == 0:
            return _checked_kind(kind, where), None
        default = values[0].item()
        if kind.kind not in "US":
            return _checked_kind(kind, where), default
    if isinstance(default, bool):
        raise TypeError(f"{where}: bool columns are not supported (TensorFlow reads float32, "
                        "float64, int32, int64 and string)")
    if isinstance(default, float):
        return np.dtype(np.float32), default
    if isinstance(default, int):
        return np.dtype(np.int32), default
    if isinstance(default, (str, bytes)):
        return np.dtype(str), default.decode("utf-8") if isinstance(default, bytes) else default
    raise TypeError(f"{where}: expected a default value, a one-value list or a dtype, got "
                    f"{type(default).__name__}")


def _checked_kind(kind: np.dtype, where: str) -> np.dtype:
    if kind.kind in "USO":
        return np.dtype(str)
    if kind not in _KINDS:
        raise TypeError(f"{where}: column type {kind} is not supported (float32, float64, "
                        "int32, int64 or string)")
    return kind


def _parse(field: str, kind: np.dtype, default, na_value: str, where: str):
    if field == "" or field == na_value:
        if default is None:
            raise ValueError(f"{where}: the field is empty and its column has no default")
        return default
    if kind.kind == "U":
        return field
    try:
        return float(field) if kind.kind == "f" else int(field)
    except ValueError:
        raise ValueError(f"{where}: cannot read {field!r} as {kind}") from None


def CsvDataset(filenames, record_defaults, compression_type=None, buffer_size=None,
               header=False, field_delim=",", use_quote_delim=True, na_value="",
               select_cols=None, exclude_cols=None, name=None) -> Dataset:
    """One element per CSV record: a tuple with one scalar per column, typed by
    ``record_defaults`` (see `_column`); empty fields (or ``na_value``) take the column's
    default. ``select_cols`` (increasing indices) or ``exclude_cols`` pick the columns read;
    otherwise every record must have one field per default. ``header=True`` skips each file's
    first line."""
    columns = [_column(d, i) for i, d in enumerate(record_defaults)]
    if not columns:
        raise ValueError("CsvDataset: record_defaults is empty")
    if select_cols is not None and exclude_cols is not None:
        raise ValueError("CsvDataset: give select_cols or exclude_cols, not both")
    if select_cols is not None:
        select_cols = [int(c) for c in select_cols]
        if any(b <= a for a, b in itertools.pairwise(select_cols)) or min(select_cols) < 0:
            raise ValueError(f"CsvDataset: select_cols must be increasing non-negative indices, "
                             f"got {select_cols}")
        if len(select_cols) != len(columns):
            raise ValueError(f"CsvDataset: {len(select_cols)} select_cols but "
                             f"{len(columns)} record_defaults")
    excluded = {int(c) for c in exclude_cols} if exclude_cols is not None else set()
    if not isinstance(field_delim, str) or len(field_delim) != 1:
        raise ValueError(f"CsvDataset: field_delim must be one character, got {field_delim!r}")
    values: list[list] = [[] for _ in columns]
    for path in _filenames(filenames, "CsvDataset"):
        text = _read_text(path, compression_type, "CsvDataset")
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=field_delim,
                            quotechar='"', quoting=csv.QUOTE_MINIMAL if use_quote_delim
                            else csv.QUOTE_NONE, strict=True)
        try:
            records = list(reader)
        except csv.Error as error:
            raise ValueError(f"CsvDataset: {path}: {error}") from None
        for number, record in enumerate(records[1:] if header else records,
                                        start=2 if header else 1):
            if not record:
                continue  # a blank line holds no record
            where = f"CsvDataset: {path}, record {number}"
            if select_cols is not None:
                if select_cols[-1] >= len(record):
                    raise ValueError(f"{where}: has {len(record)} fields, select_cols asks "
                                     f"for column {select_cols[-1]}")
                fields = [record[c] for c in select_cols]
            else:
                fields = [f for c, f in enumerate(record) if c not in excluded]
                if len(fields) != len(columns):
                    raise ValueError(f"{where}: expected {len(columns)} fields, got "
                                     f"{len(fields)}")
            for k, (field, (kind, default)) in enumerate(zip(fields, columns)):
                values[k].append(_parse(field, kind, default, na_value,
                                        f"{where}, field {k}"))
    arrays = tuple(np.array(v, dtype=kind).reshape(-1) for v, (kind, _) in zip(values, columns))
    return Dataset.from_tensor_slices(arrays)
