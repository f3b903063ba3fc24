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
