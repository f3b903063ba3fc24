"""Epochs and evaluations of a given number of steps read the data as TensorFlow 2.21 does.

Four batches of 10; the model does not learn (SGD at rate 0), so each batch's loss tells which
batch was read. TF 2.21's per-batch losses: [3.2726, 1.908, 1.7637, 1.8489]; the logs hold
running means (after batches 0..3 read in order: 3.2726, 2.5903, 2.3148, 2.1983).
The expected values below were read from TensorFlow 2.21 running the same programs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
FROM_START = [3.2726, 2.5903, 2.3148, 2.1983]


def _data():
    x = np.random.RandomState(0).rand(40, 6).astype("float32")
    y = np.random.RandomState(1).randint(0, 3, 40)
    return x, y


def _model():
    inputs = keras.Input((6,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    model.set_weights([np.random.RandomState(5).randn(6, 3).astype("float32"),
                       np.zeros(3, "float32")])
    return model


class Losses(keras.callbacks.Callback):
    """The running loss after each training batch, per epoch, and after each test batch,
    per evaluation."""

    def __init__(self):
        super().__init__()
        self.train, self.test = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.train.append([])

    def on_train_batch_end(self, batch, logs=None):
        self.train[-1].append(round(float(logs["loss"]), 4))

    def on_test_begin(self, logs=None):
        self.test.append([])

    def on_test_batch_end(self, batch, logs=None):
        self.test[-1].append(round(float(logs["loss"]), 4))


def _dataset():
    x, y = _data()
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(10)


@pytest.mark.parametrize("source", ["arrays", "dataset"])
def test_an_epoch_ends_short_when_the_data_runs_out(source):
    # steps_per_epoch=3 over 4 batches: batches 0-2, then batch 3 alone (TF warns "Your
    # input ran out of data"), then 0-2 again. convnp went round: 3,0,1 then 2,3,0.
    x, y = _data()
    data = (x, y) if source == "arrays" else (_dataset(),)
    kwargs = {"batch_size": 10, "shuffle": False} if source == "arrays" else {}
    seen = Losses()
    with pytest.warns(UserWarning, match="ran out of data after 1 of 3 steps in epoch 2"):
        history = _model().fit(*data, epochs=3, steps_per_epoch=3, verbose=0,
                               callbacks=[seen], **kwargs)
    assert seen.train == [FROM_START[:3], [1.8489], FROM_START[:3]]
    assert history.history["loss"] == pytest.approx([2.3148, 1.8489, 2.3148], abs=1e-4)


def test_more_steps_than_batches_gives_each_epoch_the_whole_data():
    # TF 2.21: steps_per_epoch=5 over 4 batches trains on the 4 each epoch
    seen = Losses()
    with pytest.warns(UserWarning, match="ran out of data after 4 of 5 steps"):
        _model().fit(_dataset(), epochs=2, steps_per_epoch=5, verbose=0, callbacks=[seen])
    assert seen.train == [FROM_START, FROM_START]


def test_steps_that_divide_the_data_read_on_without_a_warning():
    # TF 2.21: steps_per_epoch=2 reads 0-1, 2-3, then 0-1 again, quietly
    seen = Losses()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _model().fit(_dataset(), epochs=3, steps_per_epoch=2, verbose=0, callbacks=[seen],
                     shuffle=False)
    assert seen.train == [[3.2726, 2.5903], [1.7637, 1.8063], [3.2726, 2.5903]]


def test_evaluate_and_predict_stop_at_the_end_of_the_data():
    # TF 2.21: evaluate(steps=6) and predict(steps=6) over 4 batches read the 4
    model = _model()
    x, y = _data()
    seen = Losses()
    assert model.evaluate(_dataset(), steps=6, verbose=0,
                          callbacks=[seen]) == pytest.approx(2.1983, abs=1e-4)
    assert model.evaluate(x, y, batch_size=10, steps=6,
                          verbose=0) == pytest.approx(2.1983, abs=1e-4)
    assert seen.test == [FROM_START]
    assert model.predict(_dataset(), steps=6, verbose=0).shape == (40, 3)


@pytest.mark.parametrize("source", ["arrays", "dataset"])
def test_each_validation_starts_at_the_first_batch(source):
    # TF 2.21: with validation_steps=3, every epoch validates on batches 0-2 (convnp read on:
    # 3,0,1 in the second epoch)
    x, y = _data()
    validation = (x, y) if source == "arrays" else _dataset()
    seen = Losses()
    history = _model().fit(x[:10], y[:10], epochs=3, validation_data=validation,
                           validation_steps=3, validation_batch_size=10, verbose=0,
                           callbacks=[seen])
    assert seen.test == [FROM_START[:3]] * 3
    assert history.history["val_loss"] == pytest.approx([2.3148] * 3, abs=1e-4)
