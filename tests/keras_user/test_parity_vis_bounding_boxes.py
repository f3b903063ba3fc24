"""``tf.keras.utils.bounding_boxes`` against Keras 3.15 on TensorFlow 2.21.

Every expected number, dtype, shape and exception class below is what TF 2.21 printed for
the same call (the namespace was missing in convnp before).
"""

import numpy as np
import pytest

import convnp as tf

bb = tf.keras.utils.bounding_boxes
BOXES = np.array([[10, 20, 30, 60], [50, 60, 70, 80]])  # int64, as users write them


def close(value, expected, dtype="float32"):
    assert isinstance(value, tf.Tensor)
    assert np.asarray(value).dtype == dtype
    np.testing.assert_allclose(np.asarray(value), expected, rtol=1e-5, atol=1e-4)


def test_namespace_has_keras_names():
    names = {"affine_transform", "clip_to_image_size", "compute_ciou", "compute_iou",
             "convert_format", "crop", "decode_deltas_to_boxes", "encode_box_to_deltas", "pad"}
    assert names <= set(dir(bb))
    from convnp.keras.utils import bounding_boxes

    assert bounding_boxes is bb


@pytest.mark.parametrize("source, target, expected", [
    ("xyxy", "center_yxhw", [[40, 20, 40, 20], [70, 60, 20, 20]]),
    ("yxyx", "xywh", [[20, 10, 40, 20], [60, 50, 20, 20]]),
    ("xywh", "rel_center_xywh", [[0.125, 0.5, 0.15, 0.6], [0.425, 1.0, 0.35, 0.8]]),
    ("center_yxhw", "rel_yxyx", [[-0.05, -0.05, 0.25, 0.25], [0.15, 0.1, 0.85, 0.5]]),
    ("rel_xywh", "center_xywh", [[5000, 5000, 6000, 6000], [17000, 10000, 14000, 8000]]),
    ("rel_center_xywh", "xyxy", [[-1000, -1000, 5000, 5000], [3000, 2000, 17000, 10000]]),
    # two relative formats: the fractions are converted as they are
    ("rel_center_xywh", "rel_xywh", [[-5, -10, 30, 60], [15, 20, 70, 80]]),
    ("XYXY", "XYWH", [[10, 20, 20, 40], [50, 60, 20, 20]]),  # any case
])
def test_convert_format_matches_tf(source, target, expected):
    close(bb.convert_format(BOXES, source, target, height=100, width=200), expected)


def test_convert_format_dtype_batch_and_dict():
    close(bb.convert_format(BOXES, "xyxy", "xywh", dtype="float64"),
          [[10, 20, 20, 40], [50, 60, 20, 20]], "float64")
    close(bb.convert_format(BOXES, "xyxy", "xywh", dtype="int32"),
          [[10, 20, 20, 40], [50, 60, 20, 20]], "int32")
    close(bb.convert_format(np.stack([BOXES, BOXES + 1]), "xyxy", "center_yxhw")[1],
          [[41, 21, 40, 20], [71, 61, 20, 20]])
    close(bb.convert_format([[1, 2, 3, 4]], "xyxy", "xywh"), [[1, 2, 2, 2]])
    # TF 2.21 writes the converted boxes into the dict it was given and returns that dict
    data = {"boxes": BOXES, "labels": np.array([1, 2])}
    out = bb.convert_format(data, "xyxy", "xywh")
    assert out is data and sorted(out) == ["boxes", "labels"]
    close(data["boxes"], [[10, 20, 20, 40], [50, 60, 20, 20]])
    assert np.asarray(data["labels"]).dtype == np.int64


@pytest.mark.parametrize("call", [
    lambda: bb.convert_format(BOXES, "xyxy", "rel_xyxy"),  # no height/width
    lambda: bb.convert_format(BOXES, "xyxy", "foo"),
    lambda: bb.convert_format(np.zeros((2, 3)), "xyxy", "xywh"),
    lambda: bb.clip_to_image_size({"boxes": BOXES}),
    lambda: bb.compute_iou(BOXES[0], BOXES, "xyxy"),  # rank 1
    lambda: bb.compute_iou(BOXES / 100, BOXES / 100, "rel_xyxy"),  # no image_shape
    lambda: bb.compute_ciou(BOXES, BOXES, "rel_xyxy", image_shape=(10, 10, 3)),
    lambda: bb.encode_box_to_deltas(BOXES, BOXES, "xyxy", "xyxy", variance=[1, 2]),
    lambda: bb.encode_box_to_deltas(BOXES, BOXES, "xyxy", "xyxy", encoding_format="xyxy"),
    lambda: bb.decode_deltas_to_boxes(BOXES, BOXES, "xyxy", "xyxy", encoded_format="xyxy"),
])
def test_misuse_raises_value_error_as_tf(call):
    with pytest.raises(ValueError):
        call()


