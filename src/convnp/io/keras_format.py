"""Keras 3 model files: ``.keras`` archives and ``.weights.h5`` weight files, both ways.

    from convnp.io.keras_format import load_keras, save_keras
    model = load_keras("model.keras")        # a convnp model that predicts like Keras
    save_keras(model, "from_convnp.keras")   # keras.models.load_model() reads it

The format (observed on Keras 3.15; see ``tests/fixtures/KERAS_FORMAT.md``):

* a ``.keras`` file is a zip archive with ``metadata.json``, ``config.json`` (the model as
  ``{"module", "class_name", "config", ...}``, each layer with its Keras constructor arguments)
  and ``model.weights.h5``;
* in the HDF5 file each layer's variables are the datasets ``layers/<key>/vars/0``, ``1``, ...
  in the layer's variable order (kernel, bias; gamma, beta, moving_mean, moving_variance).
  ``<key>`` is the snake-case *class* name made unique with ``_1``, ``_2``, ... in the order of
  Keras's ``model.layers``, not the layer's name. For a functional model that order is
  recomputed from the graph (see `keras_layer_order`).

A model used as a layer is written inline (its whole config; its weights under its own path),
users' layer classes with their registered name, and a ``Lambda`` by its function's registered
name; `convnp.io.keras_tree` says where each variable sits in the weights file.

Safety: nothing in a file is ever executed or imported. The config is read as JSON and each
layer class is looked up in the layers convnp implements, or (a user's class, a Lambda's
function) only among the objects the user registered or passes as ``custom_objects``;
``Lambda`` code, unknown classes, functions or arguments raise `ValueError` naming them. No
pickle anywhere.

``h5py`` is an optional dependency (``pip install convnp[h5]``), imported only here.
"""

from __future__ import annotations

import datetime
import inspect
import io
import json
import math
import os
import warnings
import zipfile
from typing import Any

import numpy as np

from convnp import serialization
from convnp._hdf5 import get_node, open_file, read_dataset
from convnp._limits import expansion_limit
from convnp.io import keras_op_entries
from convnp.io._files import atomic_write, weights_mismatch
from convnp.io._zip import loads_finite, open_archive, read_member
from convnp.io.compile_state import FUNCTION as _FUNCTION
from convnp.io.compile_state import loss_objects, of_user_class, resolve_functions
from convnp.io.keras_tree import (
    NotSavableError,
    held_optimizers,
    is_model,
    is_user_object,
    refuse_step_only,
    state_groups,
    vars_path,
)
from convnp.layers._slots import fill
from convnp.layers.base import weight_budget
from convnp.models.compile_utils import pack

CONFIG_MEMBER = "config.json"
METADATA_MEMBER = "metadata.json"
WEIGHTS_MEMBER = "model.weights.h5"

#: The Keras release whose file layout this module follows and was checked against.
KERAS_FORMAT_VERSION = "3.15.1"

_MAX_JSON_BYTES = 64 * 2**20  # a config this large is not a CNN config; refuse before parsing

# ---------------------------------------------------------------------------------------------
# Layer configs are the layers' own: a convnp layer's ``get_config()`` uses Keras's argument
# names and its constructor accepts the arguments Keras writes for that class (those convnp
# does not implement only at their neutral value). The class comes from the layer registry.
# What follows are the only places where Keras's format differs from the layers' configs.

# Keras arguments that no convnp constructor takes; a file may carry them only at the value
# that means "off" (Keras writes every argument of its class; Keras 2's recurrent layers
# wrote time_major).
_KERAS_ONLY_NEUTRAL = {"quantization_config": None, "renorm": False, "renorm_clipping": None,
                       "time_major": False}
# Keras arguments no convnp constructor takes and Keras itself ignores at the neutral values
# above (BatchNormalization's renorm_momentum is read only when renorm is on).
_KERAS_ONLY_IGNORED = {"renorm_momentum"}
# get_config() keys that Keras 3.15's config of that class leaves out when they hold None
# (its Dense passes activity_regularizer to the base Layer, which writes it only when one is
# set: a T-net's Dense with a user regularizer keeps it through a ``.keras`` file).
_NONE_NOT_IN_KERAS_CONFIG = {"Dense": {"activity_regularizer"}}
# get_config() keys that Keras 3.15's config of that class leaves out.
_NOT_IN_KERAS_CONFIG = {  # tf.keras's legacy layers take no data_format
    "RandomHeight": {"data_format"}, "RandomWidth": {"data_format"}}
# Weightless layers Keras 3.15 still gives a ``build_config`` (those with their own build
# step); layers with weights and merge layers always get one.
_KERAS_BUILDS = {"ZeroPadding2D", "Flatten"}
# convnp layers Keras 3 does not have (TensorFlowOpLayer stands for Keras 2's wrapped
# TensorFlow ops; TFOpLambda for tensor functions on KerasTensors, written as Keras 3's
# operation entries when it can be), refused by name both ways.
_NOT_IN_KERAS_3 = {"TensorFlowOpLayer", "TFOpLambda"}
# Keras layers that live outside keras.layers: the module and registered name Keras writes
_KERAS_HOMES = {"LayerScale": "keras.src.applications.convnext",
                "CustomScaleLayer": "keras.src.applications.inception_resnet_v2"}
# tf.keras layers Keras 3 keeps only as legacy ones (not in keras.layers): TF 2.21 writes
# this module and no registered name, and Keras finds them by nothing else
_KERAS_LEGACY = {"RandomHeight", "RandomWidth"}
_BASE_KEYS = {"name", "trainable", "dtype"}
_INPUT_SHAPE_KEYS = ("batch_input_shape", "batch_shape", "input_shape")
_CODE_LAYERS = {"Lambda", "TFOpLambda", "SlicingOpLambda"}
_FLOAT_DTYPES = {"float32", "float64"}




class UserClassError(ValueError, TypeError):
    """A user's class that a file or a JSON config names cannot give the object back: its
    ``from_config`` (or constructor) fails on the config written (a model subclass whose
    ``__init__`` takes no ``trainable``/``dtype``, a layer whose get_config writes a key its
    constructor does not take). TF 2.21 raises TypeError there ("could not be deserialized
    properly"); convnp has long raised ValueError, so the error is both."""


class UnknownClassError(UserClassError):
    """A file or a JSON config names a user's class that is neither registered nor given in
    ``custom_objects``. TF 2.21 raises TypeError there for a ``.keras`` file and for
    ``model_from_json`` (Keras wraps the failed lookup as "could not be deserialized"), and
    ValueError for a legacy ``.h5`` file; convnp has long raised ValueError, so the error is
    both and either ``except`` catches it."""


# ---------------------------------------------------------------------------------------------
# Small helpers


def _require_h5py():
    try:
        import h5py
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise ImportError("reading and writing Keras .keras/.weights.h5 files needs h5py: "
                          "pip install convnp[h5]") from None
    return h5py


def _snake_case(name: str) -> str:
    from convnp.layers.base import snake_case

    return snake_case(name)


def _class_key(cls: type) -> str:
    from convnp.layers.base import class_snake_name

    return class_snake_name(cls)


def _where(layer_name: str | None, class_name: str) -> str:
    return f"layer '{layer_name}' ({class_name})" if layer_name else f"a {class_name} layer"


# ---------------------------------------------------------------------------------------------
# Reading configs


#: integer dtypes an InputLayer may declare (ids for an Embedding, class labels)
_INPUT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "bool", "string")


def _dtype_name(value, where: str, integers: bool = False) -> str | None:
    """The float dtype of a layer config (a string or a Keras DTypePolicy dict); with
    ``integers`` (an InputLayer) an integer dtype too."""
    if value is None:
        return None
    if isinstance(value, dict):
        value = (value.get("config") or {}).get("name")
    if not isinstance(value, str):
        raise ValueError(f"{where}: unreadable dtype {value!r}")  # noqa: TRY004
    if integers and value in _INPUT_DTYPES:
        return value
    if value not in _FLOAT_DTYPES:
        raise ValueError(f"{where}: dtype policy {value!r} is not supported by convnp "
                         f"(float32 or float64 only)")
    return value


def _activation_name(value, where: str) -> str:
    """A Keras activation as a name convnp knows; refuses functions defined in user code."""
    from convnp import activations

    if value is None:
        return "linear"
    if isinstance(value, dict):
        module = str(value.get("module") or "")
        inner = value.get("config")
        if not module.startswith("keras") or not isinstance(inner, str):
            raise ValueError(f"{where}: custom activation {value!r} is not supported (convnp "
                             "only loads built-in activations and never runs code from a file)")
        value = inner
    if not isinstance(value, str):
        raise ValueError(f"{where}: unreadable activation {value!r}")  # noqa: TRY004
    try:
        activations.get(value)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{where}: {error}") from None
    return value


def _initializer(value, where: str):
    """A Keras initializer as a convnp identifier, or None to keep convnp's default.

    Initializers only matter for re-initialising a layer; loaded weights overwrite them. So an
    initializer convnp lacks falls back to the default instead of failing the whole load.
    """
    from convnp import initializers

    if value is None:
        return None
    if isinstance(value, str):
        candidates = [value]
    elif isinstance(value, dict) and isinstance(value.get("class_name"), str):
        config = {k: v for k, v in (value.get("config") or {}).items() if v is not None}
        candidates = [{"class_name": value["class_name"], "config": config},
                      value["class_name"]]
    else:
        raise ValueError(f"{where}: unreadable initializer {value!r}")  # noqa: TRY004
    for candidate in candidates:
        try:
            initializers.get(candidate)
            return candidate
        except (ValueError, TypeError):
            continue
    return None


def _keras_object(value, where: str, key: str):
    """A nested Keras object (regularizer, constraint) as the ``{"class_name", "config"}``
    identifier convnp's ``get`` functions read. A user's class (Keras writes its module and
    registered name) is looked up by that name among the registered classes and
    ``custom_objects``, as a user's layer is: the module is never imported."""
    if not isinstance(value, dict):
        return value
    identifier = {"class_name": value.get("class_name"),
                  "config": dict(value.get("config") or {})}
    if "class_name" in value and _is_user_entry(value):
        registered = value.get("registered_name")
        if not isinstance(registered, (str, type(None))):
            raise ValueError(f"{where}: {key} {value!r:.200} has a registered_name that is "
                             f"not a string")
        class_name = value["class_name"]
        found = [serialization.get_registered_object(name)
                 for name in dict.fromkeys((registered or class_name, class_name))]
        cls = next((f for f in found if f is not None), None)
        if cls is None:
            # TF 2.21 raises TypeError here; UnknownClassError is both, as for a user's layer
            raise UnknownClassError(
                f"{where}: the user class {registered or class_name!r} of {key} (module "
                f"{value.get('module')!r}) is not known: pass it in custom_objects="
                f"{{{class_name!r}: {class_name}}} or register it with "
                "tf.keras.saving.register_keras_serializable(); convnp never imports code a "
                "file names")
        if isinstance(cls, type) and callable(getattr(cls, "from_config", None)):
            # built here, so that a config its class does not take (a get_config key that
            # is not a constructor argument) is TF 2.21's TypeError, as for a user's layer
            try:
                return cls.from_config(identifier["config"])
            except (TypeError, ValueError, KeyError, AttributeError,
                    NotImplementedError) as error:
                raise UserClassError(f"{where}: {key}: {cls.__name__}.from_config() failed on "
                                     f"the file's config: {type(error).__name__}: "
                                     f"{error}") from None
        identifier["registered_name"] = registered
    return identifier


