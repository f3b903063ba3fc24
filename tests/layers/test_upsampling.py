"""Conv2DTranspose, UpSampling2D and Cropping2D: the harness, gradients, Keras' shapes."""

from __future__ import annotations

import numpy as np
import pytest

from convnp.layers import Conv2DTranspose, Cropping2D, KerasTensor, UpSampling2D
from tests.layers.harness import check_gradients, check_layer


@pytest.mark.parametrize("kwargs, output_shape", [
    ({"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 8, 10, 4)),
    ({"filters": 3, "kernel_size": 3}, (2, 6, 7, 3)),
    ({"filters": 2, "kernel_size": (2, 3), "strides": (3, 2)}, (2, 12, 11, 2)),
    ({"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 1}, (2, 10, 12, 2)),
    ({"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", "output_padding": 0,
      "activation": "relu", "use_bias": False}, (2, 7, 9, 2)),
])
def test_conv2d_transpose_check_layer(kwargs, output_shape):
    layer = check_layer(Conv2DTranspose, kwargs, (2, 4, 5, 3), output_shape,
                        2 if kwargs.get("use_bias", True) else 1)
    assert layer.kernel.shape == (*layer.kernel_size, kwargs["filters"], 3)


@pytest.mark.parametrize("kwargs", [
    {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"},
    {"filters": 3, "kernel_size": (2, 3), "strides": (1, 2), "activation": "tanh"},
    {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": (1, 0),
     "bias_initializer": "random_normal"},
])
def test_conv2d_transpose_gradients(kwargs):
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 2))
    check_gradients(Conv2DTranspose(dtype="float64", **kwargs), x)


def test_conv2d_transpose_unet_block_params():
    # The course's upsampling_block: 256 -> 128 channels, 3x3: 3*3*128*256 + 128 params.
    up = Conv2DTranspose(128, 3, strides=(2, 2), padding="same")
    out = up(KerasTensor((None, 12, 16, 256)))
    assert out.shape == (None, 24, 32, 128)
    assert up.count_params() == 295040


@pytest.mark.parametrize("kwargs, error", [
    ({"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 2}, "smaller"),
    ({"filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, "dilation_rate"),
    ({"filters": 2, "kernel_size": 3, "data_format": "channels_first"}, "channels_last"),
    ({"filters": 2, "kernel_size": 3, "padding": "full"}, "padding"),
])
def test_conv2d_transpose_refusals(kwargs, error):
    with pytest.raises(ValueError, match=error):
        Conv2DTranspose(**kwargs)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear", "bicubic", "lanczos3",
                                           "lanczos5", "area"])
@pytest.mark.parametrize("size, output_shape", [(2, (2, 6, 8, 3)), ((3, 1), (2, 9, 4, 3))])
def test_upsampling_check_layer(interpolation, size, output_shape):
    check_layer(UpSampling2D, {"size": size, "interpolation": interpolation}, (2, 3, 4, 3),
                output_shape, 0)
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 2))
    check_gradients(UpSampling2D(size, interpolation=interpolation, dtype="float64"), x)


def test_upsampling_refuses_other_methods():
    # Keras's UpSampling2D resizes with keras.ops.image.resize, which has no gaussian
    with pytest.raises(ValueError, match="interpolation"):
        UpSampling2D(interpolation="gaussian")
    assert UpSampling2D(interpolation="Bicubic").interpolation == "bicubic"  # lowered


@pytest.mark.parametrize("cropping, output_shape", [
    (1, (2, 4, 5, 3)), ((2, 0), (2, 2, 7, 3)), (((0, 3), (1, 2)), (2, 3, 4, 3)),
])
def test_cropping_check_layer(cropping, output_shape):
    check_layer(Cropping2D, {"cropping": cropping}, (2, 6, 7, 3), output_shape, 0)
    x = np.random.default_rng(2).standard_normal((2, 6, 7, 2))
    check_gradients(Cropping2D(cropping, dtype="float64"), x)


def test_cropping_values_and_errors():
    x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    y = Cropping2D(((1, 0), (0, 2)))(x)
    assert y[0, :, :, 0].tolist() == [[4, 5], [8, 9], [12, 13]]
    with pytest.raises(ValueError, match="leaves nothing"):
        Cropping2D(2)(x)
    with pytest.raises(ValueError, match="cropping"):
        Cropping2D(-1)
