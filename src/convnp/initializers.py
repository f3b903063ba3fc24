"""Weight initializers, looked up by Keras name.

`get(identifier)` returns a callable `init(shape, dtype=np.float32) -> ndarray`. Every draw
comes from `convnp.random.generator()` at call time (looked up then, not at construction), so
`convnp.random.set_seed(n)` before building a model makes its weights repeat. An initializer
given its own `seed=` instead draws from a fresh generator seeded with it on every call, so it
returns the same values each time, as Keras's seeded initializers do.

Fan rules follow Keras: for a shape `(..., fan_in_axis, fan_out_axis)` the receptive field is
the product of the leading axes, so a conv kernel `(kh, kw, cin, cout)` has
`fan_in = kh*kw*cin` and `fan_out = kh*kw*cout`; a Dense kernel `(n_in, n_out)` has
`fan_in = n_in`, `fan_out = n_out`. A variance-scaling initializer given `input_axes` and
`output_axes` (Keras 3.15; `EinsumDense` sets them on its kernel's) multiplies the sizes of
those axes instead.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from convnp import random as _random
from convnp._checks import check_number
from convnp.serialization import Registry
from convnp.tensor.errors import InvalidArgumentError

__all__ = [
    "Constant",
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "Identity",
    "IdentityInitializer",
    "Initializer",
    "LecunNormal",
    "LecunUniform",
    "Ones",
    "Orthogonal",
    "OrthogonalInitializer",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "Zeros",
    "compute_fans",
    "deserialize",
    "get",
    "serialize",
]

# Standard deviation of a unit normal truncated to [-2, 2]; dividing by it makes the
# truncated draw have the requested variance (the constant Keras uses).
_TRUNC_STD = 0.87962566103423978


def compute_fans(shape: tuple[int, ...], input_axes=None,
                 output_axes=None) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight shape by Keras's rule (see module docstring)."""
    shape = tuple(int(s) for s in shape)
    if input_axes is not None and output_axes is not None:
        return (math.prod(shape[a] for a in input_axes),
                math.prod(shape[a] for a in output_axes))
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def _check_shape(shape) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        shape = tuple(int(s) for s in shape)
    except TypeError as exc:
        raise TypeError(f"shape must be a tuple of ints, got {shape!r}") from exc
    if any(s < 0 for s in shape):
        raise ValueError(f"shape must have non-negative sizes, got {shape}")
    return shape


def _numpy_dtype(dtype) -> np.dtype:
    """An initializer's ``dtype``: None and Python's float are float32, as in Keras (NumPy
    would read float as float64)."""
    return np.dtype(np.float32 if dtype is None or dtype is float else dtype)


def _check_dtype(dtype) -> np.dtype:
    dtype = _numpy_dtype(dtype)
    if not np.issubdtype(dtype, np.floating):
        raise TypeError(f"initializers produce floating arrays; got dtype {dtype}")
    return dtype


def _check_fill_dtype(dtype) -> np.dtype:
    """The constant fills also make integer and bool arrays (``tf.zeros_initializer()(shape,
    dtype=tf.int32)``), as TensorFlow's and Keras's do."""
    dtype = _numpy_dtype(dtype)
    if dtype.kind not in "fiub":
        raise TypeError(f"initializers produce numeric or bool arrays; got dtype {dtype}")
    return dtype


class Initializer:
    """Base class: `init(shape, dtype=np.float32) -> ndarray`."""

    def __call__(self, shape, dtype=np.float32) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class _Random(Initializer):
    """Shared seeding logic for random initializers."""

    def __init__(self, seed: int | None = None):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"seed must be an int or None, got {seed!r}")
        self.seed = None if seed is None else int(seed)

    def _rng(self) -> np.random.Generator:
        if self.seed is None:
            return _random.generator()
        return np.random.default_rng(self.seed)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}


def _truncated_normal(rng: np.random.Generator, shape, mean: float, stddev: float) -> np.ndarray:
    """Normal draws re-drawn until they fall within two standard deviations of the mean."""
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2.0
    while np.any(bad):
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2.0
    return out * stddev + mean


