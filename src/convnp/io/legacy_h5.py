"""Keras's legacy HDF5 files: whole models (``model.save("m.h5")``) and the ``layer_names``
weights layout (Keras 2's ``save_weights("w.h5")``, the published application weights).

    model.save("best.h5")                     # what Keras-2-era tutorials write
    model = convnp.keras.models.load_model("best.h5")

The layout (observed on what Keras 3.15's ``model.save("m.h5")`` writes):

* root attributes ``keras_version``, ``backend``, ``model_config`` (JSON: ``{"class_name",
  "config"}`` of the model, its layer entries in Keras's legacy form: no ``module``,
  ``registered_name`` or ``build_config`` beside them; the objects inside a layer config keep
  theirs) and, for a compiled model, ``training_config`` (JSON: ``loss``, ``metrics``,
  ``loss_weights``, ... and ``optimizer_config`` ``{"class_name", "config"}``);
* group ``model_weights``: attribute ``layer_names`` (every layer of ``model.layers``), one
  group per layer with attribute ``weight_names`` (the variables' paths, trainable ones first)
  and one dataset per name (a path with slashes makes subgroups);
* group ``optimizer_weights``: attribute ``weight_names`` and one dataset per name, in Keras 3's
  order of the optimizer's variables (step count, rate, slots), the order `keras_format`
  uses in ``.keras`` files. Keras reads them by position.

An attribute list longer than HDF5's object header allows is split into ``name0``, ``name1``,
... (Keras's convention), both ways.

Weights are matched to the model's layers with weights in order (names are not used: automatic
names differ between sessions), as Keras's loader does. Reading goes through `convnp._hdf5`
(no data from other files, each dataset's shape checked against the model's variable before
it is read); the model a file describes is built under a weight budget bounded by the file's
size. Nothing in a file is executed: the configs are JSON read by `convnp.io.keras_format`'s
reader, which refuses Lambda code and classes it does not know. ``h5py`` is an optional extra.
"""

from __future__ import annotations

import json
import os

import numpy as np

from convnp._hdf5 import get_node, open_file, read_dataset
from convnp._limits import expansion_limit
from convnp.io import keras_format
from convnp.io._files import atomic_write, weights_mismatch
from convnp.io._zip import loads_finite
from convnp.io.keras_tree import is_model, is_user_object
from convnp.layers.base import weight_budget
from convnp.optimizers.base import ADDED

__all__ = [
    "has_layer_names",
    "load_layer_weights",
    "load_model_h5",
    "load_weights_h5",
    "save_model_h5",
    "save_weights_h5",
]

MODEL_WEIGHTS = "model_weights"
OPTIMIZER_WEIGHTS = "optimizer_weights"
LAYER_NAMES = "layer_names"
WEIGHT_NAMES = "weight_names"
TOP_LEVEL = "top_level_model_weights"
# The most bytes of names one attribute may hold before Keras splits it (HDF5's object header)
_HEADER_LIMIT = 64512
_MAX_JSON_CHARS = 64 * 2**20
# The backend written in new files: the layouts follow TensorFlow's (channels_last, HWIO
# kernels), which is what Keras's readers care about.
_BACKEND = "tensorflow"


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


# ---------------------------------------------------------------------------------------------
# Name lists (attributes, chunked as Keras chunks them)


