"""The one source of randomness in convnp, and ``tf.random``.

Weight initializers, `fit`'s shuffling, `Dropout` and `Dataset.shuffle` all draw from
`generator()`. `set_seed(n)` (also `convnp.keras.utils.set_random_seed`) replaces it, which
makes a run repeat bit for bit.

Seeds follow TensorFlow's observable rule: an op without ``seed`` draws from the global
generator; an op with ``seed=k`` draws from its own generator for ``(global seed, k)``, so
repeated calls give a sequence of different values that starts over after `set_seed`.
Stateless functions (``seed=(a, b)``) give the same values for the same seed, always. The
numbers are NumPy's (PCG64), not TensorFlow's (Philox).
"""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()
_global_seed: int | None = None
_op_generators: dict[int, np.random.Generator] = {}


def set_seed(seed: int) -> None:
    """Reset the global generator (and NumPy's legacy one, for user code that uses it)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    global _generator, _global_seed
    _generator = np.random.default_rng(int(seed))
    _global_seed = int(seed)
    _op_generators.clear()
    np.random.seed(int(seed) % 2**32)


def generator() -> np.random.Generator:
    """The current global generator."""
    return _generator


# -- tf.random: tensors drawn from the same generator ------------------------------------------


def _draw_shape(shape) -> tuple:
    return tuple(int(s) for s in np.asarray(shape).reshape(-1)) if not isinstance(
        shape, (int, np.integer)) else (int(shape),)


def _seeded(seed) -> np.random.Generator:
    """The generator an op with this ``seed`` argument draws from (see the module docstring)."""
    if seed is None:
        return generator()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
    key = int(seed)
    if key not in _op_generators:
        entropy = [key % 2**64] if _global_seed is None else [_global_seed % 2**64, key % 2**64]
        _op_generators[key] = np.random.default_rng(entropy)
    return _op_generators[key]


def _stateless(seed) -> np.random.Generator:
    """A fresh generator for a stateless op's ``seed``: a pair of ints (any int dtype)."""
    pair = np.asarray(seed)
    if pair.shape != (2,) or pair.dtype.kind not in "iu":
        raise ValueError(f"a stateless seed must be a shape [2] integer tensor, got "
                         f"shape {pair.shape} dtype {pair.dtype}")
    return np.random.default_rng([int(v) % 2**64 for v in pair])


def _seed_dtype(seed) -> np.dtype:
    """The dtype TensorFlow gives a seed: its own for an array, int32 for Python ints."""
    if isinstance(seed, np.ndarray) or hasattr(seed, "_convnp_variable"):
        return np.asarray(seed).dtype
    return np.dtype(np.int32)


def _dtype(dtype) -> np.dtype:
    from convnp.tensor.eager import as_dtype

    return as_dtype(dtype).dtype


def _tensor(values: np.ndarray, dtype):
    from convnp.tensor.eager import to_eager

    return to_eager(np.asarray(values).astype(_dtype(dtype)))


def _float_dtype(dtype, what: str) -> np.dtype:
    target = _dtype(dtype)
    if target.kind != "f":
        raise ValueError(f"{what}: dtype must be a floating dtype, got {target}")
    return target


def _draw_normal(rng: np.random.Generator, shape, mean, stddev, dtype):
    _float_dtype(dtype, "normal")
    values = rng.normal(np.asarray(mean, dtype=np.float64),
                        np.asarray(stddev, dtype=np.float64), _draw_shape(shape))
    return _tensor(values, dtype)


