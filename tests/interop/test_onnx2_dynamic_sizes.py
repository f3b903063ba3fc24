"""ONNX export of models on images of unknown size (``Input((None, None, 3))``): the course's
U-Net with Conv2DTranspose was refused ("the input's spatial sizes must be known"), though a
transposed convolution's crop and extra rows do not depend on the input's size."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import convnp.layers as L
from convnp.interop.onnx import export_bytes
from convnp.models import Input, Model
from tests.interop.models import randomize
from tests.interop.test_onnx_export import ATOL, check


def unet(inputs):
    c1 = L.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    p1 = L.MaxPooling2D(2)(c1)
    c2 = L.Conv2D(8, 3, padding="same", activation="relu")(p1)
    u1 = L.Conv2DTranspose(4, 3, strides=2, padding="same")(c2)
    merged = L.concatenate([u1, c1], axis=3)
    return L.Conv2D(2, 1)(L.Conv2D(4, 3, padding="same", activation="relu")(merged))


def test_unet_on_images_of_any_size():
    model = Model(inputs := Input((None, None, 3)), unet(inputs))
    randomize(model, 2)
    data = export_bytes(model)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    for size in ((16, 16), (8, 24), (32, 12)):
        x = rng.random((2, *size, 3)).astype(np.float32)
        (got,) = session.run(None, {session.get_inputs()[0].name: x})
        want = model.predict(x, verbose=0)
        assert got.shape == want.shape == (2, *size, 2)
        np.testing.assert_allclose(got, want, atol=ATOL)


@pytest.mark.parametrize("kwargs", [
    {"kernel_size": 3, "strides": 2, "padding": "same"},
    {"kernel_size": 4, "strides": 2, "padding": "same"},
    {"kernel_size": 3, "strides": 2, "padding": "valid"},
    {"kernel_size": 2, "strides": 3, "padding": "valid"},
    {"kernel_size": 3, "strides": 2, "padding": "same", "output_padding": 1},
    {"kernel_size": 5, "strides": 3, "padding": "valid", "output_padding": 2},
])
@pytest.mark.parametrize("size", [(5, 7), (6, 1)])
def test_conv2d_transpose_of_unknown_size(kwargs, size):
    inputs = Input((None, None, 2))
    model = Model(inputs, L.Conv2DTranspose(3, **kwargs)(inputs))
    randomize(model, 1)
    x = np.random.default_rng(1).standard_normal((2, *size, 2)).astype(np.float32)
    check(model, x, atol=ATOL)


@pytest.mark.parametrize("layer", [
    lambda: L.Conv1DTranspose(3, 3, strides=2, padding="same", dilation_rate=1),
    lambda: L.Conv1DTranspose(3, 2, strides=1, padding="same", dilation_rate=2),
])
def test_conv1d_transpose_of_unknown_length(layer):
    inputs = Input((None, 2))
    model = Model(inputs, layer()(inputs))
    randomize(model, 3)
    x = np.random.default_rng(2).standard_normal((2, 9, 2)).astype(np.float32)
    check(model, x, atol=ATOL)


def test_conv3d_transpose_of_unknown_depth():
    inputs = Input((None, 4, None, 1))
    model = Model(inputs, L.Conv3DTranspose(2, 3, strides=(2, 1, 2), padding="same")(inputs))
    randomize(model, 4)
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 5, 1)).astype(np.float32)
    check(model, x, atol=ATOL)


@pytest.mark.parametrize("layer", [
    lambda: L.Conv2D(3, 3, padding="same", dilation_rate=2),
    lambda: L.Conv2D(3, (2, 3), padding="same", dilation_rate=(3, 1)),
    lambda: L.DepthwiseConv2D(3, padding="same", dilation_rate=2),
    lambda: L.SeparableConv2D(3, 3, padding="same", dilation_rate=2),
    lambda: L.Conv2D(3, 4, strides=2, padding="same"),
])
def test_same_padding_of_dilated_windows_on_unknown_sizes(layer):
    """onnxruntime refuses auto_pad=SAME_UPPER with dilations ("Dilation not supported"); at
    stride 1 the pads do not depend on the size, so they are written out."""
    inputs = Input((None, None, 2))
    model = Model(inputs, layer()(inputs))
    randomize(model, 5)
    data = export_bytes(model)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(5)
    for size in ((9, 7), (6, 11)):
        x = rng.standard_normal((2, *size, 2)).astype(np.float32)
        (got,) = session.run(None, {session.get_inputs()[0].name: x})
        np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=ATOL)


def test_dilated_conv1d_same_on_unknown_length():
    inputs = Input((None, 3))
    model = Model(inputs, L.Conv1D(4, 3, padding="same", dilation_rate=3)(inputs))
    randomize(model, 6)
    x = np.random.default_rng(6).standard_normal((2, 10, 3)).astype(np.float32)
    check(model, x, atol=ATOL)


def test_dilated_patches_with_strides_on_unknown_sizes_are_refused():
    import convnp as tf

    inputs = Input((None, None, 2))
    model = Model(inputs, tf.image.extract_patches(inputs, [1, 2, 2, 1], [1, 2, 2, 1],
                                                   [1, 2, 2, 1], "SAME"))
    with pytest.raises(ValueError, match="dilated window with strides"):
        export_bytes(model)
