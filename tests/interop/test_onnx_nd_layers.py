"""ONNX export of the 1-D and 3-D layers (sequences ``(batch, steps, channels)`` and volumes
``(batch, depth, height, width, channels)``): each runs in onnxruntime and agrees with
`predict` (1e-5 absolute), channels first between the convolutions as for images."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import convnp.layers as L
from convnp.models import Input, Model
from tests.interop.models import randomize
from tests.interop.test_onnx_export import check, ops_of, run, single

ATOL = 1e-5

SEQUENCE_CASES = {
    "conv_valid": lambda i: L.Conv1D(4, 3)(i),
    "conv_same_stride2": lambda i: L.Conv1D(3, 4, strides=2, padding="same",
                                            activation="relu")(i),
    "conv_causal_dilated": lambda i: L.Conv1D(3, 3, padding="causal", dilation_rate=2)(i),
    "conv_grouped_no_bias": lambda i: L.Conv1D(4, 2, groups=2, use_bias=False)(
        L.Conv1D(4, 1)(i)),
    "depthwise_same_multiplier": lambda i: L.DepthwiseConv1D(
        3, padding="same", depth_multiplier=2, activation="tanh")(i),
    "depthwise_strided_dilated": lambda i: L.DepthwiseConv1D(2, strides=2, dilation_rate=2)(i),
    "separable_same": lambda i: L.SeparableConv1D(5, 3, padding="same", depth_multiplier=2,
                                                  activation="relu")(i),
    "separable_strided_no_bias": lambda i: L.SeparableConv1D(2, 2, strides=3,
                                                             use_bias=False)(i),
    "conv_transpose_same": lambda i: L.Conv1DTranspose(3, 3, strides=2, padding="same")(i),
    "conv_transpose_valid_output_padding": lambda i: L.Conv1DTranspose(
        2, 3, strides=2, output_padding=1, activation="sigmoid")(i),
    "conv_transpose_dilated": lambda i: L.Conv1DTranspose(2, 3, dilation_rate=2,
                                                          padding="same")(i),
    "maxpool_same": lambda i: L.MaxPooling1D(3, strides=2, padding="same")(i),
    "avgpool_same": lambda i: L.AveragePooling1D(3, strides=2, padding="same")(i),
    "avgpool_valid": lambda i: L.AvgPool1D()(i),
    "global_avg": lambda i: L.GlobalAveragePooling1D()(L.Conv1D(4, 2)(i)),
    "global_max_keepdims": lambda i: L.GlobalMaxPooling1D(keepdims=True)(L.Conv1D(4, 2)(i)),
    "global_max_plain": lambda i: L.GlobalMaxPool1D()(i),
    "zero_padding": lambda i: L.ZeroPadding1D((1, 3))(L.Conv1D(2, 1)(i)),
    "cropping": lambda i: L.Cropping1D((2, 1))(i),
    "upsampling": lambda i: L.UpSampling1D(3)(L.Conv1D(2, 2)(i)),
    "spatial_dropout": lambda i: L.SpatialDropout1D(0.5)(L.Conv1D(2, 2)(i)),
    "batchnorm_and_merges": lambda i: L.Concatenate()([
        L.BatchNormalization()(L.Conv1D(3, 1)(i)),
        L.Add()([L.Conv1D(3, 1)(i), i]), L.Maximum()([L.Conv1D(3, 1)(i), i])]),
    "dense_after_conv": lambda i: L.Dense(2)(L.Flatten()(L.MaxPooling1D()(
        L.Conv1D(4, 3, activation="relu")(i)))),
}

VOLUME_CASES = {
    "conv_valid": lambda i: L.Conv3D(3, 2)(i),
    "conv_same_strides": lambda i: L.Conv3D(3, (3, 2, 3), strides=(2, 1, 2), padding="same",
                                            activation="relu")(i),
    "conv_dilated_grouped": lambda i: L.Conv3D(4, 2, dilation_rate=(1, 2, 1), groups=2)(i),
    "conv_transpose_same": lambda i: L.Conv3DTranspose(2, 3, strides=2, padding="same")(i),
    "conv_transpose_valid_output_padding": lambda i: L.Conv3DTranspose(
        3, (2, 3, 2), strides=(2, 2, 3), output_padding=(1, 0, 2), activation="elu")(i),
    "maxpool_same": lambda i: L.MaxPooling3D(3, strides=2, padding="same")(i),
    "avgpool_same": lambda i: L.AveragePooling3D((2, 3, 2), strides=(1, 2, 2),
                                                 padding="same")(i),
    "avgpool_valid": lambda i: L.AveragePooling3D()(i),
    "global_avg": lambda i: L.GlobalAveragePooling3D()(L.Conv3D(3, 1)(i)),
    "global_max_keepdims": lambda i: L.GlobalMaxPooling3D(keepdims=True)(i),
    "zero_padding": lambda i: L.ZeroPadding3D(((1, 0), (0, 2), (1, 1)))(L.Conv3D(2, 1)(i)),
    "cropping": lambda i: L.Cropping3D(((1, 0), (0, 2), (1, 1)))(i),
    "upsampling": lambda i: L.UpSampling3D((2, 1, 3))(L.Conv3D(2, 1)(i)),
    "spatial_dropout_batchnorm": lambda i: L.BatchNormalization()(
        L.SpatialDropout3D(0.5)(L.Conv3D(2, 1)(i))),
    "dense_after_conv": lambda i: L.Dense(2, activation="softmax")(L.Flatten()(
        L.MaxPooling3D()(L.Conv3D(3, 3, padding="same")(i)))),
}


@pytest.mark.parametrize("case", sorted(SEQUENCE_CASES))
def test_sequence_layers_export_and_agree(case):
    model, x = single(SEQUENCE_CASES[case], shape=(11, 3))
    got, want, _ = run(model, x)
    assert got[0].shape == want.shape
    np.testing.assert_allclose(got[0], want, atol=ATOL)


@pytest.mark.parametrize("case", sorted(VOLUME_CASES))
def test_volume_layers_export_and_agree(case):
    model, x = single(VOLUME_CASES[case], shape=(5, 6, 7, 2))
    got, want, _ = run(model, x)
    assert got[0].shape == want.shape
    np.testing.assert_allclose(got[0], want, atol=ATOL)


def test_sequences_stay_channels_first_between_convolutions():
    model, x = single(lambda i: L.Conv1D(2, 3)(L.MaxPooling1D()(L.ReLU()(L.Conv1D(4, 3)(i)))),
                      shape=(12, 3))
    proto = check(model, x)
    assert ops_of(proto) == ["Transpose", "Conv", "Relu", "MaxPool", "Conv", "Transpose"]
    perms = [list(n.attribute[0].ints) for n in proto.graph.node if n.op_type == "Transpose"]
    assert perms == [[0, 2, 1], [0, 2, 1]]


def test_volumes_transpose_once_each_way():
    model, x = single(lambda i: L.Conv3D(2, 1)(L.Conv3D(3, 2)(i)), shape=(4, 4, 4, 2))
    proto = check(model, x)
    perms = [list(n.attribute[0].ints) for n in proto.graph.node if n.op_type == "Transpose"]
    assert perms == [[0, 4, 1, 2, 3], [0, 2, 3, 4, 1]]


def test_unknown_steps_use_same_upper():
    inputs = Input(shape=(None, 3))
    y = L.MaxPooling1D(2, padding="same")(L.Conv1D(4, 3, strides=2, padding="same")(inputs))
    model = Model(inputs, L.GlobalAveragePooling1D()(y))
    randomize(model)
    for steps in (9, 12):
        x = np.random.default_rng(steps).standard_normal((2, steps, 3)).astype(np.float32)
        got, want, _ = run(model, x)
        np.testing.assert_allclose(got[0], want, atol=ATOL)


def test_transposed_convolution_of_unknown_length():
    """Its pads do not depend on the length (tests/interop/test_onnx2_dynamic_sizes.py)."""
    inputs = Input(shape=(None, 3))
    model = Model(inputs, L.Conv1DTranspose(2, 3, name="up")(inputs))
    x = np.random.default_rng(0).standard_normal((2, 7, 3)).astype(np.float32)
    check(model, x, atol=1e-5)
