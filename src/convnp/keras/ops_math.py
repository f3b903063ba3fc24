"""Keras 3's elementwise ``keras.ops`` functions beyond the everyday ones (``arccos``,
``hypot``, ``logaddexp``, the bitwise ops, ...), defined from tables.

Each entry names the NumPy function that computes it and, where TensorFlow has one, the
derivative the tape records. Result dtypes follow Keras 3.15 on TensorFlow: the float
functions give float32 for integer or boolean inputs and keep a float dtype; two inputs
promote as Keras does (an integer with a float gives that float, Python numbers adopt the
tensor's kind). Re-exported by `convnp.keras.ops`.
"""

from __future__ import annotations

import builtins

import numpy as np

from convnp.tensor import _special_math
from convnp.tensor import ops as _ops
from convnp.tensor import symbolic as _symbolic
from convnp.tensor.debugging import InvalidArgumentError
from convnp.tensor.tape import unbroadcast

_PI = np.pi


def _arr(x) -> np.ndarray:
    return _ops._convert(x)


def _is_number(x) -> bool:
    return isinstance(x, (builtins.int, builtins.float, builtins.bool)) and not isinstance(
        x, np.generic)


def _result_dtype(*values) -> np.dtype:
    """Keras' ``result_type`` of the arguments: Python numbers are weak (a float makes an
    integer result float32), an integer tensor with a float one takes the float's dtype."""
    arrays = [_arr(v) for v in values if not _is_number(v)]
    floats = [a.dtype for a in arrays if a.dtype.kind == "f"]
    if floats:
        return np.result_type(*floats)
    weak_float = any(isinstance(v, builtins.float) for v in values if _is_number(v))
    ints = [a.dtype for a in arrays if a.dtype.kind in "iu"]
    if weak_float or (arrays and not ints and not all(a.dtype.kind == "b" for a in arrays)):
        return np.dtype(np.float32)
    if ints:
        return np.result_type(*ints)
    if arrays:
        return np.dtype(bool)
    return np.dtype(np.int32)


def _float_of(dtype: np.dtype) -> np.dtype:
    return dtype if dtype.kind == "f" else np.dtype(np.float32)


def _op_name(fn) -> str:
    return getattr(fn, "__name__", "op")


# -- one argument ---------------------------------------------------------------------------


def _unary(name: str, compute, derivative=None, result: str = "float", doc: str = ""):
    """A one-argument op: ``compute(a)`` on the input's values cast to the result dtype
    (``result``: 'float' casts integers to float32, 'same' keeps the dtype, 'bool' gives
    booleans, 'int' takes integers only); ``derivative(a, out)`` is dy/dx, recorded on the tape
    when given."""

    def op(x):
        a = _arr(x)
        if result == "float":
            a = a.astype(_float_of(a.dtype), copy=False)
        elif result == "int" and a.dtype.kind not in "iu":
            raise InvalidArgumentError(None, None, f"keras.ops.{name}: expected an integer "
                                       f"tensor, got {a.dtype}")
        elif result == "float_only" and a.dtype.kind != "f":
            raise InvalidArgumentError(None, None, f"keras.ops.{name}: expected a float "
                                       f"tensor, got {a.dtype}")
        with np.errstate(all="ignore"):
            out = np.asarray(compute(a))
        if result in ("float", "float_only", "same"):
            out = out.astype(a.dtype, copy=False)
        if derivative is None or out.dtype.kind != "f":
            return _ops._op(out, [x])

        def vjp(g):
            with np.errstate(all="ignore"):
                return [(np.asarray(g) * derivative(a, out)).astype(a.dtype, copy=False)]

        return _ops._op(out, [x], vjp)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc or f"Keras 3's ``keras.ops.{name}``, elementwise (NumPy's ``{name}``)."
    return op


def _sinc(a):
    return np.sinc(a)


def _sinc_slope(a, z):
    safe = np.where(a == 0, 1, a)
    return np.where(a == 0, 0, (np.cos(_PI * a) - z) / safe)


def _i1(a):
    """The modified Bessel function of the first kind, order 1 (the slope of ``i0``), by its
    power series (terms shrink fast for the magnitudes float32 can hold)."""
    a = np.asarray(a, dtype=np.float64)
    half = a / 2
    term, total = half.copy(), half.copy()
    for k in builtins.range(1, 200):
        term = term * half * half / (k * (k + 1))
        total = total + term
        if np.all(np.abs(term) <= 1e-17 * np.abs(total)):
            break
    return total


def _erfinv(a):
    """The inverse error function (`convnp.tensor._special_math.erfinv`, as tf.math's)."""
    return _special_math.erfinv(a, precise=a.dtype == np.float64)


