"""`TFRecordDataset`: one element per record of TFRecord files, as tf.data reads them.

The files are read when the dataset is iterated, record by record (`convnp.io.records`), so a
dataset of many large files never holds more than one record; a missing file raises
``tf.errors.NotFoundError`` then, and a damaged one ``tf.errors.DataLossError`` (a `ValueError`
too) naming the file and byte offset, as TensorFlow's iterator does.

Each element is a scalar string tensor holding the record's bytes: a 0-d object array, so
that a record ending in zero bytes (a serialized float 0.0, a tensor) keeps them.
``map(lambda r: tf.io.parse_single_example(r, spec))`` turns them into features.
"""

from __future__ import annotations

import numpy as np

from convnp.data.dataset import UNKNOWN_CARDINALITY, Dataset
from convnp.data.text import _filenames
from convnp.io.records import TFRecordWriter as _FileWriter
from convnp.io.records import compression_kind, iter_records

__all__ = ["TFRecordDataset", "TFRecordWriter"]


class TFRecordDataset(Dataset):
    """``tf.data.TFRecordDataset(filenames, compression_type=None)``.

    Args:
        filenames: a path, a list of paths, a string tensor of paths, or a `Dataset` whose
            elements are paths (``Dataset.list_files(...)``); read in that order.
        compression_type: None or ``""`` (plain), ``"GZIP"`` or ``"ZLIB"``.
        buffer_size, num_parallel_reads, name: accepted for TensorFlow's code; reading is
            sequential.
    """

    def __init__(self, filenames, compression_type=None, buffer_size=None,
                 num_parallel_reads=None, name=None):
        self._compression = compression_kind(compression_type, "TFRecordDataset")
        if isinstance(filenames, Dataset):
            self._source = filenames
            self._names = None
        else:
            self._source = None
            empty = isinstance(filenames, (list, tuple)) and not filenames
            # no files is an empty dataset in TensorFlow
            self._names = [] if empty else _filenames(filenames, "TFRecordDataset")

    def _paths(self):
        if self._names is not None:
            yield from self._names
            return
        for element in self._source._iter_plain():
            value = np.asarray(element)
            if value.ndim != 0 or value.dtype.kind not in "SUO":
                raise TypeError(f"TFRecordDataset: a dataset of filenames must have scalar "
                                f"string elements, got {value.dtype} of shape {value.shape}")
            yield from _filenames(value.item(), "TFRecordDataset")

    def _elements(self):
        for path in self._paths():
            for record in iter_records(path, self._compression):
                element = np.empty((), dtype=object)
                element[()] = record
                yield element

    def _cardinality(self) -> int:
        return UNKNOWN_CARDINALITY  # known only by reading the files, as in TensorFlow

    def _static_spec(self):
        from convnp.tensor.spec import TensorSpec

        return TensorSpec((), np.bytes_)

    def __repr__(self) -> str:
        return "<TFRecordDatasetV2 element_spec=TensorSpec(shape=(), dtype=tf.string, name=None)>"


class TFRecordWriter:
    """``tf.data.experimental.TFRecordWriter(filename, compression_type=None)``: ``write(dataset)``
    writes each element of a dataset of scalar strings as one record (the TensorFlow tutorial's
    way to save serialized Examples made with ``map``)."""

    def __init__(self, filename, compression_type=None):
        self._filename = filename
        self._compression = compression_kind(compression_type, "TFRecordWriter")

    def write(self, dataset: Dataset) -> None:
        if not isinstance(dataset, Dataset):
            raise TypeError(f"TFRecordWriter.write: expected a tf.data.Dataset, got "
                            f"{type(dataset).__name__}")
        with _FileWriter(self._filename, self._compression) as writer:
            for element in dataset._iter_plain():
                value = np.asarray(element) if not isinstance(element, tuple) else None
                if value is None or value.ndim != 0 or value.dtype.kind not in "SUO":
                    raise TypeError("TFRecordWriter.write: the dataset's elements must be "
                                    "scalar strings (serialized records), got "
                                    f"{type(element).__name__}")
                writer.write(value.item())
