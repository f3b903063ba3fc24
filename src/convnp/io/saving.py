"""Model files: ``.convnp`` archives (architecture + weights + optimizer state) and weight files.

A ``.convnp`` file is a zip archive with three members:

``config.json``
    ``{"format": "convnp", "format_version": 1, "convnp_version": ...,
    "model": {"class_name": "Sequential" | "Functional", "config": model.get_config()},
    "compile": null | {"optimizer": {"class_name", "config"}, "loss": name | {...},
    "metrics": [name | {...}, ...], "weighted_metrics": null | [...]},
    "weights": [{"key", "layer", "name", "shape", "dtype"}, ...],
    "optimizer_state": bool, "metadata": {...}}``. ``weights`` lists every model weight in
    `Model.weights` order; ``metadata`` is free JSON (the ``convnp`` command stores the class
    names and the training data there). A model with lookup layers (StringLookup,
    IntegerLookup, TextVectorization) adds ``"layer_state": {path: {"vocabulary": text,
    "arrays": {"idf_weights": [...]}}}``, what Keras keeps as assets and named variables.
``weights.npz``
    one array per weight, under the ``key`` given in ``config.json``
    (``"0001/conv2d/kernel"``: position, layer name, variable name).
``optimizer.npz``
    the optimizer's ``get_state()`` (iteration count and slot arrays, e.g. Adam's moments), so
    ``fit`` continues exactly where it stopped. Present only when the model was compiled and
    ``include_optimizer`` was true.

Loading never runs code from the file: the config is JSON, arrays are read with
``np.load(..., allow_pickle=False)``, and layer classes come only from convnp's registry.
Every problem (not a zip, truncated, bad JSON, missing member, unknown layer class, wrong
shape or dtype, object arrays, an unknown format version) raises ``ValueError`` naming it.

Files are written atomically: the archive is written to a temporary file next to the target,
flushed to disk, then renamed over the target. If anything fails, the temporary file is
removed and the target is untouched.

``save_weights``/``load_weights`` handle weights only: ``.weights.npz`` (a plain npz with the
same keys) natively, ``.weights.h5`` (Keras 3's layout) through `convnp.io.keras_format`, and
other ``.h5``/``.hdf5`` names in Keras 2's ``layer_names`` layout (`convnp.io.legacy_h5`, which
also reads a legacy ``.h5`` model file's weights).

`save_model` chooses the format by the extension (``.convnp``, ``.keras``, ``.h5``/``.hdf5``)
and refuses any other, as Keras does; `load_model` reads the three.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from convnp._limits import expansion_limit
from convnp.io._files import atomic_write, weights_mismatch
from convnp.io._zip import ZIP_READ_ERRORS, loads_finite, open_archive, read_member
from convnp.io.compile_state import compile_config, json_default
from convnp.io.keras_tree import refuse_step_only
from convnp.layers.base import weight_budget
from convnp.models import file_hooks
from convnp.serialization import CustomObjectScope

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "load_model",
    "load_weights",
    "read_config",
    "read_metadata",
    "save_model",
    "save_weights",
]

FORMAT_NAME = "convnp"
FORMAT_VERSION = 1

CONFIG_MEMBER = "config.json"
WEIGHTS_MEMBER = "weights.npz"
OPTIMIZER_MEMBER = "optimizer.npz"

# A config.json larger than this is not something convnp wrote; refusing it early keeps a
# hostile archive from making us decompress gigabytes just to parse it.
_MAX_CONFIG_BYTES = 64 * 1024 * 1024

#: The extensions `save_model` writes (the format follows the extension).
_MODEL_SUFFIXES = (".convnp", ".keras", ".h5", ".hdf5")

_KEY_RE = re.compile(r"^(\d{4,})/(.+)/([^/]+)$")


# -- atomic writes -----------------------------------------------------------------------------


# -- describing a model ------------------------------------------------------------------------


def _model_class_name(model: Any) -> str:
    from convnp.models import Model, Sequential

    if isinstance(model, Sequential):
        return "Sequential"
    if isinstance(model, Model):
        return "Functional"
    raise TypeError(f"save_model expects a convnp Sequential or functional Model, got "
                    f"{type(model).__name__}")


def _require_weights(model: Any) -> None:
    """A model to save must be built (a step-only model never is: it has no call)."""
    refuse_step_only(model)
    if not model.built:
        raise ValueError(f"model '{model.name}' is not built yet: it has no weights to save. "
                         "Give it an input shape or call it on data first.")


def _refuse_subclassed(model: Any, target: Path) -> None:
    """A `.convnp` file describes a model by its graph of layers: a user's `Model` subclass
    (its own ``call``) has none, so it is refused before anything is written."""
    from convnp.models import Model

    pending = [model]
    while pending:
        current = pending.pop()
        if current._subclassed:
            raise ValueError(
                f"{target}: model '{current.name}' is a subclass of keras.Model "
                f"({type(current).__name__}, with its own call()), which a .convnp file cannot "
                "describe; save the whole model as '.keras' (model.save('name.keras'), loaded "
                "with custom_objects) or its weights (save_weights('name.weights.h5'))")
        pending.extend(layer for layer in current.layers if isinstance(layer, Model))


def _weight_entries(model: Any) -> list[tuple[str, Any, Any]]:
    """``(key, layer, variable)`` for every weight, in `model.weights` order."""
    entries = []
    position = 0
    for layer in model.layers:
        for variable in layer.weights:
            entries.append((f"{position:04d}/{layer.name}/{variable.name}", layer, variable))
            position += 1
    return entries


def _npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


# -- saving -----------------------------------------------------------------------------------


def save_model(model: Any, path: str | os.PathLike, *, include_optimizer: bool = True,
               metadata: Mapping[str, Any] | None = None, overwrite: bool = True) -> Path:
    """Write ``model`` (architecture, weights, compile settings, optimizer state) to ``path``.

    Args:
        model: a built `Sequential` or functional `Model`.
        path: destination: ``*.convnp``; a ``.keras`` path writes Keras 3's format instead
            (`convnp.io.keras_format`), a ``.h5``/``.hdf5`` path Keras's legacy HDF5 model
            file (`convnp.io.legacy_h5`); any other extension (or none) is refused, as Keras
            refuses it.
        include_optimizer: also store the optimizer's state (needed to resume ``fit`` exactly).
        metadata: JSON-able dict stored as-is (e.g. ``{"class_names": [...]}``); default: the
            model's ``metadata`` attribute if it has one (set by `load_model`), so a re-saved
            model keeps it.
        overwrite: replace an existing file; if false, an existing ``path`` is an error.

    Returns:
        The path written.

    Raises:
        TypeError: not a convnp model, ``metadata`` not a dict, or a config or metadata value
            that is not JSON-able.
        ValueError: the model is not built, or ``path`` has no model file extension.
        FileExistsError: ``path`` exists and ``overwrite`` is false.
        OSError: the file cannot be written (the target is then untouched).
    """
    class_name = _model_class_name(model)
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in _MODEL_SUFFIXES:
        raise ValueError(f"invalid file extension for saving a model: {str(target)!r}; add "
                         "'.keras' (Keras 3's format, recommended), '.h5' (Keras's legacy "
                         "HDF5 format) or '.convnp' (convnp's own, with metadata)")
    if suffix in (".keras", ".h5", ".hdf5"):
        if not overwrite and target.exists():
            raise FileExistsError(f"{target} exists (pass overwrite=True to replace it)")
        if suffix == ".keras":
            return Path(_interop("save_keras")(model, target))
        return Path(_legacy_h5().save_model_h5(model, target,
                                               include_optimizer=include_optimizer))
    _require_weights(model)
    _refuse_subclassed(model, target)
    if not overwrite and target.exists():
        raise FileExistsError(f"{target} exists (pass overwrite=True to replace it)")
    if metadata is None:
        metadata = getattr(model, "metadata", None) or {}
    if not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")

    entries = _weight_entries(model)
    weights = {key: variable.numpy() for key, _, variable in entries}
    optimizer_state = None
    compiled = compile_config(model, include_optimizer)
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and compiled is not None and optimizer is not None:
        optimizer_state = {k: np.asarray(v) for k, v in optimizer.get_state().items()}
    config = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "convnp_version": _convnp_version(),
        "model": {"class_name": class_name, "config": model.get_config()},
        "compile": compiled,
        "weights": [
            {"key": key, "layer": layer.name, "name": variable.name,
             "shape": list(variable.shape), "dtype": variable.dtype.name}
            for key, layer, variable in entries
        ],
        "optimizer_state": optimizer_state is not None,
        "metadata": dict(metadata),
    }
    layer_state = _layer_state(model)
    if layer_state:
        config["layer_state"] = layer_state
    try:
        config_text = json.dumps(config, indent=1, default=json_default)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"cannot save model '{model.name}': {exc}") from None

    def write(f: BinaryIO) -> None:
        # Arrays are serialised inside the callback so a failure there is cleaned up too.
        with zipfile.ZipFile(f, "w") as archive:
            archive.writestr(CONFIG_MEMBER, config_text, compress_type=zipfile.ZIP_DEFLATED)
            # float weights barely compress; storing them keeps save and load fast
            archive.writestr(WEIGHTS_MEMBER, _npz_bytes(weights),
                             compress_type=zipfile.ZIP_STORED)
            if optimizer_state is not None:
                archive.writestr(OPTIMIZER_MEMBER, _npz_bytes(optimizer_state),
                                 compress_type=zipfile.ZIP_STORED)

    return atomic_write(target, write)


def _convnp_version() -> str:
    import convnp

    return str(getattr(convnp, "__version__", "unknown"))


# -- reading ----------------------------------------------------------------------------------


class ModelFileNotFoundError(FileNotFoundError, ValueError):
    """`load_model` of a path that does not exist (not an HDF5 one). Keras 3 raises
    ValueError ("File not found"), Keras 2 an OSError; programs written for either catch
    this one."""


def _open_archive(path: Path) -> zipfile.ZipFile:
    if not path.exists():
        raise FileNotFoundError(f"no such model file: {path}")
    return open_archive(path, str(path), "a convnp model file")


def _read_member(archive: zipfile.ZipFile, path: Path, member: str,
                 limit: int | None = None) -> bytes:
    return read_member(archive, str(path), member, limit)


def _parse_config(data: bytes, path: Path) -> dict[str, Any]:
    try:
        config = loads_finite(data, keys=("model", "compile", "weights"))
    except (ValueError, RecursionError) as exc:  # bad UTF-8, bad JSON, NaN, too deep
        raise ValueError(f"{path}: '{CONFIG_MEMBER}' is not valid JSON: {exc}") from None
    if not isinstance(config, dict):
        raise ValueError(  # noqa: TRY004 - a bad file is a ValueError, by contract
            f"{path}: '{CONFIG_MEMBER}' must hold a JSON object, got {type(config).__name__}")
    if config.get("format") != FORMAT_NAME:
        raise ValueError(f"{path}: not a convnp model file ('{CONFIG_MEMBER}' has format "
                         f"{config.get('format')!r}, expected {FORMAT_NAME!r})")
    version = config.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValueError(  # noqa: TRY004 - a bad file is a ValueError, by contract
            f"{path}: format_version must be an int, got {version!r}")
    if version != FORMAT_VERSION:
        newer = " (written by a newer convnp; upgrade convnp)" if version > FORMAT_VERSION else ""
        raise ValueError(f"{path}: unknown convnp format version {version}; this convnp "
                         f"reads version {FORMAT_VERSION}{newer}")
    model = config.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("config"), dict):
        raise ValueError(  # noqa: TRY004 - a bad file is a ValueError, by contract
            f"{path}: '{CONFIG_MEMBER}' has no 'model' entry with a 'config'")
    if model.get("class_name") not in ("Sequential", "Functional"):
        raise ValueError(f"{path}: unknown model class {model.get('class_name')!r}; expected "
                         "'Sequential' or 'Functional'")
    weights = config.get("weights")
    if not isinstance(weights, list) or not all(
            isinstance(w, dict) and isinstance(w.get("key"), str)
            and isinstance(w.get("shape"), list) and isinstance(w.get("dtype"), str)
            for w in weights):
        raise ValueError(f"{path}: '{CONFIG_MEMBER}' has no valid 'weights' list")
    metadata = config.get("metadata", {})
    if metadata is None:
        config["metadata"] = {}
    elif not isinstance(metadata, dict):
        raise ValueError(f"{path}: 'metadata' must be a JSON object")
    compile_config = config.get("compile")
    if compile_config is not None and not isinstance(compile_config, dict):
        raise ValueError(f"{path}: 'compile' must be a JSON object or null")
    return config


def read_config(path: str | os.PathLike) -> dict[str, Any]:
    """The validated ``config.json`` of a ``.convnp`` file (no model is built).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a valid convnp model file.
    """
    path = Path(path)
    with _open_archive(path) as archive:
        return _parse_config(_read_member(archive, path, CONFIG_MEMBER, _MAX_CONFIG_BYTES), path)


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The ``metadata`` dict stored in a ``.convnp`` file (``{}`` if none)."""
    return dict(read_config(path).get("metadata") or {})


