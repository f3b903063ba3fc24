"""Keras 1's sequence helpers that ``tf.keras.preprocessing.sequence`` still exports in
TensorFlow 2.21, next to `pad_sequences`: `TimeseriesGenerator` (sliding windows over a series
as a `PyDataset`), `make_sampling_table` and `skipgrams` (word2vec's training pairs).

`skipgrams` draws from Python's ``random`` module in the same order as Keras, so after
``random.seed(n)`` (and with the same ``seed``) it returns the same pairs as under TensorFlow;
`TimeseriesGenerator` with ``shuffle=True`` draws from NumPy's legacy global state, as Keras.
"""

from __future__ import annotations

import json
import random

import numpy as np

from convnp.models.data_adapter import PyDataset

# the Euler-Mascheroni constant, to the three places Keras uses
_GAMMA = 0.577


def _int(value, name: str, who: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{who}: {name} must be an int, got {value!r}")
    if value < least:
        raise ValueError(f"{who}: {name} must be >= {least}, got {value}")
    return int(value)


class TimeseriesGenerator(PyDataset):
    """Batches of windows over ``data`` (time on the first axis) with the target of the step
    just after each window.

    Sample ``row`` is ``data[row - length:row:sampling_rate]`` with target ``targets[row]``,
    for ``row`` from ``start_index + length`` to ``end_index`` (default: the last step) every
    ``stride`` steps, ``batch_size`` of them per batch (the last batch may be short);
    ``shuffle=True`` instead draws each batch's rows at random (with replacement), and
    ``reverse=True`` reverses the time axis of every window. As in Keras, the
    ``start_index`` attribute is the first row, ``start_index + length``.
    """

    def __init__(self, data, targets, length, sampling_rate=1, stride=1, start_index=0,
                 end_index=None, shuffle=False, reverse=False, batch_size=128, **kwargs):
        super().__init__(**kwargs)
        who = "TimeseriesGenerator"
        if len(data) != len(targets):
            raise ValueError(f"{who}: data and targets must have the same length, got "
                             f"{len(data)} and {len(targets)}")
        self.data = data
        self.targets = targets
        self.length = _int(length, "length", who, 1)
        self.sampling_rate = _int(sampling_rate, "sampling_rate", who, 1)
        self.stride = _int(stride, "stride", who, 1)
        self.start_index = _int(start_index, "start_index", who, 0) + self.length
        self.end_index = len(data) - 1 if end_index is None else _int(end_index, "end_index",
                                                                        who, 0)
        self.shuffle = shuffle
        self.reverse = reverse
        self.batch_size = _int(batch_size, "batch_size", who, 1)
        if self.start_index > self.end_index:
            raise ValueError(f"{who}: start_index + length = {self.start_index} is beyond "
                             f"end_index = {self.end_index}: no step is left to predict")

    def __len__(self) -> int:
        span = self.batch_size * self.stride
        return (self.end_index - self.start_index + span) // span

    def __getitem__(self, index):
        if self.shuffle:
            rows = np.random.randint(self.start_index, self.end_index + 1, size=self.batch_size)
        else:
            first = self.start_index + self.batch_size * self.stride * index
            last = min(first + self.batch_size * self.stride, self.end_index + 1)
            rows = np.arange(first, last, self.stride)
        samples = np.array([self.data[row - self.length:row:self.sampling_rate] for row in rows])
        targets = np.array([self.targets[row] for row in rows])
        if self.reverse:
            samples = samples[:, ::-1, ...]
        return samples, targets

    def get_config(self) -> dict:
        """Keras 2's config: ``data`` and ``targets`` as JSON strings, the settings as they
        are (``start_index`` already moved on by ``length``, as Keras stores it)."""
        def as_json(value, name):
            if isinstance(value, np.ndarray):
                value = value.tolist()
            try:
                return json.dumps(value)
            except TypeError as exc:
                raise TypeError(f"TimeseriesGenerator: {name} is not JSON serializable") from exc

        return {"data": as_json(self.data, "data"), "targets": as_json(self.targets, "targets"),
                "length": self.length, "sampling_rate": self.sampling_rate,
                "stride": self.stride, "start_index": self.start_index,
                "end_index": self.end_index, "shuffle": self.shuffle, "reverse": self.reverse,
                "batch_size": self.batch_size}

    def to_json(self, **kwargs) -> str:
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config()},
                          **kwargs)


def make_sampling_table(size, sampling_factor=1e-5) -> np.ndarray:
    """``table[i]``: the probability of keeping the ``i``-th most frequent word, word2vec's
    ``min(1, sqrt(f))`` with ``f = sampling_factor / frequency(rank)`` and the word
    frequencies taken from Zipf's law (rank 0 counted as rank 1)."""
    size = _int(size, "size", "make_sampling_table", 1)
    rank = np.arange(size)
    rank[0] = 1
    inverse_frequency = rank * (np.log(rank) + _GAMMA) + 0.5 - 1.0 / (12.0 * rank)
    f = sampling_factor * inverse_frequency
    return np.minimum(1.0, f / np.sqrt(f))


def skipgrams(sequence, vocabulary_size, window_size=4, negative_samples=1.0, shuffle=True,
              categorical=False, sampling_table=None, seed=None):
    """``(couples, labels)``: every pair ``[word, neighbour]`` within ``window_size`` of each
    other (label 1), then ``negative_samples`` times as many ``[word, random index in
    1..vocabulary_size-1]`` pairs (label 0); index 0 is never a word. With a
    ``sampling_table``, word ``w`` is kept as a centre with probability ``table[w]``.
    ``categorical=True`` labels as ``[0, 1]`` / ``[1, 0]``. ``shuffle`` mixes couples and
    labels alike, with ``seed`` (drawn when None)."""
    who = "skipgrams"
    vocabulary_size = _int(vocabulary_size, "vocabulary_size", who, 2)
    window_size = _int(window_size, "window_size", who, 0)
    couples: list = []
    labels: list = []
    for i, centre in enumerate(sequence):
        if not centre:
            continue
        if sampling_table is not None and sampling_table[centre] < random.random():
            continue
        for j in range(max(0, i - window_size), min(len(sequence), i + window_size + 1)):
            if j != i and sequence[j]:
                couples.append([centre, sequence[j]])
                labels.append([0, 1] if categorical else 1)
    if negative_samples > 0:
        count = int(len(labels) * negative_samples)
        centres = [couple[0] for couple in couples]
        random.shuffle(centres)
        couples += [[centres[k % len(centres)], random.randint(1, vocabulary_size - 1)]
                    for k in range(count)]
        labels += [[1, 0] if categorical else 0 for _ in range(count)]
    if shuffle:
        if seed is None:
            seed = random.randint(0, 10_000_000)
        # the same seed for both, so that couples and labels stay paired
        random.seed(seed)
        random.shuffle(couples)
        random.seed(seed)
        random.shuffle(labels)
    return couples, labels
