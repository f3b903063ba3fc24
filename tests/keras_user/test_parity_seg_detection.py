"""keras.io's object-detection programs (RetinaNet): anchor boxes built with tf.range /
tf.meshgrid / tf.tile on float sizes, and TensorFlow's non-max suppression family.

Every expected value here is what TensorFlow 2.21 gives for the same program (run side by side
with convnp); the comments say so where a rule is surprising.
"""

import numpy as np
import pytest

import convnp as tf
from convnp.tensor.errors import InvalidArgumentError

# -- anchors: float feature-map sizes used as shapes ------------------------------------------


def _anchors(image_height, image_width):
    """keras.io's RetinaNet AnchorBox, condensed: the feature sizes are float tensors
    (tf.math.ceil of a division) and go straight into tf.range, tf.tile and tf.reshape."""
    ratios, scales = [0.5, 1.0, 2.0], [2 ** x for x in [0, 1 / 3, 2 / 3]]
    levels = []
    for level, area in zip(range(3, 8), [32.0 ** 2, 64.0 ** 2, 128.0 ** 2, 256.0 ** 2,
                                         512.0 ** 2]):
        dims = []
        for ratio in ratios:
            h = tf.math.sqrt(area / ratio)
            wh = tf.reshape(tf.stack([area / h, h], axis=-1), [1, 1, 2])
            dims += [scale * wh for scale in scales]
        dims = tf.stack(dims, axis=-2)
        fh = tf.math.ceil(image_height / 2 ** level)
        fw = tf.math.ceil(image_width / 2 ** level)
        rx = tf.range(fw, dtype=tf.float32) + 0.5
        ry = tf.range(fh, dtype=tf.float32) + 0.5
        centers = tf.stack(tf.meshgrid(rx, ry), axis=-1) * 2 ** level
        centers = tf.tile(tf.expand_dims(centers, axis=-2), [1, 1, 9, 1])
        dims = tf.tile(dims, [fh, fw, 1, 1])
        anchors = tf.concat([centers, dims], axis=-1)
        levels.append(tf.reshape(anchors, [fh * fw * 9, 4]))
    return tf.concat(levels, axis=0)


def test_retinanet_anchor_boxes_take_float_feature_sizes():
    anchors = _anchors(64, 96)
    # TensorFlow 2.21: shape (1161, 4), float32, these first values and this sum
    assert anchors.shape == (1161, 4)
    assert anchors.dtype == np.float32
    np.testing.assert_allclose(np.asarray(anchors)[0], [4.0, 4.0, 22.6274, 45.2548], atol=1e-4)
    assert float(tf.reduce_sum(anchors)) == pytest.approx(247311.7, abs=0.1)


def test_shape_lists_holding_float_scalar_tensors_are_truncated_as_tensorflow_does():
    x = tf.ones((1, 2))
    three, two_and_half = tf.constant(3.0), tf.constant(2.5)
    # TensorFlow stacks such a list into one float tensor and casts it to int32
    assert tf.tile(x, [three, 1]).shape == (3, 2)
    assert tf.tile(x, (three, 1)).shape == (3, 2)
    assert tf.tile(x, [two_and_half, 1]).shape == (2, 2)
    assert tf.tile(x, [three, np.float32(1.0)]).shape == (3, 2)
    assert tf.tile(x, [tf.Variable(3.0), 1]).shape == (3, 2)
    assert tf.tile(x, [tf.constant(3.0, tf.float16), 1]).shape == (3, 2)
    assert tf.reshape(tf.ones((6,)), [three, 2]).shape == (3, 2)
    assert tf.reshape(tf.ones((6,)), [tf.constant(-1.0), 2]).shape == (3, 2)
    assert tf.reshape(tf.ones((6,)), [three * 2]).shape == (6,)
    assert tf.zeros([three, 2]).shape == (3, 2)
    assert tf.ones([three]).shape == (3,)
    assert tf.fill([three, 2], 1.0).shape == (3, 2)
    assert tf.broadcast_to(tf.ones((1,)), [three]).shape == (3,)
    # a plain NumPy float array is converted to int32 the same way
    assert tf.tile(x, np.array([2.7, 1.0])).shape == (2, 2)
    assert tf.zeros(np.array([3.0, 2.0])).shape == (3, 2)


