"""``tf.nn``: activations, convolution, pooling and the cross-entropies, with gradients.

Convolution and pooling run the same fast kernels as the layers (`convnp.ops`), and their
backward kernels are the recorded vector-Jacobian products.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from convnp import _special
from convnp.ops import (
    conv_backward,
    conv_forward,
    elementwise,
    last_axis,
    pool_backward,
    pool_forward,
)
from convnp.ops.conv3d import (
    conv3d_backward,
    conv3d_forward,
    pool3d_backward,
    pool3d_forward,
)
from convnp.ops.conv_transpose import conv_transpose_backward, conv_transpose_forward
from convnp.ops.depthwise import depthwise_conv_backward, depthwise_conv_forward
from convnp.tensor import symbolic as _symbolic
from convnp.tensor.debugging import InvalidArgumentError
from convnp.tensor.eager import EagerTensor, as_dtype
from convnp.tensor.ops import (
    _convert,
    _grad_dtype,
    _lift,
    _op,
    expand_dims,
    l2_normalize,
    reduce_sum,
    rsqrt,
    sigmoid,
    value_of,
)
from convnp.tensor.sorting import top_k
from convnp.tensor.tape import is_variable, new_tensor, record

__all__ = [
    "atrous_conv2d",
    "atrous_conv2d_transpose",
    "avg_pool",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "batch_normalization",
    "bias_add",
    "compute_average_loss",
    "conv1d",
    "conv1d_transpose",
    "conv2d",
    "conv2d_transpose",
    "conv3d",
    "conv3d_transpose",
    "conv_transpose",
    "convolution",
    "crelu",
    "depth_to_space",
    "depthwise_conv2d",
    "depthwise_conv2d_backprop_filter",
    "depthwise_conv2d_backprop_input",
    "dilation2d",
    "dropout",
    "elu",
    "embedding_lookup",
    "erosion2d",
    "gelu",
    "in_top_k",
    "l2_loss",
    "l2_normalize",
    "leaky_relu",
    "local_response_normalization",
    "log_poisson_loss",
    "log_softmax",
    "lrn",
    "max_pool",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "max_pool_with_argmax",
    "moments",
    "normalize_moments",
    "pool",
    "relu",
    "relu6",
    "scale_regularization_loss",
    "selu",
    "separable_conv2d",
    "sigmoid",
    "sigmoid_cross_entropy_with_logits",
    "silu",
    "softmax",
    "softmax_cross_entropy_with_logits",
    "softplus",
    "softsign",
    "space_to_batch",
    "space_to_depth",
    "sparse_softmax_cross_entropy_with_logits",
    "sufficient_statistics",
    "tanh",
    "top_k",
    "weighted_cross_entropy_with_logits",
    "weighted_moments",
    "with_space_to_batch",
    "zero_fraction",
]


def _plain(x):
    return value_of(x) if isinstance(x, np.ndarray) or is_variable(x) else _convert(x)


def erf(x, name=None):
    """The error function, elementwise (computed in float64 by `convnp._special.erf`,
    returned in ``x``'s float dtype); its gradient is ``2 / sqrt(pi) * exp(-x**2)``."""
    a = _plain(x)
    if a.dtype.kind not in "f":
        raise TypeError(f"erf: expects a floating-point tensor, got {a.dtype}")
    out = _special.erf(a.astype(np.float64)).astype(a.dtype)
    return _op(out, [x], lambda g: [g * (2 / np.sqrt(np.pi)) * np.exp(-a * a)],
               lambda g, t: [g * _erf_slope(x)])


def _erf_slope(x):
    """erf's derivative ``2 / sqrt(pi) * exp(-x**2)`` in recorded operations of ``x``
    (for second-order gradients through erf, and tf.nn.gelu's)."""
    x = _lift(x)
    return np.exp(-x * x) * (2 / np.sqrt(np.pi))


def relu(features, name=None) -> EagerTensor:
    """``max(x, 0)``; its slope at 0 is 0, as TensorFlow's ReluGrad (not max's tie rule)."""
    a = _plain(features)
    keep = a > 0
    return _op(elementwise.select(keep, a), [features],
               lambda g: [elementwise.select(keep, np.asarray(g, _grad_dtype(a)))],
               lambda g, t: [_reading(g * keep, t)])


def _reading(dx, t):
    """``dx`` (a piecewise-linear function's input gradient, recorded) recorded once more as
    depending on the function's output ``t`` too, with a zero gradient there: TensorFlow's
    ReluGrad reads its input, so differentiating a ReLU's gradient gives zeros, not None,
    for the input (a Hessian of a ReLU network w.r.t. its input is zeros there)."""
    out = new_tensor(np.asarray(value_of(dx)))
    zeros = np.zeros(np.shape(value_of(t)), _grad_dtype(value_of(t)))
    record([out], [dx, t], lambda cs: [cs[0], zeros],
           second=lambda cs: [cs[0], new_tensor(zeros)])
    return out


def relu6(features, name=None) -> EagerTensor:
    """``min(max(x, 0), 6)``; slope 1 strictly between 0 and 6, 0 at both ends (TensorFlow's
    Relu6Grad)."""
    a = _plain(features)
    keep = (a > 0) & (a < 6)
    return _op(np.clip(a, 0, 6).astype(a.dtype, copy=False), [features],
               lambda g: [elementwise.select(keep, np.asarray(g, _grad_dtype(a)))],
               lambda g, t: [_reading(g * keep, t)])


def leaky_relu(features, alpha=0.2, name=None) -> EagerTensor:
    a = _plain(features)
    dtype = np.dtype(_grad_dtype(a))
    # 1 above 0, alpha elsewhere: a mask product (np.where branches on every number)
    slope = np.multiply(a > 0, dtype.type(1 - alpha), dtype=dtype)
    slope += dtype.type(alpha)
    return _op(a * slope, [features], lambda g: [g * slope],
               lambda g, t: [_reading(g * slope, t)])


def elu(features, name=None) -> EagerTensor:
    a = _plain(features)
    out = elementwise.elu(a.astype(_grad_dtype(a), copy=False), 1.0)  # ints: in float32
    # the slope: 1 above 0, out + 1 elsewhere (exp(x)), i.e. min(out, 0) + 1
    return _op(out, [features], lambda g: [g * (np.clip(out, -np.inf, 0) + 1)],
               lambda g, t: [g * (np.minimum(t, 0) + 1)])


def softplus(features, name=None) -> EagerTensor:
    a = _plain(features)
    x = a.astype(_grad_dtype(a), copy=False)
    # max(x, 0) + log(1 + exp(-|x|)): the same numbers as np.logaddexp(0, x), 13x sooner
    out = elementwise.relu(x) + np.log1p(np.exp(-np.abs(x)))
    return _op(out, [features], lambda g: [g / (1 + np.exp(-a))],
               lambda g, t: [g / (1 + np.exp(-_lift(features)))])


def silu(features, beta=1.0, name=None) -> EagerTensor:
    x = _lift(features)
    return x * sigmoid(x * beta) if beta != 1.0 else x * sigmoid(x)


swish = silu


def tanh(x, name=None) -> EagerTensor:
    return np.tanh(_lift(x))


def _float_logits(logits, who: str) -> np.ndarray:
    """``logits`` as an array, refusing integer ones (TensorFlow's softmax kernels take only
    floating dtypes; convnp used to return float64 for them)."""
    a = _plain(logits)
    if a.dtype.kind not in "f":
        raise InvalidArgumentError(f"{who}: logits must be a floating tensor (float16, float32 "
                                   f"or float64), got dtype {a.dtype}; use tf.cast")
    return a


def softmax(logits, axis=None, name=None) -> EagerTensor:
    a = _float_logits(logits, "softmax")
    axis = -1 if axis is None else int(axis)
    if last_axis.by_rows(a, axis):
        # attention's scores: rows of the last axis by blocks on all cores
        out = last_axis.softmax_rows(a)

        def vjp(g):
            return [last_axis.softmax_rows_backward(np.asarray(g), out)]
    else:
        e = np.exp(a - a.max(axis=axis, keepdims=True))
        out = e / e.sum(axis=axis, keepdims=True)

        def vjp(g):
            return [out * (g - (g * out).sum(axis=axis, keepdims=True))]
    # the differentiable VJP: the same product with the output tensor, which the outer
    # tapes followed from the logits
    return _op(out, [logits], vjp,
               lambda g, t: [t * (g - reduce_sum(g * t, axis=axis, keepdims=True))])


def log_softmax(logits, axis=None, name=None) -> EagerTensor:
    a = _float_logits(logits, "log_softmax")
    axis = -1 if axis is None else int(axis)
    shifted = a - a.max(axis=axis, keepdims=True)
    out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return _op(out, [logits],
               lambda g: [g - np.exp(out) * g.sum(axis=axis, keepdims=True)],
               lambda g, t: [g - np.exp(t) * reduce_sum(g, axis=axis, keepdims=True)])


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

    def second(g, t):
        # the same VJP from log_softmax of the logits, recorded (double backpropagation
        # through a loss written with this op)
        g = expand_dims(g, axis)
        lp = log_softmax(logits, axis=axis)
        y_t = _lift(labels)
        return [-g * lp, g * (np.exp(lp) * reduce_sum(y_t, axis=axis, keepdims=True) - y_t)]

    return _op(out, [labels, logits], vjp, second)


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

    def second(g, t):
        one_hot = np.zeros(z.shape, _grad_dtype(z))
        np.put_along_axis(one_hot, idx[..., None], 1, axis=-1)
        return [None, expand_dims(g, -1) * (softmax(logits) - one_hot)]

    return _op(out, [labels, logits], vjp, second)


def bias_add(value, bias, data_format=None, name=None) -> EagerTensor:
    """``value + bias`` with ``bias`` along the channels: the last axis (``data_format`` None
    or of the form ``"N...C"``: NWC, NHWC, ...), or axis 1 (``"NC..."``: NCW, NCHW, ...), as
    TensorFlow reads the format."""
    if data_format is None or (isinstance(data_format, str) and data_format.startswith("N")
                               and data_format.endswith("C")):
        return _lift(value) + _lift(bias)
    if isinstance(data_format, str) and data_format.startswith("NC"):
        from convnp.tensor.ops import reshape

        rank = _plain(value).ndim
        if rank < 3:
            raise ValueError(f"bias_add: data_format={data_format!r} needs an input of rank 3 "
                             f"or more, got shape {list(_plain(value).shape)}")
        return _lift(value) + reshape(_lift(bias), [-1] + [1] * (rank - 2))
    raise ValueError(f"bias_add: data_format must be of the form 'N...C' or 'NC...', got "
                     f"{data_format!r}")


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
    if isinstance(padding, str):
        raise InvalidArgumentError(f"padding must be 'SAME' or 'VALID', got {padding!r}")
    # only conv2d and depthwise_conv2d take explicit paddings (`_explicit_padding`)
    raise TypeError(f"Expected string for argument 'padding' ('SAME' or 'VALID'), got "
                    f"{padding!r}")


def _explicit_padding(padding, who: str):
    """``padding`` as `conv_forward` takes it: ``"same"``/``"valid"``, or TensorFlow's
    explicit NHWC list ``[[0, 0], [top, bottom], [left, right], [0, 0]]`` as ``((top,
    bottom), (left, right))``."""
    if isinstance(padding, str):
        return _padding(padding)
    pads = np.asarray(value_of(padding) if isinstance(padding, np.ndarray) else padding)
    if pads.ndim != 2 or pads.shape[1:] != (2,) or pads.dtype.kind not in "iu":
        raise ValueError(f"{who}: when padding is a list, it must be 4 [before, after] pairs "
                         f"of ints, got {padding!r}")
    if pads.shape[0] != 4:
        raise ValueError(f"{who}: when padding is a list, it must be of size 4, got "
                         f"{padding!r}")
    if np.any(pads < 0) or np.any(pads[[0, 3]] != 0):
        raise InvalidArgumentError(f"{who}: explicit paddings must be non-negative and 0 "
                                   f"for the batch and channel axes, got {pads.tolist()}")
    return ((int(pads[1, 0]), int(pads[1, 1])), (int(pads[2, 0]), int(pads[2, 1])))


def _channels_last(data_format, name):
    if data_format not in (None, "NHWC"):
        raise NotImplementedError(f"{name}: data_format={data_format!r} is not supported "
                                  "(NHWC only)")


def conv2d(input, filters, strides, padding, data_format="NHWC", dilations=None,
           name=None) -> EagerTensor:
    """2-D convolution of NHWC ``input`` with ``(f_h, f_w, c_in, c_out)`` ``filters``."""
    _channels_last(data_format, "conv2d")
    rate = (1, 1) if dilations is None else _window(dilations, "dilations")
    x, w = _plain(input), _plain(filters)
    dtype = np.result_type(x.dtype, w.dtype)
    x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
    b = np.zeros((1, 1, 1, w.shape[-1]), dtype=dtype)
    z, cache = conv_forward(x, w, b, {"stride": _window(strides, "strides"),
                                      "pad": _explicit_padding(padding, "conv2d"),
                                      "dilation": rate})

    def vjp(g):
        dx, dw, _ = conv_backward(np.ascontiguousarray(g, dtype=dtype), cache)
        return [dx, dw]

    return _op(z, [input, filters], vjp)


def _pool(input, ksize, strides, padding, data_format, mode):
    _channels_last(data_format, f"{mode}_pool2d")
    if not isinstance(padding, str):
        # TensorFlow's pooling kernels refuse explicit paddings
        raise InvalidArgumentError(f"{mode}_pool2d: padding must be 'SAME' or 'VALID', got "
                                   f"{padding!r}")
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


# ----------------------------------------------------------------------------- more activations

_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


def _float_input(x, who: str, error=InvalidArgumentError) -> np.ndarray:
    a = _plain(x)
    if a.dtype.kind != "f":
        raise error(f"{who}: `features.dtype` must be a floating point tensor, got {a.dtype}")
    return a


def selu(features, name=None) -> EagerTensor:
    """``scale * x`` for x > 0, ``scale * alpha * (exp(x) - 1)`` otherwise."""
    a = _float_input(features, "selu")
    neg = _SELU_SCALE * _SELU_ALPHA * np.exp(np.minimum(a, 0))
    out = np.where(a > 0, _SELU_SCALE * a, neg - _SELU_SCALE * _SELU_ALPHA).astype(a.dtype)
    slope = np.where(a >= 0, _SELU_SCALE, neg).astype(a.dtype)  # `scale` at 0 (SeluGrad)
    above = (a >= 0).astype(a.dtype)

    def second(g, t):
        # the slope as recorded operations of the input: scale above 0, and
        # scale * alpha * exp(x) below
        x = _lift(features)
        below = _SELU_SCALE * _SELU_ALPHA * np.exp(np.minimum(x, 0)) * (1 - above)
        return [g * (above * _SELU_SCALE + below)]

    return _op(out, [features], lambda g: [g * slope], second)


def gelu(features, approximate=False, name=None) -> EagerTensor:
    """``x * Phi(x)`` (Phi: the standard normal CDF) or, with ``approximate=True``, its tanh
    approximation ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``."""
    a = _float_input(features, "gelu", ValueError)
    if approximate:
        c = math.sqrt(2 / math.pi)

        def vjp_approximate(g):
            return [_special.gelu_tanh_gradient(g, a).astype(a.dtype, copy=False)]

        def second_approximate(g, t):
            # the same slope in recorded operations of the input
            xt = _lift(features)
            tht = np.tanh(c * (xt + 0.044715 * xt ** 3))
            return [g * (0.5 * (1 + tht) + 0.5 * xt * (1 - tht * tht) * c
                         * (1 + 3 * 0.044715 * xt * xt))]

        return _op(_special.gelu_tanh(a).astype(a.dtype, copy=False), [features],
                   vjp_approximate, second_approximate)
    # in the input's dtype (float16 in float32); the slope only when a gradient is asked
    x = a if a.dtype in (np.float32, np.float64) else a.astype(np.float32)
    out = _special.gelu(x)

    def vjp(g):
        slope = _special.gelu_gradient(np.ones_like(x), x, out).astype(a.dtype)
        return [g * slope]

    def second(g, t):
        # the slope Phi(x) + x phi(x) in recorded operations of the input
        xt = _lift(features)
        cdf = 0.5 * (1 + erf(xt * (1 / math.sqrt(2))))
        density = np.exp(-0.5 * xt * xt) * (1 / math.sqrt(2 * math.pi))
        return [g * (cdf + xt * density)]

    return _op(out.astype(a.dtype), [features], vjp, second)


# ----------------------------------------------------------------------------- dropout, losses


def dropout(x, rate, noise_shape=None, seed=None, name=None) -> EagerTensor:
    """Entries of ``x`` zeroed with probability ``rate``, the rest scaled by ``1 / (1 -
    rate)``. ``noise_shape`` (broadcastable to ``x.shape``) shares one draw along its size-1
    axes; ``seed`` as in ``tf.random``. The gradient goes through the kept entries."""
    from convnp import random as _random

    a = _plain(x)
    if a.dtype.kind != "f":
        raise ValueError(f"`x.dtype` must be a floating point tensor as `x` will be scaled. "
                         f"Received: x_dtype={a.dtype}")
    r = np.asarray(value_of(rate) if isinstance(rate, np.ndarray) else rate)
    if r.shape != () or r.dtype.kind not in "iuf" or not 0 <= float(r) < 1:
        raise ValueError(f"`rate` must be a scalar tensor or a float in the range [0, 1). "
                         f"Received: rate={rate!r}")
    rate = float(r)
    shape = a.shape if noise_shape is None else tuple(
        a.shape[i] if s is None else int(s) for i, s in enumerate(
            value_of(noise_shape).tolist() if isinstance(noise_shape, np.ndarray)
            else noise_shape))
    try:
        np.broadcast_shapes(shape, a.shape)
    except ValueError:
        raise InvalidArgumentError(f"dropout: noise_shape {list(shape)} does not broadcast to x's shape "
                         f"{list(a.shape)}") from None
    if rate == 0:
        return _op(a.copy(), [x], lambda g: [g])
    keep = _random._seeded(seed).random(shape) >= rate
    scale = np.multiply(keep, a.dtype.type(1 / (1 - rate)), dtype=a.dtype)  # no branch
    return _op(a * scale, [x], lambda g: [g * scale])


def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None) -> EagerTensor:
    """Elementwise ``-z log(sigmoid(x)) - (1 - z) log(1 - sigmoid(x))`` for labels ``z`` and
    logits ``x``, computed as ``max(x, 0) - x z + log(1 + exp(-|x|))`` (no overflow)."""
    if labels is None or logits is None:
        raise ValueError("sigmoid_cross_entropy_with_logits needs both labels= and logits=")
    z, x = _plain(labels), _plain(logits)
    if z.shape != x.shape:
        raise ValueError(f"`logits` and `labels` must have the same shape, received "
                         f"({x.shape} vs {z.shape}).")
    if z.dtype != x.dtype:
        raise InvalidArgumentError(f"sigmoid_cross_entropy_with_logits: labels ({z.dtype}) and logits "
                        f"({x.dtype}) must have the same dtype")
    out = np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x)))
    p = value_of(sigmoid(x))

    def second(g, t):
        x_t, z_t = _lift(logits), _lift(labels)
        return [-g * x_t, g * (sigmoid(x_t) - z_t)]

    return _op(out.astype(x.dtype), [labels, logits], lambda g: [-g * x, g * (p - z)],
               second)


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon,
                        name=None) -> EagerTensor:
    """``(x - mean) / sqrt(variance + variance_epsilon) * scale + offset`` (broadcast);
    ``offset`` and ``scale`` may be None. Every argument gets its gradient."""
    inv = rsqrt(_lift(variance) + variance_epsilon)
    if scale is not None:
        inv = inv * _lift(scale)
    out = (_lift(x) - _lift(mean)) * inv
    return out + _lift(offset) if offset is not None else out


