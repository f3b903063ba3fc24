"""``tf.math``: the arithmetic, comparison and reduction functions under their TF names, and
the counting ops (`bincount`, `confusion_matrix`, `in_top_k`) and `divide_no_nan` defined
here."""

from __future__ import annotations

import numpy as np

from convnp.tensor import _special_math as _sm
from convnp.tensor import symbolic as _symbolic
from convnp.tensor.debugging import InvalidArgumentError
from convnp.tensor.eager import as_dtype
from convnp.tensor.nn import (
    erf,
    gelu,
    in_top_k,
    log_softmax,
    selu,
    sigmoid,
    softmax,
    softplus,
    softsign,
    tanh,
    zero_fraction,
)
from convnp.tensor.ops import (
    _axis,
    _axis_arg,
    _binary,
    _convert,
    _grad_dtype,
    _int_array,
    _op,
    _unary,
    abs,
    add,
    add_n,
    argmax,
    argmin,
    ceil,
    cos,
    cumsum,
    divide,
    equal,
    exp,
    floor,
    floordiv,
    greater,
    greater_equal,
    is_finite,
    is_inf,
    is_nan,
    l2_normalize,
    less,
    less_equal,
    log,
    log1p,
    logical_and,
    logical_not,
    logical_or,
    maximum,
    minimum,
    multiply,
    negative,
    norm,  # noqa: F401 - kept in this namespace (tf.math.norm has long been convnp's)
    not_equal,
    pow,
    reciprocal,
    reduce_all,
    reduce_any,
    reduce_logsumexp,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_prod,
    reduce_std,
    reduce_sum,
    reduce_variance,
    round,
    rsqrt,
    sign,
    sin,
    sqrt,
    square,
    subtract,
    truediv,
    value_of,
)
from convnp.tensor.sorting import top_k
from convnp.tensor.tape import is_variable, new_tensor, unbroadcast

__all__ = [
    "abs",
    "accumulate_n",
    "acos",
    "acosh",
    "add",
    "add_n",
    "argmax",
    "argmin",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "bessel_i0",
    "bessel_i0e",
    "bessel_i1",
    "bessel_i1e",
    "betainc",
    "bincount",
    "ceil",
    "confusion_matrix",
    "cos",
    "cosh",
    "count_nonzero",
    "cumprod",
    "cumsum",
    "cumulative_logsumexp",
    "digamma",
    "divide",
    "divide_no_nan",
    "equal",
    "erf",
    "erfc",
    "erfinv",
    "exp",
    "expm1",
    "floor",
    "floordiv",
    "floormod",
    "gelu",
    "greater",
    "greater_equal",
    "igamma",
    "igammac",
    "in_top_k",
    "invert_permutation",
    "is_finite",
    "is_inf",
    "is_nan",
    "is_non_decreasing",
    "is_strictly_increasing",
    "l2_normalize",
    "lbeta",
    "less",
    "less_equal",
    "lgamma",
    "log",
    "log1p",
    "log_sigmoid",
    "log_softmax",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "maximum",
    "minimum",
    "mod",
    "multiply",
    "multiply_no_nan",
    "ndtri",
    "negative",
    "nextafter",
    "not_equal",
    "polyval",
    "pow",
    "realdiv",
    "reciprocal",
    "reciprocal_no_nan",
    "reduce_all",
    "reduce_any",
    "reduce_euclidean_norm",
    "reduce_logsumexp",
    "reduce_max",
    "reduce_mean",
    "reduce_min",
    "reduce_prod",
    "reduce_std",
    "reduce_sum",
    "reduce_variance",
    "rint",
    "roll",
    "round",
    "rsqrt",
    "scalar_mul",
    "segment_max",
    "segment_mean",
    "segment_min",
    "segment_prod",
    "segment_sum",
    "selu",
    "sigmoid",
    "sign",
    "sin",
    "sinh",
    "softmax",
    "softplus",
    "softsign",
    "sqrt",
    "square",
    "squared_difference",
    "subtract",
    "tan",
    "tanh",
    "top_k",
    "truediv",
    "truncatediv",
    "unsorted_segment_max",
    "unsorted_segment_mean",
    "unsorted_segment_min",
    "unsorted_segment_prod",
    "unsorted_segment_sqrt_n",
    "unsorted_segment_sum",
    "xdivy",
    "xlog1py",
    "xlogy",
    "zero_fraction",
]


def _ints(x, who: str) -> np.ndarray:
    """Integer values; floats are truncated toward zero, as TensorFlow's casts do."""
    a = np.asarray(value_of(x) if isinstance(x, np.ndarray) or is_variable(x) else x)
    if a.size and a.dtype.kind not in "iuf" and a.dtype != bool:
        raise TypeError(f"{who} must be numbers, got dtype {a.dtype}")
    return a.astype(np.int64)


def _number(x, like: np.ndarray | None = None) -> np.ndarray:
    """``x`` as an array; a Python number takes the dtype of ``like`` (as in TensorFlow)."""
    if isinstance(x, np.ndarray) or is_variable(x):
        return value_of(x)
    if like is not None and isinstance(x, (int, float)) and not isinstance(x, bool):
        return np.asarray(x, dtype=like.dtype)
    return _convert(x)


