"""``tf.keras.backend``: `clear_session`, the (fixed) float type and image layout, random
draws, and Keras 2's tensor math (``K.mean``, ``K.sum``, ``K.clip``, ``K.flatten``, ...).

The math functions are the ones Keras 2 custom losses and metrics are written with (dice
coefficient, F1, IoU: ``K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))``). Each is a thin
mapping onto convnp's tensor ops (`convnp.tensor.ops`, `convnp.tensor.nn`), with the
signatures and defaults of TensorFlow 2.21's ``tf.keras.backend`` (Keras 3's legacy backend):
they return tensors, a `GradientTape` records them (so a loss written with them trains inside
``model.compile``/``fit``), and called on a functional model's KerasTensors they become layers,
as the tensor ops do.
"""

from __future__ import annotations

import builtins

import numpy as np

from convnp import _settings
from convnp.layers.base import reset_names
from convnp.tensor import nn as _nn
from convnp.tensor import ops as _ops
from convnp.tensor import symbolic as _symbolic
from convnp.tensor.eager import EagerTensor, as_dtype
from convnp.tensor.tape import is_variable

__all__ = [
    "abs",
    "all",
    "any",
    "arange",
    "argmax",
    "argmin",
    "backend",
    "batch_dot",
    "batch_flatten",
    "batch_get_value",
    "batch_normalization",
    "batch_set_value",
    "bias_add",
    "binary_crossentropy",
    "binary_focal_crossentropy",
    "cast",
    "cast_to_floatx",
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
    "clear_session",
    "clip",
    "concatenate",
    "constant",
    "conv1d",
    "conv2d",
    "conv2d_transpose",
    "conv3d",
    "cos",
    "count_params",
    "ctc_batch_cost",
    "ctc_decode",
    "cumprod",
    "cumsum",
    "depthwise_conv2d",
    "dot",
    "dropout",
    "dtype",
    "elu",
    "epsilon",
    "equal",
    "eval",
    "exp",
    "expand_dims",
    "eye",
    "flatten",
    "floatx",
    "foldl",
    "foldr",
    "gather",
    "get_uid",
    "get_value",
    "gradients",
    "greater",
    "greater_equal",
    "hard_sigmoid",
    "image_data_format",
    "in_top_k",
    "int_shape",
    "is_float_dtype",
    "is_int_dtype",
    "is_keras_tensor",
    "is_sparse",
    "l2_normalize",
    "less",
    "less_equal",
    "log",
    "map_fn",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "moving_average_update",
    "name_scope",
    "ndim",
    "not_equal",
    "one_hot",
    "ones",
    "ones_like",
    "permute_dimensions",
    "pool2d",
    "pool3d",
    "pow",
    "prod",
    "random_bernoulli",
    "random_normal",
    "random_normal_variable",
    "random_uniform",
    "random_uniform_variable",
    "relu",
    "repeat",
    "repeat_elements",
    "reshape",
    "resize_images",
    "resize_volumes",
    "result_type",
    "reverse",
    "rnn",
    "round",
    "separable_conv2d",
    "set_epsilon",
    "set_floatx",
    "set_image_data_format",
    "set_value",
    "shape",
    "sigmoid",
    "sign",
    "sin",
    "softmax",
    "softplus",
    "softsign",
    "sparse_categorical_crossentropy",
    "spatial_2d_padding",
    "spatial_3d_padding",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "standardize_dtype",
    "std",
    "stop_gradient",
    "sum",
    "switch",
    "tanh",
    "temporal_padding",
    "tile",
    "to_dense",
    "transpose",
    "truncated_normal",
    "update",
    "update_add",
    "update_sub",
    "var",
    "variable",
    "zeros",
    "zeros_like",
]


# Keras 2's backend functions that are TensorFlow's ops as they are (same arguments, same
# results): the ops themselves, so they record on tapes and work on KerasTensors alike.
abs = _ops.abs
cast = _ops.cast
cos = _ops.cos
cumsum = _ops.cumsum
equal = _ops.equal
exp = _ops.exp
greater = _ops.greater
greater_equal = _ops.greater_equal
less = _ops.less
less_equal = _ops.less_equal
log = _ops.log
maximum = _ops.maximum
minimum = _ops.minimum
not_equal = _ops.not_equal
pow = _ops.pow
reshape = _ops.reshape
sigmoid = _ops.sigmoid
sign = _ops.sign
sin = _ops.sin
sqrt = _ops.sqrt
square = _ops.square
tanh = _ops.tanh
transpose = _ops.transpose
# the reductions under Keras 2's names (mean, std and var cast integers first: below)
sum = _ops.reduce_sum
prod = _ops.reduce_prod
max = _ops.reduce_max
min = _ops.reduce_min


def clear_session() -> None:
    """Forget automatic layer and model names, so the next ones start at ``conv2d``,
    ``dense``, ``sequential`` ... again (as after ``keras.backend.clear_session()``)."""
    reset_names()


def epsilon() -> float:
    """The fuzz factor losses use to keep logarithms finite (1e-7 unless `set_epsilon`)."""
    return _settings.epsilon()


set_epsilon = _settings.set_epsilon


def floatx() -> str:
    return "float32"


def set_floatx(value) -> None:
    """Keras' default float type. convnp layers compute in float32 unless a layer is given
    ``dtype="float64"`` itself, so only ``"float32"`` is accepted here (a process-wide switch
    would be hidden global state); anything else raises `ValueError` saying so."""
    if value not in ("float16", "bfloat16", "float32", "float64"):
        raise ValueError(f"set_floatx: unknown float type {value!r}; Keras accepts 'float16', "
                         "'bfloat16', 'float32' or 'float64'")
    if value != "float32":
        raise ValueError(f"set_floatx({value!r}) is not supported: convnp computes in float32 "
                         "by default; for float64 pass dtype='float64' to each layer")


def image_data_format() -> str:
    """Always ``"channels_last"``: convnp's images are NHWC."""
    return "channels_last"


def set_image_data_format(data_format) -> None:
    """Only ``"channels_last"`` (convnp's NHWC layout) is accepted."""
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError("set_image_data_format: expected 'channels_last' or 'channels_first', "
                         f"got {data_format!r}")
    if data_format != "channels_last":
        raise ValueError("set_image_data_format('channels_first') is not supported: convnp "
                         "works on NHWC (channels_last) images only; transpose NCHW data with "
                         "np.transpose(x, (0, 2, 3, 1))")


