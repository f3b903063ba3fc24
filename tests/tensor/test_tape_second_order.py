"""Second-order gradients: a tape recording around another tape's `gradient` differentiates
what that gradient computed (keras.io's WGAN-GP gradient penalty, an R1 penalty, a
Hessian-vector product).

TensorFlow 2.21's numbers come from tests/fixtures/make_second_order.py
(second_order.npz); the layer rules are also checked against central differences in float64
(test_layer_second_order.py)."""

import re
from pathlib import Path

import numpy as np
import pytest

import convnp as tf

tfl = tf.keras.layers
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "second_order.npz"


@pytest.fixture(scope="module")
def ref():
    with np.load(FIXTURE) as data:
        return dict(data)


def _set(model, ref, name):
    count = len(model.get_weights())
    model.set_weights([ref[f"{name}_w{i}"] for i in range(count)])


def _functional_critic():
    inp = tf.keras.Input((8, 8, 1))
    x = tfl.ZeroPadding2D((1, 1))(inp)
    x = tfl.Conv2D(4, 3, strides=2, padding="same")(x)
    x = tfl.LeakyReLU(0.2)(x)
    x = tfl.Conv2D(6, 3, strides=2, padding="same", activation="tanh")(x)
    x = tfl.Flatten()(x)
    x = tfl.Dropout(0.0)(x)
    x = tfl.Dense(5, activation="sigmoid")(x)
    x = tfl.Dense(1)(x)
    return tf.keras.Model(inp, x)


class _SubclassedCritic(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.conv = tfl.Conv2D(3, 3, strides=2, padding="same")
        self.flat = tfl.Flatten()
        self.dense = tfl.Dense(4)
        self.head = tfl.Dense(1)

    def call(self, x):
        h = tf.nn.leaky_relu(self.conv(x), alpha=0.2)
        h = self.flat(h)
        h = tf.tanh(self.dense(h)) * 2.0 + tf.square(h[:, :4])
        return self.head(h)


def _wgan_gp_gradients(critic, ref, name):
    real, fake = tf.constant(ref[f"{name}_real"]), tf.constant(ref[f"{name}_fake"])
    alpha = ref[f"{name}_alpha"]
    axes = list(range(1, real.ndim))
    with tf.GradientTape() as tape:
        interpolated = real + alpha * (fake - real)
        with tf.GradientTape() as gp_tape:
            gp_tape.watch(interpolated)
            pred = critic(interpolated, training=True)
        grads = gp_tape.gradient(pred, [interpolated])[0]
        norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=axes))
        gp = tf.reduce_mean((norm - 1.0) ** 2)
        loss = (tf.reduce_mean(critic(fake, training=True))
                - tf.reduce_mean(critic(real, training=True)) + 10.0 * gp)
    return float(gp), tape.gradient(loss, critic.trainable_variables)


def _assert_gradients(found, ref, name):
    assert len(found) == len([k for k in ref if re.fullmatch(rf"{name}_g\d+", k)])
    for i, g in enumerate(found):
        if ref[f"{name}_g{i}"].size == 0:  # TensorFlow: None (the target does not use it)
            assert g is None, f"{name} weight {i}"
            continue
        assert g is not None, f"no gradient for weight {i}"
        np.testing.assert_allclose(np.asarray(g), ref[f"{name}_g{i}"], rtol=2e-4, atol=2e-5,
                                   err_msg=f"{name} weight {i}")


def test_gradient_of_a_gradient_of_a_cube():
    x = tf.Variable(2.0)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = x * x * x
        dy_dx = inner.gradient(y, x)
    assert float(dy_dx) == pytest.approx(12.0)
    assert float(outer.gradient(dy_dx, x)) == pytest.approx(12.0)  # 6x at x = 2


def test_third_derivative_with_three_tapes():
    x = tf.Variable(1.5)
    with tf.GradientTape() as t3:
        with tf.GradientTape() as t2:
            with tf.GradientTape() as t1:
                y = tf.sin(x) * x
            d1 = t1.gradient(y, x)
        d2 = t2.gradient(d1, x)
    d3 = t3.gradient(d2, x)
    v = 1.5
    assert float(d1) == pytest.approx(np.cos(v) * v + np.sin(v), rel=1e-6)
    assert float(d2) == pytest.approx(-np.sin(v) * v + 2 * np.cos(v), rel=1e-5)
    assert float(d3) == pytest.approx(-np.cos(v) * v - 3 * np.sin(v), rel=1e-5)


