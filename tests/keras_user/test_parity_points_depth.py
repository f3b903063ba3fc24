"""keras.io's monocular depth estimation: a Model subclass with no constructor arguments
(``DepthEstimationModel()``), its own ``train_step`` and a ``keras.metrics.Mean`` tracker.
TF 2.21 saves it as ``.keras`` and raises TypeError when loading it back cannot rebuild it
(its ``__init__`` takes no ``trainable``/``dtype``), as for a user's layer whose
``from_config`` fails; convnp's error is a TypeError too (and still a ValueError)."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
layers = keras.layers


class Block(layers.Layer):
    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.conv = layers.Conv2D(filters, 3, padding="same")
        self.relu = layers.LeakyReLU(negative_slope=0.2)

    def call(self, x):
        return self.relu(self.conv(x))


class Depth(keras.Model):
    def __init__(self):
        super().__init__()
        self.loss_metric = keras.metrics.Mean(name="loss")
        self.block = Block(2)
        self.out_conv = layers.Conv2D(1, 1, activation="tanh")

    @property
    def metrics(self):
        return [self.loss_metric]

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.abs(y - self(x, training=True)))
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        self.loss_metric.update_state(loss)
        return {"loss": self.loss_metric.result()}

    def call(self, x):
        return self.out_conv(self.block(x))


class Scale(layers.Layer):
    def __init__(self, k=2.0, **kwargs):
        super().__init__(**kwargs)
        self.k = k

    def call(self, x):
        return x * self.k

    def get_config(self):
        return {**super().get_config(), "k": self.k, "extra": 1}


_X = np.linspace(0, 1, 2 * 6 * 6 * 3, dtype="float32").reshape(2, 6, 6, 3)


def test_a_model_subclass_that_cannot_be_rebuilt_is_a_typeerror(tmp_path):
    model = Depth()
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(_X, _X[..., :1], epochs=1, verbose=0)
    assert list(history.history) == ["loss"]  # TF 2.21's keys
    model.save(tmp_path / "depth.keras")
    # TF 2.21: TypeError both without the class and with it (its __init__ takes no config)
    with pytest.raises(TypeError, match="Depth"):
        keras.models.load_model(tmp_path / "depth.keras")
    with pytest.raises(TypeError, match="Depth") as caught:
        keras.models.load_model(tmp_path / "depth.keras",
                                custom_objects={"Depth": Depth, "Block": Block})
    assert isinstance(caught.value, ValueError)  # convnp's type before, kept


def test_a_user_layer_whose_from_config_fails_is_a_typeerror(tmp_path):
    inputs = keras.Input((3,))
    keras.Model(inputs, Scale()(inputs)).save(tmp_path / "scale.keras")
    # TF 2.21: TypeError (the config's "extra" is not a constructor argument)
    with pytest.raises(TypeError, match="Scale"):
        keras.models.load_model(tmp_path / "scale.keras", custom_objects={"Scale": Scale})


class OwnSteps(keras.Model):
    """keras.io's depth model's shape: its steps compute their own loss, so the loss given to
    compile (a sparse cross-entropy that could not fit a 1-channel depth map) is never read."""

    def __init__(self):
        super().__init__()
        self.loss_metric = keras.metrics.Mean(name="loss")
        self.conv = layers.Conv2D(1, 3, padding="same", activation="tanh")

    @property
    def metrics(self):
        return [self.loss_metric]

    def train_step(self, batch_data):
        x, y = batch_data
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.abs(y - self(x, training=True)))
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        self.loss_metric.update_state(loss)
        return {"loss": self.loss_metric.result()}

    def test_step(self, batch_data):
        x, y = batch_data
        self.loss_metric.update_state(tf.reduce_mean(tf.abs(y - self(x, training=False))))
        return {"loss": self.loss_metric.result()}

    def call(self, x):
        return self.conv(x)


def test_own_steps_ignore_a_compiled_loss_that_does_not_fit_the_outputs():
    x = np.linspace(0, 1, 4 * 8 * 8 * 3, dtype="float32").reshape(4, 8, 8, 3)
    y = x[..., :1] * 0.5
    model = OwnSteps()
    model(x[:1])
    model.set_weights([np.full(w.shape, 0.05, "float32") for w in model.weights])
    model.compile(keras.optimizers.SGD(learning_rate=0.1, nesterov=False),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True,
                                                                  reduction="none"))
    history = model.fit(x, y, epochs=2, batch_size=2, validation_data=(x, y), verbose=0,
                        shuffle=False)
    # TF 2.21's history and evaluate for the same program
    assert list(history.history) == ["loss", "val_loss"]
    np.testing.assert_allclose(history.history["loss"], [0.14829, 0.17262], atol=1e-4)
    np.testing.assert_allclose(history.history["val_loss"], [0.39364, 0.39978], atol=1e-4)
    np.testing.assert_allclose(model.evaluate(x, y, batch_size=2, verbose=0), 0.39978,
                               atol=1e-4)


def test_a_model_with_the_default_steps_still_refuses_that_loss_at_compile():
    # convnp's early check stays for the steps that read the compiled loss
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, layers.Conv2D(1, 3, padding="same")(inputs))
    with pytest.raises(ValueError, match="one output per class"):
        model.compile("sgd", loss=keras.losses.SparseCategoricalCrossentropy())
