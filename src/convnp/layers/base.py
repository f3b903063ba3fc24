"""The `Layer` base class and `KerasTensor`, the symbolic value of a functional model.

A layer is called in one of two ways:

* on NumPy arrays: it builds its weights from the input shape the first time, then runs
  `call` (forward) and remembers what `backward` needs;
* on `KerasTensor`s (inside `Input(...)`-based model definitions): no numbers are computed;
  the layer builds its weights from the symbolic shape and returns a new `KerasTensor` that
  records which layer produced it from which inputs. A functional `Model` walks these records
  to find its graph.

Shapes given to `build` and `compute_output_shape` include the batch axis as `None`, as in Keras.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from convnp._floats import quiet
from convnp._names import next_uid, reset_names, snake_case, unique_name  # noqa: F401
from convnp.layers import _masks, second_order, taped
from convnp.layers.input_spec import check_input_spec
from convnp.tensor.eager import to_numpy
from convnp.variables import TrackedVariables, Variable, weight_array

Shape = tuple  # a shape with None for the batch axis, e.g. (None, 64, 64, 3)

# The automatic names (unique_name, ...) live in convnp._names, a leaf module, so that the
# metrics and losses share their counter; they are imported above under their old names.


class _TapedCallState:
    """A call's state of a layer whose call is in tensor ops (`taped.run_taped`): the cache
    and the private tape its backward reads, kept per call of a shared layer."""

    __slots__ = ("cache", "tape_cache")

    def __init__(self, cache, tape_cache):
        self.cache = cache
        self.tape_cache = tape_cache


def class_snake_name(cls: type) -> str:
    """The snake-case name Keras gives layers of ``cls`` (default names, the groups of weight
    files): ``snake_case`` of the class name, or the class's own ``_keras_snake_name`` when
    Keras's class is spelt otherwise than its public name (``GroupQueryAttention`` is Keras's
    ``GroupedQueryAttention``). A subclass gets its own name."""
    return cls.__dict__.get("_keras_snake_name") or snake_case(cls.__name__)



# -- where a weight sits: Keras's variable.path ------------------------------------------------

#: The layers and models whose call or build is running, outermost first. A weight made
#: meanwhile sits below all of them in its ``path`` (``"bidirectional/forward_lstm/lstm_cell/
#: kernel"``, ``"my_block/dense/kernel"``, ``"my_model/sequential/dense/kernel"``), as Keras 3
#: names it from the name scopes open when it is made. A model opens one when it is called
#: or builds its layers (a Sequential's build, a subclassed model's call); a functional
#: model's layers are made before the model, so its name is not in their paths.
_LAYER_SCOPE: contextvars.ContextVar[tuple] = contextvars.ContextVar("convnp_layer_scope",
                                                                     default=())


#: True while a model is rebuilt from a config or a file (`from_config_layers`).
_FROM_CONFIG: contextvars.ContextVar[bool] = contextvars.ContextVar("convnp_from_config",
                                                                    default=False)


@contextmanager
def from_config_layers() -> Iterator[None]:
    """Within the block, models open no scope: a model rebuilt from a config (``from_config``,
    ``load_model``, ``model_from_json``) has layers whose paths do not start with its name,
    as in Keras 3, which builds each deserialized layer on its own before the model."""
    token = _FROM_CONFIG.set(True)
    try:
        yield
    finally:
        _FROM_CONFIG.reset(token)


@contextmanager
def _inside(layer) -> Iterator[None]:
    """Within the block, weights made by ``layer`` or by layers it holds sit below it (a
    layer already innermost, its build within its call, is not entered twice). A stand-in
    that runs a model (a subclassed model's one call) opens the model's scope instead."""
    layer = getattr(layer, "_scope_owner", None) or layer
    scope = _LAYER_SCOPE.get()
    if (scope and scope[-1] is layer) or (_FROM_CONFIG.get() and not isinstance(layer, Layer)):
        yield
        return
    token = _LAYER_SCOPE.set(scope + (layer,))
    try:
        yield
    finally:
        _LAYER_SCOPE.reset(token)


def _weight_path(layer, name: str, models: bool = True) -> str:
    """``name``'s path for a weight ``layer`` makes: the running layers' (and models') names,
    then the layer's own, then ``name``. ``models=False``: the running models left out (the
    older layout convnp's legacy ``.h5`` writer builds on, `Variable._layer_path`)."""
    outer = [running.name for running in _LAYER_SCOPE.get()
             if running is not layer and (models or isinstance(running, Layer))]
    return "/".join([*outer, layer.name, name])


# -- building a model described by a file ----------------------------------------------------

_BUDGET: contextvars.ContextVar[list | None] = contextvars.ContextVar("convnp_weight_budget",
                                                                     default=None)


@contextmanager
def weight_budget(nbytes: int, source: str) -> Iterator[None]:
    """Within the block, layers may create at most ``nbytes`` of weights in total; a weight
    that would pass the budget raises `ValueError` *before* it is allocated.

    Model loaders build the architecture a file describes under the budget of the weights the
    file actually holds, so a config declaring ``Dense(units=10**9)`` fails at once instead of
    allocating gigabytes. Only the current thread (context) is affected.
    """
    token = _BUDGET.set([int(nbytes), source])
    try:
        yield
    finally:
        _BUDGET.reset(token)


def open_weight_budget() -> tuple[int, str] | None:
    """``(bytes left, source)`` while a model file is being built (`weight_budget`), else
    None: what layers that compute while they are built (op layers) may allocate."""
    budget = _BUDGET.get()
    return None if budget is None else (budget[0], budget[1])


def _spend_weight_budget(layer: Any, name: str, shape: tuple, dtype=None) -> None:
    budget = _BUDGET.get()
    if budget is None:
        return
    try:
        count = math.prod(int(d) for d in shape)
    except (TypeError, ValueError):
        return  # the initializer reports a bad shape itself
    nbytes = count * np.dtype(dtype or layer.dtype).itemsize
    if nbytes > budget[0]:
        raise ValueError(f"{budget[1]}: layer '{layer.name}' would create weight '{name}' of "
                         f"shape {shape} ({nbytes} bytes), more than the file's weights hold "
                         f"({budget[0]} bytes left); the config does not match the weights")
    budget[0] -= nbytes



# `Layer.add_weight`'s positional orders: Keras 2's (and convnp's layers') with the name
# first, Keras 3's with the shape first (TF 2.21 takes at most shape, initializer, dtype)
_KERAS2_WEIGHT_ORDER = ("name", "shape", "initializer", "trainable", "dtype", "regularizer",
                        "constraint")
_KERAS3_WEIGHT_ORDER = ("shape", "initializer", "dtype")
_WEIGHT_DEFAULTS = {"name": None, "shape": None, "initializer": None, "trainable": True,
                    "dtype": None, "regularizer": None, "constraint": None}


def _variable_dtype(dtype) -> np.dtype:
    """``add_weight``'s ``dtype`` as a NumPy dtype (Keras's names; ``"int"`` and `int` are
    int64 as on its TensorFlow backend, `float` float32)."""
    aliases = {"int": np.int64, int: np.int64, float: np.float32, bool: np.bool_}
    try:
        return np.dtype(aliases.get(dtype, dtype))
    except TypeError:
        raise ValueError(f"add_weight(): dtype must be a dtype name such as 'float32' or "
                         f"'int64', got {dtype!r}") from None


def _refuse_non_finite(class_name: str, config: Any) -> None:
    """A config (from a file or code) may not hold NaN or an infinity anywhere: no layer
    hyperparameter means anything non-finite (``epsilon=inf`` would silently zero a
    BatchNormalization)."""
    stack = [("", config)]
    while stack:
        key, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{class_name}: config value {key or 'config'}={value} is not "
                             "finite; hyperparameters must be finite numbers")
        if isinstance(value, dict):
            stack.extend((str(k), v) for k, v in value.items())
        elif isinstance(value, (list, tuple)):
            stack.extend((key, v) for v in value)


def assign_weights(owner: str, variables: list[Variable], weights) -> None:
    """Overwrite ``variables`` from the arrays ``weights`` (same order), after checking the
    count and every shape, so a `ValueError` leaves them all as they were. ``owner`` names
    whose weights they are in messages (``"layer 'conv2d'"``)."""
    if weights is None or isinstance(weights, (dict, str, bytes)) or not hasattr(
            weights, "__iter__"):
        raise TypeError(f"set_weights of {owner} expects a list of {len(variables)} arrays of "
                        f"shapes {[tuple(v.shape) for v in variables]}, got "
                        f"{type(weights).__name__}")
    weights = list(weights)
    if len(weights) != len(variables):
        raise ValueError(f"{owner} has {len(variables)} weight arrays, got {len(weights)} "
                         f"(expected {[v.name for v in variables]})")
    arrays = []
    for i, (variable, value) in enumerate(zip(variables, weights)):
        array = weight_array(value, variable.dtype,
                             f"weight {i} ('{variable.name}') of {owner}", tuple(variable.shape))
        if array.shape != tuple(variable.shape):
            raise ValueError(f"weight {i} ('{variable.name}') of {owner} has shape "
                             f"{variable.shape}, got an array of shape {array.shape}")
        arrays.append(array)
    for variable, array in zip(variables, arrays):
        variable.assign(array)


# How an operation on KerasTensors becomes a layer: set by `convnp.layers.tf_op`, which knows
# those layers (this module is below them). ``(tensor, other, op, merge layer or None, name or
# None) -> KerasTensor``, or NotImplemented for an operand it does not take.
arithmetic_hook: Any = None


# ``(keras.ops function name, args) -> KerasTensor``: set by `convnp.layers.op_layer` (the op
# functions live above this module).
keras_op_hook: Any = None

# ``(tensors, call) -> output shape(s)``: a trial of a user's call on tensors whose sizes are
# tied, fed by running the graph they come from; set by `convnp.models.functional`
# (`trial_through_sources`), which knows graphs.
tied_trial_hook: Any = None


def _keras_op(name: str, reflected: bool = False):
    """A KerasTensor operator method calling the keras.ops function ``name`` (the op then
    becomes a layer: `convnp.layers.op_layer`)."""
    def method(self: KerasTensor, *other):
        return keras_op_hook(name, (*other, self) if reflected else (self, *other))
    return method


def _operator(op: str, merge: str | None):
    """A KerasTensor operator method: ``op`` of `TensorFlowOpLayer` with a number, the merge
    layer ``merge`` with another KerasTensor."""
    def method(self: KerasTensor, other):
        return arithmetic_hook(self, other, op, merge, None)
    return method


class KerasTensor:
    """A symbolic tensor: a shape, and the layer call that produced it.

    Attributes:
        shape: full shape with ``None`` for the batch axis.
        layer: the layer whose output this is (``InputLayer`` for model inputs).
        inputs: the `KerasTensor`s that layer was called on (empty for inputs).
        dtype: always ``"float32"``.
    """

    def __init__(self, shape: Shape, layer: Layer | None = None,
                 inputs: list[KerasTensor] | None = None, name: str | None = None):
        self.shape = tuple(shape)
        self.layer = layer
        self.inputs = list(inputs or [])
        self.name = name or (layer.name if layer is not None else "keras_tensor")
        self.dtype = "float32"
        #: which call of ``layer`` made this tensor (its position in ``layer.inbound_nodes``)
        self.node_index = 0
        #: for the value a call with several outputs makes (`record_outputs`): the output
        #: tensors users hold, one `OutputPick` each; None for every other tensor
        self.outputs: list[KerasTensor] | None = None
        #: for a call with several tensor arguments (`_record_call_with_arguments`): its
        #: ``(inputs, args, kwargs)`` with `Slot` markers for ``inputs``; None otherwise
        self.call_template: tuple | None = None
        #: the steps a `Masking` layer (or a layer handing its mask on) marks as kept, as
        #: Keras's ``_keras_mask``: a boolean KerasTensor ``(batch, steps)``, or None
        self._keras_mask: KerasTensor | None = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape} name={self.name}>"

    # Arithmetic inside a model definition, as Keras 3 allows: ``x / 255.0``, ``1.0 - x``,
    # ``a * b``. A number (or one per channel) on either side becomes a `TensorFlowOpLayer`; two
    # KerasTensors, the merge layer (Add, Subtract, Multiply; dimensions of 1 broadcast).
    # NumPy's ufuncs are kept out (``np.float32(2) * x`` comes here, reflected).
    __array_ufunc__ = None
    __add__ = __radd__ = _operator("add", "Add")
    __sub__ = _operator("sub", "Subtract")
    __rsub__ = _operator("rsub", None)  # number - x (two tensors never come here)
    __mul__ = __rmul__ = _operator("mul", "Multiply")
    __truediv__ = _operator("truediv", None)
    __rtruediv__ = _operator("rtruediv", None)

    def __neg__(self):
        return arithmetic_hook(self, -1.0, "mul", None, "negative")

    # The other operators Keras 3 gives its symbolic tensors become op layers (`TFOpLambda`)
    # of the matching keras.ops function: ``x[..., :3]``, ``x ** 2``, ``a @ b``, ``abs(x)``.
    # A KerasTensor is not iterable (``__getitem__`` alone would make Python try).
    __getitem__ = _keras_op("get_item")
    __pow__ = _keras_op("power")
    __rpow__ = _keras_op("power", reflected=True)
    __matmul__ = _keras_op("matmul")
    __rmatmul__ = _keras_op("matmul", reflected=True)
    __abs__ = _keras_op("abs")
    # Comparisons and boolean operators, as Keras 3's symbolic tensors have them (``x > 0.5``
    # in ``keras.ops.where(x > 0.5, x, 0.0)``): boolean op layers. ``==`` and ``!=`` keep
    # Python's meaning (identity), which the graph code relies on.
    __gt__ = _keras_op("greater")
    __ge__ = _keras_op("greater_equal")
    __lt__ = _keras_op("less")
    __le__ = _keras_op("less_equal")
    __and__ = _keras_op("logical_and")
    __or__ = _keras_op("logical_or")
    __invert__ = _keras_op("logical_not")

    def __iter__(self):
        raise TypeError(f"KerasTensor {self.name!r} is symbolic and cannot be iterated; index "
                        "it (x[:, 0]) or split it with layers")

    def __array_function__(self, func, types, args, kwargs):
        name = getattr(func, "__name__", "function")
        raise TypeError(f"numpy.{name} cannot compute on KerasTensor {self.name!r}, a symbolic "
                        f"tensor of a model being built: use keras.ops.{name} (it becomes a "
                        "layer of the model) or a keras.layers.Lambda")

    #: how tensor functions recognise a KerasTensor (`convnp.tensor.symbolic`)
    _convnp_keras_tensor = True


