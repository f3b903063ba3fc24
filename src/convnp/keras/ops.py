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


# -- the ops Keras 3 custom layers and losses use most (Keras 3.15 signatures) ----------------


def _arr(x):
    """The plain NumPy values of a tensor, variable, array or Python value."""
    return _ops._convert(x)


def stop_gradient(variable):
    from convnp.tensor.tape import stop_gradient as _stop

    return _stop(variable)


_PAD_MODES = {"constant": "CONSTANT", "reflect": "REFLECT", "symmetric": "SYMMETRIC"}


def pad(x, pad_width, mode="constant", constant_values=None):
    """NumPy's ``pad_width`` rule: an int, one ``(before, after)`` pair, or one pair per axis."""
    import numpy as np

    if mode not in _PAD_MODES:
        raise ValueError(f"keras.ops.pad: mode must be one of {sorted(_PAD_MODES)} (the "
                         f"TensorFlow backend's), got {mode!r}")
    if constant_values is not None and mode != "constant":
        raise ValueError("keras.ops.pad: constant_values can only be given with "
                         f"mode='constant', got mode={mode!r}")
    rank = _arr(x).ndim
    try:
        widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (rank, 2))
    except ValueError:
        raise ValueError(f"keras.ops.pad: pad_width must broadcast to ({rank}, 2) for a "
                         f"rank-{rank} input, got {pad_width!r}") from None
    return _sorting.pad(x, widths.copy(), _PAD_MODES[mode],
                        0 if constant_values is None else constant_values)


def swapaxes(x, axis1, axis2):
    rank = _arr(x).ndim
    perm = list(range(rank))
    perm[axis1], perm[axis2] = perm[axis2], perm[axis1]
    return _ops.transpose(x, perm)


def unstack(x, num=None, axis=0):
    return _ops.unstack(x, num=num, axis=axis)


def repeat(x, repeats, axis=None):
    """Each entry repeated ``repeats`` times along ``axis`` (flattened first when None)."""
    import numpy as np

    if axis is None:
        x = _ops.reshape(x, [-1])
        axis = 0
    size = _arr(x).shape[axis]
    index = np.repeat(np.arange(size, dtype=np.int64), np.asarray(_arr(repeats)))
    return _ops.gather(x, index.astype(np.int32), axis=axis)


def take_along_axis(x, indices, axis=None):
    """``x``'s entries at ``indices`` along ``axis`` (flattened first when None); the
    gradient adds each output cell back to the input cell it was read from."""
    import numpy as np

    if axis is None:
        x = _ops.reshape(x, [-1])
        axis = 0
    a, idx = _arr(x), np.asarray(_arr(indices))
    if idx.dtype.kind not in "iu":
        raise TypeError(f"keras.ops.take_along_axis: indices must be integers, got {idx.dtype}")
    axis = axis % a.ndim
    shape = list(np.broadcast_shapes(a.shape[:axis] + (1,) + a.shape[axis + 1:],
                                     idx.shape[:axis] + (1,) + idx.shape[axis + 1:]))
    a_shape = shape.copy()
    a_shape[axis] = a.shape[axis]
    i_shape = shape.copy()
    i_shape[axis] = idx.shape[axis]
    idx = np.broadcast_to(np.where(idx < 0, idx + a.shape[axis], idx), i_shape)
    ab = np.broadcast_to(a, a_shape)
    out = np.take_along_axis(ab, idx, axis=axis)

    def vjp(g):
        grad = np.zeros(a_shape, dtype=_ops._grad_dtype(a))
        pos = list(np.indices(idx.shape, sparse=True))
        pos[axis] = idx
        np.add.at(grad, tuple(pos), np.asarray(g))
        return [_ops.unbroadcast(grad, a.shape)]

    return _ops._op(out, [x], vjp)


def sort(x, axis=-1):
    return _sorting.sort(x, axis=axis)


def argsort(x, axis=-1):
    return _sorting.argsort(x, axis=axis)


def _band(x, k, upper: bool, who: str):
    import numpy as np

    a = _arr(x)
    if a.ndim < 2:
        raise ValueError(f"keras.ops.{who}: x must have rank >= 2, got shape {a.shape}")
    n, m = a.shape[-2:]
    keep = (np.triu if upper else np.tril)(np.ones((n, m), dtype=bool), int(k))
    out = np.where(keep, a, np.zeros((), a.dtype))
    return _ops._op(out, [x], lambda g: [np.where(keep, np.asarray(g), 0).astype(
        _ops._grad_dtype(a))])


