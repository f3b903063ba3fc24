"""``keras.ops``: Keras 3's backend-neutral names for the tensor functions.

Same functions as ``convnp.*`` (recorded by `GradientTape`), under Keras 3's names and
argument orders where they differ from TensorFlow's (``sum``/``mean`` for ``reduce_*``,
``clip(x, x_min, x_max)``, ``arange``, ``take``, ``concatenate``, ``power``, ...).

The functions custom Keras 3 layers and losses call (``conv``, ``pad``, ``moments``,
``take_along_axis``, the crossentropies, ``scan``, ``dot_product_attention``, ...) follow Keras
3.15 on TensorFlow: signatures, defaults, dtypes and the exception classes of bad arguments
(``tests/fixtures/keras_ops_more.npz``). Convolutions and pools take 1-D, 2-D and 3-D inputs;
``data_format="channels_first"`` moves the channel axis around the channels_last op. At the
end, ``nn``, ``numpy``, ``image`` and ``linalg`` are the ``keras.ops`` submodules (module
objects, also importable by name) holding the functions of Keras' submodules that convnp has.
Keras 3's newer functions live in ``ops_math``, ``ops_nn``, ``ops_linalg``, ``ops_image``,
``ops_arrays`` and ``ops_signal`` (this package) and are re-exported here.
"""

from __future__ import annotations

import builtins  # this module's sum/min/max/any/all/slice/map are Keras' ops

import numpy as np

from convnp.keras import ops_arrays as _ops_arrays
from convnp.keras import ops_image as _ops_image
from convnp.keras import ops_linalg as _ops_linalg

# Keras 3's newer functions, grouped in modules of their own (each wraps its functions for
# KerasTensors; a saved model names them by those modules): elementwise math, the CNN ones of
# keras.ops.nn.
from convnp.keras import ops_math as _ops_math
from convnp.keras import ops_nn as _ops_nn
from convnp.keras import ops_signal as _ops_signal
from convnp.keras.ops_nn import custom_gradient  # noqa: F401
from convnp.tensor import control as _control
from convnp.tensor import manip as _manip
from convnp.tensor import math as _math
from convnp.tensor import nn as _nn
from convnp.tensor import ops as _ops
from convnp.tensor import sorting as _sorting
from convnp.tensor import symbolic as _symbolic

# the same in TensorFlow and Keras 3
from convnp.tensor.ops import (  # noqa: F401 (re-exports)
    abs,
    cast,
    ceil,
    cos,
    exp,
    expand_dims,
    floor,
    log,
    log1p,
    logical_not,
    negative,
    ones,
    ones_like,
    sign,
    sin,
    sqrt,
    square,
    squeeze,
    tanh,
    zeros,
    zeros_like,
)


def _reexport(module) -> None:
    here = globals()
    for key, value in vars(module).items():
        if _symbolic.is_op_function(value) and value.__module__ == module.__name__:
            here[key] = value


_reexport(_ops_math)
_reexport(_ops_nn)
_reexport(_ops_linalg)
_reexport(_ops_arrays)
_reexport(_ops_signal)
# not layers on KerasTensors (they take functions or give a Python value); set by name, as
# ``dtype`` is also the name of many arguments below
for _plain in ("associative_scan", "dtype", "switch", "vectorize"):
    globals()[_plain] = getattr(_ops_arrays, _plain)


# -- Keras 3's signatures where TensorFlow's differ (names, defaults, dtypes) ------------------


def add(x1, x2):
    return _ops.add(x1, x2)


def subtract(x1, x2):
    return _ops.subtract(x1, x2)


def multiply(x1, x2):
    return _ops.multiply(x1, x2)


def divide(x1, x2):
    return _ops.divide(x1, x2)


def maximum(x1, x2):
    return _ops.maximum(x1, x2)


def minimum(x1, x2):
    return _ops.minimum(x1, x2)


def equal(x1, x2):
    return _ops.equal(x1, x2)


def not_equal(x1, x2):
    return _ops.not_equal(x1, x2)


def greater(x1, x2):
    return _ops.greater(x1, x2)


def greater_equal(x1, x2):
    return _ops.greater_equal(x1, x2)


def less(x1, x2):
    return _ops.less(x1, x2)


def less_equal(x1, x2):
    return _ops.less_equal(x1, x2)


def logical_and(x1, x2):
    return _ops.logical_and(x1, x2)


def logical_or(x1, x2):
    return _ops.logical_or(x1, x2)


def matmul(x1, x2):
    return _ops.matmul(x1, x2)


def tensordot(x1, x2, axes=2):
    return _ops.tensordot(x1, x2, axes)


def einsum(subscripts, *operands, **kwargs):
    return _ops.einsum(subscripts, *operands, **kwargs)


def reshape(x, newshape):
    return _ops.reshape(x, newshape)


def transpose(x, axes=None):
    return _ops.transpose(x, None if axes is None else list(axes))


def where(condition, x1=None, x2=None):
    """With ``x1`` and ``x2``, pick elementwise; alone, NumPy's answer: one int32 tensor of
    coordinates per axis of ``condition``."""
    if (x1 is None) != (x2 is None):
        raise ValueError("keras.ops.where: give both x1 and x2, or neither")
    if x1 is None:
        found = np.nonzero(np.asarray(_arr(condition)).astype(bool))
        return [_ops.constant(axis_indices.astype(np.int32)) for axis_indices in found]
    return _ops.where(condition, x1, x2)


def _arg_index(pick, x, axis, keepdims: bool):
    """argmax/argmin as Keras 3: int32, over the flattened values when ``axis`` is None."""
    a = _arr(x)
    if axis is None:
        out = pick(a.reshape(-1), axis=0)
        if keepdims:
            out = out.reshape((1,) * a.ndim)
    else:
        out = pick(a, axis=int(axis), keepdims=bool(keepdims))
    return _ops.constant(np.asarray(out, dtype=np.int32))


