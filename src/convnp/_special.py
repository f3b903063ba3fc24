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

from convnp.ops.elementwise import blockwise, map_flat, relu

_SHIFT = 2.0  # s = t / (t + _SHIFT)


def _g(s: float) -> float:
    """erfc(t) * exp(t**2) at t = _SHIFT * s / (1 - s)."""
    t = _SHIFT * s / (1.0 - s)
    if t < 25.0:
        return math.erfc(t) * math.exp(t * t)
    # the asymptotic series (its next term is below 1e-10 here)
    return (1.0 - 0.5 / (t * t) + 0.75 / t ** 4) / (t * math.sqrt(math.pi))


def _node_fit(function, degree: int, top: float) -> np.polynomial.Chebyshev:
    """The Chebyshev series of degree ``degree`` through ``function`` (a float function) at
    the ``degree + 1`` Chebyshev nodes of [0, top]."""
    k = np.arange(degree + 1)
    nodes = 0.5 * top * (1.0 + np.cos(np.pi * (k + 0.5) / (degree + 1)))
    values = np.array([function(float(v)) for v in nodes])
    return np.polynomial.chebyshev.Chebyshev.fit(nodes, values, degree, domain=[0.0, top])


@functools.cache
def _chebyshev(degree: int) -> np.ndarray:
    """Chebyshev coefficients of g on s in [0, 1], fitted at ``degree + 1`` nodes."""
    return _node_fit(_g, degree, 1.0).coef


@functools.cache
def _power(degree: int) -> np.ndarray:
    """The same fit as a polynomial in s (lowest power first). At degree 9 the coefficients
    stay below 2.3, so Horner's rule in float32 loses nothing; it takes half the passes of
    Clenshaw's recurrence."""
    fit = np.polynomial.chebyshev.Chebyshev(_chebyshev(degree), domain=[0.0, 1.0])
    return fit.convert(kind=np.polynomial.Polynomial, domain=[0.0, 1.0],
                       window=[0.0, 1.0]).coef


def _horner(v: np.ndarray, coef, out: np.ndarray) -> np.ndarray:
    """The polynomial with coefficients ``coef`` (lowest first) at ``v``, into ``out``."""
    np.multiply(v, coef[-1], out=out)
    for c in coef[-2:0:-1]:
        out += c
        out *= v
    out += coef[0]
    return out


_CHUNK = 1 << 18  # values per pass: long enough calls to share (see elementwise.BLOCK)
def _tail(x: np.ndarray, scale: float = 1.0, mode: str = "tail") -> np.ndarray:
    """A pass over ``x`` (float32 or float64) built on ``h = erfc(|x| * scale) / 2``.

    ``mode`` says what is returned: ``"tail"`` h itself; ``"cdf"`` Phi (``h + [x >= 0]
    (1 - 2h)``, which keeps the relative accuracy of the left tail); ``"gelu"`` ``x Phi(x)``
    as ``max(x, 0) - |x| h`` (exact 0 at 0, relative accuracy kept on the left). The passes
    run in place over chunks that stay in the cache: float64 by Clenshaw's recurrence at
    degree 24, float32 by Horner's rule at degree 9; big arrays are shared between the
    cores (`convnp.ops.elementwise.map_flat`).
    """
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty_like(flat)
    map_flat(lambda rows: _tail_rows(flat, out, rows, scale, mode), flat.size)
    return out.reshape(x.shape)


def _tail_rows(flat: np.ndarray, out: np.ndarray, rows: slice, scale: float,
               mode: str) -> None:
    """`_tail` on ``flat[rows]`` into ``out[rows]`` (one thread's share)."""
    # inf * 0 in the gelu mode is mended in place; the square of a huge value overflows to
    # inf, whose exp(-inf) is the 0 wanted
    with np.errstate(over="ignore", invalid="ignore"):
        _tail_chunks(flat, out, rows, scale, mode)