def get_value(x):
    """The value of a variable, tensor, learning rate or number as NumPy (Keras 2's
    ``K.get_value(model.optimizer.lr)``)."""
    import numpy as np

    numpy = getattr(x, "numpy", None)
    return numpy() if callable(numpy) else np.asarray(x)


def set_value(x, value) -> None:
    """Assign ``value`` to a variable or an optimizer's learning rate (Keras 2's
    ``K.set_value(model.optimizer.lr, 1e-4)``); anything without ``.assign`` is refused."""
    assign = getattr(x, "assign", None)
    if not callable(assign):
        raise TypeError(f"set_value needs a variable or an optimizer's learning_rate (something "
                        f"with .assign), got {type(x).__name__}")
    assign(value)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal draws as a tensor (``tf.keras.backend.random_normal``), from convnp's generator
    (or from ``seed`` alone). The numbers differ from TensorFlow's: its generator is another."""
    from convnp.random import normal

    return normal(shape, mean=mean, stddev=stddev, dtype=dtype or floatx(), seed=seed)


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Uniform draws in [minval, maxval) as a tensor (``tf.keras.backend.random_uniform``)."""
    from convnp.random import uniform

    return uniform(shape, minval=minval, maxval=maxval, dtype=dtype or floatx(), seed=seed)


# ----------------------------------------------------------------------------- Keras 2's math
# (thin mappings onto convnp's tensor ops; see the module docstring)


def _float(x):
    """``x`` as a tensor, booleans as floatx (Keras 2 averages masks: ``K.mean(x > 0)``)."""
    t = _ops._lift(x)
    if isinstance(t, np.ndarray) and t.dtype == np.bool_:
        return _ops.cast(t, floatx())
    return t


def _bool(x):
    t = _ops._lift(x)
    return t if getattr(t, "dtype", None) == np.bool_ else _ops.cast(t, "bool")


def mean(x, axis=None, keepdims=False):
    return _ops.reduce_mean(_float(x), axis, keepdims)






def std(x, axis=None, keepdims=False):
    return _ops.reduce_std(_float(x), axis, keepdims)


def var(x, axis=None, keepdims=False):
    return _ops.reduce_variance(_float(x), axis, keepdims)


def any(x, axis=None, keepdims=False):
    return _ops.reduce_any(_bool(x), axis, keepdims)


def all(x, axis=None, keepdims=False):
    return _ops.reduce_all(_bool(x), axis, keepdims)


def argmax(x, axis=-1):
    return _ops.argmax(x, axis)


def argmin(x, axis=-1):
    return _ops.argmin(x, axis)








def round(x):
    """Half to even, as TensorFlow; no gradient (as TensorFlow)."""
    return _ops.round(x)





def clip(x, min_value, max_value):
    """``x`` clipped to [min_value, max_value]; a ``None`` bound is no bound, and a
    ``max_value`` below ``min_value`` is raised to it (Keras 2's rule)."""
    numbers = (builtins.int, builtins.float, np.integer, np.floating)
    if isinstance(min_value, numbers) and isinstance(max_value, numbers) \
            and max_value < min_value:
        max_value = min_value
    min_value = -np.inf if min_value is None else min_value
    max_value = np.inf if max_value is None else max_value
    t = _ops._lift(x)
    dtype = getattr(t, "dtype", np.dtype(np.float32))
    if dtype.kind == "f" and isinstance(min_value, numbers) and isinstance(max_value, numbers):
        min_value, max_value = dtype.type(min_value), dtype.type(max_value)
    return _ops.clip_by_value(t, min_value, max_value)










# ----------------------------------------------------------------------------- shapes


def int_shape(x):
    """The static shape as a tuple of ints (``None`` for unknown sizes), or None when ``x``
    has no shape."""
    shape = getattr(x, "shape", None)
    if shape is None:
        return None
    return tuple(None if d is None else builtins.int(d) for d in shape)


def shape(x):
    """The shape as an int32 tensor (``tf.shape``)."""
    return _ops.shape(x)


def ndim(x) -> int:
    return len(int_shape(x))


def count_params(x) -> int:
    """How many numbers ``x`` (a variable or tensor of known shape) holds."""
    return builtins.int(np.prod(int_shape(x), dtype=np.int64))


def is_keras_tensor(x) -> bool:
    """Whether ``x`` is a symbolic tensor of a functional model being built."""
    return _symbolic.is_keras_tensor(x)


def flatten(x):
    return _ops.reshape(x, [-1])


def batch_flatten(x):
    """``(batch, ...)`` as ``(batch, everything else)``."""
    return _ops.reshape(x, [-1, builtins.int(np.prod(int_shape(x)[1:], dtype=np.int64))])



def permute_dimensions(x, pattern):
    return _ops.transpose(x, list(pattern))



def expand_dims(x, axis=-1):
    return _ops.expand_dims(x, axis)


def squeeze(x, axis):
    return _ops.squeeze(x, [axis])


def concatenate(tensors, axis=-1):
    if axis < 0:
        rank = ndim(tensors[0])
        axis = axis % rank if rank else 0
    return _ops.concat(list(tensors), axis)


def stack(x, axis=0):
    return _ops.stack(list(x), axis)


def tile(x, n):
    n = [n] if isinstance(n, (builtins.int, np.integer)) else n
    return _ops.tile(x, n)


def repeat_elements(x, rep, axis):
    """Every slice of ``x`` along ``axis`` repeated ``rep`` times in place
    (``[a, b]`` -> ``[a, a, b, b]``)."""
    t = _ops._lift(x)
    axis = axis % ndim(t)
    expanded = _ops.expand_dims(t, axis + 1)
    multiples = [1] * (ndim(t) + 1)
    multiples[axis + 1] = builtins.int(rep)
    new_shape = list(int_shape(t))
    new_shape[axis] = new_shape[axis] * builtins.int(rep)
    return _ops.reshape(_ops.tile(expanded, multiples), new_shape)


def gather(reference, indices):
    return _ops.gather(reference, indices)


def arange(start, stop=None, step=1, dtype="int32"):
    """Keras 2's ``K.arange``: ``tf.range``'s own dtype (float32 for float bounds) unless a
    dtype other than the default "int32" is asked for, as TensorFlow's Keras does."""
    if stop is None and start < 0:
        start = 0
    return _ops.range(start, stop, step, dtype=None if dtype == "int32" else dtype)


def one_hot(indices, num_classes):
    """``(..., num_classes)`` float32 rows."""
    return _ops.one_hot(indices, num_classes, axis=-1)


def dot(x, y):
    """Keras 2's dot: a matrix product for 2-D inputs; for more dimensions, the last axis of
    ``x`` against the second-to-last of ``y`` (result ``x.shape[:-1] + y.shape[:-2] +
    y.shape[-1:]``, as ``np.dot``)."""
    a, b = _ops._lift(x), _ops._lift(y)
    if ndim(a) <= 2 and ndim(b) <= 2:
        return _ops.matmul(a, b)
    y_axes = list(builtins.range(ndim(b)))
    moved = y_axes[:-2] + y_axes[-1:]
    b_first = _ops.transpose(b, [y_axes[-2]] + moved)
    out = _ops.tensordot(a, b_first, [[ndim(a) - 1], [0]])
    return out


def l2_normalize(x, axis=None):
    return _ops.l2_normalize(x, axis)


# ----------------------------------------------------------------------------- creation


def _floatx_dtype(dtype):
    return floatx() if dtype is None else dtype


def constant(value, dtype=None, shape=None, name=None):
    """A tensor of ``value`` in ``dtype`` (floatx by default)."""
    return _ops.constant(value, dtype=_floatx_dtype(dtype), shape=shape)


def variable(value, dtype=None, name=None, constraint=None):
    """A `convnp.Variable` holding ``value`` in ``dtype`` (floatx by default)."""
    from convnp.variables import Variable

    array = np.asarray(getattr(value, "numpy", lambda: value)(),
                       dtype=as_dtype(_floatx_dtype(dtype)).dtype)
    return Variable(array, name=name, constraint=constraint)


def zeros(shape, dtype=None, name=None):
    """All zeros: a Variable, as Keras 2 gives, unless a size is 0 (then a tensor)."""
    value = _ops.zeros(shape, dtype=_floatx_dtype(dtype))
    return variable(value, dtype, name) if builtins.all(value.shape) else value


def ones(shape, dtype=None, name=None):
    """All ones: a Variable, as Keras 2 gives, unless a size is 0 (then a tensor)."""
    value = _ops.ones(shape, dtype=_floatx_dtype(dtype))
    return variable(value, dtype, name) if builtins.all(value.shape) else value


def zeros_like(x, dtype=None, name=None):
    return _ops.zeros_like(x, dtype=dtype)


def ones_like(x, dtype=None, name=None):
    return _ops.ones_like(x, dtype=dtype)


# ----------------------------------------------------------------------------- choice


def switch(condition, then_expression, else_expression):
    """``then_expression`` where ``condition`` holds, else ``else_expression``.

    A scalar condition picks one whole expression (either may be a function of no arguments,
    called only when picked); a tensor condition picks elementwise, a condition of lower rank
    than the expressions extended along their trailing axes."""
    cond = _bool(condition)
    if ndim(cond) == 0:
        chosen = then_expression if builtins.bool(cond) else else_expression
        return chosen() if callable(chosen) else _ops._lift(chosen)
    then_t, else_t = _ops._lift(then_expression), _ops._lift(else_expression)
    extra = ndim(then_t) - ndim(cond)
    if extra > 0:  # trailing axes of 1, which `where` broadcasts
        cond = _ops.reshape(cond, list(int_shape(cond)) + [1] * extra)
    return _ops.where(cond, then_t, else_t)


# ----------------------------------------------------------------------------- activations


def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    """Keras 2's relu: ``x`` above ``threshold`` (else ``alpha * (x - threshold)``), capped at
    ``max_value``."""
    t = _ops._lift(x)
    if alpha != 0.0 and max_value is None and threshold == 0.0:
        return _nn.leaky_relu(t, alpha=alpha)
    negative = None
    if alpha != 0.0:
        negative = _nn.relu(-t + threshold) if threshold != 0.0 else _nn.relu(-t)
    if threshold != 0.0:
        out = t * _ops.cast(_ops.greater(t, threshold), t.dtype)
    else:
        out = _nn.relu(t)
    if max_value is not None:
        out = _ops.clip_by_value(out, t.dtype.type(0), t.dtype.type(max_value))
    if negative is not None:
        out = out - negative * alpha
    return out




def softmax(x, axis=-1):
    return _nn.softmax(x, axis=axis)


def softplus(x):
    return _nn.softplus(x)


def softsign(x):
    t = _ops._lift(x)
    return t / (_ops.abs(t) + 1)


def elu(x, alpha=1.0):
    out = _nn.elu(x)
    if alpha == 1:
        return out
    t = _ops._lift(x)
    return _ops.where(_ops.greater(t, 0), out, out * alpha)


def hard_sigmoid(x):
    """``clip(0.2 x + 0.5, 0, 1)`` (Keras 2's slope; Keras 3's activation uses 1/6)."""
    t = _ops._lift(x)
    return _ops.clip_by_value(t * t.dtype.type(0.2) + t.dtype.type(0.5), t.dtype.type(0),
                              t.dtype.type(1))


# ----------------------------------------------------------------------------- cross-entropies


def _clip_probabilities(output):
    t = _ops._lift(output)
    eps = t.dtype.type(epsilon())
    return _ops.clip_by_value(t, eps, t.dtype.type(1) - eps)


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Per-example ``-sum(target * log(output))`` along ``axis``; ``output`` probabilities
    (rescaled to sum to 1, clipped to [eps, 1 - eps]) or, with ``from_logits``, logits."""
    if from_logits:
        return _nn.softmax_cross_entropy_with_logits(target, output, axis=axis)
    p = _ops._lift(output)
    p = _clip_probabilities(p / _ops.reduce_sum(p, axis, keepdims=True))
    return -_ops.reduce_sum(_ops._lift(target) * _ops.log(p), axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1,
                                    ignore_class=None):
    """Per-example cross-entropy against integer classes ``target`` (a trailing axis of 1 is
    dropped); entries whose class is ``ignore_class`` give 0."""
    logits = _ops._lift(output)
    if not from_logits:
        logits = _ops.log(_clip_probabilities(logits))
    rank = ndim(logits)
    axis = axis % rank
    if axis != rank - 1:
        perm = [i for i in builtins.range(rank) if i != axis] + [axis]
        logits = _ops.transpose(logits, perm)
    labels = np.asarray(_ops.value_of(target)).astype(np.int64)
    if labels.ndim == rank:
        labels = labels[..., 0] if labels.shape[-1] == 1 else labels
    keep = None
    if ignore_class is not None:
        keep = labels != builtins.int(ignore_class)
        labels = np.where(keep, labels, 0)
    out = _nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
    if keep is not None:
        out = out * keep.astype(out.dtype)
    return out


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise binary cross-entropy (no mean): ``output`` probabilities clipped to [eps,
    1 - eps] (plus eps inside the logs, as Keras 2) or, with ``from_logits``, logits."""
    if from_logits:
        y = _ops._lift(output)
        return _nn.sigmoid_cross_entropy_with_logits(
            labels=_ops.cast(target, y.dtype), logits=y)
    p = _clip_probabilities(output)
    t = _ops._lift(target)
    eps = p.dtype.type(epsilon())
    return -(t * _ops.log(p + eps) + (1 - t) * _ops.log(1 - p + eps))


# ----------------------------------------------------------------------------- more of Keras 2


def backend() -> str:
    """The backend's name: ``"tensorflow"``, the one convnp stands in for."""
    return "tensorflow"




def stop_gradient(variables):
    """``variables`` (a tensor or a list of them) with the gradient cut."""
    if isinstance(variables, (list, tuple)):
        return [_ops.stop_gradient(v) for v in variables]
    return _ops.stop_gradient(variables)


def cast_to_floatx(x):
    """Tensors and variables cast to floatx as tensors; anything else as a NumPy array."""
    if isinstance(x, EagerTensor) or is_variable(x):
        return _ops.cast(x, floatx())
    return np.asarray(x, dtype=floatx())


def dtype(x) -> str:
    """The dtype's name (``"float32"``)."""
    return as_dtype(x.dtype).name


def eval(x):
    """The value as NumPy (``K.eval``)."""
    return get_value(x)


def batch_get_value(tensors) -> list:
    return [get_value(x) for x in tensors]


def batch_set_value(tuples) -> None:
    """Assign each ``(variable, value)`` pair."""
    for x, value in tuples:
        set_value(x, np.asarray(value, dtype=as_dtype(x.dtype).dtype))


def update(x, new_x):
    return x.assign(new_x)


def update_add(x, increment):
    return x.assign_add(increment)


def update_sub(x, decrement):
    return x.assign_sub(decrement)


def moving_average_update(x, value, momentum):
    """``x -= (x - value) * (1 - momentum)``: a BatchNormalization-style running mean."""
    target = as_dtype(x.dtype).dtype
    delta = (np.asarray(get_value(x)) - np.asarray(get_value(value), dtype=target)) \
        * (1 - target.type(momentum))
    return x.assign_sub(delta.astype(target))


def eye(size, dtype=None, name=None):
    """An identity matrix as a Variable (floatx by default)."""
    from convnp.tensor.manip import eye as _eye

    return variable(_eye(size, dtype=_floatx_dtype(dtype)), dtype, name)


def reverse(x, axes):
    from convnp.tensor.manip import reverse as _reverse

    return _reverse(x, [axes] if isinstance(axes, (builtins.int, np.integer)) else list(axes))


def repeat(x, n):
    """``(batch, dim)`` repeated into ``(batch, n, dim)``."""
    if ndim(x) != 2:
        raise ValueError(f"Expected input `x` to have rank 2. Received: rank(x)={ndim(x)}")
    return _ops.tile(_ops.expand_dims(x, 1), [1, builtins.int(n), 1])


def batch_dot(x, y, axes=None):
    """Per example of the batch, the product of ``x[i]`` and ``y[i]`` summed over ``axes``
    (one axis of each; by default x's last with y's last for a 2-D ``y``, else y's second to
    last). The result has x's other axes, then y's."""
    a, b = _ops._lift(x), _ops._lift(y)
    x_rank, y_rank = ndim(a), ndim(b)
    if x_rank < 2 or y_rank < 2:
        raise ValueError(f"Cannot do batch_dot on inputs with rank < 2. Received inputs with "
                         f"shapes {int_shape(a)} and {int_shape(b)}.")
    if int_shape(a)[0] != int_shape(b)[0]:
        raise ValueError(f"Cannot do batch_dot on inputs with different batch sizes. "
                         f"Received inputs with shapes {int_shape(a)} and {int_shape(b)}.")
    if axes is None:
        axes = [x_rank - 1, y_rank - 1 if y_rank == 2 else y_rank - 2]
    elif isinstance(axes, (builtins.int, np.integer)):
        axes = [axes, axes]
    if builtins.any(isinstance(v, (list, tuple)) for v in axes):
        raise ValueError(f"Multiple target dimensions are not supported. Expected: None, int, "
                         f"(int, int), Provided: {axes}")
    ax, ay = builtins.int(axes[0]) % x_rank, builtins.int(axes[1]) % y_rank
    if ax == 0 or ay == 0:
        raise ValueError("Cannot perform batch_dot over axis 0. If your inputs are not "
                         "batched, add a dummy batch dimension to your inputs using "
                         "K.expand_dims(x, 0)")
    if int_shape(a)[ax] != int_shape(b)[ay]:
        raise ValueError(f"Cannot do batch_dot on inputs with shapes {int_shape(a)} and "
                         f"{int_shape(b)} with axes={[ax, ay]}. x.shape[{ax}] != "
                         f"y.shape[{ay}] ({int_shape(a)[ax]} != {int_shape(b)[ay]}).")
    letters = "bcdefghijklmnopqrstuvwxyz"
    x_sub = ["a"] + list(letters[:x_rank - 1])
    y_sub = ["a"] + list(letters[x_rank - 1:x_rank + y_rank - 2])
    y_sub[ay] = x_sub[ax]
    out = [c for i, c in enumerate(x_sub) if i != ax] + [
        c for i, c in enumerate(y_sub) if i not in (0, ay)]
    result = _ops.einsum(f"{''.join(x_sub)},{''.join(y_sub)}->{''.join(out)}", a, b)
    if x_rank == 2 and y_rank == 2:  # one number per example, kept as (batch, 1)
        result = _ops.expand_dims(result, 1)
    return result


def bias_add(x, bias, data_format=None):
    """``x + bias`` along the channels (the last axis: channels_last only)."""
    if data_format not in (None, "channels_last", "channels_first"):
        raise ValueError(f"Unknown data_format: {data_format}")
    if data_format == "channels_first":
        raise NotImplementedError("bias_add: data_format='channels_first' is not supported "
                                  "(convnp is channels_last)")
    rank = len(int_shape(bias))
    if rank != 1 and rank != ndim(x) - 1:
        raise ValueError(f"Unexpected bias dimensions {rank}. Expected it to be 1 or "
                         f"{ndim(x) - 1} dimensions")
    return _ops._lift(x) + _ops._lift(bias)


def temporal_padding(x, padding=(1, 1)):
    """Zeros added before and after the steps of ``(batch, steps, features)``."""
    from convnp.tensor.sorting import pad

    if len(padding) != 2:
        raise ValueError(f"Expected `padding` to be a tuple of 2 integers. Received: "
                         f"padding={padding}")
    return pad(x, [[0, 0], list(padding), [0, 0]])


def spatial_2d_padding(x, padding=((1, 1), (1, 1)), data_format=None):
    """Zeros around the rows and columns of NHWC images."""
    from convnp.tensor.sorting import pad

    if len(padding) != 2 or len(padding[0]) != 2 or len(padding[1]) != 2:
        raise ValueError(f"Expected `padding` to be a tuple of 2 tuples of 2 integers. "
                         f"Received: padding={padding}")
    if data_format not in (None, "channels_last", "channels_first"):
        raise ValueError(f"Unknown data_format: {data_format}")
    if data_format == "channels_first":
        raise NotImplementedError("spatial_2d_padding: data_format='channels_first' is not "
                                  "supported (convnp is channels_last)")
    return pad(x, [[0, 0], list(padding[0]), list(padding[1]), [0, 0]])


def resize_images(x, height_factor, width_factor, data_format, interpolation="nearest"):
    """NHWC images enlarged by whole factors (``tf.image.resize`` with ``interpolation``)."""
    from convnp.tensor import image as _image

    if data_format == "channels_first":
        raise NotImplementedError("resize_images: data_format='channels_first' is not "
                                  "supported (convnp is channels_last)")
    if data_format != "channels_last":
        raise ValueError(f"Invalid `data_format` argument: {data_format}")
    _, h, w, _ = int_shape(x)
    size = (h * builtins.int(height_factor), w * builtins.int(width_factor))
    return _image.resize(x, size, method=interpolation)


def dropout(x, level, noise_shape=None, seed=None):
    """Entries zeroed with probability ``level``, the rest scaled by ``1 / (1 - level)``."""
    return _nn.dropout(x, rate=level, noise_shape=noise_shape, seed=seed)


def in_top_k(predictions, targets, k):
    from convnp.tensor.math import in_top_k as _in_top_k

    return _in_top_k(targets, predictions, k)


def random_bernoulli(shape, p=0.0, dtype=None, seed=None):
    """Ones with probability ``p``, zeros otherwise (floatx by default)."""
    from convnp.random import uniform

    target = _floatx_dtype(dtype)
    draws = uniform(shape, dtype=target, seed=seed)
    return _ops.cast(_ops.less_equal(draws, p), target)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    from convnp.random import truncated_normal as _truncated

    return _truncated(shape, mean=mean, stddev=stddev, dtype=_floatx_dtype(dtype), seed=seed)


def binary_focal_crossentropy(target, output, apply_class_balancing=False, alpha=0.25,
                              gamma=2.0, from_logits=False):
    """`binary_crossentropy` scaled by ``(1 - p_t) ** gamma`` (``p_t``: the probability given
    to the true label), and by ``alpha`` / ``1 - alpha`` for positives / negatives when
    ``apply_class_balancing``."""
    t, out = _ops._lift(target), _ops._lift(output)
    p = _ops.sigmoid(out) if from_logits else out
    p_t = t * p + (1 - t) * (1 - p)
    focal = _ops.pow(1.0 - p_t, gamma) * binary_crossentropy(t, out, from_logits=from_logits)
    if apply_class_balancing:
        focal = (t * alpha + (1 - t) * (1 - alpha)) * focal
    return focal


def categorical_focal_crossentropy(target, output, alpha=0.25, gamma=2.0, from_logits=False,
                                   axis=-1):
    """Per example ``sum(alpha * (1 - p) ** gamma * -target * log(p))`` along ``axis``, ``p``
    the (rescaled, clipped) probabilities."""
    t, p = _ops._lift(target), _ops._lift(output)
    if int_shape(t) != int_shape(p):
        raise ValueError(f"Shapes {int_shape(t)} and {int_shape(p)} are incompatible")
    if from_logits:
        p = _nn.softmax(p, axis=axis)
    p = _clip_probabilities(p / _ops.reduce_sum(p, axis, keepdims=True))
    weight = _ops.pow(1.0 - p, gamma) * alpha
    return _ops.reduce_sum(weight * (-t * _ops.log(p)), axis)


def map_fn(fn, elems, name=None, dtype=None):
    from convnp.tensor.control import map_fn as _map_fn

    return _map_fn(fn, elems, dtype=dtype)


def foldl(fn, elems, initializer=None, name=None):
    """``fn(acc, x)`` over the first axis of ``elems`` from the start (the first element is
    the initial accumulator without ``initializer``)."""
    items = _ops.unstack(elems)
    acc = items.pop(0) if initializer is None else initializer
    for item in items:
        acc = fn(acc, item)
    return _ops._lift(acc)


def foldr(fn, elems, initializer=None, name=None):
    """`foldl` from the end."""
    items = _ops.unstack(elems)
    acc = items.pop() if initializer is None else initializer
    for item in reversed(items):
        acc = fn(acc, item)
    return _ops._lift(acc)


def ctc_batch_cost(y_true, y_pred, input_length, label_length):
    """Keras 2's CTC loss of each sequence, ``(batch, 1)``: ``y_pred`` ``(batch, steps,
    classes)`` the softmax probabilities (the last class is the blank), ``y_true`` ``(batch,
    max_label_length)`` the labels, ``input_length`` and ``label_length`` ``(batch, 1)`` how
    much of each to read. The loss is `keras.ops.ctc_loss` of ``log(y_pred + epsilon())``."""
    from convnp.keras import ops_nn

    def lengths(value, name):
        shape = int_shape(value)
        if len(shape) != 2 or shape[1] != 1:
            raise ValueError(f"ctc_batch_cost expects {name} of shape (batch_size, 1), got "
                             f"{shape}")
        return _ops.cast(_ops.squeeze(value, axis=-1), "int32")

    if ndim(y_pred) != 3:
        raise ValueError(f"ctc_batch_cost expects y_pred of shape (batch_size, steps, "
                         f"num_classes), got {int_shape(y_pred)}")
    log_probs = _ops.log(_ops._lift(y_pred) + epsilon())
    loss = ops_nn.ctc_loss(y_true, log_probs, lengths(label_length, "label_length"),
                           lengths(input_length, "input_length"), mask_index=-1)
    return _ops.expand_dims(loss, 1)


def ctc_decode(y_pred, input_length, greedy=True, beam_width=100, top_paths=1):
    """Keras 2's CTC decoding of softmax outputs ``y_pred`` ``(batch, steps, classes)`` (the
    last class is the blank) read up to ``input_length`` ``(batch,)``: TensorFlow's greedy
    or beam search decoder on ``log(y_pred + epsilon())``. Returns ``([decoded], log_prob)``:
    a list of ``top_paths`` (one when ``greedy``) int64 ``(batch, steps)`` label tensors
    padded with -1, best first, and ``(batch, top_paths)`` scores (greedy: ``(batch, 1)``,
    minus the sum of the chosen log-probabilities; beam search: the paths'
    log-probabilities). As TensorFlow 1's beam search, a label repeated in a beam's path is
    returned once."""
    from convnp.keras import ops_nn
    from convnp.ops import ctc_decode as _ctc

    who = "keras.backend.ctc_decode"
    beam_width = ops_nn._whole_number(beam_width, "beam_width", 1, who)
    top_paths = ops_nn._whole_number(top_paths, "top_paths", 1, who)
    if not greedy and top_paths > beam_width:
        raise ValueError(f"{who}: top_paths ({top_paths}) must be at most beam_width "
                         f"({beam_width})")
    probs, lengths = ops_nn._decode_arguments(y_pred, input_length, who)
    log_probs = np.log(probs.astype(np.float32) + np.float32(epsilon()))
    blank = probs.shape[2] - 1
    if greedy:
        decoded, score = _ctc.greedy_decode(log_probs, lengths, blank)
    else:
        decoded, score = _ctc.beam_search_decode(log_probs, lengths, blank, beam_width,
                                                 top_paths, merge_repeated=True)
    return ([_ops.constant(path) for path in decoded],
            _ops.constant(score.astype(np.float32)))




# ------------------------------------------------ Keras 2's convolutions, pools and dtype helpers
#
# Thin mappings onto `convnp.keras.ops` (which record on tapes and build layers on
# KerasTensors). Keras's legacy backend takes ``data_format="channels_first"`` here by
# transposing around the NHWC op; so do these.


def _data_format(data_format) -> str:
    if data_format is None:
        return image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"Unknown data_format: {data_format!r}; expected 'channels_last' or "
                         "'channels_first'")
    return data_format


