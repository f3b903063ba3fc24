"""ONNX export: every exportable layer runs in onnxruntime and agrees with `predict`.

Tolerance: 1e-4 absolute on float32 outputs (the largest difference seen is ~3e-7).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import convnp.layers as L
from convnp import activations
from convnp.interop.onnx import MAX_OPSET, MIN_OPSET, export, export_bytes
from convnp.keras import ops
from convnp.layers.base import Layer
from convnp.models import Input, Model, Sequential
from tests.interop.models import happy_model, randomize, signs_model

ATOL = 1e-4


def run(model, x, opset: int = 17):
    """Export, check, run in onnxruntime; return (onnx output(s), predict output(s), proto).
    ``x``: one input batch or a list of them (one per model input)."""
    data = export_bytes(model, opset=opset)
    proto = onnx.load_from_string(data)
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    xs = x if isinstance(x, list) else [x]
    got = session.run(None, {i.name: a for i, a in zip(session.get_inputs(), xs)})
    want = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    return got, want, proto


def check(model, x, opset: int = 17, atol: float = ATOL):
    """`run`, then every output of onnxruntime equals predict's within ``atol``; the proto."""
    got, want, proto = run(model, x, opset)
    want = want if isinstance(want, list) else [want]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        err = float(np.max(np.abs(g - w))) if g.size else 0.0
        assert err <= atol, err
    return proto


def single(layer_fn, shape=(7, 9, 3), seed=0, batch=3):
    """A functional model input -> (layers) -> output, randomized, and an input batch."""
    inputs = Input(shape=shape)
    model = Model(inputs, layer_fn(inputs))
    randomize(model, seed)
    x = np.random.default_rng(seed + 1).standard_normal((batch, *shape)).astype(np.float32)
    return model, x


def ops_of(proto) -> list[str]:
    return [n.op_type for n in proto.graph.node]


# -- one model per layer type / option ----------------------------------------------------

