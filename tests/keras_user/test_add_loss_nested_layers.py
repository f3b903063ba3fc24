"""A subclassed model that calls users' layers nested two deep (an encoder holding a sampling
layer, neither adding a loss) and then adds its own loss, fitted with ``compile(loss=...)``:
the guide "Making new layers and models via subclassing" (its VAE). The collectors of the
nested calls, all empty, once took the model's collector away (``list.remove`` by equality),
and fit failed. KERAS_LOSSES: this file's ``_run``, unchanged, under TensorFlow 2.21 / Keras
3.15.1 (``import tensorflow as tf, keras``; TF_ENABLE_ONEDNN_OPTS=0)."""

from __future__ import annotations

import numpy as np

import convnp as tf

keras = tf.keras
layers = keras.layers

KERAS_LOSSES = [0.525055468082428, 0.3259649872779846]


class Sampling(layers.Layer):
    def call(self, inputs):
        z_mean, z_log_var = inputs
        return z_mean + tf.exp(0.5 * z_log_var) * 0.0  # no noise: comparable numbers


class Encoder(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense_proj = layers.Dense(6, activation="relu")
        self.dense_mean = layers.Dense(2)
        self.dense_log_var = layers.Dense(2)
        self.sampling = Sampling()

    def call(self, inputs):
        x = self.dense_proj(inputs)
        z_mean, z_log_var = self.dense_mean(x), self.dense_log_var(x)
        return z_mean, z_log_var, self.sampling((z_mean, z_log_var))


class VAE(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.encoder = Encoder()
        self.decoder = layers.Dense(5, activation="sigmoid")

    def call(self, inputs):
        z_mean, z_log_var, z = self.encoder(inputs)
        kl = -0.5 * tf.reduce_mean(z_log_var - tf.square(z_mean) - tf.exp(z_log_var) + 1)
        self.add_loss(kl)
        return self.decoder(z)


def _run():
    x = np.linspace(0.0, 1.0, 40, dtype=np.float32).reshape(8, 5)
    vae = VAE()
    vae(x[:1])
    vae.set_weights([np.linspace(-0.5, 0.5, w.size, dtype=np.float32).reshape(w.shape)
                     for w in vae.get_weights()])
    vae.compile(keras.optimizers.SGD(0.1), loss=keras.losses.MeanSquaredError())
    history = vae.fit(x, x, epochs=2, batch_size=4, shuffle=False, verbose=0)
    return history.history["loss"], vae


def test_model_add_loss_after_nested_user_layers_fits_as_keras():
    losses, vae = _run()
    np.testing.assert_allclose(losses, KERAS_LOSSES, rtol=1e-6)
    assert len(vae.losses) == 1  # the model's KL term of its last call


def test_collectors_are_taken_off_by_identity():
    from convnp.layers import taped

    outer, inner = [], []
    taped.loss_collectors.extend([outer, inner])
    try:
        taped._drop_collector(inner)
        assert taped.loss_collectors[-1] is outer
    finally:
        taped._drop_collector(outer)
    assert all(c is not outer for c in taped.loss_collectors)
