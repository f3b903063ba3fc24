"""The 3-D layers on NDHWC volumes: Conv3D, Conv3DTranspose, MaxPooling3D, AveragePooling3D,
GlobalAveragePooling3D, GlobalMaxPooling3D, UpSampling3D, ZeroPadding3D, Cropping3D,
SpatialDropout3D, and their ops (`convnp.ops.conv3d`, twins in `reference_conv3d`).

Against Keras 3.15.1 (`tests/fixtures/three_d.npz`, `three_d.keras`, made by
`tests/fixtures/make_three_d.py`): outputs, and the gradients of ``sum(y * r)`` w.r.t. the
input and every weight (tf.GradientTape); then the fast ops against their loop twins and
float64 central differences, configs, shapes, model files, bad arguments and training.
"""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp.ops import conv3d as fast
from convnp.ops import reference_conv3d as reference
from tests.helpers import load_fixture, numerical_gradient, rel_error
from tests.layers.harness import (
    check_case,
    check_file_round_trip,
    check_keras_written_model,
    check_recorded_layer,
)

L = tf.keras.layers
CLASSES = {"Conv3D", "Conv3DTranspose", "MaxPooling3D", "AveragePooling3D",
           "GlobalAveragePooling3D", "GlobalMaxPooling3D", "UpSampling3D", "ZeroPadding3D",
           "Cropping3D", "SpatialDropout3D"}
NAMES = sorted({key.split("/")[0] for key in load_fixture("three_d.npz")})


@pytest.fixture(scope="module")
def z():
    return load_fixture("three_d.npz")


def test_fixture_covers_every_layer(z):
    assert {str(z[f"{name}/class"]) for name in NAMES} == CLASSES
    assert len(NAMES) == 25


@pytest.mark.parametrize("name", NAMES)
def test_forward_and_gradients_match_keras(z, name):
    # the fixture ran Keras at inference (SpatialDropout3D is then the identity)
    check_recorded_layer(z, name, training=False)


@pytest.mark.parametrize("cls, kwargs, input_shape, output_shape, n_trainable", [
    (L.Conv3D, {"filters": 3, "kernel_size": 2}, (2, 3, 4, 3, 2), (2, 2, 3, 2, 3), 2),
    (L.Conv3D, {"filters": 2, "kernel_size": (2, 3, 1), "strides": (2, 1, 2),
                "padding": "same", "activation": "tanh"}, (1, 3, 4, 5, 2), (1, 2, 4, 3, 2), 2),
    (L.Conv3D, {"filters": 4, "kernel_size": 2, "dilation_rate": (1, 2, 1), "groups": 2,
                "use_bias": False}, (1, 3, 5, 3, 4), (1, 2, 3, 2, 4), 1),
    (L.Conv3DTranspose, {"filters": 2, "kernel_size": 2, "strides": 2}, (1, 2, 2, 3, 3),
     (1, 4, 4, 6, 2), 2),
    (L.Conv3DTranspose, {"filters": 2, "kernel_size": (3, 2, 3), "strides": (2, 1, 3),
                         "padding": "same", "output_padding": (1, 0, 2),
                         "activation": "sigmoid"}, (1, 2, 3, 2, 2), (1, 4, 2, 6, 2), 2),
    (L.MaxPooling3D, {"pool_size": 2}, (2, 4, 4, 3, 2), (2, 2, 2, 1, 2), 0),
    (L.MaxPooling3D, {"pool_size": (2, 3, 2), "strides": 1, "padding": "same"},
     (1, 3, 4, 3, 2), (1, 3, 4, 3, 2), 0),
    (L.AveragePooling3D, {"pool_size": 3, "strides": 2, "padding": "same"}, (1, 5, 4, 3, 2),
     (1, 3, 2, 2, 2), 0),
    (L.AveragePooling3D, {"pool_size": (1, 2, 2)}, (2, 2, 4, 5, 1), (2, 2, 2, 2, 1), 0),
    (L.GlobalAveragePooling3D, {}, (2, 2, 3, 2, 3), (2, 3), 0),
    (L.GlobalAveragePooling3D, {"keepdims": True}, (2, 2, 3, 2, 3), (2, 1, 1, 1, 3), 0),
    (L.GlobalMaxPooling3D, {}, (2, 2, 3, 2, 3), (2, 3), 0),
    (L.GlobalMaxPooling3D, {"keepdims": True}, (2, 2, 3, 2, 3), (2, 1, 1, 1, 3), 0),
    (L.UpSampling3D, {"size": (2, 1, 3)}, (2, 2, 2, 2, 2), (2, 4, 2, 6, 2), 0),
    (L.ZeroPadding3D, {"padding": ((1, 0), (0, 2), (1, 1))}, (2, 2, 2, 2, 2),
     (2, 3, 4, 4, 2), 0),
    (L.Cropping3D, {"cropping": (1, 0, 1)}, (2, 3, 2, 4, 2), (2, 1, 2, 2, 2), 0),
])
def test_layer_contract_and_float64_gradients(cls, kwargs, input_shape, output_shape,
                                              n_trainable):
    # shapes, weight counts, config round trip, symbolic call, central differences
    check_case(cls, kwargs, input_shape, output_shape, n_trainable)


