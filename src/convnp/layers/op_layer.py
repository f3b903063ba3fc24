"""`TFOpLambda`: a tensor function applied to KerasTensors, kept as a layer of the model.

Inside a functional model's definition Keras accepts tensor functions on symbolic tensors:
``keras.ops.mean(x, axis=[1, 2])``, ``tf.nn.relu(x)``, ``keras.ops.concatenate([a, b])``,
``x[..., :3]``, ``x ** 2``. Keras 2 made each such call a ``TFOpLambda`` layer, Keras 3 an
operation node; convnp makes the layer (`convnp.tensor.symbolic` routes the call here).

The layer keeps the function and its arguments, with each KerasTensor replaced by a slot for
the layer's i-th input. Every forward calls the function on the inputs, under a private tape
as `Lambda` does, so its gradient comes from the tape. The output shape is found by running
the op on ones twice, with batch sizes 2 and 3 (and other unknown sizes 5 and 7): an axis that
changes between the runs is unknown (``None``). The first axis must be the batch: a model's
tensors all keep it, so ``keras.ops.mean(x)`` over everything is refused.

A model holding these layers saves its config (``to_json``, ``.convnp`` files): the function
by its import path among convnp's op modules, the arguments as JSON (slices, tuples, Ellipsis,
dtypes and small arrays tagged). Loading looks the function up in those modules only and
checks that it is one of the op functions, so no code ever comes from a file.
"""

from __future__ import annotations

import importlib
import math
from typing import Any

import numpy as np

from convnp._limits import MIN_LIMIT_BYTES
from convnp.layers import _masks, base, taped
from convnp.layers._slots import Slot, fill, slots_of, template_of
from convnp.layers.base import KerasTensor, Layer, open_weight_budget, unique_name
from convnp.layers.registry import register
from convnp.tensor import eager, symbolic

# The modules whose op functions a config may name.
OP_MODULES = ("convnp.tensor.ops", "convnp.tensor.nn", "convnp.tensor.math",
              "convnp.tensor.manip", "convnp.tensor.image", "convnp.tensor.sorting",
              "convnp.tensor.linalg", "convnp.keras.ops_math", "convnp.keras.ops_nn",
              "convnp.keras.ops_linalg", "convnp.keras.ops_image",
              "convnp.keras.ops_arrays", "convnp.keras.ops_signal",
              "convnp.keras.ops", "convnp.keras.backend")
# dtypes an array argument may have in a config
_ARRAY_KINDS = "biuf"
# (batch size, size of other unknown axes) of the two shape-finding runs; with unknown sizes
# among the inputs, a third run with them at 1 (when the op accepts it) catches ``x[:, :2]``
_TRIALS = ((2, 5), (3, 7))
_SMALL_TRIAL = (2, 1)
# when an op refuses 5 and 7 for the unknown sizes (``space_to_depth`` with a block of 2, a
# reshape into halves): sizes most block sizes divide
_DIVISIBLE_TRIALS = ((2, 12), (3, 24))


def op_path(function) -> str:
    """The import path a config names an op function by (``convnp.keras.ops.mean``)."""
    return f"{function.__module__}.{function.op_key}"


def resolve_op(path) -> Any:
    """The op function at ``path`` (or ``path`` itself when it is one).

    Raises:
        ValueError: not the path of an op function in `OP_MODULES`.
    """
    if symbolic.is_op_function(path):
        return path
    if not isinstance(path, str):
        raise TypeError(f"TFOpLambda: function must be a tensor op or its path "
                        f"'module.name', got {type(path).__name__}")
    module, _, key = path.rpartition(".")
    if module not in OP_MODULES:
        raise ValueError(f"TFOpLambda: function {path!r} is not in convnp's op modules "
                         f"{OP_MODULES}; a config can only name those")
    found = getattr(importlib.import_module(module), key, None)
    if not symbolic.is_op_function(found):
        raise ValueError(f"TFOpLambda: {path!r} is not one of convnp's tensor ops")
    return found


