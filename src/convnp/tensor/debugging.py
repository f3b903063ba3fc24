"""``tf.debugging`` checks and ``tf.errors.InvalidArgumentError`` (what they raise)."""

from __future__ import annotations

import numpy as np

from convnp.tensor.eager import EagerTensor, as_dtype
from convnp.tensor.errors import InvalidArgumentError
from convnp.tensor.tape import is_variable, new_tensor, record, recording, value_of

__all__ = ["Assert", "InvalidArgumentError", "assert_all_finite", "assert_equal",
           "assert_greater", "assert_greater_equal", "assert_integer", "assert_less",
           "assert_less_equal", "assert_near", "assert_negative", "assert_non_negative",
           "assert_non_positive", "assert_none_equal", "assert_positive",
           "assert_proper_iterable", "assert_rank", "assert_rank_at_least", "assert_rank_in",
           "assert_scalar", "assert_shapes", "assert_type", "check_numerics", "ensure_shape",
           "is_numeric_tensor", "set_log_device_placement"]


def _summary(array: np.ndarray, summarize) -> str:
    flat = array.reshape(-1)
    n = 3 if summarize is None else int(summarize)
    shown = flat if n < 0 or flat.size <= n else flat[:n]
    return " ".join(str(v) for v in shown) + ("..." if shown.size < flat.size else "")


def _values(x) -> np.ndarray:
    return np.asarray(value_of(x))


def _prefix(message) -> str:
    return f"{message} " if message else ""


def _paired(x, y, who: str):
    """``x`` and ``y`` as arrays of one dtype: a Python number takes the other's dtype, as
    TensorFlow converts it; two tensors of different dtypes are refused as TensorFlow's
    comparison kernels refuse them (InvalidArgumentError)."""
    a, b = _values(x), _values(y)
    plain_a = not isinstance(x, np.ndarray) and not is_variable(x)
    plain_b = not isinstance(y, np.ndarray) and not is_variable(y)
    if plain_a != plain_b:
        plain, tensor = (a, b) if plain_a else (b, a)
        if plain.dtype.kind == "f" and tensor.dtype.kind in "iub":
            # 2.5 does not convert to an integer tensor's dtype (TensorFlow refuses it too)
            raise InvalidArgumentError(f"{who}: cannot compare a {tensor.dtype} tensor with "
                                       f"the float value(s) {plain.tolist()}")
        if plain_a:
            a = a.astype(b.dtype)
        else:
            b = b.astype(a.dtype)
    elif a.dtype != b.dtype and not (plain_a and plain_b):
        raise InvalidArgumentError(f"{who}: x and y must have the same dtype, got {a.dtype} "
                                   f"and {b.dtype}")
    return a, b


def _holds(x, y, ufunc, symbol: str, message, summarize, who: str) -> None:
    """Raise `InvalidArgumentError` unless ``ufunc(x, y)`` holds everywhere (broadcast)."""
    a, b = _paired(x, y, who)
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise InvalidArgumentError(f"{_prefix(message)}{who}: shapes {a.shape} and {b.shape} "
                                   f"do not broadcast") from None
    holds = np.broadcast_to(ufunc(a, b), shape)
    if not bool(np.all(holds)):
        where = np.argwhere(~holds)
        raise InvalidArgumentError(
            f"{_prefix(message)}Condition x {symbol} y did not hold. Indices of first "
            f"{min(len(where), 3)} different values: {where[:3].tolist()}. x = "
            f"{_summary(a, summarize)}, y = {_summary(b, summarize)}")


def assert_equal(x, y, message=None, summarize=None, name=None):
    """Raise `InvalidArgumentError` unless ``x == y`` everywhere (broadcasting as TensorFlow
    does); returns None, as in eager TensorFlow."""
    _holds(x, y, np.equal, "==", message, summarize, "assert_equal")


def assert_none_equal(x, y, summarize=None, message=None, name=None):  # TF's order
    """Raise `InvalidArgumentError` unless ``x != y`` everywhere."""
    _holds(x, y, np.not_equal, "!=", message, summarize, "assert_none_equal")


def assert_greater(x, y, message=None, summarize=None, name=None):
    """Raise `InvalidArgumentError` unless ``x > y`` everywhere."""
    _holds(x, y, np.greater, ">", message, summarize, "assert_greater")


def assert_greater_equal(x, y, message=None, summarize=None, name=None):
    """Raise `InvalidArgumentError` unless ``x >= y`` everywhere."""
    _holds(x, y, np.greater_equal, ">=", message, summarize, "assert_greater_equal")


def assert_less(x, y, message=None, summarize=None, name=None):
    """Raise `InvalidArgumentError` unless ``x < y`` everywhere."""
    _holds(x, y, np.less, "<", message, summarize, "assert_less")


