"""``tf.train.Checkpoint``, ``CheckpointManager`` and ``latest_checkpoint`` on convnp's own files.

TensorFlow's tutorials (DCGAN, pix2pix, CycleGAN, the "Training checkpoints" guide) keep
training state with these: a `Checkpoint` names the objects to keep (models and layers,
optimizers, Variables, other Checkpoints), ``save(prefix)`` writes ``prefix-N`` and records
it in the directory's ``checkpoint`` file, ``restore(tf.train.latest_checkpoint(dir))``
reads the newest one back.

The names and the directory layout are TensorFlow's (``ckpt-3.index``,
``ckpt-3.data-00000-of-00001``, and the text file ``checkpoint`` naming the newest), so code
that looks for them keeps working; the contents are convnp's, not TensorFlow's tensor
bundles (neither reads the other's):

``<path>.index``
    JSON: ``{"format": "convnp checkpoint", "version": 1, "objects": {name: entry}}`` where
    an entry is ``{"kind": "layer", "class": ..., "count": n}`` (the layer's or model's
    `weights`, in order), ``{"kind": "optimizer", "class": ...}`` (its `get_state()`),
    ``{"kind": "variable"}``, ``{"kind": "checkpoint", "objects": {...}}`` or, for a list,
    tuple or dict of those, ``{"kind": "group", "objects": {...}}`` (members named by
    position or key).
``<path>.data-00000-of-00001``
    an npz of the arrays, keyed ``name/0``, ``name/momentum/3``, ``outer/inner/0``...

Both are written atomically, the data first. Restoring into a layer or model with no
weights yet (a subclassed model never called) is deferred: the values are given to it when
it is built, as TensorFlow does. A model's optimizer is kept only when it is named itself
(``Checkpoint(optimizer=opt, model=model)``, as the tutorials write it).
"""

from __future__ import annotations

import io
import json
import os
import re
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from convnp._limits import expansion_limit
from convnp.io._files import atomic_write
from convnp.layers.base import Layer
from convnp.models.model import Model
from convnp.optimizers import Optimizer
from convnp.tensor import errors
from convnp.variables import Variable

__all__ = ["Checkpoint", "CheckpointManager", "CheckpointReader", "CheckpointState",
           "checkpoints_iterator", "get_checkpoint_state", "latest_checkpoint", "list_variables", "load_checkpoint",
           "load_variable"]


class CheckpointNotFoundError(errors.NotFoundError, FileNotFoundError):
    """No checkpoint at the path given to `Checkpoint.restore`/`read`: TF 2.21 raises
    ``tf.errors.NotFoundError``; convnp has long raised FileNotFoundError, so it is both."""


class CheckpointDataLossError(errors.DataLossError, ValueError):
    """What is at the path is not a readable convnp checkpoint (a directory, a damaged or
    foreign file): TF 2.21 raises a ``tf.errors.OpError`` (``DataLossError`` for a
    directory); convnp has long raised ValueError, so it is both."""


_FORMAT = "convnp checkpoint"
_DATA_SUFFIX = ".data-00000-of-00001"
_STATE_FILE = "checkpoint"


def _kind(name: str, value: Any) -> str:
    """What ``value`` is to a checkpoint: layer (models too), optimizer, variable,
    checkpoint, group (a list, tuple or dict of those, as TensorFlow tracks them), or
    iterator (kept out: see `Checkpoint.__setattr__`)."""
    if isinstance(value, Checkpoint):
        return "checkpoint"
    if isinstance(value, (list, tuple, dict)):
        for key, item in _members(value).items():
            if _kind(f"{name}[{key}]", item) == "iterator":
                raise ValueError(f"Checkpoint: '{name}[{key}]' is a dataset iterator, which "
                                 "convnp cannot keep inside a list or dict")
        return "group"
    if isinstance(value, (Layer, Model)):
        return "layer"
    if isinstance(value, Optimizer):
        return "optimizer"
    if isinstance(value, Variable):
        return "variable"
    if hasattr(value, "__next__"):
        return "iterator"
    raise ValueError(
        f"Checkpoint: '{name}' must be a model or layer, an optimizer, a tf.Variable or "
        f"another Checkpoint (what convnp can keep), got {type(value).__name__}")