# ----------------------------------------------------------------------------- convolutions


def _four(value, name: str, who: str) -> tuple[int, int]:
    """An int, a pair or TensorFlow's 4-list ``[1, h, w, 1]`` as ``(h, w)``."""
    try:
        return _window(value, name)
    except NotImplementedError:
        raise
    except (TypeError, ValueError):
        raise ValueError(f"{who}: {name} must be an int or a list of 1, 2 or 4 ints, got "
                         f"{value!r}") from None


def _same_float(x: np.ndarray, w: np.ndarray, who: str) -> np.dtype:
    if x.dtype != w.dtype or x.dtype.kind != "f":
        raise InvalidArgumentError(f"{who}: input and filters must have one floating dtype, "
                                   f"got {x.dtype} and {w.dtype}")
    return x.dtype


def _depthwise_strides(strides) -> tuple[int, int]:
    """TensorFlow's ``[1, s_h, s_w, 1]`` (a list of 4 ints, nothing else)."""
    if not isinstance(strides, (list, tuple, np.ndarray)):
        raise TypeError(f"depthwise_conv2d: expected a list of 4 ints for 'strides', got "
                        f"{strides!r}")
    s = [int(v) for v in (value_of(strides).reshape(-1) if isinstance(strides, np.ndarray)
                          else strides)]
    if len(s) != 4:
        raise InvalidArgumentError(f"depthwise_conv2d: strides must have 4 entries "
                                   f"[1, s_h, s_w, 1], got {s}")
    if s[0] != 1 or s[3] != 1:
        raise NotImplementedError("depthwise_conv2d: strides over the batch or channel axis "
                                  "are not supported")
    if s[1] != s[2]:
        raise InvalidArgumentError(f"depthwise_conv2d: only equal strides in the row and "
                                   f"column dimensions are supported (as TensorFlow), got {s}")
    return s[1], s[2]


