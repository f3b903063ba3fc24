"""Turning what users pass to fit/evaluate/predict into batches of float arrays.

Three sources: NumPy arrays (sliced here, with an optional permutation per epoch),
`convnp.data.Dataset` objects (or any re-iterable of ``(x, y)`` batches, or a Python generator),
iterated as given, and `PyDataset` (``keras.utils.PyDataset``, alias ``Sequence``): indexed
batches, read in order (or in a shuffled order in `fit`) with its epoch hooks called.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def _count(value, name: str, who: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        kind = "a positive" if least else "a non-negative"
        raise ValueError(f"{who}: {name} must be {kind} int, got {value!r}")
    return int(value)


def check_loader_options(workers, use_multiprocessing, max_queue_size,
                         who: str) -> tuple[int, bool, int]:
    """Keras' data-loading options, checked: ``workers`` (0 or more; 0 is Keras 2's "in the
    calling thread"), ``use_multiprocessing`` (a bool), ``max_queue_size`` (1 or more).
    convnp always reads batches in the training thread, so they change nothing else."""
    if not isinstance(use_multiprocessing, (bool, np.bool_)):
        raise TypeError(f"{who}: use_multiprocessing must be a bool, got "
                        f"{type(use_multiprocessing).__name__}")
    return (_count(workers, "workers", who, 0), bool(use_multiprocessing),
            _count(max_queue_size, "max_queue_size", who, 1))


class PyDataset:
    """Batches by index, as ``keras.utils.PyDataset`` (Keras 3; ``keras.utils.Sequence`` is the
    same class, as in Keras 3).

    Subclass it and write ``__len__`` (batches per epoch) and ``__getitem__(index)`` returning
    ``(x, y)`` or ``(x, y, sample_weight)`` (or just ``x`` for ``predict``); optionally
    ``on_epoch_begin`` / ``on_epoch_end`` (called around each pass; ``on_epoch_end`` is where
    Keras code reshuffles its file list). Pass an instance to ``fit`` (also as
    ``validation_data``), ``evaluate`` or ``predict``.

    ``workers``, ``use_multiprocessing`` and ``max_queue_size`` are checked and kept, as in
    Keras, but convnp reads the batches in the training thread, one after the other (its
    kernels already use every core; the results are the same).
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False,
                 max_queue_size: int = 10):
        self._workers, self._use_multiprocessing, self._max_queue_size = check_loader_options(
            workers, use_multiprocessing, max_queue_size, "PyDataset")

    # Keras code often forgets super().__init__(): the properties fall back to the defaults
    @property
    def workers(self) -> int:
        return getattr(self, "_workers", 1)

    @property
    def use_multiprocessing(self) -> bool:
        return getattr(self, "_use_multiprocessing", False)

    @property
    def max_queue_size(self) -> int:
        return getattr(self, "_max_queue_size", 10)

    def __getitem__(self, index: int):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index)")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__()")

    @property
    def num_batches(self) -> int:
        """Batches per epoch (``len(self)``)."""
        return len(self)

    def on_epoch_begin(self) -> None:
        """Called before each pass over the batches."""

    def on_epoch_end(self) -> None:
        """Called after each pass over the batches."""

    def __iter__(self):
        for index in range(len(self)):
            yield self[index]


Sequence = PyDataset


def _batch_count(source) -> int:
    """``len(source)`` checked: a non-negative int."""
    n = len(source)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"{type(source).__name__}.__len__ must return a non-negative int, "
                         f"got {n!r}")
    return int(n)


def peek(x):
    """``(first element, source)``; a one-shot iterator (a generator) is replaced by one that
    still yields that first element, so looking at it loses nothing."""
    if isinstance(x, PyDataset):
        return x[0], x
    iterator = iter(x)
    first = next(iterator)
    if iterator is not x:  # re-iterable: the next pass starts over by itself
        return first, x
    return first, _prepend(first, iterator)


def _prepend(first, rest):
    yield first
    yield from rest


def is_dataset(x) -> bool:
    """A batch source that is not an array: a convnp Dataset or any re-iterable of batches."""
    if x is None or isinstance(x, (np.ndarray, list, tuple, dict, str, bytes)):
        return False
    if hasattr(x, "__array__") or np.isscalar(x):
        return False
    return hasattr(x, "__iter__")


INFINITE = -1  # tf.data's INFINITE_CARDINALITY


def is_infinite(ds) -> bool:
    """Whether the dataset says it never ends (``repeat()`` without a count)."""
    fn = getattr(ds, "cardinality", None)
    try:
        return callable(fn) and int(fn()) == INFINITE
    except (TypeError, ValueError):
        return False


