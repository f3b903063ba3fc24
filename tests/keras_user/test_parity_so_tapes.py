"""Nested tapes where the outer tape follows a value the inner one does not (an inner tape
with watch_accessed_variables=False that watches only the input, or a constant the outer
tape alone watches): the inner gradient depends on that value, and TensorFlow's outer tape
differentiates it; convnp used to give None silently. Values are TensorFlow 2.21's."""

import numpy as np

import convnp as tf


def test_constant_watched_by_the_outer_tape_only():
    x, w = tf.constant([1.0, 2.0]), tf.constant([0.5, -0.3])
    with tf.GradientTape() as t2:
        t2.watch(w)
        with tf.GradientTape() as t1:
            t1.watch(x)
            y = tf.reduce_sum(w * x ** 2)
        g = t1.gradient(y, x)
    np.testing.assert_allclose(np.asarray(t2.gradient(g, w)), [2.0, 4.0])  # TF: 2x


def test_variable_the_inner_tape_does_not_watch():
    x, v = tf.constant([1.0, 2.0]), tf.Variable([0.5, -0.3])
    with tf.GradientTape() as t2:
        with tf.GradientTape(watch_accessed_variables=False) as t1:
            t1.watch(x)
            y = tf.reduce_sum(v * x ** 2)
        g = t1.gradient(y, x)
    np.testing.assert_allclose(np.asarray(t2.gradient(g, v)), [2.0, 4.0])
    # the inner tape still does not differentiate with respect to v (None, as TF)
    with tf.GradientTape(watch_accessed_variables=False) as t1:
        t1.watch(x)
        y = tf.reduce_sum(v * x ** 2)
    assert t1.gradient(y, v) is None


def test_input_gradient_penalty_with_an_input_only_inner_tape():
    tf.keras.backend.clear_session()
    model = tf.keras.Sequential([tf.keras.Input((3,)),
                                 tf.keras.layers.Dense(2, activation="tanh"),
                                 tf.keras.layers.Dense(1)])
    model.set_weights([np.array([[0.3, -0.2], [0.1, 0.4], [-0.5, 0.2]], np.float32),
                       np.array([0.1, -0.1], np.float32),
                       np.array([[0.7], [-0.6]], np.float32), np.array([0.05], np.float32)])
    x = tf.constant(np.array([[0.1, 0.2, 0.3], [0.5, -0.4, 0.2]], np.float32))
    with tf.GradientTape() as t2:
        with tf.GradientTape(watch_accessed_variables=False) as t1:
            t1.watch(x)
            p = model(x)
        g = t1.gradient(p, x)
        s = tf.reduce_sum(g ** 2)
    grads = t2.gradient(s, model.trainable_variables)
    assert t1.watched_variables() == ()
    # TF 2.21's values (the last bias has no second-order term: None there too)
    expected = [[[0.852453, -0.668137], [-0.405132, 0.304762], [-1.304943, 1.082016]],
                [-0.093095, 0.13226], [[1.240893], [-0.841251]]]
    for got, want in zip(grads[:3], expected):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-6)
    assert grads[3] is None