def depthwise_conv2d(input, filter, strides, padding, data_format=None, dilations=None,
                     name=None) -> EagerTensor:
    """Each input channel filtered by its own ``channel_multiplier`` filters.

    ``input`` ``(m, h, w, c)``, ``filter`` ``(f_h, f_w, c, k)``, ``strides`` ``[1, s, s, 1]``;
    the output ``(m, h', w', c * k)`` holds channel ``c_i * k + j`` from filter ``[..., c_i,
    j]``, as in TensorFlow.
    """
    _channels_last(data_format, "depthwise_conv2d")
    x, w = _plain(input), _plain(filter)
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"depthwise_conv2d: input must be (batch, h, w, c) and filter "
                         f"(f_h, f_w, c, multiplier), got shapes {x.shape} and {w.shape}")
    if w.shape[2] != x.shape[3]:
        raise ValueError(f"depthwise_conv2d: filter expects {w.shape[2]} input channels, "
                         f"input has {x.shape[3]}")
    stride = _depthwise_strides(strides)
    rate = (1, 1) if dilations is None else _four(dilations, "dilations", "depthwise_conv2d")
    if rate != (1, 1) and stride != (1, 1):
        raise ValueError(f"depthwise_conv2d: strides {stride} and dilations {rate} cannot "
                         "both be above 1")
    return depthwise(input, filter, stride, _explicit_padding(padding, "depthwise_conv2d"),
                     rate, "depthwise_conv2d")


def depthwise(input, filter, stride, padding: str, rate, who: str) -> EagerTensor:
    """The recorded depthwise convolution behind ``tf.nn.depthwise_conv2d`` and
    ``keras.ops.depthwise_conv`` (arguments already checked: pairs and "same"/"valid")."""
    x, w = _plain(input), _plain(filter)
    dtype = _same_float(x, w, who)
    b = np.zeros((1, 1, 1, w.shape[2] * w.shape[3]), dtype=dtype)
    z, cache = depthwise_conv_forward(x, w, b, {"stride": stride, "pad": padding,
                                                "dilation": rate})

    def vjp(g):
        dx, dw, _ = depthwise_conv_backward(np.ascontiguousarray(g, dtype=dtype), cache)
        return [dx, dw]

    return _op(z, [input, filter], vjp)


def _conv_size(n_out: int, f: int, s: int, padding: str) -> int:
    """The size a forward conv of an ``n_out``-long input gives (TensorFlow's rule)."""
    return -(-n_out // s) if padding == "same" else (n_out - f) // s + 1


def conv2d_transpose(input, filters, output_shape, strides, padding="SAME",
                     data_format="NHWC", dilations=None, name=None) -> EagerTensor:
    """The gradient of `conv2d` with respect to its input, as a forward op.

    ``input`` ``(m, h, w, c_in)``, ``filters`` ``(f_h, f_w, c_out, c_in)`` and the wanted
    ``output_shape`` ``(m, H, W, c_out)``: a conv2d of an ``(m, H, W, c_out)`` tensor with
    these filters, strides and padding must give ``(m, h, w, c_in)``.
    """
    _channels_last(data_format, "conv2d_transpose")
    rate = (1, 1) if dilations is None else _spatial(dilations, 2, "dilations",
                                                     "conv2d_transpose")
    if rate != (1, 1):
        _rank(_plain(input), 4, "conv2d_transpose", "batch, height, width, channels")
        return _transposed(input, filters, _output_shape(output_shape, 4, "conv2d_transpose"),
                           _four(strides, "strides", "conv2d_transpose"), _padding(padding),
                           rate, "conv2d_transpose")
    x, w = _plain(input), _plain(filters)
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"conv2d_transpose: input must be (batch, h, w, c_in) and filters "
                         f"(f_h, f_w, c_out, c_in), got shapes {x.shape} and {w.shape}")
    out_shape = tuple(int(v) for v in np.asarray(value_of(output_shape) if isinstance(
        output_shape, np.ndarray) else output_shape).reshape(-1))
    if len(out_shape) != 4:
        raise ValueError(f"conv2d_transpose: output_shape must have 4 entries (batch, H, W, "
                         f"c_out), got {list(out_shape)}")
    pad = _padding(padding)
    stride = _four(strides, "strides", "conv2d_transpose")
    (f_h, f_w, c_out, c_in) = w.shape
    if x.shape[3] != c_in or out_shape[3] != c_out or out_shape[0] != x.shape[0]:
        raise InvalidArgumentError(
            f"conv2d_transpose: filters (f_h, f_w, c_out, c_in) = {w.shape} must match "
            f"input channels {x.shape[3]} and output_shape channels {out_shape[3]}, and "
            f"output_shape batch {out_shape[0]} the input batch {x.shape[0]}")
    for axis, (n_out, f, s) in enumerate(zip(out_shape[1:3], (f_h, f_w), stride)):
        if _conv_size(n_out, f, s, pad) != x.shape[1 + axis]:
            raise InvalidArgumentError(
                f"conv2d_transpose: a conv2d of output_shape {list(out_shape)} with kernel "
                f"{(f_h, f_w)}, strides {stride}, padding {padding!r} gives spatial size "
                f"{_conv_size(n_out, f, s, pad)} on axis {axis + 1}, but input has "
                f"{x.shape[1 + axis]}")
    dtype = _same_float(x, w, "conv2d_transpose")
    # The full canvas of every painted tap, then the window of it TensorFlow keeps: it starts
    # at the forward conv's top/left padding (0 for VALID) and is zero past the canvas.
    canvas, cache = conv_transpose_forward(x, w, None, stride, "valid")
    starts = []
    for n_in, n_out, f, s in zip(x.shape[1:3], out_shape[1:3], (f_h, f_w), stride):
        total = max((n_in - 1) * s + f - n_out, 0) if pad == "same" else 0
        starts.append(total // 2)
    (top, left), (H, W) = starts, out_shape[1:3]
    h_keep = min(H, canvas.shape[1] - top)
    w_keep = min(W, canvas.shape[2] - left)
    out = np.zeros(out_shape, dtype=dtype)
    out[:, :h_keep, :w_keep] = canvas[:, top:top + h_keep, left:left + w_keep]

    def vjp(g):
        d_canvas = np.zeros(canvas.shape, dtype=dtype)
        d_canvas[:, top:top + h_keep, left:left + w_keep] = np.asarray(g)[:, :h_keep, :w_keep]
        dx, dw, _ = conv_transpose_backward(d_canvas, cache)
        return [dx, dw]

    return _op(out, [input, filters], vjp)


# ----------------------------------------------------------------------------- 1-D and 3-D


def _spatial(value, n: int, name: str, who: str, lists_only: bool = False) -> tuple:
    """``value`` as ``n`` ints: an int (unless ``lists_only``: TensorFlow's 3-D ops want
    lists), ``n`` ints, or ``n + 2`` ints with 1 for the batch and channel axes."""
    v = value_of(value) if isinstance(value, np.ndarray) else value
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        if lists_only:
            raise TypeError(f"{who}: expected a list of {n + 2} ints for {name!r}, got {v!r}")
        return (int(v),) * n
    if not isinstance(v, (list, tuple)) or not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in v):
        raise TypeError(f"{who}: {name} must be an int or a list of ints, got {value!r}")
    v = [int(s) for s in v]
    if len(v) == 1 and not lists_only:
        return (v[0],) * n
    if len(v) == n and not lists_only:
        return tuple(v)
    if len(v) == n + 2:
        if v[0] != 1 or v[-1] != 1:
            raise InvalidArgumentError(f"{who}: {name} over the batch or channel axis is not "
                                       f"supported, got {v}")
        return tuple(v[1:-1])
    sizes = f"{n + 2}" if lists_only else ("1, " if n > 1 else "") + f"{n} or {n + 2}"
    raise ValueError(f"{who}: {name} must hold {sizes} ints, got {v}")