def _arrays_of(objects: dict[str, Any], prefix: str = "") -> tuple[dict, dict[str, np.ndarray]]:
    """The index entries and the arrays of ``objects`` (a Checkpoint's, or a group's
    members), the arrays keyed by ``prefix`` + name (``outer/inner/0``)."""
    entries, arrays = {}, {}
    for name, value in objects.items():
        kind = _kind(name, value)
        key = prefix + name
        if kind in ("checkpoint", "group"):
            members = value._objects if kind == "checkpoint" else _members(value)
            inner, inner_arrays = _arrays_of(members, key + "/")
            entries[name] = {"kind": kind, "objects": inner}
            arrays.update(inner_arrays)
        elif kind == "layer":
            weights = value.weights
            entries[name] = {"kind": kind, "class": type(value).__name__,
                             "count": len(weights)}
            for i, v in enumerate(weights):
                arrays[f"{key}/{i}"] = np.array(v.value)
        elif kind == "optimizer":
            entries[name] = {"kind": kind, "class": type(value).__name__}
            for k, a in value.get_state().items():
                arrays[f"{key}/{k}"] = np.array(a)
        else:
            entries[name] = {"kind": kind}
            arrays[key] = np.array(value.value)
    return entries, arrays


def _members(group) -> dict[str, Any]:
    """The objects of a list, tuple or dict in a Checkpoint, by name: the position (``"0"``,
    ``"1"``, ...) or the key, as TensorFlow names them. Other values in it (numbers,
    strings, ...) have nothing to save and are left out, as TensorFlow leaves them."""
    items = group.items() if isinstance(group, dict) else enumerate(group)
    kept = (Checkpoint, Layer, Model, Optimizer, Variable, list, tuple, dict)
    return {str(key): item for key, item in items
            if isinstance(item, kept) or hasattr(item, "__next__")}


class CheckpointLoadStatus:
    """What `Checkpoint.restore` matched; the ``assert_*`` methods check it (TensorFlow's)."""

    def __init__(self, unmatched_in_file: list[str], unmatched_objects: list[str],
                 matched: list[str], deferred: list[Layer]):
        self._unmatched_in_file = unmatched_in_file
        self._unmatched_objects = unmatched_objects
        self._matched = matched
        self._deferred = deferred

    def _pending(self) -> list[str]:
        return [layer.name for layer in self._deferred if layer._checkpoint_pending is not None]

    def assert_consumed(self):
        """Every value in the file found its object, and every object got a value."""
        if self._unmatched_in_file:
            raise AssertionError(f"Unresolved objects in checkpoint: {self._unmatched_in_file} "
                                 "(nothing of that name in this Checkpoint)")
        self.assert_existing_objects_matched()
        pending = self._pending()
        if pending:
            raise AssertionError(f"Values for {pending} are waiting for those layers to be built")
        return self

    def assert_existing_objects_matched(self):
        """Every object of this Checkpoint had a value in the file."""
        if self._unmatched_objects:
            raise AssertionError(f"Objects with no value in the checkpoint: "
                                 f"{self._unmatched_objects}")
        return self

    def assert_nontrivial_match(self):
        """At least one object other than the save counter was restored."""
        if not [name for name in self._matched if name != "save_counter"]:
            raise AssertionError("Nothing except the save counter was restored from the "
                                 "checkpoint")
        return self

    def expect_partial(self):
        return self

    def run_restore_ops(self, session=None) -> None:
        """Values are restored eagerly; nothing is left to run."""

    def initialize_or_restore(self, session=None) -> None:
        """Values are restored eagerly; nothing is left to run."""


class InitializationOnlyStatus(CheckpointLoadStatus):
    """What ``restore(None)`` returns: nothing was restored (a first run)."""

    def __init__(self):
        super().__init__([], [], [], [])

    def assert_consumed(self):
        raise AssertionError("No checkpoint specified (save_path=None); nothing is being "
                             "restored.")

    assert_existing_objects_matched = assert_consumed
    assert_nontrivial_match = assert_consumed