LAYER_CASES = {
    "conv_valid": lambda i: L.Conv2D(4, 3)(i),
    "conv_same_stride2_odd": lambda i: L.Conv2D(5, 3, strides=2, padding="same")(i),
    "conv_same_even_kernel": lambda i: L.Conv2D(4, 4, padding="same")(i),
    "conv_rect_kernel_strides": lambda i: L.Conv2D(3, (2, 3), strides=(2, 1), padding="same")(i),
    "conv_no_bias_relu": lambda i: L.Conv2D(4, 3, use_bias=False, activation="relu")(i),
    "conv_softmax_channels": lambda i: L.Conv2D(4, 1, activation="softmax")(i),
    "conv_dilated": lambda i: L.Conv2D(4, 3, dilation_rate=2)(i),
    "conv_dilated_same": lambda i: L.Conv2D(3, (2, 3), dilation_rate=(2, 1), padding="same")(i),
    "depthwise_valid": lambda i: L.DepthwiseConv2D(3)(i),
    "depthwise_same_stride2_multiplier": lambda i: L.DepthwiseConv2D(
        3, strides=2, padding="same", depth_multiplier=2, activation="relu")(i),
    "depthwise_dilated_no_bias": lambda i: L.DepthwiseConv2D(
        (3, 2), dilation_rate=2, padding="same", use_bias=False)(i),
    "separable_valid": lambda i: L.SeparableConv2D(4, 3)(i),
    "separable_same_stride2_relu": lambda i: L.SeparableConv2D(
        5, 3, strides=2, padding="same", depth_multiplier=2, activation="relu")(i),
    "separable_dilated_no_bias": lambda i: L.SeparableConv2D(
        2, 2, dilation_rate=2, use_bias=False)(i),
    "dense_flat": lambda i: L.Dense(6)(L.Flatten()(i)),
    "dense_on_4d": lambda i: L.Dense(5, activation="tanh")(i),
    "dense_no_bias_4d": lambda i: L.Dense(5, use_bias=False)(i),
    "batchnorm_channels": lambda i: L.BatchNormalization()(i),
    "batchnorm_axis3": lambda i: L.BatchNormalization(axis=3, epsilon=1e-2)(i),
    "batchnorm_height_axis": lambda i: L.BatchNormalization(axis=1)(i),
    "batchnorm_2d": lambda i: L.BatchNormalization()(L.Flatten()(i)),
    "batchnorm_no_center_scale": lambda i: L.BatchNormalization(center=False, scale=False)(i),
    "relu": lambda i: L.ReLU()(i),
    "relu_max": lambda i: L.ReLU(max_value=0.5)(i),
    "relu_leaky": lambda i: L.ReLU(negative_slope=0.1)(i),
    "thresholded_relu": lambda i: L.ThresholdedReLU(theta=0.2)(i),
    "relu_general": lambda i: L.ReLU(max_value=1.0, negative_slope=0.2, threshold=0.3)(i),
    "maxpool_valid": lambda i: L.MaxPooling2D()(i),
    "maxpool_same_odd": lambda i: L.MaxPooling2D(pool_size=3, strides=2, padding="same")(i),
    "maxpool_stride1": lambda i: L.MaxPool2D(pool_size=2, strides=1)(i),
    "avgpool_valid": lambda i: L.AveragePooling2D(pool_size=(2, 3))(i),
    "avgpool_same_odd": lambda i: L.AveragePooling2D(pool_size=3, strides=2, padding="same")(i),
    "avgpool_same_stride1": lambda i: L.AvgPool2D(pool_size=4, strides=1, padding="same")(i),
    "global_avg": lambda i: L.GlobalAveragePooling2D()(i),
    "global_max": lambda i: L.GlobalMaxPooling2D()(i),
    "global_avg_keepdims": lambda i: L.GlobalAveragePooling2D(keepdims=True)(i),
    "global_max_keepdims": lambda i: L.GlobalMaxPooling2D(keepdims=True)(i),
    "zeropad_int": lambda i: L.ZeroPadding2D(2)(i),
    "zeropad_asym": lambda i: L.ZeroPadding2D(((1, 2), (0, 3)))(i),
    "flatten": lambda i: L.Flatten()(i),
    "dropout_output": lambda i: L.Dropout(0.5)(i),
    "dropout_between": lambda i: L.Dense(3)(L.Dropout(0.5)(L.Flatten()(i))),
    "add_two": lambda i: L.Add()([L.Conv2D(3, 1)(i), i]),
    "add_three": lambda i: L.Add()([L.Conv2D(3, 1)(i), L.ReLU()(i), i]),
    "concat_channels": lambda i: L.Concatenate()([L.Conv2D(2, 1)(i), i]),
    "concat_height": lambda i: L.Concatenate(axis=1)([L.Conv2D(3, 1)(i), i]),
    "concat_width_nhwc_inputs": lambda i: L.Concatenate(axis=2)([i, L.ReLU()(i)]),
    "concat_2d": lambda i: L.Concatenate()([L.GlobalMaxPooling2D()(i), L.Flatten()(i)]),
}


@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_layer_exports_and_matches_predict(case):
    model, x = single(LAYER_CASES[case])
    check(model, x)


# glu halves its axis, threshold has no default arguments and sparsemax sorts: no ONNX form
# (refused below)
NO_ONNX_ACTIVATIONS = {"glu", "threshold", "sparsemax"}


@pytest.mark.parametrize("name", sorted(set(activations.__all__) - NO_ONNX_ACTIVATIONS
                                        - {"Activation", "get", "serialize", "deserialize"}))
def test_every_activation(name):
    model, x = single(lambda i: L.Dense(4, activation=name)(L.Activation(name)(i)))
    # exp(Dense(exp(x))) grows fast; keep values where float32 has 1e-4 absolute resolution.
    x = np.clip(x, -1, 1) * np.float32(0.3)
    check(model, x)


@pytest.mark.parametrize("name", ["glu", "sparsemax"])
def test_activations_without_onnx_form_are_refused_by_name(tmp_path, name):
    model, _ = single(lambda i: L.Dense(4, activation=name)(L.Flatten()(i)))
    with pytest.raises(ValueError, match=f"activation '{name}' has no ONNX mapping"):
        export(model, tmp_path / "m.onnx")


def test_output_in_nhwc_and_one_transpose_per_direction():
    model, x = single(lambda i: L.ReLU()(L.BatchNormalization()(L.Conv2D(4, 3)(i))))
    proto = check(model, x)
    assert ops_of(proto) == ["Transpose", "Conv", "BatchNormalization", "Relu", "Transpose"]
    perms = [list(n.attribute[0].ints) for n in proto.graph.node if n.op_type == "Transpose"]
    assert perms == [[0, 3, 1, 2], [0, 2, 3, 1]]


