"""Optimizer calls of Keras training code behave as in TensorFlow 2.21.

The expected values below were read from TensorFlow 2.21 running the same programs."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras


def _fit(exclude=None):
    """A Dense (ones) and a LayerNormalization trained one step by AdamW(0.1, decay 0.5) on
    a zero target: the weights after it."""
    model = keras.Sequential([
        keras.Input((3,)),
        keras.layers.Dense(2, kernel_initializer="ones", bias_initializer="ones"),
        keras.layers.LayerNormalization()])
    optimizer = keras.optimizers.AdamW(learning_rate=0.1, weight_decay=0.5)
    if exclude == "names":
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    elif exclude == "list":
        optimizer.exclude_from_weight_decay(var_list=[model.layers[0].kernel])
    model.compile(optimizer, "mse")
    model.fit(np.ones((4, 3), "float32"), np.zeros((4, 2), "float32"), epochs=1, verbose=0)
    return [round(float(w.ravel()[0]), 4) for w in model.get_weights()]


def test_exclude_from_weight_decay():
    # TF 2.21 (kernel, bias, gamma, beta): the gradients of this model are zero, so only the
    # decay (w -= w * 0.5 * 0.1) moves a weight. convnp had no exclude_from_weight_decay.
    assert _fit() == [0.95, 0.95, 0.95, 0.0]
    assert _fit("names") == [0.95, 1.0, 1.0, 0.0]
    assert _fit("list") == [1.0, 0.95, 0.95, 0.0]


def test_exclude_from_weight_decay_takes_names_as_a_list():
    # TF 2.21 takes a string and splits it into one-letter patterns (silently excluding any
    # name with a "b", "i", "a" or "s"); convnp says what it expects
    with pytest.raises(TypeError, match="var_names must be a list of strings"):
        keras.optimizers.AdamW(weight_decay=0.1).exclude_from_weight_decay(var_names="bias")


def test_learning_rate_given_as_a_function():
    # TF 2.21 (Keras 3): a function of no arguments is called once for each update (convnp
    # raised TypeError: learning_rate must be a number)
    calls = []

    def rate():
        calls.append(1)
        return 0.2 if len(calls) < 3 else 0.1

    optimizer = tf.keras.optimizers.SGD(rate)
    variable = tf.Variable([1.0])
    for _ in range(4):
        optimizer.apply_gradients([(tf.constant([1.0]), variable)])
    assert float(np.asarray(variable)[0]) == pytest.approx(0.4, abs=1e-6)
    assert len(calls) == 4
    assert float(optimizer.learning_rate) == pytest.approx(0.1)
    assert len(optimizer.variables) == 1  # the step count only, as with a schedule
    assert optimizer.get_config()["learning_rate"] == {
        "module": "builtins", "class_name": "function", "config": "rate",
        "registered_name": "function"}
    adam = tf.keras.optimizers.Adam(lambda: 0.1)
    weights = tf.Variable([1.0, 2.0])
    for _ in range(3):
        adam.apply_gradients([(tf.constant([1.0, -0.5]), weights)])
    np.testing.assert_allclose(np.asarray(weights), [0.7, 2.3], atol=1e-5)
