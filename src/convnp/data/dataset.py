"""`Dataset`: the parts of `tf.data.Dataset` that course code and `fit` use, on NumPy arrays.

    train = Dataset.from_tensor_slices((X_train, Y_train)).shuffle(600).batch(64)
    for x, y in train: ...

Elements keep the structure they were built with: one array, a tuple (possibly nested) or a
dict of arrays. Iterating yields that structure with `EagerTensor` leaves (NumPy arrays with
TensorFlow's ``.numpy()``); `as_numpy_iterator` yields plain arrays.

Speed: a pipeline of `from_tensor_slices` followed by `shuffle` (buffer at least the dataset
size), `take`, `skip`, `repeat` and `batch` never loops over single examples in Python: it is
planned as an index array over the source arrays, and each batch is one slice (a view, when
not shuffled) or one fancy-indexing gather. `map`, `filter`, `unbatch` and a shuffle with a
smaller buffer work element by element, as tf.data does.

Randomness: `shuffle(seed=None)` draws from `convnp.random.generator()` when each iteration
starts, so `convnp.random.set_seed(n)` makes a run repeat; with `seed=` the order sequence is
fixed by that seed. `reshuffle_each_iteration=False` keeps the first order forever.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from convnp import random as _random
from convnp.tensor.eager import EagerTensor, as_dtype, map_nested, to_eager, to_numpy

__all__ = ["AUTOTUNE", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "Dataset"]

AUTOTUNE = -1
INFINITE_CARDINALITY = -1
UNKNOWN_CARDINALITY = -2


# ----------------------------------------------------------------------------- structures
# A structure spec is None (a leaf), ("tuple", [specs]) or ("dict", [keys], [specs]).


def _flatten(element: Any) -> tuple[list[Any], Any]:
    if isinstance(element, dict):
        keys = list(element)
        leaves, specs = [], []
        for k in keys:
            sub, spec = _flatten(element[k])
            leaves.extend(sub)
            specs.append(spec)
        return leaves, ("dict", keys, specs)
    if isinstance(element, (tuple, list)):
        leaves, specs = [], []
        for item in element:
            sub, spec = _flatten(item)
            leaves.extend(sub)
            specs.append(spec)
        return leaves, ("tuple", specs)
    return [element], None


def _count_leaves(spec: Any) -> int:
    if spec is None:
        return 1
    return sum(_count_leaves(s) for s in spec[-1])


def _unflatten(spec: Any, leaves: list[Any]) -> Any:
    it = iter(leaves)

    def build(s):
        if s is None:
            return next(it)
        if s[0] == "dict":
            return {k: build(sub) for k, sub in zip(s[1], s[2])}
        return tuple(build(sub) for sub in s[1])

    return build(spec)


def _number_lists_as_arrays(value: Any) -> Any:
    """Lists of numbers or strings (nested too, or 0-d tensors) become arrays, as tf.data
    reads them, so that ``from_tensor_slices(([1, 2], [3, 4]))`` has two components, not
    four, and a list of file paths is one component of strings."""
    if isinstance(value, dict):
        return {k: _number_lists_as_arrays(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_number_lists_as_arrays(v) for v in value)
    if isinstance(value, list) and value:
        arr = _leaf_array(value) if all(
            isinstance(v, (int, float, bool, str, bytes, np.generic, list))
            or (isinstance(v, np.ndarray) and v.ndim == 0) for v in value) else None
        if arr is not None and (arr.dtype != object or _zero_ended(value)):
            return arr
        return [_number_lists_as_arrays(v) for v in value]
    return value


def _python_only(value: Any) -> bool:
    """Whether ``value`` is a Python number or a (nested) list of them, with no NumPy value."""
    if isinstance(value, list):
        return all(_python_only(v) for v in value)
    # np.float64 is a Python float too: NumPy scalars keep their dtype
    return isinstance(value, (int, float)) and not isinstance(value, (bool, np.generic))


def _zero_ended(values: Any) -> bool:
    """Whether ``values`` (one bytes value or a flat list of strings) has a bytes value ending
    in a zero byte, which NumPy's fixed-width bytes type would drop (a serialized
    ``tf.train.Example`` whose last float is 0.0)."""
    if isinstance(values, bytes):
        return values.endswith(b"\0")
    return (isinstance(values, list) and all(isinstance(v, (bytes, str)) for v in values)
            and any(isinstance(v, bytes) and v.endswith(b"\0") for v in values))


def _bytes_objects(values: Any, shape: tuple | None = None) -> np.ndarray:
    """Strings as an object array of bytes (``str`` as UTF-8): TensorFlow's string tensors
    keep every byte, NumPy's fixed-width ones drop trailing zeros."""
    items = [values] if isinstance(values, bytes) else list(values)
    out = np.empty(len(items), dtype=object)
    out[:] = [v.encode("utf-8") if isinstance(v, str) else v for v in items]
    if isinstance(values, bytes):
        return out.reshape(())
    return out.reshape(shape if shape is not None else (len(items),))


def _leaf_array(value: Any) -> np.ndarray:
    """One component as an array. Python numbers (alone or in lists) take TensorFlow's dtypes:
    float32 for floats and int32 for ints (int64 only when a value does not fit), where NumPy
    would give float64 and int64; NumPy values and arrays keep theirs. Bytes ending in a zero
    byte make an object array (`_bytes_objects`), which keeps it."""
    if _zero_ended(value):
        return _bytes_objects(value)
    arr = np.asarray(value)
    if not _python_only(value):
        return arr
    if arr.dtype == np.float64:
        return arr.astype(np.float32)
    if arr.dtype == np.int64 and (arr.size == 0 or (
            arr.min() >= np.iinfo(np.int32).min and arr.max() <= np.iinfo(np.int32).max)):
        return arr.astype(np.int32)
    return arr


def _as_array(leaf: Any) -> np.ndarray:
    arr = _leaf_array(leaf)
    if arr.dtype == object:
        arr = _object_strings(arr)
        if arr is None:
            # TensorFlow: ValueError "Failed to convert a NumPy array to a Tensor"
            raise ValueError(f"dataset components must be numeric or string arrays, got an "
                             f"object array (of other values) from {type(leaf).__name__}")
    return arr


def _object_strings(arr: np.ndarray) -> np.ndarray | None:
    """An object array of strings (a pandas text column: ``dict(df)``) as a NumPy string
    array, as TensorFlow reads it into a string tensor: ``str`` when every value is a
    ``str``, else bytes (``str`` values encoded as UTF-8). None when it holds anything else."""
    values = arr.ravel().tolist()
    if not all(isinstance(v, (str, bytes)) for v in values):
        return None
    if _zero_ended(values):
        return _bytes_objects(values, arr.shape)
    if all(isinstance(v, str) for v in values):
        return np.array(values, dtype=str).reshape(arr.shape)
    encoded = [v.encode("utf-8") if isinstance(v, str) else v for v in values]
    return np.array(encoded, dtype=bytes).reshape(arr.shape)


def _call_fn(fn: Callable, element: Any) -> Any:
    """``fn`` applied to an element as tf.data applies a user's function: tensors for leaves
    (``image.set_shape(...)``, ``x.shape.as_list()`` work as in TensorFlow), and a tuple
    element unpacked into positional arguments. (Windows, which are datasets, stay so.)"""
    element = map_nested(element, lambda v: v.view(EagerTensor) if type(v) is np.ndarray else v)
    if isinstance(element, tuple):
        return fn(*element)
    return fn(element)


def _stack(elements: list[Any], spec: Any) -> Any:
    columns = list(zip(*(_flatten(e)[0] for e in elements)))
    return _unflatten(spec, [np.stack([np.asarray(v) for v in col]) for col in columns])


# ----------------------------------------------------------------------------- base class


class NumpyIterator:
    """What `Dataset.as_numpy_iterator` returns: a one-pass iterator that also has ``next()``."""

    def __init__(self, elements: Iterator[Any]):
        self._elements = elements

    def __iter__(self) -> NumpyIterator:
        return self

    def __next__(self) -> Any:
        # plain arrays whatever the stages yield (take/skip pass tensors through); a 0-d
        # array becomes its NumPy scalar (np.int64(3)), as TensorFlow yields
        element = to_numpy(next(self._elements))
        leaves, spec = _flatten(element)
        if not any(np.ndim(v) == 0 and isinstance(v, np.ndarray) for v in leaves):
            return element
        return _unflatten(spec, [v[()] if isinstance(v, np.ndarray) and v.ndim == 0 else v
                                 for v in leaves])

    def next(self) -> Any:
        """The next element (TensorFlow's spelling of ``next(iterator)``)."""
        return self.__next__()


class DatasetIterator:
    """What ``iter(dataset)`` returns: the elements with `EagerTensor` leaves, one pass.

    Besides ``next(it)`` it has TensorFlow's ``get_next()`` (which raises
    ``tf.errors.OutOfRangeError`` at the end, where ``next`` raises `StopIteration`) and
    ``get_next_as_optional()``, which programs use to step through a dataset by hand.
    """

    def __init__(self, dataset: Dataset):
        self._dataset = dataset
        self._elements = dataset._iter_plain()

    def __iter__(self) -> DatasetIterator:
        return self

    def __next__(self) -> Any:
        return to_eager(next(self._elements))

    def get_next(self) -> Any:
        """The next element; ``tf.errors.OutOfRangeError`` after the last one."""
        try:
            return self.__next__()
        except StopIteration:
            from convnp.tensor.errors import OutOfRangeError

            raise OutOfRangeError("End of sequence") from None

    def get_next_as_optional(self) -> IteratorOptional:
        """The next element wrapped in an optional that is empty after the last one."""
        return IteratorOptional(next(self, _NOTHING))

    @property
    def element_spec(self) -> Any:
        return self._dataset.element_spec


