"""Keras 3's operation entries (``keras.ops.mean(x, axis=[1, 2])`` in a functional model) and
convnp's `TFOpLambda` layers, both ways.

Keras 3 writes a ``keras.ops`` function called on symbolic tensors as an entry of module
``keras.src.ops.<submodule>`` named by the operation class (``Mean``), with the class's
constructor arguments in ``config`` and the function's other arguments (the tensors among
them) in the node's ``args``. `keras_operations.OPERATIONS` lists which arguments go where.
Values JSON lacks are tagged dicts: ``__slice__``, ``__ellipsis__``, ``__tensor__`` or
``__numpy__`` (a constant array); tuples are lists.

Reading: the class names a ``keras.ops`` function convnp has; the file's arguments are bound
to that function's signature before anything is built, so an argument convnp's function does
not take is refused by name. Writing: a `TFOpLambda` whose function *is* ``keras.ops``'s
(``tf.reduce_mean`` is not, ``tf.exp`` is) becomes such an entry; others are refused by the
file writer. Only functions are looked up, never imported from a name in the file.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import numpy as np

from convnp.io.keras_operations import OPERATIONS

_ARRAY_KINDS = "biuf"
_KERAS_SUBMODULES = ("numpy", "nn", "core", "image", "math", "linalg")


def _keras_ops_function(name: str, submodule: str):
    """``keras.ops.<name>`` as convnp has it (``keras.ops.image.resize`` for image ones)."""
    from convnp.keras import ops

    space = getattr(ops, submodule, None) if submodule in ("nn", "numpy", "image") else None
    found = getattr(space, name, None) if space is not None else None
    if found is None and submodule != "image":
        found = getattr(ops, name, None)
    return found if callable(found) and getattr(found, "_convnp_op", False) else None


def operation_of(layer) -> tuple[str, str, tuple[str, ...]] | None:
    """``(submodule, class name, constructor arguments)`` when ``layer`` is a `TFOpLambda`
    whose function is the ``keras.ops`` function of that name; None otherwise."""
    if type(layer).__name__ != "TFOpLambda":
        return None
    name = layer.function.op_name
    found = OPERATIONS.get(name)
    if found is None or _keras_ops_function(name, found[0]) is not layer.function:
        return None
    return found


@functools.cache
def _by_class() -> dict[tuple[str, str], str]:
    """``(submodule, class name) -> the keras.ops function convnp reads it as``: the one
    named like the class (``Absolute`` -> ``absolute``, not ``abs``) among those convnp has."""
    from convnp.layers.base import snake_case

    found: dict[tuple[str, str], str] = {}
    for name, (sub, cls, _) in sorted(OPERATIONS.items()):
        if _keras_ops_function(name, sub) is None:
            continue
        key = (sub, cls)
        if key not in found or name == snake_case(cls):
            found[key] = name
    return found


# -- writing --------------------------------------------------------------------------------------


def operation_entry(layer, refs: list, where: str) -> dict:
    """The Keras 3 entry of a `TFOpLambda` called once, on tensors ``refs`` (one reference per
    input of the layer).

    Raises:
        ValueError: an argument a Keras file cannot hold (a function, a tensor where Keras
            takes a constant).
    """
    sub, class_name, constructor = operation_of(layer)
    signature = inspect.signature(layer.function)
    bound = signature.bind(*layer.args, **layer.kwargs)
    bound.apply_defaults()
    config: dict[str, Any] = {"name": layer.name}
    args: list = []
    for param_name, value in bound.arguments.items():
        param = signature.parameters[param_name]
        if param_name == "name" and value is None:
            continue  # TensorFlow's op-name argument (``tf.exp(x, name=None)``)
        if param_name in constructor:
            config[param_name] = _keras_value(value, None, where)
        elif param.kind is param.VAR_POSITIONAL:
            args.extend(_keras_value(v, refs, where) for v in value)
        elif param.kind is param.VAR_KEYWORD:
            if value:
                raise ValueError(f"{where}: keyword arguments {sorted(value)} cannot be "
                                 "written to a Keras file")
        else:
            args.append(_keras_value(value, refs, where))
    return {"module": f"keras.src.ops.{sub}", "class_name": class_name, "config": config,
            "registered_name": class_name, "name": layer.name,
            "inbound_nodes": [{"args": args, "kwargs": {}}]}


def _keras_value(value, refs: list | None, where: str):
    """An argument as Keras writes it; ``refs`` replace the layer's input slots (None where
    Keras takes no tensor: a constructor argument)."""
    from convnp.layers.op_layer import Slot
    from convnp.tensor.eager import DType

    if isinstance(value, Slot):
        if refs is None:
            raise ValueError(f"{where}: a tensor as a constructor argument cannot be written "
                             "to a Keras file")
        return refs[value.index]
    if value is None or isinstance(value, (bool, str, int, float)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_keras_value(v, refs, where) for v in value]
    if value is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(value, slice):
        return {"class_name": "__slice__",
                "config": {"start": _keras_value(value.start, None, where),
                           "stop": _keras_value(value.stop, None, where),
                           "step": _keras_value(value.step, None, where)}}
    if isinstance(value, (np.dtype, DType)) or (
            isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value).name
    if isinstance(value, np.ndarray) and value.dtype.kind in _ARRAY_KINDS:
        return {"class_name": "__tensor__",
                "config": {"value": np.asarray(value).tolist(), "dtype": value.dtype.name}}
    raise ValueError(f"{where}: the argument {value!r:.80} ({type(value).__name__}) cannot be "
                     "written to a Keras file")


# -- reading --------------------------------------------------------------------------------------


def is_operation_class(module: str, class_name: str) -> bool:
    sub = module.removeprefix("keras.src.ops.")
    return sub in _KERAS_SUBMODULES and (sub, class_name) in _by_class()


def layer_from_operation(entry: dict, where: str):
    """``(the entry as a layer entry, the TFOpLambda)`` for a Keras 3 operation entry of a
    class convnp has a ``keras.ops`` function for.

    Raises:
        ValueError: several calls, arguments the function does not take, values a file may
            not hold (named, with where they are).
    """
    from convnp.layers.op_layer import TFOpLambda

    sub = entry["module"].removeprefix("keras.src.ops.")
    class_name = entry["class_name"]
    name = _by_class()[(sub, class_name)]
    function = _keras_ops_function(name, sub)
    config = dict(entry["config"])
    config.pop("name", None)
    constructor = OPERATIONS[name][2]
    unknown = sorted(set(config) - set(constructor))
    if unknown:
        raise ValueError(f"{where}: config entries {unknown} are not arguments of Keras's "
                         f"{class_name} ({list(constructor)})")
    nodes = entry.get("inbound_nodes")
    if not isinstance(nodes, list) or len(nodes) != 1 or not isinstance(nodes[0], dict):
        raise ValueError(f"{where}: an operation entry needs exactly one call, got "
                         f"{nodes!r:.200}")
    refs: list = []
    args = nodes[0].get("args")
    kwargs = nodes[0].get("kwargs") or {}
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise ValueError(f"{where}: unreadable call {nodes[0]!r:.200}")  # noqa: TRY004
    args = [_read_value(a, refs, where) for a in args]
    kwargs = {str(k): _read_value(v, refs, where) for k, v in kwargs.items()}
    config = {k: _read_value(v, None, where) for k, v in config.items()}
    if name == "get_item" and len(args) == 2 and isinstance(args[1], list):
        args[1] = tuple(args[1])  # Keras writes the key tuple as a list
    if not refs:
        raise ValueError(f"{where}: the operation reads no tensor")
    signature = inspect.signature(function)
    args, config = _merged_call(signature, args, config)
    try:
        signature.bind(*args, **config, **kwargs)
    except TypeError as error:
        raise ValueError(f"{where}: convnp's keras.ops.{name} does not take these arguments: "
                         f"{error}") from None
    layer = TFOpLambda(function, args, {**config, **kwargs}, name=entry.get("name"))
    call = refs if len(refs) > 1 else refs[0]
    return {**entry, "inbound_nodes": [{"args": [call], "kwargs": {}}]}, layer


def _merged_call(signature, args: list, config: dict) -> tuple[list, dict]:
    """The function's positional arguments from the node's ``args`` and the constructor's
    ``config``: a constructor argument that comes before call arguments in the signature
    (``einsum(subscripts, *operands)``) goes in its place; the others stay keywords."""
    positional, rest, config = [], list(args), dict(config)
    for param in signature.parameters.values():
        if param.kind is param.VAR_POSITIONAL:
            positional.extend(rest)
            rest = []
            break
        if param.kind not in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD) or not rest:
            break
        positional.append(config.pop(param.name) if param.name in config else rest.pop(0))
    return positional + rest, config


def _read_value(value, refs: list | None, where: str):
    """An argument from a Keras file; tensors become input slots, appended to ``refs`` (None:
    no tensor allowed here)."""
    from convnp.layers.op_layer import NOT_SCALAR, Slot, json_scalar

    scalar = json_scalar(value, where)
    if scalar is not NOT_SCALAR:
        return scalar
    if isinstance(value, list):
        return [_read_value(v, refs, where) for v in value]
    if isinstance(value, dict):
        kind, body = value.get("class_name"), value.get("config")
        if kind == "__keras_tensor__" and refs is not None and isinstance(body, dict):
            history = body.get("keras_history")
            for i, known in enumerate(refs):
                if known["config"].get("keras_history") == history:
                    return Slot(i)
            refs.append(value)
            return Slot(len(refs) - 1)
        if kind == "__ellipsis__":
            return Ellipsis
        if kind == "__slice__" and isinstance(body, dict):
            parts = [body.get(k) for k in ("start", "stop", "step")]
            if all(p is None or type(p) is int for p in parts):
                return slice(*parts)
        if kind in ("__tensor__", "__numpy__") and isinstance(body, dict):
            from convnp.layers.op_layer import config_array

            return config_array(body.get("value"), body.get("dtype"), where)
    raise ValueError(f"{where}: unreadable argument {value!r:.120}")