# room for .npy headers and zip bookkeeping on top of the raw array bytes
_SLACK_BYTES = 1024 * 1024


def _declared_bytes(config: dict[str, Any], path: Path) -> int:
    """Raw size of the weights ``config.json`` declares (bounds what the npz may expand to)."""
    total = 0
    for entry in config["weights"]:
        shape = entry["shape"]
        if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            raise ValueError(f"{path}: weight '{entry['key']}' has an invalid shape {shape}")
        try:
            itemsize = np.dtype(entry["dtype"]).itemsize
        except TypeError:
            raise ValueError(f"{path}: weight '{entry['key']}' has an unknown dtype "
                             f"{entry['dtype']!r}") from None
        total += math.prod(shape) * itemsize
    return total


def _npz_headers(data: bytes, path: Path, member: str, limit: int | None,
                 expected: Mapping[str, tuple[tuple[int, ...], str]] | None) -> None:
    """Check every ``.npy`` header of an npz before NumPy allocates what it declares.

    Each entry must declare exactly the bytes it holds (header + data), its arrays may not
    add up to more than ``limit`` bytes, object arrays are refused, and an entry listed in
    ``expected`` must have that shape and dtype.
    """
    where = f"{path}: member '{member}'"
    with open_archive(io.BytesIO(data), where, "a valid .npz archive") as inner:
        infos = inner.infolist()
        expanded = sum(info.file_size for info in infos)
        if limit is not None and expanded > limit:
            raise ValueError(f"{where} would expand to {expanded} bytes, more than the "
                             f"{limit} bytes its weights need")
        for info in infos:
            key = info.filename.removesuffix(".npy")
            if info.file_size > expansion_limit(info.compress_size):
                raise ValueError(f"{where}: array '{key}' declares {info.file_size} bytes "
                                 f"compressed into {info.compress_size}; refusing to expand it")
            try:
                with inner.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                    elif version in ((2, 0), (3, 0)):
                        shape, _, dtype = np.lib.format.read_array_header_2_0(f)
                    else:
                        raise ValueError(f"unsupported .npy format version {version}")
                    header_size = f.tell()
            except ZIP_READ_ERRORS as exc:
                raise ValueError(f"{where}: array '{key}' has an unreadable .npy header: "
                                 f"{exc}") from None
            if dtype.hasobject:
                raise ValueError(f"{where}: array '{key}' is an object array; object arrays "
                                 "would need pickle and are refused")
            nbytes = math.prod(shape) * dtype.itemsize
            if header_size + nbytes != info.file_size:
                raise ValueError(f"{where}: array '{key}' declares shape {shape} of {dtype} "
                                 f"({nbytes} bytes) but holds {info.file_size - header_size}")
            if expected is not None and key in expected:
                want_shape, want_dtype = expected[key]
                if tuple(shape) != tuple(want_shape) or dtype != np.dtype(want_dtype):
                    raise ValueError(f"{where}: weight '{key}' has shape {tuple(shape)} and "
                                     f"dtype {dtype}, the config declares {tuple(want_shape)} "
                                     f"{np.dtype(want_dtype)}")


