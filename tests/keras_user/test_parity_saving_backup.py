"""BackupAndRestore with a number of batches as save_freq and with double_checkpoint, as TF
2.21 (Keras 3.15.1) runs them; the expected epochs and step counts were printed by TF 2.21
for the same programs (40 examples, batch size 10: four steps an epoch)."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
rng = np.random.default_rng(0)
X = rng.random((40, 5)).astype("float32")
Y = rng.random((40, 1)).astype("float32")


def _model():
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.01), "mse")
    return model


class _Interrupt(keras.callbacks.Callback):
    """Raise after batch ``batch`` of epoch ``epoch`` (after the epoch when batch is None)."""

    def __init__(self, epoch, batch=None):
        super().__init__()
        self.at_epoch, self.at_batch, self.epoch = epoch, batch, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.at_batch is not None and (self.epoch, batch) == (self.at_epoch, self.at_batch):
            raise RuntimeError("interrupted")

    def on_epoch_end(self, epoch, logs=None):
        if self.at_batch is None and epoch == self.at_epoch:
            raise RuntimeError("interrupted")


class _Epochs(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seen = []

    def on_epoch_begin(self, epoch, logs=None):
        self.seen.append(epoch)


def _fit(model, backup, *more):
    return model.fit(X, Y, epochs=5, batch_size=10, verbose=0, shuffle=False,
                     callbacks=[backup, *more])


def test_save_freq_in_batches_resumes_the_epoch_of_the_last_backup(tmp_path):
    # TF 2.21: interrupted after batch 2 of epoch 2 with save_freq=2, the last backup is
    # the one after 10 steps (epoch 2, batch 1); the new fit runs epochs [2, 3, 4] and ends
    # with 22 optimizer steps
    first = _model()
    weights = first.get_weights()
    with pytest.raises(RuntimeError, match="interrupted"):
        _fit(first, keras.callbacks.BackupAndRestore(tmp_path / "b", save_freq=2),
             _Interrupt(2, batch=2))
    again = _model()
    again.set_weights(weights)
    epochs = _Epochs()
    history = _fit(again, keras.callbacks.BackupAndRestore(tmp_path / "b", save_freq=2),
                   epochs)
    assert epochs.seen == [2, 3, 4] and history.epoch == [2, 3, 4]
    assert int(again.optimizer.iterations.numpy()) == 22
    assert not (tmp_path / "b").exists()  # a finished fit removes the backup


def test_save_freq_argument():
    # TF 2.21: 'epoch' or an int; any other value is a ValueError
    assert keras.callbacks.BackupAndRestore("b", save_freq=3).save_freq == 3
    with pytest.raises(ValueError, match="save_freq"):
        keras.callbacks.BackupAndRestore("b", save_freq="batch")
    with pytest.raises(ValueError, match="backup_dir"):
        keras.callbacks.BackupAndRestore("")
    assert keras.callbacks.BackupAndRestore("b", double_checkpoint=True).double_checkpoint


def test_double_checkpoint_falls_back_on_the_previous_backup(tmp_path):
    # Keras 3: with double_checkpoint, a last backup that cannot be read is replaced by the
    # one before it (kept as .bkp): here the backups of epochs 0 and 1 exist, the one of
    # epoch 1 is damaged, so the new fit starts again at epoch 1
    backup = tmp_path / "b"
    with pytest.raises(RuntimeError, match="interrupted"):
        _fit(_model(), keras.callbacks.BackupAndRestore(backup, double_checkpoint=True),
             _Interrupt(1))
    assert (backup / "model.weights.npz.bkp").exists()
    (backup / "model.weights.npz").write_bytes(b"cut short")
    epochs = _Epochs()
    _fit(_model(), keras.callbacks.BackupAndRestore(backup, double_checkpoint=True), epochs)
    assert epochs.seen == [1, 2, 3, 4]
    assert not backup.exists()
    # without double_checkpoint a damaged backup is an error, as in Keras
    with pytest.raises(RuntimeError, match="interrupted"):
        _fit(_model(), keras.callbacks.BackupAndRestore(backup), _Interrupt(0))
    (backup / "model.weights.npz").write_bytes(b"cut short")
    with pytest.raises((OSError, ValueError)):
        _fit(_model(), keras.callbacks.BackupAndRestore(backup))