def tril(x, k=0):
    return _band(x, k, False, "tril")


def triu(x, k=0):
    return _band(x, k, True, "triu")


def erf(x):
    """The error function; its gradient is ``2 / sqrt(pi) * exp(-x**2)``."""
    import math as _pymath

    import numpy as np

    a = _arr(x)
    if a.dtype.kind != "f":
        a = a.astype(np.float32)
    out = np.vectorize(_pymath.erf, otypes=[np.float64])(a.astype(np.float64)).astype(a.dtype)
    return _ops._op(out, [x], lambda g: [(np.asarray(g) * (2.0 / np.sqrt(np.pi)) * np.exp(
        -np.square(a))).astype(a.dtype)])


def hard_sigmoid(x):
    """``relu6(x + 3) / 6`` (Keras 3's form: slope 1/6, not Keras 2's 0.2)."""
    return _nn.relu6(_ops.add(x, 3.0)) / 6.0 if _arr(x).dtype.kind == "f" else \
        _nn.relu6(_ops.cast(x, "float32") + 3.0) / 6.0


def hard_silu(x):
    return _ops.multiply(x, hard_sigmoid(x))


hard_swish = hard_silu


def rsqrt(x):
    return _ops.rsqrt(x)


def moments(x, axes, keepdims=False, synchronized=False):
    """``(mean, variance)`` over ``axes``; float16 inputs are reduced in float32."""
    a = _arr(x)
    if a.dtype.name == "float16":
        m, v = _nn.moments(_ops.cast(x, "float32"), axes, keepdims=keepdims)
        return _ops.cast(m, "float16"), _ops.cast(v, "float16")
    return _nn.moments(x, axes, keepdims=keepdims)


def normalize(x, axis=-1, order=2, epsilon=None):
    """``x / max(norm(x), epsilon)``; ``epsilon`` defaults to ``keras.backend.epsilon()``."""
    if not isinstance(order, int) or isinstance(order, bool) or order < 1:
        raise ValueError(f"Argument `order` must be an int >= 1. Received: order={order}")
    if _arr(x).ndim == 0:
        x = _ops.expand_dims(x, 0)
    if epsilon is None:
        from convnp.keras.backend import epsilon as _eps

        epsilon = _eps()
    if order == 2:
        inv = _ops.rsqrt(sum(_ops.square(x), axis=axis, keepdims=True))
        return _ops.multiply(x, _ops.minimum(inv, 1.0 / epsilon))
    n = norm(x, ord=order, axis=axis, keepdims=True)
    return _ops.divide(x, _ops.maximum(n, epsilon))


def isnan(x):
    return _ops.is_nan(x)


def isfinite(x):
    return _ops.is_finite(x)


# pooling and convolution (channels_last; 1-D inputs go through the 2-D kernels)


def _spatial(inputs, who: str) -> int:
    rank = _arr(inputs).ndim
    if rank not in (3, 4):
        raise NotImplementedError(f"keras.ops.{who}: only 1-D and 2-D inputs (rank 3 or 4) are "
                                  f"supported, got rank {rank}")
    return rank - 2


def _tuple(value, n: int, name: str) -> tuple:
    if isinstance(value, int):
        return (value,) * n
    value = tuple(int(v) for v in value)
    if len(value) != n:
        raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
    return value


