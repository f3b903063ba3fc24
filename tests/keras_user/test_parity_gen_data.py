"""Datasets of keras.io's image-to-image programs as TensorFlow 2.21 describes them: a
CycleGAN zips two mapped, cached, shuffled and batched image datasets and fits on the
pairs. Expected specs are what TF 2.21 gave."""

from __future__ import annotations

import numpy as np

import convnp as tf


def _images():
    return np.zeros((5, 4, 4, 3), "float32")


def test_zip_of_mapped_batches_keeps_the_unknown_batch_size():
    horses = (tf.data.Dataset.from_tensor_slices(_images()).map(lambda x: x * 2.0 - 1.0)
              .cache().shuffle(8, seed=1).batch(2))
    zebras = tf.data.Dataset.from_tensor_slices(_images()).batch(2)
    pairs = tf.data.Dataset.zip((horses, zebras))
    first, second = pairs.element_spec
    # TF 2.21: (None, 4, 4, 3) for both (the last batch is smaller)
    assert tuple(first.shape) == (None, 4, 4, 3)
    assert tuple(second.shape) == (None, 4, 4, 3)
    assert [tuple(x.shape) for x, _ in pairs] == [(2, 4, 4, 3), (2, 4, 4, 3), (1, 4, 4, 3)]


def test_zip_of_a_dict_and_fixed_batches():
    mapped = tf.data.Dataset.from_tensor_slices(_images()).map(lambda x: x + 1.0)
    spec = tf.data.Dataset.zip({"a": mapped.batch(2, drop_remainder=True),
                                "b": mapped.batch(2)}).element_spec
    assert tuple(spec["a"].shape) == (2, 4, 4, 3)  # TF 2.21: drop_remainder keeps 2
    assert tuple(spec["b"].shape) == (None, 4, 4, 3)
