"""UpSampling1D, ZeroPadding1D, Cropping1D: harness, gradients, values against NumPy and
PyTorch, refusals, .convnp round trip."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp.layers import Cropping1D, UpSampling1D, ZeroPadding1D
from tests.layers.harness import check_case, check_file_round_trip

rng = np.random.default_rng(0)


@pytest.mark.parametrize("cls, kwargs, in_shape, out_shape", [
    (UpSampling1D, {}, (2, 5, 3), (2, 10, 3)),
    (UpSampling1D, {"size": 3}, (2, 4, 1), (2, 12, 1)),
    (ZeroPadding1D, {}, (2, 5, 3), (2, 7, 3)),
    (ZeroPadding1D, {"padding": (0, 3)}, (2, 5, 3), (2, 8, 3)),
    (Cropping1D, {}, (2, 5, 3), (2, 3, 3)),
    (Cropping1D, {"cropping": (2, 0)}, (2, 5, 3), (2, 3, 3)),
])
def test_harness_and_gradients(cls, kwargs, in_shape, out_shape):
    check_case(cls, kwargs, in_shape, out_shape, 0)


def test_values():
    x = rng.standard_normal((2, 5, 3)).astype("float32")
    np.testing.assert_array_equal(UpSampling1D(3)(x), np.repeat(x, 3, axis=1))
    np.testing.assert_array_equal(ZeroPadding1D((1, 2))(x),
                                  np.pad(x, ((0, 0), (1, 2), (0, 0))))
    np.testing.assert_array_equal(ZeroPadding1D(2)(x), np.pad(x, ((0, 0), (2, 2), (0, 0))))
    np.testing.assert_array_equal(Cropping1D((1, 2))(x), x[:, 1:3])
    np.testing.assert_array_equal(Cropping1D(0)(x), x)
    layer = UpSampling1D(2)
    layer(x)
    dy = rng.standard_normal((2, 10, 3)).astype("float32")
    np.testing.assert_allclose(layer.backward(dy), dy.reshape(2, 5, 2, 3).sum(axis=2),
                               rtol=1e-6)


def test_upsampling_and_padding_match_pytorch():
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 4, 3))
    tx = torch.tensor(x.transpose(0, 2, 1))
    up = torch.nn.functional.interpolate(tx, scale_factor=2, mode="nearest").numpy()
    np.testing.assert_allclose(UpSampling1D(2, dtype="float64")(x), up.transpose(0, 2, 1))
    pad = torch.nn.functional.pad(tx, (2, 1)).numpy()
    np.testing.assert_allclose(ZeroPadding1D((2, 1), dtype="float64")(x),
                               pad.transpose(0, 2, 1))


@pytest.mark.parametrize("make, error, match", [
    (lambda: UpSampling1D(0), ValueError, "size"),
    (lambda: UpSampling1D(1.5), TypeError, "size"),
    (lambda: ZeroPadding1D(-1), ValueError, "non-negative"),
    (lambda: ZeroPadding1D((1, 2, 3)), ValueError, "pair"),
    (lambda: Cropping1D("x"), ValueError, "cropping"),
    (lambda: ZeroPadding1D(1, data_format="channels_middle"), ValueError, "channels_first"),
])
def test_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_bad_input_and_too_much_cropping():
    with pytest.raises(ValueError, match="rank 3"):
        UpSampling1D()(np.ones((1, 2, 2, 1), "float32"))
    with pytest.raises(ValueError):
        Cropping1D((2, 3))(np.ones((1, 4, 1), "float32"))


def test_in_a_model_saved_and_loaded(tmp_path):
    L = tf.keras.layers
    model = tf.keras.Sequential([
        tf.keras.Input((8, 2)), ZeroPadding1D(1), L.Conv1D(4, 3), UpSampling1D(2),
        Cropping1D((1, 2)), L.GlobalAveragePooling1D(), L.Dense(1)])
    assert model.output_shape == (None, 1)
    assert [layer.output_shape for layer in model.layers[:4]] == [
        (None, 10, 2), (None, 8, 4), (None, 16, 4), (None, 13, 4)]
    model.compile("sgd", "mse")
    x = rng.standard_normal((4, 8, 2)).astype("float32")
    before = model.layers[1].get_weights()[0].copy()
    model.fit(x, np.ones((4, 1), "float32"), epochs=1, verbose=0)
    assert not np.allclose(before, model.layers[1].get_weights()[0])
    check_file_round_trip(model, x, tmp_path / "seq.convnp")
