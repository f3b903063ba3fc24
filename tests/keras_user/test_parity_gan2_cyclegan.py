"""keras.io's CycleGAN, condensed: a model whose `compile` override calls a bare
`super().compile()` and whose `call` returns several outputs, trained by its own
`train_step`. Expected values are what TensorFlow 2.21 gave for the same programs."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
layers = keras.layers


class Pair(keras.Model):
    """Two heads; the step trains the first one only, on the batch's targets."""

    def __init__(self):
        super().__init__()
        self.a = layers.Dense(2, kernel_initializer="ones")
        self.b = layers.Dense(3, kernel_initializer="ones")

    def call(self, x):
        return self.a(x), self.b(x)

    def compile(self, opt_a, loss_fn):
        super().compile()
        self.opt_a = opt_a
        self.loss_fn = loss_fn

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            pa, _ = self(x, training=True)
            loss = self.loss_fn(y, pa)
        grads = tape.gradient(loss, self.a.trainable_variables)
        self.opt_a.apply_gradients(zip(grads, self.a.trainable_variables))
        return {"z_loss": loss, "a_loss": loss * 2}


_X = np.arange(8, dtype="float32").reshape(4, 2) / 10
_Y = np.ones((4, 2), "float32")


def _pair(call_first: bool) -> Pair:
    model = Pair()
    if call_first:
        model(_X[:1])
    model.compile(keras.optimizers.SGD(0.1), keras.losses.MeanSquaredError())
    if not call_first:  # CycleGAN's order: compile, then a call builds the model
        model(_X[:1])
    return model


@pytest.mark.parametrize("call_first", [False, True])
def test_bare_compile_before_a_call_with_several_outputs_trains_from_a_dataset(call_first):
    # TF 2.21: history {'a_loss': [0.146], 'z_loss': [0.073]} (keys sorted), whichever came
    # first; convnp raised "compiled for 1 output(s) but has 2" when compile came first
    model = _pair(call_first)
    data = tf.data.Dataset.from_tensor_slices((_X, _Y)).batch(2)
    history = model.fit(data, epochs=1, verbose=0)
    assert list(history.history) == ["a_loss", "z_loss"]
    np.testing.assert_allclose(history.history["z_loss"], [0.073], atol=1e-4)
    np.testing.assert_allclose(history.history["a_loss"], [0.146], atol=1e-4)


@pytest.mark.parametrize("call_first", [False, True])
def test_bare_compile_before_a_call_with_several_outputs_trains_from_arrays(call_first):
    # TF 2.21: the step gets y as given (one array for a two-output model)
    model = _pair(call_first)
    history = model.fit(_X, _Y, batch_size=2, epochs=1, verbose=0, shuffle=False)
    assert list(history.history) == ["a_loss", "z_loss"]
    np.testing.assert_allclose(history.history["z_loss"], [0.073], atol=1e-4)


def test_bare_compile_before_a_call_still_refuses_evaluate_without_a_loss():
    # TF 2.21: ValueError ("No loss to compute") for the default test_step
    model = _pair(False)
    with pytest.raises(ValueError):
        model.evaluate(_X, _Y, verbose=0)
    outs = model.predict(_X, verbose=0)
    assert [o.shape for o in outs] == [(4, 2), (4, 3)]


# -- the condensed CycleGAN ------------------------------------------------------------------

_init = keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


class ReflectionPadding2D(layers.Layer):
    def __init__(self, padding=(1, 1), **kwargs):
        self.padding = tuple(padding)
        super().__init__(**kwargs)

    def call(self, x, mask=None):
        w, h = self.padding
        return tf.pad(x, [[0, 0], [h, h], [w, w], [0, 0]], mode="REFLECT")


def _generator(name):
    inp = layers.Input(shape=(8, 8, 3), name=name + "_img_input")
    x = ReflectionPadding2D(padding=(1, 1))(inp)
    x = layers.Conv2D(4, 3, kernel_initializer=_init, use_bias=False)(x)
    x = layers.GroupNormalization(groups=-1, gamma_initializer=_init)(x)
    x = layers.Activation("relu")(x)
    x = layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(x)
    x = layers.GroupNormalization(groups=-1, gamma_initializer=_init)(x)
    x = layers.Conv2DTranspose(4, 3, strides=2, padding="same", use_bias=False)(x)
    x = layers.Conv2D(3, 3, padding="same")(x)
    return keras.Model(inp, layers.Activation("tanh")(x), name=name)


def _discriminator(name):
    inp = layers.Input(shape=(8, 8, 3), name=name + "_img_input")
    x = layers.Conv2D(4, 4, strides=2, padding="same")(inp)
    x = layers.LeakyReLU(0.2)(x)
    return keras.Model(inp, layers.Conv2D(1, 4, padding="same")(x), name=name)