class Checkpoint:
    """Groups models, optimizers and Variables to save and restore together.

    >>> import convnp as tf
    >>> step = tf.Variable(0, trainable=False)
    >>> ckpt = tf.train.Checkpoint(step=step)
    >>> sorted(ckpt._objects)
    ['step']

    Args:
        root: an object to keep under the name ``root`` (TensorFlow's positional argument).
        **kwargs: the objects to keep, by name; attributes set later are kept too.
    """

    def __init__(self, root: Any = None, **kwargs: Any):
        object.__setattr__(self, "_objects", {})
        if root is not None:
            kwargs = {"root": root, **kwargs}
        for name, value in kwargs.items():
            setattr(self, name, value)
        # kept beside the named objects (saved with the top-level checkpoint, restored by
        # `restore`, not `read`)
        object.__setattr__(self, "save_counter",
                           Variable(0, trainable=False, dtype="int64", name="save_counter"))

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "save_counter":
            raise AttributeError("Checkpoint.save_counter is the checkpoint's own counter")
        if not name.startswith("_"):
            if _kind(name, value) == "iterator":
                # TensorFlow keeps a tf.data iterator's position; convnp's iterators are
                # plain Python generators, which cannot be saved
                warnings.warn(f"Checkpoint: '{name}' is a dataset iterator; convnp cannot save "
                              "its position, so it is left out (after a restore it goes on "
                              "from where it is, not from where it was saved)", UserWarning,
                              stacklevel=2)
                object.__setattr__(self, name, value)
                return
            self._objects[name] = value
        object.__setattr__(self, name, value)

    # -- writing ----------------------------------------------------------------------------
    def _arrays(self, prefix: str = "") -> tuple[dict, dict[str, np.ndarray]]:
        return _arrays_of(self._objects, prefix)

    def write(self, file_prefix: str | os.PathLike, options=None) -> str:
        """Write the objects' values to ``file_prefix`` (no counter, no state file)."""
        prefix = os.fspath(file_prefix)
        entries, arrays = self._arrays()
        entries["save_counter"] = {"kind": "variable"}
        arrays["save_counter"] = np.array(self.save_counter.value)
        directory = os.path.dirname(prefix)
        if directory:
            os.makedirs(directory, exist_ok=True)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        index = json.dumps({"format": _FORMAT, "version": 1, "objects": entries}, indent=1)
        atomic_write(prefix + _DATA_SUFFIX, lambda f: f.write(buffer.getvalue()))
        atomic_write(prefix + ".index", lambda f: f.write(index), text=True)
        return prefix

    def save(self, file_prefix: str | os.PathLike, options=None) -> str:
        """Write ``file_prefix-N`` (N: the save counter, counted up first) and record it as
        the newest checkpoint of its directory. Returns the path written."""
        self.save_counter.assign_add(1)
        path = self.write(f"{os.fspath(file_prefix)}-{int(self.save_counter.numpy())}")
        _write_state(os.path.dirname(path) or ".", path, [path])
        return path

    # -- reading ----------------------------------------------------------------------------
    def restore(self, save_path: str | os.PathLike | None, options=None):
        """Give every object its value from ``save_path`` (a path `save`/`write` returned,
        or ``None``: nothing to restore, as on a first run). Returns a status object."""
        if save_path is None:
            return InitializationOnlyStatus()
        return self._read(save_path, with_counter=True)

    def read(self, save_path: str | os.PathLike, options=None):
        """`restore` for files made by `write` (the save counter is left alone)."""
        return self._read(save_path, with_counter=False)

    def _read(self, save_path, with_counter: bool) -> CheckpointLoadStatus:
        path = os.fspath(save_path)
        index, arrays = _read_files(path)
        unmatched_file, unmatched_objects, matched, deferred = [], [], [], []
        objects = dict(self._objects)
        if with_counter:
            objects["save_counter"] = self.save_counter
        self._assign(path, index["objects"], arrays, objects, "", unmatched_file,
                     unmatched_objects, matched, deferred)
        return CheckpointLoadStatus(unmatched_file, unmatched_objects, matched, deferred)

    @staticmethod
    def _assign(path, entries, arrays, objects, prefix, unmatched_file, unmatched_objects,
                matched, deferred) -> None:
        for name in entries:
            if name not in objects and not (name == "save_counter" and not prefix):
                unmatched_file.append(prefix + name)
        for name, value in objects.items():
            key = prefix + name
            entry = entries.get(name)
            if entry is None:
                unmatched_objects.append(key)
                continue
            kind = _kind(name, value)
            if entry.get("kind") != kind:
                raise ValueError(f"{path}: '{key}' was saved as a {entry.get('kind')}, but "
                                 f"this Checkpoint's '{name}' is a {kind}")
            if kind in ("checkpoint", "group"):
                members = dict(value._objects) if kind == "checkpoint" else _members(value)
                Checkpoint._assign(path, entry.get("objects", {}), arrays, members, key + "/",
                                   unmatched_file, unmatched_objects, matched, deferred)
            elif kind == "layer":
                saved = [arrays[f"{key}/{i}"] for i in range(int(entry["count"]))]
                if not value.weights and saved:
                    value._checkpoint_pending = saved
                    deferred.append(value)
                else:
                    _set_layer_weights(value, saved, f"{path}: '{key}'")
            elif kind == "optimizer":
                state = {k[len(key) + 1:]: a for k, a in arrays.items()
                         if k.startswith(key + "/")}
                value.set_state(state)
            else:
                saved, dtype = arrays[key], value.value.dtype
                if _dtype_family(saved.dtype) != _dtype_family(dtype):
                    # TF 2.21 restores a Variable only from a value of its own dtype
                    raise errors.InvalidArgumentError(
                        f"{path}: '{key}' was saved as {saved.dtype.name}, but this "
                        f"Checkpoint's Variable '{name}' is {dtype.name}")
                value.assign(saved.astype(dtype))
            matched.append(key)