class IteratorOptional:
    """``tf.experimental.Optional`` as an iterator's ``get_next_as_optional()`` gives it:
    ``has_value()`` (a bool tensor) and ``get_value()``."""

    def __init__(self, value: Any):
        self._value = value

    def has_value(self) -> EagerTensor:
        return np.asarray(self._value is not _NOTHING).view(EagerTensor)

    def get_value(self) -> Any:
        """The element; an `InvalidArgumentError` (a `ValueError`) when there is none."""
        if self._value is _NOTHING:
            from convnp.tensor.errors import InvalidArgumentError

            raise InvalidArgumentError("The optional has no value (the iterator is at its end)")
        return self._value


class Dataset:
    """Base class; build datasets with `Dataset.from_tensor_slices` (or `range`)."""

    # -- constructors -----------------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors: Any) -> Dataset:
        """One element per row of the leading axis of every component.

        Args:
            tensors: an array, a tuple/list of arrays (e.g. `(x, y)` or `(x, y, w)`), or a dict
                of arrays; nesting is allowed. All components must have the same length.

        Raises:
            ValueError: components of different lengths, or a scalar component.
        """
        if isinstance(tensors, list) and tensors and all(
                np.ndim(t) >= 1 and not isinstance(t, (int, float)) for t in tensors) and all(
                isinstance(t, np.ndarray) for t in tensors):
            tensors = tuple(tensors)  # list of arrays: a tuple of components, like tf
        leaves, spec = _flatten(_number_lists_as_arrays(tensors))
        arrays = [_as_array(leaf) for leaf in leaves]
        for a in arrays:
            if a.ndim == 0:
                raise ValueError("from_tensor_slices needs arrays with a leading axis to slice; "
                                 "received a scalar component")
        lengths = [a.shape[0] for a in arrays]
        if len(set(lengths)) > 1:
            raise ValueError(
                "from_tensor_slices: all components must have the same length (first "
                f"dimension); received lengths {lengths}")
        return _TensorSlices(arrays, spec)

    @staticmethod
    def from_tensors(tensors: Any) -> Dataset:
        """A dataset of exactly one element: `tensors` itself."""
        leaves, spec = _flatten(_number_lists_as_arrays(tensors))
        arrays = [_as_array(leaf)[None] for leaf in leaves]
        return _TensorSlices(arrays, spec)

    @staticmethod
    def range(*args: int, output_type: Any = np.int64, name: str | None = None) -> Dataset:
        """Like Python's `range`; elements are scalars of ``output_type`` (int64 by default,
        ``tf.int32`` or a float type as TensorFlow allows)."""
        dtype = as_dtype(output_type).dtype
        if dtype.kind not in "iuf":
            raise TypeError(f"Dataset.range: output_type must be an integer or float dtype, "
                            f"got {output_type!r}")
        return _TensorSlices([np.arange(*args, dtype=np.int64).astype(dtype)], None)

    @staticmethod
    def zip(*datasets: Any, name: str | None = None) -> Dataset:
        """Elements have the structure `datasets` are given in: ``zip(a, b)`` and
        ``zip((a, b))`` give tuples, ``zip({"x": a, "y": b})`` dicts, nesting is kept, and
        ``zip(a)`` gives ``a``'s elements (stops at the shortest)."""
        members, spec = _flatten(datasets[0] if len(datasets) == 1 else datasets)
        for d in members:
            if not isinstance(d, Dataset):
                raise TypeError(f"Dataset.zip expects datasets (in a tuple or dict), got "
                                f"{type(d).__name__}")
        return _Zip(members, spec)

    # -- to override ------------------------------------------------------------------------
    def _elements(self) -> Iterator[Any]:
        """Yield the elements of one pass, one at a time."""
        raise NotImplementedError

    def _plan(self) -> tuple[_TensorSlices, np.ndarray | None] | None:
        """For index-planable pipelines: (source, indices for one pass; None = all in order)."""
        return None

    def _cardinality(self) -> int:
        """Number of elements as a Python int; `INFINITE_CARDINALITY` (-1) or
        `UNKNOWN_CARDINALITY` (-2). The stages override this one."""
        return UNKNOWN_CARDINALITY

    def cardinality(self) -> EagerTensor:
        """Number of elements; `INFINITE_CARDINALITY` (-1) or `UNKNOWN_CARDINALITY` (-2).

        A 0-d int64 tensor, as TensorFlow returns: programs call ``.numpy()`` on it, and
        ``int()``, comparisons, ``%d`` and ``take(n // 5)`` work with it as with an int.
        """
        return np.asarray(self._cardinality(), dtype=np.int64).view(EagerTensor)

    # -- iteration --------------------------------------------------------------------------
    def __iter__(self) -> DatasetIterator:
        """The elements, with `EagerTensor` leaves (``.numpy()``, ``.shape``, ``.dtype``)."""
        return DatasetIterator(self)

    def _iter_plain(self) -> Iterator[Any]:
        """The elements with plain ndarray leaves (what pipelines pass between stages)."""
        plan = self._plan()
        if plan is not None:
            source, idx = plan
            n = source._n if idx is None else len(idx)
            for i in range(n):
                yield source._element(i if idx is None else int(idx[i]))
            return
        yield from self._elements()

    def as_numpy_iterator(self) -> NumpyIterator:
        """Iterator over the elements with plain NumPy arrays as leaves.

        Like TensorFlow's, it is an object with ``next()`` as well as ``__next__``, so
        ``ds.as_numpy_iterator().next()`` (the tutorials' way to peek at one element) works.
        """
        return NumpyIterator(self._iter_plain())

    def __len__(self) -> int:
        n = self._cardinality()
        if n == INFINITE_CARDINALITY:
            raise TypeError("the dataset is infinite (use take(n) or cardinality())")
        if n < 0:
            raise TypeError("the dataset length is unknown (use cardinality())")
        return n

    def __bool__(self) -> bool:
        return True

    # -- transformations --------------------------------------------------------------------
    def batch(self, batch_size: int, drop_remainder: bool = False, **_: Any) -> Dataset:
        """Stack consecutive elements into batches of `batch_size` (last one smaller unless
        `drop_remainder`)."""
        batch_size = _int_argument("batch_size", batch_size)
        if batch_size <= 0:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        return _Batch(self, batch_size, bool(drop_remainder))

    def unbatch(self) -> Dataset:
        """Split every element along its first axis (inverse of `batch`)."""
        return _Unbatch(self)

    def shuffle(self, buffer_size: int, seed: int | None = None,
                reshuffle_each_iteration: bool = True) -> Dataset:
        """Randomly reorder with tf.data's buffered shuffle (a full permutation when the
        buffer holds the whole dataset)."""
        buffer_size = _int_argument("buffer_size", buffer_size)
        if buffer_size <= 0 and buffer_size != AUTOTUNE:
            raise ValueError(f"buffer_size must be a positive int, got {buffer_size!r}")
        return _Shuffle(self, buffer_size, seed, bool(reshuffle_each_iteration))

    def map(self, map_func: Callable, num_parallel_calls: int | None = None,
            deterministic: bool | None = None, **_: Any) -> Dataset:
        """Apply `map_func` to every element (tuple elements are passed as separate args)."""
        _check_callable("map_func", map_func)
        return _Map(self, map_func)

    def filter(self, predicate: Callable) -> Dataset:
        """Keep elements for which `predicate(*element)` is true."""
        _check_callable("predicate", predicate)
        return _Filter(self, predicate)

    def take(self, count: int) -> Dataset:
        """The first `count` elements (all of them if `count` is -1)."""
        return _Take(self, _check_count("take", count))

    def skip(self, count: int) -> Dataset:
        """All but the first `count` elements (none if `count` is -1)."""
        return _Skip(self, _check_count("skip", count))

    def repeat(self, count: int | None = None) -> Dataset:
        """Repeat `count` times (forever if None or -1); shuffles re-draw on each pass."""
        if count is not None:
            count = _check_count("repeat", count)
            if count == -1:
                count = None
        return _Repeat(self, count)

    def concatenate(self, dataset: Dataset) -> Dataset:
        """This dataset's elements followed by `dataset`'s."""
        if not isinstance(dataset, Dataset):
            raise TypeError(f"concatenate expects a Dataset, got {type(dataset).__name__}")
        _joined_spec(self._static_spec(), dataset._static_spec())  # TypeError on a mismatch
        return _Concatenate(self, dataset)

    def prefetch(self, buffer_size: int = AUTOTUNE) -> Dataset:
        """No-op: iteration is synchronous (kept for tf.data code)."""
        return self

    def cache(self, filename: str = "") -> Dataset:
        """No-op: the data already lives in memory (a `map` with randomness re-runs each pass)."""
        return self

    def with_options(self, options: Any, name: str | None = None) -> Dataset:
        """The same elements; ``options`` (a `tf.data.Options`) are kept for `options()` and
        change nothing else (convnp's pipelines run in the calling thread, in order)."""
        from convnp.data.options import Options

        if not isinstance(options, Options):
            raise TypeError(f"with_options expects a tf.data.Options, got "
                            f"{type(options).__name__}")
        return _WithOptions(self, options)

    def options(self) -> Any:
        """The `tf.data.Options` given by the nearest `with_options` upstream, or defaults."""
        from convnp.data.options import Options

        stage: Any = self
        while stage is not None:
            if isinstance(stage, _WithOptions):
                return stage._options
            stage = getattr(stage, "_parent", None)
        return Options()

    def enumerate(self, start: int = 0) -> Dataset:
        """Elements become `(index, element)`, the index an int64 counting from `start`."""
        return Dataset.zip(Dataset.counter(start), self)

    @property
    def element_spec(self) -> Any:
        """The structure of one element with `tf.TensorSpec` leaves.

        Where the stages know it without running (arrays, `range`, a generator's signature,
        and the batching, slicing and reordering stages above them) it is TensorFlow's: an
        empty dataset has one, a batch of batches is ``(None, 2)``, a generator's ``None``
        sizes stay ``None``. After a `map` it is read from the first element; below a `batch`
        that keeps its last, smaller batch, a leading size equal to that batch's is then
        ``None``, as in TensorFlow."""
        static = self._static_spec()
        if static is not None:
            return static
        from convnp.tensor.spec import TensorSpec

        first = next(self.take(1)._iter_plain(), None)
        if first is None:
            return None
        leaves, spec = _flatten(first)
        ragged = self._ragged_batch_sizes()
        specs = []
        for v in leaves:
            arr = np.asarray(v)
            # a value as long as an unfinished batch has TensorFlow's unknown size there; one
            # the function reduced or made otherwise keeps its size
            shape = (None,) + arr.shape[1:] if arr.ndim and arr.shape[0] in ragged else \
                arr.shape
            specs.append(TensorSpec(shape, arr.dtype))
        return _unflatten(spec, specs)

    #: whether the elements have the parent's structure, shapes and dtypes (take, shuffle, ...)
    _spec_passes_through = False

    def _static_spec(self) -> Any:
        """The element spec known without running the pipeline, or None when it is not."""
        if self._spec_passes_through:
            return self._parent._static_spec()
        return None

    def _ragged_batch_sizes(self) -> set[int]:
        """The sizes of the first axis a `batch` without ``drop_remainder`` upstream gives
        (its batch size, and the smaller first batch of a dataset shorter than that); empty
        when no such batch made these elements' first axis. Below a `zip` (MixUp's two batched
        datasets) or a `concatenate`, each joined dataset adds its own."""
        stage: Any = self
        while stage is not None:
            if isinstance(stage, _Batch):
                if stage._drop:
                    return set()
                sizes = {stage._bs}
                count = stage._parent._cardinality()
                if 0 <= count < stage._bs:
                    sizes.add(count)
                return sizes
            if isinstance(stage, _Unbatch):
                return set()
            if isinstance(stage, _Zip):
                return set().union(*(d._ragged_batch_sizes() for d in stage._datasets))
            if isinstance(stage, _Concatenate):
                return stage._first._ragged_batch_sizes() | stage._second._ragged_batch_sizes()
            stage = getattr(stage, "_parent", None)
        return set()

    # -- counters, selections and scans -------------------------------------------------------
    @staticmethod
    def counter(start: Any = 0, step: Any = 1, dtype: Any = np.int64,
                name: str | None = None) -> Dataset:
        """``start, start + step, ...`` without end."""
        return _Counter(start, step, dtype)

    @staticmethod
    def random(seed: int | None = None, rerandomize_each_iteration: bool | None = None,
               name: str | None = None) -> Dataset:
        """Uniform int64 numbers without end."""
        return _RandomIntegers(seed)

    @staticmethod
    def sample_from_datasets(datasets: Any, weights: Any = None, seed: int | None = None,
                             stop_on_empty_dataset: bool = False,
                             rerandomize_each_iteration: bool | None = None) -> Dataset:
        """Each element from one of `datasets`, drawn with probabilities `weights` (equal by
        default); an exhausted dataset drops out unless `stop_on_empty_dataset`."""
        return _sample_from_datasets(datasets, weights, seed, stop_on_empty_dataset)

    @staticmethod
    def choose_from_datasets(datasets: Any, choice_dataset: Dataset,
                             stop_on_empty_dataset: bool = True) -> Dataset:
        """Each element from the dataset `choice_dataset`'s next int64 names."""
        return _choose_from_datasets(datasets, choice_dataset, stop_on_empty_dataset)

    def take_while(self, predicate: Callable, name: str | None = None) -> Dataset:
        """The elements up to the first for which `predicate(*element)` is false."""
        _check_callable("predicate", predicate)
        return _TakeWhile(self, predicate)

    def scan(self, initial_state: Any, scan_func: Callable, name: str | None = None) -> Dataset:
        """``scan_func(state, element)`` returns ``(new_state, output)``; the outputs are the
        elements, the state carries over (a running sum, a counter)."""
        _check_callable("scan_func", scan_func)
        return _Scan(self, initial_state, scan_func)

    def unique(self, name: str | None = None) -> Dataset:
        """Each distinct element once (scalar integers or strings), in first-seen order."""
        return _Unique(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__.lstrip('_')}Dataset cardinality={self._cardinality()}>"

    # -- more of tf.data: generators, files, nesting, padding, reductions ------------------
    @staticmethod
    def from_generator(generator: Callable, output_types: Any = None, output_shapes: Any = None,
                       args: Any = None, output_signature: Any = None,
                       name: str | None = None) -> Dataset:
        """Elements from ``generator(*args)``, called again at each pass.

        ``output_signature`` is a structure of `tf.TensorSpec` (or ``output_types`` with
        optional ``output_shapes``); each element is converted to those dtypes and checked
        against those shapes (``None`` sizes match anything).

        Raises:
            TypeError: ``generator`` is not callable, or neither a signature nor types given.
            ValueError: (while iterating) an element whose structure, shape or dtype does not
                fit the signature.
        """
        return _Generated(generator, _signature(output_types, output_shapes,
                                                output_signature), args)

    @staticmethod
    def list_files(file_pattern: Any, shuffle: bool | None = None, seed: int | None = None,
                   name: str | None = None) -> Dataset:
        """The paths (bytes, as tf.string) matching a glob pattern or list of patterns,
        sorted, then shuffled unless ``shuffle=False``.

        Raises:
            ValueError: no file matches.
        """
        import glob

        patterns = [file_pattern] if isinstance(file_pattern, (str, bytes)) else list(
            np.asarray(file_pattern).reshape(-1))
        names = []
        for pattern in patterns:
            text = pattern.decode() if isinstance(pattern, bytes) else str(pattern)
            names.extend(glob.glob(text))
        if not names:
            raise ValueError(f"list_files: no files matched pattern(s) {patterns}")
        files = Dataset.from_tensor_slices(np.array([n.encode() for n in sorted(set(names))]))
        if shuffle is None or shuffle:
            files = files.shuffle(len(names), seed=seed)
        return files

    def interleave(self, map_func: Callable, cycle_length: int | None = None,
                   block_length: int | None = None, num_parallel_calls: int | None = None,
                   deterministic: bool | None = None, name: str | None = None) -> Dataset:
        """``map_func(element)`` gives a dataset per element; up to ``cycle_length`` of them
        are open at once and give ``block_length`` elements each in turn (tf.data's order).
        ``cycle_length`` defaults to the number of CPU cores, as in TensorFlow."""
        _check_callable("map_func", map_func)
        import os

        cycle = (os.cpu_count() or 1) if cycle_length in (None, AUTOTUNE) else cycle_length
        block = 1 if block_length is None else block_length
        for what, v in (("cycle_length", cycle), ("block_length", block)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"interleave: {what} must be a positive int, got {v!r}")
        return _Interleave(self, map_func, int(cycle), int(block))

    def flat_map(self, map_func: Callable, name: str | None = None) -> Dataset:
        """``map_func(element)`` gives a dataset per element; their elements in order."""
        _check_callable("map_func", map_func)
        return _Interleave(self, map_func, 1, 1)

    def padded_batch(self, batch_size: int, padded_shapes: Any = None,
                     padding_values: Any = None, drop_remainder: bool = False,
                     name: str | None = None) -> Dataset:
        """Batches whose components are padded at the end of each axis to the longest in the
        batch, or to ``padded_shapes`` (``None``/-1 sizes: the longest), with
        ``padding_values`` (0 by default)."""
        self.batch(batch_size)  # the same checks of batch_size
        return _PaddedBatch(self, int(batch_size), padded_shapes, padding_values,
                            bool(drop_remainder))

    def reduce(self, initial_state: Any, reduce_func: Callable) -> Any:
        """``reduce_func(state, element)`` over all elements, from ``initial_state``."""
        _check_callable("reduce_func", reduce_func)
        state = to_eager(_plain(initial_state))  # reduce(0, ...) counts in int32, as in TF
        for element in self:
            state = reduce_func(state, element)
        return to_eager(state)

    def get_single_element(self, name: str | None = None) -> Any:
        """The only element; a `ValueError` for an empty dataset or more than one element."""
        it = iter(self)
        first = next(it, _NOTHING)
        if first is _NOTHING:
            raise ValueError("get_single_element: the dataset is empty (expected exactly one "
                             "element)")
        if next(it, _NOTHING) is not _NOTHING:
            raise ValueError("get_single_element: the dataset has more than one element "
                             "(expected exactly one)")
        return first

    def shard(self, num_shards: int, index: int, name: str | None = None) -> Dataset:
        """Every ``num_shards``-th element, starting at ``index``."""
        for what, v in (("num_shards", num_shards), ("index", index)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"shard: {what} must be an int, got {v!r}")
        if num_shards <= 0 or not 0 <= index < num_shards:
            raise ValueError(f"shard: need num_shards > 0 and 0 <= index < num_shards, got "
                             f"num_shards={num_shards}, index={index}")
        return _Shard(self, int(num_shards), int(index))

    def apply(self, transformation_func: Callable) -> Dataset:
        """``transformation_func(self)``, which must return a dataset."""
        out = transformation_func(self)
        if not isinstance(out, Dataset):
            raise TypeError(f"apply: transformation_func must return a Dataset, got "
                            f"{type(out).__name__}")
        return out

    def window(self, size: int, shift: int | None = None, stride: int = 1,
               drop_remainder: bool = False, name: str | None = None) -> Dataset:
        """Elements become windows: datasets of ``size`` elements (every ``stride``-th), a new
        window every ``shift`` elements (``size`` by default). A tuple or dict element gives
        a tuple or dict of datasets, one per component, as in TensorFlow."""
        shift = size if shift is None else shift
        for what, v in (("size", size), ("shift", shift), ("stride", stride)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"window: {what} must be a positive int, got {v!r}")
        return _Window(self, int(size), int(shift), int(stride), bool(drop_remainder))

    def rebatch(self, batch_size: Any, drop_remainder: bool = False,
                name: str | None = None) -> Dataset:
        """The batched elements re-cut into batches of ``batch_size`` (an int, or a list of
        sizes used in turn)."""
        sizes = [batch_size] if isinstance(batch_size, (int, np.integer)) else list(batch_size)
        if not sizes or any(isinstance(b, bool) or not isinstance(b, (int, np.integer))
                            or b <= 0 for b in sizes):
            raise ValueError(f"rebatch: batch_size must be a positive int or a list of them, "
                             f"got {batch_size!r}")
        if len(sizes) == 1:
            return self.unbatch().batch(int(sizes[0]), drop_remainder)
        return _Rebatch(self.unbatch(), [int(b) for b in sizes], bool(drop_remainder))

    def group_by_window(self, key_func: Callable, reduce_func: Callable,
                        window_size: int | None = None,
                        window_size_func: Callable | None = None,
                        name: str | None = None) -> Dataset:
        """Elements gathered by ``key_func(element)`` (an integer key); when a key holds
        ``window_size`` elements (or ``window_size_func(key)``), ``reduce_func(key,
        window)`` turns that window (a dataset) into the dataset whose elements come out.
        At the end the unfinished windows are reduced, smallest key first, as in TensorFlow.

        Raises:
            ValueError: both or neither of ``window_size`` and ``window_size_func``, a
                window size below 1, or a function argument that is not callable.
        """
        _check_callable("key_func", key_func)
        _check_callable("reduce_func", reduce_func)
        if (window_size is None) == (window_size_func is None):
            raise ValueError("group_by_window: give exactly one of window_size and "
                             "window_size_func")
        if window_size is not None:
            size = _int_argument("window_size", window_size)
            if size < 1:
                raise ValueError(f"group_by_window: window_size must be >= 1, got {size}")

            def window_size_func(key):
                return size
        _check_callable("window_size_func", window_size_func)
        return _GroupByWindow(self, key_func, reduce_func, window_size_func)

    def bucket_by_sequence_length(self, element_length_func: Callable,
                                  bucket_boundaries: Any, bucket_batch_sizes: Any,
                                  padded_shapes: Any = None, padding_values: Any = None,
                                  pad_to_bucket_boundary: bool = False,
                                  no_padding: bool = False, drop_remainder: bool = False,
                                  name: str | None = None) -> Dataset:
        """Batches of elements of similar length: an element of length ``n`` goes to the
        bucket ``i`` with ``bucket_boundaries[i - 1] <= n < bucket_boundaries[i]``, which is
        batched ``bucket_batch_sizes[i]`` at a time (padded as `padded_batch` pads, to the
        bucket's boundary minus 1 with ``pad_to_bucket_boundary``, or not at all with
        ``no_padding``).

        Raises:
            ValueError: ``bucket_batch_sizes`` is not one longer than ``bucket_boundaries``,
                or the boundaries do not increase.
        """
        _check_callable("element_length_func", element_length_func)
        boundaries = [_int_argument("bucket_boundaries", b) for b in list(bucket_boundaries)]
        sizes = [_int_argument("bucket_batch_sizes", b) for b in list(bucket_batch_sizes)]
        if len(sizes) != len(boundaries) + 1:
            raise ValueError(f"bucket_by_sequence_length: len(bucket_batch_sizes) must equal "
                             f"len(bucket_boundaries) + 1, got {len(sizes)} and "
                             f"{len(boundaries)}")
        if any(b >= c for b, c in itertools.pairwise(boundaries)) or any(b < 1 for b in sizes):
            raise ValueError(f"bucket_by_sequence_length: bucket_boundaries must increase and "
                             f"batch sizes be >= 1, got {boundaries} and {sizes}")

        def bucket_of(*element):
            length = int(np.asarray(element_length_func(*element)))
            if pad_to_bucket_boundary and boundaries and length >= boundaries[-1]:
                raise ValueError(f"bucket_by_sequence_length: an element of length {length} "
                                 f"does not fit below the last bucket boundary "
                                 f"{boundaries[-1]} (pad_to_bucket_boundary=True)")
            return sum(1 for b in boundaries if length >= b)

        def batch_bucket(key, window):
            bucket = int(np.asarray(key))
            if no_padding:
                return window.batch(sizes[bucket], drop_remainder)
            shapes = padded_shapes
            if pad_to_bucket_boundary and shapes is None:
                spec = window.element_spec
                leaves, structure = _flatten(spec)
                shapes = _unflatten(structure, [
                    [boundaries[bucket] - 1 if d is None else d for d in leaf.shape]
                    for leaf in leaves])
            return window.padded_batch(sizes[bucket], shapes, padding_values, drop_remainder)

        return self.group_by_window(bucket_of, batch_bucket,
                                    window_size_func=lambda key: sizes[int(np.asarray(key))])

    def save(self, path: Any, compression: str | None = None, shard_func: Any = None,
             checkpoint_args: Any = None) -> None:
        """Write every element to the directory ``path`` (created if needed), for
        `Dataset.load`: ``dataset.json`` (the structure and element spec) and
        ``elements.npz`` (the arrays, no pickles). ``compression="GZIP"`` compresses the
        arrays. It is convnp's own layout, not TensorFlow's snapshot files.

        Raises:
            ValueError: an infinite dataset, or an unknown ``compression``.
        """
        from convnp.data import saved

        if self._cardinality() == INFINITE_CARDINALITY:
            raise ValueError("Dataset.save: the dataset is infinite (take(n) first)")
        rows, structure = [], None
        for element in self._iter_plain():
            leaves, structure = _flatten(element)
            rows.append(leaves)
        spec = self.element_spec
        spec_leaves, spec_structure = _flatten(spec) if spec is not None else ([], None)
        saved.write(path, rows, structure if rows else spec_structure,
                    [(list(leaf.shape), np.dtype(leaf.dtype.dtype).str) for leaf in spec_leaves],
                    compression)

    @staticmethod
    def load(path: Any, element_spec: Any = None, compression: str | None = None,
             reader_func: Any = None) -> Dataset:
        """The dataset `save` wrote to ``path``, with the elements and element spec it had.

        Raises:
            FileNotFoundError: ``path`` holds no saved dataset.
            ValueError: the files are damaged, or ``element_spec`` does not match.
        """
        from convnp.data import saved
        from convnp.tensor.spec import TensorSpec

        rows, structure, components = saved.read(path)
        spec = (_unflatten(structure, [TensorSpec(shape, dtype) for shape, dtype in components])
                if components else None)
        if element_spec is not None and spec is not None and element_spec != spec:
            raise ValueError(f"Dataset.load: element_spec {element_spec} does not match the "
                             f"saved one {spec}")
        return _Stored([_unflatten(structure, row) for row in rows], spec)

    def snapshot(self, path: Any, compression: str | None = "AUTO", reader_func: Any = None,
                 shard_func: Any = None, name: str | None = None) -> Dataset:
        """The same elements (TensorFlow keeps them on disk for later runs; here they are
        recomputed, as `cache` does)."""
        return self

    def ignore_errors(self, log_warning: bool = False, name: str | None = None) -> Dataset:
        """Skip the elements whose `map` or `filter` function raised an exception."""
        return _IgnoreErrors(self, bool(log_warning))