def assert_less_equal(x, y, message=None, summarize=None, name=None):
    """Raise `InvalidArgumentError` unless ``x <= y`` everywhere."""
    _holds(x, y, np.less_equal, "<=", message, summarize, "assert_less_equal")


def _sign_check(x, ufunc, symbol: str, message, summarize) -> None:
    a = _values(x)
    if not bool(np.all(ufunc(a, 0))):
        raise InvalidArgumentError(f"{_prefix(message)}Condition x {symbol} 0 did not hold "
                                   f"element-wise: x (shape={a.shape} dtype={a.dtype}) = "
                                   f"{_summary(a, summarize)}")


def assert_positive(x, message=None, summarize=None, name=None):
    _sign_check(x, np.greater, ">", message, summarize)


def assert_negative(x, message=None, summarize=None, name=None):
    _sign_check(x, np.less, "<", message, summarize)


def assert_non_negative(x, message=None, summarize=None, name=None):
    _sign_check(x, np.greater_equal, ">=", message, summarize)


def assert_non_positive(x, message=None, summarize=None, name=None):
    _sign_check(x, np.less_equal, "<=", message, summarize)


def assert_near(x, y, rtol=None, atol=None, message=None, summarize=None, name=None):
    """Raise `InvalidArgumentError` unless ``|x - y| <= atol + rtol * |y|`` everywhere; both
    tolerances default to 10 times the float dtype's machine epsilon. Integer tensors are a
    ValueError, as in TensorFlow (no epsilon to scale)."""
    a, b = _paired(x, y, "assert_near")
    if a.dtype.kind not in "fc":
        raise ValueError(f"assert_near: expects floating tensors, got {a.dtype}")
    eps = 10 * np.finfo(a.dtype).eps
    rtol = eps if rtol is None else float(_values(rtol))
    atol = eps if atol is None else float(_values(atol))
    if not bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b))):
        raise InvalidArgumentError(f"{_prefix(message)}x and y not equal to tolerance rtol = "
                                   f"{rtol}, atol = {atol}: x = {_summary(a, summarize)}, y = "
                                   f"{_summary(b, summarize)}")


def _rank_arg(rank, who: str) -> int:
    r = _values(rank)
    if r.ndim != 0:
        raise ValueError(f"{who}: Rank must be a scalar, got shape {list(r.shape)}")
    if r.dtype.kind not in "iu":
        raise TypeError(f"{who}: rank must be of type tf.int32; got {r.dtype}")
    return int(r)


def _rank_error(x, wanted: str, message):
    a = _values(x)
    return ValueError(f"{_prefix(message)}Tensor must have rank {wanted}. Received rank "
                      f"{a.ndim}, shape {a.shape}")


def assert_rank(x, rank, message=None, name=None):
    """Raise ValueError unless ``x`` has rank ``rank`` (a static check: TensorFlow raises
    ValueError, not InvalidArgumentError, in eager mode)."""
    wanted = _rank_arg(rank, "assert_rank")
    if _values(x).ndim != wanted:
        raise _rank_error(x, str(wanted), message)


def assert_rank_at_least(x, rank, message=None, name=None):
    wanted = _rank_arg(rank, "assert_rank_at_least")
    if _values(x).ndim < wanted:
        raise _rank_error(x, f"at least {wanted}", message)


def assert_rank_in(x, ranks, message=None, name=None):
    wanted = tuple(_rank_arg(r, "assert_rank_in") for r in ranks)
    if _values(x).ndim not in wanted:
        raise _rank_error(x, f"in {wanted}", message)


def assert_scalar(tensor, message=None, name=None):
    a = _values(tensor)
    if a.ndim != 0:
        raise ValueError(f"{_prefix(message)}Expected scalar shape, saw shape: {a.shape}.")


def assert_type(tensor, tf_type, message=None, name=None):
    """Raise TypeError unless ``tensor`` has dtype ``tf_type``."""
    wanted = as_dtype(tf_type)
    got = as_dtype(_values(tensor).dtype)
    if got != wanted:
        raise TypeError(f"{_prefix(message)}tensor must be of type {wanted!r}; got {got!r}")


def assert_integer(x, message=None, name=None):
    a = _values(x)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{_prefix(message)}Expected x to be integer type, found a tensor of "
                        f"dtype {a.dtype}")


def assert_proper_iterable(values):
    """Raise TypeError unless ``values`` is an iterable other than a tensor, an array or a
    string (whose iteration would walk its elements or characters, not a list of values)."""
    if isinstance(values, (np.ndarray, str, bytes)) or is_variable(values) \
            or not hasattr(values, "__iter__"):
        raise TypeError(f"Expected argument values to be a proper iterable, found "
                        f"{type(values).__name__}")