def _draw_uniform(rng: np.random.Generator, shape, minval, maxval, dtype):
    from convnp.tensor.errors import InvalidArgumentError

    target = _dtype(dtype)
    if target.kind in "iu":
        if maxval is None:
            raise ValueError("uniform: an integer dtype needs maxval")
        if int(maxval) <= int(minval):
            # TF 2.21's op check (an InvalidArgumentError, a ValueError too in convnp)
            raise InvalidArgumentError(f"uniform: need minval < maxval, got {minval} and "
                                       f"{maxval}")
        values = rng.integers(int(minval), int(maxval), _draw_shape(shape))
    elif target.kind == "f":
        low, high = float(minval), 1.0 if maxval is None else float(maxval)
        if high >= low:
            values = rng.uniform(low, high, _draw_shape(shape))
        else:
            # TF 2.21 checks nothing for floats: it draws minval + (maxval - minval) * u, so
            # minval=1, maxval=0 gives values in (0, 1]
            values = low + (high - low) * rng.random(_draw_shape(shape))
    else:
        raise ValueError(f"uniform: dtype must be a float or integer dtype, got {target}")
    return _tensor(values, target)


def _draw_truncated(rng: np.random.Generator, shape, mean, stddev, dtype):
    _float_dtype(dtype, "truncated_normal")
    values = rng.standard_normal(_draw_shape(shape))
    bad = np.abs(values) > 2
    while bad.any():
        values[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(values) > 2
    return _tensor(values * stddev + mean, dtype)


def normal(shape, mean=0.0, stddev=1.0, dtype=np.float32, seed=None, name=None):
    """``tf.random.normal``: normal draws from convnp's generator (or the op seed's)."""
    return _draw_normal(_seeded(seed), shape, mean, stddev, dtype)


def uniform(shape, minval=0, maxval=None, dtype=np.float32, seed=None, name=None):
    """``tf.random.uniform``: floats in [minval, maxval) (maxval defaults to 1); integer dtypes
    need ``maxval``."""
    return _draw_uniform(_seeded(seed), shape, minval, maxval, dtype)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=np.float32, seed=None, name=None):
    """Normal draws redrawn until within two standard deviations of the mean."""
    return _draw_truncated(_seeded(seed), shape, mean, stddev, dtype)


def shuffle(value, seed=None, name=None):
    """A copy of ``value`` with its first axis permuted."""
    from convnp.tensor.eager import to_eager

    arr = np.asarray(value)
    return to_eager(arr[_seeded(seed).permutation(len(arr))])


def stateless_normal(shape, seed, mean=0.0, stddev=1.0, dtype=np.float32, name=None,
                     alg="auto_select"):
    """``tf.random.stateless_normal``: the same values for the same ``seed=(a, b)``."""
    return _draw_normal(_stateless(seed), shape, mean, stddev, dtype)


def stateless_uniform(shape, seed, minval=0, maxval=None, dtype=np.float32, name=None,
                      alg="auto_select"):
    """``tf.random.stateless_uniform``: the same values for the same ``seed=(a, b)``."""
    return _draw_uniform(_stateless(seed), shape, minval, maxval, dtype)


def stateless_truncated_normal(shape, seed, mean=0.0, stddev=1.0, dtype=np.float32, name=None,
                               alg="auto_select"):
    return _draw_truncated(_stateless(seed), shape, mean, stddev, dtype)


def _draw_categorical(rng: np.random.Generator, logits, num_samples, dtype):
    target = np.dtype(np.int64) if dtype is None else _dtype(dtype)
    if target not in (np.dtype(np.int32), np.dtype(np.int64)):
        raise ValueError(f"categorical: dtype must be int32 or int64, got {target}")
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] == 0:
        raise ValueError(f"categorical expects logits of shape (batch, num_classes), got "
                         f"{z.shape}")
    n = int(num_samples)
    if n < 0:
        raise ValueError(f"categorical: num_samples must be >= 0, got {num_samples}")
    p = np.exp(z - z.max(axis=1, keepdims=True))
    cdf = np.cumsum(p, axis=1)
    cdf /= cdf[:, -1:]
    u = rng.random((z.shape[0], n))
    picks = np.array([np.searchsorted(row, draws, side="right") for row, draws in zip(cdf, u)],
                     dtype=np.int64).reshape(z.shape[0], n)
    return _tensor(np.minimum(picks, z.shape[1] - 1), target)


def categorical(logits, num_samples, dtype=None, seed=None, name=None):
    """``tf.random.categorical``: ``(batch, num_samples)`` class indices (int64) drawn with
    probabilities ``softmax(logits)`` row by row."""
    return _draw_categorical(_seeded(seed), logits, num_samples, dtype)