def _int_argument(what: str, value: Any) -> int:
    """``value`` as a Python int: an int, a NumPy integer or a 0-d integer tensor (such as
    ``ds.cardinality() // 5``), as tf.data takes them.

    Raises:
        ValueError: ``value`` is None or a bool (TensorFlow refuses None with a ValueError).
        TypeError: any other non-integer, such as ``2.0`` (TensorFlow's error for it).
    """
    if value is None or isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{what} must be an int, got {value!r}")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iu":
        return int(value)
    raise TypeError(f"{what} must be an int (or a 0-d integer tensor), got "
                    f"{type(value).__name__} {value!r}")


def _check_count(what: str, count: Any) -> int:
    """A take/skip/repeat count; every negative count means "all" (-1), as in tf.data."""
    count = _int_argument(f"{what} count", count)
    return -1 if count < 0 else count


def _check_callable(what: str, fn: Any) -> None:
    """TensorFlow refuses a non-callable function argument with a ValueError."""
    if not callable(fn):
        raise ValueError(f"{what} must be callable, got {type(fn).__name__}")  # noqa: TRY004


# ----------------------------------------------------------------------------- sources


class _TensorSlices(Dataset):
    def __init__(self, arrays: list[np.ndarray], spec: Any):
        self._arrays = arrays
        self._spec = spec
        self._n = arrays[0].shape[0] if arrays else 0

    def _element(self, i: int) -> Any:
        # an object array's item would be the bytes themselves (then read back as NumPy's
        # fixed-width bytes): a 0-d object array keeps them whole
        return _unflatten(self._spec, [a[i, ...] if a.dtype == object else a[i]
                                       for a in self._arrays])

    def _gather(self, idx: np.ndarray | slice) -> Any:
        return _unflatten(self._spec, [a[idx] for a in self._arrays])

    def _plan(self):
        return self, None

    def _cardinality(self) -> int:
        return self._n

    def _static_spec(self):
        from convnp.tensor.spec import TensorSpec

        return _unflatten(self._spec, [TensorSpec(a.shape[1:], a.dtype) for a in self._arrays])


