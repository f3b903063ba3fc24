"""The error function and the standard normal CDF on whole arrays (GELU's ``x * Phi(x)``).

NumPy has no ``erf``, and ``math.erf`` one element at a time cost GELU about 90 ns per value
(ConvMixer spent three quarters of its training step there). Here:

    erfc(t) = exp(-t**2) * g(t)  for t >= 0,

where ``g(t) = erfc(t) * exp(t**2)`` falls smoothly from 1 to about ``1 / (t sqrt(pi))``.
As a function of ``s = t / (t + 2)`` on [0, 1) it is smooth enough for a short Chebyshev
series, whose coefficients are fitted here on first use from ``math.erfc`` at Chebyshev
nodes (no table is copied in). Degree 9 is used for float32 (largest error of Phi over the
real line about 2e-8, below float32's resolution; evaluated as an ordinary polynomial); degree 24 for float64 (about 3e-14,
checked against ``math.erf`` in tests/test_activations.py). Everything else is a few NumPy
passes (abs, square, exp and the series by Clenshaw's recurrence), made in place over chunks
that stay in the cache.
"""

from __future__ import annotations

import functools
import math

import numpy as np

_SHIFT = 2.0  # s = t / (t + _SHIFT)


def _g(s: float) -> float:
    """erfc(t) * exp(t**2) at t = _SHIFT * s / (1 - s)."""
    t = _SHIFT * s / (1.0 - s)
    if t < 25.0:
        return math.erfc(t) * math.exp(t * t)
    # the asymptotic series (its next term is below 1e-10 here)
    return (1.0 - 0.5 / (t * t) + 0.75 / t ** 4) / (t * math.sqrt(math.pi))


@functools.cache
def _chebyshev(degree: int) -> np.ndarray:
    """Chebyshev coefficients of g on s in [0, 1], fitted at ``degree + 1`` nodes."""
    k = np.arange(degree + 1)
    nodes = 0.5 + 0.5 * np.cos(np.pi * (k + 0.5) / (degree + 1))
    values = np.array([_g(float(s)) for s in nodes])
    fit = np.polynomial.chebyshev.Chebyshev.fit(nodes, values, degree, domain=[0.0, 1.0])
    return fit.coef


@functools.cache
def _power(degree: int) -> np.ndarray:
    """The same fit as a polynomial in s (lowest power first). At degree 9 the coefficients
    stay below 2.3, so Horner's rule in float32 loses nothing; it takes half the passes of
    Clenshaw's recurrence."""
    fit = np.polynomial.chebyshev.Chebyshev(_chebyshev(degree), domain=[0.0, 1.0])
    return fit.convert(kind=np.polynomial.Polynomial, domain=[0.0, 1.0],
                       window=[0.0, 1.0]).coef


_CHUNK = 1 << 16  # values per pass: the temporaries of a chunk stay in the cache


def _tail(x: np.ndarray, scale: float = 1.0, cdf: bool = False) -> np.ndarray:
    """``erfc(|x| * scale) / 2`` in ``x``'s float dtype (float32 or float64), or with ``cdf``
    Phi itself (``h + [x >= 0] (1 - 2h)``, which keeps the relative accuracy of the left
    tail). The passes run in place over chunks: float64 by Clenshaw's recurrence at degree
    24, float32 by Horner's rule at degree 9. (Sharing the chunks between this machine's two
    threads measured slower: 1.76 against 1.55 ms on 524k float32 values.)"""
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty_like(flat)
    _tail_rows(flat, out, slice(0, flat.size), scale, cdf)
    return out.reshape(x.shape)


def _tail_rows(flat: np.ndarray, out: np.ndarray, rows: slice, scale: float,
               cdf: bool) -> None:
    dtype = flat.dtype
    one = dtype.type(1)
    # s = t / (t + shift) with t = |x| scale, as 1 - k / (|x| + k) (t = inf gives s = 1)
    k = dtype.type(_SHIFT / scale)
    if dtype == np.float64:
        coef = [dtype.type(c) for c in _chebyshev(24) * 0.5]
    else:
        coef = [dtype.type(c) for c in _power(9) * 0.5]
    size = min(_CHUNK, rows.stop - rows.start)
    a, s, b1, b2, tmp = (np.empty(size, dtype) for _ in range(5))
    positive = np.empty(size, bool)
    for start in range(rows.start, rows.stop, _CHUNK):
        n = min(_CHUNK, rows.stop - start)
        ac, sc, b1c, b2c, tmpc = a[:n], s[:n], b1[:n], b2[:n], tmp[:n]
        xc, hc = flat[start:start + n], out[start:start + n]
        np.abs(xc, out=ac)
        np.add(ac, k, out=sc)
        np.divide(k, sc, out=sc)
        np.subtract(one, sc, out=sc)
        if dtype == np.float64:
            # Chebyshev in u = 2s - 1: b_j = c_j + 2u b_(j+1) - b_(j+2); sum = c_0 + u b_1 - b_2
            sc += sc
            sc -= one
            b1c.fill(coef[-1])
            b2c.fill(0)
            for c in coef[-2:0:-1]:
                np.multiply(sc, b1c, out=tmpc)
                tmpc += tmpc
                tmpc -= b2c
                tmpc += c
                b1c, b2c, tmpc = tmpc, b1c, b2c
            np.multiply(sc, b1c, out=tmpc)
            tmpc -= b2c
            tmpc += coef[0]
        else:
            np.multiply(sc, coef[-1], out=tmpc)
            for c in coef[-2:0:-1]:
                tmpc += c
                tmpc *= sc
            tmpc += coef[0]
        # times exp(-t**2)
        np.multiply(ac, ac, out=ac)
        ac *= dtype.type(-scale * scale)
        np.exp(ac, out=ac)
        np.multiply(ac, tmpc, out=hc)
        if cdf:
            np.multiply(hc, dtype.type(-2), out=ac)
            ac += one
            np.greater_equal(xc, 0, out=positive[:n])
            ac *= positive[:n]
            hc += ac


def _as_float(x) -> np.ndarray:
    x = np.asarray(x)
    return x if x.dtype in (np.float32, np.float64) else x.astype(np.float64)


def normal_cdf(x) -> np.ndarray:
    """Phi(x), the standard normal CDF, in ``x``'s float dtype (other dtypes: float64)."""
    return _tail(_as_float(x), 1.0 / math.sqrt(2.0), cdf=True)


#: Maclaurin coefficients of erf(x) / x in powers of x**2: 2/sqrt(pi) (-1)^n / (n! (2n+1))
_SMALL = [2.0 / math.sqrt(math.pi) * (-1) ** n / (math.factorial(n) * (2 * n + 1))
          for n in range(14)]


def erf(x) -> np.ndarray:
    """The error function, in ``x``'s float dtype (other dtypes: float64). Below 0.5 in
    magnitude from its Maclaurin series (``1 - erfc`` would lose the relative accuracy of
    small values: erf(0) is 0 exactly)."""
    x = _as_float(x)
    large = x.dtype.type(1) - x.dtype.type(2) * _tail(x)  # 1 - erfc(|x|)
    np.copysign(large, x, out=large)
    small = np.abs(x) < 0.5
    xs = np.where(small, x, 0)  # the series only where it is used (no overflow elsewhere)
    x2 = xs * xs
    series = np.zeros_like(xs)
    for c in reversed(_SMALL):
        series = series * x2 + x.dtype.type(c)
    return np.where(small, xs * series, large)
