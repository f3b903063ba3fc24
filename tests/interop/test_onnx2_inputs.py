"""What goes into the exported graph: integer images (``Input(dtype="uint8")`` before a
Rescaling: the graph input was declared float, so onnxruntime refused the uint8 batch the
model takes), and Keras 3's ``model.export(..., input_signature=...)`` (refused whatever it
said; Keras 3 takes it, and it builds a subclassed model that has not run yet)."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import convnp as tf
import convnp.layers as L
from convnp.interop.onnx import export_bytes
from convnp.models import Input, Model
from tests.interop.models import randomize
from tests.interop.test_onnx_export import ATOL


def run_both(model, x, data=None):
    data = data if data is not None else export_bytes(model)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: x})
    return session, got, model.predict(x, verbose=0)


@pytest.mark.parametrize("dtype", ["uint8", "int16"])
def test_integer_images_before_rescaling(dtype):
    inputs = Input((8, 8, 3), dtype=dtype)
    h = L.Conv2D(2, 3, activation="relu")(L.Rescaling(1 / 255.0)(inputs))
    model = Model(inputs, L.Dense(2)(L.Flatten()(h)))
    randomize(model, 1)
    x = np.random.default_rng(0).integers(0, 255, (2, 8, 8, 3)).astype(dtype)
    session, got, want = run_both(model, x)
    assert session.get_inputs()[0].type == f"tensor({dtype})"
    np.testing.assert_allclose(got, want, atol=ATOL)


def test_uint8_ids_into_an_embedding():
    inputs = Input((5,), dtype="uint8")
    model = Model(inputs, L.GlobalAveragePooling1D()(L.Embedding(200, 4)(inputs)))
    x = np.array([[0, 3, 199, 7, 7], [1, 2, 3, 4, 5]], np.uint8)
    _, got, want = run_both(model, x)
    np.testing.assert_allclose(got, want, atol=ATOL)


class Net(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = L.Dense(4, activation="relu")
        self.head = L.Dense(2)

    def call(self, x):
        return self.head(self.hidden(x))


@pytest.mark.parametrize("signature", [
    lambda: [tf.TensorSpec((None, 6), tf.float32)],
    lambda: [L.InputSpec(shape=(None, 6))],
    lambda: tf.TensorSpec((None, 6), tf.float32),
])
def test_export_with_an_input_signature_builds_a_subclassed_model(signature, tmp_path):
    model = Net()  # never called: Keras 3's export builds it from the signature
    path = model.export(str(tmp_path / "net.onnx"), format="onnx", input_signature=signature())
    x = np.random.default_rng(1).random((3, 6)).astype(np.float32)
    with open(path, "rb") as f:
        _, got, want = run_both(model, x, f.read())
    np.testing.assert_allclose(got, want, atol=ATOL)


def test_export_signature_must_fit_the_model(tmp_path):
    inputs = Input((6,))
    model = Model(inputs, L.Dense(2)(inputs))
    model.export(str(tmp_path / "ok.onnx"), format="onnx",
                 input_signature=[tf.TensorSpec((None, 6), tf.float32)])
    with pytest.raises(ValueError, match=r"\(None, 7\).*\(None, 6\)"):
        model.export(str(tmp_path / "bad.onnx"), format="onnx",
                     input_signature=[tf.TensorSpec((None, 7), tf.float32)])
    with pytest.raises(ValueError, match="takes 1 input.*gives 2"):
        model.export(str(tmp_path / "bad.onnx"), format="onnx",
                     input_signature=[tf.TensorSpec((None, 6)), tf.TensorSpec((None, 6))])
    with pytest.raises(TypeError, match="spec with a shape"):
        model.export(str(tmp_path / "bad.onnx"), format="onnx", input_signature=["x"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.onnx"]