class _Zip(Dataset):
    def __init__(self, datasets: list[Dataset], spec: Any = None):
        self._datasets = datasets
        self._spec = ("tuple", [None] * len(datasets)) if spec is None else spec

    def _elements(self):
        for members in zip(*(d._iter_plain() for d in self._datasets)):
            yield _unflatten(self._spec, list(members))

    def _static_spec(self):
        specs = [d._static_spec() for d in self._datasets]
        return None if any(s is None for s in specs) else _unflatten(self._spec, specs)

    @property
    def element_spec(self) -> Any:
        """Each member's own spec (a member after a `map` reads its first element, keeping
        the ``None`` batch size of its `batch`): a CycleGAN's ``zip((horses, zebras))`` is
        two ``(None, h, w, c)`` specs, as in TensorFlow, not the first batch's size."""
        return _unflatten(self._spec, [d.element_spec for d in self._datasets])

    def _cardinality(self):
        cards = [d._cardinality() for d in self._datasets]
        finite = [c for c in cards if c >= 0]
        if finite:
            return min(finite)
        if all(c == INFINITE_CARDINALITY for c in cards):
            return INFINITE_CARDINALITY
        return UNKNOWN_CARDINALITY


# ----------------------------------------------------------------------------- transforms


class _Batch(Dataset):
    def __init__(self, parent: Dataset, batch_size: int, drop_remainder: bool):
        self._parent = parent
        self._bs = batch_size
        self._drop = drop_remainder

    def _plan(self):
        return None  # batches are not elements of the source

    def _iter_plain(self):
        plan = self._parent._plan()
        if plan is None:
            yield from self._elements()
            return
        source, idx = plan
        n = source._n if idx is None else len(idx)
        stop = n - n % self._bs if self._drop else n
        for start in range(0, stop, self._bs):
            end = min(start + self._bs, n)
            if idx is None:
                yield source._gather(slice(start, end))  # views, no copy
            else:
                yield source._gather(idx[start:end])

    def _elements(self):
        spec = None
        buf: list[Any] = []
        for element in self._parent._iter_plain():
            if spec is None:
                spec = _flatten(element)[1]
            buf.append(element)
            if len(buf) == self._bs:
                yield _stack(buf, spec)
                buf = []
        if buf and not self._drop:
            yield _stack(buf, spec)

    def _cardinality(self):
        n = self._parent._cardinality()
        if n < 0:
            return n
        return n // self._bs if self._drop else -(-n // self._bs)

    def _static_spec(self):
        from convnp.tensor.spec import TensorSpec

        parent = self._parent._static_spec()
        if parent is None:
            return None
        leaves, spec = _flatten(parent)
        size = self._bs if self._drop else None
        return _unflatten(spec, [TensorSpec((size, *self._component_shape(i, leaf)), leaf.dtype)
                                 for i, leaf in enumerate(leaves)])

    def _component_shape(self, i: int, leaf: Any) -> tuple:
        """The shape of component ``i`` in a batch (padded_batch may fix sizes)."""
        return tuple(leaf.shape)