def _layer_kwargs(cls, config: dict, *, sequential_first: bool = False) -> dict:
    """Turn one Keras layer config into keyword arguments for the convnp layer class ``cls``;
    the class's constructor validates them (unknown keys included)."""
    class_name = cls.__name__
    name = config.get("name")
    where = _where(name, class_name)
    kwargs: dict[str, Any] = {}
    for key, value in config.items():
        if key == "name":
            if not isinstance(value, str) or not value:
                raise ValueError(f"{where}: layer name must be a non-empty string, got {value!r}")
            kwargs["name"] = value
        elif key == "trainable":
            kwargs["trainable"] = bool(value)
        elif key == "dtype":
            # the hashing layers output integer bins: their dtype policy is int64 or int32
            dtype = _dtype_name(value, where,
                                integers=class_name in ("Hashing", "HashedCrossing"))
            if dtype is not None:
                kwargs["dtype"] = dtype
        elif key in _INPUT_SHAPE_KEYS:
            # Keras 2 Sequential files put the input shape on the first layer.
            if sequential_first and value is not None:
                shape = list(value)
                kwargs["batch_input_shape"] = shape if key != "input_shape" else [None, *shape]
        elif key in _KERAS_ONLY_NEUTRAL:
            if value != _KERAS_ONLY_NEUTRAL[key] and value is not None:
                raise ValueError(f"{where}: {key}={value!r} is not supported by convnp "
                                 f"(only {_KERAS_ONLY_NEUTRAL[key]!r})")
        elif key in _KERAS_ONLY_IGNORED:
            continue
        elif key == "activation":
            kwargs[key] = _activation_name(value, where)
        elif key.endswith("_initializer"):
            init = _initializer(value, where)
            if init is not None:
                kwargs[key] = init
        elif key.endswith(("_regularizer", "_constraint")):
            kwargs[key] = _keras_object(value, where, key)
        elif key == "data_format" and value not in (None, "channels_last") and not (
                value == "channels_first" and getattr(cls, "takes_channels_first", False)):
            raise ValueError(f"{where}: data_format={value!r} is not supported; convnp is "
                             "channels_last (NHWC) only")
        elif key in ("layer", "backward_layer", "cell") and isinstance(
                value, dict) and "class_name" in value:
            # a wrapper's layer (TimeDistributed, SpectralNormalization, Bidirectional and
            # its backward_layer), an RNN's cell: a Keras entry itself
            kwargs[key] = _entry_object(value, f"{where} {key}")
        elif key in ("layers", "cells") and isinstance(value, list) and all(
                isinstance(v, dict) and "class_name" in v for v in value):
            # a Pipeline's layers, StackedRNNCells's cells: Keras entries themselves
            kwargs[key] = [_entry_object(v, f"{where} {key}[{i}]")
                           for i, v in enumerate(value)]
        else:
            kwargs[key] = _plain(value)
    return kwargs


def _plain(value):
    """JSON lists -> tuples (Keras tuple arguments come back from JSON as lists)."""
    if isinstance(value, list):
        return tuple(_plain(v) for v in value)
    return value


def _input_layer_kwargs(config: dict) -> dict:
    name = config.get("name")
    where = _where(name, "InputLayer")
    kwargs: dict[str, Any] = {}
    shape = None
    for key, value in config.items():
        if key == "name":
            kwargs["name"] = value
        elif key in ("batch_shape", "batch_input_shape"):
            shape = value
        elif key == "dtype":
            dtype = _dtype_name(value, where, integers=True)
            if dtype is not None:
                kwargs["dtype"] = dtype
        elif key in ("sparse", "ragged", "optional", "input_tensor"):
            if value:
                raise ValueError(f"{where}: {key}={value!r} is not supported by convnp")
        else:
            raise ValueError(f"{where}: unknown config key {key!r}")
    if not isinstance(shape, (list, tuple)) or len(shape) < 1:
        raise ValueError(f"{where}: needs a batch_shape such as [null, 64, 64, 3], "
                         f"got {shape!r}")
    kwargs["batch_shape"] = tuple(shape)
    return kwargs


def _check_entry(entry, position: str) -> tuple[str, dict]:
    """Validate a ``{"class_name", "config", "module", ...}`` layer entry."""
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        message = (f"{position}: a layer entry must be a dict with a 'class_name', "
                   f"got {entry!r:.200}")
        raise ValueError(message)  # noqa: TRY004 - a bad file is a bad value
    class_name = entry["class_name"]
    config = entry.get("config")
    if not isinstance(config, dict):
        raise ValueError(f"{position}: layer {class_name!r} has no config dict")  # noqa: TRY004
    return class_name, config


_MODEL_CLASS_NAMES = {"Sequential", "Functional", "Model"}


def _is_user_entry(entry: dict) -> bool:
    """Whether a Keras entry names a user's class: Keras writes the user's module (None for
    ``__main__``) and the registered name; Keras 2 entries name no module at all."""
    module = entry.get("module", "keras")
    registered = entry.get("registered_name")
    return module is None or not str(module).startswith("keras") \
        or registered not in (None, entry["class_name"])


def _entry_object(entry, position: str, *, sequential_first: bool = False):
    """The layer, nested model or user's layer of one entry of a model's ``layers`` list."""
    class_name, config = _check_entry(entry, position)
    label = _where(config.get("name"), class_name)
    if _is_user_entry(entry):
        return _user_layer(entry, config, label)
    if class_name in _MODEL_CLASS_NAMES:
        return model_from_keras_config(entry)  # a model used as a layer: its config inline
    function = config.get("function")
    if class_name in _CODE_LAYERS and not (
            class_name == "Lambda" and isinstance(function, dict)
            and function.get("class_name") == "function"):
        raise ValueError(f"{label}: {class_name} layers hold Python code; convnp never "
                         "executes code from a model file, so they cannot be loaded (a Lambda "
                         "of a registered function, saved by name, can)")
    return _make_layer(_loadable_class(class_name, label).__name__, config,
                       sequential_first=sequential_first)


def _user_layer(entry: dict, config: dict, label: str):
    """A user's layer: its class comes only from ``custom_objects`` or the registered
    objects (``register_keras_serializable``), never from importing the module the file names,
    and is built by its own ``from_config``."""
    from convnp.layers.base import Layer
    from convnp.models import Model

    class_name = entry["class_name"]
    registered = entry.get("registered_name") or class_name
    cls = None
    for name in dict.fromkeys((registered, class_name)):
        cls = serialization.get_registered_object(name)
        if cls is not None:
            break
    if isinstance(cls, type) and issubclass(cls, Model):
        return _user_model(cls, entry, config, label)
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise UnknownClassError(
            f"{label}: the user class {registered!r} (module {entry.get('module')!r}) is not "
            f"known: pass it in custom_objects={{{class_name!r}: {class_name}}} or register "
            "it with tf.keras.saving.register_keras_serializable(); convnp never imports "
            "code a file names")
    kwargs = {}
    for key, value in config.items():
        if key == "dtype":
            dtype = _dtype_name(value, label)
            if dtype is not None:
                kwargs[key] = dtype
        else:
            kwargs[key] = value
    try:
        return cls.from_config(kwargs)
    except (TypeError, ValueError, KeyError, AttributeError, NotImplementedError) as error:
        raise UserClassError(f"{label}: {cls.__name__}.from_config() failed on the file's "
                             f"config: {type(error).__name__}: {error}") from None


def _supported() -> str:
    from convnp.layers.registry import is_builtin, registered_layers

    return ", ".join(sorted({cls.__name__ for cls in registered_layers().values()
                             if is_builtin(cls) and cls.__name__ not in _NOT_IN_KERAS_3}))


def _loadable_class(class_name: str, label: str):
    """convnp's registered layer class for a Keras class name (aliases such as MaxPool2D
    included); a user's registered class is not a Keras built-in, so it is refused too."""
    from convnp.layers.registry import get_layer_class, is_builtin

    try:
        cls = get_layer_class(class_name)
    except ValueError:
        cls = None
    if cls is None or not is_builtin(cls) or cls.__name__ in _NOT_IN_KERAS_3:
        raise ValueError(f"{label}: layer class {class_name!r} is not supported by convnp "
                         f"(supported: {_supported()})")
    return cls


def _parameters(cls) -> set[str]:
    """The keyword arguments the constructor of ``cls`` (and of its bases) names."""

    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        for parameter in inspect.signature(init).parameters.values():
            if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
                names.add(parameter.name)
    return names - {"self"}


def _make_layer(class_name: str, config: dict, *, sequential_first: bool = False):
    from convnp.layers import get_layer_class

    cls = get_layer_class(class_name)
    if class_name == "InputLayer":
        kwargs = _input_layer_kwargs(config)
    else:
        kwargs = _layer_kwargs(cls, config, sequential_first=sequential_first)
    unknown = sorted(set(kwargs) - _parameters(cls) - _BASE_KEYS - {"batch_input_shape"})
    if unknown:
        raise ValueError(f"{_where(config.get('name'), class_name)}: unknown config key "
                         f"{unknown[0]!r} for {class_name} (convnp's {class_name} takes "
                         f"{sorted(_parameters(cls) - {'kwargs'})})")
    try:
        return cls.from_config(kwargs)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{_where(config.get('name'), class_name)}: {error}") from None


# -- functional wiring ------------------------------------------------------------------------


def _history(tensor_spec, where: str) -> tuple[str, int, int]:
    """``(producing layer name, its call number, output index)`` of one Keras tensor reference
    (Keras 3 or Keras 2 form). The call number is Keras's node index: a shared layer's k-th
    call; the output index is nonzero for outputs of a call with several."""
    if isinstance(tensor_spec, dict):
        if tensor_spec.get("class_name") != "__keras_tensor__":
            raise ValueError(f"{where}: unsupported call argument {tensor_spec!r:.200}")
        history = (tensor_spec.get("config") or {}).get("keras_history")
    else:
        history = tensor_spec  # Keras 2: [name, node_index, tensor_index, kwargs]
    if not isinstance(history, (list, tuple)) or len(history) < 3 \
            or not isinstance(history[0], str) or not isinstance(history[1], int) \
            or isinstance(history[1], bool) or history[1] < 0 \
            or not isinstance(history[2], int) or isinstance(history[2], bool) or history[2] < 0:
        raise ValueError(f"{where}: unreadable tensor reference {tensor_spec!r:.200}")
    if len(history) > 3 and history[3]:
        raise ValueError(f"{where}: call keyword arguments {history[3]!r} are not supported")
    return history[0], history[1], history[2]


def _inbound(entry: dict, class_name: str) -> list[tuple[list, bool, tuple | None]]:
    """One ``(producers, called on a list?, template)`` per call of a functional layer entry
    (a shared layer has several); each producer is ``(layer name, call number, output
    index)`` (`_history`). ``template`` is None for a call on one tensor or one list of
    tensors; for a user's layer called with more (``layer(x, g, scale=2.0)``) it is the
    call's ``(inputs, args, kwargs)`` with a `Slot` for each producer."""
    name = entry.get("name") or (entry.get("config") or {}).get("name")
    where = _where(name, class_name)
    nodes = entry.get("inbound_nodes", [])
    if not isinstance(nodes, list):
        raise ValueError(f"{where}: inbound_nodes must be a list")  # noqa: TRY004
    return [_inbound_node(node, class_name, where) for node in nodes]


def _inbound_node(node, class_name: str, where: str) -> tuple[list, bool, tuple | None]:
    if isinstance(node, dict):  # Keras 3
        args = node.get("args")
        extra = {}
        for key, value in (node.get("kwargs") or {}).items():
            if key == "training" and value in (None, False, True):
                continue  # read by _fixed_training
            if key == "mask" and value is None:
                continue
            extra[key] = value
        if not isinstance(args, list) or not args:
            raise ValueError(f"{where}: expected positional call arguments, got {args!r:.200}")
        if len(args) == 1 and not extra:
            arg = args[0]
            if isinstance(arg, list):
                return [_history(t, where) for t in arg], True, None
            return [_history(arg, where)], False, None
        producers: list = []
        template = (_argument(args[0], producers, where),
                    tuple(_argument(a, producers, where) for a in args[1:]),
                    {str(k): _argument(v, producers, where) for k, v in extra.items()})
        if not producers:
            raise ValueError(f"{where}: a call with no tensor argument")
        return producers, True, template
    if isinstance(node, list):  # Keras 2: a list of [name, node, tensor, kwargs]
        producers = [_history(t, where) for t in node]
        return producers, len(producers) > 1, None
    raise ValueError(f"{where}: unreadable inbound node {node!r:.200}")


