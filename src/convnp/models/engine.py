"""The core every model API call shares: compile, argument checks, and one training step.

`Engine` holds what `compile` chose (optimizer, loss, metrics), turns user data into batches
of the model's float dtype with clear errors, and computes the loss and the gradients of one
batch. `InferenceMixin` (evaluate/predict) and `TrainingMixin` (fit) build on it.

The loss follows Keras's TensorFlow backend: with a sigmoid output and binary cross-entropy
(or softmax and categorical cross-entropy) the loss and its gradient come from the last
layer's pre-activation values (TensorFlow's ``_keras_logits`` path): exact, and never NaN or
inf on saturated outputs.
"""

from __future__ import annotations

import math
import threading
import warnings
from typing import Any

import numpy as np

from convnp import activations
from convnp.models import data_adapter as da
from convnp.models.custom_step import MetricList

_IDENTITY = activations.get("linear")


class NotCompiledError(RuntimeError, ValueError):
    """fit/evaluate/train_on_batch before `compile`.

    Keras raises RuntimeError here; convnp's rule is ValueError for bad use. Both work.
    """


class Engine:
    """Compile state, data preparation and the training step. Expects ``self._graph``."""

    def _init_training_state(self) -> None:
        self.optimizer = None
        self.loss = None
        self.compiled_loss = None
        self.compiled_metrics: list = []
        self._compiled = False
        self.stop_training = False
        self.history = None
        self._metric_ids = None
        # Serializes whole training steps with inference passes from other threads: layers
        # keep per-call caches and a step swaps the output activation, so a predict may only
        # run between two steps (see docs/architecture.md, "Threads").
        self._step_lock = threading.RLock()

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
        # a dict with a "class_name" is one loss's Keras config (what save() writes), not a
        # dict of per-output losses
        per_output = isinstance(loss, list) or (isinstance(loss, dict)
                                                and "class_name" not in loss)
        if per_output:
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
        self.compiled_metrics = MetricList(
            metrics_module.get(m, loss=self.compiled_loss) for m in self._metric_ids)
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
            raise NotCompiledError(f"You must call compile() before {method}()")
        if method in ("fit", "train_on_batch") and self.compiled_loss is None and not (
                method == "fit" and self._overrides("train_step")):
            raise ValueError(f"{method}() needs a loss: call compile(loss=...)")
        if method in ("fit", "train_on_batch") and self.optimizer is None:
            raise ValueError(f"{method}() needs an optimizer: call compile(optimizer=...)")

    @property
    def metrics(self) -> list:
        """The compiled metric objects (callbacks read their names and directions); inside a
        custom ``train_step``/``test_step``, a running ``"loss"`` mean comes first, as Keras 3
        lists it."""
        if self.__dict__.get("_custom_step_active"):
            return self._step_metrics()
        return list(self.compiled_metrics)

    @property
    def metrics_names(self) -> list[str]:
        return ["loss"] + [m.name for m in self.compiled_metrics]

    # -- loss and one step ---------------------------------------------------------------------

    def _fused_activation(self):
        """The output layer's activation object when loss and gradient can skip it.

        The fused path runs the output layer with its activation swapped for the identity (so
        the layer returns and caches its pre-activation ``z``), applies the real activation
        here, and backpropagates ``dL/dz`` straight into the layer. It relies on the layer
        reading its public ``activation`` attribute at call and backward time, which Dense,
        Conv2D and Activation do; other layers opt in with ``fuses_activation = True``.
        """
        from convnp.layers import Activation, Conv2D, Dense

        loss = self.compiled_loss
        graph = self._graph
        if loss is None or not graph.nodes or graph.output_slots[0] != graph.nodes[-1].out:
            return None
        layer = graph.nodes[-1].layer
        if not (isinstance(layer, (Dense, Conv2D, Activation))
                or getattr(layer, "fuses_activation", False)):
            return None
        activation = getattr(layer, "activation", None)
        name = getattr(activation, "name", None)
        if name is None or not loss.can_fuse(name):
            return None
        return activation

    def _forward_with_loss(self, xs, y, fused, training: bool, sample_weight=None):
        """Predictions, the loss value and (fused path) the logits, for one batch.

        ``xs`` is the list of input batches (a single array is accepted too). With
        ``sample_weight`` the loss is ``sum(w * loss_i) / m``, as Keras reduces it.
        """
        graph = self._graph
        if not isinstance(xs, list):
            xs = [xs]
        if fused is None:
            y_pred = graph.forward(xs, training=training)[0]
            return y_pred, self.compiled_loss(y, y_pred, sample_weight), None
        layer = graph.nodes[-1].layer
        layer.activation = _IDENTITY
        try:
            z = graph.forward(xs, training=training)[0]
        finally:
            layer.activation = fused
        y_pred = fused.forward(z)
        loss_value = self.compiled_loss.value_from_logits(y, z, fused.name, sample_weight)
        return y_pred, loss_value, z

    def _compute_gradients(self, xs, y: np.ndarray, fused,
                           sample_weight=None) -> tuple[float, np.ndarray]:
        """Forward in training mode, the loss, and backward: every trainable variable's
        ``.grad`` then holds d loss / d variable. Returns the loss and the predictions; a
        non-finite loss skips backward (the gradients are then stale)."""
        y_pred, loss_value, _ = self._forward_with_loss(xs, y, fused, True, sample_weight)
        if not math.isfinite(loss_value):
            self._drop_caches()
            return loss_value, y_pred
        if fused is not None:
            grad = self.compiled_loss.gradient_wrt_logits(y, y_pred, fused.name, sample_weight)
            layer = self._graph.nodes[-1].layer
            layer.activation = _IDENTITY
            try:
                self._graph.backward([grad])
            finally:
                layer.activation = fused
        else:
            self._graph.backward([self.compiled_loss.gradient(y, y_pred, sample_weight)])
        return loss_value, y_pred

    def _train_step(self, xs, y: np.ndarray, fused, variables: list,
                    sample_weight=None) -> tuple[float, np.ndarray]:
        """`_compute_gradients` then one optimizer update.

        The step is all or nothing: when the loss, a gradient or a statistic the forward pass
        updated (BatchNormalization's moving mean and variance) is not finite, those
        statistics are put back and no weight changes, so one bad batch cannot poison the
        model. A non-finite gradient or statistic (with a finite loss) also sets
        ``stop_training`` and warns.
        """
        with self._step_lock:
            return self._locked_train_step(xs, y, fused, variables, sample_weight)

    def _locked_train_step(self, xs, y, fused, variables, sample_weight):
        saved = [(v, v.value.copy()) for v in self._forward_updated_variables()]
        loss_value, y_pred = self._compute_gradients(xs, y, fused, sample_weight)
        problem = None
        if not math.isfinite(loss_value):
            problem = "loss"
        elif not _all_finite(v.grad for v in variables):
            problem = "gradients"
        elif not _all_finite(v.value for v, _ in saved):
            problem = "moving statistics"
        if problem is None:
            # every trainable variable, in a fixed order: the optimizer keys slots by position
            self.optimizer.apply_gradients([(v.grad, v) for v in variables])
            return loss_value, y_pred
        for variable, value in saved:
            variable.value[...] = value
        if problem != "loss":
            self.stop_training = True
            warnings.warn(f"non-finite {problem} in a training step: the update was skipped "
                          "(weights and moving statistics unchanged), terminating training",
                          RuntimeWarning, stacklevel=3)
        return loss_value, y_pred

    def _forward_updated_variables(self) -> list:
        """The non-trainable variables a training forward pass may change (the moving
        statistics of trainable BatchNormalization layers)."""
        found = []
        stack = list(self.layers)
        while stack:
            layer = stack.pop()
            if not getattr(layer, "trainable", True):
                continue  # frozen: its statistics stay as they are
            inner = getattr(layer, "layers", None)
            if isinstance(inner, list):  # a nested model: look at its own layers
                stack.extend(inner)
            else:
                found.extend(layer.non_trainable_weights)
        return found

    def _drop_caches(self) -> None:
        for node in self._graph.nodes + self._graph.schedule:
            if hasattr(node.layer, "_cache"):
                node.layer._cache = None

    def _prepare_training(self) -> tuple[Any, list]:
        self._graph.plan_backward(input_gradients=False)
        return self._fused_activation(), self.trainable_weights

    # -- argument checks -----------------------------------------------------------------------

    def _prepare_inputs(self, x, method: str) -> list[np.ndarray]:
        """Cast inputs to the model dtype and check their shapes (building Sequential)."""
        several = self._graph is not None and len(self._graph.inputs) > 1
        # a list means one array per input only for multi-input models (else: array-like data)
        xs = list(x) if several and isinstance(x, (list, tuple)) else [x]
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

    def _batches(self, x, y, batch_size, shuffle: bool, method: str, need_y: bool = True,
                 sample_weight=None, class_weight=None):
        """An ArrayBatches or DatasetBatches source for ``x``/``y`` (and per-sample weights)."""
        if da.is_dataset(x):
            if sample_weight is not None or class_weight is not None:
                raise ValueError(f"{method}(): with a Dataset, yield (x, y, sample_weight) "
                                 "elements instead of passing sample_weight/class_weight")
            if y is not None:
                raise ValueError(f"{method}(): when x is a Dataset it must yield (x, y) pairs; "
                                 "do not pass y separately")
            if self._graph is None:
                first = next(iter(x))
                xb = da.unpack_batch(first, method)[0]
                if isinstance(xb, (tuple, list)):
                    xb = xb[0]
                self._build_for_shape((None,) + tuple(np.shape(xb))[1:])
            return da.DatasetBatches(x, self._compute_dtype(), method)
        batch_size = self._check_batch_size(batch_size)
        xs = self._prepare_inputs(x, method)
        y_arr = self._prepare_targets(y, len(xs[0]), method) if need_y else None
        weights = self._sample_weights(y_arr, sample_weight, class_weight, method)
        return da.ArrayBatches(xs, y_arr, batch_size, shuffle=shuffle, sample_weight=weights)

    def _sample_weights(self, y, sample_weight, class_weight, method: str):
        """One weight per sample from ``sample_weight`` and/or ``class_weight`` (or None).

        ``class_weight`` maps a class index to a weight (missing classes weigh 1); a sample's
        class is its rounded label for ``(m,)``/``(m, 1)`` targets and the argmax of one-hot
        ``(m, k)`` targets (Keras's rule).
        """
        if sample_weight is None and class_weight is None:
            return None
        dtype = self._compute_dtype()
        n = len(y)
        weights = np.ones(n, dtype=dtype)
        if sample_weight is not None:
            sw = np.asarray(sample_weight, dtype=dtype)
            if sw.ndim == 2 and sw.shape[1] == 1:
                sw = sw[:, 0]
            if sw.shape != (n,):
                raise ValueError(f"{method}(): sample_weight must have shape ({n},), one weight "
                                 f"per sample, got {np.shape(sample_weight)}")
            weights *= sw
        if class_weight is not None:
            if not isinstance(class_weight, dict):
                raise ValueError(f"{method}(): class_weight must be a dict {{class: weight}}, "
                                 f"got {type(class_weight).__name__}")
            labels = (np.argmax(y, axis=-1) if y.ndim == 2 and y.shape[1] > 1
                      else np.round(np.asarray(y).reshape(n))).astype(np.int64)
            table = {int(k): float(v) for k, v in class_weight.items()}
            # classes without an entry keep weight 1, as in Keras
            weights *= np.array([table.get(int(c), 1.0) for c in labels], dtype=dtype)
        return weights

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

    def _check_dataset_batch(self, xs, yb, method: str) -> None:
        self._check_input_shapes([a.shape for a in xs])
        if yb is None:
            raise ValueError(f"{method}(): the Dataset must yield (x, y) pairs, got inputs only")
        if len(yb) != len(xs[0]):
            raise ValueError(f"{method}(): dataset batch has {len(xs[0])} inputs but {len(yb)} "
                             "targets")
        self._check_outputs_for_loss(np.shape(yb))


def _all_finite(arrays) -> bool:
    """True if no array holds a NaN or an infinity (a float64 sum propagates both and cannot
    overflow from float32 values; it avoids a boolean array per variable)."""
    for array in arrays:
        if array is not None and not math.isfinite(np.add.reduce(array, axis=None,
                                                                 dtype=np.float64)):
            return False
    return True