def test_shared_value_is_transposed_once():
    def build(i):
        c = L.Conv2D(3, 1)(i)
        return L.Concatenate()([L.MaxPooling2D()(c), L.AveragePooling2D()(c),
                                L.MaxPooling2D()(i), L.AveragePooling2D()(i)])
    model, x = single(build)
    proto = check(model, x)
    assert ops_of(proto).count("Transpose") == 2  # the input once, the output once


def test_multiple_outputs():
    inputs = Input(shape=(6, 6, 2))
    c = L.Conv2D(3, 3, padding="same", activation="relu")(inputs)
    out1 = L.Dense(2, activation="softmax")(L.Flatten()(c))
    out2 = L.GlobalAveragePooling2D()(c)
    model = Model(inputs, [out1, out2, c])
    randomize(model)
    x = np.random.default_rng(5).standard_normal((4, 6, 6, 2)).astype(np.float32)
    check(model, x)


def test_multiple_inputs():
    image = Input(shape=(6, 6, 2), name="img")
    vector = Input(shape=(4,), name="vec")
    h = L.Concatenate()([L.Flatten()(L.Conv2D(2, 3)(image)), vector])
    model = Model([image, vector], [L.Dense(3, activation="softmax")(h), L.Dense(1)(vector)])
    randomize(model)
    rng = np.random.default_rng(0)
    xs = {"img": rng.random((2, 6, 6, 2), dtype=np.float32),
          "vec": rng.random((2, 4), dtype=np.float32)}
    session = ort.InferenceSession(export_bytes(model), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["img", "vec"]
    got = session.run(None, xs)
    for g, w in zip(got, model.predict([xs["img"], xs["vec"]], verbose=0), strict=True):
        np.testing.assert_allclose(g, w, atol=ATOL)


def test_sequential_and_dynamic_batch():
    model = Sequential([L.Conv2D(2, 3, input_shape=(5, 5, 1), activation="relu"),
                        L.Flatten(), L.Dense(1, activation="sigmoid")])
    randomize(model)
    data = export_bytes(model)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    dims = session.get_inputs()[0].shape
    assert dims[0] == "batch" and dims[1:] == [5, 5, 1]
    for batch in (1, 7):
        x = np.random.default_rng(batch).standard_normal((batch, 5, 5, 1)).astype(np.float32)
        got = session.run(None, {session.get_inputs()[0].name: x})[0]
        np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=ATOL)


def test_unknown_spatial_size_uses_same_upper():
    inputs = Input(shape=(None, None, 3))
    x = L.Conv2D(4, 3, strides=2, padding="same")(inputs)
    x = L.MaxPooling2D(3, strides=2, padding="same")(x)
    model = Model(inputs, L.GlobalAveragePooling2D()(x))
    randomize(model)
    for hw in ((9, 7), (8, 12)):
        x = np.random.default_rng(1).standard_normal((2, *hw, 3)).astype(np.float32)
        proto = check(model, x)
    attrs = {a.name for n in proto.graph.node if n.op_type == "Conv" for a in n.attribute}
    assert "auto_pad" in attrs


# -- the two course models -----------------------------------------------------------------


@pytest.mark.parametrize("build", [happy_model, signs_model])
def test_course_models_round_trip(build, tmp_path):
    model = build()
    randomize(model, seed=3)
    x = np.random.default_rng(4).random((4, 64, 64, 3), dtype=np.float32)
    path = tmp_path / f"{model.name}.onnx"
    assert export(model, path) == str(path)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    want = model.predict(x, verbose=0)
    np.testing.assert_allclose(got, want, atol=ATOL)
    # NCHW from the first conv to the flatten: one transpose in, one back before Flatten.
    assert ops_of(proto).count("Transpose") == 2
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"


def test_course_model_with_trained_bn_stats():
    model = happy_model()
    randomize(model, seed=11)
    x = np.random.default_rng(12).random((2, 64, 64, 3), dtype=np.float32)
    model(x, training=True)  # moves the BN statistics
    check(model, x)


@pytest.mark.parametrize("opset", [MIN_OPSET, 15, 17, 19, MAX_OPSET])
def test_opsets(opset):
    def build(i):
        a = L.BatchNormalization()(L.Conv2D(4, 3, padding="same")(i))
        b = L.AveragePooling2D(3, strides=2, padding="same")(L.ReLU(max_value=1.0)(a))
        c = L.ZeroPadding2D(1)(b)
        return L.Dense(3, activation="softmax")(L.Flatten()(c))
    model, x = single(build)
    proto = check(model, x, opset=opset)
    assert proto.opset_import[0].version == opset


