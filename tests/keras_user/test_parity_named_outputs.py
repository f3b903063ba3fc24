"""A user's layer returning a named tuple: TF 2.21 gives the named tuple back, called on
arrays and on a model's symbolic tensors (fields usable by name while building)."""

import collections

import numpy as np

import convnp as tf

Pair = collections.namedtuple("Pair", ["a", "b"])


class _Split(tf.keras.layers.Layer):
    def call(self, x):
        return Pair(x * 2.0, x + 1.0)


def test_a_named_tuple_comes_back_on_arrays_and_in_a_model():
    out = _Split()(np.ones((2, 3), "float32"))
    assert type(out) is Pair
    np.testing.assert_allclose(np.asarray(out.a), 2.0)
    inp = tf.keras.Input((3,))
    split = _Split()(inp)
    assert type(split) is Pair
    model = tf.keras.Model(inp, tf.keras.layers.Add()([split.a, split.b]))
    np.testing.assert_allclose(np.asarray(model(np.ones((1, 3), "float32"))), 4.0)