class InboundNode:
    """One call of a layer on symbolic tensors: what it read and what it made.

    A layer called twice (shared weights, e.g. the two towers of a siamese net) has two
    inbound nodes; ``layer.inbound_nodes[i].output_tensors`` is what its i-th call returned.
    """

    __slots__ = ("input_tensors", "output_tensors")

    def __init__(self, input_tensors: list[KerasTensor], output_tensors: list[KerasTensor]):
        self.input_tensors = list(input_tensors)
        self.output_tensors = list(output_tensors)


def record_call(layer, inputs: list[KerasTensor], output: KerasTensor) -> KerasTensor:
    """Add the call ``output = layer(inputs)`` to ``layer.inbound_nodes``; return ``output``."""
    nodes = layer.__dict__.setdefault("_inbound_nodes", [])
    output.node_index = len(nodes)
    nodes.append(InboundNode(inputs, [output]))
    return output


def several_shapes(shape) -> bool:
    """Whether ``shape`` (what `compute_output_shape` gave) is a list of shapes, one per output
    of a layer that returns several tensors, rather than one shape."""
    if not isinstance(shape, (list, tuple)) or not shape:
        return False
    parts = [isinstance(s, (list, tuple)) for s in shape]
    if not any(parts):
        return False
    if not all(parts) or any(isinstance(d, (list, tuple)) for s in shape for d in s):
        raise TypeError(f"a layer call's outputs must be one tensor or a flat list or tuple of "
                        f"tensors, got output shapes {shape}")
    return True


