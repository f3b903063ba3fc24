"""Metrics: Keras 3 per-sample semantics, running means, 'accuracy' resolution."""

from __future__ import annotations

import numpy as np
import pytest

from convnp import losses, metrics


def test_binary_accuracy_keras_example_and_strict_threshold():
    m = metrics.BinaryAccuracy()
    m.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
    assert m.result() == pytest.approx(0.75)
    m.reset_state()
    m.update_state([[1], [0]], [[0.5], [0.5]])  # 0.5 is not > 0.5: predicts 0
    assert m.result() == pytest.approx(0.5)
    m.reset_state()
    m.update_state(np.array([1, 0, 1]), np.array([[0.7], [0.2], [0.1]]))  # labels (m,)
    assert m.result() == pytest.approx(2 / 3)


def test_categorical_and_sparse_accuracy_keras_examples():
    m = metrics.CategoricalAccuracy()
    m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    assert m.result() == pytest.approx(0.5)
    s = metrics.SparseCategoricalAccuracy()
    s.update_state([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
    assert s.result() == pytest.approx(0.5)
    s.update_state(np.array([1]), np.array([[0.1, 0.6, 0.3]]))
    assert s.result() == pytest.approx(2 / 3)


def test_accuracy_exact_equality():
    m = metrics.Accuracy()
    m.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
    assert m.result() == pytest.approx(0.75)


def test_running_mean_over_batches_and_weights():
    m = metrics.Mean()
    m.update_state(0.5, sample_weight=10)
    m.update_state(1.0, sample_weight=5)
    assert m.result() == pytest.approx((5 + 5) / 15)
    m.reset_state()
    assert m.result() == 0.0
    acc = metrics.BinaryAccuracy()
    acc.update_state(np.ones((3, 1)), np.ones((3, 1)))
    acc.update_state(np.ones((1, 1)), np.zeros((1, 1)))
    assert acc.result() == pytest.approx(0.75)  # per sample, not per batch


@pytest.mark.parametrize("loss,cls", [
    ("binary_crossentropy", metrics.BinaryAccuracy),
    ("categorical_crossentropy", metrics.CategoricalAccuracy),
    ("sparse_categorical_crossentropy", metrics.SparseCategoricalAccuracy),
    (losses.BinaryCrossentropy(), metrics.BinaryAccuracy),
    (losses.CategoricalCrossentropy(), metrics.CategoricalAccuracy),
    (losses.SparseCategoricalCrossentropy(), metrics.SparseCategoricalAccuracy),
    (losses.binary_crossentropy, metrics.BinaryAccuracy),
])
def test_accuracy_resolves_from_loss(loss, cls):
    m = metrics.get("accuracy", loss=loss)
    assert m.name == "accuracy"
    assert m.resolved is cls


@pytest.mark.parametrize("y_true,y_pred,cls", [
    (np.array([[1], [0]]), np.array([[0.9], [0.2]]), metrics.BinaryAccuracy),
    (np.array([1, 0]), np.array([[0.9], [0.2]]), metrics.BinaryAccuracy),
    (np.array([1, 2]), np.full((2, 3), 1 / 3), metrics.SparseCategoricalAccuracy),
    (np.array([[1], [2]]), np.full((2, 3), 1 / 3), metrics.SparseCategoricalAccuracy),
    (np.eye(3)[[1, 2]], np.full((2, 3), 1 / 3), metrics.CategoricalAccuracy),
])
def test_accuracy_resolves_from_shapes_like_keras3(y_true, y_pred, cls):
    m = metrics.get("acc")
    assert m.name == "acc"
    m.update_state(y_true, y_pred)
    assert m.resolved is cls


def test_auto_accuracy_values():
    m = metrics.get("accuracy", loss="categorical_crossentropy")
    m.update_state(np.eye(3)[[0, 1]], np.array([[0.8, 0.1, 0.1], [0.8, 0.1, 0.1]]))
    assert m.result() == pytest.approx(0.5)


def test_lookup_and_errors():
    assert isinstance(metrics.get("binary_accuracy"), metrics.BinaryAccuracy)
    assert metrics.get("binary_accuracy").name == "binary_accuracy"
    assert isinstance(metrics.get(metrics.sparse_categorical_accuracy),
                      metrics.SparseCategoricalAccuracy)
    custom = metrics.get(lambda yt, yp: np.abs(np.asarray(yt) - np.asarray(yp)).ravel())
    custom.update_state([1.0, 2.0], [1.5, 2.5])
    assert custom.result() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="accuracy"):
        metrics.get("acuracy")
    with pytest.raises(ValueError):
        metrics.BinaryAccuracy(threshold=float("nan"))
    logits = metrics.BinaryAccuracy(threshold=0.0)  # on logits, as TensorFlow's tutorials
    logits.update_state(np.array([[1.0], [0.0], [1.0]]), np.array([[2.5], [-0.3], [-1.0]]))
    assert logits.result() == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="shape"):
        metrics.CategoricalAccuracy().update_state(np.array([1, 2]), np.ones((2, 3)))
    cfg = metrics.serialize(metrics.BinaryAccuracy(threshold=0.3))
    assert metrics.deserialize(cfg).threshold == 0.3


def test_a_users_metric_result_in_tensor_ops_is_logged_as_a_number():
    """A Metric subclass whose result() is written in keras.ops returns a tensor; fit's
    history, evaluate and train_on_batch log it as a float, as Keras does."""
    import convnp as tf

    class Hits(tf.keras.metrics.Metric):
        def __init__(self, name="hits", **kwargs):
            super().__init__(name=name, **kwargs)
            self.count = self.add_variable(shape=(), initializer="zeros", name="count")

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.count.assign_add(tf.keras.ops.sum(tf.keras.ops.cast(y_pred > 0.5, "float32")))

        def result(self):
            return self.count * 1.0

    x, y = np.ones((8, 2), np.float32), np.ones((8, 1), np.float32)
    model = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1, "sigmoid")])
    model.compile("sgd", "mse", metrics=[Hits()])
    history = model.fit(x, y, epochs=1, verbose=0)
    logs = model.evaluate(x, y, return_dict=True, verbose=0)
    batch = model.train_on_batch(x, y, return_dict=True)
    for value in (history.history["hits"][0], logs["hits"], batch["hits"]):
        assert type(value) is float