@register
class TFOpLambda(Layer):
    """``function(*args, **kwargs)`` with the layer's inputs in the arguments' slots.

    Made by calling a tensor function on KerasTensors (see the module docstring); written
    by hand it takes the function (or its path) and the arguments with `Slot` markers.

    Args:
        function: an op function of convnp (``convnp.keras.ops.mean``) or its path.
        args, kwargs: its arguments, with ``Slot(i)`` where the i-th input goes.

    Holds no weights. The output dtype (``output_dtype``) is the op's: ``keras.ops.argmax``
    gives integers.
    """

    _autodiff = True  # the op's own tensor functions are recorded on a caller's tape
    #: a Keras operation, not a layer: it reads no masks and drops them silently
    _mask_blind = True

    def __init__(self, function, args=(), kwargs=None, **layer_kwargs):
        function = resolve_op(function)
        if not isinstance(args, (list, tuple)) or not isinstance(kwargs or {}, dict):
            raise TypeError(f"TFOpLambda: args must be a list and kwargs a dict, got "
                            f"{type(args).__name__} and {type(kwargs).__name__}")
        layer_kwargs.setdefault("name", None)
        if layer_kwargs["name"] is None:
            layer_kwargs["name"] = unique_name(function.op_name)
        super().__init__(**layer_kwargs)
        self.function = function
        self.args = tuple(args)
        self.kwargs = dict(kwargs or {})
        slots = slots_of(self.args) | slots_of(self.kwargs)
        if not slots or slots != set(range(len(slots))):
            raise ValueError(f"TFOpLambda '{self.name}': the arguments must hold slots for "
                             f"inputs 0..n-1, got slots {sorted(slots)}")
        self.n_inputs = len(slots)
        self.output_dtype = "float32"  # of the (first) output
        self._part_dtypes = ["float32"]  # of each output
        self._several = False  # whether the op returns a list of tensors
        self._input_dtypes: list[np.dtype] | None = None
        self._found: tuple | None = None  # (input shapes, output shape) of the last trial

    @property
    def op(self) -> str:
        return op_path(self.function)

    # -- calling -------------------------------------------------------------------------------

    def __call__(self, inputs, training=None):
        symbolic_call = isinstance(inputs, KerasTensor) or (
            isinstance(inputs, (list, tuple)) and inputs
            and all(isinstance(t, KerasTensor) for t in inputs))
        if symbolic_call:
            tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
            self._input_dtypes = [_trial_dtype(t) for t in tensors]
        out = super().__call__(inputs, training=training)
        if symbolic_call:
            for part, dtype in zip(out if isinstance(out, list) else [out], self._part_dtypes):
                part.dtype = dtype
        return out

    def _inputs(self, inputs) -> list:
        xs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(xs) != self.n_inputs:
            raise ValueError(f"layer '{self.name}' ({self.function.op_name}) takes "
                             f"{self.n_inputs} input(s), got {len(xs)}")
        return xs

    def _apply(self, inputs):
        xs = self._inputs(inputs)
        out = self.function.__wrapped__(*fill(self.args, xs), **fill(self.kwargs, xs))
        if isinstance(out, dict):
            raise TypeError(f"it returned a dict of {len(out)} tensors; an op on KerasTensors "
                            "may return a tensor or a list of tensors")
        return out

    def call(self, inputs, training: bool = False):
        return taped.run_taped(self, self._apply, inputs)

    def backward(self, dy):
        return taped.taped_backward(self, dy)

    # -- shapes --------------------------------------------------------------------------------

    def compute_output_shape(self, input_shape):
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        key = [tuple(s) for s in shapes]
        if self._found is None or self._found[0] != key:
            self._found = (key, self._find_shape(key))
        return self._found[1]

    def _find_shape(self, shapes: list[tuple]):
        dtypes = self._input_dtypes or [np.dtype(self.dtype)] * len(shapes)
        if len(shapes) != self.n_inputs:
            raise ValueError(f"layer '{self.name}' ({self.function.op_name}) takes "
                             f"{self.n_inputs} input(s), got {len(shapes)}")
        self._check_trial_size(shapes, dtypes)

        def ones(batch: int, free: int) -> list:
            arrays = [np.ones((batch,) + tuple(free if d is None else int(d) for d in s[1:]),
                              dtype=dtype) for s, dtype in zip(shapes, dtypes)]
            if getattr(self.function, "trial_identity", False):
                # matrix functions refuse singular matrices: ones + I is positive definite
                for a in arrays:
                    if a.ndim >= 3 and a.shape[-1] == a.shape[-2] and a.dtype.kind == "f":
                        a += np.eye(a.shape[-1], dtype=a.dtype)
            return arrays

        unknown = any(d is None for s in shapes for d in s[1:])
        try:
            results = self._trials(_TRIALS, ones, shapes)
        except ValueError:
            if not unknown:
                raise
            try:
                results = self._trials(_DIVISIBLE_TRIALS, ones, shapes)
            except ValueError:
                results = None
            if results is None:  # the first complaint is the one to show
                results = self._trials(_TRIALS, ones, shapes)
        if unknown:
            try:
                small = self._trial(ones(*_SMALL_TRIAL), shapes)
                if len(small) == len(results[0]):
                    results.append(small)
            except (TypeError, ValueError):
                pass  # the op needs more than 1 there: the two runs above decide
        if any(len(parts) != len(results[0]) for parts in results):
            raise ValueError(f"layer '{self.name}': the number of tensors "
                             f"{self.function.op_name} returns depends on the input sizes")
        found = [self._part_shape(list(runs)) for runs in zip(*results)]
        self.output_dtype = results[0][0].dtype.name
        self._part_dtypes = [part.dtype.name for part in results[0]]
        if results[0][0].dtype.kind == "f":  # layers downstream read a producer's float type
            self.dtype = results[0][0].dtype
        return found if self._several else found[0]

    def _part_shape(self, runs: list[np.ndarray]) -> tuple:
        """One output's shape from its trial runs: an axis whose size changed is unknown."""
        first = runs[0]
        if any(out.ndim != first.ndim for out in runs):
            raise ValueError(f"layer '{self.name}': the rank of {self.function.op_name}'s "
                             "output depends on the input sizes")
        return (None,) + tuple(d if all(out.shape[i + 1] == d for out in runs) else None
                               for i, d in enumerate(first.shape[1:]))

    def _trials(self, trials, ones, shapes: list[tuple]) -> list[list[np.ndarray]]:
        """The op's outputs (each a list: several when the op returns a list) for each
        ``(batch, size of unknown axes)`` of ``trials``."""
        results = []
        for batch, free in trials:
            parts = self._trial(ones(batch, free), shapes)
            for out in parts:
                if out.ndim == 0 or out.shape[0] != batch:
                    raise ValueError(
                        f"layer '{self.name}': {self.function.op_name} on inputs of shape "
                        f"{_shapes_text(shapes)} makes a tensor of shape {out.shape} for a "
                        f"batch of {batch}, without the batch axis first; every tensor of a "
                        "functional model keeps the batch axis (reduce over the other axes, "
                        "e.g. axis=[1, 2], or compute it in a loss or metric)")
            results.append(parts)
        return results

    def _check_trial_size(self, shapes: list[tuple], dtypes: list) -> None:
        """While a model file is being built, refuse an op whose trial runs would allocate
        more than the file may expand to (docs/limits.md): inputs declared huge, or a size
        among the arguments (``resize`` to ``(10**5, 10**5)``, ``one_hot`` of 10**9 classes),
        before anything is allocated."""
        budget = open_weight_budget()
        if budget is None:
            return
        limit = max(MIN_LIMIT_BYTES, budget[0])  # what the file's weights may expand to
        batch = max(b for b, _ in _TRIALS + _DIVISIBLE_TRIALS)
        free = max(f for _, f in _TRIALS + _DIVISIBLE_TRIALS)
        sizes = [batch * math.prod(free if d is None else int(d) for d in s[1:])
                 * np.dtype(dtype).itemsize for s, dtype in zip(shapes, dtypes)]
        sizes.append(batch * _largest_count((self.args, self.kwargs)) * 8)
        if max(sizes) > limit:
            raise ValueError(f"layer '{self.name}' ({self.function.op_name}) on inputs "
                             f"{_shapes_text(shapes)} would work on {max(sizes)} bytes to find "
                             f"its output shape, more than the file may expand to "
                             f"({limit} bytes)")

    def _trial(self, arrays: list, shapes: list) -> list[np.ndarray]:
        """The op's output(s) on ``arrays``, as a list (one item for one tensor); sets
        `_several` to whether the op returns a list."""
        cache = getattr(self, "_tape_cache", None)
        try:
            with taped.isolated(), np.errstate(all="ignore"):
                out = self._apply(arrays if self.n_inputs > 1 else arrays[0])
        except TypeError as error:
            raise TypeError(f"layer '{self.name}': {self.function.op_name} on inputs of shape "
                            f"{_shapes_text(shapes)}: {error}") from None
        except (ValueError, IndexError, KeyError, ArithmeticError,
                NotImplementedError) as error:
            # the op's own complaint, with where it came from
            raise ValueError(f"layer '{self.name}': {self.function.op_name} on inputs of shape "
                             f"{_shapes_text(shapes)}: {error}") from None
        finally:
            self._tape_cache = cache
        self._several = isinstance(out, (list, tuple))
        if self._several and not out:
            raise ValueError(f"layer '{self.name}': {self.function.op_name} on inputs of shape "
                             f"{_shapes_text(shapes)} returned no tensor")
        return [np.asarray(part) for part in (out if self._several else [out])]

    # -- config --------------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        where = f"layer '{self.name}' ({self.function.op_name})"
        config.update(function=self.op, args=[encode(a, where) for a in self.args],
                      kwargs={k: encode(v, where) for k, v in self.kwargs.items()})
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TFOpLambda:
        config = dict(config)
        where = f"TFOpLambda '{config.get('name')}'"
        args, kwargs = config.pop("args", []), config.pop("kwargs", {})
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise ValueError(  # noqa: TRY004 (a file's content: ValueError, as all bad files)
                f"{where}: config 'args' must be a list and 'kwargs' a dict")
        return cls(args=[decode(a, where) for a in args],
                   kwargs={str(k): decode(v, where) for k, v in kwargs.items()}, **config)


