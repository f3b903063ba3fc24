"""``keras.random`` (Keras 3): random tensors from a seed, an int or a `SeedGenerator`.

Without a seed the draws come from convnp's generator (``keras.utils.set_random_seed`` repeats
them). A `SeedGenerator` gives a new, repeatable stream of seeds: each call that uses it draws
different numbers, and the same generator seed gives the same sequence. The numbers differ from
Keras' backends (another generator).
"""

from __future__ import annotations

import numpy as np

__all__ = ["SeedGenerator", "beta", "binomial", "categorical", "dropout", "gamma", "normal",
           "randint", "shuffle", "truncated_normal", "uniform"]


class SeedGenerator:
    """A stream of seeds, from ``seed`` (an int) or, without one, from convnp's generator.

    As in Keras 3, its ``state`` is a non-trainable int64 variable ``[seed, draws so far]``
    (``seed_generator_state``): each draw that uses the generator advances the count, and
    the seed of the draw is made from the whole state, so that a state assigned back (a
    restored checkpoint) gives the same draws again."""

    def __init__(self, seed=None, name=None, **kwargs):
        from convnp.variables import Variable

        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int,
                                                                              np.integer))):
            raise ValueError(  # Keras 3's error for a seed that is no int
                f"SeedGenerator: seed must be an int or None, got {seed!r}")
        if seed is None:
            from convnp.random import generator

            seed = int(generator().integers(0, 2**31 - 1))
        self.seed = int(seed)
        self.name = name if name is not None else "seed_generator"
        self.state = Variable(np.array([self.seed, 0], dtype=np.int64), trainable=False,
                              name="seed_generator_state")

    def _next_int(self) -> int:
        """The seed of the next draw (an int for NumPy's generator); the count goes up."""
        seed, count = (int(v) for v in np.asarray(self.state.value))
        self.state.assign(np.array([seed, count + 1], dtype=np.int64))
        return int(np.random.default_rng([seed & 0xFFFFFFFF, count]).integers(0, 2**31 - 1))

    def next(self, ordered=True):
        """Keras 3's seed tensor of the next draw: two int64 numbers (the count goes up)."""
        from convnp.tensor.ops import constant

        return constant(np.array([self.seed, self._next_int()], dtype=np.int64))

    def get_config(self) -> dict:
        return {"seed": self.seed, "name": self.name}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


def _rng(seed) -> np.random.Generator:
    if seed is None:
        from convnp.random import generator

        return generator()
    if isinstance(seed, SeedGenerator):
        return np.random.default_rng(seed._next_int())
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(  # noqa: TRY004 - Keras 3 raises a ValueError for any other seed
            f"seed must be an int, a keras.random.SeedGenerator or None, got {seed!r} (of type "
            f"{type(seed).__name__})")
    return np.random.default_rng(int(seed))


def _whole(d) -> bool:
    """An int, or a 0-d integer array/tensor (``keras.ops.shape(x)[0]`` in a map function)."""
    if isinstance(d, bool):
        return False
    if isinstance(d, np.ndarray):
        return d.ndim == 0 and d.dtype.kind in "iu"
    return isinstance(d, (int, np.integer))


def _shape(shape) -> tuple[int, ...]:
    if isinstance(shape, np.ndarray) and shape.ndim == 1 and shape.dtype.kind in "iu":
        shape = shape.tolist()  # a shape tensor: tf.shape(x)[:1]
    dims = (shape,) if _whole(shape) else tuple(shape)
    if any(not _whole(d) or d < 0 for d in dims):
        raise ValueError(f"shape must be non-negative ints, got {shape!r}")
    return tuple(int(d) for d in dims)


