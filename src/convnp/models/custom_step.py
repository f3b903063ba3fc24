"""``train_step`` / ``test_step`` overrides (Keras 3's "customizing what happens in fit()").

A Model subclass may override ``train_step(self, data)`` (and ``test_step``): ``fit`` (and
``evaluate``) then call it once per batch with ``data = (x, y)`` (``(x, y, sample_weight)``
when there are weights) as tensors, and log the dict it returns. Inside, the usual Keras 3 body
works: ``self(x, training=True)`` under a `GradientTape`, ``self.compute_loss(y=y,
y_pred=y_pred)``, ``self.optimizer.apply_gradients(...)``, and a loop over ``self.metrics``
whose ``"loss"`` entry is a running mean fed with ``update_state(loss)``. The Keras 2 body
works too: ``self.compiled_loss(y, y_pred, regularization_losses=self.losses)`` feeds that mean
itself and ``self.compiled_metrics.update_state(y, y_pred)`` updates the compiled metrics.
Keras 3's helpers ``compute_metrics`` and ``get_metrics_result`` work as well; with several
outputs, ``compute_loss`` sums the weighted losses and feeds each output's ``<output>_loss``.

A ``predict_step(self, data)`` override (keras.io's EDSR rounds its images to uint8 there) is
what ``predict`` and ``predict_on_batch`` return: called on each batch, its results joined
along the batch axis in the structure it gives (`merge_batches`).
"""

from __future__ import annotations

import inspect

import numpy as np

from convnp.models.loop_utils import log_value
from convnp.tensor.eager import to_eager


