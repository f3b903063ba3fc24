"""Softmax over any axis of its input, as attention blocks (EANet's double normalization,
a 1-D score vector) use it. Each expected value below is what TF 2.21 (Keras 3.15) gave for
the same program."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
L = keras.layers


def test_softmax_of_a_vector():
    # TF 2.21: Softmax()([1, 2, 3]) (convnp refused a rank-1 input: ValueError)
    np.testing.assert_allclose(np.asarray(L.Softmax()(np.array([1.0, 2.0, 3.0], "float32"))),
                               [0.09003, 0.244728, 0.665241], atol=1e-5)


def test_softmax_along_the_batch_axis():
    # TF 2.21: axis=0 normalizes each column over the examples, in a layer call, in a
    # model (every example in one pass) and under a tape
    x = np.array([[1.0, 2.0], [3.0, 5.0]], "float32")
    np.testing.assert_allclose(np.asarray(L.Softmax(axis=0)(x)),
                               [[0.119203, 0.047426], [0.880797, 0.952574]], atol=1e-5)
    inp = keras.Input((3,))
    model = keras.Model(inp, L.Softmax(axis=0)(inp))
    batch = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]] * 4, "float32")
    out = np.asarray(model(batch))
    np.testing.assert_allclose(out.sum(axis=0), [1.0, 1.0, 1.0], atol=1e-5)
    np.testing.assert_allclose(out[:2], np.array([[0.5, 0.731059, 0.880797],
                                                  [0.5, 0.268941, 0.119203]]) / 4, atol=1e-5)
    v = tf.Variable(x)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(L.Softmax(axis=0)(v) * tf.constant([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_allclose(np.asarray(tape.gradient(loss, v)),
                               [[-0.209987, -0.090353], [0.209987, 0.090353]], atol=1e-5)


@pytest.mark.parametrize("axis", [2, -3])
def test_axis_beyond_the_rank_is_invalid_argument(axis):
    # TF 2.21: InvalidArgumentError (a ValueError) when called on a rank-2 input
    with pytest.raises(tf.errors.InvalidArgumentError):
        L.Softmax(axis=axis)(np.zeros((2, 2), "float32"))
