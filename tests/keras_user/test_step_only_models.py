"""Models that train only through their own ``train_step``, as keras.io writes a VAE and a
GAN: a ``keras.Model`` subclass with no ``call`` that holds other models in attributes, fit
on inputs alone (arrays or a Dataset of images), with its loss trackers in attributes.

Also how Keras 3 hands data to any user's step (``x`` alone when there are no targets) and
that ``train_on_batch`` / ``test_on_batch`` run the user's step."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp import keras
from convnp.keras import layers, ops


def _images(n=64, seed=0):
    """Images made of two patterns: a 2-d latent space can reconstruct them."""
    rng = np.random.default_rng(seed)
    a = np.zeros((8, 8), np.float32)
    a[2:6, 2:6] = 1.0
    b = np.eye(8, dtype=np.float32)
    mix = rng.random((n, 2)).astype(np.float32)
    return (mix[:, :1, None] * a + mix[:, 1:, None] * b)[..., None] * 0.45  # in [0, 0.9]


class Sampling(layers.Layer):
    def call(self, inputs):
        mean, log_var = inputs
        eps = keras.random.normal(shape=(ops.shape(mean)[0], ops.shape(mean)[1]))
        return mean + ops.exp(0.5 * log_var) * eps


def _vae_parts(latent=2):
    inp = keras.Input((8, 8, 1))
    h = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inp)
    h = layers.Flatten()(h)
    mean = layers.Dense(latent)(h)
    log_var = layers.Dense(latent)(h)
    encoder = keras.Model(inp, [mean, log_var, Sampling()([mean, log_var])], name="encoder")
    z = keras.Input((latent,))
    g = layers.Dense(4 * 4 * 8, activation="relu")(z)
    g = layers.Reshape((4, 4, 8))(g)
    out = layers.Conv2DTranspose(1, 3, strides=2, padding="same", activation="sigmoid")(g)
    return encoder, keras.Model(z, out, name="decoder")


class VAE(keras.Model):
    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.total = keras.metrics.Mean(name="total_loss")
        self.kl = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.total, self.kl]

    def train_step(self, data):
        with tf.GradientTape() as tape:
            mean, log_var, z = self.encoder(data)
            recon = self.decoder(z)
            rec = ops.mean(ops.sum(keras.losses.binary_crossentropy(data, recon), axis=(1, 2)))
            kl = -0.5 * (1 + log_var - ops.square(mean) - ops.exp(log_var))
            kl = ops.mean(ops.sum(kl, axis=1))
            total = rec + kl
        grads = tape.gradient(total, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.total.update_state(total)
        self.kl.update_state(kl)
        return {"loss": self.total.result(), "kl_loss": self.kl.result()}

    def test_step(self, data):
        mean = self.encoder(data)[0]
        rec = ops.mean(ops.sum(keras.losses.binary_crossentropy(data, self.decoder(mean)),
                               axis=(1, 2)))
        return {"loss": rec}


def test_vae_trains_on_inputs_alone():
    keras.utils.set_random_seed(0)
    encoder, decoder = _vae_parts()
    vae = VAE(encoder, decoder)
    assert vae.name == "vae"
    assert [v.name for v in vae.trainable_weights] == [
        v.name for v in encoder.trainable_weights + decoder.trainable_weights]
    before = [v.numpy() for v in encoder.trainable_weights]
    vae.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01))
    x = _images()
    hist = vae.fit(x, epochs=6, batch_size=16, verbose=0, validation_data=x[:16])
    losses = hist.history["loss"]
    assert set(hist.history) == {"loss", "kl_loss", "val_loss"}
    assert losses[-1] < 0.9 * losses[0]
    assert all(not np.array_equal(b, v.numpy())
               for b, v in zip(before, encoder.trainable_weights))
    # the trackers start over each epoch: the last epoch's mean is below the first's
    # even though a running mean over all epochs would still carry the first one
    assert hist.history["kl_loss"][-1] != pytest.approx(hist.history["kl_loss"][0])
    assert vae.evaluate(x, verbose=0) == pytest.approx(hist.history["val_loss"][-1], rel=0.3)


class GAN(keras.Model):
    def __init__(self, discriminator, generator, latent):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent = latent
        self.batches = keras.metrics.Sum(name="batches")
        self.seen = []

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn
        self.d_loss = keras.metrics.Mean(name="d_loss")
        self.g_loss = keras.metrics.Mean(name="g_loss")

    def train_step(self, real):
        self.seen.append(real)
        n = ops.shape(real)[0]
        fake = self.generator(keras.random.normal((n, self.latent)))
        images = ops.concatenate([fake, real], axis=0)
        labels = ops.concatenate([ops.ones((n, 1)), ops.zeros((n, 1))], axis=0)
        with tf.GradientTape() as tape:
            d_loss = self.loss_fn(labels, self.discriminator(images))
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        with tf.GradientTape() as tape:
            fooled = self.discriminator(self.generator(keras.random.normal((n, self.latent))))
            g_loss = self.loss_fn(ops.zeros((n, 1)), fooled)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        self.d_loss.update_state(d_loss)
        self.g_loss.update_state(g_loss)
        self.batches.update_state(1.0)
        return {m.name: m.result() for m in self.metrics if m.name != "loss"}


def _gan():
    disc = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(4, 3, strides=2),
                             layers.LeakyReLU(0.2), layers.Flatten(),
                             layers.Dense(1, activation="sigmoid")], name="discriminator")
    gen = keras.Sequential([keras.Input((4,)), layers.Dense(4 * 4 * 4), layers.Reshape((4, 4, 4)),
                            layers.Conv2DTranspose(1, 3, strides=2, padding="same",
                                                   activation="sigmoid")], name="generator")
    return GAN(disc, gen, 4)


def test_gan_fits_a_dataset_of_images_with_two_optimizers():
    keras.utils.set_random_seed(1)
    gan = _gan()
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3),
                keras.losses.BinaryCrossentropy())
    # Keras 3 lists the trackers a model holds in model.metrics (after the compiled ones)
    assert [m.name for m in gan.metrics] == ["batches", "d_loss", "g_loss"]
    d0 = [v.numpy() for v in gan.discriminator.trainable_weights]
    g0 = [v.numpy() for v in gan.generator.trainable_weights]
    ds = tf.data.Dataset.from_tensor_slices(_images(64)).batch(16)
    hist = gan.fit(ds, epochs=2, verbose=0)
    assert set(hist.history) == {"batches", "d_loss", "g_loss"}
    # reset before each epoch, as Keras's reset_metrics: 4 batches each, not 4 then 8
    assert hist.history["batches"] == [4.0, 4.0]
    assert all(np.isfinite(hist.history["d_loss"] + hist.history["g_loss"]))
    # the step got the image batch itself, not an (x, y) tuple
    assert all(tuple(ops.shape(r)) == (16, 8, 8, 1) for r in gan.seen)
    assert not any(np.array_equal(a, v.numpy())
                   for a, v in zip(d0, gan.discriminator.trainable_weights))
    assert not any(np.array_equal(a, v.numpy())
                   for a, v in zip(g0, gan.generator.trainable_weights))


def test_a_model_without_call_refuses_what_needs_a_forward_pass(tmp_path):
    gan = _gan()
    gan.compile(keras.optimizers.Adam(), keras.optimizers.Adam(), keras.losses.BinaryCrossentropy())
    x = _images(4)
    for run in (lambda: gan(x), lambda: gan.predict(x, verbose=0),
                lambda: gan.predict_on_batch(x), lambda: gan.evaluate(x, verbose=0),
                lambda: gan.get_config()):
        with pytest.raises(NotImplementedError, match="GAN does not implement call"):
            run()
    for name in ("g.keras", "g.convnp", "g.weights.npz", "g.weights.h5"):
        save = gan.save_weights if ".weights." in name else gan.save
        with pytest.raises(ValueError, match="save the models it holds"):
            save(str(tmp_path / name))
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="dict"):
        gan.fit({"a": x}, verbose=0)
    lines = []
    gan.summary(print_fn=lines.append)
    assert any("discriminator (Sequential)" in line for line in lines)
    assert any("generator (Sequential)" in line for line in lines)


class Recorder(keras.Model):
    """A functional model (built by the subclass) whose steps record what they are given."""

    def __init__(self, n_inputs=1):
        inputs = [keras.Input((3,)) for _ in range(n_inputs)]
        merged = inputs[0] if n_inputs == 1 else layers.Concatenate()(inputs)
        super().__init__(inputs if n_inputs > 1 else inputs[0], layers.Dense(1)(merged))
        self.data = []

    def train_step(self, data):
        self.data.append(data)
        return {"steps": float(len(self.data))}

    def test_step(self, data):
        self.data.append(data)
        return {"tested": 1.0}


def _structure(data):
    if isinstance(data, (tuple, list)):
        return type(data).__name__, [_structure(d) for d in data]
    return tuple(ops.shape(data))


def test_steps_get_data_as_keras_3_packs_it():
    x, y, w = np.ones((4, 3)), np.zeros((4, 1)), np.ones(4)
    m = Recorder()
    m.compile("sgd")
    m.fit(x, batch_size=4, verbose=0)
    m.fit(x, y, batch_size=4, verbose=0)
    m.fit(x, y, sample_weight=w, batch_size=4, verbose=0)
    m.fit(tf.data.Dataset.from_tensor_slices(x).batch(4), verbose=0)
    m.evaluate(x, verbose=0)
    assert [_structure(d) for d in m.data] == [
        (4, 3), ("tuple", [(4, 3), (4, 1)]), ("tuple", [(4, 3), (4, 1), (4,)]), (4, 3), (4, 3)]
    two = Recorder(2)
    two.compile("sgd")
    two.fit([x, x], batch_size=4, verbose=0)  # several inputs alone: a 1-tuple, as Keras
    # TF 2.21 hands the inputs over as a tuple too: ((x1, x2),)
    assert _structure(two.data[0]) == ("tuple", [("tuple", [(4, 3), (4, 3)])])
    plain = keras.Sequential([keras.Input((3,)), layers.Dense(1)])  # the built-in step
    plain.compile("sgd", loss="mse")
    with pytest.raises(ValueError, match="needs targets"):
        plain.fit(x, verbose=0)


def test_train_on_batch_and_test_on_batch_run_the_users_steps():
    m = Recorder()
    m.compile("sgd")
    x = np.ones((2, 3))
    assert m.train_on_batch(x) == 1.0
    assert m.train_on_batch(x, np.zeros((2, 1)), return_dict=True) == {"steps": 2.0}
    assert m.test_on_batch(x) == 1.0
    assert _structure(m.data[1]) == ("tuple", [(2, 3), (2, 1)])
    with pytest.raises(ValueError, match="need targets"):
        m.train_on_batch(x, sample_weight=np.ones(2))
    gan = _gan()
    gan.compile(keras.optimizers.Adam(), keras.optimizers.Adam(), keras.losses.BinaryCrossentropy())
    logs = gan.train_on_batch(_images(8), return_dict=True)
    assert set(logs) == {"batches", "d_loss", "g_loss"}


class Distiller(keras.Model):
    """Keras 3's knowledge distillation: only `compute_loss` is the user's; fit's default
    step must call it (on the tape) with the batch's inputs."""

    def __init__(self, student, teacher):
        super().__init__()
        self.teacher = teacher
        self.student = student

    def compile(self, optimizer, metrics, alpha=0.3, temperature=4.0):
        super().compile(optimizer=optimizer, metrics=metrics)
        self.student_loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        self.distillation_loss_fn = keras.losses.KLDivergence()
        self.alpha, self.temperature = alpha, temperature

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, allow_empty=False):
        teacher_pred = self.teacher(x, training=False)
        distill = self.distillation_loss_fn(ops.softmax(teacher_pred / self.temperature, axis=1),
                                            ops.softmax(y_pred / self.temperature, axis=1))
        return (self.alpha * self.student_loss_fn(y, y_pred)
                + (1 - self.alpha) * distill * self.temperature ** 2)

    def call(self, x):
        return self.student(x)


