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

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from convnp import random as _random
from convnp.tensor.eager import to_eager

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


def _as_array(leaf: Any) -> np.ndarray:
    arr = np.asarray(leaf)
    if arr.dtype == object:
        raise TypeError(f"dataset components must be numeric arrays, got an object array "
                        f"from {type(leaf).__name__}")
    return arr


def _call_fn(fn: Callable, element: Any) -> Any:
    # tf.data unpacks a tuple element into positional arguments.
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
        return next(self._elements)

    def next(self) -> Any:
        """The next element (TensorFlow's spelling of ``next(iterator)``)."""
        return next(self._elements)


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
        leaves, spec = _flatten(tensors)
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
        leaves, spec = _flatten(tensors)
        arrays = [_as_array(leaf)[None] for leaf in leaves]
        return _TensorSlices(arrays, spec)

    @staticmethod
    def range(*args: int) -> Dataset:
        """Like Python's `range`, elements are int64 scalars."""
        return _TensorSlices([np.arange(*args, dtype=np.int64)], None)

    @staticmethod
    def zip(*datasets: Any) -> Dataset:
        """Elements are tuples of the elements of `datasets` (stops at the shortest)."""
        if len(datasets) == 1 and isinstance(datasets[0], (tuple, list)):
            datasets = tuple(datasets[0])
        for d in datasets:
            if not isinstance(d, Dataset):
                raise TypeError(f"Dataset.zip expects datasets, got {type(d).__name__}")
        return _Zip(list(datasets))

    # -- to override ------------------------------------------------------------------------
    def _elements(self) -> Iterator[Any]:
        """Yield the elements of one pass, one at a time."""
        raise NotImplementedError

    def _plan(self) -> tuple[_TensorSlices, np.ndarray | None] | None:
        """For index-planable pipelines: (source, indices for one pass; None = all in order)."""
        return None

    def cardinality(self) -> int:
        """Number of elements; `INFINITE_CARDINALITY` (-1) or `UNKNOWN_CARDINALITY` (-2)."""
        return UNKNOWN_CARDINALITY

    # -- iteration --------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Any]:
        """The elements, with `EagerTensor` leaves (``.numpy()``, ``.shape``, ``.dtype``)."""
        for element in self._iter_plain():
            yield to_eager(element)

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
        n = self.cardinality()
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
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or (
                batch_size <= 0):
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        return _Batch(self, int(batch_size), bool(drop_remainder))

    def unbatch(self) -> Dataset:
        """Split every element along its first axis (inverse of `batch`)."""
        return _Unbatch(self)

    def shuffle(self, buffer_size: int, seed: int | None = None,
                reshuffle_each_iteration: bool = True) -> Dataset:
        """Randomly reorder with tf.data's buffered shuffle (a full permutation when the
        buffer holds the whole dataset)."""
        if isinstance(buffer_size, bool) or not isinstance(buffer_size, (int, np.integer)) or (
                buffer_size <= 0 and buffer_size != AUTOTUNE):
            raise ValueError(f"buffer_size must be a positive int, got {buffer_size!r}")
        return _Shuffle(self, int(buffer_size), seed, bool(reshuffle_each_iteration))

    def map(self, map_func: Callable, num_parallel_calls: int | None = None,
            deterministic: bool | None = None, **_: Any) -> Dataset:
        """Apply `map_func` to every element (tuple elements are passed as separate args)."""
        if not callable(map_func):
            raise TypeError(f"map_func must be callable, got {type(map_func).__name__}")
        return _Map(self, map_func)

    def filter(self, predicate: Callable) -> Dataset:
        """Keep elements for which `predicate(*element)` is true."""
        if not callable(predicate):
            raise TypeError(f"predicate must be callable, got {type(predicate).__name__}")
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
        return _Concatenate(self, dataset)

    def prefetch(self, buffer_size: int = AUTOTUNE) -> Dataset:
        """No-op: iteration is synchronous (kept for tf.data code)."""
        return self

    def cache(self, filename: str = "") -> Dataset:
        """No-op: the data already lives in memory (a `map` with randomness re-runs each pass)."""
        return self

    def with_options(self, options: Any) -> Dataset:
        """No-op (tf.data options have no meaning here)."""
        return self

    def enumerate(self, start: int = 0) -> Dataset:
        """Elements become `(index, element)`."""
        return Dataset.zip(Dataset.range(start, np.iinfo(np.int64).max), self)

    @property
    def element_spec(self) -> Any:
        """The structure of one element with `(shape, dtype)` leaves (first element probed)."""
        first = next(self.take(1)._iter_plain(), None)
        if first is None:
            return None
        leaves, spec = _flatten(first)
        return _unflatten(spec, [(np.shape(v), np.asarray(v).dtype) for v in leaves])

    def __repr__(self) -> str:
        return f"<{type(self).__name__.lstrip('_')}Dataset cardinality={self.cardinality()}>"