def _tensor(array, dtype):
    from convnp.tensor.eager import as_dtype
    from convnp.tensor.tape import new_tensor

    return new_tensor(array.astype(as_dtype(dtype or "float32").dtype))


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal draws; a float dtype only (another is TensorFlow's TypeError)."""
    dtype = _float_dtype(dtype, "normal", TypeError)
    return _tensor(_rng(seed).normal(mean, stddev, _shape(shape)), dtype)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Floats in ``[minval, maxval)``; an integer dtype is Keras's ValueError (`randint`
    draws integers)."""
    dtype = _float_dtype(dtype, "uniform", ValueError)
    if not maxval > minval:
        raise ValueError(f"uniform: maxval must be above minval, got {minval}, {maxval}")
    return _tensor(_rng(seed).uniform(minval, maxval, _shape(shape)), dtype)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal draws more than two standard deviations from ``mean`` drawn again."""
    dtype = _float_dtype(dtype, "truncated_normal", TypeError)
    rng = _rng(seed)
    values = rng.normal(0.0, 1.0, _shape(shape))
    bad = np.abs(values) > 2
    while bad.any():
        values[bad] = rng.normal(0.0, 1.0, int(bad.sum()))
        bad = np.abs(values) > 2
    return _tensor(mean + stddev * values, dtype)


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers in ``[minval, maxval)``."""
    if not maxval > minval:
        raise ValueError(f"randint: maxval must be above minval, got {minval}, {maxval}")
    return _tensor(_rng(seed).integers(minval, maxval, _shape(shape)), dtype)


def shuffle(x, axis=0, seed=None):
    array = np.asarray(x)
    return _tensor(_rng(seed).permutation(array, axis=axis), array.dtype)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zero each value with probability ``rate`` and scale the rest by ``1 / (1 - rate)``."""
    if not 0 <= rate < 1:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate}")
    array = np.asarray(inputs)
    keep = _rng(seed).random(array.shape if noise_shape is None else _shape(noise_shape))
    return _tensor(np.where(keep >= rate, array / (1 - rate), 0), array.dtype)


def categorical(logits, num_samples, dtype="int32", seed=None):
    """``num_samples`` class indices per row of ``logits`` ``(batch, classes)``."""
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"categorical: logits must be (batch, classes), got {z.shape}")
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    rng = _rng(seed)
    return _tensor(np.stack([rng.choice(z.shape[1], int(num_samples), p=row) for row in p]),
                   dtype)


def _float_dtype(dtype, who: str, error: type[Exception] = TypeError):
    """``dtype`` (float32 by default) when it is a float dtype. Another is refused with
    ``error``, the class TensorFlow 2.21 raises for that function: a TypeError from the
    sampling ops (normal, gamma, beta ...), a ValueError from Keras's check in `uniform`."""
    from convnp.tensor.eager import as_dtype

    target = as_dtype(dtype or "float32")
    if not target.is_floating:
        raise error(f"{who}: dtype must be a float dtype, got {target.name}")
    return target


def _parameter(value, shape: tuple, name: str, who: str) -> np.ndarray:
    """A distribution parameter (a number or an array) broadcast to the output ``shape``."""
    array = np.asarray(value, dtype=np.float64)
    try:
        return np.broadcast_to(array, shape)
    except ValueError:
        raise ValueError(f"{who}: {name} of shape {array.shape} does not broadcast to the "
                         f"output shape {shape}") from None


def _positive(array: np.ndarray, name: str, who: str) -> None:
    if not np.all(array > 0):
        raise ValueError(f"{who}: {name} must be > 0, got values down to {array.min()}")


def gamma(shape, alpha, dtype=None, seed=None):
    """Gamma draws of shape ``shape`` with concentration ``alpha`` (a number or an array
    broadcast to ``shape``) and scale 1. MixUp mixes with two of these."""
    target = _float_dtype(dtype, "gamma")
    shape = _shape(shape)
    a = _parameter(alpha, shape, "alpha", "gamma")
    _positive(a, "alpha", "gamma")
    return _tensor(_rng(seed).gamma(a, 1.0, size=shape), target)


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Beta(``alpha``, ``beta``) draws in [0, 1] of shape ``shape`` (each parameter a number
    or an array broadcast to ``shape``)."""
    target = _float_dtype(dtype, "beta")
    shape = _shape(shape)
    a = _parameter(alpha, shape, "alpha", "beta")
    b = _parameter(beta, shape, "beta", "beta")
    _positive(a, "alpha", "beta")
    _positive(b, "beta", "beta")
    return _tensor(_rng(seed).beta(a, b, size=shape), target)


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Numbers of successes in ``counts`` trials of probability ``probabilities`` (each a
    number or an array broadcast to ``shape``), as floats by default (as Keras)."""
    from convnp.tensor.eager import as_dtype

    shape = _shape(shape)
    n = _parameter(counts, shape, "counts", "binomial")
    p = _parameter(probabilities, shape, "probabilities", "binomial")
    if np.any(n < 0) or np.any(n != np.floor(n)):
        raise ValueError("binomial: counts must be whole numbers >= 0")
    if np.any(p < 0) or np.any(p > 1):
        raise ValueError("binomial: probabilities must lie in [0, 1]")
    return _tensor(_rng(seed).binomial(n.astype(np.int64), p, size=shape),
                   as_dtype(dtype or "float32"))