def assert_shapes(shapes, data=None, summarize=None, message=None, name=None):
    """Check every ``(tensor, spec)`` pair (or a dict ``{tensor: spec}``): ``spec`` lists
    one entry per axis: an int (that size), a string (a symbol: every axis named by it has
    one size) or None (any size); a leading ``"..."`` stands for any leading axes. ValueError
    on the first mismatch, as TensorFlow's eager check."""
    pairs = list(shapes.items()) if isinstance(shapes, dict) else list(shapes)
    sizes: dict = {}
    for tensor, spec in pairs:
        shape = _values(tensor).shape
        spec = list(spec.as_list() if hasattr(spec, "as_list") else spec)
        open_start = bool(spec) and spec[0] == "..."
        if open_start:
            spec = spec[1:]
            if len(shape) < len(spec):
                raise _rank_error(tensor, f"at least {len(spec)}", message)
            shape = shape[len(shape) - len(spec):]
        elif len(shape) != len(spec):
            raise _rank_error(tensor, str(len(spec)), message)
        for axis, (want, got) in enumerate(zip(spec, shape)):
            if want is None:
                continue
            if isinstance(want, str):
                want = sizes.setdefault(want, got)
            if int(want) != got:
                raise ValueError(f"{_prefix(message)}assert_shapes: tensor of shape "
                                 f"{_values(tensor).shape} has size {got} on axis {axis} where "
                                 f"{spec[axis]!r} = {want} is required")


def Assert(condition, data, summarize=None, name=None):
    """Raise `InvalidArgumentError` showing ``data`` if the scalar ``condition`` is false;
    returns None (eager TensorFlow's result)."""
    c = _values(condition)
    if c.size != 1:
        raise ValueError(f"Assert: condition must be a scalar, got shape {c.shape}")
    if not bool(c.reshape(())):
        shown = ", ".join(str(_values(d)) if isinstance(d, np.ndarray) or is_variable(d)
                          else str(d) for d in data)
        raise InvalidArgumentError(f"Expected condition to be true. Summarized data: {shown}")


def set_log_device_placement(enabled):
    """Accepted and ignored: TensorFlow would log the device of every op; convnp runs every
    op on the CPU, so there is nothing to report (scripts call this at the top)."""


def is_numeric_tensor(tensor) -> bool:
    """Whether ``tensor`` is a tensor (not an array) of a numeric dtype."""
    return isinstance(tensor, EagerTensor) and np.asarray(tensor).dtype.kind in "biufc"


def check_numerics(tensor, message, name=None) -> EagerTensor:
    """``tensor`` unchanged (gradient included) if it holds no NaN or infinity; otherwise
    `InvalidArgumentError` with ``message``."""
    if not isinstance(message, str):
        raise TypeError(f"check_numerics: message must be a str, got {type(message).__name__}")
    array = np.asarray(value_of(tensor))
    if array.dtype.kind not in "fc":
        raise TypeError(f"check_numerics: expects a floating-point tensor, got {array.dtype}")
    if not np.all(np.isfinite(array)):
        kinds = [k for k, bad in (("NaN", np.isnan(array).any()),
                                  ("Inf", np.isinf(array).any())) if bad]
        raise InvalidArgumentError(f"{message} : Tensor had {' and '.join(kinds)} values")
    out = new_tensor(array)
    if recording():
        record([out], [tensor], lambda gs: [gs[0]])
    return out


def assert_all_finite(x, message, name=None) -> EagerTensor:
    """`check_numerics` under tf.debugging's other name (its argument is ``x``)."""
    return check_numerics(x, message)


def ensure_shape(x, shape, name=None) -> EagerTensor:
    """``x`` unchanged (gradient included) if its shape fits ``shape`` (``None`` sizes match
    anything; ``shape`` None matches every shape); otherwise `InvalidArgumentError`.
    Pipelines use it after decoding to state an image's size (``tf.ensure_shape(image,
    [224, 224, 3])``)."""
    array = np.asarray(value_of(x))
    if shape is not None:
        wanted = [None if d is None else int(d) for d in (
            shape.as_list() if hasattr(shape, "as_list") else list(shape))]
        if len(wanted) != array.ndim or any(
                w is not None and w != got for w, got in zip(wanted, array.shape)):
            raise InvalidArgumentError(f"Shape of tensor {list(array.shape)} is not "
                                       f"compatible with expected shape {wanted}.")
    out = new_tensor(array)
    if recording():
        record([out], [x], lambda gs: [gs[0]])
    return out
