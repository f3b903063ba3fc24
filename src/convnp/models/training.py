"""`fit` and `train_on_batch`: the training loop shared by functional and Sequential models.

Numbers follow Keras (TensorFlow backend):

* everything is computed in the model's float dtype (float32 unless the layers say
  otherwise); ``x`` is cast once per call, not per batch;
* the loss shown per batch is the running mean over the epoch so far, weighted by batch size,
  and the epoch's ``loss`` is that mean at the end of the epoch; metrics accumulate likewise;
* validation runs at the end of each epoch in inference mode (BatchNormalization uses its
  moving statistics, Dropout is off) and its results are logged as ``val_<name>``;
* ``validation_split`` holds out the last fraction of the arrays, before any shuffling;
* with ``shuffle=True`` a new permutation is drawn each epoch from
  ``convnp.random.generator()``, so `set_random_seed` makes a run repeat bit for bit.

A non-finite loss stops training: the batch's update is skipped, ``model.stop_training`` is
set, and one line ``Batch N: Invalid loss, terminating training`` is printed (issued as a
warning instead when ``verbose=0``), as Keras's TerminateOnNaN callback would.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from convnp import _settings
from convnp.models import data_adapter as da
from convnp.models.inference import InferenceMixin
from convnp.models.loop_utils import EpochLogs, keras2_alias, make_callback_list, resolve_verbose
from convnp.ops.threads import uses_all_cores


class TrainingMixin(InferenceMixin):
    """`fit` and `train_on_batch` (evaluate/predict come from `InferenceMixin`)."""

    # -- fit ---------------------------------------------------------------------------------

    @uses_all_cores
    def fit(self, x=None, y=None, batch_size: int | None = None, epochs: int = 1,
            verbose="auto", callbacks=None, validation_split: float = 0.0,
            validation_data=None, shuffle: bool = True, class_weight=None,
            sample_weight=None, initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_steps=None, validation_batch_size=None, validation_freq: int = 1,
            max_queue_size: int = 10, workers: int = 1, use_multiprocessing: bool = False):
        """Train for ``epochs`` passes over the data.

        Args:
            x: inputs ``(m, ...)`` as an array, or a `convnp.data.Dataset` of ``(x, y)`` batches.
            y: targets ``(m, ...)`` (omit with a Dataset).
            batch_size: samples per update for arrays (default 32).
            epochs: index of the last epoch (training runs ``initial_epoch`` .. ``epochs - 1``).
            verbose: 0 silent, 1 progress bar, 2 one line per epoch; "auto" is 1.
            callbacks: list of `convnp.callbacks.Callback`.
            validation_split: fraction in [0, 1) of the arrays held out (the last samples).
            validation_data: ``(x_val, y_val)``, ``(x_val, y_val, sample_weight)`` or a
                Dataset, evaluated after each epoch.
            shuffle: reshuffle array samples each epoch.
            class_weight: ``{class: weight}`` scaling each sample's loss by its class.
            sample_weight: ``(m,)`` weights scaling each sample's loss (with arrays; a Dataset
                may yield ``(x, y, sample_weight)`` instead). The batch loss is
                ``sum(w_i * loss_i) / m``, as in Keras; ``metrics`` stay unweighted,
                ``weighted_metrics`` take them. On a loss per step (a sequence output, masked
                or not) ``(m,)`` and ``(m, 1)`` weigh every step of an example and ``(m,
                steps)`` each step (`convnp.losses.keras_weights`). With several outputs one
                array weighs them all; a list (one entry per output, in output order, None
                for an unweighted one) or a dict by output name weighs each output's loss and
                weighted metrics by its own, as in Keras 3.
            initial_epoch: epoch to start at (to resume a run).
            steps_per_epoch: batches per epoch (default: one pass over the data).
            validation_batch_size: batch size for validation arrays (default ``batch_size``).
            validation_freq: validate every this many epochs (a positive int), or after the
                epochs listed (1-based, as Keras: ``[1, 5]`` validates after the first and
                the fifth).
            max_queue_size, workers, use_multiprocessing: Keras 2's loader options, checked
                and otherwise ignored (batches are read in the training thread).

        Returns:
            The `History` callback: ``history.history`` maps ``loss``, metric names and their
            ``val_`` versions to one float per epoch.
        """
        self._require_compiled("fit")
        # Keras 2's loader options: checked; batches are always read in this thread
        da.check_loader_options(workers, use_multiprocessing, max_queue_size, "fit()")
        if not isinstance(validation_split, (int, float)) or not 0.0 <= validation_split < 1.0:
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
        for name, value in (("epochs", epochs), ("initial_epoch", initial_epoch)):
            # not an int (2.0, "3", None): TypeError, as TF 2.21 raises; negative: ValueError
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{name} must be a non-negative int, got {value!r}")
            if value < 0:
                raise ValueError(f"{name} must be a non-negative int, got {value!r}")
        epochs = _settings.capped_epochs(int(epochs))
        validation_freq = _validation_epochs(validation_freq)
        verbose = resolve_verbose(verbose)
        if da.is_dataset(x) and validation_split:
            raise ValueError("validation_split is only supported for array inputs, not a "
                             "Dataset; pass validation_data instead")
        val_source = None
        custom_step = self._overrides("train_step")
        if validation_split and not da.is_dataset(x):
            x, y, sample_weight, val_source = self._split_validation(
                x, y, sample_weight, validation_split, batch_size, validation_batch_size)
        # a user's train_step may train on inputs alone (an autoencoder, a GAN), as in Keras
        train = self._batches(x, y, batch_size, shuffle=bool(shuffle), method="fit",
                              need_y=not ((custom_step or not self._has_loss()) and y is None),
                              sample_weight=sample_weight, class_weight=class_weight)
        if validation_data is not None:
            val_source = self._validation_source(validation_data,
                                                 validation_batch_size or batch_size)
        if val_source is not None and self._step_only and not self._overrides("test_step"):
            # a SimSiam-like model (train_step only) cannot validate: Keras's default
            # test_step calls the model, a NotImplementedError there (here before training)
            self._require_built("forward pass for validation (write a test_step)")
        if steps_per_epoch is not None:
            if isinstance(steps_per_epoch, bool) or not isinstance(
                    steps_per_epoch, (int, np.integer)) or steps_per_epoch <= 0:
                raise ValueError(
                    f"steps_per_epoch must be a positive int, got {steps_per_epoch!r}")
            steps_per_epoch = int(steps_per_epoch)
        if isinstance(train, da.ArrayBatches) and train.n == 0:
            raise ValueError("fit(): the training data is empty (0 samples)")
        steps_per_epoch = _settings.capped_steps(steps_per_epoch, train.steps)
        steps = steps_per_epoch or train.steps

        callback_list = make_callback_list(callbacks, self, verbose=verbose, epochs=epochs,
                                           steps=steps or None)
        self.history = callback_list.history
        self.stop_training = False
        fused, variables = self._prepare_training("fit")
        tracker = EpochLogs(self)
        callback_list.on_train_begin()
        logs: dict[str, Any] = {}
        epoch_logs: dict[str, Any] = {}
        resumed = getattr(self, "_initial_epoch", None)  # set by BackupAndRestore
        self._initial_epoch = None
        for epoch in range(int(resumed if resumed is not None else initial_epoch), epochs):
            tracker.reset()
            self._reset_step_metrics()
            callback_list.on_epoch_begin(epoch)
            logs = {}
            batches = train.epoch(steps_per_epoch)
            step = -1
            for step, (xb, yb, wb) in enumerate(batches):
                if step == 0 and isinstance(train, da.DatasetBatches):
                    self._check_dataset_batch(xb, yb, "fit", custom_step)
                callback_list.on_train_batch_begin(step)
                if custom_step:  # the user's train_step (see models/custom_step.py)
                    logs = self._run_custom_step("train_step", xb, yb, wb)
                    if not math.isfinite(logs.get("loss", 0.0)):
                        self._terminate_on_nan(step, verbose)
                    # a copy: what a callback writes into a batch's logs stays out of the
                    # epoch's, which Keras computes from the metrics
                    callback_list.on_train_batch_end(step, dict(logs))
                    if self.stop_training:
                        break
                    continue
                loss_value, y_pred = self._train_step(xb, yb, fused, variables, wb)
                if not math.isfinite(loss_value):
                    self._terminate_on_nan(step, verbose)
                logs = tracker.update(loss_value, self._last_output_losses, yb, y_pred,
                                      len(xb[0]), wb)
                callback_list.on_train_batch_end(step, dict(logs))  # a copy, as above
                if self.stop_training:
                    break
            if steps_per_epoch and 0 <= step < steps_per_epoch - 1 and not self.stop_training:
                # the data ended partway (see data_adapter.steps_from_passes); Keras warns too
                warnings.warn(f"fit(): the input ran out of data after {step + 1} of "
                              f"{steps_per_epoch} steps in epoch {epoch + 1}; the next epoch "
                              "starts over. Make sure the data gives steps_per_epoch batches "
                              "(a Dataset may use .repeat()).", UserWarning, stacklevel=2)
            if step < 0 and epoch > int(initial_epoch):
                # a one-shot iterator (a generator) is exhausted after its first pass
                warnings.warn(f"fit(): the input ran out of data in epoch {epoch + 1} of "
                              f"{epochs}; interrupting training. A generator can be read "
                              "once: pass a Dataset (or steps_per_epoch with a repeating "
                              "source) to train several epochs.", UserWarning, stacklevel=2)
                break
            epoch_logs = dict(logs)
            if val_source is not None and (
                    (epoch + 1) % validation_freq == 0 if isinstance(validation_freq, int)
                    else epoch + 1 in validation_freq):
                # Keras runs the test hooks around validation too (before on_epoch_end);
                # fit's progress bar ignores them
                callback_list.on_test_begin()
                val_logs = self._run_evaluation(val_source, callback_list=callback_list,
                                                verbose=0, steps=validation_steps)
                callback_list.on_test_end(val_logs)
                if not val_logs:  # Keras warns too (its input "ran out of data")
                    warnings.warn(f"fit(): the validation data gave no batch in epoch "
                                  f"{epoch + 1}, so no val_ metrics are logged; is it empty or "
                                  f"an exhausted iterator?", UserWarning, stacklevel=2)
                epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
            callback_list.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        finalize = getattr(self.optimizer, "finalize_variable_values", None)
        if finalize is not None and epochs > 0:
            # Keras: with use_ema the moving averages replace the weights
            finalize(self.trainable_weights)
        callback_list.on_train_end(epoch_logs or None)
        return self.history

    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, **kwargs):
        """Keras 2's spelling of `fit` on a generator or Sequence (deprecated there since TF
        2.1 and gone from Keras 3): warns, then calls `fit` with the same arguments."""
        keras2_alias("fit_generator", "fit")
        return self.fit(generator, steps_per_epoch=steps_per_epoch, epochs=epochs, **kwargs)

    def _terminate_on_nan(self, step: int, verbose: int) -> None:
        message = f"Batch {step}: Invalid loss, terminating training"
        if verbose:
            print(message)
        else:
            warnings.warn(message, RuntimeWarning, stacklevel=4)  # the caller of fit
        self.stop_training = True

    def _split_validation(self, x, y, sample_weight, split: float, batch_size,
                          val_batch_size):
        xs = self._prepare_inputs(x, "fit")
        n = len(xs[0])
        # no targets: inputs alone, for a user's train_step (fit has checked there is one)
        y_arr = None if y is None else self._prepare_targets(y, n, "fit")
        split_at = math.floor(n * (1.0 - split))
        if split_at == 0 or split_at == n:
            raise ValueError(
                f"validation_split={split} leaves {split_at} training and {n - split_at} "
                f"validation samples out of {n}; both must be at least 1"
            )
        bs = self._check_batch_size(val_batch_size or batch_size)
        sw = sample_weight
        if sw is not None:  # one array, or (several outputs) a list of them per output
            sw = np.asarray(sw) if y_arr is None else self._sample_weights(y_arr, sw, None,
                                                                           "fit")
        val_sw = da.select_rows(sw, lambda t: t[split_at:])
        val = da.ArrayBatches([a[split_at:] for a in xs],
                              da.select_rows(y_arr, lambda t: t[split_at:]), bs, shuffle=False,
                              sample_weight=val_sw)
        train_x = [a[:split_at] for a in xs]
        train_sw = da.select_rows(sw, lambda t: t[:split_at])
        return ((train_x if len(train_x) > 1 else train_x[0]),
                da.select_rows(y_arr, lambda t: t[:split_at]), train_sw, val)

    def _validation_source(self, validation_data, batch_size):
        if da.is_dataset(validation_data):
            return self._dataset_batches(validation_data, "validation_data")
        if self._overrides("test_step") and _inputs_alone(validation_data):
            # inputs alone, for a user's test_step (Keras takes them too, also as ``(x_val,)``
            # or ``(x_val, None)``)
            x_val = validation_data[0] if isinstance(validation_data, (tuple, list)) else \
                validation_data
            return self._batches(x_val, None, batch_size, shuffle=False,
                                 method="validation_data", need_y=False)
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be a tuple (x_val, y_val) or a Dataset, got "
                             f"{type(validation_data).__name__}")
        weights = validation_data[2] if len(validation_data) == 3 else None
        return self._batches(validation_data[0], validation_data[1], batch_size, shuffle=False,
                             method="validation_data", sample_weight=weights)

    # -- single batches -------------------------------------------------------------------------

    @uses_all_cores
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict: bool = False):
        """One update on one batch; returns ``[loss, metrics...]`` of this batch alone.

        As Keras 3 (and `test_on_batch`), the metrics are reset before the step, so each
        call reports the batch's own values rather than a running mean over the calls."""
        self._require_compiled("train_on_batch")
        if self._overrides("train_step"):  # as Keras 3: the user's step, on this one batch
            self._reset_step_metrics()
            return self._custom_step_on_batch("train_step", "train_on_batch", x, y,
                                              sample_weight, class_weight, return_dict)
        xs = self._prepare_inputs(x, "train_on_batch")
        y = self._prepare_targets(y, len(xs[0]), "train_on_batch")
        weights = self._sample_weights(y, sample_weight, class_weight, "train_on_batch")
        fused, variables = self._prepare_training("train_on_batch")
        loss_value, y_pred = self._train_step(xs, y, fused, variables, weights)
        self.reset_metrics()
        self._update_metrics(y, y_pred, weights)
        return self._batch_result(loss_value, self._last_output_losses, return_dict)


def _inputs_alone(validation_data) -> bool:
    """Whether ``validation_data`` holds inputs and no targets, as Keras 3 unpacks it: not a
    tuple or list, or one whose items after the first are all None (``(x_val,)``,
    ``[x_val]``, ``(x_val, None)``, ``(x_val, None, None)``)."""
    if not isinstance(validation_data, (tuple, list)):
        return True
    return 1 <= len(validation_data) <= 3 and all(v is None for v in validation_data[1:])


def _validation_epochs(freq) -> int | frozenset:
    """``fit``'s validation_freq checked: a positive int, or a list/tuple/set of positive
    epoch numbers (1-based); anything else is refused before training starts."""
    def positive(v) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) \
            and v >= 1

    if positive(freq):
        return int(freq)
    if isinstance(freq, (list, tuple, set, frozenset)) and all(positive(v) for v in freq):
        return frozenset(int(v) for v in freq)
    raise ValueError(f"validation_freq must be a positive int (validate every that many "
                     f"epochs) or a list of positive epoch numbers, got {freq!r}")
