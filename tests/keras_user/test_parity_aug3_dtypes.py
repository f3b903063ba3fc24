"""Integer (uint8) images through `tf.image` and the augmentation layers: the dtype that
comes back, and its values, as TensorFlow 2.21 gives them.

The expected values below were read from TensorFlow 2.21 (Keras 3.15) running the same
calls."""

from __future__ import annotations

import numpy as np
import pytest

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


#: TF 2.21: at inference these layers hand uint8 images back as they came (uint8); convnp
#: gave float32 copies
PASS_AT_INFERENCE = [
    ("RandomContrast", {"factor": 0.2}), ("RandomCrop", {"height": 2, "width": 2}),
    ("RandomBrightness", {"factor": 0.2}), ("RandomHue", {"factor": 0.2}),
    ("RandomSaturation", {"factor": 0.2}), ("RandomColorDegeneration", {"factor": 0.2}),
    ("Equalization", {}), ("MixUp", {}), ("RandomColorJitter", {"brightness_factor": 0.2}),
    ("RandomGrayscale", {}), ("RandomInvert", {}), ("RandomPosterization", {"factor": 4}),
]
#: TF 2.21: these give float32 at inference too (they cast before looking at the mode)
FLOAT_AT_INFERENCE = [
    ("RandomFlip", {}), ("RandomRotation", {"factor": 0.1}),
    ("Solarization", {}), ("RandomSharpness", {"factor": 0.2}), ("CutMix", {}),
    ("RandomErasing", {}), ("RandomGaussianBlur", {}), ("RandomPerspective", {}),
    ("RandAugment", {}), ("AugMix", {}),
]


def test_uint8_images_keep_their_dtype_at_inference_where_keras_passes_them():
    images = _uint8((2, 4, 4, 3))
    for name, arguments in PASS_AT_INFERENCE:
        layer = getattr(layers, name)(**arguments)
        for x in (images, images[0]):
            out = layer(x, training=False)
            assert out.dtype == "uint8", name
            np.testing.assert_array_equal(out, x)
        assert layer(images.astype("float32"), training=False).dtype == "float32"
    for name, arguments in FLOAT_AT_INFERENCE:
        out = getattr(layers, name)(**arguments)(images, training=False)
        assert out.dtype == "float32", name
        np.testing.assert_array_equal(out, images.astype("float32"))
    # AutoContrast is not random: it stretches at inference too, in float32
    assert layers.AutoContrast()(images, training=False).dtype == "float32"


def test_mixup_dict_at_inference_keeps_uint8_images():
    # TF 2.21: {"images": uint8, "labels": float32} at inference: images uint8, as given
    images = _uint8((2, 4, 4, 3))
    out = layers.MixUp()({"images": images, "labels": np.eye(2, dtype="float32")},
                         training=False)
    assert out["images"].dtype == "uint8" and out["labels"].dtype == "float32"
    np.testing.assert_array_equal(out["images"], images)


def test_random_grayscale_keeps_uint8_in_training_truncating_the_luminance():
    # TF 2.21: uint8 in training too; the grey value is the float luminance truncated (Keras'
    # own rgb_to_grayscale, unlike tf.image's, which rounds through max + 0.5)
    grey = layers.RandomGrayscale(factor=1.0)(_uint8())
    assert grey.dtype == "uint8"
    assert np.asarray(grey)[..., 0].ravel().tolist() == [
        89, 149, 170, 193, 91, 158, 86, 128, 132, 195, 114, 141, 196, 121, 106, 119]
    assert layers.RandomGrayscale(factor=0.0)(_uint8()).dtype == "uint8"


def test_dict_entries_come_back_as_tensors_with_floats_in_the_layer_dtype():
    # TF 2.21: labels, boxes and masks of a dict come back as tensors, floating ones cast to
    # float32 (MixUp/CutMix mixed or not; RandomFlip keeps float64), integer ones as given;
    # convnp handed back the caller's arrays, float64 labels staying float64
    images = np.zeros((2, 8, 8, 3), "float32")
    labels = np.eye(2, dtype="float64")
    for name in ("RandomInvert", "AutoContrast", "RandAugment", "MixUp", "CutMix"):
        for training in (True, False):
            out = getattr(layers, name)()({"images": images, "labels": labels},
                                          training=training)
            assert out["labels"].dtype == "float32", name
            assert np.asarray(out["labels"].numpy()).shape == (2, 2)
    flipped = layers.RandomFlip()({"images": images, "labels": labels})
    assert flipped["labels"].dtype == "float64"
    ints = layers.MixUp()({"images": images, "labels": np.arange(2)}, training=False)
    assert ints["labels"].dtype == "int64"
    out = layers.RandomInvert(bounding_box_format="xyxy")(
        {"images": images, "segmentation_masks": np.zeros((2, 8, 8, 1)),
         "bounding_boxes": {"boxes": np.zeros((2, 1, 4)), "labels": np.zeros((2, 1))}})
    assert out["segmentation_masks"].dtype == "float32"
    assert out["bounding_boxes"]["boxes"].dtype == "float32"
    assert out["bounding_boxes"]["labels"].dtype == "float32"


def _gradient_image():
    rows, cols = np.mgrid[0:16, 0:16]
    return np.stack([rows * 15, cols * 15, (rows + cols) * 7], -1).astype("uint8")


def test_tf_image_jpeg_quality_family_exists_with_tf_shapes_dtypes_and_errors():
    # TF 2.21: adjust_jpeg_quality / random_jpeg_quality / stateless_random_jpeg_quality
    # (convnp: AttributeError). Pixels are within 3 levels of TF's on this image (its mean
    # error against the original is 2.88 at quality 50, 1.95 at 90; another codec's)
    image = _gradient_image()
    for quality in (50, 90):
        out = tf.image.adjust_jpeg_quality(image, quality)
        assert out.dtype == "uint8" and out.shape == (16, 16, 3)
        assert 1.0 < np.abs(np.asarray(out).astype(int) - image).mean() < 4.0
    floats = tf.image.adjust_jpeg_quality(image.astype("float32") / 255, 90)
    assert floats.dtype == "float32" and 0.8 < float(np.asarray(floats).max()) <= 1.0
    assert tf.image.adjust_jpeg_quality(image[..., :1], 50).shape == (16, 16, 1)
    first = tf.image.stateless_random_jpeg_quality(image, 70, 95, seed=(1, 2))
    np.testing.assert_array_equal(
        first, tf.image.stateless_random_jpeg_quality(image, 70, 95, seed=(1, 2)))
    assert tf.image.random_jpeg_quality(image, 70, 95).dtype == "uint8"
    for bounds in [(50, 40), (-1, 50), (10, 101), (50, 50)]:
        with pytest.raises(ValueError):  # TF 2.21: ValueError
            tf.image.random_jpeg_quality(image, *bounds)
    for bad in (lambda: tf.image.adjust_jpeg_quality(image, 101),
                lambda: tf.image.adjust_jpeg_quality(image[..., :2], 50),
                lambda: tf.image.adjust_jpeg_quality(np.stack([image, image]), 50)):
        with pytest.raises(tf.errors.InvalidArgumentError):  # TF 2.21's type
            bad()