def test_hessian_vector_product_of_tensor_ops():
    # f(w) = sum(tanh(x @ w) ** 2) + sum(w ** 3) / 3; H v by differentiating <grad f, v>
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 3))
    w0 = rng.normal(size=(3, 2))
    v = rng.normal(size=(3, 2))
    w = tf.Variable(w0)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            f = tf.reduce_sum(tf.tanh(tf.constant(x) @ w) ** 2) + tf.reduce_sum(w ** 3) / 3.0
        g = inner.gradient(f, w)
        gv = tf.reduce_sum(g * v)
    hv = np.asarray(outer.gradient(gv, w))

    def grad(wv):
        t = np.tanh(x @ wv)
        return x.T @ (2 * t * (1 - t * t)) + wv ** 2

    eps = 1e-6
    expected = (grad(w0 + eps * v) - grad(w0 - eps * v)) / (2 * eps)
    np.testing.assert_allclose(hv, expected, rtol=1e-6, atol=1e-8)


def test_wgan_gp_on_a_functional_critic_matches_tensorflow(ref):
    critic = _functional_critic()
    _set(critic, ref, "functional")
    gp, found = _wgan_gp_gradients(critic, ref, "functional")
    assert gp == pytest.approx(float(ref["functional_gp"]), rel=1e-5)
    _assert_gradients(found, ref, "functional")


def test_wgan_gp_on_a_subclassed_critic_matches_tensorflow(ref):
    critic = _SubclassedCritic()
    critic(np.zeros((1, 6, 6, 1), "float32"))
    _set(critic, ref, "subclassed")
    gp, found = _wgan_gp_gradients(critic, ref, "subclassed")
    assert gp == pytest.approx(float(ref["subclassed_gp"]), rel=1e-5)
    _assert_gradients(found, ref, "subclassed")


def test_r1_penalty_on_a_sequential_critic_matches_tensorflow(ref):
    # smooth activations put second derivatives on values inside the model (the images'
    # gradient of the penalty needs them taken back through the layers before)
    critic = tf.keras.Sequential([
        tf.keras.Input((6, 6, 2)),
        tfl.Conv2D(3, 3, padding="same", activation="relu"),
        tfl.AveragePooling2D(2),
        tfl.Conv2D(4, 2, activation="elu"),
        tfl.Activation("softplus"),
        tfl.GlobalAveragePooling2D(),
        tfl.Dense(4, activation="silu"),
        tfl.Dense(3, activation="gelu"),
        tfl.Dense(1),
    ])
    _set(critic, ref, "sequential")
    images = tf.constant(ref["sequential_images"])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(images)
        with tf.GradientTape() as r1_tape:
            r1_tape.watch(images)
            score = tf.reduce_sum(critic(images, training=True))
        grads = r1_tape.gradient(score, images)
        r1 = tf.reduce_mean(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]))
    assert float(r1) == pytest.approx(float(ref["sequential_r1"]), rel=1e-5)
    _assert_gradients(tape.gradient(r1, critic.trainable_variables), ref, "sequential")
    np.testing.assert_allclose(np.asarray(tape.gradient(r1, images)),
                               ref["sequential_dimages"], rtol=2e-4, atol=2e-5)


def test_second_order_through_an_unsupported_layer_refuses_by_name():
    tf.keras.utils.set_random_seed(0)
    critic = tf.keras.Sequential([tf.keras.Input((6, 6, 1)), tfl.Conv2D(2, 3),
                                  tfl.SeparableConv2D(2, 3), tfl.Flatten(), tfl.Dense(1)])
    images = tf.constant(np.random.default_rng(0).normal(size=(3, 6, 6, 1)).astype("float32"))
    with tf.GradientTape() as tape:
        with tf.GradientTape() as gp_tape:
            gp_tape.watch(images)
            pred = critic(images, training=True)
        grads = gp_tape.gradient(pred, [images])[0]
        gp = tf.reduce_mean(tf.square(grads))
    with pytest.raises(NotImplementedError, match="SeparableConv2D"):
        tape.gradient(gp, critic.trainable_variables)


def test_second_order_through_an_op_without_a_rule_refuses():
    x = tf.Variable([0.5, 1.5])
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = tf.math.reduce_prod(x * x + 1.0)  # reduce_prod has no second-order rule
        g = inner.gradient(y, x)
        z = tf.reduce_sum(g * g)
    with pytest.raises(NotImplementedError, match="tf.stop_gradient"):
        outer.gradient(z, x)


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
