"""tf.function input signatures as the image-optimizing recipes (DeepDream, style transfer)
write them, checked against TensorFlow 2.21's behaviour (written in as values and types)."""

import numpy as np
import pytest

import convnp as tf


def test_tensorspec_shape_none_matches_every_rank():
    # TF 2.21: TensorSpec(shape=None) has an unknown rank and accepts any shape
    spec = tf.TensorSpec(shape=None, dtype=tf.float32)
    assert spec.shape.rank is None
    assert repr(spec) == "TensorSpec(shape=<unknown>, dtype=tf.float32, name=None)"
    assert spec.is_compatible_with(np.zeros((1, 2, 3), np.float32))
    assert spec.is_compatible_with(np.float32(1.0))
    assert not spec.is_compatible_with(np.zeros((2,), np.int32))
    with pytest.raises(ValueError):
        spec.shape.as_list()


def test_tensorspec_unknown_rank_equality():
    # TF 2.21: two unknown-rank specs are equal; an unknown rank is not a scalar's shape
    assert tf.TensorSpec(None) == tf.TensorSpec(None)
    assert tf.TensorSpec(None) != tf.TensorSpec([])
    assert hash(tf.TensorSpec(None)) == hash(tf.TensorSpec(None))


def test_function_with_unknown_rank_signature_takes_any_image():
    # DeepDream's step: input_signature=[TensorSpec(shape=None), TensorSpec(shape=[])];
    # TF 2.21 runs it on images of any shape and converts float64 arrays to float32
    @tf.function(input_signature=[tf.TensorSpec(shape=None, dtype=tf.float32),
                                  tf.TensorSpec(shape=[], dtype=tf.float32)])
    def step(img, learning_rate):
        return img + learning_rate

    out = step(tf.ones((1, 5, 6, 3)), tf.constant(0.5))
    assert tuple(out.shape) == (1, 5, 6, 3)
    assert float(out[0, 0, 0, 0]) == 1.5
    assert step(np.ones((2,), np.float64), 0.5).dtype == tf.float32
    with pytest.raises(TypeError):  # TF 2.21: the dtype is still checked
        step(tf.ones((2,), dtype=tf.float64), 0.5)
    with pytest.raises(TypeError):  # TF 2.21: and the scalar's shape
        step(tf.ones((2,)), tf.ones((2,)))


def test_input_signature_reads_back_as_a_tuple():
    # TF 2.21: f.input_signature is a tuple of the specs, however they were given
    @tf.function(input_signature=[tf.TensorSpec(shape=[None, None, 3], dtype=tf.float32)])
    def f(img):
        return img * 2

    assert f.input_signature == (tf.TensorSpec(shape=[None, None, 3], dtype=tf.float32),)
    assert isinstance(f.input_signature, tuple)