def test_symbolic_inputs_refused_with_value_error_as_tf():
    x = tf.keras.Input((5, 4))
    for call in (lambda: bb.convert_format(x, "xyxy", "xywh"),
                 lambda: bb.compute_iou(x, x, "xyxy"), lambda: bb.compute_ciou(x, x, "xyxy"),
                 lambda: bb.crop(x, 1, 1, 3, 3), lambda: bb.pad(x, 1, 1),
                 lambda: bb.clip_to_image_size({"boxes": x}, 9, 9)):
        with pytest.raises(ValueError, match="symbolic"):
            call()


@pytest.mark.parametrize("call", [
    lambda: bb.clip_to_image_size({"boxes": BOXES}, 10, 10, bounding_box_format="xywh"),
    lambda: bb.crop(BOXES, 1, 2, 3, 4, bounding_box_format="xywh"),
    lambda: bb.pad(BOXES, 3, 5, bounding_box_format="yxyx"),
    lambda: bb.affine_transform(BOXES[None], 0, 0, 0, 1, 0, 0, 9, 9, bounding_box_format="yxyx"),
])
def test_unimplemented_formats_raise_not_implemented_as_tf(call):
    with pytest.raises(NotImplementedError):
        call()


def test_clip_to_image_size():
    boxes = np.array([[-10., -20, 150, 160], [50, 40, 70, 80], [130, 10, 140, 20]])
    out = bb.clip_to_image_size({"boxes": boxes, "labels": np.array([0, 1, 2])}, height=100,
                                width=120)
    close(out["boxes"], [[0, 0, 120, 100], [50, 40, 70, 80], [120, 10, 120, 20]], "float64")
    assert np.asarray(out["labels"]).dtype == np.int64
    assert np.asarray(out["labels"]).tolist() == [0, 1, -1]  # no area left: label -1
    rel = bb.clip_to_image_size({"boxes": boxes / 100, "labels": np.array([0, 1, 2])},
                                bounding_box_format="rel_xyxy")
    close(rel["boxes"], [[0, 0, 1, 1], [.5, .4, .7, .8], [1, .1, 1, .2]], "float64")
    ints = bb.clip_to_image_size({"boxes": boxes.astype("int32")}, 100, 120)
    assert sorted(ints) == ["boxes"] and np.asarray(ints["boxes"]).dtype == np.int32
    batch = bb.clip_to_image_size({"boxes": np.stack([boxes, boxes]),
                                   "labels": np.array([[0, 1, 2], [3, 4, 5]])}, 100, 120)
    assert np.asarray(batch["labels"]).tolist() == [[0, 1, -1], [3, 4, -1]]
    with pytest.raises(TypeError):  # TF fails indexing the array (IndexError): a dict is needed
        bb.clip_to_image_size(boxes, 100, 120)


def test_compute_iou_shapes_formats_and_masking():
    b1 = np.array([[0., 0, 10, 10], [5, 5, 15, 15], [-1, -1, -1, -1]])
    b2 = np.array([[0., 0, 10, 10], [20, 20, 30, 30]])
    close(bb.compute_iou(b1, b2, "xyxy"), [[1, 0], [0.1429, 0], [0, 0]])
    close(bb.compute_iou(b1, b2, "xywh"), [[1, 0], [0.0833, 0], [0, 0]])
    close(bb.compute_iou(b1, b2, "center_yxhw"), [[1, 0], [0.2093, 0.0526], [0, 0]])
    close(bb.compute_iou(b1, b2, "xyxy", use_masking=True, mask_val=-5),
          [[1, 0], [0.1429, 0], [-5, -5]])
    close(bb.compute_iou(np.stack([b1, b1]), np.stack([b2, b2 + 1]), "xyxy")[1],
          [[0.6807, 0], [0.2195, 0], [0, 0]])
    assert bb.compute_iou(np.stack([b1, b1]), b2, "xyxy").shape == (2, 3, 2)
    assert bb.compute_iou(b1, np.stack([b2, b2]), "xyxy").shape == (2, 3, 2)
    close(bb.compute_iou(b1 / 10, b2 / 10, "rel_xyxy", image_shape=(10, 20, 3)),
          [[1, 0], [0.1429, 0], [0, 0]])
    close(bb.compute_iou(b1.astype("int32"), b2.astype("int32"), "xyxy")[1], [0.1429, 0])
    assert bb.compute_iou(np.zeros((0, 4)), np.zeros((3, 4)), "xyxy").shape == (0, 3)


def test_compute_ciou_values_and_gradient():
    c1 = np.array([[0., 0, 10, 10], [5, 5, 15, 25]])
    c2 = np.array([[1., 2, 11, 9], [20, 20, 30, 30]])
    close(bb.compute_ciou(c1, c2, "xyxy"), [0.5828, -0.2617])
    close(bb.compute_ciou(c1, c2, "xywh"), [0.5499, -0.2012])
    close(bb.compute_ciou(c1, c2, "center_xywh"), [0.5388, -0.0613])
    close(bb.compute_ciou(c1[0], c2[0], "xyxy"), 0.5828)
    assert bb.compute_ciou(np.stack([c1, c1]), np.stack([c2, c2]), "xyxy").shape == (2, 2)
    # a CIoU loss trains: TF 2.21's gradient of sum(1 - ciou) with respect to the boxes
    v = tf.Variable(c1.astype("float32"))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(1 - bb.compute_ciou(v, c2.astype("float32"), "xyxy"))
    np.testing.assert_allclose(tape.gradient(loss, v), [[-0.0585, -0.0571, -0.0538, 0.0526],
                                                        [-0.0008, 0.002, -0.0128, -0.0076]],
                               atol=2e-4)


