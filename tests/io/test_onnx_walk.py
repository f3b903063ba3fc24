"""ONNX export: one table of exporters, one graph walk (the model's own nodes).

Sequential, functional with branches, nested models and shared layers export and agree with
`predict` in onnxruntime (1e-4 absolute, as in tests/interop/test_onnx_export.py).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import convnp.layers as L
from convnp.io import onnx as exporter
from convnp.models import Input, Model, Sequential
from tests.interop.models import randomize
from tests.interop.test_onnx_export import check, ops_of


def agree(model, xs):
    return check(model, xs)


def batch(shape, seed=1, n=2):
    return np.random.default_rng(seed).standard_normal((n, *shape)).astype(np.float32)


def test_sequential():
    model = Sequential([Input((6, 6, 2)), L.Conv2D(3, 3, activation="relu"), L.Flatten(),
                        L.Dense(2)])
    randomize(model, 0)
    agree(model, batch((6, 6, 2)))


def test_functional_with_branches():
    x = Input((6, 6, 2))
    a = L.Conv2D(3, 1)(x)
    b = L.MaxPooling2D(1)(L.Conv2D(3, 3, padding="same")(x))
    model = Model(x, L.Dense(2)(L.Flatten()(L.Add()([a, b]))))
    randomize(model, 1)
    agree(model, batch((6, 6, 2)))


def test_nested_models_are_inlined():
    inner_in = Input((6, 6, 2))
    inner = Model(inner_in, L.Conv2D(4, 3, activation="relu")(inner_in), name="tower")
    head = Sequential([Input((4, 4, 4)), L.GlobalAveragePooling2D(), L.Dense(3)], name="head")
    x = Input((6, 6, 2))
    model = Model(x, head(inner(x)))
    randomize(model, 2)
    ops = ops_of(agree(model, batch((6, 6, 2))))
    assert "Conv" in ops and "Gemm" in ops


def test_shared_layer_is_emitted_per_call():
    left, right = Input((5,), name="left"), Input((5,), name="right")
    shared = L.Dense(3, activation="tanh", name="shared")
    out = L.Subtract()([shared(left), shared(right)])
    model = Model([left, right], out)
    randomize(model, 3)
    ops = ops_of(agree(model, [batch((5,), 4), batch((5,), 5)]))
    assert ops.count("Gemm") == 2


class Tripler(L.Identity):
    """A subclass of a built-in layer that keeps the built-in call: no exporter (a user's
    layer with its own call is traced instead, tests/interop/test_onnx2_user_layers.py)."""


def test_a_layer_without_exporter_is_refused_before_writing(tmp_path):
    inner_in = Input((4,))
    inner = Model(inner_in, Tripler(name="deep_tripler")(inner_in), name="inner")
    x = Input((4,))
    model = Model(x, L.Dense(2)(inner(x)))
    path = tmp_path / "m.onnx"
    with pytest.raises(ValueError, match=r"'deep_tripler' of type Tripler"):
        exporter.export(model, path)
    assert os.listdir(tmp_path) == []


def test_exportable_classes_are_the_table_keys():
    # the refusal lists exactly the table's keys
    x = Input((4,))
    model = Model(x, Tripler(name="t")(x))
    with pytest.raises(ValueError) as info:
        exporter.export_bytes(model)
    listed = str(info.value).split("exportable: ")[1].rstrip(")").split(", ")
    assert listed == sorted(exporter.EXPORTERS)
    assert {"Conv2D", "Dense", "Sequential", "Model"} <= set(exporter.EXPORTERS)
