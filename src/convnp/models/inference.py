"""`evaluate`, `predict` and their single-batch forms, always in inference mode.

BatchNormalization uses its moving statistics and Dropout passes values through. The loss
and metrics of `evaluate` are means over all samples (batches weighted by their size), as in
Keras.
"""

from __future__ import annotations

import numpy as np

from convnp import _settings
from convnp.models import compile_utils
from convnp.models import data_adapter as da
from convnp.models.engine import Engine
from convnp.models.loop_utils import (
    EpochLogs,
    keras2_alias,
    make_callback_list,
    metric_value,
    resolve_verbose,
)
from convnp.ops.threads import uses_all_cores
from convnp.tensor.eager import to_eager


class InferenceMixin(Engine):
    """evaluate / predict / test_on_batch / predict_on_batch."""

    # -- evaluate / predict ------------------------------------------------------------------------

    def _run_evaluation(self, source, callback_list, verbose: int,
                        steps=None) -> dict[str, float]:
        """Loss and metrics over ``source`` in inference mode (batch-size-weighted means)."""
        custom_step = self._overrides("test_step")
        fused = None if custom_step else self._fused_activation()
        tracker = EpochLogs(self)
        tracker.reset()
        # fit's validation comes here with its steps unchecked (evaluate's are capped already)
        steps = _settings.capped_steps(steps, source.steps, stacklevel=5)
        # an evaluation reads from the data's start, as Keras's: fit's validation with
        # validation_steps uses the same first batches each epoch
        source.start_over()
        batches = source.epoch(steps)
        logs: dict[str, float] = {}
        self._reset_step_metrics()
        for step, (xb, yb, wb) in enumerate(batches):
            if step == 0 and isinstance(source, da.DatasetBatches):
                self._check_dataset_batch(xb, yb, "evaluate", custom_step)
            if callback_list is not None:
                callback_list.on_test_batch_begin(step)
            if custom_step:  # the user's test_step (see models/custom_step.py)
                logs = self._run_custom_step("test_step", xb, yb, wb)
                if callback_list is not None:
                    callback_list.on_test_batch_end(step, logs)
                continue
            with self._step_lock:
                y_pred, loss_value, values = self._forward_with_loss(xb, yb, fused, False, wb,
                                                                     inference=True)
            logs = tracker.update(loss_value, values, yb, y_pred, len(xb[0]), wb)
            if callback_list is not None:
                callback_list.on_test_batch_end(step, logs)
        with self._step_lock:
            self._drop_caches()
        return logs

    @uses_all_cores
    def evaluate(self, x=None, y=None, batch_size: int | None = None, verbose="auto",
                 sample_weight=None, steps: int | None = None, callbacks=None,
                 max_queue_size: int = 10, workers: int = 1, use_multiprocessing: bool = False,
                 return_dict: bool = False, **kwargs):
        """Loss and metrics on ``x``/``y`` (or a Dataset) in inference mode.

        Returns:
            ``[loss, metric, ...]``, just the loss when there are no metrics, or a dict with
            ``return_dict=True``.

        Raises:
            ValueError: an argument evaluate does not know (TF 2.21's type for it).
        """
        if kwargs:
            raise ValueError(f"evaluate(): arguments not recognized: {sorted(kwargs)}")
        self._require_compiled("evaluate")
        da.check_loader_options(workers, use_multiprocessing, max_queue_size, "evaluate()")
        if self._step_only and not self._overrides("test_step"):
            self._require_built("forward pass for evaluate() (write a test_step)")
        if not self._has_loss() and not self._overrides("test_step") and \
                not self._may_add_losses():
            raise ValueError("evaluate() needs a loss: call compile(loss=...)")
        verbose = resolve_verbose(verbose)
        source = self._batches(x, y, batch_size, shuffle=False, method="evaluate",
                               need_y=not ((self._overrides("test_step") or not self._has_loss())
                                           and y is None),
                               sample_weight=sample_weight)
        steps = _settings.capped_steps(steps, source.steps)
        callback_list = make_callback_list(callbacks, self, verbose=verbose,
                                           steps=steps or source.steps or None, history=False)
        callback_list.on_test_begin()
        logs = self._run_evaluation(source, callback_list, verbose, steps=steps)
        callback_list.on_test_end(logs)
        if not logs:
            raise ValueError("evaluate(): the data is empty")
        if return_dict:
            from convnp.callbacks import keras_order

            return keras_order(dict(logs), self.__dict__.get("_log_paths_test_step"))
        if self._overrides("test_step"):
            values = self._step_values(logs)
        else:
            values = [logs[name] for name in self.metrics_names if name in logs]
        return values[0] if len(values) == 1 else values

    @uses_all_cores
    def predict(self, x, batch_size: int | None = None, verbose="auto",
                steps: int | None = None, callbacks=None, max_queue_size: int = 10,
                workers: int = 1, use_multiprocessing: bool = False) -> np.ndarray:
        """Model outputs for ``x`` (array or Dataset), computed in inference mode by batches;
        a model overriding ``predict_step`` gives what that step returns, joined over the
        batches (`_predict_with_step`)."""
        da.check_loader_options(workers, use_multiprocessing, max_queue_size, "predict()")
        verbose = resolve_verbose(verbose)
        if self._overrides("predict_step"):
            return self._predict_with_step(x, batch_size, verbose, steps, callbacks)
        if self._step_only:
            self._require_built("forward pass for predict()")
        if da.is_dataset(x):
            source = self._batches(x, None, batch_size, shuffle=False, method="predict")
            steps = _settings.capped_steps(steps, source.steps)
            batches = (batch[0] for batch in source.epoch(steps))
            total = steps or source.steps
        else:
            xs, bounds = self._array_batches(x, batch_size, steps)
            batches = ([a[start:stop] for a in xs] for start, stop in bounds)
            total = len(bounds)
        callback_list = make_callback_list(callbacks, self, verbose=verbose, steps=total or None,
                                           history=False)
        callback_list.on_predict_begin()
        outputs: list[list[np.ndarray]] = []
        for step, xb in enumerate(batches):
            if step == 0:
                self._check_input_shapes([a.shape for a in xb])
            callback_list.on_predict_batch_begin(step)
            with self._step_lock:
                outputs.append(self._graph.forward(xb, training=False, inference=True))
            # Keras hands the batch's predictions to the callbacks, shaped as predict's result
            callback_list.on_predict_batch_end(
                step, {"outputs": self._structured_outputs(outputs[-1])})
        callback_list.on_predict_end()
        with self._step_lock:
            self._drop_caches()
        if not outputs:
            raise ValueError("predict(): the data is empty")
        merged = [parts[0] if len(outputs) == 1 else np.concatenate(parts, axis=0)
                  for parts in zip(*outputs)]
        return self._structured_outputs(merged)

    def _array_batches(self, x, batch_size, steps) -> tuple[list[np.ndarray], list]:
        """predict's in-memory inputs as arrays, and the ``(start, stop)`` rows of each batch
        (at most ``steps`` batches)."""
        bs = self._check_batch_size(batch_size)
        xs = self._prepare_inputs(x, "predict")
        n = len(xs[0])
        bounds = [(s, min(s + bs, n)) for s in range(0, n, bs)]
        return xs, bounds[:_settings.capped_steps(steps, len(bounds))]

    def _predict_with_step(self, x, batch_size, verbose: int, steps, callbacks):
        """`predict` of a model whose class writes its own ``predict_step``: that step on each
        batch (the inputs alone, or ``(x, y)`` from a Dataset of pairs, as Keras 3 passes
        them), its results as arrays joined along the batch axis, in its structure (a
        ``uint8`` image, a dict...). The step reads the batches as it likes: no input
        checks."""
        from convnp.models.custom_step import merge_batches

        if da.is_dataset(x):
            source = self._batches(x, None, batch_size, shuffle=False, method="predict")
            steps = _settings.capped_steps(steps, source.steps)
            batches = source.epoch(steps)
            total = steps or source.steps
        else:
            xs, bounds = self._array_batches(x, batch_size, steps)
            batches = (([a[start:stop] for a in xs], None, None) for start, stop in bounds)
            total = len(bounds)
        callback_list = make_callback_list(callbacks, self, verbose=verbose, steps=total or None,
                                           history=False)
        callback_list.on_predict_begin()
        results = []
        for step, (xb, yb, wb) in enumerate(batches):
            callback_list.on_predict_batch_begin(step)
            results.append(self._run_predict_step(self._step_data(xb, yb, wb)))
            callback_list.on_predict_batch_end(step, {"outputs": results[-1]})
        callback_list.on_predict_end()
        with self._step_lock:
            self._drop_caches()
        if not results:
            raise ValueError("predict(): the data is empty")
        return merge_batches(results)

    def evaluate_generator(self, generator, steps=None, **kwargs):
        """Keras 2's spelling of `evaluate` on a generator: warns, then calls `evaluate`."""
        keras2_alias("evaluate_generator", "evaluate")
        return self.evaluate(generator, steps=steps, **{"verbose": 0, **kwargs})

    def predict_generator(self, generator, steps=None, **kwargs):
        """Keras 2's spelling of `predict` on a generator: warns, then calls `predict`."""
        keras2_alias("predict_generator", "predict")
        return self.predict(generator, steps=steps, **{"verbose": 0, **kwargs})

    # -- single batches -------------------------------------------------------------------------

    @uses_all_cores
    def test_on_batch(self, x, y=None, sample_weight=None, return_dict: bool = False):
        """Loss and metrics on one batch in inference mode."""
        self._require_compiled("test_on_batch")
        if self._overrides("test_step"):  # as Keras 3: the user's step, on this one batch
            self._reset_step_metrics()  # its metrics too report this batch alone
            return self._custom_step_on_batch("test_step", "test_on_batch", x, y,
                                              sample_weight, None, return_dict)
        xs = self._prepare_inputs(x, "test_on_batch")
        y = self._prepare_targets(y, len(xs[0]), "test_on_batch")
        weights = self._sample_weights(y, sample_weight, None, "test_on_batch")
        with self._step_lock:
            y_pred, loss_value, values = self._forward_with_loss(
                xs, y, self._fused_activation(), False, weights, inference=True)
            self._drop_caches()
        self.reset_metrics()
        self._update_metrics(y, y_pred, weights)
        return self._batch_result(loss_value, values, return_dict)

    @uses_all_cores
    def predict_on_batch(self, x) -> np.ndarray:
        """Outputs for one batch in inference mode (what ``predict_step`` returns, when the
        model's class writes one: Keras 3 hands it ``(x,)``)."""
        if self._overrides("predict_step"):
            xs = self._prepare_inputs(x, "predict_on_batch")
            result = self._run_predict_step((to_eager(xs[0] if len(xs) == 1 else list(xs)),))
            with self._step_lock:
                self._drop_caches()
            return result
        if self._step_only:
            self._require_built("forward pass for predict_on_batch()")
        xs = self._prepare_inputs(x, "predict_on_batch")
        with self._step_lock:
            outs = self._graph.forward(xs, training=False, inference=True)
            self._drop_caches()
        return self._structured_outputs(outs)

    def reset_metrics(self) -> None:
        """Every metric back to its start, as Keras's: the compiled ones, the running losses
        a user's step logs, the metrics the model holds, the built-in loop's running means."""
        self._reset_step_metrics()
        built_in = self.__dict__.get("_epoch_logs")
        if built_in is not None:
            built_in.reset()

    def _batch_result(self, loss_value: float, output_losses, return_dict: bool):
        logs = {"loss": float(loss_value)}
        names = compile_utils.loss_names(self._output_specs)
        for name, value in zip(names, [v for v in output_losses if v is not None]):
            logs[name] = float(value)
        for m in self.compiled_metrics:
            logs[m.name] = metric_value(m)
        if return_dict:
            from convnp.callbacks import keras_order

            return keras_order(dict(logs))
        values = list(logs.values())
        return values[0] if len(values) == 1 else values
