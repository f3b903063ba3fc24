"""The tape's quicker elementwise paths keep TensorFlow's numbers: whole powers 3 and 4 as
products, a binary ufunc's gradient only for the operands a tape follows (``x ** 3`` takes
no log of x for its constant exponent), and the branch-free selections of relu / where /
clip_by_value (NaN and infinite upstream gradients stay out of the unselected places, as
TensorFlow's select does)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import convnp as tf
from convnp.tensor import tape as tape_module


@pytest.mark.parametrize("power", [3, 4, 3.0, 2, 5])
def test_whole_powers_values_dtype_and_gradient(power):
    rng = np.random.default_rng(int(power * 10))
    a = rng.standard_normal((50, 40)).astype(np.float32)
    a[0, :3] = [0.0, -0.0, -2.5]
    x = tf.Variable(a)
    with tf.GradientTape() as tape:
        y = x ** power
        loss = tf.reduce_sum(y * tf.constant(np.arange(2000.0, dtype=np.float32).reshape(50, 40)))
    grad = tape.gradient(loss, x)
    assert y.dtype == np.float32 and grad.dtype == np.float32
    wide = a.astype(np.float64)
    np.testing.assert_allclose(y.numpy(), wide ** power, rtol=5e-7, atol=1e-30)
    want = power * wide ** (power - 1) * np.arange(2000.0).reshape(50, 40)
    np.testing.assert_allclose(grad.numpy(), want, rtol=2e-6, atol=1e-3)


def test_power_keeps_the_tensor_dtype():
    a = tf.constant(np.array([1.5, -2.0], np.float32))
    assert (a ** np.float64(3)).dtype == np.float32  # the number takes the tensor's dtype
    assert (a ** 3).dtype == np.float32
    np.testing.assert_array_equal((a ** 4).numpy(), [5.0625, 16.0])
    assert (tf.constant([2, 3]) ** 3).numpy().tolist() == [8, 27]


def test_constant_exponent_takes_no_log_and_a_tensor_exponent_does(monkeypatch):
    calls = []
    real = tape_module._safe_log
    monkeypatch.setattr(tape_module, "_safe_log", lambda v: calls.append(1) or real(v))
    x = tf.Variable([-1.0, 0.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(x ** 3)
        np.testing.assert_allclose(tape.gradient(loss, x).numpy(), [3.0, 0.0, 12.0])
    assert calls == []
    e = tf.Variable([1.0, 2.0, 3.0])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.constant([2.0, 2.0, 2.0]) ** e)
    np.testing.assert_allclose(tape.gradient(loss, e).numpy(), np.log(2) * 2.0 ** np.arange(1, 4),
                               rtol=1e-6)
    assert calls == [1]


def test_constant_operands_get_no_gradient_but_tensors_both_do():
    a, b = tf.Variable([1.0, 2.0]), tf.Variable([3.0, 5.0])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(a / b + a * np.array([2.0, 2.0], np.float32) - 1.0 / b)
    ga, gb = tape.gradient(loss, [a, b])
    np.testing.assert_allclose(ga.numpy(), 1 / np.array([3.0, 5.0]) + 2, rtol=1e-6)
    np.testing.assert_allclose(gb.numpy(), -np.array([1.0, 2.0]) / np.array([9.0, 25.0])
                               + 1 / np.array([9.0, 25.0]), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("op", ["relu", "where", "clip", "relu6"])
def test_selected_gradients_keep_nan_out_of_unselected_places(op):
    """An infinite or NaN upstream gradient where the selection is off gives 0 there (a
    select, as TensorFlow's ReluGrad and where's gradient), and the values pass through."""
    x = tf.Variable(np.array([-1.0, 2.0, -3.0, 4.0, 0.0], np.float32))
    upstream = tf.constant(np.array([np.nan, 1.0, np.inf, -2.0, np.nan], np.float32))
    fns = {"relu": tf.nn.relu, "relu6": tf.nn.relu6,
           "where": lambda v: tf.where(v > 0, v, tf.zeros_like(v)),
           "clip": lambda v: tf.clip_by_value(v, 0.5, 10.0)}
    with tf.GradientTape() as tape:
        y = fns[op](x)
    grad = tape.gradient(y, x, output_gradients=upstream).numpy()
    np.testing.assert_array_equal(grad, [0.0, 1.0, 0.0, -2.0, 0.0])
    assert grad.dtype == np.float32


def test_where_both_branches_and_broadcast_gradients():
    cond = tf.constant([[True, False, True]])
    a = tf.Variable(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], np.float32))
    b = tf.Variable(np.array([10.0, 20.0, 30.0], np.float32))
    with tf.GradientTape() as tape:
        y = tf.where(cond, a, b)
        loss = tf.reduce_sum(y * tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    np.testing.assert_array_equal(y.numpy(), [[1, 20, 3], [4, 20, 6]])
    ga, gb = tape.gradient(loss, [a, b])
    np.testing.assert_array_equal(ga.numpy(), [[1, 0, 3], [4, 0, 6]])
    np.testing.assert_array_equal(gb.numpy(), [0, 7, 0])


def test_erf_in_float64_by_the_series_rounds_float32_exactly():
    """tf.math.erf (convnp._special.erf in float64, no longer math.erf a number at a time):
    float32 results are math.erf rounded to float32 on a grid, float64 within 1e-13, the
    special values keep their sign, and a 0-d tensor works."""
    import math

    x = np.concatenate([np.linspace(-6, 6, 24001), [1e-30, -1e-30, 0.4999999, 0.5, 30.0]])
    want = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(tf.math.erf(tf.constant(x)).numpy(), want, rtol=1e-13,
                               atol=1e-300)
    x32 = x.astype(np.float32)
    want32 = np.array([math.erf(float(v)) for v in x32]).astype(np.float32)
    np.testing.assert_array_equal(tf.math.erf(tf.constant(x32)).numpy(), want32)
    special = tf.math.erf(tf.constant(np.array([0.0, -0.0, np.inf, -np.inf, np.nan]))).numpy()
    np.testing.assert_array_equal(special[:4], [0.0, -0.0, 1.0, -1.0])
    assert np.signbit(special[1]) and np.isnan(special[4])
    assert tf.math.erf(tf.constant(0.5)).numpy() == np.float32(math.erf(0.5))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_softplus_on_their_block_kernels(dtype):
    """tf.sigmoid (the activations' blockwise kernel) and tf.nn.softplus (max(x, 0) +
    log1p(exp(-|x|)) instead of np.logaddexp): values against float64 formulas across the
    range, the limits, NaN, and their gradients."""
    x = np.concatenate([np.linspace(-60, 60, 4001), [-1e4, 1e4, -np.inf, np.inf]])
    wide = x.astype(dtype).astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        want_sigmoid = np.where(wide >= 0, 1 / (1 + np.exp(-wide)), np.exp(wide) / (1 + np.exp(wide)))
    want_softplus = np.logaddexp(0, wide)
    t = tf.Variable(x.astype(dtype))
    with tf.GradientTape(persistent=True) as tape:
        s = tf.sigmoid(t)
        p = tf.nn.softplus(t)
    rtol = 1e-6 if dtype == np.float32 else 1e-13
    assert s.dtype == dtype and p.dtype == dtype
    np.testing.assert_allclose(s.numpy(), want_sigmoid, rtol=rtol, atol=1e-300)
    np.testing.assert_allclose(p.numpy(), want_softplus, rtol=rtol, atol=1e-300)
    np.testing.assert_allclose(tape.gradient(s, t).numpy(), want_sigmoid * (1 - want_sigmoid),
                               rtol=rtol * 10, atol=1e-7 if dtype == np.float32 else 1e-15)
    np.testing.assert_allclose(tape.gradient(p, t).numpy(), want_sigmoid, rtol=rtol * 10,
                               atol=1e-30)
    assert np.isnan(tf.sigmoid(tf.constant([np.nan])).numpy()[0])
    assert np.isnan(tf.nn.softplus(tf.constant([np.nan])).numpy()[0])


def test_sigmoid_of_integers_is_float32():
    out = tf.sigmoid(tf.constant([0, 2]))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), [0.5, 1 / (1 + np.exp(-2))], rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_along_the_last_axis_by_row_blocks(dtype, monkeypatch):
    """tf.nn.softmax over the last axis runs `ops.last_axis.softmax_rows` (row sums as
    matrix-vector products, blocks of rows on all cores): values and the tape's gradient
    against the float64 formula, big logits without overflow, other axes unchanged."""
    from convnp.ops import last_axis

    monkeypatch.setattr(last_axis, "BLOCK_NUMBERS", 40)
    monkeypatch.setattr(last_axis, "MIN_SHARED_ROWS", 4)
    rng = np.random.default_rng(12)
    a = (rng.standard_normal((3, 4, 9, 7)) * 5).astype(dtype)
    a[0, 0, 0] = [1000.0, 999.0, -1000.0, 0.0, 0.0, 0.0, 0.0]
    wide = a.astype(np.float64)
    e = np.exp(wide - wide.max(axis=-1, keepdims=True))
    want = e / e.sum(axis=-1, keepdims=True)
    g = rng.standard_normal(a.shape)
    want_grad = want * (g - (g * want).sum(axis=-1, keepdims=True))
    x = tf.Variable(a)
    with tf.GradientTape() as tape:
        out = tf.nn.softmax(x)
    grad = tape.gradient(out, x, output_gradients=tf.constant(g.astype(dtype)))
    rtol = 2e-6 if dtype == np.float32 else 1e-13
    assert out.dtype == dtype
    np.testing.assert_allclose(out.numpy(), want, rtol=rtol, atol=1e-7)
    np.testing.assert_allclose(grad.numpy(), want_grad, rtol=rtol * 10, atol=1e-6)
    other = tf.nn.softmax(tf.constant(a), axis=1).numpy()
    e1 = np.exp(wide - wide.max(axis=1, keepdims=True))
    np.testing.assert_allclose(other, e1 / e1.sum(axis=1, keepdims=True), rtol=rtol, atol=1e-7)
