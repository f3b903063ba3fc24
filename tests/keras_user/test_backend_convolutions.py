"""Keras 2's ``tf.keras.backend`` convolutions, pools, batch normalization and dtype helpers
(``K.conv2d``, ``K.pool2d``, ``K.standardize_dtype``...): values against plain NumPy loops,
and TensorFlow 2.21's answers (read off the same calls there) where they are facts."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

K = tf.keras.backend
RNG = np.random.default_rng(7)


def _correlate(x, k, stride=1, dilation=1):
    """'valid' N-D cross-correlation of ``x`` (batch, *spatial, in) with ``k``
    (*window, in, out), by loops over output positions."""
    window = k.shape[:-2]
    span = [(f - 1) * dilation + 1 for f in window]
    out_dims = [(n - s) // stride + 1 for n, s in zip(x.shape[1:-1], span)]
    out = np.zeros((x.shape[0], *out_dims, k.shape[-1]))
    for pos in np.ndindex(*out_dims):
        cells = tuple(slice(p * stride, p * stride + s, dilation) for p, s in zip(pos, span))
        patch = x[(slice(None), *cells)]
        summed = list(range(k.ndim - 1))  # the window's axes and the input channels
        out[(slice(None), *pos)] = np.tensordot(patch, k, axes=([a + 1 for a in summed], summed))
    return out


def _same_pad(x, window):
    pads = [(0, 0)] + [((f - 1) // 2, f - 1 - (f - 1) // 2) for f in window] + [(0, 0)]
    return np.pad(x, pads)


def test_conv2d_same_valid_strided_dilated_against_loops():
    x = RNG.standard_normal((2, 6, 7, 3))
    k = RNG.standard_normal((3, 3, 3, 4))
    np.testing.assert_allclose(np.asarray(K.conv2d(x, k)), _correlate(x, k), atol=1e-10)
    np.testing.assert_allclose(np.asarray(K.conv2d(x, k, padding="same")),
                               _correlate(_same_pad(x, (3, 3)), k), atol=1e-10)
    np.testing.assert_allclose(np.asarray(K.conv2d(x, k, strides=(2, 2))),
                               _correlate(x, k, stride=2), atol=1e-10)
    np.testing.assert_allclose(np.asarray(K.conv2d(x, k, dilation_rate=(2, 2))),
                               _correlate(x, k, dilation=2), atol=1e-10)


def test_channels_first_is_the_channels_last_result_turned():
    x = RNG.standard_normal((2, 5, 6, 3)).astype(np.float32)
    k = RNG.standard_normal((3, 3, 3, 4)).astype(np.float32)
    last = np.asarray(K.conv2d(x, k, padding="same"))
    first = np.asarray(K.conv2d(np.transpose(x, (0, 3, 1, 2)), k, padding="same",
                                data_format="channels_first"))
    assert first.shape == (2, 4, 5, 6)  # TF 2.21
    np.testing.assert_allclose(np.transpose(first, (0, 2, 3, 1)), last, rtol=1e-5)
    pooled = np.asarray(K.pool2d(np.transpose(x, (0, 3, 1, 2)), (2, 2), strides=(2, 2),
                                 data_format="channels_first"))
    np.testing.assert_allclose(np.transpose(pooled, (0, 2, 3, 1)),
                               np.asarray(K.pool2d(x, (2, 2), strides=(2, 2))))


def test_conv1d_causal_pads_the_past_only():
    x = RNG.standard_normal((2, 7, 3))
    k = RNG.standard_normal((3, 3, 4))
    for rate in (1, 2):
        padded = np.pad(x, ((0, 0), (rate * 2, 0), (0, 0)))
        expected = _correlate(padded, k, dilation=rate)
        got = np.asarray(K.conv1d(x, k, padding="causal", dilation_rate=rate))
        assert got.shape == (2, 7, 4)
        np.testing.assert_allclose(got, expected, atol=1e-10)
    assert K.conv1d(x, k, strides=2, padding="same").shape == (2, 4, 4)


def test_conv3d_against_loops():
    x = RNG.standard_normal((1, 4, 5, 6, 2))
    k = RNG.standard_normal((2, 2, 2, 2, 3))
    got = np.asarray(K.conv3d(x, k))
    assert got.shape == (1, 3, 4, 5, 3)
    np.testing.assert_allclose(got, _correlate(x, k), atol=1e-10)


def test_conv2d_transpose_is_the_adjoint_of_conv2d_and_takes_a_none_batch():
    x = RNG.standard_normal((2, 5, 6, 3))
    k = RNG.standard_normal((3, 3, 4, 3))  # (h, w, out, in)
    y = np.asarray(K.conv2d_transpose(x, k, (2, 10, 12, 4), strides=(2, 2), padding="same"))
    assert y.shape == (2, 10, 12, 4)
    # <conv2d_transpose(x), v> == <x, conv2d(v)> with the kernel read as (h, w, out->in)
    v = RNG.standard_normal(y.shape)
    back = np.asarray(K.conv2d(v, k, strides=(2, 2), padding="same"))
    assert np.sum(y * v) == pytest.approx(np.sum(x * back), rel=1e-9)
    assert K.conv2d_transpose(x, k, (None, 11, 13, 4), strides=(2, 2)).shape == (2, 11, 13, 4)


def test_depthwise_and_separable_against_loops():
    x = RNG.standard_normal((2, 5, 6, 3))
    kd = RNG.standard_normal((3, 3, 3, 2))
    kp = RNG.standard_normal((1, 1, 6, 5))
    expected = np.zeros((2, 3, 4, 6))
    for c in range(3):
        expected[..., 2 * c:2 * c + 2] = _correlate(x[..., c:c + 1], kd[:, :, c:c + 1, :])
    np.testing.assert_allclose(np.asarray(K.depthwise_conv2d(x, kd)), expected, atol=1e-10)
    separable = np.asarray(K.separable_conv2d(x, kd, kp))
    np.testing.assert_allclose(separable, expected @ kp[0, 0], atol=1e-10)
    assert K.separable_conv2d(x, kd, kp, padding="same").shape == (2, 5, 6, 5)  # TF 2.21


def test_pools_and_their_modes():
    x = RNG.standard_normal((2, 4, 6, 3))
    windows = x.reshape(2, 2, 2, 3, 2, 3)
    np.testing.assert_allclose(np.asarray(K.pool2d(x, (2, 2), strides=(2, 2))),
                               windows.max(axis=(2, 4)))
    np.testing.assert_allclose(np.asarray(K.pool2d(x, (2, 2), strides=(2, 2),
                                                   pool_mode="avg")), windows.mean(axis=(2, 4)))
    volume = RNG.standard_normal((1, 4, 4, 6, 2))
    assert K.pool3d(volume, (2, 2, 2), strides=(2, 2, 2), pool_mode="avg").shape == (
        1, 2, 2, 3, 2)
    with pytest.raises(ValueError, match="pooling mode"):
        K.pool2d(x, (2, 2), pool_mode="min")
    with pytest.raises(ValueError, match="padding"):
        K.conv2d(x, np.ones((1, 1, 3, 1)), padding="full")
    with pytest.raises(ValueError, match="data_format"):
        K.conv2d(x, np.ones((1, 1, 3, 1)), data_format="NHWC")


def test_batch_normalization_formula_and_axis():
    x = RNG.standard_normal((2, 3, 4, 5))
    mean, var = RNG.standard_normal(5), RNG.random(5)
    beta, gamma = RNG.standard_normal(5), RNG.standard_normal(5)
    expected = (x - mean) / np.sqrt(var + 1e-3) * gamma + beta
    np.testing.assert_allclose(np.asarray(K.batch_normalization(x, mean, var, beta, gamma)),
                               expected, rtol=1e-10)
    np.testing.assert_allclose(np.asarray(K.batch_normalization(x, mean, var, None, None,
                                                                epsilon=0.1)),
                               (x - mean) / np.sqrt(var + 0.1), rtol=1e-10)
    # one value per channel of channels-first data, laid along axis 1
    first = np.transpose(x, (0, 3, 1, 2))
    got = np.asarray(K.batch_normalization(first, mean, var, beta, gamma, axis=1))
    np.testing.assert_allclose(got, np.transpose(expected, (0, 3, 1, 2)), rtol=1e-10)


def test_small_helpers_as_tensorflow():
    a = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    np.testing.assert_array_equal(np.asarray(K.cumprod(a)), [[1, 2], [3, 8]])
    np.testing.assert_array_equal(np.asarray(K.cumprod(a, axis=1)), [[1, 2], [3, 12]])
    v = K.random_normal_variable((200, 300), 1.0, 2.0, seed=3)
    assert isinstance(v, tf.Variable) and v.shape == (200, 300) and v.dtype == np.float32
    values = np.asarray(v)
    assert abs(values.mean() - 1.0) < 0.05 and abs(values.std() - 2.0) < 0.05
    u = np.asarray(K.random_uniform_variable((100, 100), -1.0, 3.0, dtype="float64", seed=3))
    assert u.dtype == np.float64 and u.min() >= -1.0 and u.max() < 3.0
    volume = RNG.standard_normal((1, 2, 2, 3, 2))
    resized = np.asarray(K.resize_volumes(volume, 2, 1, 3, "channels_last"))
    np.testing.assert_array_equal(resized, np.repeat(np.repeat(volume, 2, axis=1), 3, axis=3))
    with pytest.raises(ValueError, match="data_format"):
        K.resize_volumes(volume, 2, 1, 3, None)
    padded = np.asarray(K.spatial_3d_padding(volume, ((0, 1), (2, 0), (1, 1))))
    assert padded.shape == (1, 3, 4, 5, 2)
    np.testing.assert_array_equal(padded[:, :2, 2:, 1:4], volume)
    assert padded.sum() == pytest.approx(volume.sum())
    t = tf.constant([1.0])
    assert K.is_sparse(t) is False and K.to_dense(t) is t
    with pytest.raises(RuntimeError, match="GradientTape"):
        K.gradients(t, [tf.Variable(1.0)])
    with K.name_scope("block"):
        assert float(np.asarray(tf.constant(1.0) + 1)) == 2.0


def test_get_uid_shares_the_automatic_name_counter():
    K.clear_session()
    assert tf.keras.layers.Dense(1).name == "dense"
    assert K.get_uid("dense") == 2
    assert tf.keras.layers.Dense(1).name == "dense_2"  # TF 2.21: ('dense', 2, 'dense_2')
    assert (K.get_uid("foo"), K.get_uid("foo"), K.get_uid("bar")) == (1, 2, 1)
    K.clear_session()


# TF 2.21's answers: (dtype, standardize_dtype, is_float_dtype, is_int_dtype)
DTYPES = [("float32", "float32", True, False), ("float64", "float64", True, False),
          (float, "float32", True, False), (int, "int64", False, True),
          (bool, "bool", False, False), ("int32", "int32", False, True),
          (np.float32, "float32", True, False), ("bfloat16", "bfloat16", True, False),
          (None, "float32", True, False), ("string", "string", False, False),
          ("uint8", "uint8", False, True)]


@pytest.mark.parametrize("dtype, name, is_float, is_int", DTYPES)
def test_dtype_helpers_as_tensorflow(dtype, name, is_float, is_int):
    assert K.standardize_dtype(dtype) == name
    assert K.is_float_dtype(dtype) is is_float
    assert K.is_int_dtype(dtype) is is_int


@pytest.mark.parametrize("dtypes, result", [
    (("int32", "float32"), "float32"), (("int8", "uint8"), "int16"),
    (("int64", "float32"), "float32"), (("float16", "bfloat16"), "float32"),
    ((int, "float16"), "float16"), ((float, "int32"), "float32"), (("bool", "int8"), "int8"),
    (("uint64", "int64"), "float32"), ((int,), "int32"), ((float,), "float32"),
    ((bool,), "bool"), ((int, float), "float32"), (("uint8", "int8", "float16"), "float16"),
    ((), "float32"), (("string",), "string")])
def test_result_type_as_tensorflow(dtypes, result):
    assert K.result_type(*dtypes) == result


def test_result_type_refuses_mixing_strings_and_numbers():
    with pytest.raises(ValueError, match="string"):
        K.result_type("string", "float32")
    with pytest.raises(ValueError, match="Invalid dtype"):
        K.standardize_dtype("float17")


def test_convolutions_record_on_tapes_and_build_layers():
    x = tf.Variable(RNG.standard_normal((1, 4, 4, 3)).astype(np.float32))
    k = tf.Variable(RNG.standard_normal((3, 3, 3, 2)).astype(np.float32))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(K.conv2d(x, k))
    dx, dk = tape.gradient(loss, [x, k])
    # d/dk of the sum of a 'valid' conv: the sum of the 2x2 positions' patches, per filter
    patches = sum(np.asarray(x)[0, i:i + 3, j:j + 3] for i in range(2) for j in range(2))
    np.testing.assert_allclose(np.asarray(dk), np.repeat(patches[..., None], 2, -1), rtol=1e-5)
    assert dx.shape == (1, 4, 4, 3)
    inputs = tf.keras.Input((5, 6, 3))
    y = K.pool2d(K.conv2d(inputs, np.ones((3, 3, 3, 4), np.float32), padding="same"), (2, 2),
                 strides=(2, 2))
    model = tf.keras.Model(inputs, y)
    assert model.output_shape == (None, 2, 3, 4)
    assert model.predict(np.ones((2, 5, 6, 3), np.float32), verbose=0).shape == (2, 2, 3, 4)


@pytest.mark.parametrize("call", [
    lambda: K.conv2d(np.ones((5, 6, 3)), np.ones((3, 3, 3, 2))),
    lambda: K.conv1d(np.ones((5, 6, 3, 1)), np.ones((3, 3, 2))),
    lambda: K.conv3d(np.ones((2, 5, 6, 3)), np.ones((1, 1, 1, 3, 2))),
    lambda: K.pool2d(np.ones((5, 6, 3)), (2, 2)),
    lambda: K.depthwise_conv2d(np.ones((5, 6, 3)), np.ones((3, 3, 3, 1))),
    lambda: K.resize_volumes(np.ones((2, 5, 6, 3)), 2, 2, 2, "channels_last")])
def test_inputs_of_the_wrong_rank_are_refused_by_name(call):
    with pytest.raises(ValueError, match="expected inputs of rank"):
        call()


def test_batch_normalization_axis_checks():
    x = np.ones((2, 3, 4, 5))
    with pytest.raises(TypeError, match="axis must be an int"):
        K.batch_normalization(x, np.zeros(5), np.ones(5), None, None, axis="a")
    with pytest.raises(ValueError, match="axis must be in"):
        K.batch_normalization(x, np.zeros(5), np.ones(5), None, None, axis=4)