def _dtype_family(dtype: np.dtype) -> str:
    """Floats, integers (signed or not) or booleans: a Variable takes a saved value of its
    own family (convnp casts within one, as between float32 and float64)."""
    return {"f": "float", "i": "int", "u": "int", "b": "bool"}.get(np.dtype(dtype).kind,
                                                                   np.dtype(dtype).kind)


def _set_layer_weights(layer: Layer, saved: list[np.ndarray], where: str) -> None:
    if len(layer.weights) != len(saved):
        raise ValueError(f"{where} has {len(saved)} saved weights, but {type(layer).__name__} "
                         f"'{layer.name}' has {len(layer.weights)}")
    layer.set_weights(saved)


def _read_files(path: str) -> tuple[dict, dict[str, np.ndarray]]:
    from convnp.io.saving import _load_npz

    if os.path.isdir(path):
        raise CheckpointDataLossError(f"Checkpoint.restore: {path} is a directory; give the "
                                      "path of one checkpoint, e.g. "
                                      "tf.train.latest_checkpoint(directory)")
    index_path, data_path = Path(path + ".index"), Path(path + _DATA_SUFFIX)
    if not index_path.is_file():
        raise CheckpointNotFoundError(f"Checkpoint.restore: no checkpoint at {path} "
                                      f"({index_path} does not exist)")
    raw = index_path.read_bytes()
    try:
        index = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        index = None
    if not isinstance(index, dict) or index.get("format") != _FORMAT:
        raise CheckpointDataLossError(f"{index_path} is not a convnp checkpoint (TensorFlow's "
                                      "own checkpoint files cannot be read by convnp)")
    if index.get("version") != 1 or not isinstance(index.get("objects"), dict):
        raise ValueError(f"{index_path}: unsupported convnp checkpoint version "
                         f"{index.get('version')!r}")
    if not data_path.is_file():
        raise CheckpointNotFoundError(f"{data_path} is missing (the checkpoint's values)")
    data = data_path.read_bytes()
    arrays = _load_npz(data, data_path, "data", limit=expansion_limit(len(data)))
    _check_keys(index["objects"], arrays, "", index_path)
    return index, arrays


