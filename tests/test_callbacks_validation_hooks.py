"""fit's validation pass calls the test hooks of the callbacks, as Keras 3 does (keras.io's
ESPCN example computes its PSNR in ``on_test_batch_end`` during fit)."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

_HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
          "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end",
          "on_test_batch_begin", "on_test_batch_end")


class Recorder(tf.keras.callbacks.Callback):
    """Records (hook, index or None, sorted log keys or None) for every hook."""

    def __init__(self):
        super().__init__()
        self.events = []


def _recording(name):
    def hook(self, *args):
        index = args[0] if len(args) == 2 else None
        logs = args[-1] if args else None
        self.events.append((name, index, None if logs is None else tuple(sorted(logs))))
    return hook


for _name in _HOOKS:
    setattr(Recorder, _name, _recording(_name))

# What Keras 3.15 (TensorFlow 2.21) calls for fit(x, y, batch_size=4, epochs=2) on 8 samples
# with validation_data of 6 samples and validation_batch_size=3: (hook, batch or epoch index).
KERAS_SEQUENCE = [("on_train_begin", None)] + [
    step for epoch in (0, 1) for step in (
        [("on_epoch_begin", epoch),
         ("on_train_batch_begin", 0), ("on_train_batch_end", 0),
         ("on_train_batch_begin", 1), ("on_train_batch_end", 1),
         ("on_test_begin", None),
         ("on_test_batch_begin", 0), ("on_test_batch_end", 0),
         ("on_test_batch_begin", 1), ("on_test_batch_end", 1),
         ("on_test_end", None),
         ("on_epoch_end", epoch)])] + [("on_train_end", None)]


def _model():
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([tf.keras.Input((1,)), tf.keras.layers.Dense(
        1, activation="sigmoid")])
    model.compile("sgd", "binary_crossentropy", metrics=["accuracy"])
    return model


def _data(n, seed):
    rng = np.random.default_rng(seed)
    return (rng.random((n, 1)).astype("float32"),
            (rng.random((n, 1)) > 0.5).astype("float32"))


def test_fit_validation_calls_the_test_hooks_in_keras_order():
    model, recorder = _model(), Recorder()
    model.fit(*_data(8, 0), batch_size=4, epochs=2, validation_data=_data(6, 1),
              validation_batch_size=3, callbacks=[recorder], verbose=0)
    assert [(name, index) for name, index, _ in recorder.events] == KERAS_SEQUENCE
    logs = {(name, index): keys for name, index, keys in recorder.events}
    # the validation batches and on_test_end see the unprefixed names, as in Keras
    assert logs[("on_test_batch_end", 1)] == ("accuracy", "loss")
    assert logs[("on_test_end", None)] == ("accuracy", "loss")
    assert logs[("on_epoch_end", 1)] == ("accuracy", "loss", "val_accuracy", "val_loss")


def test_on_test_batch_end_sees_each_validation_batch_like_the_espcn_psnr_callback():
    model = _model()
    x_val, y_val = _data(6, 1)
    seen = []
    psnr = tf.keras.callbacks.LambdaCallback(
        on_test_batch_end=lambda batch, logs: seen.append(logs["loss"]))
    history = model.fit(*_data(8, 0), batch_size=4, epochs=1, verbose=0,
                        validation_data=(x_val, y_val), validation_batch_size=3,
                        callbacks=[psnr])
    assert len(seen) == 2 and np.all(np.isfinite(seen))
    # the last running mean is the epoch's validation loss
    assert seen[-1] == pytest.approx(history.history["val_loss"][0])


def test_validation_freq_skips_the_test_hooks_on_epochs_without_validation():
    model, recorder = _model(), Recorder()
    model.fit(*_data(8, 0), batch_size=8, epochs=2, validation_data=_data(6, 1),
              validation_freq=2, callbacks=[recorder], verbose=0)
    names = [name for name, _, _ in recorder.events]
    assert names.count("on_test_begin") == 1 and names.count("on_test_end") == 1
    assert names.index("on_test_begin") > names.index("on_epoch_begin", 2)


def test_hooks_without_logs_get_an_empty_dict():
    """Keras hands ``{}`` to on_train_begin, on_epoch_begin, on_*_batch_begin, on_test_begin
    and on_predict_begin; a user's callback writing ``logs["x"] = ...`` there worked in Keras
    and failed on None here."""
    seen = []

    class Recorder(tf.keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen.append(logs)

        def on_epoch_begin(self, epoch, logs=None):
            logs["started"] = epoch
            seen.append(logs)

        def on_train_batch_begin(self, batch, logs=None):
            seen.append(logs)

        def on_test_begin(self, logs=None):
            seen.append(logs)

        def on_predict_begin(self, logs=None):
            seen.append(logs)

    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x = np.ones((4, 3), np.float32)
    model.fit(x, x[:, :1], batch_size=4, verbose=0, callbacks=[Recorder()],
              validation_data=(x, x[:, :1]))
    model.predict(x, verbose=0, callbacks=[Recorder()])
    assert seen == [{}, {"started": 0}, {}, {}, {}]
