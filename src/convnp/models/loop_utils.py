"""Small pieces of the training loop: the loss running mean, verbose, callbacks, progress."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np


class LossTracker:
    """Running mean of per-batch losses weighted by batch size (Keras's loss tracker).

    The epoch's ``loss`` is the mean over all samples seen, so a short last batch counts
    for what it holds.
    """

    __slots__ = ("count", "total")

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0

    def reset(self) -> None:
        self.total = 0.0
        self.count = 0

    def update(self, value: float, batch_size: int) -> None:
        self.total += float(value) * batch_size
        self.count += batch_size

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0


def resolve_verbose(verbose) -> int:
    """``"auto"`` -> 1; otherwise 0, 1 or 2."""
    if verbose == "auto" or verbose is None:
        return 1
    if isinstance(verbose, bool) or verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
    return int(verbose)


def make_callback_list(callbacks, model, verbose: int, epochs: int = 1,
                       steps: int | None = None, history: bool = True) -> Any:
    """A `convnp.callbacks.CallbackList` of the user's callbacks plus History (when
    ``history``) and a progress logger (when ``verbose``); ``.history`` is the History."""
    from convnp import callbacks as cbm

    return cbm.CallbackList(_flat_callbacks(callbacks), add_history=history,
                            add_progbar=bool(verbose), model=model, verbose=verbose,
                            epochs=epochs, steps=steps)


def _flat_callbacks(callbacks) -> list | None:
    """``callbacks=`` as Keras 3 takes it: a list, a tuple, lists inside it, or one callback
    alone (``callbacks=EarlyStopping(...)``), as one flat list."""
    if callbacks is None:
        return None
    if not isinstance(callbacks, (list, tuple)):
        return [callbacks]
    flat: list = []
    for item in callbacks:
        flat.extend(_flat_callbacks(item) if isinstance(item, (list, tuple)) else [item])
    return flat


class EpochLogs:
    """The logs of fit/evaluate: running means of the total loss, the metrics and (with
    several losses) each output's unweighted loss, keyed as Keras names them."""

    def __init__(self, model) -> None:
        from convnp.models.compile_utils import loss_names

        self.model = model
        self.specs = model._output_specs
        self.loss = LossTracker()
        names = loss_names(self.specs)
        with_loss = [i for i, s in enumerate(self.specs) if s.loss is not None]
        self.outputs = list(zip(names, with_loss, [LossTracker() for _ in names]))

    def reset(self) -> None:
        self.loss.reset()
        for _, _, tracker in self.outputs:
            tracker.reset()
        for m in self.metrics():
            m.reset_state()

    def metrics(self) -> list:
        """The metrics, then the weighted metrics, of every output: the order of the logs."""
        return [m for s in self.specs for m in s.metrics] + [
            m for s in self.specs for m in s.weighted]

    def update(self, loss_value: float, output_values, y, y_pred, n: int,
               sample_weight=None) -> dict[str, Any]:
        # the running means model.get_metrics_result() reads until a user's step runs
        self.model.__dict__["_epoch_logs"] = self
        self.loss.update(loss_value, n)
        for _, i, tracker in self.outputs:
            tracker.update(output_values[i], n)
        self.model._update_metrics(y, y_pred, sample_weight)
        return self.result()

    def result(self) -> dict[str, Any]:
        logs: dict[str, Any] = {"loss": self.loss.result()}
        for name, _, tracker in self.outputs:
            logs[name] = tracker.result()
        for m in self.metrics():
            logs[m.name] = metric_value(m)
        return logs


def keras2_alias(old: str, new: str) -> None:
    """The warning of a Keras 2 method kept for older notebooks (``fit_generator``)."""
    warnings.warn(f"`Model.{old}` is deprecated (Keras 2): use `Model.{new}`, which takes "
                  "generators too", UserWarning, stacklevel=3)


def metric_value(metric) -> Any:
    """A metric's result as a log holds it (see `log_value`)."""
    return log_value(metric.result())


def log_value(value) -> Any:
    """A value as logs hold it: a float (``result()`` is a 0-d tensor, for the built-in
    metrics as for a user's written in tensor ops; Keras logs a number), or a NumPy array
    for per-class results."""
    if isinstance(value, (float, int)) and not isinstance(value, bool):
        return float(value)
    array = np.asarray(value)
    return float(array) if array.ndim == 0 else np.array(array)
