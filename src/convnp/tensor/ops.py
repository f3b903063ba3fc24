"""TensorFlow's tensor functions (``tf.reduce_sum``, ``tf.matmul``, ...) on NumPy arrays.

Each function takes tensors, Variables, arrays or Python numbers, computes with NumPy, returns
an `EagerTensor`, and (when a `GradientTape` is recording and an input is connected) records
its vector-Jacobian product. Semantics follow TensorFlow: ``axis``/``keepdims`` on reductions,
broadcasting on arithmetic, Python floats becoming float32 in `constant`. Arguments TensorFlow
has and convnp does not support raise `NotImplementedError` naming them.
"""

from __future__ import annotations

import builtins
import contextlib
import itertools

import numpy as np

from convnp.ops import elementwise as _elementwise
from convnp.ops import gemm as _gemm
from convnp.tensor import eager as _eager
from convnp.tensor import symbolic as _symbolic
from convnp.tensor.debugging import InvalidArgumentError
from convnp.tensor.eager import EagerTensor, TensorShape, as_dtype
from convnp.tensor.tape import (
    _summed_to,
    as_array,
    in_tensor_dtype,
    is_variable,
    new_tensor,
    record,
    recording,
    stop_gradient,
    unbroadcast,
    value_of,
)

newaxis = None

# The most bytes one_hot may produce (its boolean mask and output are both this many elements):
# a depth of 10**12 is a typo, not a one-hot encoding, and must not try to allocate terabytes.
_MAX_ONE_HOT_BYTES = 2 * 2**30


def _op(out, inputs, vjp=None, second=None) -> EagerTensor:
    """Wrap ``out`` as a new tensor and record ``vjp(g) -> [grad per input]`` if needed.

    ``second(g, t)``, when given, is the same VJP in recorded operations (``g`` a tensor,
    ``t`` the output tensor), for second-order gradients (`convnp.tensor.tape.record`).

    A result that views a Variable's memory (``tf.identity(v)``, ``tf.reshape(v, ...)``) is
    copied: TensorFlow's is a snapshot of the value read, which a later ``assign`` or
    optimizer step (both write in place here) must not change."""
    for x in inputs:
        if is_variable(x) and isinstance(out, np.ndarray) and np.may_share_memory(out, x.value):
            out = np.array(out)
            break
    t = new_tensor(out)
    if vjp is not None and recording():
        record([t], inputs, lambda gs: vjp(gs[0]),
               None if second is None else lambda gs: second(gs[0], t))
    return t


def _reshaped_back(shape: tuple):
    """The ``second`` of an op that only rearranges its input into a new shape."""
    return lambda g, t: [reshape(g, shape)]


def _unsupported(name: str, **given) -> None:
    bad = [k for k, v in given.items() if v not in (None, False)]
    if bad:
        raise NotImplementedError(f"{name}: argument(s) {bad} are not supported by convnp")


# ----------------------------------------------------------------------------- creation


_INT32 = np.iinfo(np.int32)


def _convert(value, dtype=None) -> np.ndarray:
    if isinstance(value, np.ndarray) or is_variable(value):
        arr = value_of(value)
    else:
        arr = as_array(value)
        if dtype is None and not isinstance(value, np.generic):
            # Python numbers and lists: float32 and int32, as TensorFlow; ints beyond int32's
            # range stay int64 there (tf.constant(2**40) is int64), never wrapped around
            if arr.dtype == np.float64:
                with np.errstate(over="ignore"):
                    narrow = arr.astype(np.float32)
                if np.any(np.isinf(narrow) & np.isfinite(arr)):
                    raise ValueError(f"{value!r:.60} is out of range for float32 (the dtype "
                                     f"of Python floats); give dtype=tf.float64")
                arr = narrow
            elif arr.dtype == np.int64 and (arr.size == 0 or (
                    _INT32.min <= arr.min() and arr.max() <= _INT32.max)):
                arr = arr.astype(np.int32)
    if dtype is not None:
        arr = arr.astype(as_dtype(dtype).dtype, copy=False)
    return arr


def _python_values_fit(value, dtype, who: str) -> None:
    """Refuse Python values that ``dtype`` cannot hold exactly, as TensorFlow's conversion
    does: ``tf.constant(1.5, dtype=tf.int32)`` (even ``2.0``) and ``tf.constant(1,
    dtype=tf.bool)`` raise TypeError there instead of truncating. NumPy arrays and tensors
    are converted as given (``tf.cast`` is the way to truncate)."""
    if dtype is None or isinstance(value, (np.ndarray, np.generic)) or is_variable(value):
        return
    target = as_dtype(dtype).dtype
    try:
        values = np.asarray(value)
    except (ValueError, TypeError):
        return  # ragged or odd values: the conversion itself reports them
    kind = values.dtype.kind if values.size else ""  # [] is float64 to NumPy: any dtype
    if (kind == "f" and target.kind in "iub") or (kind in "iu" and target.kind == "b"):
        raise TypeError(f"{who}: cannot convert {value!r:.60} to {target.name} (the values "
                        f"are {'floats' if kind == 'f' else 'integers'}); use tf.cast to "
                        f"convert them")


def constant(value, dtype=None, shape=None, name=None) -> EagerTensor:
    """A tensor holding ``value`` (Python floats become float32, ints int32, as in TF)."""
    _python_values_fit(value, dtype, "constant")
    arr = np.array(_convert(value, dtype))
    if shape is not None:
        shape = tuple(shape)
        if arr.size == 1:
            arr = np.full(shape, arr.reshape(()), dtype=arr.dtype)
        elif arr.size == int(np.prod(shape)):
            arr = arr.reshape(shape)
        else:
            raise ValueError(f"constant(): {arr.size} values cannot fill shape {shape}")
    return new_tensor(arr)


def convert_to_tensor(value, dtype=None, dtype_hint=None, name=None) -> EagerTensor:
    """``value`` as a tensor; a tensor of the right dtype comes back as is; a Variable is read
    (the read is recorded, so gradients reach the Variable); a list holding tensors is
    packed with `stack` (recorded too)."""
    packed = _packed(value)
    if packed is not None:
        value = packed
    if isinstance(value, EagerTensor) and (dtype is None or value.dtype == as_dtype(dtype)):
        return value
    if is_variable(value):
        if dtype is not None and value.dtype != as_dtype(dtype):
            raise TypeError(f"convert_to_tensor: Variable of dtype {value.dtype} requested as "
                             f"{as_dtype(dtype).name}; use tf.cast")
        return identity(value)
    if isinstance(value, EagerTensor):
        raise TypeError(f"convert_to_tensor: tensor of dtype {value.dtype} requested as "
                         f"{as_dtype(dtype).name}; use tf.cast")
    _python_values_fit(value, dtype, "convert_to_tensor")
    if dtype is None and dtype_hint is not None:
        arr = np.asarray(value)
        if arr.dtype.kind in "iuf":
            return new_tensor(arr.astype(as_dtype(dtype_hint).dtype))
    return new_tensor(np.array(_convert(value, dtype)))


def identity(x, name=None) -> EagerTensor:
    return _op(value_of(x), [x], lambda g: [g], lambda g, t: [g])


def cast(x, dtype, name=None) -> EagerTensor:
    """``x`` converted to ``dtype`` (float to int truncates toward zero, as TensorFlow)."""
    target = as_dtype(dtype).dtype
    a = value_of(x) if isinstance(x, np.ndarray) or is_variable(x) else _convert(x)
    out = a.astype(target)
    if a.dtype.kind in "fc" and target.kind in "fc":
        src = a.dtype
        return _op(out, [x], lambda g: [np.asarray(g).astype(src)],
                   lambda g, t: [cast(g, src)])
    return new_tensor(out)


def zeros(shape, dtype=np.float32, name=None) -> EagerTensor:
    return new_tensor(np.zeros(_dims_arg(shape, "zeros"), dtype=as_dtype(dtype).dtype))


def ones(shape, dtype=np.float32, name=None) -> EagerTensor:
    return new_tensor(np.ones(_dims_arg(shape, "ones"), dtype=as_dtype(dtype).dtype))


def zeros_like(x, dtype=None, name=None) -> EagerTensor:
    a = _convert(x)
    return new_tensor(np.zeros(a.shape, dtype=a.dtype if dtype is None else as_dtype(dtype).dtype))


def ones_like(x, dtype=None, name=None) -> EagerTensor:
    a = _convert(x)
    return new_tensor(np.ones(a.shape, dtype=a.dtype if dtype is None else as_dtype(dtype).dtype))


def fill(dims, value, name=None) -> EagerTensor:
    v = _convert(value)
    return new_tensor(np.full(_dims_arg(dims, "fill"), v, dtype=v.dtype))


# tf.range's result dtype is the widest of its arguments' dtypes in this order
_RANGE_DTYPES = (np.dtype(np.int32), np.dtype(np.int64), np.dtype(np.float16),
                 np.dtype(np.float32), np.dtype(np.float64))


def _range_arg_dtype(value) -> np.dtype:
    """The dtype TensorFlow gives one argument of ``tf.range``: a tensor, Variable or NumPy
    value keeps its own; a Python int is int32 (int64 beyond int32's range), a Python float
    float32. Other integer dtypes (uint8, int16, bool) count as int32: TensorFlow refuses
    them, convnp has always counted them so."""
    if isinstance(value, (np.ndarray, np.generic)) or is_variable(value):
        dtype = np.asarray(value_of(value)).dtype
    elif isinstance(value, float):
        dtype = np.dtype(np.float32)
    elif isinstance(value, int) and not _INT32.min <= value <= _INT32.max:
        dtype = np.dtype(np.int64)
    else:
        dtype = np.dtype(np.int32)
    return dtype if dtype in _RANGE_DTYPES else np.dtype(np.int32)


