"""keras.io's "Barlow Twins for contrastive SSL" writes its augmentation as a subclassed
``keras.Model`` (``RandomAugmentor``) mapped over a dataset of single images, each of its
parts a Layer built on ``tf.image.random_crop``/``resize``. TensorFlow 2.21 (Keras 3) runs a
subclassed model's ``call`` on whatever it is given, so the same augmentor can then be called
on a batch; the expected shapes and exception types below are TF 2.21's."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras


class _Clip(keras.Model):
    def call(self, x):
        return tf.clip_by_value(x * 2.0, 0, 1)


class _Project(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(2)

    def call(self, x):
        return self.dense(x)


class _ResizedCrop(keras.layers.Layer):
    def call(self, x):
        crop = tf.image.random_crop(x, (12, 12, 3))
        return tf.image.resize(crop, (16, 16))


class _Augmentor(keras.Model):
    def __init__(self):
        super().__init__()
        self.crop = _ResizedCrop()

    def call(self, x):
        return tf.clip_by_value(self.crop(x), 0, 1)


def test_a_subclassed_model_first_called_on_one_image_takes_a_batch_next():
    model = _Clip()
    image = np.full((16, 16, 3), 0.2, "float32")
    assert tuple(model(image).shape) == (16, 16, 3)
    assert tuple(model(np.stack([image, image])).shape) == (2, 16, 16, 3)
    assert tuple(model(np.full((5, 3), 0.2, "float32")).shape) == (5, 3)


def test_a_subclassed_model_with_a_dense_takes_a_higher_rank_input_next():
    model = _Project()
    assert tuple(model(np.ones((4, 3), "float32")).shape) == (4, 2)
    assert tuple(model(np.ones((2, 5, 3), "float32")).shape) == (2, 5, 2)
    with pytest.raises(ValueError):  # TF 2.21: the Dense's kernel does not fit (ValueError)
        model(np.ones((4, 5), "float32"))


def test_an_augmentor_model_maps_single_images_then_runs_on_a_batch():
    images = np.random.default_rng(0).uniform(size=(6, 16, 16, 3)).astype("float32")
    augmentor = _Augmentor()
    ds = (tf.data.Dataset.from_tensor_slices(images).map(augmentor)
          .batch(4, drop_remainder=True))
    batches = list(ds)
    assert [tuple(b.shape) for b in batches] == [(4, 16, 16, 3)]


def test_the_model_mapped_over_single_images_runs_on_their_batch_too():
    images = np.random.default_rng(0).uniform(size=(4, 16, 16, 3)).astype("float32")
    clip = _Clip()
    batch = next(iter(tf.data.Dataset.from_tensor_slices(images).map(clip).batch(4)))
    np.testing.assert_allclose(clip(images).numpy(), batch.numpy())


@pytest.mark.parametrize("size", [(20, 20, 3), (8, 8), (16, 16, 4)])
def test_random_crop_that_does_not_fit_is_an_invalid_argument_error(size):
    # TF 2.21: tf.errors.InvalidArgumentError (the op's check), for each of these sizes
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.image.random_crop(tf.zeros((16, 16, 3)), size)


def _uint8_image():
    return np.random.default_rng(0).integers(0, 256, (8, 8, 3)).astype("uint8")


def test_grayscale_of_a_uint8_image_stays_uint8():
    # keras.io's SimSiam drops colour on uint8 CIFAR images: TF 2.21 keeps uint8 (it weighs
    # the image in 0..1 and converts back), so these are its first six grey values
    gray = tf.image.rgb_to_grayscale(tf.constant(_uint8_image()))
    assert gray.dtype == tf.uint8
    assert gray.numpy().ravel()[:6].tolist() == [175, 67, 13, 186, 157, 166]
    tiled = tf.tile(gray, [1, 1, 3])
    assert (tuple(tiled.shape), tiled.dtype) == ((8, 8, 3), tf.uint8)


def test_simsiam_colour_drop_in_a_dataset_of_uint8_images():
    def color_drop(x):
        x = tf.image.rgb_to_grayscale(x)
        return tf.tile(x, [1, 1, 3])

    def random_apply(func, x, p):
        if tf.random.uniform([], minval=0, maxval=1) < p:
            return func(x)
        return x

    images = np.stack([_uint8_image()] * 4)
    ds = tf.data.Dataset.from_tensor_slices(images).map(
        lambda x: random_apply(color_drop, x, p=1.0)).batch(4)
    batch = next(iter(ds))
    assert (tuple(batch.shape), batch.dtype) == ((4, 8, 8, 3), tf.uint8)