def record_outputs(layer, inputs: list[KerasTensor], shapes: list) -> list[KerasTensor]:
    """Add a call of ``layer`` that returns several tensors (one per shape in ``shapes``) to
    ``layer.inbound_nodes``; return its output tensors.

    The graph keeps such a call's outputs as one value, the list the call returns (the
    hidden tensor made here, whose ``outputs`` are the tensors returned); each returned tensor
    takes its part of that list through an `OutputPick`. Like Keras's, each output's history
    is the layer, its call and the output's index (`output_source`)."""
    whole = KerasTensor(tuple(tuple(s) for s in shapes), layer=layer, inputs=inputs)
    nodes = layer.__dict__.setdefault("_inbound_nodes", [])
    whole.node_index = len(nodes)
    whole.outputs = []
    for index, shape in enumerate(shapes):
        part = KerasTensor(shape, layer=OutputPick(layer, index, len(shapes)), inputs=[whole])
        part.node_index = whole.node_index
        whole.outputs.append(part)
    nodes.append(InboundNode(inputs, whole.outputs))
    return list(whole.outputs)


def output_source(tensor: KerasTensor) -> tuple[Any, int]:
    """``(layer, output index)`` that made ``tensor``, as Keras's history names it: an output
    of a call with several outputs names the layer called, not its `OutputPick`."""
    if isinstance(tensor.layer, OutputPick):
        return tensor.layer.source, tensor.layer.index
    return tensor.layer, 0


def _node_tensor(layer, index: int, kind: str, what: str):
    nodes = getattr(layer, "_inbound_nodes", None) or []
    if not nodes:
        raise AttributeError(f"layer '{layer.name}' has never been called and thus has no "
                             f"defined {what}")
    if not -len(nodes) <= index < len(nodes):
        raise ValueError(f"layer '{layer.name}' has {len(nodes)} inbound node(s), asked for "
                         f"node {index}")
    # an InputLayer's node reads nothing: its input is its output, as in Keras
    tensors = getattr(nodes[index], kind) or nodes[index].output_tensors
    return tensors[0] if len(tensors) == 1 else list(tensors)


class NodeAccess:
    """``input`` / ``output`` of layers (and models used as layers), Keras 3 style: the
    tensors of the first call; ``get_input_at(i)`` / ``get_output_at(i)`` for the others."""

    @property
    def inbound_nodes(self) -> list[InboundNode]:
        return list(getattr(self, "_inbound_nodes", None) or [])

    def get_input_at(self, node_index: int):
        return _node_tensor(self, node_index, "input_tensors", "input")

    def get_output_at(self, node_index: int):
        return _node_tensor(self, node_index, "output_tensors", "output")


def _is_symbolic(inputs) -> bool:
    if isinstance(inputs, KerasTensor):
        return True
    return isinstance(inputs, (list, tuple)) and len(inputs) > 0 and all(
        isinstance(t, KerasTensor) for t in inputs
    )


def _has_symbolic(value) -> bool:
    """Whether ``value`` is or holds (in lists, tuples, dict values) a KerasTensor."""
    if isinstance(value, KerasTensor):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_symbolic(v) for v in value)
    if isinstance(value, dict):
        return any(_has_symbolic(v) for v in value.values())
    return False


def _record_call_with_arguments(layer, inputs, args: tuple, kwargs: dict, training):
    """A user's layer called on KerasTensors with more than its input (``layer(x, skip)``,
    ``layer(x, mask=m)``, ``layer(x, scale=2.0)``): one graph node reading every tensor among
    the arguments, with the call's ``(inputs, args, kwargs)`` kept as a template (the tensors
    replaced by `Slot`s in the order of the node's inputs, `KerasTensor.call_template`); the
    graph fills it with values on each run (`taped.call_template`). ``training=`` fixes the
    call's mode, as for a one-input call.

    Raises:
        TypeError: a built-in layer (they take their input and ``training`` only), or
            arguments the layer's ``call`` does not take.
    """
    from convnp.layers._slots import template_of

    if not layer._autodiff:
        raise TypeError(f"{type(layer).__name__} layer '{layer.name}' takes its input and "
                        f"training=...; got extra arguments {taped.describe(args, kwargs)}")
    user_call = taped.user_call_of(layer)
    try:
        bound = inspect.signature(user_call).bind(layer, inputs, *args, **kwargs)
    except TypeError as error:
        raise TypeError(f"layer '{layer.name}': {error}") from None
    given = dict(bound.arguments)
    kwargs = dict(kwargs)
    if "training" in kwargs:
        training = kwargs.pop("training")
    tensors: list[KerasTensor] = []
    template = template_of((inputs, tuple(args), kwargs), tensors)
    if not layer.built:
        taped._build_from_arguments(layer, user_call, inputs, given)
    layer._fixed_training = None if training is None else bool(training)
    shapes = [tuple(t.shape) for t in tensors]
    returned: list = []  # the type of what the call returned

    def trial(zeros):
        from convnp.layers._slots import fill

        xs, call_args, call_kwargs = fill(template, list(zeros))
        if "training" in inspect.signature(user_call).parameters:
            call_kwargs = {**call_kwargs, "training": False}
        out = user_call(layer, xs, *call_args, **call_kwargs)
        returned[:] = [type(out)]
        return out

    try:
        shape = taped.trial_output_shape(layer, shapes, call=trial)
    except Exception as error:  # any failure of the user's code on zeros
        if tied_trial_hook is None:
            raise
        try:
            shape = tied_trial_hook(tensors, trial)
        except Exception:  # noqa: BLE001
            raise error from None
    outputs = _record_templated_call(layer, tensors, shape, template)
    if returned and hasattr(returned[0], "_fields") and isinstance(outputs, list):
        # a named tuple (tf.image.combined_non_max_suppression's) stays one, as in Keras
        return returned[0](*outputs)
    return outputs




def _record_templated_call(layer, tensors: list, shape, template):
    """The graph node of a call whose arguments beyond its input are kept as the output's
    ``call_template`` (one output, or several for a list of shapes)."""
    if several_shapes(shape):
        outputs = record_outputs(layer, tensors, shape)
        outputs[0].inputs[0].call_template = template
        return outputs
    out = KerasTensor(shape, layer=layer, inputs=tensors)
    out.call_template = template
    return record_call(layer, tensors, out)


