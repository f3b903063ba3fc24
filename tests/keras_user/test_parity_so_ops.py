"""Second-order gradients through tensor ops a Keras user writes between two tapes:
tf.concat, tf.stack, tf.cast, tf.where, tf.clip_by_value, and the ReLU family, whose
gradient of a gradient is zeros (not None) in TensorFlow.

The expected numbers are TensorFlow 2.21's, for x = [0.5, -1.2, 2.0]."""

import numpy as np
import pytest

import convnp as tf

X0 = np.array([0.5, -1.2, 2.0], np.float32)
WEIGHTS = np.array([1.0, 2.0, 3.0], np.float32)


def _three(objective, x0):
    """The first three derivatives of the scalar ``objective(x)`` at ``x0`` (three tapes)."""
    x = tf.constant(x0)
    with tf.GradientTape() as t3:
        t3.watch(x)
        with tf.GradientTape() as t2:
            t2.watch(x)
            with tf.GradientTape() as t1:
                t1.watch(x)
                y = objective(x)
            d1 = t1.gradient(y, x)
        d2 = t2.gradient(d1, x)
    return d1, d2, t3.gradient(d2, x)


def _second(f):
    """d/dx of d/dx sum(f(x) * [1, 2, 3]) with two tapes."""
    x = tf.constant(X0)
    with tf.GradientTape() as t2:
        t2.watch(x)
        with tf.GradientTape() as t1:
            t1.watch(x)
            y = tf.reduce_sum(f(x) * WEIGHTS)
        d1 = t1.gradient(y, x)
    return t2.gradient(d1, x)


@pytest.mark.parametrize("f, expected", [
    # TF 2.21's values
    (lambda x: tf.where(x > 0, x ** 3, x ** 2), [3.0, 4.0, 36.0]),
    (lambda x: tf.clip_by_value(x, -1.0, 1.0) ** 3, [3.0, 0.0, 0.0]),
    (lambda x: tf.stack([x, x ** 2]) ** 2, [5.0, 38.56, 150.0]),
    (lambda x: tf.cast(x, tf.float32) ** 3, [3.0, -14.4, 36.0]),
    (lambda x: tf.cast(tf.cast(x, tf.float64) ** 3, tf.float32), [3.0, -14.4, 36.0]),
])
def test_second_derivative_through_op(f, expected):
    np.testing.assert_allclose(np.asarray(_second(f)), expected, rtol=1e-5, atol=1e-5)


def test_concat_third_derivative():
    d1, d2, d3 = _three(lambda x: tf.reduce_sum(tf.concat([x, x ** 2], 0) ** 2), X0)
    # TF 2.21's values
    np.testing.assert_allclose(np.asarray(d1), [1.5, -9.312, 36.0], rtol=1e-5)
    np.testing.assert_allclose(np.asarray(d2), [5.0, 19.28, 50.0], rtol=1e-5)
    np.testing.assert_allclose(np.asarray(d3), [12.0, -28.8, 48.0], rtol=1e-5)


@pytest.mark.parametrize("f", [tf.nn.relu, tf.nn.leaky_relu, tf.nn.relu6])
def test_relu_family_second_and_third_derivative_are_zeros(f):
    _, d2, d3 = _three(lambda x: tf.reduce_sum(f(x)), X0)
    # TF 2.21: zeros (its ReluGrad reads x), where convnp gave None and then a TypeError
    assert d2 is not None and d3 is not None
    np.testing.assert_array_equal(np.asarray(d2), np.zeros(3))
    np.testing.assert_array_equal(np.asarray(d3), np.zeros(3))


def _conditional_critic():
    tf.keras.backend.clear_session()
    model = tf.keras.Sequential([
        tf.keras.Input((6, 6, 2)),
        tf.keras.layers.Conv2D(3, 3, strides=2, padding="same"),
        tf.keras.layers.LeakyReLU(0.2),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(1),
    ])
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32)
                       for w in model.get_weights()])
    return model