def _load_npz(data: bytes, path: Path, member: str, limit: int | None = None,
              expected: Mapping[str, tuple[tuple[int, ...], str]] | None = None
              ) -> dict[str, np.ndarray]:
    """Every array of an npz member, read without pickle.

    Args:
        limit: refuse the archive if its arrays would expand to more bytes than this (a
            compressed entry can claim gigabytes).
        expected: ``{key: (shape, dtype)}`` the arrays must match (checked on the headers,
            before any array is allocated).

    Raises:
        ValueError: not an npz, too large, a corrupt entry, a header that does not match its
            data or ``expected``, or an object array (which would need pickle).
    """
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ValueError(f"{path}: member '{member}' is not a valid .npz archive")
    _npz_headers(data, path, member, limit, expected)
    try:
        npz = np.load(io.BytesIO(data), allow_pickle=False)
    except ZIP_READ_ERRORS as exc:
        raise ValueError(f"{path}: member '{member}' is not a valid .npz archive: {exc}") \
            from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ValueError(  # noqa: TRY004 - a bad file is a ValueError, by contract
            f"{path}: member '{member}' is a single .npy array, expected an .npz archive")
    arrays: dict[str, np.ndarray] = {}
    with npz:
        for key in npz.files:
            try:
                arrays[key] = npz[key]
            except ZIP_READ_ERRORS as exc:
                raise ValueError(f"{path}: array '{key}' in member '{member}' is corrupt: "
                                 f"{exc}") from None
    return arrays


