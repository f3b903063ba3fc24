"""An optimizer's slots belong to the variables it was built with, found by identity (Keras 3):
a step may update any subset of them in any order (a frozen layer drops out of the trainable
list; a GAN step updates part of a model), and a variable it was not built with is refused,
even one of the same shape (its slots would be another variable's moments)."""

import numpy as np
import pytest

import convnp as tf

tfl = tf.keras.layers


def _model():
    m = tf.keras.Sequential([tf.keras.Input((3,)), tfl.Dense(3), tfl.Dense(3), tfl.Dense(1)])
    m.set_weights([np.random.default_rng(i).normal(size=w.shape).astype("float32")
                   for i, w in enumerate(m.get_weights())])
    return m


def _step(m, opt, variables):
    x = tf.constant(np.ones((2, 3), "float32"))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(m(x) ** 2)
    opt.apply_gradients(zip(tape.gradient(loss, variables), variables))


def test_subsets_and_orders_match_keras():
    m = _model()
    opt = tf.keras.optimizers.Adam(1e-2)
    v = m.trainable_variables
    _step(m, opt, v)
    _step(m, opt, v[2:])             # the first layer left out
    _step(m, opt, v[2:4] + v[0:2])   # two (3, 3) kernels and (3,) biases, swapped
    _step(m, opt, v)
    assert int(opt.iterations.numpy()) == 4
    # TensorFlow 2.21 / Keras 3.15.1, same program (first two entries of each weight)
    expected = [[0.1528400033712387, -0.15897999703884125],
                [0.37268999218940735, 0.7947400212287903],
                [0.22814999520778656, -0.4839099943637848],
                [2.079930067062378, -2.5169200897216797],
                [-0.6250799894332886, -0.14609000086784363], [-0.8304200172424316]]
    for w, want in zip(m.get_weights(), expected):
        np.testing.assert_allclose(w.ravel()[:2], want, atol=2e-5)


def test_a_variable_it_was_not_built_with_is_refused():
    a, b = _model(), _model()
    opt = tf.keras.optimizers.Adam(1e-2)
    _step(a, opt, a.trainable_variables)
    before = [w.copy() for w in b.get_weights()]
    with pytest.raises(ValueError, match="Unknown variable .*originally built with"):
        _step(b, opt, b.trainable_variables)  # same shapes, other variables
    for w, old in zip(b.get_weights(), before):
        np.testing.assert_array_equal(w, old)
    assert int(opt.iterations.numpy()) == 1


def test_fit_after_freezing_a_layer_without_recompiling():
    m = _model()
    m.compile(optimizer=tf.keras.optimizers.Adam(1e-2), loss="mse")
    x, y = np.ones((4, 3), "float32"), np.zeros((4, 1), "float32")
    m.fit(x, y, verbose=0)
    m.layers[0].trainable = False
    frozen = [w.copy() for w in m.layers[0].get_weights()]
    last = m.layers[2].get_weights()[0].copy()
    m.fit(x, y, verbose=0)
    for w, old in zip(m.layers[0].get_weights(), frozen):
        np.testing.assert_array_equal(w, old)
    assert not np.array_equal(m.layers[2].get_weights()[0], last)


def test_built_from_arrays_takes_the_first_step_s_variables():
    m = _model()
    opt = tf.keras.optimizers.SGD(0.1, momentum=0.9)
    opt.build([w.value for w in m.trainable_variables])
    _step(m, opt, m.trainable_variables)
    _step(m, opt, m.trainable_variables[4:])
    other = _model()
    with pytest.raises(ValueError, match="Unknown variable"):
        _step(other, opt, other.trainable_variables)
