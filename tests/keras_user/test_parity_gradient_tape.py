"""GradientTape as notebooks use it, checked against TensorFlow 2.21: the
``tf.UnconnectedGradients`` enum, ``tape.jacobian`` and ``tape.batch_jacobian``, and the
gradient of ``%`` (``tf.math.floormod``).

Every expected value below is what TensorFlow 2.21 gives for the same program.
"""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf


def _values(t):
    return np.round(np.asarray(t, dtype=np.float64), 4).tolist()


def test_unconnected_gradients_enum():
    v, u = tf.Variable(2.0), tf.Variable(5.0)
    with tf.GradientTape(persistent=True) as tape:
        y = v * v
    zero = tape.gradient(y, [v, u], unconnected_gradients=tf.UnconnectedGradients.ZERO)
    assert _values(zero[0]) == 4.0 and _values(zero[1]) == 0.0
    assert tape.gradient(y, u, unconnected_gradients=tf.UnconnectedGradients.NONE) is None
    assert _values(tape.gradient(y, u, unconnected_gradients="zero")) == 0.0
    with pytest.raises(ValueError):
        tape.gradient(y, u, unconnected_gradients="zeros")


def test_jacobian_of_elementwise_square():
    w = tf.Variable([1., 2.])
    with tf.GradientTape() as tape:
        y = w * w
    j = tape.jacobian(y, w)  # TF 2.21: [[2, 0], [0, 4]], float32
    assert j.dtype == tf.float32 and _values(j) == [[2., 0.], [0., 4.]]
    with pytest.raises(RuntimeError):  # a non-persistent tape is used up, as in TF
        tape.jacobian(y, w)


def test_jacobian_structure_shapes_and_unconnected():
    w = tf.Variable([[1., 2.], [3., 4.]])
    b = tf.Variable([0.5, -0.5])
    u = tf.Variable(1.)
    x = tf.constant([[1., -1.], [2., 0.5], [0., 1.]])
    with tf.GradientTape(persistent=True) as tape:
        y = tf.tanh(x @ w + b)
        total = tf.reduce_sum(y)
        one = y[1, 0]
    jw, jb = tape.jacobian(y, [w, b])
    assert jw.shape == (3, 2, 2, 2) and jb.shape == (3, 2, 2)
    # TF 2.21's values for the bias block of example 0
    assert _values(jb[0]) == [[0.1807, 0.], [0., 0.0266]]
    assert list(tape.jacobian(y, {"b": b})) == ["b"]
    assert _values(tape.jacobian(total, b)) == [0.1857, 0.0303]
    assert tape.jacobian(y, u) is None
    zero = tape.jacobian(y, u, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    assert zero.shape == (3, 2) and not np.any(np.asarray(zero))
    # each slice is the gradient of one output element
    g = tape.gradient(one, w)
    np.testing.assert_allclose(np.asarray(jw[1, 0]), np.asarray(g), rtol=1e-6)


def test_batch_jacobian():
    x = tf.Variable([[1., -1.], [2., 0.5], [0., 1.]])
    w = tf.constant([[1., 2.], [3., 4.]])
    with tf.GradientTape(persistent=True) as tape:
        y = tf.tanh(x @ w)
    bj = tape.batch_jacobian(y, x)
    assert bj.shape == (3, 2, 2)
    full = np.asarray(tape.jacobian(y, x))
    for i in range(3):
        np.testing.assert_allclose(np.asarray(bj[i]), full[i, :, i, :], rtol=1e-6)
    with pytest.raises(ValueError):  # batch sizes differ
        tape.batch_jacobian(y, x[:1])


def test_batch_jacobian_of_a_model_and_of_an_unwatched_source():
    x = tf.constant([[1., -1.], [2., 0.5], [0., 1.]])
    model = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(
        3, activation="tanh", kernel_initializer="ones")])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = model(x)
        s = tf.reduce_sum(x, axis=1)
    bj = tape.batch_jacobian(y, x)
    assert bj.shape == (3, 3, 2)
    assert _values(bj[2]) == [[0.42] * 2] * 3  # TF 2.21: 1 - tanh(1)**2 everywhere
    with pytest.raises(ValueError):  # TF 2.21: the target needs rank 2 or more
        tape.batch_jacobian(s, x)
    other = tf.constant([[1.], [2.], [3.]])
    zeros = tape.batch_jacobian(y, other)  # TF 2.21: zeros, not None
    assert zeros.shape == (3, 3, 1) and not np.any(np.asarray(zeros))


def test_gradient_of_floormod():
    v = tf.Variable([1., 2.])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.math.floormod(v, 1.5) + tf.math.mod(v * 3., 2.))
    assert _values(tape.gradient(y, v)) == [4., 4.]  # TF 2.21
    d = tf.Variable([1.5, 0.75])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.constant([4., 2.]) % d)
    assert _values(tape.gradient(y, d)) == [-2., -2.]  # -floor(x / y), TF 2.21


def test_lists_holding_variables_pass_gradients():
    v, w = tf.Variable(2.), tf.Variable([1., 2.])
    C = tf.constant
    cases = [  # TF 2.21 packs such lists with a recorded stack (convnp's gave None)
        (lambda: tf.keras.losses.MeanSquaredError()(C([[1., 2.]]), tf.stack([[v, v]])),
         1.0, None),
        (lambda: tf.nn.softmax_cross_entropy_with_logits(C([[0., 1.]]), tf.stack([[v, 0.]])),
         0.8808, None),
        (lambda: tf.convert_to_tensor([v, 3.]) * C([1., 5.]), 1.0, None),
        (lambda: tf.concat([[v, v], w], 0) * C([1., 2., 3., 4.]), 3.0, [3., 4.]),
        (lambda: tf.add([v, v], w), 2.0, [1., 1.]),
        (lambda: tf.reduce_sum([v, w[0], 3.]), 1.0, [1., 0.]),
        (lambda: tf.matmul([[v, 1.]], [[1.], [v]]), 2.0, None),
    ]
    for make, dv, dw in cases:
        with tf.GradientTape() as tape:
            y = make()
        gv, gw = tape.gradient(y, [v, w])
        assert _values(gv) == dv
        assert (gw is None) if dw is None else _values(gw) == dw