def _check_keys(entries: dict, arrays: dict, prefix: str, where: Path) -> None:
    for name, entry in entries.items():
        key = prefix + name
        kind = entry.get("kind") if isinstance(entry, dict) else None
        if kind in ("checkpoint", "group"):
            _check_keys(entry.get("objects", {}), arrays, key + "/", where)
            continue
        if kind == "layer":
            wanted = [f"{key}/{i}" for i in range(int(entry.get("count", 0)))]
        elif kind == "optimizer":
            wanted = [f"{key}/iterations"]
        elif kind == "variable":
            wanted = [key]
        else:
            raise ValueError(f"{where}: entry '{key}' has an unknown kind {kind!r}")
        missing = [k for k in wanted if k not in arrays]
        if missing:
            raise ValueError(f"{where}: the data file lacks {missing}")


# -- the directory's state file ---------------------------------------------------------------

def _relative(directory: str, path: str) -> str:
    return os.path.basename(path) if os.path.dirname(path) == directory else path


class CheckpointState:
    """What ``tf.train.get_checkpoint_state`` returns: the newest checkpoint, the kept ones
    (oldest first) with the time each was saved (seconds since the epoch), and the time of
    the last checkpoint kept by ``keep_checkpoint_every_n_hours``."""

    def __init__(self, model_checkpoint_path: str, all_model_checkpoint_paths: list[str],
                 all_model_checkpoint_timestamps: list[float],
                 last_preserved_timestamp: float):
        self.model_checkpoint_path = model_checkpoint_path
        self.all_model_checkpoint_paths = all_model_checkpoint_paths
        self.all_model_checkpoint_timestamps = all_model_checkpoint_timestamps
        self.last_preserved_timestamp = last_preserved_timestamp

    def __repr__(self) -> str:
        return (f"CheckpointState(model_checkpoint_path={self.model_checkpoint_path!r}, "
                f"all_model_checkpoint_paths={self.all_model_checkpoint_paths!r})")


def _write_state(directory: str, latest: str, paths: list[str],
                 timestamps: list[float] | None = None,
                 last_preserved: float | None = None) -> None:
    """The ``checkpoint`` file, in TensorFlow's text layout (paths, then their times)."""
    lines = [f'model_checkpoint_path: "{_relative(directory, latest)}"']
    lines += [f'all_model_checkpoint_paths: "{_relative(directory, p)}"' for p in paths]
    lines += [f"all_model_checkpoint_timestamps: {t!r}" for t in timestamps or []]
    if last_preserved is not None:
        lines.append(f"last_preserved_timestamp: {last_preserved!r}")
    text = "\n".join(lines) + "\n"
    atomic_write(os.path.join(directory, _STATE_FILE), lambda f: f.write(text), text=True)


def _parse_state(directory: str) -> CheckpointState | None:
    """The ``checkpoint`` file of ``directory`` (None when there is none); relative paths
    are made relative to ``directory``. Files of older convnp versions have no times."""
    state = os.path.join(directory, _STATE_FILE)
    if not os.path.isfile(state):
        return None
    latest, paths, times, preserved = None, [], [], 0.0
    with open(state, encoding="utf-8") as f:
        for line in f:
            match = re.match(r'\s*(model_checkpoint_path|all_model_checkpoint_paths):\s*"(.*)"',
                             line)
            if match:
                path = match.group(2)
                path = path if os.path.isabs(path) else os.path.join(directory, path)
                if match.group(1) == "model_checkpoint_path":
                    latest = path
                else:
                    paths.append(path)
                continue
            match = re.match(r"\s*(all_model_checkpoint_timestamps|last_preserved_timestamp):"
                             r"\s*([-+0-9.eE]+)\s*$", line)
            if match:
                try:
                    value = float(match.group(2))
                except ValueError:
                    continue
                if match.group(1) == "last_preserved_timestamp":
                    preserved = value
                else:
                    times.append(value)
    if latest is None:
        return None
    return CheckpointState(latest, paths, times if len(times) == len(paths) else [], preserved)


def _read_state(directory: str) -> tuple[str | None, list[str]]:
    state = _parse_state(directory)
    return (None, []) if state is None else (state.model_checkpoint_path,
                                             state.all_model_checkpoint_paths)