def range(start, limit=None, delta=1, dtype=None, name=None) -> EagerTensor:
    """``tf.range``: like `np.arange`, in the widest of the arguments' dtypes (int32 <
    int64 < float16 < float32 < float64, Python ints int32 and floats float32), so a float32
    tensor limit gives float32 and an int64 one int64."""
    if limit is None:
        start, limit = 0, start
    args = (start, limit, delta)
    vals = [value_of(v) if isinstance(v, np.ndarray) else v for v in args]
    if np.ndim(vals[2]) == 0 and vals[2] == 0:
        raise InvalidArgumentError(f"range: Requires delta != 0: {vals[2]}")
    out = np.arange(*vals)
    if dtype is None:
        dtype = max((_range_arg_dtype(v) for v in args), key=_RANGE_DTYPES.index)
    return new_tensor(out.astype(as_dtype(dtype).dtype))


def linspace(start, stop, num, name=None, axis=0) -> EagerTensor:
    """``num`` evenly spaced values from ``start`` to ``stop``; integer ends give float64, as
    TensorFlow's (it computes in the double of the ends' dtype)."""
    a, b = _convert(start), _convert(stop)
    dtype = np.result_type(a, b) if np.result_type(a, b).kind == "f" else np.float64
    num = _scalar_int(num, "linspace", "num")  # a float num is TF 2.21's TypeError
    if num < 0:
        raise InvalidArgumentError(f"linspace: num must be non-negative, got {num}")
    return new_tensor(np.linspace(a, b, num, axis=axis).astype(dtype))


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None,
            name=None) -> EagerTensor:
    """``tf.one_hot``: out-of-range indices (e.g. -1) give an all-off row."""
    idx = _int_array(indices, "one_hot", "indices")
    depth = _scalar_int(depth, "one_hot", "depth")
    if depth < 0:
        raise InvalidArgumentError(f"one_hot: depth must be non-negative, got: {depth}")
    if dtype is None:
        # TensorFlow takes the dtype from on_value/off_value when given (tf.one_hot(i, 3,
        # on_value=5) is int32), float32 otherwise; the two must agree
        given = [_convert(v).dtype for v in (on_value, off_value) if v is not None]
        if len(given) == 2 and given[0] != given[1]:
            raise TypeError(f"one_hot: on_value ({given[0]}) and off_value ({given[1]}) must "
                            f"have the same dtype")
        dtype = given[0] if given else np.dtype(np.float32)
    else:
        dtype = as_dtype(dtype).dtype
    elements = idx.size * depth
    if elements * builtins.max(dtype.itemsize, 8) > _MAX_ONE_HOT_BYTES:
        raise ValueError(f"one_hot: {idx.size} indices at depth {depth} would make "
                         f"{elements} values, more than convnp allows "
                         f"({_MAX_ONE_HOT_BYTES // 2**30} GiB); check depth")
    if axis is not None and not -1 <= _scalar_int(axis, "one_hot", "axis") <= idx.ndim:
        raise InvalidArgumentError(f"one_hot: axis must be in [-1, {idx.ndim}] for indices of "
                                   f"rank {idx.ndim}, got {axis}")
    on = 1 if on_value is None else value_of(on_value)
    off = 0 if off_value is None else value_of(off_value)
    hot = idx.astype(np.int64)[..., None] == np.arange(depth)
    out = np.where(hot, on, off).astype(dtype)
    if axis is not None and axis != -1:
        out = np.moveaxis(out, -1, axis)
    return new_tensor(out)


def _scalar_int(value, who: str, what: str) -> int:
    """``value`` (a Python/NumPy int or a 0-d int tensor) as an int; floats are refused."""
    v = value_of(value) if isinstance(value, np.ndarray) or is_variable(value) else value
    if isinstance(v, np.ndarray) and v.ndim == 0:
        v = v[()]
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{who}: {what} must be an integer, got {value!r}")
    return int(v)


def _int_array(values, who: str, what: str) -> np.ndarray:
    """``values`` as an integer array; float, bool or string values are refused (TensorFlow
    takes only int32/int64 indices, and truncating 1.7 to 1 would be a silent wrong result)."""
    arr = np.asarray(value_of(values) if isinstance(values, np.ndarray) or is_variable(values)
                     else values)
    if arr.dtype.kind not in "iu":
        if arr.size == 0 and arr.dtype.kind == "f":
            return arr.astype(np.int64)  # [] is float64 to NumPy
        raise InvalidArgumentError(f"{who}: {what} must be int32 or int64, got dtype "
                                   f"{arr.dtype}")
    return arr


def _axis_arg(axis, ndim: int, who: str) -> int:
    """``axis`` checked against a tensor of rank ``ndim`` and made non-negative."""
    axis = _scalar_int(axis, who, "axis")
    if axis >= ndim:
        raise InvalidArgumentError(f"{who}: axis {axis}: Shape must be at least rank "
                                   f"{axis + 1} but is rank {ndim}")
    if axis < -ndim:
        raise InvalidArgumentError(f"{who}: axis {axis} is out of range for a tensor of rank "
                                   f"{ndim} (expected [{-ndim}, {ndim}))")
    return axis % ndim if ndim else 0


def _shape_arg(shape, who: str = "shape") -> tuple:
    """``shape`` (an int, a sequence of ints, a TensorShape or an int tensor) as a tuple of
    ints; floats, None and strings are refused with a TypeError naming them.

    Two float forms pass, as in TensorFlow, truncated toward zero: a plain NumPy float array
    (TensorFlow converts it to int32), and a list whose entries include float scalar
    *tensors*, e.g. ``tf.tile(d, [tf.math.ceil(h / 8), tf.math.ceil(w / 8), 1, 1])`` in
    keras.io's RetinaNet anchors (TensorFlow stacks such a list into one float tensor and
    casts it to int32)."""
    if isinstance(shape, np.ndarray) or is_variable(shape):
        arr = np.asarray(value_of(shape))
        if arr.dtype.kind == "f" and type(shape) is np.ndarray:
            return _truncated_sizes(arr.reshape(-1).tolist(), arr.dtype, who)
        if arr.dtype.kind not in "iu" and arr.size:
            raise TypeError(f"{who}: the shape must hold integers, got a tensor of dtype "
                            f"{arr.dtype}: {arr.tolist()}")
        return tuple(int(v) for v in arr.reshape(-1))
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, (bool, np.bool_)):
        return (int(shape),)
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
        raise TypeError(f"{who}: the shape must be an int or a sequence of ints, got {shape!r}")
    entries = list(shape)
    float_tensors = {np.asarray(value_of(d)).dtype for d in entries
                     if (isinstance(d, EagerTensor) or is_variable(d))
                     and np.ndim(value_of(d)) == 0 and np.asarray(value_of(d)).dtype.kind == "f"}
    if float_tensors:
        return _sizes_from_float_tensors(entries, float_tensors, who)
    dims = []
    for d in entries:
        if isinstance(d, np.ndarray) or is_variable(d):
            d = np.asarray(value_of(d))
            d = d[()] if d.ndim == 0 else d
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)):
            raise TypeError(f"{who}: the shape must hold integers, got {tuple(shape)!r} "
                            f"(the entry {d!r} is a {type(d).__name__})")
        dims.append(int(d))
    return tuple(dims)


def _sizes_from_float_tensors(entries: list, dtypes: set, who: str) -> tuple:
    """A shape list holding float scalar tensors, read as TensorFlow reads it: the list is
    stacked into one tensor of that float dtype (so the tensors must share it, and no tensor
    may be an integer one), then cast to int32. Plain ints and NumPy scalars may sit beside
    the tensors; a Python float may not (TensorFlow then keeps the stack a float tensor and
    refuses it as a shape)."""
    values = []
    for d in entries:
        if isinstance(d, EagerTensor) or is_variable(d):
            v = np.asarray(value_of(d))
            if v.ndim != 0:
                raise InvalidArgumentError(f"{who}: every tensor in a shape list must be a "
                                           f"scalar, got one of shape {v.shape}")
            if v.dtype.kind != "f":
                raise InvalidArgumentError(f"{who}: a shape list cannot mix {v.dtype} and "
                                           f"{sorted(str(t) for t in dtypes)} tensors")
            values.append(v[()])
        elif isinstance(d, (np.integer, np.floating)) or (
                isinstance(d, int) and not isinstance(d, bool)):
            values.append(d)
        else:
            raise TypeError(f"{who}: the shape must hold integers or scalar tensors, got "
                            f"{tuple(entries)!r} (the entry {d!r} is a {type(d).__name__})")
    if len(dtypes) > 1:
        raise InvalidArgumentError(f"{who}: a shape list cannot mix float tensors of dtypes "
                                   f"{sorted(str(t) for t in dtypes)}")
    return _truncated_sizes(values, next(iter(dtypes)), who)


def _truncated_sizes(values: list, dtype, who: str) -> tuple:
    """Float sizes cast to int as TensorFlow's cast does (toward zero); a size that is not
    finite or outside int32 is refused rather than wrapped around."""
    sizes = []
    for v in values:
        v = float(v)
        if not np.isfinite(v) or not _INT32.min <= v <= _INT32.max:
            raise InvalidArgumentError(f"{who}: the size {v} (a {dtype} value) does not fit "
                                       f"an int32 dimension")
        sizes.append(int(v))
    return tuple(sizes)


def _dims_arg(shape, who: str) -> tuple:
    """A shape to create a tensor of: integers, none negative."""
    dims = _shape_arg(shape, who)
    for d in dims:
        if d < 0:
            raise InvalidArgumentError(f"{who}: Dimension {d} must be >= 0 (shape {dims})")
    return dims


