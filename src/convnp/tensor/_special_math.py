"""Special functions of tf.math in float64 NumPy: the gamma family (lgamma, digamma,
trigamma), the inverse error function and the modified Bessel functions of order 0 and 1.

No SciPy: each is a short classical method (stated at its function), vectorised over the
array and accurate to about 1e-13 relative in float64, far below float32's resolution. The
`convnp.tensor.math` wrappers cast back to the input dtype and record the gradients.
"""

from __future__ import annotations

import math

import numpy as np

from convnp import _special

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


_erf_each = np.vectorize(math.erf, otypes=[np.float64])
_erfc_each = np.vectorize(math.erfc, otypes=[np.float64])


def erfc(x: np.ndarray, precise: bool = True) -> np.ndarray:
    """``1 - erf(x)`` in float64. ``precise``: ``math.erfc`` number by number (float64's last
    digit, about 100 ns a value); otherwise `convnp._special.erfc`'s series over the whole
    array, 4x faster and within 6e-11 relative (far below float32's resolution: the float32
    ops use it)."""
    x = np.asarray(x, dtype=np.float64)
    return _erfc_each(x) if precise else _special.erfc(x)


def _erf(x: np.ndarray, precise: bool) -> np.ndarray:
    return _erf_each(x) if precise else _special.erf(x)


def erfinv(y: np.ndarray, precise: bool = True) -> np.ndarray:
    """The inverse of erf on [-1, 1] (+-inf at +-1, NaN outside): Giles's single-precision
    approximation as the start, then Newton steps on ``erf(x) - y`` (using ``erfc`` near
    +-1, where ``erf`` has no digits left to compare); ``precise`` as for `erfc`."""
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
        residual = np.where(near_one, np.sign(t) * ((1 - np.abs(t)) - erfc(np.abs(x), precise)),
                            _erf(x, precise) - t)
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


_TINY = 1e-300
_STEPS = 400  # continued-fraction and series terms: enough for a and x up to a few thousand


def _gamma_prefactor(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``x**a exp(-x) / Gamma(a)``, the factor both incomplete-gamma expansions share."""
    with np.errstate(divide="ignore"):
        return np.exp(a * np.log(x) - x - lgamma(a))


def gammainc(a, x) -> np.ndarray:
    """The regularized lower incomplete gamma function ``P(a, x)`` (NaN for ``a <= 0`` or
    ``x < 0``). Below ``x = a + 1`` its power series converges fast; above, the continued
    fraction of the upper function ``Q = 1 - P`` does (evaluated by the modified Lentz
    method), so each point uses the one that suits it."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    bad = (a <= 0) | (x < 0) | np.isnan(a) | np.isnan(x)
    a = np.where(bad, 1.0, a)
    x = np.where(bad, 1.0, x)
    use_series = x < a + 1
    # series: P = prefactor / a * sum_n x**n / ((a + 1) ... (a + n))
    term = 1 / a
    total = term.copy()
    for n in range(1, _STEPS):
        term = term * x / (a + n)
        total += term
    with np.errstate(over="ignore", invalid="ignore"):
        lower = _gamma_prefactor(a, x) * total
    # continued fraction for Q: 1 / (x + 1 - a - 1 (1 - a) / (x + 3 - a - 2 (2 - a) / ...))
    b = x + 1 - a
    c = np.full_like(x, 1 / _TINY)
    d = 1 / np.where(np.abs(b) < _TINY, _TINY, b)
    h = d.copy()
    for i in range(1, _STEPS):
        an = -i * (i - a)
        b = b + 2
        d = an * d + b
        d = 1 / np.where(np.abs(d) < _TINY, _TINY, d)
        c = b + an / c
        c = np.where(np.abs(c) < _TINY, _TINY, c)
        h = h * d * c
    with np.errstate(over="ignore", invalid="ignore"):
        upper = _gamma_prefactor(a, x) * h
    out = np.where(use_series, lower, 1 - upper)
    out = np.where(x == 0, 0.0, np.where(np.isinf(x), 1.0, out))
    return np.where(bad, np.nan, np.clip(out, 0.0, 1.0))


def gammainc_slope_x(a, x) -> np.ndarray:
    """``dP/dx = x**(a - 1) exp(-x) / Gamma(a)``."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.exp((a - 1) * np.log(x) - x - lgamma(a))


def gammainc_slope_a(a, x) -> np.ndarray:
    """``dP/da`` by a central difference in float64 (a step of 1e-6 relative: the error,
    about 1e-10, is far below float32's resolution; P has no closed-form derivative in a)."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    step = 1e-6 * np.maximum(np.abs(a), 1.0)
    step = np.minimum(step, 0.5 * a)  # stay at a > 0
    return (gammainc(a + step, x) - gammainc(a - step, x)) / (2 * step)


def _beta_fraction(a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The continued fraction of the incomplete beta function (modified Lentz), whose
    terms alternate between ``m (b - m) x / ((a + 2m - 1)(a + 2m))`` and
    ``-(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1))``."""
    c = np.ones_like(x)
    d = 1 - (a + b) * x / (a + 1)
    d = 1 / np.where(np.abs(d) < _TINY, _TINY, d)
    h = d.copy()
    for m in range(1, _STEPS):
        for coef in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                     -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1 + coef * d
            d = 1 / np.where(np.abs(d) < _TINY, _TINY, d)
            c = 1 + coef / c
            c = np.where(np.abs(c) < _TINY, _TINY, c)
            h = h * d * c
    return h


def _log_beta(a, b):
    return lgamma(a) + lgamma(b) - lgamma(a + b)


def betainc(a, b, x) -> np.ndarray:
    """The regularized incomplete beta function ``I_x(a, b)`` (NaN outside ``x`` in [0, 1]
    or for ``a, b <= 0``). The continued fraction converges fast below ``x = (a + 1) /
    (a + b + 2)``; above, ``1 - I_(1-x)(b, a)`` is computed instead."""
    a, b, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64),
                                  np.asarray(x, np.float64))
    bad = (a <= 0) | (b <= 0) | (x < 0) | (x > 1) | np.isnan(a) | np.isnan(b) | np.isnan(x)
    a, b = np.where(bad, 1.0, a), np.where(bad, 1.0, b)
    x = np.where(bad, 0.5, x)
    flip = x > (a + 1) / (a + b + 2)
    a2, b2 = np.where(flip, b, a), np.where(flip, a, b)
    x2 = np.where(flip, 1 - x, x)
    inner = np.clip(x2, 1e-300, 1 - 1e-16)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        front = np.exp(a2 * np.log(inner) + b2 * np.log1p(-inner) - _log_beta(a2, b2))
        part = front * _beta_fraction(a2, b2, inner) / a2
    out = np.where(flip, 1 - part, part)
    out = np.where(x == 0, 0.0, np.where(x == 1, 1.0, out))
    return np.where(bad, np.nan, np.clip(out, 0.0, 1.0))


def betainc_slope_x(a, b, x) -> np.ndarray:
    """``dI/dx = x**(a - 1) (1 - x)**(b - 1) / B(a, b)``."""
    a, b, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64),
                                  np.asarray(x, np.float64))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.exp((a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - _log_beta(a, b))
