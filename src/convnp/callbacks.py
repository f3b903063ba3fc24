"""Training callbacks with Keras's hooks and semantics.

The training loop drives a `CallbackList`; each `Callback` gets `set_model(model)`,
`set_params(params)` (`{"epochs", "steps", "verbose"}`) and the `on_*` hooks. `logs` are dicts
of Python floats (`"loss"`, `"accuracy"`, `"val_loss"`, ...).

What a callback may use on the model: `model.stop_training` (set to True to stop after the
current epoch), `model.get_weights()` / `model.set_weights(weights)` (EarlyStopping),
`model.save(path)` / `model.save_weights(path)` (ModelCheckpoint), and `model.metrics`
(optional: objects with `name` and `direction` in {"up", "down"} to decide `mode="auto"`).
"""

from __future__ import annotations

import csv
import io
import math
import os
import shutil
import string
import sys
import tempfile
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

from convnp.progbar import Progbar, print_msg

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "SwapEMAWeights",
    "TensorBoard",
    "TerminateOnNaN",
]


class Callback:
    """Base class; every hook is a no-op."""

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = dict(params)

    def on_train_begin(self, logs: dict | None = None) -> None: ...
    def on_train_end(self, logs: dict | None = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None: ...
    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None: ...
    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None: ...
    def on_test_begin(self, logs: dict | None = None) -> None: ...
    def on_test_end(self, logs: dict | None = None) -> None: ...
    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None: ...
    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None: ...
    def on_predict_begin(self, logs: dict | None = None) -> None: ...
    def on_predict_end(self, logs: dict | None = None) -> None: ...
    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None: ...
    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None: ...

    # Keras 2 names some user callbacks still override.
    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None: ...
    def on_batch_end(self, batch: int, logs: dict | None = None) -> None: ...


_HOOKS = (
    "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
    "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end",
    "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end",
    "on_predict_batch_begin", "on_predict_batch_end",
)


class CallbackList:
    """Calls every callback's hook in order.

    Args:
        callbacks: user callbacks (None or an iterable).
        add_history: append a `History` if none is present (after the user's callbacks, so
            it sees the final logs).
        add_progbar: append a `ProgbarLogger` if none is present (after History).
        model: handed to `set_model` of every callback.
        **params: `epochs`, `steps`, `verbose`, ... handed to `set_params`.
    """

    def __init__(self, callbacks: Iterable[Callback] | None = None, add_history: bool = False,
                 add_progbar: bool = False, model: Any = None, **params: Any):
        self.callbacks: list[Callback] = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback) and not hasattr(cb, "on_epoch_end"):
                raise TypeError(f"callbacks must be Callback instances, got {type(cb).__name__}")
        self.history: History | None = next(
            (c for c in self.callbacks if isinstance(c, History)), None)
        if add_history and self.history is None:
            self.history = History()
            self.callbacks.append(self.history)
        if add_progbar and not any(isinstance(c, ProgbarLogger) for c in self.callbacks):
            # last, as in Keras 3: what other callbacks print at an epoch's end comes before
            # the epoch's line, and what they add to the logs shows in it
            self.callbacks.append(ProgbarLogger())
        self.params = params
        self.model = model
        if model is not None:
            self.set_model(model)
        self.set_params(params)

    def append(self, callback: Callback) -> None:
        self.callbacks.append(callback)

    def set_model(self, model: Any) -> None:
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = dict(params)
        for cb in self.callbacks:
            cb.set_params(self.params)

    def __iter__(self):
        return iter(self.callbacks)

    def _call(self, hook: str, *args: Any) -> None:
        if args and isinstance(args[-1], dict):
            paths = None
            if hook in ("on_train_batch_end", "on_epoch_end"):  # a user's train_step's
                paths = getattr(self.model, "__dict__", {}).get("_log_paths_train_step")
            keras_order(args[-1], paths)
        for cb in self.callbacks:
            getattr(cb, hook)(*args)
            # Keras 2 style on_batch_* overrides still fire for training batches.
            if hook == "on_train_batch_begin" and _overrides(cb, "on_batch_begin"):
                cb.on_batch_begin(*args)
            elif hook == "on_train_batch_end" and _overrides(cb, "on_batch_end"):
                cb.on_batch_end(*args)

    def __getattr__(self, name: str):
        # hooks called without logs get an empty dict, as Keras gives (a user's callback may
        # write into it or call logs.get)
        if name in _HOOKS:
            if name in ("on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
                        "on_predict_begin", "on_predict_end"):
                return lambda logs=None: self._call(name, {} if logs is None else logs)
            return lambda index, logs=None: self._call(name, index,
                                                       {} if logs is None else logs)
        raise AttributeError(name)


def keras_order(logs: dict, paths: dict | None = None) -> dict:
    """Put ``logs`` in Keras 3's order, in place (the same dict: what callbacks write into it
    stays seen by the caller): its keys sorted, as Keras 3 with TensorFlow hands logs to
    callbacks, prints them and records them in History (``accuracy``, ``loss``,
    ``val_accuracy``, ``val_loss``). ``paths`` gives the logs a user's step returned in a
    nested dict the keys that led to them (``{"mae": ("compile_metrics", "mae")}``): Keras
    sorts them under their top key, so ``mae`` then comes before ``loss``. Returns ``logs``."""
    def order(key):
        return paths.get(key, (key,)) if paths else (key,)

    keys = [order(k) for k in logs]
    if keys != sorted(keys):
        items = sorted(logs.items(), key=lambda item: order(item[0]))
        logs.clear()
        logs.update(items)
    return logs