class _Unbatch(Dataset):
    def __init__(self, parent: Dataset):
        self._parent = parent

    def _elements(self):
        for element in self._parent._iter_plain():
            leaves, spec = _flatten(element)
            leaves = [np.asarray(v) for v in leaves]
            if any(v.ndim == 0 for v in leaves):
                raise ValueError("unbatch needs every component to have a leading axis")
            n = leaves[0].shape[0]
            if any(v.shape[0] != n for v in leaves):
                raise ValueError(f"unbatch: components have different leading sizes "
                                 f"{[v.shape[0] for v in leaves]}")
            for i in range(n):
                yield _unflatten(spec, [v[i] for v in leaves])

    def _static_spec(self):
        from convnp.tensor.spec import TensorSpec

        parent = self._parent._static_spec()
        if parent is None:
            return None
        leaves, spec = _flatten(parent)
        if any(len(leaf.shape) == 0 for leaf in leaves):
            return None
        return _unflatten(spec, [TensorSpec(tuple(leaf.shape)[1:], leaf.dtype)
                                 for leaf in leaves])

    def _cardinality(self):
        n = self._parent._cardinality()
        return n if n in (0, INFINITE_CARDINALITY) else UNKNOWN_CARDINALITY


class _Shuffle(Dataset):
    _spec_passes_through = True

    def __init__(self, parent: Dataset, buffer_size: int, seed: int | None, reshuffle: bool):
        self._parent = parent
        self._buffer = buffer_size
        self._seed = seed
        self._reshuffle = reshuffle
        self._seeded_rng = np.random.default_rng(seed) if seed is not None else None
        self._fixed_seed: int | None = None

    def _rng(self) -> np.random.Generator:
        source = self._seeded_rng if self._seeded_rng is not None else _random.generator()
        if self._reshuffle:
            return source
        if self._fixed_seed is None:
            self._fixed_seed = int(source.integers(0, 2**63 - 1))
        return np.random.default_rng(self._fixed_seed)

    def _full_buffer(self, n: int) -> bool:
        return self._buffer == AUTOTUNE or self._buffer >= n

    def _plan(self):
        plan = self._parent._plan()
        if plan is None:
            return None
        source, idx = plan
        n = source._n if idx is None else len(idx)
        rng = self._rng()
        if self._full_buffer(n):
            perm = rng.permutation(n)
        else:
            perm = _buffered_order(n, self._buffer, rng)
        return source, (perm if idx is None else idx[perm])

    def _elements(self):
        rng = self._rng()
        buffer_size = self._buffer if self._buffer != AUTOTUNE else 1 << 62
        buf: list[Any] = []
        for element in self._parent._iter_plain():
            if len(buf) < buffer_size:
                buf.append(element)
                continue
            j = int(rng.integers(len(buf)))
            yield buf[j]
            buf[j] = element
        while buf:
            j = int(rng.integers(len(buf)))
            buf[j], buf[-1] = buf[-1], buf[j]
            yield buf.pop()

    def _cardinality(self):
        return self._parent._cardinality()


def _buffered_order(n: int, buffer_size: int, rng: np.random.Generator) -> np.ndarray:
    """The order tf.data's shuffle with a `buffer_size` buffer produces, on indices 0..n-1.

    The buffer is filled with the first elements; each output is a uniformly chosen buffer
    slot, which is refilled with the next input; at the end the rest comes out in random order.
    An element can therefore move at most `buffer_size - 1` places earlier.
    """
    out = np.empty(n, dtype=np.int64)
    buf = list(range(min(buffer_size, n)))
    k = 0
    for nxt in range(len(buf), n):
        j = int(rng.integers(len(buf)))
        out[k] = buf[j]
        k += 1
        buf[j] = nxt
    while buf:
        j = int(rng.integers(len(buf)))
        buf[j], buf[-1] = buf[-1], buf[j]
        out[k] = buf.pop()
        k += 1
    return out


class _Map(Dataset):
    def __init__(self, parent: Dataset, fn: Callable):
        self._parent = parent
        self._fn = fn

    def _elements(self):
        for element in self._parent._iter_plain():
            yield _plain(_call_fn(self._fn, element))

    def _cardinality(self):
        return self._parent._cardinality()


class _Filter(Dataset):
    _spec_passes_through = True

    def __init__(self, parent: Dataset, predicate: Callable):
        self._parent = parent
        self._predicate = predicate

    def _elements(self):
        for element in self._parent._iter_plain():
            if _verdict(_call_fn(self._predicate, element)):
                yield element

    def _cardinality(self):
        n = self._parent._cardinality()
        return n if n in (0, INFINITE_CARDINALITY) else UNKNOWN_CARDINALITY


def _verdict(result: Any) -> bool:
    """A predicate's answer: TensorFlow takes only a boolean scalar (a Python bool or a 0-d
    bool tensor); a number or a vector is a mistake it reports, not a truth value."""
    arr = np.asarray(result)
    if arr.dtype != np.bool_ or arr.ndim != 0:
        raise ValueError(f"predicate must return a boolean scalar, got {arr.dtype} of shape "
                         f"{list(arr.shape)}")
    return bool(arr)


class _Counted(Dataset):
    """`take`/`skip`: the parent and a count of elements (-1: all of them). On in-memory
    data the stage is a cut of the parent's index plan (`_cut`), so no element is built."""

    _spec_passes_through = True

    def __init__(self, parent: Dataset, count: int):
        self._parent = parent
        self._count = count

    def _plan(self):
        plan = self._parent._plan()
        return None if plan is None else self._cut(*plan)


class _Take(_Counted):
    def _cut(self, source, idx):
        if self._count == -1:
            return source, idx
        if idx is None:
            idx = np.arange(min(self._count, source._n))
        return source, idx[: self._count]

    def _elements(self):
        if self._count == -1:
            yield from self._parent
            return
        if self._count == 0:
            return
        for i, element in enumerate(self._parent):
            yield element
            if i + 1 >= self._count:
                return

    def _cardinality(self):
        n = self._parent._cardinality()
        if self._count == -1:
            return n
        if n == INFINITE_CARDINALITY:
            return self._count
        if n == UNKNOWN_CARDINALITY:
            return UNKNOWN_CARDINALITY
        return min(n, self._count)


class _Skip(_Counted):
    def _cut(self, source, idx):
        if idx is None:
            idx = np.arange(source._n)
        return source, (idx[:0] if self._count == -1 else idx[self._count:])

    def _elements(self):
        if self._count == -1:
            return
        for i, element in enumerate(self._parent):
            if i >= self._count:
                yield element

    def _cardinality(self):
        n = self._parent._cardinality()
        if self._count == -1:
            return 0
        if n < 0:
            return n
        return max(0, n - self._count)