def _tail_chunks(flat: np.ndarray, out: np.ndarray, rows: slice, scale: float,
                 mode: str) -> None:
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
            _horner(sc, coef, out=tmpc)
        # h = exp(-t**2) times the series; sc is free again (b1c or b2c holds nothing either)
        np.multiply(ac, ac, out=sc)
        sc *= dtype.type(-scale * scale)
        np.exp(sc, out=sc)
        if mode == "gelu":
            sc *= tmpc
            sc *= ac  # |x| h: 0 * inf where x is infinite, mended below
            relu(xc, out=hc)  # np.clip: np.maximum with a scalar is 4x slower here
            hc -= sc
            if not math.isfinite(np.add.reduce(hc)):  # a read-only pass: rare infinities
                np.copyto(hc, xc, where=np.isposinf(xc))
            continue
        np.multiply(sc, tmpc, out=hc)
        if mode == "cdf":
            np.multiply(hc, dtype.type(-2), out=ac)
            ac += one
            np.greater_equal(xc, 0, out=positive[:n])
            ac *= positive[:n]
            hc += ac


def gelu(x) -> np.ndarray:
    """``x Phi(x)`` (GELU, exact form) in ``x``'s float dtype (other dtypes: float64)."""
    x = _as_float(x)
    if x.dtype == np.float32:
        return _gelu_near(x)
    return _tail(x, _GELU_SCALE, mode="gelu")