def test_crop_and_pad_keep_dtype():
    boxes = np.array([[10, 20, 50, 60], [70, 80, 100, 120]])
    close(bb.crop(boxes, top=10, left=20, height=40, width=30),
          [[0, 10, 30, 40], [30, 40, 30, 40]], "int64")
    close(bb.crop(boxes.astype(float), 10, 20, 40, 30), [[0, 10, 30, 40], [30, 40, 30, 40]],
          "float64")
    close(bb.crop(np.stack([BOXES, BOXES]), 1, 2, 30, 40)[0], [[8, 19, 28, 30], [40, 30, 40, 30]],
          "int64")
    close(bb.pad(np.array([[10, 20, 50, 60]]), top=3, left=5), [[15, 23, 55, 63]], "int64")
    close(bb.pad(np.array([[10., 20, 50, 60]]), 3, 5, 100, 100), [[15, 23, 55, 63]], "float64")


def test_affine_transform_matches_tf():
    boxes = np.array([[[10., 20, 30, 40], [0, 0, 5, 5]], [[1, 2, 3, 4], [50, 50, 60, 70]]])
    out = bb.affine_transform(boxes, np.array([30., -10]), np.array([0.1, 0.]),
                              np.array([0., 0.2]), np.array([1., 1.5]), np.array([0., 10.]),
                              np.array([5., 0.]), 100, 80, center_x=np.array([0.2, 0.3]),
                              center_y=np.array([0.4, 0.5]))
    close(out, [[[7.8187, 12.393, 35.1392, 39.073], [-10.8416, 4.8034, -4.0115, 11.4734]],
                [[-8.7901, 2.6685, -5.9276, 6.1439], [61.3428, 86.3378, 75.6556, 118.4868]]],
          "float64")
    f32 = [np.array(v, "float32") for v in ([30., -10], [0.1, 0.], [0, 0], [1, 1], [0, 0],
                                             [0, 0])]
    out = bb.affine_transform(boxes.astype("float32"), *f32, 100, 80)
    close(out[0], [[6.0439, 24.7523, 33.3644, 52.0728], [-12.6164, 19.9317, -5.7863, 26.7619]])
    # one image's boxes with scalar parameters (TF needs a batch; convnp takes both)
    one = bb.affine_transform(boxes[0].astype("float32"), 30., 0.1, 0., 1., 0., 0., 100, 80)
    close(one, np.asarray(out[0]))


def test_encode_decode_deltas():
    anchors = np.array([[0., 0, 10, 10], [10, 10, 30, 20]], "float32")
    boxes = np.array([[1., 1, 11, 12], [8, 12, 28, 24]], "float32")
    close(bb.encode_box_to_deltas(anchors, boxes, "xyxy", "xyxy"),
          [[0.15, 0.1, 0.0953, 0], [0.3, -0.1, 0.1823, 0]])
    close(bb.encode_box_to_deltas(anchors, boxes, "xyxy", "xyxy", encoding_format="center_xywh",
                                  variance=[0.1, 0.1, 0.2, 0.2]),
          [[1, 1.5, 0, 0.4766], [-1, 3, 0, 0.9116]])
    close(bb.encode_box_to_deltas(anchors, boxes / 40, "xyxy", "rel_xyxy",
                                  image_shape=(40, 40, 3)),
          [[0.15, 0.1, 0.0953, 0], [0.3, -0.1, 0.1823, 0]])
    deltas = np.array([[0.1, -0.2, 0.3, 0.0], [0.0, 0.5, -0.1, 0.2]], "float32")
    close(bb.decode_deltas_to_boxes(anchors, deltas, "xyxy", "xyxy"),
          [[-2, -0.7493, 8, 12.7493], [17.786, 10.4758, 42.214, 19.5242]])
    close(bb.decode_deltas_to_boxes(anchors, np.stack([deltas, deltas * 2]), "xyxy", "yxyx")[1],
          [[-2.1106, -4, 16.1106, 6], [10.9063, 25.0818, 19.0937, 54.9182]])
    levels = bb.decode_deltas_to_boxes({"P3": anchors, "P4": anchors * 2},
                                       {"P3": deltas, "P4": deltas}, "xyxy", "xyxy")
    assert isinstance(levels, dict) and list(levels) == ["P3", "P4"]
    close(levels["P4"], [[-4, -1.4986, 16, 25.4986], [35.5719, 20.9516, 84.4281, 39.0484]])
    variance = [0.1, 0.1, 0.2, 0.2]
    encoded = bb.encode_box_to_deltas(anchors, boxes, "xyxy", "xyxy", variance=variance)
    close(bb.decode_deltas_to_boxes(anchors, encoded, "xyxy", "xyxy", variance=variance), boxes)