# ----------------------------------------------------------------------------- shapes


def shape(x, out_type=np.int32, name=None) -> EagerTensor:
    """The shape as an int32 tensor (``tf.shape``); ``x.shape`` gives a `TensorShape`."""
    return new_tensor(np.array(np.shape(value_of(x)), dtype=as_dtype(out_type).dtype))


def rank(x, name=None) -> EagerTensor:
    return new_tensor(np.array(np.ndim(value_of(x)), dtype=np.int32))


def size(x, out_type=np.int32, name=None) -> EagerTensor:
    return new_tensor(np.array(np.size(value_of(x)), dtype=as_dtype(out_type).dtype))


def reshape(x, shape, name=None) -> EagerTensor:
    a = value_of(x)
    shp = _shape_arg(shape, "reshape")
    for i, d in enumerate(shp):
        if d < -1:
            raise InvalidArgumentError(f"reshape: Size {i} must be non-negative, not {d} "
                                       f"(shape {shp}; only -1 stands for 'the rest')")
    unknown = [i for i, d in enumerate(shp) if d == -1]
    if len(unknown) > 1:
        raise InvalidArgumentError(f"reshape: only one size may be -1, not both {unknown[0]} "
                                   f"and {unknown[1]} (shape {shp})")
    known = int(np.prod([d for d in shp if d != -1], dtype=np.int64))
    if (a.size != known) if not unknown else (known == 0 or a.size % known):
        raise InvalidArgumentError(f"reshape: cannot reshape a tensor of {a.size} values "
                                   f"(shape {a.shape}) into shape {shp}")
    return _op(a.reshape(shp), [x], lambda g: [np.reshape(g, a.shape)],
               _reshaped_back(a.shape))


def transpose(a, perm=None, conjugate=False, name=None) -> EagerTensor:
    _unsupported("transpose", conjugate=conjugate)
    v = value_of(a)
    perm = tuple(builtins.range(v.ndim - 1, -1, -1)) if perm is None else tuple(
        int(p) for p in value_of(perm).reshape(-1)) if isinstance(perm, np.ndarray) \
        else tuple(int(p) for p in perm)
    if sorted(p % v.ndim if v.ndim else p for p in perm) != list(builtins.range(v.ndim)) \
            or any(not -v.ndim <= p < v.ndim for p in perm):
        # TensorFlow's error for a perm that is no permutation of the axes (NumPy's would be
        # a ValueError or an AxisError)
        raise InvalidArgumentError(f"transpose: perm {list(perm)} is not a permutation of the "
                                   f"{v.ndim} axes of a tensor of shape {v.shape}")
    inverse = tuple(np.argsort(perm))
    return _op(np.transpose(v, perm), [a], lambda g: [np.transpose(g, inverse)],
               lambda g, t: [transpose(g, inverse)])


@contextlib.contextmanager
def _shape_errors(who: str):
    """NumPy's complaints about axes and shapes (ValueError, AxisError) raised as
    TensorFlow's `InvalidArgumentError` (a ValueError too), which programs catch by name."""
    try:
        yield
    except InvalidArgumentError:
        raise
    except ValueError as error:
        raise InvalidArgumentError(f"{who}: {error}") from None


def expand_dims(x, axis, name=None) -> EagerTensor:
    a = value_of(x)
    with _shape_errors("expand_dims"):
        out = np.expand_dims(a, int(axis))
    return _op(out, [x], lambda g: [np.reshape(g, a.shape)], _reshaped_back(a.shape))


def squeeze(x, axis=None, name=None) -> EagerTensor:
    a = value_of(x)
    if isinstance(axis, list):
        axis = tuple(axis)
    with _shape_errors("squeeze"):
        out = np.squeeze(a, axis=axis)
    return _op(out, [x], lambda g: [np.reshape(g, a.shape)], _reshaped_back(a.shape))


def _holds_tensor(value) -> bool:
    if isinstance(value, (list, tuple)):
        return builtins.any(_holds_tensor(v) for v in value)
    return isinstance(value, EagerTensor) or is_variable(value)


def _packed(value):
    """A (nested) list or tuple holding tensors or Variables, packed into one tensor with
    `stack` so that the packing is recorded (TensorFlow converts such lists the same way:
    ``tf.stack([[v, v]])`` gives ``v`` its gradient); None for anything else."""
    if type(value) not in (list, tuple) or not _holds_tensor(value):
        return None
    return stack(list(value))  # stack packs the nested lists inside in turn


def _joined_arrays(values: list, who: str) -> list:
    """The arrays `concat` and `stack` join. Beside a tensor, NumPy arrays and Python lists
    take the dtype of the first tensor among ``values``, as TensorFlow converts them for the
    op (``tf.concat([noise, np.eye(3)[labels]], 1)`` is float32 there, not float64): NumPy
    arrays of a kind that dtype holds are cast (floats to an integer tensor's dtype are left
    to NumPy's rules, as in the arithmetic ops), Python floats beside an integer tensor
    are refused with TypeError, as TensorFlow's conversion does. Tensors of different dtypes
    keep NumPy's rules."""
    arrays = [_convert(v) for v in values]
    first = next((a for v, a in zip(values, arrays) if _is_tensor(v)), None)
    if first is None:
        return arrays
    target = first.dtype
    kinds = "fiub" if target.kind in "fc" else "iub" if target.kind in "iu" else ""
    for i, (v, a) in enumerate(zip(values, arrays)):
        if _is_tensor(v) or a.dtype == target:
            continue
        if not isinstance(v, (np.ndarray, np.generic)):  # Python numbers and lists
            _python_values_fit(v, target, who)
        if a.dtype.kind in kinds:
            arrays[i] = a.astype(target)
    return arrays


def concat(values, axis, name=None) -> EagerTensor:
    if hasattr(values, "shape") and hasattr(values, "dtype"):
        # TensorFlow's rule: one tensor (or array) is a list of one, so it comes back as it
        # is; the TF video tutorial's tf.concat(model.predict(ds), axis=0) relies on it
        values = [values]
    values = [v if (p := _packed(v)) is None else p for v in values]
    arrays = _joined_arrays(values, "concat")
    with _shape_errors("concat"):
        out = np.concatenate(arrays, axis=int(axis))
    bounds = np.cumsum([a.shape[int(axis)] for a in arrays])[:-1]
    # the VJP only cuts the gradient into the joined pieces: as recorded slices of the
    # gradient tensor, it can be differentiated again (a conditional critic's tf.concat of
    # images and label maps inside a gradient penalty)
    edges = [0, *bounds.tolist(), out.shape[int(axis)]]
    before = (slice(None),) * (int(axis) % out.ndim)
    return _op(out, list(values), lambda g: np.split(g, bounds, axis=int(axis)),
               lambda g, t: [g[before + (slice(lo, hi),)]
                             for lo, hi in itertools.pairwise(edges)])


def stack(values, axis=0, name=None) -> EagerTensor:
    values = [v if (p := _packed(v)) is None else p for v in values]
    arrays = _joined_arrays(values, "stack")
    with _shape_errors("stack"):
        out = np.stack(arrays, axis=int(axis))
    before = (slice(None),) * (int(axis) % out.ndim)
    return _op(out, list(values), lambda g: [np.take(g, i, axis=int(axis))
                                              for i in builtins.range(len(arrays))],
               lambda g, t: [g[before + (i,)] for i in builtins.range(len(arrays))])


def unstack(value, num=None, axis=0, name=None) -> list:
    t = convert_to_tensor(value)
    n = t.shape[axis]
    if num is not None and num != n:
        raise ValueError(f"unstack: num={num} but axis {axis} has size {n}")
    axis = axis % t.ndim
    return _parts(t, [(slice(None),) * axis + (i,) for i in builtins.range(n)])