def test_spatial_dropout_3d_drops_whole_channels():
    check_case(L.SpatialDropout3D, {"rate": 0.5, "seed": 3}, (2, 2, 3, 2, 4),
               (2, 2, 3, 2, 4), 0, random=True)
    layer = L.SpatialDropout3D(0.5, seed=1)
    x = np.ones((4, 2, 3, 2, 8), dtype="float32")
    y = np.asarray(layer(x, training=True))
    per_channel = y.reshape(4, -1, 8)
    # each (example, channel) is all zero or all 2.0
    assert np.all((per_channel == 0).all(axis=1) | (per_channel == 2.0).all(axis=1))
    assert 0 < (per_channel == 0).mean() < 1
    np.testing.assert_array_equal(layer(x, training=False), x)


# ---------------------------------------------------------------------------------------------
# The ops: fast against the loop twins, and central differences in float64

CONV_CASES = [
    ((2, 4, 5, 4, 3), (2, 3, 2), (1, 2, 1), "same", 1, 1),
    ((1, 5, 4, 6, 4), (3, 2, 2), 1, "valid", (2, 1, 2), 2),
    ((2, 3, 5, 4, 6), 3, 2, "same", 1, 3),
    ((1, 3, 3, 3, 2), 1, 3, "valid", 1, 1),
]


@pytest.mark.parametrize("shape, kernel, strides, padding, dilation, groups", CONV_CASES)
def test_conv3d_matches_its_reference_twin(shape, kernel, strides, padding, dilation, groups):
    rng = np.random.default_rng(4)
    k = (kernel,) * 3 if isinstance(kernel, int) else kernel
    x = rng.standard_normal(shape)
    W = rng.standard_normal((*k, shape[-1] // groups, 6))
    b = rng.standard_normal(6)
    z, cache = fast.conv3d_forward(x, W, b, strides, padding, dilation, groups)
    assert z.dtype == np.float64
    np.testing.assert_allclose(z, reference.conv3d_forward(x, W, b, strides, padding, dilation,
                                                           groups), rtol=1e-12, atol=1e-12)
    dz = rng.standard_normal(z.shape)
    for got, want in zip(fast.conv3d_backward(dz, cache),
                         reference.conv3d_backward(x, W, dz, strides, padding, dilation,
                                                   groups)):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)
    assert fast.conv3d_backward(dz, cache, compute_dA_prev=False)[0] is None


@pytest.mark.parametrize("shape, kernel, strides, padding, output_padding", [
    ((2, 2, 3, 2, 3), (3, 3, 3), 2, "valid", None),
    ((1, 3, 2, 3, 2), (2, 3, 4), (2, 1, 2), "same", None),
    ((2, 2, 2, 3, 2), (3, 3, 3), 3, "same", (2, 1, 0)),
    ((1, 2, 3, 2, 3), (2, 2, 2), (3, 2, 2), "valid", (1, 1, 1)),
])
def test_conv3d_transpose_matches_its_twin_and_is_the_conv_adjoint(shape, kernel, strides,
                                                                   padding, output_padding):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape)
    W = rng.standard_normal((*kernel, 4, shape[-1]))
    b = rng.standard_normal(4)
    y, _ = fast.conv3d_transpose_forward(x, W, b, strides, padding, output_padding)
    np.testing.assert_allclose(y, reference.conv3d_transpose_forward(
        x, W, b, strides, padding, output_padding), rtol=1e-12, atol=1e-12)
    # <conv_transpose(x), v> == <x, conv(v)> (no bias) with the same kernel, which is a
    # conv kernel (f_d, f_h, f_w, 4, n_C_in) from 4 channels back to the input's
    v = rng.standard_normal(y.shape)
    y0, _ = fast.conv3d_transpose_forward(x, W, None, strides, padding, output_padding)
    zv, _ = fast.conv3d_forward(v, W, None, strides, padding)
    if zv.shape == x.shape:  # 'valid' with output_padding drops the extra rows
        np.testing.assert_allclose(np.sum(y0 * v), np.sum(x * zv), rtol=1e-10)


