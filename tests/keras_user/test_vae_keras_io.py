"""keras.io's "Variational AutoEncoder" (examples/generative/vae) as the page writes it, in
Keras 3 spelling on the TensorFlow backend (``import convnp as tf`` for ``tf.GradientTape``):
a ``Sampling`` layer drawing with ``keras.random.normal`` from its own ``SeedGenerator``, the
functional encoder (strided Conv2D, Flatten, Dense, z_mean / z_log_var, Sampling) and decoder
(Dense, Reshape, three Conv2DTranspose), and a ``VAE(keras.Model)`` with three
``keras.metrics.Mean`` trackers, a ``metrics`` property and its own ``train_step``; fit on
inputs alone, then the page's latent-space plots (``decoder.predict`` on a grid point,
``vae.encoder.predict`` for the label clusters) without drawing them.

The data are 64 random binary 28x28 "digits" made here (MNIST is not downloaded). As on real
Keras 3.15 (checked with the same program), the KL term starts near 0 and grows while the
reconstruction loss falls: only the total and the reconstruction loss must decrease.

``vae.npz`` (tests/fixtures/make_vae.py) holds what Keras 3.15 reports for the same program
from starting weights that make the sampling all but deterministic (a z_log_var bias of -30:
the two libraries draw different normal numbers)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import convnp as tf
from convnp import keras
from convnp.keras import layers, ops


class Sampling(layers.Layer):
    """Uses (z_mean, z_log_var) to sample z, the vector encoding a digit."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch = ops.shape(z_mean)[0]
        dim = ops.shape(z_mean)[1]
        epsilon = keras.random.normal(shape=(batch, dim), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


latent_dim = 2
FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "vae.npz")


def build_encoder():
    encoder_inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(32, 3, activation="relu", strides=2, padding="same")(encoder_inputs)
    x = layers.Conv2D(64, 3, activation="relu", strides=2, padding="same")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(16, activation="relu")(x)
    z_mean = layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
    z = Sampling()([z_mean, z_log_var])
    return keras.Model(encoder_inputs, [z_mean, z_log_var, z], name="encoder")


def build_decoder():
    latent_inputs = keras.Input(shape=(latent_dim,))
    x = layers.Dense(7 * 7 * 64, activation="relu")(latent_inputs)
    x = layers.Reshape((7, 7, 64))(x)
    x = layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(x)
    decoder_outputs = layers.Conv2DTranspose(1, 3, activation="sigmoid", padding="same")(x)
    return keras.Model(latent_inputs, decoder_outputs, name="decoder")


