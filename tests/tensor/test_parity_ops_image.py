"""tf.image.crop_and_resize, draw_bounding_boxes, rgb_to_yiq/yiq_to_rgb, ssim_multiscale
and sample_distorted_bounding_box (and its stateless twin) against TensorFlow 2.21's
values, gradients, result types and errors (the numbers were printed by TF 2.21 for the same
inputs)."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp.tensor.debugging import InvalidArgumentError
from convnp.tensor.errors import OutOfRangeError

IMG = np.arange(40, dtype=np.float32).reshape(2, 4, 5, 1) % 7
BOXES = np.array([[0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], [-0.2, 0.5, 0.4, 1.3],
                  [0.8, 0.6, 0.2, 0.1]], np.float32)
INDICES = np.array([0, 1, 0, 1], np.int32)


def _close(got, expected):
    np.testing.assert_allclose(np.asarray(got, np.float64), expected, atol=1e-3, rtol=1e-4)


def test_crop_and_resize_values():
    out = tf.image.crop_and_resize(IMG, BOXES, INDICES, [2, 3])
    assert out.dtype == tf.float32 and out.shape == (4, 2, 3, 1)
    _close(out, [[[[0.0], [2.0], [4.0]], [[1.0], [3.0], [5.0]]], [[[2.28], [2.28], [2.0]], [[2.6], [4.0], [5.4]]], [[[0.0], [0.0], [0.0]], [[1.0], [1.76], [0.0]]], [[[3.6], [2.6], [1.6]], [[2.72], [3.4], [4.08]]]])
    _close(tf.image.crop_and_resize(IMG, BOXES, INDICES, [2, 3], method="nearest",
                                    extrapolation_value=-1), [[[[0.0], [2.0], [4.0]], [[1.0], [3.0], [5.0]]], [[[0.0], [1.0], [3.0]], [[3.0], [4.0], [6.0]]], [[[-1.0], [-1.0], [-1.0]], [[0.0], [2.0], [-1.0]]], [[[4.0], [3.0], [2.0]], [[6.0], [5.0], [4.0]]]])
    _close(tf.image.crop_and_resize(IMG, BOXES, INDICES, [1, 1]), [[[[2.5]]], [[[4.68]]], [[[3.0]]], [[[4.4]]]])
    assert tf.image.crop_and_resize(IMG.astype(np.uint8), BOXES, INDICES,
                                    [2, 2]).dtype == tf.float32


def test_crop_and_resize_gradients_for_image_and_boxes():
    image, boxes = tf.Variable(IMG), tf.Variable(BOXES)
    with tf.GradientTape() as tape:
        y = tf.image.crop_and_resize(image, boxes, INDICES, [2, 3])
        loss = tf.reduce_sum(y * tf.reshape(tf.range(1., 25.), (4, 2, 3, 1)))
    d_image, d_boxes = tape.gradient(loss, [image, boxes])
    _close(d_image, [[[[1.0], [0.0], [2.0], [0.0], [3.0]], [[0.0], [0.0], [12.8], [5.44], [8.16]], [[0.0], [0.0], [3.2], [1.36], [2.04]], [[4.0], [0.0], [5.0], [0.0], [6.0]]], [[[6.74], [13.28], [13.44], [7.16], [3.78]], [[9.06], [15.72], [15.36], [6.84], [1.62]], [[9.36], [19.44], [19.56], [10.86], [6.48]], [[5.24], [8.96], [8.64], [3.74], [0.72]]]])
    _close(d_boxes, [[0.0, 0.0, 0.0, 0.0], [108.0, -64.8, -198.0, 88.4], [0.0, -13.6, 280.8, -13.6], [-360.0, -119.6, 547.8, -2.8]])


def test_crop_and_resize_errors():
    with pytest.raises(OutOfRangeError):  # TF 2.21's type for a box index past the batch
        tf.image.crop_and_resize(IMG, BOXES, [0, 1, 2, 0], [3, 4])
    with pytest.raises(InvalidArgumentError):
        tf.image.crop_and_resize(IMG, BOXES[:, :3], INDICES, [3, 4])
    with pytest.raises(InvalidArgumentError):
        tf.image.crop_and_resize(IMG, BOXES, INDICES, [3, 4], method="bicubic")


def test_draw_bounding_boxes():
    image = np.zeros((1, 6, 8, 3), np.float32)
    boxes = np.array([[[0.2, 0.25, 0.8, 0.75], [0.0, 0.0, 0.5, 0.5], [0.5, 0.6, 1.2, 1.5]]],
                     np.float32)
    colors = np.array([[1., 0., 0.], [0., 1., 0.]], np.float32)
    out = tf.image.draw_bounding_boxes(image, boxes, colors).numpy()
    np.testing.assert_array_equal(out[0, :, :, 0], [[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(out[0, :, :, 1], [[1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
    # TF's own palette when colors is None
    np.testing.assert_array_equal(tf.image.draw_bounding_boxes(image, boxes, None)[0, :, 0],
                                  [[0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    assert tf.image.draw_bounding_boxes(image.astype(np.uint8), boxes,
                                        colors).dtype == tf.float32
    with pytest.raises(InvalidArgumentError):  # colours with fewer channels than the image
        tf.image.draw_bounding_boxes(image, boxes, np.ones((1, 2), np.float32))


def test_yiq():
    rgb = np.array([[[0.2, 0.5, 0.9], [1., 0., 0.3]]], np.float32)
    _close(tf.image.rgb_to_yiq(rgb), [[[0.4559, -0.3073, 0.061], [0.3332, 0.4995, 0.3049]]])
    _close(tf.image.yiq_to_rgb(tf.image.rgb_to_yiq(rgb)), [[[0.2, 0.5, 0.9], [1.0, 0.0, 0.2999]]])
    with pytest.raises(TypeError):
        tf.image.rgb_to_yiq(rgb.astype(np.int32))


def test_ssim_multiscale():
    rng = np.random.default_rng(0)
    a = rng.random((2, 20, 21, 2)).astype(np.float32)
    b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1).astype(np.float32)
    _close(tf.image.ssim_multiscale(a, b, 1.0, power_factors=(0.3, 0.3, 0.4), filter_size=3),
           [0.9359, 0.9432])
    _close(tf.image.ssim_multiscale((a * 255).astype(np.uint8), (b * 255).astype(np.uint8),
                                    255, power_factors=(0.5, 0.5), filter_size=5),
           [0.9405, 0.9486])
    image = tf.Variable(a)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.image.ssim_multiscale(image, b, 1.0, power_factors=(0.5, 0.5),
                                                      filter_size=3))
    _close(tape.gradient(loss, image)[0, 5:7, 5:7, 0], [[0.0026, 0.0062], [-0.003, -0.0033]])
    with pytest.raises(InvalidArgumentError):  # the coarsest scale is smaller than the filter
        tf.image.ssim_multiscale(a, b, 1.0)


def test_sample_distorted_bounding_box_rules():
    boxes = tf.constant([[[0.1, 0.2, 0.5, 0.6]]])
    out = tf.image.sample_distorted_bounding_box([100, 200, 3], bounding_boxes=boxes,
                                                 min_object_covered=0.1, seed=3)
    # TF 2.21's result: a namedtuple of int32 begin/size and a (1, 1, 4) float32 box
    assert type(out).__name__ == "SampleDistortedBoundingBoxV2"
    assert out._fields == ("begin", "size", "bboxes")
    begin, size, bbox = out
    assert begin.dtype == size.dtype == tf.int32 and bbox.shape == (1, 1, 4)
    assert int(begin[2]) == 0 and int(size[2]) == -1
    y, x = int(begin[0]), int(begin[1])
    h, w = int(size[0]), int(size[1])
    assert 0 <= y and y + h <= 100 and 0 <= x and x + w <= 200
    _close(bbox[0, 0], [y / 100, x / 200, (y + h) / 100, (x + w) / 200])
    # the crop covers at least 10% of the object box
    inter = max(0, min(50, y + h) - max(10, y)) * max(0, min(120, x + w) - max(40, x))
    assert inter >= 0.1 * 40 * 80
    first = tf.image.stateless_sample_distorted_bounding_box([100, 200, 3], boxes, seed=[1, 2])
    again = tf.image.stateless_sample_distorted_bounding_box([100, 200, 3], boxes, seed=[1, 2])
    assert type(first).__name__ == "StatelessSampleDistortedBoundingBox"
    np.testing.assert_array_equal(first.begin, again.begin)
    # no attempt can succeed: the whole image, as TF 2.21
    whole = tf.image.sample_distorted_bounding_box(
        [100, 200, 3], bounding_boxes=tf.constant([[[0., 0., 1., 1.]]]), min_object_covered=1.0,
        area_range=(0.05, 0.1), max_attempts=5)
    np.testing.assert_array_equal(whole.begin, [0, 0, 0])
    np.testing.assert_array_equal(whole.size, [100, 200, -1])
    with pytest.raises(InvalidArgumentError):
        tf.image.sample_distorted_bounding_box([100, 200, 3], bounding_boxes=tf.zeros((1, 0, 4)))
    ok = tf.image.sample_distorted_bounding_box([100, 200, 3], tf.zeros((1, 0, 4)),
                                                use_image_if_no_bounding_boxes=True)
    assert ok.bboxes.shape == (1, 1, 4)
