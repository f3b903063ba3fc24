"""Comparisons on KerasTensors and their ONNX export.

TF 2.21 (Keras 3): ``x > 0.5``, ``<``, ``<=``, ``>=``, ``&``, ``|`` and ``~`` on a KerasTensor
give boolean KerasTensors of its shape (``tf.where(x > 0.5, x, 0.0)`` in a Lambda,
``tf.cast(probs > 0.5, tf.float32)`` as a mask output), while ``==`` keeps Python's identity
meaning. convnp raised TypeError for the comparisons, and the exporter knew no comparison,
boolean operator or ``where``.
"""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import convnp as tf
import convnp.layers as L
from convnp.interop.onnx import export_bytes
from convnp.keras import ops
from convnp.models import Input, Model


@pytest.mark.parametrize("build", [
    lambda t: t > 0.5, lambda t: t >= 0.5, lambda t: t < 0.5, lambda t: t <= 0.5,
    lambda t: 0.5 < t, lambda t: (t > 0.2) & (t < 0.8), lambda t: (t > 0.8) | (t < 0.2),
    lambda t: ~(t > 0.5),
])
def test_comparisons_on_keras_tensors_are_boolean_tensors(build):
    inputs = Input((3,))
    y = build(inputs)
    assert tuple(y.shape) == (None, 3) and str(y.dtype) == "bool"
    x = np.array([[0.1, 0.5, 0.9]], np.float32)
    np.testing.assert_array_equal(Model(inputs, y).predict(x, verbose=0), build(x))


def test_equality_keeps_its_python_meaning():
    a, b = Input((3,)), Input((3,))
    same = a
    assert (a == same) is True and (a == b) is False and (a != b) is True


def test_where_in_a_lambda_as_tf_2_21_computes_it():
    inputs = Input((3,))
    model = Model(inputs, L.Lambda(lambda t: tf.where(t > 0.5, t, 0.0))(inputs))
    out = model.predict(np.array([[0.2, 0.7, 0.9]], np.float32), verbose=0)
    np.testing.assert_allclose(out, [[0.0, 0.7, 0.9]])  # TF 2.21's output


@pytest.mark.parametrize("opset", [13, 21])
def test_masks_and_choices_export(opset):
    inputs = Input((4, 5, 3))
    h = L.Conv2D(3, 1)(inputs)
    outputs = [L.Lambda(lambda t: tf.where(t > 0.1, t, 0.0))(h),
               tf.cast(h > 0.0, tf.float32),
               (h > -0.2) & ~(h > 0.5),
               ops.where((h < 0.0) | (h >= 0.3), h * 2.0, -h),
               ops.equal(h, h)]
    model = Model(inputs, outputs)
    x = np.random.default_rng(0).standard_normal((2, 4, 5, 3)).astype(np.float32)
    session = ort.InferenceSession(export_bytes(model, opset=opset),
                                   providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})
    for g, w in zip(got, model.predict(x, verbose=0)):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, atol=1e-5)

