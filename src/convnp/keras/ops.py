"""``keras.ops``: Keras 3's backend-neutral names for the tensor functions.

Same functions as ``convnp.*`` (recorded by `GradientTape`), under Keras 3's names and
argument orders where they differ from TensorFlow's (``sum``/``mean`` for ``reduce_*``,
``clip(x, x_min, x_max)``, ``arange``, ``take``, ``concatenate``, ``power``, ...).
"""

from __future__ import annotations

import itertools

from convnp.tensor import control as _control
from convnp.tensor import manip as _manip
from convnp.tensor import math as _math
from convnp.tensor import nn as _nn
from convnp.tensor import ops as _ops
from convnp.tensor import sorting as _sorting

# the same in TensorFlow and Keras 3
from convnp.tensor.ops import (  # noqa: F401 (re-exports)
    abs,
    add,
    argmax,
    argmin,
    cast,
    ceil,
    convert_to_tensor,
    cos,
    cumsum,
    divide,
    einsum,
    equal,
    exp,
    expand_dims,
    floor,
    greater,
    greater_equal,
    less,
    less_equal,
    log,
    log1p,
    logical_and,
    logical_not,
    logical_or,
    matmul,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    ones,
    ones_like,
    reshape,
    round,
    sign,
    sin,
    sqrt,
    square,
    squeeze,
    subtract,
    tanh,
    tensordot,
    tile,
    transpose,
    where,
    zeros,
    zeros_like,
)


def sum(x, axis=None, keepdims=False):
    return _ops.reduce_sum(x, axis, keepdims)


def mean(x, axis=None, keepdims=False):
    return _ops.reduce_mean(x, axis, keepdims)


def max(x, axis=None, keepdims=False, initial=None):
    if initial is not None:
        raise NotImplementedError("keras.ops.max: `initial` is not supported")
    return _ops.reduce_max(x, axis, keepdims)


def min(x, axis=None, keepdims=False, initial=None):
    if initial is not None:
        raise NotImplementedError("keras.ops.min: `initial` is not supported")
    return _ops.reduce_min(x, axis, keepdims)


def prod(x, axis=None, keepdims=False, dtype=None):
    return _ops.reduce_prod(x, axis, keepdims)


def std(x, axis=None, keepdims=False):
    return _ops.reduce_std(x, axis, keepdims)


def var(x, axis=None, keepdims=False):
    return _ops.reduce_variance(x, axis, keepdims)


def any(x, axis=None, keepdims=False):
    return _ops.reduce_any(x, axis, keepdims)


def all(x, axis=None, keepdims=False):
    return _ops.reduce_all(x, axis, keepdims)


def logsumexp(x, axis=None, keepdims=False):
    return _ops.reduce_logsumexp(x, axis, keepdims)


def power(x1, x2):
    return _ops.pow(x1, x2)


def true_divide(x1, x2):
    return _ops.divide(x1, x2)


def clip(x, x_min, x_max):
    return _ops.clip_by_value(x, x_min, x_max)


def concatenate(xs, axis=0):
    return _ops.concat(xs, axis)


def stack(x, axis=0):
    return _ops.stack(x, axis)


def split(x, indices_or_sections, axis=0):
    """NumPy's rule: an int splits into equal parts, a list gives the split points."""
    if isinstance(indices_or_sections, int):
        return _ops.split(x, indices_or_sections, axis)
    n = _ops.shape(x).numpy()[axis]
    points = [0, *indices_or_sections, int(n)]
    return _ops.split(x, [b - a for a, b in itertools.pairwise(points)], axis)


def take(x, indices, axis=None):
    if axis is None:
        return _ops.gather(_ops.reshape(x, [-1]), indices)
    return _ops.gather(x, indices, axis=axis)


def arange(start, stop=None, step=1, dtype=None):
    return _ops.range(start, stop, step, dtype=dtype)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    if not endpoint or retstep:
        raise NotImplementedError("keras.ops.linspace: endpoint=False and retstep are not "
                                  "supported")
    out = _ops.linspace(start, stop, num, axis=axis)
    return out if dtype is None else _ops.cast(out, dtype)


def full(shape, fill_value, dtype=None):
    out = _ops.fill(shape, fill_value)
    return out if dtype is None else _ops.cast(out, dtype)


def shape(x) -> tuple:
    """The static shape as a tuple (Keras 3 returns a tuple, not a tensor)."""
    return tuple(_ops.shape(x).numpy().tolist())


def norm(x, ord=None, axis=None, keepdims=False):
    return _ops.norm(x, "euclidean" if ord is None else ord, axis, keepdims)


def one_hot(x, num_classes, axis=-1, dtype=None):
    return _ops.one_hot(x, num_classes, axis=axis, dtype=dtype)


def relu(x):
    return _nn.relu(x)


def relu6(x):
    return _nn.relu6(x)


def sigmoid(x):
    return _nn.sigmoid(x)


def softmax(x, axis=-1):
    return _nn.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    return _nn.log_softmax(x, axis=axis)


def silu(x):
    return _nn.silu(x)


def softplus(x):
    return _nn.softplus(x)


