"""Models whose image sizes are not fixed, as Keras handles them (keras.io's ESPCN
super-resolution and Zero-DCE enhancement run on images of any size):

* a user's layer in a model with ``Input((None, None, c))`` keeps the unknown sizes in its
  output shape (before: the trial call on 1x1 zeros fixed them, so fit refused 8x8 data);
* a subclassed model built on one size takes others (before: refused as the wrong shape).
"""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp import keras


def _mse(a, b):
    return tf.reduce_mean((a - b) ** 2)


class Tile2(keras.layers.Layer):
    def call(self, x):
        return tf.tile(x, [1, 2, 2, 1])


class DepthToSpace(keras.layers.Layer):
    """ESPCN's upsampling written with keras.ops, as keras.io's example writes it."""

    def __init__(self, block, **kwargs):
        super().__init__(**kwargs)
        self.block = block

    def call(self, x):
        b, s = self.block, keras.ops.shape(x)
        x = keras.ops.reshape(x, (-1, s[1], s[2], b, b, s[3] // (b * b)))
        x = keras.ops.transpose(x, (0, 1, 3, 2, 4, 5))
        return keras.ops.reshape(x, (-1, s[1] * b, s[2] * b, s[3] // (b * b)))


class MeanOverPixels(keras.layers.Layer):
    def call(self, x):
        return tf.reduce_mean(x, axis=[1, 2])


def test_users_layers_keep_unknown_sizes():
    inp = keras.Input((None, None, 1))
    assert keras.Model(inp, Tile2()(inp)).output_shape == (None, None, None, 1)
    assert keras.Model(inp, MeanOverPixels()(inp)).output_shape == (None, 1)
    fixed = keras.Input((6, 5, 1))
    assert keras.Model(fixed, Tile2()(fixed)).output_shape == (None, 12, 10, 1)


def test_espcn_style_model_trains_and_predicts_on_any_size():
    tf.keras.utils.set_random_seed(0)
    inp = keras.Input((None, None, 1))
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inp)
    out = DepthToSpace(2)(h)
    model = keras.Model(inp, out)
    assert model.output_shape == (None, None, None, 2)
    model.compile("adam", _mse)
    rng = np.random.default_rng(1)
    model.fit(rng.random((2, 8, 8, 1), np.float32), rng.random((2, 16, 16, 2), np.float32),
              verbose=0)
    assert model.predict(np.ones((1, 5, 7, 1), np.float32), verbose=0).shape == (1, 10, 14, 2)


class Enhancer(keras.Model):
    def __init__(self):
        super().__init__()
        self.conv = keras.layers.Conv2D(2, 3, padding="same")
        self.bn = keras.layers.BatchNormalization()

    def call(self, x, training=False):
        return self.bn(self.conv(x), training=training)


def test_subclassed_model_takes_other_sizes():
    model = Enhancer()
    assert model(np.zeros((1, 8, 8, 3), np.float32)).shape == (1, 8, 8, 2)
    assert model(np.zeros((1, 6, 10, 3), np.float32)).shape == (1, 6, 10, 2)
    model.compile("adam", _mse)
    model.fit(np.ones((4, 6, 10, 3), np.float32), np.ones((4, 6, 10, 2), np.float32),
              verbose=0)
    assert model.predict(np.ones((3, 12, 4, 3), np.float32), verbose=0).shape == (3, 12, 4, 2)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model(np.ones((2, 7, 7, 3), np.float32), training=True) ** 2)
    grads = tape.gradient(loss, model.trainable_variables)
    assert [tuple(g.shape) for g in grads] == [(3, 3, 3, 2), (2,), (2,), (2,)]
    with pytest.raises(ValueError, match="expects input of rank 4"):
        # the user's call runs on any rank, as in Keras 3; its Conv2D then refuses this one
        model(np.zeros((1, 8, 3), np.float32))


def test_a_users_layer_runs_once_on_its_first_call_and_takes_one_image():
    """Barlow Twins augments one image at a time in Dataset.map with a user's layer: its
    first call on data must not run a trial call on a batch of one (before: the crop of a
    (32, 32, 3) image ran on zeros of shape (1, 32, 3) and failed; a counter in call
    counted 2)."""

    class Crop(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.calls = tf.Variable(0.0, trainable=False)

        def call(self, x):
            self.calls.assign_add(1.0)
            return tf.image.random_crop(x, (24, 24, 3))

    crop = Crop()
    assert crop(np.random.default_rng(0).random((32, 32, 3), np.float32)).shape == (24, 24, 3)
    assert float(crop.calls.numpy()) == 1.0
    images = tf.data.Dataset.from_tensor_slices(np.zeros((4, 32, 32, 3), np.float32))
    assert [tuple(b.shape) for b in images.map(crop).batch(2)] == [(2, 24, 24, 3)] * 2


def test_a_subclassed_models_first_call_runs_its_code_once():
    """keras.io's Barlow Twins augments one image with a keras.Model subclass: its first call
    builds from that call, without a trial call on a batch of one (before: random_crop of a
    (32, 32, 3) image failed on zeros (1, 32, 3); a counter in call counted 2)."""

    class Crop(keras.Model):
        def call(self, x):
            return tf.image.random_crop(x, (24, 24, 3))

    assert Crop()(np.zeros((32, 32, 3), np.float32)).shape == (24, 24, 3)

    class Counted(keras.Model):
        def __init__(self):
            super().__init__()
            self.calls = tf.Variable(0.0, trainable=False)
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            self.calls.assign_add(1.0)
            return self.dense(x)

    model = Counted()
    model(np.ones((3, 4), np.float32))
    assert float(model.calls.numpy()) == 1.0 and model.output_shape == (None, 2)
    model.compile("sgd", "mse")
    model.fit(np.ones((4, 4), np.float32), np.ones((4, 2), np.float32), verbose=0)
