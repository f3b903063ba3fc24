"""TimeDistributed: harness, float64 gradients (input and the inner weights, summed over the
steps), values against a per-step loop, a CNN over frames in fit, .convnp round trip."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp.layers import Conv2D, Dense, TimeDistributed
from tests.layers.harness import check_file_round_trip, check_gradients, check_layer

L = tf.keras.layers
rng = np.random.default_rng(0)


def test_harness():
    check_layer(TimeDistributed, {"layer": Dense(3)}, (2, 4, 5), (2, 4, 3), 2)
    check_layer(TimeDistributed, {"layer": Conv2D(2, 3, padding="same")}, (2, 3, 5, 5, 1),
                (2, 3, 5, 5, 2), 2)


@pytest.mark.parametrize("inner, shape", [
    (lambda: Dense(3, activation="tanh", dtype="float64"), (2, 4, 5)),
    (lambda: Conv2D(2, 2, dtype="float64"), (2, 3, 4, 4, 2)),
])
def test_gradients(inner, shape):
    layer = TimeDistributed(inner(), dtype="float64")
    check_gradients(layer, rng.standard_normal(shape))


def test_values_match_a_loop_over_steps():
    x = rng.standard_normal((2, 3, 6, 6, 2)).astype("float32")
    conv = Conv2D(4, 3)
    y = np.asarray(TimeDistributed(conv)(x))
    for t in range(3):
        np.testing.assert_allclose(y[:, t], conv(x[:, t]), rtol=1e-5, atol=1e-6)


def test_refusals():
    with pytest.raises(ValueError, match="Layer instance"):
        TimeDistributed("dense")
    with pytest.raises(ValueError, match="rank >= 3"):
        TimeDistributed(Dense(2))(np.ones((2, 3), "float32"))


def test_cnn_over_frames_fit_and_file(tmp_path):
    x = rng.standard_normal((4, 5, 8, 8, 3)).astype("float32")
    model = tf.keras.Sequential([
        tf.keras.Input((5, 8, 8, 3)), TimeDistributed(L.Conv2D(4, 3, activation="relu")),
        TimeDistributed(L.MaxPooling2D()), TimeDistributed(L.Flatten()),
        TimeDistributed(L.Dense(2)), L.GlobalAveragePooling1D(), L.Dense(1)])
    assert [layer.output_shape for layer in model.layers[:4]] == [
        (None, 5, 6, 6, 4), (None, 5, 3, 3, 4), (None, 5, 36), (None, 5, 2)]
    assert model.count_params() == 112 + 74 + 3
    model.compile("adam", "mse")
    before = model.layers[0].get_weights()[0].copy()
    model.fit(x, np.ones((4, 1), "float32"), epochs=1, verbose=0)
    assert not np.allclose(before, model.layers[0].get_weights()[0])
    loaded = check_file_round_trip(model, x, tmp_path / "frames.convnp")
    assert type(loaded.layers[0].layer).__name__ == "Conv2D"