@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("shape, pool, strides, padding", [
    ((2, 5, 5, 4, 2), (3, 2, 3), (2, 2, 1), "same"),
    ((1, 4, 5, 6, 3), 2, None, "valid"),
    ((2, 3, 4, 3, 1), 3, 1, "same"),
])
def test_pool3d_matches_its_reference_twin(mode, shape, pool, strides, padding):
    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape)
    a, cache = fast.pool3d_forward(x, pool, strides, padding, mode)
    np.testing.assert_allclose(a, reference.pool3d_forward(x, pool, strides, padding, mode),
                               rtol=1e-13, atol=1e-13)
    da = rng.standard_normal(a.shape)
    np.testing.assert_allclose(fast.pool3d_backward(da, cache),
                               reference.pool3d_backward(x, da, pool, strides, padding, mode),
                               rtol=1e-13, atol=1e-13)


def _check_op_gradients(forward, backward, arrays, seed=0):
    """Central differences of ``sum(forward() * r)`` w.r.t. each array, against
    ``backward(r)``."""
    r = np.random.default_rng(seed).standard_normal(forward().shape)
    analytic = backward(r)
    for array, grad in zip(arrays, analytic):
        numeric = numerical_gradient(forward, array, r)
        assert rel_error(grad, numeric) < 1e-7