def dataset_length(ds) -> int | None:
    """Number of batches per pass, or None when the dataset does not know."""
    for attr in ("cardinality", "__len__"):
        fn = getattr(ds, attr, None)
        if callable(fn):
            try:
                n = int(fn())
            except (TypeError, ValueError):
                continue
            if n >= 0:
                return n
    return None


def is_text(arr: np.ndarray) -> bool:
    """Whether ``arr`` holds strings: a NumPy str/bytes array, or objects all str/bytes."""
    if arr.dtype.kind in "US":
        return True
    return arr.dtype == object and arr.size > 0 and all(
        isinstance(v, (str, bytes)) for v in arr.reshape(-1))


def as_float_array(x, dtype, what: str) -> np.ndarray:
    """``x`` as an array of ``dtype`` (no copy when it already is one)."""
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:  # ragged lists and the like
        raise ValueError(f"{what} must be array-like, got {type(x).__name__}: {exc}") from None
    if is_text(arr):
        # texts go to a model's dtype="string" input as they are (its TextVectorization,
        # StringLookup or Hashing layer reads str and bytes)
        if arr.ndim == 0:
            raise ValueError(f"{what} must have a batch axis, got a scalar")
        return arr
    if arr.dtype == object:
        raise ValueError(f"{what} must be a numeric array, got dtype=object (ragged data?)")
    if arr.dtype != dtype:
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
            raise ValueError(f"{what} must be numeric, got dtype {arr.dtype}")
        _check_range(arr, dtype, what)
        arr = arr.astype(dtype)
    if arr.ndim == 0:
        raise ValueError(f"{what} must have a batch axis, got a scalar")
    return arr


def _check_range(arr: np.ndarray, dtype, what: str) -> None:
    """Refuse finite values the cast would turn into infinities (float64 1e300 -> float32
    inf), rather than train on them silently."""
    target = np.dtype(dtype)
    if arr.size == 0 or target.kind != "f" or arr.dtype.kind != "f" \
            or arr.dtype.itemsize <= target.itemsize:
        return  # integers and narrower floats always fit
    limit = float(np.finfo(target).max)
    high, low = float(np.fmax.reduce(arr, axis=None)), float(np.fmin.reduce(arr, axis=None))
    if (np.isfinite(high) and high > limit) or (np.isfinite(low) and low < -limit):
        raise ValueError(f"{what} holds values up to {max(abs(high), abs(low)):.3g}, beyond "
                         f"{target.name}'s range (+-{limit:.3g}); they would become "
                         "infinities. Rescale the data.")


def unpack_batch(batch, what: str):
    """``(x, y, sample_weight)`` from a dataset element (missing parts are None)."""
    if isinstance(batch, (tuple, list)):
        if len(batch) in (1, 2, 3):
            return tuple(batch) + (None,) * (3 - len(batch))
        raise ValueError(f"{what}: dataset elements must be (x, y) or (x, y, sample_weight), "
                         f"got a {type(batch).__name__} of length {len(batch)}")
    return batch, None, None


def select_rows(y, select):
    """``select`` applied to the targets (or sample weights): one array, or a list per output
    (None kept)."""
    if y is None:
        return None
    if isinstance(y, list):
        return [None if t is None else select(t) for t in y]
    return select(y)


