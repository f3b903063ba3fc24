"""tf.data.TextLineDataset and tf.data.experimental.CsvDataset (TensorFlow's "Overfit and
underfit" tutorial reads the gzipped HIGGS CSV with CsvDataset). The expected elements are what
TensorFlow 2.21 gives for the same files and calls (strings decoded from bytes)."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

import convnp as tf

CSV = 'a,b,c,d\n1.5,2,x,7\n,3,"y,z",8\r\n-2e-3,,w,9\n'
TEXT = "line one\nline two\r\n\nlast"


@pytest.fixture
def files(tmp_path):
    (tmp_path / "t.csv").write_bytes(CSV.encode())
    (tmp_path / "t.csv.gz").write_bytes(gzip.compress(CSV.encode()))
    (tmp_path / "t.txt").write_bytes(TEXT.encode())
    return tmp_path


def _rows(ds):
    return [tuple(np.asarray(v).item() for v in element) for element in ds]


def test_csv_dataset_matches_tensorflow(files):
    csv_path = str(files / "t.csv")
    rows = _rows(tf.data.experimental.CsvDataset(csv_path, [0.5, 0, "q", tf.int64],
                                                 header=True))
    assert rows == [(1.5, 2, "x", 7), (0.5, 3, "y,z", 8), (-0.0020000000949949026, 0, "w", 9)]
    rows = _rows(tf.data.experimental.CsvDataset(str(files / "t.csv.gz"),
                                                 [0.0, 4, "", [0]], header=True,
                                                 compression_type="GZIP"))
    assert rows == [(1.5, 2, "x", 7), (0.0, 3, "y,z", 8), (-0.0020000000949949026, 4, "w", 9)]
    rows = _rows(tf.data.experimental.CsvDataset(csv_path, [0.0, tf.int64], header=True,
                                                 select_cols=[1, 3]))
    assert rows == [(2.0, 7), (3.0, 8), (0.0, 9)]
    rows = _rows(tf.data.experimental.CsvDataset(csv_path, [0.0, "", 0], header=True,
                                                 exclude_cols=[1]))
    assert rows == [(1.5, "x", 7), (0.0, "y,z", 8), (-0.0020000000949949026, "w", 9)]
    first = next(iter(tf.data.experimental.CsvDataset(csv_path, [0.5, 0, "q", tf.int64],
                                                      header=True)))
    assert [np.asarray(v).dtype.kind for v in first] == ["f", "i", "U", "i"]
    assert [np.asarray(v).dtype.itemsize for v in first[:2] + first[3:]] == [4, 4, 8]


def test_csv_dataset_errors(files):
    csv_path = str(files / "t.csv")
    with pytest.raises(ValueError, match="no default"):  # a required column's empty field
        tf.data.experimental.CsvDataset(csv_path, [tf.float32, 0, "", 0], header=True)
    with pytest.raises(ValueError, match="expected 3 fields, got 4"):
        tf.data.experimental.CsvDataset(csv_path, [0.0, 0, ""], header=True)
    with pytest.raises(ValueError, match="cannot read 'a'"):  # the header read as data
        tf.data.experimental.CsvDataset(csv_path, [0.0, 0, "", 0])
    with pytest.raises(ValueError, match="compression_type"):
        tf.data.experimental.CsvDataset(csv_path, [0.0], compression_type="BZ2")
    with pytest.raises(TypeError, match="bool"):
        tf.data.experimental.CsvDataset(csv_path, [True])


def test_higgs_style_pipeline(files):
    # the tutorial: batch the columns, stack the features per row, unbatch
    def pack_row(*row):
        return tf.stack(row[1:], 1), row[0]

    ds = tf.data.experimental.CsvDataset(str(files / "t.csv.gz"), [0.0, 0.0],
                                         compression_type="GZIP", header=True,
                                         select_cols=[0, 3])
    features, label = next(iter(ds.batch(3).map(pack_row).unbatch().batch(3)))
    np.testing.assert_allclose(np.asarray(features)[:, 0], [7.0, 8.0, 9.0])
    np.testing.assert_allclose(np.asarray(label), [1.5, 0.0, -0.002], rtol=1e-6)


def test_text_line_dataset_matches_tensorflow(files):
    lines = [np.asarray(v).item() for v in tf.data.TextLineDataset(str(files / "t.txt"))]
    assert lines == ["line one", "line two", "", "last"]
    both = tf.data.TextLineDataset([str(files / "t.txt"), files / "t.txt"])
    assert len(list(both)) == 8