@pytest.mark.parametrize("case", CONV_CASES[:3])
def test_conv3d_op_gradients_by_central_differences(case):
    shape, kernel, strides, padding, dilation, groups = case
    shape = (1, *shape[1:])
    rng = np.random.default_rng(8)
    k = (kernel,) * 3 if isinstance(kernel, int) else kernel
    x = rng.standard_normal(shape)
    W = rng.standard_normal((*k, shape[-1] // groups, groups * 2))
    b = rng.standard_normal(groups * 2)

    def forward():
        return fast.conv3d_forward(x, W, b, strides, padding, dilation, groups)[0]

    def backward(r):
        _, cache = fast.conv3d_forward(x, W, b, strides, padding, dilation, groups)
        return fast.conv3d_backward(r, cache)

    _check_op_gradients(forward, backward, [x, W, b])


def test_conv3d_transpose_and_pool_op_gradients_by_central_differences():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((1, 2, 3, 2, 2))
    W = rng.standard_normal((3, 2, 3, 2, 2))
    b = rng.standard_normal(2)
    args = ((2, 1, 2), "same", (1, 0, 1))

    def t_forward():
        return fast.conv3d_transpose_forward(x, W, b, *args)[0]

    def t_backward(r):
        return fast.conv3d_transpose_backward(r, fast.conv3d_transpose_forward(x, W, b,
                                                                               *args)[1])

    _check_op_gradients(t_forward, t_backward, [x, W, b])
    v = rng.standard_normal((1, 4, 5, 3, 2))
    for mode in ("max", "average"):
        _check_op_gradients(lambda mode=mode: fast.pool3d_forward(v, 2, 1, "same", mode)[0],
                            lambda r, mode=mode: [fast.pool3d_backward(
                                r, fast.pool3d_forward(v, 2, 1, "same", mode)[1])], [v])


def test_ops_keep_float32_and_refuse_bad_shapes():
    x = np.zeros((1, 3, 3, 3, 2), dtype="float32")
    z, _ = fast.conv3d_forward(x, np.zeros((2, 2, 2, 2, 3), dtype="float32"))
    assert z.dtype == np.float32 and z.shape == (1, 2, 2, 2, 3)
    with pytest.raises(ValueError, match=r"volume batch \(m, n_D, n_H, n_W, n_C\)"):
        fast.conv3d_forward(np.zeros((1, 3, 3, 2)), np.zeros((2, 2, 2, 2, 3)))
    with pytest.raises(ValueError, match="does not fit an input with 2 channels"):
        fast.conv3d_forward(x, np.zeros((2, 2, 2, 3, 3)))
    with pytest.raises(ValueError, match="larger than the input"):
        fast.conv3d_forward(x, np.zeros((4, 2, 2, 2, 3)))
    with pytest.raises(ValueError, match="mode must be 'max' or 'average'"):
        fast.pool3d_forward(x, 2, mode="min")
    with pytest.raises(TypeError, match=r"pool_size must be an int or a \(d, h, w\) triple"):
        fast.pool3d_forward(x, (2, 2))


# ---------------------------------------------------------------------------------------------
# Configs, shapes, files, training


def test_keras_config_keys_kernel_shapes_and_aliases():
    conv = L.Conv3D(4, 3)
    conv.build((None, 5, 5, 5, 2))
    assert conv.kernel.shape == (3, 3, 3, 2, 4)
    assert list(conv.get_config())[3:11] == [
        "filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
        "groups", "activation"]
    up = L.Conv3DTranspose(4, 3, strides=2, output_padding=1)
    up.build((None, 2, 2, 2, 5))
    assert up.kernel.shape == (3, 3, 3, 4, 5)
    assert up.get_config()["output_padding"] == (1, 1, 1)
    assert list(up.get_config())[3:10] == [
        "filters", "kernel_size", "strides", "padding", "output_padding", "data_format",
        "dilation_rate"]
    assert L.MaxPooling3D(3).get_config()["strides"] == (3, 3, 3)
    assert L.ZeroPadding3D((1, 0, 2)).get_config()["padding"] == ((1, 1), (0, 0), (2, 2))
    assert L.Cropping3D().get_config()["cropping"] == ((1, 1), (1, 1), (1, 1))
    assert L.UpSampling3D().get_config()["size"] == (2, 2, 2)
    assert "noise_shape" not in L.SpatialDropout3D(0.1).get_config()
    for alias, cls in [("Convolution3D", L.Conv3D), ("Convolution3DTranspose",
                                                     L.Conv3DTranspose),
                       ("MaxPool3D", L.MaxPooling3D), ("AvgPool3D", L.AveragePooling3D),
                       ("GlobalAvgPool3D", L.GlobalAveragePooling3D),
                       ("GlobalMaxPool3D", L.GlobalMaxPooling3D)]:
        assert getattr(L, alias) is cls


def test_keras_written_file_loads_and_predicts(tmp_path):
    pytest.importorskip("h5py")
    model = check_keras_written_model("three_d", tmp_path)
    assert CLASSES <= {type(layer).__name__ for layer in model.layers}


def _volume_model():
    return tf.keras.Sequential([
        tf.keras.Input((6, 8, 8, 2)),
        L.Conv3D(6, 3, padding="same", activation="relu"),
        L.MaxPooling3D(2),
        L.Conv3D(8, 3, padding="same", activation="relu"),
        L.GlobalAveragePooling3D(),
        L.Dense(1)])


def test_small_3d_cnn_trains_and_round_trips(tmp_path):
    tf.keras.utils.set_random_seed(0)
    model = _volume_model()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 6, 8, 8, 2)).astype("float32")
    # a target the conv + global average can see: how bright channel 0 is
    y = (x[..., 0].mean(axis=(1, 2, 3)) > 0).astype("float32")[:, None]
    model.compile(tf.keras.optimizers.Adam(0.01), "mse")
    history = model.fit(x, y, epochs=8, batch_size=8, verbose=0).history["loss"]
    assert history[-1] < 0.8 * history[0], history
    with tf.config.plain_path():
        plain = model.predict(x, verbose=0)
    np.testing.assert_allclose(model.predict(x, verbose=0), plain, rtol=1e-5, atol=1e-5)
    check_file_round_trip(model, x, tmp_path / "m.convnp")
    pytest.importorskip("h5py")
    model.save(tmp_path / "m.keras")
    loaded = tf.keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), plain, rtol=1e-5, atol=1e-6)


