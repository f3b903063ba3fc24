"""The input pipelines of keras.io's detection and segmentation programs: the TensorFlow 1.x/2.x
``tf.data.experimental`` transformations for ``dataset.apply`` (RetinaNet's
``apply(tf.data.experimental.ignore_errors())``) and ``padded_batch`` with per-component
padding values.

Every expected value is TensorFlow 2.21's for the same program (run side by side).
"""

import numpy as np
import pytest

import convnp as tf


def _numbers():
    return tf.data.Dataset.from_tensor_slices(np.array([1.0, -1.0, 4.0, 9.0], "float32"))


def test_experimental_transformations_for_apply():
    ds = _numbers()
    bad = ds.map(lambda x: tf.debugging.check_numerics(tf.math.sqrt(x), "negative"))
    # TensorFlow 2.21: the element whose map failed is dropped
    assert [float(v) for v in bad.apply(tf.data.experimental.ignore_errors())] == [1.0, 2.0, 3.0]
    assert [v.numpy().tolist() for v in ds.batch(3).apply(tf.data.experimental.unbatch())] == \
        [1.0, -1.0, 4.0, 9.0]
    assert [(int(i), float(v)) for i, v in
            ds.apply(tf.data.experimental.enumerate_dataset(start=5))] == \
        [(5, 1.0), (6, -1.0), (7, 4.0), (8, 9.0)]
    batched = ds.apply(tf.data.experimental.map_and_batch(lambda x: x * 2, 3,
                                                           drop_remainder=True))
    assert [v.numpy().tolist() for v in batched] == [[2.0, -2.0, 8.0]]
    assert len(list(ds.apply(tf.data.experimental.shuffle_and_repeat(4, count=2, seed=1)))) == 8
    assert [float(v) for v in ds.apply(tf.data.experimental.take_while(lambda x: x > 0))] == [1.0]
    ints = tf.data.Dataset.from_tensor_slices([1, 1, 2])
    assert [int(v) for v in ints.apply(tf.data.experimental.unique())] == [1, 2]
    running = tf.data.Dataset.range(4).apply(tf.data.experimental.scan(
        tf.constant(0, tf.int64), lambda s, x: (s + x, s + x)))
    assert [int(v) for v in running] == [0, 1, 3, 6]
    with pytest.raises(TypeError, match="Dataset"):
        tf.data.experimental.ignore_errors()([1, 2])


def test_padded_batch_with_a_padding_value_per_component():
    # RetinaNet pads images with 0.0, boxes with 1e-8 and class ids with -1
    def pairs():
        yield np.ones((2, 4), "float32"), np.array([1, 2], "int32")
        yield np.ones((1, 4), "float32"), np.array([3], "int32")

    signature = (tf.TensorSpec((None, 4), tf.float32), tf.TensorSpec((None,), tf.int32))
    ds = tf.data.Dataset.from_generator(pairs, output_signature=signature)
    boxes, ids = next(iter(ds.padded_batch(2, padding_values=(1e-8, -1))))
    assert boxes.shape == (2, 2, 4)
    np.testing.assert_allclose(np.asarray(boxes)[1], [[1.0] * 4, [1e-8] * 4])
    assert np.asarray(ids).tolist() == [[1, 2], [3, -1]]
