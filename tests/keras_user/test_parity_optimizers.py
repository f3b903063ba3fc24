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