class _Repeat(Dataset):
    _spec_passes_through = True

    def __init__(self, parent: Dataset, count: int | None):
        self._parent = parent
        self._count = count

    def _plan(self):
        if self._count is None:
            return None  # infinite: cannot materialize the index array
        plans = []
        for _ in range(self._count):
            plan = self._parent._plan()
            if plan is None:
                return None
            plans.append(plan)
        if not plans:
            source = self._parent
            while not isinstance(source, _TensorSlices):
                source = getattr(source, "_parent", None)
                if source is None:
                    return None
            return source, np.arange(0)
        source = plans[0][0]
        if any(p[0] is not source for p in plans):
            return None
        idx = [np.arange(source._n) if p[1] is None else p[1] for p in plans]
        return source, np.concatenate(idx)

    def _iter_plain(self):
        if self._count is not None:
            yield from super()._iter_plain()
            return
        if self._parent._cardinality() == 0:
            return
        while True:
            empty = True
            for element in self._parent._iter_plain():
                empty = False
                yield element
            if empty:
                return

    def _elements(self):
        for _ in range(self._count or 0):
            yield from self._parent

    def _cardinality(self):
        n = self._parent._cardinality()
        if self._count is None:
            return 0 if n == 0 else INFINITE_CARDINALITY
        if n < 0:
            return n
        return n * self._count


class _Concatenate(Dataset):
    def __init__(self, first: Dataset, second: Dataset):
        self._first = first
        self._second = second

    def _elements(self):
        yield from self._first
        yield from self._second

    def _cardinality(self):
        a, b = self._first._cardinality(), self._second._cardinality()
        if INFINITE_CARDINALITY in (a, b):
            return INFINITE_CARDINALITY
        if a < 0 or b < 0:
            return UNKNOWN_CARDINALITY
        return a + b

    def _static_spec(self):
        return _joined_spec(self._first._static_spec(), self._second._static_spec())


def _joined_spec(first: Any, second: Any) -> Any:
    """The spec of two datasets' elements one after the other: sizes that differ become
    None (None too when either is unknown, or the ranks differ).

    Raises:
        TypeError: the structures or dtypes differ (TensorFlow refuses to concatenate them).
    """
    from convnp.tensor.spec import TensorSpec

    if first is None or second is None:
        return None
    leaves_a, spec_a = _flatten(first)
    leaves_b, spec_b = _flatten(second)
    if spec_a != spec_b or any(a.dtype != b.dtype for a, b in zip(leaves_a, leaves_b)):
        raise TypeError(f"concatenate: the datasets' elements differ in structure or dtype: "
                        f"{first} vs. {second}")
    joined = []
    for a, b in zip(leaves_a, leaves_b):
        if len(a.shape) != len(b.shape):
            return None
        joined.append(TensorSpec([x if x == y else None for x, y in zip(a.shape, b.shape)],
                                 a.dtype))
    return _unflatten(spec_a, joined)


# ----------------------------------------------------------------------------- more of tf.data

_NOTHING = object()


def _signature(output_types: Any, output_shapes: Any, output_signature: Any) -> Any:
    """One structure of `TensorSpec`s from from_generator's arguments."""
    from convnp.tensor.spec import TensorSpec

    if output_signature is not None:
        if output_types is not None or output_shapes is not None:
            raise TypeError("from_generator: give output_signature, or output_types (and "
                            "output_shapes), not both")
        leaves, spec = _flatten(output_signature)
        for leaf in leaves:
            if not isinstance(leaf, TensorSpec):
                raise TypeError(f"from_generator: output_signature must hold tf.TensorSpec "
                                f"objects, got {type(leaf).__name__}")
        return output_signature
    if output_types is None:
        raise TypeError("from_generator needs output_signature (or output_types)")
    types, spec = _flatten(output_types)
    if output_shapes is None:
        shapes = [None] * len(types)
    else:
        shapes = _flatten_shapes(output_shapes)[0]
        if len(shapes) != len(types):
            raise ValueError(f"from_generator: output_shapes has {len(shapes)} components, "
                             f"output_types {len(types)}")
    return _unflatten(spec, [_AnyShape(t) if s is None else TensorSpec(s, t)
                             for t, s in zip(types, shapes)])


def _flatten_shapes(shapes: Any) -> tuple[list[Any], Any]:
    # a shape is a list/tuple of ints or None: a leaf, not a structure of components
    def is_shape(s):
        return isinstance(s, (list, tuple)) and all(d is None or isinstance(d, (int, np.integer))
                                                    for d in s)

    if is_shape(shapes):
        return [shapes], None
    if isinstance(shapes, dict):
        pairs = [_flatten_shapes(shapes[k]) for k in shapes]
        return [s for leaves, _ in pairs for s in leaves], ("dict", list(shapes),
                                                            [p[1] for p in pairs])
    pairs = [_flatten_shapes(s) for s in shapes]
    return [s for leaves, _ in pairs for s in leaves], ("tuple", [p[1] for p in pairs])


def _leaves_like(element: Any, spec: Any, where: str) -> list[Any]:
    """The leaves of ``element`` read along the structure ``spec`` (a list where the spec has a
    leaf is one value, as tf.data reads it)."""
    if spec is None:
        return [element]
    if spec[0] == "dict":
        if not isinstance(element, dict) or set(element) != set(spec[1]):
            raise ValueError(f"{where} should be a dict with keys {spec[1]}, got "
                             f"{type(element).__name__}"
                             + (f" with keys {list(element)}" if isinstance(element, dict) else ""))
        return [v for key, sub in zip(spec[1], spec[2])
                for v in _leaves_like(element[key], sub, where)]
    if not isinstance(element, (tuple, list)) or len(element) != len(spec[1]):
        raise ValueError(f"{where} should be a tuple of {len(spec[1])} components, got "
                         f"{type(element).__name__}"
                         + (f" of {len(element)}" if isinstance(element, (tuple, list)) else ""))
    return [v for item, sub in zip(element, spec[1]) for v in _leaves_like(item, sub, where)]


class _AnyShape:
    """A component with a dtype and no shape constraint (``output_types`` alone)."""

    def __init__(self, dtype: Any):
        from convnp.tensor.eager import as_dtype

        self.dtype = as_dtype(dtype)
        self.shape = None


def _conform(value: Any, spec: Any, where: str) -> np.ndarray:
    """``value`` as an array of ``spec``'s dtype, checked against its shape."""
    target = spec.dtype.dtype if hasattr(spec.dtype, "dtype") else np.dtype(spec.dtype)
    arr = np.asarray(value)
    if target.kind == "S":
        arr = np.asarray(value, dtype=object).astype(bytes) if arr.dtype.kind == "U" else arr
        if arr.dtype.kind != "S":
            raise ValueError(f"from_generator: {where} should be a string, got {arr.dtype}")
    elif arr.dtype.kind in "US" or arr.dtype == object:
        raise ValueError(f"from_generator: {where} should be {target}, got {arr.dtype} value")
    else:
        arr = arr.astype(target, copy=False)
    if spec.shape is not None and not spec._shape_matches(arr.shape):
        raise ValueError(f"from_generator: {where} should have shape {list(spec.shape)}, got "
                         f"{list(arr.shape)}")
    return arr


class _Generated(Dataset):
    def __init__(self, generator: Callable, signature: Any, args: Any):
        if not callable(generator):
            raise TypeError(f"from_generator expects a callable that returns an iterator, got "
                            f"{type(generator).__name__}")
        self._generator = generator
        self._signature = signature
        self._args = () if args is None else tuple(args)

    def _static_spec(self):
        # output_types alone leave the shapes open (an unknown rank): read the first element
        leaves = _flatten(self._signature)[0]
        return None if any(isinstance(v, _AnyShape) for v in leaves) else self._signature

    def _elements(self):
        specs, structure = _flatten(self._signature)
        for k, element in enumerate(self._generator(*self._args)):
            leaves = _leaves_like(element, structure, f"from_generator: element {k}")
            yield _unflatten(structure, [_conform(v, s, f"element {k}")
                                         for v, s in zip(leaves, specs)])


class _Interleave(Dataset):
    def __init__(self, parent: Dataset, fn: Callable, cycle: int, block: int):
        self._parent = parent
        self._fn = fn
        self._cycle = cycle
        self._block = block

    def _open(self, element: Any) -> Iterator[Any]:
        leaves, spec = _flatten(element)
        inner = _call_fn(self._fn, _unflatten(spec, [
            v if isinstance(v, Dataset) else to_eager(v) for v in leaves]))
        if not isinstance(inner, Dataset):
            raise TypeError(f"interleave/flat_map: map_func must return a Dataset, got "
                            f"{type(inner).__name__}")
        return inner._iter_plain()

    def _elements(self):
        source = self._parent._iter_plain()
        slots: list[Iterator[Any] | None] = [None] * self._cycle
        index, taken, source_done = 0, 0, False
        while True:
            if slots[index] is None and not source_done:
                element = next(source, _NOTHING)
                if element is _NOTHING:
                    source_done = True
                else:
                    slots[index] = self._open(element)
                    continue  # draw from the new dataset at once, as tf.data does
            if slots[index] is not None:
                value = next(slots[index], _NOTHING)
                if value is not _NOTHING:
                    yield value
                    taken += 1
                    if taken < self._block:
                        continue
                else:
                    slots[index] = None
            elif source_done and all(s is None for s in slots):
                return
            index, taken = (index + 1) % self._cycle, 0