def _check_count(what: str, count: Any) -> int:
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < -1:
        raise ValueError(f"{what} count must be an int >= -1, got {count!r}")
    return int(count)


# ----------------------------------------------------------------------------- sources


class _TensorSlices(Dataset):
    def __init__(self, arrays: list[np.ndarray], spec: Any):
        self._arrays = arrays
        self._spec = spec
        self._n = arrays[0].shape[0] if arrays else 0

    def _element(self, i: int) -> Any:
        return _unflatten(self._spec, [a[i] for a in self._arrays])

    def _gather(self, idx: np.ndarray | slice) -> Any:
        return _unflatten(self._spec, [a[idx] for a in self._arrays])

    def _plan(self):
        return self, None

    def cardinality(self) -> int:
        return self._n


class _Zip(Dataset):
    def __init__(self, datasets: list[Dataset]):
        self._datasets = datasets

    def _elements(self):
        yield from zip(*(d._iter_plain() for d in self._datasets))

    def cardinality(self):
        cards = [d.cardinality() for d in self._datasets]
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

    def cardinality(self):
        n = self._parent.cardinality()
        if n < 0:
            return n
        return n // self._bs if self._drop else -(-n // self._bs)


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

    def cardinality(self):
        n = self._parent.cardinality()
        return n if n in (0, INFINITE_CARDINALITY) else UNKNOWN_CARDINALITY


class _Shuffle(Dataset):
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

    def cardinality(self):
        return self._parent.cardinality()


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
            out = _call_fn(self._fn, element)
            if isinstance(out, list):
                out = tuple(out)
            leaves, spec = _flatten(out)
            yield _unflatten(spec, [np.asarray(v) for v in leaves])

    def cardinality(self):
        return self._parent.cardinality()


class _Filter(Dataset):
    def __init__(self, parent: Dataset, predicate: Callable):
        self._parent = parent
        self._predicate = predicate

    def _elements(self):
        for element in self._parent._iter_plain():
            if bool(np.asarray(_call_fn(self._predicate, element))):
                yield element

    def cardinality(self):
        n = self._parent.cardinality()
        return n if n in (0, INFINITE_CARDINALITY) else UNKNOWN_CARDINALITY


class _Take(Dataset):
    def __init__(self, parent: Dataset, count: int):
        self._parent = parent
        self._count = count

    def _plan(self):
        plan = self._parent._plan()
        if plan is None:
            return None
        source, idx = plan
        if self._count == -1:
            return plan
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

    def cardinality(self):
        n = self._parent.cardinality()
        if self._count == -1:
            return n
        if n == INFINITE_CARDINALITY:
            return self._count
        if n == UNKNOWN_CARDINALITY:
            return UNKNOWN_CARDINALITY
        return min(n, self._count)


class _Skip(Dataset):
    def __init__(self, parent: Dataset, count: int):
        self._parent = parent
        self._count = count

    def _plan(self):
        plan = self._parent._plan()
        if plan is None:
            return None
        source, idx = plan
        if idx is None:
            idx = np.arange(source._n)
        return source, (idx[:0] if self._count == -1 else idx[self._count:])

    def _elements(self):
        if self._count == -1:
            return
        for i, element in enumerate(self._parent):
            if i >= self._count:
                yield element

    def cardinality(self):
        n = self._parent.cardinality()
        if self._count == -1:
            return 0
        if n < 0:
            return n
        return max(0, n - self._count)


class _Repeat(Dataset):
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
        if self._parent.cardinality() == 0:
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

    def cardinality(self):
        n = self._parent.cardinality()
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

    def cardinality(self):
        a, b = self._first.cardinality(), self._second.cardinality()
        if INFINITE_CARDINALITY in (a, b):
            return INFINITE_CARDINALITY
        if a < 0 or b < 0:
            return UNKNOWN_CARDINALITY
        return a + b