def gelu_gradient(dy: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``dy * (Phi(x) + x phi(x))``, GELU's backward, with Phi taken as ``y / x`` from the
    forward output ``y`` (1/2 where x is 0) rather than computed again. In ``x``'s dtype,
    chunked and shared between the cores as the forward.

    (A polynomial for float32 as in `_gelu_near` took 26 short passes against this one's
    seven and an exp: 1.3x faster on one thread, but 1.3x slower on two, where the threads
    hand the GIL back and forth at each short pass.)"""
    x = _as_float(x)
    dtype = x.dtype
    flat_x = np.ascontiguousarray(x).reshape(-1)
    flat_y = np.ascontiguousarray(y, dtype=dtype).reshape(-1)
    flat_dy = np.ascontiguousarray(dy, dtype=dtype).reshape(-1)
    out = np.empty_like(flat_x)
    density = dtype.type(1 / math.sqrt(2 * math.pi))

    def rows_pass(rows: slice) -> None:
        with np.errstate(divide="ignore", invalid="ignore"):  # mended where they arise
            chunks(rows)

    def chunks(rows: slice) -> None:
        size = min(_CHUNK, rows.stop - rows.start)
        e = np.empty(size, dtype)
        for start in range(rows.start, rows.stop, _CHUNK):
            n = min(_CHUNK, rows.stop - start)
            part = slice(start, start + n)
            xc, oc, ec = flat_x[part], out[part], e[:n]
            np.divide(flat_y[part], xc, out=oc)  # Phi; 0/0 at x = 0, mended below
            np.multiply(xc, xc, out=ec)
            ec *= dtype.type(-0.5)
            np.exp(ec, out=ec)
            ec *= xc
            ec *= density
            oc += ec
            oc *= flat_dy[part]
            if not math.isfinite(np.add.reduce(oc)):  # zeros of x (or infinities) only
                zero = xc == 0
                oc[zero] = flat_dy[part][zero] * dtype.type(0.5)

    map_flat(rows_pass, flat_x.size)
    return out.reshape(x.shape)


# --- float32 GELU by tanh ----------------------------------------------------------------------
#
# Phi(x) = (1 + erf(x / sqrt 2)) / 2, and erf is close to a tanh: write
#
#     Phi(x) = (1 + tanh(z)) / 2,   z = atanh(erf(x / sqrt 2)) = x T(x**2),
#
# with T smooth on u = x**2 (z is odd in x). On [0, _NEAR**2] a degree-5 polynomial follows T
# within float32's resolution of GELU (in float32: 2.6e-7 absolute, 3e-5 relative on the left
# of the tests' grid, against 4.1e-7 and 6e-5 of the degree-9 series for Phi it replaced).
# NumPy's float32 tanh is a SIMD loop (0.16 ns a number, about three multiply passes on an
# AVX-512 Zen 5), so a value costs 16 short passes and a tanh, against 27 passes before: on
# 524k numbers one thread 0.74 against 0.90 ms. Values beyond _NEAR (about 3 in a thousand
# for unit-variance inputs) are gathered and computed by the series, which keeps the relative
# accuracy of the left tail (1 + tanh(z) loses it further out).

_GELU_SCALE = 1.0 / math.sqrt(2.0)
_NEAR = 3.0
_TANH_DEGREE = 5


def _tanh_argument(u: float) -> float:
    """T(u) = atanh(erf(x / sqrt 2)) / x at u = x**2, from math.erf."""
    x = math.sqrt(u)
    if x == 0.0:
        return math.sqrt(2.0 / math.pi)  # the slope of atanh(erf(x / sqrt 2)) at 0
    return math.atanh(math.erf(x * _GELU_SCALE)) / x


@functools.cache
def _tanh_power() -> tuple:
    """Float32 power-basis coefficients (lowest first) of T in u, fitted at the Chebyshev
    nodes of [0, _NEAR**2]. (They fall from 0.8 to 1e-7, every term staying below 0.8 on
    the interval: Horner's rule in u itself keeps float32's accuracy.)"""
    top = _NEAR * _NEAR
    fit = _node_fit(_tanh_argument, _TANH_DEGREE, top)
    power = fit.convert(kind=np.polynomial.Polynomial, domain=[0.0, top], window=[0.0, top])
    return tuple(np.float32(c) for c in power.coef)


def _gelu_near(x: np.ndarray) -> np.ndarray:
    """GELU of a float32 array: ``x (1 + tanh(x T(x**2))) / 2`` block by block
    (`blockwise`), then the series once for the values of all blocks beyond _NEAR (few, and
    each call of the series costs a few dozen NumPy calls whatever its size)."""
    flat_x = np.ascontiguousarray(x).reshape(-1)
    out = np.empty(x.shape, np.float32)
    flat_out = out.reshape(-1)
    far_parts = []  # list.append is atomic: blocks may run on two threads
    coef = _tanh_power()
    top, half = np.float32(_NEAR * _NEAR), np.float32(0.5)

    def kernel(out_block, xb, u, z):
        with np.errstate(over="ignore", invalid="ignore"):  # far values, replaced below
            np.multiply(xb, xb, out=u)
            _horner(u, coef, out=z)
            z *= xb
            np.tanh(z, out=z)
            np.multiply(z, xb, out=out_block)
            out_block += xb
            out_block *= half
        if not u.max() <= top:  # some |x| > _NEAR, or a NaN (which stays NaN: NaN > top is False)
            start = (out_block.ctypes.data - flat_out.ctypes.data) // flat_out.itemsize
            far_parts.append(np.flatnonzero(u > top) + start)  # indices in the whole array

    blockwise(kernel, out, [flat_x], scratch=(np.float32, np.float32))
    if far_parts:
        far = np.concatenate(far_parts)
        values = flat_x[far]
        exact = np.empty_like(values)
        _tail_rows(values, exact, slice(0, values.size), _GELU_SCALE, "gelu")
        flat_out[far] = exact
    return out


# --- GELU's tanh approximation --------------------------------------------------------------
#
# ``0.5 x (1 + tanh(c (x + k x**3)))`` with c = sqrt(2 / pi), k = 0.044715 (GELU with
# ``approximate=True``). Written as ``tanh(x (c + c k x**2))`` it is a few in-place passes and
# one SIMD tanh per block (`blockwise`). Its slope,
#
#     0.5 (1 + t) + 0.5 x (1 - t**2) (c + 3 c k x**2),   t = the tanh,
#
# is ``0.5 (1 + t) (1 + (1 - t) x (c + 3 c k x**2))``: where t rounds to +-1 (|x| above
# about 9 in float32) the factor ``(1 - t) x`` or ``(1 + t)`` is an exact 0, so the slope is
# exactly 1 or 0 there, as TensorFlow's.

_TANH_C = math.sqrt(2.0 / math.pi)
_TANH_K = 0.044715


def _work_dtype(x: np.ndarray) -> np.ndarray:
    """``x`` as float32 or float64 (float16 and integers compute in float32)."""
    return x if x.dtype in (np.float32, np.float64) else x.astype(np.float32)


def gelu_tanh(x) -> np.ndarray:
    """GELU's tanh approximation of ``x`` in float32 or float64 (the input's, float32 for
    other dtypes)."""
    x = _work_dtype(np.asarray(x))
    out = np.empty(x.shape, x.dtype)
    dtype = x.dtype.type
    c, ck, half = dtype(_TANH_C), dtype(_TANH_C * _TANH_K), dtype(0.5)

    def kernel(out_block, xb, z):
        with np.errstate(over="ignore", invalid="ignore"):  # huge |x|: tanh(inf) is 1
            np.multiply(xb, xb, out=z)
            z *= ck
            z += c
            z *= xb
            np.tanh(z, out=z)
            z += dtype(1)
            np.multiply(xb, half, out=out_block)  # halved first: x (1 + t) could overflow
            out_block *= z

    return blockwise(kernel, out, [x], scratch=(x.dtype,))


def gelu_tanh_gradient(dy, x) -> np.ndarray:
    """``dy`` times the slope of `gelu_tanh` at ``x`` (same shapes), in ``x``'s working
    dtype (see `gelu_tanh`)."""
    x = _work_dtype(np.asarray(x))
    dy = np.broadcast_to(np.asarray(dy, dtype=x.dtype), x.shape)
    out = np.empty(x.shape, x.dtype)
    dtype = x.dtype.type
    one, half = dtype(1), dtype(0.5)
    c, ck, ck3 = dtype(_TANH_C), dtype(_TANH_C * _TANH_K), dtype(3 * _TANH_C * _TANH_K)

    def kernel(out_block, dy_block, xb, t, a):
        with np.errstate(over="ignore", invalid="ignore"):
            np.multiply(xb, xb, out=t)
            np.multiply(t, ck3, out=a)  # a = c + 3 c k x**2
            a += c
            t *= ck
            t += c
            t *= xb
            np.tanh(t, out=t)
            np.subtract(one, t, out=out_block)
            out_block *= xb  # (1 - t) x first: an exact 0 where t is 1
            a *= out_block
            a += one
            t += one
            a *= t
            a *= half
            np.multiply(a, dy_block, out=out_block)

    return blockwise(kernel, out, [dy, x], scratch=(x.dtype, x.dtype))


def _as_float(x) -> np.ndarray:
    x = np.asarray(x)
    return x if x.dtype in (np.float32, np.float64) else x.astype(np.float64)


def normal_cdf(x) -> np.ndarray:
    """Phi(x), the standard normal CDF, in ``x``'s float dtype (other dtypes: float64)."""
    return _tail(_as_float(x), _GELU_SCALE, mode="cdf")