def leaky_relu(x, negative_slope=0.2):
    return _nn.leaky_relu(x, negative_slope)





# -- the ops added with tf.* ones of the same family (tensor/manip.py, control.py, nn.py) ------


def gelu(x, approximate=True):
    """Keras 3's default is the tanh approximation (``tf.nn.gelu``'s is the exact form)."""
    return _nn.gelu(x, approximate=approximate)


def selu(x):
    return _nn.selu(x)


def top_k(x, k, sorted=True):
    """``(values, indices)`` of the ``k`` largest entries of the last axis."""
    values, indices = _sorting.top_k(x, k, sorted=sorted)
    return values, indices


def in_top_k(targets, predictions, k):
    return _math.in_top_k(targets, predictions, k)


def bincount(x, weights=None, minlength=0, sparse=False):
    """Counts per value; a 2-D ``x`` is counted row by row. Integer counts (int32) without
    weights; with weights, their dtype (int32/int64/float32/float64)."""
    if sparse:
        raise NotImplementedError("keras.ops.bincount: sparse=True is not supported")
    a = _ops._convert(x)
    axis = -1 if a.ndim == 2 else None
    return _math.bincount(a, weights=weights, minlength=minlength, axis=axis)


def divide_no_nan(x1, x2):
    return _math.divide_no_nan(x1, x2)


def meshgrid(*x, indexing="xy"):
    return _manip.meshgrid(*x, indexing=indexing)


def slice(inputs, start_indices, shape):
    return _manip.slice(inputs, start_indices, shape)


def scatter(indices, values, shape):
    """Zeros of ``shape`` with ``values`` added at ``indices`` (repeated indices add up)."""
    return _manip.scatter_nd(indices, values, shape)


def scatter_update(inputs, indices, updates):
    return _manip.tensor_scatter_nd_update(inputs, indices, updates)


def broadcast_to(x, shape):
    return _manip.broadcast_to(x, shape)


def flip(x, axis=None):
    """``x`` reversed along ``axis`` (an int or a tuple; all axes by default)."""
    rank = _ops._convert(x).ndim if not hasattr(x, "ndim") else x.ndim
    axes = list(range(rank)) if axis is None else [axis] if isinstance(axis, int) else list(
        axis)
    return _manip.reverse(x, axes)


def eye(N, M=None, k=0, dtype=None):
    """Ones on the ``k``-th diagonal of an ``N x M`` matrix (float32 by default)."""
    import numpy as np

    from convnp.tensor.eager import as_dtype
    from convnp.tensor.tape import new_tensor

    target = np.float32 if dtype is None else as_dtype(dtype).dtype
    return new_tensor(np.eye(int(N), None if M is None else int(M), int(k), dtype=target))


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def cond(pred, true_fn, false_fn):
    return _control.cond(pred, true_fn, false_fn)


def map(f, xs):
    """``f`` on each slice of ``xs`` along axis 0, stacked; unlike ``tf.map_fn`` without a
    signature, ``f`` may change dtype or structure (Keras infers it from the first call)."""
    return _control.map_slices(f, xs)


def vectorized_map(function, elements):
    return _control.vectorized_map(function, elements)


def _pair(value, name: str) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return value


def _lower_padding(padding) -> str:
    if not isinstance(padding, str) or padding.lower() not in ("same", "valid"):
        raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}")
    return padding.lower()


def _check_channels_last(data_format, who: str) -> None:
    if data_format not in (None, "channels_last"):
        raise NotImplementedError(f"keras.ops.{who}: data_format={data_format!r} is not "
                                  "supported (channels_last only)")


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """2-D depthwise convolution: ``inputs`` ``(m, h, w, c)``, ``kernel`` ``(f_h, f_w, c,
    multiplier)``."""
    _check_channels_last(data_format, "depthwise_conv")
    return _nn.depthwise(inputs, kernel, _pair(strides, "strides"), _lower_padding(padding),
                         _pair(dilation_rate, "dilation_rate"), "keras.ops.depthwise_conv")


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    """2-D transposed convolution with Keras' output size rule (as ``Conv2DTranspose``):
    ``inputs`` ``(m, h, w, c_in)``, ``kernel`` ``(f_h, f_w, c_out, c_in)``."""
    import numpy as np

    from convnp.ops.conv_transpose import conv_transpose_backward, conv_transpose_forward

    _check_channels_last(data_format, "conv_transpose")
    x, w = _ops._convert(inputs), _ops._convert(kernel)
    if x.dtype != w.dtype or x.dtype.kind != "f":
        raise TypeError(f"keras.ops.conv_transpose: inputs and kernel must have one floating "
                        f"dtype, got {x.dtype} and {w.dtype}")
    y, cache = conv_transpose_forward(x, w, None, _pair(strides, "strides"),
                                      _lower_padding(padding), output_padding,
                                      _pair(dilation_rate, "dilation_rate"))

    def vjp(g):
        dx, dw, _ = conv_transpose_backward(np.ascontiguousarray(g, dtype=x.dtype), cache)
        return [dx, dw]

    return _ops._op(y, [inputs, kernel], vjp)