def _build_model(config: dict[str, Any], path: Path, custom_objects=None) -> Any:
    from convnp.models import Model, Sequential

    model_entry = config["model"]
    cls = Sequential if model_entry["class_name"] == "Sequential" else Model
    try:
        if custom_objects:
            return cls.from_config(model_entry["config"], custom_objects=custom_objects)
        return cls.from_config(model_entry["config"])
    except ValueError as exc:
        raise ValueError(f"{path}: invalid model config: {exc}") from None
    except (TypeError, KeyError, IndexError, AttributeError, RecursionError) as exc:
        # from_config of a well-formed file never hits these; a tampered one can
        raise ValueError(f"{path}: invalid model config ({type(exc).__name__}: {exc})") \
            from None


def _check_array(key: str, array: np.ndarray, shape: tuple[int, ...], dtype: np.dtype,
                 where: str) -> None:
    if array.dtype != dtype:
        raise ValueError(f"{where}: weight '{key}' has dtype {array.dtype}, expected {dtype}")
    if array.shape != shape:
        raise ValueError(f"{where}: weight '{key}' has shape {array.shape}, expected {shape}")


def _assign_weights(model: Any, config: dict[str, Any], arrays: dict[str, np.ndarray],
                    path: Path) -> None:
    entries = _weight_entries(model)
    declared = config["weights"]
    where = f"{path}: member '{WEIGHTS_MEMBER}'"
    if len(declared) != len(entries):
        raise ValueError(f"{path}: the config lists {len(declared)} weights but the model it "
                         f"describes has {len(entries)}")
    expected_keys = [key for key, _, _ in entries]
    declared_keys = [w["key"] for w in declared]
    if declared_keys != expected_keys:
        diff = [(d, e) for d, e in zip(declared_keys, expected_keys) if d != e][:3]
        raise ValueError(f"{path}: weight names in the config do not match the model "
                         f"(declared vs expected: {diff})")
    missing = [k for k in expected_keys if k not in arrays]
    extra = sorted(set(arrays) - set(expected_keys))
    if missing or extra:
        raise ValueError(f"{where}: missing weights {missing[:5]}, unexpected weights "
                         f"{extra[:5]}")
    for (key, _, variable), entry in zip(entries, declared):
        _check_array(key, arrays[key], tuple(entry["shape"]), np.dtype(variable.dtype), where)
        _check_array(key, arrays[key], variable.shape, np.dtype(variable.dtype), where)
    for key, _, variable in entries:
        variable.assign(arrays[key])