def _names(h5py, node, name: str, label: str) -> list[str]:
    """The strings of attribute ``name`` of ``node`` (or of ``name0``, ``name1``, ...)."""
    where = f"{label}: attribute '{name}' of '{_node_name(node)}'"
    try:
        attrs = node.attrs
        if name in attrs:
            parts = [attrs[name]]
        else:
            parts, k = [], 0
            while f"{name}{k}" in attrs:
                parts.append(attrs[f"{name}{k}"])
                k += 1
    except (OSError, RuntimeError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{where} is unreadable ({exc})") from None
    found = []
    for part in parts:
        values = np.asarray(part)
        if values.ndim == 0 and values.dtype.kind in "SUO":
            values = values.reshape(1)
        if values.ndim != 1 or (values.size and values.dtype.kind not in "SUO"):
            raise ValueError(f"{where} must be a list of strings, got {values.dtype} of shape "
                             f"{values.shape}")
        for value in values.tolist():
            if not isinstance(value, (str, bytes)) or not _text(value):
                raise ValueError(f"{where} holds {value!r:.80}, expected a non-empty name")
            found.append(_text(value))
    return found


def _node_name(node) -> str:
    try:
        return str(node.name)
    except (OSError, RuntimeError, ValueError):
        return "?"


def _put_names(h5py, node, name: str, names: list[str]) -> None:
    """Write ``names`` as attribute ``name``, split into ``name0``, ``name1``, ... when one
    attribute would outgrow HDF5's object header (Keras's rule, for Keras's readers)."""
    data = [n.encode("utf-8") for n in names]
    width = max((len(n) for n in data), default=0)
    chunks = 1
    while chunks < max(1, len(data)) and -(-len(data) // chunks) * width > _HEADER_LIMIT:
        chunks += 1
    dtype = h5py.string_dtype("utf-8")
    if chunks == 1:
        node.attrs[name] = np.array(names, dtype=dtype)
        return
    for k, part in enumerate(np.array_split(np.array(names, dtype=object), chunks)):
        node.attrs[f"{name}{k}"] = np.array(part.tolist(), dtype=dtype)


# ---------------------------------------------------------------------------------------------
# Layer weights (model_weights, or the root of a Keras 2 weights file)


def legacy_order(layer) -> list:
    """One layer's variables in the legacy files' order: trainable ones first."""
    weights = list(layer.weights)
    ordered = list(layer.trainable_weights) + list(layer.non_trainable_weights)
    if sorted(map(id, ordered)) != sorted(map(id, weights)):
        return weights
    return ordered


def has_layer_names(h5py, group) -> bool:
    """Whether ``group`` holds weights in the ``layer_names`` layout."""
    try:
        attrs = group.attrs
        return LAYER_NAMES in attrs or f"{LAYER_NAMES}0" in attrs
    except (OSError, RuntimeError, ValueError):
        return False


def load_layer_weights(h5py, group, model, label: str, skip_mismatch: bool = False,
                       by_name: bool = False) -> None:
    """Copy the weights of a ``layer_names`` group into ``model`` (all or nothing).

    The file's layers with weights are matched in order to the model's layers with weights;
    counts and every dataset's shape are checked before anything is read. With
    ``skip_mismatch`` a layer whose arrays differ in count or shape is left as it is (warned).
    With ``by_name`` each of the file's layers is matched to the model's layer of the same
    name instead; layers found on one side only are left alone (Keras 2's rule).

    Raises:
        ValueError: a different number of layers with weights, a layer whose arrays differ
            in count or shape (named), or a damaged group.
    """
    stored = []
    for name in _names(h5py, group, LAYER_NAMES, label):
        node = get_node(h5py, group, name, label)
        if not isinstance(node, h5py.Group):
            raise ValueError(  # noqa: TRY004 - a bad file is a ValueError
                f"{label}: layer '{name}' is listed in {LAYER_NAMES} but has no "
                             "group of weights")
        names = _names(h5py, node, WEIGHT_NAMES, label)
        if names:
            stored.append((name, node, names))
    layers = [layer for layer in model.layers if layer.weights]
    if by_name:
        by_layer_name = {layer.name: layer for layer in layers}
        pairs = [(by_layer_name[entry[0]], entry) for entry in stored
                 if entry[0] in by_layer_name]
    else:
        if len(stored) != len(layers):
            raise ValueError(f"{label}: the file has weights for {len(stored)} layers, the "
                             f"model {model.name!r} has {len(layers)} layers with weights")
        pairs = list(zip(layers, stored))
    staged = []
    for layer, (stored_name, node, names) in pairs:
        variables = legacy_order(layer)
        datasets = [get_node(h5py, node, n, label) for n in names]
        for n, dataset in zip(names, datasets):
            if not isinstance(dataset, h5py.Dataset):
                raise ValueError(  # noqa: TRY004 - a bad file is a ValueError
                    f"{label}: weight '{stored_name}/{n}' is not a dataset")
        shapes = [tuple(v.shape) for v in variables]
        found = [tuple(d.shape or ()) for d in datasets]
        if found != shapes:
            weights_mismatch(skip_mismatch, f"{label}: layer {layer.name!r} expects weights "
                                            f"of shapes {shapes}, the file's layer "
                                            f"{stored_name!r} has {found}")
            continue
        for variable, n, dataset in zip(variables, names, datasets):
            staged.append((variable, read_dataset(
                h5py, dataset, label, f"{stored_name}/{n}",
                expected_shape=tuple(variable.shape), kinds="fiu")))
    for variable, value in staged:
        variable.assign(np.asarray(value, dtype=variable.value.dtype))


def _paths(model) -> dict[int, str]:
    """A unique path per variable (Keras's ``variable.path``: ``layer/name``, below the
    model's name for a Sequential's layers and a nested model's)."""
    from convnp.models import Sequential

    paths: dict[int, str] = {}
    taken: set[str] = set()

    def add(variable, prefix: str) -> None:
        # the path below the layers only: the models' names are added here, as before
        # variable paths had them
        own = getattr(variable, "_layer_path", None) or variable.path or variable.name
        base = f"{prefix}{own}"
        path, k = base, 1
        while path in taken:
            path, k = f"{base}_{k}", k + 1
        taken.add(path)
        paths[id(variable)] = path

    outer = f"{model.name}/" if isinstance(model, Sequential) else ""
    for layer in keras_format.keras_layer_order(model):
        prefix = f"{outer}{layer.name}/" if is_model(layer) else outer
        for variable in legacy_order(layer):
            add(variable, prefix)
    return paths


def _write_layer_weights(h5py, group, model, paths: dict[int, str]) -> None:
    from convnp import __version__

    layers = keras_format.keras_layer_order(model)
    _put_names(h5py, group, LAYER_NAMES, [layer.name for layer in layers])
    group.attrs["backend"] = _BACKEND
    group.attrs["keras_version"] = keras_format.KERAS_FORMAT_VERSION
    group.attrs["saved_by"] = f"convnp {__version__}"
    for layer in sorted(layers, key=lambda item: item.name):
        node = group.create_group(layer.name)
        variables = legacy_order(layer)
        names = [paths[id(v)] for v in variables]
        _put_names(h5py, node, WEIGHT_NAMES, names)
        for name, variable in zip(names, variables):
            node.create_dataset(name, data=np.asarray(variable.value, dtype="<f4"))
    _put_names(h5py, group.create_group(TOP_LEVEL), WEIGHT_NAMES, [])


# ---------------------------------------------------------------------------------------------
# Configs: Keras 3's entries in the legacy form, and back


_MODEL_CLASSES = {"Sequential", "Functional", "Model"}
_ENTRY_EXTRAS = ("module", "registered_name", "build_config")


def _legacy_entry(entry: dict) -> dict:
    """A ``keras_config`` entry (model or layer) as a legacy file writes it."""
    module = entry.get("module")
    if isinstance(module, str) and module.startswith("keras.src.ops"):
        return entry  # a tensor operation: kept whole, so convnp reads it back as one
    out = {k: v for k, v in entry.items() if k not in _ENTRY_EXTRAS}
    if module is None or not str(module).startswith("keras"):
        # a user's class: Keras's legacy form names it by its registered name
        out["class_name"] = entry.get("registered_name") or entry["class_name"]
    elif entry["class_name"] in _MODEL_CLASSES:
        config = dict(out["config"])
        config["layers"] = [_legacy_entry(e) for e in config.get("layers", [])]
        out["config"] = config
    return out


def legacy_model_config(model) -> dict:
    """The ``model_config`` of a convnp model, as Keras 3 writes it in ``.h5`` files (a
    Sequential never built: its layers alone, as `keras_format._unbuilt_config`)."""
    config = keras_format.keras_config(model) if model.built \
        else keras_format._unbuilt_config(model)
    entry = _legacy_entry(config)
    return {"class_name": entry["class_name"], "config": entry["config"]}


def _builtin_layer(class_name: str) -> bool:
    from convnp.layers.registry import get_layer_class, is_builtin

    try:
        return is_builtin(get_layer_class(class_name))
    except ValueError:
        return False


def _operation_module(entry: dict) -> str | None:
    """The ``keras.src.ops`` module of a legacy operation entry (Keras writes ``x / 255.0``
    in a functional model's legacy config without its module), None for a layer."""
    from convnp.io import keras_op_entries

    class_name = entry["class_name"]
    nodes = entry.get("inbound_nodes")
    one_call = isinstance(nodes, list) and len(nodes) == 1 and isinstance(nodes[0], dict)
    if _builtin_layer(class_name):
        # Add, Multiply, Subtract are both: an operation has its two operands as arguments,
        # a merge layer one list of tensors
        args = nodes[0].get("args") if one_call else None
        if class_name in ("Add", "Multiply", "Subtract") and isinstance(args, list) \
                and len(args) == 2:
            return "keras.src.ops.numpy"
        return None
    if not one_call:
        return None
    for sub in ("numpy", "nn", "core", "image", "math", "linalg"):
        if keras_op_entries.is_operation_class(f"keras.src.ops.{sub}", class_name):
            return f"keras.src.ops.{sub}"
    return None


def _modern_entry(entry, depth: int = 0):
    """A legacy entry in the form `keras_format`'s reader takes (Keras 3's): a user's class
    gets its registered name back, an operation its module. Anything else is left alone
    for the reader to judge."""
    if not isinstance(entry, dict) or "module" in entry \
            or not isinstance(entry.get("class_name"), str) \
            or not isinstance(entry.get("config"), dict):
        return entry
    if depth > 64:
        raise ValueError("model config: models nested more than 64 deep")
    class_name = entry["class_name"]
    out = dict(entry)
    config = dict(entry["config"])
    axis = config.get("axis")
    if isinstance(axis, list) and len(axis) == 1 and isinstance(axis[0], int):
        config["axis"] = axis[0]  # Keras 2 wrote BatchNormalization's axis as a list
    out["config"] = config
    if class_name in _MODEL_CLASSES:
        if isinstance(config.get("layers"), list):
            config["layers"] = [_modern_entry(e, depth + 1) for e in config["layers"]]
        return out
    operation = _operation_module(out)
    if operation is not None:
        out["module"] = operation
    elif class_name != "InputLayer" and not _builtin_layer(class_name):
        out["module"] = None
        out["registered_name"] = class_name
        out["class_name"] = class_name.rpartition(">")[2]
    return out


def _training_config(model) -> dict | None:
    """The ``training_config`` of a compiled model (None if not compiled), from the same
    compile state `keras_format` writes into ``.keras`` files, objects without their module
    as Keras's legacy writer gives them."""
    compiled = keras_format._keras_compile_config(model)
    if compiled is None:
        return None

    def plain(value):
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, dict) and "class_name" not in value:
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, dict) and str(value.get("module", "")).startswith("keras"):
            return {"class_name": value["class_name"], "config": value["config"]}
        return value

    opt = compiled["optimizer"]
    return {"loss": plain(compiled["loss"]), "loss_weights": compiled["loss_weights"],
            "metrics": plain(compiled["metrics"]),
            "weighted_metrics": plain(compiled["weighted_metrics"]),
            "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False,
            "optimizer_config": {"class_name": opt["class_name"], "config": opt["config"]}}