def _argument(value, producers: list, where: str):
    """One argument of a recorded call with several: a tensor reference becomes a `Slot`
    (its producer appended to ``producers``); lists, dicts and JSON scalars stay."""
    from convnp.layers._slots import Slot
    from convnp.layers.op_layer import NOT_SCALAR, json_scalar

    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        producers.append(_history(value, where))
        return Slot(len(producers) - 1)
    if isinstance(value, list):
        return [_argument(v, producers, where) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {str(k): _argument(v, producers, where) for k, v in value.items()}
    if isinstance(value, dict) and value.get("class_name") == "__tensor__" and isinstance(
            value.get("config"), dict):  # a constant (keras.io's diagonal attention mask)
        from convnp.layers.op_layer import config_array

        body = value["config"]
        return config_array(body.get("value"), body.get("dtype"), where)
    scalar = json_scalar(value, where)
    if scalar is NOT_SCALAR:
        raise ValueError(f"{where}: unsupported call argument {value!r:.200}")
    return scalar


def _user_model(cls, entry: dict, config: dict, label: str):
    """A user's Model subclass: built by its own ``from_config`` (or its constructor, as
    Keras's default does) and then for the recorded input shape."""
    from convnp.models import Model

    kwargs = {k: v for k, v in config.items() if k != "dtype"}
    own_from_config = cls.from_config.__func__ is not Model.from_config.__func__
    if not own_from_config and not cls._subclassed and "input_layers" in config:
        # a user's subclass of a functional model: its layers and calls are in the file,
        # and the model is made as that class (Keras's Model.from_config)
        return _functional_from_config(config, cls)
    try:
        model = cls.from_config(kwargs) if own_from_config else cls(**kwargs)
        shape = (entry.get("build_config") or {}).get("input_shape")
        if shape is not None and not model.built:
            model.build((None, *shape[1:]))
    except (TypeError, ValueError, KeyError, AttributeError, NotImplementedError) as error:
        raise UserClassError(f"{label}: the user model class {cls.__name__} could not be "
                             f"built from the file's config: {type(error).__name__}: "
                             f"{error}") from None
    return model


def _is_preprocessing(class_name: str) -> bool:
    """Keras 3 records ``training=True`` on every call of its preprocessing layers: the image
    layers of every module (the newer augmentations, RandAugment, MixUp... too), the
    legacy RandomHeight/RandomWidth and Pipeline."""
    from convnp.layers import get_layer_class
    from convnp.layers.pipeline import Pipeline
    from convnp.layers.preprocessing import _ImageLayer

    try:
        cls = get_layer_class(class_name)
    except ValueError:  # a model or a user's class
        return False
    return cls.__module__ == "convnp.layers.preprocessing" or (
        isinstance(cls, type) and issubclass(cls, (_ImageLayer, Pipeline)))


def _fixed_training(entry: dict, class_name: str, model: bool) -> bool | None:
    """The ``training`` a ``layer(x, training=...)`` call fixed, read from the call's kwargs.

    Keras 3 writes ``training=False`` on every plain call of a layer that takes ``training``
    (Dropout, BatchNormalization...), so for a layer False cannot be told from "not given":
    it loads as not fixed (the model's mode, which is also what Keras 3 runs in fit and
    predict). On a model used as a layer (a frozen base) False is kept. ``training=True`` is
    only written when the code passed it, except on preprocessing layers, which Keras marks
    True on every call (convnp runs them in the model's mode, as Keras's predict does)."""
    for node in entry.get("inbound_nodes") or []:
        value = (node.get("kwargs") or {}).get("training") if isinstance(node, dict) else None
        if value is True and not _is_preprocessing(class_name):
            return True
        if value is False and model:
            return False
    return None


def _freeze_keeping_flags(model) -> None:
    """``model.trainable = False`` (which freezes every layer), then give each layer and
    nested model back the flag its own config gave it: Keras writes both."""
    models, leaves = [], []

    def collect(owner) -> None:
        for layer in owner.layers:
            if is_model(layer):
                models.append((layer, layer.trainable))
                collect(layer)
            elif type(layer).__name__ != "InputLayer":  # Keras writes it no flag
                leaves.append((layer, layer.trainable))

    collect(model)
    model.trainable = False
    for obj, flag in models + leaves:  # outer models first: leaves keep the last word
        obj.trainable = flag


def _nested_ends(value, what: str) -> tuple[list | None, Any]:
    """``(template, flat list)`` of an ``output_layers`` list that nests lists of
    ``[name, node, index]`` entries (a model made with ``outputs=[[a, b], c]``); ``(None,
    value)`` for a flat one."""
    def is_entry(item) -> bool:
        return isinstance(item, list) and bool(item) and isinstance(item[0], str)

    if not isinstance(value, list) or is_entry(value) or all(is_entry(v) for v in value):
        return None, value
    flat: list = []

    def walk(item, depth: int):
        if is_entry(item):
            flat.append(item)
            return len(flat) - 1
        if not isinstance(item, list) or not item or depth > 16:
            raise ValueError(f"model config: unreadable {what} entry {item!r:.200}")
        return [walk(part, depth + 1) for part in item]

    return walk(value, 0), flat


def _end_names(value, what: str) -> list[tuple[str, int, int]]:
    """``input_layers`` / ``output_layers``: one ``[name, node, output index]`` or a list of
    them."""
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ValueError(f"model config: unreadable {what} {value!r}")
    ends = []
    for item in value:
        if not isinstance(item, (list, tuple)) or not item or not isinstance(item[0], str):
            raise ValueError(f"model config: unreadable {what} entry {item!r}")
        k = item[1] if len(item) >= 2 else 0
        if not isinstance(k, int) or isinstance(k, bool) or k < 0:
            raise ValueError(f"model config: unreadable {what} entry {item!r}")
        index = item[2] if len(item) >= 3 else 0
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise ValueError(f"model config: unreadable {what} entry {item!r}")
        ends.append((item[0], k, index))
    return ends


# Keras 3 tensor operations on symbolic tensors (``x + 3.0``, ``a * b``) are entries of module
# ``keras.src.ops.numpy``, not layers: the binary elementwise ones are read as the layer that
# computes them, and convnp writes its arithmetic TensorFlowOpLayers back as such entries.
# Class name: (convnp's TensorFlowOpLayer op for ``tensor <op> number``, for ``number <op>
# tensor``, merge layer of two tensors).
_TENSOR_OPERATIONS = {"Add": ("add", "add", "Add"), "Multiply": ("mul", "mul", "Multiply"),
                      "Subtract": ("sub", "rsub", "Subtract"),
                      "TrueDivide": ("truediv", "rtruediv", None),
                      "Divide": ("truediv", "rtruediv", None)}
_OPERATIONS_MODULE = "keras.src.ops.numpy"
# TensorFlowOpLayer op -> Keras 3 class name (the layer says which side its number is on)
_OPERATION_ENTRIES = {"add": "Add", "mul": "Multiply", "sub": "Subtract", "rsub": "Subtract",
                      "truediv": "TrueDivide", "rtruediv": "TrueDivide",
                      "reverse_channels": "Flip"}


def _as_operation(layer) -> str | None:
    """The Keras class name when ``layer`` is one Keras 3 writes as a tensor operation: a
    TensorFlowOpLayer of arithmetic with a number or one per channel (a constant tensor), or a
    TFOpLambda of a ``keras.ops`` function (`keras_op_entries`); None otherwise."""
    operation = keras_op_entries.operation_of(layer)
    if operation is not None:
        return operation[1]
    if type(layer).__name__ != "TensorFlowOpLayer":
        return None
    return _OPERATION_ENTRIES.get(layer.op)


def _operation_entry(layer, refs: list) -> dict:
    """The Keras 3 entry of a tensor-operation layer (`_as_operation`) called once on
    ``refs``."""
    if type(layer).__name__ == "TFOpLambda":
        return keras_op_entries.operation_entry(layer, refs, f"layer '{layer.name}'")
    class_name = _as_operation(layer)
    if layer.op == "reverse_channels":  # preprocess_input's RGB -> BGR: keras.ops.flip
        return {"module": _OPERATIONS_MODULE, "class_name": class_name,
                "config": {"name": layer.name, "axis": -1}, "registered_name": class_name,
                "name": layer.name, "inbound_nodes": [{"args": list(refs), "kwargs": {}}]}
    value = layer.value
    if isinstance(value, list):  # one per channel: a constant tensor
        value = {"class_name": "__tensor__",
                 "config": {"value": value, "dtype": np.dtype(layer.dtype).name}}
    args = [value, *refs] if layer.constant_first else [*refs, value]
    return {"module": _OPERATIONS_MODULE, "class_name": class_name,
            "config": {"name": layer.name}, "registered_name": class_name, "name": layer.name,
            "inbound_nodes": [{"args": args, "kwargs": {}}]}


def _tensor_operation(entry: dict, position: str):
    """``(entry as a layer entry, the layer)`` for a Keras 3 tensor-operation entry, None for
    any other entry.

    Raises:
        ValueError: an operation convnp does not read (named, with what it reads).
    """
    module = entry.get("module") if isinstance(entry, dict) else None
    if not isinstance(module, str) or not module.startswith("keras.src.ops"):
        return None
    class_name, config = _check_entry(entry, position)
    name = entry.get("name") or config.get("name")
    supported = ("convnp reads the keras.ops functions it has (convnp.keras.ops) and the "
                 "arithmetic of tensors and numbers")
    where = f"{position}: the Keras tensor operation {name!r} ({module}.{class_name})"
    kinds = _TENSOR_OPERATIONS.get(class_name) if module == _OPERATIONS_MODULE else None
    nodes = entry.get("inbound_nodes")
    if kinds is not None and isinstance(nodes, list) and len(nodes) == 1 and \
            isinstance(nodes[0], dict) and not nodes[0].get("kwargs"):
        found = _arithmetic_layer(entry, name, kinds, nodes[0].get("args"))
        if found is not None:
            return found
    if keras_op_entries.is_operation_class(module, class_name):
        return keras_op_entries.layer_from_operation({**entry, "name": name}, where)
    raise ValueError(f"{where} is not supported: {supported}")


def _arithmetic_layer(entry: dict, name: str, kinds: tuple, args):
    """``(entry as a layer entry, layer)`` for arithmetic Keras 3 wrote between two tensors
    (a merge layer) or a tensor and a number (a TensorFlowOpLayer); None for anything else."""
    from convnp.layers import TensorFlowOpLayer, get_layer_class

    def is_tensor(a):
        return isinstance(a, dict) and a.get("class_name") == "__keras_tensor__"

    def is_number(a):
        return isinstance(a, (int, float)) and not isinstance(a, bool) and math.isfinite(a)

    op, reversed_op, merge = kinds
    if not isinstance(args, list) or len(args) != 2:
        return None
    if merge and all(is_tensor(a) for a in args):
        from convnp.layers.tf_op import mask_blind

        layer = mask_blind(get_layer_class(merge)(name=name))
        return {**entry, "inbound_nodes": [{"args": [args], "kwargs": {}}]}, layer
    tensor_first = is_tensor(args[0]) and is_number(args[1])
    if tensor_first or (is_number(args[0]) and is_tensor(args[1])):
        tensor, number = (args[0], args[1]) if tensor_first else (args[1], args[0])
        if not (tensor_first and op == "truediv" and number == 0):
            layer = TensorFlowOpLayer(op if tensor_first else reversed_op, float(number),
                                      name=name)
            return {**entry, "inbound_nodes": [{"args": [tensor], "kwargs": {}}]}, layer
    return None


def _counts_own_node(layer) -> bool:
    """Whether Keras numbers this layer's calls in a model's ``output_layers`` from 1: a
    functional model used as a layer has a node of its own (made when it was built), which
    Keras counts there but not in the inbound nodes' tensor references."""
    from convnp.models import Sequential

    return is_model(layer) and not isinstance(layer, Sequential) \
        and not getattr(layer, "_subclassed", False) and not is_user_object(layer)


def _functional_from_config(config: dict, cls=None):
    """A functional model from Keras's config; ``cls``: a user's subclass of Model to make it
    as (Keras's ``cls(inputs=..., outputs=..., name=...)``), by default Model itself."""
    from convnp.models import Model

    cls = Model if cls is None else cls
    entries = config.get("layers")
    if not isinstance(entries, list) or not entries:
        raise ValueError("model config: 'layers' must be a non-empty list")
    pending = []  # (name, class_name, call number, producers, multi, template)
    made: dict[str, Any] = {}
    fixed: dict[str, bool | None] = {}  # layer(x, training=...): the mode the call fixed
    for i, entry in enumerate(entries):
        operation = _tensor_operation(entry, f"model config layers[{i}]")
        if operation is not None:
            entry = operation[0]
        class_name, layer_config = _check_entry(entry, f"model config layers[{i}]")
        name = entry.get("name") or layer_config.get("name")
        if not isinstance(name, str) or name in made:
            raise ValueError(f"model config layers[{i}]: missing or repeated layer name {name!r}")
        if layer_config.get("name", name) != name:
            raise ValueError(f"model config layers[{i}]: entry name {name!r} differs from its "
                             f"config name {layer_config.get('name')!r}")
        calls = _inbound(entry, class_name)
        if (class_name == "InputLayer") != (not calls):
            raise ValueError(f"{_where(name, class_name)}: only InputLayers may have no inputs")
        if any(not producers for producers, *_ in calls):
            raise ValueError(f"{_where(name, class_name)}: a call with no inputs")
        made[name] = operation[1] if operation is not None else \
            _entry_object(entry, f"model config layers[{i}]")
        fixed[name] = _fixed_training(entry, class_name, is_model(made[name]))
        pending.extend((name, class_name, k, *call) for k, call in enumerate(calls))
        if not calls:
            pending.append((name, class_name, 0, [], False, None))

    tensors: dict[tuple[str, int], Any] = {}  # (name, call): its output, or list of them

    def tensor(ref: tuple[str, int, int]):
        made_by = tensors[ref[:2]]
        parts = made_by if isinstance(made_by, list) else [made_by]
        if ref[2] >= len(parts):
            raise ValueError(f"model config: {list(ref)} refers to output {ref[2]} of layer "
                             f"'{ref[0]}', whose call has {len(parts)} output(s)")
        return parts[ref[2]]

    # Keras writes layers in an order where producers come first; loop anyway, so a
    # reordered (but consistent) file loads too. A shared layer's calls are made in the
    # order of its node indices.
    while pending:
        progressed = False
        rest = []
        for item in pending:
            name, class_name, k, producers, multi, template = item
            if any(p[:2] not in tensors for p in producers) \
                    or (k and (name, k - 1) not in tensors):
                rest.append(item)
                continue
            layer = made[name]
            if class_name == "InputLayer":
                tensors[(name, 0)] = layer.output
            else:
                args = [tensor(p) for p in producers]
                kwargs = {} if fixed.get(name) is None else {"training": fixed[name]}
                try:
                    if template is not None:  # layer(x, g, scale=2.0)
                        call_in, call_args, call_kwargs = fill(template, args)
                        tensors[(name, k)] = layer(call_in, *call_args,
                                                   **{**call_kwargs, **kwargs})
                    else:
                        tensors[(name, k)] = layer(args if multi else args[0], **kwargs)
                except (TypeError, ValueError, NotImplementedError) as error:
                    raise ValueError(f"{_where(name, class_name)}: {error}") from None
            progressed = True
        if not progressed:
            missing = sorted({p[:2] for *_, ps, _, _ in rest for p in ps
                              if p[:2] not in tensors})
            raise ValueError(f"model config: layers {sorted({r[0] for r in rest})} are fed by "
                             f"unknown or cyclic layer calls {missing}")
        pending = rest

    def lookup(ends: list[tuple[str, int, int]], what: str) -> list:
        unknown = [e[:2] for e in ends if e[:2] not in tensors]
        if unknown:
            raise ValueError(f"model config: {what} names unknown layer calls {unknown}")
        return [tensor(e) for e in ends]

    def renumbered(ends: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
        """A nested functional model's calls numbered from 0 (`_counts_own_node`). Files
        convnp wrote before it followed Keras here number them from 0 already: a layer named
        with call 0 anywhere in the list is taken as such a file's."""
        own = {name for name, *_ in ends if _counts_own_node(made.get(name))}
        own -= {name for name, k, _ in ends if k == 0}
        return [(name, k - 1 if name in own else k, i) for name, k, i in ends]

    def model_ends(what: str):
        value = config.get(what)
        if isinstance(value, dict) and value:  # Model(inputs={...}): keep the keys
            found = lookup(renumbered(_end_names(list(value.values()), what)), what)
            return dict(zip(value, found))
        nesting, value = _nested_ends(value, what)
        found = lookup(renumbered(_end_names(value, what)), what)
        if nesting is not None:  # outputs=[[a, b], c]
            return pack(nesting, found)
        return found if len(found) > 1 else found[0]

    inputs, outputs = model_ends("input_layers"), model_ends("output_layers")
    try:
        model = cls(inputs=inputs, outputs=outputs, name=config.get("name"))
    except (TypeError, ValueError, NotImplementedError) as error:
        raise ValueError(f"model config: {error}") from None
    if config.get("trainable") is False:
        _freeze_keeping_flags(model)
    return model


def _sequential_from_config(config: dict, build_shape):
    from convnp.layers.base import from_config_layers
    from convnp.models import Sequential

    entries = config.get("layers")
    if not isinstance(entries, list) or not entries:
        raise ValueError("model config: 'layers' must be a non-empty list")
    layers = []
    for i, entry in enumerate(entries):
        class_name, _ = _check_entry(entry, f"model config layers[{i}]")
        if class_name == "InputLayer" and i != 0:
            raise ValueError(f"model config layers[{i}]: an InputLayer may only come first")
        layers.append(_entry_object(entry, f"model config layers[{i}]",
                                    sequential_first=(i == 0)))
    try:
        with from_config_layers():  # weight paths as Keras 3 gives a loaded model's
            model = Sequential(layers, name=config.get("name"))
            shape = config.get("build_input_shape") or build_shape
            if not model.built and shape is not None:
                model.build(tuple(shape))
    except (TypeError, ValueError, NotImplementedError) as error:
        raise ValueError(f"model config: {error}") from None
    if config.get("trainable") is False:
        _freeze_keeping_flags(model)
    return model


def model_from_keras_config(config: dict):
    """Build a convnp model (fresh weights) from a Keras ``config.json`` dict.

    Accepts ``Sequential`` and functional (``Functional`` / ``Model``) models made of the
    layers convnp implements.

    Raises:
        ValueError: an unsupported model or layer class, a ``Lambda`` layer, a custom object,
            an unknown argument, or an unsupported option value; the message names the layer.
            A config whose fields have other types than Keras writes (a number where Keras
            writes an object: a damaged or crafted file) is a ValueError too.
    """
    try:
        return _model_from_config(config)
    except UserClassError:
        raise  # a TypeError too, but the user's class, not a damaged config
    except (AttributeError, KeyError, IndexError, TypeError) as error:
        raise ValueError(f"the model config is not as Keras writes it ({type(error).__name__}: "
                         f"{error})") from None


def _model_from_config(config: dict):
    if not isinstance(config, dict):
        got = type(config).__name__
        raise ValueError(f"model config must be a JSON object, got {got}")  # noqa: TRY004
    class_name = config.get("class_name")
    inner = config.get("config")
    module = config.get("module", "keras")
    if not isinstance(inner, dict):
        raise ValueError("model config: missing 'config' dict")  # noqa: TRY004
    if isinstance(class_name, str) and (module is None or not str(module).startswith("keras")):
        # a user's Model subclass: only a registered class or one in custom_objects
        return _user_layer(config, inner, f"model '{inner.get('name')}' ({class_name})")
    build_shape = (config.get("build_config") or {}).get("input_shape")
    if class_name == "Sequential":
        return _sequential_from_config(inner, build_shape)
    if class_name in ("Functional", "Model"):
        return _functional_from_config(inner)
    raise ValueError(f"model class {class_name!r} is not supported (only Sequential and "
                     "functional models)")


# ---------------------------------------------------------------------------------------------
# Layer order and weights


def keras_layer_order(model) -> list:
    """The layers in the order of Keras's ``model.layers`` for the same architecture.

    Sequential: the stacked layers (no InputLayer). Functional: Keras sorts layers by their
    depth (the longest path from the layer to a model output), deepest first, and breaks ties
    by the order a depth-first walk from the outputs first reaches them (following each call's
    inputs in argument order). This decides the ``layers/<key>`` names in weight files.
    """
    if not model.layers:
        raise ValueError(f"model '{model.name}' is not built")
    # Sequential lists its stacked layers; a functional model's `layers` are in Keras's order
    return list(model.layers)


def weight_keys(model) -> list[tuple[str, Any]]:
    """``(key, layer)`` pairs: the HDF5 group ``layers/<key>`` Keras uses for each layer."""
    counts: dict[str, int] = {}
    pairs = []
    for layer in keras_layer_order(model):
        base = _class_key(type(layer))
        n = counts.get(base, 0)
        counts[base] = n + 1
        pairs.append((base if n == 0 else f"{base}_{n}", layer))
    return pairs


def _read_weights_h5(model, h5file, source: str, skip_mismatch: bool = False) -> None:
    """Copy every layer's variables from an open h5py File into ``model`` (all or nothing).

    The groups are those of Keras's walk (`convnp.io.keras_tree.state_groups`: nested models
    and users' layers included). Links are checked before they are followed and each
    dataset's storage and shape before it is read (`convnp._hdf5`): data from other files, or
    more than the model holds, is refused.
    """
    h5py = _require_h5py()
    # a subclassed model keeps its layers under their attribute names, with no layers/ group
    root = h5file if is_user_object(model) else get_node(h5py, h5file, "layers", source)
    if not isinstance(root, h5py.Group):
        try:
            top = sorted(h5file.keys())
        except (OSError, RuntimeError, KeyError) as exc:
            raise ValueError(f"{source}: unreadable HDF5 file ({exc})") from None
        message = (f"{source}: no 'layers' group; not a Keras 3 weights file "
                   f"(top-level keys {top})")
        raise ValueError(message)  # noqa: TRY004 - a bad file is a ValueError
    staged = []
    staged_arrays: list = []
    for path, owner, expected in state_groups(model):
        where = vars_path(path)
        group = get_node(h5py, h5file, where, source)
        if group is not None and not isinstance(group, h5py.Group):
            raise ValueError(f"{source}: '{where}' is not a group")
        try:
            names = sorted(group.keys(), key=lambda s: int(s) if s.isdigit() else -1) \
                if group is not None else []
        except (OSError, RuntimeError, KeyError) as exc:
            raise ValueError(f"{source}: cannot list {where} ({exc})") from None
        if not expected and hasattr(owner, "load_own_arrays") and names:
            # a lookup layer's TF-IDF weights, stored by name as Keras's
            # save_own_variables does (vars/idf_weights)
            staged_arrays.append((owner, _named_arrays(h5py, group, names, source, where)))
            continue
        if names != [str(i) for i in range(len(names))]:
            raise ValueError(f"{source}: {where} holds unexpected entries {names[:10]}")
        label = f"'{owner.name}' ({type(owner).__name__}, weights at {where})"
        if len(names) != len(expected):
            weights_mismatch(skip_mismatch, f"{source}: layer {label} expects {len(expected)} "
                                            f"arrays {[v.name for v in expected]}, the file "
                                            f"has {len(names)}")
            continue
        datasets = []
        for i in range(len(expected)):
            dataset = get_node(h5py, group, str(i), source)
            if not isinstance(dataset, h5py.Dataset):
                message = (f"{source}: {where}/{i} is not a numeric dataset")
                raise ValueError(message)  # noqa: TRY004 - a bad file is a ValueError
            datasets.append(dataset)
        found = [tuple(d.shape or ()) for d in datasets]
        wrong = [i for i, v in enumerate(expected) if found[i] != tuple(v.shape)]
        if wrong:
            i = wrong[0]
            weights_mismatch(skip_mismatch,
                             f"{source}: layer '{owner.name}' weight '{expected[i].name}' has "
                             f"shape {tuple(expected[i].shape)}, {where}/{i} has {found[i]}")
            continue
        values = []
        for i, (variable, dataset) in enumerate(zip(expected, datasets)):
            name = f"{where}/{i}"
            values.append(read_dataset(h5py, dataset, source, name,
                                       expected_shape=tuple(variable.shape), kinds="fiu"))
        staged.extend(zip(expected, values))
    for variable, value in staged:
        variable.assign(np.asarray(value, dtype=variable.value.dtype))
    for owner, arrays in staged_arrays:
        owner.load_own_arrays(arrays)


#: the named arrays a layer's ``load_own_arrays`` takes (Keras's save_own_variables keys)
_NAMED_ARRAYS = ("idf_weights",)


def _named_arrays(h5py, group, names: list, source: str, where: str) -> dict:
    unknown = [n for n in names if n not in _NAMED_ARRAYS]
    if unknown:
        raise ValueError(f"{source}: {where} holds unexpected entries {unknown[:10]}")
    arrays = {}
    for name in names:
        dataset = get_node(h5py, group, name, source)
        if not isinstance(dataset, h5py.Dataset):
            message = f"{source}: {where}/{name} is not a numeric dataset"
            raise ValueError(message)  # noqa: TRY004 - a bad file is a ValueError
        arrays[name] = read_dataset(h5py, dataset, source, f"{where}/{name}",
                                    expected_shape=tuple(dataset.shape or ()), kinds="fiu")
    return arrays


#: the one asset file Keras's lookup layers write (IndexLookup.save_assets)
_ASSET_NAME = "vocabulary.txt"


def _asset_member(path: str) -> str:
    return f"assets/{path}/{_ASSET_NAME}" if path else f"assets/{_ASSET_NAME}"


def _read_assets(path: str) -> dict[str, bytes]:
    """The ``assets/.../vocabulary.txt`` members of a ``.keras`` archive, by member name."""
    with open_archive(path, path, "a Keras 3 .keras file") as archive:
        return {name: read_member(archive, path, name, _MAX_JSON_BYTES)
                for name in archive.namelist()
                if name.startswith("assets/") and name.endswith("/" + _ASSET_NAME)}


def _load_assets(model, assets: dict[str, bytes], source: str) -> None:
    """Give each lookup layer (StringLookup, IntegerLookup, TextVectorization) the
    vocabulary Keras stored for it as an asset."""
    for path, owner, _ in state_groups(model):
        if not hasattr(owner, "load_asset_text"):
            continue
        data = assets.get(_asset_member(path))
        if data is None:
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"{source}: {_asset_member(path)} is not UTF-8 text") from None
        try:
            owner.load_asset_text(text)
        except (ValueError, TypeError) as error:
            raise ValueError(f"{source}: {_asset_member(path)}: {error}") from None


def _asset_members(model) -> dict[str, bytes]:
    """The vocabulary assets of ``model``'s lookup layers, where Keras writes them."""
    members = {}
    for path, owner, _ in state_groups(model):
        text = owner.asset_text() if hasattr(owner, "asset_text") else None
        if text is not None:
            members[_asset_member(path)] = text.encode("utf-8")
    return members


def _write_weights_h5(model, h5file) -> None:
    """Write ``model``'s variables into an open, empty h5py File, in Keras's layout."""
    if not is_user_object(model):
        h5file.create_group("layers")
    for path, owner, variables in state_groups(model):
        group = h5file.create_group(vars_path(path))
        group.attrs["name"] = getattr(owner, "name", "model")
        for i, variable in enumerate(variables):
            group.create_dataset(str(i), data=np.asarray(variable.value, dtype="<f4"))
        if not variables and hasattr(owner, "own_arrays"):
            for name, array in owner.own_arrays().items():
                group.create_dataset(name, data=np.asarray(array, dtype="<f4"))


def load_keras_weights(model, path: str | os.PathLike, skip_mismatch: bool = False) -> None:
    """Load a Keras 3 ``.weights.h5`` file (``model.save_weights``) into a built convnp model.

    The model must have the architecture the file was saved from. Nothing is changed unless
    every array is found with the right shape. The optimizer state the file holds goes to
    a compiled model's optimizer as `_read_weights_optimizer` says.

    Raises:
        ValueError: missing layers, wrong counts or shapes (named), or not a weights file.
        ImportError: h5py is not installed (``pip install convnp[h5]``).
    """
    h5py = _require_h5py()
    path = os.fspath(path)
    _require_built(model)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such weights file: {path}")
    if os.path.isdir(path):
        raise ValueError(f"{path} is a directory, not a weights file")
    with open_file(h5py, path, path) as f:
        _read_weights_h5(model, f, path, skip_mismatch)
        _read_weights_optimizer(model, f, path)
        _read_held_optimizers(model, f, path)


def _read_weights_optimizer(model, h5file, where: str) -> None:
    """``load_weights`` of a Keras 3 file into a compiled model: the optimizer state the
    file holds (Keras 3's ``save_weights`` writes it beside the layers') goes to the model's
    optimizer when that one keeps as many variables, as TF 2.21 does; otherwise the
    optimizer is left as it is, with Keras's warning. An optimizer not built yet (no step
    taken) keeps only its step count and rate in Keras, so a file with slots is skipped
    then (`BackupAndRestore` builds it first)."""
    h5py = _require_h5py()
    opt = getattr(model, "optimizer", None)
    if opt is None:
        return
    stored = _optimizer_vars(h5py, h5file, where)
    if stored is None:
        return
    count, read = stored
    if not opt.built and count > 2:
        warnings.warn(f"Skipping variable loading for optimizer '{opt.name}', because it has "
                      f"not been built (it keeps its step count and rate) whereas the saved "
                      f"optimizer has {count} variables; build it first "
                      "(optimizer.build(model.trainable_variables))", UserWarning,
                      stacklevel=_user_stacklevel())
        return
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            restore_optimizer(model, count, read, where, mismatch="warn")
    except ValueError as error:  # the layers are loaded: the optimizer is left as it is
        caught = [warnings.WarningMessage(f"{error}", UserWarning, "", 0)]
    for warning in caught:  # said where the user called load_weights
        warnings.warn(f"Skipping variable loading for optimizer '{opt.name}': "
                      f"{warning.message}", UserWarning, stacklevel=_user_stacklevel())


def _read_held_optimizers(model, h5file, where: str) -> None:
    """``load_weights`` for the optimizers a user's model keeps in its attributes
    (`held_optimizers`): each takes the state stored under its attribute, the rate too, when
    it keeps as many variables as the file holds, as TF 2.21 does. One that does not (not
    built yet, or of another kind) is left as it is, with Keras's warning; an attribute the
    file does not have is passed over."""
    h5py = _require_h5py()
    for name, opt in held_optimizers(model):
        stored = _optimizer_vars(h5py, h5file, where, name)
        if stored is None:
            continue
        count, read = stored
        entries = opt._keras_variables()
        if count != len(entries):
            warnings.warn(f"Skipping variable loading for optimizer '{opt.name}' ({name}), "
                          f"because it has {len(entries)} variables whereas the saved "
                          f"optimizer has {count} variables"
                          + ("" if opt.built else "; it has not been built yet (no step "
                             "taken): build it first (optimizer.build(variables))"),
                          UserWarning, stacklevel=_user_stacklevel())
            continue
        try:
            state, rate = {}, None
            for k, (key, variable) in enumerate(entries):
                current = np.asarray(variable.value)
                value = read(k, current.shape)
                if key.rpartition("/")[2] == "learning_rate":
                    rate = float(value)
                else:
                    state[key] = np.asarray(value, dtype=current.dtype)
            opt._keras_restore(state)
        except (ValueError, TypeError, KeyError, IndexError) as error:
            warnings.warn(f"Skipping variable loading for optimizer '{opt.name}' ({name}): "
                          f"{error}", UserWarning, stacklevel=_user_stacklevel())
            continue
        if rate is not None:
            opt.learning_rate = rate


def _user_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside convnp (the
    user's ``load_weights`` call, however many of convnp's functions lead here)."""
    import sys

    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("convnp."):
        frame, level = frame.f_back, level + 1
    return level


def load_archive_weights(model, path: str | os.PathLike, skip_mismatch: bool = False) -> None:
    """Load the weights of a whole-model ``.keras`` file into a built convnp model of the same
    architecture (Keras 3's ``model.load_weights("x.keras")``: the architecture and the
    optimizer state in the file are not read). All or nothing, as `load_keras_weights`."""
    h5py = _require_h5py()
    path = os.fspath(path)
    _require_built(model)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path}")
    weights = read_keras_archive(path)[2]
    source = f"{path}:{WEIGHTS_MEMBER}"
    with open_file(h5py, io.BytesIO(weights), source) as f:
        _read_weights_h5(model, f, source, skip_mismatch)
        _read_weights_optimizer(model, f, source)
        _read_held_optimizers(model, f, source)


def save_keras_weights(model, path: str | os.PathLike) -> None:
    """Write ``model``'s weights as a Keras 3 ``.weights.h5`` file (loadable with Keras's
    ``model.load_weights`` on the same architecture), with a compiled model's optimizer
    state, as Keras 3 writes it. Written whole or not at all."""
    h5py = _require_h5py()
    path = os.fspath(path)
    _require_built(model)
    _check_savable(model, weights_only=True)

    def write(fileobj):
        with h5py.File(fileobj, "w") as f:
            _write_weights_h5(model, f)
            if getattr(model, "optimizer", None) is not None:
                # Keras 3 keeps a compiled model's optimizer state in its weights file too
                # (load_weights gives it back to a built optimizer of the same kind)
                _write_optimizer_h5(model, f)
            for where, opt in held_optimizers(model):  # CycleGAN's four, beside it
                _write_optimizer_group(f.require_group(where), opt)

    atomic_write(path, write)


def _require_built(model) -> None:
    refuse_step_only(model)
    if not getattr(model, "outputs", None):
        raise ValueError(f"model '{getattr(model, 'name', model)}' is not built; build it (or "
                         "call predict once) before reading or writing weights")


# ---------------------------------------------------------------------------------------------
# .keras archives: reading


def _read_json_member(archive: zipfile.ZipFile, member: str, path: str):
    data = read_member(archive, path, member, _MAX_JSON_BYTES)
    try:
        return loads_finite(data)
    except (ValueError, RecursionError) as error:  # bad UTF-8, bad JSON, NaN, too deep
        raise ValueError(f"{path}: {member} is not valid JSON: {error}") from None


def read_keras_archive(path: str | os.PathLike) -> tuple[dict, dict | None, bytes]:
    """``(config, metadata or None, weights .h5 bytes)`` of a ``.keras`` file, unparsed beyond
    JSON. Raises `ValueError` for a file that is not such an archive (or one whose members
    declare more bytes than the limits of `convnp._limits` allow)."""
    path = os.fspath(path)
    with open_archive(path, path, "a Keras 3 .keras file (legacy Keras 2 .h5 model files "
                      "are not supported)") as archive:
        names = set(archive.namelist())
        if CONFIG_MEMBER not in names:
            raise ValueError(f"{path}: no {CONFIG_MEMBER} in the archive (members "
                             f"{sorted(names)[:10]})")
        if WEIGHTS_MEMBER not in names:
            other = [n for n in names if n.startswith("model.weights")]
            raise ValueError(f"{path}: no {WEIGHTS_MEMBER} in the archive"
                             + (f" (found {other}; only the HDF5 weights format is supported)"
                                if other else ""))
        config = _read_json_member(archive, CONFIG_MEMBER, path)
        metadata = (_read_json_member(archive, METADATA_MEMBER, path)
                    if METADATA_MEMBER in names else None)
        weights = read_member(archive, path, WEIGHTS_MEMBER)
    return config, metadata, weights


def load_keras(path: str | os.PathLike, compile: bool = True, custom_objects=None):
    """Load a Keras 3 ``.keras`` file as a convnp model.

    Args:
        path: the ``.keras`` archive (``model.save("x.keras")`` in Keras 3).
        compile: if the file records a compile config (optimizer, loss, metrics), compile the
            convnp model the same way when convnp supports them (as Keras does; a config convnp
            cannot follow leaves the model uncompiled with a warning), and give Adam/SGD the
            saved optimizer state.
        custom_objects: the user's layer classes and Lambda functions the file names, by
            class name or registered name (``{"MyLayer": MyLayer}``), besides those
            registered with ``register_keras_serializable``. Nothing else a file names is
            ever imported or run.

    Returns:
        A convnp `Sequential` or `Model` with the file's weights, predicting like Keras.

    Raises:
        ValueError: not a ``.keras`` archive, an unsupported model or layer (named), a
            ``Lambda`` layer or custom object, or weights that do not fit.
        ImportError: h5py is not installed (``pip install convnp[h5]``).
    """
    h5py = _require_h5py()
    path = os.fspath(path)
    config, metadata, weights = read_keras_archive(path)
    if metadata is not None:
        version = str(metadata.get("keras_version", "")) if isinstance(metadata, dict) else ""
        if version and not version.startswith("3."):
            raise ValueError(f"{path}: saved by Keras {version}; only Keras 3 .keras files "
                             "are supported")
    from convnp.serialization import CustomObjectScope

    with CustomObjectScope(custom_objects):  # the user's classes, for every lookup below
        try:
            # the model may not hold more weights than the HDF5 member could (see _limits)
            with weight_budget(expansion_limit(len(weights)), f"{path}:{WEIGHTS_MEMBER}"):
                model = model_from_keras_config(config)
        except UserClassError as error:
            raise type(error)(f"{path}: {error}") from None
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
        except RecursionError:
            raise ValueError(f"{path}: the model config is nested too deeply") from None
        source = f"{path}:{WEIGHTS_MEMBER}"
        with open_file(h5py, io.BytesIO(weights), source) as f:
            _read_weights_h5(model, f, source)
            _load_assets(model, _read_assets(path), path)
            # Keras writes an empty compile_config for a model it never compiled
            if compile and isinstance(config.get("compile_config"), dict) \
                    and config["compile_config"]:
                _compile_from_config(model, config["compile_config"], path)
                if getattr(model, "_compiled", False):
                    _read_optimizer_h5(model, f, source)
    return model


# Arguments Keras 3.15 writes in loss and metric configs that some convnp classes do not take;
# at these values they mean the default, so they are dropped on reading.
_KERAS_ONLY_OBJECT_ARGS = {"axis": -1, "ignore_class": None, "dtype": "float32"}


def _plain_object(value, where: str):
    """Keras's ``{"module", "class_name", "config", "registered_name"}`` objects of a compile
    config as convnp's ``{"class_name", "config"}`` (lists and dicts of them too); objects
    from outside Keras are refused."""
    if isinstance(value, list):
        return [_plain_object(v, where) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _plain_object(v, where) for k, v in value.items()}
    if isinstance(value, dict) and value.get("module") == "builtins" \
            and value["class_name"] == _FUNCTION:
        return resolve_functions(value)
    if isinstance(value, dict):
        # Keras's own objects name a keras module; a user's class has "module": null (or
        # the user's module); the legacy .h5 form has no module at all (Keras's own)
        if "module" in value and not str(value["module"]).startswith("keras"):
            return _user_object(value)
        config = {k: _plain_object(v, where) for k, v in (value.get("config") or {}).items()
                  if k not in _KERAS_ONLY_OBJECT_ARGS or v != _KERAS_ONLY_OBJECT_ARGS[k]}
        return {"class_name": value["class_name"], "config": config}
    return value


def _user_object(value: dict) -> dict:
    """A user's loss or metric class named in a compile config (Keras writes ``"module":
    null`` or the user's module, and the registered name), as ``{"class_name", "config"}``
    under the name the registry or the open ``custom_objects`` know it by.

    Raises:
        ValueError: neither knows the class (the model then loads uncompiled, warned).
    """
    names = [n for n in (value.get("registered_name"), value.get("class_name"))
             if isinstance(n, str)]
    for name in names:
        if isinstance(serialization.get_registered_object(name), type):
            return {"class_name": name, "config": dict(value.get("config") or {})}
    label = names[0] if names else value.get("class_name")
    raise ValueError(f"the file's compile state names the class {label!r}, which is not known "
                     f"here: pass custom_objects={{{str(label)!r}: {label}}} to load_model or "
                     "register it with tf.keras.saving.register_keras_serializable()")


def _compile_from_config(model, compile_config: dict, path: str) -> None:
    """Compile like Keras's ``compile_from_config``; a config convnp cannot follow leaves the
    model uncompiled with a warning, as Keras does."""
    from convnp import optimizers

    try:
        opt = _plain_object(compile_config.get("optimizer"), path)
        if isinstance(opt, dict):
            opt = optimizers.deserialize({"class_name": opt["class_name"],
                                          "config": dict(opt.get("config") or {})})
        elif not isinstance(opt, str):
            raise ValueError(f"optimizer {opt!r} is not supported")  # noqa: TRY004
        model.compile(optimizer=opt,
                      loss=loss_objects(_plain_object(compile_config.get("loss"), path)),
                      metrics=_plain_object(compile_config.get("metrics"), path),
                      weighted_metrics=_plain_object(compile_config.get("weighted_metrics"),
                                                     path),
                      loss_weights=compile_config.get("loss_weights"),
                      run_eagerly=compile_config.get("run_eagerly"),
                      steps_per_execution=compile_config.get("steps_per_execution"),
                      jit_compile=compile_config.get("jit_compile"))
    except (ValueError, TypeError, KeyError, AttributeError, IndexError,
            NotImplementedError) as error:
        warnings.warn(f"{path}: the model was loaded uncompiled; its compile config could not "
                      f"be followed: {error}", stacklevel=3)


# ---------------------------------------------------------------------------------------------
# .keras archives: writing


def _policy(dtype) -> dict:
    return {"module": "keras", "class_name": "DTypePolicy",
            "config": {"name": np.dtype(dtype).name}, "registered_name": None}


def _keras_initializer(value, where: str) -> dict:
    """A convnp initializer identifier as Keras's ``{"module", "class_name", "config"}``."""
    from convnp import initializers

    try:
        serial = initializers.serialize(initializers.get(value))
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: initializer {value!r} cannot be written: {error}") from None
    return {"module": "keras.initializers", "class_name": serial["class_name"],
            "config": dict(serial.get("config") or {}), "registered_name": None}


