"""``train_on_batch`` / ``test_on_batch`` report the batch's own loss and metrics: Keras 3
resets the metrics before each such call (also those of a user's step)."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras

X = np.array([[1.0], [2.0], [3.0], [4.0]], dtype="float32")
Y = np.array([[1.0], [0.0], [1.0], [1.0]], dtype="float32")


def _model():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(
        1, activation="sigmoid", kernel_initializer="zeros", bias_initializer="zeros")])
    model.compile("sgd", "binary_crossentropy", metrics=["accuracy"])
    return model


def test_train_on_batch_reports_each_batch_as_keras():
    model = _model()
    logs = [model.train_on_batch(X, Y, return_dict=True) for _ in range(3)]
    # Keras 3.15 (TensorFlow 2.21), same model, data and SGD(0.01): each call's own
    # accuracy (a running mean over the calls would give 0.25, 0.5, 0.5833)
    assert [d["accuracy"] for d in logs] == pytest.approx([0.25, 0.75, 0.75])
    assert [d["loss"] for d in logs] == pytest.approx(
        [0.6931471824645996, 0.6869624257087708, 0.6810331344604492], rel=1e-6)
    loss, accuracy = model.train_on_batch(X[:2], Y[:2])
    assert accuracy == pytest.approx(0.5) and np.isfinite(loss)


def test_test_on_batch_after_train_on_batch_reports_the_tested_batch():
    model = _model()
    model.train_on_batch(X, Y)
    assert model.test_on_batch(X[1:2], Y[1:2], return_dict=True)["accuracy"] == 0.0
    assert model.train_on_batch(X[:1], Y[:1], return_dict=True)["accuracy"] == 1.0


class _Counting(keras.Model):
    """A user's steps feeding a Mean the model lists in ``metrics``."""

    def __init__(self):
        inputs = keras.Input((1,))
        super().__init__(inputs, keras.layers.Dense(1)(inputs))
        self.tracker = keras.metrics.Mean(name="total")

    @property
    def metrics(self):
        return [self.tracker]

    def train_step(self, data):
        self.tracker.update_state(float(np.sum(data[0])))
        return {"total": self.tracker.result()}

    test_step = train_step


def test_a_users_step_metrics_are_reset_before_each_batch_call():
    model = _Counting()
    model.compile("sgd", "mse")
    # Keras 3.15 returns {'total': 10.0} three times for this step and data
    assert [model.train_on_batch(X, Y, return_dict=True)["total"] for _ in range(3)] == [
        10.0, 10.0, 10.0]
    assert [model.test_on_batch(X[:2], Y[:2], return_dict=True)["total"]
            for _ in range(2)] == [3.0, 3.0]