# Keras 2 wrote a metric given by name as a wrapper of its function; these names Keras (and
# convnp) resolve from the loss at compile time, so they are given back as names.
_NAMED_BY_LOSS = ("accuracy", "acc", "crossentropy", "ce")


def _keras2_metric(value):
    """A Keras 2 ``MeanMetricWrapper`` entry as the name ``compile`` takes; others as given."""
    if isinstance(value, list):
        return [_keras2_metric(v) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _keras2_metric(v) for k, v in value.items()}
    if isinstance(value, dict) and value["class_name"] == "MeanMetricWrapper":
        config = value.get("config") or {}
        name, function = config.get("name"), config.get("fn")
        if name in _NAMED_BY_LOSS:
            return name
        if isinstance(function, str):
            return function
    return value


def _keras2_loss(value):
    """Keras 2's ``reduction="auto"`` (which meant the batch mean outside a distribution
    strategy) as Keras 3's ``"sum_over_batch_size"``; Keras 3 refuses "auto" itself."""
    if isinstance(value, list):
        return [_keras2_loss(v) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _keras2_loss(v) for k, v in value.items()}
    if isinstance(value, dict) and isinstance(value.get("config"), dict) \
            and value["config"].get("reduction") == "auto":
        return {**value, "config": {**value["config"], "reduction": "sum_over_batch_size"}}
    return value