def _channels_last_op(x, data_format, op):
    """``op`` (an NHWC-style function of one tensor) applied to ``x`` laid out by
    ``data_format``: channels-first inputs are turned to channels-last and back."""
    t = _ops._lift(x)
    if _data_format(data_format) == "channels_last":
        return op(t)
    rank = ndim(t)
    to_last = [0, *range(2, rank), 1]
    to_first = [0, rank - 1, *range(1, rank - 1)]
    return _ops.transpose(op(_ops.transpose(t, to_last)), to_first)


def _padding(padding, allowed=("same", "valid")) -> str:
    if not isinstance(padding, str) or padding.lower() not in allowed:
        raise ValueError(f"Invalid padding: {padding!r}; expected one of {list(allowed)}")
    return padding.lower()


def _check_rank(x, rank: int, name: str, layout: str) -> None:
    """Refuse an input of another rank than ``rank`` (``layout`` names its axes)."""
    if ndim(x) != rank:
        raise ValueError(f"{name}: expected inputs of rank {rank} ({layout}), got shape "
                         f"{int_shape(x)}")


def _conv(x, kernel, strides, padding, data_format, dilation_rate):
    from convnp.keras import ops as kops

    padding = _padding(padding)
    return _channels_last_op(x, data_format, lambda t: kops.conv(
        t, kernel, strides=strides, padding=padding, dilation_rate=dilation_rate))


