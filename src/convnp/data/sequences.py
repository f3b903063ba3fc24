"""Keras's sequence helpers: `pad_sequences` (lists of token ids to one padded array) and
`timeseries_dataset_from_array` (sliding windows over a series, as a `Dataset`)."""

from __future__ import annotations

import numpy as np

from convnp.data.dataset import Dataset

__all__ = ["pad_sequences", "timeseries_dataset_from_array"]


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0) -> np.ndarray:
    """``(len(sequences), maxlen)`` array of the sequences, each cut to ``maxlen`` (dropping
    its start for ``truncating="pre"``, its end for ``"post"``) and filled with ``value``
    before (``padding="pre"``) or after (``"post"``) it; ``maxlen`` defaults to the longest.
    Items may be arrays of one shape: the result is then ``(n, maxlen) + that shape``.

    >>> pad_sequences([[1, 2, 3], [4]], maxlen=2, padding="post")
    array([[2, 3],
           [4, 0]], dtype=int32)
    """
    if padding not in ("pre", "post"):
        raise ValueError(f'pad_sequences: padding must be "pre" or "post", got {padding!r}')
    if truncating not in ("pre", "post"):
        raise ValueError(f'pad_sequences: truncating must be "pre" or "post", got '
                         f"{truncating!r}")
    if not hasattr(sequences, "__len__") or isinstance(sequences, (str, bytes)):
        raise ValueError(f"pad_sequences: sequences must be a list of iterables, got "
                         f"{type(sequences).__name__}")
    lengths = []
    for seq in sequences:
        if not hasattr(seq, "__len__") or isinstance(seq, (str, bytes)):
            raise ValueError(f"pad_sequences: sequences must be a list of iterables; found "
                             f"the non-iterable {seq!r}")
        lengths.append(len(seq))
    if maxlen is None:
        maxlen = max(lengths, default=0)
    elif isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 0:
        raise ValueError(f"pad_sequences: maxlen must be None or an int >= 0, got {maxlen!r}")
    dtype = np.dtype(dtype)
    textual = dtype.kind in "UO"
    if isinstance(value, str) and not textual:
        raise ValueError(f"pad_sequences: dtype {dtype} cannot hold the padding value "
                         f"{value!r}; use dtype=object or a string dtype")
    item_shape = next((np.asarray(s).shape[1:] for s in sequences if len(s)), ())
    out = np.full((len(lengths), int(maxlen)) + item_shape, value, dtype=dtype)
    for row, seq in enumerate(sequences):
        if not len(seq) or not maxlen:
            continue
        kept = np.asarray(seq[-maxlen:] if truncating == "pre" else seq[:maxlen], dtype=dtype)
        if kept.shape[1:] != item_shape:
            raise ValueError(f"pad_sequences: sequence {row} has items of shape "
                             f"{kept.shape[1:]}, the others {item_shape}")
        if padding == "post":
            out[row, :len(kept)] = kept
        else:
            out[row, -len(kept):] = kept
    return out


def _int_argument(name: str, value, minimum: int, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"timeseries_dataset_from_array: {name} must be an int >= {minimum}"
                         f"{' or None' if allow_none else ''}, got {value!r}")
    return int(value)


def _series(values) -> np.ndarray:
    """``data`` or ``targets`` as an array; Python lists as TensorFlow converts them (floats
    to float32, ints to int32), arrays and tensors as they are."""
    if isinstance(values, (list, tuple)):
        from convnp.tensor.ops import convert_to_tensor

        return np.asarray(convert_to_tensor(values))
    return np.asarray(values)


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1,
                                  sampling_rate=1, batch_size=128, shuffle=False, seed=None,
                                  start_index=None, end_index=None, format="tf") -> Dataset:
    """Windows over ``data[start_index:end_index]`` as a `Dataset`, as Keras's function.

    Window ``k`` starts at position ``p = k * sequence_stride`` (counted from
    ``start_index``) and takes ``sequence_length`` rows ``sampling_rate`` apart; its target
    (when ``targets`` is not None) is ``targets[start_index + p]``. Windows that do not fit,
    or that have no target, are left out. Batches of ``batch_size`` (None: single windows),
    the last one smaller. ``shuffle`` orders the windows with ``np.random.RandomState(seed)``
    as Keras's first shuffle does (Keras then shuffles again inside TensorFlow's buffer, so
    the order differs from Keras's; the windows are the same).

    >>> ds = timeseries_dataset_from_array(np.arange(6), None, sequence_length=3, batch_size=2)
    >>> [b.tolist() for b in ds.as_numpy_iterator()]
    [[[0, 1, 2], [1, 2, 3]], [[2, 3, 4], [3, 4, 5]]]
    """
    if format != "tf":
        raise ValueError(f'timeseries_dataset_from_array: format must be "tf" (convnp returns '
                         f'its tf.data-like Dataset), got {format!r}')
    data = _series(data)
    if data.ndim == 0:
        raise ValueError("timeseries_dataset_from_array: data must be an array with a time "
                         "axis first, got a scalar")
    size = len(data)
    sequence_length = _int_argument("sequence_length", sequence_length, 1)
    sequence_stride = _int_argument("sequence_stride", sequence_stride, 1)
    sampling_rate = _int_argument("sampling_rate", sampling_rate, 1)
    batch_size = _int_argument("batch_size", batch_size, 1, allow_none=True)
    start = _int_argument("start_index", start_index, 0, allow_none=True) or 0
    end = _int_argument("end_index", end_index, 1, allow_none=True)
    # Keras's bounds: start inside the data, end after start and before the data's end
    if start and start >= size:
        raise ValueError(f"timeseries_dataset_from_array: start_index must be lower than the "
                         f"length of the data, got start_index={start} for {size} rows")
    if end is not None and (end <= start or end >= size):
        raise ValueError(f"timeseries_dataset_from_array: end_index must be higher than "
                         f"start_index ({start}) and lower than the length of the data "
                         f"({size}), got end_index={end}")
    for name, value in (("sampling_rate", sampling_rate), ("sequence_stride", sequence_stride)):
        if value >= size:
            raise ValueError(f"timeseries_dataset_from_array: {name} must be lower than the "
                             f"length of the data ({size}), got {value}")
    end = size if end is None else end
    count = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = _series(targets)
        if targets.ndim == 0:
            raise ValueError("timeseries_dataset_from_array: targets must be None or an "
                             "array with one target per row of data, got a scalar")
        count = min(count, len(targets) - start)
    positions = np.arange(0, max(count, 0), sequence_stride)
    if shuffle:
        if seed is None:
            from convnp.random import generator

            seed = int(generator().integers(1_000_000))
        np.random.RandomState(seed).shuffle(positions)
    rows = start + positions[:, None] + sampling_rate * np.arange(sequence_length)
    windows = data[rows.reshape(-1)].reshape((len(positions), sequence_length) + data.shape[1:])
    dataset = Dataset.from_tensor_slices(
        windows if targets is None else (windows, targets[start + positions]))
    return dataset if batch_size is None else dataset.batch(batch_size)