class VAE(keras.Model):
    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [
            self.total_loss_tracker,
            self.reconstruction_loss_tracker,
            self.kl_loss_tracker,
        ]

    def train_step(self, data):
        with tf.GradientTape() as tape:
            z_mean, z_log_var, z = self.encoder(data)
            reconstruction = self.decoder(z)
            reconstruction_loss = ops.mean(
                ops.sum(
                    keras.losses.binary_crossentropy(data, reconstruction),
                    axis=(1, 2),
                )
            )
            kl_loss = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
            kl_loss = ops.mean(ops.sum(kl_loss, axis=1))
            total_loss = reconstruction_loss + kl_loss
        grads = tape.gradient(total_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.total_loss_tracker.update_state(total_loss)
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.kl_loss_tracker.update_state(kl_loss)
        return {
            "loss": self.total_loss_tracker.result(),
            "reconstruction_loss": self.reconstruction_loss_tracker.result(),
            "kl_loss": self.kl_loss_tracker.result(),
        }


def make_digits(n=64, seed=0):
    """``np.expand_dims(digits, -1).astype("float32") / 255`` of the page, on made-up 0/255
    images: each a random blob of strokes, so values are 0 or 1 as MNIST's mostly are."""
    rng = np.random.default_rng(seed)
    digits = np.where(rng.random((n, 28, 28)) > 0.7, 255, 0).astype(np.uint8)
    return np.expand_dims(digits, -1).astype("float32") / 255


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    encoder, decoder = build_encoder(), build_decoder()
    mnist_digits = make_digits()
    vae = VAE(encoder, decoder)
    vae.compile(optimizer=keras.optimizers.Adam())
    before = [w.copy() for w in vae.get_weights()]
    history = vae.fit(mnist_digits, epochs=4, batch_size=16, verbose=0)
    return vae, history, before, mnist_digits


def test_encoder_and_decoder_shapes_and_sizes():
    encoder, decoder = build_encoder(), build_decoder()
    assert [tuple(t.shape) for t in encoder.outputs] == [(None, 2)] * 3
    assert tuple(decoder.output.shape) == (None, 28, 28, 1)
    # the page's summaries: 69,076 and 65,089 parameters, none frozen
    assert encoder.count_params() == 69_076 and decoder.count_params() == 65_089
    assert not encoder.non_trainable_weights and not decoder.non_trainable_weights
    z_mean, z_log_var, z = encoder.predict(make_digits(5), verbose=0)
    assert z_mean.shape == z_log_var.shape == z.shape == (5, 2)
    assert z.dtype == np.float32


def test_sampling_draws_from_its_own_seed_generator():
    mean = np.zeros((3, 2), np.float32)
    log_var = np.zeros((3, 2), np.float32)
    first, second = Sampling(), Sampling()
    a, b = np.asarray(first([mean, log_var])), np.asarray(first([mean, log_var]))
    # the generator moves on each call; a new layer seeded 1337 starts the same sequence
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(np.asarray(second([mean, log_var])), a)
    # z = mean + exp(log_var / 2) * eps
    c = np.asarray(Sampling()([mean + 1.0, log_var + 2 * np.log(3.0)]))
    np.testing.assert_allclose(c, 1.0 + 3.0 * a, rtol=1e-5, atol=1e-6)


def test_binary_crossentropy_keeps_the_image_axes():
    y = np.array([[1, 0], [0, 1]], np.float32).reshape(1, 2, 2, 1)
    p = np.array([[0.9, 0.2], [0.0, 1.0]], np.float32).reshape(1, 2, 2, 1)
    bce = keras.losses.binary_crossentropy(y, p)
    assert tuple(bce.shape) == (1, 2, 2)  # the last axis averaged, the rest kept
    # Keras 3.15's float32 values (predictions clipped to [1e-7, 1 - 1e-7])
    np.testing.assert_allclose(np.asarray(bce)[0], [[1.05360545e-01, 2.23143533e-01],
                                                    [1.19209290e-07, 1.19209290e-07]],
                               rtol=1e-5)
    total = ops.mean(ops.sum(bce, axis=(1, 2)))
    assert float(total) == pytest.approx(0.32850432, rel=1e-5)


def test_fit_logs_the_trackers_and_the_losses_fall(trained):
    vae, history, _, _ = trained
    assert sorted(history.history) == ["kl_loss", "loss", "reconstruction_loss"]
    h = {k: np.array(v) for k, v in history.history.items()}
    assert all(len(v) == 4 and np.isfinite(v).all() for v in h.values())
    assert h["loss"][-1] < h["loss"][0] and h["reconstruction_loss"][-1] < h[
        "reconstruction_loss"][0]
    assert (np.diff(h["loss"]) < 0).all()
    assert (h["kl_loss"] >= 0).all()
    # loss = reconstruction + KL in every step, so in every epoch's mean
    np.testing.assert_allclose(h["loss"], h["reconstruction_loss"] + h["kl_loss"], rtol=1e-5)
    # History holds the trackers' results at the end of the last epoch
    assert [m.name for m in vae.metrics] == ["total_loss", "reconstruction_loss", "kl_loss"]
    for tracker, key in zip(vae.metrics, ("loss", "reconstruction_loss", "kl_loss")):
        assert float(tracker.result()) == pytest.approx(h[key][-1], rel=1e-6)


def test_fit_trains_both_halves(trained):
    vae, _, before, _ = trained
    assert len(vae.trainable_weights) == 18
    assert [v.name for v in vae.trainable_weights] == [
        v.name for v in vae.encoder.trainable_weights + vae.decoder.trainable_weights]
    assert all(not np.array_equal(b, a) for b, a in zip(before, vae.get_weights()))


def test_latent_space_plots_run(trained):
    vae, _, _, mnist_digits = trained
    # plot_latent_space: one decoded digit per grid point
    n, digit_size, scale = 3, 28, 1.0
    figure = np.zeros((digit_size * n, digit_size * n))
    grid_x = np.linspace(-scale, scale, n)
    grid_y = np.linspace(-scale, scale, n)[::-1]
    for i, yi in enumerate(grid_y):
        for j, xi in enumerate(grid_x):
            z_sample = np.array([[xi, yi]])
            x_decoded = vae.decoder.predict(z_sample, verbose=0)
            digit = x_decoded[0].reshape(digit_size, digit_size)
            figure[i * digit_size:(i + 1) * digit_size,
                   j * digit_size:(j + 1) * digit_size] = digit
    assert ((figure > 0) & (figure < 1)).all()
    # plot_label_clusters: the encoder's means, one point per image
    z_mean, _, _ = vae.encoder.predict(mnist_digits, verbose=0)
    assert z_mean.shape == (64, 2) and np.isfinite(z_mean).all()


def starting_weights(model, seed, log_var_bias=None):
    """The fixture script's starting weights (same generator, same order)."""
    rng = np.random.default_rng(seed)
    out = []
    for w in model.get_weights():
        if w.ndim == 1:
            out.append(rng.uniform(-0.05, 0.05, w.shape).astype(np.float32))
        else:
            lim = np.sqrt(6.0 / (np.prod(w.shape[:-2]) * (w.shape[-2] + w.shape[-1]))
                          if w.ndim > 2 else 6.0 / (w.shape[0] + w.shape[1]))
            out.append(rng.uniform(-lim, lim, w.shape).astype(np.float32))
    if log_var_bias is not None:
        out[9] = np.full_like(out[9], log_var_bias)
    return out


def test_training_matches_keras_from_the_same_weights():
    encoder, decoder = build_encoder(), build_decoder()
    encoder.set_weights(starting_weights(encoder, 11, log_var_bias=-30.0))
    decoder.set_weights(starting_weights(decoder, 12))
    vae = VAE(encoder, decoder)
    vae.compile(optimizer=keras.optimizers.Adam())
    history = vae.fit(make_digits(), epochs=2, batch_size=16, shuffle=False, verbose=0)
    with np.load(FIXTURE) as f:
        expected = {k: f[k] for k in f.files}
    for key in ("loss", "reconstruction_loss", "kl_loss"):
        np.testing.assert_allclose(history.history[key], expected[f"history/{key}"],
                                   rtol=1e-5)
    z_mean, z_log_var, _ = encoder.predict(make_digits()[:4], verbose=0)
    np.testing.assert_allclose(z_mean, expected["z_mean"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(z_log_var, expected["z_log_var"], rtol=1e-5)
    np.testing.assert_allclose(decoder.predict(expected["points"], verbose=0),
                               expected["decoded"], rtol=1e-4, atol=1e-6)
