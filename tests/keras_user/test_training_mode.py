"""Which mode layers run in when nobody passes ``training``, as Keras 3 decides it.

* Inside a user's ``call`` (a layer or a subclassed model), layers called without
  ``training=`` follow the mode of that call, even when the user's ``call`` has no
  ``training`` argument (keras.io's Involution layer holds a BatchNormalization this way).
* A model called directly, ``model(x)``, runs its augmentation layers (they augment) and
  everything else in inference, as keras.io's "image classification from scratch" shows
  its augmented samples; ``predict`` and ``training=False`` never augment.
Expected numbers are TensorFlow 2.21's on the same inputs."""

from __future__ import annotations

import numpy as np

import convnp as tf
from convnp import keras


class Wrap(keras.layers.Layer):
    """A user's layer whose call takes no ``training``."""

    def build(self, input_shape):
        self.bn = keras.layers.BatchNormalization()

    def call(self, x):
        return self.bn(x)


def test_inner_layers_follow_the_user_call():
    w = Wrap()
    x = np.array([[1.0], [3.0]], np.float32)
    # TensorFlow: batch statistics and a moving-mean step in training, moving stats otherwise
    np.testing.assert_allclose(np.asarray(w(x, training=True)).ravel(), [-0.9995004, 0.9995005],
                               rtol=1e-5)
    np.testing.assert_allclose(np.asarray(w.bn.moving_mean), [0.02], rtol=1e-5)
    np.testing.assert_allclose(np.asarray(w(x)).ravel(), [0.97951037, 2.9785113], rtol=1e-5)


def test_fit_trains_batch_norm_inside_a_users_layer_and_model():
    x = np.full((8, 1), 5.0, np.float32)
    y = np.zeros((8, 1), np.float32)
    inp = keras.Input((1,))
    model = keras.Model(inp, Wrap()(inp))
    model.compile("sgd", "mse")
    model.fit(x, y, batch_size=8, verbose=0)
    # before: the inner BatchNormalization stayed in inference and its moving mean at 0
    np.testing.assert_allclose(np.asarray(model.layers[1].bn.moving_mean), [0.05], rtol=1e-5)

    class Sub(keras.Model):
        def __init__(self):
            super().__init__()
            self.bn = keras.layers.BatchNormalization()
            self.out = keras.layers.Dense(1)

        def call(self, inputs):  # no training argument
            return self.out(self.bn(inputs))

    sub = Sub()
    sub.compile("sgd", "mse")
    sub.fit(x, y, batch_size=8, verbose=0)
    np.testing.assert_allclose(np.asarray(sub.bn.moving_mean), [0.05], rtol=1e-5)


def test_a_model_called_directly_augments():
    x = np.random.default_rng(0).random((8, 16, 16, 3)).astype(np.float32)
    tf.keras.utils.set_random_seed(1)
    augment = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.RandomFlip("horizontal")])
    inp = keras.Input((16, 16, 3))
    functional = keras.Model(inp, keras.layers.RandomFlip("horizontal")(inp))
    inp2 = keras.Input((16, 16, 3))
    outer = keras.Model(inp2, keras.layers.Dropout(0.9)(augment(inp2)))
    for model in (augment, functional, outer):
        changed = np.asarray(model(x))
        assert np.abs(changed - x).max() > 0, model.name
        # flips only: every image is itself or its mirror
        for a, b in zip(changed, x):
            assert np.array_equal(a, b) or np.array_equal(a, b[:, ::-1])
        np.testing.assert_array_equal(np.asarray(model(x, training=False)), x)
        np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    assert not (np.asarray(outer(x)) == 0).any()  # Dropout stays off in a direct call


def test_a_users_layer_holding_an_augmentation_follows_its_call():
    class Aug(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.flip = keras.layers.RandomFlip("horizontal")

        def call(self, x):
            return self.flip(x)

    x = np.random.default_rng(2).random((16, 4, 4, 1)).astype(np.float32)
    inp = keras.Input((4, 4, 1))
    model = keras.Model(inp, Aug()(inp))
    tf.keras.utils.set_random_seed(3)
    assert np.abs(np.asarray(model(x)) - x).max() > 0
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    np.testing.assert_array_equal(np.asarray(model(x, training=False)), x)