def _compile(model: Any, compile_config: dict[str, Any], path: Path) -> None:
    from convnp import optimizers
    from convnp.io.compile_state import loss_objects, resolve_functions

    try:
        # a user's function by name: from custom_objects or the registry, or refused as
        # Keras refuses it (load with compile=False to get the model alone)
        loss = loss_objects(resolve_functions(compile_config.get("loss")))
        metrics = resolve_functions(compile_config.get("metrics") or [])
        optimizer_config = compile_config.get("optimizer")
        optimizer = (optimizers.deserialize(optimizer_config) if optimizer_config is not None
                     else "rmsprop")
        weighted = resolve_functions(compile_config.get("weighted_metrics") or None)
        model.compile(optimizer=optimizer, loss=loss, metrics=metrics,
                      weighted_metrics=weighted, loss_weights=compile_config.get("loss_weights"))
    except (ValueError, TypeError, KeyError, NotImplementedError) as exc:
        raise ValueError(f"{path}: invalid compile config: {exc}") from None


def _restore_optimizer(model: Any, state: dict[str, np.ndarray], path: Path) -> None:
    """Give the model's optimizer its saved slots, checked against the trainable weights now
    (rather than at the first update of the next fit): each saved array has the key, shape
    and dtype of the optimizer's own array (slots are made from the model's weights)."""
    optimizer = model.optimizer
    where = f"{path}: member '{OPTIMIZER_MEMBER}'"
    iterations = state.get("iterations")
    if iterations is not None and (iterations.dtype.kind not in "iu" or iterations.shape != ()):
        raise ValueError(f"{where}: 'iterations' must be an integer scalar, got "
                         f"{iterations.dtype} of shape {iterations.shape}")
    weights = list(model.trainable_weights)
    try:
        if weights and any("/" in k for k in state):  # slots saved (none before a step)
            optimizer.build(weights)
            expected = optimizer.get_state()
            for key, value in state.items():
                if "/" in key and key in expected and value.dtype != expected[key].dtype:
                    raise ValueError(f"slot '{key}' has dtype {value.dtype}, expected "
                                     f"{expected[key].dtype}")
        optimizer.set_state(state)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise ValueError(f"{where}: optimizer state does not fit the model: {exc}") from None