def _every_layer_model():
    return tf.keras.Sequential([
        tf.keras.Input((4, 6, 6, 2)),
        L.ZeroPadding3D((0, 1, 1)),
        L.Conv3D(3, 2, padding="same", bias_initializer="random_normal"),
        L.SpatialDropout3D(0.2),
        L.AveragePooling3D((1, 2, 2)),
        L.Conv3DTranspose(2, 2, strides=(1, 2, 2), bias_initializer="random_normal"),
        L.UpSampling3D((2, 1, 1)),
        L.Cropping3D(((1, 1), (2, 0), (0, 2))),
        L.MaxPooling3D(2, padding="same"),
        L.GlobalMaxPooling3D(keepdims=True),
        L.Flatten()])


def test_every_new_layer_round_trips_through_both_file_formats(tmp_path):
    pytest.importorskip("h5py")
    tf.keras.utils.set_random_seed(2)
    model = _every_layer_model()
    x = np.random.default_rng(1).standard_normal((2, 4, 6, 6, 2)).astype("float32")
    check_file_round_trip(model, x, tmp_path / "m.convnp")
    model.save(tmp_path / "m.keras")
    loaded = tf.keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-6)


def test_summary_shapes():
    model = tf.keras.Sequential([
        tf.keras.Input((6, 8, 8, 2)),
        L.Conv3D(4, 3, padding="same"), L.MaxPooling3D(2),
        L.Conv3DTranspose(3, 2, strides=2), L.Cropping3D(((1, 1), (0, 2), (2, 0))),
        L.ZeroPadding3D(1), L.UpSampling3D((1, 2, 1)), L.AveragePooling3D(2),
        L.GlobalAveragePooling3D()])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    for shape in ("(None, 6, 8, 8, 4)", "(None, 3, 4, 4, 4)", "(None, 6, 8, 8, 3)",
                  "(None, 4, 6, 6, 3)", "(None, 6, 8, 8, 3)", "(None, 6, 16, 8, 3)",
                  "(None, 3, 8, 4, 3)", "(None, 3)"):
        assert shape in text, text
    assert model.layers[0].count_params() == 3 * 3 * 3 * 2 * 4 + 4
    assert model.layers[2].count_params() == 2 * 2 * 2 * 3 * 4 + 3
    assert model.output_shape == (None, 3)


