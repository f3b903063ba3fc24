"""``tf.nn``: activations, convolution, pooling and the cross-entropies, with gradients.

Convolution and pooling run the same fast kernels as the layers (`convnp.ops`), and their
backward kernels are the recorded vector-Jacobian products.
"""

from __future__ import annotations

import numpy as np

from convnp.ops import conv_backward, conv_forward, pool_backward, pool_forward
from convnp.tensor.eager import EagerTensor
from convnp.tensor.ops import (
    _convert,
    _grad_dtype,
    _lift,
    _op,
    l2_normalize,
    maximum,
    minimum,
    sigmoid,
    value_of,
)
from convnp.tensor.tape import is_variable

__all__ = [
    "avg_pool2d",
    "bias_add",
    "conv2d",
    "elu",
    "l2_normalize",
    "leaky_relu",
    "log_softmax",
    "max_pool2d",
    "moments",
    "relu",
    "relu6",
    "sigmoid",
    "silu",
    "softmax",
    "softmax_cross_entropy_with_logits",
    "softplus",
    "sparse_softmax_cross_entropy_with_logits",
    "tanh",
]


def _plain(x):
    return value_of(x) if isinstance(x, np.ndarray) or is_variable(x) else _convert(x)


def relu(features, name=None) -> EagerTensor:
    return maximum(_lift(features), 0)


def relu6(features, name=None) -> EagerTensor:
    return minimum(maximum(_lift(features), 0), 6)


def leaky_relu(features, alpha=0.2, name=None) -> EagerTensor:
    a = _plain(features)
    slope = np.where(a > 0, 1, alpha).astype(_grad_dtype(a))
    return _op(a * slope, [features], lambda g: [g * slope])


def elu(features, name=None) -> EagerTensor:
    a = _plain(features)
    out = np.where(a > 0, a, np.expm1(np.minimum(a, 0)))
    return _op(out, [features], lambda g: [g * np.where(a > 0, 1, out + 1)])


def softplus(features, name=None) -> EagerTensor:
    a = _plain(features)
    out = np.logaddexp(0, a).astype(_grad_dtype(a), copy=False)
    return _op(out, [features], lambda g: [g / (1 + np.exp(-a))])


def silu(features, beta=1.0, name=None) -> EagerTensor:
    x = _lift(features)
    return x * sigmoid(x * beta) if beta != 1.0 else x * sigmoid(x)


swish = silu


def tanh(x, name=None) -> EagerTensor:
    return np.tanh(_lift(x))


def softmax(logits, axis=None, name=None) -> EagerTensor:
    a = _plain(logits)
    axis = -1 if axis is None else int(axis)
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    out = e / e.sum(axis=axis, keepdims=True)
    return _op(out, [logits],
               lambda g: [out * (g - (g * out).sum(axis=axis, keepdims=True))])


def log_softmax(logits, axis=None, name=None) -> EagerTensor:
    a = _plain(logits)
    axis = -1 if axis is None else int(axis)
    shifted = a - a.max(axis=axis, keepdims=True)
    out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return _op(out, [logits],
               lambda g: [g - np.exp(out) * g.sum(axis=axis, keepdims=True)])


