"""A compiled model's compile state as JSON-able identifiers, for every model file format.

`compile_config(model)` gives the optimizer's, every loss's and every metric's
``{"class_name", "config"}`` (from their own ``serialize``; a name stays a name), in the shape
given to ``compile`` (lists, dicts by output name), and ``loss_weights``. `.convnp` files store
it as is; `.keras` files add Keras's module names (`convnp.io.keras_format`).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

import numpy as np


def json_default(value: Any) -> Any:
    # configs sometimes carry NumPy scalars or tuples-of-NumPy; JSON wants plain Python
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    if callable(getattr(value, "json_config", None)):
        return value.json_config()  # a Lambda's registered function, by name
    raise TypeError(f"a value of type {type(value).__name__} in the model config cannot be "
                    f"written as JSON: {value!r}")


#: The class_name of a plain function in a compile config, as Keras writes it: the config is
#: the function's registered name, or its own ``__name__`` for one nobody registered.
FUNCTION = "function"


def function_config(fn: Callable) -> dict[str, Any]:
    """A user's loss or metric function by name, as Keras writes one (``{"class_name":
    "function", "config": "dice_loss"}``): loading needs it registered or passed in
    ``custom_objects`` (`resolve_functions`)."""
    from convnp import serialization

    name = serialization.get_registered_name(fn)
    if serialization.get_registered_object(name) is not fn:
        name = fn.__name__
    return {"class_name": FUNCTION, "config": name}


def builtin_function(name: Any) -> Callable | None:
    """Keras's own loss or metric function of that name (``binary_crossentropy``, as Keras
    writes ``compile(loss=keras.losses.binary_crossentropy)``: a function entry of module
    ``builtins``), which Keras's loader finds by name too; None for any other name."""
    from convnp import losses, metrics

    if not isinstance(name, str) or name in ("get", "serialize", "deserialize"):
        return None
    for module in (losses, metrics):
        if name in module.__all__ and inspect.isfunction(getattr(module, name)):
            return getattr(module, name)
    return None


def resolve_functions(value: Any) -> Any:
    """``value`` (a compile config's loss or metrics) with each function entry replaced by
    the function its name finds among the registered objects and open ``custom_objects``.

    Raises:
        ValueError: a name nothing here answers to, saying how to provide it.
    """
    from convnp import serialization

    if isinstance(value, list):
        return [resolve_functions(v) for v in value]
    if isinstance(value, dict) and value.get("class_name") == FUNCTION:
        name = value.get("config")
        function = serialization.get_registered_object(name) if isinstance(name, str) else None
        if not callable(function):
            function = builtin_function(name)
        if not callable(function):
            raise ValueError(
                f"the file's compile state names the function {name!r}, which is not known "
                f"here: pass custom_objects={{{str(name)!r}: {name}}} to load_model, register "
                "it with tf.keras.saving.register_keras_serializable(), or load with "
                "compile=False")
        return function
    if isinstance(value, dict) and "class_name" not in value:
        return {k: resolve_functions(v) for k, v in value.items()}
    return value


def loss_objects(value: Any) -> Any:
    """Loss configs (``{"class_name", "config"}``, alone or in a list or dict per output) as
    loss objects, so that ``model.loss`` after loading is what Keras gives: the object the
    model was compiled with (a user's class from ``custom_objects`` too), names staying
    names."""
    from convnp import losses

    if isinstance(value, dict) and "class_name" in value:
        return losses.deserialize(value)
    if isinstance(value, dict):
        return {key: loss_objects(v) for key, v in value.items()}
    if isinstance(value, list):
        return [loss_objects(v) for v in value]
    return value


def of_user_class(value: Any) -> bool:
    """Whether ``value`` is an instance of a user's class (a `Loss` or `Metric` subclass
    defined outside convnp), which files name by class and registered name."""
    return not isinstance(value, (str, list, tuple, dict, type(None))) and not inspect.isfunction(
        value) and not type(value).__module__.startswith("convnp.")


def _identifier_config(value: Any, serialize: Callable[[Any], dict]) -> Any:
    """A loss/metric as written in the compile config: its name if given by name, a plain
    function by its name (`function_config`), else its Keras-style ``{"class_name",
    "config"}``; lists and dicts by output name keep their shape (models with several
    outputs)."""
    if isinstance(value, str) or value is None:
        return value
    if inspect.isfunction(value) and not value.__module__.startswith("convnp."):
        return function_config(value)  # a user's; convnp's own go by their Keras names
    if isinstance(value, (list, tuple)):
        return [_identifier_config(v, serialize) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _identifier_config(v, serialize) for k, v in value.items()}
    config = serialize(value)
    json.dumps(config, default=json_default)  # fail now, with a clear error, if not JSON-able
    return config


def _unprefixed(model: Any, metric_ids: Any) -> Any:
    """Per-output metric objects as the user named them: compile renames a metric object of
    output ``out`` to ``out_<name>`` for its log key, and would do it again on reload."""
    names = model._output_names_or_default()
    if len(names) < 2:
        return metric_ids
    if isinstance(metric_ids, dict):
        per_output = list(metric_ids.items())
    elif isinstance(metric_ids, list) and len(metric_ids) == len(names) \
            and all(isinstance(m, list) for m in metric_ids):
        per_output = list(zip(names, metric_ids))
    else:
        return metric_ids

    def strip(output: str, ident: Any) -> Any:
        if isinstance(ident, list):
            return [strip(output, i) for i in ident]
        if isinstance(ident, dict) and "class_name" in ident:
            config = dict(ident.get("config") or {})
            name = config.get("name")
            if isinstance(name, str) and name.startswith(f"{output}_"):
                config["name"] = name[len(output) + 1:]
            return {**ident, "config": config}
        return ident

    stripped = [(output, strip(output, ids)) for output, ids in per_output]
    return dict(stripped) if isinstance(metric_ids, dict) else [ids for _, ids in stripped]


def compile_config(model: Any, include_optimizer: bool = True) -> dict[str, Any] | None:
    """The compile state of ``model`` as JSON-able identifiers (None if not compiled): the
    optimizer's and every loss's and metric's ``{"class_name", "config"}`` (or the name it
    was given by), in the shape given to ``compile`` (lists, dicts by output name)."""
    if not getattr(model, "_compiled", False):
        return None
    from convnp import losses, metrics, optimizers

    optimizer = getattr(model, "optimizer", None)
    loss = getattr(model, "loss", None)
    metric_ids = getattr(model, "_metric_ids", None) or []
    return {
        "optimizer": optimizers.serialize(optimizer) if optimizer is not None else None,
        "loss": _identifier_config(loss, losses.serialize) if loss is not None else None,
        "metrics": _unprefixed(model, _identifier_config(metric_ids, metrics.serialize)),
        "weighted_metrics": _identifier_config(
            getattr(model, "_weighted_metric_ids", None) or None, metrics.serialize),
        "loss_weights": getattr(model, "loss_weights", None),
    }


__all__ = [
    "FUNCTION",
    "compile_config",
    "function_config",
    "json_default",
    "loss_objects",
    "of_user_class",
    "resolve_functions",
]
