"""tf.gather and tf.gather_nd with ``batch_dims`` (keras.io's masked autoencoder picks each image's own
patches with ``tf.gather(x, idx, axis=1, batch_dims=1)``; refused before): values and
gradients as TensorFlow 2.21 (tests/fixtures/make_gather_batch_dims.py), and bad arguments
refused as TensorFlow refuses them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import convnp as tf

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "gather_batch_dims.npz"


@pytest.mark.parametrize("case", range(5))
def test_values_and_gradients_match_tensorflow(case):
    data = np.load(FIXTURE)
    axis, batch_dims = (int(v) for v in data[f"args_{case}"])
    params = tf.Variable(data[f"params_{case}"])
    with tf.GradientTape() as tape:
        out = tf.gather(params, data[f"indices_{case}"], axis=axis, batch_dims=batch_dims)
        loss = tf.reduce_sum(out * data[f"weights_{case}"])
    np.testing.assert_array_equal(out.numpy(), data[f"out_{case}"])
    np.testing.assert_allclose(tape.gradient(loss, params).numpy(), data[f"grad_{case}"],
                               rtol=1e-6, atol=1e-6)


def test_axis_defaults_to_the_first_axis_after_the_batch_axes():
    params = np.arange(24.0).reshape(2, 3, 4)
    picked = tf.gather(params, [[2, 0], [1, 1]], batch_dims=1)
    np.testing.assert_array_equal(picked.numpy(), np.stack([params[0][[2, 0]],
                                                            params[1][[1, 1]]]))


def test_bad_batch_arguments_are_refused():
    params = np.zeros((2, 3, 4), np.float32)
    with pytest.raises(tf.errors.InvalidArgumentError, match="less than or equal to axis"):
        tf.gather(params, np.zeros((2, 3), np.int32), axis=1, batch_dims=2)
    with pytest.raises(tf.errors.InvalidArgumentError, match="share their first"):
        tf.gather(params, np.zeros((3, 2), np.int32), axis=1, batch_dims=1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="not in"):
        tf.gather(params, [[0, 3], [1, 1]], axis=1, batch_dims=1)
    with pytest.raises(TypeError, match="batch_dims must be an int"):
        tf.gather(params, [[0, 1], [1, 1]], axis=1, batch_dims=1.0)


@pytest.mark.parametrize("case", range(4))
def test_gather_nd_values_and_gradients_match_tensorflow(case):
    data = np.load(FIXTURE)
    params = tf.Variable(data[f"nd_params_{case}"])
    with tf.GradientTape() as tape:
        out = tf.gather_nd(params, data[f"nd_indices_{case}"],
                           batch_dims=int(data[f"nd_batch_dims_{case}"]))
        loss = tf.reduce_sum(out * data[f"nd_weights_{case}"])
    np.testing.assert_array_equal(out.numpy(), data[f"nd_out_{case}"])
    np.testing.assert_allclose(tape.gradient(loss, params).numpy(), data[f"nd_grad_{case}"],
                               rtol=1e-6, atol=1e-6)


def test_gather_nd_bad_batch_arguments_are_refused():
    params = np.zeros((2, 3, 4), np.float32)
    with pytest.raises(ValueError, match="not be negative"):
        tf.gather_nd(params, np.zeros((2, 1, 1), np.int32), batch_dims=-1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="less than the rank"):
        tf.gather_nd(params, np.zeros((2,), np.int32), batch_dims=1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="does not index"):
        tf.gather_nd(params, [[[3]], [[0]]], batch_dims=1)
