"""keras.io's Conditional GAN, condensed: one-hot labels repeated into image channels, a
`SeedGenerator`, `keras.metrics.Mean` trackers in a `metrics` property, and the interpolation
animation whose frames go through `keras.ops.image.resize` as uint8. Expected values are what
TensorFlow 2.21 gave for the same programs."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
layers = keras.layers
ops = keras.ops

_X = (np.arange(2 * 4 * 4 * 1) * 17 % 256).reshape(2, 4, 4, 1)


@pytest.mark.parametrize("interpolation, first", [
    ("bilinear", [0, 6, 16, 26, 35, 45]), ("bicubic", [0, 0, 10, 20, 30, 41]),
    ("lanczos3", [0, 0, 10, 20, 30, 42]), ("area", [0, 4, 17, 26, 34, 47]),
    ("nearest", [0, 0, 17, 34, 34, 51])])
def test_keras_ops_image_resize_gives_uint8_images_back_as_uint8(interpolation, first):
    # TF 2.21: keras.ops.image.resize keeps the images' dtype, rounding and clipping the
    # resampled values (bicubic's undershoot is 0, its overshoot 255)
    out = ops.image.resize(_X.astype("uint8"), (7, 7), interpolation=interpolation)
    arr = np.asarray(out)
    assert arr.dtype == np.uint8 and arr.shape == (2, 7, 7, 1)
    assert arr.ravel()[:6].tolist() == first
    assert arr.max() == 255


@pytest.mark.parametrize("dtype, first, top", [
    ("int32", [-7, -1, 10, 20, 30, 41], 268), ("uint16", [0, 0, 10, 20, 30, 41], 268),
    ("int8", [-7, -1, 10, 20, 30, 41], 127)])
def test_keras_ops_image_resize_rounds_and_clips_other_integer_images(dtype, first, top):
    # TF 2.21 (bicubic): rounded, then clipped to the dtype's range
    out = np.asarray(ops.image.resize(_X.astype(dtype), (7, 7), interpolation="bicubic"))
    assert out.dtype == np.dtype(dtype)
    assert out.ravel()[:6].tolist() == first
    assert out.max() == top


def test_keras_ops_image_resize_keeps_float16_and_one_image():
    # TF 2.21: float16 in, float16 out; a single uint8 image with antialias stays uint8
    out = np.asarray(ops.image.resize(_X.astype("float16"), (7, 7)))
    assert out.dtype == np.float16
    np.testing.assert_allclose(out.ravel()[:3], [0.0, 6.07, 15.79], atol=1e-2)
    one = np.asarray(ops.image.resize(_X.astype("uint8")[0], (3, 3), antialias=True))
    assert one.dtype == np.uint8
    assert one.ravel().tolist() == [26, 46, 66, 107, 128, 148, 189, 209, 230]
    # tf.image.resize itself still answers float32 (TF 2.21)
    assert np.asarray(tf.image.resize(_X.astype("uint8"), (7, 7))).dtype == np.float32


# -- the condensed conditional GAN ------------------------------------------------------------

_size, _classes, _latent = 8, 3, 4
_NOISE = [np.random.RandomState(7 + i).normal(size=(4, _latent)).astype("float32")
          for i in range(8)]


def _det(model, seed):
    rng = np.random.RandomState(seed)
    model.set_weights([rng.normal(0, 0.3, w.shape).astype("float32")
                       for w in model.get_weights()])


class ConditionalGAN(keras.Model):
    def __init__(self, discriminator, generator, latent_dim):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.seed_generator = keras.random.SeedGenerator(1337)
        self.gen_loss_tracker = keras.metrics.Mean(name="generator_loss")
        self.disc_loss_tracker = keras.metrics.Mean(name="discriminator_loss")
        self.draws = 0

    @property
    def metrics(self):
        return [self.gen_loss_tracker, self.disc_loss_tracker]

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super().compile()
        self.d_optimizer, self.g_optimizer, self.loss_fn = d_optimizer, g_optimizer, loss_fn

    def noise(self, batch_size):
        # the program's draw, replaced by fixed noise so that the numbers can be compared
        z = keras.random.normal(shape=(batch_size, self.latent_dim), seed=self.seed_generator)
        fixed = _NOISE[self.draws % len(_NOISE)]
        self.draws += 1
        return z * 0 + fixed

    def train_step(self, data):
        real_images, one_hot_labels = data
        image_labels = tf.repeat(one_hot_labels[:, :, None, None], repeats=[_size * _size])
        image_labels = tf.reshape(image_labels, (-1, _size, _size, _classes))
        batch_size = tf.shape(real_images)[0]
        vectors = ops.concatenate([self.noise(batch_size), one_hot_labels], axis=1)
        fake = ops.concatenate([self.generator(vectors), image_labels], -1)
        real = ops.concatenate([real_images, image_labels], -1)
        combined = ops.concatenate([fake, real], axis=0)
        labels = ops.concatenate([ops.ones((batch_size, 1)), ops.zeros((batch_size, 1))], 0)
        with tf.GradientTape() as tape:
            d_loss = self.loss_fn(labels, self.discriminator(combined))
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        vectors = ops.concatenate([self.noise(batch_size), one_hot_labels], axis=1)
        with tf.GradientTape() as tape:
            fake = ops.concatenate([self.generator(vectors), image_labels], -1)
            g_loss = self.loss_fn(ops.zeros((batch_size, 1)), self.discriminator(fake))
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        self.gen_loss_tracker.update_state(g_loss)
        self.disc_loss_tracker.update_state(d_loss)
        return {"g_loss": self.gen_loss_tracker.result(),
                "d_loss": self.disc_loss_tracker.result()}


def _cond_gan():
    discriminator = keras.Sequential([
        keras.layers.InputLayer((_size, _size, 1 + _classes)),
        layers.Conv2D(8, 3, strides=2, padding="same"), layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(8, 3, strides=2, padding="same"), layers.LeakyReLU(negative_slope=0.2),
        layers.GlobalMaxPooling2D(), layers.Dense(1)], name="discriminator")
    channels = _latent + _classes
    generator = keras.Sequential([
        keras.layers.InputLayer((channels,)),
        layers.Dense(2 * 2 * channels), layers.LeakyReLU(negative_slope=0.2),
        layers.Reshape((2, 2, channels)),
        layers.Conv2DTranspose(8, 4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2DTranspose(8, 4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(1, 7, padding="same", activation="sigmoid")], name="generator")
    _det(discriminator, 1)
    _det(generator, 2)
    gan = ConditionalGAN(discriminator, generator, _latent)
    gan.compile(d_optimizer=keras.optimizers.Adam(learning_rate=0.0003),
                g_optimizer=keras.optimizers.Adam(learning_rate=0.0003),
                loss_fn=keras.losses.BinaryCrossentropy(from_logits=True))
    return gan


def test_conditional_gan_trackers_reset_each_epoch_and_frames_resize_as_uint8():
    rng = np.random.RandomState(0)
    images = rng.uniform(0, 1, (8, 8, 8)).astype("float32").reshape(-1, 8, 8, 1)
    labels = keras.utils.to_categorical(rng.randint(0, 3, 8), 3)
    data = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4)
    gan = _cond_gan()
    history = gan.fit(data, epochs=2, verbose=0)
    # TF 2.21, with the same weights and noise
    assert list(history.history) == ["d_loss", "g_loss"]
    np.testing.assert_allclose(history.history["d_loss"], [0.6928, 0.6843], atol=1e-4)
    np.testing.assert_allclose(history.history["g_loss"], [1.0372, 1.0135], atol=1e-4)
    assert [m.name for m in gan.metrics] == ["generator_loss", "discriminator_loss"]
    # the interpolation frames: noise and labels through the trained generator
    noise = ops.reshape(ops.repeat(ops.ones((1, _latent)) * 0.3, repeats=5), (5, _latent))
    first = ops.cast(keras.utils.to_categorical([0], _classes), "float32")
    second = ops.cast(keras.utils.to_categorical([2], _classes), "float32")
    share = ops.cast(ops.linspace(0, 1, 5)[:, None], "float32")
    mixed = first * (1 - share) + second * share
    fake = gan.generator.predict(ops.concatenate([noise, mixed], 1), verbose=0)
    np.testing.assert_allclose(fake[:, 3, 3, 0], [0.0919, 0.1677, 0.3264, 0.4849, 0.6147],
                               atol=1e-4)
    frames = ops.image.resize((fake * 255.0).astype(np.uint8), (16, 16))
    frames = np.asarray(frames)
    assert frames.dtype == np.uint8 and frames.shape == (5, 16, 16, 1)
    assert frames[:, 5, 5, 0].tolist() == [169, 173, 175, 176, 167]


def test_seed_generator_has_keras_state_config_and_next():
    # TF 2.21: state is a non-trainable int64 variable [seed, draws so far]; get_config
    # gives seed and name; next() a (2,) int64 tensor
    gen = keras.random.SeedGenerator(1337, name="my_sg")
    state = gen.state
    assert np.asarray(state).tolist() == [1337, 0]
    assert not state.trainable and state.name == "seed_generator_state"
    keras.random.normal((2,), seed=gen)
    keras.random.uniform((2,), seed=gen)
    assert np.asarray(gen.state).tolist() == [1337, 2]
    assert gen.get_config() == {"seed": 1337, "name": "my_sg"}
    assert keras.random.SeedGenerator.from_config(gen.get_config()).get_config() == {
        "seed": 1337, "name": "my_sg"}
    seed = np.asarray(gen.next())
    assert seed.shape == (2,) and seed.dtype == np.int64
    assert sorted(keras.random.SeedGenerator().get_config()) == ["name", "seed"]


def test_seed_generator_state_assigned_back_repeats_the_draws():
    gen = keras.random.SeedGenerator(5)
    keras.random.normal((3,), seed=gen)
    saved = np.asarray(gen.state).copy()
    first = np.asarray(keras.random.normal((3,), seed=gen))
    gen.state.assign(saved)
    np.testing.assert_array_equal(np.asarray(keras.random.normal((3,), seed=gen)), first)
    other = keras.random.SeedGenerator(5)
    keras.random.normal((3,), seed=other)
    np.testing.assert_array_equal(np.asarray(keras.random.normal((3,), seed=other)), first)