def test_gradient_penalty_with_tf_concat_of_label_maps():
    """A conditional WGAN-GP critic fed tf.concat([images, label maps], -1) inside the
    penalty: the concat's gradient is differentiated again (convnp refused it)."""
    rng = np.random.default_rng(1)
    images = rng.normal(size=(4, 6, 6, 1)).astype(np.float32)
    maps = rng.normal(size=(4, 6, 6, 1)).astype(np.float32)
    critic = _conditional_critic()

    def penalty(join):
        x = tf.constant(images)
        with tf.GradientTape() as t2:
            with tf.GradientTape() as t1:
                t1.watch(x)
                score = critic(join(x), training=True)
            g = t1.gradient(score, x)
            norm = tf.sqrt(tf.reduce_sum(tf.square(g), axis=[1, 2, 3]))
            gp = tf.reduce_mean((norm - 1.0) ** 2)
        return gp, t2.gradient(gp, critic.trainable_weights)

    gp, grads = penalty(lambda x: tf.concat([x, maps], axis=-1))
    # the same critic on the same numbers joined by NumPy around the image: the same terms
    ref_gp, ref_grads = penalty(
        lambda x: tf.reshape(tf.stack([x[..., 0], tf.constant(maps[..., 0])], -1),
                             (4, 6, 6, 2)))
    np.testing.assert_allclose(float(gp), float(ref_gp), rtol=1e-6)
    for i in (0, 2):  # the two kernels (the biases get no second-order term)
        g, r = grads[i], ref_grads[i]
        np.testing.assert_allclose(np.asarray(g), np.asarray(r), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("f, d2, d3", [
    # TF 2.21's second and third derivatives of sum(f(x))
    (tf.math.erf, [-0.878783, 0.641626, -0.0826679], [-0.878783, 1.00521, 0.289338]),
    (tf.nn.gelu, [0.616114, 0.108744, -0.107982], [-0.660122, 0.596539, 0.0]),
    (lambda x: tf.nn.gelu(x, approximate=True), [0.615507, 0.10981, -0.107875],
     [-0.661218, 0.592245, -0.005733]),
])
def test_erf_and_gelu_second_and_third_derivatives(f, d2, d3):
    _, g2, g3 = _three(lambda x: tf.reduce_sum(f(x)), X0)
    np.testing.assert_allclose(np.asarray(g2), d2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(g3), d3, rtol=1e-4, atol=1e-6)


def test_gradient_penalty_through_einsum_reduce_max_min_and_tensordot():
    """A critic written in tensor ops (tf.einsum as a dense layer, tf.reduce_max and
    tf.reduce_min as global pooling, tf.tensordot as the head), which convnp refused."""
    rng = np.random.default_rng(51)
    images = rng.normal(size=(3, 5, 4)).astype(np.float32)
    w1 = tf.Variable(np.round(rng.normal(0, 0.5, (4, 6)), 2).astype(np.float32))
    w2 = tf.Variable(np.round(rng.normal(0, 0.5, (6, 1)), 2).astype(np.float32))

    def critic(x):
        h = tf.tanh(tf.einsum("btc,cd->btd", x, w1))
        h = tf.reduce_max(h, axis=1) + tf.reduce_min(h, axis=1) * 0.5
        return tf.tensordot(h, w2, axes=1)

    x = tf.constant(images)
    with tf.GradientTape() as t2:
        with tf.GradientTape() as t1:
            t1.watch(x)
            score = critic(x)
        g = t1.gradient(score, x)
        penalty = tf.reduce_mean((tf.sqrt(tf.reduce_sum(tf.square(g), axis=[1, 2])) - 1) ** 2)
    g1, g2 = t2.gradient(penalty, [w1, w2])
    # TF 2.21's values
    np.testing.assert_allclose(float(penalty), 0.14900946617126465, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(g1).ravel()[:8], [
        0.00432654, -0.0316068, 0.131351, 0.00194711, -0.0268349, -0.00055451, 0.0038745,
        0.0576321], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(np.asarray(g2).ravel(), [
        -0.11081, -0.458557, -0.35028, 0.0135969, 0.0732238, 0.115647], rtol=1e-4)


_X2 = np.array([[0.5, -1.2, 2.0], [0.3, 0.7, -0.4]], np.float32)
_W12 = np.array([1.0, -2.0, 3.0, 0.5, 1.5, -1.0, 2.0, 0.25, -0.5, 1.0, 0.3, 0.9], np.float32)


@pytest.mark.parametrize("f, d2, d3", [
    # TF 2.21's second and third derivatives of sum(f(x) * w)
    (lambda x: tf.reshape(tf.pad(x, [[1, 1], [0, 0]]) ** 3, [-1])[:12],
     [1.5, -10.8, -12.0, 3.6, 1.05, 1.2], [3.0, 9.0, -6.0, 12.0, 1.5, -3.0]),
    (lambda x: tf.reshape(tf.reverse(x ** 2, [1]) ** 2, [-1]),
     [9.0, -34.56, 48.0, -1.08, 8.82, 0.96], [36.0, 57.6, 48.0, -7.2, 25.2, -4.8]),
    (lambda x: tf.reshape(tf.tile(x ** 2, [2, 1]) * tf.tile(x, [2, 1]), [-1]),
     [9.0, 12.6, 30.0, 2.7, 7.56, 0.24], [18.0, -10.5, 15.0, 9.0, 10.8, -0.6]),
])
def test_pad_reverse_tile_second_and_third_derivatives(f, d2, d3):
    def objective(x):
        v = f(x)
        return tf.reduce_sum(v * _W12[:v.shape[0]])

    _, g2, g3 = _three(objective, _X2)
    np.testing.assert_allclose(np.asarray(g2).ravel(), d2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(g3).ravel(), d3, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("f, expected", [
    # TF 2.21's gradient of sum(w * (d/dx sum(w * f(x)))**2)
    (lambda x: tf.keras.ops.cumsum(x, axis=1) ** 3,
     [1480.9, 1402.8, 1596.3, 70.024, 66.825, -57.51]),
    (tf.keras.ops.erf, [-1.5445, -2.7446, -0.092259, -0.15952, -4.5158, -1.4793]),
])
def test_keras_ops_cumsum_and_erf_penalized_gradient(f, expected):
    w = np.array([[1.0, -2.0, 3.0], [0.5, 1.5, -1.0]], np.float32)
    x = tf.constant(_X2)
    with tf.GradientTape() as t2:
        t2.watch(x)
        with tf.GradientTape() as t1:
            t1.watch(x)
            y = tf.reduce_sum(f(x) * w)
        g = t1.gradient(y, x)
        s = tf.reduce_sum(tf.square(g) * w)
    np.testing.assert_allclose(np.asarray(t2.gradient(s, x)).ravel(), expected, rtol=2e-4)