def conv1d(x, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """1-D convolution of ``(batch, steps, channels)`` with ``kernel`` ``(width, in, out)``;
    ``padding="causal"`` pads ``dilation_rate * (width - 1)`` zeros before the steps only."""
    _check_rank(x, 3, "conv1d", "batch, steps, channels")
    if isinstance(padding, str) and padding.lower() == "causal":
        rate = dilation_rate[0] if isinstance(dilation_rate, (tuple, list)) else dilation_rate
        left = builtins.int(rate) * (int_shape(kernel)[0] - 1)
        x = _channels_last_op(x, data_format, lambda t: temporal_padding(t, (left, 0)))
        padding = "valid"
    return _conv(x, kernel, strides, padding, data_format, dilation_rate)


def conv2d(x, kernel, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1)):
    """2-D convolution of images with ``kernel`` ``(kh, kw, in, out)``."""
    _check_rank(x, 4, "conv2d", "batch, height, width, channels")
    return _conv(x, kernel, strides, padding, data_format, dilation_rate)


def conv3d(x, kernel, strides=(1, 1, 1), padding="valid", data_format=None,
           dilation_rate=(1, 1, 1)):
    """3-D convolution of volumes with ``kernel`` ``(kd, kh, kw, in, out)``."""
    _check_rank(x, 5, "conv3d", "batch, depth, height, width, channels")
    return _conv(x, kernel, strides, padding, data_format, dilation_rate)


