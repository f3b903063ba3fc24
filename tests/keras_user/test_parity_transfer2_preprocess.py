"""keras.applications' preprocess_input on float NumPy arrays changes them in place, as TF 2.21.

Keras writes the result into a float NumPy array itself, so ``preprocess_input(x)`` without
keeping the result (a common line before ``model.predict(x)``) still preprocesses ``x``.
The "tf" and "torch" modes return ``x`` itself; "caffe" returns a channel-flipped view of
it, so ``x`` holds the values in its own RGB order. Other input (uint8, int, tensors) is
converted into a new array and left alone. The values below are TF 2.21's.
"""

import numpy as np
import pytest

import convnp as tf

applications = tf.keras.applications


def images(dtype="float32", shape=(1, 3, 2, 3)):
    return np.arange(np.prod(shape), dtype=dtype).reshape(shape) * 14.0


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("module", ["mobilenet_v2", "resnet_v2", "inception_v3", "xception",
                                    "mobilenet", "nasnet", "inception_resnet_v2"])
def test_tf_mode_scales_the_array_itself(module, dtype):
    x = images(dtype)
    out = getattr(applications, module).preprocess_input(x)
    assert out is x  # TF 2.21: the same object
    np.testing.assert_allclose(x.ravel()[:3], [-1.0, -0.890196, -0.780392], rtol=2e-3)


@pytest.mark.parametrize("module", ["vgg16", "vgg19", "resnet", "resnet50",
                                    "imagenet_utils"])
def test_caffe_mode_returns_a_flipped_view_of_the_changed_array(module):
    x = images()
    out = getattr(applications, module).preprocess_input(x)
    assert out is not x and np.shares_memory(out, x)
    # TF 2.21: x holds, G-116.779, B-103.939; the result is its BGR view
    np.testing.assert_allclose(x[0, 0, 0], [-123.68, -102.779, -75.939], rtol=1e-5)
    np.testing.assert_array_equal(out, x[..., ::-1])


def test_caffe_mode_channels_first_flips_the_channel_axis():
    x = images(shape=(1, 3, 2, 2))
    out = applications.vgg16.preprocess_input(x, data_format="channels_first")
    assert np.shares_memory(out, x)
    np.testing.assert_array_equal(out, x[:, ::-1])
    np.testing.assert_allclose(x[0, :, 0, 0], [-123.68, -60.779, 8.061], rtol=1e-5)


def test_torch_mode_standardizes_the_array_itself():
    x = images()
    out = applications.densenet.preprocess_input(x)
    assert out is x
    # TF 2.21's values for the first pixel
    np.testing.assert_allclose(x[0, 0, 0], [-2.117904, -1.790616, -1.316427], rtol=1e-5)


def test_other_input_is_left_alone():
    for x in (np.arange(18, dtype="uint8").reshape(1, 3, 2, 3),
              np.arange(18, dtype="int32").reshape(1, 3, 2, 3)):
        before = x.copy()
        out = applications.mobilenet_v2.preprocess_input(x)
        np.testing.assert_array_equal(x, before)  # converted to float32 into a new array
        assert out.dtype == np.float32
    t = tf.constant(images())
    applications.vgg16.preprocess_input(t)
    np.testing.assert_array_equal(t.numpy(), images())
    frozen = images()
    frozen.flags.writeable = False  # convnp: a new array (TF 2.21 fails writing into it)
    out = applications.mobilenet_v2.preprocess_input(frozen)
    np.testing.assert_array_equal(frozen, images())
    np.testing.assert_allclose(out.ravel()[:2], [-1.0, -0.890196], rtol=1e-5)


def test_preprocess_without_keeping_the_result_feeds_the_model():
    # the Keras user's line `preprocess_input(x)` before `model.predict(x)`
    x = images()
    applications.mobilenet_v2.preprocess_input(x)
    assert x.min() >= -1.0 and x.max() <= 1.0