#: Maclaurin coefficients of erf(x) / x in powers of x**2: 2/sqrt(pi) (-1)^n / (n! (2n+1))
_SMALL = [2.0 / math.sqrt(math.pi) * (-1) ** n / (math.factorial(n) * (2 * n + 1))
          for n in range(14)]


def erfc(x) -> np.ndarray:
    """The complementary error function ``1 - erf(x)``, in ``x``'s float dtype (other
    dtypes: float64), keeping its relative accuracy in the right tail (erfc(10) is 2e-45,
    where ``1 - erf`` would give 0): ``2 h`` for ``x >= 0`` and ``2 - 2 h`` below, with ``h``
    the series' ``erfc(|x|) / 2``."""
    x = _as_float(x)
    two = x.dtype.type(2)
    doubled = np.abs(two * _tail(x))  # the series may end a hair below 0: -0.0 at inf
    return np.where(x < 0, two - doubled, doubled)


def erf(x) -> np.ndarray:
    """The error function, in ``x``'s float dtype (other dtypes: float64). Below 0.5 in
    magnitude from its Maclaurin series (``1 - erfc`` would lose the relative accuracy of
    small values: erf(0) is 0 exactly)."""
    x = _as_float(x)
    shape = x.shape
    x = x.reshape(-1)  # a 0-d input would make numbers, not arrays, of the steps below
    large = x.dtype.type(1) - x.dtype.type(2) * _tail(x)  # 1 - erfc(|x|)
    np.copysign(large, x, out=large)
    small = np.flatnonzero(np.abs(x) < 0.5)  # the series only where it is used
    xs = x[small]
    x2 = xs * xs
    series = np.full_like(xs, _SMALL[-1])
    for c in reversed(_SMALL[:-1]):  # Horner's rule in place
        series *= x2
        series += x.dtype.type(c)
    series *= xs
    large[small] = series
    return large.reshape(shape)
