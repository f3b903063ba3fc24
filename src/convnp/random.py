"""The one source of randomness in convnp.

Weight initializers, `fit`'s shuffling, `Dropout` and `Dataset.shuffle` all draw from
`generator()`. `set_seed(n)` (also `convnp.keras.utils.set_random_seed`) replaces it, which
makes a run repeat bit for bit.
"""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def set_seed(seed: int) -> None:
    """Reset the global generator (and NumPy's legacy one, for user code that uses it)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    global _generator
    _generator = np.random.default_rng(int(seed))
    np.random.seed(int(seed) % 2**32)


def generator() -> np.random.Generator:
    """The current global generator."""
    return _generator


# -- tf.random: tensors drawn from the same generator ------------------------------------------


def _draw_shape(shape) -> tuple:
    return tuple(int(s) for s in np.asarray(shape).reshape(-1)) if not isinstance(
        shape, (int, np.integer)) else (int(shape),)


def _seeded(seed):
    return generator() if seed is None else np.random.default_rng(int(seed))


def normal(shape, mean=0.0, stddev=1.0, dtype=np.float32, seed=None, name=None):
    """``tf.random.normal``: a tensor of normal draws from convnp's generator (or from
    ``seed`` alone when given)."""
    from convnp.tensor.eager import as_dtype, to_eager

    values = _seeded(seed).normal(np.asarray(mean, dtype=np.float64),
                                  np.asarray(stddev, dtype=np.float64), _draw_shape(shape))
    return to_eager(values.astype(as_dtype(dtype).dtype))


def uniform(shape, minval=0, maxval=None, dtype=np.float32, seed=None, name=None):
    """``tf.random.uniform``: floats in [minval, maxval) (maxval defaults to 1); integer dtypes
    need ``maxval``."""
    from convnp.tensor.eager import as_dtype, to_eager

    target = as_dtype(dtype).dtype
    if target.kind in "iu":
        if maxval is None:
            raise ValueError("uniform: an integer dtype needs maxval")
        values = _seeded(seed).integers(int(minval), int(maxval), _draw_shape(shape))
    else:
        values = _seeded(seed).uniform(float(minval), 1.0 if maxval is None else float(maxval),
                                       _draw_shape(shape))
    return to_eager(values.astype(target))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=np.float32, seed=None, name=None):
    """Normal draws redrawn until within two standard deviations of the mean."""
    from convnp.tensor.eager import as_dtype, to_eager

    rng = _seeded(seed)
    values = rng.standard_normal(_draw_shape(shape))
    bad = np.abs(values) > 2
    while bad.any():
        values[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(values) > 2
    return to_eager((values * stddev + mean).astype(as_dtype(dtype).dtype))


def shuffle(value, seed=None, name=None):
    """A copy of ``value`` with its first axis permuted."""
    from convnp.tensor.eager import to_eager

    arr = np.asarray(value)
    return to_eager(arr[_seeded(seed).permutation(len(arr))])