def _compile_config(training: dict, model) -> dict:
    """A ``training_config`` as the compile config `keras_format` follows. What Keras 2 wrote
    differently is translated: metrics wrapped as ``MeanMetricWrapper`` and listed per output
    even for one output (``[["accuracy"]]``), losses with ``reduction="auto"``."""
    def one_output(metrics):
        if isinstance(metrics, list) and len(metrics) == 1 and isinstance(metrics[0], list) \
                and model.built and len(model.outputs) == 1:
            return metrics[0]
        return metrics

    return {"optimizer": training.get("optimizer_config"),
            "loss": _keras2_loss(training.get("loss")),
            "metrics": one_output(_keras2_metric(training.get("metrics"))),
            "weighted_metrics": one_output(_keras2_metric(training.get("weighted_metrics"))),
            "loss_weights": training.get("loss_weights")}


# ---------------------------------------------------------------------------------------------
# Whole models


def _optimizer_names(model, paths: dict[int, str]) -> list[str]:
    """Names for `keras_format.optimizer_entries`, as Keras names the optimizer's variables
    (``adam/iteration``, ``adam/dense_kernel_momentum``, ...); Keras reads them by position."""
    opt = model.optimizer
    variables = model.trainable_weights
    names = [f"{opt.name}/iteration"]
    for key, variable in opt._keras_variables()[1:]:
        slot, _, index = key.rpartition("/")
        if not slot:
            names.append(f"{opt.name}/{key}")
        elif "/" not in slot and slot != ADDED and index.isdigit() and \
                np.shape(variable.value) == tuple(variables[int(index)].shape):
            path = paths.get(id(variables[int(index)]), variables[int(index)].name)
            names.append(f"{opt.name}/{path.replace('/', '_')}_{slot}")
        else:  # named by the optimizer: an inner optimizer's, Adafactor's factored moments,
            # a subclass's own (add_variable)
            names.append(variable.path)
    seen: dict[str, int] = {}
    for i, name in enumerate(names):  # unique dataset names (Adafactor's two per variable)
        count = seen.get(name, 0)
        seen[name] = count + 1
        if count:
            names[i] = f"{name}_{count}"
    return names


