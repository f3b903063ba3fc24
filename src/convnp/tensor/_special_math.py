"""Special functions of tf.math in float64 NumPy: the gamma family (lgamma, digamma,
trigamma), the inverse error function and the modified Bessel functions of order 0 and 1.

No SciPy: each is a short classical method (stated at its function), vectorised over the
array and accurate to about 1e-13 relative in float64, far below float32's resolution. The
`convnp.tensor.math` wrappers cast back to the input dtype and record the gradients.
"""

from __future__ import annotations

import math

import numpy as np

_lgamma = np.vectorize(math.lgamma, otypes=[np.float64])


def lgamma(x: np.ndarray) -> np.ndarray:
    """``log|Gamma(x)|``; +inf at the poles (0, -1, -2, ...), as TensorFlow."""
    x = np.asarray(x, dtype=np.float64)
    poles = (x <= 0) & (x == np.floor(x))
    safe = np.where(poles | ~np.isfinite(x), 1.0, x)
    out = _lgamma(safe)
    out = np.where(np.isinf(x), np.inf, out)
    return np.where(poles, np.inf, np.where(np.isnan(x), np.nan, out))


def _shifted(x: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """``(z, total)``: ``z = x + n >= 8`` and the sum the recurrence leaves behind,
    ``-sum 1/(x+k)`` (digamma) or ``sum 1/(x+k)**2`` (trigamma) for k < n."""
    z = x.copy()
    total = np.zeros_like(x)
    for _ in range(8):
        low = z < 8
        if not low.any():
            break
        term = 1 / np.where(low, z, 1.0)
        total += np.where(low, -term if order == 0 else term * term, 0.0)
        z = np.where(low, z + 1, z)
    return z, total


def digamma(x: np.ndarray) -> np.ndarray:
    """psi(x) = d log Gamma / dx: the recurrence up to x >= 8, then the asymptotic series;
    below 0.5 by reflection, ``psi(1 - x) - pi / tan(pi x)``. NaN at the poles."""
    x = np.asarray(x, dtype=np.float64)
    reflect = x < 0.5
    y = np.where(reflect, 1 - x, x)
    z, total = _shifted(y, 0)
    inv2 = 1 / (z * z)
    series = np.log(z) - 0.5 / z - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (
        1 / 252 - inv2 * (1 / 240 - inv2 / 132))))
    value = series + total
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(reflect, value - np.pi / np.tan(np.pi * x), value)
    poles = (x <= 0) & (x == np.floor(x))
    return np.where(poles, np.nan, value)


def trigamma(x: np.ndarray) -> np.ndarray:
    """psi'(x), digamma's slope: the same recurrence and asymptotic series; below 0.5 by
    reflection, ``pi**2 / sin(pi x)**2 - psi'(1 - x)``."""
    x = np.asarray(x, dtype=np.float64)
    reflect = x < 0.5
    y = np.where(reflect, 1 - x, x)
    z, total = _shifted(y, 1)
    inv = 1 / z
    inv2 = inv * inv
    series = inv + inv2 / 2 + inv * inv2 * (1 / 6 - inv2 * (1 / 30 - inv2 * (
        1 / 42 - inv2 / 30)))
    value = series + total
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(reflect, (np.pi / np.sin(np.pi * x)) ** 2 - value, value)
    poles = (x <= 0) & (x == np.floor(x))
    return np.where(poles, np.inf, value)


_erf = np.vectorize(math.erf, otypes=[np.float64])
_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def erfc(x: np.ndarray) -> np.ndarray:
    return _erfc(np.asarray(x, dtype=np.float64))


def erfinv(y: np.ndarray) -> np.ndarray:
    """The inverse of erf on [-1, 1] (+-inf at +-1, NaN outside): Giles's single-precision
    approximation as the start, then Newton steps on ``erf(x) - y`` (using ``erfc`` near
    +-1, where ``erf`` has no digits left to compare)."""
    y = np.asarray(y, dtype=np.float64)
    inside = np.abs(y) < 1
    t = np.where(inside, y, 0.0)
    w = -np.log((1 - t) * (1 + t))
    small = w < 5
    ws = np.where(small, w - 2.5, np.sqrt(np.where(small, 5.0, w)) - 3)
    coef_small = [2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                  0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941]
    coef_large = [-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
                  0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682]
    p_small = np.zeros_like(ws)
    p_large = np.zeros_like(ws)
    for a, b in zip(coef_small, coef_large):
        p_small = p_small * ws + a
        p_large = p_large * ws + b
    x = np.where(small, p_small, p_large) * t
    for _ in range(3):
        # the residual erf(x) - y, as erfc's difference where |y| is near 1
        near_one = np.abs(t) > 0.9
        residual = np.where(near_one, np.sign(t) * ((1 - np.abs(t)) - _erfc(np.abs(x))),
                            _erf(x) - t)
        x = x - residual / (2 / np.sqrt(np.pi) * np.exp(-x * x))
    out = np.where(inside, x, np.nan)
    out = np.where(y == 1, np.inf, out)
    return np.where(y == -1, -np.inf, out)


def _bessel_series(x: np.ndarray, order: int) -> np.ndarray:
    """``I_order(x)`` by its power series ``sum (x/2)**(2k+order) / (k! (k+order)!)`` (all
    terms positive for I0, every term the sign of x for I1: no cancellation)."""
    half = x / 2
    term = np.ones_like(x) if order == 0 else half.copy()
    total = term.copy()
    q = half * half
    terms = int(np.max(np.abs(x), initial=0.0)) + 40
    for k in range(1, terms):
        term = term * q / (k * (k + order))
        total += term
    return total


def _bessel_scaled_asymptotic(x: np.ndarray, order: int) -> np.ndarray:
    """``exp(-|x|) I_order(x)`` for large ``|x|``: Hankel's asymptotic series."""
    ax = np.abs(x)
    mu = 4 * order * order
    term = np.ones_like(ax)
    total = term.copy()
    for k in range(1, 12):
        term = term * -(mu - (2 * k - 1) ** 2) / (k * 8 * ax)
        total += term
    out = total / np.sqrt(2 * np.pi * ax)
    return out if order == 0 else np.sign(x) * out


_LARGE = 50.0  # above: the asymptotic series (its terms shrink fast here)


def bessel_scaled(x: np.ndarray, order: int) -> np.ndarray:
    """``exp(-|x|) I_order(x)`` (order 0 or 1), accurate for every finite x."""
    x = np.asarray(x, dtype=np.float64)
    big = np.abs(x) > _LARGE
    near = np.where(big, 0.0, x)
    small_part = _bessel_series(near, order) * np.exp(-np.abs(near))
    far = np.where(big, x, _LARGE + 1)
    return np.where(big, _bessel_scaled_asymptotic(far, order), small_part)


def bessel(x: np.ndarray, order: int) -> np.ndarray:
    """``I_order(x)`` (order 0 or 1); overflows to +-inf as the float64 exponential does."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        return bessel_scaled(x, order) * np.exp(np.abs(x))