def _call_with_mask(layer, inputs, mask, training):
    """A built-in layer whose ``call`` takes a mask (`GlobalAveragePooling1D`,
    `BatchNormalization`, ...) called with one: on KerasTensors, one graph node reading the
    input and the mask (its ``(inputs, args, kwargs)`` kept as `KerasTensor.call_template`,
    as Keras records the mask among the call's arguments); on arrays, its ``call`` with the
    mask as an array.

    Raises:
        TypeError: the layer's ``call`` takes no mask.
    """
    from convnp.layers._slots import template_of

    if not _masks.call_takes_mask(layer):
        raise TypeError(f"{type(layer).__name__} layer '{layer.name}' takes its input and "
                        f"training=...; its call has no mask argument, got mask={mask!r:.80}")
    input_shape = _shape_of(inputs)
    if not _is_symbolic(inputs):
        layer.ensure_built(input_shape, on_data=True)
        if training is None:
            training = taped.inherited_training()
        if training is None:
            training = taped.left_out_eager_mode(layer)
        training = bool(training)
        plain = to_numpy(mask)
        return taped.call_on_arrays(layer, inputs, training,
                                    lambda x: layer.call(x, training=training, mask=plain))
    layer.ensure_built(input_shape)
    check = getattr(layer, "check_mask", None)
    if check is not None and mask is not None and not isinstance(mask, (list, tuple)):
        check(input_shape, tuple(mask.shape) if _is_symbolic(mask) else
              (None,) + tuple(np.shape(mask))[1:])
    layer._fixed_training = None if training is None else bool(training)
    tensors: list[KerasTensor] = []
    template = template_of((inputs, (), {"mask": mask}), tensors)
    shape = layer.compute_output_shape(input_shape)
    return _record_templated_call(layer, tensors, shape, template)


def _shape_of(inputs) -> Shape | list[Shape]:
    """The Keras-style shape(s) of arrays or KerasTensors, batch axis as None."""
    if isinstance(inputs, (list, tuple)):
        return [_shape_of(x) for x in inputs]
    if isinstance(inputs, KerasTensor):
        return inputs.shape
    return (None,) + tuple(np.shape(inputs)[1:])


def _float_dtype(dtype) -> np.dtype:
    """A layer's ``dtype`` argument as a NumPy dtype. Keras 3 also takes a dtype policy: an
    object with a ``compute_dtype`` (``keras.DTypePolicy("float32")``) or the dict a Keras
    ``get_config()`` holds (``{"class_name": "DTypePolicy", "config": {"name": ...}}``)."""
    # a keras.dtype_policies.Quantized*DTypePolicy, its config, or its name
    if isinstance(dtype, dict):
        quantized = (dtype.get("config") or {}).get("mode")
    elif isinstance(dtype, str):
        quantized = dtype if "_from_" in dtype else None  # "int8_from_float32"
    else:
        quantized = getattr(dtype, "quantization_mode", None)
    if quantized:
        raise NotImplementedError(f"layer dtype: the quantized policy {quantized!r} is not "
                                  "supported (convnp does not quantize); use 'float32'")
    if isinstance(dtype, dict):
        dtype = (dtype.get("config") or {}).get("name")
    dtype = getattr(dtype, "compute_dtype", dtype)
    if dtype is float:  # Keras reads Python's float as floatx, float32 (NumPy: float64)
        return np.dtype(np.float32)
    try:
        return np.dtype(dtype or np.float32)
    except TypeError:
        raise ValueError(f"layer dtype must be a float type, got {dtype!r}") from None


class LayerContract:
    """What a model's graph relies on in everything it calls: layers, models used as layers and
    the scheduler's fused units. Each attribute has its default here, so the graph, the training
    engine and the probes read it directly; a layer sets or overrides only what differs.

    A call keeps what its backward needs in ``_cache``; `take_cache` hands it over once.
    """

    #: What the last forward call kept for `backward` (None: nothing to give).
    _cache: Any = None
    #: False when `backward` may skip the input gradient and return None (the model's backward
    #: plan sets it for calls with nothing trainable upstream, e.g. the first convolution).
    needs_input_gradient: bool = True
    #: True when the layer has an ``activation`` attribute the training step may bypass, so the
    #: loss works on the logits (sigmoid/softmax + cross-entropy, as Keras does).
    fuses_activation: bool = False
    #: True when ``call(maxpool(x)) == maxpool(call(x))`` with equal gradients, so the scheduler
    #: may run this layer after the max pooling that reads it, on the smaller tensor.
    commutes_with_max_pooling: bool = False
    #: A regularizer whose penalty on the layer's output joins the loss (None: no penalty).
    activity_regularizer: Any = None
    #: The training mode fixed by a symbolic call ``layer(x, training=...)``; None follows the
    #: model (training in fit, inference in evaluate/predict).
    _fixed_training: bool | None = None
    #: The graph of a model used as a layer (None for everything else).
    _graph: Any = None
    #: True for classes whose `call` is user code differentiated by the tape (`taped`).
    _autodiff: bool = False
    #: The mode this object runs in when its model is called directly with ``training``
    #: left out (``model(x)``): inference for most layers, training for the augmentation
    #: layers (as Keras's call-signature defaults give), None for models and users' layers,
    #: which decide for each layer inside.
    _mode_when_unset: bool | None = False
    #: Keras 3's default for ``training`` in this class's ``call``, which decides what the
    #: call passes on to the calls after it in a model run with ``training`` left out
    #: (`convnp.layers.taped.left_out_mode`): "inherit" for ``training=None``
    #: (BatchNormalization: it runs in the mode the earlier calls left), False for the
    #: dropout and noise layers (they leave inference), None for a call without ``training``
    #: (it changes nothing). Augmentation layers (``_mode_when_unset`` True) leave training.
    _keras_training_default: bool | str | None = None

    def add_loss(self, loss) -> None:
        """Add ``loss`` (a scalar tensor computed in ``call``, or a tensor it sums) to the
        training loss, as Keras's ``self.add_loss``: ``fit`` adds it to the loss and
        differentiates it (through the tape that ran ``call``); a custom loop adds
        ``model.losses`` to its loss itself. Kept until the layer's next call."""
        taped.add_loss(self, loss)

    def weights_to_train(self) -> list:
        """The weights a model holding this object trains: its ``trainable_weights`` (a
        nested model looks through its own ``trainable`` flag to its layers', as Keras
        does)."""
        return self.trainable_weights

    def take_cache(self) -> Any:
        """Hand ``_cache`` to `backward` and drop this object's reference to it.

        Releasing the forward activations as soon as backward has used them keeps peak memory at
        one set of activations per training step. Each forward call therefore allows one
        `backward`.
        """
        cache = self._cache
        if cache is None:
            raise RuntimeError(
                f"{type(self).__name__} '{self.name}': backward needs a forward call first "
                "(each call allows one backward)"
            )
        self._cache = None
        return cache

    def capture_call_state(self) -> Any:
        """What `backward` needs from the last call (a model returns its whole graph's)."""
        if self._graph is not None:
            return self._graph.capture_state()
        if self._autodiff:  # a call in tensor ops: its backward reads the call's private tape
            return _TapedCallState(self._cache, self.__dict__.get("_tape_cache"))
        return self._cache

    def restore_call_state(self, state: Any) -> None:
        """Put back what `capture_call_state` returned (a shared layer's earlier call)."""
        if self._graph is not None:
            self._graph.restore_state(state)
        elif isinstance(state, _TapedCallState):
            self._cache = state.cache
            self.__dict__["_tape_cache"] = state.tape_cache
        else:
            self._cache = state

    def clear_call_state(self) -> None:
        """Forget the last call's forward state (evaluate/predict free memory this way)."""
        if self._graph is not None:
            self._graph.clear_state()
        else:
            self._cache = None