class CycleGan(keras.Model):
    def __init__(self, gen_G, gen_F, disc_X, disc_Y):
        super().__init__()
        self.gen_G, self.gen_F, self.disc_X, self.disc_Y = gen_G, gen_F, disc_X, disc_Y

    def call(self, inputs):
        return (self.disc_X(inputs), self.disc_Y(inputs), self.gen_G(inputs),
                self.gen_F(inputs))

    def compile(self, gen_G_optimizer, gen_F_optimizer, disc_X_optimizer, disc_Y_optimizer,
                gen_loss_fn, disc_loss_fn):
        super().compile()
        self.opts = [gen_G_optimizer, gen_F_optimizer, disc_X_optimizer, disc_Y_optimizer]
        self.gen_loss_fn, self.disc_loss_fn = gen_loss_fn, disc_loss_fn
        self.cycle_loss_fn = keras.losses.MeanAbsoluteError()

    def train_step(self, batch):
        real_x, real_y = batch
        with tf.GradientTape(persistent=True) as tape:
            fake_y = self.gen_G(real_x, training=True)
            fake_x = self.gen_F(real_y, training=True)
            cycled_x = self.gen_F(fake_y, training=True)
            cycled_y = self.gen_G(fake_x, training=True)
            loss_G = self.gen_loss_fn(self.disc_Y(fake_y, training=True)) + \
                10.0 * self.cycle_loss_fn(real_y, cycled_y)
            loss_F = self.gen_loss_fn(self.disc_X(fake_x, training=True)) + \
                10.0 * self.cycle_loss_fn(real_x, cycled_x)
            loss_DX = self.disc_loss_fn(self.disc_X(real_x, training=True),
                                        self.disc_X(fake_x, training=True))
            loss_DY = self.disc_loss_fn(self.disc_Y(real_y, training=True),
                                        self.disc_Y(fake_y, training=True))
        for opt, loss, model in zip(self.opts, [loss_G, loss_F, loss_DX, loss_DY],
                                    [self.gen_G, self.gen_F, self.disc_X, self.disc_Y]):
            grads = tape.gradient(loss, model.trainable_variables)
            opt.apply_gradients(zip(grads, model.trainable_variables))
        return {"G_loss": loss_G, "F_loss": loss_F, "D_X_loss": loss_DX, "D_Y_loss": loss_DY}


_mse = keras.losses.MeanSquaredError()


def _gen_loss(fake):
    return _mse(tf.ones_like(fake), fake)


def _disc_loss(real, fake):
    return (_mse(tf.ones_like(real), real) + _mse(tf.zeros_like(fake), fake)) * 0.5


def _cycle_gan():
    models = [_generator("generator_G"), _generator("generator_F"),
              _discriminator("discriminator_X"), _discriminator("discriminator_Y")]
    for seed, model in enumerate(models):
        rng = np.random.RandomState(seed)
        model.set_weights([rng.normal(0, 0.2, w.shape).astype("float32")
                           for w in model.get_weights()])
    gan = CycleGan(*models)
    gan.compile(*[keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5) for _ in range(4)],
                gen_loss_fn=_gen_loss, disc_loss_fn=_disc_loss)
    return gan


def test_cycle_gan_compiled_then_called_fits_and_checkpoints_its_weights(tmp_path):
    # TF 2.21: the keys sorted; the checkpoint callback writes each epoch (the call built
    # the model) and a second CycleGan built the same way loads it
    rng = np.random.RandomState(0)
    xs = rng.uniform(-1, 1, (4, 8, 8, 3)).astype("float32")
    ys = rng.uniform(-1, 1, (4, 8, 8, 3)).astype("float32")
    gan = _cycle_gan()
    gan(xs[:1])
    data = tf.data.Dataset.zip((tf.data.Dataset.from_tensor_slices(xs).batch(2),
                                tf.data.Dataset.from_tensor_slices(ys).batch(2)))
    path = str(tmp_path / "cyclegan.{epoch:03d}.weights.h5")
    checkpoint = keras.callbacks.ModelCheckpoint(filepath=path, save_weights_only=True)
    history = gan.fit(data, epochs=2, verbose=0, callbacks=[checkpoint])
    assert list(history.history) == ["D_X_loss", "D_Y_loss", "F_loss", "G_loss"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "cyclegan.001.weights.h5", "cyclegan.002.weights.h5"]
    other = _cycle_gan()
    other(xs[:1])
    # TF 2.21 warns that it skips the four optimizers' state: they have not stepped yet
    with pytest.warns(UserWarning, match="Skipping variable loading"):
        other.load_weights(str(tmp_path / "cyclegan.002.weights.h5"))
    np.testing.assert_allclose(other.gen_G.predict(xs, verbose=0),
                               gan.gen_G.predict(xs, verbose=0), atol=1e-6)