def checkpoints_iterator(checkpoint_dir: str | os.PathLike, min_interval_secs: float = 0,
                         timeout: float | None = None, timeout_fn=None):
    """``tf.train.checkpoints_iterator``: yield the newest checkpoint of ``checkpoint_dir``
    each time a new one appears (the one already there first), looking once a second; an
    evaluation loop beside a training run uses it. Between two yields at least
    ``min_interval_secs`` pass. With ``timeout`` (seconds), a wait that long with no new
    checkpoint ends the iteration, unless ``timeout_fn`` is given and returns False (then
    the wait starts again); without it the iterator waits for ever."""
    directory = os.fspath(checkpoint_dir)
    last = None
    while True:
        deadline = None if timeout is None else time.time() + timeout
        newest = latest_checkpoint(directory)
        while newest is None or newest == last:
            if deadline is not None and time.time() + 1.0 > deadline:
                break
            time.sleep(1.0)
            newest = latest_checkpoint(directory)
        if newest is None or newest == last:  # timed out
            if timeout_fn is None or timeout_fn():
                return
            continue
        started = time.time()
        last = newest
        yield newest
        remaining = started + min_interval_secs - time.time()
        if remaining > 0:
            time.sleep(remaining)


def get_checkpoint_state(checkpoint_dir: str | os.PathLike,
                         latest_filename=None) -> CheckpointState | None:
    """``tf.train.get_checkpoint_state``: what the directory's ``checkpoint`` file records,
    or None when it has none (or the directory does not exist)."""
    return _parse_state(os.fspath(checkpoint_dir))


def latest_checkpoint(checkpoint_dir: str | os.PathLike, latest_filename=None) -> str | None:
    """The path of the newest checkpoint saved in ``checkpoint_dir``, or None when there is
    none (no ``checkpoint`` file, or the files it names are gone)."""
    latest, _ = _read_state(os.fspath(checkpoint_dir))
    if latest is None or not os.path.isfile(latest + ".index"):
        return None
    return latest