class CustomStepMixin:
    """Keras's overridable steps and the helpers their bodies use."""

    def train_step(self, data):
        """One training step on ``data``; the default does what ``fit`` does (through the
        tape and the user's `compute_loss` when the model overrides it)."""
        x, y, w = _unpack(data)
        if self._overrides("compute_loss"):
            from convnp.tensor.tape import GradientTape

            with GradientTape() as tape:
                y_pred = self(x, training=True)
                loss = self._users_loss(x, y, y_pred, w, training=True)
                scaled = self.optimizer.scale_loss(loss)  # as Keras's train_step
            variables = self.trainable_weights
            self.optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
            return self._default_step_logs(loss, y, y_pred)
        fused, variables = self._prepare_training()
        loss, y_pred = self._train_step(_inputs(x), np.asarray(y), fused, variables, w)
        return self._default_step_logs(loss, y, y_pred)

    def test_step(self, data):
        """One evaluation step on ``data`` in inference mode."""
        x, y, w = _unpack(data)
        if self._overrides("compute_loss"):
            y_pred = self(x, training=False)
            return self._default_step_logs(self._users_loss(x, y, y_pred, w, training=False),
                                           y, y_pred)
        y_pred, loss, _ = self._forward_with_loss(_inputs(x), np.asarray(y),
                                                  self._fused_activation(), False, w)
        return self._default_step_logs(loss, y, y_pred)

    def predict_step(self, data):
        """One prediction step: the model's outputs for the batch's inputs in inference mode.
        ``data`` is the inputs, or a tuple whose first entry they are (``(x,)``, ``(x, y)``),
        as Keras 3 unpacks it. A subclass overriding it changes what ``predict`` and
        ``predict_on_batch`` return (see `_predict_batches`)."""
        if isinstance(data, (tuple, list)) and 1 <= len(data) <= 3:
            data = data[0]
        return self(data, training=False)

    def _step_data(self, xb, yb, wb):
        """One batch as Keras 3 hands it to a user's step: the inputs alone (several inputs as
        a tuple, wrapped in one more), or ``(x, y)`` / ``(x, y, sample_weight)``. Several
        inputs are a tuple, as Keras 3 hands them over (SimCLR's zipped batch ``((x_u, ids),
        (x_l, labels))``; the inputs of a multi-input model)."""
        x = to_eager(xb[0] if len(xb) == 1 else tuple(xb))
        if yb is None and wb is None:
            return (x,) if isinstance(x, tuple) else x
        if wb is None:
            return (x, to_eager(yb))
        return (x, to_eager(yb), to_eager(wb))

    def _run_predict_step(self, data):
        """The user's `predict_step` on one batch: its result with each tensor as an array,
        in the structure it returned (a dict, list or tuple of them, or one)."""
        with self._step_lock:
            result = self.predict_step(data)
        return _as_arrays(result)

    def _users_loss(self, x, y, y_pred, sample_weight, training: bool):
        """The user's `compute_loss` override, called as Keras 3 calls it (``training`` only
        when its signature takes it)."""
        kwargs = {"x": x, "y": y, "y_pred": y_pred, "sample_weight": sample_weight}
        params = inspect.signature(self.compute_loss).parameters
        if "training" in params or any(p.kind is p.VAR_KEYWORD for p in params.values()):
            kwargs["training"] = training
        return self.compute_loss(**kwargs)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss of ``y_pred`` against ``y`` plus ``model.losses`` (regularizer
        penalties, ``add_loss``), as Keras 3: a tensor a tape can differentiate. With several
        outputs, ``y`` and ``y_pred`` are lists in output order or dicts by output name, and
        the loss is ``sum(loss_weight_i * loss_i)`` over the outputs that have a loss."""
        specs = getattr(self, "_output_specs", None) or []
        if len(specs) > 1:
            loss = _outputs_loss(specs, y, y_pred, sample_weight, self._output_loss_trackers())
        else:
            compiled = self.compiled_loss
            if compiled is None:
                raise ValueError("compute_loss() needs a loss: call compile(loss=...)")
            # Inside a step, compiled_loss is the wrapper that feeds the running "loss" mean
            # (for Keras 2 bodies); compute_loss must not feed it, as in Keras 3: the step's
            # own ``update_state(loss)`` is the one value that counts.
            compiled = getattr(compiled, "untracked", compiled)
            loss = compiled(y, y_pred, sample_weight)
        for extra in self.losses:
            loss = loss + extra
        return loss

    def compute_metrics(self, x, y, y_pred, sample_weight=None) -> dict:
        """Keras 3's helper for a user's step: update the compiled metrics with ``y`` and
        ``y_pred`` (the sample weights reach the weighted metrics only), then return
        `get_metrics_result`."""
        self.compiled_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self) -> dict:
        """The current result of each metric a step logs (the running ``"loss"``, each
        compiled metric, each output's running loss, the model's own metrics), by name, as
        the metrics give them (tensors, as Keras 3's). After a built-in step (fit or
        evaluate without a user's step), the running means that loop logged."""
        built_in = self.__dict__.get("_epoch_logs")
        if built_in is not None:
            return {name: to_eager(np.asarray(value, dtype=np.float32))
                    if isinstance(value, float) else value
                    for name, value in built_in.result().items()}
        results = {}
        for metric in self._step_metrics():
            value = metric.result()
            if isinstance(value, dict):
                results.update(value)
            else:
                results[metric.name] = value
        return results

    @property
    def _loss_tracker(self):
        tracker = self.__dict__.get("_loss_mean")
        if tracker is None:
            from convnp.metrics import Mean

            tracker = Mean(name="loss")
            self.__dict__["_loss_mean"] = tracker
        return tracker

    def _output_loss_trackers(self) -> list:
        """Keras 3's running mean of each output's (unweighted) loss, ``<output>_loss``, when
        several outputs have a loss: `compute_loss` feeds them, a step's logs show them."""
        from convnp.models.compile_utils import loss_names

        names = loss_names(getattr(self, "_output_specs", None) or [])
        trackers = self.__dict__.get("_output_loss_means") or []
        if [t.name for t in trackers] != names:
            from convnp.metrics import Mean

            trackers = [Mean(name=name) for name in names]
            self.__dict__["_output_loss_means"] = trackers
        return trackers

    def _step_metrics(self) -> list:
        """``model.metrics`` inside a user's step, in Keras 3's order: the running loss, the
        compiled metrics as one ``"compile_metrics"`` entry (when there are any), the metrics
        the model holds in its attributes.

        The compiled metrics stay one entry, as in Keras 3, because a step's
        ``metric.update_state(y, y_pred, sample_weight=w)`` must weight only the
        ``weighted_metrics``: the plain ones ignore the weights (see `MetricList`)."""
        compiled = [self.compiled_metrics] if len(self.compiled_metrics) else []
        return [self._loss_tracker] + compiled + self._output_loss_trackers() + \
            self._own_metrics()

    def _default_step_logs(self, loss, y, y_pred) -> dict:
        self._loss_tracker.update_state(float(loss))
        self.compiled_metrics.update_state(y, y_pred)
        return _flat_logs({m.name: m.result() for m in self._step_metrics()})

    def _overrides(self, name: str) -> bool:
        """Whether the user's class replaces one of these methods. A model overriding only
        `compute_loss` (Keras 3's distillation example) counts as having its own steps: the
        default ones then run on the tape and call it."""
        own = getattr(type(self), name) is not getattr(CustomStepMixin, name)
        if not own and name in ("train_step", "test_step"):
            return self._overrides("compute_loss")
        return own

    def _run_custom_step(self, name: str, xb, yb, wb) -> dict:
        """Call the user's step on one batch; the returned dict as floats."""
        data = self._step_data(xb, yb, wb)
        self.__dict__["_custom_step_active"] = True
        self.__dict__["_epoch_logs"] = None  # get_metrics_result reads this step's metrics
        loss = self.__dict__.get("compiled_loss")
        if loss is not None:  # Keras 2's `self.compiled_loss(y, y_pred, ...)` tracks the loss
            self.__dict__["compiled_loss"] = _TrackedLoss(loss, self._loss_tracker)
        try:
            with self._step_lock:  # a whole step, as the built-in one (threads)
                result = getattr(self, name)(data)
        finally:
            self.__dict__["_custom_step_active"] = False
            if loss is not None:
                self.__dict__["compiled_loss"] = loss
        if not isinstance(result, dict):
            raise TypeError(f"{name}() must return a dict of metric values, got "
                            f"{type(result).__name__}")
        self.__dict__[f"_log_paths_{name}"] = _nested_paths(result)
        return _flat_logs(result)

    def _log_paths(self, name: str) -> dict | None:
        """Where the last ``name`` step's nested logs came from (see `_nested_paths`), for
        `convnp.callbacks.keras_order`; None when that step returned a flat dict."""
        return self.__dict__.get(f"_log_paths_{name}")

    def _custom_step_on_batch(self, name: str, method: str, x, y, sample_weight,
                              class_weight, return_dict: bool):
        """``train_on_batch`` / ``test_on_batch`` of a model with its own step: that step on
        one batch (metrics keep accumulating, as with the built-in step); the logs as a dict,
        or their values in order (one value alone)."""
        xs = self._prepare_inputs(x, method)
        ys = None if y is None else self._prepare_targets(y, len(xs[0]), method)
        if ys is None and (sample_weight is not None or class_weight is not None):
            raise ValueError(f"{method}(): sample_weight and class_weight need targets `y`")
        weights = self._sample_weights(ys, sample_weight, class_weight, method)
        logs = self._run_custom_step(name, xs, ys, weights)
        if return_dict:
            from convnp.callbacks import keras_order

            return keras_order(dict(logs), self._log_paths(name))
        values = self._step_values(logs)
        return values[0] if len(values) == 1 else values

    def _step_values(self, logs: dict) -> list:
        """A user's step's logs as the list evaluate / train_on_batch return, in Keras 3's
        order: the loss and the model's metrics first, in `metrics` order, then the other
        keys sorted."""
        names = ["loss"] + [getattr(m, "name", None) for m in self.metrics]
        first = [n for i, n in enumerate(names) if n in logs and n not in names[:i]]
        return [logs[n] for n in first] + [logs[k] for k in sorted(logs) if k not in first]

    def _reset_step_metrics(self) -> None:
        """Before each epoch and each evaluation, as Keras's ``reset_metrics``: every metric
        of `_step_metrics`, and what the user's own ``metrics`` property lists."""
        seen = self._step_metrics()
        if "metrics" in overridden_names(type(self)):
            seen += [m for m in self.metrics if not any(m is s for s in seen)]
        for m in seen:
            m.reset_state()


def _outputs_loss(specs, y, y_pred, sample_weight, trackers: list):
    """``sum(weight_i * loss_i)`` of a model with several outputs (see `compute_loss`); each
    unweighted ``loss_i`` also goes to its output's running mean in ``trackers`` (one per
    output with a loss, or none), weighted by the batch size as Keras 3 does."""
    trained = [spec.loss is not None for spec in specs]
    if not any(trained):
        raise ValueError("compute_loss() needs a loss: call compile(loss=...)")
    ys = _by_output(specs, y, "targets", trained)
    preds = _by_output(specs, y_pred, "predictions", None)
    trackers = iter(trackers)
    total = None
    for i, spec in enumerate(specs):
        if spec.loss is None:
            continue
        value = spec.loss(ys[i], preds[i], _output_weights(specs, sample_weight, i))
        tracker = next(trackers, None)
        if tracker is not None:
            tracker.update_state(float(np.asarray(value)),
                                 sample_weight=float(len(np.asarray(preds[i]))))
        if spec.weight != 1.0:
            value = value * spec.weight
        total = value if total is None else total + value
    return total


def _by_output(specs, value, what: str, required) -> list:
    """One entry per output from a list in output order or a dict by output name."""
    from convnp.models.compile_utils import match

    names = [spec.name for spec in specs]
    return match(value, names, what, "compute_loss", required)


def _output_weights(specs, sample_weight, index: int):
    """Output ``index``'s sample weights: its entry of a list or dict, else the one array
    (or None) that serves every output, as Keras repeats it."""
    if isinstance(sample_weight, dict):
        return sample_weight.get(specs[index].name)
    if isinstance(sample_weight, (list, tuple)) and len(sample_weight) == len(specs):
        return sample_weight[index]
    return sample_weight


class MetricList(list):
    """The compiled metrics: a list, with Keras 2's ``compiled_metrics.update_state(y, y_pred)``
    (and ``reset_state``/``result``) for train_step bodies written for Keras 2. Inside a
    user's step it is also the ``"compile_metrics"`` entry of ``model.metrics``, as Keras 3's
    compiled-metrics object: its ``result()`` is a dict the logs spread out, and a sample
    weight given to ``update_state`` reaches the weighted metrics only."""

    name = "compile_metrics"
    _weighted: frozenset | set = frozenset()  # ids of the weighted metrics
    _specs: tuple | list = ()  # the model's OutputSpecs (each output's metrics), set by compile

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        if len(self._specs) > 1:  # each output's metrics on that output's targets
            ys = _by_output(self._specs, y_true, "targets", None)
            preds = _by_output(self._specs, y_pred, "predictions", None)
            for i, spec in enumerate(self._specs):
                weights = _output_weights(self._specs, sample_weight, i)
                for m in spec.metrics:
                    m.update_state(np.asarray(ys[i]), np.asarray(preds[i]))
                for m in spec.weighted:
                    if weights is None:
                        m.update_state(np.asarray(ys[i]), np.asarray(preds[i]))
                    else:
                        m.update_state(np.asarray(ys[i]), np.asarray(preds[i]),
                                       sample_weight=np.asarray(weights))
            return
        for m in self:
            if sample_weight is not None and id(m) in self._weighted:
                m.update_state(np.asarray(y_true), np.asarray(y_pred),
                               sample_weight=np.asarray(sample_weight))
            else:
                m.update_state(np.asarray(y_true), np.asarray(y_pred))

    def reset_state(self) -> None:
        for m in self:
            m.reset_state()

    def result(self) -> dict:
        return {m.name: m.result() for m in self}


class _TrackedLoss:
    """The compiled loss during a user's step: also feeds the running ``"loss"`` mean, and
    takes Keras 2's ``regularization_losses=`` (added to the value)."""

    def __init__(self, loss, tracker):
        self._loss = loss
        self._tracker = tracker

    def __call__(self, y_true, y_pred, sample_weight=None, regularization_losses=None):
        value = self._loss(y_true, y_pred, sample_weight)
        for extra in regularization_losses or []:
            value = value + extra
        self._tracker.update_state(float(np.asarray(value)))
        return value

    @property
    def untracked(self):
        """The compiled loss itself (what `compute_loss` calls)."""
        return self._loss

    def __getattr__(self, name):
        return getattr(self._loss, name)


def overridden_names(cls) -> set:
    """Names a user's class defines itself (anywhere outside convnp in its hierarchy)."""
    return {name for klass in cls.__mro__ if not klass.__module__.startswith("convnp.")
            for name in vars(klass)}


def _nested_paths(result: dict, parents: tuple = ()) -> dict | None:
    """For each log a nested dict of ``result`` gives (``{"loss": ..., "compile_metrics":
    {"mae": ...}}``, as Keras 3's step returns its metrics), the keys leading to it:
    ``{"mae": ("compile_metrics", "mae")}``. Keras 3 sorts a step's logs by their top key
    and puts each nested dict's entries, sorted, in its place, so ``mae`` comes before
    ``loss``. None when nothing is nested."""
    paths = {}
    for key, value in result.items():
        if isinstance(value, dict):
            paths.update(_nested_paths(value, (*parents, str(key))) or {})
        elif parents:
            paths[key] = (*parents, str(key))
    return paths or None


def _flat_logs(result: dict) -> dict:
    logs = {}
    for key, value in result.items():
        if isinstance(value, dict):
            logs.update(_flat_logs(value))
        else:
            logs[key] = log_value(value)
    return logs


def _as_arrays(value):
    """A step's result with every tensor as a NumPy array, the structure kept."""
    if isinstance(value, dict):
        return {k: _as_arrays(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        parts = [_as_arrays(v) for v in value]
        return parts if isinstance(value, list) else tuple(parts)
    return np.asarray(value)


def merge_batches(results: list):
    """The per-batch results of `predict_step` joined along the batch axis, in the
    structure of the first one (as Keras 3's predict concatenates them)."""
    first = results[0]
    if isinstance(first, dict):
        return {k: merge_batches([r[k] for r in results]) for k in first}
    if isinstance(first, (list, tuple)):
        parts = [merge_batches([r[i] for r in results]) for i in range(len(first))]
        return parts if isinstance(first, list) else tuple(parts)
    if len(results) == 1:
        return first
    return np.concatenate(results, axis=0)


def _unpack(data):
    if isinstance(data, (tuple, list)) and len(data) in (2, 3):
        return data[0], data[1], (data[2] if len(data) == 3 else None)
    raise ValueError("a step's data must be (x, y) or (x, y, sample_weight)")


def _inputs(x) -> list:
    xs = list(x) if isinstance(x, list) else [x]
    return [np.asarray(v) for v in xs]