def stateless_categorical(logits, num_samples, seed, dtype=np.int64, name=None):
    return _draw_categorical(_stateless(seed), logits, num_samples, dtype)


def gamma(shape, alpha, beta=None, dtype=np.float32, seed=None, name=None):
    """``tf.random.gamma``: shape ``shape + broadcast(alpha, beta).shape``; ``beta`` is the
    inverse scale (rate), 1 by default."""
    _float_dtype(dtype, "gamma")
    a = np.asarray(alpha, dtype=np.float64)
    b = np.ones_like(a) if beta is None else np.asarray(beta, dtype=np.float64)
    a, b = np.broadcast_arrays(a, b)
    if np.any(a <= 0) or np.any(b <= 0):
        raise ValueError("gamma: alpha and beta must be > 0")
    out_shape = _draw_shape(shape) + a.shape
    return _tensor(_seeded(seed).gamma(a, 1.0 / b, size=out_shape), dtype)


def stateless_gamma(shape, seed, alpha, beta=None, dtype=np.float32, name=None):
    """``tf.random.stateless_gamma``: the same values for the same ``seed=(a, b)``. Unlike
    `gamma`, the result has shape ``shape`` itself: ``alpha`` and ``beta`` (the rate, 1 by
    default) broadcast to it, as in TensorFlow (``shape=[10, 2]`` with two alphas draws ten
    from each)."""
    _float_dtype(dtype, "stateless_gamma")
    out_shape = _draw_shape(shape)
    a = np.asarray(alpha, dtype=np.float64)
    b = np.ones_like(a) if beta is None else np.asarray(beta, dtype=np.float64)
    try:
        a, b = np.broadcast_to(a, out_shape), np.broadcast_to(b, out_shape)
    except ValueError:
        raise ValueError(f"stateless_gamma: alpha {a.shape} and beta {b.shape} must broadcast "
                         f"to the output shape {list(out_shape)}") from None
    if np.any(a <= 0) or np.any(b <= 0):
        raise ValueError("stateless_gamma: alpha and beta must be > 0")
    return _tensor(_stateless(seed).gamma(a, 1.0 / b), dtype)


def poisson(shape, lam, dtype=np.float32, seed=None, name=None):
    """``tf.random.poisson``: counts of shape ``shape + lam.shape`` (float32 by default)."""
    rate = np.asarray(lam, dtype=np.float64)
    if np.any(rate < 0):
        raise ValueError("poisson: lam must be >= 0")
    target = _dtype(dtype)
    if target.kind not in "fiu":
        raise ValueError(f"poisson: dtype must be a float or integer dtype, got {target}")
    return _tensor(_seeded(seed).poisson(rate, size=_draw_shape(shape) + rate.shape), target)


def _crop_at_random(value, size, rng: np.random.Generator):
    """``value`` cut to ``size`` (one entry per axis) at an offset drawn from ``rng``. A size
    that does not fit is TensorFlow's InvalidArgumentError (the op's own check there; it is a
    ValueError too)."""
    from convnp.tensor.errors import InvalidArgumentError
    from convnp.tensor.ops import _slice
    from convnp.tensor.tape import value_of

    a = value_of(value)
    want = _draw_shape(size)
    if len(want) != a.ndim:
        raise InvalidArgumentError(f"random_crop: size needs one entry per axis of the "
                                   f"value (rank {a.ndim}), got {list(want)}")
    if any(w < 0 or w > d for w, d in zip(want, a.shape)):
        raise InvalidArgumentError(f"random_crop: size {list(want)} does not fit in "
                                   f"shape {list(a.shape)}")
    starts = [int(rng.integers(0, d - w + 1)) for w, d in zip(want, a.shape)]
    return _slice(value, tuple(slice(s, s + w) for s, w in zip(starts, want)))