def _rank(x: np.ndarray, rank: int, who: str, layout: str) -> None:
    if x.ndim != rank:
        raise ValueError(f"{who}: input must have rank {rank} ({layout}), got shape "
                         f"{list(x.shape)}")


def _channels_first_1d(data_format, who: str) -> bool:
    """Whether a 1-D op's ``data_format`` is ``"NCW"`` (``(batch, channels, width)``, which
    TensorFlow also takes) rather than ``"NWC"`` (or None); anything else is refused."""
    if data_format in (None, "NWC"):
        return False
    if data_format == "NCW":
        return True
    raise ValueError(f"{who}: data_format must be 'NWC' or 'NCW', got {data_format!r}")


def _swap_last_two(x):
    """``(m, a, b)`` -> ``(m, b, a)``, recorded (an NCW op runs as the NWC one between two)."""
    from convnp.tensor.ops import transpose

    return transpose(x, [0, 2, 1])


def conv1d(input, filters, stride, padding, data_format="NWC", dilations=None,
           name=None) -> EagerTensor:
    """1-D convolution of ``(m, w, c_in)`` ``input`` with ``(f, c_in, c_out)`` ``filters``:
    a `conv2d` over a height of 1, as TensorFlow computes it. ``data_format="NCW"``: ``input``
    and the result are ``(m, c, w)``."""
    from convnp.tensor.ops import expand_dims, squeeze

    if _channels_first_1d(data_format, "conv1d"):
        _rank(_plain(input), 3, "conv1d", "batch, channels, width")
        return _swap_last_two(conv1d(_swap_last_two(input), filters, stride, padding,
                                     dilations=dilations))
    x, w = _plain(input), _plain(filters)
    _rank(x, 3, "conv1d", "batch, width, channels")
    if w.ndim != 3:
        raise ValueError(f"conv1d: filters must have rank 3 (width, in_channels, "
                         f"out_channels), got shape {list(w.shape)}")
    _padding(padding)  # a string (TensorFlow's conv1d takes no explicit paddings)
    (step,) = _spatial(stride, 1, "stride", "conv1d")
    (rate,) = (1,) if dilations is None else _spatial(dilations, 1, "dilations", "conv1d")
    y = conv2d(expand_dims(input, 1), expand_dims(filters, 0), [1, 1, step, 1], padding,
               dilations=[1, 1, rate, 1])
    return squeeze(y, [1])


def conv3d(input, filters, strides, padding, data_format="NDHWC", dilations=None,
           name=None) -> EagerTensor:
    """3-D convolution of ``(m, d, h, w, c_in)`` ``input`` with ``(f_d, f_h, f_w, c_in,
    c_out)`` ``filters``; ``strides`` (and ``dilations``) are lists of 5 ints, as TensorFlow
    requires."""
    if data_format not in (None, "NDHWC"):
        raise NotImplementedError(f"conv3d: data_format={data_format!r} is not supported "
                                  "(NDHWC only)")
    x, w = _plain(input), _plain(filters)
    _rank(x, 5, "conv3d", "batch, depth, height, width, channels")
    if w.ndim != 5 or w.shape[3] != x.shape[4]:
        raise ValueError(f"conv3d: filters must be (f_d, f_h, f_w, {x.shape[4]}, c_out) for "
                         f"this input, got shape {list(w.shape)}")
    step = _spatial(strides, 3, "strides", "conv3d", lists_only=True)
    rate = (1, 1, 1) if dilations is None else _spatial(dilations, 3, "dilations", "conv3d",
                                                        lists_only=True)
    dtype = _same_float(x, w, "conv3d")
    z, cache = conv3d_forward(x, w, None, step, _padding(padding), rate)

    def vjp(g):
        dx, dw, _ = conv3d_backward(np.ascontiguousarray(g, dtype=dtype), cache)
        return [dx, dw]

    return _op(z, [input, filters], vjp)


def convolution(input, filters, strides=None, padding="VALID", data_format=None,
                dilations=None, name=None) -> EagerTensor:
    """`conv1d`, `conv2d` or `conv3d`, chosen by the rank of ``input`` (3, 4 or 5);
    ``strides`` and ``dilations`` default to 1 and may be one int for every axis."""
    _padding(padding)  # a string: TensorFlow's convolution takes no explicit paddings
    x = _plain(input)
    n = x.ndim - 2
    if n not in (1, 2, 3):
        raise ValueError(f"convolution: input must have rank 3, 4 or 5 (batch, spatial..., "
                         f"channels), got shape {list(x.shape)}")
    step = (1,) * n if strides is None else _spatial(strides, n, "strides", "convolution")
    rate = (1,) * n if dilations is None else _spatial(dilations, n, "dilations",
                                                       "convolution")
    if n == 1:
        return conv1d(input, filters, list(step), padding, data_format, dilations=list(rate))
    if n == 2:
        return conv2d(input, filters, list(step), padding, data_format, dilations=list(rate))
    return conv3d(input, filters, [1, *step, 1], padding, data_format,
                  dilations=[1, *rate, 1])


def atrous_conv2d(value, filters, rate, padding, name=None) -> EagerTensor:
    """`conv2d` with the kernel taps ``rate`` pixels apart (a dilated convolution)."""
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or rate < 1:
        raise ValueError(f"atrous_conv2d: rate must be an int >= 1, got {rate!r}")
    return conv2d(value, filters, 1, padding, dilations=int(rate))


def separable_conv2d(input, depthwise_filter, pointwise_filter, strides, padding,
                     data_format=None, dilations=None, name=None) -> EagerTensor:
    """`depthwise_conv2d` then a 1x1 `conv2d` with ``pointwise_filter`` ``(1, 1, c * k,
    c_out)``."""
    p = _plain(pointwise_filter)
    d = _plain(depthwise_filter)
    if p.ndim != 4 or p.shape[:2] != (1, 1) or d.ndim != 4 or p.shape[2] != d.shape[2] * d.shape[3]:
        raise ValueError(f"separable_conv2d: pointwise_filter must be (1, 1, {d.shape[2:]} "
                         f"channels x multiplier, c_out), got shape {list(p.shape)}")
    y = depthwise_conv2d(input, depthwise_filter, strides, padding, data_format, dilations)
    return conv2d(y, pointwise_filter, 1, "VALID")


def _pool1d(input, ksize, strides, padding, data_format, mode: str, who: str):
    from convnp.tensor.ops import expand_dims, squeeze

    if _channels_first_1d(data_format, who):
        _rank(_plain(input), 3, who, "batch, channels, width")
        return _swap_last_two(_pool1d(_swap_last_two(input), ksize, strides, padding, None,
                                      mode, who))
    _rank(_plain(input), 3, who, "batch, width, channels")
    (size,) = _spatial(ksize, 1, "ksize", who)
    (step,) = _spatial(strides, 1, "strides", who)
    y = _pool(expand_dims(input, 1), [1, size], [1, step], padding, None, mode)
    return squeeze(y, [1])


