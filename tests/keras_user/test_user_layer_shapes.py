"""A user's layer written on keras.layers.Layer, once built, takes inputs of other shapes, as
in Keras 3 (it has no input_spec unless it sets one): a weightless layer shared between
tensors of different sizes, a per-channel weight applied to a batch of another rank. Built-in
layers keep checking the shape they were built for; an input_spec the user sets is honoured."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras


class Double(keras.layers.Layer):
    def call(self, x):
        return x * 2.0


class ChannelScale(keras.layers.Layer):
    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        return x * self.scale


def test_eager_calls_on_other_shapes():
    layer = Double()
    assert layer(np.ones((2, 3), np.float32)).shape == (2, 3)
    assert layer(np.ones((2, 4), np.float32)).shape == (2, 4)
    assert layer(np.ones((2, 3, 5), np.float32)).shape == (2, 3, 5)
    scale = ChannelScale()
    scale(np.ones((2, 3), np.float32))
    assert scale(np.ones((5, 2, 3), np.float32)).shape == (5, 2, 3)
    x = tf.Variable(np.ones((2, 4), np.float32))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(layer(x))
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), np.full((2, 4), 2.0))


def test_one_layer_shared_between_tensors_of_other_shapes_in_a_model():
    a, b = keras.Input((3,)), keras.Input((4, 5))
    shared = Double()
    ya, yb = shared(a), shared(b)
    assert (tuple(ya.shape), tuple(yb.shape)) == ((None, 3), (None, 4, 5))
    model = keras.Model([a, b], [ya, yb])
    out = model.predict([np.ones((2, 3)), np.ones((2, 4, 5))], verbose=0)
    assert [o.shape for o in out] == [(2, 3), (2, 4, 5)]


def test_built_in_layers_and_input_specs_still_check():
    dense = keras.layers.Dense(2)
    dense(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError):
        dense(np.ones((2, 4), np.float32))

    class Ranked(Double):
        def __init__(self):
            super().__init__()
            self.input_spec = keras.layers.InputSpec(ndim=2)

    ranked = Ranked()
    ranked(np.ones((2, 3), np.float32))
    assert ranked(np.ones((2, 7), np.float32)).shape == (2, 7)
    with pytest.raises(ValueError):
        ranked(np.ones((2, 3, 1), np.float32))