class CheckpointManager:
    """Saves numbered checkpoints of ``checkpoint`` in ``directory``, keeping the newest
    ``max_to_keep`` (all when None), as ``tf.train.CheckpointManager``.

    As TensorFlow's: a checkpoint dropped from the kept ones stays on disk when
    ``keep_checkpoint_every_n_hours`` have passed since the last one so preserved; with
    ``step_counter`` (a Variable counting steps) and ``checkpoint_interval`` (a number of
    steps), `save` writes only when the counter has moved on by that much since the last
    checkpoint (``last_checkpoint_step``: that step, when the manager starts)."""

    def __init__(self, checkpoint: Checkpoint, directory: str | os.PathLike,
                 max_to_keep: int | None, keep_checkpoint_every_n_hours=None,
                 checkpoint_name: str = "ckpt", step_counter=None, checkpoint_interval=None,
                 init_fn=None, last_checkpoint_step=None):
        if not isinstance(checkpoint, Checkpoint):
            raise TypeError(f"CheckpointManager: checkpoint must be a tf.train.Checkpoint, got "
                            f"{type(checkpoint).__name__}")
        if max_to_keep is not None and (isinstance(max_to_keep, bool)
                                        or not isinstance(max_to_keep, int) or max_to_keep < 1):
            raise ValueError(f"CheckpointManager: max_to_keep must be a positive int or None, "
                             f"got {max_to_keep!r}")
        if keep_checkpoint_every_n_hours is not None:
            hours = keep_checkpoint_every_n_hours
            if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not hours > 0:
                raise ValueError(f"CheckpointManager: keep_checkpoint_every_n_hours must be a "
                                 f"positive number or None, got {hours!r}")
        if checkpoint_interval is not None:
            if step_counter is None:
                raise ValueError("CheckpointManager: step_counter should be passed if "
                                 "checkpoint_interval is not None")
            if isinstance(checkpoint_interval, bool) or not isinstance(checkpoint_interval,
                                                                       int):
                raise TypeError(f"CheckpointManager: checkpoint_interval must be an int (a "
                                f"number of steps), got {checkpoint_interval!r}")
        self._checkpoint = checkpoint
        self._directory = os.fspath(directory)
        self._max_to_keep = max_to_keep
        self._keep_hours = keep_checkpoint_every_n_hours
        self._name = checkpoint_name
        self._init_fn = init_fn
        self._step_counter = step_counter
        self._checkpoint_interval = checkpoint_interval
        self._last_checkpoint_step = (None if last_checkpoint_step is None
                                      else int(last_checkpoint_step))
        state = _parse_state(self._directory)
        self._paths, self._times = [], {}
        self._last_preserved = time.time()
        if state is not None:
            times = dict(zip(state.all_model_checkpoint_paths,
                             state.all_model_checkpoint_timestamps))
            self._paths = [p for p in state.all_model_checkpoint_paths
                           if os.path.isfile(p + ".index")]
            latest = state.model_checkpoint_path
            if latest not in self._paths and os.path.isfile(latest + ".index"):
                self._paths.append(latest)
            self._times = {p: times.get(p, self._last_preserved) for p in self._paths}
            if state.last_preserved_timestamp:
                self._last_preserved = state.last_preserved_timestamp

    @property
    def checkpoint(self) -> Checkpoint:
        return self._checkpoint

    @property
    def directory(self) -> str:
        return self._directory

    @property
    def checkpoints(self) -> list[str]:
        """The kept checkpoints, oldest first."""
        return list(self._paths)

    @property
    def latest_checkpoint(self) -> str | None:
        return self._paths[-1] if self._paths else None

    @property
    def checkpoint_interval(self):
        return self._checkpoint_interval

    def _current_step(self) -> int:
        value = self._step_counter
        return int(value.numpy() if hasattr(value, "numpy") else value)

    def save(self, checkpoint_number: int | None = None, check_interval: bool = True,
             options=None) -> str | None:
        """Write ``<directory>/<checkpoint_name>-N`` (N: ``checkpoint_number``, else the
        checkpoint's save counter after counting up), drop the oldest beyond ``max_to_keep``
        and return the path. With ``checkpoint_interval``: None, and nothing written, when
        the step counter has not moved on by the interval since the last checkpoint
        (``check_interval=False``: only when it has not moved at all)."""
        if self._checkpoint_interval is not None:
            step = self._current_step()
            last = self._last_checkpoint_step
            if last is not None and (step == last or (
                    check_interval and step < last + self._checkpoint_interval)):
                return None
            self._last_checkpoint_step = step
        counter = self._checkpoint.save_counter
        counter.assign_add(1)
        number = int(counter.numpy()) if checkpoint_number is None else int(checkpoint_number)
        path = self._checkpoint.write(os.path.join(self._directory, f"{self._name}-{number}"))
        self._paths = [p for p in self._paths if p != path] + [path]
        self._times[path] = time.time()
        if self._max_to_keep is not None:
            while len(self._paths) > self._max_to_keep:
                old = self._paths.pop(0)
                saved_at = self._times.pop(old, None)
                if self._keep_hours is not None and saved_at is not None \
                        and saved_at - self._last_preserved >= self._keep_hours * 3600:
                    self._last_preserved = saved_at  # preserved: its files stay
                    continue
                for suffix in (".index", _DATA_SUFFIX):
                    try:
                        os.remove(old + suffix)
                    except FileNotFoundError:
                        pass
        _write_state(self._directory, path, self._paths,
                     [self._times.get(p, 0.0) for p in self._paths], self._last_preserved)
        return path

    def restore_or_initialize(self) -> str | None:
        """Restore the newest checkpoint and return its path, or run ``init_fn`` (when
        given) and return None."""
        if self.latest_checkpoint is not None:
            self._checkpoint.restore(self.latest_checkpoint)
            if self._checkpoint_interval is not None:
                self._last_checkpoint_step = self._current_step()
            return self.latest_checkpoint
        if self._init_fn is not None:
            self._init_fn()
        return None

    def sync(self) -> None:
        """Files are complete when `save` returns; nothing to wait for."""


# -- reading a checkpoint's values by name (tf.train.list_variables / load_variable) -----------

#: TensorFlow's suffix of a variable's value in a checkpoint, and the name of the entry that
#: describes the object graph
_VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
_GRAPH_ENTRY = "_CHECKPOINTABLE_OBJECT_GRAPH"


