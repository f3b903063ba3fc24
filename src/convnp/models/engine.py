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

from convnp import activations, losses, metrics
from convnp.layers import taped
from convnp.layers._penalties import penalty, regularized_weights
from convnp.models import compile_utils, file_hooks
from convnp.models import data_adapter as da
from convnp.models.custom_step import MetricList, overridden_names


def _warn_logits_of_activation(loss, activation_name: str) -> None:
    """TensorFlow 2.21's warning when a loss told ``from_logits=True`` gets the output of a
    sigmoid or softmax: the loss then uses that activation's logits (as TensorFlow does)."""
    warnings.warn(f"`{loss.name}` received `from_logits=True`, but the `output` argument was "
                  f"produced by a {activation_name} activation and thus does not represent "
                  "logits. Was this intended?", UserWarning, stacklevel=4)


_IDENTITY = activations.get("linear")



#: the compiled metrics that weigh a masked output's kept steps only (Keras's
#: MeanMetricWrapper family; "accuracy" becomes one of them)
_MASKED_METRICS = (metrics.MeanMetricWrapper, metrics.AutoAccuracy)

class NotCompiledError(RuntimeError, ValueError):
    """fit/evaluate/train_on_batch before `compile`.

    Keras raises RuntimeError here; convnp's rule is ValueError for bad use. Both work.
    """


def _unwrapped_single(x):
    """The data of a one-input model given as a list or tuple holding one array (or tensor):
    that array, as Keras 3 takes ``model.predict([x])`` / ``fit((x,), y)`` / ``model([x])``
    (the structure of ``Model([inp], out)``'s inputs, or a user's habit). A list of numbers or
    of lists stays the data itself."""
    if isinstance(x, (list, tuple)) and len(x) == 1 and hasattr(x[0], "shape") \
            and hasattr(x[0], "dtype"):
        return x[0]
    return x