def split(value, num_or_size_splits, axis=0, num=None, name=None) -> list:
    a = value_of(value)
    axis = int(axis)
    if isinstance(num_or_size_splits, (int, np.integer)):
        if a.shape[axis] % int(num_or_size_splits):
            raise InvalidArgumentError(f"split: axis {axis} of size {a.shape[axis]} does not divide into "
                             f"{num_or_size_splits} equal parts")
        sizes = [a.shape[axis] // int(num_or_size_splits)] * int(num_or_size_splits)
    else:
        sizes = [int(s) for s in value_of(num_or_size_splits).reshape(-1)] if isinstance(
            num_or_size_splits, np.ndarray) else [int(s) for s in num_or_size_splits]
        if -1 in sizes:
            sizes[sizes.index(-1)] = a.shape[axis] - (builtins.sum(sizes) + 1)
    if builtins.sum(sizes) != a.shape[axis]:
        raise InvalidArgumentError(f"split: sizes {sizes} do not add up to {a.shape[axis]}")
    starts = np.concatenate([[0], np.cumsum(sizes)])
    axis = axis % a.ndim
    return _parts(value, [(slice(None),) * axis + (slice(int(lo), int(hi)),)
                          for lo, hi in itertools.pairwise(starts)])


def _parts(x, indices: list) -> list:
    """``x[index]`` for each of ``indices`` (basic indexing, no element in two parts) as ONE
    recorded op, whose VJP writes each part's gradient into a single array of ``x``'s shape
    (zeros where a part got none): splitting into n parts costs one array, not n."""
    a = value_of(x)
    outs = [new_tensor(a[index]) for index in indices]
    if recording():
        def vjp(gs):
            full = np.zeros(a.shape, dtype=_grad_dtype(a))
            for index, g in zip(indices, gs):
                if g is not None:
                    full[index] = g
            return [full]

        record(outs, [x], vjp)
    return outs


def _slice(x, index) -> EagerTensor:
    a = value_of(x)

    def vjp(g):
        full = np.zeros(a.shape, dtype=_grad_dtype(a))
        full[index] = g
        return [full]

    return _op(a[index], [x], vjp)


def _grad_dtype(a):
    return a.dtype if a.dtype.kind == "f" else np.float32


def tile(x, multiples, name=None) -> EagerTensor:
    a = value_of(x) if isinstance(x, np.ndarray) or is_variable(x) else _convert(x)
    reps = _shape_arg(multiples, "tile: multiples")
    if len(reps) != a.ndim:
        # NumPy would pad the shorter one with ones; TensorFlow asks for one per axis
        raise InvalidArgumentError(f"tile: expected multiples of length {a.ndim} (the rank "
                                   f"of the input), got {len(reps)}: {list(reps)}")
    if builtins.any(r < 0 for r in reps):
        raise InvalidArgumentError(f"tile: multiples must be non-negative, got {list(reps)}")
    out = np.tile(a, reps)

    interleaved = [d for pair in zip(reps, a.shape) for d in pair]
    copies = tuple(builtins.range(0, 2 * a.ndim, 2))

    def vjp(g):
        return [np.reshape(g, interleaved).sum(axis=copies)]

    return _op(out, [x], vjp,
               lambda g, t: [reduce_sum(reshape(g, interleaved), axis=list(copies))])


def gather(params, indices, validate_indices=None, axis=None, batch_dims=0,
           name=None) -> EagerTensor:
    if batch_dims:
        return _gather_in_batches(params, indices, axis, batch_dims)
    a = value_of(params)
    idx = _int_array(indices, "gather", "indices").astype(np.int64)
    if a.ndim == 0:
        raise InvalidArgumentError("gather: params must be at least rank 1, got a scalar")
    axis = 0 if axis is None else _axis_arg(axis, a.ndim, "gather")
    if np.any(idx < 0) or np.any(idx >= a.shape[axis]):
        bad = idx.reshape(-1)[(idx.reshape(-1) < 0) | (idx.reshape(-1) >= a.shape[axis])][0]
        raise InvalidArgumentError(f"gather: index {int(bad)} is not in [0, {a.shape[axis]}) "
                                   f"(axis {axis} of shape {a.shape})")
    out = np.take(a, idx, axis=axis)

    def vjp(g):
        full = np.zeros(a.shape, dtype=_grad_dtype(a))
        moved = np.moveaxis(full, axis, 0)
        gm = np.moveaxis(np.asarray(g), builtins.range(axis, axis + idx.ndim),
                         builtins.range(idx.ndim))
        np.add.at(moved, idx, gm)
        return [full]

    return _op(out, [params], vjp)


def _gather_in_batches(params, indices, axis, batch_dims: int) -> EagerTensor:
    """`gather` with ``batch_dims``: the leading ``batch_dims`` axes of ``params`` and
    ``indices`` pair up, and each batch entry gathers from its own slice (a masked
    autoencoder picks each image's own patches). The result has TensorFlow's shape
    ``params.shape[:axis] + indices.shape[batch_dims:] + params.shape[axis + 1:]``.

    It runs as one plain gather: the batch axes are flattened and merged with the gathered
    axis, each index offset by its batch entry; reshapes and transposes (all recorded on the
    tape) bring the axes back in order."""
    a = value_of(params)
    idx = _int_array(indices, "gather", "indices").astype(np.int64)
    b = _batch_axes(a.shape, idx, batch_dims, "gather")
    axis = b if axis is None else _axis_arg(axis, a.ndim, "gather")
    if axis < b:
        raise InvalidArgumentError(f"gather: batch_dims ({b}) must be less than or equal to "
                                   f"axis ({axis})")
    n = a.shape[axis]
    if np.any(idx < 0) or np.any(idx >= n):
        bad = idx.reshape(-1)[(idx.reshape(-1) < 0) | (idx.reshape(-1) >= n)][0]
        raise InvalidArgumentError(f"gather: index {int(bad)} is not in [0, {n}) "
                                   f"(axis {axis} of shape {a.shape})")
    batch = int(np.prod(a.shape[:b], dtype=np.int64))
    pre, post, picked = a.shape[b:axis], a.shape[axis + 1:], idx.shape[b:]
    # params as (batch * n, pre..., post...): each batch entry's slice along `axis`, in turn
    flat = reshape(params, (batch,) + a.shape[b:])
    order = [0, 1 + len(pre)] + [1 + i for i in builtins.range(len(pre))] + list(
        builtins.range(2 + len(pre), 1 + a.ndim - b))
    flat = reshape(transpose(flat, order), (batch * n,) + pre + post)
    offsets = np.arange(batch, dtype=np.int64).reshape((batch,) + (1,) * len(picked)) * n
    out = gather(flat, idx.reshape((batch,) + picked) + offsets)  # (batch, picked, pre, post)
    k, m = len(picked), len(pre)
    order = [0] + list(builtins.range(1 + k, 1 + k + m)) + list(builtins.range(1, 1 + k)) + \
        list(builtins.range(1 + k + m, 1 + k + m + len(post)))
    return reshape(transpose(out, order), a.shape[:b] + pre + picked + post)


def _batch_axes(shape: tuple, idx: np.ndarray, batch_dims, who: str) -> int:
    """The number of leading axes ``params`` (of ``shape``) and ``indices`` share as batch
    axes (``batch_dims``, negative counting from the rank of indices), checked."""
    if isinstance(batch_dims, bool) or not isinstance(batch_dims, (int, np.integer)):
        raise TypeError(f"{who}: batch_dims must be an int, got {batch_dims!r}")
    b = int(batch_dims) + idx.ndim if batch_dims < 0 else int(batch_dims)
    if not 0 <= b <= idx.ndim or b >= len(shape):
        raise InvalidArgumentError(f"{who}: batch_dims {batch_dims} must be within the rank "
                                   f"of indices ({idx.ndim}) and below that of params "
                                   f"({len(shape)})")
    if tuple(shape[:b]) != idx.shape[:b]:
        raise InvalidArgumentError(f"{who}: params and indices must share their first "
                                   f"{b} axes (batch_dims), got {tuple(shape)} and {idx.shape}")
    return b


def gather_nd(params, indices, batch_dims=0, name=None) -> EagerTensor:
    if batch_dims:
        return _gather_nd_in_batches(params, indices, batch_dims)
    a = value_of(params)
    idx = _int_array(indices, "gather_nd", "indices").astype(np.int64)
    if idx.ndim < 1:
        raise InvalidArgumentError(f"gather_nd: indices must be at least rank 1, got a scalar "
                                   f"{idx.tolist()}")
    k = idx.shape[-1]
    if k > a.ndim:
        raise InvalidArgumentError(f"gather_nd: index innermost dimension length must be <= "
                                   f"params rank; saw: {k} vs. {a.ndim} (params shape "
                                   f"{list(a.shape)})")
    flat = idx.reshape(-1, k)
    outside = np.any((flat < 0) | (flat >= np.asarray(a.shape[:k], dtype=np.int64)), axis=1)
    if np.any(outside):
        first = int(np.argmax(outside))
        raise InvalidArgumentError(f"gather_nd: indices[{first}] = {flat[first].tolist()} does "
                                   f"not index into param shape {list(a.shape)}")
    key = tuple(np.moveaxis(idx, -1, 0))
    out = a[key]

    def vjp(g):
        full = np.zeros(a.shape, dtype=_grad_dtype(a))
        np.add.at(full, key, g)
        return [full]

    return _op(out, [params], vjp)


def _gather_nd_in_batches(params, indices, batch_dims) -> EagerTensor:
    """`gather_nd` with ``batch_dims``: each batch entry indexes its own slice of ``params``.
    The batch axes are flattened and the entry's number put in front of each index, so one
    plain (differentiable) gather_nd does it; the result has TensorFlow's shape
    ``indices.shape[:-1] + params.shape[batch_dims + indices.shape[-1]:]``."""
    a = value_of(params)
    idx = _int_array(indices, "gather_nd", "indices").astype(np.int64)
    if isinstance(batch_dims, (int, np.integer)) and batch_dims < 0:
        raise ValueError(f"gather_nd: batch_dims must not be negative (TensorFlow's rule), "
                         f"got {batch_dims}")
    b = _batch_axes(a.shape, idx, batch_dims, "gather_nd")
    if b == idx.ndim:
        raise InvalidArgumentError(f"gather_nd: batch_dims ({b}) must be less than the rank "
                                   f"of indices ({idx.ndim})")
    batch = int(np.prod(a.shape[:b], dtype=np.int64))
    flat = reshape(params, (batch,) + a.shape[b:])
    picks = idx.reshape((batch,) + idx.shape[b:])
    entry = np.broadcast_to(np.arange(batch, dtype=np.int64).reshape(
        (batch,) + (1,) * (picks.ndim - 1)), picks.shape[:-1] + (1,))
    out = gather_nd(flat, np.concatenate([entry, picks], axis=-1))
    return reshape(out, idx.shape[:-1] + a.shape[b + idx.shape[-1]:])


def boolean_mask(tensor, mask, axis=None, name=None) -> EagerTensor:
    m = np.asarray(value_of(mask) if isinstance(mask, np.ndarray) or is_variable(mask)
                   else mask)
    if m.dtype.kind not in "biuf":
        raise TypeError(f"boolean_mask: mask must be boolean, got dtype {m.dtype}")
    m = m.astype(bool)
    shp = np.shape(value_of(tensor) if isinstance(tensor, np.ndarray) or is_variable(tensor)
                   else _convert(tensor))
    if m.ndim == 0:
        raise ValueError("boolean_mask: mask must be at least rank 1, got a scalar")
    axis = 0 if axis is None else _scalar_int(axis, "boolean_mask", "axis")
    if axis < 0:
        axis += len(shp)
    if not 0 <= axis or axis + m.ndim > len(shp) or shp[axis:axis + m.ndim] != m.shape:
        raise ValueError(f"boolean_mask: Shapes {shp[axis:axis + m.ndim]} and {m.shape} are "
                         f"incompatible (mask of shape {m.shape} at axis {axis} of a tensor "
                         f"of shape {shp})")
    index = (slice(None),) * axis + (m,)
    return _slice(tensor, index)


def where(condition, x=None, y=None, name=None) -> EagerTensor:
    """``tf.where``: with x and y, pick elementwise (broadcasting); alone, the int64
    coordinates of the true entries, shape (n, rank)."""
    cond = np.asarray(value_of(condition)).astype(bool)
    if x is None and y is None:
        return new_tensor(np.argwhere(cond).astype(np.int64))
    if x is None or y is None:
        raise ValueError("where(): give both x and y, or neither")
    a, b = _convert(x), _convert(y)
    # a Python number or NumPy array beside a tensor takes the tensor's dtype, as TensorFlow
    # converts it (tf.where(c, float32_t, 0) is float32, not float64)
    if _is_tensor(x) and not _is_tensor(y) and b.dtype != a.dtype and b.dtype.kind in (
            "fiub" if a.dtype.kind == "f" else "iub"):
        b = b.astype(a.dtype)
    elif _is_tensor(y) and not _is_tensor(x) and a.dtype != b.dtype and a.dtype.kind in (
            "fiub" if b.dtype.kind == "f" else "iub"):
        a = a.astype(b.dtype)
    out = _elementwise.select(cond, a, b)

    def second(g, t):
        # the same selection as products with the (constant) 0/1 masks, which the tapes
        # record, summed down to each operand's shape
        picked = np.broadcast_to(cond, out.shape).astype(_grad_dtype(out))
        return [_summed_to(g * picked, a.shape), _summed_to(g * (1 - picked), b.shape)]

    def vjp(g):
        g = np.asarray(g)
        return [unbroadcast(_elementwise.select(cond, g), a.shape),
                unbroadcast(_elementwise.select(~cond, g), b.shape)]

    return _op(out, [x, y], vjp, second)


def _arg_reduce(find, input, axis, output_type, who: str) -> EagerTensor:
    """argmax/argmin along ``axis`` (0 when None). TF 2.21 refuses a scalar, an axis out of
    range and an empty axis with InvalidArgumentError (NumPy would answer 0 for a scalar)."""
    a = value_of(input) if isinstance(input, np.ndarray) else _convert(input)
    axis = 0 if axis is None else int(value_of(axis))
    if a.ndim == 0:
        raise InvalidArgumentError(f"{who}: the input must have at least one axis, got a scalar")
    if not -a.ndim <= axis < a.ndim:
        raise InvalidArgumentError(f"{who}: axis {axis} is out of range for an input of rank "
                                   f"{a.ndim}")
    if a.shape[axis] == 0:
        raise InvalidArgumentError(f"{who}: reduction axis {axis} is empty in shape {a.shape}")
    return new_tensor(find(a, axis=axis).astype(as_dtype(output_type).dtype))


def argmax(input, axis=None, output_type=np.int64, name=None) -> EagerTensor:
    return _arg_reduce(np.argmax, input, axis, output_type, "argmax")


def argmin(input, axis=None, output_type=np.int64, name=None) -> EagerTensor:
    return _arg_reduce(np.argmin, input, axis, output_type, "argmin")


# ----------------------------------------------------------------------------- arithmetic


def _binary(ufunc, x, y) -> EagerTensor:
    if _python_number(x) and _python_number(y):  # tf.add(1.0, 2.0): float32, as TensorFlow
        return ufunc(constant(x), constant(y))
    if _is_tensor(x) != _is_tensor(y):  # a NumPy operand takes the tensor's dtype (tape.py)
        return ufunc(x if _is_tensor(x) else _plain_or_lifted(x),
                     y if _is_tensor(y) else _plain_or_lifted(y))
    return ufunc(_lift(x), _lift(y))


def _is_tensor(x) -> bool:
    return isinstance(x, EagerTensor) or is_variable(x)


def _plain_or_lifted(x):
    """A NumPy operand left as it is (the ufunc then converts it to the tensor's dtype);
    anything else lifted."""
    return x if isinstance(x, (np.ndarray, np.generic)) else _lift(x)


def _python_number(x) -> bool:
    return isinstance(x, (builtins.float, builtins.int)) and not isinstance(x, builtins.bool)


def _lift(x):
    """Tensors and Variables as they are (their ufuncs record); lists holding them packed
    (`_packed`); anything else as a constant of TensorFlow's dtype (Python floats are
    float32)."""
    if isinstance(x, EagerTensor) or is_variable(x):
        return x
    packed = _packed(x)
    if packed is not None:
        return packed
    if isinstance(x, np.ndarray):
        return x.view(EagerTensor)
    if _python_number(x):
        return x  # a Python scalar adopts the other operand's dtype under NumPy 2 rules
    return constant(x)


def _unary(ufunc, x) -> EagerTensor:
    # a lone Python number is a float32 (int32) constant: tf.sqrt(2.0) is float32
    out = ufunc(constant(x) if _python_number(x) else _lift(x))
    return out if isinstance(out, EagerTensor) else new_tensor(out)


def add(x, y, name=None):
    return _binary(np.add, x, y)


def subtract(x, y, name=None):
    return _binary(np.subtract, x, y)


def multiply(x, y, name=None):
    return _binary(np.multiply, x, y)


def divide(x, y, name=None):
    return _binary(np.true_divide, x, y)


truediv = divide


def floordiv(x, y, name=None):
    return _binary(np.floor_divide, x, y)


def pow(x, y, name=None):
    return _binary(np.power, x, y)


def maximum(x, y, name=None):
    return _binary(np.maximum, x, y)


def minimum(x, y, name=None):
    return _binary(np.minimum, x, y)


def square(x, name=None):
    return _unary(np.square, x)


def sqrt(x, name=None):
    return _unary(np.sqrt, x)


def rsqrt(x, name=None):
    return divide(1.0, sqrt(x))


def exp(x, name=None):
    return _unary(np.exp, x)


def log(x, name=None):
    return _unary(np.log, x)


def log1p(x, name=None):
    return _unary(np.log1p, x)


def abs(x, name=None):
    return _unary(np.absolute, x)


def negative(x, name=None):
    return _unary(np.negative, x)


def reciprocal(x, name=None):
    return divide(1.0, x)


def tanh(x, name=None):
    return _unary(np.tanh, x)


def sin(x, name=None):
    return _unary(np.sin, x)


def cos(x, name=None):
    return _unary(np.cos, x)


def _values_only(ufunc, tf_name: str, what: str):
    """The TensorFlow op ``tf_name``: NumPy's ``ufunc`` on the values of its one or two
    arguments (broadcast). These ops have no gradient (TensorFlow's have none either, or a zero
    one), so no tape records them."""
    if ufunc.nin == 1:
        def op(x, name=None):
            return new_tensor(ufunc(_convert(x)))
    else:
        def op(x, y, name=None):
            return new_tensor(ufunc(_convert(x), _convert(y)))
    op.__name__ = op.__qualname__ = tf_name
    op.__doc__ = f"{what}, elementwise."
    return op


sign = _values_only(np.sign, "sign", "-1, 0 or 1: the sign of ``x``")
floor = _values_only(np.floor, "floor", "The largest whole number <= ``x``")
ceil = _values_only(np.ceil, "ceil", "The smallest whole number >= ``x``")


def round(x, name=None):
    """Rounds half to even, as TensorFlow (and NumPy) do."""
    return new_tensor(np.round(_convert(x)))


equal = _values_only(np.equal, "equal", "``x == y``")
not_equal = _values_only(np.not_equal, "not_equal", "``x != y``")
greater = _values_only(np.greater, "greater", "``x > y``")
greater_equal = _values_only(np.greater_equal, "greater_equal", "``x >= y``")
less = _values_only(np.less, "less", "``x < y``")
less_equal = _values_only(np.less_equal, "less_equal", "``x <= y``")
logical_and = _values_only(np.logical_and, "logical_and", "``x and y``")
logical_or = _values_only(np.logical_or, "logical_or", "``x or y``")
logical_not = _values_only(np.logical_not, "logical_not", "``not x``")


def clip_by_value(t, clip_value_min, clip_value_max, name=None) -> EagerTensor:
    """Values outside [min, max] are clipped; the gradient passes where min <= x <= max.
    The bounds may broadcast to ``t``'s shape but not grow it, as in TensorFlow: bounds that
    do not broadcast with ``t`` raise InvalidArgumentError there (the op's error), bounds
    that would make the result larger a ValueError (its shape check)."""
    a = value_of(t) if isinstance(t, np.ndarray) or is_variable(t) else _convert(t)
    for which, bound in (("clip_value_min", clip_value_min), ("clip_value_max", clip_value_max)):
        # as TensorFlow: a bound that is a tensor must have the clipped tensor's dtype
        # (InvalidArgumentError), and a Python float cannot bound an integer tensor (TypeError)
        if (isinstance(bound, EagerTensor) or is_variable(bound)) \
                and value_of(bound).dtype != a.dtype:
            raise InvalidArgumentError(f"clip_by_value: {which} is a {value_of(bound).dtype} "
                                       f"tensor, the clipped tensor is {a.dtype}")
        if isinstance(bound, float) and not isinstance(bound, np.generic) \
                and a.dtype.kind in "iub":
            raise TypeError(f"clip_by_value: {which} {bound!r} is a float; the clipped tensor "
                            f"is {a.dtype}")
    lo, hi = _convert(clip_value_min), _convert(clip_value_max)
    for which, bound in (("clip_value_min", lo), ("clip_value_max", hi)):
        try:
            grown = np.broadcast_shapes(bound.shape, a.shape) != a.shape
        except ValueError:
            raise InvalidArgumentError(
                f"clip_by_value: {which} of shape {bound.shape} does not broadcast with the "
                f"shape {a.shape} of the clipped tensor") from None
        if grown:
            raise ValueError(f"clip_by_value: {which} of shape {bound.shape} would make the "
                             f"result larger than the clipped tensor's shape {a.shape}")
    out = np.minimum(np.maximum(a, lo), hi).astype(a.dtype, copy=False)
    inside = (a >= lo) & (a <= hi)
    passed = np.broadcast_to(inside, a.shape).astype(_grad_dtype(a))
    return _op(out, [t], lambda g: [_elementwise.select(inside, np.asarray(g, _grad_dtype(a)))],
               lambda g, t: [g * passed])


def add_n(inputs, name=None) -> EagerTensor:
    """The sum of a list of tensors. An empty list is a ValueError, as in TensorFlow (a
    custom step's ``tf.add_n(model.losses)`` on a model with no penalties lands here)."""
    if isinstance(inputs, (list, tuple)) and len(inputs) == 0:
        raise ValueError("add_n: inputs must be a list of at least one tensor, got an "
                         "empty list")
    out = _lift(inputs[0])
    for x in inputs[1:]:
        out = out + _lift(x)
    return out if isinstance(out, EagerTensor) else new_tensor(out)


def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
           a_is_sparse=False, b_is_sparse=False, output_type=None, name=None) -> EagerTensor:
    """Matrix product over the last two axes (batched over the rest, as TensorFlow)."""
    _unsupported("matmul", a_is_sparse=a_is_sparse, b_is_sparse=b_is_sparse,
                 output_type=output_type)
    typed = [value_of(v).dtype for v in (a, b) if isinstance(v, EagerTensor) or is_variable(v)]
    if len(typed) == 2 and {"f", "i"} <= {"i" if d.kind in "iub" else d.kind for d in typed}:
        raise InvalidArgumentError(f"matmul: both operands must have the same kind of dtype, "
                                   f"got a {typed[0]} tensor and a {typed[1]} tensor; "
                                   f"use tf.cast on one of them")
    # a NumPy operand takes the tensor's dtype, as TensorFlow converts it (float32 @ int64
    # array is float32 there, float64 under NumPy's promotion)
    plain = in_tensor_dtype([a, b], [value_of(v) if isinstance(v, EagerTensor) or is_variable(v)
                                     else v for v in (a, b)])
    a, b = (v if isinstance(v, EagerTensor) or is_variable(v) else cast_to
            for v, cast_to in zip((a, b), plain))
    x, y = _lift(a), _lift(b)
    if transpose_a or adjoint_a:
        x = _swap_last(x)
    if transpose_b or adjoint_b:
        y = _swap_last(y)
    if np.ndim(value_of(x)) < 2 or np.ndim(value_of(y)) < 2:
        raise InvalidArgumentError(f"matmul needs tensors of rank >= 2, got shapes "
                         f"{np.shape(value_of(x))} and {np.shape(value_of(y))}")
    return np.matmul(x, y)


