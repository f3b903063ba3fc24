"""Keras 3's functional models take inputs with one trailing axis of size 1 more or less than
the ``Input`` declares (keras.io's CT-scan example predicts on ``(1, W, H, D)`` volumes for an
``(W, H, D, 1)`` input). Loss values from TensorFlow 2.21 / Keras 3.15 running the same
program (weights below, SGD(0.01), mse)."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

layers = tf.keras.layers


def _sequential():
    model = tf.keras.Sequential([tf.keras.Input((4, 4, 1)), layers.Conv2D(2, 3),
                                 layers.Flatten(), layers.Dense(1)])
    model.set_weights([np.linspace(-0.5, 0.5, 18, dtype=np.float32).reshape(3, 3, 1, 2),
                       np.array([0.1, -0.1], np.float32),
                       np.linspace(-1.0, 1.0, 8, dtype=np.float32).reshape(8, 1),
                       np.zeros(1, np.float32)])
    return model


def _images():
    return np.arange(6 * 16, dtype=np.float32).reshape(6, 4, 4) / 96.0


def test_missing_channel_axis_is_added_in_fit_predict_evaluate_and_call():
    x, y = _images(), np.ones((6, 1), np.float32)
    model = _sequential()
    with_axis = model.predict(x[..., None], verbose=0)
    np.testing.assert_array_equal(model.predict(x, verbose=0), with_axis)
    np.testing.assert_array_equal(np.asarray(model(x)), with_axis)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(3)
    np.testing.assert_allclose(model.predict(ds, verbose=0), with_axis, rtol=1e-6)
    model.compile(optimizer=tf.keras.optimizers.SGD(0.01), loss="mse")
    np.testing.assert_allclose(model.evaluate(ds, verbose=0),
                               model.evaluate(x[..., None], y, verbose=0), rtol=1e-6)
    history = model.fit(x, y, batch_size=6, epochs=2, verbose=0, shuffle=False)
    # Keras 3.15 on the same weights and data: loss per epoch
    np.testing.assert_allclose(history.history["loss"], KERAS_LOSSES, rtol=1e-5)


# obtained by running this file's _sequential()/_images() program with TensorFlow 2.21
KERAS_LOSSES = [0.9378695487976074, 0.8266618251800537]


def test_extra_trailing_axis_is_dropped_and_other_ranks_refused():
    inputs = tf.keras.Input((3,))
    model = tf.keras.Model(inputs, layers.Dense(2)(inputs))
    x = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(model.predict(x[..., None], verbose=0),
                                  model.predict(x, verbose=0))
    with pytest.raises(ValueError, match="expects input of shape"):
        model.predict(np.ones((2, 3, 1, 1), np.float32), verbose=0)
    with pytest.raises(ValueError, match="expects input of shape"):
        model.predict(np.ones((2, 3, 2), np.float32), verbose=0)
