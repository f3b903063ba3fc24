"""``tf.keras.saving``: `load_model` and `save_model`, forwarded to `convnp.saving`, the
custom-object API of `convnp.serialization` (``register_keras_serializable``, ...), and
Keras 3's `serialize_keras_object` / `deserialize_keras_object`, which know convnp's own
classes by the Keras module they name (so they live here, above every family, and not in
the leaf module `convnp.serialization`)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from convnp import serialization as _serialization
from convnp.serialization import *
from convnp.serialization import get_registered_name, get_registered_object

__all__ = ["load_model", "load_weights", "save_model", "save_weights"]
__all__.extend(_serialization.__all__)  # the custom-object API


def load_model(filepath, *args, **kwargs):
    """Load a model file (see `convnp.saving.load_model`)."""
    from convnp.io import saving

    return saving.load_model(filepath, *args, **kwargs)


def save_model(model, filepath, overwrite: bool = True, zipped=None, **kwargs) -> None:
    """``keras.saving.save_model``: `Model.save` (its arguments, its checks; None back, as
    in TF 2.21). `convnp.io.saving.save_model` is the function that returns the path."""
    from convnp.models import Model

    if not isinstance(model, Model):
        raise TypeError(f"save_model expects a Keras model, got {type(model).__name__}")
    model.save(filepath, overwrite=overwrite, zipped=zipped, **kwargs)


def save_weights(model, filepath, overwrite: bool = True, max_shard_size=None,
                 **kwargs) -> None:
    """``keras.saving.save_weights``: `Model.save_weights` (TF 2.21's function form).
    ``max_shard_size`` (Keras's sharded weight files) is not supported by convnp."""
    from convnp.models import Model

    if not isinstance(model, Model):
        raise TypeError(f"save_weights expects a Keras model, got {type(model).__name__}")
    if kwargs:
        raise ValueError(f"save_weights: invalid keyword arguments {sorted(kwargs)}")
    if max_shard_size is not None:
        raise NotImplementedError("save_weights(max_shard_size=...): convnp writes one "
                                  "weights file")
    model.save_weights(filepath, overwrite=overwrite)


def load_weights(model, filepath, skip_mismatch: bool = False, **kwargs) -> None:
    """``keras.saving.load_weights``: `Model.load_weights` (TF 2.21's function form;
    ``by_name`` for legacy .h5 files, as there)."""
    from convnp.models import Model

    if not isinstance(model, Model):
        raise TypeError(f"load_weights expects a Keras model, got {type(model).__name__}")
    model.load_weights(filepath, skip_mismatch=skip_mismatch, **kwargs)


# Keras 3's module of each family of convnp's own objects, as its serialize_keras_object
# writes it: (Keras module, convnp module, that module's base class); most specific first
_KERAS_FAMILIES = (
    ("keras.layers", "convnp.layers.base", "Layer"),
    ("keras.initializers", "convnp.initializers", "Initializer"),
    ("keras.regularizers", "convnp.regularizers", "Regularizer"),
    ("keras.constraints", "convnp.constraints", "Constraint"),
    ("keras.losses", "convnp.losses", "Loss"),
    ("keras.metrics", "convnp.metrics", "Metric"),
    ("keras.optimizers.schedules", "convnp.schedules", "LearningRateSchedule"),
    ("keras.optimizers", "convnp.optimizers", "Optimizer"),
)
# where each Keras module's names are deserialized in convnp (``deserialize(config,
# custom_objects)``)
_FAMILY_READERS = {
    "keras.layers": "convnp.layers.registry",
    "keras.initializers": "convnp.initializers",
    "keras.regularizers": "convnp.regularizers",
    "keras.constraints": "convnp.constraints",
    "keras.losses": "convnp.losses",
    "keras.metrics": "convnp.metrics",
    "keras.optimizers.schedules": "convnp.schedules",
    "keras.optimizers": "convnp.optimizers",
}


def _keras_header(obj: Any) -> tuple[str | None, str, str | None]:
    """``(module, class_name, registered_name)`` of an object with a config, as Keras 3
    writes them: a Keras module for convnp's own objects, the Python module (None for
    ``__main__``) and the registered name for a user's."""
    cls = type(obj)
    if not cls.__module__.startswith("convnp."):
        registered = get_registered_name(cls)
        module = None if cls.__module__ == "__main__" else cls.__module__
        return module, cls.__name__, registered
    if cls.__name__ == "Sequential":
        return "keras", "Sequential", None
    if cls.__name__ == "Functional":
        return "keras.src.models.functional", "Functional", "Functional"
    if cls.__name__ in ("DTypePolicy", "FloatDTypePolicy"):
        return "keras", cls.__name__, None
    for keras_module, module, base in _KERAS_FAMILIES:
        if isinstance(obj, getattr(importlib.import_module(module), base)):
            return keras_module, cls.__name__, None
    return None, cls.__name__, cls.__name__


def _function_entry(obj: Any) -> Any:
    """Keras 3's entry for a function (a user's or a built-in activation or loss):
    ``{"module": "builtins", "class_name": "function", "config": name, ...}``."""
    name = get_registered_name(obj)
    if type(obj).__module__ == "convnp.activations":
        from convnp import activations

        name = activations.serialize(obj)
        if not isinstance(name, str):
            return name  # an activation with settings keeps its own config
    return {"module": "builtins", "class_name": "function", "config": name,
            "registered_name": "function"}


def serialize_keras_object(obj: Any) -> Any:
    """Keras 3's ``{"module", "class_name", "config", "registered_name"}`` of an object with a
    config (a layer, model, initializer, loss, ... or a user's class); a function gives
    Keras's ``"function"`` entry naming it; None, numbers, strings and lists are kept as
    they are. (Blocks that take a sublayer as an argument write it with this in
    ``get_config`` and read it back with `deserialize_keras_object` in ``from_config``.)"""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(item) for item in obj]
    if type(obj).__module__ == "convnp.activations":
        return _function_entry(obj)
    if isinstance(obj, type) or not callable(getattr(obj, "get_config", None)):
        if callable(obj):
            return get_registered_name(obj) if isinstance(obj, type) else _function_entry(obj)
        raise TypeError(f"cannot serialize {type(obj).__name__}: it has no get_config()")
    module, class_name, registered = _keras_header(obj)
    return {"module": module, "class_name": class_name, "config": obj.get_config(),
            "registered_name": registered}


def _builtin_from_config(config: dict, custom_objects) -> Any:
    """One of convnp's own objects from Keras 3's entry naming its module, or None when the
    module is not one of Keras's families."""
    module, class_name = config.get("module"), config["class_name"]
    settings = dict(config.get("config") or {})
    if class_name == "Sequential" and module in ("keras", "keras.models",
                                                 "keras.src.models.sequential"):
        from convnp.models.sequential import Sequential

        return Sequential.from_config(settings, custom_objects=custom_objects)
    if class_name == "Functional" and module in ("keras", "keras.models",
                                                 "keras.src.models.functional"):
        from convnp.models.model import Functional

        return Functional.from_config(settings, custom_objects=custom_objects)
    if class_name in ("DTypePolicy", "FloatDTypePolicy") and module == "keras":
        from convnp.keras import mixed_precision

        return mixed_precision.DTypePolicy(**settings)
    reader = _FAMILY_READERS.get(module)
    if reader is None:
        return None
    return importlib.import_module(reader).deserialize(
        {"class_name": class_name, "config": settings}, custom_objects)


def _builtin_function(name: str) -> Any:
    """A Keras function by name (an activation, then a loss function), or None."""
    from convnp import activations, losses

    for family in (activations, losses):
        try:
            return family.get(name)
        except (ValueError, TypeError):
            continue
    return None


def deserialize_keras_object(config: Any, custom_objects: Mapping[str, Any] | None = None,
                             module_objects: Mapping[str, Any] | None = None) -> Any:
    """Inverse of `serialize_keras_object`. A name gives the object it names in the open
    scopes, the registered objects, ``custom_objects`` or ``module_objects``, and is returned
    as it is when none has it (as Keras 3 does: an activation name then stays a name). A
    config dict gives a new object from its class's ``from_config``: a user's class found by
    its (registered) name, one of convnp's own by the Keras module the entry names. A class
    found nowhere is a TypeError, as in TF 2.21."""
    if config is None or isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, str):
        found = get_registered_object(config, custom_objects, module_objects)
        return config if found is None else found
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"expected a name or a dict with 'class_name' and 'config', got "
                         f"{config!r}")
    if config["class_name"] == "function" and isinstance(config.get("config"), str):
        name = config["config"]
        found = get_registered_object(name, custom_objects, module_objects)
        found = found if found is not None else _builtin_function(name)
        if found is None:
            raise TypeError(f"could not locate the function {name!r}: register it with "
                            "register_keras_serializable or pass it in custom_objects")
        return found
    name = config.get("registered_name") or config["class_name"]
    cls = get_registered_object(name, custom_objects, module_objects)
    if cls is None and name != config["class_name"]:
        cls = get_registered_object(config["class_name"], custom_objects, module_objects)
    if cls is None:
        built_in = _builtin_from_config(config, custom_objects)
        if built_in is not None:
            return built_in
    if not isinstance(cls, type):
        raise TypeError(f"could not locate class {name!r}: register it with "
                        "register_keras_serializable or pass it in custom_objects (a Keras "
                        "object's entry names its module, e.g. 'keras.layers')")
    return cls.from_config(dict(config.get("config") or {}))
