"""keras.io's WGAN-GP ("WGAN-GP overriding Model.train_step"), condensed: a Model subclass
whose train_step adds a gradient penalty (a second-order gradient: the critic's input
gradient, differentiated with respect to its weights) and trains with fit.

Expected losses: TensorFlow 2.21 running the same program (same weights, latent vectors and
interpolation factors drawn from NumPy's generator) printed d_loss [1.066, 0.8621] and g_loss
[0.9396, 1.0201] for the two epochs."""

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
layers = keras.layers


def _program():
    rng = np.random.default_rng(5)

    def make_critic():
        return keras.Sequential([keras.Input((8, 8, 1)),
            layers.Conv2D(4, 3, strides=2, padding="same"), layers.LeakyReLU(0.2),
            layers.Conv2D(8, 3, strides=2, padding="same"), layers.LeakyReLU(0.2),
            layers.Dropout(0.0), layers.Flatten(), layers.Dense(1)], name="critic")

    def make_generator():
        return keras.Sequential([keras.Input((6,)), layers.Dense(2 * 2 * 8), layers.LeakyReLU(0.2),
            layers.Reshape((2, 2, 8)), layers.UpSampling2D(2), layers.Conv2D(4, 3, padding="same"),
            layers.BatchNormalization(), layers.LeakyReLU(0.2), layers.UpSampling2D(2),
            layers.Conv2D(1, 3, padding="same", activation="tanh")], name="generator")

    class WGAN(keras.Model):
        def __init__(self, critic, generator, d_steps=2, gp_weight=10.0):
            super().__init__()
            self.critic, self.generator = critic, generator
            self.d_steps, self.gp_weight = d_steps, gp_weight
            self.z = tf.constant(rng.normal(size=(4, 6)).astype("float32"))
            self.alpha = tf.constant(rng.uniform(size=(4, 1, 1, 1)).astype("float32"))

        def compile(self, d_optimizer, g_optimizer):
            super().compile()
            self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

        def gradient_penalty(self, real, fake):
            interpolated = real + self.alpha * (fake - real)
            with tf.GradientTape() as gp_tape:
                gp_tape.watch(interpolated)
                pred = self.critic(interpolated, training=True)
            grads = gp_tape.gradient(pred, [interpolated])[0]
            norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]))
            return tf.reduce_mean((norm - 1.0) ** 2)

        def train_step(self, real):
            for _ in range(self.d_steps):
                with tf.GradientTape() as tape:
                    fake = self.generator(self.z, training=True)
                    d_loss = (tf.reduce_mean(self.critic(fake, training=True))
                              - tf.reduce_mean(self.critic(real, training=True))
                              + self.gp_weight * self.gradient_penalty(real, fake))
                grads = tape.gradient(d_loss, self.critic.trainable_variables)
                self.d_optimizer.apply_gradients(zip(grads, self.critic.trainable_variables))
            with tf.GradientTape() as tape:
                g_loss = -tf.reduce_mean(self.critic(self.generator(self.z, training=True), training=True))
            grads = tape.gradient(g_loss, self.generator.trainable_variables)
            self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables))
            return {"d_loss": d_loss, "g_loss": g_loss}

    critic, generator = make_critic(), make_generator()
    for m in (critic, generator):
        m.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in m.get_weights()])
    gan = WGAN(critic, generator)
    gan.compile(keras.optimizers.Adam(1e-3, beta_1=0.5, beta_2=0.9),
                keras.optimizers.Adam(1e-3, beta_1=0.5, beta_2=0.9))
    images = rng.uniform(-1, 1, size=(8, 8, 8, 1)).astype("float32")
    return gan.fit(images, batch_size=4, epochs=2, verbose=0, shuffle=False).history


def test_wgan_gp_trains_as_tensorflow_does():
    history = _program()
    assert list(history) == ["d_loss", "g_loss"]
    assert history["d_loss"] == pytest.approx([1.066, 0.8621], abs=2e-4)
    assert history["g_loss"] == pytest.approx([0.9396, 1.0201], abs=2e-4)