def _pool_any(inputs, pool_size, strides, padding, data_format, who, fn):
    _check_channels_last(data_format, who)
    n = _spatial(inputs, who)
    size = _tuple(pool_size, n, "pool_size")
    step = size if strides is None else _tuple(strides, n, "strides")
    pad_mode = _lower_padding(padding).upper()
    if n == 1:
        y = fn(_ops.expand_dims(inputs, 1), [1, 1, size[0], 1], [1, 1, step[0], 1], pad_mode)
        return _ops.squeeze(y, [1])
    return fn(inputs, [1, *size, 1], [1, *step, 1], pad_mode)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    return _pool_any(inputs, pool_size, strides, padding, data_format, "max_pool",
                     _nn.max_pool2d)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    return _pool_any(inputs, pool_size, strides, padding, data_format, "average_pool",
                     _nn.avg_pool2d)


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-D convolution for N = 1, 2: ``inputs`` ``(m, *spatial, c_in)``, ``kernel``
    ``(*window, c_in, c_out)``."""
    _check_channels_last(data_format, "conv")
    n = _spatial(inputs, "conv")
    step = _tuple(strides, n, "strides")
    if _tuple(dilation_rate, n, "dilation_rate") != (1,) * n:
        raise NotImplementedError("keras.ops.conv: dilation_rate other than 1 is not "
                                  "supported")
    pad_mode = _lower_padding(padding).upper()
    if _arr(kernel).ndim != n + 2:
        raise ValueError(f"keras.ops.conv: kernel must have rank {n + 2} for rank-{n + 2} "
                         f"inputs, got shape {_arr(kernel).shape}")
    if _arr(kernel).shape[-2] != _arr(inputs).shape[-1]:
        raise ValueError(f"keras.ops.conv: kernel input channels {_arr(kernel).shape[-2]} "
                         f"must equal the inputs' channels {_arr(inputs).shape[-1]}")
    if n == 1:
        y = _nn.conv2d(_ops.expand_dims(inputs, 1), _ops.expand_dims(kernel, 0),
                       [1, 1, step[0], 1], pad_mode)
        return _ops.squeeze(y, [1])
    return _nn.conv2d(inputs, kernel, [1, *step, 1], pad_mode)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    """A depthwise convolution followed by a 1x1 convolution (2-D)."""
    y = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(y, pointwise_kernel, 1, "valid", data_format)


# crossentropies (elementwise or per example, no reduction), as Keras 3's TensorFlow backend


def _same_shape(target, output, who):
    t, o = _arr(target), _arr(output)
    if t.ndim != o.ndim:
        raise ValueError(f"keras.ops.{who}: arguments `target` and `output` must have the same "
                         f"rank (ndim), got target.shape={t.shape}, output.shape={o.shape}")
    if t.shape != o.shape:
        raise ValueError(f"keras.ops.{who}: arguments `target` and `output` must have the same "
                         f"shape, got target.shape={t.shape}, output.shape={o.shape}")


def _eps():
    from convnp.keras.backend import epsilon as _e

    return _e()


def binary_crossentropy(target, output, from_logits=False):
    _same_shape(target, output, "binary_crossentropy")
    if from_logits:
        return _nn.sigmoid_cross_entropy_with_logits(labels=target, logits=output)
    p = clip(output, _eps(), 1.0 - _eps())
    return _ops.negative(_ops.add(_ops.multiply(target, _ops.log(p)), _ops.multiply(
        _ops.subtract(1.0, target), _ops.log(_ops.subtract(1.0, p)))))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    if _arr(target).ndim < 1:
        raise ValueError("keras.ops.categorical_crossentropy: arguments `target` and `output` "
                         "must be at least rank 1")
    _same_shape(target, output, "categorical_crossentropy")
    if from_logits:
        return _nn.softmax_cross_entropy_with_logits(labels=target, logits=output, axis=axis)
    p = _ops.divide(output, sum(output, axis=axis, keepdims=True))
    p = clip(p, _eps(), 1.0 - _eps())
    return _ops.negative(sum(_ops.multiply(target, _ops.log(p)), axis=axis))


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    import numpy as np

    o = _arr(output)
    if axis != -1 and axis != o.ndim - 1:
        raise ValueError(f"Only axis=-1 is currently supported. Received: axis={axis}")
    t = np.asarray(_arr(target))
    if t.ndim == o.ndim and t.shape[-1] == 1:
        t = t[..., 0]
    if o.ndim < 1 or t.shape != o.shape[:-1]:
        raise ValueError(f"keras.ops.sparse_categorical_crossentropy: `target` must have the "
                         f"shape of `output` without its last axis, got target.shape="
                         f"{np.shape(_arr(target))}, output.shape={o.shape}")
    logits = output if from_logits else _ops.log(clip(output, _eps(), 1.0 - _eps()))
    return _nn.sparse_softmax_cross_entropy_with_logits(labels=t.astype(np.int64),
                                                        logits=logits)
