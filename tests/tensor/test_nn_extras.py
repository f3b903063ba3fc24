"""tf.nn.depth_to_space / space_to_depth (ESPCN's sub-pixel shuffle), local_response_normalization
(AlexNet) and l2_loss: values and tape gradients against TensorFlow 2.21's numbers in
``tests/fixtures/tensor_extras.npz`` (``make_tensor_extras.py``), gradients against central
differences, bad input, and depth_to_space inside a functional model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import convnp as tf
from convnp.tensor.debugging import InvalidArgumentError
from tests.tensor import gradcheck

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tensor_extras.npz"

CASES = {
    "depth_to_space/b2": lambda t: tf.nn.depth_to_space(t, 2),
    "depth_to_space/b3": lambda t: tf.nn.depth_to_space(t, 3),
    "space_to_depth/b2": lambda t: tf.nn.space_to_depth(t, 2),
    "space_to_depth/b3": lambda t: tf.nn.space_to_depth(t, 3),
    "lrn/default": lambda t: tf.nn.lrn(t),
    "lrn/alexnet": lambda t: tf.nn.local_response_normalization(
        t, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75),
    "lrn/r0": lambda t: tf.nn.lrn(t, 0, 0.5, 0.3, 1.5),
    "l2_loss": lambda t: tf.nn.l2_loss(t),
}


@pytest.fixture(scope="module")
def golden():
    with np.load(FIXTURE, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize("case", sorted(CASES))
def test_values_and_gradients_match_tensorflow(case, golden):
    x = tf.constant(golden[f"{case}/x"])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = CASES[case](x)
        s = tf.reduce_sum(y * golden[f"{case}/r"])
    assert y.dtype == np.float32
    assert y.shape == golden[f"{case}/y"].shape
    np.testing.assert_allclose(y.numpy(), golden[f"{case}/y"], rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(tape.gradient(s, x).numpy(), golden[f"{case}/grad"],
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", ["depth_to_space/b2", "space_to_depth/b3", "lrn/default",
                                  "lrn/alexnet", "lrn/r0", "l2_loss"])
def test_gradients_match_central_differences(case, golden):
    x = golden[f"{case}/x"].astype(np.float64)[:1]
    r = np.random.default_rng(3).normal(size=CASES[case](tf.constant(x)).shape)
    gradcheck.check(lambda t: tf.reduce_sum(CASES[case](t) * r), x)


def test_depth_to_space_channel_order():
    # pixel (0, 0) holding channels 0..7 spreads over a 2x2 block of 2 channels:
    # offset (i, j) gets channels (i * 2 + j) * 2 + k
    x = tf.constant(np.arange(8, dtype=np.float32).reshape(1, 1, 1, 8))
    y = tf.nn.depth_to_space(x, 2).numpy()
    np.testing.assert_array_equal(y[0, :, :, 0], [[0, 2], [4, 6]])
    np.testing.assert_array_equal(y[0, :, :, 1], [[1, 3], [5, 7]])
    np.testing.assert_array_equal(tf.nn.space_to_depth(y, 2).numpy(), x.numpy())


def test_integer_input_keeps_its_dtype():
    x = tf.constant(np.arange(16, dtype=np.int32).reshape(1, 2, 2, 4))
    assert tf.nn.depth_to_space(x, 2).dtype == np.int32


@pytest.mark.parametrize("call, error", [
    (lambda: tf.nn.depth_to_space(tf.ones((1, 2, 2, 8)), 1), InvalidArgumentError),
    (lambda: tf.nn.depth_to_space(tf.ones((1, 2, 2, 8)), 3), InvalidArgumentError),
    (lambda: tf.nn.depth_to_space(tf.ones((2, 2, 8)), 2), InvalidArgumentError),
    (lambda: tf.nn.depth_to_space(tf.ones((1, 2, 2, 8)), 2.0), TypeError),
    (lambda: tf.nn.space_to_depth(tf.ones((1, 2, 3, 1)), 2), InvalidArgumentError),
    (lambda: tf.nn.depth_to_space(tf.ones((1, 2, 2, 8)), 2, "NCHW"), NotImplementedError),
    (lambda: tf.nn.lrn(tf.ones((2, 3, 5))), InvalidArgumentError),
    (lambda: tf.nn.lrn(tf.ones((1, 2, 2, 3)), depth_radius=-1), InvalidArgumentError),
    (lambda: tf.nn.lrn(tf.constant(np.ones((1, 2, 2, 3), np.int32))), InvalidArgumentError),
    (lambda: tf.nn.l2_loss(tf.constant([1, 2, 3])), InvalidArgumentError),
])
def test_bad_input_is_refused(call, error):
    with pytest.raises(error):
        call()


def _espcn(keras, spatial):
    upscale = 2
    inputs = keras.Input(shape=(*spatial, 1))
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    h = keras.layers.Conv2D(upscale ** 2, 3, padding="same")(h)
    return keras.Model(inputs, tf.nn.depth_to_space(h, upscale))


def test_depth_to_space_on_unknown_sizes_keras_tensor():
    from convnp import keras

    model = _espcn(keras, (None, None))
    assert model.output_shape == (None, None, None, 1)
    x = np.random.default_rng(0).uniform(size=(2, 3, 7, 1)).astype(np.float32)
    assert model.predict(x, verbose=0).shape == (2, 6, 14, 1)


def test_espcn_style_model_with_depth_to_space_trains_and_saves(tmp_path):
    from convnp import keras

    model = _espcn(keras, (None, None))  # as keras.io's ESPCN: any image size
    x = np.random.default_rng(0).uniform(size=(4, 6, 5, 1)).astype(np.float32)
    y = np.random.default_rng(1).uniform(size=(4, 12, 10, 1)).astype(np.float32)
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, y, epochs=2, batch_size=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    pred = model.predict(x, verbose=0)
    assert pred.shape == (4, 12, 10, 1)
    path = tmp_path / "espcn.convnp"
    model.save(path)
    again = keras.models.load_model(path)
    np.testing.assert_allclose(again.predict(x, verbose=0), pred, rtol=1e-6)


def test_space_to_depth_on_a_known_size_keras_tensor():
    from convnp import keras

    inputs = keras.Input(shape=(4, 6, 3))
    model = keras.Model(inputs, tf.nn.space_to_depth(inputs, 2))
    assert model.output_shape == (None, 2, 3, 12)
    x = np.random.default_rng(0).normal(size=(2, 4, 6, 3)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(x, verbose=0),
                                  tf.nn.space_to_depth(x, 2).numpy())
