"""keras.io's self-supervised examples (SimSiam, Barlow Twins) build a model with no ``call``
of its own: a ``train_step`` over an encoder and a predictor held as attributes. Their
encoders carry ``kernel_regularizer=l2(...)``, so a user who adds the penalties writes
``loss + tf.add_n(self.losses)`` inside that step. The expected values are TensorFlow 2.21's
(Keras 3) for the same weights and inputs."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
layers = keras.layers


def _encoder(reg):
    inputs = layers.Input((3,))
    return keras.Model(inputs, layers.Dense(2, kernel_regularizer=reg)(inputs))


class _Wrapped(keras.Model):
    """A step-only model: it is never called itself, only its parts are."""

    def __init__(self):
        super().__init__()
        reg = keras.regularizers.l2(0.01)
        self.encoder = _encoder(reg)
        self.predictor = keras.Sequential([layers.Input((2,)),
                                           layers.Dense(2, kernel_regularizer=reg)])
        self.tracker = keras.metrics.Mean(name="loss")

    def train_step(self, data):
        with tf.GradientTape() as tape:
            z = self.predictor(self.encoder(data))
            loss = tf.reduce_mean(z ** 2) + tf.add_n(self.losses)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        self.tracker.update_state(loss)
        return {"loss": self.tracker.result()}


def _wrapped():
    model = _Wrapped()
    model.set_weights([np.full(v.shape, 0.5, "float32") for v in model.get_weights()])
    return model


def test_a_step_only_model_lists_its_parts_penalties_before_any_call():
    model = _wrapped()
    # TF 2.21: two penalties, 0.01 * sum(w**2) over the 3x2 and 2x2 kernels of 0.5
    assert [round(float(v), 5) for v in model.losses] == [0.015, 0.01]


def test_the_penalties_reach_a_step_only_models_train_step():
    model = _wrapped()
    model.compile(optimizer="sgd")
    x = np.arange(12, dtype="float32").reshape(4, 3) / 10
    history = model.fit(x, epochs=2, batch_size=4, verbose=0)
    # TF 2.21's history and first kernel after the two steps
    np.testing.assert_allclose(history.history["loss"], [3.60875, 3.128056], rtol=1e-5)
    np.testing.assert_allclose(model.get_weights()[0][:, 0], [0.481188, 0.477755, 0.474322],
                               atol=1e-5)


def test_the_penalties_of_a_step_only_model_are_differentiable():
    model = _wrapped()
    with tf.GradientTape() as tape:
        total = tf.add_n(model.losses)
    kernel = model.encoder.layers[-1].kernel
    grad = tape.gradient(total, kernel)
    np.testing.assert_allclose(grad.numpy(), np.full((3, 2), 2 * 0.01 * 0.5), rtol=1e-6)


def test_add_n_of_an_empty_list_is_a_value_error():
    # TF 2.21: ValueError ("Inputs must be an iterable of at least one Tensor...")
    with pytest.raises(ValueError, match="at least one"):
        tf.add_n([])


@pytest.mark.parametrize("validation", [{"validation_split": 0.25},
                                        {"validation_data": (np.ones((4, 3), "float32"),
                                                            np.ones((4, 2), "float32"))}])
def test_validating_a_model_without_test_step_is_not_implemented(validation):
    # TF 2.21: NotImplementedError (its default test_step calls the model, which has no
    # call()); convnp says so before training
    model = _wrapped()
    model.compile(optimizer="sgd")
    x = np.arange(24, dtype="float32").reshape(8, 3) / 10
    with pytest.raises(NotImplementedError, match="test_step"):
        model.fit(x, epochs=1, batch_size=4, verbose=0, **validation)