def _swap_last(x):
    nd = np.ndim(value_of(x))
    perm = list(builtins.range(nd))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    return transpose(x, perm)


def tensordot(a, b, axes, name=None) -> EagerTensor:
    x, y = _convert(a), _convert(b)
    if isinstance(axes, (int, np.integer)):
        ax_a = list(builtins.range(x.ndim - int(axes), x.ndim))
        ax_b = list(builtins.range(int(axes)))
    else:
        ax_a, ax_b = ([int(v)] if np.ndim(v) == 0 else [int(i) for i in v] for v in axes)
    ax_a = [i % x.ndim for i in ax_a]
    ax_b = [i % y.ndim for i in ax_b]
    letters = "abcdefghijklmnopqrstuvwxyz"
    sa = list(letters[:x.ndim])
    sb = list(letters[x.ndim:x.ndim + y.ndim])
    for i, j in zip(ax_a, ax_b):
        sb[j] = sa[i]
    out_spec = [c for i, c in enumerate(sa) if i not in ax_a] + [
        c for j, c in enumerate(sb) if j not in ax_b]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out_spec)}", a, b)


def _spell_ellipsis(eq: str, ranks: list[int]) -> str:
    """``eq`` with each ``...`` replaced by letters the equation does not use, one per axis it
    stands for (aligned on the right, as NumPy broadcasts them)."""
    lhs, arrow, out = eq.partition("->")
    specs = lhs.split(",")
    if len(specs) != len(ranks):
        raise ValueError(f"einsum: equation {eq!r} has {len(specs)} operands, got {len(ranks)}")
    counts = [rank - len(spec.replace("...", "")) if "..." in spec else 0
              for spec, rank in zip(specs, ranks)]
    if any(n < 0 for n in counts):
        raise ValueError(f"einsum: an operand of {eq!r} has fewer axes than its letters")
    free = [c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in eq]
    widest = max(counts)
    if widest > len(free):
        raise ValueError(f"einsum: '...' in {eq!r} stands for too many axes")
    letters = "".join(free[:widest])
    specs = [spec.replace("...", letters[widest - n:]) for spec, n in zip(specs, counts)]
    if not arrow:  # implicit output: NumPy puts the ellipsis axes first
        once = sorted(c for c in lhs.replace(".", "").replace(",", "")
                      if lhs.replace(".", "").count(c) == 1)
        return ",".join(specs) + "->" + letters + "".join(once)
    return ",".join(specs) + "->" + out.replace("...", letters)


