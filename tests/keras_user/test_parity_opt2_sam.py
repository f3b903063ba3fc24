"""keras.io's Sharpness-Aware Minimization as written there: a Model subclass whose
``train_step`` takes two tape passes over an inner model, perturbs its variables with
``assign_add``/``assign_sub``, applies the second gradients, and whose ``call`` returns None;
fitted with validation data on integer labels.

The expected values below were read from TensorFlow 2.21 running the same program."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras


class SAMModel(keras.Model):
    def __init__(self, inner, rho=0.05):
        super().__init__()
        self.inner = inner
        self.rho = rho

    def train_step(self, data):
        images, labels = data
        e_ws = []
        with tf.GradientTape() as tape:
            predictions = self.inner(images)
            loss = self.compiled_loss(labels, predictions)
        params = self.inner.trainable_variables
        gradients = tape.gradient(loss, params)
        grad_norm = tf.norm(tf.stack([tf.norm(g) for g in gradients if g is not None]))
        scale = self.rho / (grad_norm + 1e-12)
        for grad, param in zip(gradients, params):
            e_w = grad * scale
            param.assign_add(e_w)
            e_ws.append(e_w)
        with tf.GradientTape() as tape:
            predictions = self.inner(images)
            loss = self.compiled_loss(labels, predictions)
        sam_gradients = tape.gradient(loss, params)
        for param, e_w in zip(params, e_ws):
            param.assign_sub(e_w)
        self.optimizer.apply_gradients(zip(sam_gradients, params))
        self.compiled_metrics.update_state(labels, predictions)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        images, labels = data
        predictions = self.inner(images, training=False)
        self.compiled_loss(labels, predictions)
        self.compiled_metrics.update_state(labels, predictions)
        return {m.name: m.result() for m in self.metrics}

    def call(self, images):
        self.inner(images)
        return  # noqa: PLR1711 - the recipe's call gives None


def test_keras_io_sam_fits_with_validation_data():
    # TF 2.21: fit runs (convnp refused the integer labels: it checked them against the
    # outer model's output, which the recipe's call never returns, in fit and again for the
    # validation data); accuracies and weights as below
    x = np.cos(np.arange(16 * 36) * 0.37).reshape(16, 6, 6, 1).astype("float32")
    y = np.arange(16) % 3
    inner = keras.Sequential([
        keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3), keras.layers.BatchNormalization(),
        keras.layers.ReLU(), keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(3, activation="softmax")])
    inner.set_weights([
        np.round(np.sin(np.arange(w.size).reshape(w.shape) * 0.9 + 0.3) * 0.5, 4)
        .astype("float32") + (1.0 if i == 5 else 0.0)
        for i, w in enumerate(inner.get_weights())])
    model = SAMModel(inner)
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, validation_data=(x[:8], y[:8]), epochs=2, batch_size=8,
                        shuffle=False, verbose=0)
    # TF 2.21 logs the same keys; its "loss" there is the mean of the predictions (its
    # deprecated compiled_metrics shim feeds them to the loss tracker), convnp's the loss
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert history.history["accuracy"] == pytest.approx([0.3125, 0.375])
    assert history.history["val_accuracy"] == pytest.approx([0.5, 0.375])
    expected = [[-0.01554, 0.63834], [-0.01955, 0.56286], [0.09665, 0.62558],
                [-0.0205, 0.56719], [0.1478, 0.466], [1.1478, 1.466], [0.30453, 0.44199],
                [0.3129, 0.43335]]
    for weight, first_two in zip(inner.get_weights(), expected):
        assert weight.ravel()[:2] == pytest.approx(first_two, abs=1e-5)
    assert int(model.optimizer.iterations) == 4