def _keras_nested(value, module: str) -> dict:
    """A ``{"class_name", "config"}`` object of a get_config() (a regularizer, ...) in Keras's
    form, which also names the module."""
    return {"module": module, "class_name": value["class_name"],
            "config": _json_value(dict(value.get("config") or {})), "registered_name": None}


def _user_nested(given, value: dict) -> dict:
    """A user's regularizer or constraint on a built-in layer (keras.io's PointNet T-net
    ``OrthogonalRegularizer``) in Keras's form: by its class, the user's module and the
    registered name, as Keras writes it; naming ``keras.regularizers`` would make Keras load
    its own class of that name (Keras has an OrthogonalRegularizer) instead of the user's."""
    return {"module": _user_module(type(given)), "class_name": type(given).__name__,
            "config": _json_value(dict(value.get("config") or {})),
            "registered_name": serialization.get_registered_name(type(given))}


def _shape_list(shape) -> list | None:
    if shape is None:
        return None
    if isinstance(shape, list):  # several inputs
        return [_shape_list(s) for s in shape]
    return [None if d is None else int(d) for d in shape]


def _json_value(value):
    """A get_config() value as JSON: tuples as lists, NumPy scalars as Python numbers."""
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _keras_layer_config(layer) -> dict:
    """The Keras 3 config of a convnp layer: its ``get_config()``, with the dtype as a Keras
    dtype policy and initializers/regularizers/constraints as Keras objects."""
    cls = type(layer).__name__
    if cls == "InputLayer":
        # Keras's InputLayer config is not its constructor's arguments (it writes the batch
        # shape and a plain dtype name, and `sparse`)
        dtype = getattr(layer, "declared_dtype", None) or layer.dtype  # int ids as declared
        name = "string" if getattr(layer, "string_input", False) else dtype.name
        return {"batch_shape": _shape_list(layer.batch_shape), "dtype": name,
                "sparse": False, "name": layer.name}
    where = _where(layer.name, cls)
    user = is_user_object(layer)
    out: dict[str, Any] = {}
    for key, value in layer.get_config().items():
        if key in _INPUT_SHAPE_KEYS or key in _NOT_IN_KERAS_CONFIG.get(cls, ()) \
                or (value is None and key in _NONE_NOT_IN_KERAS_CONFIG.get(cls, ())):
            continue  # Keras 3 writes the input as an InputLayer entry
        if key == "dtype":
            out[key] = _policy(layer.dtype)
        elif key == "layer" and is_model(getattr(layer, "layer", None)):
            # a wrapper of a model (TimeDistributed(feature_extractor)): the model's own
            # Keras entry, its layers inline, as Keras writes it
            out[key] = keras_config(layer.layer, checked=True)
        elif user:
            out[key] = _user_value(value, where, key)
        elif key.endswith("_initializer"):
            out[key] = _keras_initializer(value, where)
        elif key.endswith(("_regularizer", "_constraint")) and isinstance(value, dict) \
                and of_user_class(getattr(layer, key, None)):
            out[key] = _user_nested(getattr(layer, key), value)
        elif key.endswith("_regularizer") and isinstance(value, dict):
            out[key] = _keras_nested(value, "keras.regularizers")
        elif key.endswith("_constraint") and isinstance(value, dict):
            out[key] = _keras_nested(value, "keras.constraints")
        elif callable(getattr(value, "json_config", None)):
            out[key] = value.json_config()  # a Lambda's function, by its registered name
        else:
            out[key] = _json_value(value)
    if cls in ("SpatialDropout2D", "SpatialDropout3D"):
        # Keras 3.15's SpatialDropout2D/3D take no `trainable` and write a plain dtype name
        out.pop("trainable", None)
        out["dtype"] = layer.dtype.name
    if cls == "Lambda":
        # Keras leaves out what is not given (and has no mask without a function)
        out.pop("mask", None)
        if out.get("output_shape") is None:
            out.pop("output_shape", None)
    return out


