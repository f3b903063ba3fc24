"""A tape's gradient computes only what leads to its sources: a model asked for its input
gradient alone skips its weight products, one asked for its weights alone skips the input
gradient; the gradients themselves do not change."""

import numpy as np
import pytest

import convnp as tf
from convnp import ops


@pytest.fixture
def conv_calls(monkeypatch):
    calls = []
    original = ops.conv_backward

    def spy(dz, cache, compute_dA_prev=True, compute_dW=True):
        calls.append((compute_dA_prev, compute_dW))
        return original(dz, cache, compute_dA_prev=compute_dA_prev, compute_dW=compute_dW)

    monkeypatch.setattr(ops, "conv_backward", spy)
    return calls


def _model():
    tf.keras.utils.set_random_seed(0)
    return tf.keras.Sequential([tf.keras.Input((8, 8, 3)),
                                tf.keras.layers.Conv2D(4, 3, activation="relu"),
                                tf.keras.layers.Conv2D(4, 3), tf.keras.layers.Flatten(),
                                tf.keras.layers.Dense(2)])


def test_an_input_gradient_skips_the_weight_products(conv_calls):
    model = _model()
    x = tf.constant(np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32"))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        score = tf.reduce_sum(model(x)[:, 0])
    saliency = tape.gradient(score, x)
    assert conv_calls == [(True, False), (True, False)]
    conv_calls.clear()
    both = tape.gradient(score, [x] + model.trainable_variables)
    assert conv_calls == [(True, True), (True, True)]
    np.testing.assert_allclose(np.asarray(saliency), np.asarray(both[0]), rtol=1e-6)
    assert model.layers[0].kernel.grad is not None  # a full pass still sets them


def test_a_weight_gradient_skips_the_input_gradient(conv_calls):
    model = _model()
    x = tf.constant(np.random.default_rng(1).normal(size=(2, 8, 8, 3)).astype("float32"))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        loss = tf.reduce_sum(model(x) ** 2)
    grads = tape.gradient(loss, model.trainable_variables)
    assert conv_calls == [(True, True), (False, True)]  # last conv first: dx only upstream
    conv_calls.clear()
    again = tape.gradient(loss, model.trainable_variables + [x])
    for a, b in zip(grads, again):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)
