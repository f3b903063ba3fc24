"""ONNX export of the functional-API layers: each runs in onnxruntime and agrees with
`predict`; layers without an ONNX mapping are refused by name."""

from __future__ import annotations

import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import convnp.layers as L
from convnp import applications
from convnp.interop.onnx import export_bytes
from tests.interop.test_onnx_export import check, single

CASES = {
    "conv_transpose_same": lambda i: L.Conv2DTranspose(4, 3, strides=2, padding="same",
                                                       activation="relu")(i),
    "conv_transpose_valid_k2_s3": lambda i: L.Conv2DTranspose(2, 2, strides=3)(i),
    "conv_transpose_output_padding": lambda i: L.Conv2DTranspose(
        3, 3, strides=2, output_padding=1)(i),
    "conv_transpose_same_k4": lambda i: L.Conv2DTranspose(2, 4, strides=2,
                                                          padding="same")(i),
    "upsampling_nearest": lambda i: L.UpSampling2D((2, 3))(L.Conv2D(2, 1)(i)),
    "upsampling_bilinear": lambda i: L.UpSampling2D(2, interpolation="bilinear")(i),
    "cropping": lambda i: L.Cropping2D(((1, 0), (2, 3)))(L.Conv2D(2, 1)(i)),
    "merges": lambda i: L.concatenate([
        L.subtract([i, L.Conv2D(3, 1)(i)]), L.multiply([i, L.GlobalAveragePooling2D(
            keepdims=True)(i)]), L.average([i, i]), L.maximum([i, L.Conv2D(3, 1)(i)]),
        L.minimum([i, L.Conv2D(3, 1)(i)])]),
    "activation_layers": lambda i: L.Softmax()(L.ELU(0.5)(L.LeakyReLU()(
        L.Conv2D(4, 1)(i)))),
    "prelu": lambda i: L.PReLU(alpha_initializer="random_normal", shared_axes=[1, 2])(i),
    "noise_reshape_permute": lambda i: L.Permute((2, 1))(L.Reshape((-1, 3))(
        L.GaussianNoise(0.5)(L.SpatialDropout2D(0.5)(L.GaussianDropout(0.3)(
            L.AlphaDropout(0.2)(i)))))),
    "layer_norm": lambda i: L.LayerNormalization(beta_initializer="random_normal")(
        L.Conv2D(4, 1)(i)),
    "keras_tensor_arithmetic": lambda i: 2.0 / (1.0 - L.Conv2D(3, 1)(i / 4.0) * 0.5 + 3.0)
    - [0.5, 1.0, 2.0] * i,
    "preprocess_input": lambda i: L.Conv2D(2, 3)(
        applications.resnet50.preprocess_input(applications.mobilenet_v2.preprocess_input(i))),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_exports_and_matches_predict(case):
    model, x = single(CASES[case], shape=(5, 6, 3))
    check(model, x)


def test_unet_block_exports():
    def block(i):
        down = L.MaxPooling2D()(L.Conv2D(4, 3, padding="same", activation="relu")(i))
        up = L.Conv2DTranspose(4, 3, strides=2, padding="same")(down)
        return L.Conv2D(2, 1)(L.concatenate([up, i], axis=3))
    model, x = single(block, shape=(8, 12, 3))
    check(model, x)


@pytest.mark.parametrize("layer_fn, name", [
    (lambda i: L.Discretization([0.0, 0.5])(i), "Discretization"),
    (lambda i: L.ConvLSTM1D(2, 3)(L.Reshape((5, 6, 3))(i)), "ConvLSTM1D"),
    (lambda i: L.AutoContrast()(i), "AutoContrast"),
])
def test_refused_by_name(layer_fn, name):
    model, _ = single(layer_fn, shape=(5, 6, 3))
    with pytest.raises(ValueError, match=name):
        export_bytes(model)