def save_model_h5(model, path: str | os.PathLike, include_optimizer: bool = True) -> str:
    """Write a built convnp model as a legacy Keras ``.h5`` model file (whole or not at all).

    ``keras.models.load_model(path)`` (Keras 3, and tf.keras 2's loader for the layers both
    have) rebuilds it, compiled when the model was, with its optimizer's state.

    Args:
        include_optimizer: also write the compile config and the optimizer's state (Keras's
            ``include_optimizer``).

    Raises:
        ValueError: not built, a user's Model subclass (saved as ``.keras`` instead), or a
            layer, loss or metric with no Keras counterpart (named); nothing is written.
        ImportError: h5py is not installed (``pip install convnp[h5]``).
    """
    h5py = keras_format._require_h5py()
    path = os.fspath(path)
    if not model.built and not is_user_object(model):
        # TF 2.21 writes a Sequential never built too: its layers, no weights
        keras_format._unbuilt_config(model)  # (refuses what cannot be described)
    else:
        keras_format._require_built(model)
    if is_user_object(model):
        raise ValueError(f"{path}: model '{model.name}' is a subclass of keras.Model "
                         f"({type(model).__name__}, with its own call()), which a legacy .h5 "
                         "model file cannot describe (Keras refuses it too); save it as "
                         "'.keras' or save its weights")
    from convnp import __version__

    model_config = json.dumps(legacy_model_config(model), allow_nan=False)
    training = _training_config(model) if include_optimizer else None
    training_config = None if training is None else json.dumps(training, allow_nan=False)
    paths = _paths(model)
    optimizer = keras_format.optimizer_entries(model) if training is not None else []
    optimizer_names = _optimizer_names(model, paths) if optimizer else []

    def write(fileobj) -> None:
        with h5py.File(fileobj, "w") as f:
            f.attrs["keras_version"] = keras_format.KERAS_FORMAT_VERSION
            f.attrs["backend"] = _BACKEND
            f.attrs["saved_by"] = f"convnp {__version__}"
            f.attrs["model_config"] = model_config
            if training_config is not None:
                f.attrs["training_config"] = training_config
            _write_layer_weights(h5py, f.create_group(MODEL_WEIGHTS), model, paths)
            if optimizer:
                group = f.create_group(OPTIMIZER_WEIGHTS)
                _put_names(h5py, group, WEIGHT_NAMES, optimizer_names)
                for name, (_, value) in zip(optimizer_names, optimizer):
                    group.create_dataset(name, data=value)

    atomic_write(path, write)
    return path


