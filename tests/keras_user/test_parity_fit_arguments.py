"""fit/evaluate/predict arguments taken, and refused with the exception type, as in
TensorFlow 2.21.

The expected behaviour below was read from TensorFlow 2.21 running the same calls."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras


def _model():
    inputs = keras.Input((6,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile("sgd", "mse")
    return model


def _data():
    rng = np.random.RandomState(0)
    return rng.rand(20, 6).astype("float32"), rng.rand(20, 1).astype("float32")


@pytest.mark.parametrize("epochs", [2.7, 2.0, "3", None])
def test_epochs_that_are_no_int_raise_type_error(epochs):
    # TF 2.21: TypeError (convnp raised ValueError)
    x, y = _data()
    with pytest.raises(TypeError, match="epochs"):
        _model().fit(x, y, epochs=epochs, verbose=0)


@pytest.mark.parametrize("batch_size", [4.0, "4"])
def test_batch_sizes_that_are_no_int_raise_type_error(batch_size):
    # TF 2.21: TypeError from fit, evaluate and predict (convnp raised ValueError)
    x, y = _data()
    model = _model()
    with pytest.raises(TypeError, match="batch_size"):
        model.fit(x, y, batch_size=batch_size, verbose=0)
    with pytest.raises(TypeError, match="batch_size"):
        model.evaluate(x, y, batch_size=batch_size, verbose=0)
    with pytest.raises(TypeError, match="batch_size"):
        model.predict(x, batch_size=batch_size, verbose=0)


def test_numpy_ints_are_taken():
    x, y = _data()
    history = _model().fit(x, y, epochs=np.int64(2), batch_size=np.int32(4), verbose=0)
    assert history.epoch == [0, 1]


def test_one_callback_alone_or_lists_inside_the_list():
    # TF 2.21 takes callbacks=EarlyStopping(...) (no list), tuples and nested lists, in fit,
    # evaluate and predict (convnp: TypeError)
    x, y = _data()
    model = _model()
    seen = []

    class Count(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(("epoch", epoch))

        def on_test_end(self, logs=None):
            seen.append("test")

        def on_predict_end(self, logs=None):
            seen.append("predict")

    model.fit(x, y, epochs=2, verbose=0, callbacks=Count())
    model.fit(x, y, epochs=1, verbose=0, callbacks=[[Count()], (Count(),)])
    model.evaluate(x, y, verbose=0, callbacks=Count())
    model.predict(x, verbose=0, callbacks=Count())
    assert seen == [("epoch", 0), ("epoch", 1), ("epoch", 0), ("epoch", 0), "test",
                    "predict"]


def test_evaluate_refuses_an_unknown_argument_with_value_error():
    # TF 2.21: evaluate(..., foo=1) raises ValueError (fit and predict: TypeError)
    x, y = _data()
    model = _model()
    with pytest.raises(ValueError, match="foo"):
        model.evaluate(x, y, verbose=0, foo=1)
    with pytest.raises(TypeError):
        model.fit(x, y, verbose=0, foo=1)
    with pytest.raises(TypeError):
        model.predict(x, verbose=0, foo=1)