def conv2d_transpose(x, kernel, output_shape, strides=(1, 1), padding="valid",
                     data_format=None, dilation_rate=(1, 1)):
    """Transposed 2-D convolution with ``kernel`` ``(kh, kw, out, in)`` to ``output_shape``
    (``(batch, height, width, channels)`` in ``data_format``'s order; a None batch is the
    input's)."""
    _check_rank(x, 4, "conv2d_transpose", "batch, height, width, channels")
    padding = _padding(padding)
    channels_first = _data_format(data_format) == "channels_first"
    shape = [None if s is None else builtins.int(s) for s in output_shape]
    if len(shape) != 4:
        raise ValueError(f"conv2d_transpose: output_shape must have 4 entries, got "
                         f"{output_shape!r}")
    if shape[0] is None:
        shape[0] = int_shape(x)[0]
    if channels_first:
        shape = [shape[0], shape[2], shape[3], shape[1]]
    return _channels_last_op(x, data_format, lambda t: _nn.conv2d_transpose(
        t, kernel, shape, strides=strides, padding=padding.upper(),
        dilations=dilation_rate))


def depthwise_conv2d(x, depthwise_kernel, strides=(1, 1), padding="valid", data_format=None,
                     dilation_rate=(1, 1)):
    """Depthwise 2-D convolution with ``depthwise_kernel`` ``(kh, kw, in, multiplier)``."""
    from convnp.keras import ops as kops

    _check_rank(x, 4, "depthwise_conv2d", "batch, height, width, channels")
    padding = _padding(padding)
    return _channels_last_op(x, data_format, lambda t: kops.depthwise_conv(
        t, depthwise_kernel, strides=strides, padding=padding, dilation_rate=dilation_rate))