def _is_python_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


# integer division gives float32 for small ints and float64 for 32/64-bit ones (TF's truediv)
_INT_QUOTIENT = {1: np.float32, 2: np.float32, 4: np.float64, 8: np.float64}


def divide_no_nan(x, y, name=None):
    """``x / y`` where ``y != 0`` and 0 where ``y == 0`` (even for ``x`` 0, inf or NaN); the
    gradient is 0 there too."""
    if _is_python_number(x) and not _is_python_number(y):
        b = _number(y)
        a = _number(x, b)
    else:
        a = _number(x)
        b = _number(y, a)
    if a.dtype != b.dtype:
        raise InvalidArgumentError(f"divide_no_nan: x and y must have the same dtype, got "
                                   f"{a.dtype} and {b.dtype}")
    if a.dtype.kind in "iu":
        quotient = _INT_QUOTIENT[a.dtype.itemsize]
        a, b = a.astype(quotient), b.astype(quotient)
    elif a.dtype.kind not in "fc":
        raise TypeError(f"divide_no_nan: x and y must be numbers, got {a.dtype}")
    zero = b == 0
    safe = np.where(zero, np.ones_like(b), b)
    out = np.where(zero, 0, a / safe).astype(a.dtype)

    def vjp(g):
        from convnp.tensor.tape import unbroadcast

        gx = np.where(zero, 0, g / safe)
        gy = np.where(zero, 0, -g * a / (safe * safe))
        return [unbroadcast(gx, a.shape), unbroadcast(gy, b.shape)]

    return _op(out, [x, y], vjp)


def bincount(arr, weights=None, minlength=None, maxlength=None, dtype=np.int32, name=None,
             axis=None, binary_output=False):
    """How often each value ``0, 1, ...`` occurs in ``arr`` (or the sum of ``weights`` at its
    places). The length is ``max(arr) + 1``, at least ``minlength`` and at most
    ``maxlength`` (larger values are dropped). ``axis=-1`` counts each row of a 2-D ``arr``;
    ``binary_output`` gives 1 for present values instead of counts."""
    values = _ints(arr, "bincount: arr")
    if np.any(values < 0):
        raise InvalidArgumentError("bincount: Input arr must be non-negative!")
    if axis not in (None, 0, -1):
        raise ValueError(f"bincount: axis must be None, 0 or -1, got {axis!r}")
    if axis == -1 and values.ndim != 2:
        raise ValueError(f"bincount: axis=-1 needs a 2-D arr, got rank {values.ndim}")
    w = None
    out_dtype = as_dtype(dtype).dtype
    if weights is not None:
        if binary_output:
            raise ValueError("bincount: give weights or binary_output=True, not both")
        w = np.asarray(value_of(weights) if isinstance(weights, np.ndarray) else _convert(
            weights))
        if w.shape != values.shape:
            raise InvalidArgumentError(f"bincount: weights must have the shape of arr "
                                       f"{list(values.shape)}, got {list(w.shape)}")
        out_dtype = w.dtype
    length = int(values.max()) + 1 if values.size else 0
    if minlength is not None:
        length = max(length, int(minlength))
    if maxlength is not None:
        length = min(length, int(maxlength))
    rows = values.reshape(1, -1) if axis != -1 else values
    wrows = None if w is None else (w.reshape(1, -1) if axis != -1 else w)
    out = np.zeros((rows.shape[0], length), dtype=np.float64 if w is not None else np.int64)
    for i, row in enumerate(rows):
        keep = row < length
        counts = np.bincount(row[keep], minlength=length,
                             weights=None if wrows is None else wrows[i][keep])
        out[i] = counts[:length]
    if binary_output:
        out = (out > 0).astype(out.dtype)
    out = out.astype(out_dtype)
    return new_tensor(out if axis == -1 else out[0])


def confusion_matrix(labels, predictions, num_classes=None, weights=None, dtype=np.int32,
                     name=None):
    """``(num_classes, num_classes)`` counts: row = true label, column = prediction (or the sum
    of ``weights``). ``num_classes`` defaults to the largest label or prediction + 1."""
    lab = _ints(labels, "confusion_matrix: labels").reshape(-1)
    pred = _ints(predictions, "confusion_matrix: predictions").reshape(-1)
    if lab.shape != pred.shape:
        raise InvalidArgumentError(f"confusion_matrix: labels and predictions must have the same number "
                         f"of entries, got {lab.size} and {pred.size}")
    if np.any(lab < 0):
        raise InvalidArgumentError("`labels` contains negative values.")
    if np.any(pred < 0):
        raise InvalidArgumentError("`predictions` contains negative values.")
    if num_classes is None:
        n = int(max(lab.max(initial=-1), pred.max(initial=-1))) + 1
    else:
        n = int(value_of(num_classes)) if isinstance(num_classes, np.ndarray) else int(
            num_classes)
        if np.any(lab >= n):
            raise InvalidArgumentError(f"`labels` out of bound: values must be < "
                                       f"num_classes={n}, got {int(lab.max())}")
        if np.any(pred >= n):
            raise InvalidArgumentError(f"`predictions` out of bound: values must be < "
                                       f"num_classes={n}, got {int(pred.max())}")
    target = as_dtype(dtype).dtype
    # weights are cast to dtype first, then added up (0.5 counts as 0 in an int matrix)
    w = np.ones(lab.shape, dtype=target) if weights is None else np.asarray(
        value_of(weights) if isinstance(weights, np.ndarray) else weights).astype(
        target).reshape(-1)
    if w.shape != lab.shape:
        raise InvalidArgumentError(f"confusion_matrix: weights must have {lab.size} entries, "
                                   f"got {w.size}")
    out = np.zeros((n, n), dtype=target)
    np.add.at(out, (lab, pred), w)
    return new_tensor(out)