def _user_value(value, where: str, key: str):
    """A value of a user layer's get_config() as JSON, or a ValueError naming it."""
    value = _json_value(value)
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"cannot save {where} as a Keras file: its get_config() value "
                         f"{key}={value!r:.100} is not JSON ({error}); return plain numbers, "
                         "strings, lists and dicts from get_config()") from None
    return value


_BASE_ARGUMENTS = {"self", "name", "trainable", "dtype", "input_shape", "batch_input_shape"}


def _uncovered_arguments(layer) -> list[str]:
    """Required constructor arguments of a user's layer class that its get_config() leaves
    out (so a loaded copy could not be built at all). An argument with a default may be left
    out: the copy is built with the default, and TF 2.21 saves such a layer (Keras ports of
    Swin or ConvNeXt blocks keep ``qkv_bias=True``, ``dropout_rate=0.0`` out of their
    configs)."""

    config = layer.get_config()
    missing = []
    for klass in type(layer).__mro__:
        if klass.__module__.startswith("convnp.") or klass is object:
            break  # convnp's own classes write their own arguments
        init = vars(klass).get("__init__")
        if init is None:
            continue
        for parameter in inspect.signature(init).parameters.values():
            if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY) \
                    and parameter.default is parameter.empty \
                    and parameter.name not in _BASE_ARGUMENTS \
                    and parameter.name not in config and parameter.name not in missing:
                missing.append(parameter.name)
    return missing