def _pool3d(input, ksize, strides, padding, data_format, mode: str, who: str):
    if data_format not in (None, "NDHWC"):
        raise NotImplementedError(f"{who}: data_format={data_format!r} is not supported "
                                  "(NDHWC only)")
    x = _plain(input)
    _rank(x, 5, who, "batch, depth, height, width, channels")
    if x.dtype.kind != "f":
        x = x.astype(np.float32)
    out, cache = pool3d_forward(x, _spatial(ksize, 3, "ksize", who),
                                _spatial(strides, 3, "strides", who), _padding(padding), mode)
    return _op(out, [input], lambda g: [pool3d_backward(
        np.ascontiguousarray(g, dtype=x.dtype), cache)])


def max_pool1d(input, ksize, strides, padding, data_format="NWC", name=None):
    return _pool1d(input, ksize, strides, padding, data_format, "max", "max_pool1d")


def avg_pool1d(input, ksize, strides, padding, data_format="NWC", name=None):
    return _pool1d(input, ksize, strides, padding, data_format, "average", "avg_pool1d")


def max_pool3d(input, ksize, strides, padding, data_format="NDHWC", name=None):
    return _pool3d(input, ksize, strides, padding, data_format, "max", "max_pool3d")


def avg_pool3d(input, ksize, strides, padding, data_format="NDHWC", name=None):
    return _pool3d(input, ksize, strides, padding, data_format, "average", "avg_pool3d")


def _pool_by_rank(input, ksize, strides, padding, data_format, mode: str, who: str):
    rank = _plain(input).ndim
    if rank == 3:
        return _pool1d(input, ksize, strides, padding, data_format, mode, who)
    if rank == 4:
        return _pool(input, ksize, strides, padding, data_format, mode)
    if rank == 5:
        return _pool3d(input, ksize, strides, padding, data_format, mode, who)
    raise ValueError(f"{who}: input must have rank 3, 4 or 5 (batch, spatial..., channels), "
                     f"got rank {rank}")


def max_pool(input, ksize, strides, padding, data_format=None, name=None):
    """Max pooling over 1, 2 or 3 spatial axes, chosen by the rank of ``input``."""
    return _pool_by_rank(input, ksize, strides, padding, data_format, "max", "max_pool")


def avg_pool(input, ksize, strides, padding, data_format=None, name=None):
    """Average pooling over 1, 2 or 3 spatial axes, chosen by the rank of ``input``."""
    return _pool_by_rank(input, ksize, strides, padding, data_format, "average", "avg_pool")


def pool(input, window_shape, pooling_type, strides=None, padding="VALID", data_format=None,
         dilations=None, name=None):
    """``pooling_type`` ``"MAX"`` or ``"AVG"`` pooling with a window of ``window_shape``
    (one size per spatial axis); ``strides`` default to 1."""
    if pooling_type not in ("MAX", "AVG"):
        raise ValueError(f"pool: pooling_type must be 'MAX' or 'AVG', got {pooling_type!r}")
    n = _plain(input).ndim - 2
    window = _spatial(window_shape, n, "window_shape", "pool")
    if len(list(np.ravel(window_shape))) != n:
        raise ValueError(f"pool: window_shape must hold {n} sizes for this input, got "
                         f"{window_shape!r}")
    rate = (1,) * n if dilations is None else _spatial(dilations, n, "dilations", "pool")
    step = (1,) * n if strides is None else _spatial(strides, n, "strides", "pool")
    mode = "max" if pooling_type == "MAX" else "average"
    if rate == (1,) * n:
        return _pool_by_rank(input, list(window), list(step), padding, data_format, mode,
                             "pool")
    # dilated windows: TensorFlow's rules and its space-to-batch construction
    if padding == "SAME":
        raise ValueError("pool: pooling with 'SAME' padding is not implemented for "
                         "dilations > 1")
    if step != (1,) * n:
        raise ValueError("pool: strides > 1 are not supported together with dilations > 1")
    return with_space_to_batch(
        input, list(rate), padding, lambda t, _, pad: _pool_by_rank(
            t, list(window), [1] * n, pad, data_format, mode, "pool"))


MaxPoolWithArgmax = namedtuple("MaxPoolWithArgmax", ["output", "argmax"])


def max_pool_with_argmax(input, ksize, strides, padding, data_format="NHWC",
                         output_dtype=np.int64, include_batch_in_index=False, name=None):
    """`max_pool2d` and, for each output, where its maximum was: the flat index
    ``(y * width + x) * channels + c`` into the example (plus ``b * height * width *
    channels`` with ``include_batch_in_index``), the first maximum of the window in row-major
    order. The indices let SegNet-style decoders put values back where they came from."""
    _channels_last(data_format, "max_pool_with_argmax")
    index_dtype = as_dtype(output_dtype).dtype
    if index_dtype not in (np.int32, np.int64):
        raise TypeError(f"max_pool_with_argmax: output_dtype must be int32 or int64, got "
                        f"{index_dtype}")
    x = _plain(input)
    _rank(x, 4, "max_pool_with_argmax", "batch, height, width, channels")
    size = _spatial(ksize, 2, "ksize", "max_pool_with_argmax")
    step = _spatial(strides, 2, "strides", "max_pool_with_argmax")
    output = _pool(input, list(size), list(step), padding, None, "max")
    m, h, w, c = x.shape
    _, out_h, out_w, _ = output.shape
    pad_top = pad_left = 0
    if _padding(padding) == "same":
        pad_top = max((out_h - 1) * step[0] + size[0] - h, 0) // 2
        pad_left = max((out_w - 1) * step[1] + size[1] - w, 0) // 2
    best = np.full(output.shape, -np.inf)
    where = np.zeros(output.shape, dtype=np.int64)
    rows0 = np.arange(out_h) * step[0] - pad_top
    cols0 = np.arange(out_w) * step[1] - pad_left
    channel = np.arange(c)
    for i in range(size[0]):
        rows = rows0 + i
        row_ok = (rows >= 0) & (rows < h)
        for j in range(size[1]):
            cols = cols0 + j
            col_ok = (cols >= 0) & (cols < w)
            seen = x[:, np.clip(rows, 0, h - 1)][:, :, np.clip(cols, 0, w - 1)]
            valid = (row_ok[:, None] & col_ok[None, :])[None, :, :, None]
            better = valid & (seen > best)  # strict: the first maximum is kept
            best = np.where(better, seen, best)
            flat = ((rows[:, None, None] * w + cols[None, :, None]) * c + channel)[None]
            where = np.where(better, flat, where)
    if include_batch_in_index:
        where = where + (np.arange(m) * h * w * c).reshape(m, 1, 1, 1)
    return MaxPoolWithArgmax(output, new_tensor(where.astype(index_dtype)))


def _output_shape(output_shape, rank: int, who: str) -> tuple:
    shape = tuple(int(v) for v in np.asarray(value_of(output_shape) if isinstance(
        output_shape, np.ndarray) else output_shape).reshape(-1))
    if len(shape) != rank:
        raise ValueError(f"{who}: output_shape must have {rank} entries (batch, spatial..., "
                         f"channels), got {list(shape)}")
    return shape


def _transposed(input, filters, out_shape: tuple, stride, padding: str, rate,
                who: str) -> EagerTensor:
    """The transposed convolution as what it is: the gradient of the forward convolution
    (of an ``out_shape`` input with ``filters``, 2-D or 3-D) with respect to its input,
    applied to ``input``. TensorFlow defines it so, and so are its sizes: the forward
    convolution of ``out_shape`` must give ``input``'s shape."""
    x, w = _plain(input), _plain(filters)
    three = x.ndim == 5
    if w.ndim != x.ndim or w.shape[-1] != x.shape[-1] or out_shape[-1] != w.shape[-2] \
            or out_shape[0] != x.shape[0]:
        raise InvalidArgumentError(
            f"{who}: filters (spatial..., c_out, c_in) = {list(w.shape)} must match the input "
            f"channels {x.shape[-1]} and output_shape {list(out_shape)} (channels c_out, "
            f"batch {x.shape[0]})")
    dtype = _same_float(x, w, who)

    def forward(a):
        if three:
            return conv3d_forward(a, w, None, stride, padding, rate)
        b = np.zeros((1, 1, 1, w.shape[-1]), dtype=dtype)
        return conv_forward(a, w, b, {"stride": stride, "pad": padding, "dilation": rate})

    def backward(dz, cache):
        return (conv3d_backward if three else conv_backward)(
            np.ascontiguousarray(dz, dtype=dtype), cache)

    z, cache = forward(np.zeros(out_shape, dtype=dtype))
    if z.shape != x.shape:
        raise InvalidArgumentError(
            f"{who}: a forward convolution of output_shape {list(out_shape)} with these "
            f"filters, strides {tuple(stride)} and padding {padding!r} gives shape "
            f"{list(z.shape)}, not the input's {list(x.shape)}")
    out = backward(x, cache)[0]

    def vjp(g):
        dx, g_cache = forward(np.ascontiguousarray(g, dtype=dtype))
        dw = backward(x, g_cache)[1]
        return [dx, dw]

    return _op(np.ascontiguousarray(out), [input, filters], vjp)


