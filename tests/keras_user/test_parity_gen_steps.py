"""Custom steps of keras.io's generative programs (autoencoders, Zero-DCE, diffusion models)
as TensorFlow 2.21 runs them: a model whose train_step/test_step take the images alone is
validated on images alone, however the program spells them. Expected values are what TF 2.21
gave for the same program."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras


class Reconstructor(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(2)
        self.tracker = keras.metrics.Mean(name="recon")

    @property
    def metrics(self):
        return [self.tracker]

    def call(self, x):
        return self.dense(x)

    def train_step(self, x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(self(x) - x))
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.tracker.update_state(loss)
        return {"recon": self.tracker.result()}

    def test_step(self, x):
        assert tuple(x.shape) == (4, 2)  # the images alone, not a tuple
        self.tracker.update_state(tf.reduce_mean(tf.square(self(x) - x)))
        return {"recon": self.tracker.result()}


_X = np.arange(8, dtype="float32").reshape(4, 2) / 8


def _model():
    model = Reconstructor()
    model(_X)
    model.set_weights([np.eye(2, dtype="float32") * 0.5, np.zeros(2, "float32")])
    model.compile(optimizer="sgd")
    return model


@pytest.mark.parametrize("wrap", [
    lambda x: x, lambda x: (x,), lambda x: [x], lambda x: (x, None), lambda x: (x, None, None)])
def test_validation_inputs_alone_for_a_users_test_step(wrap):
    # TF 2.21 unpacks validation_data as (x, y, sample_weight) with the missing ones None
    history = _model().fit(_X, epochs=2, batch_size=4, verbose=0, shuffle=False,
                           validation_data=wrap(_X))
    assert list(history.history) == ["recon", "val_recon"]
    np.testing.assert_allclose(history.history["recon"], [0.06836, 0.06665], atol=1e-5)
    np.testing.assert_allclose(history.history["val_recon"], [0.06665, 0.065], atol=1e-5)


def test_built_in_step_still_needs_targets():
    # TF 2.21: a model with the built-in test step refuses validation_data=(x_val,)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError):
        model.fit(_X, _X, epochs=1, verbose=0, validation_data=(_X,))


class Tracked(keras.Model):
    """A GAN-like model holding its loss trackers in attributes, with no `metrics` property."""

    def __init__(self):
        super().__init__()
        self.inner = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        self.t = keras.metrics.Mean(name="t_loss")
        self.s = keras.metrics.Sum(name="s")

    def train_step(self, data):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(self.inner(data) ** 2)
        grads = tape.gradient(loss, self.inner.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.inner.trainable_weights))
        self.t.update_state(loss)
        self.s.update_state(1.0)
        return {"t_loss": self.t.result(), "s": self.s.result()}


def test_metrics_names_list_the_trackers_a_model_holds():
    # TF 2.21: metrics_names is ['loss', 't_loss', 's'] (convnp said ['loss']); the
    # trackers reset at each epoch, so "s" counts the batches of one epoch
    model = Tracked()
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    model.inner.set_weights([np.full((2, 1), 0.5, "float32"), np.zeros(1, "float32")])
    history = model.fit(_X, epochs=2, batch_size=2, verbose=0, shuffle=False)
    assert model.metrics_names == ["loss", "t_loss", "s"]
    assert history.history["s"] == [2.0, 2.0]


def test_training_a_frozen_discriminator_warns():
    # TF 2.21 (Keras 3): a discriminator compiled, then frozen for the combined GAN, is not
    # updated by its own train_on_batch any more, and each such step warns
    disc = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    disc.compile(loss="binary_crossentropy", optimizer="adam")
    disc.trainable = False
    before = [w.copy() for w in disc.get_weights()]
    with pytest.warns(UserWarning, match="does not have any trainable weights"):
        disc.train_on_batch(_X, np.ones((4, 1), "float32"))
    for old, new in zip(before, disc.get_weights()):
        np.testing.assert_array_equal(old, new)


class Nested(keras.Model):
    """A step returning a nested dict, as Keras 3's ``{m.name: m.result() for m in
    self.metrics}`` does when the compiled metrics sit under "compile_metrics"."""

    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(1)

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        return {"zeta": 1.0, "nest": {"b2": 2.0, "a2": 3.0}, "alpha": 4.0,
                "compile_metrics": {"mae": 5.0}}

    def test_step(self, data):
        return {"zeta": 1.0, "nest": {"b2": 2.0, "a2": 3.0}, "alpha": 4.0}


def test_nested_step_logs_in_keras_order():
    # TF 2.21 sorts a step's logs by their top key, each nested dict's entries (sorted) in
    # its place; the logs at on_test_end are sorted flat
    seen = {}

    class Spy(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.setdefault("batch", list(logs))

        def on_test_end(self, logs=None):
            seen["test_end"] = list(logs)

    model = Nested()
    model.compile(optimizer="sgd")
    history = model.fit(_X, epochs=1, batch_size=2, verbose=0, callbacks=[Spy()],
                        validation_data=(_X,))
    assert seen["batch"] == ["alpha", "mae", "a2", "b2", "zeta"]
    assert seen["test_end"] == ["a2", "alpha", "b2", "zeta"]
    assert list(history.history) == ["alpha", "mae", "a2", "b2", "val_a2", "val_alpha",
                                     "val_b2", "val_zeta", "zeta"]
    assert list(model.evaluate(_X, verbose=0, return_dict=True, batch_size=2)) == [
        "alpha", "a2", "b2", "zeta"]
    assert model.evaluate(_X, verbose=0, batch_size=2) == [3.0, 4.0, 2.0, 1.0]
    assert list(model.train_on_batch(_X, return_dict=True)) == ["alpha", "mae", "a2", "b2",
                                                                "zeta"]


def test_keras_io_custom_fit_history_order():
    # keras.io's "customizing fit": the loop over self.metrics feeds "loss" and the
    # compiled metrics; TF 2.21's history lists mae (under compile_metrics) before loss
    class CustomModel(keras.Model):
        def train_step(self, data):
            x, y = data
            with tf.GradientTape() as tape:
                y_pred = self(x, training=True)
                loss = self.compute_loss(y=y, y_pred=y_pred)
            grads = tape.gradient(loss, self.trainable_variables)
            self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

    inputs = keras.Input((3,))
    model = CustomModel(inputs, keras.layers.Dense(1)(inputs))
    model.set_weights([np.full((3, 1), 0.2, "float32"), np.zeros(1, "float32")])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x = np.arange(12, dtype="float32").reshape(4, 3) / 10
    history = model.fit(x, np.ones((4, 1), "float32"), epochs=2, batch_size=2, verbose=0,
                        shuffle=False)
    assert list(history.history) == ["mae", "loss"]
    np.testing.assert_allclose(history.history["loss"], [0.4765, 0.424], atol=1e-4)
    np.testing.assert_allclose(history.history["mae"], [0.6563, 0.611], atol=1e-4)