def _check_user_layer(layer) -> None:
    cls = type(layer).__name__
    kind = "model" if is_model(layer) else "layer"
    missing = _uncovered_arguments(layer)
    if missing:
        raise NotSavableError(
            f"cannot save {kind} '{layer.name}' of the user class {cls} as a Keras file: its "
            f"get_config() does not return the constructor argument(s) {missing}, so the "
            f"{kind} could not be rebuilt from the file. Override {cls}.get_config() to "
            f"return them (with the base class's config), as Keras asks of custom {kind}s")
    if is_model(layer):
        _subclassed_config(layer)
        _check_savable(layer)
    else:
        json.dumps(_keras_layer_config(layer))  # every value JSON (or a ValueError naming it)


# what convnp's Model.get_config() adds for its graph (a subclassed model's config is only
# the user's arguments, as in Keras)
_GRAPH_KEYS = {"layers", "input_layers", "output_layers"}


def _subclassed_config(model) -> dict:
    """The Keras config of a user's Model subclass: name, trainable and what its
    get_config() returns (JSON values only; with no get_config of its own, Keras's base
    config and the constructor's arguments)."""
    from convnp.models import Model

    where = f"model '{model.name}' ({type(model).__name__})"
    config = {"name": model.name, "trainable": bool(model.trainable)}
    if isinstance(model, Model):  # Model.get_config of a subclass: Keras's base config
        for key, value in model.get_config().items():
            if key not in _GRAPH_KEYS:
                config[key] = _user_value(value, where, key)
    return config


def _subclassed_entry(model) -> dict:
    from convnp.serialization import get_registered_name

    return {"module": _user_module(type(model)), "class_name": type(model).__name__,
            "config": _subclassed_config(model),
            "registered_name": get_registered_name(type(model)),
            "build_config": {"input_shape": _shape_list(model.inputs[0].shape)}}


def subclassed_json_config(model) -> dict:
    """What ``to_json()`` writes for a user's Model subclass, as Keras 3 does: the class,
    what its get_config() returns and, once built, the input shape (the caller adds the
    compile config). Only the config is written, so the layers it holds need no Keras
    counterpart.

    Raises:
        NotSavableError: get_config() leaves out a constructor argument (TF 2.21 raises
            NotImplementedError: the class must write its own get_config()).
    """
    from convnp.serialization import get_registered_name

    missing = _uncovered_arguments(model)
    if missing:
        cls = type(model).__name__
        raise NotSavableError(
            f"cannot write model '{model.name}' of the user class {cls} as JSON: its "
            f"get_config() does not return the constructor argument(s) {missing}. Override "
            f"{cls}.get_config() to return them, as Keras asks of custom models")
    entry = {"module": _user_module(type(model)), "class_name": type(model).__name__,
             "config": _subclassed_config(model),
             "registered_name": get_registered_name(type(model))}
    if model.built and getattr(model, "inputs", None):
        entry["build_config"] = {"input_shape": _shape_list(model.inputs[0].shape)}
    return entry


def _check_savable(model, weights_only: bool = False) -> None:
    """Refuse, before writing anything, layers that have no Keras 3 counterpart (nested models
    are checked layer by layer). ``weights_only``: a weights file needs no layer configs."""
    graph = _keras_graph(model)
    for layer in keras_layer_order(model):
        _check_layer_savable(layer, model, graph, weights_only)


def _check_layer_savable(layer, model, graph, weights_only: bool) -> None:
    """`_check_savable` for one layer of ``model`` (``graph``: its graph, None for a model
    never built)."""
    from convnp import activations
    from convnp.models import Sequential

    cls = type(layer).__name__
    if is_user_object(layer):
        if not weights_only:
            _check_user_layer(layer)
        return
    if is_model(layer):
        _check_savable(layer, weights_only)
        return
    if graph is not None and _as_operation(layer) is not None \
            and not isinstance(model, Sequential) \
            and sum(node.layer is layer for node in graph.calls) == 1:
        return  # written as a Keras 3 tensor operation (``x / 255.0``)
    if cls == "TFOpLambda":
        if weights_only:
            return  # no weights, and Keras keeps none for an operation
        raise ValueError(
            f"cannot save layer '{layer.name}' (TFOpLambda of "
            f"{layer.function.op_name}) as a Keras file: Keras 3 records only keras.ops "
            "functions on symbolic tensors, each called once in a functional model; use "
            f"the keras.ops spelling or save as .convnp")
    if cls == "TensorFlowOpLayer" and weights_only:
        return  # weightless (preprocess_input's steps): Keras keeps nothing for them
    if cls in _NOT_IN_KERAS_3 or (cls in _CODE_LAYERS and cls != "Lambda"):
        raise ValueError(f"cannot save layer '{layer.name}' of type {cls} as a Keras file: "
                         f"it has no Keras 3 counterpart (supported: {_supported()}; "
                         "arithmetic with one number in a functional model is written as "
                         "a Keras tensor operation)")
    if cls == "Lambda" and not weights_only:
        try:
            _keras_layer_config(layer)
        except ValueError as error:  # a function that is not registered
            raise ValueError(f"cannot save layer '{layer.name}' (Lambda) as a Keras file: "
                             f"{error}") from None
    activation = getattr(layer, "activation", None)
    if activation is not None:
        name = getattr(activation, "name", None)
        try:
            known = name is not None and activations.get(name) == activation
        except (ValueError, TypeError):
            known = False
        if not known:
            raise ValueError(f"cannot save layer '{layer.name}' ({cls}): its activation "
                             f"{activation!r} is not a built-in Keras activation")


