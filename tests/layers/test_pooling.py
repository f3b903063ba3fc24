"""Pooling layers: windowed max/average (valid and 'same', odd sizes, stride > 1) and global."""

from __future__ import annotations

import numpy as np
import pytest

from convnp.layers import (
    AveragePooling2D,
    AvgPool2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    MaxPool2D,
    MaxPooling2D,
)
from convnp.ops import reference
from tests.layers.harness import check_gradients, check_layer


def distinct_input(shape, seed=0) -> np.ndarray:
    """Values with gaps of at least 0.1 between any two, so no window has a near-tie
    that a 1e-5 finite-difference step could flip."""
    rng = np.random.default_rng(seed)
    return rng.permutation(np.arange(np.prod(shape))).reshape(shape) * 0.1


def test_aliases():
    assert MaxPool2D is MaxPooling2D
    assert AvgPool2D is AveragePooling2D


@pytest.mark.parametrize("cls", [MaxPooling2D, AveragePooling2D])
@pytest.mark.parametrize("kwargs, input_shape, output_shape", [
    ({}, (2, 6, 5, 3), (2, 3, 2, 3)),
    ({"pool_size": 3, "strides": 2}, (2, 7, 7, 1), (2, 3, 3, 1)),
    ({"pool_size": (8, 8), "strides": 8, "padding": "same"}, (1, 20, 9, 2), (1, 3, 2, 2)),
    ({"pool_size": 3, "strides": 1, "padding": "same"}, (1, 5, 4, 2), (1, 5, 4, 2)),
])
def test_check_layer(cls, kwargs, input_shape, output_shape):
    check_layer(cls, kwargs, input_shape, output_shape, 0)


def test_strides_default_to_pool_size_and_config_names():
    config = MaxPooling2D(pool_size=(3, 2)).get_config()
    assert config["strides"] == (3, 2)
    assert {"pool_size", "strides", "padding", "data_format"} <= set(config)


@pytest.mark.parametrize("cls", [MaxPooling2D, AveragePooling2D])
@pytest.mark.parametrize("kwargs", [
    {},
    {"pool_size": 3, "strides": 2},
    {"pool_size": 3, "strides": 2, "padding": "same"},
    {"pool_size": (2, 3), "strides": (3, 2), "padding": "same"},
    {"pool_size": 2, "strides": 1},
])
def test_gradients(cls, kwargs):
    layer = cls(dtype="float64", **kwargs)
    check_gradients(layer, distinct_input((2, 7, 5, 2)))


@pytest.mark.parametrize("cls, mode", [(MaxPooling2D, "max"), (AveragePooling2D, "average")])
def test_matches_reference_loops_with_same_padding(cls, mode):
    x = distinct_input((2, 7, 5, 3), seed=1)
    layer = cls(pool_size=3, strides=2, padding="same", dtype="float64")
    y = layer(x)
    expected, _ = reference.pool_forward(x, {"f": 3, "stride": 2, "pad": "same"}, mode)
    np.testing.assert_allclose(y, expected, rtol=1e-12)


def test_max_pool_tie_goes_to_first_maximum():
    x = np.ones((1, 2, 2, 1), dtype="float32")
    layer = MaxPooling2D()
    layer(x)
    dx = layer.backward(np.full((1, 1, 1, 1), 5.0, dtype="float32"))
    assert dx[0, :, :, 0].tolist() == [[5.0, 0.0], [0.0, 0.0]]


@pytest.mark.parametrize("cls", [GlobalAveragePooling2D, GlobalMaxPooling2D])
@pytest.mark.parametrize("keepdims, output_shape", [(False, (2, 3)), (True, (2, 1, 1, 3))])
def test_global_check_layer(cls, keepdims, output_shape):
    check_layer(cls, {"keepdims": keepdims}, (2, 4, 5, 3), output_shape, 0)


@pytest.mark.parametrize("cls", [GlobalAveragePooling2D, GlobalMaxPooling2D])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_gradients(cls, keepdims):
    layer = cls(keepdims=keepdims, dtype="float64")
    check_gradients(layer, distinct_input((2, 3, 4, 3), seed=2))


def test_global_values():
    x = distinct_input((2, 3, 4, 3), seed=3).astype("float32")
    np.testing.assert_allclose(GlobalAveragePooling2D()(x), x.mean(axis=(1, 2)), rtol=1e-6)
    np.testing.assert_array_equal(GlobalMaxPooling2D()(x), x.max(axis=(1, 2)))


def test_global_max_tie_goes_to_first_maximum():
    layer = GlobalMaxPooling2D()
    layer(np.ones((1, 2, 2, 1), dtype="float32"))
    dx = layer.backward(np.full((1, 1), 3.0, dtype="float32"))
    assert dx[0, :, :, 0].tolist() == [[3.0, 0.0], [0.0, 0.0]]


@pytest.mark.parametrize("cls", [MaxPooling2D, AveragePooling2D])
@pytest.mark.parametrize("kwargs, error", [
    ({"pool_size": 0}, ValueError),
    ({"pool_size": (2, 2, 2)}, ValueError),
    ({"strides": -1}, ValueError),
    ({"padding": "SAMEISH"}, ValueError),
    ({"data_format": "channels_first"}, ValueError),
])
def test_bad_arguments(cls, kwargs, error):
    with pytest.raises(error):
        cls(**kwargs)


@pytest.mark.parametrize("cls", [MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D,
                                 GlobalMaxPooling2D])
def test_bad_input_rank(cls):
    with pytest.raises(ValueError, match="rank 4"):
        cls()(np.ones((2, 8, 3), dtype="float32"))


def test_window_larger_than_input():
    with pytest.raises(ValueError, match="larger than the input"):
        MaxPooling2D(pool_size=4)(np.ones((1, 3, 3, 1), dtype="float32"))