def _padding_spec(value: Any, spec: Any, n: int, what: str) -> list[Any]:
    """``value`` (None, a single value, or a structure like the element) as one per leaf."""
    if value is None:
        return [None] * n
    leaves, got = _flatten(value)
    if got is None and (len(leaves) == 1 or n == 1):
        return leaves * n if n > 1 else leaves
    if len(leaves) != n:
        raise ValueError(f"padded_batch: {what} must match the element's {n} components, got "
                         f"{len(leaves)}")
    return leaves


def _runs(elements: Iterator[Any], sizes: list[int], drop: bool) -> Iterator[list[Any]]:
    """Consecutive lists of ``sizes[0]``, ``sizes[1]``, ... elements (the sizes used in turn);
    the last shorter list is dropped if ``drop``."""
    run: list[Any] = []
    turn = 0
    for element in elements:
        run.append(element)
        if len(run) == sizes[turn % len(sizes)]:
            yield run
            run, turn = [], turn + 1
    if run and not drop:
        yield run


class _PaddedBatch(_Batch):
    def __init__(self, parent: Dataset, batch_size: int, padded_shapes: Any,
                 padding_values: Any, drop_remainder: bool):
        super().__init__(parent, batch_size, drop_remainder)
        self._shapes = padded_shapes
        self._values = padding_values

    def _iter_plain(self):
        yield from self._elements()  # every batch is padded: no slicing fast path

    def _component_shape(self, i: int, leaf: Any) -> tuple:
        # padded_shapes fixes sizes (None or -1: the longest in the batch, so unknown)
        shape = tuple(leaf.shape)
        if self._shapes is None:
            return shape
        given = _flatten_shapes(self._shapes)[0]
        if i >= len(given) or given[i] is None or len(given[i]) != len(shape):
            return tuple(None for _ in shape)
        return tuple(None if d is None or d == -1 else int(d) for d in given[i])

    def _pad(self, rows: list[Any], spec: Any) -> Any:
        columns = list(zip(*(_flatten(r)[0] for r in rows)))
        n = len(columns)
        shapes = ([None] * n if self._shapes is None else _flatten_shapes(self._shapes)[0])
        if len(shapes) != n:
            raise ValueError(f"padded_batch: padded_shapes must match the element's {n} "
                             f"components, got {len(shapes)}")
        values = _padding_spec(self._values, spec, n, "padding_values")
        out = []
        for col, shape, fill in zip(columns, shapes, values):
            arrays = [np.asarray(v) for v in col]
            ranks = {a.ndim for a in arrays}
            if len(ranks) != 1:
                raise ValueError(f"padded_batch: components of one position have different "
                                 f"ranks {sorted(ranks)}")
            longest = np.max([a.shape for a in arrays], axis=0) if arrays[0].ndim else ()
            target = list(longest)
            if shape is not None:
                if len(shape) != len(target):
                    raise ValueError(f"padded_batch: padded shape {list(shape)} has rank "
                                     f"{len(shape)}, the component has rank {len(target)}")
                for i, want in enumerate(shape):
                    if want is not None and want != -1:
                        if want < target[i]:
                            raise ValueError(f"padded_batch: a component of size "
                                             f"{target[i]} does not fit padded shape "
                                             f"{list(shape)}")
                        target[i] = int(want)
            pad_value = (b"" if arrays[0].dtype.kind == "S" else 0) if fill is None else fill
            batch = np.full([len(arrays)] + target, pad_value, dtype=arrays[0].dtype)
            for i, a in enumerate(arrays):
                batch[(i,) + tuple(slice(0, d) for d in a.shape)] = a
            out.append(batch)
        return _unflatten(spec, out)

    def _elements(self):
        for rows in _runs(self._parent._iter_plain(), [self._bs], self._drop):
            yield self._pad(rows, _flatten(rows[0])[1])