def _unbuilt_config(model) -> dict:
    """Keras 3's ``config.json`` of a model never built (TF 2.21 saves it, with a warning):
    a Sequential's layers with no input entry and no build config, or a user's Model
    subclass with no build config; loading gives the model unbuilt again.

    Raises:
        ValueError: a functional model is always built; an empty Sequential has nothing
            to describe; a layer Keras does not have (named).
    """
    from convnp.models import Sequential

    refuse_step_only(model)  # (a GAN with no call of its own: save the models it holds)
    if is_user_object(model):
        return subclassed_json_config(model)
    if not isinstance(model, Sequential) or not model.layers:
        raise ValueError(f"model '{model.name}' is not built and has no layers to describe; "
                         "build it (or call predict once) before saving it")
    for layer in model.layers:
        _check_layer_savable(layer, model, None, weights_only=False)
    return {"module": "keras", "class_name": "Sequential",
            "config": {"name": model.name, "trainable": bool(model.trainable),
                       "dtype": _policy(np.float32),
                       "layers": [_layer_entry(layer, None, False) for layer in model.layers]},
            "registered_name": None}


def _keras_graph(model):
    """The model's own graph (`convnp.models.functional.Graph`), the one walk of its calls."""
    graph = getattr(model, "_graph", None)
    if graph is None:
        raise ValueError(f"model '{getattr(model, 'name', model)}' is not built")
    return graph


def _user_module(cls) -> str | None:
    """Keras writes a user class's module, and None for classes of ``__main__``."""
    module = getattr(cls, "__module__", None)
    return None if module in (None, "__main__") else module


def _layer_entry(layer, input_shape, multi: bool, call_shapes: list | None = None) -> dict:
    """A layer's Keras entry; ``call_shapes`` (a call with several tensor arguments) gives a
    layer whose build takes each its build config (`keras_build_config`)."""
    if is_model(layer):
        return keras_config(layer, checked=True)  # a nested model: its whole config inline
    cls = type(layer).__name__
    if is_user_object(layer):
        from convnp.serialization import get_registered_name

        entry = {"module": _user_module(type(layer)), "class_name": cls,
                 "config": _keras_layer_config(layer),
                 "registered_name": get_registered_name(type(layer))}
        builds = True  # Keras gives every user layer a build config
    else:
        home = _KERAS_HOMES.get(cls)
        entry = {"module": home or "keras.layers", "class_name": cls,
                 "config": _keras_layer_config(layer), "registered_name": home and cls}
        if cls in _KERAS_LEGACY:
            entry["module"] = "keras._legacy.layers"
        builds = bool(layer.weights) or multi or cls in _KERAS_BUILDS
    by_name = getattr(layer, "keras_build_config", None)
    if by_name is not None and call_shapes is not None:
        entry["build_config"] = by_name([_shape_list(s) for s in call_shapes])
    elif builds and input_shape is not None:
        entry["build_config"] = {"input_shape": _shape_list(input_shape)}
    return entry


def _keras_argument(value, refs: list, where: str):
    """One argument of a call with several (`Node.template`) as Keras writes it: a tensor as
    its reference, lists and dicts of them, constant arrays, JSON scalars."""
    from convnp.layers._slots import Slot
    from convnp.layers.op_layer import NOT_SCALAR, json_scalar

    if isinstance(value, Slot):
        return refs[value.index]
    if isinstance(value, (list, tuple)):
        return [_keras_argument(v, refs, where) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _keras_argument(v, refs, where) for k, v in value.items()}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":  # a constant tensor
        return {"class_name": "__tensor__",
                "config": {"value": value.tolist(), "dtype": value.dtype.name}}
    scalar = json_scalar(value, where)
    if scalar is NOT_SCALAR:
        raise ValueError(f"cannot save {where} as a Keras file: its call argument "
                         f"{value!r:.80} ({type(value).__name__}) is not a tensor, a list or "
                         "a JSON value; save as .convnp or save the weights only")
    return scalar


def _call_kwargs(layer) -> dict:
    """A call that fixed its mode (``layer(x, training=True)``, a frozen base called with
    ``training=False``) writes it in its inbound node's kwargs, as Keras does."""
    fixed = layer._fixed_training
    return {} if fixed is None else {"training": bool(fixed)}


def keras_config(model, *, checked: bool = False) -> dict:
    """The Keras 3 ``config.json`` dict of a built convnp model (uncompiled); a model used as
    a layer appears inline, with its own layers, as Keras writes it."""
    from convnp.models import Sequential

    _require_built(model)
    if not checked:
        if is_user_object(model):
            _check_user_layer(model)
        else:
            _check_savable(model)
    if is_user_object(model):
        return _subclassed_entry(model)
    graph = _keras_graph(model)
    if isinstance(model, Sequential):
        input_tensor = model.inputs[0]
        entries = [{"module": "keras.layers", "class_name": "InputLayer",
                    "config": _keras_layer_config(input_tensor.layer), "registered_name": None}]
        stacked = {id(layer) for layer in model.layers}
        for node in graph.nodes:
            if id(node.layer) not in stacked:
                continue  # the ops making a mask: Keras lists a Sequential's layers only
            entries.append(_layer_entry(node.layer, graph.tensors[node.inputs[0]].shape,
                                        False))
        shape = _shape_list(input_tensor.shape)
        return {"module": "keras", "class_name": "Sequential",
                "config": {"name": model.name, "trainable": bool(model.trainable),
                           "dtype": _policy(np.float32), "layers": entries,
                           "build_input_shape": shape},
                "registered_name": None, "build_config": {"input_shape": shape}}

    # Functional: one entry per layer, in Keras's layer order, with one inbound node per call
    # (a shared layer has several; a reference names the producer's call as its node index).
    def ref(slot: int) -> list:
        layer, call, index = graph.ref(slot)
        return [layer.name, call, index]

    entries: dict[int, dict] = {}
    for layer in graph.input_layers:
        entries[id(layer)] = {"module": "keras.layers", "class_name": "InputLayer",
                              "config": _keras_layer_config(layer), "registered_name": None,
                              "name": layer.name, "inbound_nodes": []}
    for node in graph.calls:
        shapes = [graph.tensors[s].shape for s in node.inputs]
        refs = [{"class_name": "__keras_tensor__",
                 "config": {"shape": _shape_list(graph.tensors[s].shape), "dtype": "float32",
                            "keras_history": ref(s)}} for s in node.inputs]
        if _as_operation(node.layer) is not None:  # called once (`_check_savable`)
            entries[id(node.layer)] = _operation_entry(node.layer, refs)
            continue
        several = node.multi and node.template is None  # called on one list of tensors
        entry = entries.get(id(node.layer))
        if entry is None:
            entry = _layer_entry(node.layer, shapes if several else shapes[0], several,
                                 shapes if node.template is not None else None)
            entry["name"] = node.layer.name
            entry["inbound_nodes"] = []
            entries[id(node.layer)] = entry
        if node.template is not None:  # layer(x, g, scale=2.0): Keras's args and kwargs
            call_in, call_args, call_kwargs = node.template
            where = f"layer '{node.layer.name}'"
            entry["inbound_nodes"].append({
                "args": [_keras_argument(v, refs, where) for v in (call_in, *call_args)],
                "kwargs": {**{k: _keras_argument(v, refs, where)
                              for k, v in call_kwargs.items()}, **_call_kwargs(node.layer)}})
            continue
        entry["inbound_nodes"].append({"args": [refs] if several else refs,
                                       "kwargs": _call_kwargs(node.layer)})

    def ends(slots: list[int], keys: list[str] | None, nesting: list | None = None):
        triples = [ref(s) for s in slots]
        for triple, slot in zip(triples, slots):
            if _counts_own_node(graph.ref(slot)[0]):
                triple[1] += 1  # Keras's numbering of a nested model's calls here
        if keys is not None:  # Model(inputs={...}): Keras writes the dict
            return dict(zip(keys, triples))
        if nesting is not None:  # outputs=[[a, b], c]: Keras writes the nested lists
            return pack(nesting, triples)
        return triples[0] if len(triples) == 1 else triples

    header = {"module": "keras.src.models.functional", "class_name": "Functional",
              "registered_name": "Functional"}
    if not type(model).__module__.startswith("convnp."):
        # a user's subclass of a functional model (keras.io's EmbeddingModel(inputs, outputs)
        # with its own train_step): Keras names the user's class, so that loading it with
        # the class in custom_objects gives that class back, train_step and all
        from convnp.serialization import get_registered_name

        header = {"module": _user_module(type(model)), "class_name": type(model).__name__,
                  "registered_name": get_registered_name(type(model))}
    return {"module": header["module"], "class_name": header["class_name"],
            "config": {"name": model.name, "trainable": bool(model.trainable),
                       "layers": [entries[id(layer)] for layer in keras_layer_order(model)],
                       "input_layers": ends(graph.input_slots, model._input_keys),
                       "output_layers": ends(graph.output_slots, model._output_keys,
                                             model._output_nesting)},
            "registered_name": header["registered_name"],
            "build_config": {"input_shape": None}}


# -- compile state ------------------------------------------------------------------------------
# convnp's optimizers, losses and metrics serialize to Keras's {"class_name", "config"} with
# Keras's argument names (their own serialize functions); a .keras file also names the module
# of each object.

# Keras's optimizer variables (iteration, learning_rate unless a schedule gives it, then the
# slots in Keras's order, then optimizer-wide scalars such as Nadam's u_product) are the
# optimizer's own `_keras_variables`, each with its `get_state` key.


def _with_module(value, module: str):
    """``{"class_name", "config"}`` objects (lists and dicts of them too) in Keras's form."""
    if isinstance(value, list):
        return [_with_module(v, module) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _with_module(v, module) for k, v in value.items()}
    if isinstance(value, dict) and "registered_name" in value:
        return value  # a user's class, already in Keras's form (`_user_classes`)
    if isinstance(value, dict) and value["class_name"] == _FUNCTION:
        # a function by name (compile_state.function_config), as Keras writes one
        return {"module": "builtins", "class_name": _FUNCTION, "config": value["config"],
                "registered_name": _FUNCTION}
    if isinstance(value, dict):
        return {"module": module, "class_name": value["class_name"],
                "config": _json_value(dict(value.get("config") or {})),
                "registered_name": None}
    return value




def _user_classes(given, config):
    """``config`` (compile_config's, of what ``compile`` was given) with each instance of a
    user's class in Keras's form: ``{"module": null, "class_name", "config",
    "registered_name"}``; everything else as it was."""
    if isinstance(given, (list, tuple)) and isinstance(config, list):
        return [_user_classes(g, c) for g, c in zip(given, config)]
    if isinstance(given, dict) and isinstance(config, dict) and "class_name" not in config:
        return {k: _user_classes(given.get(k), v) for k, v in config.items()}
    if of_user_class(given) and isinstance(config, dict) and "class_name" in config:
        return {"module": None, "class_name": type(given).__name__,
                "config": _json_value(dict(config.get("config") or {})),
                "registered_name": serialization.get_registered_name(type(given))}
    return config


def _refuse_unwritable(value, kind: str, deserialize) -> None:
    """Refuse a loss/metric that Keras could not rebuild from its config (a Python function
    or a user's class), naming it."""
    if isinstance(value, list):
        for v in value:
            _refuse_unwritable(v, kind, deserialize)
        return
    if isinstance(value, dict) and "class_name" not in value:
        for v in value.values():
            _refuse_unwritable(v, kind, deserialize)
        return
    if value is None or (isinstance(value, dict) and (
            value["class_name"] == _FUNCTION or "registered_name" in value)):
        return  # a function or a user's class by name: loading needs it given
    name = value if isinstance(value, str) else value["class_name"]
    wrapped = isinstance(value, dict) and value["class_name"] in (
        "LossFunctionWrapper", "MeanMetricWrapper")
    try:
        if wrapped:
            raise ValueError("it wraps a Python function")
        deserialize(value)
    except (ValueError, TypeError, KeyError) as error:
        label = (value.get("config") or {}).get("name", name) if isinstance(value, dict) \
            else name
        raise ValueError(f"cannot save the compile state as a Keras file: {kind} {label!r} "
                         f"({name}) is not a built-in Keras {kind} ({error}); compile with "
                         "built-in losses and metrics, or save to a .convnp file") from None