# -- errors ----------------------------------------------------------------------------------


class Doubler(Layer):
    """A custom layer with no ONNX form: its call (traced like a Lambda's function) sorts,
    which the exporter does not write."""

    def call(self, inputs, training=False):
        return ops.sort(inputs, axis=-1) * 2


def test_unsupported_layer_is_named(tmp_path):
    inputs = Input(shape=(4, 4, 1))
    model = Model(inputs, L.Flatten()(Doubler(name="my_doubler")(inputs)))
    path = tmp_path / "x.onnx"
    with pytest.raises(ValueError, match=r"my_doubler.*Doubler"):
        export(model, path)
    assert not path.exists()
    assert os.listdir(tmp_path) == []  # no temporary file left behind


def test_unsupported_activation_is_named():
    model, _ = single(lambda i: L.Dense(2, activation=lambda t: t * 3, name="odd_head")(i))
    with pytest.raises(ValueError, match="odd_head"):
        export_bytes(model)


@pytest.mark.parametrize("opset", [12, 22, "17", True])
def test_bad_opset(opset):
    model, _ = single(lambda i: L.ReLU()(i))
    with pytest.raises(ValueError, match="opset"):
        export_bytes(model, opset=opset)


def test_unbuilt_model():
    with pytest.raises(ValueError, match="not built"):
        export_bytes(Sequential([L.Dense(2)]))


def test_existing_file_kept_on_failure(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"old")
    inputs = Input(shape=(4, 4, 1))
    with pytest.raises(ValueError):
        export(Model(inputs, Doubler()(inputs)), path)
    assert path.read_bytes() == b"old"


def test_worst_difference_over_a_mixed_model_is_small():
    """Self-contained (no dependence on other tests or their order): the largest
    onnxruntime-vs-predict difference over a model mixing the common layers is within ATOL."""
    def build(i):
        a = L.Conv2D(4, 3, padding="same", activation="relu")(i)
        b = L.BatchNormalization()(L.MaxPooling2D(2, padding="same")(a))
        c = L.Concatenate()([L.AveragePooling2D(2)(b), L.ReLU(6.0)(L.MaxPooling2D(2)(b))])
        return L.Dense(3, activation="softmax")(L.Flatten()(c))
    model, x = single(build)
    got, want, _ = run(model, x, 17)
    worst = float(np.max(np.abs(got[0] - want)))
    assert 0.0 <= worst <= ATOL, worst


@pytest.mark.parametrize("make", [
    lambda: L.Rescaling(1 / 255), lambda: L.Resizing(4, 4), lambda: L.CenterCrop(4, 4),
    lambda: L.RandomFlip(), lambda: L.RandomRotation(0.2), lambda: L.RandomZoom(0.1),
    lambda: L.RandomTranslation(0.1, 0.1), lambda: L.RandomContrast(0.2),
    lambda: L.RandomCrop(6, 6),
])
def test_preprocessing_layers_export(make):
    """The deterministic ones compute what predict does; the random ones are the identity
    there (tests/interop/test_onnx_more_layers.py has the rest)."""
    layer = make()
    inputs = Input(shape=(6, 6, 3))
    model = Model(inputs, L.Flatten()(layer(inputs)))
    x = np.random.default_rng(2).random((2, 6, 6, 3), dtype=np.float32)
    check(model, x)


def test_model_export_in_onnx_format_as_keras_3_spells_it(tmp_path):
    """``model.export(path, format="onnx", opset_version=...)`` (Keras 3) writes the same
    file as the exporter; other formats (TensorFlow's SavedModel by default) are refused
    before anything is written."""
    model = happy_model()
    randomize(model)
    x = np.random.default_rng(0).random((2, 64, 64, 3)).astype(np.float32)
    path = model.export(str(tmp_path / "happy.onnx"), format="onnx", opset_version=13)
    with open(path, "rb") as f:
        assert f.read() == export_bytes(model, opset=13)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=ATOL)
    other_size = Input((32, 32, 3))  # a signature the model's input does not fit
    for kwargs, error in (({}, ValueError), ({"format": "onnx", "input_signature": [other_size]},
                                             ValueError), ({"format": "onnx", "dpi": 3},
                                                           TypeError)):
        with pytest.raises(error):
            model.export(str(tmp_path / "other"), **kwargs)
    assert sorted(os.listdir(tmp_path)) == ["happy.onnx"]