class UnknownArgumentError(TypeError, ValueError):
    """A layer given a keyword argument it does not take. Keras 3 raises ValueError for it,
    Python itself TypeError for an unknown keyword: this is both, so either ``except``
    catches it."""


class DtypeNames:
    """Keras's names for the dtype a layer (or model) works in, read from its ``dtype``.

    Custom layers cast with them (``tf.cast(x, self.compute_dtype)``, as keras.io's
    positional embeddings do), so each is the dtype's name as a string, as in Keras 3:
    ``"float32"``, or ``"float64"`` for a layer made with ``dtype="float64"``. convnp keeps
    weights and computation in one dtype, so all the names agree.
    """

    @property
    def compute_dtype(self) -> str:
        return np.dtype(self.dtype).name

    @property
    def variable_dtype(self) -> str:
        return np.dtype(self.dtype).name

    @property
    def input_dtype(self) -> str:
        return np.dtype(self.dtype).name

    @property
    def dtype_policy(self):
        """The layer's policy as a ``keras.DTypePolicy`` (its ``name`` the dtype's name)."""
        from convnp.keras.mixed_precision import Policy

        return Policy(self.compute_dtype)

    @dtype_policy.setter
    def dtype_policy(self, policy) -> None:
        """Keras 3's ``layer.dtype_policy = "float64"`` (a name, a policy or its config).
        Taken before the layer is built, so its weights are made in that dtype; a built
        layer keeps the dtype of the weights it has, and a different one is refused."""
        dtype = _float_dtype(policy)
        if dtype.kind != "f":
            raise ValueError(f"layer dtype_policy must be a float type, got {dtype}")
        if getattr(self, "built", False) and dtype != np.dtype(self.dtype):
            raise ValueError(f"{self.name}: the dtype policy of a built layer cannot change "
                             f"from {np.dtype(self.dtype).name} to {dtype.name} in convnp; "
                             "set it before the layer is built")
        self.dtype = dtype


class OutputPick(LayerContract):
    """One output of a layer call that returns several tensors: a model with several outputs
    used as a layer, a user's layer returning a tuple, ``tf.split`` on a KerasTensor.

    The graph runs such a call once and keeps its list of outputs as one value; each output
    tensor is this pick's call on that list (`record_outputs`). Picks are the graph's
    bookkeeping, not layers: ``model.layers``, summaries and model files leave them out and
    name each output, as Keras does, by the layer called and the output's index.
    """

    def __init__(self, source, index: int, parts: int):
        self.source = source  # the layer whose call made the outputs
        self.index = index
        self.parts = parts
        self.trainable_weights: list = []  # a pick holds no weights
        self.weights: list = []

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def dtype(self):
        return self.source.dtype

    def __call__(self, values, training=None):
        return values[self.index]

    def call(self, values, training=None):
        return values[self.index]

    def backward(self, dy):
        """The gradient of the whole list of outputs: ``dy`` at this part, None elsewhere
        (the graph adds the picks' lists up; the layer called takes None as zeros)."""
        grads: list = [None] * self.parts
        grads[self.index] = dy
        return grads

    def __repr__(self) -> str:
        return f"<OutputPick {self.index} of {self.name}>"


def with_arguments(config: dict, cls: type, arguments: dict) -> None:
    """Add a user's class's constructor ``arguments`` (recorded when it was made) to its
    ``config``, leaving ``name`` out when ``cls.__init__`` cannot take it back."""
    config.update(arguments)
    params = inspect.signature(cls.__init__).parameters
    if "name" not in params and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        del config["name"]


def _listed(value):
    """A config value with a tuple (or list) written as a list; anything else as it is."""
    return list(value) if isinstance(value, (tuple, list)) else value


_AUTO_CONFIG_TYPES = (str, int, float, bool, type(None))