def _largest_count(value) -> int:
    """The largest element count an argument names: an int, or the product of the positive
    ints of one list or tuple (a shape), looking into nested containers."""
    if isinstance(value, (bool, np.bool_)):
        return 0
    if isinstance(value, (int, np.integer)):
        return abs(int(value))
    if isinstance(value, dict):
        value = list(value.values())
    if not isinstance(value, (list, tuple)):
        return 0
    ints = [int(v) for v in value if isinstance(v, (int, np.integer))
            and not isinstance(v, (bool, np.bool_)) and v > 0]
    own = math.prod(ints) if ints else 0
    return max([own, *(_largest_count(v) for v in value)])


def _trial_dtype(tensor: KerasTensor) -> np.dtype:
    """The dtype of the values a KerasTensor stands for (float64 when its layer computes in
    it: a float64 model stays float64)."""
    given = np.dtype(getattr(tensor, "dtype", "float32") or "float32")
    if given == np.float32 and str(getattr(tensor.layer, "dtype", "")) == "float64":
        return np.dtype(np.float64)
    return given


def _shapes_text(shapes: list[tuple]) -> str:
    return ", ".join(str(tuple(s)) for s in shapes)


# -- arguments as JSON ---------------------------------------------------------------------------


def encode(value, where: str):
    """An op argument as JSON values; tagged dicts for what JSON lacks.

    Raises:
        ValueError: a value no config can hold (a function, a Variable, an object).
    """
    if isinstance(value, Slot):
        return {"__tensor__": value.index}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if value is Ellipsis:
        return {"__ellipsis__": True}
    if isinstance(value, slice):
        return {"__slice__": [encode(p, where) for p in (value.start, value.stop, value.step)]}
    if type(value) is tuple:
        return {"__tuple__": [encode(v, where) for v in value]}
    if type(value) is list:
        return [encode(v, where) for v in value]
    if type(value) is dict and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: encode(v, where) for k, v in value.items()}}
    if isinstance(value, (np.dtype, eager.DType)) or (
            isinstance(value, type) and issubclass(value, np.generic)):
        return {"__dtype__": np.dtype(value).name}
    if isinstance(value, np.ndarray) and value.dtype.kind in _ARRAY_KINDS:
        return {"__array__": np.asarray(value).tolist(), "dtype": value.dtype.name}
    raise ValueError(f"{where}: the argument {value!r:.80} ({type(value).__name__}) cannot be "
                     "written to a model config; pass numbers, strings, lists, tuples, slices "
                     "or arrays, or save only the weights (model.save_weights)")