def _erfc(a):
    """``1 - erf(a)`` keeping the right tail's digits (`convnp.tensor._special_math.erfc`)."""
    return _special_math.erfc(a, precise=a.dtype == np.float64)


def _angle(a):
    return np.where(a < 0, _PI, 0.0) if a.dtype.kind != "c" else np.angle(a)


# name: (compute, derivative dy/dx or None, result kind)
_UNARY_TABLE = {
    "arccos": (np.arccos, lambda a, z: -1 / np.sqrt(1 - a * a), "float"),
    "arccosh": (np.arccosh, lambda a, z: 1 / np.sqrt(a * a - 1), "float"),
    "arcsin": (np.arcsin, lambda a, z: 1 / np.sqrt(1 - a * a), "float"),
    "arcsinh": (np.arcsinh, lambda a, z: 1 / np.sqrt(a * a + 1), "float"),
    "arctan": (np.arctan, lambda a, z: 1 / (1 + a * a), "float"),
    "arctanh": (np.arctanh, lambda a, z: 1 / (1 - a * a), "float"),
    "cosh": (np.cosh, lambda a, z: np.sinh(a), "float"),
    "sinh": (np.sinh, lambda a, z: np.cosh(a), "float"),
    "tan": (np.tan, lambda a, z: 1 + z * z, "float"),
    "cbrt": (np.cbrt, lambda a, z: 1 / (3 * z * z), "float"),
    "exp2": (np.exp2, lambda a, z: z * np.log(2.0), "float"),
    "erfc": (_erfc, lambda a, z: -2 / np.sqrt(_PI) * np.exp(-a * a), "float_only"),
    "erfinv": (_erfinv, lambda a, z: np.sqrt(_PI) / 2 * np.exp(z * z), "float_only"),
    "fabs": (np.fabs, lambda a, z: np.sign(a), "float"),
    "sinc": (_sinc, _sinc_slope, "float"),
    "deg2rad": (np.deg2rad, lambda a, z: np.full_like(a, _PI / 180), "float"),
    "rad2deg": (np.rad2deg, lambda a, z: np.full_like(a, 180 / _PI), "float"),
    "i0": (np.i0, lambda a, z: _i1(a), "float"),
    "angle": (_angle, None, "float"),
    "trunc": (np.trunc, None, "same"),
    "real": (np.real, lambda a, z: np.ones_like(a), "same"),
    "imag": (np.imag, None, "same"),
    "conj": (np.conj, lambda a, z: np.ones_like(a), "same"),
    "signbit": (np.signbit, None, "bool"),
    "isneginf": (np.isneginf, None, "bool"),
    "isposinf": (np.isposinf, None, "bool"),
    "isreal": (np.isreal, None, "bool"),
    "bitwise_invert": (np.invert, None, "int"),
}

for _name, (_compute, _slope, _kind) in _UNARY_TABLE.items():
    globals()[_name] = _unary(_name, _compute, _slope, _kind)


def conjugate(x):
    """Keras' other name of ``conj``."""
    return conj(x)  # noqa: F821 (made from the table above)


def bitwise_not(x):
    """Keras' other name of ``bitwise_invert``."""
    return bitwise_invert(x)  # noqa: F821


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """NaN and infinities replaced by finite numbers; integer tensors unchanged. The gradient
    passes where the value was finite."""
    a = _arr(x)
    if a.dtype.kind != "f":
        return _ops._op(a.copy(), [x])
    out = np.nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf).astype(a.dtype, copy=False)
    keep = np.isfinite(a)
    return _ops._op(out, [x], lambda g: [np.asarray(g) * keep])


# -- two arguments --------------------------------------------------------------------------


def _binary(name: str, compute, derivative=None, result: str = "float"):
    """A two-argument op: both values cast to the promoted dtype (``result``: 'float' makes it
    float32 when integral, 'promote' keeps it, 'int' takes integers only); ``derivative(a, b,
    out)`` gives ``(dy/da, dy/db)`` (either None: no gradient for that input)."""

    def op(x1, x2):
        dtype = _result_dtype(x1, x2)
        if result == "float":
            dtype = _float_of(dtype)
        elif result in ("int", "int_only") and dtype.kind not in "iu":
            message = f"keras.ops.{name}: expected integer tensors, got {dtype}"
            if result == "int_only":  # checked by Keras itself, before TensorFlow's kernel
                raise TypeError(message)
            raise InvalidArgumentError(None, None, message)
        a, b = _arr(x1).astype(dtype, copy=False), _arr(x2).astype(dtype, copy=False)
        with np.errstate(all="ignore"):
            out = np.asarray(compute(a, b)).astype(dtype, copy=False)
        if derivative is None or dtype.kind != "f":
            return _ops._op(out, [x1, x2])

        def vjp(g):
            g = np.asarray(g)
            with np.errstate(all="ignore"):
                slopes = derivative(a, b, out)
            return [None if s is None else unbroadcast(g * s, a.shape).astype(dtype)
                    for s, a in zip(slopes, (a, b))]

        return _ops._op(out, [x1, x2], vjp)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Keras 3's ``keras.ops.{name}(x1, x2)``, elementwise with broadcasting."
    return op