def separable_conv2d(x, depthwise_kernel, pointwise_kernel, strides=(1, 1), padding="valid",
                     data_format=None, dilation_rate=(1, 1)):
    """A depthwise convolution then a 1x1 one (``pointwise_kernel`` ``(1, 1, in * mult,
    out)``)."""
    from convnp.keras import ops as kops

    _check_rank(x, 4, "separable_conv2d", "batch, height, width, channels")
    padding = _padding(padding)
    return _channels_last_op(x, data_format, lambda t: kops.separable_conv(
        t, depthwise_kernel, pointwise_kernel, strides=strides, padding=padding,
        dilation_rate=dilation_rate))


def _pool(x, pool_size, strides, padding, data_format, pool_mode):
    from convnp.keras import ops as kops

    if pool_mode not in ("max", "avg"):
        raise ValueError(f"Invalid pooling mode: {pool_mode!r}; expected 'max' or 'avg'")
    padding = _padding(padding)
    pool = kops.max_pool if pool_mode == "max" else kops.average_pool
    return _channels_last_op(x, data_format, lambda t: pool(
        t, pool_size, strides=strides, padding=padding))


def pool2d(x, pool_size, strides=(1, 1), padding="valid", data_format=None, pool_mode="max"):
    """Max (``pool_mode="max"``) or average (``"avg"``) pooling of images."""
    _check_rank(x, 4, "pool2d", "batch, height, width, channels")
    return _pool(x, pool_size, strides, padding, data_format, pool_mode)