def test_a_compute_loss_override_is_what_fit_and_evaluate_minimize():
    keras.utils.set_random_seed(2)

    def net(width, name):
        return keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(width, 3, strides=2),
                                 layers.Flatten(), layers.Dense(3)], name=name)

    teacher, student = net(8, "teacher"), net(2, "student")
    teacher.trainable = False
    x = _images(48)
    y = np.random.default_rng(0).integers(0, 3, 48)
    distiller = Distiller(student, teacher)
    distiller.compile(keras.optimizers.Adam(0.01), [keras.metrics.SparseCategoricalAccuracy()])
    frozen = [v.numpy() for v in teacher.weights]
    hist = distiller.fit(x, y, epochs=5, batch_size=48, verbose=0)
    assert set(hist.history) == {"loss", "sparse_categorical_accuracy"}
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(frozen, teacher.weights))
    loss, acc = distiller.evaluate(x, y, batch_size=48, verbose=0)
    logits_s, logits_t = student.predict(x, verbose=0), teacher.predict(x, verbose=0)

    def softmax(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    p_t, p_s = softmax(logits_t / 4.0), softmax(logits_s / 4.0)
    kl = np.mean(np.sum(p_t * np.log(p_t / p_s), axis=1))
    ce = np.mean(-np.log(softmax(logits_s)[np.arange(48), y]))
    assert loss == pytest.approx(0.3 * ce + 0.7 * kl * 16.0, rel=1e-4)
    assert acc == pytest.approx(np.mean(np.argmax(logits_s, axis=1) == y))
