"""keras.io's MixUp and CutMix input pipelines: two batched datasets zipped and mapped, Beta
draws from `tf.random.gamma`, boxes cut with `crop_to_bounding_box` / `pad_to_bounding_box`;
what they give as TensorFlow 2.21 gives it.

The expected values below were read from TensorFlow 2.21 running the same programs."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf


def _mix_up(ds_one, ds_two, alpha=0.2):
    images_one, labels_one = ds_one
    images_two, labels_two = ds_two
    batch_size = tf.shape(images_one)[0]
    gamma_1 = tf.random.gamma(shape=[batch_size], alpha=alpha)
    gamma_2 = tf.random.gamma(shape=[batch_size], alpha=alpha)
    weight = gamma_1 / (gamma_1 + gamma_2)
    x_weight = tf.reshape(weight, (batch_size, 1, 1, 1))
    y_weight = tf.reshape(weight, (batch_size, 1))
    return (images_one * x_weight + images_two * (1 - x_weight),
            labels_one * y_weight + labels_two * (1 - y_weight))


def _pair():
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(10, 8, 8, 1)).astype("float32")
    labels = np.eye(10, dtype="float32")[rng.integers(0, 10, 10)]
    one = tf.data.Dataset.from_tensor_slices((images, labels)).shuffle(20).batch(4)
    two = tf.data.Dataset.from_tensor_slices((images, labels)).shuffle(20).batch(4)
    return tf.data.Dataset.zip((one, two))


def test_mixup_map_over_zipped_batches_has_an_unknown_batch_size():
    # TF 2.21: (TensorSpec((None, 8, 8, 1), float32), TensorSpec((None, 10), float32));
    # convnp gave the first batch's size, 4
    mixed = _pair().map(_mix_up, num_parallel_calls=tf.data.AUTOTUNE)
    images_spec, labels_spec = mixed.element_spec
    assert images_spec.shape == (None, 8, 8, 1)
    assert labels_spec.shape == (None, 10)
    assert images_spec.dtype == tf.float32
    images, labels = next(iter(mixed))
    assert images.shape == (4, 8, 8, 1)
    np.testing.assert_allclose(np.asarray(labels).sum(axis=1), 1.0, rtol=1e-5)


def test_a_map_that_reduces_the_batch_keeps_its_own_size():
    # TF 2.21: batch(4).map(reduce_mean over the batch) is TensorSpec((3,)); batch(3).map to
    # (v, sum over the last axis) is ((None, 3), (None,)); a batch larger than the dataset
    # still has an unknown size
    data = tf.data.Dataset.from_tensor_slices(np.zeros((10, 3), "float32"))
    assert data.batch(4).map(lambda v: tf.reduce_mean(v, 0)).element_spec.shape == (3,)
    pair = data.batch(3).map(lambda v: (v, tf.reduce_sum(v, 1))).element_spec
    assert [spec.shape for spec in pair] == [(None, 3), (None,)]
    assert data.batch(20).map(lambda v: v + 1).element_spec.shape == (None, 3)
    joined = data.batch(4).concatenate(data.batch(4)).map(lambda v: v * 2)
    assert joined.element_spec.shape == (None, 3)
    kept = tf.data.Dataset.zip((data.batch(4, drop_remainder=True),
                                data.batch(4, drop_remainder=True))).map(lambda u, v: u + v)
    assert kept.element_spec.shape == (4, 3)


def test_cutmix_box_crop_and_pad():
    # TF 2.21's values for a 5x6x2 ramp
    image = tf.reshape(tf.range(5 * 6 * 2, dtype=tf.float32), (5, 6, 2))
    crop = tf.image.crop_to_bounding_box(image, 1, 2, 3, 2)
    assert np.asarray(crop)[..., 0].tolist() == [[16.0, 18.0], [28.0, 30.0], [40.0, 42.0]]
    padded = tf.image.pad_to_bounding_box(crop, 1, 2, 5, 6)
    assert padded.shape == (5, 6, 2)
    assert padded.dtype == tf.float32
    assert np.asarray(padded)[..., 0].tolist() == [
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 16.0, 18.0, 0.0, 0.0],
        [0.0, 0.0, 28.0, 30.0, 0.0, 0.0], [0.0, 0.0, 40.0, 42.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]
    # the recipe's 1-element Beta draw: shape [1] + alpha's shape [1]
    assert tf.random.gamma(shape=[1], alpha=[0.25]).shape == (1, 1)
    assert tf.random.gamma(shape=[2, 3], alpha=[0.5, 1.0]).shape == (2, 3, 2)


def _png_folder(root):
    from PIL import Image

    rng = np.random.default_rng(1)
    for name in ("a", "b"):
        (root / name).mkdir()
    Image.fromarray(rng.integers(0, 255, (10, 12, 3), dtype=np.uint8)).save(root / "a" / "p.png")
    rng.integers(0, 255, (10, 12, 3), dtype=np.uint8)  # the probe's JPEG, left out here
    Image.fromarray(rng.integers(0, 255, (9, 9), dtype=np.uint8)).save(root / "a" / "r.png")
    Image.fromarray(rng.integers(0, 255, (9, 9, 4), dtype=np.uint8)).save(root / "b" / "s.png")
    return root


def test_image_dataset_from_directory_nearest_keeps_uint8(tmp_path):
    # TF 2.21: interpolation="nearest" gives uint8 images (tf.image.resize keeps the decoded
    # dtype for that method), also with crop_to_aspect_ratio / pad_to_aspect_ratio; the pixel
    # sums per file are TF's. Every other method gives float32 (convnp: float32 always).
    pytest.importorskip("PIL")
    root = _png_folder(tmp_path)
    utils = tf.keras.utils
    ds = utils.image_dataset_from_directory(root, image_size=(8, 8), batch_size=None,
                                            shuffle=False, interpolation="nearest",
                                            verbose=False)
    assert ds.element_spec[0].dtype == tf.uint8
    assert [float(np.asarray(image, "float64").sum()) for image, _ in ds] == \
        [22723.0, 22674.0, 24083.0]
    cropped = utils.image_dataset_from_directory(root, image_size=(8, 6), batch_size=2,
                                                 shuffle=False, interpolation="nearest",
                                                 crop_to_aspect_ratio=True, verbose=False)
    images, _ = next(iter(cropped))
    assert images.dtype == tf.uint8
    assert float(np.asarray(images, "float64")[0].sum()) == 17380.0
    padded = utils.image_dataset_from_directory(root, image_size=(8, 6), batch_size=2,
                                                shuffle=False, interpolation="nearest",
                                                pad_to_aspect_ratio=True, verbose=False)
    assert padded.element_spec[0].dtype == tf.uint8
    bilinear = utils.image_dataset_from_directory(root, image_size=(8, 8), batch_size=None,
                                                  shuffle=False, verbose=False)
    assert bilinear.element_spec[0].dtype == tf.float32
    assert [round(float(np.asarray(image, "float64").sum()), 1) for image, _ in bilinear] == \
        [23615.6, 23772.7, 24916.2]


def test_crop_and_resize():
    # TF 2.21's values (channel 0) for a (2, 5, 6, 2) ramp; convnp had no crop_and_resize
    x = np.arange(2 * 5 * 6 * 2, dtype="float32").reshape(2, 5, 6, 2)
    crops = tf.image.crop_and_resize(x, [[0.1, 0.1, 0.9, 0.8]], [1], (3, 4))
    assert crops.shape == (1, 3, 4, 2)
    assert crops.dtype == tf.float32
    np.testing.assert_allclose(np.asarray(crops)[0, ..., 0], [
        [65.8, 68.1333, 70.4667, 72.8], [85.0, 87.3333, 89.6667, 92.0],
        [104.2, 106.5333, 108.8667, 111.2]], atol=1e-3)
    two = tf.image.crop_and_resize(x, [[0.0, 0.0, 1.0, 1.0], [0.2, 0.5, 0.6, 1.2]], [0, 1],
                                   (2, 3), extrapolation_value=-1.0)
    np.testing.assert_allclose(np.asarray(two)[..., 0], [
        [[0.0, 5.0, 10.0], [48.0, 53.0, 58.0]], [[74.6, 78.1, -1.0], [93.8, 97.3, -1.0]]],
        atol=1e-4)
    assert np.asarray(tf.image.crop_and_resize(x, [[0.5, 0.5, 0.5, 0.5]], [0], (1, 1)))[
        0, 0, 0, 0] == 29.0
    flipped = tf.image.crop_and_resize(x, [[0.9, 0.8, 0.1, 0.1]], [1], (3, 3), method="nearest")
    assert np.asarray(flipped)[0, ..., 0].tolist() == [
        [116.0, 112.0, 110.0], [92.0, 88.0, 86.0], [68.0, 64.0, 62.0]]
    outside = tf.image.crop_and_resize(x, [[-0.2, 0.1, 0.7, 0.95]], [0], (4, 2),
                                       method="nearest", extrapolation_value=5.0)
    assert np.asarray(outside)[0, ..., 0].tolist() == [[5.0, 5.0], [2.0, 10.0], [26.0, 34.0],
                                                       [38.0, 46.0]]
    assert tf.image.crop_and_resize(x.astype("uint8"), [[0, 0, 1, 1]], [0], (2, 2)).dtype == \
        tf.float32
    # the gradient reaches the images: TF 2.21's first row of image 1, channel 0
    image = tf.Variable(x)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.image.crop_and_resize(
            image, [[0.1, 0.1, 0.9, 0.8], [0.2, 0.5, 0.6, 1.2]], [1, 0], (3, 4)) ** 2)
    grad = np.asarray(tape.gradient(loss, image))
    np.testing.assert_allclose(grad[1, 0, :, 0], [39.48, 66.733, 68.6, 70.467, 87.36, 0.0],
                               atol=2e-3)
    np.testing.assert_allclose(grad[0, 1, :, 0], [0.0, 0.0, 21.36, 37.467, 41.2, 44.933],
                               atol=2e-3)
    with pytest.raises(tf.errors.OutOfRangeError):  # TF 2.21's type
        tf.image.crop_and_resize(x, [[0, 0, 1, 1]], [2], (2, 2))  # no image 2
    with pytest.raises(ValueError):
        tf.image.crop_and_resize(x[0], [[0, 0, 1, 1]], [0], (2, 2))  # not a batch