def pool3d(x, pool_size, strides=(1, 1, 1), padding="valid", data_format=None,
           pool_mode="max"):
    """Max or average pooling of volumes."""
    _check_rank(x, 5, "pool3d", "batch, depth, height, width, channels")
    return _pool(x, pool_size, strides, padding, data_format, pool_mode)


def batch_normalization(x, mean, var, beta, gamma, axis=-1, epsilon=1e-3):
    """``(x - mean) / sqrt(var + epsilon) * gamma + beta`` (``beta``/``gamma`` may be None).
    Statistics of one value per channel (1-D) are laid along ``axis``; others broadcast as
    they are."""
    t = _ops._lift(x)
    rank = ndim(t)
    if isinstance(axis, bool) or not isinstance(axis, (builtins.int, np.integer)):
        raise TypeError(f"batch_normalization: axis must be an int, got {axis!r}")
    if not -rank <= axis < builtins.max(rank, 1):
        raise ValueError(f"batch_normalization: axis must be in [{-rank}, {rank}), got {axis}")

    def along_axis(p):
        if p is None:
            return None
        p = _ops._lift(p)
        if ndim(p) != 1 or rank < 2 or axis % rank == rank - 1:
            return p
        shape = [1] * rank
        shape[axis % rank] = -1
        return _ops.reshape(p, shape)

    return _nn.batch_normalization(t, along_axis(mean), along_axis(var), along_axis(beta),
                                   along_axis(gamma), epsilon)


def cumprod(x, axis=0):
    """Running products along ``axis``."""
    from convnp.keras import ops as kops

    return kops.cumprod(x, axis=axis)


def random_normal_variable(shape, mean, scale, dtype=None, name=None, seed=None):
    """A variable of normal draws (``mean``, standard deviation ``scale``)."""
    return variable(random_normal(shape, mean=mean, stddev=scale, dtype=dtype, seed=seed),
                    dtype=dtype, name=name)


def random_uniform_variable(shape, low, high, dtype=None, name=None, seed=None):
    """A variable of uniform draws in ``[low, high)``."""
    return variable(random_uniform(shape, minval=low, maxval=high, dtype=dtype, seed=seed),
                    dtype=dtype, name=name)


def resize_volumes(x, depth_factor, height_factor, width_factor, data_format):
    """Volumes enlarged by repeating each voxel ``depth_factor x height_factor x
    width_factor`` times."""
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"Invalid data_format: {data_format!r}")
    _check_rank(x, 5, "resize_volumes", "batch, depth, height, width, channels")
    first = 1 if data_format == "channels_last" else 2
    out = x
    for axis, factor in zip(range(first, first + 3), (depth_factor, height_factor,
                                                       width_factor)):
        out = repeat_elements(out, factor, axis)
    return out


def spatial_3d_padding(x, padding=((1, 1), (1, 1), (1, 1)), data_format=None):
    """Zeros around the depths, rows and columns of volumes."""
    from convnp.tensor.sorting import pad

    if len(padding) != 3 or builtins.any(len(p) != 2 for p in padding):
        raise ValueError(f"Expected `padding` to be a tuple of 3 tuples of 2 integers. "
                         f"Received: padding={padding}")
    pads = [list(p) for p in padding]
    if _data_format(data_format) == "channels_last":
        return pad(x, [[0, 0], *pads, [0, 0]])
    return pad(x, [[0, 0], [0, 0], *pads])


def is_sparse(tensor) -> bool:
    """Always False: convnp has no sparse tensors."""
    return False


def to_dense(tensor):
    """``tensor`` itself: convnp's tensors are all dense."""
    return tensor


def gradients(loss, variables):
    """TensorFlow 2 refuses this (graph-mode gradients); so does convnp, with the same
    advice."""
    raise RuntimeError("tf.gradients is not supported when eager execution is enabled. Use "
                       "tf.GradientTape instead.")


def get_uid(prefix: str = "") -> int:
    """The next number of the automatic-name counter of ``prefix`` (1 the first time): the
    counter layers draw their names from (after ``Dense()`` named ``dense``,
    ``get_uid("dense")`` is 2 and the next Dense is ``dense_2``)."""
    from convnp.layers.base import next_uid

    return next_uid(prefix)


def name_scope(name):
    """``tf.name_scope(name)``: a context manager prefixing summary tags."""
    from convnp.tensor.control import name_scope as scope

    return scope(name)