def test_shape_lists_tensorflow_refuses_stay_refused():
    x = tf.ones((1, 2))
    three = tf.constant(3.0)
    with pytest.raises(TypeError):  # a Python float beside the tensor
        tf.tile(x, [three, 1.5])
    with pytest.raises(TypeError):  # Python floats alone
        tf.tile(x, [3.0, 1])
    with pytest.raises(TypeError):  # a float tensor as the whole shape
        tf.reshape(tf.ones((6,)), tf.constant([3.0, 2.0]))
    with pytest.raises(InvalidArgumentError):  # float32 and float64 do not stack
        tf.tile(x, [three, tf.constant(1.0, tf.float64)])
    with pytest.raises(InvalidArgumentError):  # nor int32 and float32
        tf.tile(x, [tf.constant(3), three])
    with pytest.raises(InvalidArgumentError):
        tf.reshape(tf.ones((6,)), [tf.constant(float("inf")), 2])


@pytest.mark.parametrize("args, kwargs, dtype, values", [
    # TensorFlow 2.21: the widest of the arguments' dtypes (int32 < int64 < float16 <
    # float32 < float64), Python ints int32 and Python floats float32
    ((tf.constant(3.0),), {}, np.float32, [0, 1, 2]),
    ((0, tf.constant(3.0)), {}, np.float32, [0, 1, 2]),
    ((0, 3, tf.constant(1.5)), {}, np.float32, [0, 1.5]),
    ((tf.constant(0), tf.constant(3.0)), {}, np.float32, [0, 1, 2]),
    ((tf.constant(0, tf.int64), 2.5), {}, np.float32, [0, 1, 2]),
    ((tf.constant(3.0, tf.float16),), {}, np.float16, [0, 1, 2]),
    ((tf.constant(0.0, tf.float16), tf.constant(3.0)), {}, np.float32, [0, 1, 2]),
    ((tf.Variable(3.0),), {}, np.float32, [0, 1, 2]),
    ((np.float64(3.0),), {}, np.float64, [0, 1, 2]),
    ((np.int64(3),), {}, np.int64, [0, 1, 2]),
    ((np.float32(3.0),), {}, np.float32, [0, 1, 2]),
    ((3.0,), {}, np.float32, [0, 1, 2]),
    ((3,), {}, np.int32, [0, 1, 2]),
    ((tf.constant(3.0),), {"dtype": tf.int32}, np.int32, [0, 1, 2]),
    ((2 ** 40, 2 ** 40 + 2), {}, np.int64, [2 ** 40, 2 ** 40 + 1]),
])
def test_range_dtype_is_the_widest_argument_dtype(args, kwargs, dtype, values):
    out = tf.range(*args, **kwargs)
    assert out.dtype == dtype
    np.testing.assert_array_equal(np.asarray(out), np.asarray(values, dtype=dtype))


# -- non-max suppression ------------------------------------------------------------------------

_BOXES = np.array([[0.0, 0.0, 1.0, 1.0], [0.0, 0.1, 1.0, 1.1], [0.0, -0.1, 1.0, 0.9],
                   [0.0, 10.0, 1.0, 11.0], [0.0, 10.1, 1.0, 11.1], [0.0, 100.0, 1.0, 101.0]],
                  np.float32)
_SCORES = np.array([0.9, 0.75, 0.6, 0.95, 0.5, 0.3], np.float32)


def test_non_max_suppression_with_scores_hard_and_soft():
    idx, scores = tf.image.non_max_suppression_with_scores(_BOXES, _SCORES, 6, 0.5, 0.1)
    # TensorFlow 2.21
    assert idx.dtype == np.int32 and scores.dtype == np.float32
    assert np.asarray(idx).tolist() == [3, 0, 5]
    np.testing.assert_allclose(np.asarray(scores), [0.95, 0.9, 0.3])
    idx, scores = tf.image.non_max_suppression_with_scores(_BOXES, _SCORES, 6, 0.5, 0.1,
                                                            soft_nms_sigma=0.5)
    # Soft-NMS: overlapping boxes come back later, with lowered scores
    assert np.asarray(idx).tolist() == [3, 0, 1, 5, 4, 2]
    np.testing.assert_allclose(np.asarray(scores),
                               [0.95, 0.9, 0.384, 0.3, 0.256, 0.19697], atol=1e-5)
    assert np.asarray(tf.image.non_max_suppression(_BOXES, _SCORES, 3, 0.5)).tolist() == [3, 0, 5]