def _overrides(cb: Any, name: str) -> bool:
    method = getattr(type(cb), name, None)
    return method is not None and method is not getattr(Callback, name)


class History(Callback):
    """Records epoch logs: `history[key]` is a list of floats, one per epoch.

    `pd.DataFrame(history.history)` gives one column per key, as with Keras.
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def set_model(self, model: Any) -> None:
        super().set_model(model)

    def on_train_begin(self, logs=None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None) -> None:
        self.epoch.append(int(epoch))
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(_to_float(value))
        if self.model is not None:
            try:
                self.model.history = self
            except AttributeError:
                pass


def _to_float(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


class ProgbarLogger(Callback):
    """Prints progress: per-batch bar (verbose=1), one line per epoch (verbose=2).

    Reads `params["verbose"]`, `params["epochs"]` and `params["steps"]` (steps per epoch, None
    if unknown). Prints `Epoch i/N` before each epoch when N > 1, as Keras does. `evaluate` and
    `predict` get their own bar unless they run inside `fit` (validation).
    """

    def __init__(self, stream=None) -> None:
        super().__init__()
        self.stream = stream
        self.verbose = 1
        self.epochs = 1
        self.target: int | None = None
        self.progbar: Progbar | None = None
        self._in_fit = False
        self._seen = 0

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else int(verbose)
        self.epochs = params.get("epochs", 1) or 1
        self.target = params.get("steps")

    def _out(self):
        return self.stream if self.stream is not None else sys.stdout

    def _new_bar(self, target=None):
        self._seen = 0
        self.progbar = Progbar(target if target is not None else self.target,
                               verbose=self.verbose, stream=self.stream)

    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        self._new_bar()
        if self.verbose and self.epochs > 1:
            print_msg(f"Epoch {epoch + 1}/{self.epochs}", stream=self._out())

    def on_train_batch_end(self, batch, logs=None):
        self._seen = batch + 1
        if self.progbar is not None:
            self.progbar.update(self._seen, logs or {}, finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        if self.progbar is None:
            return
        if self.target is None:
            self.progbar.target = self._seen  # unknown length: now known
        self.progbar.update(self._seen, logs or {}, finalize=True)

    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._new_bar()

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._seen = batch + 1
            self.progbar.update(self._seen, logs or {}, finalize=False)

    def on_test_end(self, logs=None):
        if not self._in_fit and self.progbar is not None:
            if self.target is None:
                self.progbar.target = self._seen
            self.progbar.update(self._seen, logs or {}, finalize=True)

    def on_predict_begin(self, logs=None):
        self._new_bar()

    def on_predict_batch_end(self, batch, logs=None):
        self._seen = batch + 1
        self.progbar.update(self._seen, {}, finalize=False)

    def on_predict_end(self, logs=None):
        if self.progbar is not None:
            if self.target is None:
                self.progbar.target = self._seen
            self.progbar.update(self._seen, {}, finalize=True)


_UP_WORDS = ("acc", "auc", "precision", "recall", "f1", "fmeasure")


def _monitor_op(mode: str, monitor: str, model: Any, who: str):
    """`less` or `greater` for `mode`; in "auto", decided from the monitored name/metric."""
    if mode == "min":
        return _less
    if mode == "max":
        return _greater
    name = monitor.removeprefix("val_")
    for m in getattr(model, "metrics", None) or []:
        direction = getattr(m, "direction", None) or getattr(m, "_direction", None)
        if getattr(m, "name", None) == name and direction in ("up", "down"):
            return _greater if direction == "up" else _less
    if name.endswith(("loss", "error")):
        return _less
    if any(w in name for w in _UP_WORDS):
        return _greater
    raise ValueError(
        f"{who}: cannot tell whether {monitor!r} should be minimized or maximized; pass "
        "mode='min' or mode='max'")


def _less(a: float, b: float) -> bool:
    return a < b


def _greater(a: float, b: float) -> bool:
    return a > b


class EarlyStopping(Callback):
    """Stop training when a monitored value has stopped improving (Keras 3 semantics).

    An epoch improves when `current - min_delta` beats the best so far (`min_delta` taken with
    the sign that makes improvement harder). `wait` counts epochs since the last improvement;
    training stops when `wait >= patience` (never after epoch 0). With `baseline`, an epoch
    resets `wait` only if it also beats the baseline. With `restore_best_weights`, the weights
    of the best epoch are put back at the end of training (if no epoch improved, those of the
    first monitored epoch). Epochs before `start_from_epoch` are ignored.
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping mode must be 'auto', 'min' or 'max', got {mode!r}")
        if int(patience) < 0:
            raise ValueError(f"patience must be >= 0, got {patience}")
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = int(patience)
        self.verbose = verbose
        self.mode = mode
        self.baseline = baseline
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = int(start_from_epoch)
        self.monitor_op = None
        self.best: float | None = None
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights = None

    def _setup(self) -> None:
        self.monitor_op = _monitor_op(self.mode, self.monitor, self.model, "EarlyStopping")
        if self.monitor_op is _less:
            self._signed_delta = -self.min_delta
            self.best = math.inf
        else:
            self._signed_delta = self.min_delta
            self.best = -math.inf

    def _is_improvement(self, value: float, reference: float) -> bool:
        return self.monitor_op(value - self._signed_delta, reference)

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._setup()
        logs = logs or {}
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"EarlyStopping is monitoring {self.monitor!r}, which is not in the logs; "
                f"available: {', '.join(logs)}", stacklevel=2)
            return
        if epoch < self.start_from_epoch:
            return
        current = float(current)
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, float(self.baseline)):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print_msg(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print_msg(f"Restoring model weights from the end of the best epoch: "
                          f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class FilepathFieldError(KeyError, ValueError):
    """A ModelCheckpoint filepath field (``{val_loss:.2f}``) with no value in the logs when a
    file is due: TF 2.21 raises KeyError ("Failed to format this callback filepath"); convnp
    has long raised ValueError, so it is both. Its text is the message (not KeyError's
    quoted key)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


_MODEL_SUFFIXES = (".keras", ".h5", ".hdf5", ".convnp")
# Keras 3 wants '.weights.h5'; a plain '.h5' (Keras 2's tutorials) gets Keras 2's layout
_WEIGHTS_SUFFIXES = (".weights.h5", ".h5", ".hdf5", ".weights.npz", ".safetensors")


class ModelCheckpoint(Callback):
    """Save the model (or its weights) every epoch, every N batches, or when it improves.

    `filepath` may hold `str.format` fields: `{epoch}` (1-based) and any log key, e.g.
    `"ckpt-{epoch:02d}-{val_loss:.2f}.keras"`. Following Keras, a full-model path must end in
    `.keras` or `.h5` (Keras's legacy HDF5 model file; convnp also accepts `.hdf5` and
    `.convnp`) and a weights-only path in `.weights.h5` (convnp also accepts `.weights.npz`,
    `.safetensors`, and a plain `.h5`/`.hdf5` as Keras 2 did, written in Keras 2's layout).
    """

    def __init__(self, filepath: str | os.PathLike, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto", save_freq: str | int = "epoch",
                 initial_value_threshold: float | None = None):
        super().__init__()
        filepath = os.fspath(filepath)
        if save_weights_only and not filepath.endswith(_WEIGHTS_SUFFIXES):
            raise ValueError(
                f"when save_weights_only=True, filepath must end in one of {_WEIGHTS_SUFFIXES}; "
                f"received filepath={filepath!r}")
        if not save_weights_only and not filepath.endswith(_MODEL_SUFFIXES):
            raise ValueError(
                f"filepath must end in one of {_MODEL_SUFFIXES} (or pass save_weights_only=True "
                f"with a .weights.h5 path); received filepath={filepath!r}")
        if mode not in ("auto", "min", "max"):
            # TF 2.21 warns and goes on in "auto" mode
            warnings.warn(f"ModelCheckpoint mode {mode!r} is unknown, fallback to auto mode "
                          "(expected 'auto', 'min' or 'max')", UserWarning, stacklevel=2)
            mode = "auto"
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"save_freq must be 'epoch' or a positive int, got {save_freq!r}")
        self._fields = _checkpoint_fields(filepath, save_freq)
        self.filepath = filepath
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.mode = mode
        self.save_freq = save_freq
        self.initial_value_threshold = initial_value_threshold
        self.monitor_op = None
        # TF 2.21: the threshold is the best value from the start (None: none yet)
        self.best: float | None = (None if initial_value_threshold is None
                                   else float(initial_value_threshold))
        self._batches_seen = 0
        self._current_epoch = 0

    def _setup(self) -> None:
        if not self.save_best_only:
            self.monitor_op = _less  # unused
            return
        self.monitor_op = _monitor_op(self.mode, self.monitor, self.model, "ModelCheckpoint")
        if self.initial_value_threshold is not None:
            self.best = float(self.initial_value_threshold)
        else:
            self.best = math.inf if self.monitor_op is _less else -math.inf

    def _path(self, epoch: int, batch: int | None, logs: dict) -> str:
        try:
            if batch is None or "batch" not in self.filepath:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as exc:
            raise FilepathFieldError(
                f"ModelCheckpoint filepath {self.filepath!r} uses {exc} which is not among the "
                f"logs {sorted(logs)}") from None

    def _save(self, epoch: int, batch: int | None, logs: dict | None) -> None:
        if self.monitor_op is None:
            self._setup()
        logs = dict(logs or {})
        path = self._path(epoch, batch, logs)
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(
                    f"can save best model only with {self.monitor!r} available in the logs; "
                    "skipping", stacklevel=2)
                return
            current = float(current)
            if not self.monitor_op(current, self.best):
                if self.verbose > 0:
                    print_msg(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from "
                              f"{self.best:.5f}")
                return
            if self.verbose > 0:
                print_msg(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                          f"{current:.5f}, saving model to {path}")
            self.best = current
        elif self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: saving model to {path}")
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: finished saving model to {path}")

    def on_train_begin(self, logs=None):
        """Save once into a scratch folder before the first step, so that a model this
        format cannot hold (or a missing optional package) stops `fit` at once with the
        saver's own error, not after an epoch of training (a model not built yet is checked
        at its first save)."""
        self._check_log_fields()
        if not getattr(self.model, "built", False):  # also a stand-in model of a test
            return
        suffix = next(s for s in (_WEIGHTS_SUFFIXES if self.save_weights_only
                                  else _MODEL_SUFFIXES) if self.filepath.endswith(s))
        with tempfile.TemporaryDirectory(prefix="convnp-checkpoint-") as scratch:
            trial = os.path.join(scratch, "trial" + suffix)
            if self.save_weights_only:
                self.model.save_weights(trial)
            else:
                self.model.save(trial)

    def _check_log_fields(self) -> None:
        """Warn, before the first step, of filepath fields the model's own logs never hold.
        The logs of a compiled model with the default steps are known: its metric names,
        their ``val_`` forms (fit does not tell callbacks whether it validates, so those are
        always allowed) and the learning rate some callbacks add. Another of the user's
        callbacks may add a name (keras.io's ESPCN logs a PSNR), so this is a warning; a name
        still missing when a file is due is the ValueError. A model with its own
        train_step/test_step may log anything and is not checked."""
        names = [n for n in self._fields if n not in ("epoch", "batch")]
        model = self.model
        if not names or not getattr(model, "_compiled", False):
            return
        overrides = getattr(model, "_overrides", None)
        if overrides is None or overrides("train_step") or overrides("test_step"):
            return
        try:
            metric_names = [str(n) for n in model.metrics_names]
        except Exception:  # noqa: BLE001 -- a stand-in model of a test: not checkable
            return
        allowed = metric_names + ["val_" + n for n in metric_names] + ["learning_rate"]
        unknown = [n for n in names if n not in allowed]
        if unknown:
            warnings.warn(
                f"ModelCheckpoint filepath {self.filepath!r} uses {unknown}, which this model's "
                f"logs do not hold (they have epoch"
                f"{', batch' if isinstance(self.save_freq, int) else ''} and {allowed}); "
                "unless another callback adds them, the first save will fail",
                UserWarning, stacklevel=2)

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if isinstance(self.save_freq, int):
            self._batches_seen += 1
            if self._batches_seen % self.save_freq == 0:
                self._save(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)


def _checkpoint_fields(filepath: str, save_freq) -> list[str]:
    """The names a ModelCheckpoint ``filepath`` pattern formats (``{epoch:02d}`` gives
    ``epoch``), checked at construction: the pattern must parse, name its fields (no ``{}``,
    ``{0}``, ``{a.b}`` or ``{a[0]}``), and each format spec must suit the value it gets (an int
    for epoch and batch, a float for a log value)."""
    def refuse(why: str) -> ValueError:
        return ValueError(f"ModelCheckpoint filepath {filepath!r} is not a valid pattern: {why}")

    try:
        parts = list(string.Formatter().parse(filepath))
    except ValueError as exc:
        raise refuse(f"{exc} (write a literal brace as '{{{{' or '}}}}')") from None
    names: list[str] = []
    for _, field, spec, _ in parts:
        if field is None:
            continue
        if not field or field.isdigit() or "." in field or "[" in field:
            raise refuse(f"the field {{{field}}} must be a plain name such as epoch or a log "
                         f"key (val_loss, accuracy, ...)")
        if field == "batch" and not isinstance(save_freq, int):
            raise refuse("{batch} is only known when save_freq is a number of batches, "
                         f"got save_freq={save_freq!r}")
        sample = 1 if field in ("epoch", "batch") else 0.5
        if spec and "{" in spec:
            raise refuse(f"nested fields in the format spec {spec!r} of {{{field}}} are not "
                         f"supported")
        try:
            format(sample, spec or "")
        except (ValueError, TypeError) as exc:
            kind = "an int" if isinstance(sample, int) else "a float"
            raise refuse(f"the format spec {spec!r} of {{{field}}} does not suit {kind} "
                         f"({exc})") from None
        names.append(field)
    return names


class CSVLogger(Callback):
    """Write epoch logs to a CSV file: a header `epoch,<sorted keys>` and one row per epoch.

    The file is rewritten whole after every epoch through a temporary file and a rename, so a
    reader never sees half a row. With `append=True` an existing file is continued (its header
    kept).
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = bool(append)
        self.keys: list[str] | None = None
        self._prefix = ""

    def on_train_begin(self, logs=None):
        self.keys = None
        self._prefix = ""
        if self.append and os.path.exists(self.filename):
            with open(self.filename, newline="", encoding="utf-8") as f:
                self._prefix = f.read()
            if self._prefix and not self._prefix.endswith("\n"):
                self._prefix += "\n"
            first = self._prefix.splitlines()[0] if self._prefix else ""
            if first:
                header = next(csv.reader([first], delimiter=self.sep))
                if header and header[0] == "epoch":
                    self.keys = header[1:]
        self._rows = io.StringIO()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        writer = csv.writer(self._rows, delimiter=self.sep, lineterminator="\n")
        if self.keys is None:
            self.keys = sorted(logs)
            writer.writerow(["epoch"] + self.keys)
        writer.writerow([epoch] + [_csv_value(logs.get(k, "NA")) for k in self.keys])
        self._write(self._prefix + self._rows.getvalue())

    def _write(self, text: str) -> None:
        from convnp.io._files import atomic_write

        atomic_write(self.filename, lambda f: f.write(text), text=True)


def _csv_value(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(v) for v in value) + "]"
    try:
        return float(value) if not isinstance(value, str) else value
    except (TypeError, ValueError):
        return value


# Keras 2's names of the training-batch hooks, which Keras 3's LambdaCallback still takes
# (Keras's own docstring example is ``LambdaCallback(on_batch_begin=lambda batch, logs: ...)``)
_KERAS2_BATCH_HOOKS = {"on_batch_begin": "on_train_batch_begin",
                       "on_batch_end": "on_train_batch_end"}


class LambdaCallback(Callback):
    """Callback from plain functions: `LambdaCallback(on_epoch_end=lambda epoch, logs: ...)`.

    A hook given as None is no hook, as in Keras. ``on_batch_begin``/``on_batch_end`` run on
    training batches, unless ``on_train_batch_begin``/``_end`` is given too (Keras 3 then
    calls only that one)."""

    def __init__(self, **hooks: Any):
        super().__init__()
        for name, fn in hooks.items():
            if name not in _HOOKS and name not in _KERAS2_BATCH_HOOKS:
                raise ValueError(f"unknown hook {name!r}; expected one of "
                                 f"{list(_HOOKS) + list(_KERAS2_BATCH_HOOKS)}")
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"LambdaCallback's {name} must be a function, got "
                                f"{type(fn).__name__}")
            setattr(self, name, fn)
        for old, new in _KERAS2_BATCH_HOOKS.items():
            if hooks.get(old) is not None and hooks.get(new) is None:
                setattr(self, new, hooks[old])


def _optimizer_of(model: Any, who: str):
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ValueError(f"{who} needs a compiled model whose optimizer has a learning_rate")
    return optimizer


def _rate_number(value) -> float:
    """A schedule's result as a float: a number, or a one-number tensor or array (the
    TensorFlow tutorial returns ``lr * tf.math.exp(-0.1)``; TF 2.21 itself refuses that).
    Anything else is a ValueError, as TF 2.21 raises."""
    array = None if isinstance(value, (bool, str)) else np.asarray(value)
    if array is None or array.size != 1 or array.dtype.kind not in "iuf":
        raise ValueError(f"the schedule must return a float, got {value!r}")
    return float(array.reshape(()))


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch to ``schedule(epoch, lr)`` (or
    ``schedule(epoch)``); the epoch logs get ``learning_rate``, as in Keras 3."""

    def __init__(self, schedule, verbose: int = 0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"schedule must be callable, got {type(schedule).__name__}")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = _optimizer_of(self.model, "LearningRateScheduler")
        lr = float(optimizer.learning_rate)
        try:
            lr = self.schedule(epoch, lr)
        except TypeError:  # a schedule taking the epoch only
            lr = self.schedule(epoch)
        optimizer.learning_rate = _rate_number(lr)
        if self.verbose:
            print_msg(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                      f"{lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved by more
    than ``min_delta`` for ``patience`` epochs (Keras 3 rules: never below ``min_lr``, then
    ``cooldown`` epochs without counting). ``mode="auto"`` maximizes names containing
    ``acc`` and minimizes the rest."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0.0, **kwargs):
        super().__init__()
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau got unexpected arguments {sorted(kwargs)}")
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0, got {factor}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.monitor, self.factor, self.patience = monitor, float(factor), int(patience)
        self.verbose, self.mode, self.min_delta = verbose, mode, float(min_delta)
        self.cooldown, self.min_lr = int(cooldown), float(min_lr)
        self._reset()

    def _reset(self) -> None:
        self.maximize = self.mode == "max" or (self.mode == "auto" and "acc" in self.monitor)
        self.best = -math.inf if self.maximize else math.inf
        self.wait = 0
        self.cooldown_counter = 0

    def _improved(self, current: float) -> bool:
        if self.maximize:
            return current > self.best + self.min_delta
        return current < self.best - self.min_delta

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        optimizer = _optimizer_of(self.model, "ReduceLROnPlateau")
        logs["learning_rate"] = float(optimizer.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"ReduceLROnPlateau: metric {self.monitor!r} is not available; "
                          f"available metrics are {sorted(logs)}", RuntimeWarning, stacklevel=2)
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(float(current)):
            self.best = float(current)
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = float(optimizer.learning_rate)
                if old > np.float32(self.min_lr):
                    new = max(old * self.factor, self.min_lr)
                    optimizer.learning_rate = new
                    if self.verbose:
                        print_msg(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                                  f"to {new}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class TerminateOnNaN(Callback):
    """Stop training at the first batch whose loss is NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            print_msg(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class SwapEMAWeights(Callback):
    """Evaluate (and predict) with the moving averages of the weights that an optimizer with
    ``use_ema=True`` keeps: before each evaluation (fit's validation too) the model's weights
    and their averages change places, in place, and change back after it.

    Args:
        swap_on_epoch: also swap at the end of each epoch (and back at the start of the
            next), so that the callbacks after this one (``ModelCheckpoint``) see the
            averages. At the end of the last epoch the averages then stay in the model, as
            ``fit`` puts them there anyway.

    Unlike Keras 3.15, whose ``on_predict_end`` tests the wrong flag, the weights also change
    back after ``predict``.

    Raises:
        ValueError: at the first swap, if the model's optimizer keeps no moving averages
            (``use_ema=False``; for a ``MultiOptimizer``: none of its optimizers has it).
    """

    def __init__(self, swap_on_epoch: bool = False):
        super().__init__()
        if not isinstance(swap_on_epoch, (bool, np.bool_)):
            raise TypeError(f"swap_on_epoch must be True or False, got {swap_on_epoch!r}")
        self.swap_on_epoch = bool(swap_on_epoch)
        self._ema_weights_in_model = False

    def _optimizers(self) -> list:
        """The optimizers holding averages (inside a LossScaleOptimizer, of a
        MultiOptimizer)."""
        optimizer = getattr(self.model, "optimizer", None)
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        several = getattr(optimizer, "optimizers", None)
        found = [o for o in (several if several is not None else [optimizer])
                 if getattr(o, "use_ema", False)]
        if not found:
            what = ("none of the MultiOptimizer's optimizers has use_ema=True"
                    if several is not None else
                    f"got use_ema={getattr(optimizer, 'use_ema', None)}")
            raise ValueError(f"SwapEMAWeights needs an optimizer with use_ema=True; {what}")
        return [o for o in found if getattr(o, "built", False)]

    def _swap(self) -> None:
        for optimizer in self._optimizers():
            optimizer._swap_averages()

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch and self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = False

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = True
            if epoch == self.params.get("epochs", 0) - 1:
                # the last epoch: fit's finalize_variable_values copies the averages into
                # the model, which holds them now; so the averages take the model's values
                for optimizer in self._optimizers():
                    optimizer._averages_from_variables()

    def on_test_begin(self, logs=None):
        if not self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = True

    def on_test_end(self, logs=None):
        if self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = False

    on_predict_begin = on_test_begin
    on_predict_end = on_test_end


class BackupAndRestore(Callback):
    """Keep the weights, the optimizer state and the epoch count in ``backup_dir``, so a
    `fit` that was interrupted starts again from the last backup (the run is then the one
    that would have happened without the interruption).

    With ``save_freq="epoch"`` the backup is made at the end of every epoch and a new `fit`
    starts at the next epoch; with ``save_freq=n`` (an int) it is made every ``n`` batches
    (counted across epochs) and a new `fit` starts again at the beginning of the epoch the
    last backup was made in, as Keras 3 does. ``double_checkpoint=True`` keeps the backup
    before the last one beside it (``.bkp`` files) and falls back on it when the last one
    cannot be read. The backup is deleted when training ends normally
    (``delete_checkpoint=True``).

    The files are convnp's (``model.weights.npz``, ``optimizer.npz``, ``epoch.json``), not
    Keras's ``latest.weights.h5``: they need no h5py.
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint: bool = False,
                 delete_checkpoint: bool = True):
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore needs a backup_dir")
        if save_freq != "epoch" and (isinstance(save_freq, bool)
                                     or not isinstance(save_freq, int)):
            raise ValueError(f"BackupAndRestore(save_freq=...) must be 'epoch' or an int (a "
                             f"number of batches), got {save_freq!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = bool(double_checkpoint)
        self.delete_checkpoint = bool(delete_checkpoint)
        self._current_epoch = 0
        self._last_batch_seen = 0
        self._batches_since_save = 0

    def _paths(self) -> tuple[str, str, str]:
        join = os.path.join
        return (join(self.backup_dir, "model.weights.npz"),
                join(self.backup_dir, "optimizer.npz"), join(self.backup_dir, "epoch.json"))

    def on_train_begin(self, logs=None):
        self._current_epoch = 0
        self._last_batch_seen = 0
        self._batches_since_save = 0
        try:
            self._restore()
        except (OSError, ValueError, KeyError):
            # the last backup cannot be read (cut short by the interruption, say): the one
            # before it, when double_checkpoint kept it
            previous = [path + ".bkp" for path in self._paths()]
            if not (self.double_checkpoint and os.path.exists(previous[2])):
                raise
            for old, path in zip(previous, self._paths()):
                if os.path.exists(old):
                    os.replace(old, path)
                elif os.path.exists(path):
                    os.remove(path)
            self._restore()

    def _restore(self) -> None:
        import json

        weights, optimizer, epoch = self._paths()
        if not os.path.exists(epoch):
            return
        with open(epoch, encoding="utf-8") as f:
            done = int(json.load(f)["epoch"])  # the last finished epoch (-1: none)
        self.model.load_weights(weights)
        if os.path.exists(optimizer) and getattr(self.model, "optimizer", None) is not None:
            with np.load(optimizer, allow_pickle=False) as z:
                self.model.optimizer.set_state({k: z[k] for k in z.files})
        self.model._initial_epoch = done + 1
        self._current_epoch = done + 1

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch  # (fit(initial_epoch=...) starts past 0)

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save()

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        # batches since the last backup, as Keras counts them: a batch index no larger than
        # the last one seen starts a new epoch
        if batch <= self._last_batch_seen:
            self._batches_since_save += batch + 1
        else:
            self._batches_since_save += batch - self._last_batch_seen
        self._last_batch_seen = batch
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(batch)

    def _save(self, batch: int | None = None) -> None:
        """Back up the training state; a new fit starts at epoch ``self._current_epoch``
        (the epoch being trained for a backup made between its batches)."""
        import json

        from convnp.io._files import atomic_write

        weights, optimizer, epoch_file = self._paths()
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(epoch_file):
            for path in self._paths():
                if os.path.exists(path):  # each copy whole or not at all, as any file here
                    shutil.copyfile(path, path + ".bkp.part")
                    os.replace(path + ".bkp.part", path + ".bkp")
        self.model.save_weights(weights)
        state = self.model.optimizer.get_state() if self.model.optimizer is not None else {}

        def write_state(f):
            np.savez(f, **state)

        atomic_write(optimizer, write_state)
        record = {"epoch": int(self._current_epoch) - 1}
        if batch is not None:
            record["batch"] = int(batch)
        atomic_write(epoch_file, lambda f: f.write(json.dumps(record).encode()))

    def on_train_end(self, logs=None):
        if self.delete_checkpoint:  # an interrupted fit never gets here: the backup stays
            for path in self._paths():
                for name in (path, path + ".bkp"):
                    if os.path.exists(name):
                        os.remove(name)
            # Keras 3 removes the backup directory too; only when nothing else is in it here
            if os.path.isdir(self.backup_dir) and not os.listdir(self.backup_dir):
                os.rmdir(self.backup_dir)


class TensorBoard(Callback):
    """Scalar logs for TensorBoard (``tensorboard --logdir <log_dir>``), as Keras writes them.

    Training values go to ``<log_dir>/train`` and validation values to
    ``<log_dir>/validation``, as TensorBoard event files (`convnp.tfevents`): at each epoch's
    end ``epoch_<name>`` at step ``epoch`` (``val_loss`` is ``epoch_loss`` in validation/), and
    with ``update_freq="batch"`` or an int N, ``batch_<name>`` every N training batches at the
    step of the global batch count. ``write_steps_per_second=True`` adds
    ``epoch_steps_per_second``. After ``evaluate`` with the callback, its values go to
    validation/ as ``evaluation_<name>_vs_iterations``.

    With ``update_freq`` set to batches, the ``tf.summary`` calls of the model's own code (a
    subclassed model's ``call``, a ``Lambda``'s function) are logged too, as in Keras: during
    training train/ is the default writer at the step of the global batch count, recording
    every ``update_freq`` batches; during validation and ``evaluate``, validation/ at the
    count of test batches. The previous default writer comes back at the end of training.

    ``histogram_freq=N`` writes, every N epochs (epochs 0, N, 2N, ...), a histogram of every
    weight of every layer of the model to train/ (tag ``<model>/<layer>/<weight>/histogram``,
    as `convnp.summary.histogram` writes it); with ``write_images=True`` also each weight as
    an image (``.../image``), laid out as Keras does: a bias as one column, a Dense kernel with
    its longer side across, a conv kernel with one input channel as one grey image per filter
    (at most 3), a 4-D kernel as it is when its last axis is 1, 3 or 4 (Keras's rule), the
    values clipped to [0, 1] (not rescaled, as in Keras), nothing for other shapes. Images
    need Pillow.

    Not implemented, accepted only at their neutral values (otherwise a `ValueError`):
    ``profile_batch=0``, ``embeddings_freq=0``, ``embeddings_metadata=None``. ``write_graph`` is
    accepted but no graph is written.
    """

    def __init__(self, log_dir: str | os.PathLike = "logs", histogram_freq: int = 0,
                 write_graph: bool = True, write_images: bool = False,
                 write_steps_per_second: bool = False, update_freq="epoch",
                 profile_batch=0, embeddings_freq: int = 0, embeddings_metadata=None):
        super().__init__()
        if not isinstance(log_dir, (str, os.PathLike)):
            raise TypeError(f"log_dir must be a path, got {type(log_dir).__name__}")
        neutral = {"profile_batch": (profile_batch, 0), "embeddings_freq": (embeddings_freq, 0),
                   "embeddings_metadata": (embeddings_metadata, None)}
        for name, (value, default) in neutral.items():
            if value != default or (default is None and value is not None):
                raise ValueError(f"TensorBoard({name}={value!r}) is not supported by convnp "
                                 f"(no profiler, no embeddings projector); use "
                                 f"{name}={default!r}")
        if (isinstance(histogram_freq, bool) or not isinstance(histogram_freq, (int, np.integer))
                or histogram_freq < 0):
            raise ValueError(f"histogram_freq must be a non-negative int (0: no histograms), "
                             f"got {histogram_freq!r}")
        if update_freq not in ("epoch", "batch") and (
                isinstance(update_freq, bool) or not isinstance(update_freq, (int, np.integer))
                or update_freq < 1):
            raise ValueError("update_freq must be 'epoch', 'batch' or a positive int, got "
                             f"{update_freq!r}")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = int(histogram_freq)
        self.write_graph = bool(write_graph)
        self.write_images = bool(write_images)
        self.write_steps_per_second = bool(write_steps_per_second)
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self.profile_batch = profile_batch
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._writers: dict[str, Any] = {}
        self._train_step = 0
        self._test_step = 0
        self._epoch_start = 0.0
        self._epoch_batches = 0
        self._pushed: list = []  # the default-writer contexts entered, innermost last

    def _writer(self, which: str):
        if which not in self._writers:
            from convnp.tfevents import EventFileWriter

            self._writers[which] = EventFileWriter(os.path.join(self.log_dir, which))
        return self._writers[which]

    @staticmethod
    def _scalars(logs, prefix: str, drop: str = "") -> dict[str, float]:
        values = {}
        for name, value in (logs or {}).items():
            if drop and not name.startswith(drop):
                continue
            if not drop and name.startswith("val_"):
                continue
            try:
                values[prefix + name[len(drop):]] = float(value)
            except (TypeError, ValueError):
                continue  # not a number (a list of per-class values, say): not a scalar
        return values

    def _push_writer(self, which: str, step: int) -> None:
        """Make ``which``'s file the default tf.summary writer at ``step``, recording when
        ``step`` is a multiple of ``update_freq`` (for the model's own summaries)."""
        if self.update_freq == "epoch":
            return
        import contextlib

        from convnp import summary

        freq = self.update_freq
        stack = contextlib.ExitStack()
        stack.enter_context(summary.writer_for(self._writer(which)).as_default(step=step))
        stack.enter_context(summary.record_if(lambda: step % freq == 0))
        self._pushed.append(stack)

    def _pop_writer(self) -> None:
        if self._pushed:
            self._pushed.pop().close()

    def on_train_begin(self, logs=None):
        import time

        while self._pushed:  # left by a run that stopped on an error
            self._pop_writer()
        self._writers = {}  # a new pair of event files per fit, as Keras makes
        self._train_step = 0
        self._epoch_start = time.perf_counter()
        self._push_writer("train", 0)

    def on_train_end(self, logs=None):
        self._pop_writer()

    def on_train_batch_begin(self, batch, logs=None):
        self._pop_writer()
        self._push_writer("train", self._train_step + 1)

    def on_test_begin(self, logs=None):
        self._push_writer("validation", self._test_step)

    def on_test_batch_begin(self, batch, logs=None):
        self._test_step += 1
        self._pop_writer()
        self._push_writer("validation", self._test_step)

    def on_epoch_begin(self, epoch, logs=None):
        import time

        self._epoch_start = time.perf_counter()
        self._epoch_batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self._train_step += 1
        self._epoch_batches += 1
        if self.update_freq != "epoch" and self._train_step % self.update_freq == 0:
            self._writer("train").add_scalars(self._train_step, self._scalars(logs, "batch_"))

    def on_epoch_end(self, epoch, logs=None):
        import time

        train = self._scalars(logs, "epoch_")
        if self.write_steps_per_second:
            seconds = time.perf_counter() - self._epoch_start
            train["epoch_steps_per_second"] = self._epoch_batches / seconds if seconds else 0.0
        self._writer("train").add_scalars(epoch, train)
        self._writer("validation").add_scalars(epoch, self._scalars(logs, "epoch_", "val_"))
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)

    @staticmethod
    def _weight_picture(array: np.ndarray):
        """A weight as a ``(k, h, w, c)`` image batch, laid out as Keras lays it out, or None
        when its shape makes no image."""
        w = np.squeeze(array)
        if w.ndim == 1:  # a bias: one column
            w = w.reshape(1, w.shape[0], 1, 1)
        elif w.ndim == 2:  # a Dense kernel, its longer side across
            if w.shape[0] > w.shape[1]:
                w = w.T
            w = w.reshape(1, *w.shape, 1)
        elif w.ndim == 3:  # a conv kernel with one input channel: one image per filter
            w = np.transpose(w, (2, 0, 1))[..., None]
        return w if w.ndim == 4 and w.shape[-1] in (1, 3, 4) else None

    def _log_weights(self, epoch: int) -> None:
        from convnp.summary import histogram_value, image_value

        values = []
        for layer in self.model.layers:
            for weight in layer.weights:
                # Keras tags a weight by its path (which starts with the model's name when the
                # model built the layer: a Sequential, a subclassed model)
                path = getattr(weight, "path", None) or f"{layer.name}/{weight.name}"
                tag = path.replace(":", "_")
                array = np.asarray(weight.numpy())
                values.append(histogram_value(f"{tag}/histogram", array))
                picture = self._weight_picture(array) if self.write_images else None
                if picture is not None:
                    values.append(image_value(f"{tag}/image", picture))
        self._writer("train").add_values(epoch, values)

    def on_test_end(self, logs=None):
        # after `evaluate` and after each validation pass of `fit`, as Keras: the evaluation
        # scalars, at the step of the optimizer's update count
        optimizer = getattr(self.model, "optimizer", None)
        try:
            step = int(getattr(optimizer, "iterations", 0))
        except (TypeError, ValueError):
            step = 0
        values = {f"evaluation_{k}_vs_iterations": v for k, v in self._scalars(logs, "").items()}
        self._writer("validation").add_scalars(step, values)
        self._pop_writer()