# Operands of more numbers than this are contracted by a plan (`_contract`).
_EINSUM_PLANNED = 1 << 15


def _contract(eq: str, *arrays) -> np.ndarray:
    """``np.einsum(eq, *arrays)``. Unplanned, NumPy contracts every operand in one loop nest
    over all the letters (two resize matrices and a batch of images: the product of six axis
    lengths, 30 s for 32 images of 32x32x64 to 64x64) and never calls BLAS. Planned
    (``optimize=True``) it contracts pairwise, by matrix products where it can; the plan
    costs tens of microseconds, so small operands keep the single loop."""
    planned = len(arrays) > 2 or builtins.sum(np.size(a) for a in arrays) > _EINSUM_PLANNED
    return np.einsum(eq, *arrays, optimize=planned)


def _matrix_product_split(specs: list[str], out_spec: str) -> int | None:
    """How many trailing letters of the first operand an equation contracts, when the
    einsum of two operands is one matrix product after reshapes (Keras's EinsumDense
    equations: ``"abc,cde->abde"``, ``"abcd,cde->abe"``): the first operand's free letters,
    then the contracted ones in the order the second operand starts with, and the output the
    two operands' free letters in order. None for any other equation."""
    if len(specs) != 2:
        return None
    first, second = specs
    if len(set(first)) != len(first) or len(set(second)) != len(second):
        return None
    shared = [c for c in first if c in second]
    k = len(shared)
    if k == 0 or any(c in out_spec for c in shared) or first[len(first) - k:] != "".join(
            shared) or second[:k] != "".join(shared):
        return None
    return k if out_spec == first[:len(first) - k] + second[k:] else None


def _einsum_as_matmul(a: np.ndarray, b: np.ndarray, k: int):
    """`einsum` of an equation `_matrix_product_split` accepted, as one product split
    between the cores (`convnp.ops.gemm`): the output, and its VJP."""
    free_a, free_b = a.shape[:a.ndim - k], b.shape[k:]
    inner = int(np.prod(b.shape[:k], dtype=np.int64))
    a2, b2 = a.reshape(-1, inner), b.reshape(inner, -1)
    out = _gemm.matmul(a2, b2).reshape(tuple(free_a) + tuple(free_b))

    def vjp(g):
        g2 = np.asarray(g).reshape(a2.shape[0], b2.shape[1])
        return [_gemm.matmul(g2, b2.T).reshape(a.shape),
                _gemm.matmul_tn(a2, g2).reshape(b.shape)]

    return out, vjp


def einsum(equation, *inputs, **kwargs) -> EagerTensor:
    """``tf.einsum`` (gradients by einsum too). An ellipsis (``"...ab,bc->...ac"``) stands
    for the same leading axes in every operand that has it (written out as letters first)."""
    _unsupported("einsum", **{k: v for k, v in kwargs.items() if k != "name"})
    eq = equation.replace(" ", "")
    if "..." in eq:
        eq = _spell_ellipsis(eq, [np.ndim(value_of(v)) for v in inputs])
    if "->" not in eq:
        lhs = eq
        counts = {c: lhs.count(c) for c in lhs if c != ","}
        eq = lhs + "->" + "".join(sorted(c for c, n in counts.items() if n == 1))
    lhs, out_spec = eq.split("->")
    specs = lhs.split(",")
    if len(specs) != len(inputs):
        raise ValueError(f"einsum: equation {equation!r} has {len(specs)} operands, got "
                         f"{len(inputs)}")
    arrays = [_convert(v) for v in inputs]
    split = _matrix_product_split(specs, out_spec)
    if (split is not None and all(a.dtype.kind == "f" and a.size for a in arrays)
            and arrays[0].shape[arrays[0].ndim - split:] == arrays[1].shape[:split]):
        out, matmul_vjp = _einsum_as_matmul(arrays[0], arrays[1], split)
    else:
        out, matmul_vjp = _contract(eq, *arrays), None

    def gradients(g, operands, contract, spread) -> list:
        """Each operand's gradient: the einsum of ``g`` with the other operands
        (``contract``), then ``spread`` back over the letters only that operand has (summed
        away, so its gradient is constant along them)."""
        grads = []
        for i, spec in enumerate(specs):
            if len(set(spec)) != len(spec):
                raise NotImplementedError("einsum gradient with a repeated index in one "
                                          "operand (a diagonal) is not supported")
            others = specs[:i] + specs[i + 1:]
            avail = set(out_spec).union(*others)
            sub = "".join(c for c in spec if c in avail)
            gi = contract(",".join([out_spec] + others) + "->" + sub, g,
                          *(operands[:i] + operands[i + 1:]))
            shape = tuple(n if c in avail else 1 for n, c in zip(arrays[i].shape, spec))
            grads.append(gi if shape == arrays[i].shape else spread(gi, shape, arrays[i].shape))
        return grads

    def vjp(g):
        if matmul_vjp is not None:
            return matmul_vjp(g)
        return gradients(g, arrays, _contract,
                         lambda gi, shape, full: np.broadcast_to(gi.reshape(shape), full))

    def second(g, t):
        # the same einsums on the gradient tensor and the operands themselves (recorded)
        return gradients(g, [_lift(v) for v in inputs], einsum,
                         lambda gi, shape, full: reshape(gi, shape)
                         + np.zeros(full, _grad_dtype(out)))

    return _op(out, list(inputs), vjp, second)


