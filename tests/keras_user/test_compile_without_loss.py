"""``compile(optimizer=...)`` without a loss: Keras 3 trains and evaluates on ``model.losses``
alone (the guide "Making new layers and models via subclassing"), and compiling again without
a loss keeps the earlier one. KERAS_* come from running ``_program`` with TensorFlow 2.21 /
Keras 3.15.1 (``import tensorflow as tf``, the same code)."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras


class ActivityRegularizationLayer(keras.layers.Layer):
    def call(self, inputs):
        self.add_loss(1e-2 * tf.reduce_mean(inputs))
        return inputs


def _data():
    rng = np.random.default_rng(0)
    return rng.random((4, 3), dtype=np.float32), rng.random((4, 3), dtype=np.float32)


def _model():
    inputs = keras.Input(shape=(3,))
    outputs = keras.layers.Dense(3, kernel_initializer="ones")(inputs)
    return keras.Model(inputs, ActivityRegularizationLayer()(outputs))


KERAS_FIT = [0.013149471022188663, 0.01312636025249958]
KERAS_EVALUATE = 0.013103235512971878
KERAS_FIT_X_ONLY = [0.013103235512971878]
KERAS_RECOMPILED = [1.3940774202346802]  # compile(loss="mse") then compile(optimizer) alone


def test_fit_and_evaluate_on_added_losses_alone():
    x, y = _data()
    model = _model()
    model.compile(optimizer="adam")
    history = model.fit(x, y, verbose=0, shuffle=False, epochs=2, batch_size=4)
    np.testing.assert_allclose(history.history["loss"], KERAS_FIT, rtol=1e-6)
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), KERAS_EVALUATE, rtol=1e-6)
    history = model.fit(x, verbose=0, shuffle=False, epochs=1, batch_size=4)  # no targets
    np.testing.assert_allclose(history.history["loss"], KERAS_FIT_X_ONLY, rtol=1e-6)
    model.compile(optimizer="adam", loss="mse")
    model.compile(optimizer="adam")
    history = model.fit(x, y, verbose=0, shuffle=False, epochs=1, batch_size=4)
    np.testing.assert_allclose(history.history["loss"], KERAS_RECOMPILED, rtol=1e-6)


def test_recompiling_without_metrics_keeps_them():
    x, y = _data()
    model = _model()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model.compile(optimizer="sgd")
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(logs) == ["loss", "mae"]


def test_no_loss_at_all_is_refused_before_training():
    x, y = _data()
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    model.compile(optimizer="adam")
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match="needs a loss"):
        model.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match="needs a loss"):
        model.evaluate(x, y, verbose=0)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_a_user_layer_that_adds_nothing_is_refused_at_the_first_step():
    x, y = _data()

    class Plain(keras.layers.Layer):
        def call(self, inputs):
            return inputs * 2.0

    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, Plain()(keras.layers.Dense(3)(inputs)))
    model.compile(optimizer="adam")
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match="No loss to compute"):
        model.fit(x, y, verbose=0)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_a_dataset_of_inputs_alone_trains_on_added_losses():
    """keras.io's captcha OCR model: compiled with no loss, fit on a Dataset of input dicts
    without targets (its CTC layer adds the loss)."""
    x, y = _data()
    model = _model()
    model.compile(optimizer="adam")
    model.fit(x, y, verbose=0, shuffle=False, epochs=2, batch_size=4)
    inputs_only = tf.data.Dataset.from_tensor_slices(x).batch(4)
    np.testing.assert_allclose(model.evaluate(inputs_only, verbose=0), KERAS_FIT_X_ONLY,
                               rtol=1e-6)
    history = model.fit(inputs_only, verbose=0, epochs=1)
    np.testing.assert_allclose(history.history["loss"], KERAS_FIT_X_ONLY, rtol=1e-6)
    model.compile(optimizer="adam", loss="mse")  # a compiled loss needs the targets
    with pytest.raises(ValueError, match=r"\(x, y\) pairs"):
        model.fit(inputs_only, verbose=0)
