"""Lambda: forward, gradients from the tape (in fit and under a user's tape), output shapes,
config in memory, and the refusal to save."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp.io import saving
from convnp.layers import Lambda
from tests.helpers import numerical_gradient, rel_error

rng = np.random.default_rng(0)


def test_forward_with_arguments_and_training():
    layer = Lambda(lambda x, k, training=False: x * k + (1.0 if training else 0.0),
                   arguments={"k": 2.0})
    x = rng.standard_normal((2, 3)).astype("float32")
    np.testing.assert_allclose(layer(x, training=False), 2 * x)
    np.testing.assert_allclose(layer(x, training=True), 2 * x + 1)


def test_backward_matches_central_differences():
    layer = Lambda(lambda t: tf.reduce_sum(tf.nn.relu(t) ** 2, axis=-1, keepdims=True)
                   * tf.tanh(t), dtype="float64")
    x = rng.standard_normal((3, 4))
    x_before = x.copy()
    y = layer.call(x)
    dy = rng.standard_normal(np.shape(y))
    dx = layer.backward(dy)
    np.testing.assert_array_equal(x, x_before)
    numeric = numerical_gradient(lambda: np.asarray(layer.call(x)), x, dy)
    assert rel_error(dx, numeric) < 1e-7


def test_list_input_and_output_shapes():
    a, b = tf.keras.Input((4,)), tf.keras.Input((4,))
    out = Lambda(lambda ts: ts[0] * ts[1])([a, b])
    assert out.shape == (None, 4)
    assert Lambda(lambda t: t, output_shape=(2, 2))(tf.keras.Input((4,))).shape == (None, 2, 2)
    assert Lambda(lambda t: t, output_shape=lambda s: (s[0], 7))(
        tf.keras.Input((4,))).shape == (None, 7)
    inferred = Lambda(lambda t: tf.reduce_mean(t, axis=[1, 2]))(tf.keras.Input((5, 6, 3)))
    assert inferred.shape == (None, 3)


def test_trains_in_fit_and_under_a_tape():
    inp = tf.keras.Input((4, 4, 2))
    h = tf.keras.layers.Conv2D(3, 3, padding="same")(inp)
    h = Lambda(lambda t: tf.nn.relu(t) * 2.0)(h)
    h = Lambda(lambda t: tf.reduce_mean(t, axis=[1, 2]))(h)
    model = tf.keras.Model(inp, tf.keras.layers.Dense(1)(h))
    model.compile("sgd", "mse")
    x = rng.standard_normal((8, 4, 4, 2)).astype("float32")
    y = rng.standard_normal((8, 1)).astype("float32")
    before = model.layers[1].get_weights()[0].copy()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    # the conv kernel only changes if the gradient crossed both Lambdas
    assert not np.allclose(model.layers[1].get_weights()[0], before)

    xt = tf.constant(x[:2])
    with tf.GradientTape() as tape:
        tape.watch(xt)
        s = tf.reduce_sum(Lambda(lambda t: t ** 2)(xt))
    np.testing.assert_allclose(tape.gradient(s, xt), 2 * x[:2], rtol=1e-6)


def test_config_in_memory_and_refusals(tmp_path):
    layer = Lambda(lambda t: t + 1.0, output_shape=(3,), arguments={})
    clone = Lambda.from_config(layer.get_config())
    x = np.ones((1, 3), dtype="float32")
    np.testing.assert_array_equal(clone(x), layer(x))
    assert clone.get_config()["output_shape"] == [3]
    with pytest.raises(TypeError, match="callable"):
        Lambda("lambda x: x")
    with pytest.raises(TypeError, match="arguments"):
        Lambda(abs, arguments=[1])
    with pytest.raises(TypeError, match="mask"):
        Lambda(abs, mask=3)  # a callable (or None) gives the output's mask
    assert Lambda(abs, mask=lambda x, m: m).supports_masking
    with pytest.raises(TypeError, match="output_shape"):
        Lambda(abs, output_shape="big")

    model = tf.keras.Sequential([tf.keras.Input((3,)), Lambda(lambda t: t * 2, name="double")])
    path = tmp_path / "m.convnp"
    with pytest.raises(TypeError, match="Lambda layer 'double'.*custom"):
        saving.save_model(model, path)
    assert not path.exists()


def test_two_input_lambda_in_a_siamese_fit():
    a, b = tf.keras.Input((4,)), tf.keras.Input((4,))
    tower = tf.keras.layers.Dense(3)
    distance = Lambda(lambda t: tf.reduce_sum(tf.square(t[0] - t[1]), axis=1, keepdims=True))
    out = tf.keras.layers.Dense(1, activation="sigmoid")(distance([tower(a), tower(b)]))
    model = tf.keras.Model([a, b], out)
    model.compile("adam", "binary_crossentropy")
    xa = rng.standard_normal((8, 4)).astype("float32")
    xb = rng.standard_normal((8, 4)).astype("float32")
    before = tower.get_weights()[0].copy()
    model.fit([xa, xb], rng.integers(0, 2, (8, 1)).astype("float32"), epochs=1, verbose=0)
    # the shared tower learns only through the Lambda's two input gradients
    assert not np.allclose(tower.get_weights()[0], before)
    dist = np.asarray(distance([tower(xa), tower(xb)]))
    np.testing.assert_allclose(
        dist, np.sum((np.asarray(tower(xa)) - np.asarray(tower(xb))) ** 2, axis=1,
                     keepdims=True), rtol=1e-5)