# ----------------------------------------------------------------------------- reductions


def _axis(axis):
    if axis is None:
        return None
    if isinstance(axis, np.ndarray) or is_variable(axis):
        axis = value_of(axis).tolist()
    if isinstance(axis, (list, tuple)):
        return tuple(int(a) for a in axis)
    return int(axis)


def _reduction_axis(axis, ndim: int, who: str):
    """`_axis`, with every axis checked against a tensor of rank ``ndim``: one out of range
    is TensorFlow's `InvalidArgumentError` (NumPy's AxisError otherwise)."""
    axis = _axis(axis)
    for a in (() if axis is None else axis if isinstance(axis, tuple) else (axis,)):
        if not -builtins.max(ndim, 1) <= a < builtins.max(ndim, 1):
            raise InvalidArgumentError(f"{who}: Invalid reduction dimension {a} for input "
                                       f"with {ndim} dimensions")
    return axis


def _same_int_dtype(dtype) -> dict:
    """``dtype=`` keeping a small integer type (TensorFlow sums int32 in int32; NumPy's sums
    and products of integers would widen them to int64)."""
    return {"dtype": dtype} if np.dtype(dtype).kind in "iu" else {}


def _reduction(ufunc, tf_name: str):
    # the ufunc's reduce goes through the tensor's __array_ufunc__, which records it
    widens = ufunc in (np.add, np.multiply)

    def reduce(input_tensor, axis=None, keepdims=False, name=None):
        x = _lift(input_tensor)
        axis = _reduction_axis(axis, np.ndim(value_of(x)), tf_name)
        extra = _same_int_dtype(x.dtype) if widens else {}
        if ufunc in (np.maximum, np.minimum) and np.size(value_of(x)) == 0:
            # nothing to compare: TensorFlow gives the identity (-inf for a max of floats,
            # the dtype's lowest value for ints), where NumPy would raise
            extra = {"initial": _reduction_identity(ufunc, np.asarray(value_of(x)).dtype)}
        out = ufunc.reduce(x, axis=axis, keepdims=bool(keepdims), **extra)
        return out if isinstance(out, EagerTensor) else new_tensor(out)
    return reduce


def _reduction_identity(ufunc, dtype: np.dtype):
    """The value a max (min) over no elements is: the lowest (highest) ``dtype`` holds."""
    lowest = ufunc is np.maximum
    if dtype.kind == "f":
        return -np.inf if lowest else np.inf
    if dtype.kind == "b":
        return not lowest
    info = np.iinfo(dtype)
    return info.min if lowest else info.max


reduce_sum = _reduction(np.add, "reduce_sum")
reduce_max = _reduction(np.maximum, "reduce_max")
reduce_min = _reduction(np.minimum, "reduce_min")
reduce_prod = _reduction(np.multiply, "reduce_prod")


