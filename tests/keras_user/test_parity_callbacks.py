"""Callbacks written as Keras users write them behave as in TensorFlow 2.21.

The expected behaviour below was read from TensorFlow 2.21 running the same programs."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras


def _fit(callback, epochs=1):
    x, y = np.ones((40, 2), "float32"), np.ones((40, 1), "float32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    return model, model.fit(x, y, epochs=epochs, batch_size=20, verbose=0,
                            callbacks=[callback])


def test_lambda_callback_takes_keras2_batch_hooks():
    # Keras's docstring example: LambdaCallback(on_batch_begin=lambda batch, logs: ...).
    # TF 2.21 runs them on each training batch:
    # ['tb', ('eb', 0), ('bb', 0), ('be', 0), ('bb', 1), ('be', 1), ('ee', 0), 'te']
    # (convnp refused the names with a ValueError).
    seen = []
    callback = keras.callbacks.LambdaCallback(
        on_train_begin=lambda logs: seen.append("tb"),
        on_epoch_begin=lambda epoch, logs: seen.append(("eb", epoch)),
        on_batch_begin=lambda batch, logs: seen.append(("bb", batch)),
        on_batch_end=lambda batch, logs: seen.append(("be", batch)),
        on_epoch_end=lambda epoch, logs: seen.append(("ee", epoch)),
        on_train_end=lambda logs: seen.append("te"))
    _fit(callback)
    assert seen == ["tb", ("eb", 0), ("bb", 0), ("be", 0), ("bb", 1), ("be", 1), ("ee", 0),
                    "te"]


def test_lambda_callback_train_batch_hook_replaces_the_keras2_one():
    # TF 2.21: given both, only on_train_batch_end runs
    seen = []
    callback = keras.callbacks.LambdaCallback(
        on_batch_end=lambda batch, logs: seen.append(("old", batch)),
        on_train_batch_end=lambda batch, logs: seen.append(("new", batch)))
    _fit(callback)
    assert seen == [("new", 0), ("new", 1)]


def test_lambda_callback_hook_given_as_none_is_no_hook():
    # TF 2.21: LambdaCallback(on_epoch_begin=None, ...) trains (convnp called None)
    seen = []
    callback = keras.callbacks.LambdaCallback(
        on_epoch_begin=None, on_epoch_end=lambda epoch, logs: seen.append(epoch))
    _fit(callback, epochs=2)
    assert seen == [0, 1]


def test_lambda_callback_refuses_a_hook_that_is_no_function():
    # TF 2.21 fails only when the hook is first called (TypeError: not callable); convnp says
    # so when the callback is made
    with pytest.raises(TypeError, match="on_epoch_end must be a function"):
        keras.callbacks.LambdaCallback(on_epoch_end=5)


@pytest.mark.parametrize("bad", ["bad", None, [0.1, 0.2], np.array([0.1, 0.2]), True])
def test_learning_rate_scheduler_refuses_a_non_number_with_value_error(bad):
    # TF 2.21 raises ValueError ("The output of the `schedule` function should be a float");
    # convnp raised TypeError
    with pytest.raises(ValueError, match="must return a float"):
        _fit(keras.callbacks.LearningRateScheduler(lambda epoch, lr: bad))


def test_predict_batch_end_gets_the_batch_outputs():
    # TF 2.21: on_predict_batch_end(batch, logs) with logs == {"outputs": the batch's
    # predictions} (an array of shape (batch, units)); convnp gave no logs (KeyError)
    seen = []

    class Outputs(keras.callbacks.Callback):
        def on_predict_batch_end(self, batch, logs=None):
            seen.append((batch, sorted(logs), np.shape(logs["outputs"])))

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    predictions = model.predict(np.ones((5, 2), "float32"), batch_size=3, verbose=0,
                                callbacks=[Outputs()])
    assert seen == [(0, ["outputs"], (3, 1)), (1, ["outputs"], (2, 1))]
    assert predictions.shape == (5, 1)


def test_writing_into_a_batch_logs_leaves_the_epoch_logs():
    # TF 2.21: a callback setting logs["loss"] = 0.0 in on_train_batch_end changes nothing
    # in the history (the epoch's logs come from the metrics); convnp logged 0.0
    class Zero(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            logs["loss"] = 0.0

    _, history = _fit(Zero())
    assert history.history["loss"][0] > 0.0


def test_writing_into_the_epoch_logs_reaches_the_history():
    # TF 2.21: {'loss': [123.0]} when on_epoch_end sets logs["loss"] = 123.0
    class Set(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["loss"] = 123.0

    _, history = _fit(Set())
    assert history.history["loss"] == [123.0]