def _checkpoint_path(ckpt_dir_or_file) -> str:
    """A checkpoint's path from a directory (its newest) or a path; TF 2.21's errors."""
    path = os.fspath(ckpt_dir_or_file)
    if os.path.isdir(path):
        latest = latest_checkpoint(path)
        if latest is None:
            raise ValueError(f"Couldn't find 'checkpoint' file or checkpoints in given "
                             f"directory {path}")
        return latest
    return path


class CheckpointReader:
    """What ``tf.train.load_checkpoint`` returns: a checkpoint's values by name.

    A tf.Variable's name is TensorFlow's (``step/.ATTRIBUTES/VARIABLE_VALUE``, and
    ``inner/b/...`` inside a nested Checkpoint). Models, layers and optimizers are named by
    convnp's own keys (``model/0/...``: the model's weight 0, in ``model.weights`` order;
    ``optimizer/iterations/...``, ``optimizer/momentum/3/...``): TensorFlow's names for
    those are Keras's internal attribute paths. ``_CHECKPOINTABLE_OBJECT_GRAPH`` holds the
    checkpoint's index (convnp's JSON, as bytes; TensorFlow's is a protocol buffer)."""

    def __init__(self, path: str):
        index, arrays = _read_files(path)
        self._index_bytes = Path(path + ".index").read_bytes()
        self._values: dict[str, np.ndarray] = {}
        self._name(index["objects"], arrays, "")

    def _name(self, entries: dict, arrays: dict, prefix: str) -> None:
        for name, entry in entries.items():
            key = prefix + name
            kind = entry.get("kind")
            if kind in ("checkpoint", "group"):
                self._name(entry.get("objects", {}), arrays, key + "/")
            elif kind == "variable":
                self._values[key + _VALUE_SUFFIX] = arrays[key]
            else:  # a layer's weights or an optimizer's state, under the object's key
                for array_key, array in arrays.items():
                    if array_key.startswith(key + "/"):
                        self._values[array_key + _VALUE_SUFFIX] = array

    def get_variable_to_shape_map(self) -> dict[str, list[int]]:
        shapes = {name: list(value.shape) for name, value in self._values.items()}
        return {_GRAPH_ENTRY: [], **shapes}

    def get_variable_to_dtype_map(self) -> dict:
        from convnp.tensor.dtypes import as_dtype

        dtypes = {name: as_dtype(value.dtype) for name, value in self._values.items()}
        return {_GRAPH_ENTRY: as_dtype("string"), **dtypes}

    def has_tensor(self, name: str) -> bool:
        return name == _GRAPH_ENTRY or name in self._values

    def get_tensor(self, name: str):
        """The value saved under ``name`` (a NumPy array; a NumPy scalar for a scalar, as
        TensorFlow's reader gives)."""
        if name == _GRAPH_ENTRY:
            return self._index_bytes
        if name not in self._values:
            raise errors.NotFoundError(f"Key {name} not found in checkpoint")
        value = np.array(self._values[name])
        return value[()] if value.ndim == 0 else value


def load_checkpoint(ckpt_dir_or_file) -> CheckpointReader:
    """``tf.train.load_checkpoint``: a reader of the checkpoint at a path, or of the newest
    one in a directory.

    Raises:
        ValueError: a directory with no checkpoint. tf.errors.NotFoundError (a
            FileNotFoundError too): no checkpoint at the path.
    """
    return CheckpointReader(_checkpoint_path(ckpt_dir_or_file))


def list_variables(ckpt_dir_or_file) -> list[tuple[str, list[int]]]:
    """``tf.train.list_variables``: ``(name, shape)`` of every value in a checkpoint, sorted
    by name (names as `CheckpointReader` gives them)."""
    return sorted(load_checkpoint(ckpt_dir_or_file).get_variable_to_shape_map().items())


def load_variable(ckpt_dir_or_file, name: str):
    """``tf.train.load_variable``: the value saved under ``name`` (see `list_variables`).

    Raises:
        tf.errors.NotFoundError: no value of that name.
    """
    return load_checkpoint(ckpt_dir_or_file).get_tensor(name)
