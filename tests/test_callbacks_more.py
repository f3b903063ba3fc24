"""LearningRateScheduler, ReduceLROnPlateau, TerminateOnNaN, BackupAndRestore."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

cb = tf.keras.callbacks


def _model(lr=0.1):
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(3,))])
    model.compile(tf.keras.optimizers.SGD(lr), "mse")
    return model


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)).astype("float32")
    return x, x @ np.array([1.0, -2.0, 0.5], dtype="float32")


def test_learning_rate_scheduler_sets_and_logs_the_rate():
    model = _model()
    x, y = _data()
    seen = []
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[
        cb.LearningRateScheduler(lambda epoch, lr: lr * 0.5),
        cb.LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(
            model.optimizer.learning_rate))])
    assert history.history["learning_rate"] == pytest.approx([0.05, 0.025, 0.0125])
    model.fit(x, y, epochs=2, verbose=0,
              callbacks=[cb.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))])
    assert model.optimizer.learning_rate == pytest.approx(0.02)


def test_learning_rate_scheduler_takes_the_tutorials_tensor_result():
    # TensorFlow's tutorial: `lr * tf.math.exp(-0.1)`, a 0-d tensor
    model = _model()
    x, y = _data()
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[cb.LearningRateScheduler(
        lambda epoch, lr: lr if epoch < 1 else lr * tf.math.exp(-0.1))])
    assert history.history["learning_rate"] == pytest.approx(
        [0.1, 0.1 * np.exp(-0.1), 0.1 * np.exp(-0.2)], rel=1e-6)
    for bad in ("0.1", None, [0.1, 0.2], True):
        with pytest.raises(ValueError, match="must return a float"):  # as TF 2.21
            model.fit(x, y, epochs=1, verbose=0,
                      callbacks=[cb.LearningRateScheduler(lambda epoch, lr, bad=bad: bad)])


class _Feed(cb.Callback):
    """Puts a fixed sequence of val_loss values into the epoch logs."""

    def __init__(self, values):
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]


def test_reduce_lr_on_plateau_patience_cooldown_min_lr():
    model = _model(lr=1.0)
    x, y = _data()
    rates = []
    values = [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5]
    model.fit(x, y, epochs=8, verbose=0, callbacks=[
        _Feed(values),
        cb.ReduceLROnPlateau(factor=0.5, patience=2, cooldown=1, min_lr=0.3),
        cb.LambdaCallback(on_epoch_end=lambda e, logs: rates.append(
            model.optimizer.learning_rate))])
    # epochs 1-2 do not improve -> halve at epoch 2; cooldown epoch 3 (0.5 improves anyway);
    # 4, 5 wait -> at epoch 5 0.25 would go below min_lr: clipped to 0.3; then 6 cools down
    assert rates == pytest.approx([1.0, 1.0, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3])
    with pytest.raises(ValueError, match="factor"):
        cb.ReduceLROnPlateau(factor=1.5)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_terminate_on_nan_stops_at_the_batch(capsys):
    model = _model(lr=1e30)
    x, y = _data()
    y = y * 1e20
    history = model.fit(x, y, epochs=5, batch_size=4, verbose=0,
                        callbacks=[cb.TerminateOnNaN()])
    assert len(history.history["loss"]) == 1
    assert "Invalid loss, terminating training" in capsys.readouterr().out


class _Crash(cb.Callback):
    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise RuntimeError("interrupted")


def test_backup_and_restore_resumes_where_it_stopped(tmp_path):
    x, y = _data()
    full = _model()
    full.compile(tf.keras.optimizers.Adam(0.05), "mse")
    full.fit(x, y, epochs=4, batch_size=8, shuffle=False, verbose=0)
    model = _model()
    model.compile(tf.keras.optimizers.Adam(0.05), "mse")
    backup = cb.BackupAndRestore(tmp_path / "backup")
    with pytest.raises(RuntimeError, match="interrupted"):
        model.fit(x, y, epochs=4, batch_size=8, shuffle=False, verbose=0,
                  callbacks=[backup, _Crash(2)])
    fresh = _model()  # a new process: new model, same code
    fresh.compile(tf.keras.optimizers.Adam(0.05), "mse")
    history = fresh.fit(x, y, epochs=4, batch_size=8, shuffle=False, verbose=0,
                        callbacks=[backup])
    assert history.epoch == [2, 3]
    for a, b in zip(fresh.get_weights(), full.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert not (tmp_path / "backup" / "epoch.json").exists()


def test_model_checkpoint_refuses_an_unsavable_model_before_the_first_step(tmp_path):
    # a Lambda around a Python function cannot be written as a .keras config (no code is
    # ever pickled): fit must stop at once, not after an epoch of training
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2),
                                 tf.keras.layers.Lambda(lambda t: t * 2.0)])
    model.compile("sgd", "mse")
    steps = []

    class CountSteps(tf.keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            steps.append(batch)

    checkpoint = tf.keras.callbacks.ModelCheckpoint(str(tmp_path / "m_{epoch}.keras"))
    with pytest.raises((ValueError, TypeError)):
        model.fit(np.ones((4, 3)), np.ones((4, 2)), epochs=2, verbose=0,
                  callbacks=[checkpoint, CountSteps()])
    assert steps == [] and list(tmp_path.iterdir()) == []
    # the same model saves its weights: the trial save passes and training goes on
    weights = tf.keras.callbacks.ModelCheckpoint(str(tmp_path / "w_{epoch}.weights.npz"),
                                                 save_weights_only=True)
    model.fit(np.ones((4, 3)), np.ones((4, 2)), epochs=2, verbose=0,
              callbacks=[weights, CountSteps()])
    assert len(steps) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w_1.weights.npz", "w_2.weights.npz"]


class _AddsToLogs(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        logs["extra"] = 0.5


def test_progress_line_comes_after_other_callbacks_as_in_keras_3(tmp_path, capsys, monkeypatch):
    # Keras 3 runs its progress logger after the user's callbacks: a checkpoint's messages
    # come before the epoch's line and what a callback adds to the logs shows in that line
    # (the lines below are what TensorFlow 2.21 / Keras 3.15 prints for the same fit, TF's
    # "Save and load models" tutorial)
    monkeypatch.chdir(tmp_path)
    model = _model()
    x, y = _data()
    checkpoint = tf.keras.callbacks.ModelCheckpoint("training_1/cp.weights.h5",
                                                    save_weights_only=True, verbose=1)
    model.fit(x, y, epochs=2, verbose=2, callbacks=[checkpoint, _AddsToLogs()])
    lines = capsys.readouterr().out.splitlines()
    assert lines[:5] == ["Epoch 1/2", "", "Epoch 1: saving model to training_1/cp.weights.h5",
                         "", "Epoch 1: finished saving model to training_1/cp.weights.h5"]
    assert lines[5].endswith("- extra: 0.5000") and lines[6] == "Epoch 2/2"


class _KeyRecorder(tf.keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batch_keys, self.epoch_keys = [], []

    def on_train_batch_end(self, batch, logs=None):
        self.batch_keys.append(list(logs))

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_keys.append(list(logs))


def test_logs_come_in_keras_3_order(capsys):
    # what TensorFlow 2.21 / Keras 3.15 gives for this compile: every logs dict sorted by key
    # (history, callbacks, the epoch line, return_dict); the list form in compile order
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(1)])
    model.compile("sgd", "mse", metrics=[tf.keras.metrics.MeanAbsoluteError(name="zz"),
                                         tf.keras.metrics.MeanSquaredError(name="aa")])
    x, y = np.ones((4, 3), np.float32), np.ones((4, 1), np.float32)
    recorder = _KeyRecorder()
    history = model.fit(x, y, verbose=2, validation_data=(x, y), callbacks=[recorder])
    keys = ["aa", "loss", "val_aa", "val_loss", "val_zz", "zz"]
    assert list(history.history) == keys and recorder.epoch_keys == [keys]
    assert recorder.batch_keys == [["aa", "loss", "zz"]]
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert [part.split(":")[0] for part in line.split(" - ")[3:]] == keys
    assert list(model.evaluate(x, y, verbose=0, return_dict=True)) == ["aa", "loss", "zz"]
    assert list(model.train_on_batch(x, y, return_dict=True)) == ["aa", "loss", "zz"]
    loss, zz, aa = model.evaluate(x, y, verbose=0)
    assert loss == pytest.approx(aa) and zz != pytest.approx(aa)