def _values(x) -> np.ndarray:
    return value_of(x) if isinstance(x, np.ndarray) or is_variable(x) else _convert(x)


def floormod(x, y, name=None):
    """``x - floor(x / y) * y``: the remainder with the sign of ``y`` (Python's ``%``); the
    gradient is 1 for ``x`` and ``-floor(x / y)`` for ``y``, as TensorFlow's."""
    return _binary(np.remainder, x, y)


mod = floormod


def squared_difference(x, y, name=None):
    """``(x - y) ** 2``, elementwise (broadcasting)."""
    return square(subtract(x, y))


def expm1(x, name=None):
    """``exp(x) - 1``, accurate for small ``x``."""
    return _unary(np.expm1, x)


def log_sigmoid(x, name=None):
    """``log(sigmoid(x)) = -softplus(-x)``, without overflow for large ``|x|``."""
    return negative(softplus(negative(x)))


def xlogy(x, y, name=None):
    """``x * log(y)``, and 0 where ``x`` is 0 (even where ``y`` is 0)."""
    a, b = _values(x), _values(y)
    if a.dtype != b.dtype:
        raise InvalidArgumentError(f"xlogy: x and y must have the same dtype, got {a.dtype} "
                                   f"and {b.dtype}")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(a == 0, np.zeros((), a.dtype), a * np.log(b)).astype(a.dtype)

        def vjp(g):
            with np.errstate(divide="ignore", invalid="ignore"):
                gx = np.where(a == 0, 0, g * np.log(b))
                gy = np.where(a == 0, 0, g * a / b)
            return [unbroadcast(gx, a.shape), unbroadcast(gy, b.shape)]

    return _op(out, [x, y], vjp)


def reduce_euclidean_norm(input_tensor, axis=None, keepdims=False, name=None):
    """``sqrt(sum(x ** 2))`` over ``axis`` (all axes by default, or any number of them:
    unlike `norm`, which takes at most two)."""
    return sqrt(reduce_sum(square(input_tensor), _axis(axis), keepdims))


def count_nonzero(input, axis=None, keepdims=None, dtype=np.int64, name=None):
    """How many entries over ``axis`` (all by default) are not zero (not False); int64."""
    a = _values(input)
    out = np.count_nonzero(a, axis=_axis(axis), keepdims=bool(keepdims))
    return new_tensor(np.asarray(out).astype(as_dtype(dtype).dtype))


def roll(input, shift, axis, name=None):
    """The entries shifted by ``shift`` places along ``axis``, wrapping around (ints or
    equally long lists of them)."""
    a = _values(input)
    shifts = _ints(shift, "roll: shift")
    axes = _ints(axis, "roll: axis")
    if shifts.shape != axes.shape:
        raise InvalidArgumentError(f"roll: shift and axis must have the same length, got "
                                   f"{shifts.tolist()} and {axes.tolist()}")
    shifts, axes = tuple(shifts.reshape(-1).tolist()), tuple(
        _axis_arg(ax, a.ndim, "roll") for ax in axes.reshape(-1).tolist())
    back = tuple(-k for k in shifts)
    return _op(np.roll(a, shifts, axes), [input],
               lambda g: [np.roll(np.asarray(g), back, axes)])


def unsorted_segment_sum(data, segment_ids, num_segments, name=None):
    """``out[k] = sum of data[i] with segment_ids[i] == k`` for ``k < num_segments`` (the ids
    index the leading axes of ``data``; ids out of range are dropped)."""
    a = _values(data)
    ids = _int_array(segment_ids, "unsorted_segment_sum", "segment_ids")
    if a.shape[:ids.ndim] != ids.shape:
        raise InvalidArgumentError(f"unsorted_segment_sum: segment_ids of shape "
                                   f"{list(ids.shape)} must be a prefix of data's shape "
                                   f"{list(a.shape)}")
    n = int(value_of(num_segments)) if isinstance(num_segments, np.ndarray) else int(
        num_segments)
    return _segment_sum(data, a, ids, n)


def segment_sum(data, segment_ids, name=None):
    """Sums of the rows of ``data`` sharing a segment id; the ids must be sorted, and the
    result has ``max(id) + 1`` rows (rows of absent ids are 0)."""
    a = _values(data)
    ids = _int_array(segment_ids, "segment_sum", "segment_ids")
    if ids.ndim != 1 or a.ndim < 1 or ids.shape[0] != a.shape[0]:
        raise InvalidArgumentError(f"segment_sum: segment_ids must be a vector as long as "
                                   f"data's first axis, got shapes {list(ids.shape)} and "
                                   f"{list(a.shape)}")
    if np.any(np.diff(ids) < 0) or np.any(ids < 0):
        raise InvalidArgumentError("segment_sum: segment_ids must be sorted and non-negative")
    return _segment_sum(data, a, ids, int(ids.max()) + 1 if ids.size else 0)