def conv1d_transpose(input, filters, output_shape, strides, padding="SAME",
                     data_format="NWC", dilations=None, name=None) -> EagerTensor:
    """The transpose of `conv1d`: ``input`` ``(m, w, c_in)``, ``filters`` ``(f, c_out,
    c_in)``, ``output_shape`` ``(m, W, c_out)`` (``(m, c, w)``, ``(m, c_out, W)`` with
    ``data_format="NCW"``)."""
    from convnp.tensor.ops import expand_dims, squeeze

    if _channels_first_1d(data_format, "conv1d_transpose"):
        _rank(_plain(input), 3, "conv1d_transpose", "batch, channels, width")
        m, c_out, width = _output_shape(output_shape, 3, "conv1d_transpose")
        return _swap_last_two(conv1d_transpose(_swap_last_two(input), filters,
                                               [m, width, c_out], strides, padding,
                                               dilations=dilations))
    _rank(_plain(input), 3, "conv1d_transpose", "batch, width, channels")
    m, width, c_out = _output_shape(output_shape, 3, "conv1d_transpose")
    (step,) = _spatial(strides, 1, "strides", "conv1d_transpose")
    (rate,) = (1,) if dilations is None else _spatial(dilations, 1, "dilations",
                                                      "conv1d_transpose")
    y = _transposed(expand_dims(input, 1), expand_dims(filters, 0), (m, 1, width, c_out),
                    (1, step), _padding(padding), (1, rate), "conv1d_transpose")
    return squeeze(y, [1])


def conv3d_transpose(input, filters, output_shape, strides, padding="SAME",
                     data_format="NDHWC", dilations=None, name=None) -> EagerTensor:
    """The transpose of `conv3d`: ``input`` ``(m, d, h, w, c_in)``, ``filters`` ``(f_d,
    f_h, f_w, c_out, c_in)``, ``output_shape`` ``(m, D, H, W, c_out)``."""
    if data_format not in (None, "NDHWC"):
        raise NotImplementedError(f"conv3d_transpose: data_format={data_format!r} is not "
                                  "supported (NDHWC only)")
    _rank(_plain(input), 5, "conv3d_transpose", "batch, depth, height, width, channels")
    step = _spatial(strides, 3, "strides", "conv3d_transpose")
    rate = (1, 1, 1) if dilations is None else _spatial(dilations, 3, "dilations",
                                                        "conv3d_transpose")
    return _transposed(input, filters, _output_shape(output_shape, 5, "conv3d_transpose"),
                       step, _padding(padding), rate, "conv3d_transpose")


def conv_transpose(input, filters, output_shape, strides, padding="SAME", data_format=None,
                   dilations=None, name=None) -> EagerTensor:
    """`conv1d_transpose`, `conv2d_transpose` or `conv3d_transpose` by the rank of
    ``input``."""
    rank = _plain(input).ndim
    if rank == 3:
        return conv1d_transpose(input, filters, output_shape, strides, padding, data_format,
                                dilations=dilations)
    if rank == 4:
        return conv2d_transpose(input, filters, output_shape, strides, padding, data_format,
                                dilations=dilations)
    if rank == 5:
        return conv3d_transpose(input, filters, output_shape, strides, padding, data_format,
                                dilations=dilations)
    raise ValueError(f"conv_transpose: input must have rank 3, 4 or 5, got rank {rank}")


def atrous_conv2d_transpose(value, filters, output_shape, rate, padding,
                            name=None) -> EagerTensor:
    """The transpose of `atrous_conv2d` (a dilated `conv2d_transpose` of stride 1)."""
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or rate < 1:
        raise ValueError(f"atrous_conv2d_transpose: rate must be an int >= 1, got {rate!r}")
    return conv2d_transpose(value, filters, output_shape, 1, padding, dilations=int(rate))


def crelu(features, axis=-1, name=None) -> EagerTensor:
    """``concat([relu(x), relu(-x)], axis)``: both signs kept, twice the channels."""
    from convnp.tensor.ops import concat, negative

    return concat([relu(features), relu(negative(_lift(features)))], axis)


def in_top_k(targets, predictions, k, name=None) -> EagerTensor:
    """For each row of ``predictions`` ``(batch, classes)``: whether the score of class
    ``targets[i]`` is among the ``k`` largest (``tf.nn.in_top_k``, also ``tf.math``'s). Ties
    at the boundary count as inside; a non-finite score or an out-of-range target gives
    False."""
    t = np.asarray(_plain(targets))
    if t.size and t.dtype.kind not in "iuf" and t.dtype != bool:
        raise TypeError(f"in_top_k: targets must be numbers, got dtype {t.dtype}")
    t = t.astype(np.int64)  # floats truncated toward zero, as TensorFlow's casts
    p = np.asarray(_plain(predictions))
    if p.ndim != 2 or t.shape != (p.shape[0],):
        raise ValueError(f"in_top_k: predictions must be (batch, classes) and targets "
                         f"(batch,), got shapes {p.shape} and {t.shape}")
    if p.dtype != np.float32:
        raise InvalidArgumentError(f"in_top_k: predictions must be float32, got {p.dtype}")
    k = int(_plain(k))
    valid = (t >= 0) & (t < p.shape[1])
    score = np.take_along_axis(p, np.where(valid, t, 0)[:, None], axis=1)
    above = (p > score).sum(axis=1)
    finite = np.isfinite(score[:, 0]) & np.all(np.isfinite(p), axis=1)
    return new_tensor(valid & finite & (above < k))


def zero_fraction(value, name=None) -> EagerTensor:
    """The fraction of entries equal to 0, a float32 scalar (NaN for an empty tensor)."""
    a = np.asarray(_plain(value))
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.float32(np.count_nonzero(a == 0)) / np.float32(a.size)
    return new_tensor(np.asarray(fraction, dtype=np.float32))


def log_poisson_loss(targets, log_input, compute_full_loss=False, name=None) -> EagerTensor:
    """``exp(log_input) - log_input * targets``, the negative log-likelihood of a Poisson
    rate ``exp(log_input)`` without its constant; ``compute_full_loss`` adds Stirling's
    approximation of ``log(targets!)`` where targets > 1."""
    from convnp.tensor.ops import exp, log, where, zeros_like

    t, z = _lift(targets), _lift(log_input)
    if np.shape(_plain(targets)) != np.shape(_plain(log_input)):
        raise ValueError(f"log_poisson_loss: log_input and targets must have the same shape, "
                         f"got {np.shape(_plain(log_input))} and {np.shape(_plain(targets))}")
    loss = exp(z) - z * t
    if not compute_full_loss:
        return loss
    with np.errstate(divide="ignore", invalid="ignore"):
        stirling = t * log(t) - t + 0.5 * log(2 * math.pi * t)
    return loss + where(_plain(targets) > 1, stirling, zeros_like(t))


def sufficient_statistics(x, axes, shift=None, keepdims=False, name=None):
    """``(count, sum of (x - shift), sum of (x - shift) ** 2, shift)`` over ``axes``: what
    `normalize_moments` turns into a mean and a variance (``shift`` None stays None)."""
    from convnp.tensor.ops import reduce_sum, square

    a = _plain(x)
    axes = [int(v) % a.ndim for v in np.ravel(axes)]
    count = np.asarray(np.prod([a.shape[i] for i in axes]), dtype=a.dtype)
    if shift is not None and not isinstance(shift, EagerTensor) and not is_variable(shift):
        shift = new_tensor(np.asarray(_plain(shift), dtype=a.dtype))  # a tensor, as TF's
    centred = _lift(x) if shift is None else _lift(x) - _lift(shift)
    m_ss = reduce_sum(centred, axes, keepdims=keepdims)
    v_ss = reduce_sum(square(centred), axes, keepdims=keepdims)
    return new_tensor(count), m_ss, v_ss, shift


def normalize_moments(counts, mean_ss, variance_ss, shift, name=None):
    """The ``(mean, variance)`` of `sufficient_statistics`' sums."""
    from convnp.tensor.ops import square

    divisor = 1.0 / _lift(counts)
    shifted_mean = _lift(mean_ss) * divisor
    mean = shifted_mean if shift is None else shifted_mean + _lift(shift)
    return mean, _lift(variance_ss) * divisor - square(shifted_mean)