def _keras_compile_config(model) -> dict | None:
    """Keras 3's ``compile_config`` of a compiled model (None if not compiled).

    Raises:
        ValueError: a loss or metric Keras cannot rebuild (a Python function, a user's class);
            the model is never saved uncompiled silently.
    """
    from convnp import losses, metrics, optimizers
    from convnp.io.compile_state import compile_config

    config = compile_config(model, include_optimizer=True)
    if config is None:
        return None
    # a user's Loss or Metric class by name, as Keras writes it (loading needs the class)
    config["loss"] = _user_classes(model.loss, config["loss"])
    for key, given in (("metrics", model._metric_ids),
                       ("weighted_metrics", getattr(model, "_weighted_metric_ids", None))):
        config[key] = _user_classes(given, config.get(key))
        _refuse_unwritable(config[key], "metric",
                           lambda v: metrics.deserialize(v) if isinstance(v, dict)
                           else metrics.get(v))
    _refuse_unwritable(config["loss"], "loss", losses.deserialize)
    opt = config["optimizer"]
    if opt is not None:
        inner = dict(opt["config"])
        rate = inner.get("learning_rate")
        schedule = getattr(model.optimizer, "_schedule", None)
        user_schedule = schedule is not None and of_user_class(schedule)
        if user_schedule:
            # a user's LearningRateSchedule (keras.io's warm-up cosine) by name, as Keras
            # writes it: loading needs the class, as the user's layers do
            cls = type(schedule)
            inner["learning_rate"] = {
                "module": None, "class_name": cls.__name__,
                "config": _json_value(schedule.get_config()),
                "registered_name": serialization.get_registered_name(cls)}
        elif isinstance(rate, dict):
            inner["learning_rate"] = _with_module(rate, "keras.optimizers.schedules")
        if of_user_class(model.optimizer):
            # a user's subclass (keras.io's gradient centralization) by name, as Keras
            # writes it: loading needs the class
            cls = type(model.optimizer)
            opt = {"module": None, "class_name": cls.__name__, "config": _json_value(inner),
                   "registered_name": serialization.get_registered_name(cls)}
        else:
            try:  # the optimizer's own arguments (a user's schedule loads by its class)
                optimizers.deserialize({"class_name": opt["class_name"], "config": {
                    **opt["config"], **({"learning_rate": 0.001} if user_schedule else {})}})
            except (ValueError, TypeError) as error:
                raise ValueError(f"cannot save the compile state as a Keras file: optimizer "
                                 f"{opt['class_name']!r}: {error}") from None
            opt = {"module": "keras.optimizers", "class_name": opt["class_name"],
                   "config": _json_value(inner), "registered_name": None}
    metric_ids, weighted_ids = config["metrics"], config["weighted_metrics"]
    return {"optimizer": opt,
            "loss": _with_module(config["loss"], "keras.losses"),
            "loss_weights": config["loss_weights"],
            "metrics": _with_module(metric_ids, "keras.metrics") if metric_ids else None,
            "weighted_metrics": _with_module(weighted_ids, "keras.metrics")
            if weighted_ids else None,
            "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False,
            **getattr(model, "_compile_options", {})}


def _keras_optimizer_layout(opt, n_variables: int) -> list[str]:
    """The keys of a built optimizer's state in the order of Keras's ``optimizer/vars``
    (after ``iterations``; ``"learning_rate"`` stands for the rate variable)."""
    keys = [key for key, _ in opt._keras_variables()[1:]]
    return [key for key in keys if key not in opt._scalar_names()]


def _stored(value) -> np.ndarray:
    """An optimizer variable's value as Keras stores it: integers as they are (the int64
    step count, Adafactor's int32 placeholders), numbers in float32."""
    value = np.asarray(value)
    return value if value.dtype.kind in "iu" else value.astype("<f4")


def optimizer_entries(model) -> list[tuple[str, np.ndarray]]:
    """The optimizer's state as Keras 3 lists its variables: ``(key, value)`` with the
    `get_state` key of each (``"iterations"`` first; ``"learning_rate"``: the rate itself).
    Empty before the optimizer is built (no step yet)."""
    opt = model.optimizer
    if not opt.built:
        return []
    return [(key, _stored(variable.value)) for key, variable in opt._keras_variables()]


def optimizer_keys(model) -> list[str]:
    """What follows the step count in Keras 3's optimizer variables for ``model``'s built
    optimizer: the rate (unless a schedule gives it), the slots, the optimizer-wide scalars."""
    return [key for key, _ in model.optimizer._keras_variables()[1:]]


def _write_optimizer_h5(model, h5file) -> None:
    """The optimizer's step count, rate, slots and scalars as Keras stores them; an optimizer
    wrapping others (LossScaleOptimizer, MultiOptimizer) lists theirs after its own, and
    Keras also stores each inner one's under its own group. An optimizer that has taken no
    step has only its step count and rate (unless a schedule gives it), as in Keras."""

    _write_optimizer_group(h5file.create_group("optimizer"), model.optimizer)


def _write_optimizer_group(group, opt) -> None:
    """One optimizer's variables under ``group/vars`` (`_write_optimizer_h5`'s layout)."""
    variables = group.create_group("vars")
    variables.attrs["name"] = opt.name
    for i, (_, variable) in enumerate(opt._keras_variables()):
        variables.create_dataset(str(i), data=_stored(variable.value))
    for path, inner in opt._keras_children():
        _write_optimizer_group(group.require_group(path), inner)


def restore_optimizer(model, count: int, read, where: str, mismatch: str = "raise") -> None:
    """Give a compiled model's optimizer the ``count`` values of a Keras 3 optimizer state
    (`optimizer_entries` order); ``read(index, shape)`` returns the value at ``index``, checked
    to have ``shape`` before it is read. Two values or fewer (the step count and the rate of an
    optimizer that never stepped) leave the optimizer fresh, unless they are the whole state of
    this optimizer (SGD without momentum), whose step count is then restored.

    Args:
        mismatch: what another count than this optimizer keeps does: ``"raise"``, or
            ``"warn"`` and leave the optimizer fresh (Keras's way with a legacy file).

    Raises:
        ValueError: a count or shape that does not fit the model (nothing is changed then).
    """
    opt = model.optimizer
    variables = model.trainable_weights
    fresh = not opt.built
    if fresh and not variables:
        # a model not built yet (saved so): its optimizer is built, fresh, by the first step
        # on the variables the model will have then
        return
    if fresh:  # built on the model's variables to learn its layout; undone if it does not fit
        opt.build(list(variables))
    entries = opt._keras_variables()
    if count != len(entries):
        if fresh:
            opt._unbuild()
        if count <= 2 and variables:
            # saved before the first step: nothing but the counters. (An optimizer with no
            # slots, SGD without momentum, has only its counters after stepping too: its
            # step count is restored below, so that a schedule goes on from where it stopped.)
            return
        if mismatch == "warn":
            warnings.warn(f"{where}: the saved optimizer state has {count} arrays where "
                          f"{type(opt).__name__} keeps {len(entries)} (saved by another "
                          "Keras version?); the optimizer starts fresh", stacklevel=4)
            return
        raise ValueError(f"{where}: the optimizer state holds {count} arrays; "
                         f"{type(opt).__name__} with {len(variables)} trainable variables "
                         f"needs {len(entries)}")
    state = {}
    try:
        for k, (key, variable) in enumerate(entries):
            current = np.asarray(variable.value)
            value = read(k, current.shape)
            if key.rpartition("/")[2] != "learning_rate":  # the rate: the compile config's
                state[key] = np.asarray(value, dtype=current.dtype)
        opt._keras_restore(state)
    except (ValueError, TypeError, KeyError, IndexError) as error:
        if fresh:
            opt._unbuild()
        raise ValueError(f"{where}: the optimizer state does not fit the model: {error}") \
            from None


def _read_optimizer_h5(model, h5file, where: str) -> None:
    """Give a compiled model's optimizer the state stored in a ``.keras`` file, if any."""
    h5py = _require_h5py()
    if getattr(model, "optimizer", None) is None:
        return
    stored = _optimizer_vars(h5py, h5file, where)
    if stored is not None:
        restore_optimizer(model, *stored, where)


def _optimizer_vars(h5py, h5file, where: str, name: str = "optimizer"):
    """``(count, read)`` for the optimizer state a Keras 3 weights file holds under
    ``name`` (``optimizer/vars``; a held optimizer's ``<attribute>/vars``): how many
    variables, and ``read(index, shape)`` giving one checked against the shape expected;
    None when the file holds none."""
    # get_node: a damaged file's links raise ValueError, not h5py's RuntimeError
    top = get_node(h5py, h5file, name, where)
    group = get_node(h5py, top, "vars", where) if isinstance(top, h5py.Group) else None
    if not isinstance(group, h5py.Group):
        return None
    try:
        count = len(group)
    except (OSError, RuntimeError, ValueError, KeyError) as exc:
        raise ValueError(f"{where}: cannot list {name}/vars ({exc})") from None

    def read(index: int, shape: tuple) -> np.ndarray:
        node = get_node(h5py, group, str(index), where)
        if not isinstance(node, h5py.Dataset):
            raise ValueError(f"{where}: {name}/vars/{index} is not a dataset")  # noqa: TRY004
        return read_dataset(h5py, node, where, f"{name}/vars/{index}", expected_shape=shape,
                            kinds="fiu")

    return count, read


def save_keras(model, path: str | os.PathLike) -> str:
    """Write a built convnp model as a Keras 3 ``.keras`` archive.

    The archive holds ``metadata.json``, ``config.json`` (the architecture, in Keras 3's own
    layout) and ``model.weights.h5`` (the weights); ``keras.models.load_model(path)`` rebuilds
    the model and predicts like convnp. A compiled model also gets its compile config (every
    optimizer convnp has, with a learning-rate schedule or not; losses and metrics by name or
    as objects with their arguments; lists or dicts for several outputs; ``loss_weights``)
    and its optimizer state in Keras's layout, so Keras (and convnp) reload it compiled and
    continue training where it stopped.

    Returns:
        ``path`` as a string.

    Raises:
        ValueError: a layer, activation, loss or metric with no Keras 3 counterpart (named;
            a Python function as loss or metric, say); nothing is written then.
        ImportError: h5py is not installed (``pip install convnp[h5]``).
    """
    h5py = _require_h5py()
    path = os.fspath(path)
    if model.built:
        config = keras_config(model)
    else:
        config = _unbuilt_config(model)
        warnings.warn(f"You are saving model '{model.name}', which has not yet been built: "
                      "the file holds its architecture and no weights (build it, or call it "
                      "on data, to save them)", UserWarning, stacklevel=_user_stacklevel())
    compile_config = _keras_compile_config(model)
    if compile_config is not None:
        config["compile_config"] = compile_config
    weights = io.BytesIO()
    with h5py.File(weights, "w") as f:
        _write_weights_h5(model, f)
        if compile_config is not None:
            _write_optimizer_h5(model, f)
    from convnp import __version__

    metadata = {"keras_version": KERAS_FORMAT_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                "saved_by": f"convnp {__version__}"}
    config_bytes = json.dumps(config, allow_nan=False).encode("utf-8")
    assets = _asset_members(model)

    def write(fileobj):
        with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr(METADATA_MEMBER, json.dumps(metadata))
            archive.writestr(CONFIG_MEMBER, config_bytes)
            archive.writestr(WEIGHTS_MEMBER, weights.getvalue())
            for member, data in assets.items():
                archive.writestr(member, data)

    atomic_write(path, write)
    return path


def load_model(path: str | os.PathLike, compile: bool = True, custom_objects=None):
    """Load a model file, choosing the reader by extension.

    ``.keras`` -> `load_keras`. Other extensions (``.convnp``: `convnp.io.saving.load_model`
    reads those; legacy Keras 2 ``.h5`` model files) raise `ValueError`.
    """
    path_str = os.fspath(path)
    lower = path_str.lower()
    if lower.endswith(".keras"):
        return load_keras(path_str, compile=compile, custom_objects=custom_objects)
    if lower.endswith(".convnp"):
        # convnp.io.saving reads these (and dispatches .keras files here); this module does
        # not import it back
        raise ValueError(f"{path_str}: a .convnp file; load it with convnp.io.saving.load_model "
                         "(or tf.keras.models.load_model)")
    if lower.endswith(".weights.h5"):
        raise ValueError(f"{path_str}: a weights file holds no architecture; build the model, "
                         "then call model.load_weights(path)")
    raise ValueError(f"{path_str}: unknown model file type; expected a .keras or .convnp file")


__all__ = [
    "keras_config",
    "keras_layer_order",
    "load_keras",
    "load_keras_weights",
    "load_model",
    "model_from_keras_config",
    "read_keras_archive",
    "save_keras",
    "save_keras_weights",
    "weight_keys",
]