def _json_attribute(h5py, f, name: str, label: str):
    """The JSON value of root attribute ``name`` (None if absent)."""
    try:
        if name not in f.attrs:
            return None
        raw = f.attrs[name]
    except (OSError, RuntimeError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{label}: attribute '{name}' is unreadable ({exc})") from None
    if isinstance(raw, np.ndarray) and raw.ndim == 0:
        raw = raw.item()
    if not isinstance(raw, (str, bytes)):
        raise ValueError(  # noqa: TRY004 - a bad file is a ValueError
            f"{label}: attribute '{name}' must be a JSON string, got "
                         f"{type(raw).__name__}")
    if len(raw) > _MAX_JSON_CHARS:
        raise ValueError(f"{label}: attribute '{name}' holds {len(raw)} bytes, more than a "
                         f"model config may ({_MAX_JSON_CHARS})")
    try:
        return loads_finite(raw.encode("utf-8") if isinstance(raw, str) else raw)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"{label}: attribute '{name}' is not valid JSON: {exc}") from None


def _restore_optimizer(h5py, f, model, label: str) -> None:
    """The optimizer state of ``optimizer_weights``, if any. A list of another length than
    this optimizer keeps (a Keras 2 file: its slots are ordered otherwise) leaves the
    optimizer fresh with a warning, as Keras does; a damaged one raises."""
    if getattr(model, "optimizer", None) is None:
        return
    group = get_node(h5py, f, OPTIMIZER_WEIGHTS, label)
    if group is None:
        return
    if not isinstance(group, h5py.Group):
        raise ValueError(  # noqa: TRY004 - a bad file is a ValueError
            f"{label}: '{OPTIMIZER_WEIGHTS}' is not a group")
    names = _names(h5py, group, WEIGHT_NAMES, label)

    def read(index: int, shape: tuple) -> np.ndarray:
        name = names[index]
        node = get_node(h5py, group, name, label)
        if not isinstance(node, h5py.Dataset):
            raise ValueError(  # noqa: TRY004 - a bad file is a ValueError
                f"{label}: optimizer weight '{name}' is not a dataset")
        return read_dataset(h5py, node, label, f"{OPTIMIZER_WEIGHTS}/{name}",
                            expected_shape=shape, kinds="fiu")

    # a list of another length (a Keras 2 file: its slots are ordered otherwise) leaves
    # the optimizer fresh with a warning, as Keras does
    keras_format.restore_optimizer(model, len(names), read, label, mismatch="warn")