def softmax_cross_entropy_with_logits(labels, logits, axis=-1, name=None) -> EagerTensor:
    """Per-example cross-entropy of softmax(logits) against probability ``labels``."""
    y = _plain(labels)
    z = _plain(logits)
    shifted = z - z.max(axis=axis, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    out = -(y * log_p).sum(axis=axis)
    p = np.exp(log_p)

    def vjp(g):
        g = np.expand_dims(g, axis)
        return [-g * log_p, g * (p * y.sum(axis=axis, keepdims=True) - y)]

    return _op(out, [labels, logits], vjp)


def sparse_softmax_cross_entropy_with_logits(labels, logits, name=None) -> EagerTensor:
    """Per-example cross-entropy of softmax(logits) against integer class ``labels``."""
    idx = np.asarray(_plain(labels)).astype(np.int64)
    z = _plain(logits)
    if idx.shape != z.shape[:-1]:
        raise ValueError(f"sparse_softmax_cross_entropy_with_logits: labels of shape "
                         f"{idx.shape} must be logits.shape[:-1] = {z.shape[:-1]}")
    if np.any(idx < 0) or np.any(idx >= z.shape[-1]):
        raise ValueError(f"labels must lie in [0, {z.shape[-1]}), got {idx.min()}..{idx.max()}")
    shifted = z - z.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    out = -np.take_along_axis(log_p, idx[..., None], axis=-1)[..., 0]

    def vjp(g):
        grad = np.exp(log_p)
        np.put_along_axis(grad, idx[..., None],
                          np.take_along_axis(grad, idx[..., None], axis=-1) - 1, axis=-1)
        return [None, grad * np.expand_dims(g, -1)]

    return _op(out, [labels, logits], vjp)


def bias_add(value, bias, data_format=None, name=None) -> EagerTensor:
    if data_format not in (None, "NHWC", "N...C"):
        raise NotImplementedError(f"bias_add: data_format={data_format!r} is not supported "
                                  "(channels last only)")
    return _lift(value) + _lift(bias)


def _window(value, name: str) -> tuple[int, int]:
    v = value_of(value) if isinstance(value, np.ndarray) else value
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    v = [int(s) for s in v]
    if len(v) == 1:
        return v[0], v[0]
    if len(v) == 2:
        return v[0], v[1]
    if len(v) == 4:
        if v[0] != 1 or v[3] != 1:
            raise NotImplementedError(f"{name} over the batch or channel axis is not supported")
        return v[1], v[2]
    raise ValueError(f"{name} must be an int or a list of 1, 2 or 4 ints, got {value!r}")


def _padding(padding) -> str:
    if isinstance(padding, str) and padding.upper() in ("SAME", "VALID"):
        return padding.lower()
    raise NotImplementedError(f"padding must be 'SAME' or 'VALID', got {padding!r} (explicit "
                              "paddings are not supported)")


def _channels_last(data_format, name):
    if data_format not in (None, "NHWC"):
        raise NotImplementedError(f"{name}: data_format={data_format!r} is not supported "
                                  "(NHWC only)")


def conv2d(input, filters, strides, padding, data_format="NHWC", dilations=None,
           name=None) -> EagerTensor:
    """2-D convolution of NHWC ``input`` with ``(f_h, f_w, c_in, c_out)`` ``filters``."""
    _channels_last(data_format, "conv2d")
    if dilations not in (None, 1, [1, 1], [1, 1, 1, 1], (1, 1), (1, 1, 1, 1)):
        raise NotImplementedError("conv2d: dilations other than 1 are not supported")
    x, w = _plain(input), _plain(filters)
    dtype = np.result_type(x.dtype, w.dtype)
    x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
    b = np.zeros((1, 1, 1, w.shape[-1]), dtype=dtype)
    z, cache = conv_forward(x, w, b, {"stride": _window(strides, "strides"),
                                      "pad": _padding(padding)})

    def vjp(g):
        dx, dw, _ = conv_backward(np.ascontiguousarray(g, dtype=dtype), cache)
        return [dx, dw]

    return _op(z, [input, filters], vjp)


def _pool(input, ksize, strides, padding, data_format, mode):
    _channels_last(data_format, f"{mode}_pool2d")
    x = _plain(input)
    if x.dtype.kind != "f":
        x = x.astype(np.float32)
    out, cache = pool_forward(x, {"f": _window(ksize, "ksize"),
                                  "stride": _window(strides, "strides"),
                                  "pad": _padding(padding)}, mode=mode)
    return _op(out, [input], lambda g: [pool_backward(
        np.ascontiguousarray(g, dtype=x.dtype), cache, mode=mode)])


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):
    return _pool(input, ksize, strides, padding, data_format, "max")


def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):
    return _pool(input, ksize, strides, padding, data_format, "average")


max_pool = max_pool2d
avg_pool = avg_pool2d


def moments(x, axes, shift=None, keepdims=False, name=None):
    """Mean and variance over ``axes`` (``tf.nn.moments``)."""
    from convnp.tensor.ops import reduce_mean, square, stop_gradient

    t = _lift(x)
    mean = reduce_mean(t, axes, keepdims=True)
    var = reduce_mean(square(t - stop_gradient(mean)), axes, keepdims=True)
    if not keepdims:
        from convnp.tensor.ops import squeeze

        mean, var = squeeze(mean, list(axes)), squeeze(var, list(axes))
    return mean, var
