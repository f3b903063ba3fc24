"""``keras.utils.split_dataset``: one dataset cut into a left and a right `Dataset`."""

from __future__ import annotations

import numpy as np

from convnp.data.dataset import Dataset

__all__ = ["split_dataset"]


def _size(value, total: int, which: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"split_dataset: {which} must be an int, a float or None, got "
                        f"{type(value).__name__}")
    if isinstance(value, (float, np.floating)):
        if not 0.0 < value < 1.0:
            raise ValueError(f"split_dataset: a float {which} must be in (0, 1), got {value}")
        return round(float(value) * total)
    if not 0 < value <= total:
        raise ValueError(f"split_dataset: an int {which} must be in [1, {total}] (the number "
                         f"of samples), got {value}")
    return int(value)


def _columns(dataset):
    """The samples as a tuple of arrays (one per component) and whether it was a tuple."""
    if isinstance(dataset, np.ndarray):
        return (dataset,), False
    if isinstance(dataset, (tuple, list)):
        arrays = tuple(np.asarray(a) for a in dataset)
        if not arrays or len({len(a) for a in arrays}) != 1:
            raise ValueError("split_dataset: a tuple/list dataset needs arrays with the same "
                             f"number of samples, got lengths {[len(a) for a in arrays]}")
        return arrays, True
    if isinstance(dataset, Dataset):
        if dataset.cardinality() == -1:
            raise ValueError("split_dataset: the dataset repeats forever; take(n) first")
        elements = list(dataset.as_numpy_iterator())
        if not elements:
            raise ValueError("split_dataset: the dataset is empty")
        if isinstance(elements[0], tuple):
            return tuple(np.stack(parts) for parts in zip(*elements)), True
        return (np.stack(elements),), False
    raise TypeError("split_dataset: dataset must be a NumPy array, a tuple/list of arrays or a "
                    f"convnp.data.Dataset, got {type(dataset).__name__}")


def split_dataset(dataset, left_size=None, right_size=None, shuffle: bool = False,
                  seed=None):
    """``(left, right)`` Datasets of single samples (batch them yourself), as Keras does.

    Sizes are counts (int) or fractions (float in (0, 1), rounded); one of them may be None
    (the rest of the samples), both None means ``left_size=0.5``. With ``shuffle`` the samples
    are permuted first by ``np.random.default_rng(seed)`` (convnp's generator without a
    seed).
    """
    arrays, is_tuple = _columns(dataset)
    total = len(arrays[0])
    if left_size is None and right_size is None:
        left_size = 0.5
    left = _size(left_size, total, "left_size")
    right = _size(right_size, total, "right_size")
    if left is None:
        left = total - right
    if right is None:
        right = total - left
    if left + right > total:
        raise ValueError(f"split_dataset: left_size + right_size = {left} + {right} is more "
                         f"than the {total} samples")
    if left == 0 or right == 0:
        raise ValueError(f"split_dataset: the sizes give an empty side ({left}, {right}) of "
                         f"{total} samples")
    order = np.arange(total)
    if shuffle:
        if seed is None:
            from convnp.random import generator

            rng = generator()
        else:
            rng = np.random.default_rng(seed)
        order = rng.permutation(total)

    def part(rows):
        columns = tuple(a[rows] for a in arrays)
        return Dataset.from_tensor_slices(columns if is_tuple else columns[0])

    return part(order[:left]), part(order[total - right:])