def weighted_moments(x, axes, frequency_weights, keepdims=False, name=None):
    """The mean and variance of ``x`` over ``axes`` with each entry counted
    ``frequency_weights`` times (broadcast against ``x``)."""
    from convnp.tensor.ops import ones_like, reduce_sum, square, squeeze

    a = _plain(x)
    axes = [int(v) % a.ndim for v in np.ravel(axes)]
    t, w = _lift(x), _lift(frequency_weights)
    total = reduce_sum(w * ones_like(t), axes, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = reduce_sum(w * t, axes, keepdims=True) / total
        variance = reduce_sum(w * square(t - mean), axes, keepdims=True) / total
    if not keepdims:
        mean, variance = squeeze(mean, axes), squeeze(variance, axes)
    return mean, variance


def space_to_batch(input, block_shape, paddings, name=None) -> EagerTensor:
    """`tf.space_to_batch_nd` (TensorFlow 2's spelling under tf.nn)."""
    from convnp.tensor.manip import space_to_batch_nd

    return space_to_batch_nd(input, block_shape, paddings)


def _depthwise_pass(x: np.ndarray, w: np.ndarray, stride, padding: str, rate):
    b = np.zeros((1, 1, 1, w.shape[2] * w.shape[3]), dtype=x.dtype)
    return depthwise_conv_forward(x, w, b, {"stride": stride, "pad": padding,
                                            "dilation": rate})


def _depthwise_backprop_args(strides, padding, dilations, data_format, who: str):
    _channels_last(data_format, who)
    stride = _depthwise_strides(strides)
    rate = (1, 1) if dilations is None else _four(dilations, "dilations", who)
    return stride, _padding(padding), rate


def depthwise_conv2d_backprop_input(input_sizes, filter, out_backprop, strides, padding,
                                    data_format="NHWC", dilations=None,
                                    name=None) -> EagerTensor:
    """The gradient of `depthwise_conv2d` with respect to an input of shape
    ``input_sizes``, given ``out_backprop`` (the gradient of its output)."""
    who = "depthwise_conv2d_backprop_input"
    stride, pad, rate = _depthwise_backprop_args(strides, padding, dilations, data_format, who)
    shape = _output_shape(input_sizes, 4, who)
    w, dy = _plain(filter), _plain(out_backprop)
    dtype = _same_float(w, dy, who)
    _, cache = _depthwise_pass(np.zeros(shape, dtype=dtype), w, stride, pad, rate)
    out = depthwise_conv_backward(np.ascontiguousarray(dy), cache)[0]

    def vjp(g):
        g = np.ascontiguousarray(g, dtype=dtype)
        d_dy, g_cache = _depthwise_pass(g, w, stride, pad, rate)
        d_w = depthwise_conv_backward(np.ascontiguousarray(dy), g_cache)[1]
        return [None, d_w, d_dy]

    return _op(out, [input_sizes, filter, out_backprop], vjp)


def depthwise_conv2d_backprop_filter(input, filter_sizes, out_backprop, strides, padding,
                                     data_format="NHWC", dilations=None,
                                     name=None) -> EagerTensor:
    """The gradient of `depthwise_conv2d` with respect to a filter of shape
    ``filter_sizes``, given its ``input`` and ``out_backprop``."""
    who = "depthwise_conv2d_backprop_filter"
    stride, pad, rate = _depthwise_backprop_args(strides, padding, dilations, data_format, who)
    shape = _output_shape(filter_sizes, 4, who)
    x, dy = _plain(input), _plain(out_backprop)
    dtype = _same_float(x, dy, who)
    _, cache = _depthwise_pass(x, np.zeros(shape, dtype=dtype), stride, pad, rate)
    out = depthwise_conv_backward(np.ascontiguousarray(dy), cache)[1]

    def vjp(g):
        g = np.ascontiguousarray(g, dtype=dtype)
        d_dy, _ = _depthwise_pass(x, g, stride, pad, rate)
        _, g_cache = _depthwise_pass(np.zeros(x.shape, dtype=dtype), g, stride, pad, rate)
        d_x = depthwise_conv_backward(np.ascontiguousarray(dy), g_cache)[0]
        return [d_x, None, d_dy]

    return _op(out, [input, filter_sizes, out_backprop], vjp)


def dilation2d(input, filters, strides, padding, data_format, dilations,
               name=None) -> EagerTensor:
    """Grayscale morphological dilation: ``out[b, y, x, c] = max over (i, j) of
    input[b, y*s_h + i*r_h, x*s_w + j*r_w, c] + filters[i, j, c]`` (windows past the border
    ignore the missing pixels). ``strides`` and ``dilations`` are lists of 4; NHWC only, as
    TensorFlow 2. The gradients go to the maximum of each window (the first one)."""
    who = "dilation2d"
    if data_format != "NHWC":
        raise ValueError(f"{who}: data_format values other than 'NHWC' are not supported, "
                         f"got {data_format!r}")
    x, f = _plain(input), _plain(filters)
    _rank(x, 4, who, "batch, height, width, channels")
    if f.ndim != 3 or f.shape[2] != x.shape[3]:
        raise ValueError(f"{who}: filters must be (f_h, f_w, {x.shape[3]}), got shape "
                         f"{list(f.shape)}")
    dtype = _same_float(x, f, who)
    stride = _spatial(strides, 2, "strides", who, lists_only=True)
    rate = _spatial(dilations, 2, "dilations", who, lists_only=True)
    pad = _padding(padding)
    m, h, w, c = x.shape
    f_h, f_w = f.shape[:2]
    span = [(k - 1) * r + 1 for k, r in zip((f_h, f_w), rate)]
    if pad == "same":
        out_hw = [-(-n // s) for n, s in zip((h, w), stride)]
        before = [max((o - 1) * s + e - n, 0) // 2
                  for o, s, e, n in zip(out_hw, stride, span, (h, w))]
    else:
        out_hw = [(n - e) // s + 1 for n, e, s in zip((h, w), span, stride)]
        before = [0, 0]
        if min(out_hw) < 1:
            raise ValueError(f"{who}: the dilated filter {span} is larger than the input "
                             f"{[h, w]}")
    best = np.full((m, *out_hw, c), -np.inf, dtype=np.float64)
    arg_row = np.zeros(best.shape, dtype=np.int64)
    arg_col = np.zeros(best.shape, dtype=np.int64)
    arg_tap = np.zeros(best.shape, dtype=np.int64)
    rows0 = np.arange(out_hw[0]) * stride[0] - before[0]
    cols0 = np.arange(out_hw[1]) * stride[1] - before[1]
    for i in range(f_h):
        rows = rows0 + i * rate[0]
        row_ok = (rows >= 0) & (rows < h)
        for j in range(f_w):
            cols = cols0 + j * rate[1]
            col_ok = (cols >= 0) & (cols < w)
            seen = x[:, np.clip(rows, 0, h - 1)][:, :, np.clip(cols, 0, w - 1)] + f[i, j]
            valid = (row_ok[:, None] & col_ok[None, :])[None, :, :, None]
            better = valid & (seen > best)  # strict: the first maximum keeps the gradient
            best = np.where(better, seen, best)
            arg_row = np.where(better, rows[None, :, None, None], arg_row)
            arg_col = np.where(better, cols[None, None, :, None], arg_col)
            arg_tap = np.where(better, i * f_w + j, arg_tap)

    def vjp(g):
        g = np.asarray(g, dtype=np.float64)
        found = np.isfinite(best)
        batch = np.broadcast_to(np.arange(m)[:, None, None, None], best.shape)
        channel = np.broadcast_to(np.arange(c), best.shape)
        d_x = np.zeros(x.shape)
        np.add.at(d_x, (batch[found], arg_row[found], arg_col[found], channel[found]),
                  g[found])
        d_f = np.zeros((f_h * f_w, c))
        np.add.at(d_f, (arg_tap[found], channel[found]), g[found])
        return [d_x.astype(dtype), d_f.reshape(f.shape).astype(dtype)]

    return _op(best.astype(dtype), [input, filters], vjp)


def erosion2d(value, filters, strides, padding, data_format, dilations,
              name=None) -> EagerTensor:
    """Grayscale morphological erosion: ``min over (i, j) of value[...] - filters[i, j]``
    with the filters mirrored, i.e. ``-dilation2d(-value, mirrored filters)``, as
    TensorFlow defines it."""
    from convnp.tensor.manip import reverse
    from convnp.tensor.ops import negative

    mirrored = reverse(filters, [0, 1])
    return negative(dilation2d(negative(_lift(value)), mirrored, strides, padding,
                               data_format, dilations))


def _space_to_batch_paddings(shape, rate, base):
    """``(paddings, crops)`` that make each spatial size (padded by ``base``) a multiple
    of its rate, the extra cells at the end and cropped off afterwards."""
    paddings, crops = [], []
    for n, r, (start, end) in zip(shape, rate, base):
        extra = (r - (n + start + end) % r) % r
        paddings.append([start, end + extra])
        crops.append([0, extra])
    return paddings, crops


def with_space_to_batch(input, dilation_rate, padding, op, filter_shape=None,
                        spatial_dims=None, data_format=None):
    """``op(input, num_spatial_dims, padding)`` computed at ``dilation_rate``: the input is
    padded (for ``"SAME"``, by what a ``filter_shape`` window dilated at that rate needs),
    its pixels spread into the batch with `space_to_batch_nd` so that neighbours in the batch
    are ``rate`` apart in the image, ``op`` runs with ``"VALID"`` padding, and
    `batch_to_space` puts the result back. This is how TensorFlow builds dilated
    convolutions and poolings from undilated ones."""
    from convnp.tensor.manip import batch_to_space, space_to_batch_nd

    if data_format not in (None, "NHWC", "NWC", "NDHWC", "N...C"):
        raise NotImplementedError(f"with_space_to_batch: data_format={data_format!r} is not "
                                  "supported (channels last only)")
    rate = [int(r) for r in np.ravel(value_of(dilation_rate) if isinstance(
        dilation_rate, np.ndarray) else dilation_rate)]
    n = len(rate)
    if spatial_dims is not None and list(spatial_dims) != list(range(1, n + 1)):
        raise NotImplementedError("with_space_to_batch: spatial_dims must be the axes right "
                                  "after the batch")
    if min(rate, default=0) < 1:
        raise ValueError(f"with_space_to_batch: dilation_rate must be positive, got {rate}")
    if padding not in ("SAME", "VALID"):
        raise ValueError(f"with_space_to_batch: padding must be 'SAME' or 'VALID', got "
                         f"{padding!r}")
    if all(r == 1 for r in rate):
        return op(input, n, padding)
    if padding == "SAME":
        if filter_shape is None:
            raise ValueError("with_space_to_batch: filter_shape must be given for padding "
                             "'SAME'")
        base = []
        for k, r in zip(np.ravel(filter_shape), rate):
            total = (int(k) - 1) * r
            base.append((total // 2, total - total // 2))
    else:
        base = [(0, 0)] * n
    shape = _plain(input).shape[1:1 + n]
    paddings, crops = _space_to_batch_paddings(shape, rate, base)
    result = op(space_to_batch_nd(input, rate, paddings), n, "VALID")
    return batch_to_space(result, rate, crops)


# ----------------------------------------------------------------------------- rearranging, LRN


def _block_input(input, block_size, data_format, who: str):
    """The checked ``(array, block)`` of `depth_to_space` / `space_to_depth`."""
    if data_format not in ("NHWC", None):
        raise NotImplementedError(f"{who}: data_format={data_format!r} is not supported "
                                  "(NHWC only)")
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)):
        raise TypeError(f"{who}: block_size must be an int, got {block_size!r}")
    block = int(block_size)
    if block < 2:
        raise InvalidArgumentError(f"{who}: block_size must be at least 2, got {block}")
    a = _plain(input)
    if a.ndim != 4:
        raise InvalidArgumentError(f"{who}: input must have rank 4 (batch, height, width, "
                                   f"channels), got shape {list(a.shape)}")
    return a, block


def _to_space(a: np.ndarray, block: int) -> np.ndarray:
    m, h, w, c = a.shape
    depth = c // (block * block)
    # channel (i * block + j) * depth + k of pixel (y, x) goes to pixel (y*block + i,
    # x*block + j), channel k
    blocks = a.reshape(m, h, w, block, block, depth).transpose(0, 1, 3, 2, 4, 5)
    return blocks.reshape(m, h * block, w * block, depth)


def _to_depth(a: np.ndarray, block: int) -> np.ndarray:
    m, h, w, c = a.shape
    blocks = a.reshape(m, h // block, block, w // block, block, c).transpose(0, 1, 3, 2, 4, 5)
    return blocks.reshape(m, h // block, w // block, block * block * c)


def depth_to_space(input, block_size, data_format="NHWC", name=None) -> EagerTensor:
    """Channels moved into ``block_size x block_size`` spatial blocks: ``(m, h, w, b*b*c)``
    becomes ``(m, h*b, w*b, c)``, channel ``(i*b + j)*c + k`` of a pixel landing at offset
    ``(i, j)`` of its block, as TensorFlow orders them (the sub-pixel shuffle of ESPCN)."""
    a, block = _block_input(input, block_size, data_format, "depth_to_space")
    if a.shape[3] % (block * block):
        raise InvalidArgumentError(f"depth_to_space: the channels ({a.shape[3]}) must be "
                                   f"divisible by block_size * block_size = {block * block}")
    return _op(_to_space(a, block), [input], lambda g: [_to_depth(np.asarray(g), block)])


def space_to_depth(input, block_size, data_format="NHWC", name=None) -> EagerTensor:
    """The inverse of `depth_to_space`: each ``block_size x block_size`` block of pixels
    becomes one pixel with ``b*b`` times the channels."""
    a, block = _block_input(input, block_size, data_format, "space_to_depth")
    if a.shape[1] % block or a.shape[2] % block:
        raise InvalidArgumentError(f"space_to_depth: height {a.shape[1]} and width "
                                   f"{a.shape[2]} must be divisible by block_size {block}")
    return _op(_to_depth(a, block), [input], lambda g: [_to_space(np.asarray(g), block)])


def _window_sum(a: np.ndarray, radius: int) -> np.ndarray:
    """``sum(a[..., d - radius : d + radius + 1])`` for every ``d`` of the last axis (the
    window cut at the ends)."""
    n = a.shape[-1]
    padded = np.zeros(a.shape[:-1] + (n + 1,), dtype=a.dtype)
    np.cumsum(a, axis=-1, out=padded[..., 1:])
    upper = np.minimum(np.arange(n) + radius + 1, n)
    lower = np.maximum(np.arange(n) - radius, 0)
    return padded[..., upper] - padded[..., lower]


def local_response_normalization(input, depth_radius=5, bias=1, alpha=1, beta=0.5,
                                 name=None) -> EagerTensor:
    """``input / (bias + alpha * s) ** beta`` where ``s`` sums the squares of the channels
    within ``depth_radius`` of each channel (``tf.nn.lrn``, AlexNet's normalization); 4-D
    float input."""
    a = _plain(input)
    if a.dtype.kind != "f":
        raise InvalidArgumentError(f"local_response_normalization: input must be a float "
                                   f"tensor, got {a.dtype}")
    if a.ndim != 4:
        raise InvalidArgumentError(f"local_response_normalization: input must be 4-D, got "
                                   f"shape {list(a.shape)}")
    if isinstance(depth_radius, bool) or not isinstance(depth_radius, (int, np.integer)) \
            or depth_radius < 0:
        raise InvalidArgumentError(f"local_response_normalization: depth_radius must be an "
                                   f"int >= 0, got {depth_radius!r}")
    radius, bias, alpha, beta = int(depth_radius), float(bias), float(alpha), float(beta)
    x = a.astype(np.float64)
    norm = bias + alpha * _window_sum(x * x, radius)
    scale = norm ** -beta
    out = (x * scale).astype(a.dtype)

    def vjp(g):
        g = np.asarray(g, dtype=np.float64)
        # d out_d / d x_e = [d == e] scale_d - 2 alpha beta x_d x_e scale_d / norm_d for every
        # d whose window holds e; the windows are symmetric, so the sum is one more window sum
        inner = _window_sum(g * x * scale / norm, radius)
        return [(g * scale - 2 * alpha * beta * x * inner).astype(a.dtype)]

    return _op(out, [input], vjp)


lrn = local_response_normalization


def l2_loss(t, name=None) -> EagerTensor:
    """``sum(t ** 2) / 2``, a scalar of ``t``'s float dtype (weight decay's penalty)."""
    a = _plain(t)
    if a.dtype.kind != "f":
        raise InvalidArgumentError(f"l2_loss: t must be a float tensor, got {a.dtype}")
    out = (np.sum(np.square(a, dtype=np.float64)) / 2).astype(a.dtype)
    return _op(np.asarray(out), [t], lambda g: [np.asarray(g) * a])


def softsign(features, name=None) -> EagerTensor:
    """``x / (1 + |x|)``."""
    x = _lift(features)
    return x / (1 + np.abs(x))


def embedding_lookup(params, ids, max_norm=None, name=None) -> EagerTensor:
    """The rows of ``params`` at ``ids`` (``tf.gather`` on the first axis); the gradient
    adds up in the rows read."""
    if max_norm is not None:
        raise NotImplementedError("embedding_lookup: max_norm is not supported by convnp")
    from convnp.tensor.ops import gather

    return gather(params, ids)


def weighted_cross_entropy_with_logits(labels, logits, pos_weight, name=None) -> EagerTensor:
    """Sigmoid cross-entropy with the positive term weighted by ``pos_weight``:
    ``(1 - z) * x + (1 + (q - 1) * z) * log(1 + exp(-x))``, written without overflow."""
    z, x = _lift(labels), _lift(logits)
    softplus_neg = np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)
    return (1 - z) * x + (1 + (pos_weight - 1) * z) * softplus_neg


def compute_average_loss(per_example_loss, sample_weight=None, global_batch_size=None,
                         name=None) -> EagerTensor:
    """The sum of the (weighted) per-example losses divided by the global batch size
    (the number of examples by default: one replica here)."""
    loss = _lift(per_example_loss)
    if sample_weight is not None:
        loss = loss * sample_weight
    count = np.shape(value_of(per_example_loss))[0] if np.ndim(value_of(
        per_example_loss)) else 1
    if global_batch_size is not None:
        count = int(value_of(global_batch_size)) if isinstance(
            global_batch_size, np.ndarray) else int(global_batch_size)
        if count <= 0:
            raise ValueError(f"compute_average_loss: global_batch_size must be positive, got "
                             f"{count}")
    total = np.add.reduce(loss, axis=None)
    return total / np.asarray(count, dtype=np.asarray(value_of(total)).dtype)


def scale_regularization_loss(regularization_loss, name=None) -> EagerTensor:
    """The regularization loss (or the sum of a list of them) divided by the number of
    replicas, which is 1 here."""
    if isinstance(regularization_loss, (list, tuple)):
        from convnp.tensor.ops import add_n

        regularization_loss = add_n(regularization_loss)
    x = _lift(regularization_loss)
    return np.add.reduce(x, axis=None)


# called on KerasTensors, these functions become layers of the model being built
_symbolic.accept_keras_tensors(globals())