#: what `json_scalar` returns for a value that is not a JSON scalar
NOT_SCALAR = object()


def json_scalar(value, where: str):
    """``value`` when it is None, a bool, a string, an int or a finite float (a config's plain
    values); `NOT_SCALAR` for anything else.

    Raises:
        ValueError: a float that is not finite.
    """
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: config argument {value} is not finite")
        return value
    return NOT_SCALAR


def config_array(values, dtype_name, where: str) -> np.ndarray:
    """An array argument from a config: numbers or bools of a numeric dtype, all finite."""
    dtype = _config_dtype(dtype_name, where)
    try:
        array = np.asarray(values, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: unreadable array argument: {error}") from None
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise ValueError(f"{where}: array argument holds NaN or infinity")
    return array


def decode(value, where: str):
    """The op argument `encode` wrote; anything else raises `ValueError`."""
    scalar = json_scalar(value, where)
    if scalar is not NOT_SCALAR:
        return scalar
    if isinstance(value, list):
        return [decode(v, where) for v in value]
    if isinstance(value, dict) and len(value) >= 1:
        tag = next(iter(value))
        body = value[tag]
        if tag == "__tensor__" and len(value) == 1 and type(body) is int and body >= 0:
            return Slot(body)
        if tag == "__ellipsis__" and len(value) == 1 and body is True:
            return Ellipsis
        if tag == "__slice__" and len(value) == 1 and isinstance(body, list) and len(body) == 3 \
                and all(p is None or type(p) is int for p in body):
            return slice(*body)
        if tag == "__tuple__" and len(value) == 1 and isinstance(body, list):
            return tuple(decode(v, where) for v in body)
        if tag == "__dict__" and len(value) == 1 and isinstance(body, dict):
            return {str(k): decode(v, where) for k, v in body.items()}
        if tag == "__dtype__" and len(value) == 1 and isinstance(body, str):
            return _config_dtype(body, where)
        if tag == "__array__" and set(value) == {"__array__", "dtype"}:
            return config_array(body, value["dtype"], where)
    raise ValueError(f"{where}: unreadable config argument {value!r:.80}")


def _config_dtype(name, where: str) -> np.dtype:
    try:
        dtype = np.dtype(str(name))
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind not in _ARRAY_KINDS:
        raise ValueError(f"{where}: a constant must hold numbers (a number or bool dtype), "
                         f"got dtype {name!r}")
    return dtype


# -- the call on KerasTensors --------------------------------------------------------------------


def keras_tensor_op(function, name: str, args: tuple, kwargs: dict) -> KerasTensor:
    """The KerasTensor of ``function(*args, **kwargs)`` with KerasTensors among the
    arguments: a new `TFOpLambda` called on them."""
    if function.op_name == "reshape":
        args, kwargs = _batch_in_reshape(args, kwargs)
    tensors: list[KerasTensor] = []
    layer = TFOpLambda(function, template_of(tuple(args), tensors), template_of(dict(kwargs),
                                                                             tensors))
    return layer(tensors if len(tensors) > 1 else tensors[0])


def _batch_in_reshape(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """``reshape(x, (None, 16, 48))`` on a KerasTensor: a user's layer writes the batch size
    it read with ``keras.ops.shape(x)[0]``, which is ``None`` while the model is defined (TF
    2.21 accepts the reshape, giving ``(None, 16, 48)``). With ``None`` first and every other
    size given as a number, the batch is what is left over: ``-1``, which the op then runs
    with on any batch."""
    x = args[0] if args else kwargs.get("x", kwargs.get("tensor"))
    key = 1 if len(args) > 1 else next((k for k in ("newshape", "shape") if k in kwargs), None)
    if not isinstance(x, KerasTensor) or key is None:
        return args, kwargs
    shape = args[1] if key == 1 else kwargs[key]
    if not isinstance(shape, (list, tuple)) or not shape or shape[0] is not None \
            or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0
                       for d in shape[1:]):
        return args, kwargs
    shape = (-1, *shape[1:])
    if key == 1:
        return (args[0], shape, *args[2:]), kwargs
    return args, {**kwargs, key: shape}


def keras_operator(name: str, args: tuple, kwargs: dict | None = None) -> KerasTensor:
    """A KerasTensor operator (``x[...]``, ``x ** 2``, ``a @ b``): keras.ops' ``name``."""
    from convnp.keras import ops  # above the layers; loaded by the time tensors exist

    return getattr(ops, name)(*args, **(kwargs or {}))


# tensor functions, KerasTensor's operators and the masks of a model (`_masks`) reach this
# module through these hooks
symbolic.hook = keras_tensor_op
symbolic.keras_op = keras_operator
base.keras_op_hook = keras_operator
_masks.keras_op_hook = keras_operator