@pytest.mark.parametrize("make, error, match", [
    (lambda: L.Conv3D(0, 3), ValueError, "filters must be a positive int"),
    (lambda: L.Conv3D(4, (3, 3)), ValueError,  # TF 2.21: ValueError
     r"Conv3D: kernel_size must be an int or a \(d, h, w\) triple"),
    (lambda: L.Conv3D(4, 3, strides=0), ValueError, "strides must be >= 1"),
    (lambda: L.Conv3D(4, 3, padding="causal"), ValueError, "'valid' or 'same'"),
    (lambda: L.Conv3D(4, 3, strides=2, dilation_rate=2), ValueError,
     "strides > 1 is not supported together with dilation_rate > 1"),
    (lambda: L.Conv3D(4, 3, groups=3), ValueError, r"filters \(4\).*groups \(3\)"),
    (lambda: L.Conv3D(4, 3, data_format="channels_first"), ValueError, "channels_last"),
    (lambda: L.Conv3D(4, 3, kernel_regularizer="nope"), ValueError, "nope"),
    (lambda: L.Conv3D(4, 3, lora_rank=2), ValueError, "lora_rank"),
    (lambda: L.Conv3DTranspose(4, 3, strides=2, output_padding=2), ValueError,
     "output_padding must be smaller than strides"),
    (lambda: L.Conv3DTranspose(4, 3, dilation_rate=2), ValueError,
     "dilation_rate > 1 is not supported"),
    (lambda: L.Conv3DTranspose(4, 3, output_padding=-1), ValueError, "output_padding"),
    (lambda: L.MaxPooling3D((2, 2)), ValueError, "pool_size must be an int or a"),
    (lambda: L.AveragePooling3D(2, padding="full"), ValueError, "'valid' or 'same'"),
    (lambda: L.GlobalMaxPooling3D(data_format="channels_first"), ValueError,
     "channels_last"),
    (lambda: L.UpSampling3D(0), ValueError, "size must be >= 1"),
    (lambda: L.ZeroPadding3D((1, 2)), ValueError, "ZeroPadding3D: padding must be"),
    (lambda: L.ZeroPadding3D(-1), ValueError, "non-negative"),
    (lambda: L.Cropping3D(((1, 0), (0, 1))), ValueError, "Cropping3D: cropping must be"),
    (lambda: L.SpatialDropout3D(1.5), ValueError, "rate"),
    (lambda: L.SpatialDropout3D(0.5, data_format="channels_first"), ValueError,
     "channels_last"),
])
def test_bad_arguments_are_refused_up_front(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("layer", [
    L.Conv3D(2, 2), L.Conv3DTranspose(2, 2), L.MaxPooling3D(), L.AveragePooling3D(),
    L.GlobalAveragePooling3D(), L.GlobalMaxPooling3D(), L.UpSampling3D(), L.ZeroPadding3D(),
    L.Cropping3D(), L.SpatialDropout3D(0.1)])
def test_images_are_refused_by_rank_before_any_work(layer):
    with pytest.raises(ValueError, match=r"rank 5 \(batch, depth, height, width, channels\)"):
        layer(np.zeros((1, 4, 4, 2), dtype="float32"))
    assert not layer.built


def test_input_too_small_is_refused_before_any_work():
    layer = L.Conv3D(2, (2, 5, 2), name="deep")
    with pytest.raises(ValueError, match=r"'deep': window \(2, 5, 2\) is larger than the "
                                         r"input"):
        layer(np.zeros((1, 3, 4, 3, 1), dtype="float32"))
    with pytest.raises(ValueError, match="leaves nothing"):
        L.Cropping3D(2)(np.zeros((1, 4, 3, 6, 1), dtype="float32"))
    with pytest.raises(ValueError, match="larger than the input"):
        L.MaxPooling3D(3).compute_output_shape((None, 2, 6, 6, 1))
    built = L.Conv3D(2, 2)
    built(np.zeros((1, 3, 3, 3, 2), dtype="float32"))
    with pytest.raises(ValueError, match="2 features on axis 4"):
        built(np.zeros((1, 3, 3, 3, 5), dtype="float32"))
    with pytest.raises(ValueError, match=r"input channels \(3\) must be divisible by groups"):
        L.Conv3D(4, 2, groups=2)(np.zeros((1, 3, 3, 3, 3), dtype="float32"))


def test_spatial_dropout_3d_is_written_as_keras_writes_it():
    # Keras 3.15's SpatialDropout3D takes no `trainable` (a file with one does not load there)
    from convnp.io import keras_format

    config = keras_format._keras_layer_config(L.SpatialDropout3D(0.2, name="sd"))
    assert "trainable" not in config and config["dtype"] == "float32"
    assert config["rate"] == 0.2 and config["data_format"] == "channels_last"


def test_inference_schedule_leaves_3d_blocks_as_written():
    # Conv3D + BatchNormalization + ReLU + MaxPooling3D: the 2-D folds and fusions must not
    # take the 3-D layers for their 2-D namesakes
    tf.keras.utils.set_random_seed(4)
    model = tf.keras.Sequential([
        tf.keras.Input((4, 6, 6, 2)),
        L.Conv3D(4, 3, padding="same"), L.BatchNormalization(), L.ReLU(), L.MaxPooling3D(2),
        L.Conv3DTranspose(3, 2, strides=2), L.BatchNormalization(), L.Activation("relu"),
        L.GlobalAveragePooling3D(), L.Dense(2)])
    x = np.random.default_rng(3).standard_normal((4, 4, 6, 6, 2)).astype("float32")
    model.compile("adam", "mse")
    model.fit(x, np.zeros((4, 2), dtype="float32"), epochs=2, verbose=0)
    with tf.config.plain_path():
        plain = model.predict(x, verbose=0)
    np.testing.assert_allclose(model.predict(x, verbose=0), plain, rtol=1e-5, atol=1e-5)


def test_3d_layers_export_to_onnx():
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from convnp.io.onnx import export_bytes

    tf.keras.utils.set_random_seed(3)
    model = tf.keras.Sequential([tf.keras.Input((4, 4, 4, 2)), L.Conv3D(2, 2, name="c3"),
                                 L.MaxPooling3D(padding="same"), L.UpSampling3D(),
                                 L.Conv3DTranspose(2, 2, strides=2)])
    x = np.random.default_rng(0).standard_normal((2, 4, 4, 4, 2)).astype("float32")
    session = ort.InferenceSession(export_bytes(model), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5)