def test_non_max_suppression_padded_pads_and_counts():
    idx, valid = tf.image.non_max_suppression_padded(_BOXES, _SCORES, 5, 0.5,
                                                     pad_to_max_output_size=True)
    assert np.asarray(idx).tolist() == [3, 0, 5, 0, 0] and int(valid) == 3
    assert valid.dtype == np.int32 and valid.shape == ()
    idx, valid = tf.image.non_max_suppression_padded(_BOXES, _SCORES, 5, 0.5)
    assert np.asarray(idx).tolist() == [3, 0, 5] and int(valid) == 3
    batch = np.stack([_BOXES, _BOXES])
    idx, valid = tf.image.non_max_suppression_padded(batch, np.stack([_SCORES, _SCORES]), 4,
                                                     0.5, pad_to_max_output_size=True)
    assert idx.shape == (2, 4) and np.asarray(valid).tolist() == [3, 3]
    with pytest.raises(ValueError):  # TensorFlow: a batch needs pad_to_max_output_size
        tf.image.non_max_suppression_padded(batch, np.stack([_SCORES, _SCORES]), 4)


def test_iou_at_the_threshold_falls_on_tensorflows_side():
    # IoU of these two boxes is 1/3, computed in float32 as TensorFlow does
    boxes = np.array([[0, 0, 1, 1], [0, 0.5, 1, 1.5]], np.float32)
    scores = np.array([0.9, 0.8], np.float32)
    # the standard op suppresses above the threshold only, the padded one at it too
    assert np.asarray(tf.image.non_max_suppression(boxes, scores, 2, 1 / 3)).tolist() == [0, 1]
    _, valid = tf.image.non_max_suppression_padded(boxes, scores, 2, 1 / 3,
                                                   pad_to_max_output_size=True)
    assert int(valid) == 1


def test_non_max_suppression_overlaps_reads_row_candidate_column_kept():
    overlaps = np.array([[1, .7, .2], [.1, 1, .9], [.2, .6, 1]], np.float32)
    out = tf.image.non_max_suppression_overlaps(overlaps, np.array([.5, .9, .7], np.float32), 3,
                                                0.65)
    assert np.asarray(out).tolist() == [1, 2]  # TensorFlow 2.21


def test_combined_non_max_suppression_as_retinanets_decoder_uses_it():
    boxes = np.stack([_BOXES / 101.0, _BOXES[::-1] / 101.0])[:, :, None, :]
    scores = np.stack([np.stack([_SCORES, _SCORES[::-1]], -1),
                       np.stack([_SCORES[::-1], _SCORES], -1)])
    out = tf.image.combined_non_max_suppression(boxes, scores, 2, 5, 0.5, 0.4)
    assert type(out).__name__ == "CombinedNonMaxSuppression"
    assert out._fields == ("nmsed_boxes", "nmsed_scores", "nmsed_classes", "valid_detections")
    nmsed_boxes, nmsed_scores, nmsed_classes, valid = out  # unpacks as a tuple
    # TensorFlow 2.21
    assert [t.dtype for t in out] == [np.float32, np.float32, np.float32, np.int32]
    assert nmsed_boxes.shape == (2, 5, 4)
    np.testing.assert_allclose(np.asarray(nmsed_boxes)[0], [
        [0.0, 0.099, 0.0099, 0.1089], [0.0, 0.0, 0.0099, 0.0089], [0.0, 0.0, 0.0099, 0.0099],
        [0.0, 0.9901, 0.0099, 1.0], [0.0, 0.0, 0.0, 0.0]], atol=1e-4)
    np.testing.assert_allclose(np.asarray(nmsed_scores),
                               [[0.95, 0.95, 0.9, 0.9, 0.0]] * 2, atol=1e-6)
    assert np.asarray(nmsed_classes).tolist() == [[0, 1, 0, 1, 0]] * 2
    assert np.asarray(valid).tolist() == [4, 4]
    # pad_per_class: at most per_class * classes rows; clip_boxes clips to [0, 1]
    out = tf.image.combined_non_max_suppression(boxes * 2 - 0.5, scores, 2, 10, 0.5, 0.4,
                                                pad_per_class=True)
    assert out.nmsed_boxes.shape == (2, 4, 4)
    np.testing.assert_allclose(np.asarray(out.nmsed_boxes)[0, 3], [0.0, 1.0, 0.0, 1.0])
    out = tf.image.combined_non_max_suppression(boxes * 2 - 0.5, scores, 2, 10, 0.5, 0.4,
                                                clip_boxes=False)
    assert float(np.asarray(out.nmsed_boxes).min()) < 0


