"""Second-order gradients are not computed by convnp: a tape whose target depends on a
gradient another tape returned inside its block must refuse by name, never return the
first-order part alone (keras.io's WGAN-GP gradient penalty is the case users meet).

TensorFlow 2.21's numbers, for the record (not asserted: convnp refuses): for y = x**3 at
x = 2, the outer tape's d/dx of the inner dy/dx is 12.0; for the gradient-penalty model below,
TensorFlow gives non-zero kernel gradients of the penalty."""

import numpy as np
import pytest

import convnp as tf

tfl = tf.keras.layers


def test_gradient_of_a_gradient_raises_instead_of_none():
    x = tf.Variable(2.0)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = x * x * x
        dy_dx = inner.gradient(y, x)
        assert float(dy_dx) == pytest.approx(12.0)  # first order is right
    with pytest.raises(NotImplementedError, match="second-order gradients"):
        outer.gradient(dy_dx, x)


def test_gradient_penalty_on_a_critic_raises():
    tf.keras.utils.set_random_seed(0)
    critic = tf.keras.Sequential([tf.keras.Input((6, 6, 1)), tfl.Conv2D(2, 3), tfl.Flatten(),
                                  tfl.Dense(1)])
    images = tf.constant(np.random.default_rng(0).normal(size=(3, 6, 6, 1)).astype("float32"))
    with tf.GradientTape() as tape:
        score = tf.reduce_mean(critic(images, training=True))
        with tf.GradientTape() as gp_tape:
            gp_tape.watch(images)
            pred = critic(images, training=True)
        grads = gp_tape.gradient(pred, [images])[0]
        norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]))
        gp = tf.reduce_mean((norm - 1.0) ** 2)
        loss = score + 10.0 * gp
    with pytest.raises(NotImplementedError, match="tf.stop_gradient"):
        tape.gradient(loss, critic.trainable_variables)


def test_stopped_inner_gradient_leaves_first_order_training_working():
    tf.keras.utils.set_random_seed(0)
    critic = tf.keras.Sequential([tf.keras.Input((4,)), tfl.Dense(1)])
    x = tf.constant(np.ones((2, 4), "float32"))
    with tf.GradientTape() as tape:
        score = tf.reduce_mean(critic(x))
        with tf.GradientTape() as gp_tape:
            gp_tape.watch(x)
            pred = critic(x)
        grads = tf.stop_gradient(gp_tape.gradient(pred, x))
        loss = score + tf.reduce_sum(grads) * 0.0
    kernel_grad, bias_grad = tape.gradient(loss, critic.trainable_variables)
    np.testing.assert_allclose(np.asarray(kernel_grad), np.ones((4, 1)), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(bias_grad), [1.0], rtol=1e-6)


def test_inner_gradient_the_outer_target_does_not_use_is_harmless():
    x = tf.Variable(3.0)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = x * x
        g = inner.gradient(y, x)
        z = 5.0 * y
    assert float(g) == pytest.approx(6.0)
    assert float(outer.gradient(z, x)) == pytest.approx(30.0)


def test_two_tapes_used_after_their_blocks_as_dcgan_does():
    a, b = tf.Variable(2.0), tf.Variable(5.0)
    with tf.GradientTape() as tape_a, tf.GradientTape() as tape_b:
        loss_a = a * b
        loss_b = a + b * b
    assert float(tape_a.gradient(loss_a, a)) == pytest.approx(5.0)
    assert float(tape_b.gradient(loss_b, b)) == pytest.approx(10.0)


def test_gradient_inside_its_own_block_still_works():
    w = tf.Variable([1.0, 2.0])
    with tf.GradientTape(persistent=True) as tape:
        loss = tf.reduce_sum(w * w)
        g = tape.gradient(loss, w)
    np.testing.assert_allclose(np.asarray(g), [2.0, 4.0])
    np.testing.assert_allclose(np.asarray(tape.gradient(loss, w)), [2.0, 4.0])