def load_model(path: str | os.PathLike, custom_objects: Mapping[str, type] | None = None,
               compile: bool = True, safe_mode: bool = True) -> Any:
    """Rebuild a model saved by `save_model`: same architecture, weights and (if it was
    compiled) optimizer, loss, metrics and optimizer state.

    The model predicts bitwise what the saved one did, and ``fit`` continues as the original
    would have. Its ``metadata`` attribute holds the file's metadata dict.

    Args:
        path: a ``.convnp`` file. (``.keras`` files are read by `convnp.io.keras_format`,
            Keras's legacy ``.h5``/``.hdf5`` model files by `convnp.io.legacy_h5`.)
        custom_objects: users' objects by name (layer classes, losses, metrics, activations,
            ...), besides those registered with ``register_keras_serializable``; only these
            and convnp's own can appear in the file.
        compile: restore compile settings and optimizer state (if the file has them).
        safe_mode: accepted for Keras compatibility; convnp files never run code either way.

    Raises:
        ModelFileNotFoundError: no such file (a FileNotFoundError and a ValueError; for a
            ``.h5`` path a FileNotFoundError, as in Keras).
        ValueError: the file is not a valid convnp model file (the message says what is wrong).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".h5", ".hdf5") and not path.exists():
        raise ModelFileNotFoundError(f"no such model file: {path}")
    if suffix == ".keras":
        return _interop("load_keras")(path, compile=compile, custom_objects=custom_objects)
    if suffix in (".h5", ".hdf5"):
        # Keras's legacy HDF5 model files (a Lambda's marshalled code in one is refused)
        return _legacy_h5().load_model_h5(path, compile=compile,
                                          custom_objects=custom_objects)
    with _open_archive(path) as archive:
        config = _parse_config(_read_member(archive, path, CONFIG_MEMBER, _MAX_CONFIG_BYTES),
                               path)
        declared = _declared_bytes(config, path)
        limit = declared + _SLACK_BYTES
        expected = {w["key"]: (tuple(w["shape"]), w["dtype"]) for w in config["weights"]}
        weights = _load_npz(_read_member(archive, path, WEIGHTS_MEMBER, limit), path,
                            WEIGHTS_MEMBER, limit, expected)
        optimizer_state = None
        if compile and config.get("optimizer_state") and config.get("compile"):
            # at most three slots per weight (RMSprop centred with momentum) plus the count
            limit = 3 * declared + _SLACK_BYTES
            optimizer_state = _load_npz(_read_member(archive, path, OPTIMIZER_MEMBER, limit),
                                        path, OPTIMIZER_MEMBER, limit)
    # the weights just read bound the model: a config declaring a bigger one is refused
    # before its weights are allocated
    # custom_objects name users' layers, losses, metrics, activations ... everywhere inside
    with weight_budget(sum(a.nbytes for a in weights.values()) + _SLACK_BYTES, str(path)), \
            CustomObjectScope(custom_objects):
        model = _build_model(config, path, custom_objects)
    _assign_weights(model, config, weights, path)
    _restore_layer_state(model, config.get("layer_state"), path)
    if compile and config.get("compile"):
        with CustomObjectScope(custom_objects):
            _compile(model, config["compile"], path)
        if optimizer_state is not None and getattr(model, "_compiled", False):
            _restore_optimizer(model, optimizer_state, path)
    model.metadata = dict(config.get("metadata") or {})
    return model


# -- weights only -----------------------------------------------------------------------------


def _layer_state(model: Any) -> dict[str, Any]:
    """What lookup layers learn besides weights (StringLookup, IntegerLookup,
    TextVectorization): the vocabulary text (Keras's ``vocabulary.txt`` asset) and TF-IDF
    weights, by the layer's path in Keras's walk."""
    from convnp.io.keras_tree import state_groups

    state = {}
    for layer_path, owner, _ in state_groups(model):
        text = owner.asset_text() if hasattr(owner, "asset_text") else None
        arrays = owner.own_arrays() if hasattr(owner, "own_arrays") else {}
        if text is not None or arrays:
            state[layer_path] = {"vocabulary": text,
                                 "arrays": {k: np.asarray(v).tolist() for k, v in arrays.items()}}
    return state


def _restore_layer_state(model: Any, state: Any, path: Path) -> None:
    if state is None:
        return
    from convnp.io.keras_tree import state_groups

    if not isinstance(state, dict):
        raise ValueError(f"{path}: 'layer_state' must be a JSON object")  # noqa: TRY004 - a bad file
    owners = {layer_path: owner for layer_path, owner, _ in state_groups(model)}
    for layer_path, entry in state.items():
        owner = owners.get(layer_path)
        if owner is None or not hasattr(owner, "load_asset_text") or not isinstance(entry, dict):
            raise ValueError(f"{path}: 'layer_state' names {layer_path!r}, which is not a "
                             f"lookup layer of the model")
        arrays = entry.get("arrays") or {}
        text = entry.get("vocabulary")
        if not isinstance(arrays, dict) or not (text is None or isinstance(text, str)):
            raise ValueError(f"{path}: 'layer_state' entry {layer_path!r} is malformed")
        try:
            owner.load_own_arrays({k: np.asarray(v, np.float32) for k, v in arrays.items()})
            if text is not None:
                owner.load_asset_text(text)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path}: layer {layer_path!r}: {error}") from None


def _interop(function: str) -> Callable[..., Any]:
    try:
        from convnp.io import keras_format  # type: ignore[attr-defined]
    except ImportError:
        raise ValueError("Keras files (.keras, .weights.h5) need convnp.io.keras_format, "
                         "which is not available in this installation") from None
    fn = getattr(keras_format, function, None)
    if fn is None:
        raise ValueError(f"convnp.io.keras_format has no {function}()")
    return fn


def _legacy_h5():
    """`convnp.io.legacy_h5` (Keras's legacy HDF5 files), imported on use."""
    try:
        from convnp.io import legacy_h5
    except ImportError:
        raise ValueError("Keras .h5 files need convnp.io.legacy_h5, which is not available in "
                         "this installation") from None
    return legacy_h5


def _weights_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".npz"):
        return "npz"
    if name.endswith((".h5", ".hdf5")):
        return "h5"
    if name.endswith(".keras"):
        return "keras"
    raise ValueError(f"unsupported weights file {path.name!r}: use a '.weights.npz' file (or "
                     "'.weights.h5' for Keras's layout)")


def save_weights(model: Any, path: str | os.PathLike, overwrite: bool = True) -> Path:
    """Write the model's weights (no architecture, no optimizer) to ``path``.

    ``.weights.npz``: a plain npz, one array per weight under ``"0001/conv2d/kernel"``-style
    keys (position / layer name / variable name), written atomically. ``.weights.h5``: Keras
    3's layout, via `convnp.io.keras_format`; another ``.h5``/``.hdf5`` name: Keras 2's
    ``layer_names`` layout (which Keras 3's ``load_weights`` reads from such a name), via
    `convnp.io.legacy_h5`.

    Raises:
        ValueError: the model is not built, or an unsupported extension.
        FileExistsError: ``path`` exists and ``overwrite`` is false.
    """
    _model_class_name(model)
    target = Path(path)
    kind = _weights_kind(target)
    if kind == "keras":
        raise ValueError(f"save_weights({target.name!r}): a '.keras' file holds a whole model; "
                         "use model.save() for it, or a '.weights.h5' name for the weights")
    if not overwrite and target.exists():
        raise FileExistsError(f"{target} exists (pass overwrite=True to replace it)")
    if kind == "h5":
        if target.name.lower().endswith(".weights.h5"):
            _interop("save_keras_weights")(model, target)  # Keras 3's layout
        else:
            _legacy_h5().save_weights_h5(model, target)  # Keras 2's, which Keras 3 reads
        return target
    _require_weights(model)
    arrays = {key: variable.numpy() for key, _, variable in _weight_entries(model)}
    # np.savez appends ".npz" to names without it; writing to an open file avoids that
    return atomic_write(target, lambda f: np.savez(f, **arrays))


def load_weights(model: Any, path: str | os.PathLike, skip_mismatch: bool = False,
                 by_name: bool = False) -> None:
    """Load weights saved by `save_weights` into ``model`` (same architecture).

    Weights are matched by position; each key's variable name (``kernel``, ``bias``, ...) and
    each shape must agree, so a file from a different architecture is refused. Layer names may
    differ (a model built twice in one session gets ``conv2d`` then ``conv2d_1``). Values are
    cast to each variable's float dtype. Nothing is assigned unless every array fits.
    ``.h5``/``.hdf5`` files may hold either Keras layout (or be a legacy ``.h5`` model file);
    their layers with weights are matched in order, as Keras does. A whole-model ``.keras``
    file gives its weights (Keras 3 reads it so; its optimizer state is not read).

    With ``skip_mismatch``, a layer whose weights differ in count or shape from the file's
    keeps its own (a warning names it); the rest load. A file of another layout, or a
    different number of weights or layers in all, is still refused.

    ``by_name``: only for a legacy HDF5 file (the ``layer_names`` layout), as in Keras 3:
    each of the file's layers goes to the model's layer of that name; other layers keep their
    weights.

    Raises:
        FileNotFoundError: no such file.
        ValueError: unsupported extension, unreadable file, or weights that do not fit (the
            message names the first mismatch).
    """
    _model_class_name(model)
    path = Path(path)
    kind = _weights_kind(path)
    if kind == "h5":  # either Keras layout, by its content
        _legacy_h5().load_weights_h5(model, path, skip_mismatch=skip_mismatch, by_name=by_name)
        return
    if by_name:
        raise ValueError("load_weights(by_name=True) reads legacy '.h5'/'.hdf5' weights files "
                         f"only (as in Keras 3); got {path.name!r}")
    if kind == "keras":  # a whole-model file: its weights only, as Keras 3 reads it
        _interop("load_archive_weights")(model, path, skip_mismatch=skip_mismatch)
        return
    if not path.exists():
        raise FileNotFoundError(f"no such weights file: {path}")
    if not model.built:
        raise ValueError(f"model '{model.name}' is not built yet: build it (input shape) "
                         "before loading weights into it")
    if path.is_dir():
        raise ValueError(f"{path} is a directory, not a weights file")
    limit = sum(v.value.nbytes for v in model.weights) + _SLACK_BYTES
    if path.stat().st_size > limit:
        raise ValueError(f"{path} is {path.stat().st_size} bytes, more than the {limit} bytes "
                         f"model '{model.name}''s weights need")
    data = path.read_bytes()
    arrays = _load_npz(data, path, path.name, limit)
    entries = _weight_entries(model)
    parsed = []
    for key in arrays:
        match = _KEY_RE.match(key)
        if match is None:
            raise ValueError(f"{path}: unexpected key {key!r}; expected "
                             "'<position>/<layer>/<variable>' keys written by save_weights")
        parsed.append((int(match.group(1)), match.group(3), key))
    parsed.sort()
    if len(parsed) != len(entries) or [p[0] for p in parsed] != list(range(len(entries))):
        raise ValueError(f"{path}: holds {len(parsed)} weights, model '{model.name}' has "
                         f"{len(entries)}")
    skipped: set[int] = set()  # layers whose weights do not fit (skip_mismatch)
    for (_, var_name, key), (_, layer, variable) in zip(parsed, entries):
        array = arrays[key]
        if var_name != variable.name:
            raise ValueError(f"{path}: weight '{key}' is a '{var_name}', but layer "
                             f"'{layer.name}' expects '{variable.name}' at that position")
        if array.dtype.kind != "f":
            raise ValueError(f"{path}: weight '{key}' has dtype {array.dtype}, expected a "
                             "float type")
        if array.shape != variable.shape and id(layer) not in skipped:
            weights_mismatch(skip_mismatch, f"{path}: weight '{key}' has shape {array.shape}, "
                                            f"layer '{layer.name}' expects {variable.shape}")
            skipped.add(id(layer))
    for (_, _, key), (_, layer, variable) in zip(parsed, entries):
        if id(layer) not in skipped:
            variable.assign(arrays[key].astype(variable.dtype, copy=False))


def export_model(model: Any, filepath, format: str = "tf_saved_model",
                 verbose=None, input_signature=None, **kwargs) -> str:
    """Keras 3's ``Model.export`` for inference: ``format="onnx"`` writes an ONNX file
    (`convnp.io.onnx.export`; ``opset_version=`` as in Keras, default 17). TensorFlow's
    SavedModel, OpenVINO and LiteRT artifacts need those runtimes: refused, naming what
    convnp writes instead. Returns the path written."""
    if format != "onnx":
        raise ValueError(f"export(format={format!r}): convnp exports format='onnx' only (a "
                         f"{format} artifact needs its own runtime); model.save('name.keras') "
                         "keeps the whole model for Keras")
    unknown = sorted(set(kwargs) - {"opset_version"})
    if unknown:
        raise TypeError(f"export() got unexpected keyword argument(s) {unknown}")
    if input_signature is not None:
        _follow_signature(model, input_signature)
    from convnp.io import onnx

    path = onnx.export(model, filepath, opset=kwargs.get("opset_version", 17))
    if verbose:
        print(f"Saved artifact at '{path}'.")
    return path


def _signature_shapes(input_signature) -> list[tuple]:
    """The shapes of Keras 3's ``input_signature``: one spec (``tf.TensorSpec``,
    ``keras.InputSpec``, a KerasTensor: anything with a ``shape``) or a list/tuple of them."""
    specs = list(input_signature) if isinstance(input_signature, (list, tuple)) \
        else [input_signature]
    if len(specs) == 1 and isinstance(specs[0], (list, tuple)):
        specs = list(specs[0])  # [[spec_a, spec_b]]: the inputs of one call
    shapes = []
    for spec in specs:
        shape = getattr(spec, "shape", None)
        if shape is None:
            raise TypeError(f"export(input_signature=...): each entry must be a spec with a "
                            f"shape (tf.TensorSpec, keras.InputSpec), got "
                            f"{type(spec).__name__}")
        shapes.append(tuple(None if d is None else int(d) for d in shape))
    return shapes


def _follow_signature(model, input_signature) -> None:
    """``input_signature`` as Keras 3's ONNX export takes it: a subclassed model not built
    yet is built for it; a built model's inputs must agree with it (same rank, sizes equal
    where both are given). The graph keeps the model's own input shapes, batch free."""
    shapes = _signature_shapes(input_signature)
    if not model.built and getattr(model, "_subclassed", False) and len(shapes) == 1:
        model.build(shapes[0])
    inputs = getattr(model, "inputs", None) or []
    if len(inputs) != len(shapes):
        raise ValueError(f"export(input_signature=...): the model takes {len(inputs)} "
                         f"input(s), the signature gives {len(shapes)}")
    for tensor, shape in zip(inputs, shapes):
        own = tuple(tensor.shape)
        if len(own) != len(shape) or any(a is not None and b is not None and a != b
                                         for a, b in zip(own, shape)):
            raise ValueError(f"export(input_signature=...): shape {shape} does not fit the "
                             f"model's input {own}")


# Model.save / save_weights / load_weights / export reach these through the models' hook
# table, so that convnp.models never imports convnp.io (io sits above models).
def _get_compile_config(model) -> dict | None:
    from convnp.io import keras_format

    return keras_format._keras_compile_config(model)


def _keras_json_config(model) -> dict | None:
    """What ``model.to_json()`` writes as Keras 3 writes it, or None when Keras could not
    rebuild the model from it (then `to_json` writes convnp's own layout)."""
    from convnp.io import keras_format

    if model._step_only:
        return None
    if getattr(model, "_subclassed", False):
        # a user's Model subclass: its class and own get_config(), built or not, as Keras
        # writes it (TF 2.21's model_from_json rebuilds it from that); a get_config() that
        # leaves out constructor arguments raises, as Keras's NotImplementedError
        config = keras_format.subclassed_json_config(model)
        compiled = keras_format._keras_compile_config(model)
    else:
        if not model.built:
            return None
        try:
            config = keras_format.keras_config(model)
            compiled = keras_format._keras_compile_config(model)
        except (ValueError, TypeError, NotImplementedError):
            return None
    # Keras 3 writes an empty compile_config for a model never compiled
    config["compile_config"] = compiled if compiled is not None else {}
    return config


def _compile_from_config(model, config: dict) -> None:
    from convnp.io import keras_format

    keras_format._compile_from_config(model, config, f"model '{model.name}'")


def _model_from_keras_config(config: dict, custom_objects=None):
    from convnp.io import keras_format

    with CustomObjectScope(custom_objects):
        return keras_format.model_from_keras_config(config)


for _name, _function in (("save_model", save_model), ("save_weights", save_weights),
                         ("load_weights", load_weights), ("export_model", export_model),
                         ("get_compile_config", _get_compile_config),
                         ("compile_from_config", _compile_from_config),
                         ("keras_json_config", _keras_json_config),
                         ("model_from_keras_config", _model_from_keras_config)):
    file_hooks.register(_name, _function)