def _unary_op(ufunc, tf_name: str, what: str):
    def op(x, name=None):
        return _unary(ufunc, x)
    op.__name__ = op.__qualname__ = tf_name
    op.__doc__ = f"{what}, elementwise (with its gradient)."
    return op


tan = _unary_op(np.tan, "tan", "The tangent")
sinh = _unary_op(np.sinh, "sinh", "The hyperbolic sine")
cosh = _unary_op(np.cosh, "cosh", "The hyperbolic cosine")
asin = _unary_op(np.arcsin, "asin", "The inverse sine")
acos = _unary_op(np.arccos, "acos", "The inverse cosine")
atan = _unary_op(np.arctan, "atan", "The inverse tangent")
asinh = _unary_op(np.arcsinh, "asinh", "The inverse hyperbolic sine")
acosh = _unary_op(np.arccosh, "acosh", "The inverse hyperbolic cosine")
atanh = _unary_op(np.arctanh, "atanh", "The inverse hyperbolic tangent")


def atan2(y, x, name=None):
    """The angle of the point ``(x, y)``: ``arctan(y / x)`` in the right quadrant."""
    return _binary(np.arctan2, y, x)


def rint(x, name=None):
    """The nearest whole number, halves to the even one (values only: no gradient)."""
    return new_tensor(np.rint(_values(x)))


def logical_xor(x, y, name=None):
    """``x != y`` for booleans."""
    a, b = _values(x), _values(y)
    if a.dtype != bool or b.dtype != bool:
        raise TypeError(f"logical_xor: expects bool tensors, got {a.dtype} and {b.dtype}")
    return new_tensor(np.logical_xor(a, b))


def multiply_no_nan(x, y, name=None):
    """``x * y``, and 0 where ``y`` is 0 even if ``x`` is inf or NaN."""
    a, b = _values(x), _values(y)
    if a.dtype != b.dtype:
        raise InvalidArgumentError(f"multiply_no_nan: x and y must have the same dtype, got "
                                   f"{a.dtype} and {b.dtype}")
    with np.errstate(invalid="ignore"):
        out = np.where(b == 0, np.zeros((), a.dtype), a * b).astype(a.dtype)

    def vjp(g):
        g = np.asarray(g)
        with np.errstate(invalid="ignore"):
            gx = np.where(b == 0, 0, g * b)
            gy = np.where(g == 0, 0, a * g)
        return [unbroadcast(gx, a.shape), unbroadcast(gy, b.shape)]

    return _op(out, [x, y], vjp)


def reciprocal_no_nan(x, name=None):
    """``1 / x``, and 0 where ``x`` is 0."""
    a = _values(x)
    return divide_no_nan(np.ones((), dtype=a.dtype), x)


def scalar_mul(scalar, x, name=None):
    """``scalar * x``."""
    return multiply(scalar, x)


def accumulate_n(inputs, shape=None, tensor_dtype=None, name=None):
    """The elementwise sum of ``inputs`` (`add_n`)."""
    return add_n(inputs)


def realdiv(x, y, name=None):
    """``x / y`` for floats."""
    return divide(x, y)


def truncatediv(x, y, name=None):
    """Integer division rounded toward zero (``-7 // 2`` is -3 here, -4 with ``//``);
    values only."""
    a, b = _values(x), _number(y, _values(x))
    if a.dtype.kind not in "iu" or b.dtype.kind not in "iu":
        raise TypeError(f"truncatediv: expects integer tensors, got {a.dtype} and {b.dtype}")
    if np.any(b == 0):
        raise InvalidArgumentError("truncatediv: Integer division by zero")
    quotient = np.abs(a) // np.abs(b)
    return new_tensor((np.sign(a) * np.sign(b) * quotient).astype(np.result_type(a, b)))


def is_non_decreasing(x, name=None):
    """Whether the values, read in order (flattened), never go down."""
    return new_tensor(np.asarray(bool(np.all(np.diff(_values(x).reshape(-1)) >= 0))))


def is_strictly_increasing(x, name=None):
    """Whether the values, read in order (flattened), always go up."""
    return new_tensor(np.asarray(bool(np.all(np.diff(_values(x).reshape(-1)) > 0))))


def _segment_sum(data, a: np.ndarray, ids: np.ndarray, n: int):
    rest = a.shape[ids.ndim:]
    flat_ids = ids.reshape(-1)
    rows = a.reshape((-1,) + rest)
    keep = (flat_ids >= 0) & (flat_ids < n)
    out = np.zeros((n,) + rest, dtype=a.dtype)
    np.add.at(out, flat_ids[keep], rows[keep])

    def vjp(g):
        g = np.asarray(g)
        grad = np.zeros(rows.shape, dtype=_grad_dtype(a))
        grad[keep] = g[flat_ids[keep]]
        return [grad.reshape(a.shape)]

    return _op(out, [data], vjp)


