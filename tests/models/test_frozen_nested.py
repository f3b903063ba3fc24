"""Freezing a model and unfreezing one of its layers again, as Keras 3.15.1 does it (the same
program, run under TensorFlow 2.21, printed the counts asserted here):

* a frozen model has no trainable weights, whatever its layers say, and `fit` on it trains
  nothing;
* a frozen model *inside* another one is looked through: the outer model trains the inner
  layers that are trainable themselves.
"""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

L = tf.keras.layers


def _counts(model) -> tuple[int, int]:
    return len(model.trainable_weights), len(model.non_trainable_weights)


def _fit_once(model) -> None:
    model.compile("sgd", "mse")
    model.fit(np.ones((8, 4)), np.ones((8, 1)), epochs=1, verbose=0)


def test_an_unfrozen_layer_of_a_frozen_top_model_does_not_train():
    model = tf.keras.Sequential([L.Input((4,)), L.Dense(3), L.Dense(1)])
    model.trainable = False
    model.layers[0].trainable = True
    assert _counts(model) == (0, 4)
    before = [w.copy() for w in model.get_weights()]
    with pytest.warns(UserWarning, match="does not have any trainable weights"):  # as TF
        _fit_once(model)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.trainable = True
    assert _counts(model) == (4, 0)


def test_an_unfrozen_layer_of_a_frozen_inner_model_trains_with_the_outer_model():
    inner = tf.keras.Sequential([L.Input((4,)), L.Dense(3), L.BatchNormalization(),
                                 L.Dense(2)])
    inputs = tf.keras.Input((4,))
    model = tf.keras.Model(inputs, L.Dense(1)(inner(inputs)))
    inner.trainable = False
    inner.layers[0].trainable = True
    assert _counts(inner) == (0, 8)
    assert _counts(model) == (4, 6)
    kernels = [layer.kernel.numpy().copy() for layer in (inner.layers[0], inner.layers[2])]
    moving_mean = inner.layers[1].moving_mean.numpy().copy()
    _fit_once(model)
    assert not np.allclose(kernels[0], inner.layers[0].kernel.numpy())  # trainable itself
    np.testing.assert_array_equal(kernels[1], inner.layers[2].kernel.numpy())  # frozen
    np.testing.assert_array_equal(moving_mean, inner.layers[1].moving_mean.numpy())