class ArrayBatches:
    """Mini-batches of in-memory arrays.

    ``xs`` holds one array per model input; each batch is ``(list of input batches, y,
    sample_weight)`` (``y`` and ``sample_weight`` may be None; ``y`` is a list per output
    for a model with several outputs, and ``sample_weight`` may be one too).
    Without shuffling, batches are views (``x[start:stop]``). With shuffling, one permutation
    of the sample indices is drawn per epoch from ``convnp.random.generator()`` and each batch
    gathers its rows with `np.take` (one copy, as large as the batch).
    """

    def __init__(self, xs: list[np.ndarray], y: np.ndarray | None, batch_size: int,
                 shuffle: bool = False, sample_weight: np.ndarray | list | None = None):
        self.xs = list(xs)
        self.y = y
        self.sample_weight = sample_weight
        self.n = len(self.xs[0])
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.steps = -(-self.n // batch_size) if self.n else 0
        self._bounds = [(s, min(s + batch_size, self.n)) for s in range(0, self.n, batch_size)]
        self._iterator = None  # the pass that epochs of a given number of steps read on

    def __len__(self) -> int:
        return self.steps

    def epoch(self, steps: int | None = None):
        """One full pass; with ``steps``, that many batches read on from where the previous
        such epoch stopped (see `steps_from_passes`)."""
        if steps is None:
            return self._one_pass()
        return steps_from_passes(self, steps)

    def start_over(self) -> None:
        """The next epoch of a given number of steps starts at the first batch."""
        self._iterator = None

    def _one_pass(self) -> Iterator[tuple[list[np.ndarray], np.ndarray | None,
                                          np.ndarray | None]]:
        xs, y, sw = self.xs, self.y, self.sample_weight
        if not self.shuffle:
            for start, stop in self._bounds:
                rows = slice(start, stop)
                yield ([x[rows] for x in xs], select_rows(y, lambda t, r=rows: t[r]),
                       select_rows(sw, lambda t, r=rows: t[r]))
            return
        from convnp.random import generator

        order = generator().permutation(self.n)
        for start, stop in self._bounds:
            idx = order[start:stop]
            yield ([np.take(x, idx, axis=0) for x in xs],
                   select_rows(y, lambda t, i=idx: np.take(t, i, axis=0)),
                   select_rows(sw, lambda t, i=idx: np.take(t, i, axis=0)))


def steps_from_passes(source, steps: int):
    """``steps`` batches of ``source`` (ArrayBatches or DatasetBatches), as Keras 3 reads
    data when told how many steps an epoch (or an evaluation) has: from one pass over the
    data that goes on across epochs (``source._iterator``). When that pass ends partway
    through, the epoch ends there, short (fit warns), and the next one starts a new pass;
    when it ended exactly at the previous epoch's end, this epoch starts a new pass at once.
    So ``steps_per_epoch=3`` over 4 batches trains on batches 0-2, then 3, then 0-2, and
    ``evaluate(steps=6)`` over 4 batches reads 4."""
    produced = 0
    while produced < steps:
        if source._iterator is None:
            source._iterator = source._one_pass()
        try:
            batch = next(source._iterator)
        except StopIteration:
            source._iterator = None
            if produced:
                return
            # nothing read yet: a new pass, unless this one was new already (no data at all,
            # or a one-shot generator read to its end)
            source._iterator = source._one_pass()
            try:
                batch = next(source._iterator)
            except StopIteration:
                source._iterator = None
                return
        produced += 1
        yield batch


def check_class_weight(class_weight, method: str) -> dict[int, float]:
    """``fit(class_weight=...)`` as ``{class index: weight}``, or a ValueError."""
    if not isinstance(class_weight, dict):
        raise ValueError(  # noqa: TRY004 - ValueError as before (Keras raises it too)
            f"{method}(): class_weight must be a dict {{class: weight}}, "
            f"got {type(class_weight).__name__}")
    return {int(k): float(v) for k, v in class_weight.items()}


def class_sample_weights(y: np.ndarray, table: dict[int, float], dtype) -> np.ndarray:
    """Each sample's weight from its class: the argmax of one-hot ``(m, k)`` targets, else the
    rounded label of ``(m,)`` / ``(m, 1)`` targets (Keras' rule); a class with no entry in
    ``table`` weighs 1, as in Keras.

    Raises:
        TypeError: targets of more dimensions (a segmentation's per-pixel labels), which
            TensorFlow 2.21 refuses with a TypeError too: they need per-pixel weights.
    """
    y = np.asarray(y)
    if y.ndim > 2:
        raise TypeError(f"class_weight weighs each sample by its one class: it needs targets "
                        f"of shape (m,), (m, 1) or one-hot (m, classes), got {y.shape}; for "
                        f"per-pixel labels pass sample_weight of shape {y.shape[:3]} instead")
    labels = (np.argmax(y, axis=-1) if y.ndim == 2 and y.shape[1] > 1
              else np.round(y.reshape(len(y)))).astype(np.int64)
    return np.array([table.get(int(c), 1.0) for c in labels], dtype=dtype)


class DatasetBatches:
    """Batches from a Dataset, each converted to the model's float dtype (integer arrays
    bound for a user's own step stay as they are: ``users_step``)."""

    def __init__(self, dataset, dtype, what: str, arrange_inputs=None, arrange_targets=None,
                 shuffle: bool = False, class_weight: dict[int, float] | None = None,
                 adjust_inputs=None, arrange_weights=None, users_step: bool = False):
        self.dataset = dataset
        # a user's own train_step/test_step gets integer arrays as they come (int64 class
        # ids for its tf.one_hot, uint8 images), as Keras hands them over; the built-in
        # step casts them to the model's float dtype
        self.users_step = users_step
        # a PyDataset is read by index: its batch order may be shuffled (fit's shuffle=True)
        self.indexed = isinstance(dataset, PyDataset)
        self.shuffle = bool(shuffle) and self.indexed
        self.dtype = dtype
        self.what = what
        # for models with several inputs/outputs: a dict (or list) element -> list in order
        self.arrange_inputs = arrange_inputs
        self.arrange_targets = arrange_targets
        # several outputs: ``(sample weights, batch size)`` -> a list per output (or one array)
        self.arrange_weights = arrange_weights
        self.class_weight = class_weight
        # the model's reshaping of an input missing (or adding) a trailing axis of size 1
        self.adjust_inputs = adjust_inputs
        self.steps = _batch_count(dataset) if self.indexed else dataset_length(dataset)
        self.infinite = is_infinite(dataset)
        self._iterator = None

    def __len__(self) -> int:
        return self.steps or 0

    def _convert(self, batch):
        xb, yb, sw = unpack_batch(batch, self.what)
        if isinstance(xb, dict) and self.arrange_inputs is not None:
            xb = self.arrange_inputs(xb)
        parts = list(xb) if isinstance(xb, (tuple, list)) else [xb]  # one per model input
        xb = [self._input(p) for p in parts]
        if self.adjust_inputs is not None:
            xb = self.adjust_inputs(xb)
        if yb is not None:
            arranged = yb if self.arrange_targets is None else self.arrange_targets(yb)
            if isinstance(arranged, list):  # one entry per output
                yb = [None if t is None else self._target(t) for t in arranged]
            else:
                yb = self._target(arranged)
        if sw is not None and self.arrange_weights is not None:
            sw = self.arrange_weights(sw, len(xb[0]))
        elif sw is not None:
            sw = as_float_array(sw, self.dtype, f"{self.what}: dataset sample weights")
        if self.class_weight is not None:
            sw = self._class_weights(yb, sw)
        return xb, yb, sw

    def _input(self, part) -> np.ndarray:
        """One input of a batch as an array of the compute dtype; an integer one stays as it
        is for a user's own step (see ``users_step``)."""
        arr = np.asarray(part)
        if self.users_step and arr.dtype.kind in "iu" and arr.ndim:
            return arr
        return as_float_array(arr, self.dtype, f"{self.what}: dataset inputs")

    def _class_weights(self, yb, sw) -> np.ndarray:
        """This batch's sample weights from ``class_weight`` (Keras refuses both together)."""
        if sw is not None:
            raise ValueError(f"{self.what}(): class_weight cannot be used with a Dataset that "
                             "also yields sample weights")
        if yb is None or isinstance(yb, list):
            raise ValueError(f"{self.what}(): class_weight needs a Dataset yielding one target "
                             "per batch (a single-output model)")
        return class_sample_weights(yb, self.class_weight, self.dtype)

    def _target(self, y):
        """Targets as arrays of the compute dtype (numbers), in the structure they came in:
        a user's own step may take a batch such as ``((x_u, y_u), (x_l, y_l))`` (keras.io's
        SimCLR zips two datasets), whose second part is arrays of different shapes."""
        if isinstance(y, (list, tuple)):
            return type(y)(self._target(t) for t in y)
        if isinstance(y, dict):
            return {key: self._target(value) for key, value in y.items()}
        y = np.asarray(y)
        if self.users_step and y.dtype.kind in "iu":
            return y
        if y.dtype != self.dtype and np.issubdtype(y.dtype, np.number):
            y = y.astype(self.dtype)
        return y

    def _indexed_pass(self):
        """One pass over a PyDataset: ``on_epoch_begin``, its batches by index (in a new
        random order per pass when shuffling), ``on_epoch_end``."""
        source = self.dataset
        n = _batch_count(source)
        source.on_epoch_begin()
        if self.shuffle:
            from convnp.random import generator

            order = generator().permutation(n)
        else:
            order = range(n)
        for index in order:
            yield source[int(index)]
        source.on_epoch_end()

    def _one_pass(self):
        return self._indexed_pass() if self.indexed else iter(self.dataset)

    def epoch(self, steps: int | None = None):
        """One full pass; with ``steps``, that many batches read on from where the previous
        such epoch stopped (see `steps_from_passes`)."""
        if steps is None:
            if self.infinite:
                raise ValueError(
                    f"{self.what}: the dataset repeats forever; pass `steps_per_epoch` (fit) "
                    "or `steps` (evaluate/predict) to say how many batches to use"
                )
            for batch in self._one_pass():
                yield self._convert(batch)
            return
        for batch in steps_from_passes(self, steps):
            yield self._convert(batch)

    def start_over(self) -> None:
        """The next epoch of a given number of steps starts at the first batch."""
        self._iterator = None
