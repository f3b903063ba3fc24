"""Week 2's transfer-learning notebook and week 4's style transfer, where convnp differed from
TensorFlow 2.21 (the expected values and types below are what TF 2.21 gives for the same code).

* ``preprocess_input`` on a tensor or Variable returns a tensor, and a recording
  ``GradientTape`` differentiates through it (style transfer preprocesses the image Variable
  inside the tape); convnp returned a NumPy array, so the gradient was None.
* ``layer.trainable = None`` (the fine-tuning cell as the notebook ships it) freezes the layer
  and reads back ``False``.
"""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

applications = tf.keras.applications


def images():
    return np.linspace(0, 1, 2 * 2 * 2 * 3, dtype=np.float32).reshape(2, 2, 2, 3)


# TF 2.21: d/dx sum(preprocess_input(255 x)^2 * w) at x = images(), first six entries
GRADIENTS = {
    "vgg19": [189230.4, 215611.77, 208500.95, 0.0, 36939.9, 49474.31],
    "mobilenet_v2": [20.0, 14.61, 9.91, 5.91, 2.61, 0.0],
    "densenet": [92.48, 65.77, 37.81, 27.04, 11.24, 0.0],
}


@pytest.mark.parametrize("module", sorted(GRADIENTS))
def test_preprocess_input_is_differentiated_through(module):
    preprocess_input = getattr(applications, module).preprocess_input
    x = tf.Variable(images())
    w = tf.constant(np.arange(12, dtype=np.float32).reshape(2, 2, 3) - 5)
    with tf.GradientTape() as tape:
        y = preprocess_input(x * 255.0)
        loss = tf.reduce_sum(tf.square(y) * w)
    assert isinstance(y, tf.Tensor)
    grad = tape.gradient(loss, x)
    assert grad is not None
    np.testing.assert_allclose(grad.numpy().ravel()[:6], GRADIENTS[module], rtol=1e-4, atol=0.01)


@pytest.mark.parametrize("module", ["mobilenet_v2", "vgg16", "resnet50", "densenet",
                                    "imagenet_utils"])
def test_preprocess_input_gives_a_tensor_for_a_tensor(module):
    preprocess_input = getattr(applications, module).preprocess_input
    x = images() * 255
    expected = preprocess_input(x.copy())
    assert type(expected) is np.ndarray  # NumPy in, NumPy out
    for given in (tf.constant(x), tf.Variable(x)):
        out = preprocess_input(given)
        assert isinstance(out, tf.Tensor) and out.dtype == np.float32
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    # integer tensors are computed as float32 (TF 2.21 refuses them or keeps uint8 in the
    # caffe mode; convnp keeps its NumPy rule)
    out = preprocess_input(tf.constant(x.astype(np.uint8)))
    assert out.dtype == np.float32


def test_preprocess_input_checks_a_tensor_before_computing():
    # the 'tf' mode scales any channel count (RGBA too, as TF 2.21); caffe needs 3 or more
    assert applications.mobilenet_v2.preprocess_input(tf.zeros((1, 2, 2, 4))).shape == (
        1, 2, 2, 4)
    with pytest.raises(ValueError, match="3 channels"):
        applications.vgg19.preprocess_input(tf.zeros((1, 2, 2, 1)))
    with pytest.raises(TypeError, match="numbers"):
        applications.vgg19.preprocess_input(tf.constant([["a", "b", "c"]]))


def test_alpaca_image_variable_through_the_base_model():
    # the notebook's cell: image_var = tf.Variable(preprocess_input(image_batch))
    base = applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False, weights=None,
                                    alpha=0.35)
    batch = tf.constant(images().repeat(16, axis=1).repeat(16, axis=2) * 255)
    image_var = tf.Variable(applications.mobilenet_v2.preprocess_input(batch))
    assert image_var.shape == (2, 32, 32, 3)
    assert base(image_var).shape == (2, 1, 1, 1280)


def test_trainable_none_freezes_and_reads_false():
    base = applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False, weights=None,
                                    alpha=0.35)
    base.trainable = True
    for layer in base.layers[:120]:
        layer.trainable = None
    assert base.layers[5].trainable is False
    assert len(base.trainable_weights) == 36  # TF 2.21's count
    dense = tf.keras.layers.Dense(2)
    dense.trainable = 1
    assert dense.trainable is True
    assert dense.get_config()["trainable"] is True