def argmax(x, axis=None, keepdims=False):
    return _arg_index(np.argmax, x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    return _arg_index(np.argmin, x, axis, keepdims)


def cumsum(x, axis=None, dtype=None):
    """Running sums along ``axis``; over the flattened values when it is None (NumPy's and
    Keras 3's rule, not TensorFlow's axis 0)."""
    if dtype is not None:
        x = _ops.cast(x, dtype)
    if axis is None:
        x, axis = _ops.reshape(x, [-1]), 0
    return _ops.cumsum(x, axis)


def round(x, decimals=0):
    """Halves round to even, as NumPy and Keras do."""
    if decimals == 0:
        return _ops.round(x)
    scale = 10.0 ** int(decimals)
    return _ops.divide(_ops.round(_ops.multiply(x, scale)), scale)


def tile(x, repeats):
    """NumPy's rule: fewer repeats than axes repeat the last axes, more add leading axes."""
    reps = [int(r) for r in np.atleast_1d(np.asarray(_arr(repeats)))]
    rank = _arr(x).ndim
    if len(reps) > rank:
        x = _ops.reshape(x, [1] * (len(reps) - rank) + list(_arr(x).shape))
    return _ops.tile(x, [1] * (rank - len(reps)) + reps)


def convert_to_numpy(x):
    """The values of a tensor (a Variable, an array, numbers) as a NumPy array."""
    return np.array(_arr(x))


def is_tensor(x) -> bool:
    """Whether ``x`` is a tensor (an `EagerTensor`: what ops return)."""
    from convnp.tensor.eager import is_tensor as eager_is_tensor

    return bool(eager_is_tensor(x))


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    if sparse or ragged:
        raise NotImplementedError("keras.ops.convert_to_tensor: convnp has no sparse or "
                                  "ragged tensors")
    return _ops.convert_to_tensor(x, dtype=dtype)


def sum(x, axis=None, keepdims=False):
    """Integers add up in their own dtype (bool, int8, int16: int32; uint8, uint16: uint32),
    as Keras on TensorFlow, not NumPy's platform integer."""
    out = _ops.reduce_sum(x, axis, keepdims)
    kind = _arr(x).dtype
    if kind.kind in "biu":
        want = {"bool": "int32", "int8": "int32", "int16": "int32", "uint8": "uint32",
                "uint16": "uint32"}.get(kind.name, kind.name)
        if _arr(out).dtype.name != want:
            out = _ops.cast(out, want)
    return out


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
    return _ops.reduce_std(_float_statistic_input(x), axis, keepdims)


def var(x, axis=None, keepdims=False):
    return _ops.reduce_variance(_float_statistic_input(x), axis, keepdims)


def _float_statistic_input(x):
    """Integers and booleans as float32 (Keras 3's std/var take them, where tf.math's
    reduce_std refuses them)."""
    t = _ops._lift(x)
    return _ops.cast(t, "float32") if _ops.value_of(t).dtype.kind in "iub" else t


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


def get_item(x, key):
    """``x[key]`` with NumPy's indexing (ints, slices, Ellipsis, None, index arrays)."""
    return _ops.convert_to_tensor(x)[key]


def clip(x, x_min, x_max):
    return _ops.clip_by_value(x, x_min, x_max)


def _in_result_dtype(xs) -> list:
    """The values to join, each cast to Keras's ``result_type`` of them all: Keras 3 joins a
    float32 tensor and a float64 array as float64, where ``tf.concat`` takes the first
    tensor's dtype."""
    xs = list(xs)
    dtype = _ops_math._result_dtype(*xs)
    return [_ops.cast(x, dtype) for x in xs]


def concatenate(xs, axis=0):
    return _ops.concat(_in_result_dtype(xs), axis)


def stack(x, axis=0):
    return _ops.stack(_in_result_dtype(x), axis)


def split(x, indices_or_sections, axis=0):
    """NumPy's rule: an int splits into equal parts, a list gives the split points."""
    return _ops_arrays.split_at(x, indices_or_sections, axis)


def take(x, indices, axis=None):
    """``x``'s entries at ``indices`` along ``axis`` (flattened first when None). A negative
    index counts from the end, as NumPy's ``take`` and Keras 3 on TensorFlow (whose
    ``tf.gather`` refuses it); one still outside the axis is gather's InvalidArgumentError."""
    if axis is None:
        x = _ops.reshape(x, [-1])
        axis = 0
    idx = np.asarray(_arr(indices))
    if idx.dtype.kind == "i" and idx.size and idx.min() < 0:
        indices = np.where(idx < 0, idx + _arr(x).shape[axis], idx)
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
    """The static shape as a tuple (Keras 3 returns a tuple, not a tensor); of a KerasTensor,
    with None for the batch axis."""
    if _symbolic.is_keras_tensor(x):
        return tuple(x.shape)
    return tuple(_ops.shape(x).numpy().tolist())


def norm(x, ord=None, axis=None, keepdims=False):
    """``keras.ops.norm``: as ``tf.norm``, except that with no ``axis`` and an ``ord`` a
    2-D ``x`` takes the matrix norm (Keras follows NumPy there: ``ord=1`` is the largest
    column sum, ``'fro'`` the Frobenius norm)."""
    if axis is None and ord is not None and len(shape(x)) == 2:
        axis = (0, 1)
    return _ops.norm(x, "euclidean" if ord is None else ord, axis, keepdims)


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    if sparse:
        raise NotImplementedError("keras.ops.one_hot: convnp has no sparse tensors")
    arr = _ops.convert_to_tensor(x)
    if np.dtype(arr.dtype).kind == "f":
        # Keras casts the class indices to int first (tf.one_hot itself refuses floats)
        arr = _ops.cast(arr, "int64")
    return _ops.one_hot(arr, num_classes, axis=axis, dtype=dtype)


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


def scatter_update(inputs, indices, updates, reduction=None):
    if reduction is not None:
        raise NotImplementedError("keras.ops.scatter_update: only reduction=None is supported")
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


def _channels_first_too(fn):
    """Let ``fn`` (written for channels_last) take ``data_format="channels_first"``: the
    channel axis moves last before the call and back to axis 1 after it (kernels keep their
    ``(*window, c_in, c_out)`` layout either way, as in Keras)."""
    import functools
    import inspect

    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def call(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        if bound.arguments.get("data_format") != "channels_first":
            return fn(*args, **kwargs)
        rank = _arr(bound.arguments["inputs"]).ndim
        bound.arguments["data_format"] = "channels_last"
        bound.arguments["inputs"] = _ops.transpose(bound.arguments["inputs"],
                                                   [0, *range(2, rank), 1])
        out = fn(*bound.args, **bound.kwargs)
        return _ops.transpose(out, [0, rank - 1, *range(1, rank - 1)])

    return call


def _check_channels_last(data_format, who: str) -> None:
    if data_format == "channels_first":
        raise NotImplementedError(f"keras.ops.{who}: data_format='channels_first' is not "
                                  "supported here (channels_last only)")
    if data_format not in (None, "channels_last"):
        raise ValueError(f"keras.ops.{who}: data_format must be 'channels_last' or "
                         f"'channels_first', got {data_format!r}")


def _sequence_as_image(inputs, kernel, strides, dilation_rate, who: str):
    """A 1-D window op's arguments for the 2-D op it runs on: the sequences ``(m, steps, c)``
    as images one pixel high ``(m, 1, steps, c)``, the kernel ``(k, ...)`` as ``(1, k, ...)``,
    and the int (or one-item) strides and dilation rate as ``(1, n)`` pairs."""
    if _arr(kernel).ndim != 3:
        raise ValueError(f"keras.ops.{who}: the kernel of 1-D inputs must have rank 3, got "
                         f"shape {_arr(kernel).shape}")
    step = _tuple(strides, 1, "strides")[0]
    rate = _tuple(dilation_rate, 1, "dilation_rate")[0]
    return _ops.expand_dims(inputs, 1), _ops.expand_dims(kernel, 0), (1, step), (1, rate)


@_channels_first_too
def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """Depthwise convolution, 2-D: ``inputs`` ``(m, h, w, c)``, ``kernel`` ``(f_h, f_w, c,
    multiplier)``; or 1-D, as Keras also takes it: ``(m, steps, c)`` and ``(k, c,
    multiplier)`` (run as images one pixel high)."""
    _check_channels_last(data_format, "depthwise_conv")
    if _arr(inputs).ndim == 3:
        image, kernel_2d, step, rate = _sequence_as_image(inputs, kernel, strides,
                                                          dilation_rate, "depthwise_conv")
        return _ops.squeeze(depthwise_conv(image, kernel_2d, step, padding, None, rate), [1])
    return _nn.depthwise(inputs, kernel, _pair(strides, "strides"), _lower_padding(padding),
                         _pair(dilation_rate, "dilation_rate"), "keras.ops.depthwise_conv")


@_channels_first_too
def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    """Transposed convolution with Keras' output size rule (as ``Conv2DTranspose``), 2-D:
    ``inputs`` ``(m, h, w, c_in)``, ``kernel`` ``(f_h, f_w, c_out, c_in)``; or 1-D (as
    ``Conv1DTranspose``): ``(m, steps, c_in)`` and ``(k, c_out, c_in)``, run as images one
    pixel high."""
    import numpy as np

    from convnp.ops.conv_transpose import conv_transpose_backward, conv_transpose_forward

    _check_channels_last(data_format, "conv_transpose")
    if _arr(inputs).ndim == 3:
        image, kernel_2d, step, rate = _sequence_as_image(inputs, kernel, strides,
                                                          dilation_rate, "conv_transpose")
        extra = None if output_padding is None else (
            0, _tuple(output_padding, 1, "output_padding")[0])
        return _ops.squeeze(conv_transpose(image, kernel_2d, step, padding, extra, None, rate),
                            [1])
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


def _need_float(x, who: str):
    """TensorFlow's kernels behind these ops take floats only: an InvalidArgumentError (a
    ValueError) for other dtypes, as Keras on TensorFlow raises."""
    from convnp.tensor.debugging import InvalidArgumentError

    a = _arr(x)
    if a.dtype.kind != "f":
        raise InvalidArgumentError(None, None, f"keras.ops.{who}: expected a float tensor "
                                   f"(float16/32/64), got {a.dtype}")
    return a


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
    import numpy as np

    from convnp._special import erf as _erf

    a = _need_float(x, "erf")
    out = _erf(a).astype(a.dtype, copy=False)
    from convnp.tensor.nn import _erf_slope

    return _ops._op(out, [x], lambda g: [(np.asarray(g) * (2.0 / np.sqrt(np.pi)) * np.exp(
        -np.square(a))).astype(a.dtype)], lambda g, t: [g * _erf_slope(x)])


def hard_sigmoid(x):
    """``relu6(x + 3) / 6`` (Keras 3's form: slope 1/6, not Keras 2's 0.2)."""
    a = _arr(x)
    if a.dtype.kind != "f":
        raise TypeError(f"keras.ops.hard_sigmoid: expected a float tensor, got {a.dtype} "
                        "(Keras adds the float 3.0 in the input's dtype)")
    return _ops.divide(_nn.relu6(_ops.add(x, 3.0)), 6.0)


def hard_silu(x):
    return _ops.multiply(x, hard_sigmoid(x))


hard_swish = hard_silu


def rsqrt(x):
    _need_float(x, "rsqrt")
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
    if _need_float(x, "normalize").ndim == 0:
        x = _ops.expand_dims(x, 0)
    if epsilon is None:
        from convnp._settings import epsilon as _eps

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


def _spatial(inputs, who: str, ranks=(3, 4)) -> int:
    rank = _arr(inputs).ndim
    if rank not in ranks:
        raise NotImplementedError(f"keras.ops.{who}: inputs of rank {rank} are not supported "
                                  f"(ranks {list(ranks)}: batch, {len(ranks)} spatial sizes "
                                  "at most, channels)")
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
    n = _spatial(inputs, who, (3, 4, 5))
    size = _tuple(pool_size, n, "pool_size")
    step = size if strides is None else _tuple(strides, n, "strides")
    pad_mode = _lower_padding(padding).upper()
    if n == 1:
        y = fn(_ops.expand_dims(inputs, 1), [1, 1, size[0], 1], [1, 1, step[0], 1], pad_mode)
        return _ops.squeeze(y, [1])
    if n == 3:
        return _pool3d(inputs, size, step, pad_mode, fn)
    return fn(inputs, [1, *size, 1], [1, *step, 1], pad_mode)


def _pool3d(inputs, size, step, pad_mode, fn):
    """A 3-D pool as 2-D pools of the depth slices each window tap reads (folded into the
    batch), combined over the taps: the largest for max, the mean of the real (unpadded)
    slices for average."""
    import numpy as np

    is_max = fn is _nn.max_pool2d
    m, depth, height, width, channels = _arr(inputs).shape
    taps, stride = size[0], step[0]
    before = 0
    if pad_mode == "SAME":
        out_depth = -(-depth // stride)
        total = builtins.max((out_depth - 1) * stride + taps - depth, 0)
        before = total // 2
        fill = -np.inf if is_max else 0
        inputs = pad(inputs, [[0, 0], [before, total - before], [0, 0], [0, 0], [0, 0]],
                     constant_values=fill)
    else:
        out_depth = (depth - taps) // stride + 1
    combined = None
    for j in range(taps):
        rows = inputs[:, j:j + (out_depth - 1) * stride + 1:stride]
        y = fn(_ops.reshape(rows, [m * out_depth, height, width, channels]),
               [1, size[1], size[2], 1], [1, step[1], step[2], 1], pad_mode)
        combined = y if combined is None else (
            _ops.maximum(combined, y) if is_max else _ops.add(combined, y))
    _, out_h, out_w, _ = _arr(combined).shape
    out = _ops.reshape(combined, [m, out_depth, out_h, out_w, channels])
    if is_max:
        return out
    # real depth cells under each window (padding cells are not counted, as TensorFlow)
    starts = np.arange(out_depth) * stride - before
    counts = np.minimum(starts + taps, depth) - np.maximum(starts, 0)
    dtype = _arr(out).dtype
    return _ops.divide(out, counts.astype(dtype).reshape(1, out_depth, 1, 1, 1))


@_channels_first_too
def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    a = _arr(inputs)
    if a.dtype.kind in "iu":  # TensorFlow pools integers in their own dtype
        y = _pool_any(_ops.cast(inputs, "float64"), pool_size, strides, padding, data_format,
                      "max_pool", _nn.max_pool2d)
        return _ops.cast(y, a.dtype.name)
    return _pool_any(inputs, pool_size, strides, padding, data_format, "max_pool",
                     _nn.max_pool2d)


@_channels_first_too
def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    _need_float(inputs, "average_pool")
    return _pool_any(inputs, pool_size, strides, padding, data_format, "average_pool",
                     _nn.avg_pool2d)


@_channels_first_too
def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-D convolution for N = 1, 2, 3: ``inputs`` ``(m, *spatial, c_in)``, ``kernel``
    ``(*window, c_in, c_out)``."""
    _check_channels_last(data_format, "conv")
    n = _spatial(inputs, "conv", (3, 4, 5))
    step = _tuple(strides, n, "strides")
    rate = _tuple(dilation_rate, n, "dilation_rate")
    if builtins.min(rate) < 1:
        raise ValueError(f"keras.ops.conv: dilation_rate must be >= 1, got {dilation_rate!r}")
    if rate != (1,) * n and step != (1,) * n:
        raise ValueError("keras.ops.conv: strides > 1 with dilation_rate > 1 is not supported "
                         f"(TensorFlow's rule), got strides={strides!r}, dilation_rate="
                         f"{dilation_rate!r}")
    if rate != (1,) * n:
        kernel = _spread(kernel, rate)
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
    if n == 3:
        return _conv3d(inputs, kernel, step, pad_mode)
    return _nn.conv2d(inputs, kernel, [1, *step, 1], pad_mode)


def _conv3d(inputs, kernel, step, pad_mode):
    """A 3-D convolution as one 2-D convolution per depth tap of the kernel: the depth
    positions each tap reads are folded into the batch, and the taps' outputs added."""
    m, depth, height, width, c_in = _arr(inputs).shape
    taps = _arr(kernel).shape[0]
    stride = step[0]
    if pad_mode == "SAME":
        out_depth = -(-depth // stride)
        total = builtins.max((out_depth - 1) * stride + taps - depth, 0)
        inputs = pad(inputs, [[0, 0], [total // 2, total - total // 2], [0, 0], [0, 0], [0, 0]])
    else:
        out_depth = (depth - taps) // stride + 1
        if out_depth < 1:
            raise ValueError(f"keras.ops.conv: the kernel's depth {taps} is larger than the "
                             f"inputs' depth {depth} with padding='valid'")
    total_out = None
    for j in range(taps):
        rows = inputs[:, j:j + (out_depth - 1) * stride + 1:stride]
        y = _nn.conv2d(_ops.reshape(rows, [m * out_depth, height, width, c_in]), kernel[j],
                       [1, step[1], step[2], 1], pad_mode)
        total_out = y if total_out is None else _ops.add(total_out, y)
    _, out_h, out_w, c_out = _arr(total_out).shape
    return _ops.reshape(total_out, [m, out_depth, out_h, out_w, c_out])


def _spread(kernel, rate):
    """The dilated kernel: ``rate - 1`` zero taps between the taps of each spatial axis (a
    convolution with it is the dilated convolution, "same" padding included)."""
    import numpy as np

    k = _arr(kernel)
    n = len(rate)
    shape = [(size - 1) * r + 1 for size, r in zip(k.shape[:n], rate)] + list(k.shape[n:])
    taps = tuple(builtins.slice(None, None, r) for r in rate)
    out = np.zeros(shape, dtype=k.dtype)
    out[taps] = k
    return _ops._op(out, [kernel], lambda g: [np.asarray(g)[taps].astype(
        _ops._grad_dtype(k))])


@_channels_first_too
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
    from convnp._settings import epsilon as _e

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


# -- the rest of Keras 3's everyday functions ------------------------------------------------


def _float_dtype(*arrays):
    """Keras' ``result_type(..., float)``: a float input keeps its (widest) dtype, otherwise
    float32."""
    import numpy as np

    floats = [a.dtype for a in arrays if a.dtype.kind == "f"]
    return np.result_type(*floats) if floats else np.dtype(np.float32)


def average(x, axis=None, weights=None):
    """The mean of ``x`` along ``axis``, weighted by ``weights`` (same shape as ``x``, or 1-D
    along ``axis``)."""

    a = _arr(x)
    if weights is None:
        return mean(_ops.cast(x, _float_dtype(a).name), axis=axis)
    w = _arr(weights)
    dtype = _float_dtype(a, w).name
    x, weights = _ops.cast(x, dtype), _ops.cast(weights, dtype)
    if axis is None or w.ndim == a.ndim:
        return _ops.divide(sum(_ops.multiply(x, weights), axis=axis), sum(weights, axis=axis))
    if w.ndim != 1 or w.shape[0] != a.shape[axis]:
        raise ValueError(f"keras.ops.average: 1-D weights must have the length of axis {axis} "
                         f"({a.shape[axis]}), got shape {w.shape}")
    return _ops.divide(_ops.tensordot(x, weights, [[axis], [0]]), sum(weights))


def diag(x, k=0):
    """A 1-D ``x`` on the ``k``-th diagonal of a square matrix; a 2-D ``x``'s ``k``-th
    diagonal."""
    import numpy as np

    a = _arr(x)
    if a.ndim not in (1, 2):
        raise ValueError(f"`x` must be 1d or 2d. Received: x.shape={a.shape}")
    if a.ndim == 1:
        return _ops._op(np.diag(a, k), [x], lambda g: [np.diag(np.asarray(g), k).astype(
            _ops._grad_dtype(a))])
    rows, cols = np.nonzero(np.eye(*a.shape, k=k, dtype=bool))

    def vjp(g):
        grad = np.zeros(a.shape, dtype=_ops._grad_dtype(a))
        grad[rows, cols] = np.asarray(g)
        return [grad]

    return _ops._op(a[rows, cols], [x], vjp)


def segment_sum(data, segment_ids, num_segments=None, sorted=False):
    """Sums of ``data``'s rows per segment id (ids below 0 are dropped). As the TensorFlow
    backend: unsorted ids without ``num_segments`` give one row per distinct id value."""
    import numpy as np

    a = _arr(data)
    ids = np.asarray(_arr(segment_ids)).astype(np.int64)
    if ids.ndim != 1 or ids.shape[0] != a.shape[0]:
        raise ValueError(f"keras.ops.segment_sum: segment_ids must be 1-D with one id per row "
                         f"of data ({a.shape[0]}), got shape {ids.shape}")
    if sorted:
        if num_segments is not None:
            raise ValueError("Argument `num_segments` cannot be set when sorted is True when "
                             f"using the tensorflow backend. Received: num_segments="
                             f"{num_segments}, sorted={sorted}.")
        if ids.size and np.any(np.diff(ids) < 0):
            raise ValueError("keras.ops.segment_sum: sorted=True needs non-decreasing "
                             f"segment_ids, got {ids.tolist()}")
        count = int(ids.max()) + 1 if ids.size else 0
    else:
        count = len(np.unique(ids)) if num_segments is None else int(num_segments)
    keep = (ids >= 0) & (ids < count)
    out = np.zeros((count, *a.shape[1:]), dtype=a.dtype)
    np.add.at(out, ids[keep], a[keep])

    def vjp(g):
        grad = np.zeros(a.shape, dtype=_ops._grad_dtype(a))
        grad[keep] = np.asarray(g)[ids[keep]]
        return [grad]

    return _ops._op(out, [data], vjp)


def nonzero(x):
    """A tuple of int32 index arrays, one per axis, of the non-zero entries."""
    import numpy as np

    from convnp.tensor.tape import new_tensor

    return tuple(new_tensor(i.astype(np.int32)) for i in np.nonzero(_arr(x)))


def searchsorted(sorted_sequence, values, side="left"):
    import numpy as np

    from convnp.tensor.tape import new_tensor

    seq = _arr(sorted_sequence)
    if seq.ndim != 1:
        raise ValueError("`searchsorted` only supports 1-D sorted sequences. Received: "
                         f"sorted_sequence.shape={seq.shape}")
    if side not in ("left", "right"):
        raise ValueError(f"keras.ops.searchsorted: side must be 'left' or 'right', got {side!r}")
    return new_tensor(np.searchsorted(seq, _arr(values), side=side).astype(np.int32))


def quantile(x, q, axis=None, method="linear", keepdims=False):
    """The ``q``-th quantiles (``0 <= q <= 1``) along ``axis`` (all axes when None), as
    ``numpy.quantile``: ``q``'s axes come first. The gradient goes to the entries the
    quantile interpolates between."""
    import numpy as np

    a, qs = _ops_arrays._quantile_arguments(x, q, method, "quantile")
    dtype = _float_dtype(a).name
    t = _ops.cast(x, dtype)
    rank = a.ndim
    axes = list(range(rank)) if axis is None else [axis] if isinstance(axis, int) else list(
        axis)
    axes = sorted(ax % rank for ax in axes)
    rest = [ax for ax in range(rank) if ax not in axes]
    moved = _ops.transpose(t, rest + axes)
    n = int(np.prod([a.shape[ax] for ax in axes]))
    flat_ = _ops.reshape(moved, [a.shape[ax] for ax in rest] + [n])
    ordered = sort(flat_, axis=-1)
    pos = qs * (n - 1)
    lo, hi = np.floor(pos).astype(np.int32), np.ceil(pos).astype(np.int32)
    if method == "lower":
        out = _ops.gather(ordered, lo, axis=len(rest))
    elif method == "higher":
        out = _ops.gather(ordered, hi, axis=len(rest))
    elif method == "nearest":
        out = _ops.gather(ordered, np.round(pos).astype(np.int32), axis=len(rest))
    else:
        frac = np.full(pos.shape, 0.5) if method == "midpoint" else pos - lo
        frac = frac.astype(dtype)
        below = _ops.gather(ordered, lo, axis=len(rest))
        above = _ops.gather(ordered, hi, axis=len(rest))
        out = _ops.add(below, _ops.multiply(_ops.subtract(above, below), frac))
    # q's axes first, as NumPy
    nr, nq = len(rest), qs.ndim
    out = _ops.transpose(out, list(range(nr, nr + nq)) + list(range(nr)))
    if keepdims:
        shape = list(qs.shape) + [1 if ax in axes else a.shape[ax] for ax in range(rank)]
        out = _ops.reshape(out, shape)
    return out


def slice_update(inputs, start_indices, updates):
    """``inputs`` with the block at ``start_indices`` replaced by ``updates``."""
    import numpy as np

    a, u = _arr(inputs), _arr(updates)
    start = [int(s) for s in np.asarray(_arr(start_indices)).reshape(-1)]
    if len(start) != a.ndim or u.ndim != a.ndim:
        raise ValueError(f"keras.ops.slice_update: start_indices and updates must have one "
                         f"entry/axis per axis of inputs ({a.ndim}), got {len(start)} and "
                         f"rank {u.ndim}")
    block = tuple(builtins.slice(s, s + n) for s, n in zip(start, u.shape))
    out = a.copy()
    out[block] = u.astype(a.dtype)

    def vjp(g):
        g = np.asarray(g)
        gi = g.astype(_ops._grad_dtype(a), copy=True)
        gi[block] = 0
        return [gi, g[block].astype(_ops._grad_dtype(u))]

    return _ops._op(out, [inputs, updates], vjp)


def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """1 for each class present in a row of integer ``inputs`` (one row for 1-D inputs)."""
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if kwargs:
        raise TypeError(f"keras.ops.multi_hot: unexpected arguments {sorted(kwargs)}")
    if num_classes is None:
        raise ValueError("Argument `num_classes` must be specified.")
    if sparse:
        raise NotImplementedError("keras.ops.multi_hot: sparse=True is not supported")
    reduce_axis = 1 if _arr(inputs).ndim > 1 else 0
    hot = _ops.one_hot(inputs, int(num_classes), axis=axis,
                       dtype="float32" if dtype is None or dtype == "bool" else dtype)
    out = _ops.reduce_max(hot, reduce_axis)
    return _ops.cast(out, "bool") if dtype == "bool" else out


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """``(x - mean) / sqrt(variance + epsilon) * scale + offset`` with the 1-D statistics laid
    along ``axis``."""
    rank = _arr(x).ndim
    if axis != -1 and axis != rank - 1:
        shape = [1] * rank
        shape[axis] = _arr(mean).shape[0]
        mean, variance = _ops.reshape(mean, shape), _ops.reshape(variance, shape)
        offset = None if offset is None else _ops.reshape(offset, shape)
        scale = None if scale is None else _ops.reshape(scale, shape)
    return _nn.batch_normalization(x, mean, variance, offset, scale, epsilon)


# control flow: eager Python loops, each step recorded by the tape


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Run ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)``; a single tensor (not
    a tuple or list) is passed and returned as itself."""
    import numpy as np

    is_tuple = isinstance(loop_vars, (tuple, list))
    state = tuple(loop_vars) if is_tuple else (loop_vars,)
    steps = 0
    while (maximum_iterations is None or steps < maximum_iterations) and bool(
            np.asarray(_arr(cond(*state)))):
        out = body(*state)
        state = tuple(out) if is_tuple else (out,)
        if len(state) != (len(loop_vars) if is_tuple else 1):
            raise ValueError(f"keras.ops.while_loop: body must return {len(loop_vars)} "
                             f"values, got {len(state)}")
        steps += 1
    if not is_tuple:
        return state[0]
    return type(loop_vars)(state) if isinstance(loop_vars, list) else state


def fori_loop(lower, upper, body_fun, init_val):
    """``init_val = body_fun(i, init_val)`` for ``i`` in ``range(lower, upper)``."""
    val = init_val
    for i in range(int(_arr(lower)), int(_arr(upper))):
        val = body_fun(i, val)
    return val


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """``carry, y = f(carry, x)`` over the leading axis of ``xs`` (or ``length`` steps with
    ``x = None``); returns ``(carry, ys stacked)``. ``xs`` and ``y`` may be tensors, tuples or
    lists of tensors, or None."""
    if xs is None and length is None:
        raise ValueError("Got no `xs` to scan over and `length` not provided.")
    seq = None if xs is None else (list(xs) if isinstance(xs, (tuple, list)) else None)
    if xs is None:
        n = int(length)
    else:
        first = seq[0] if seq is not None else xs
        n = _arr(first).shape[0]
        if length is not None and int(length) != n:
            raise ValueError(f"keras.ops.scan: length={length} but xs has {n} entries")
    order = range(n - 1, -1, -1) if reverse else range(n)
    carry, ys = init, []
    for i in order:
        if xs is None:
            x = None
        elif seq is not None:
            x = type(xs)(s[i] for s in seq)
        else:
            x = xs[i]
        carry, y = f(carry, x)
        ys.append(y)
    if reverse:
        ys.reverse()
    if not ys or ys[0] is None:
        return carry, None
    if isinstance(ys[0], (tuple, list)):
        return carry, type(ys[0])(stack([y[j] for y in ys]) for j in range(len(ys[0])))
    return carry, stack(ys)


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None,
                          is_causal=False, flash_attention=None, attn_logits_soft_cap=None):
    """``softmax(q k^T * scale + bias, masked) v`` for ``(batch, seq, heads, head_dim)``
    inputs; fewer key/value heads than query heads are shared by groups of query heads."""
    import numpy as np

    if flash_attention:
        raise ValueError("Flash attention is not supported in tensorflow backend.")
    if attn_logits_soft_cap is not None:
        raise NotImplementedError("keras.ops.dot_product_attention: attn_logits_soft_cap is "
                                  "not supported (nor by Keras' TensorFlow backend)")
    q, k, v = _arr(query), _arr(key), _arr(value)
    if q.ndim != 4:
        raise ValueError("`dot_product_attention` only supports 4D inputs. Received: "
                         f"query.shape={q.shape}, key.shape={k.shape}, value.shape={v.shape}.")
    dtype = np.result_type(q.dtype, k.dtype, v.dtype).name
    query, key, value = (_ops.cast(t, dtype) for t in (query, key, value))
    heads, kv_heads = q.shape[2], k.shape[2]
    if heads > kv_heads > 1:
        key = repeat(key, heads // kv_heads, axis=2)
        value = repeat(value, heads // kv_heads, axis=2)
    if scale is None:
        scale = 1.0 / float(np.sqrt(np.float32(k.shape[-1])))
    logits = _ops.multiply(_ops.einsum("BTNH,BSNH->BNTS", query, key), scale)
    if bias is not None:
        logits = _ops.add(logits, _ops.cast(bias, dtype))
    if mask is not None or is_causal:
        keep = np.ones(_arr(logits).shape, dtype=bool)
        if mask is not None:
            keep = keep & np.asarray(_arr(mask)).astype(bool)
        if is_causal:
            t_len, s_len = keep.shape[2:]
            keep = keep & np.tril(np.ones((t_len, s_len), dtype=bool))[None, None]
        big = 65500.0 if dtype == "float16" else 3.38953e38  # Keras' fill: bfloat16's max
        logits = _ops.where(keep, logits, np.asarray(-0.7 * big, dtype=dtype))
    probs = softmax(logits, axis=-1)
    return _ops.einsum("BNTS,BSNH->BTNH", probs, value)


# -- NumPy-named helpers of keras.ops.numpy (compositions of recorded ops) --------------------


def _to_float(x):
    a = _arr(x)
    return x if a.dtype.kind == "f" else _ops.cast(x, "float32")


def moveaxis(x, source, destination):
    rank = _arr(x).ndim
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise ValueError(f"keras.ops.moveaxis: source and destination must have the same "
                         f"number of axes, got {source!r} and {destination!r}")
    src, dst = [a % rank for a in src], [a % rank for a in dst]
    order = [a for a in range(rank) if a not in src]
    for d, s_ in sorted(zip(dst, src)):
        order.insert(d, s_)
    return _ops.transpose(x, order)


def ravel(x):
    return _ops.reshape(x, [-1])


def absolute(x):
    return _ops.abs(x)


def amax(x, axis=None, keepdims=False):
    return max(x, axis=axis, keepdims=keepdims)


def amin(x, axis=None, keepdims=False):
    return min(x, axis=axis, keepdims=keepdims)


def ndim(x):
    return _arr(x).ndim


def size(x):
    return int(_arr(x).size)


def log2(x):
    return _ops.divide(_ops.log(_to_float(x)), 0.6931471805599453)


def log10(x):
    return _ops.divide(_ops.log(_to_float(x)), 2.302585092994046)


def expm1(x):
    """``exp(x) - 1``, accurate near 0 (its own kernel, with gradient ``exp(x)``)."""
    import numpy as np

    a = _arr(_to_float(x))
    return _ops._op(np.expm1(a), [x], lambda g: [np.asarray(g) * np.exp(a)])


def reciprocal(x):
    return _ops.reciprocal(x)


def outer(x1, x2):
    return _ops.multiply(_ops.reshape(x1, [-1, 1]), _ops.reshape(x2, [1, -1]))


def hstack(xs):
    return concatenate(list(xs), axis=0 if _arr(xs[0]).ndim == 1 else 1)


def vstack(xs):
    """Joined along axis 0 (1-D inputs are not promoted to rows, as Keras on TensorFlow)."""
    return concatenate(list(xs), axis=0)


def roll(x, shift, axis=None):
    """Entries shifted by ``shift`` along ``axis`` (the flattened array when None), wrapping
    around."""
    import numpy as np

    a = _arr(x)
    if axis is None:
        return _ops.reshape(roll(_ops.reshape(x, [-1]), shift, 0), list(a.shape))
    shifts = [shift] if isinstance(shift, int) else list(shift)
    axes = [axis] if isinstance(axis, int) else list(axis)
    if len(shifts) != len(axes):
        raise ValueError(f"keras.ops.roll: shift and axis must have the same length, got "
                         f"{shift!r} and {axis!r}")
    out = x
    for sh, ax in zip(shifts, axes):
        n = a.shape[ax]
        out = _ops.gather(out, ((np.arange(n) - sh) % n).astype(np.int32), axis=ax)
    return out


def isinf(x):
    return _ops.is_inf(x)


def logical_xor(x1, x2):
    return _ops.not_equal(_ops.cast(x1, "bool"), _ops.cast(x2, "bool"))


def count_nonzero(x, axis=None):
    """The number of non-zero entries (int32, as Keras on TensorFlow)."""
    return sum(_ops.cast(_ops.not_equal(x, 0), "int32"), axis=axis)


def mod(x1, x2):
    """The remainder with the divisor's sign (``x1 - floor(x1 / x2) * x2``)."""
    a, b = _arr(x1), _arr(x2)
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        import numpy as np

        from convnp.tensor.tape import new_tensor

        return new_tensor(np.mod(a, b))
    return _ops.subtract(x1, _ops.multiply(_ops.floor(_ops.divide(x1, x2)), x2))


def floor_divide(x1, x2):
    return _ops.floordiv(x1, x2)


def median(x, axis=None, keepdims=False):
    return quantile(x, 0.5, axis=axis, keepdims=keepdims)


def percentile(x, q, axis=None, method="linear", keepdims=False):
    import numpy as np

    return quantile(x, np.asarray(_arr(q), dtype=np.float64) / 100.0, axis=axis,
                    method=method, keepdims=keepdims)


def trace(x, offset=0, axis1=0, axis2=1):
    """The sum of the ``offset``-th diagonal of the planes of axes ``axis1`` and ``axis2``."""
    import numpy as np

    a = _arr(x)
    planes = moveaxis(x, (axis1, axis2), (-2, -1))
    rows, cols = np.nonzero(np.eye(a.shape[axis1], a.shape[axis2], k=int(offset),
                                   dtype=bool))
    n = a.shape[axis1] * a.shape[axis2]
    flat_ = _ops.reshape(planes, [*_arr(planes).shape[:-2], n])
    picked = _ops.gather(flat_, (rows * a.shape[axis2] + cols).astype(np.int32), axis=-1)
    return sum(picked, axis=-1)


def full_like(x, fill_value, dtype=None):
    out = _ops.fill(list(_arr(x).shape), fill_value)
    return _ops.cast(out, dtype or _arr(x).dtype.name)


# -- a few more activations of keras.ops.nn ---------------------------------------------------


def swish(x):
    return _nn.silu(x)


def elu(x, alpha=1.0):
    y = _nn.elu(x)
    return y if alpha == 1.0 else _ops.where(_ops.greater(x, 0.0), y, _ops.multiply(y, alpha))


def softsign(x):
    return _ops.divide(x, _ops.add(_ops.abs(x), 1.0))


def log_sigmoid(x):
    return _ops.negative(_nn.softplus(_ops.negative(x)))


def tanh_shrink(x):
    return _ops.subtract(x, _ops.tanh(x))


def soft_shrink(x, threshold=0.5):
    zero = _ops.zeros_like(x)
    return _ops.where(_ops.greater(x, threshold), _ops.subtract(x, threshold), _ops.where(
        _ops.less(x, -threshold), _ops.add(x, threshold), zero))


def hard_shrink(x, threshold=0.5):
    return _ops.where(_ops.greater(_ops.abs(x), threshold), x, _ops.zeros_like(x))


def sparse_plus(x):
    """0 below -1, ``(x + 1)**2 / 4`` up to 1, ``x`` above."""
    quarter = _ops.multiply(_ops.square(_ops.add(x, 1.0)), 0.25)
    return _ops.where(_ops.less_equal(x, -1.0), _ops.zeros_like(x),
                      _ops.where(_ops.less(x, 1.0), quarter, x))


def squareplus(x, b=4):
    return _ops.divide(_ops.add(x, _ops.sqrt(_ops.add(_ops.square(x), float(b)))), 2.0)


def celu(x, alpha=1.0):
    return _ops.add(_ops.maximum(x, 0.0), _ops.multiply(
        expm1(_ops.divide(_ops.minimum(x, 0.0), alpha)), alpha))


def glu(x, axis=-1):
    """``a * sigmoid(b)`` for the two halves ``a``, ``b`` of ``x`` along ``axis``."""
    if _arr(x).shape[axis] % 2:
        raise ValueError(f"axis size must be divisible by 2. Received: x.shape="
                         f"{_arr(x).shape} with axis={axis}")
    a, b = split(x, 2, axis=axis)
    return _ops.multiply(a, _nn.sigmoid(b))


def hard_tanh(x):
    return _ops.clip_by_value(x, -1.0, 1.0)


def threshold(x, threshold, default_value):
    return _ops.where(_ops.greater(x, threshold), x, default_value)


def _compute_float(x):
    """Keras' ``result_type(x.dtype, "float32")``: float64 stays, the rest compute in
    float32; returns the tensor in that dtype and the dtype to give back."""
    a = _arr(x)
    original = a.dtype.name if a.dtype.kind == "f" else "float32"
    compute = "float64" if a.dtype.name == "float64" else "float32"
    return _ops.cast(x, compute), original


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    """``(x - mean) / sqrt(var + epsilon) * gamma + beta`` over ``axis`` (an int or a tuple);
    ``epsilon`` defaults to ``keras.backend.epsilon()``."""
    if kwargs.pop("rms_scaling", False):
        raise NotImplementedError("keras.ops.layer_normalization: rms_scaling (deprecated in "
                                  "Keras) is not supported; use rms_normalization")
    if kwargs:
        raise TypeError(f"keras.ops.layer_normalization: unexpected arguments {sorted(kwargs)}")
    epsilon = _eps() if epsilon is None else epsilon
    t, original = _compute_float(x)
    rank = _arr(t).ndim
    axes = sorted(a % rank for a in ([axis] if isinstance(axis, int) else axis))
    shape = [1] * rank
    for a in axes:
        shape[a] = _arr(t).shape[a]

    def fit(v):
        if v is None:
            return None
        v = _ops.cast(v, _arr(t).dtype.name)
        if _arr(v).ndim != rank and axes != [rank - 1]:
            v = _ops.reshape(v, shape)
        return v

    m, v = _nn.moments(t, axes, keepdims=True)
    inv = _ops.rsqrt(_ops.add(v, epsilon))
    g, b = fit(gamma), fit(beta)
    if g is not None:
        inv = _ops.multiply(inv, g)
    shift = _ops.multiply(_ops.negative(m), inv)
    if b is not None:
        shift = _ops.add(shift, b)
    return _ops.cast(_ops.add(_ops.multiply(t, inv), shift), original)


def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """``x / sqrt(mean(x**2) + epsilon) * scale`` over ``axis``."""
    epsilon = _eps() if epsilon is None else epsilon
    t, original = _compute_float(x)
    if _arr(t).ndim == 0:
        t = _ops.expand_dims(t, 0)
    if isinstance(axis, (tuple, list)):
        axis = sorted(axis)
    out = _ops.multiply(t, _ops.rsqrt(_ops.add(mean(_ops.square(t), axis=axis, keepdims=True),
                                               epsilon)))
    if scale is not None:
        out = _ops.multiply(out, _ops.cast(scale, _arr(t).dtype.name))
    return _ops.cast(out, original)


# -- keras.ops.image (channels_last) ----------------------------------------------------------


def _images(images, who: str, data_format):
    _check_channels_last(data_format, f"image.{who}")
    a = _arr(images)
    if a.ndim not in (3, 4):
        raise ValueError("Invalid images rank: expected rank 3 (single image) or rank 4 (batch "
                         f"of images). Received input with shape: images.shape={a.shape}")
    return a


def _image_resize(images, size, interpolation="bilinear", antialias=False,
                  crop_to_aspect_ratio=False, pad_to_aspect_ratio=False, fill_mode="constant",
                  fill_value=0.0, data_format=None):
    """``images`` resized to ``size = (height, width)`` by `convnp.tensor.image.resize`
    (Keras' TensorFlow backend calls ``tf.image.resize`` with the same method and antialias),
    in the images' own dtype, as Keras 3 gives them back: integer images rounded to the
    nearest value (halves to even) and clipped to their dtype's range (uint8 in, uint8 out,
    where ``tf.image.resize`` alone answers float32), float16 images as float16."""
    from convnp.tensor import image as _image

    if interpolation not in ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic", "area"):
        raise ValueError("Invalid value for argument `interpolation`. Received: "
                         f"interpolation={interpolation}")
    if fill_mode != "constant":
        raise ValueError("Invalid value for argument `fill_mode`. Only `'constant'` is "
                         f"supported. Received: fill_mode={fill_mode}")
    if pad_to_aspect_ratio and crop_to_aspect_ratio:
        raise ValueError("Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be "
                         "`True`.")
    if len(size) != 2:
        raise ValueError("Argument `size` must be a tuple of two elements (height, width). "
                         f"Received: size={size}")
    a = _images(images, "resize", data_format)
    size = tuple(int(s) for s in size)
    if crop_to_aspect_ratio:
        images = _crop_to_aspect(images, a.shape[-3], a.shape[-2], *size)
    elif pad_to_aspect_ratio:
        images = _pad_to_aspect(images, a, *size, fill_value)
    # float64 images stay float64 (Keras's backend casts tf.image.resize's float32 back),
    # float16 stays float16, and integer images are rounded and clipped to their range
    out = _image._resize(images, size, method=interpolation, antialias=antialias)
    if a.dtype.kind in "iu" and _arr(out).dtype != a.dtype:
        info = np.iinfo(a.dtype)
        values = np.clip(np.round(_arr(out)), info.min, info.max)
        return _ops.constant(values.astype(a.dtype))
    if a.dtype.kind == "f" and _arr(out).dtype != a.dtype:
        return _ops.cast(out, a.dtype.name)
    return out


def _aspect_extent(n_other: int, target_this: int, target_other: int) -> int:
    """``n_other * target_this / target_other`` truncated, in float32 as Keras computes it:
    the size along one axis that gives the image the target's aspect ratio."""
    return int(np.float32(n_other * target_this) / np.float32(target_other))


def _crop_to_aspect(images, height: int, width: int, target_h: int, target_w: int):
    """The centred window of the images with the aspect ratio of ``target_h x target_w``."""
    crop_h = builtins.max(builtins.min(height, _aspect_extent(width, target_h, target_w)), 1)
    crop_w = builtins.max(builtins.min(width, _aspect_extent(height, target_w, target_h)), 1)
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    return _ops._lift(images)[..., top:top + crop_h, left:left + crop_w, :]


def _pad_to_aspect(images, a: np.ndarray, target_h: int, target_w: int, fill_value):
    """The images with bands of ``fill_value`` added on both sides of the short axis, as
    Keras does: the same band height above and below (so the result may be one row short of
    the exact aspect ratio)."""
    height, width = a.shape[-3], a.shape[-2]
    top = (builtins.max(height, _aspect_extent(width, target_h, target_w)) - height) // 2
    left = (builtins.max(width, _aspect_extent(height, target_w, target_h)) - width) // 2
    x = _ops._lift(images)
    for axis, band in ((-3, top), (-2, left)):
        if band > 0:
            shape = list(x.shape)
            shape[axis] = band
            fill = _ops.constant(np.full(shape, fill_value, dtype=a.dtype))
            x = _ops.concat([fill, x, fill], axis=len(shape) + axis)
    return x


def _image_rgb_to_grayscale(images, data_format=None):
    """``0.2989 r + 0.5870 g + 0.1140 b`` in a one-channel image of the input's dtype."""
    import numpy as np

    a = _images(images, "rgb_to_grayscale", data_format)
    if a.shape[-1] not in (1, 3):
        raise ValueError("Invalid channel size: expected 3 (RGB) or 1 (Grayscale). Received "
                         f"input with shape: images.shape={a.shape}")
    if a.shape[-1] == 1:
        return _ops.identity(images)
    dtype = _float_dtype(a).name
    weights = np.array([0.2989, 0.5870, 0.1140], dtype=dtype)
    grey = _ops.expand_dims(_ops.tensordot(_ops.cast(images, dtype), weights, [[-1], [0]]), -1)
    return _ops.cast(grey, a.dtype.name)


def _float_images(images, who, data_format):
    a = _images(images, who, data_format)
    if a.dtype.kind != "f":
        raise ValueError(f"Invalid images dtype: expected float dtype. Received: "
                         f"images.dtype={a.dtype}")


def _image_rgb_to_hsv(images, data_format=None):
    """Float RGB in [0, 1] to hue, saturation, value (differentiable, as tf.image's)."""
    from convnp.tensor import image as _image

    _float_images(images, "rgb_to_hsv", data_format)
    return _image.rgb_to_hsv(images)


def _image_hsv_to_rgb(images, data_format=None):
    from convnp.tensor import image as _image

    _float_images(images, "hsv_to_rgb", data_format)
    return _image.hsv_to_rgb(images)


def _exactly_two(first, second, target, names: str):
    if [first, second, target].count(None) != 1:
        raise ValueError(f"Must specify exactly two of {names}. Received: "
                         f"{dict(zip(names.split(', '), (first, second, target)))}")
    for value, name in zip((first, second, target), names.split(", ")):
        if value is not None and value < 0:
            raise ValueError(f"{name} must be >= 0. Received: {name}={value}")


def _image_pad_images(images, top_padding=None, left_padding=None, bottom_padding=None,
                      right_padding=None, target_height=None, target_width=None,
                      data_format=None):
    """Zeros added around the images: two of (top, bottom, target height) and two of (left,
    right, target width) given, the third inferred."""
    a = _images(images, "pad_images", data_format)
    _exactly_two(top_padding, bottom_padding, target_height,
                 "top_padding, bottom_padding, target_height")
    _exactly_two(left_padding, right_padding, target_width,
                 "left_padding, right_padding, target_width")
    height, width = a.shape[-3], a.shape[-2]
    top = target_height - bottom_padding - height if top_padding is None else top_padding
    bottom = target_height - top - height if bottom_padding is None else bottom_padding
    left = target_width - right_padding - width if left_padding is None else left_padding
    right = target_width - left - width if right_padding is None else right_padding
    for value, name in ((top, "top_padding"), (left, "left_padding"),
                        (right, "right_padding"), (bottom, "bottom_padding")):
        if value < 0:
            raise ValueError(f"{name} must be >= 0. Received: {name}={value}")
    widths = [[top, bottom], [left, right], [0, 0]]
    return pad(images, ([[0, 0]] if a.ndim == 4 else []) + widths)


def _image_crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None,
                       right_cropping=None, target_height=None, target_width=None,
                       data_format=None):
    """A window of the images: two of (top, bottom, target height) and two of (left, right,
    target width) given."""
    a = _images(images, "crop_images", data_format)
    _exactly_two(top_cropping, bottom_cropping, target_height,
                 "top_cropping, bottom_cropping, target_height")
    _exactly_two(left_cropping, right_cropping, target_width,
                 "left_cropping, right_cropping, target_width")
    height, width = a.shape[-3], a.shape[-2]
    top = height - target_height - bottom_cropping if top_cropping is None else top_cropping
    rows = height - bottom_cropping - top if target_height is None else target_height
    left = width - target_width - right_cropping if left_cropping is None else left_cropping
    cols = width - right_cropping - left if target_width is None else target_width
    for value, name in ((top, "top_cropping"), (rows, "target_height"),
                        (left, "left_cropping"), (cols, "target_width")):
        if value < 0:
            raise ValueError(f"{name} must be >= 0. Received: {name}={value}")
    start = [top, left, 0]
    size = [rows, cols, a.shape[-1]]
    if a.ndim == 4:
        start, size = [0, *start], [a.shape[0], *size]
    return _manip.slice(images, start, size)


def _pair_of(value, name: str) -> tuple[int, int]:
    """An int or a pair of positive ints as ``(rows, cols)``."""
    seq = [value, value] if isinstance(value, (int, np.integer)) else list(value)
    if len(seq) != 2 or not builtins.all(isinstance(v, (int, np.integer)) and v >= 1
                                         for v in seq):
        raise ValueError(f"keras.ops.image.extract_patches: {name} must be a positive int or "
                         f"a pair of them, got {value!r}")
    return int(seq[0]), int(seq[1])


def _image_extract_patches(images, size, strides=None, dilation_rate=1, padding="valid",
                           data_format=None):
    """``(m, h, w, c)`` (or one ``(h, w, c)`` image) -> ``(m, out_h, out_w, ph * pw * c)``:
    each output pixel holds its ``size`` window flattened row by row, channels last, as
    Keras 3 computes it (a convolution with an identity kernel; ``strides`` default to
    ``size``, so patches do not overlap). `convnp.tensor.image.extract_patches` does the work
    (TensorFlow's order and 'same' padding)."""
    from convnp.tensor import image as _image

    if not isinstance(size, (int, np.integer)) and len(size) == 3:
        raise NotImplementedError("keras.ops.image.extract_patches: 3-D patches (a size of "
                                  "three) are not supported; give (rows, cols)")
    if not isinstance(size, (int, np.integer)) and len(size) != 2:
        raise TypeError("Invalid `size` argument. Expected an int or a tuple of length 2. "
                        f"Received: size={size}")
    a = _images(images, "extract_patches", data_format)
    rows, cols = _pair_of(size, "size")
    steps = _pair_of(strides if strides else size, "strides")
    rates = _pair_of(dilation_rate, "dilation_rate")
    mode = str(padding).lower()
    if mode not in ("valid", "same"):
        raise ValueError("keras.ops.image.extract_patches: padding must be 'valid' or 'same', "
                         f"got {padding!r}")
    batch = images if a.ndim == 4 else _ops.expand_dims(images, 0)
    out = _image.extract_patches(batch, [1, rows, cols, 1], [1, *steps, 1], [1, *rates, 1],
                                 mode.upper())
    return out if a.ndim == 4 else _ops.squeeze(out, 0)


# Called on KerasTensors, these functions become layers of the model being built
# (`convnp.tensor.symbolic`); ``shape`` answers from the static shape instead, and the two
# questions about values are not operations.
_IMAGE_FUNCTIONS = {
    "_image_resize": "resize", "_image_rgb_to_grayscale": "rgb_to_grayscale",
    "_image_rgb_to_hsv": "rgb_to_hsv", "_image_hsv_to_rgb": "hsv_to_rgb",
    "_image_pad_images": "pad_images", "_image_crop_images": "crop_images",
    "_image_extract_patches": "extract_patches"}
_symbolic.accept_keras_tensors(globals(), skip=("shape", "is_tensor", "convert_to_numpy"),
                               extra=_IMAGE_FUNCTIONS)


def _namespace(name: str, doc: str, members: dict):
    import sys
    import types

    module = types.ModuleType(f"{__name__}.{name}", doc)
    for key, value in members.items():
        if value.__name__.startswith("_image_"):
            value.__name__ = key
        setattr(module, key, value)
    module.__all__ = sorted(members)
    sys.modules[module.__name__] = module
    return module


def _pick(names: str) -> dict:
    here = globals()
    return {n: here[n] for n in names.split() if n in here}


# The names Keras 3.15 puts under keras.ops.nn / keras.ops.numpy that convnp has.
nn = _namespace("nn", "keras.ops.nn: activations, convolutions, pooling, losses.", _pick(
    "average_pool batch_normalization binary_crossentropy categorical_crossentropy conv "
    "conv_transpose depthwise_conv dot_product_attention elu gelu hard_sigmoid hard_silu "
    "hard_swish leaky_relu log_sigmoid log_softmax max_pool moments multi_hot normalize "
    "one_hot relu relu6 selu separable_conv sigmoid silu softmax softplus softsign "
    "sparse_categorical_crossentropy swish tanh_shrink soft_shrink hard_shrink sparse_plus "
    "squareplus celu glu hard_tanh threshold layer_normalization rms_normalization "
    "adaptive_average_pool adaptive_max_pool depth_to_space space_to_depth fold unfold psnr "
    "sparse_sigmoid sparsemax ctc_loss ctc_decode"))
numpy = _namespace("numpy", "keras.ops.numpy: NumPy-named tensor functions.", _pick(
    "abs add all any arange argmax argmin argsort average bincount broadcast_to ceil clip "
    "concatenate cos cumsum diag divide divide_no_nan einsum equal exp expand_dims eye flip "
    "floor full get_item greater greater_equal identity isfinite isnan less less_equal linspace log "
    "log1p logical_and logical_not logical_or matmul max maximum mean meshgrid min minimum "
    "multiply negative nonzero not_equal ones ones_like pad power prod quantile repeat "
    "reshape round searchsorted sign sin sort split sqrt square squeeze stack std subtract "
    "sum swapaxes take take_along_axis tanh tensordot tile transpose tril triu true_divide "
    "var where zeros zeros_like moveaxis ravel absolute amax amin ndim size log2 log10 expm1 "
    "reciprocal outer hstack vstack roll isinf logical_xor count_nonzero mod floor_divide "
    "median percentile trace full_like slogdet vectorize hamming hanning blackman bartlett "
    "kaiser " + " ".join(
        name for module in (_ops_math, _ops_arrays) for name in vars(module)
        if not name.startswith("_") and _symbolic.is_op_function(globals().get(name))
        # these are keras.ops.math's / core's / top-level only in Keras
        and name not in ("erfc", "erfinv", "saturate_cast", "cdist", "rearrange", "segment_max",
                         "segment_min", "segment_prod"))))
linalg = _namespace("linalg", "keras.ops.linalg: matrix functions (last two axes).", _pick(
    "cholesky cholesky_inverse det eigh inv lstsq lu_factor matrix_rank norm pinv qr solve "
    "solve_triangular svd"))
image = _namespace("image", "keras.ops.image: image functions (channels_last).", {
    "resize": _image_resize,
    "rgb_to_grayscale": _image_rgb_to_grayscale,
    "rgb_to_hsv": _image_rgb_to_hsv,
    "hsv_to_rgb": _image_hsv_to_rgb,
    "pad_images": _image_pad_images,
    "crop_images": _image_crop_images,
    "extract_patches": _image_extract_patches,
    **{name: value for name, value in vars(_ops_image).items()
       if _symbolic.is_op_function(value) and value.__module__ == _ops_image.__name__},
})
