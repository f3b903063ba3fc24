"""``self.add_loss`` in users' layers and models, and ``model.losses`` as Keras gives them:
fit adds the penalties to the loss and differentiates them (checked against central
differences), a custom loop's ``loss += sum(model.losses)`` carries their gradients, and
``compute_loss`` in a custom ``train_step`` includes them."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from tests.helpers import check_training_gradients, numerical_gradient, rel_error

keras = tf.keras
layers = keras.layers
ops = keras.ops
rng = np.random.default_rng(11)


class Penalized(layers.Layer):
    """Dense-like; penalises its output and its input (the input's penalty reaches the layers
    before it)."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), name="w",
                                 initializer="glorot_uniform")

    def call(self, x):
        y = ops.matmul(x, self.w)
        self.add_loss(0.05 * ops.sum(ops.square(y)))
        self.add_loss(0.02 * ops.mean(ops.abs(x) ** 3, axis=-1))  # summed to a scalar
        return ops.tanh(y)


def _model():
    keras.utils.set_random_seed(3)
    inputs = keras.Input((4,), dtype="float64")
    h = layers.Dense(5, dtype="float64", kernel_regularizer=keras.regularizers.L2(0.01))(inputs)
    h = Penalized(3, dtype="float64")(h)
    return keras.Model(inputs, layers.Dense(2, dtype="float64")(h))


def test_fit_differentiates_added_losses_and_regularizers():
    model = _model()
    model.compile(keras.optimizers.SGD(0.1), "mse")
    x, y = rng.standard_normal((6, 4)), rng.standard_normal((6, 2))
    assert check_training_gradients(model, x, y, atol=1e-6) == 5
    # the reported loss includes the penalties
    plain = float(keras.losses.MeanSquaredError()(y, model.predict(x, verbose=0)))
    penalties = float(sum(model.losses))
    assert model.evaluate(x, y, verbose=0, batch_size=6) == pytest.approx(plain + penalties)


def test_losses_are_those_of_the_last_call():
    model = _model()
    x = rng.standard_normal((3, 4))
    model(x)
    first = [float(v) for v in model.losses]
    model(x)
    assert len(model.losses) == len(first) == 3  # two added, one kernel penalty
    assert [float(v) for v in model.losses] == pytest.approx(first)
    model(2 * x)
    assert float(model.losses[0]) != pytest.approx(first[0])
    dense = model.layers[1]
    assert [float(v) for v in dense.losses] == pytest.approx(
        [0.01 * float(np.sum(dense.kernel.numpy() ** 2))])


@pytest.mark.parametrize("scale, with_losses", [(1.0, True), (0.5, True), (1.0, False)])
def test_a_custom_loop_gets_the_gradients_of_model_losses(scale, with_losses):
    """``loss += sum(model.losses)`` (scaled or not at all): the added losses' gradients reach
    the layer's weights and the layers before it, as much as the loss uses them."""
    model = _model()
    x, y = rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    loss_fn = keras.losses.MeanSquaredError()

    def total(tensors=False):
        out = model(x, training=True)
        value = loss_fn(y, out)
        if with_losses:
            value = value + scale * sum(model.losses)
        return value if tensors else np.asarray(value)

    with tf.GradientTape() as tape:
        loss = total(tensors=True)
    grads = tape.gradient(loss, model.trainable_weights)
    assert len(grads) == 5 and all(g is not None for g in grads)
    for variable, grad in zip(model.trainable_weights, grads):
        numeric = numerical_gradient(total, variable.value, np.array(1.0))
        assert rel_error(np.asarray(grad), numeric) < 1e-6, variable.name


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = layers.Dense(6, activation="relu")
        self.out = layers.Dense(1)

    def call(self, x):
        h = self.hidden(x)
        self.add_loss(1e-3 * ops.sum(ops.square(h)))
        return self.out(h)


def test_a_subclassed_model_adds_its_own_loss():
    keras.utils.set_random_seed(4)
    model = Subclassed()
    model.compile(keras.optimizers.Adam(0.01), "mse")
    x = rng.standard_normal((64, 3)).astype("float32")
    y = x[:, :1] * 2.0
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0).history["loss"]
    assert history[-1] < history[0]
    model(x[:4])
    assert len(model.losses) == 1 and float(model.losses[0]) > 0.0
    plain = float(keras.losses.MeanSquaredError()(y, model.predict(x, verbose=0)))
    assert model.evaluate(x, y, verbose=0, batch_size=64) > plain  # the penalty counts


def test_compute_loss_in_a_train_step_includes_model_losses():
    seen = []

    class Stepped(keras.Model):
        def train_step(self, data):
            x, y = data
            with tf.GradientTape() as tape:
                y_pred = self(x, training=True)
                loss = self.compute_loss(y=y, y_pred=y_pred)
            seen.append((float(loss), float(self.compiled_loss(y, y_pred)),
                         float(sum(self.losses))))
            grads = tape.gradient(loss, self.trainable_variables)
            self.optimizer.apply(grads, self.trainable_variables)
            return {"loss": loss}

    inputs = keras.Input((4,))
    model = Stepped(inputs, layers.Dense(
        1, kernel_regularizer=keras.regularizers.L2(0.5))(inputs))
    model.compile(keras.optimizers.SGD(0.01), "mse")
    x = rng.standard_normal((8, 4)).astype("float32")
    model.fit(x, x[:, :1], epochs=1, batch_size=8, verbose=0)
    total, data, penalties = seen[0]
    assert penalties > 0 and total == pytest.approx(data + penalties, rel=1e-6)


def test_add_loss_refuses_a_function():
    layer = layers.Dense(2)
    with pytest.raises(TypeError, match="not a function"):
        layer.add_loss(lambda: 1.0)
