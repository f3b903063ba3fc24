"""``tf.debugging`` checks and ``tf.errors.InvalidArgumentError`` (what they raise)."""

from __future__ import annotations

import numpy as np

from convnp.tensor.eager import EagerTensor
from convnp.tensor.errors import InvalidArgumentError
from convnp.tensor.tape import new_tensor, record, recording, value_of

__all__ = ["InvalidArgumentError", "assert_all_finite", "assert_equal", "check_numerics",
           "ensure_shape"]


def _summary(array: np.ndarray, summarize) -> str:
    flat = array.reshape(-1)
    n = 3 if summarize is None else int(summarize)
    shown = flat if n < 0 or flat.size <= n else flat[:n]
    return " ".join(str(v) for v in shown) + ("..." if shown.size < flat.size else "")


def assert_equal(x, y, message=None, summarize=None, name=None):
    """Raise `InvalidArgumentError` unless ``x == y`` everywhere (broadcasting as TensorFlow
    does); returns None, as in eager TensorFlow."""
    a, b = np.asarray(value_of(x)), np.asarray(value_of(y))
    try:
        equal = np.broadcast_to(np.equal(a, b), np.broadcast_shapes(a.shape, b.shape))
    except ValueError:
        raise InvalidArgumentError(f"{message + ' ' if message else ''}assert_equal: shapes "
                                   f"{a.shape} and {b.shape} do not broadcast") from None
    if not bool(np.all(equal)):
        where = np.argwhere(~equal)
        raise InvalidArgumentError(
            f"{message + ' ' if message else ''}Condition x == y did not hold. Indices of "
            f"first {min(len(where), 3)} different values: {where[:3].tolist()}. x = "
            f"{_summary(a, summarize)}, y = {_summary(b, summarize)}")


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


assert_all_finite = check_numerics


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