class Engine:
    """Compile state, data preparation and the training step. Expects ``self._graph``."""

    #: the sorted keys of ``Model(inputs={...})`` / ``outputs={...}`` (None: a list or one)
    _input_keys: list[str] | None = None
    _output_keys: list[str] | None = None
    #: for ``outputs=[[a, b], [c, d]]``: that nesting with flat output indices (`nesting_of`)
    _output_nesting: list | None = None
    #: the same for inputs given nested (``Model([model.inputs], ...)``)
    _input_nesting: list | None = None
    #: several outputs come back in a tuple when the model's outputs were given as one
    #: (``Model(x, (a, b))``, a ``call`` returning ``a, b``), as Keras 3 gives them; else a list
    _outputs_in_tuple: bool = False
    #: the named tuple type the outputs were given in (``Model(image, detections)`` where
    #: ``detections`` is `tf.image.combined_non_max_suppression`'s result); Keras gives the
    #: outputs back in it
    _outputs_namedtuple: type | None = None
    #: list or tuple when the one input (output) was given in one (see model._one_in_container)
    _one_input_in: type | None = None
    _one_output_in: type | None = None

    @staticmethod
    def _structured(values: list, keys: list[str] | None, container: type = list):
        """Values per input or output as the model was made: a dict by key, else one value
        or a list (or tuple)."""
        if keys is not None:
            return dict(zip(keys, values))
        return values[0] if len(values) == 1 else container(values)

    def _structured_outputs(self, values: list):
        """The output values (one per graph output) as the model's outputs were given: a dict,
        nested lists (``outputs=[[a, b], ...]``), a list or one value."""
        if self._output_nesting is not None:
            return compile_utils.pack(self._output_nesting, list(values))
        if self._outputs_namedtuple is not None and len(values) > 1:
            return self._outputs_namedtuple(*values)
        return self._structured(values, self._output_keys,
                                tuple if self._outputs_in_tuple else list)

    def _init_training_state(self) -> None:
        self.optimizer = None
        self.loss = None
        self.compiled_loss = None
        self.compiled_metrics: list = []
        self._compiled = False
        self.stop_training = False
        self.history = None
        self._metric_ids = None
        self._weighted_metric_ids = []
        # compile()'s execution options, kept and read back as Keras 3 keeps them (convnp
        # runs one eager path whatever they say; files record them for Keras)
        self.run_eagerly = False
        self.jit_compile = False
        self.steps_per_execution = 1
        # Serializes whole training steps with inference passes from other threads: layers
        # keep per-call caches and a step swaps the output activation, so a predict may only
        # run between two steps (see docs/architecture.md, "Threads").
        self._step_lock = threading.RLock()
        self.loss_weights = None
        self._output_specs: list = []
        self._last_output_losses: list = []

    # -- hooks Sequential overrides ----------------------------------------------------------

    def _build_for_shape(self, batch_shape) -> None:
        """Make sure the graph exists for inputs of this shape (Sequential builds lazily)."""
        self._require_built("graph")

    def _compute_dtype(self) -> np.dtype:
        if self._graph is None:  # a step-only model: data in Keras's float type
            return np.dtype(np.float32)
        for layer in self._graph.layers:
            if layer.weights:
                return layer.dtype
        layers = [n.layer for n in self._graph.nodes]
        return layers[0].dtype if layers else np.dtype(np.float32)

    # -- compile -----------------------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly=None, steps_per_execution=None,
                jit_compile=None, auto_scale_loss=True, **kwargs) -> None:
        """Choose the optimizer, the loss(es) and the metrics.

        Args:
            optimizer: name (``"adam"``, ``"sgd"``, ``"rmsprop"``) or optimizer object.
            loss: name (``"binary_crossentropy"``, ...) or `convnp.losses.Loss`; for a model
                with several outputs also a list (one per output) or a dict by output name.
            metrics: list of names (``"accuracy"`` resolves from the loss) or metric objects;
                for several outputs a list with one entry per output or a dict by output name.
            loss_weights: a list or dict of floats scaling each output's loss in the total.
            weighted_metrics: metrics in the same shapes as ``metrics``, updated with the
                ``sample_weight`` (and ``class_weight``) given to fit/evaluate and the
                ``*_on_batch`` methods; one that an unweighted metric's name took logs as
                ``weighted_<name>`` (Keras 3's names).
            run_eagerly, steps_per_execution, jit_compile: kept as the model's attributes of
                those names (defaults False, 1, False; ``"auto"`` is False, as Keras 3 on
                TensorFlow resolves it); convnp runs the same way whatever they say.
            auto_scale_loss: accepted, as Keras 3 does; it scales only a mixed-precision
                loss, and convnp trains in float32.

        Raises:
            ValueError: unknown name, a loss that cannot apply to an output, or a list/dict
                that does not match the outputs.
        """
        from convnp import optimizers

        if kwargs:
            raise TypeError(f"compile() got unexpected keyword argument(s) {sorted(kwargs)}")
        if weighted_metrics and not isinstance(weighted_metrics, (list, tuple, dict)):
            raise ValueError("compile(): `weighted_metrics` must be a list, tuple or dict, got "
                             f"{weighted_metrics!r} of type {type(weighted_metrics).__name__}")
        if steps_per_execution is not None and (
                isinstance(steps_per_execution, bool) or not isinstance(
                    steps_per_execution, (int, np.integer)) or steps_per_execution < 1):
            raise ValueError("compile(): `steps_per_execution` must be a positive int, got "
                             f"{steps_per_execution!r}")
        optimizer = optimizers.get(optimizer)
        if self._compiled:
            # compiling again without a loss (or without metrics) keeps the earlier ones, as
            # Keras 3 does (the subclassing guide recompiles with the optimizer alone)
            if loss is None:
                loss, loss_weights = self.loss, self.loss_weights
            if metrics is None and weighted_metrics is None:
                metrics = self._metric_ids or None
                weighted_metrics = getattr(self, "_weighted_metric_ids", None) or None
        names = self._output_names_or_default()
        # a subclassed model's outputs have no names: Keras 3 logs them by their losses
        subclassed = bool(getattr(self, "_subclassed", False))
        unnamed = subclassed and self._output_keys is None
        if subclassed and self._graph is None:  # not built yet
            if isinstance(loss, dict):  # a call returning a dict: its keys name the outputs
                names, unnamed = sorted(loss), False
            elif isinstance(loss, (list, tuple)):
                names = ["output"] * len(loss)  # one output per loss given
        nesting = self._output_nesting  # outputs=[[a, b], c]: losses may nest the same way
        specs = compile_utils.resolve(compile_utils.flatten_as(nesting, loss, "loss"),
                                      compile_utils.flatten_as(nesting, loss_weights,
                                                               "loss_weights"),
                                      compile_utils.flatten_as(nesting, metrics, "metrics"),
                                      names, named=not unnamed,
                                      weighted_metrics=compile_utils.flatten_as(
                                          nesting, weighted_metrics, "weighted_metrics"))
        self.optimizer = optimizer
        self.loss = loss
        self.loss_weights = loss_weights
        self._metric_ids = metrics if isinstance(metrics, (list, tuple, dict)) or metrics is None \
            else [metrics]
        if self._metric_ids is None:
            self._metric_ids = []
        self._weighted_metric_ids = list(weighted_metrics) if isinstance(
            weighted_metrics, tuple) else (weighted_metrics or [])
        self._set_specs(specs)
        self._compiled = True
        self._traced_trainables = {}  # fit and train_on_batch take the trainable list anew
        self.run_eagerly = bool(run_eagerly)
        self.jit_compile = jit_compile not in (None, False, "auto")
        self.steps_per_execution = 1 if steps_per_execution is None else int(steps_per_execution)
        # what compile was given (the compile config records these, not later assignments)
        self._compile_options = {"run_eagerly": self.run_eagerly,
                                 "steps_per_execution": self.steps_per_execution,
                                 "jit_compile": self.jit_compile}
        if self._graph is not None and not self._overrides("train_step"):
            # a model with its own train_step may never read the compiled loss (keras.io's
            # depth estimation compiles a sparse cross-entropy its steps ignore): TF 2.21
            # checks nothing here, and fit/evaluate check the loss their step uses
            self._check_outputs_for_loss()

    @property
    def compiled(self) -> bool:
        """Whether `compile` has run (Keras 3's ``model.compiled``)."""
        return self._compiled

    def get_compile_config(self) -> dict | None:
        """What `compile` was given, as Keras 3 writes it in a ``.keras`` file's
        ``compile_config`` (None for a model never compiled)."""
        return file_hooks.get("get_compile_config")(self)

    def compile_from_config(self, config: dict) -> None:
        """Compile from a `get_compile_config` dict (Keras 3's: a config that cannot be
        followed leaves the model uncompiled, with a warning)."""
        if not isinstance(config, dict):
            raise TypeError("compile_from_config() expects the dict get_compile_config() "
                            f"gives, got {type(config).__name__}")
        file_hooks.get("compile_from_config")(self, config)

    def _set_specs(self, specs) -> None:
        self._output_specs = specs
        self.compiled_metrics = MetricList([m for spec in specs for m in spec.metrics] + [
            m for spec in specs for m in spec.weighted])
        self.compiled_metrics._weighted = {id(m) for spec in specs for m in spec.weighted}
        self.compiled_metrics._specs = list(specs)
        self.compiled_loss = specs[0].loss if len(specs) == 1 else None

    def _output_names_or_default(self) -> list[str]:
        """What losses, metrics, targets and log keys call the outputs: the keys of
        ``outputs={...}``, else the output layers' names (one default name for a Sequential
        not built yet)."""
        if self._output_keys is not None:
            return list(self._output_keys)
        if self._graph is not None:
            return self.output_names
        stack = getattr(self, "_stack", None)  # a Sequential not built yet: one output
        return [stack[-1].name if stack else "output"]

    @property
    def output_names(self) -> list[str]:
        """The names of the layers that produce the outputs, in output order (as Keras, also
        for ``outputs={...}``, whose losses and targets are given by the dict's keys)."""
        self._require_built("output_names")
        return [t.layer.name for t in self._graph.outputs]

    @property
    def input_names(self) -> list[str]:
        """The names of the input layers, in input order (the keys of ``inputs={...}``)."""
        self._require_built("input_names")
        if self._input_keys is not None:
            return list(self._input_keys)
        return [t.layer.name for t in self._graph.inputs]

    def _specs(self) -> list:
        """The per-output specs, matched to the (now built) graph's outputs."""
        specs = self._output_specs
        if self._graph is not None and len(specs) != len(self._graph.outputs) and \
                all(s.loss is None and not s.metrics and not s.weighted for s in specs):
            # compiled with no loss and no metrics before its first call (CycleGAN's
            # `super().compile()` in a compile override): nothing was tied to the outputs,
            # so the count is taken from the graph now, as Keras 3 does not mind either
            specs = [compile_utils.OutputSpec(name) for name in
                     compile_utils._distinct(self._output_names_or_default())]
            self._set_specs(specs)
        if self._graph is not None and len(specs) != len(self._graph.outputs):
            raise ValueError(f"model '{self.name}' was compiled for {len(specs)} output(s) "
                             f"but has {len(self._graph.outputs)}")
        return specs

    def _check_outputs_for_loss(self, y_shapes=None, method: str | None = None) -> None:
        """Refuse a compiled loss that cannot fit the model's outputs (or the targets of
        ``method``), before any work; not for a step the user's class wrote (``method``'s
        `_users_step`), which reads the targets its own way."""
        if self._graph is None:  # a step-only model: its train_step reads the targets
            return
        if method is not None and self._users_step(method):  # validation_data: test_step
            return
        specs = self._specs()
        if y_shapes is None:
            y_shapes = [None] * len(specs)
        for spec, tensor, y_shape in zip(specs, self._graph.outputs, y_shapes):
            if spec.loss is not None:
                try:
                    spec.loss.check_output(tensor.shape, y_shape)
                except ValueError as exc:
                    if len(specs) == 1:
                        raise
                    raise ValueError(f"output '{spec.name}': {exc}") from None

    def _has_loss(self) -> bool:
        return any(spec.loss is not None for spec in self._output_specs)

    def _may_add_losses(self) -> bool:
        """Whether a forward pass may give `losses` to train on with no compiled loss (Keras
        3 trains on ``model.losses`` alone): a user's layer or model (``add_loss``), an
        activity regularizer or a regularized weight somewhere in the model."""
        if self._graph is None:
            return False
        if self._regularized_weights():
            return True
        return any(obj._autodiff or obj.activity_regularizer is not None
                   for obj in taped.held(self))

    def _require_compiled(self, method: str) -> None:
        if not self._compiled:
            raise NotCompiledError(f"You must call compile() before {method}()")
        if method in ("fit", "train_on_batch") and not self._has_loss() and not (
                self._overrides("train_step")) and not self._may_add_losses():
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
        return list(self.compiled_metrics) + self._own_metrics()

    def _own_metrics(self) -> list:
        """Metric objects a user's model holds in its attributes (a GAN's loss trackers)."""
        return list(self.__dict__.get("_tracked_metrics", []))

    @property
    def metrics_names(self) -> list[str]:
        """``loss``, the metrics, then (several losses) each output's loss: the order of
        `evaluate`'s list. A model whose class defines its own ``metrics`` (a GAN's loss
        trackers) gives their names, as Keras 3 does."""
        if "metrics" in overridden_names(type(self)):
            return [m.name for m in self.metrics]
        if not self._compiled:
            return ["loss"]
        names = compile_utils.log_names(self._output_specs)
        # then the metrics the model holds in its attributes (a GAN's loss trackers), as
        # Keras 3 lists them after the compiled ones
        return names + [m.name for m in self._own_metrics() if m.name not in names]

    # -- loss and one step ---------------------------------------------------------------------

    def _fused_activation(self):
        """`_fused_activations` for the single output of a one-output model (else the list)."""
        fused = self._fused_activations()
        return fused[0] if len(fused) == 1 else fused

    def _fused_activations(self) -> list:
        """Per output: its layer's activation object when loss and gradient can skip it.

        The fused path runs the output layer with its activation swapped for the identity (so
        the layer returns and caches its pre-activation ``z``), applies the real activation
        here, and backpropagates ``dL/dz`` straight into the layer. It relies on the layer
        reading its public ``activation`` attribute at call and backward time; layers that do
        say so with ``fuses_activation = True`` (Dense, Conv2D, Activation, ...). An output
        that other layers also read, or whose layer is called more than once, is not fused.
        """
        graph = self._graph
        producers = {node.out: node for node in graph.nodes}
        fused = []
        for spec, slot in zip(self._specs(), graph.output_slots):
            node = producers.get(slot)
            activation = None
            if (spec.loss is not None and node is not None and graph.n_consumers[slot] == 0
                    and graph.output_slots.count(slot) == 1 and not graph.is_shared(node.layer)
                    and node.layer.fuses_activation):
                candidate = node.layer.activation
                if spec.loss.can_fuse(getattr(candidate, "name", None)):
                    activation = candidate
                    if getattr(spec.loss, "from_logits", False):
                        _warn_logits_of_activation(spec.loss, candidate.name)
            fused.append(activation)
        return fused

    def _output_layer(self, index: int):
        slot = self._graph.output_slots[index]
        return next(node.layer for node in self._graph.nodes if node.out == slot)

    def _run_bypassing(self, fused, run):
        """``run()`` with each fused output layer's activation swapped for the identity."""
        swapped = [(self._output_layer(i), act) for i, act in enumerate(fused)
                   if act is not None]
        for layer, _ in swapped:
            layer.activation = _IDENTITY
        try:
            return run()
        finally:
            for layer, act in swapped:
                layer.activation = act

    def _target_list(self, y) -> list:
        """Targets as one entry per output (a single array for a one-output model)."""
        return list(y) if len(self._output_specs) > 1 else [y]

    def _forward_with_loss(self, xs, y, fused, training: bool, sample_weight=None,
                           inference: bool = False):
        """Predictions, the total loss and each output's unweighted loss, for one batch.

        ``xs`` is the list of input batches (a single array is accepted too); ``y`` the
        targets (a list per output for several outputs). ``fused`` comes from
        `_fused_activation` (a single activation or None is accepted for one output). With
        ``sample_weight`` each loss is ``sum(w * loss_i) / m``, as Keras reduces it; one
        array weighs every output, a list (from `_sample_weights`) each output by its entry.

        Returns:
            ``(predictions, loss, per_output_losses)``: predictions is a list per output
            (an array for one output).
        """
        graph = self._graph
        if not isinstance(xs, list):
            xs = [xs]
        if not isinstance(fused, list):
            fused = [fused]
        specs = self._specs()
        ys = self._target_list(y)
        outs = self._run_bypassing(fused, lambda: graph.forward(xs, training=training,
                                                                inference=inference))
        # an output carrying a mask (a sequence after Embedding(mask_zero=True)) weighs its
        # kept steps only in its loss and metrics, as in Keras 3
        masks = graph._output_masks or [None] * len(outs)
        self._last_output_masks = masks
        self._last_loss_weights = []
        preds, values = [], []
        total = 0.0
        for i, (spec, out, act, yt, mask) in enumerate(zip(specs, outs, fused, ys, masks)):
            pred = out if act is None else act.forward(out)
            preds.append(pred)
            if spec.loss is None:
                values.append(None)
                self._last_loss_weights.append(None)
                continue
            weight = losses.apply_mask(
                _output_weight(sample_weight, i), mask,
                getattr(spec.loss, "reduction", "sum_over_batch_size"), out.dtype)
            self._last_loss_weights.append(weight)
            if act is None:
                value = spec.loss(yt, out, weight)
            else:
                value = spec.loss.value_from_logits(yt, out, act.name, weight)
            values.append(value)
            total = total + (value if spec.weight == 1.0 else spec.weight * value)
        if self._has_regularizers():
            total = total + sum(self.losses)
        elif not any(v is not None for v in values):
            self._drop_caches()
            raise ValueError("No loss to compute: the model added no losses (add_loss, "
                             "regularizers) in this call. Provide a `loss` argument in "
                             "compile()")
        return (preds if len(specs) > 1 else preds[0]), float(total), values

    # -- regularization ----------------------------------------------------------------------

    def _regularized_weights(self) -> list:
        """``(variable, regularizer)`` for every regularized trainable weight, in nested
        models and users' layers too (`convnp.layers._penalties`)."""
        return regularized_weights(self)

    def _has_regularizers(self) -> bool:
        return bool(self._regularized_weights()) or bool(self._graph._activity) or \
            bool(taped.added_losses(self))

    @property
    def losses(self) -> list:
        """The penalties added to the loss: each activity regularizer's on the last forward,
        what layers (and the model) added with ``add_loss`` on their last call, then each
        regularized weight's on its current value. Under a recording tape the last two are
        differentiable (a custom loop's ``loss += sum(model.losses)``).

        A model with no graph yet still answers from the layers it holds: a step-only model
        (SimSiam's ``train_step`` over an encoder and a predictor, never called itself) adds
        ``sum(self.losses)`` to its loss, and Keras 3 gives it its layers' penalties there."""
        activity = [] if self._graph is None else self._graph.activity_losses()
        return activity + taped.added_losses(self) + [
            penalty(v, reg) for v, reg in self._regularized_weights()]

    def _output_gradients(self, ys, preds, fused, sample_weight) -> list:
        """d loss / d each output of the last `_forward_with_loss` (its weights, masks
        folded in)."""
        grads = []
        weights = getattr(self, "_last_loss_weights", None) or [
            _output_weight(sample_weight, i) for i in range(len(preds))]
        for spec, yt, pred, act, weight in zip(self._specs(), ys, preds, fused, weights):
            if spec.loss is None:
                grads.append(None)
                continue
            if act is None:
                g = spec.loss.gradient(yt, pred, weight)
            else:
                g = spec.loss.gradient_wrt_logits(yt, pred, act.name, weight)
            grads.append(g if spec.weight == 1.0 else g * g.dtype.type(spec.weight))
        return grads

    def _compute_gradients(self, xs, y, fused, sample_weight=None):
        """Forward in training mode, the loss, and backward: every trainable variable's
        ``.grad`` then holds d loss / d variable. Returns the loss and the predictions; a
        non-finite loss skips backward (the gradients are then stale)."""
        if not isinstance(fused, list):
            fused = [fused]
        y_pred, loss_value, self._last_output_losses = self._forward_with_loss(
            xs, y, fused, True, sample_weight)
        if not math.isfinite(loss_value):
            self._drop_caches()
            return loss_value, y_pred
        preds = y_pred if len(self._output_specs) > 1 else [y_pred]
        grads = self._output_gradients(self._target_list(y), preds, fused, sample_weight)
        self._run_bypassing(fused, lambda: self._graph.backward(grads))
        for variable, reg in self._regularized_weights():
            extra = reg.gradient(variable.value)
            variable.grad = extra if variable.grad is None else variable.grad + extra
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
        scale = getattr(self.optimizer, "_loss_scale", lambda: None)()
        if scale is not None and math.isfinite(loss_value):
            # Keras differentiates optimizer.scale_loss(loss): the gradients of the loss
            # times the scale, which the optimizer divides again
            with np.errstate(over="ignore"):  # an overflow is the optimizer's to handle
                for v in variables:
                    if v.grad is not None:
                        v.grad = v.grad * v.grad.dtype.type(scale)
        problem = None
        if not math.isfinite(loss_value):
            problem = "loss"
        elif not getattr(self.optimizer, "_skips_non_finite", False) and not _all_finite(
                v.grad for v in variables):
            # (a dynamic loss scale takes such a step itself: skips it, lowers the scale)
            problem = "gradients"
        elif not _all_finite(v.value for v, _ in saved):
            problem = "moving statistics"
        if problem is None:
            if not variables:
                # a Keras 2 GAN's discriminator frozen after its compile trains no more in
                # Keras 3: TF 2.21 says so with this warning at each such step
                warnings.warn("The model does not have any trainable weights.", UserWarning,
                              stacklevel=4)
            # every trainable variable, in a fixed order: the optimizer keys slots by position
            pairs = [(v.grad, v) for v in variables]
            if self.optimizer._overridden_step():  # a user's optimizer subclass: its method
                self.optimizer.apply_gradients(pairs)
            else:
                self.optimizer._apply_pairs(pairs)
            return loss_value, y_pred
        for variable, value in saved:
            variable.assign(value)
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

    def _update_metrics(self, y, y_pred, sample_weight=None) -> None:
        """Each output's metrics without the sample weights, its weighted metrics with them
        (one array serves every output, as Keras repeats it; a list holds one per output, None
        for an unweighted one); a masked output's mean metrics weigh its kept steps only, as
        Keras's ``MeanMetricWrapper`` does."""
        several = len(self._output_specs) > 1
        masks = getattr(self, "_last_output_masks", None) or [None] * len(self._output_specs)
        for i, spec in enumerate(self._output_specs):
            mask = masks[i] if i < len(masks) else None
            args = (y[i] if several else y, y_pred[i] if several else y_pred)
            own = _output_weight(sample_weight, i)
            for metric_list, sw in ((spec.metrics, None), (spec.weighted, own)):
                for m in metric_list:
                    weight = sw
                    if mask is not None and isinstance(m, _MASKED_METRICS):
                        weight = losses.apply_mask(sw, mask, "sum", np.float64)
                    if weight is None:
                        m.update_state(*args)
                    else:
                        m.update_state(*args, sample_weight=weight)

    def _drop_caches(self) -> None:
        if self._graph is not None:
            self._graph.clear_state()

    def _prepare_training(self, entry: str | None = None) -> tuple[Any, list]:
        if self._graph is None:  # a step-only model: its train_step does everything
            return None, []
        self._graph.plan_backward(input_gradients=False)
        variables = self._traced_variables(entry) if entry else self.trainable_weights
        return self._fused_activation(), variables

    def _traced_variables(self, entry: str) -> list:
        """The trainable weights a step of ``entry`` (``"fit"`` or ``"train_on_batch"``)
        updates.

        TF 2.21 traces one train function for `fit` and another for `train_on_batch`, each at
        its first call after `compile`, and each keeps the trainable variables it saw then: a
        layer unfrozen later (``layer.trainable = True`` with no new compile) is not trained
        by that entry, and the optimizer is not asked about it, until the next `compile`. The
        other entry's first call sees the layer, and the optimizer then refuses a variable it
        was not built with (a ValueError), as in TF. convnp takes each entry's list at its
        first call and leaves out what was added since; a layer frozen since is left out too
        (TF would still train it: convnp computes no gradients for a frozen layer), and TF's
        new trace for a new batch shape is not followed. With ``run_eagerly=True`` TF traces
        nothing and reads the list at each step, as convnp then does."""
        current = self.trainable_weights
        if getattr(self, "run_eagerly", False):
            return current
        seen_by = getattr(self, "_traced_trainables", None)
        if seen_by is None:
            seen_by = self._traced_trainables = {}
        if entry not in seen_by:
            seen_by[entry] = list(current)
            return current
        seen = {id(v) for v in seen_by[entry]}
        return [v for v in current if id(v) in seen]

    # -- argument checks -----------------------------------------------------------------------

    def _prepare_inputs(self, x, method: str) -> list[np.ndarray]:
        """Cast inputs to the model dtype and check their shapes (building Sequential).

        Several inputs come as a list in input order or a dict by input name."""
        # data nested as the inputs were (``[[x]]`` for ``Model([[inp]], ...)``) comes flat
        x = compile_utils.flatten_as(self._input_nesting, x, f"{method}(): x")
        several = self._graph is not None and len(self._graph.inputs) > 1
        if isinstance(x, dict) and self._graph is not None:
            xs = compile_utils.match(x, self.input_names, "inputs", method)
        # a list means one array per input only for multi-input models (else: array-like data)
        elif several and isinstance(x, (list, tuple)):
            xs = list(x)
        else:
            xs = [_unwrapped_single(x) if self._graph_of_layers() else x]
        if not xs or any(v is None for v in xs):
            raise ValueError(f"{method}() needs input data `x`")
        step_only = self._step_only
        if step_only and isinstance(x, dict):
            raise ValueError(f"{method}(): model '{self.name}' has no inputs of its own to "
                             "match a dict against; pass x as an array, a list of arrays or "
                             "a Dataset")
        if step_only:  # a train_step's data: a list stays a list of inputs
            xs = list(x) if isinstance(x, (list, tuple)) else [x]
        elif self._graph is None:
            self._build_for_shape((None,) + tuple(np.shape(xs[0]))[1:])
        dtype = self._compute_dtype()
        arrays = [da.as_float_array(v, dtype, f"{method}(): x") for v in xs]
        self._check_text_inputs(arrays, method)
        if not step_only:
            arrays = self._adjust_input_ranks(arrays)
            self._check_input_shapes([a.shape for a in arrays])
        n = len(arrays[0])
        if any(len(a) != n for a in arrays):
            raise ValueError(f"{method}(): all inputs need the same number of samples, got "
                             f"{[len(a) for a in arrays]}")
        return arrays

    def _graph_of_layers(self) -> bool:
        """A functional or Sequential model (built or not): its inputs are its graph's, not
        whatever a user's ``call`` or ``train_step`` takes."""
        return not getattr(self, "_subclassed", False) and not self._step_only

    def _check_text_inputs(self, arrays: list, method: str) -> None:
        """Texts go only to inputs declared ``dtype="string"`` (Keras's text inputs)."""
        declared = [getattr(t, "dtype", None) for t in (getattr(self, "inputs", None) or [])]
        for i, a in enumerate(arrays):
            if da.is_text(a) and i < len(declared) and declared[i] != "string":
                raise ValueError(f"{method}(): input {i} holds strings (dtype {a.dtype}) but "
                                 f"the model's input is numeric; declare text inputs with "
                                 f"tf.keras.Input(shape, dtype='string') and vectorize them "
                                 f"(TextVectorization, StringLookup, Hashing)")

    def _prepare_targets(self, y, n: int, method: str):
        """Targets as arrays of the model dtype: one array, or for several outputs a list
        per output (None for an output without a loss)."""
        if y is None:
            raise ValueError(f"{method}() needs targets `y` when `x` is an array")
        if self._step_only or (self._targets_unread(method) and not isinstance(y, dict)):
            # the user's train_step reads them as they come
            if isinstance(y, dict):
                raise ValueError(f"{method}(): model '{self.name}' has no outputs of its own "
                                 "to match a dict of targets against; pass y as an array or a "
                                 "list of arrays")
            if isinstance(y, (list, tuple)):
                return [self._prepare_target(t, n, method, None) for t in y]
            return self._prepare_target(y, n, method, None)
        specs = self._specs()
        if len(specs) == 1:
            return self._prepare_target(self._single_target(y, method), n, method, None)
        needed = [spec.loss is not None for spec in specs]
        if not isinstance(y, (list, tuple, dict)) and sum(needed) == 1:
            # one output has a loss (the others are None): one array is its targets (Keras)
            y = [y if need else None for need in needed]
        y = compile_utils.flatten_as(self._output_nesting, y, f"{method}(): y")
        ys = compile_utils.match(y, self._output_names_or_default(), "outputs", method,
                                 required=needed)
        arrays = [None if t is None else self._prepare_target(t, n, method, spec.name)
                  for t, spec in zip(ys, specs)]
        self._check_outputs_for_loss([None if a is None else a.shape for a in arrays], method)
        return arrays

    def _single_target(self, y, method: str):
        """A one-output model's targets, also given as ``{output name: targets}`` or as a
        list holding one array (Keras takes all three)."""
        if isinstance(y, dict):
            return compile_utils.match(y, self._output_names_or_default(), "outputs", method)[0]
        return _unwrapped_single(y)

    def _prepare_target(self, y, n: int, method: str, output: str | None) -> np.ndarray:
        y = np.asarray(y)
        dtype = self._compute_dtype()
        keep = y.dtype.kind in "iu" and self._users_step(method)  # see `_users_step`
        if not keep and y.dtype != dtype and (np.issubdtype(y.dtype, np.number)
                                              or y.dtype == np.bool_):
            y = y.astype(dtype)
        if y.ndim == 0 or len(y) != n:
            where = "y" if output is None else f"y for output '{output}'"
            raise ValueError(
                f"{method}(): x and {where} must have the same number of samples, got x with "
                f"{n} and {where} with {'no batch axis' if y.ndim == 0 else len(y)}"
            )
        if output is None:
            # (a step the user wrote decides what the loss compares, `_check_outputs_for_loss`:
            # keras.io's SAM model applies it to an inner model's predictions)
            self._check_outputs_for_loss([y.shape], method)
        return y

    @staticmethod
    def _check_batch_size(batch_size, default: int = 32) -> int:
        if batch_size is None:
            return default
        # not an int at all: TypeError, as TF 2.21 raises; an int out of range: ValueError
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"batch_size must be a positive int, got {batch_size!r}")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        return int(batch_size)

    def _batches(self, x, y, batch_size, shuffle: bool, method: str, need_y: bool = True,
                 sample_weight=None, class_weight=None):
        """An ArrayBatches or DatasetBatches source for ``x``/``y`` (and per-sample weights)."""
        if da.is_dataset(x):
            if sample_weight is not None:
                raise ValueError(f"{method}(): with a Dataset, yield (x, y, sample_weight) "
                                 "elements instead of passing sample_weight")
            if class_weight is not None:
                class_weight = da.check_class_weight(class_weight, method)
            if y is not None:
                raise ValueError(f"{method}(): when x is a Dataset it must yield (x, y) pairs; "
                                 "do not pass y separately")
            if self._graph is None and not self._step_only and not self._own_step(method):
                first, x = da.peek(x)  # a generator keeps its first batch
                xb = da.unpack_batch(first, method)[0]
                if isinstance(xb, (tuple, list)):
                    xb = xb[0]
                self._build_for_shape((None,) + tuple(np.shape(xb))[1:])
            return self._dataset_batches(x, method, shuffle=shuffle, class_weight=class_weight)
        batch_size = self._check_batch_size(batch_size)
        xs = self._prepare_inputs(x, method)
        y_arr = self._prepare_targets(y, len(xs[0]), method) if need_y else None
        weights = self._sample_weights(y_arr, sample_weight, class_weight, method)
        return da.ArrayBatches(xs, y_arr, batch_size, shuffle=shuffle, sample_weight=weights)

    def _dataset_batches(self, dataset, method: str, shuffle: bool = False,
                         class_weight: dict | None = None) -> da.DatasetBatches:
        """Batches of a Dataset, with dict inputs and per-output targets (and sample weights)
        put in order, and ``class_weight`` turned into each batch's sample weights."""
        arrange_inputs = arrange_targets = arrange_weights = None
        if self._graph is not None:
            names = self.input_names
            arrange_inputs = lambda x: compile_utils.match(x, names, "inputs", method)
            # an uncompiled model (predict) reads no targets: they are left as they come
            specs = self._specs() if self._output_specs else []
            outs = self._output_names_or_default()
            if not specs or self._targets_unread(method):
                pass
            elif len(specs) > 1:
                needed = [s.loss is not None for s in specs]
                arrange_targets = lambda y: compile_utils.match(
                    y, outs, "outputs", method, required=needed)
                arrange_weights = lambda sw, n: self._per_output_weights(sw, n, method)
            else:
                arrange_targets = lambda y: self._single_target(y, method)
        return da.DatasetBatches(dataset, self._compute_dtype(), method,
                                 arrange_inputs=arrange_inputs, arrange_targets=arrange_targets,
                                 arrange_weights=arrange_weights,
                                 shuffle=shuffle, class_weight=class_weight,
                                 adjust_inputs=None if self._step_only
                                 else self._adjust_input_ranks,
                                 users_step=self._users_step(method))

    def _users_step(self, method: str) -> bool:
        """Whether ``method`` (fit, evaluate) runs a step the user's class wrote, which then
        reads integer targets in their own dtype, as Keras passes them."""
        step = {"fit": "train_step", "train_on_batch": "train_step", "evaluate": "test_step",
                "test_on_batch": "test_step", "validation_data": "test_step"}.get(method)
        return step is not None and self._overrides(step)

    def _sample_weights(self, y, sample_weight, class_weight, method: str):
        """The sample weights from ``sample_weight`` and/or ``class_weight`` (or None).

        ``sample_weight`` keeps the shape it was given, ``(m,)``, ``(m, 1)`` or one weight
        per value of a loss (``(m, steps)``), and the loss multiplies it in
        (`convnp.losses.keras_weights`: ``(m,)`` and ``(m, 1)`` weigh all the values of an
        example). ``class_weight`` maps a class index to a weight (missing
        classes weigh 1), one per sample: its class is its rounded label for ``(m,)``/``(m,
        1)`` targets and the argmax of one-hot ``(m, k)`` targets (Keras's rule).

        With several outputs one array weighs every output; a list or tuple (one entry per
        output, None for an unweighted one) or a dict by output name weighs each output by
        its own (`_per_output_weights`; returned as a list), as in Keras 3.
        """
        if sample_weight is None and class_weight is None:
            return None
        if isinstance(y, list):  # several outputs
            if class_weight is not None:
                raise ValueError(f"{method}(): class_weight is not supported for models with "
                                 "several outputs; use sample_weight")
            y = next(t for t in y if t is not None)
            if self._weights_per_output(sample_weight):
                return self._per_output_weights(sample_weight, len(y), method)
        dtype = self._compute_dtype()
        n = len(y)
        weights = np.ones(n, dtype=dtype)
        if sample_weight is not None:
            weights = self._weight_array(sample_weight, n, method, "sample_weight")
        if class_weight is not None:
            per_class = da.class_sample_weights(y, da.check_class_weight(class_weight, method),
                                                dtype)
            weights = weights * per_class.reshape((n,) + (1,) * (weights.ndim - 1))
        return weights

    def _weights_per_output(self, sample_weight) -> bool:
        """Whether ``sample_weight`` holds one entry per output: a list, tuple or dict for a
        model with several outputs (never one array of weights written as a list)."""
        return isinstance(sample_weight, (list, tuple, dict)) and len(self._output_specs) > 1

    def _per_output_weights(self, sample_weight, n: int, method: str):
        """A list, tuple or dict of sample weights as a list in output order (None for an
        output with no weights; one array for all outputs passes through), or None when no
        output has any. Each array is checked as `_weight_array` checks one."""
        if not self._weights_per_output(sample_weight):
            return None if sample_weight is None else self._weight_array(
                sample_weight, n, method, "sample_weight")
        names = self._output_names_or_default()
        value = compile_utils.flatten_as(self._output_nesting, sample_weight,
                                         f"{method}(): sample_weight")
        if isinstance(value, dict):
            unknown = sorted(set(value) - set(names), key=str)
            if unknown:
                raise ValueError(f"{method}(): sample_weight has keys {unknown}; the model's "
                                 f"outputs are {names}")
            value = [value.get(name) for name in names]
        elif len(value) != len(names):
            raise ValueError(f"{method}(): sample_weight must hold one entry per output "
                             f"({len(names)}: {names}; None for an unweighted one) or be one "
                             f"array for all, got a {type(sample_weight).__name__} of "
                             f"{len(value)}")
        weights = [None if w is None else self._weight_array(
            w, n, method, f"sample_weight for output '{name}'")
            for w, name in zip(value, names)]
        return None if all(w is None for w in weights) else weights

    def _weight_array(self, sample_weight, n: int, method: str, what: str) -> np.ndarray:
        """One array of sample weights in the compute dtype, ``n`` of them (a copy)."""
        try:
            sw = np.array(sample_weight, dtype=self._compute_dtype())
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{method}(): {what} must be an array of numbers, got "
                             f"{type(sample_weight).__name__}: {exc}") from None
        if sw.ndim == 0 or sw.shape[0] != n:
            raise ValueError(f"{method}(): {what} must have shape ({n},), one weight per "
                             f"sample (or ({n}, 1), or one per value of the loss), got "
                             f"{sw.shape}")
        return sw

    def _targets_unread(self, method: str) -> bool:
        """Whether the batches' targets go to the user's own step untouched: its class
        writes the step and compile gave no loss and no metrics (CycleGAN: a bare
        `super().compile()`), so nothing of convnp's matches targets to outputs. Keras 3
        hands such a step its batch as the data yields it."""
        return self._own_step(method) and all(
            s.loss is None and not s.metrics and not s.weighted for s in self._output_specs)

    def _own_step(self, method: str) -> bool:
        """Whether a subclassed model's own class writes the step ``method`` runs (fit:
        ``train_step``, evaluate: ``test_step``). That step reads each batch as it likes
        (keras.io's triplet-loss model takes (anchor, positive, negative) batches, not
        ``(x, y)``) and calls the model (built by its first call) or only the models it holds,
        so the first batch does not build the model."""
        name = {"fit": "train_step", "evaluate": "test_step"}.get(method)
        if name is None or not self._subclassed:
            return False
        from convnp.models.custom_step import CustomStepMixin

        return getattr(type(self), name) is not getattr(CustomStepMixin, name)

    def _check_dataset_batch(self, xs, yb, method: str, custom_step: bool = False) -> None:
        """The first batch of a Dataset checked against the model. A user's own step reads
        its batches as it likes (keras.io's metric-learning model takes anchors and positives
        stacked in one array, the triplet model three images without targets), as Keras does
        not check them either; a step-only model has no inputs to check."""
        if self._step_only or custom_step:
            return
        self._check_input_shapes([a.shape for a in xs])
        if yb is None:
            if not self._has_loss():  # compiled with no loss: model.losses alone, as Keras
                return
            raise ValueError(f"{method}(): the Dataset must yield (x, y) pairs, got inputs only")
        ys = yb if isinstance(yb, list) else [yb]
        for t in ys:
            if t is not None and len(t) != len(xs[0]):
                raise ValueError(f"{method}(): dataset batch has {len(xs[0])} inputs but "
                                 f"{len(t)} targets")
        self._check_outputs_for_loss([None if t is None else np.shape(t) for t in ys])


def _output_weight(sample_weight, index: int):
    """Output ``index``'s sample weights: its entry of a per-output list, else the one
    array (or None) that serves every output."""
    return sample_weight[index] if isinstance(sample_weight, list) else sample_weight


def _all_finite(arrays) -> bool:
    """True if no array holds a NaN or an infinity.

    A sum of squares is finite only if every value is (a NaN or an infinity carries through
    the products and the sum), and BLAS's dot product takes 0.05 ns a float32 number here,
    against 0.26 for the float64 sum this check used before (12 ms of ResNet-50's step, now
    4). Squares of huge finite values overflow too (float32 from 1.8e19): only then is each
    value tested."""
    for array in arrays:
        if array is None:
            continue
        flat = np.reshape(array, -1)
        with np.errstate(over="ignore", invalid="ignore"):  # the overflow is the point
            squares = np.dot(flat, flat)
        if not math.isfinite(squares) and not np.isfinite(flat).all():
            return False
    return True