#: The layers Keras 3 builds when they are made (they have no weights and no build of their
#: own): count_params() answers 0 for them before any call, where other layers refuse.
_BUILT_WHEN_MADE = frozenset({
    "ReLU", "LeakyReLU", "ELU", "Softmax", "Activation", "Dropout", "SpatialDropout1D",
    "SpatialDropout2D", "SpatialDropout3D", "AlphaDropout", "GaussianDropout", "GaussianNoise",
    "ActivityRegularization", "Identity", "Masking", "UnitNormalization", "MaxPooling1D",
    "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "GlobalAveragePooling3D"})


def _built_when_made(cls) -> bool:
    """Whether ``cls`` is (or derives from) one of convnp's `_BUILT_WHEN_MADE` layers."""
    return any(c.__name__ in _BUILT_WHEN_MADE and c.__module__.startswith("convnp.")
               for c in cls.__mro__)


def _marks_built(build):
    """A user's ``build``, which leaves the layer built, as in Keras 3: ``layer.build(shape)``
    called by the user makes ``built`` True, so the first call does not build it (and make
    its weights) a second time. Its input shape is kept as a first call would keep it."""
    if getattr(build, "_marks_built", False):
        return build

    @functools.wraps(build)
    def wrapper(self, *args, **kwargs):
        result = build(self, *args, **kwargs)
        self.built = True
        if args and self.input_shape is None and isinstance(args[0], (tuple, list)):
            self.input_shape = args[0] if isinstance(args[0], list) else tuple(args[0])
        return result

    wrapper._marks_built = True
    return wrapper


def _is_flat_shape(value) -> bool:
    """Whether ``value`` is one shape written as a list (``[None, 4]``), not a list of the
    shapes of several inputs."""
    return isinstance(value, list) and all(
        d is None or isinstance(d, (int, np.integer)) for d in value)


def _records_direct_build(build):
    """One of convnp's own ``build`` methods, made ready for a direct call, as Keras 3 layers
    are: blocks written for Keras 3 build their sublayers in their own ``build``
    (``self.norm.build(input_shape)``, ``self.dense.build([None, d])``). The shape is kept as
    a first call would keep it, so the first call checks its input against it (a layer
    built directly and never given its shape failed there), and one shape written as a
    list means that shape, not a list of inputs. Only a lone positional shape is kept:
    a layer of several inputs (``MultiHeadAttention.build(query_shape, value_shape)``)
    keeps its shapes from its first call."""
    if getattr(build, "_records_direct_build", False):
        return build

    @functools.wraps(build)
    def wrapper(self, *args, **kwargs):
        if len(args) == 1 and not kwargs:
            shape = args[0]
            if _is_flat_shape(shape):
                shape = tuple(shape)
            result = build(self, shape)
            if self.input_shape is None and isinstance(shape, (tuple, list)):
                self.input_shape = shape if isinstance(shape, list) else tuple(shape)
            return result
        return build(self, *args, **kwargs)

    wrapper._records_direct_build = True
    return wrapper


@functools.cache
def _written_on_layer(cls) -> bool:
    """Whether ``cls`` is a user's layer class written on `Layer` alone (no convnp layer
    between them). Asked on every call of a built layer: answered once per class."""
    mro = cls.__mro__
    return not any(k.__module__.startswith("convnp.") for k in mro[:mro.index(Layer)])


def _auto_config_applies(cls) -> bool:
    """Whether ``cls`` is a user's layer class written on `Layer` alone that keeps the base
    `get_config`: Keras 3 then makes its config from the constructor's arguments."""
    return cls.get_config is Layer.get_config and _written_on_layer(cls)


def _plain_values(value) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_plain_values(v) for v in value)
    if isinstance(value, dict):
        return all(_plain_values(v) for v in value.values())
    return isinstance(value, _AUTO_CONFIG_TYPES)


def _constructor_arguments(cls, args: tuple, kwargs: dict) -> dict | None:
    """The arguments a user's layer was made with, by name, defaults included and ``**kwargs``
    spread (``name`` left out: the config has it), as Keras 3 records them for a layer with
    no get_config; None when they cannot rebuild it (positional-only or extra positional
    arguments, or a value other than strings, numbers, booleans and None, in lists too)."""
    signature = inspect.signature(cls.__init__)
    try:
        bound = signature.bind(None, *args, **kwargs)
    except TypeError:
        return None
    params = list(signature.parameters.values())[1:]
    if any(p.kind is p.POSITIONAL_ONLY for p in params):
        return None
    bound.apply_defaults()
    found = dict(list(bound.arguments.items())[1:])
    for p in params:
        if p.kind is p.VAR_KEYWORD:
            found.update(found.pop(p.name, {}))
        elif p.kind is p.VAR_POSITIONAL and found.pop(p.name, ()):
            return None
    found.pop("name", None)
    for key in ("input_shape", "batch_input_shape", "input_dim"):
        # Keras 3's Layer takes these through **kwargs, so its config of a class with no
        # __init__ of its own leaves them out unless they were given
        if found.get(key, 0) is None:
            del found[key]
    return found if _plain_values(found) else None


class Layer(DtypeNames, LayerContract, TrackedVariables, NodeAccess):
    """Base class of every layer.

    Subclasses implement `build` (create weights with `add_weight`), `call` (forward, keeping
    what backward needs), `backward` (return the input gradient, set each variable's `.grad`),
    `compute_output_shape` and `get_config`.

    Args:
        name: unique name; derived from the class name when omitted.
        trainable: whether the layer's weights are updated by training.
        dtype: dtype of the weights and of the computation (default float32). Tests use
            ``"float64"`` for numerical gradient checks.
        input_shape: shape of one example (no batch axis); lets the first layer of a
            `Sequential` model build before it sees data. ``input_dim=n`` (Keras 2's
            spelling) is ``input_shape=(n,)``.
        activity_regularizer: a penalty on the layer's output added to the loss (as Keras's
            base layer takes it, so a user's layer saved by Keras loads); ``autocast`` is
            accepted for the same reason and has no effect.
    """

    #: what inputs must look like (Keras' `InputSpec`, or a list of them), checked on every
    #: call before anything is built or computed; None accepts any input
    input_spec = None

    #: Constructor arguments the layer keeps under their own names; `get_config` adds them as
    #: they are, after the base entries (a subclass extends its parent's tuple).
    config_keys: tuple[str, ...] = ()

    #: Keras's: a layer whose output gets the mask `compute_mask` gives (by default the
    #: input's mask, handed on unchanged: `Dense`, `Dropout`, `Activation`, ...); the others
    #: drop a mask, with Keras's warning (see `convnp.layers._masks`). A class defining
    #: `compute_mask` supports masking unless it says otherwise, as in Keras.
    supports_masking: bool = False
    #: whether `compute_mask` may give a mask when the input carries none (`Masking`,
    #: ``Embedding(mask_zero=True)``): a model holding such a layer carries masks while it
    #: runs (`convnp.models.mask_flow`)
    _makes_masks: bool = False

    #: Like `config_keys`, for arguments kept as a number or a tuple: a tuple is written as a
    #: list, the way Keras' configs hold pairs such as a factor range or a padding.
    config_list_keys: tuple[str, ...] = ()

    def __new__(cls, *args, **kwargs):
        instance = super().__new__(cls)
        if _auto_config_applies(cls):
            instance._auto_config = _constructor_arguments(cls, args, kwargs)
        return instance

    def __init__(self, *, name: str | None = None, trainable: bool = True, dtype=None,
                 input_shape=None, batch_input_shape=None, activity_regularizer=None,
                 autocast: bool = True, input_dim=None, **kwargs):
        if kwargs:
            raise UnknownArgumentError(
                f"{type(self).__name__} got unexpected keyword argument(s) {sorted(kwargs)}"
            )
        if activity_regularizer is not None:  # Keras's base Layer takes it (and autocast,
            from convnp import regularizers  # which float32-only computing has no use for)

            self.activity_regularizer = regularizers.get(activity_regularizer)
        if name is not None and not isinstance(name, str):
            raise TypeError(f"layer name must be a str, got {type(name).__name__}")
        self.name = name or unique_name(class_snake_name(type(self)))
        self.trainable = bool(trainable)
        self.dtype = _float_dtype(dtype)
        if self.dtype.kind != "f":
            raise ValueError(f"layer dtype must be a float type, got {self.dtype}")
        self.built = False
        self._variables: list[Variable] = []
        self.input_shape_arg: Shape | None = None
        if batch_input_shape is not None:
            self.input_shape_arg = tuple(batch_input_shape)
        elif input_shape is not None:
            self.input_shape_arg = (None,) + tuple(input_shape)
        elif input_dim is not None:  # Keras 2's Dense(32, input_dim=784), kept by Keras 3
            self.input_shape_arg = (None, input_dim)
        self.input_shape: Shape | None = None
        self.output_shape: Shape | None = None

    # -- weights ---------------------------------------------------------------------------

    def add_weight(self, *args, name=None, shape=None, initializer=None,
                   trainable: bool = True, dtype=None, regularizer=None,
                   constraint=None, autocast: bool = True, aggregation="none",
                   overwrite_with_gradient: bool = False, synchronization="auto") -> Variable:
        """Create a variable of this layer, initialised now.

        Keras 2 (``add_weight(name, shape, initializer, ...)``, a name first) and Keras 3
        (``add_weight(shape, initializer, dtype)``, a shape first, or keywords) spellings both
        work; ``regularizer`` (a `tf.keras.regularizers` object or
        name) adds its penalty to ``losses``; ``constraint`` (a
        `tf.keras.constraints` object, name or function) projects the variable after every
        optimizer update. ``dtype`` is the layer's unless given (``"int"`` is int64, as on
        Keras's TensorFlow backend, e.g. a step counter); with no ``initializer`` a float
        variable starts glorot-uniform, any other zeros, as in Keras 3. Keras 3's
        ``autocast``, ``aggregation``, ``overwrite_with_gradient`` and ``synchronization``
        are accepted and change nothing here (no mixed precision, no replicas).
        """
        from convnp import constraints, initializers  # leaf modules, imported when needed

        if args:
            given = {"name": name, "shape": shape, "initializer": initializer,
                     "trainable": trainable, "dtype": dtype, "regularizer": regularizer,
                     "constraint": constraint}
            order = _KERAS2_WEIGHT_ORDER if isinstance(args[0], str) else _KERAS3_WEIGHT_ORDER
            if len(args) > len(order):
                raise TypeError(f"add_weight() takes at most {len(order)} positional "
                                f"arguments when the first is a "
                                f"{'name' if order is _KERAS2_WEIGHT_ORDER else 'shape'}, "
                                f"got {len(args)}")
            for key, value in zip(order, args):
                if given[key] is not _WEIGHT_DEFAULTS[key]:
                    raise TypeError(f"add_weight() got multiple values for argument {key!r}")
                given[key] = value
            name, shape, initializer = given["name"], given["shape"], given["initializer"]
            trainable, dtype = given["trainable"], given["dtype"]
            regularizer, constraint = given["regularizer"], given["constraint"]
        if regularizer is not None:
            from convnp import regularizers

            regularizer = regularizers.get(regularizer)
        if constraint is not None and not callable(constraint):
            constraint = constraints.get(constraint)
        if shape is None:
            shape = ()
        if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
            # TF 2.21 refuses a bare number (ValueError): a shape is a tuple, (n,) for n values
            raise ValueError(  # noqa: TRY004 - TF 2.21's class for it
                f"add_weight(): shape must be a tuple of ints such as ({shape},), got the "
                f"number {shape!r}")
        if name is None:
            name = f"variable_{len(self._variables)}" if self._variables else "variable"
        dtype = self.dtype if dtype is None else _variable_dtype(dtype)
        if initializer is None:
            initializer = "glorot_uniform" if np.issubdtype(dtype, np.floating) else "zeros"
        init = initializers.get(initializer)
        _spend_weight_budget(self, name, tuple(shape), dtype)
        value = init(tuple(shape), dtype=dtype)
        variable = Variable(value, name=name, trainable=trainable, dtype=dtype,
                            constraint=constraint)
        variable.path = _weight_path(self, name)
        variable._layer_path = _weight_path(self, name, models=False)
        self._variables.append(variable)
        if regularizer is not None:  # its penalty joins `losses` (and fit's loss)
            self.__dict__.setdefault("_weight_regularizers", []).append((variable, regularizer))
        return variable

    def add_variable(self, shape, initializer=None, dtype=None, trainable: bool = True,
                     autocast: bool = True, regularizer=None, constraint=None,
                     aggregation="none", overwrite_with_gradient: bool = False,
                     name=None) -> Variable:
        """Keras 3's other name of `add_weight`, with the shape first."""
        return self.add_weight(shape=shape, initializer=initializer, dtype=dtype,
                               trainable=trainable, regularizer=regularizer,
                               constraint=constraint, name=name)

    @property
    def weights(self) -> list[Variable]:
        return list(self._variables) + [
            v for layer in getattr(self, "_tracked_layers", ()) for v in layer.weights]

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value) -> None:
        # Kept as a bool whatever is assigned, as Keras does: the course's fine-tuning cell
        # ships as ``layer.trainable = None``, which freezes the layer and reads back False.
        self._trainable = bool(value)

    @property
    def trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return []
        return [v for v in self._variables if v.trainable] + [
            v for layer in getattr(self, "_tracked_layers", ()) for v in layer.trainable_weights]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return self.weights
        return [v for v in self._variables if not v.trainable] + [
            v for layer in getattr(self, "_tracked_layers", ())
            for v in layer.non_trainable_weights]

    # -- the symbolic tensors of its calls (Keras's `layer.input/output`: the first call) ----
    @property
    def input(self):
        """The tensor this layer was first called on (a list for merge layers)."""
        return self.get_input_at(0)

    @property
    def output(self):
        """The tensor this layer's first call returned (``model.get_layer(n).output`` builds
        feature extractors)."""
        return self.get_output_at(0)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "compute_mask" in vars(cls) and "supports_masking" not in vars(cls):
            cls.supports_masking = True  # Keras: a layer with its own compute_mask
            if not cls.__module__.startswith("convnp."):
                cls._makes_masks = True  # a user's: it may make masks of its own
        # a user's layer with `call` in tensor ops and no `backward` gets its gradients from
        # the tape (see convnp.layers.taped)
        taped.prepare_subclass(cls, Layer)
        if "build" in vars(cls):
            if cls.__module__.startswith("convnp."):
                cls.build = _records_direct_build(vars(cls)["build"])
            else:
                cls.build = _marks_built(vars(cls)["build"])

    @property
    def losses(self) -> list:
        """Keras's ``layer.losses``: what this layer and the layers it holds added with
        `add_loss` on their last call, then the penalties of their weight regularizers
        (tensors a recording tape differentiates)."""
        from convnp.layers._penalties import penalty, regularized_weights

        return taped.added_losses(self) + [penalty(v, r) for v, r in regularized_weights(self)]

    def get_weights(self) -> list[np.ndarray]:
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights) -> None:
        """Overwrite every weight from a list in `get_weights` order (checked first: nothing is
        written when the count or a shape is wrong)."""
        assign_weights(f"layer '{self.name}'", self.weights, weights)

    def count_params(self) -> int:
        """The number of scalars in the weights.

        Raises:
            ValueError: the layer is not built and has no weights yet (as in Keras 3, for
                which only its weightless layers below are built when made).
        """
        if not self.built and not self.weights and not _built_when_made(type(self)):
            raise ValueError(f"count_params() of layer '{self.name}': the layer is not built "
                             "yet; call it on data or build(input_shape) first")
        return int(sum(v.value.size for v in self.weights))

    # -- the interface subclasses fill in --------------------------------------------------

    def build(self, input_shape) -> None:
        """Create the weights for inputs of ``input_shape`` (batch axis ``None``)."""
        self.built = True

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_mask(self, inputs, mask=None):
        """Keras's: the mask of the output of a call on ``inputs`` whose mask is ``mask`` (a
        list of masks for a list of inputs), used when `supports_masking` is set; KerasTensors
        give a tensor of the model, arrays an array. The default hands ``mask`` on."""
        return mask

    def call(self, inputs, training: bool = False):
        raise NotImplementedError(f"{type(self).__name__}.call")

    def backward(self, dy):
        raise NotImplementedError(f"{type(self).__name__}.backward")

    #: False while a backward pass needs only the input gradient (a saliency map, a gradient
    #: penalty's inner gradient): layers whose weight gradients are costly (convolutions,
    #: Dense) then leave them out (their ``.grad`` is not set).
    needs_weight_gradients: bool = True

    #: How second-order gradients pass through a layer that needs no rule of its own
    #: (`convnp.layers.second_order.by_kind`): "diagonal" (it acts number by number: the
    #: tangent goes through ``backward``), "linear" (its call is linear in the input: the
    #: tangent goes through ``call``), or None (no second-order rule, unless the class
    #: overrides `second_order`).
    second_order_kind: str | None = None

    def second_order(self, dy, t_dx, t_weights: dict):
        """For second-order gradients through the last call: given the output gradient
        ``dy`` its backward received, a cotangent ``t_dx`` of the input gradient it returned
        and cotangents of its weight gradients (``{id(variable): array}``), return the
        cotangent of ``dy``, the cotangent of the input (None for zero) and the cotangents
        of the weights (by id). See `convnp.layers.second_order`."""
        if self._autodiff:  # a call in tensor ops: its private tape's records have theirs
            return taped.second_order_of_call(self, dy, t_dx, t_weights)
        return second_order.by_kind(self, dy, t_dx, t_weights)

    def curvature_term(self, dy, t_dx):
        """A "diagonal" layer's cotangent of its input from its own second derivative
        (None: piecewise linear)."""

    def second_order_reads_input(self) -> bool:
        """Whether the backward of the last call reads its input's values (a ReLU's mask,
        a normalization's statistics, a fused activation), not only its weights or constant
        factors. TensorFlow then counts an input gradient that went through this call as
        depending on everything upstream of it, so differentiating that gradient again gives
        those weights zeros, not None (`convnp.layers.second_order.graph_rule`). A layer
        with a kernel reads its input only through a fused activation."""
        if getattr(self, "kernel", None) is not None and hasattr(self, "activation"):
            from convnp import activations

            return self.activation is not activations.get("linear")
        return self.second_order_kind != "linear"

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"name": self.name}
        auto = vars(self).get("_auto_config")
        if auto is None and "_auto_config" in vars(self) \
                and type(self).get_config is Layer.get_config:
            # as TF 2.21: a config without the arguments would rebuild another layer (one
            # made with ``act=ReLU()`` would come back without it)
            from convnp._checks import NotSavableError

            raise NotSavableError(
                f"layer '{self.name}' of the class {type(self).__name__} was made with "
                "constructor arguments that are not plain values (numbers, strings, booleans, "
                "None, lists and dicts of them), so no config can be made for it "
                f"automatically; override {type(self).__name__}.get_config() to return them "
                "(and from_config() to rebuild them)")
        if auto is not None and type(self).get_config is Layer.get_config:
            # a user's layer with no get_config of its own: its constructor arguments, as
            # Keras 3 writes them
            with_arguments(config, type(self), auto)
        config["trainable"] = self.trainable
        config["dtype"] = self.dtype.name
        if self.input_shape_arg is not None:
            config["batch_input_shape"] = list(self.input_shape_arg)
        config.update((key, getattr(self, key)) for key in self.config_keys)
        config.update((key, _listed(getattr(self, key))) for key in self.config_list_keys)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        _refuse_non_finite(cls.__name__, config)
        return cls(**config)

    # -- calling ---------------------------------------------------------------------------

    def check_input_shape(self, input_shape) -> None:
        """Raise ValueError if ``input_shape`` cannot feed this (built) layer."""
        expected = self.input_shape
        if expected is None or isinstance(expected, list):
            return
        got = tuple(input_shape)
        if len(got) != len(expected) or any(
            e is not None and g is not None and e != g for e, g in zip(expected, got)
        ):
            raise ValueError(
                f"layer '{self.name}' expects input of shape {expected}, got {got}"
            )

    def ensure_built(self, input_shape, on_data: bool = False) -> None:
        """Build for ``input_shape`` on the first call. ``on_data``: the call is on arrays, so
        a user's layer (whose output shape would take a trial run of its ``call``) finds it
        from that call instead: its code runs once per call, as in Keras, and an unbatched
        input (one image in a ``Dataset.map``) is not taken for a batch of one."""
        check_input_spec(self.name, self.input_spec, input_shape)
        if not self.built:
            with _inside(self):
                self.build(input_shape)
            self.built = True
            if self._checkpoint_pending is not None:
                self._apply_checkpoint_pending()
            self.input_shape = input_shape if not isinstance(input_shape, list) else list(input_shape)
            if not (on_data and self._autodiff):
                self.output_shape = self.compute_output_shape(input_shape)
        elif not _written_on_layer(type(self)):
            self.check_input_shape(input_shape)
        # (a user's layer on Layer alone, once built, takes inputs of any shape its
        # input_spec allows, as in Keras 3: a weightless one is called on other sizes)

    @quiet  # infinities and NaNs without NumPy's warnings, as TensorFlow (`convnp._floats`)
    def __call__(self, inputs, *args, training: bool | None = None, **kwargs):
        """Run the layer on arrays, or record a call on `KerasTensor`s.

        ``training`` given with KerasTensors fixes the mode of this call in the model for good,
        as in Keras: ``BatchNormalization()(x, training=True)`` uses batch statistics even in
        ``predict`` (the course's ResNet-50 blocks are written this way). Left as None, the
        call follows the model (training in fit, inference in evaluate/predict).

        A user's layer whose ``call`` takes more (``call(self, a, b)``, ``call(self, x,
        factor=2.0)``) gets them on arrays and tensors (`taped.call_with_arguments`).

        Masks go as in Keras (`convnp.layers._masks`): a layer whose ``call`` takes ``mask``
        gets its input's when none is given, and the output carries the mask `compute_mask`
        gives when the layer `supports_masking`.
        """
        with _inside(self):  # the layers it calls make their weights below it
            return self._masked_call(inputs, args, training, kwargs)

    def _masked_call(self, inputs, args: tuple, training, kwargs: dict):
        """`__call__` inside the layer's scope."""
        carried = _masks.mask_of(inputs)
        if not args and not kwargs and not self._makes_masks and not _masks.any_mask(carried):
            return self._call(inputs, args, training, kwargs)  # no mask anywhere: the usual
        if "mask" in kwargs and kwargs["mask"] is None:
            del kwargs["mask"]  # mask=None: the input's, as when left out
        found = _masks.auto_masks(self, inputs, args, kwargs) \
            if args or kwargs or _masks.any_mask(carried) else {}
        if found and (args or kwargs or training is not None or not isinstance(
                inputs, KerasTensor)) and (_is_symbolic(inputs) or any(
                    _has_symbolic(v) for v in (*args, *kwargs.values()))):
            # Keras records a filled-in mask in the model only for a call on one tensor with
            # nothing else given; the others reach the call when the model runs
            # (`convnp.models.mask_flow`), as in Keras
            found = {}
        kwargs.update(found)
        previous = kwargs.get("mask")
        if previous is None:
            previous = carried
        out = self._call(inputs, args, training, kwargs)
        _masks.hand_on(self, inputs, out, previous)
        return out

    def _call(self, inputs, args: tuple, training, kwargs: dict):
        """`__call__` once its mask is settled."""
        if len(args) == 1 and kwargs.keys() <= {"mask"} and training is None \
                and (args[0] is None or isinstance(args[0], (bool, np.bool_))) \
                and _is_symbolic(inputs):
            training, args = args[0], ()  # Keras 2's layer(x, True)
        if kwargs and kwargs.keys() == {"mask"} and not args and not self._autodiff:
            return _call_with_mask(self, inputs, kwargs["mask"], training)
        if args or kwargs:
            if _is_symbolic(inputs) or any(_has_symbolic(v) for v in (*args, *kwargs.values())):
                return _record_call_with_arguments(self, inputs, args, kwargs, training)
            return taped.call_with_arguments(self, inputs, args, kwargs, training)
        input_shape = _shape_of(inputs)
        self.ensure_built(input_shape, on_data=not _is_symbolic(inputs))
        if _is_symbolic(inputs):
            tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
            self._fixed_training = None if training is None else bool(training)
            shape = self.compute_output_shape(input_shape)
            if several_shapes(shape):  # a call returning a tuple or list of tensors
                outputs = record_outputs(self, tensors, shape)
                named = self.__dict__.get("_named_outputs")  # a user's call returned one
                return named(*outputs) if named is not None else outputs
            return record_call(self, tensors, KerasTensor(shape, layer=self, inputs=tensors))
        if training is None:  # inside a user's call: the mode of that call (Keras 3)
            training = taped.inherited_training()
        if training is None:  # in a model called with training left out: its call context
            training = taped.left_out_eager_mode(self)
        if training is not None or not self._autodiff:
            # a user's layer with no mode at all keeps None: its call's own default decides,
            # and the layers it runs take theirs (Keras 3)
            training = bool(training)
        # the public boundary: kernels see plain ndarrays, the caller gets EagerTensors (and
        # an active GradientTape records the call, with `backward` as its VJP)
        return taped.call_on_arrays(self, inputs, training,
                                    lambda x: self.call(x, training=training))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"

