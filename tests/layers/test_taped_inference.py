"""Calls in tensor ops (a user's layer, MultiHeadAttention) skip their private tape in an
inference-only pass (predict, evaluate) and keep it wherever a backward may follow."""

import numpy as np
import pytest

import convnp as tf
from convnp.tensor.tape import recording


class Probe(tf.keras.layers.Layer):
    """A user layer in tensor ops that notes whether a tape records its call, and adds a loss."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], 2), initializer="glorot_uniform")
        self.seen = []

    def call(self, x):
        self.seen.append(recording())
        self.add_loss(0.5 * tf.reduce_sum(tf.square(self.w)))
        return tf.nn.relu(tf.matmul(x, self.w))


def _model():
    tf.keras.utils.set_random_seed(3)
    inputs = tf.keras.Input((4,))
    probe = Probe()
    out = tf.keras.layers.Dense(1)(probe(inputs))
    model = tf.keras.Model(inputs, out)
    model.compile(optimizer="sgd", loss="mse")
    return model, probe


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(8, 4)).astype(np.float32), rng.normal(size=(8, 1)).astype(np.float32)


def test_predict_runs_without_a_tape_and_gives_the_same_values():
    model, probe = _model()
    x, _ = _data()
    taped = model(x, training=False).numpy()
    probe.seen.clear()
    np.testing.assert_allclose(model.predict(x, verbose=0), taped, rtol=1e-6)
    assert probe.seen == [False]


def test_evaluate_without_a_tape_still_counts_the_added_loss():
    model, probe = _model()
    x, y = _data()
    probe.seen.clear()
    loss = model.evaluate(x, y, verbose=0)
    assert probe.seen == [False]
    out = model.predict(x, verbose=0)
    penalty = 0.5 * float(np.sum(np.square(probe.w.numpy())))
    assert loss == pytest.approx(float(np.mean((out - y) ** 2)) + penalty, rel=1e-5)


def test_fit_after_predict_keeps_its_tape_and_trains_the_layer():
    model, probe = _model()
    x, y = _data()
    model.predict(x, verbose=0)
    before = probe.w.numpy().copy()
    probe.seen.clear()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert probe.seen == [True]
    assert not np.allclose(probe.w.numpy(), before)


def test_a_users_tape_around_an_inference_call_still_gets_gradients():
    model, _ = _model()
    x, _ = _data()
    with tf.GradientTape() as tape:
        out = model(x, training=False)
        total = tf.reduce_sum(out)
    grads = tape.gradient(total, model.trainable_variables)
    assert all(g is not None for g in grads)
    assert float(np.abs(grads[0].numpy()).sum()) > 0


def test_attention_predict_matches_its_taped_call():
    tf.keras.utils.set_random_seed(1)
    inputs = tf.keras.Input((6, 8))
    out = tf.keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)(inputs, inputs)
    model = tf.keras.Model(inputs, out)
    x = np.random.default_rng(2).normal(size=(3, 6, 8)).astype(np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), model(x).numpy(), rtol=1e-5,
                               atol=1e-6)
