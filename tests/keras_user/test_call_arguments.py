"""Users' layers whose ``call`` takes more than one tensor or an option (``call(self, query,
value)``, ``call(self, x, factor=2.0)``), called on arrays and tensors, alone, under a tape and
inside a subclassed model trained by fit; and tf.Variables given as inputs, which a caller's
tape must follow through users' layers and subclassed models."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp import keras
from tests.helpers import numerical_gradient, rel_error


class Gate(keras.layers.Layer):
    """``a * sigmoid(b @ w) * scale``: two tensors and an option."""

    def build(self, a_shape, b_shape):
        self.w = self.add_weight(shape=(b_shape[-1], a_shape[-1]), initializer="glorot_uniform")

    def call(self, a, b, scale=1.0, training=None):
        return a * tf.sigmoid(tf.matmul(b, self.w)) * scale


def test_two_tensors_and_an_option_on_arrays_and_under_a_tape():
    rng = np.random.default_rng(0)
    a0, b0 = rng.normal(size=(4, 3)), rng.normal(size=(4, 5))
    layer = Gate(dtype="float64")
    out = layer(a0, b0, scale=2.0)
    assert tuple(layer.w.shape) == (5, 3)  # build(a_shape, b_shape) got both, by name
    w = layer.w.numpy()
    np.testing.assert_allclose(out.numpy(), a0 / (1 + np.exp(-(b0 @ w))) * 2.0, rtol=1e-12)
    np.testing.assert_allclose(layer(a0, b0, 3.0).numpy(), out.numpy() * 1.5, rtol=1e-12)
    dy = rng.normal(size=(4, 3))
    a, b = tf.Variable(a0), tf.constant(b0)
    with tf.GradientTape() as tape:
        tape.watch(b)
        loss = tf.reduce_sum(layer(a, b, scale=2.0, training=True) * dy)
    da, db, dw = tape.gradient(loss, [a, b, layer.w])
    for value, got in ((a0, da), (b0, db), (layer.w.value, dw)):
        x = value.copy() if value is not layer.w.value else value

        def f(x=x, value=value):
            args = (x, b0) if value is a0 else (a0, x) if value is b0 else (a0, b0)
            return np.asarray(layer(*args, scale=2.0))

        assert rel_error(np.asarray(got), numerical_gradient(f, x, dy)) < 1e-8


class Blend(keras.Model):
    def __init__(self):
        super().__init__()
        self.left = keras.layers.Dense(3)
        self.right = keras.layers.Dense(3)
        self.gate = Gate()
        self.head = keras.layers.Dense(1)

    def call(self, x):
        return self.head(self.gate(self.left(x), self.right(x), scale=0.5))


def test_inside_a_subclassed_model_trained_by_fit():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = x[:, :1] * 0.5 - x[:, 1:2]
    model = Blend()
    model.compile(keras.optimizers.Adam(0.02), "mse")
    hist = model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert hist.history["loss"][-1] < 0.5 * hist.history["loss"][0]
    assert tuple(model.gate.w.shape) == (3, 3)


def test_what_cannot_take_extra_arguments_says_so():
    x = keras.Input((3,))
    with pytest.raises(NotImplementedError, match="one list of inputs"):
        Gate()(x, x)
    with pytest.raises(TypeError, match="extra arguments"):
        keras.layers.Dense(2)(np.ones((1, 3)), np.ones((1, 3)))
    with pytest.raises(TypeError, match="gate"):
        Gate(name="gate")(np.ones((1, 3)), np.ones((1, 3)), np.ones(1), 1, 2)
    # Keras 2 code passes training positionally to built-in layers: still understood
    assert np.count_nonzero(keras.layers.Dropout(0.5)(np.ones((1, 400)), True)) < 400
    assert np.count_nonzero(keras.layers.Dropout(0.5)(np.ones((1, 400)), False)) == 400


class Triple(keras.layers.Layer):
    def call(self, x):
        return x * 3.0


class Doubler(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(2)

    def call(self, x):
        return self.dense(x) * 2.0


def test_a_variable_input_gets_its_gradient_through_users_layers_and_models():
    """Neural style transfer writes ``model(image_variable)``: the tape must reach the
    variable through a user's layer or subclassed model (it got None)."""
    image = tf.Variable(np.ones((1, 3), np.float32))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(Triple()(image))
    np.testing.assert_allclose(tape.gradient(loss, image).numpy(), [[3.0, 3.0, 3.0]])
    model = Doubler()
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(image))
    np.testing.assert_allclose(tape.gradient(loss, image).numpy()[0],
                               2.0 * model.dense.kernel.numpy().sum(axis=1), rtol=1e-6)


def test_training_given_positionally_on_symbolic_tensors():
    x = keras.Input((400,))
    model = keras.Model(x, keras.layers.Dropout(0.5)(x, True))
    assert np.count_nonzero(model.predict(np.ones((1, 400)), verbose=0)) < 400
