"""Keras 2's ``tf.keras.backend.rnn``: the eager loop over time steps, its masks, directions
and layouts, and its gradient through a tape. Expected numbers are TensorFlow 2.21's on the
same inputs (read off there once)."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

K = tf.keras.backend
X = np.arange(2 * 4 * 3, dtype=np.float32).reshape(2, 4, 3) / 10
W = np.linspace(-1, 1, 6).astype(np.float32).reshape(3, 2)
H0 = [np.zeros((2, 2), np.float32)]


def _step(inputs, states):
    out = tf.tanh(tf.matmul(inputs, W) + states[0])
    return out, [out]


def _first_units(outputs):
    return np.round(np.asarray(outputs)[:, :, 0], 4)


def test_plain_and_backwards_loops():
    last, outputs, states = K.rnn(_step, X, H0)
    np.testing.assert_allclose(np.asarray(last), [[-0.5888, 0.9171], [-0.9712, 0.9855]],
                               atol=1e-4)
    np.testing.assert_allclose(_first_units(outputs), [[0.0997, 0.0197, -0.2358, -0.5888],
                                                       [-0.5511, -0.8743, -0.9522, -0.9712]],
                               atol=1e-4)
    assert outputs.shape == (2, 4, 2) and [s.shape for s in states] == [(2, 2)]
    last, outputs, _ = K.rnn(_step, X, H0, go_backwards=True)
    np.testing.assert_allclose(np.asarray(last), [[-0.4488, 0.7877], [-0.9156, 0.9571]],
                               atol=1e-4)
    np.testing.assert_allclose(_first_units(outputs), [[-0.4136, -0.5874, -0.5832, -0.4488],
                                                       [-0.821, -0.9469, -0.941, -0.9156]],
                               atol=1e-4)


def test_masks_hold_states_and_outputs():
    mask = np.array([[1, 1, 0, 1], [1, 0, 0, 0]], bool)
    last, outputs, _ = K.rnn(_step, X, H0, mask=mask)
    np.testing.assert_allclose(np.asarray(last), [[-0.3972, 0.8639], [-0.5511, 0.7352]],
                               atol=1e-4)
    np.testing.assert_allclose(_first_units(outputs), [[0.0997, 0.0197, 0.0197, -0.3972],
                                                       [-0.5511, -0.5511, -0.5511, -0.5511]],
                               atol=1e-4)
    last, outputs, _ = K.rnn(_step, X, H0, mask=mask, zero_output_for_mask=True)
    np.testing.assert_allclose(np.asarray(last), [[-0.3972, 0.8639], [0, 0]], atol=1e-4)
    np.testing.assert_allclose(_first_units(outputs), [[0.0997, 0.0197, 0, -0.3972],
                                                       [-0.5511, 0, 0, 0]], atol=1e-4)


def test_layouts_constants_and_last_output_only():
    _, outputs, _ = K.rnn(_step, X, H0, return_all_outputs=False)
    assert outputs.shape == (2, 1, 2)
    last, outputs, _ = K.rnn(_step, np.transpose(X, (1, 0, 2)), H0, time_major=True)
    assert outputs.shape == (4, 2, 2)
    np.testing.assert_allclose(np.asarray(outputs)[:, :, 0].T,
                               np.asarray(K.rnn(_step, X, H0)[1])[:, :, 0], rtol=1e-6)

    def with_constant(inputs, states):
        h, c = states
        out = tf.tanh(tf.matmul(inputs, W) + h * c)
        return out, [out]

    last, _, _ = K.rnn(with_constant, X, H0, constants=[np.full((2, 2), 0.5, np.float32)])
    np.testing.assert_allclose(np.asarray(last), [[-0.5184, 0.799], [-0.9217, 0.9604]],
                               atol=1e-4)


def test_gradient_through_the_loop():
    v = tf.Variable(W)

    def step(inputs, states):
        out = tf.tanh(tf.matmul(inputs, v) + states[0])
        return out, [out]

    with tf.GradientTape() as tape:
        last, _, _ = K.rnn(step, X, H0)
        loss = tf.reduce_sum(last)
    np.testing.assert_allclose(np.asarray(tape.gradient(loss, v)),
                               [[1.2751, 0.2503], [1.5313, 0.2821], [1.7875, 0.3139]],
                               atol=1e-4)


@pytest.mark.parametrize("inputs, mask", [(np.ones((2, 3)), None),
                                          (X, np.ones((2, 4, 1), bool))])
def test_bad_shapes_are_refused(inputs, mask):
    with pytest.raises(ValueError, match="rnn"):
        K.rnn(_step, inputs, H0, mask=mask)