# ----------------------------------------------------------------------------- special functions


def _float_values(x, who: str) -> np.ndarray:
    """``x``'s values, refusing non-float dtypes as TensorFlow's kernels for these ops do."""
    a = _values(x)
    if a.dtype.kind != "f":
        raise InvalidArgumentError(f"{who}: expects a float tensor (float16, float32 or "
                                   f"float64), got {a.dtype}; use tf.cast")
    return a


def _special_op(x, who: str, values, slope):
    """The op ``values(a)`` (float64 in, float64 out) in ``x``'s dtype, with gradient
    ``g * slope(a, out)``."""
    a = _float_values(x, who)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = values(a.astype(np.float64))

    def vjp(g):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return [(np.asarray(g) * slope(a.astype(np.float64), out)).astype(a.dtype)]

    return _op(out.astype(a.dtype), [x], vjp)


def _float64_input(x, who: str) -> bool:
    """Whether ``x`` computes in float64: there erfc and erfinv keep every digit
    (``precise``); narrower dtypes take the faster series, exact after rounding."""
    return _float_values(x, who).dtype == np.float64


def erfc(x, name=None):
    """``1 - erf(x)``, accurate where erf is close to 1."""
    precise = _float64_input(x, "erfc")
    return _special_op(x, "erfc", lambda a: _sm.erfc(a, precise),
                       lambda a, out: -2 / np.sqrt(np.pi) * np.exp(-a * a))


def erfinv(x, name=None):
    """The inverse error function (+-inf at +-1, NaN beyond)."""
    precise = _float64_input(x, "erfinv")
    return _special_op(x, "erfinv", lambda a: _sm.erfinv(a, precise),
                       lambda a, out: np.sqrt(np.pi) / 2 * np.exp(out * out))


def ndtri(x, name=None):
    """The inverse of the standard normal CDF: ``sqrt(2) * erfinv(2 p - 1)``."""
    precise = _float64_input(x, "ndtri")
    return _special_op(x, "ndtri", lambda a: np.sqrt(2) * _sm.erfinv(2 * a - 1, precise),
                       lambda a, out: np.sqrt(2 * np.pi) * np.exp(out * out / 2))


def lgamma(x, name=None):
    """``log|Gamma(x)|`` (+inf at 0, -1, -2, ...); its gradient is digamma."""
    return _special_op(x, "lgamma", _sm.lgamma, lambda a, out: _sm.digamma(a))


def digamma(x, name=None):
    """The derivative of lgamma (NaN at 0, -1, -2, ...); its gradient is trigamma."""
    return _special_op(x, "digamma", _sm.digamma, lambda a, out: _sm.trigamma(a))


def lbeta(x, name=None):
    """``log|B(x)|`` over the last axis: ``sum(lgamma(x)) - lgamma(sum(x))`` (the
    normalizer of a Dirichlet)."""
    return subtract(reduce_sum(lgamma(x), -1), lgamma(reduce_sum(x, -1)))


def bessel_i0(x, name=None):
    """The modified Bessel function of the first kind of order 0; slope ``I1``."""
    return _special_op(x, "bessel_i0", lambda a: _sm.bessel(a, 0),
                       lambda a, out: _sm.bessel(a, 1))


def bessel_i1(x, name=None):
    """The modified Bessel function of the first kind of order 1; slope ``I0 - I1 / x``
    (1/2 at 0)."""
    def slope(a, out):
        safe = np.where(a == 0, 1.0, a)
        return np.where(a == 0, 0.5, _sm.bessel(a, 0) - out / safe)

    return _special_op(x, "bessel_i1", lambda a: _sm.bessel(a, 1), slope)


def bessel_i0e(x, name=None):
    """``exp(-|x|) I0(x)``, finite for every x; slope ``i1e - sign(x) i0e``."""
    return _special_op(x, "bessel_i0e", lambda a: _sm.bessel_scaled(a, 0),
                       lambda a, out: _sm.bessel_scaled(a, 1) - np.sign(a) * out)


def bessel_i1e(x, name=None):
    """``exp(-|x|) I1(x)``; slope ``i0e - i1e (sign(x) + 1 / x)`` (1/2 at 0)."""
    def slope(a, out):
        safe = np.where(a == 0, 1.0, a)
        return np.where(a == 0, 0.5,
                        _sm.bessel_scaled(a, 0) - out * (np.sign(a) + 1 / safe))

    return _special_op(x, "bessel_i1e", lambda a: _sm.bessel_scaled(a, 1), slope)


def _float_operands(values: list, who: str) -> list:
    """The operands of a float op of several arguments: one float dtype (Python numbers take
    it; float32 when all are Python numbers), as TensorFlow converts them."""
    tensors = [_values(v) for v in values if not _is_python_number(v)]
    dtype = tensors[0].dtype if tensors else np.dtype(np.float32)
    if dtype.kind != "f" or any(t.dtype != dtype for t in tensors):
        raise InvalidArgumentError(f"{who}: expects float tensors of one dtype, got "
                                   f"{[str(t.dtype) for t in tensors]}")
    return [np.asarray(_values(v) if not _is_python_number(v) else v, dtype=dtype)
            for v in values]