def rnn(step_function, inputs, initial_states, go_backwards=False, mask=None,
        constants=None, unroll=False, input_length=None, time_major=False,
        zero_output_for_mask=False, return_all_outputs=True):
    """Keras 2's loop over time: ``step_function(inputs_t, states) -> (output_t,
    new_states)`` on each step of ``inputs`` ``(batch, time, ...)`` (``(time, batch, ...)``
    with ``time_major``), in tensor ops, so a tape differentiates the whole loop.

    Returns ``(last_output, outputs, new_states)``; ``outputs`` stacks the step outputs in the
    order the steps ran (reversed with ``go_backwards``), only the last one unless
    ``return_all_outputs``. Where ``mask`` ``(batch, time)`` is False a sample keeps its
    states and repeats its previous output (0 with ``zero_output_for_mask``). ``constants``
    are handed to every step after the states. ``unroll`` and ``input_length`` change
    nothing here (the loop is eager).
    """
    t = _ops._lift(inputs)
    if ndim(t) < 3:
        raise ValueError(f"rnn: inputs must have at least 3 dimensions (batch, time, ...), "
                         f"got shape {int_shape(t)}")
    steps = _ops.unstack(t, axis=0 if time_major else 1)
    keep = None
    if mask is not None:
        flags = np.asarray(getattr(mask, "numpy", lambda: mask)()).astype(bool)
        if flags.ndim != 2:
            raise ValueError(f"rnn: mask must have shape (batch, time), got {flags.shape}")
        keep = list(flags.T if not time_major else flags)
    order = list(range(len(steps)))
    if go_backwards:
        order.reverse()
    states = [_ops._lift(s) for s in (initial_states or [])]
    extra = list(constants or [])
    outputs, previous = [], None
    for i in order:
        output, new_states = step_function(steps[i], states + extra)
        new_states = list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]
        if keep is not None:
            def where_kept(new, old, flags=keep[i]):
                shape = (-1,) + (1,) * (ndim(new) - 1)
                return _ops.where(np.reshape(flags, shape), new, old)
            states = [where_kept(n, o) for n, o in zip(new_states, states)]
            held = zeros_like(output) if zero_output_for_mask or previous is None else previous
            output = where_kept(output, held)
        else:
            states = new_states
        outputs.append(output)
        previous = output
    if not outputs:
        raise ValueError("rnn: inputs have no time steps")
    kept = outputs if return_all_outputs else outputs[-1:]
    stacked = _ops.stack(kept, axis=0 if time_major else 1)
    return outputs[-1], stacked, states


# Keras 3's dtype helpers (`keras.backend.standardize_dtype` and friends): dtype names as
# strings; Python's float is floatx, its int int64, as Keras has them.
_FLOATS = ("bfloat16", "float16", "float32", "float64")
_INTS = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")


def standardize_dtype(dtype) -> str:
    """The name Keras gives ``dtype`` (a string, NumPy dtype or type, or Python's float,
    int and bool; None is floatx)."""
    if dtype is None:
        return floatx()
    python = {builtins.float: floatx(), builtins.int: "int64", builtins.bool: "bool",
              builtins.str: "string"}
    if dtype in python:
        return python[dtype]
    name = getattr(dtype, "name", None)
    if isinstance(dtype, str):
        name = dtype
    elif name is None or not isinstance(name, str):
        try:
            name = np.dtype(dtype).name
        except TypeError:
            raise ValueError(f"Invalid dtype: {dtype!r}") from None
    if name in _FLOATS or name in _INTS or name in ("bool", "string", "complex64",
                                                    "complex128"):
        return name
    raise ValueError(f"Invalid dtype: {dtype!r}")


def is_float_dtype(dtype) -> bool:
    return standardize_dtype(dtype) in _FLOATS


def is_int_dtype(dtype) -> bool:
    return standardize_dtype(dtype) in _INTS


# Keras 3 promotes dtypes on a lattice (JAX's): each type lists the types just above it; the
# result of several types is the lowest type above all of them. "int" and "float" are
# Python's weak types (they yield to any typed integer or float).
_ABOVE = {
    "bool": ("int",), "int": ("uint8", "int8"),
    "uint8": ("uint16", "int16"), "uint16": ("uint32", "int32"),
    "uint32": ("uint64", "int64"), "uint64": ("float",),
    "int8": ("int16",), "int16": ("int32",), "int32": ("int64",), "int64": ("float",),
    "float": ("bfloat16", "float16"), "bfloat16": ("float32",), "float16": ("float32",),
    "float32": ("float64",), "float64": (),
}


def _at_or_above(dtype: str) -> set:
    seen, todo = set(), [dtype]
    while todo:
        d = todo.pop()
        if d not in seen:
            seen.add(d)
            todo.extend(_ABOVE[d])
    return seen


def result_type(*dtypes) -> str:
    """The dtype Keras computes a mix of ``dtypes`` in (``("int8", "uint8")`` -> int16,
    ``(int, "float16")`` -> float16, ``("int64", "float32")`` -> float32); none: floatx."""
    if not dtypes:
        return floatx()
    names = []
    for d in dtypes:
        if d is builtins.int:
            names.append("int")
        elif d is builtins.float:
            names.append("float")
        else:
            names.append(standardize_dtype(d))
    if len(set(names)) == 1 and names[0] not in _ABOVE:  # "string" alone stays "string"
        return names[0]
    for name in names:
        if name not in _ABOVE:
            raise ValueError(f"result_type: dtype {name!r} does not mix with others "
                             f"({list(dtypes)!r})")
    common = set.intersection(*(_at_or_above(n) for n in names))
    # the lowest common type: the one every other common type is above
    lowest = next(d for d in common if builtins.all(o in _at_or_above(d) for o in common))
    # Python's types alone: int32 (as Keras has it here) and floatx
    return {"int": "int32", "float": floatx()}.get(lowest, lowest)


# called on KerasTensors, the math functions become layers of the model being built
_symbolic.accept_keras_tensors(globals(), skip=(
    "clear_session", "epsilon", "floatx", "set_floatx", "image_data_format",
    "set_image_data_format", "get_value", "set_value", "random_normal", "random_uniform",
    "int_shape", "shape", "ndim", "count_params", "is_keras_tensor", "constant", "variable",
    "zeros", "ones", "arange", "backend", "dtype", "eval", "batch_get_value",
    "batch_set_value", "update", "update_add", "update_sub", "moving_average_update", "eye",
    "random_bernoulli", "truncated_normal", "map_fn", "foldl", "foldr", "stop_gradient",
    "cast_to_floatx", "dropout", "in_top_k", "ctc_decode", "set_epsilon",
    "random_normal_variable", "random_uniform_variable", "is_sparse", "to_dense", "gradients",
    "get_uid", "name_scope", "standardize_dtype", "is_float_dtype", "is_int_dtype",
    "result_type", "rnn"))
