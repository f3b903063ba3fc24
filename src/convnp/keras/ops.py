"""``keras.ops``: Keras 3's backend-neutral names for the tensor functions.

Same functions as ``convnp.*`` (recorded by `GradientTape`), under Keras 3's names and
argument orders where they differ from TensorFlow's (``sum``/``mean`` for ``reduce_*``,
``clip(x, x_min, x_max)``, ``arange``, ``take``, ``concatenate``, ``power``, ...).
"""

from __future__ import annotations

import itertools

from convnp.tensor import nn as _nn
from convnp.tensor import ops as _ops

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