def igamma(a, x, name=None):
    """The regularized lower incomplete gamma function ``P(a, x)`` (the Gamma(a) CDF at
    x), broadcasting; NaN for ``a <= 0`` or ``x < 0``. Gradients for both arguments."""
    av, xv = _float_operands([a, x], "igamma")
    out = _sm.gammainc(av, xv)

    def vjp(g):
        g = np.asarray(g, dtype=np.float64)
        return [unbroadcast(g * _sm.gammainc_slope_a(av, xv), av.shape).astype(av.dtype),
                unbroadcast(g * _sm.gammainc_slope_x(av, xv), xv.shape).astype(xv.dtype)]

    return _op(out.astype(av.dtype), [a, x], vjp)


def igammac(a, x, name=None):
    """The regularized upper incomplete gamma function ``Q(a, x) = 1 - P(a, x)``."""
    return subtract(np.ones((), dtype=_float_operands([a, x], "igammac")[0].dtype),
                    igamma(a, x))


def betainc(a, b, x, name=None):
    """The regularized incomplete beta function ``I_x(a, b)`` (the Beta(a, b) CDF at x),
    broadcasting; NaN outside its domain. The gradient flows to ``x`` only (TensorFlow has
    none for ``a`` and ``b`` either)."""
    av, bv, xv = _float_operands([a, b, x], "betainc")
    out = _sm.betainc(av, bv, xv)

    def vjp(g):
        g = np.asarray(g, dtype=np.float64)
        slope = _sm.betainc_slope_x(av, bv, xv)
        return [None, None, unbroadcast(g * slope, xv.shape).astype(xv.dtype)]

    return _op(out.astype(av.dtype), [a, b, x], vjp)


def nextafter(x1, x2, name=None):
    """The next float after ``x1`` toward ``x2`` (values only)."""
    a, b = _values(x1), _values(x2)
    if a.dtype != b.dtype or a.dtype not in (np.float32, np.float64):
        raise InvalidArgumentError(f"nextafter: x1 and x2 must both be float32 or float64, "
                                   f"got {a.dtype} and {b.dtype}")
    return new_tensor(np.nextafter(a, b))


def _zero_where_x_is(x, y, who: str, values, dx, dy):
    """``values(x, y)``, and 0 where ``x`` is 0 (``xdivy``, ``xlog1py``); so are both
    gradients there."""
    a, b = _values(x), _values(y)
    if a.dtype != b.dtype:
        raise InvalidArgumentError(f"{who}: x and y must have the same dtype, got {a.dtype} "
                                   f"and {b.dtype}")
    zero = a == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(zero, np.zeros((), a.dtype), values(a, b)).astype(a.dtype)

    def vjp(g):
        g = np.asarray(g)
        with np.errstate(divide="ignore", invalid="ignore"):
            gx = np.where(zero, 0, g * dx(a, b))
            gy = np.where(zero, 0, g * dy(a, b))
        return [unbroadcast(gx, a.shape).astype(a.dtype), unbroadcast(gy, b.shape).astype(
            b.dtype)]

    return _op(out, [x, y], vjp)


def xdivy(x, y, name=None):
    """``x / y``, and 0 where ``x`` is 0 (even where ``y`` is 0)."""
    return _zero_where_x_is(x, y, "xdivy", lambda a, b: a / b, lambda a, b: 1 / b,
                            lambda a, b: -a / (b * b))


def xlog1py(x, y, name=None):
    """``x * log1p(y)``, and 0 where ``x`` is 0."""
    return _zero_where_x_is(x, y, "xlog1py", lambda a, b: a * np.log1p(b),
                            lambda a, b: np.log1p(b), lambda a, b: a / (1 + b))


def polyval(coeffs, x, name=None):
    """``coeffs[0] * x**(n-1) + ... + coeffs[n-1]`` by Horner's rule (recorded, so every
    coefficient and ``x`` get gradients); an empty list gives zeros like ``x``."""
    if not isinstance(coeffs, list):
        # TensorFlow's type of error for this
        raise ValueError(f"polyval: coeffs must be a list of tensors, got "  # noqa: TRY004
                         f"{type(coeffs).__name__}")
    from convnp.tensor.ops import constant, zeros_like

    x = constant(x) if _is_python_number(x) else x
    if not coeffs:
        return zeros_like(x)
    total = coeffs[0]
    for c in coeffs[1:]:
        total = add(multiply(total, x), c)
    return total if not _is_python_number(total) else constant(total)


def invert_permutation(x, name=None):
    """The permutation ``y`` with ``y[x[i]] = i``; ``x`` must be a permutation of
    ``0..n-1`` (int32 or int64)."""
    a = _values(x)
    if a.dtype.kind not in "iu" or a.ndim != 1:
        raise InvalidArgumentError(f"invert_permutation: x must be an int vector, got dtype "
                                   f"{a.dtype} and shape {list(a.shape)}")
    if not np.array_equal(np.sort(a), np.arange(a.size)):
        raise InvalidArgumentError(f"invert_permutation: {a.tolist()} is not a permutation "
                                   f"of 0..{a.size - 1}")
    out = np.empty_like(a)
    out[a] = np.arange(a.size, dtype=a.dtype)
    return new_tensor(out)