def load_model_h5(path: str | os.PathLike, compile: bool = True, custom_objects=None):
    """Load a legacy Keras ``.h5`` model file (Keras 3's or Keras 2's ``model.save("m.h5")``,
    or convnp's) as a convnp model.

    Args:
        compile: compile the model as the file's ``training_config`` says (a config convnp
            cannot follow leaves it uncompiled with a warning, as Keras does) and give the
            optimizer its saved state.
        custom_objects: users' layer classes and functions the file names (besides those
            registered with ``register_keras_serializable``); nothing else is ever looked up.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not such a file (a weights-only file, say), an unsupported layer (named),
            Lambda code, or weights that do not fit.
        ImportError: h5py is not installed (``pip install convnp[h5]``).
    """
    h5py = keras_format._require_h5py()
    label = os.fspath(path)
    if not os.path.exists(label):
        raise FileNotFoundError(f"no such model file: {label}")
    if os.path.isdir(label):
        raise ValueError(f"{label} is a directory, not a model file")
    budget = expansion_limit(os.path.getsize(label))
    from convnp.serialization import CustomObjectScope

    with open_file(h5py, label, label) as f:
        config = _json_attribute(h5py, f, "model_config", label)
        if config is None:
            weights_only = has_layer_names(h5py, f) \
                or get_node(h5py, f, "layers", label) is not None
            hint = (" (it holds weights only: build the model, then model.load_weights)"
                    if weights_only else "")
            raise ValueError(f"{label}: no 'model_config' attribute; not a Keras .h5 model "
                             f"file{hint}")
        training = _json_attribute(h5py, f, "training_config", label) if compile else None
        weights = get_node(h5py, f, MODEL_WEIGHTS, label)
        if not isinstance(weights, h5py.Group):
            raise ValueError(  # noqa: TRY004 - a bad file is a ValueError
                f"{label}: no '{MODEL_WEIGHTS}' group")
        with CustomObjectScope(custom_objects):
            try:
                with weight_budget(budget, label):
                    model = keras_format.model_from_keras_config(_modern_entry(config))
            except keras_format.UserClassError as error:
                # the user's class is missing or cannot take the config: its own type (a
                # ValueError, as TF 2.21 raises for a missing layer class here, and a
                # TypeError, as it raises for a user's regularizer on a built-in layer)
                raise type(error)(f"{label}: {error}") from None
            except ValueError as error:
                raise ValueError(f"{label}: {error}") from None
            except RecursionError:
                raise ValueError(f"{label}: the model config is nested too deeply") from None
            except (TypeError, KeyError, IndexError, AttributeError) as error:
                raise ValueError(f"{label}: invalid model config ({type(error).__name__}: "
                                 f"{error})") from None
            load_layer_weights(h5py, weights, model, label)
            if isinstance(training, dict) and training:
                keras_format._compile_from_config(model, _compile_config(training, model),
                                                  label)
                if getattr(model, "_compiled", False):
                    _restore_optimizer(h5py, f, model, label)
            elif training is not None and not isinstance(training, dict):
                raise ValueError(f"{label}: 'training_config' must be a JSON object")
    return model


# ---------------------------------------------------------------------------------------------
# Weights only


def save_weights_h5(model, path: str | os.PathLike) -> str:
    """Write ``model``'s weights in the ``layer_names`` layout at the file's root (Keras 2's
    ``save_weights("w.h5")``; Keras 3's ``load_weights`` reads it from a ``.h5`` that is not a
    ``.weights.h5``). Whole or not at all."""
    h5py = keras_format._require_h5py()
    path = os.fspath(path)
    keras_format._require_built(model)
    paths = _paths(model)

    def write(fileobj) -> None:
        with h5py.File(fileobj, "w") as f:
            _write_layer_weights(h5py, f, model, paths)

    atomic_write(path, write)
    return path


def load_weights_h5(model, path: str | os.PathLike, label: str | None = None,
                    skip_mismatch: bool = False, by_name: bool = False) -> None:
    """Load an HDF5 weights file of any Keras layout into ``model``: Keras 3's ``layers/``
    (``.weights.h5``), the ``layer_names`` layout at the root (Keras 2's weights files, the
    published application weights) or inside ``model_weights`` (a legacy ``.h5`` model file).

    ``by_name``: the ``layer_names`` layouts only; see `load_layer_weights`.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a Keras weights file, or weights that do not fit (nothing changes);
            ``by_name`` with a file in Keras 3's layout.
    """
    h5py = keras_format._require_h5py()
    path = os.fspath(path)
    label = label or path
    keras_format._require_built(model)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such weights file: {path}")
    if os.path.isdir(path):
        raise ValueError(f"{path} is a directory, not a weights file")
    with open_file(h5py, path, label) as f:
        group = f if has_layer_names(h5py, f) else get_node(h5py, f, MODEL_WEIGHTS, label)
        if isinstance(group, h5py.Group) and has_layer_names(h5py, group):
            load_layer_weights(h5py, group, model, label, skip_mismatch, by_name)
            return
    if by_name:
        raise ValueError(f"{label}: load_weights(by_name=True) reads the legacy HDF5 layout "
                         "only (as in Keras 3); this file is in Keras 3's .weights.h5 layout")
    # Keras 3's layout (which names what is missing when it is not that either)
    keras_format.load_keras_weights(model, path, skip_mismatch)