def _heaviside(a, b):
    return np.where(a < 0, 0, np.where(a > 0, 1, b))


def _fmod_slopes(a, b, z):
    return np.ones_like(a), -np.trunc(a / b)


_BINARY_TABLE = {
    "arctan2": (np.arctan2, lambda a, b, z: (b / (a * a + b * b), -a / (a * a + b * b)),
                "float"),
    "hypot": (np.hypot, lambda a, b, z: (a / z, b / z), "float"),
    "logaddexp": (np.logaddexp, lambda a, b, z: (np.exp(a - z), np.exp(b - z)), "float"),
    "logaddexp2": (np.logaddexp2, lambda a, b, z: (np.exp2(a - z), np.exp2(b - z)), "float"),
    "fmax": (np.fmax, lambda a, b, z: (a >= b, a < b), "promote"),
    "fmin": (np.fmin, lambda a, b, z: (a <= b, a > b), "promote"),
    "fmod": (np.fmod, _fmod_slopes, "promote"),
    "heaviside": (_heaviside, lambda a, b, z: (None, (a == 0).astype(a.dtype)), "float"),
    "nextafter": (np.nextafter, lambda a, b, z: (np.ones_like(a), np.zeros_like(b)), "float"),
    "gcd": (np.gcd, None, "int_only"),
    "lcm": (np.lcm, None, "int_only"),
    "bitwise_and": (np.bitwise_and, None, "int"),
    "bitwise_or": (np.bitwise_or, None, "int"),
    "bitwise_xor": (np.bitwise_xor, None, "int"),
    "bitwise_left_shift": (np.left_shift, None, "int"),
    "bitwise_right_shift": (np.right_shift, None, "int"),
}

for _name, (_compute, _slope, _kind) in _BINARY_TABLE.items():
    globals()[_name] = _binary(_name, _compute, _slope, _kind)


def left_shift(x1, x2):
    return bitwise_left_shift(x1, x2)  # noqa: F821


def right_shift(x1, x2):
    return bitwise_right_shift(x1, x2)  # noqa: F821


def ldexp(x1, x2):
    """``x1 * 2**x2``; ``x2`` must hold integers (as Keras: a float exponent is a TypeError)."""
    e = _arr(x2)
    if e.dtype.kind not in "iub":
        raise TypeError(f"keras.ops.ldexp: x2 must be an integer tensor, got {e.dtype}")
    dtype = _float_of(_result_dtype(x1, x2))
    a = _arr(x1).astype(dtype, copy=False)
    scale = np.exp2(e.astype(dtype))
    out = (a * scale).astype(dtype, copy=False)
    return _ops._op(out, [x1, x2], lambda g: [unbroadcast(np.asarray(g) * scale, a.shape),
                                              None])


def isclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    dtype = _result_dtype(x1, x2)
    return _ops._op(np.isclose(_arr(x1).astype(dtype), _arr(x2).astype(dtype), rtol=rtol,
                               atol=atol, equal_nan=bool(equal_nan)), [x1, x2])


def allclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    """One boolean: whether every pair ``isclose``."""
    return _ops._op(np.asarray(np.all(_arr(isclose(x1, x2, rtol, atol, equal_nan)))), [x1, x2])


def saturate_cast(x, dtype):
    """Cast to ``dtype``, clipping first to the range ``dtype`` holds (no wrap-around); the
    gradient passes where no clipping happened (float to float)."""
    from convnp.tensor.eager import as_dtype

    target = as_dtype(dtype).dtype
    a = _arr(x)
    if target.kind not in "iuf" or a.dtype.kind == "b":
        return _ops.cast(x, target)
    info = np.iinfo(target) if target.kind in "iu" else np.finfo(target)
    wide = a.astype(np.float64) if a.dtype.kind == "f" else a
    out = np.clip(wide, info.min, info.max).astype(target)
    if not (a.dtype.kind == "f" and target.kind == "f"):
        return _ops._op(out, [x])
    inside = (wide >= info.min) & (wide <= info.max)
    return _ops._op(out, [x], lambda g: [(np.asarray(g) * inside).astype(a.dtype)])


_symbolic.accept_keras_tensors(globals())