def _running_product(a: np.ndarray, axis: int, exclusive: bool) -> np.ndarray:
    out = np.cumprod(a, axis=axis, dtype=a.dtype)
    if exclusive and a.shape[axis]:
        ones = np.ones_like(np.take(out, [0], axis=axis))
        out = np.concatenate([ones, np.take(out, np.arange(a.shape[axis] - 1), axis=axis)],
                             axis=axis)
    return out


def cumprod(x, axis=0, exclusive=False, reverse=False, name=None):
    """Running products along ``axis`` (``exclusive``: without the element itself, starting
    at 1; ``reverse``: from the end). The gradient is exact also where ``x`` has zeros
    (TensorFlow divides by ``x`` there and gives 0 instead)."""
    a = _values(x)
    axis = _axis_arg(axis, max(a.ndim, 1), "cumprod")
    exclusive, reverse = bool(exclusive), bool(reverse)
    flip = (lambda v: np.flip(v, axis)) if reverse else (lambda v: v)
    forward = flip(a)
    out = flip(_running_product(forward, axis, exclusive))

    def vjp(g):
        # along the (flipped) axis, with P the exclusive running product:
        # grad_i = P_(i) * S_i, S_i = sum over outputs j that use x_i of g_j times the
        # factors after i in them; S runs backwards: S_i = g_i + x_(i+1) S_(i+1) (inclusive)
        # or S_i = g_(i+1) + x_(i+1) S_(i+1) (exclusive)
        gf = np.moveaxis(flip(np.asarray(g, dtype=_grad_dtype(a))), axis, 0)
        xf = np.moveaxis(forward, axis, 0).astype(gf.dtype)
        before = np.moveaxis(_running_product(forward, axis, True), axis, 0).astype(gf.dtype)
        total = np.zeros_like(gf)
        n = gf.shape[0]
        running = np.zeros(gf.shape[1:], dtype=gf.dtype)
        for i in range(n - 1, -1, -1):
            if exclusive:
                running = (gf[i + 1] + xf[i + 1] * running) if i + 1 < n else running * 0
            else:
                running = gf[i] + (xf[i + 1] * running if i + 1 < n else 0)
            total[i] = before[i] * running
        return [flip(np.moveaxis(total, 0, axis))]

    return _op(out, [x], vjp)


def cumulative_logsumexp(x, axis=0, exclusive=False, reverse=False, name=None):
    """``log(cumsum(exp(x)))`` along ``axis`` without overflow (``exclusive`` starts at
    -inf); float input."""
    a = _float_values(x, "cumulative_logsumexp")
    axis = _axis_arg(axis, max(a.ndim, 1), "cumulative_logsumexp")
    reverse = bool(reverse)
    flip = (lambda v: np.flip(v, axis)) if reverse else (lambda v: v)
    forward = flip(a).astype(np.float64)
    inclusive = np.logaddexp.accumulate(forward, axis=axis)
    if exclusive and a.shape[axis]:
        start = np.full_like(np.take(inclusive, [0], axis=axis), -np.inf)
        running = np.concatenate([start, np.take(inclusive, np.arange(a.shape[axis] - 1),
                                                 axis=axis)], axis=axis)
    else:
        running = inclusive
    out = flip(running)

    def vjp(g):
        # d out_j / d x_i = exp(x_i - out_j) for the i that out_j sums: a reverse running sum
        # of g_j exp(-out_j), times exp(x_i), shifted by the largest output to stay finite
        gf = flip(np.asarray(g, dtype=np.float64))
        top = np.max(running[np.isfinite(running)], initial=0.0)
        with np.errstate(over="ignore", invalid="ignore"):
            weights = np.where(np.isfinite(running), gf * np.exp(top - running), 0.0)
            after = np.flip(np.cumsum(np.flip(weights, axis), axis=axis), axis)
            if exclusive and a.shape[axis]:
                pad = np.zeros_like(np.take(after, [0], axis=axis))
                after = np.concatenate([np.take(after, np.arange(1, a.shape[axis]),
                                                axis=axis), pad], axis=axis)
            grad = after * np.exp(forward - top)
        return [flip(grad).astype(a.dtype)]

    return _op(out.astype(a.dtype), [x], vjp)


def _segment_ids(data, segment_ids, num_segments, who: str, sorted_ids: bool):
    a = _values(data)
    ids = _int_array(segment_ids, who, "segment_ids")
    if sorted_ids:
        if ids.ndim != 1 or a.ndim < 1 or ids.shape[0] != a.shape[0]:
            raise InvalidArgumentError(f"{who}: segment_ids must be a vector as long as "
                                       f"data's first axis, got shapes {list(ids.shape)} and "
                                       f"{list(a.shape)}")
        if np.any(np.diff(ids) < 0) or np.any(ids < 0):
            raise InvalidArgumentError(f"{who}: segment_ids must be sorted and non-negative")
        n = int(ids.max()) + 1 if ids.size else 0
    else:
        if a.shape[:ids.ndim] != ids.shape:
            raise InvalidArgumentError(f"{who}: segment_ids of shape {list(ids.shape)} must "
                                       f"be a prefix of data's shape {list(a.shape)}")
        n = int(value_of(num_segments)) if isinstance(num_segments, np.ndarray) else int(
            num_segments)
    rest = a.shape[ids.ndim:]
    flat_ids = ids.reshape(-1)
    keep = (flat_ids >= 0) & (flat_ids < n)
    return a, a.reshape((-1,) + rest), flat_ids, keep, n


