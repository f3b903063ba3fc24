"""The conv-family layers added late: Conv2D/Conv1D with ``groups > 1``, Conv1DTranspose,
DepthwiseConv1D, SeparableConv1D (and ``keras.utils.count_params``).

Against Keras 3.15.1 (`tests/fixtures/conv_family.npz`, `conv_family.keras`, made by
`tests/fixtures/make_conv_family.py`): outputs, and the gradients of ``sum(y * r)`` w.r.t.
the input and every weight (tf.GradientTape); then float64 central differences, configs,
shapes, model files, bad arguments and a few training steps.
"""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp.io import saving
from convnp.ops import reference
from convnp.ops.grouped_conv import grouped_conv_backward, grouped_conv_forward
from tests.helpers import load_fixture
from tests.layers.harness import (
    check_case,
    check_file_round_trip,
    check_keras_written_model,
    check_recorded_layer,
)

L = tf.keras.layers
NEW = ("Conv1DTranspose", "DepthwiseConv1D", "SeparableConv1D")


@pytest.fixture(scope="module")
def z():
    return load_fixture("conv_family.npz")


def _names(z) -> list[str]:
    return sorted({key.split("/")[0] for key in z})


def test_fixture_covers_every_layer(z):
    classes = {str(z[f"{name}/class"]) for name in _names(z)}
    assert classes == {"Conv2D", "Conv1D", *NEW}
    assert len(_names(z)) == 21


@pytest.mark.parametrize("name", sorted({k.split("/")[0] for k in
                                         load_fixture("conv_family.npz")}))
def test_forward_and_gradients_match_keras(z, name):
    check_recorded_layer(z, name, training=True)


@pytest.mark.parametrize("cls, kwargs, input_shape, output_shape, n_trainable", [
    (L.Conv2D, {"filters": 4, "kernel_size": 3, "groups": 2, "padding": "same"},
     (2, 5, 6, 6), (2, 5, 6, 4), 2),
    (L.Conv2D, {"filters": 6, "kernel_size": (2, 3), "strides": 2, "groups": 3,
                "activation": "tanh"}, (2, 6, 7, 3), (2, 3, 3, 6), 2),
    (L.Conv2D, {"filters": 6, "kernel_size": 3, "groups": 3, "dilation_rate": 2,
                "use_bias": False}, (1, 7, 6, 3), (1, 3, 2, 6), 1),
    (L.Conv1D, {"filters": 4, "kernel_size": 3, "groups": 2, "padding": "causal"},
     (2, 7, 4), (2, 7, 4), 2),
    (L.Conv1D, {"filters": 6, "kernel_size": 2, "groups": 3, "strides": 2}, (2, 7, 6),
     (2, 3, 6), 2),
    (L.Conv1DTranspose, {"filters": 3, "kernel_size": 3, "strides": 2}, (2, 4, 2),
     (2, 9, 3), 2),
    (L.Conv1DTranspose, {"filters": 2, "kernel_size": 4, "strides": 3, "padding": "same",
                         "output_padding": 1, "activation": "tanh"}, (2, 3, 3), (2, 7, 2), 2),
    (L.Conv1DTranspose, {"filters": 2, "kernel_size": 3, "dilation_rate": 2,
                         "use_bias": False}, (2, 4, 3), (2, 8, 2), 1),
    (L.DepthwiseConv1D, {"kernel_size": 3, "depth_multiplier": 2}, (2, 6, 3), (2, 4, 6), 2),
    (L.DepthwiseConv1D, {"kernel_size": 3, "strides": 2, "dilation_rate": 2,
                         "padding": "same", "activation": "tanh"}, (2, 7, 2), (2, 4, 2), 2),
    (L.SeparableConv1D, {"filters": 3, "kernel_size": 3, "depth_multiplier": 2},
     (2, 6, 2), (2, 4, 3), 3),
    (L.SeparableConv1D, {"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same",
                         "use_bias": False, "dilation_rate": 2}, (2, 7, 3), (2, 4, 2), 2),
])
def test_layer_contract_and_float64_gradients(cls, kwargs, input_shape, output_shape,
                                              n_trainable):
    # shapes, weight counts, config round trip, symbolic call, central differences
    check_case(cls, kwargs, input_shape, output_shape, n_trainable)


