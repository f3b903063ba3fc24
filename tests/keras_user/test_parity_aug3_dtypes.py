"""Integer (uint8) images through `tf.image` and the augmentation layers: the dtype that
comes back, and its values, as TensorFlow 2.21 gives them.

The expected values below were read from TensorFlow 2.21 (Keras 3.15) running the same
calls."""

from __future__ import annotations

import numpy as np

import convnp as tf

layers = tf.keras.layers


def _uint8(shape=(1, 4, 4, 3)):
    return (np.random.default_rng(0).random(shape) * 255).astype("uint8")


def test_tf_image_rgb_to_grayscale_keeps_uint8_images_uint8():
    # TF 2.21: uint8 in, uint8 out (the 0..1 luminance times 255.5, truncated); convnp gave
    # the float32 luminance
    grey = tf.image.rgb_to_grayscale(_uint8())
    assert grey.dtype == "uint8" and grey.shape == (1, 4, 4, 1)
    assert np.asarray(grey).ravel().tolist() == [
        89, 149, 171, 193, 91, 158, 86, 128, 132, 196, 114, 142, 196, 121, 107, 119]
    white_black = np.array([[255, 255, 255], [0, 0, 0]], "uint8")
    assert np.asarray(tf.image.rgb_to_grayscale(white_black)).ravel().tolist() == [255, 0]
    assert tf.image.grayscale_to_rgb(grey).dtype == "uint8"
    assert tf.image.rgb_to_grayscale(_uint8().astype("float32")).dtype == "float32"