class _Shard(Dataset):
    _spec_passes_through = True

    def __init__(self, parent: Dataset, num_shards: int, index: int):
        self._parent = parent
        self._num = num_shards
        self._index = index

    def _elements(self):
        for k, element in enumerate(self._parent._iter_plain()):
            if k % self._num == self._index:
                yield element

    def _cardinality(self):
        n = self._parent._cardinality()
        if n < 0:
            return n
        return max(0, -(-(n - self._index) // self._num))


class _Window(Dataset):
    def __init__(self, parent: Dataset, size: int, shift: int, stride: int, drop: bool):
        self._parent = parent
        self._size = size
        self._shift = shift
        self._stride = stride
        self._drop = drop

    def __iter__(self):
        yield from self._elements()  # windows are datasets, not tensors

    def _window(self, rows: list[Any]) -> Any:
        spec = _flatten(rows[0])[1]
        columns = zip(*(_flatten(r)[0] for r in rows))
        return _unflatten(spec, [_TensorSlices([np.stack([np.asarray(v) for v in col])], None)
                                 for col in columns])

    def _elements(self):
        source = self._parent._iter_plain()
        buffer: list[Any] = []  # elements from index `first` on
        first, start, done = 0, 0, False
        span = (self._size - 1) * self._stride + 1
        while True:
            while not done and first + len(buffer) < start + span:
                element = next(source, _NOTHING)
                if element is _NOTHING:
                    done = True
                else:
                    buffer.append(element)
            rows = buffer[start - first::self._stride][:self._size]
            if not rows or (self._drop and len(rows) < self._size):
                return
            yield self._window(rows)
            start += self._shift
            drop = min(start - first, len(buffer))
            del buffer[:drop]
            first += drop
            if done and start >= first + len(buffer):
                return

    def _cardinality(self):
        n = self._parent._cardinality()
        if n < 0:
            return n
        span = (self._size - 1) * self._stride + 1
        if self._drop:
            return 0 if n < span else (n - span) // self._shift + 1
        return -(-n // self._shift)


class _Stored(Dataset):
    """A list of elements as they are (a window of `group_by_window`: they need not stack).
    Its spec is the source's when known, else read off all its elements (sizes that differ
    between them are None)."""

    def __init__(self, elements: list[Any], spec: Any = None):
        self._stored = elements
        self._known_spec = spec

    def _elements(self):
        yield from self._stored

    def _cardinality(self):
        return len(self._stored)

    def _static_spec(self):
        from convnp.tensor.spec import TensorSpec

        if self._known_spec is not None or not self._stored:
            return self._known_spec
        columns = list(zip(*(_flatten(e)[0] for e in self._stored)))
        structure = _flatten(self._stored[0])[1]
        specs = []
        for column in columns:
            shapes = {np.shape(v) for v in column}
            if len({len(shape) for shape in shapes}) != 1:
                return None
            dims = [d[0] if len(set(d)) == 1 else None for d in zip(*shapes)]
            specs.append(TensorSpec(dims, np.asarray(column[0]).dtype))
        return _unflatten(structure, specs)


class _GroupByWindow(Dataset):
    def __init__(self, parent: Dataset, key_func: Callable, reduce_func: Callable,
                 window_size_func: Callable):
        self._parent = parent
        self._key_func, self._reduce_func = key_func, reduce_func
        self._size_func = window_size_func

    def _key(self, element: Any) -> int:
        key = np.asarray(_call_fn(self._key_func, element))
        if key.ndim != 0 or key.dtype.kind not in "iu":
            raise ValueError(f"group_by_window: key_func must return an integer scalar, got "
                             f"{key.dtype} of shape {list(key.shape)}")
        return int(key)

    def _static_spec(self):
        # what reduce_func makes of a window with the source's spec, as TensorFlow traces it
        parent = self._parent._static_spec()
        if parent is None:
            return None
        try:
            out = self._reduce_func(np.asarray(0, dtype=np.int64).view(EagerTensor),
                                    _Stored([], parent))
        except Exception:  # noqa: BLE001 (a function that needs real data: no static spec)
            return None
        return out._static_spec() if isinstance(out, Dataset) else None

    def _reduce(self, key: int, window: list[Any]) -> Iterator[Any]:
        out = self._reduce_func(np.asarray(key, dtype=np.int64).view(EagerTensor),
                                _Stored(window, self._parent._static_spec()))
        if not isinstance(out, Dataset):
            raise TypeError(f"group_by_window: reduce_func must return a Dataset, got "
                            f"{type(out).__name__}")
        return out._iter_plain()

    def _elements(self):
        groups: dict[int, list[Any]] = {}
        for element in self._parent._iter_plain():
            key = self._key(element)
            window = groups.setdefault(key, [])
            window.append(element)
            size = int(np.asarray(self._size_func(np.asarray(key, dtype=np.int64))))
            if size < 1:
                raise ValueError(f"group_by_window: window size must be >= 1, got {size}")
            if len(window) >= size:
                del groups[key]
                yield from self._reduce(key, window)
        for key in sorted(groups):  # what is left, smallest key first (TensorFlow's order)
            yield from self._reduce(key, groups[key])


class _WithOptions(Dataset):
    """The parent's elements, with `tf.data.Options` attached (read back by `options`)."""

    _spec_passes_through = True

    def __init__(self, parent: Dataset, options: Any):
        self._parent = parent
        self._options = options

    def _plan(self):
        return self._parent._plan()

    def _iter_plain(self):
        return self._parent._iter_plain()

    def _cardinality(self):
        return self._parent._cardinality()


class _AssertCardinality(Dataset):
    """The parent's elements, declared to be ``count`` of them (so ``len`` and ``fit`` know
    the length of a filtered or generated dataset); a pass that finds another number stops
    with ``tf.errors.FailedPreconditionError``, as in TensorFlow."""

    _spec_passes_through = True

    def __init__(self, parent: Dataset, count: int):
        self._parent = parent
        self._count = count

    def _elements(self):
        from convnp.tensor.errors import FailedPreconditionError

        seen = 0
        for element in self._parent._iter_plain():
            seen += 1
            if self._count >= 0 and seen > self._count:
                raise FailedPreconditionError(f"assert_cardinality: the dataset was expected to "
                                              f"have {self._count} elements, it has more")
            yield element
        if seen != self._count:
            raise FailedPreconditionError(f"assert_cardinality: the dataset was expected to "
                                          f"have {self._count} elements, it has {seen}")

    def _cardinality(self):
        return self._count


def assert_cardinality(expected_cardinality: Any) -> Callable[[Dataset], Dataset]:
    """``tf.data.experimental.assert_cardinality(n)``: a function for ``ds.apply`` that
    declares ``ds`` to have ``n`` elements (-1: infinite) and checks it while iterating."""
    count = _int_argument("expected_cardinality", expected_cardinality)
    if count < INFINITE_CARDINALITY:
        raise ValueError(f"assert_cardinality: expected_cardinality must be >= -1, got {count}")

    def transformation(dataset: Dataset) -> Dataset:
        if not isinstance(dataset, Dataset):
            raise TypeError(f"assert_cardinality applies to a Dataset, got "
                            f"{type(dataset).__name__}")
        return _AssertCardinality(dataset, count)

    return transformation


class _Rebatch(Dataset):
    def __init__(self, parent: Dataset, sizes: list[int], drop: bool):
        self._parent = parent
        self._sizes = sizes
        self._drop = drop

    def _elements(self):
        for rows in _runs(self._parent._iter_plain(), self._sizes, self._drop):
            yield _stack(rows, _flatten(rows[0])[1])


def _mapped(fn: Callable, element: Any) -> Any:
    """``fn`` applied to one element as `map` applies it (lists become tuples, leaves arrays)."""
    return _plain(_call_fn(fn, element))


class _IgnoreErrors(Dataset):
    """Re-runs the `map`/`filter` stages above the first other stage element by element, so
    an exception drops that element only; an error in the source itself ends the pass."""

    _spec_passes_through = True

    def __init__(self, parent: Dataset, log_warning: bool):
        self._parent = parent
        self._log = log_warning

    def _elements(self):
        stages, source = [], self._parent
        while isinstance(source, (_Map, _Filter)):
            stages.append(source)
            source = source._parent
        stages.reverse()
        for element in source._iter_plain():
            try:
                for stage in stages:
                    if isinstance(stage, _Map):
                        element = _mapped(stage._fn, element)
                    elif not _verdict(_call_fn(stage._predicate, element)):
                        break
                else:
                    yield element
            except Exception as exc:  # noqa: BLE001 (the point of ignore_errors)
                if self._log:
                    import warnings

                    warnings.warn(f"ignore_errors: dropped an element: {exc!r}", RuntimeWarning,
                                  stacklevel=2)

    def _cardinality(self):
        return UNKNOWN_CARDINALITY


# ----------------------------------------------------------------------------- counters,
# selections and scans


def _plain(value: Any) -> Any:
    """A function's result as a stage passes it on: lists as tuples, leaves as arrays (Python
    numbers with TensorFlow's dtypes: ``lambda x: (x, 1)`` gives an int32 1)."""
    leaves, spec = _flatten(tuple(value) if isinstance(value, list) else value)
    return _unflatten(spec, [_leaf_array(v) for v in leaves])


class _Counter(Dataset):
    """``start, start + step, ...`` forever, as 0-d arrays of ``dtype``."""

    def __init__(self, start: Any, step: Any, dtype: Any):
        self._start, self._step = start, step
        self._dtype = as_dtype(dtype).dtype

    def _elements(self):
        value = self._start
        while True:
            yield np.asarray(value, dtype=self._dtype)
            value += self._step

    def _cardinality(self):
        return INFINITE_CARDINALITY

    def _static_spec(self):
        from convnp.tensor.spec import TensorSpec

        return TensorSpec((), self._dtype)


class _RandomIntegers(Dataset):
    """Uniform int64 numbers forever, from ``seed`` or from convnp's generator."""

    def __init__(self, seed: int | None):
        self._seed = seed

    def _static_spec(self):
        from convnp.tensor.spec import TensorSpec

        return TensorSpec((), np.int64)

    def _elements(self):
        rng = (np.random.default_rng(self._seed) if self._seed is not None
               else np.random.default_rng(int(_random.generator().integers(2**63 - 1))))
        info = np.iinfo(np.int64)
        while True:
            for value in rng.integers(info.min, info.max, size=256, dtype=np.int64,
                                      endpoint=True):
                yield np.asarray(value)

    def _cardinality(self):
        return INFINITE_CARDINALITY


class _TakeWhile(Dataset):
    _spec_passes_through = True

    def __init__(self, parent: Dataset, predicate: Callable):
        self._parent, self._predicate = parent, predicate

    def _elements(self):
        for element in self._parent._iter_plain():
            if not _verdict(_call_fn(self._predicate, element)):
                return
            yield element

    def _cardinality(self):
        return 0 if self._parent._cardinality() == 0 else UNKNOWN_CARDINALITY


class _Scan(Dataset):
    """``scan_func(state, element) -> (new_state, output)``; the outputs are the elements."""

    def __init__(self, parent: Dataset, initial_state: Any, scan_func: Callable):
        self._parent, self._initial, self._fn = parent, initial_state, scan_func

    def _elements(self):
        state = _plain(self._initial)
        for element in self._parent._iter_plain():
            result = self._fn(state, element)
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                raise ValueError(f"scan: scan_func must return (new_state, output), got "
                                 f"{type(result).__name__}")
            state, output = _plain(result[0]), _plain(result[1])
            yield output

    def _cardinality(self):
        return self._parent._cardinality()


class _Unique(Dataset):
    """Each distinct element once, in first-seen order (scalar integers or strings)."""

    _spec_passes_through = True

    def __init__(self, parent: Dataset):
        self._parent = parent

    def _elements(self):
        seen: set = set()
        for element in self._parent._iter_plain():
            arr = np.asarray(element) if not isinstance(element, (tuple, dict)) else None
            if arr is None or arr.ndim != 0 or arr.dtype.kind not in "iuSU":
                raise TypeError("unique: elements must be scalar integers or strings, got "
                                f"{'a structure' if arr is None else f'{arr.dtype} of shape {arr.shape}'}")
            key = arr.item()
            if key not in seen:
                seen.add(key)
                yield element

    def _cardinality(self):
        n = self._parent._cardinality()
        return n if n in (0, INFINITE_CARDINALITY) else UNKNOWN_CARDINALITY


def _check_datasets(what: str, datasets: Any) -> list[Dataset]:
    datasets = list(datasets) if isinstance(datasets, (list, tuple)) else None
    if not datasets or not all(isinstance(d, Dataset) for d in datasets):
        raise TypeError(f"{what}: expected a non-empty list of datasets")
    return datasets


class _ChooseFrom(Dataset):
    """Each element from the dataset a choice names: the choices come from a dataset of
    indices (`choose_from_datasets`) or are drawn with weights (`sample_from_datasets`)."""

    def __init__(self, datasets: list[Dataset], choices: Dataset | None,
                 weights: np.ndarray | None, seed: int | None, stop_on_empty: bool):
        self._datasets, self._choices = datasets, choices
        self._weights, self._seed, self._stop = weights, seed, stop_on_empty

    def _draws(self, open_: list[bool]):
        """The index of the dataset each next element comes from."""
        if self._choices is not None:
            for choice in self._choices._iter_plain():
                index = np.asarray(choice)
                if index.ndim != 0 or index.dtype.kind not in "iu" or not (
                        0 <= int(index) < len(self._datasets)):
                    raise ValueError(f"choose_from_datasets: choices must be int64 scalars in "
                                     f"[0, {len(self._datasets)}), got {index!r}")
                yield int(index)
            return
        rng = (np.random.default_rng(self._seed) if self._seed is not None
               else _random.generator())
        while any(open_):
            weights = self._weights * np.asarray(open_, dtype=np.float64)
            if weights.sum() <= 0:
                return
            yield int(rng.choice(len(weights), p=weights / weights.sum()))

    def _elements(self):
        iterators = [d._iter_plain() for d in self._datasets]
        open_ = [True] * len(iterators)
        for index in self._draws(open_):
            if not open_[index]:
                continue
            element = next(iterators[index], _END)
            if element is _END:
                open_[index] = False
                if self._stop:
                    return
                continue
            yield element

    def _cardinality(self):
        return UNKNOWN_CARDINALITY


_END = object()


def _sample_from_datasets(datasets: Any, weights: Any = None, seed: int | None = None,
                         stop_on_empty_dataset: bool = False,
                         rerandomize_each_iteration: bool | None = None) -> Dataset:
    datasets = _check_datasets("sample_from_datasets", datasets)
    if weights is None:
        w = np.ones(len(datasets))
    else:
        w = np.asarray(getattr(weights, "numpy", lambda: weights)(), dtype=np.float64)
        if w.shape != (len(datasets),) or not np.all(np.isfinite(w)) or np.any(w < 0) or (
                w.sum() <= 0):
            raise ValueError(f"sample_from_datasets: weights must be {len(datasets)} "
                             f"non-negative numbers, not all 0; got {weights!r}")
    return _ChooseFrom(datasets, None, w, seed, bool(stop_on_empty_dataset))


def _choose_from_datasets(datasets: Any, choice_dataset: Any,
                         stop_on_empty_dataset: bool = True) -> Dataset:
    datasets = _check_datasets("choose_from_datasets", datasets)
    if not isinstance(choice_dataset, Dataset):
        raise TypeError(f"choose_from_datasets: choice_dataset must be a Dataset of int64 "
                        f"indices, got {type(choice_dataset).__name__}")
    return _ChooseFrom(datasets, choice_dataset, None, None, bool(stop_on_empty_dataset))