def reduce_mean(input_tensor, axis=None, keepdims=False, name=None) -> EagerTensor:
    """Mean over ``axis`` (all axes by default); integer tensors give an integer mean, as in
    TensorFlow."""
    x = _lift(input_tensor)
    a = value_of(x)
    ax = _reduction_axis(axis, a.ndim, "reduce_mean")
    count = a.size if ax is None else int(np.prod([a.shape[i] for i in (
        ax if isinstance(ax, tuple) else (ax,))]))
    total = reduce_sum(x, ax, keepdims)
    if a.dtype.kind in "iu":
        return new_tensor((value_of(total) // builtins.max(count, 1)).astype(a.dtype))
    return total / np.asarray(count, dtype=a.dtype)


def reduce_variance(input_tensor, axis=None, keepdims=False, name=None) -> EagerTensor:
    """The variance over ``axis``. Integers are refused as TensorFlow refuses them (TypeError;
    InvalidArgumentError for booleans): their mean would be an integer, and the deviations
    from it a wrong variance (``[1, 2]`` gave 0)."""
    x = _lift(input_tensor)
    kind = value_of(x).dtype.kind
    if kind == "b":
        raise InvalidArgumentError("reduce_variance/reduce_std: got a bool tensor; they need "
                                   "floats (use tf.cast)")
    if kind in "iu":
        raise TypeError(f"reduce_variance/reduce_std: got a {value_of(x).dtype} tensor; they "
                        f"need floats (use tf.cast)")
    mean = reduce_mean(x, axis, keepdims=True)
    return reduce_mean(square(x - mean), axis, keepdims)


def reduce_std(input_tensor, axis=None, keepdims=False, name=None) -> EagerTensor:
    return sqrt(reduce_variance(input_tensor, axis, keepdims))


def reduce_any(input_tensor, axis=None, keepdims=False, name=None) -> EagerTensor:
    a = _convert(input_tensor)
    return new_tensor(np.any(a, axis=_reduction_axis(axis, a.ndim, "reduce_any"),
                             keepdims=keepdims))


def reduce_all(input_tensor, axis=None, keepdims=False, name=None) -> EagerTensor:
    a = _convert(input_tensor)
    return new_tensor(np.all(a, axis=_reduction_axis(axis, a.ndim, "reduce_all"),
                             keepdims=keepdims))


def reduce_logsumexp(input_tensor, axis=None, keepdims=False, name=None) -> EagerTensor:
    x = _lift(input_tensor)
    m = stop_gradient(reduce_max(x, axis, keepdims=True))
    out = log(reduce_sum(exp(x - m), axis, keepdims=True)) + m
    return out if keepdims else squeeze(out, _axis(axis))


def _running_sum(a: np.ndarray, axis: int, exclusive: bool, reverse: bool) -> np.ndarray:
    """Cumulative sums along ``axis``: from the end with ``reverse``, and without each
    element itself (shifted by one, starting at 0) with ``exclusive``."""
    if reverse:
        a = np.flip(a, axis)
    out = np.cumsum(a, axis=axis, **_same_int_dtype(a.dtype))
    if exclusive and out.shape[axis]:
        out = np.concatenate([np.zeros_like(np.take(out, [0], axis=axis)),
                              np.take(out, builtins.range(out.shape[axis] - 1), axis=axis)],
                             axis=axis)
    return np.flip(out, axis) if reverse else out


def cumsum(x, axis=0, exclusive=False, reverse=False, name=None) -> EagerTensor:
    """Running sums along ``axis`` (``exclusive``: without the element itself; ``reverse``:
    from the end). The gradient is the running sum of the output gradient the other way."""
    a = value_of(x) if isinstance(x, np.ndarray) or is_variable(x) else _convert(x)
    axis = _axis_arg(axis, builtins.max(a.ndim, 1), "cumsum")
    exclusive, reverse = bool(exclusive), bool(reverse)
    return _op(_running_sum(a, axis, exclusive, reverse), [x],
               lambda g: [_running_sum(np.asarray(g), axis, exclusive, not reverse)],
               lambda g, t: [cumsum(g, axis, exclusive, not reverse)])


# ----------------------------------------------------------------------------- norms


def norm(tensor, ord="euclidean", axis=None, keepdims=False, name=None) -> EagerTensor:
    """``tf.norm`` / ``tf.linalg.norm``, as TF 2.21 computes it.

    With ``axis`` None or one axis the norm is a vector p-norm (``axis=None`` flattens):
    ``'euclidean'`` (2), 1, ``np.inf`` or any positive p, ``(sum |x|^p)^(1/p)``. With two
    axes ``(rows, cols)`` it is a matrix norm: ``'fro'``/``'euclidean'`` (the square root of
    the summed squares), 1 (the largest column sum of ``|x|``: summed over ``rows``, the
    maximum over ``cols``), ``np.inf`` (the largest row sum) or 2 (the largest singular
    value). Any other ``ord`` or ``axis`` is refused before any work, with TF's ValueError."""
    x = _lift(tensor)
    axes = _norm_axes(axis, np.ndim(value_of(x)))
    matrix = axes is not None and len(axes) == 2
    _check_norm_ord(ord, matrix)
    if ord in ("euclidean", "fro") or (ord == 2 and not matrix):
        return sqrt(reduce_sum(square(x), axes, keepdims))
    if not matrix:
        if ord == 1:
            return reduce_sum(abs(x), axes, keepdims)
        if ord == np.inf:
            return reduce_max(abs(x), axes, keepdims)
        return pow(reduce_sum(pow(abs(x), float(ord)), axes, keepdims), 1.0 / float(ord))
    rows, cols = axes
    if ord == 2:
        out = _spectral_norm(x, rows, cols)
    else:  # 1: sum down the rows, largest column; inf: sum along the columns, largest row
        summed, largest = (rows, cols) if ord == 1 else (cols, rows)
        out = reduce_max(reduce_sum(abs(x), summed, keepdims=True), largest, keepdims=True)
        out = reshape(out, np.delete(np.shape(value_of(out)), axes))
    if keepdims:
        out = expand_dims(expand_dims(out, builtins.min(axes)), builtins.max(axes))
    return out


def _norm_axes(axis, ndim: int) -> tuple | None:
    """`norm`'s ``axis`` as None or a tuple of one or two distinct non-negative axes: TF 2.21
    takes None, an int or a list/tuple of one or two unique ints (else ValueError)."""
    if axis is None:
        return None
    given = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if not 1 <= len(given) <= 2 or not all(
            isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in given):
        raise ValueError(f"norm: axis must be None, an integer or a tuple of 2 unique "
                         f"integers, got {axis!r}")
    for a in given:
        if not -builtins.max(ndim, 1) <= a < builtins.max(ndim, 1):
            raise InvalidArgumentError(f"norm: axis {a} is out of range for a tensor of rank "
                                       f"{ndim}")
    axes = tuple(int(a) % builtins.max(ndim, 1) for a in given)
    if len(axes) == 2 and axes[0] == axes[1]:
        raise ValueError(f"norm: axis must be a tuple of 2 unique integers, got {axis!r}")
    return axes


def _check_norm_ord(ord, matrix: bool) -> None:
    """TF 2.21's ``ord`` values: for matrices 'fro', 'euclidean', 1, 2 and np.inf; for
    vectors 'euclidean' and any positive number (np.inf too). Others are a ValueError."""
    number = isinstance(ord, (int, float, np.integer, np.floating)) and not isinstance(ord, str)
    if matrix:
        ok = ord in ("fro", "euclidean") if isinstance(ord, str) else \
            number and ord in (1, 2, np.inf)
        expected = "'fro', 'euclidean', 1, 2 or np.inf for a matrix norm (two axes)"
    else:
        ok = ord == "euclidean" if isinstance(ord, str) else number and ord > 0
        expected = "'euclidean', np.inf or a positive number for a vector norm"
    if not ok:
        raise ValueError(f"norm: ord must be {expected}, got {ord!r}")


def _spectral_norm(x, rows: int, cols: int) -> EagerTensor:
    """The largest singular value of each matrix on axes ``(rows, cols)``; its gradient is
    ``u v^T`` of the leading singular vectors (the rest of the axes are a batch)."""
    a = np.moveaxis(np.asarray(value_of(x)), (rows, cols), (-2, -1))
    dtype = a.dtype if a.dtype.kind == "f" else np.dtype("float64")
    u, s, vh = np.linalg.svd(a.astype(dtype, copy=False), full_matrices=False)

    def vjp(g):
        outer = u[..., :, :1] * vh[..., :1, :]  # u1 v1^T per matrix
        grad = np.asarray(value_of(g))[..., None, None] * outer
        return [np.moveaxis(grad, (-2, -1), (rows, cols)).astype(dtype, copy=False)]
    return _op(s[..., 0].astype(dtype, copy=False), [x], vjp)


def l2_normalize(x, axis=None, epsilon=1e-12, name=None) -> EagerTensor:
    t = _lift(x)
    kind = np.asarray(value_of(t)).dtype.kind
    # TF 2.21 normalizes floats (and complex) only: integers are a TypeError (its epsilon
    # cannot be converted to them), booleans an InvalidArgumentError
    if kind in "iu":
        raise TypeError(f"l2_normalize expects floats, got dtype {np.asarray(value_of(t)).dtype}"
                        "; cast first (tf.cast(x, tf.float32))")
    if kind == "b":
        raise InvalidArgumentError("l2_normalize expects floats, got dtype bool")
    sq = reduce_sum(square(t), axis, keepdims=True)
    return t * rsqrt(maximum(sq, epsilon))


def _shape_of(x) -> TensorShape:
    return TensorShape(np.shape(value_of(x)))


is_nan = _values_only(np.isnan, "is_nan", "Whether ``x`` is NaN")
is_inf = _values_only(np.isinf, "is_inf", "Whether ``x`` is infinite")
is_finite = _values_only(np.isfinite, "is_finite", "Whether ``x`` is finite")


def sigmoid(x, name=None) -> EagerTensor:
    a = value_of(x) if isinstance(x, np.ndarray) or is_variable(x) else _convert(x)
    out = _elementwise.sigmoid(a.astype(_grad_dtype(a), copy=False))  # ints: in float
    return _op(out, [x], lambda g: [g * out * (1 - out)], lambda g, t: [g * t * (1 - t)])


# ----------------------------------------------------------------------------- protocols
# NumPy functions and ndarray methods called on tensors while a tape records: the ones with a
# TensorFlow twin run it (so they are recorded); others are refused when they read a
# connected value (their result would silently carry no gradient).

def _np_sum(a, axis=None, dtype=None, out=None, keepdims=False, **kw):
    return reduce_sum(a, axis, keepdims)


def _np_mean(a, axis=None, dtype=None, out=None, keepdims=False, **kw):
    return reduce_mean(a, axis, keepdims)


def _np_reshape(a, shape=None, order="C", **kw):
    return reshape(a, kw.get("newshape", shape))


def _np_transpose(a, axes=None):
    return transpose(a, axes)


def _np_concatenate(arrays, axis=0, **kw):
    return concat(list(arrays), axis)


def _np_stack(arrays, axis=0, **kw):
    return stack(list(arrays), axis)


def _np_where(condition, x=None, y=None):
    return where(condition, x, y)


def _np_dot(a, b, out=None):
    return np.matmul(_lift(a), _lift(b))


def _np_max(a, axis=None, out=None, keepdims=False, **kw):
    return reduce_max(a, axis, keepdims)


def _np_min(a, axis=None, out=None, keepdims=False, **kw):
    return reduce_min(a, axis, keepdims)


_FUNCTIONS = {
    np.sum: _np_sum, np.mean: _np_mean, np.reshape: _np_reshape, np.transpose: _np_transpose,
    np.concatenate: _np_concatenate, np.stack: _np_stack, np.where: _np_where,
    np.dot: _np_dot, np.max: _np_max, np.min: _np_min, np.amax: _np_max, np.amin: _np_min,
    np.expand_dims: lambda a, axis: expand_dims(a, axis),
    np.squeeze: lambda a, axis=None: squeeze(a, axis),
    np.einsum: lambda eq, *ops, **kw: einsum(eq, *ops),
    np.tensordot: lambda a, b, axes=2: tensordot(a, b, axes),
    np.clip: lambda a, a_min=None, a_max=None, **kw: clip_by_value(
        a, -np.inf if a_min is None else a_min, np.inf if a_max is None else a_max),
    np.square: square, np.sqrt: sqrt, np.exp: exp, np.log: log, np.abs: abs,
}


def _connected(args) -> bool:
    for a in args:
        if isinstance(a, (list, tuple)):
            if _connected(a):
                return True
        elif (isinstance(a, np.ndarray) or is_variable(a)) and any(
                id(a) in t._connected or (is_variable(a) and a.trainable)
                for t in _eager.active_tapes):
            return True
    return False


def _array_function(func, types, args, kwargs):
    handler = _FUNCTIONS.get(func)
    if handler is not None and _connected(args):
        return handler(*args, **kwargs)
    if _connected(args) and func not in _SAFE_FUNCTIONS:
        raise NotImplementedError(
            f"np.{func.__name__} on a watched tensor has no gradient rule in convnp's "
            "GradientTape; use the tf.* function (tf.reduce_sum, tf.reshape, ...) or compute "
            "it outside the tape (tape.stop_recording())")
    plain_args = _to_plain(args)
    plain_kwargs = {k: _to_plain(v) for k, v in kwargs.items()}
    result = func(*plain_args, **plain_kwargs)
    return new_tensor(result) if isinstance(result, np.ndarray) else result


def _to_plain(x):
    if isinstance(x, EagerTensor):
        return x.view(np.ndarray)
    if isinstance(x, (list, tuple)):
        return type(x)(_to_plain(v) for v in x) if type(x) in (list, tuple) else x
    return x


# functions whose result carries no gradient anyway (shapes, comparisons, printing)
_SAFE_FUNCTIONS = {
    np.shape, np.ndim, np.size, np.argmax, np.argmin, np.allclose, np.isclose,
    np.array_equal, np.array2string, np.array_repr, np.array_str, np.result_type,
    np.can_cast, np.zeros_like, np.ones_like, np.empty_like, np.full_like, np.sign,
    np.isnan, np.isinf, np.isfinite, np.argsort, np.round, np.floor, np.ceil, np.any, np.all,
    np.nonzero, np.argwhere, np.count_nonzero, np.copyto, np.unique,
}


def _method(name, tensor, args, kwargs):
    if name == "reshape":
        shp = args[0] if len(args) == 1 else args
        return reshape(tensor, shp if not isinstance(shp, (int, np.integer)) else (shp,))
    if name == "transpose":
        axes = args[0] if len(args) == 1 and isinstance(args[0], (list, tuple)) else args
        return transpose(tensor, list(axes) if axes else None)
    if name == "astype":
        return cast(tensor, args[0])
    if name == "squeeze":
        return squeeze(tensor, args[0])
    raise AttributeError(name)


_eager._hooks.update(function=_array_function, method=_method)


# called on KerasTensors, these functions become layers of the model being built
_symbolic.accept_keras_tensors(globals())
