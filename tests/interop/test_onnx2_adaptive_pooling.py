"""ONNX export of the adaptive poolings (refused before: no exporter): the windows of
``floor(i n / o)`` to ``ceil((i + 1) n / o) - 1`` are boxes, so each axis is pooled in turn
(Slice + ReduceMean/ReduceMax per output cell, Concat)."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import convnp.layers as L
from convnp.interop.onnx import export_bytes
from convnp.models import Input, Model
from tests.interop.test_onnx_export import check

ATOL = 1e-5


@pytest.mark.parametrize("kind", ["Average", "Max"])
@pytest.mark.parametrize("shape, size", [
    ((7, 10, 3), (3, 4)), ((8, 8, 2), 4), ((4, 5, 3), (8, 7)),
    ((11, 2), 4), ((5, 6, 7, 2), (2, 3, 4)),
])
@pytest.mark.parametrize("opset", [13, 18])
def test_adaptive_pooling(kind, shape, size, opset):
    rank = len(shape) - 1
    inputs = Input(shape)
    layer = getattr(L, f"Adaptive{kind}Pooling{rank}D")(size)
    model = Model(inputs, layer(inputs))
    x = np.random.default_rng(0).standard_normal((2, *shape)).astype(np.float32)
    check(model, x, opset=opset, atol=ATOL)


def test_adaptive_pooling_head_after_convolutions():
    inputs = Input((12, 9, 3))
    h = L.Conv2D(4, 3, activation="relu")(inputs)
    h = L.AdaptiveAveragePooling2D((2, 3))(h)
    model = Model(inputs, L.Dense(2)(L.Flatten()(h)))
    x = np.random.default_rng(1).random((3, 12, 9, 3)).astype(np.float32)
    check(model, x, atol=ATOL)


def test_unknown_sizes_are_refused():
    inputs = Input((None, None, 3))
    model = Model(inputs, L.AdaptiveMaxPooling2D(2, name="amp")(inputs))
    with pytest.raises(ValueError, match=r"'amp' of type AdaptiveMaxPooling2D.*sizes must be "
                                         "known"):
        export_bytes(model)
