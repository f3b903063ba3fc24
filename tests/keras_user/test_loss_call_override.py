"""A user's `keras.losses.Loss` that overrides ``__call__`` (keras.io's supervised
contrastive learning) instead of ``call``: fit differentiates it with the tape. Before, fit
raised a bare NotImplementedError, or refused labels (N, 1) against features (N, 16)."""

from __future__ import annotations

import numpy as np

import convnp as tf
from convnp import keras


class TenTimesMae(keras.losses.Loss):
    def __call__(self, y_true, y_pred, sample_weight=None):
        return tf.reduce_mean(tf.abs(y_true - y_pred)) * 10.0


def test_fit_and_evaluate_use_the_override():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.set_weights([np.ones((4, 2), np.float32), np.zeros(2, np.float32)])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=TenTimesMae())
    x, y = np.ones((8, 4), np.float32), np.zeros((8, 2), np.float32)
    assert model.evaluate(x, y, verbose=0) == 40.0
    history = model.fit(x, y, epochs=2, verbose=0).history
    # TensorFlow 2.21: loss [40.0, 37.5], bias [-0.1, -0.1] after the two steps
    np.testing.assert_allclose(history["loss"], [40.0, 37.5], rtol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], [-0.1, -0.1], rtol=1e-5)


class Contrastive(keras.losses.Loss):
    def __init__(self, temperature=0.5, name=None):
        super().__init__(name=name)
        self.temperature = temperature

    def __call__(self, labels, feature_vectors, sample_weight=None):
        f = tf.math.l2_normalize(feature_vectors, axis=1)
        logits = tf.divide(tf.matmul(f, tf.transpose(f)), self.temperature)
        return tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(
            tf.reshape(labels, (-1,)), logits, from_logits=True))


def test_contrastive_loss_with_labels_unlike_the_outputs():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 6)).astype(np.float32)
    labels = (np.arange(8) % 4).reshape(8, 1)
    encoder = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16)])
    loss = Contrastive()
    encoder.compile(keras.optimizers.SGD(0.1), loss=loss)
    before = [w.copy() for w in encoder.get_weights()]
    with tf.GradientTape() as tape:
        value = loss(labels, encoder(x))
    expected = [np.asarray(g) for g in tape.gradient(value, encoder.trainable_variables)]
    history = encoder.fit(x, labels, batch_size=8, shuffle=False, verbose=0).history
    np.testing.assert_allclose(history["loss"][0], float(value), rtol=1e-5)
    for w0, w1, g in zip(before, encoder.get_weights(), expected):
        np.testing.assert_allclose(w1, w0 - 0.1 * g, rtol=1e-4, atol=1e-6)
