"""`Variable`: a named, mutable array; a layer's weight and ``tf.Variable``.

Layers own variables; optimizers see them through `model.trainable_weights` or
``apply_gradients(zip(grads, variables))``. Kernels read ``.value`` (the ndarray itself).
Arithmetic on a Variable (``v * 2``, ``tf.matmul(x, v)``) reads it as a tensor, and that read
is recorded by an active `GradientTape` (trainable variables are watched automatically).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from convnp.tensor.eager import EagerTensor, TensorShape, as_dtype
from convnp.tensor.errors import InvalidArgumentError
from convnp.tensor.tape import array_ufunc, getitem, new_tensor, record, recording

_counter = [0]
_INT32 = np.iinfo(np.int32)


class Variable(NDArrayOperatorsMixin):
    """A weight of a layer, or a ``tf.Variable``.

    >>> import convnp as tf
    >>> v = tf.Variable([1.0, 2.0])
    >>> _ = v.assign_add([1.0, 1.0])
    >>> v.numpy().tolist(), v.dtype == tf.float32, v.shape
    ([2.0, 3.0], True, TensorShape([2]))

    Args:
        initial_value: the value (copied). Python floats become float32 as in TensorFlow.
        trainable: whether optimizers (and a tape's automatic watching) use it.
        name: Keras-style name, e.g. ``"kernel"``, ``"bias"``, ``"moving_mean"``.
        dtype: dtype of the value (default: float32 for Python numbers and float64 arrays
            converted from lists; an ndarray keeps its dtype).

    Attributes:
        value: the array itself (layers compute on it). In TensorFlow ``value()`` is a method;
            here use `read_value()` or `numpy()`.
        grad: gradient written by the owning layer's last backward pass (or None).

    Every write through convnp (`assign`, ``assign_add``/``assign_sub``, optimizer updates,
    BatchNormalization's moving statistics) calls `mark_modified`, which bumps ``_version``:
    what is derived from the value and kept (the BN-folded weights of inference) is rebuilt
    when the version it was made from is gone. Code that writes into ``value`` directly
    calls `mark_modified` after it.
    """

    _convnp_variable = True
    __array_priority__ = 20
    #: bumped by `mark_modified` (a class default: an instance counts its own writes)
    _version = 0

    def __init__(self, initial_value=None, trainable: bool = True, name: str | None = None,
                 dtype=None, shape=None, **kwargs):
        constraint = kwargs.pop("constraint", None)
        if constraint is not None and not callable(constraint):
            raise TypeError(f"Variable constraint must be callable, got {constraint!r}")
        unsupported = {k: v for k, v in kwargs.items()
                       if k not in ("validate_shape", "caching_device", "synchronization",
                                    "aggregation", "import_scope")}
        if unsupported:
            raise TypeError(f"Variable got unsupported argument(s) {sorted(unsupported)}")
        if initial_value is None:
            raise ValueError("Variable needs an initial_value")
        if callable(initial_value):
            initial_value = initial_value()
        if isinstance(initial_value, Variable):
            initial_value = initial_value.value
        if dtype is not None:
            # as_dtype: Python's float is float32, as in TensorFlow
            value = np.array(initial_value, dtype=as_dtype(dtype).dtype)
        elif isinstance(initial_value, np.ndarray):
            value = np.array(initial_value)
        else:
            value = np.array(initial_value)
            if value.dtype == np.float64:
                value = value.astype(np.float32)
            elif value.dtype == np.int64 and (value.size == 0 or (
                    _INT32.min <= value.min() and value.max() <= _INT32.max)):
                value = value.astype(np.int32)  # ints beyond int32's range stay int64 (TF)
        if shape is not None and tuple(shape) != value.shape:
            raise ValueError(f"Variable: initial value of shape {value.shape} does not match "
                             f"shape={tuple(shape)}")
        self.value = value
        if name is None:
            name = "Variable" if _counter[0] == 0 else f"Variable_{_counter[0]}"
            _counter[0] += 1
        self.name = name
        #: Keras 3's ``variable.path``: ``"<layer name>/<name>"`` for a layer's weight
        #: (`Layer.add_weight` sets it), the name alone for a free variable
        self.path = name
        self.trainable = bool(trainable)
        #: projection applied after each optimizer update (``tf.keras.constraints``), or None
        self.constraint = constraint
        self.grad: np.ndarray | None = None

    @property
    def shape(self) -> TensorShape:
        return TensorShape(self.value.shape)

    @property
    def dtype(self):
        return self.value.dtype

    @property
    def ndim(self) -> int:
        return self.value.ndim

    @property
    def size(self) -> int:
        return self.value.size

    def get_shape(self) -> TensorShape:
        return self.shape

    @property
    def device(self) -> str:
        """Where the value lives, in TensorFlow's spelling (always the CPU here)."""
        return "/job:localhost/replica:0/task:0/device:CPU:0"

    def numpy(self) -> np.ndarray:
        """A copy of the value (mutating it does not touch the variable); a scalar
        variable gives its NumPy scalar (``np.int64(3)``), as TensorFlow's."""
        value = self.value
        return value[()] if value.ndim == 0 else value.copy()

    def read_value(self) -> EagerTensor:
        """The current value as a tensor (a recorded read, so gradients reach the Variable)."""
        out = new_tensor(self.value.copy())
        if recording():
            record([out], [self], lambda gs: [gs[0]])
        return out

    # -- NumPy protocols: a Variable reads as its value -----------------------------------------
    def __array__(self, dtype=None, copy=None):
        if dtype is not None and np.dtype(dtype) != self.value.dtype:
            return self.value.astype(dtype)
        return self.value.copy() if copy else self.value

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return array_ufunc(ufunc, method, *inputs, **kwargs)

    def __getitem__(self, key):
        out = getitem(self, key, VariableSlice)
        out._variable, out._key = self, key
        return out

    def __len__(self) -> int:
        return len(self.value)

    def __float__(self) -> float:
        return float(self.value)

    def __int__(self) -> int:
        return int(self.value)

    def __bool__(self) -> bool:
        return bool(self.value)

    def __matmul__(self, other):
        return np.matmul(self, other)

    def __rmatmul__(self, other):
        return np.matmul(other, self)

    # -- writing ------------------------------------------------------------------------------
    def mark_modified(self) -> None:
        """Record that ``value`` changed in place (values derived from it are stale)."""
        self._version += 1

    def _checked(self, value, what: str) -> np.ndarray:
        value = weight_array(value, self.value.dtype, f"cannot {what} variable '{self.name}'",
                             self.value.shape)
        if value.dtype.kind in "fc" and self.value.dtype.kind in "iub":
            # TensorFlow refuses float values for an integer variable (TypeError) rather than
            # truncating them: a silent 1.5 -> 1 would be a wrong result
            raise TypeError(f"cannot {what} variable '{self.name}' of dtype "
                            f"{self.value.dtype}: got float values (dtype {value.dtype}); "
                            f"use tf.cast to convert them")
        if value.shape != self.value.shape:
            if value.size == 1 and self.value.size == 1:
                return value.reshape(self.value.shape)
            raise ValueError(
                f"cannot {what} variable '{self.name}': expected shape {self.value.shape}, "
                f"got {value.shape}"
            )
        return value

    def assign(self, value, use_locking=None, name=None, read_value=True):
        """Overwrite the value in place, keeping shape and dtype; returns the variable (None
        with ``read_value=False``, as TensorFlow)."""
        self.value[...] = self._checked(value, "assign to")
        self.mark_modified()
        return self if read_value else None

    def assign_add(self, delta, use_locking=None, name=None, read_value=True):
        self.value += self._checked(delta, "assign_add to").astype(self.value.dtype, copy=False)
        self.mark_modified()
        return self if read_value else None

    def assign_sub(self, delta, use_locking=None, name=None, read_value=True):
        self.value -= self._checked(delta, "assign_sub to").astype(self.value.dtype, copy=False)
        self.mark_modified()
        return self if read_value else None

    def __repr__(self) -> str:
        return (f"<tf.Variable '{self.name}' shape={tuple(self.shape)} dtype={self.dtype} "
                f"trainable={self.trainable}, numpy={self.value!r}>")


class _AnyConvnpVariable(type):
    """`KerasVariable`'s metaclass: in Keras 3 a layer's weights are ``keras.Variable``
    objects, so ``isinstance(layer.kernel, keras.Variable)`` holds; here it holds for every
    convnp `Variable`, however it was made."""

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Variable)


_keras_counter = [0]


class KerasVariable(Variable, metaclass=_AnyConvnpVariable):
    """``keras.Variable``: Keras 3's constructor in front of the same `Variable`.

    Keras 3 names its first argument ``initializer``: either the value itself (an array, a
    list, a tensor, as ``tf.Variable``'s ``initial_value``) or an initializer (a name such as
    ``"zeros"``, an `Initializer` object, or a function ``f(shape, dtype)``), which is then
    called with ``shape`` (required for it) and ``dtype`` (float32 unless given). Keras
    port of papers write ``keras.Variable(initializer=index_array, shape=..., dtype="int",
    trainable=False)`` for a constant table kept with the layer. ``autocast`` is accepted
    and has no effect (there is no mixed precision to undo); ``dtype="int"`` is int64, as on
    Keras's TensorFlow backend. A free variable's default name is ``"variable"``,
    ``"variable_1"``, ... (Keras's, lower case)."""

    def __init__(self, initializer, shape=None, dtype=None, trainable: bool = True,
                 autocast: bool = True, aggregation="none", synchronization="auto",
                 name: str | None = None, **kwargs):
        if initializer is None:
            raise ValueError("keras.Variable needs an initializer: a value (array, list, "
                             "number) or an initializer with a shape, got None")
        if dtype in ("int", int):
            dtype = np.int64
        elif dtype is float:
            dtype = np.float32
        if _is_initializer(initializer):
            from convnp import initializers  # a leaf module, imported when needed

            if shape is None:
                raise ValueError(f"keras.Variable: an initializer ({initializer!r}) needs the "
                                 f"shape argument to make a value, got shape=None")
            dtype = np.dtype(np.float32 if dtype is None else dtype)
            initializer = initializers.get(initializer)(tuple(shape), dtype=dtype)
        if name is None:
            count = _keras_counter[0]
            name = "variable" if count == 0 else f"variable_{count}"
            _keras_counter[0] += 1
        super().__init__(initializer, trainable=trainable, name=name, dtype=dtype, shape=shape,
                         **kwargs)


def _is_initializer(value) -> bool:
    """Whether ``keras.Variable``'s first argument is an initializer (to be called with a
    shape) rather than the value: a name, or something callable that holds no data."""
    if isinstance(value, str):
        return True
    if isinstance(value, (Variable, np.ndarray, EagerTensor)):
        return False
    return callable(value)


class VariableSlice(EagerTensor):
    """What indexing a Variable gives (``v[0]``, ``v[:, 1]``): the values read, as a tensor,
    whose `assign` writes into those places of the variable, as TensorFlow's sliced
    assignment (``v[0].assign(1.0)`` returns the variable)."""

    _variable = None
    _key = None

    def assign(self, value, use_locking=None, name=None):
        variable = self._variable
        if variable is None:  # a view NumPy made of the slice (np.asarray(...).view)
            raise TypeError("this tensor is not a slice of a Variable; use tf.Variable.assign")
        target = variable.value[_plain_index(self._key)]
        who = f"cannot assign to a slice of variable '{variable.name}'"
        array = weight_array(value, variable.value.dtype, who, np.shape(target))
        if array.dtype.kind in "fc" and variable.value.dtype.kind in "iub":
            raise TypeError(f"{who} of dtype {variable.value.dtype}: got float values (dtype "
                            f"{array.dtype}); use tf.cast to convert them")
        try:
            shaped = np.broadcast_to(array, np.shape(target))
        except ValueError:  # TensorFlow's error for it (a ValueError too)
            raise InvalidArgumentError(f"{who}: expected values of shape "
                                       f"{np.shape(target)}, got {array.shape}") from None
        variable.value[_plain_index(self._key)] = shaped
        variable.mark_modified()
        return variable


def _plain_index(key):
    """An index with tensors and Variables in it replaced by their arrays."""
    if isinstance(key, tuple):
        return tuple(_plain_index(k) for k in key)
    if isinstance(key, (np.ndarray, Variable)):
        return np.asarray(key)
    return key


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating, np.bool_))