@pytest.mark.parametrize("hparameters, groups, c_in, c_out", [
    ({"stride": 1, "pad": "same"}, 2, 4, 6),
    ({"stride": (2, 1), "pad": "valid", "dilation": 1}, 3, 6, 3),
    ({"stride": 1, "pad": ((1, 0), (0, 2)), "dilation": (2, 1)}, 4, 4, 8),  # depthwise path
])
def test_grouped_op_matches_its_reference_twin(hparameters, groups, c_in, c_out):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 7, c_in))
    W = rng.standard_normal((3, 2, c_in // groups, c_out))
    b = rng.standard_normal((1, 1, 1, c_out))
    z, cache = grouped_conv_forward(x, W, b, hparameters, groups)
    np.testing.assert_allclose(z, reference.grouped_conv_forward(x, W, b, hparameters, groups),
                               rtol=1e-12, atol=1e-12)
    assert z.dtype == np.float64
    _, dW, db = grouped_conv_backward(np.ones_like(z), cache, compute_dA_prev=False)
    assert dW.shape == W.shape and db.shape == (1, 1, 1, c_out)


def test_keras_config_keys_and_kernel_shapes():
    conv = L.Conv2D(4, 3, groups=2)
    conv.build((None, 8, 8, 6))
    assert conv.kernel.shape == (3, 3, 3, 4) and conv.get_config()["groups"] == 2
    conv1 = L.Conv1D(6, 3, groups=3)
    conv1.build((None, 8, 6))
    assert conv1.kernel.shape == (3, 2, 6) and conv1.get_config()["groups"] == 3
    up = L.Conv1DTranspose(4, 3, strides=2, padding="same", output_padding=1)
    up.build((None, 5, 3))
    assert up.kernel.shape == (3, 4, 3)
    assert list(up.get_config())[3:13] == [
        "filters", "kernel_size", "strides", "padding", "output_padding", "data_format",
        "dilation_rate", "activation", "use_bias", "kernel_initializer"]
    assert up.get_config()["output_padding"] == (1,)
    dw = L.DepthwiseConv1D(3, depth_multiplier=2)
    dw.build((None, 7, 3))
    assert [(v.name, v.shape) for v in dw.weights] == [("kernel", (3, 3, 2)), ("bias", (6,))]
    assert dw.depthwise_kernel is dw.kernel
    for key in ("depth_multiplier", "kernel_size", "depthwise_initializer",
                "depthwise_regularizer", "depthwise_constraint"):
        assert key in dw.get_config()
    sep = L.SeparableConv1D(4, 3, depth_multiplier=2)
    sep.build((None, 7, 3))
    assert [(v.name, v.shape) for v in sep.weights] == [
        ("depthwise_kernel", (3, 3, 2)), ("pointwise_kernel", (1, 6, 4)), ("bias", (4,))]
    assert {"pointwise_initializer", "pointwise_regularizer",
            "pointwise_constraint"} <= set(sep.get_config())


def test_keras_written_file_loads_and_predicts(tmp_path):
    pytest.importorskip("h5py")
    model = check_keras_written_model("conv_family", tmp_path)
    names = [type(layer).__name__ for layer in model.layers]
    assert {"Conv1D", "Conv2D", *NEW} <= set(names)
    assert model.get_layer(index=1).groups == 3


def _sequence_model():
    return tf.keras.Sequential([
        tf.keras.Input((12, 4)),
        L.Conv1D(6, 3, groups=2, padding="same", activation="relu"),
        L.DepthwiseConv1D(3, depth_multiplier=2, padding="same", activation="relu"),
        L.SeparableConv1D(4, 3, strides=2, activation="relu"),
        L.Conv1DTranspose(3, 3, strides=2, padding="same", output_padding=1),
        L.Flatten(), L.Dense(1)])


def _image_model():
    return tf.keras.Sequential([
        tf.keras.Input((8, 8, 4)),
        L.Conv2D(6, 3, groups=2, padding="same"), L.BatchNormalization(), L.ReLU(),
        L.Conv2D(8, 3, groups=2, activation="relu"), L.MaxPooling2D(2),
        L.Conv2D(8, 1, groups=4), L.BatchNormalization(),
        L.Conv2D(8, 3, groups=8, padding="same", activation="relu"),
        L.GlobalAveragePooling2D(), L.Dense(1)])


@pytest.mark.parametrize("make, shape", [(_sequence_model, (16, 12, 4)),
                                         (_image_model, (16, 8, 8, 4))])
def test_small_model_trains_and_round_trips(tmp_path, make, shape):
    tf.keras.utils.set_random_seed(0)
    model = make()
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype("float32")
    y = (x.reshape(len(x), -1)[:, :5].sum(axis=1, keepdims=True) > 0).astype("float32")
    model.compile(tf.keras.optimizers.Adam(0.01), "mse")
    history = model.fit(x, y, epochs=8, batch_size=8, verbose=0).history["loss"]
    assert history[-1] < 0.8 * history[0], history
    # the inference schedule (folds, fusions) gives what the layers as written give
    with tf.config.plain_path():
        plain = model.predict(x, verbose=0)
    np.testing.assert_allclose(model.predict(x, verbose=0), plain, rtol=1e-5, atol=1e-5)
    check_file_round_trip(model, x, tmp_path / "m.convnp")
    if pytest.importorskip("h5py"):
        model.save(tmp_path / "m.keras")
        loaded = tf.keras.models.load_model(tmp_path / "m.keras")
        np.testing.assert_allclose(loaded.predict(x, verbose=0), plain, rtol=1e-5, atol=1e-6)


def test_summary_shapes_and_count_params():
    model = _sequence_model()
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    for shape in ("(None, 12, 6)", "(None, 12, 12)", "(None, 5, 4)", "(None, 10, 3)"):
        assert shape in text, text
    count = tf.keras.utils.count_params
    assert count(model.weights) == model.count_params()
    # Conv1D groups=2: 3 * 2 * 6 + 6; DepthwiseConv1D: 3 * 6 * 2 + 12; ...
    assert count(model.layers[0].weights) == 42
    assert count(model.layers[1].weights) == 48
    assert count([np.zeros((2, 3)), tf.Variable(np.ones(4))]) == 10
    with pytest.raises(TypeError, match="iterable of weights"):
        count(3)
    with pytest.raises(TypeError, match="needs a shape"):
        count([[1, 2]])


@pytest.mark.parametrize("make, error, match", [
    (lambda: L.Conv2D(5, 3, groups=2), ValueError, r"filters \(5\).*groups \(2\)"),
    (lambda: L.Conv1D(4, 3, groups=0), ValueError, "groups must be a positive int"),
    (lambda: L.Conv2D(4, 3, groups="2"), TypeError, "groups must be a positive int"),
    (lambda: L.Conv1DTranspose(4, 3, strides=2, output_padding=2), ValueError,
     "output_padding must be smaller than strides"),
    (lambda: L.Conv1DTranspose(4, 3, strides=2, dilation_rate=2), ValueError,
     "strides > 1 is not supported together with dilation_rate > 1"),
    (lambda: L.Conv1DTranspose(4, 3, padding="causal"), ValueError, "'valid' or 'same'"),
    (lambda: L.Conv1DTranspose(4, (3, 3)), TypeError, "kernel_size must be an int"),
    (lambda: L.Conv1DTranspose(4, 3, output_padding=-1), ValueError, "output_padding"),
    (lambda: L.DepthwiseConv1D(3, padding="causal"), ValueError, "'valid' or 'same'"),
    (lambda: L.DepthwiseConv1D(3, depth_multiplier=0), ValueError, "depth_multiplier"),
    (lambda: L.DepthwiseConv1D(3, data_format="NCW"), ValueError,
     "'channels_last' or 'channels_first'"),
    (lambda: L.DepthwiseConv1D(3, depthwise_regularizer="nope"), ValueError,
     "unknown regularizer 'nope'"),
    (lambda: L.SeparableConv1D(0, 3), ValueError, "filters"),
    (lambda: L.SeparableConv1D(2, 3, pointwise_constraint=5), TypeError,
     "constraint must be"),
])
def test_bad_arguments_are_refused_up_front(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_channels_not_divisible_by_groups_refused_before_any_work():
    layer = L.Conv2D(4, 3, groups=2, name="g")
    with pytest.raises(ValueError, match=r"'g': the input channels \(3\) must be divisible "
                                         r"by groups \(2\)"):
        layer(np.zeros((1, 5, 5, 3), dtype="float32"))
    assert not layer.built and layer.kernel is None
    with pytest.raises(ValueError, match="divisible by groups"):
        tf.keras.Sequential([tf.keras.Input((7, 5)), L.Conv1D(4, 3, groups=4)])
    built = L.Conv1D(4, 3, groups=2)
    built(np.zeros((1, 5, 4), dtype="float32"))
    with pytest.raises(ValueError, match="4 features on axis 2"):
        built(np.zeros((1, 5, 6), dtype="float32"))


def test_too_short_input_is_refused():
    with pytest.raises(ValueError, match="depthwise_conv1d_short"):
        L.DepthwiseConv1D(5, dilation_rate=2, name="depthwise_conv1d_short").compute_output_shape(
            (None, 6, 3))


def test_onnx_export_of_grouped_conv2d():
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from convnp.io.onnx import export_bytes

    tf.keras.utils.set_random_seed(1)
    model = tf.keras.Sequential([tf.keras.Input((6, 6, 4)),
                                 L.Conv2D(6, 3, groups=2, padding="same",
                                          bias_initializer="random_normal"),
                                 L.Conv2D(6, 2, groups=3, activation="relu")])
    x = np.random.default_rng(0).standard_normal((2, 6, 6, 4)).astype("float32")
    session = ort.InferenceSession(export_bytes(model), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5)


def test_new_one_d_layers_export_to_onnx():
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from convnp.io.onnx import export_bytes

    tf.keras.utils.set_random_seed(2)
    model = tf.keras.Sequential([tf.keras.Input((6, 2)), L.DepthwiseConv1D(3, name="dw1"),
                                 L.Conv1DTranspose(2, 3, strides=2), L.SeparableConv1D(3, 2)])
    x = np.random.default_rng(0).standard_normal((2, 6, 2)).astype("float32")
    session = ort.InferenceSession(export_bytes(model), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5)


def test_saving_module_reads_new_layers_by_name(tmp_path):
    model = tf.keras.Sequential([tf.keras.Input((6, 2)), L.Conv1DTranspose(2, 3, name="up"),
                                 L.SeparableConv1D(2, 3, name="sep")])
    saving.save_model(model, tmp_path / "m.convnp")
    loaded = saving.load_model(tmp_path / "m.convnp")
    assert [type(layer).__name__ for layer in loaded.layers] == ["Conv1DTranspose",
                                                                 "SeparableConv1D"]


@pytest.mark.parametrize("kwargs, shape", [
    ({"filters": 6, "kernel_size": 3, "groups": 3, "strides": 2, "padding": "valid"},
     (2, 7, 8, 6)),
    ({"filters": 8, "kernel_size": (3, 2), "groups": 4, "dilation_rate": 2,
      "padding": "valid"}, (2, 8, 7, 4)),
])
def test_grouped_conv2d_matches_pytorch(kwargs, shape):
    torch = pytest.importorskip("torch")
    layer = L.Conv2D(bias_initializer="random_normal", dtype="float64", **kwargs)
    x = np.random.default_rng(5).standard_normal(shape)
    y = layer(x, training=True)
    dy = np.random.default_rng(6).standard_normal(y.shape)
    dx = layer.backward(dy)
    xt = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    wt = torch.tensor(layer.kernel.value.transpose(3, 2, 0, 1), requires_grad=True)
    bt = torch.tensor(layer.bias.value, requires_grad=True)
    yt = torch.nn.functional.conv2d(xt, wt, bt, stride=layer.strides,
                                    dilation=layer.dilation_rate, groups=layer.groups)
    yt.backward(torch.tensor(dy.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(y, yt.detach().numpy().transpose(0, 2, 3, 1), atol=1e-10)
    np.testing.assert_allclose(dx, xt.grad.numpy().transpose(0, 2, 3, 1), atol=1e-10)
    np.testing.assert_allclose(layer.kernel.grad, wt.grad.numpy().transpose(2, 3, 1, 0),
                               atol=1e-10)
    np.testing.assert_allclose(layer.bias.grad, bt.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("make, shape", [
    (lambda: L.DepthwiseConv2D(3, bias_constraint="non_neg"), (None, 5, 5, 2)),
    (lambda: L.SeparableConv2D(2, 3, bias_constraint="non_neg"), (None, 5, 5, 2)),
    (lambda: L.DepthwiseConv1D(3, bias_constraint="non_neg"), (None, 5, 2)),
    (lambda: L.SeparableConv1D(2, 3, bias_constraint="non_neg"), (None, 5, 2)),
    (lambda: L.Conv1DTranspose(2, 3, kernel_constraint="non_neg",
                               bias_constraint="non_neg"), (None, 5, 2)),
])
def test_bias_constraint_is_applied_after_updates(make, shape):
    # the depthwise layers accepted bias_constraint and kept it in their config, but their
    # bias did not carry it (so the optimizer never applied it)
    layer = make()
    layer.build(shape)
    layer.bias.assign(-np.ones(layer.bias.shape, dtype="float32"))
    tf.keras.optimizers.SGD(0.1).apply_gradients(
        [(np.zeros(v.shape, dtype="float32"), v) for v in layer.trainable_weights])
    assert (layer.bias.numpy() >= 0).all()