class _MeanStddev(_Random):
    """Arguments and config of the normal initializers (Keras defaults mean 0, stddev 0.05)."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.mean = check_number("mean", mean)
        self.stddev = check_number("stddev", stddev, 0.0)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomNormal(_MeanStddev):
    """Normal(mean, stddev) draws."""

    def __call__(self, shape, dtype=np.float32):
        shape, dtype = _check_shape(shape), _check_dtype(dtype)
        return (self._rng().standard_normal(shape) * self.stddev + self.mean).astype(dtype)


class TruncatedNormal(_MeanStddev):
    """Normal(mean, stddev) truncated to mean ± 2*stddev."""

    def __call__(self, shape, dtype=np.float32):
        shape, dtype = _check_shape(shape), _check_dtype(dtype)
        return _truncated_normal(self._rng(), shape, self.mean, self.stddev).astype(dtype)


class RandomUniform(_Random):
    """Uniform draws in [minval, maxval) (Keras defaults -0.05, 0.05)."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        if maxval < minval:
            raise ValueError(f"RandomUniform needs minval <= maxval, got {minval} > {maxval}")
        self.minval = float(minval)
        self.maxval = float(maxval)

    def __call__(self, shape, dtype=np.float32):
        shape, dtype = _check_shape(shape), _check_dtype(dtype)
        return self._rng().uniform(self.minval, self.maxval, shape).astype(dtype)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class VarianceScaling(_Random):
    """Draws with variance `scale / n`, n = fan_in, fan_out or their average.

    distribution: `"truncated_normal"` (stddev corrected for the truncation),
    `"untruncated_normal"`, or `"uniform"` (limit `sqrt(3 * scale / n)`).
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform", "normal")

    def __init__(self, scale: float = 1.0, mode: str = "fan_in",
                 distribution: str = "truncated_normal", seed: int | None = None,
                 input_axes=None, output_axes=None):
        super().__init__(seed)
        self.input_axes = None if input_axes is None else [int(a) for a in input_axes]
        self.output_axes = None if output_axes is None else [int(a) for a in output_axes]
        if scale <= 0:
            raise ValueError(f"VarianceScaling needs scale > 0, got {scale}")
        if mode not in self._MODES:
            raise ValueError(f"mode must be one of {self._MODES}, got {mode!r}")
        distribution = distribution.lower()
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(
                f"distribution must be one of {self._DISTRIBUTIONS}, got {distribution!r}")
        if distribution == "normal":  # Keras's old spelling
            distribution = "truncated_normal"
        self.scale = float(scale)
        self.mode = mode
        self.distribution = distribution

    def __call__(self, shape, dtype=np.float32):
        shape, dtype = _check_shape(shape), _check_dtype(dtype)
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, n)
        rng = self._rng()
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            out = rng.uniform(-limit, limit, shape)
        elif self.distribution == "truncated_normal":
            out = _truncated_normal(rng, shape, 0.0, math.sqrt(variance) / _TRUNC_STD)
        else:
            out = rng.standard_normal(shape) * math.sqrt(variance)
        return out.astype(dtype)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed, **self._axes_config()}

    def _axes_config(self) -> dict:
        """Keras 3.15's ``input_axes``/``output_axes``, written only when set."""
        if self.input_axes is None and self.output_axes is None:
            return {}
        return {"input_axes": self.input_axes, "output_axes": self.output_axes}

    def with_axes(self, input_axes, output_axes) -> VarianceScaling:
        """A copy counting its fans on these axes of the shapes it draws."""
        config = {**self.get_config(), "input_axes": input_axes, "output_axes": output_axes}
        return type(self).from_config(config)


class _Preset(VarianceScaling):
    """A VarianceScaling with fixed arguments; its config holds only the seed."""

    _preset: tuple[float, str, str] = (1.0, "fan_in", "truncated_normal")

    def __init__(self, seed: int | None = None, input_axes=None, output_axes=None):
        scale, mode, distribution = self._preset
        super().__init__(scale=scale, mode=mode, distribution=distribution, seed=seed,
                         input_axes=input_axes, output_axes=output_axes)

    def get_config(self):
        return {"seed": self.seed, **self._axes_config()}


def _preset_class(name: str, scale: float, mode: str, distribution: str,
                  doc: str) -> type[_Preset]:
    return type(name, (_Preset,), {"_preset": (scale, mode, distribution), "__doc__": doc,
                                   "__module__": __name__, "__qualname__": name})


# Keras's named VarianceScaling presets: (name, scale, mode, distribution, what it draws)
GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal, LecunUniform = (
    _preset_class(*row) for row in (
        ("GlorotUniform", 1.0, "fan_avg", "uniform",
         "Uniform in ±sqrt(6 / (fan_in + fan_out)); Keras's default kernel initializer."),
        ("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
         "Truncated normal with stddev sqrt(2 / (fan_in + fan_out)) (before truncation fix)."),
        ("HeNormal", 2.0, "fan_in", "truncated_normal",
         "Truncated normal with stddev sqrt(2 / fan_in)."),
        ("HeUniform", 2.0, "fan_in", "uniform", "Uniform in ±sqrt(6 / fan_in)."),
        ("LecunNormal", 1.0, "fan_in", "truncated_normal",
         "Truncated normal with stddev sqrt(1 / fan_in)."),
        ("LecunUniform", 1.0, "fan_in", "uniform", "Uniform in ±sqrt(3 / fan_in)."),
    ))