def weight_array(value, dtype: np.dtype, who: str, shape: tuple) -> np.ndarray:
    """``value`` as an array of numbers to write into a variable of ``dtype`` and ``shape``,
    or a ValueError/TypeError starting with ``who`` saying what was expected and what came.
    Refused: None, dicts and strings; ragged nests of lists; object arrays holding anything
    but numbers (an object array of None would become NaN); complex values for a real
    variable (the imaginary part would be dropped); string arrays."""
    expected = f"expected an array of shape {tuple(shape)} and dtype {np.dtype(dtype)}"
    if isinstance(value, Variable):
        value = value.value
    if value is None or isinstance(value, (dict, set, str, bytes)):
        raise TypeError(f"{who}: {expected}, got {type(value).__name__} {value!r:.60}")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):
        raise ValueError(f"{who}: {expected}, got a {type(value).__name__} of ragged nested "
                         f"sequences (rows of different lengths)") from None
    kind = arr.dtype.kind
    if kind == "O":
        bad = [v for v in arr.reshape(-1) if not _is_number(v)]
        if bad:
            raise TypeError(f"{who}: {expected}, got an object array holding "
                            f"{type(bad[0]).__name__} {bad[0]!r:.60}")
        arr = arr.astype(dtype)
    elif kind == "c" and np.dtype(dtype).kind != "c":
        raise TypeError(f"{who}: {expected}, got complex values (dtype {arr.dtype}); pass "
                        f"the real part explicitly if that is what you mean")
    elif kind not in "biufc":
        raise TypeError(f"{who}: {expected}, got an array of dtype {arr.dtype}")
    return arr


class TrackedVariables:
    """TensorFlow's names for an object's weights (layers and models): ``trainable_variables``
    is ``trainable_weights``, ``non_trainable_variables`` is ``non_trainable_weights`` and
    ``variables`` is ``weights``."""

    @property
    def trainable_variables(self) -> list[Variable]:
        return self.trainable_weights

    @property
    def non_trainable_variables(self) -> list[Variable]:
        return self.non_trainable_weights

    @property
    def variables(self) -> list[Variable]:
        return self.weights

    #: values a `tf.train.Checkpoint` restore keeps for a layer or model that has no weights
    #: yet (`convnp.io.checkpoint`), given to it as soon as it is built
    _checkpoint_pending: list | None = None

    def _apply_checkpoint_pending(self) -> None:
        saved, self._checkpoint_pending = self._checkpoint_pending, None
        self.set_weights(saved)