def test_combined_non_max_suppression_refuses_bad_shapes_and_sizes():
    boxes = np.zeros((2, 6, 1, 4), np.float32)
    scores = np.zeros((2, 6, 3), np.float32)
    with pytest.raises(InvalidArgumentError, match="4-D"):
        tf.image.combined_non_max_suppression(boxes[:, :, 0], scores, 4, 7)
    with pytest.raises(InvalidArgumentError, match="third dimension"):
        tf.image.combined_non_max_suppression(np.zeros((2, 6, 2, 4)), scores, 4, 7)
    with pytest.raises(InvalidArgumentError, match="scores"):
        tf.image.combined_non_max_suppression(boxes[:, :5], scores, 4, 7)
    with pytest.raises(InvalidArgumentError, match="> 0"):
        tf.image.combined_non_max_suppression(boxes, scores, 4, 0)
    with pytest.raises(InvalidArgumentError, match="iou_threshold"):
        tf.image.combined_non_max_suppression(boxes, scores, 4, 7, 2.0)
    with pytest.raises(InvalidArgumentError, match="soft_nms_sigma"):
        tf.image.non_max_suppression_with_scores(_BOXES, _SCORES, 3, soft_nms_sigma=-1.0)


def _outline(box, size):
    image = np.zeros((1, size[0], size[1], 1), np.float32)
    drawn = tf.image.draw_bounding_boxes(image, np.array([[box]], np.float32),
                                         np.array([[1.0]], np.float32))
    return ["".join("#" if v else "." for v in row) for row in np.asarray(drawn)[0, :, :, 0]]


def test_draw_bounding_boxes_places_edges_as_tensorflow():
    # TensorFlow 2.21: rows are float32(y) * (h - 1) cast toward zero, so y_min = -0.1 puts
    # the top edge on row 0 (an edge past the image is left out: here the right one)
    assert _outline([-0.1, 0.3, 0.4, 1.2], (10, 12))[:4] == [
        "...#########", "...#........", "...#........", "...#########"]
    # float32(0.7) * 10 is 7.0 in float32: the box starts on row 7
    assert _outline([0.7, 0.7, 0.9, 0.9], (11, 11))[6:10] == [
        "...........", ".......###.", ".......#.#.", ".......###."]
    assert _outline([-0.05, -0.2, 0.5, 0.5], (11, 11))[:2] == ["######.....", ".....#....."]


def test_keras_ops_and_backend_arange_follow_tf_range():
    keras = tf.keras
    # TensorFlow 2.21: keras.ops.arange and Keras 2's K.arange keep tf.range's dtype; K.arange
    # casts only for a dtype other than its default "int32"
    for fn in (keras.ops.arange, keras.backend.arange):
        assert fn(np.int64(5)).dtype == np.int64
        assert fn(np.float64(3.0)).dtype == np.float64
        assert fn(tf.constant(3.0)).dtype == np.float32
        np.testing.assert_array_equal(np.asarray(fn(0, 3, 0.5)), [0, 0.5, 1, 1.5, 2, 2.5])
        assert fn(5).dtype == np.int32
    assert keras.backend.arange(3.0, dtype="float64").dtype == np.float64