def random_crop(value, size, seed=None, name=None):
    """``tf.image.random_crop`` (also ``tf.random_crop``): a ``size`` window of ``value`` at a
    uniformly drawn offset; differentiable (the gradient lands in the window)."""
    return _crop_at_random(value, size, _seeded(seed))


class Generator:
    """``tf.random.Generator``: a generator object with its own state.

    ``Generator.from_seed(1).normal([2])`` gives the same values in every run; the numbers
    are NumPy's PCG64 stream, not TensorFlow's Philox.
    """

    def __init__(self, copy_from=None, state=None, alg=None):
        if copy_from is not None:
            if not isinstance(copy_from, Generator):
                raise TypeError(f"copy_from must be a Generator, got {type(copy_from).__name__}")
            self._rng = np.random.Generator(type(copy_from._rng.bit_generator)())
            self._rng.bit_generator.state = copy_from._rng.bit_generator.state
        elif state is not None:
            self._rng = np.random.default_rng([int(v) % 2**64 for v in np.ravel(state)])
        else:
            raise ValueError("Generator needs copy_from or state; use Generator.from_seed(seed) "
                             "or Generator.from_non_deterministic_state()")

    @classmethod
    def from_seed(cls, seed, alg=None) -> Generator:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"from_seed: seed must be an int, got {type(seed).__name__}")
        return cls(state=[int(seed)])

    @classmethod
    def from_non_deterministic_state(cls, alg=None) -> Generator:
        return cls(state=np.random.SeedSequence().generate_state(2))

    @classmethod
    def from_state(cls, state, alg=None) -> Generator:
        return cls(state=state)

    def normal(self, shape, mean=0.0, stddev=1.0, dtype=np.float32, name=None):
        return _draw_normal(self._rng, shape, mean, stddev, dtype)

    def uniform(self, shape, minval=0, maxval=None, dtype=np.float32, name=None):
        return _draw_uniform(self._rng, shape, minval, maxval, dtype)

    def truncated_normal(self, shape, mean=0.0, stddev=1.0, dtype=np.float32, name=None):
        return _draw_truncated(self._rng, shape, mean, stddev, dtype)

    def make_seeds(self, count=1):
        """``(2, count)`` int64 seeds for the stateless functions (each column one seed)."""
        return _tensor(self._rng.integers(0, 2**62, size=(2, int(count))), np.int64)

    def split(self, count=1) -> list:
        """``count`` new independent generators (this one's state advances)."""
        return [Generator(state=self._rng.integers(0, 2**62, size=2)) for _ in range(int(count))]


_global_generator: Generator | None = None


def get_global_generator() -> Generator:
    global _global_generator
    if _global_generator is None:
        _global_generator = Generator.from_non_deterministic_state()
    return _global_generator


def set_global_generator(generator: Generator) -> None:
    global _global_generator
    if not isinstance(generator, Generator):
        raise TypeError(f"set_global_generator expects a Generator, got "
                        f"{type(generator).__name__}")
    _global_generator = generator


class experimental:
    """``tf.random.experimental``: seed splitting for the stateless functions."""

    Generator = Generator
    get_global_generator = staticmethod(get_global_generator)

    @staticmethod
    def stateless_split(seed, num=2):
        """``(num, 2)`` new seeds derived from ``seed`` (always the same for a seed), in the
        seed's dtype as TensorFlow: int32 for a list of Python ints, int64 for an int64
        tensor."""
        dtype = _seed_dtype(seed)
        top = np.iinfo(dtype).max
        return _tensor(_stateless(seed).integers(0, top, size=(int(num), 2)), dtype)

    @staticmethod
    def stateless_fold_in(seed, data, alg="auto_select"):
        """A new seed from ``seed`` and an integer ``data`` (the same for the same pair)."""
        _stateless(seed)  # validates the seed's shape and dtype
        mixed = np.random.default_rng([int(v) % 2**64 for v in np.asarray(seed)]
                                      + [int(data) % 2**64])
        # int32, whatever the seed's dtype, as TensorFlow's
        return _tensor(mixed.integers(0, np.iinfo(np.int32).max, size=2), np.int32)