def _segment_reduce(data, segment_ids, num_segments, kind: str, who: str, sorted_ids: bool):
    """The segment reductions but the sum: ``max``, ``min``, ``mean``, ``prod`` and
    ``sqrt_n`` (sum / sqrt(count)). Empty segments hold 0 (1 for prod) in the sorted ops; the
    unsorted max/min leave the dtype's lowest/highest value there, as TensorFlow."""
    a, rows, ids, keep, n = _segment_ids(data, segment_ids, num_segments, who, sorted_ids)
    rest = rows.shape[1:]
    k = ids[keep]
    counts = np.bincount(k, minlength=n).astype(np.float64).reshape((n,) + (1,) * len(rest))
    empty = counts == 0
    if kind in ("max", "min"):
        info = np.finfo(a.dtype) if a.dtype.kind == "f" else np.iinfo(a.dtype)
        start = info.min if kind == "max" else info.max
        out = np.full((n,) + rest, start, dtype=a.dtype)
        (np.maximum if kind == "max" else np.minimum).at(out, k, rows[keep])
        if sorted_ids:
            out = np.where(empty, np.zeros((), a.dtype), out)
    elif kind == "prod":
        out = np.ones((n,) + rest, dtype=a.dtype)
        np.multiply.at(out, k, rows[keep])
    else:
        total = np.zeros((n,) + rest, dtype=np.float64)
        np.add.at(total, k, rows[keep])
        scale = np.maximum(counts, 1) if kind == "mean" else np.sqrt(np.maximum(counts, 1))
        out = (total / scale).astype(a.dtype)

    def vjp(g):
        g = np.asarray(g, dtype=_grad_dtype(a))
        grad = np.zeros(rows.shape, dtype=g.dtype)
        picked = g[k]
        if kind in ("max", "min"):
            # the gradient is shared by the entries that reached the output (ties split it)
            chosen = rows[keep] == out[k]
            ties = np.zeros((n,) + rest)
            np.add.at(ties, k, chosen)
            grad[keep] = np.where(chosen, picked / np.maximum(ties[k], 1), 0)
        elif kind == "prod":
            x = rows[keep].astype(np.float64)
            zero = x == 0
            zeros = np.zeros((n,) + rest)
            np.add.at(zeros, k, zero)
            others = np.ones((n,) + rest)
            np.multiply.at(others, k, np.where(zero, 1.0, x))
            # the product of the other entries: all but x when x is not 0; the nonzero ones
            # when x is the segment's only zero; 0 when there are more
            with np.errstate(divide="ignore", invalid="ignore"):
                rest_product = np.where(zero, np.where(zeros[k] == 1, others[k], 0.0),
                                        np.where(zeros[k] > 0, 0.0, others[k] / np.where(
                                            zero, 1.0, x)))
            grad[keep] = picked * rest_product
        else:
            scale = np.maximum(counts, 1) if kind == "mean" else np.sqrt(np.maximum(counts, 1))
            grad[keep] = picked / scale[k]
        return [grad.reshape(a.shape)]

    return _op(out, [data], vjp)


def segment_max(data, segment_ids, name=None):
    return _segment_reduce(data, segment_ids, None, "max", "segment_max", True)


def segment_min(data, segment_ids, name=None):
    return _segment_reduce(data, segment_ids, None, "min", "segment_min", True)


def segment_mean(data, segment_ids, name=None):
    return _segment_reduce(data, segment_ids, None, "mean", "segment_mean", True)


def segment_prod(data, segment_ids, name=None):
    return _segment_reduce(data, segment_ids, None, "prod", "segment_prod", True)


def unsorted_segment_max(data, segment_ids, num_segments, name=None):
    return _segment_reduce(data, segment_ids, num_segments, "max", "unsorted_segment_max",
                           False)


def unsorted_segment_min(data, segment_ids, num_segments, name=None):
    return _segment_reduce(data, segment_ids, num_segments, "min", "unsorted_segment_min",
                           False)


def unsorted_segment_mean(data, segment_ids, num_segments, name=None):
    return _segment_reduce(data, segment_ids, num_segments, "mean", "unsorted_segment_mean",
                           False)


def unsorted_segment_prod(data, segment_ids, num_segments, name=None):
    return _segment_reduce(data, segment_ids, num_segments, "prod", "unsorted_segment_prod",
                           False)


def unsorted_segment_sqrt_n(data, segment_ids, num_segments, name=None):
    """The segment sums divided by the square root of each segment's size."""
    return _segment_reduce(data, segment_ids, num_segments, "sqrt_n",
                           "unsorted_segment_sqrt_n", False)


# called on KerasTensors, these functions become layers of the model being built
_symbolic.accept_keras_tensors(globals())