class Constant(Initializer):
    """Every element equal to `value`; or, for a list/array `value`, that array broadcast to
    the shape (Keras 3), or laid out in it when it has exactly as many elements
    (`tf.constant_initializer([1., 2., 3., 4.])((2, 2))`)."""

    def __init__(self, value: float = 0.0):
        if np.ndim(value) == 0:
            self.value = float(value)
        else:
            array = np.asarray(value)
            if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
                raise TypeError(f"Constant value must be a number or an array of numbers, got "
                                f"{value!r}")
            self.value = array.astype(np.float64)

    def __call__(self, shape, dtype=np.float32):
        shape, dtype = _check_shape(shape), _check_fill_dtype(dtype)
        if isinstance(self.value, float):
            return np.full(shape, self.value, dtype=dtype)
        try:
            return np.broadcast_to(self.value, shape).astype(dtype)
        except ValueError:
            if self.value.size != math.prod(shape):
                # TF 2.21 raises InvalidArgumentError here (a ValueError too in convnp)
                raise InvalidArgumentError(
                    f"Constant value of shape {self.value.shape} neither broadcasts "
                    f"to nor has as many elements as the shape {shape}") from None
            return self.value.reshape(shape).astype(dtype)

    def get_config(self):
        value = self.value
        return {"value": value if isinstance(value, float) else value.tolist()}


class Zeros(Initializer):
    """All zeros (Keras's default bias initializer)."""

    def __call__(self, shape, dtype=np.float32):
        return np.zeros(_check_shape(shape), dtype=_check_fill_dtype(dtype))


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, dtype=np.float32):
        return np.ones(_check_shape(shape), dtype=_check_fill_dtype(dtype))


class Identity(Initializer):
    """``gain`` times the identity matrix, for 2-D weights only (Keras's ``Identity``)."""

    def __init__(self, gain: float = 1.0):
        self.gain = float(gain)

    def __call__(self, shape, dtype=np.float32):
        shape = _check_shape(shape)
        if len(shape) != 2:
            raise ValueError(f"Identity initializer needs a 2-D shape, got {shape}")
        return self.gain * np.eye(*shape, dtype=_check_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain}


class Orthogonal(_Random):
    """``gain`` times a random orthogonal matrix: the weight seen as ``(prod(shape[:-1]),
    shape[-1])`` has orthonormal columns (or rows, when it is wider than tall). Made from the
    QR decomposition of a normal draw, with the signs fixed so the result is uniform over
    orthogonal matrices. Needs at least two axes."""

    def __init__(self, gain: float = 1.0, seed: int | None = None):
        super().__init__(seed)
        self.gain = check_number("gain", gain)

    def __call__(self, shape, dtype=np.float32):
        shape, dtype = _check_shape(shape), _check_dtype(dtype)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal initializer needs a shape of two or more axes, got "
                             f"{shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        draw = self._rng().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(draw)
        q = q * np.where(np.diag(r) < 0, -1.0, 1.0)  # a unique, uniformly spread Q
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape).astype(dtype)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


# Keras 3's spellings: each class name, its snake-case name, and the old short ones. Any other
# callable init(shape, dtype) is used as it is.
INITIALIZERS = Registry("initializer", Initializer, wrap=lambda function: function)
for _cls in (VarianceScaling, GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal,
             LecunUniform, RandomNormal, RandomUniform, TruncatedNormal):
    INITIALIZERS.add(_cls)
INITIALIZERS.add(Zeros, "zero")
INITIALIZERS.add(Ones, "one")
INITIALIZERS.add(Constant)
INITIALIZERS.add(Identity, "IdentityInitializer")
INITIALIZERS.add(Orthogonal, "OrthogonalInitializer")
INITIALIZERS.add(RandomUniform, "uniform", snake=False)
INITIALIZERS.add(RandomNormal, "normal", snake=False)
OrthogonalInitializer, IdentityInitializer = Orthogonal, Identity
# tf.keras.initializers exports the lowercase spellings too, each its class
# (``from tensorflow.keras.initializers import random_uniform, glorot_uniform``)
for _spelling, _cls in INITIALIZERS.entries.items():
    if _spelling.isidentifier() and _spelling not in globals():
        globals()[_spelling] = _cls
        __all__.append(_spelling)


def get(identifier: Any) -> Initializer:
    """Resolve an initializer: a name (`"glorot_uniform"`, `"GlorotUniform"`, `"zeros"`, ...),
    an `Initializer`, a Keras config dict, or any callable `init(shape, dtype)`.

    Raises:
        ValueError: unknown name (the message lists the close and the known ones).
        TypeError: an identifier of an unsupported type.
    """
    if identifier is None:
        raise TypeError("initializer must not be None; expected a name such as 'glorot_uniform'")
    return INITIALIZERS.get(identifier)


def serialize(initializer: Any) -> dict[str, Any]:
    """Keras-style config: `{"class_name": "GlorotUniform", "config": {"seed": None}}`."""
    init = get(initializer)
    if not isinstance(init, Initializer):
        raise TypeError(f"cannot serialize a plain callable initializer: {init!r}")
    return INITIALIZERS.serialize(init)


def deserialize(config: Any, custom_objects=None) -> Initializer:
    """Inverse of `serialize` (a name string is accepted too)."""
    return INITIALIZERS.deserialize(config, custom_objects)
