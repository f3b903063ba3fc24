"""compile / fit / evaluate / predict, shared by functional and Sequential models.

Numbers follow Keras (TensorFlow backend):

* everything is computed in the model's float dtype (float32 unless the layers say
  otherwise); ``x`` is cast once per call, not per batch;
* the loss shown per batch is the running mean over the epoch so far, weighted by batch size,
  and the epoch's ``loss`` is that mean at the end of the epoch; metrics accumulate likewise;
* with a sigmoid output and binary cross-entropy (or softmax and categorical cross-entropy),
  the loss and its gradient are computed from the last layer's pre-activation values (the
  TensorFlow backend's ``_keras_logits`` path): exact, never NaN or inf on saturated outputs;
* validation runs at the end of each epoch in inference mode (BatchNormalization uses its
  moving statistics, Dropout is off) and its results are logged as ``val_<name>``;
* ``validation_split`` holds out the last fraction of the arrays, before any shuffling.

A non-finite loss stops training: the batch's update is skipped, ``model.stop_training`` is
set, and one line ``Batch N: Invalid loss, terminating training`` is printed (issued as a
warning instead when ``verbose=0``), as Keras's TerminateOnNaN callback would.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from convnp import activations
from convnp.models import data_adapter as da
from convnp.models.loop_utils import LossTracker, make_callback_list, resolve_verbose

_IDENTITY = activations.get("linear")


class TrainingMixin:
    """The training API of `Model`. Expects ``self._graph`` (a `functional.Graph`)."""

    def _init_training_state(self) -> None:
        self.optimizer = None
        self.loss = None
        self.compiled_loss = None
        self.compiled_metrics: list = []
        self._compiled = False
        self.stop_training = False
        self.history = None
        self._metric_ids = None

    # -- hooks Sequential overrides ----------------------------------------------------------

    def _build_for_shape(self, batch_shape) -> None:
        """Make sure the graph exists for inputs of this shape (Sequential builds lazily)."""
        self._require_built("graph")

    def _compute_dtype(self) -> np.dtype:
        for layer in self._graph.layers:
            if layer.weights:
                return layer.dtype
        layers = [n.layer for n in self._graph.nodes]
        return layers[0].dtype if layers else np.dtype(np.float32)

    # -- compile -----------------------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly=None, steps_per_execution=None,
                jit_compile=None, **kwargs) -> None:
        """Choose the optimizer, the loss and the metrics.

        Args:
            optimizer: name (``"adam"``, ``"sgd"``, ``"rmsprop"``) or optimizer object.
            loss: name (``"binary_crossentropy"``, ...) or `convnp.losses.Loss`.
            metrics: list of names (``"accuracy"`` resolves from the loss) or metric objects.
            loss_weights, weighted_metrics, run_eagerly, steps_per_execution, jit_compile:
                accepted for compatibility; ``loss_weights``/``weighted_metrics`` must be None.

        Raises:
            ValueError: unknown name, or a loss that cannot apply to the model output.
        """
        from convnp import losses, optimizers
        from convnp import metrics as metrics_module

        if kwargs:
            raise TypeError(f"compile() got unexpected keyword argument(s) {sorted(kwargs)}")
        if loss_weights is not None or weighted_metrics:
            raise NotImplementedError("loss_weights and weighted_metrics are not supported")
        if isinstance(loss, (list, dict)):
            raise NotImplementedError("one loss per output (a list or dict) is not supported; "
                                      "give a single loss")
        self.optimizer = optimizers.get(optimizer)
        self.loss = loss
        self.compiled_loss = losses.get(loss) if loss is not None else None
        if metrics is None:
            metrics = []
        if isinstance(metrics, (str, dict)) or not isinstance(metrics, (list, tuple)):
            metrics = [metrics]
        self._metric_ids = list(metrics)
        self.compiled_metrics = [
            metrics_module.get(m, loss=self.compiled_loss) for m in self._metric_ids
        ]
        names = [m.name for m in self.compiled_metrics]
        if len(set(names)) != len(names) or "loss" in names:
            raise ValueError(f"metric names must be distinct and not 'loss', got {names}")
        self._compiled = True
        if self._graph is not None:
            self._check_outputs_for_loss()

    def _check_outputs_for_loss(self, y_shape=None) -> None:
        if len(self._graph.outputs) != 1:
            raise NotImplementedError(
                f"model '{self.name}' has {len(self._graph.outputs)} outputs; training models "
                "with several outputs is not supported"
            )
        if self.compiled_loss is not None:
            self.compiled_loss.check_output(self._graph.outputs[0].shape, y_shape)

    def _require_compiled(self, method: str) -> None:
        if not self._compiled:
            raise RuntimeError(f"You must call compile() before {method}()")
        if method in ("fit", "train_on_batch") and self.compiled_loss is None:
            raise ValueError(f"{method}() needs a loss: call compile(loss=...)")
        if method in ("fit", "train_on_batch") and self.optimizer is None:
            raise ValueError(f"{method}() needs an optimizer: call compile(optimizer=...)")

    @property
    def metrics(self) -> list:
        """The compiled metric objects (callbacks read their names and directions)."""
        return list(self.compiled_metrics)

    @property
    def metrics_names(self) -> list[str]:
        return ["loss"] + [m.name for m in self.compiled_metrics]

    # -- loss and one step ---------------------------------------------------------------------

    def _fused_activation(self):
        """The output layer's activation object when loss and gradient can skip it.

        The fused path runs the output layer with its activation swapped for the identity (so
        the layer returns and caches its pre-activation ``z``), applies the real activation
        here, and backpropagates ``dL/dz`` straight into the layer. It relies only on the
        layer's public ``activation`` attribute, which Dense, Conv2D and Activation consult at
        call and backward time.
        """
        loss = self.compiled_loss
        graph = self._graph
        if loss is None or not graph.nodes or graph.output_slots[0] != graph.nodes[-1].out:
            return None
        activation = getattr(graph.nodes[-1].layer, "activation", None)
        name = getattr(activation, "name", None)
        if name is None or not loss.can_fuse(name):
            return None
        return activation

    def _forward_with_loss(self, x, y, fused, training: bool):
        """Predictions, the loss value and (fused path) the logits, for one batch."""
        graph = self._graph
        if fused is None:
            y_pred = graph.forward([x], training=training)[0]
            return y_pred, self.compiled_loss(y, y_pred), None
        layer = graph.nodes[-1].layer
        layer.activation = _IDENTITY
        try:
            z = graph.forward([x], training=training)[0]
        finally:
            layer.activation = fused
        y_pred = fused.forward(z)
        return y_pred, self.compiled_loss.value_from_logits(y, z, fused.name), z

    def _compute_gradients(self, x: np.ndarray, y: np.ndarray, fused) -> tuple[float, np.ndarray]:
        """Forward in training mode, the loss, and backward: every trainable variable's
        ``.grad`` then holds d loss / d variable. Returns the loss and the predictions; a
        non-finite loss skips backward (the gradients are then stale)."""
        y_pred, loss_value, _ = self._forward_with_loss(x, y, fused, training=True)
        if not math.isfinite(loss_value):
            self._drop_caches()
            return loss_value, y_pred
        if fused is not None:
            grad = self.compiled_loss.gradient_wrt_logits(y, y_pred, fused.name)
            layer = self._graph.nodes[-1].layer
            layer.activation = _IDENTITY
            try:
                self._graph.backward([grad])
            finally:
                layer.activation = fused
        else:
            self._graph.backward([self.compiled_loss.gradient(y, y_pred)])
        return loss_value, y_pred

    def _train_step(self, x: np.ndarray, y: np.ndarray, fused,
                    variables: list) -> tuple[float, np.ndarray]:
        """`_compute_gradients` then one optimizer update (skipped when the loss is not
        finite, so NaN never reaches the weights)."""
        loss_value, y_pred = self._compute_gradients(x, y, fused)
        if math.isfinite(loss_value):
            # every trainable variable, in a fixed order: the optimizer keys slots by position
            self.optimizer.apply_gradients([(v.grad, v) for v in variables])
        return loss_value, y_pred

    def _drop_caches(self) -> None:
        for node in self._graph.nodes:
            if hasattr(node.layer, "_cache"):
                node.layer._cache = None

    def _prepare_training(self) -> tuple[Any, list]:
        self._graph.plan_backward(input_gradients=False)
        return self._fused_activation(), self.trainable_weights

    # -- argument checks -----------------------------------------------------------------------

    def _prepare_inputs(self, x, method: str) -> list[np.ndarray]:
        """Cast inputs to the model dtype and check their shapes (building Sequential)."""
        xs = list(x) if isinstance(x, (list, tuple)) else [x]
        if not xs or any(v is None for v in xs):
            raise ValueError(f"{method}() needs input data `x`")
        if self._graph is None:
            self._build_for_shape((None,) + tuple(np.shape(xs[0]))[1:])
        dtype = self._compute_dtype()
        arrays = [da.as_float_array(v, dtype, f"{method}(): x") for v in xs]
        self._check_input_shapes([a.shape for a in arrays])
        n = len(arrays[0])
        if any(len(a) != n for a in arrays):
            raise ValueError(f"{method}(): all inputs need the same number of samples, got "
                             f"{[len(a) for a in arrays]}")
        return arrays

    def _prepare_targets(self, y, n: int, method: str) -> np.ndarray:
        if y is None:
            raise ValueError(f"{method}() needs targets `y` when `x` is an array")
        y = np.asarray(y)
        dtype = self._compute_dtype()
        if y.dtype != dtype and (np.issubdtype(y.dtype, np.number) or y.dtype == np.bool_):
            y = y.astype(dtype)
        if y.ndim == 0 or len(y) != n:
            raise ValueError(
                f"{method}(): x and y must have the same number of samples, got x with {n} "
                f"and y with {'no batch axis' if y.ndim == 0 else len(y)}"
            )
        self._check_outputs_for_loss(y.shape)
        return y

    @staticmethod
    def _check_batch_size(batch_size, default: int = 32) -> int:
        if batch_size is None:
            return default
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        return int(batch_size)

    def _batches(self, x, y, batch_size, shuffle: bool, method: str, need_y: bool = True):
        """An ArrayBatches or DatasetBatches source for ``x``/``y``."""
        if da.is_dataset(x):
            if y is not None:
                raise ValueError(f"{method}(): when x is a Dataset it must yield (x, y) pairs; "
                                 "do not pass y separately")
            if self._graph is None:
                first = next(iter(x))
                xb, _ = da.unpack_batch(first, method)
                self._build_for_shape((None,) + tuple(np.shape(xb))[1:])
            return da.DatasetBatches(x, self._compute_dtype(), method)
        batch_size = self._check_batch_size(batch_size)
        xs = self._prepare_inputs(x, method)
        if len(xs) != 1:
            raise NotImplementedError(f"{method}() with several model inputs is not supported")
        y_arr = self._prepare_targets(y, len(xs[0]), method) if need_y else None
        return da.ArrayBatches(xs[0], y_arr, batch_size, shuffle=shuffle)

    # -- fit ---------------------------------------------------------------------------------

    def fit(self, x=None, y=None, batch_size: int | None = None, epochs: int = 1,
            verbose="auto", callbacks=None, validation_split: float = 0.0,
            validation_data=None, shuffle: bool = True, class_weight=None,
            sample_weight=None, initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_steps=None, validation_batch_size=None, validation_freq: int = 1):
        """Train for ``epochs`` passes over the data.

        Args:
            x: inputs ``(m, ...)`` as an array, or a `convnp.data.Dataset` of ``(x, y)`` batches.
            y: targets ``(m, ...)`` (omit with a Dataset).
            batch_size: samples per update for arrays (default 32).
            epochs: index of the last epoch (training runs ``initial_epoch`` .. ``epochs - 1``).
            verbose: 0 silent, 1 progress bar, 2 one line per epoch; "auto" is 1.
            callbacks: list of `convnp.callbacks.Callback`.
            validation_split: fraction in [0, 1) of the arrays held out (the last samples).
            validation_data: ``(x_val, y_val)`` or a Dataset, evaluated after each epoch.
            shuffle: reshuffle array samples each epoch.
            initial_epoch: epoch to start at (to resume a run).
            steps_per_epoch: batches per epoch (default: one pass over the data).
            validation_batch_size: batch size for validation arrays (default ``batch_size``).
            validation_freq: validate every this many epochs.

        Returns:
            The `History` callback: ``history.history`` maps ``loss``, metric names and their
            ``val_`` versions to one float per epoch.
        """
        self._require_compiled("fit")
        if class_weight is not None or sample_weight is not None:
            raise NotImplementedError("class_weight and sample_weight are not supported")
        if not isinstance(validation_split, (int, float)) or not 0.0 <= validation_split < 1.0:
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
        epochs = int(epochs)
        verbose = resolve_verbose(verbose)
        if da.is_dataset(x) and validation_split:
            raise ValueError("validation_split is only supported for array inputs, not a "
                             "Dataset; pass validation_data instead")
        val_source = None
        if validation_split and not da.is_dataset(x):
            x, y, val_source = self._split_validation(x, y, validation_split, batch_size,
                                                      validation_batch_size)
        train = self._batches(x, y, batch_size, shuffle=bool(shuffle), method="fit")
        if validation_data is not None:
            val_source = self._validation_source(validation_data,
                                                 validation_batch_size or batch_size)
        if steps_per_epoch is not None:
            if isinstance(steps_per_epoch, bool) or not isinstance(
                    steps_per_epoch, (int, np.integer)) or steps_per_epoch <= 0:
                raise ValueError(
                    f"steps_per_epoch must be a positive int, got {steps_per_epoch!r}")
            steps_per_epoch = int(steps_per_epoch)
        if isinstance(train, da.ArrayBatches) and train.n == 0:
            raise ValueError("fit(): the training data is empty (0 samples)")
        steps = steps_per_epoch or train.steps

        callback_list = make_callback_list(callbacks, self, verbose=verbose, epochs=epochs,
                                           steps=steps or None)
        self.history = callback_list.history
        self.stop_training = False
        fused, variables = self._prepare_training()
        metrics = self.compiled_metrics
        tracker = LossTracker()
        callback_list.on_train_begin()
        logs: dict[str, Any] = {}
        for epoch in range(int(initial_epoch), epochs):
            tracker.reset()
            for m in metrics:
                m.reset_state()
            callback_list.on_epoch_begin(epoch)
            logs = {}
            batches = (train.epoch(steps_per_epoch) if isinstance(train, da.DatasetBatches)
                       else self._array_epoch(train, steps_per_epoch))
            for step, (xb, yb) in enumerate(batches):
                if step == 0 and isinstance(train, da.DatasetBatches):
                    self._check_dataset_batch(xb, yb, "fit")
                callback_list.on_train_batch_begin(step)
                loss_value, y_pred = self._train_step(xb, yb, fused, variables)
                if not math.isfinite(loss_value):
                    self._terminate_on_nan(step, verbose)
                tracker.update(loss_value, len(xb))
                logs = {"loss": tracker.result()}
                for m in metrics:
                    m.update_state(yb, y_pred)
                    logs[m.name] = m.result()
                callback_list.on_train_batch_end(step, logs)
                if self.stop_training:
                    break
            epoch_logs = dict(logs)
            if val_source is not None and (epoch + 1) % int(validation_freq) == 0:
                val_logs = self._run_evaluation(val_source, callback_list=None, verbose=0,
                                                steps=validation_steps)
                epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
            callback_list.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        callback_list.on_train_end(epoch_logs if logs else None)
        return self.history

    @staticmethod
    def _array_epoch(train: da.ArrayBatches, steps: int | None):
        if steps is None:
            yield from train.epoch()
            return
        produced = 0
        while produced < steps:
            for batch in train.epoch():
                yield batch
                produced += 1
                if produced >= steps:
                    return
            if train.steps == 0:
                return

    def _check_dataset_batch(self, xb, yb, method: str) -> None:
        self._check_input_shapes([xb.shape])
        if yb is None:
            raise ValueError(f"{method}(): the Dataset must yield (x, y) pairs, got inputs only")
        if len(yb) != len(xb):
            raise ValueError(f"{method}(): dataset batch has {len(xb)} inputs but {len(yb)} "
                             "targets")
        self._check_outputs_for_loss(np.shape(yb))

    def _terminate_on_nan(self, step: int, verbose: int) -> None:
        message = f"Batch {step}: Invalid loss, terminating training"
        if verbose:
            print(message)
        else:
            warnings.warn(message, RuntimeWarning, stacklevel=3)
        self.stop_training = True

    def _split_validation(self, x, y, split: float, batch_size, val_batch_size):
        xs = self._prepare_inputs(x, "fit")
        if len(xs) != 1:
            raise NotImplementedError("fit() with several model inputs is not supported")
        x_arr = xs[0]
        y_arr = self._prepare_targets(y, len(x_arr), "fit")
        n = len(x_arr)
        split_at = math.floor(n * (1.0 - split))
        if split_at == 0 or split_at == n:
            raise ValueError(
                f"validation_split={split} leaves {split_at} training and {n - split_at} "
                f"validation samples out of {n}; both must be at least 1"
            )
        bs = self._check_batch_size(val_batch_size or batch_size)
        val = da.ArrayBatches(x_arr[split_at:], y_arr[split_at:], bs, shuffle=False)
        return x_arr[:split_at], y_arr[:split_at], val

    def _validation_source(self, validation_data, batch_size):
        if da.is_dataset(validation_data):
            return da.DatasetBatches(validation_data, self._compute_dtype(), "validation_data")
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be a tuple (x_val, y_val) or a Dataset, got "
                             f"{type(validation_data).__name__}")
        if len(validation_data) == 3:
            raise NotImplementedError("validation sample weights are not supported")
        return self._batches(validation_data[0], validation_data[1], batch_size, shuffle=False,
                             method="validation_data")

    # -- evaluate / predict ------------------------------------------------------------------------

    def _run_evaluation(self, source, callback_list, verbose: int,
                        steps=None) -> dict[str, float]:
        """Loss and metrics over ``source`` in inference mode (batch-size-weighted means)."""
        fused = self._fused_activation()
        metrics = self.compiled_metrics
        tracker = LossTracker()
        for m in metrics:
            m.reset_state()
        batches = source.epoch(steps) if isinstance(source, da.DatasetBatches) else (
            self._array_epoch(source, steps))
        logs: dict[str, float] = {}
        for step, (xb, yb) in enumerate(batches):
            if step == 0 and isinstance(source, da.DatasetBatches):
                self._check_dataset_batch(xb, yb, "evaluate")
            if callback_list is not None:
                callback_list.on_test_batch_begin(step)
            y_pred, loss_value, _ = self._forward_with_loss(xb, yb, fused, training=False)
            tracker.update(loss_value, len(xb))
            logs = {"loss": tracker.result()}
            for m in metrics:
                m.update_state(yb, y_pred)
                logs[m.name] = m.result()
            if callback_list is not None:
                callback_list.on_test_batch_end(step, logs)
        self._drop_caches()
        return logs

    def evaluate(self, x=None, y=None, batch_size: int | None = None, verbose="auto",
                 sample_weight=None, steps: int | None = None, callbacks=None,
                 return_dict: bool = False):
        """Loss and metrics on ``x``/``y`` (or a Dataset) in inference mode.

        Returns:
            ``[loss, metric, ...]``, just the loss when there are no metrics, or a dict with
            ``return_dict=True``.
        """
        self._require_compiled("evaluate")
        if self.compiled_loss is None:
            raise ValueError("evaluate() needs a loss: call compile(loss=...)")
        if sample_weight is not None:
            raise NotImplementedError("sample_weight is not supported")
        verbose = resolve_verbose(verbose)
        source = self._batches(x, y, batch_size, shuffle=False, method="evaluate")
        callback_list = make_callback_list(callbacks, self, verbose=verbose,
                                           steps=steps or source.steps or None, history=False)
        callback_list.on_test_begin()
        logs = self._run_evaluation(source, callback_list, verbose, steps=steps)
        callback_list.on_test_end(logs)
        if not logs:
            raise ValueError("evaluate(): the data is empty")
        if return_dict:
            return dict(logs)
        values = [logs["loss"]] + [logs[m.name] for m in self.compiled_metrics]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size: int | None = None, verbose="auto",
                steps: int | None = None, callbacks=None) -> np.ndarray:
        """Model outputs for ``x`` (array or Dataset), computed in inference mode by batches."""
        verbose = resolve_verbose(verbose)
        if da.is_dataset(x):
            source = self._batches(x, None, batch_size, shuffle=False, method="predict")
            batches = ([xb] for xb, _ in source.epoch(steps))
            total = steps or source.steps
        else:
            bs = self._check_batch_size(batch_size)
            xs = self._prepare_inputs(x, "predict")
            n = len(xs[0])
            bounds = [(s, min(s + bs, n)) for s in range(0, n, bs)][:steps]
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
            outputs.append(self._graph.forward(xb, training=False))
            callback_list.on_predict_batch_end(step)
        callback_list.on_predict_end()
        self._drop_caches()
        if not outputs:
            raise ValueError("predict(): the data is empty")
        merged = [parts[0] if len(outputs) == 1 else np.concatenate(parts, axis=0)
                  for parts in zip(*outputs)]
        return merged[0] if len(merged) == 1 else merged

    # -- single batches -------------------------------------------------------------------------

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict: bool = False):
        """One update on one batch; returns ``[loss, metrics...]`` (metrics not reset: they
        accumulate across calls, as in Keras, until `reset_metrics`)."""
        self._require_compiled("train_on_batch")
        if sample_weight is not None or class_weight is not None:
            raise NotImplementedError("sample_weight and class_weight are not supported")
        xs = self._prepare_inputs(x, "train_on_batch")
        y = self._prepare_targets(y, len(xs[0]), "train_on_batch")
        fused, variables = self._prepare_training()
        loss_value, y_pred = self._train_step(xs[0], y, fused, variables)
        for m in self.compiled_metrics:
            m.update_state(y, y_pred)
        return self._batch_result(loss_value, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict: bool = False):
        """Loss and metrics on one batch in inference mode."""
        self._require_compiled("test_on_batch")
        xs = self._prepare_inputs(x, "test_on_batch")
        y = self._prepare_targets(y, len(xs[0]), "test_on_batch")
        y_pred, loss_value, _ = self._forward_with_loss(xs[0], y, self._fused_activation(),
                                                        training=False)
        self._drop_caches()
        for m in self.compiled_metrics:
            m.reset_state()
            m.update_state(y, y_pred)
        return self._batch_result(loss_value, return_dict)

    def predict_on_batch(self, x) -> np.ndarray:
        """Outputs for one batch in inference mode."""
        xs = self._prepare_inputs(x, "predict_on_batch")
        outs = self._graph.forward(xs, training=False)
        self._drop_caches()
        return outs[0] if len(outs) == 1 else outs

    def reset_metrics(self) -> None:
        for m in self.compiled_metrics:
            m.reset_state()

    def _batch_result(self, loss_value: float, return_dict: bool):
        logs = {"loss": float(loss_value)}
        for m in self.compiled_metrics:
            logs[m.name] = m.result()
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values
