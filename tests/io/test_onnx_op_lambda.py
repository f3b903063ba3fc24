"""ONNX export of tensor functions applied to KerasTensors (`TFOpLambda`): the exported graph
agrees with `predict` in onnxruntime at opsets 13, 17 and 18 (reductions take their axes as
an input from 18), and what has no mapping is refused by name before anything is written."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import convnp as tf
from convnp.io import onnx as exporter

keras = tf.keras
ops = keras.ops

# what to apply to the (6, 6, 4) output of a conv
CASES = {
    "unary": lambda y: ops.sqrt(ops.exp(ops.tanh(ops.sigmoid(ops.relu(y))))),
    "tf_unary": lambda y: tf.nn.relu(tf.abs(tf.negative(y))),
    "binary_constants": lambda y: (ops.maximum(y, 0.1) - 1.0) * np.arange(4, dtype="float32"),
    "binary_tensors": lambda y: ops.divide(y, abs(y) + 1.0) ** 2.0,
    "square_power": lambda y: ops.square(y) + ops.power(y, 3.0),
    "matmul": lambda y: y @ np.full((4, 3), 0.5, "float32"),
    "reduce": lambda y: ops.mean(y, axis=[1, 2]) + ops.max(y, axis=(1, 2)),
    "reduce_keepdims": lambda y: ops.sum(y, axis=-1, keepdims=True) - ops.min(
        y, axis=-1, keepdims=True),
    "tf_reduce": lambda y: tf.reduce_mean(y, axis=[1, 2], keepdims=True),
    "concat": lambda y: ops.concatenate([y, ops.relu(y)], axis=-1),
    "tf_concat": lambda y: tf.concat([y, y], axis=1),
    "softmax": lambda y: ops.softmax(y, axis=-1) + tf.nn.softmax(y, axis=1),
    "reshape_transpose": lambda y: ops.reshape(ops.transpose(y, (0, 3, 1, 2)), (-1, 144)),
    "expand_squeeze": lambda y: ops.squeeze(ops.expand_dims(y, 1), axis=1),
    "clip": lambda y: ops.clip(y, -0.5, 0.5) + tf.clip_by_value(y, 0.0, 1.0),
    "slices": lambda y: y[:, ::2, 1:5, :-1],
    "index_and_newaxis": lambda y: y[:, None, 0, ..., -1],
    "reversed": lambda y: y[:, ::-1, :, ::-1],
    "ellipsis": lambda y: y[..., 1:3],
    "trigonometry": lambda y: ops.sin(y) + ops.cos(y) * ops.arctan(y) - ops.tanh(ops.sinh(
        y * 0.1)) / ops.cosh(y) + ops.tan(y * 0.1),
    "reciprocal_sign_round": lambda y: ops.reciprocal(abs(y) + 1.0) + ops.sign(y) * ops.round(
        y * 3.0) + ops.rsqrt(abs(y) + 1.0) + ops.log1p(abs(y)),
    "activations": lambda y: ops.silu(y) + ops.swish(y) + ops.elu(y) + ops.selu(y)
    + ops.relu6(y) + ops.hard_sigmoid(y) + ops.hard_silu(y) + ops.leaky_relu(y)
    + ops.log_softmax(y),
    "tile": lambda y: ops.tile(y, (1, 2, 1, 3)) + ops.tile(y[:, :, :1], (1, 2, 6, 3)),
    "tile_short": lambda y: ops.tile(y, (2, 3)),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("opset", [13, 17, 18])
def test_tensor_functions_export_and_agree(name, opset):
    inputs = keras.Input((6, 6, 3))
    y = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    model = keras.Model(inputs, CASES[name](y))
    assert any(type(layer).__name__ == "TFOpLambda" for layer in model.layers)
    data = exporter.export_bytes(model, opset=opset)
    onnx.checker.check_model(onnx.load_from_string(data), full_check=True)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(2).standard_normal((3, 6, 6, 3)).astype(np.float32)
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    want = model.predict(x, verbose=0)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("build, message", [
    (lambda t: ops.sort(t, axis=-1) * 1.0, "'sort' has no ONNX mapping"),
    (lambda t: ops.squeeze(ops.expand_dims(t, 1)), "squeeze needs its axis"),
    (lambda t: t[:, np.array([0, 2])], "not an int, a slice, None or Ellipsis"),
    (lambda t: keras.ops.map(lambda row: row * 2.0, t), "'map' has no ONNX mapping"),
    (lambda t: tf.image.resize(t, (3, 3), method="bicubic"),
     "resize exports 'bilinear' or 'nearest'"),
    (lambda t: tf.reduce_max(t, axis=-1) + tf.math.cumsum(t[..., 0], axis=0, reverse=False),
     "cumsum over the batch axis"),
])
def test_what_has_no_mapping_is_refused_before_writing(build, message, tmp_path):
    inputs = keras.Input((6, 6, 3))
    model = keras.Model(inputs, build(inputs))
    target = tmp_path / "m.onnx"
    with pytest.raises(ValueError, match=f"of type TFOpLambda to ONNX: .*{message}"):
        exporter.export(model, target)
    assert not target.exists()
