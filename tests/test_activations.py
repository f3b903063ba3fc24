"""Activations: values, numerical gradient checks, saturation, lookup errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from convnp import activations
from tests.helpers import numerical_gradient, rel_error

NAMES = ["relu", "sigmoid", "softmax", "tanh", "linear", "softplus", "softsign", "elu", "selu",
         "silu", "leaky_relu", "relu6", "exponential", "mish", "log_softmax", "log_sigmoid",
         "hard_tanh", "celu"]


@pytest.mark.parametrize("name", NAMES)
def test_backward_matches_numerical_gradient(name):
    rng = np.random.default_rng(1)
    act = activations.get(name)
    x = rng.normal(size=(4, 5)) * 2
    # Keep away from kinks (relu at 0, relu6 at 0 and 6) where the derivative jumps.
    x[np.abs(x) < 1e-2] = 0.5
    x[np.abs(x - 6) < 1e-2] = 5.5
    x[np.abs(np.abs(x) - 1) < 1e-2] = 0.5  # hard_tanh's kinks at -1 and 1
    dy = rng.normal(size=x.shape)
    y = act.forward(x)
    dx = act.backward(dy, x, y)
    num = numerical_gradient(lambda: act.forward(x), x, dy)
    assert dx.shape == x.shape
    assert rel_error(dx, num) < 1e-6


@pytest.mark.parametrize("name", NAMES)
def test_float32_in_float32_out(name):
    act = activations.get(name)
    x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    y = act.forward(x)
    assert y.dtype == np.float32
    assert act.backward(np.ones_like(y), x, y).dtype == np.float32


def test_known_values():
    x = np.array([[-1.0, 0.0, 2.0]])
    np.testing.assert_allclose(activations.relu(x), [[0, 0, 2]])
    np.testing.assert_allclose(activations.sigmoid(np.array([0.0])), [0.5])
    np.testing.assert_allclose(activations.softmax(np.array([[1.0, 1.0]])), [[0.5, 0.5]])
    np.testing.assert_allclose(activations.softmax(x).sum(axis=-1), [1.0])
    np.testing.assert_allclose(activations.softmax(x, axis=0), np.ones_like(x))


def test_sigmoid_saturates_without_warnings():
    x = np.array([-1000.0, -100.0, 0.0, 100.0, 1000.0], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = activations.sigmoid(x)
        dx = activations.get("sigmoid").backward(np.ones_like(x), x, y)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dx))
    assert y[0] == 0.0 and y[-1] == 1.0 and y[2] == 0.5
    assert 0 < activations.sigmoid(np.array([-30.0]))[0] < 1e-12


def test_softmax_of_huge_logits_is_finite():
    x = np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1000.0, -1000.0]], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = activations.softmax(x)
        dx = activations.get("softmax").backward(np.ones_like(x), x, y)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dx))
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(y[1], 1 / 3, rtol=1e-6)


def test_softplus_large_inputs_finite():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = activations.softplus(np.array([-1000.0, 1000.0]))
    np.testing.assert_allclose(y, [0.0, 1000.0])


def test_get_resolution_and_serialize():
    assert activations.get(None).name == "linear"
    assert activations.get("ReLU").name == "relu"
    assert activations.get("swish").name == "silu"
    assert activations.get(activations.sigmoid).name == "sigmoid"
    relu = activations.get("relu")
    assert activations.get(relu) is relu
    assert activations.serialize(activations.softmax) == "softmax"
    assert activations.deserialize("tanh").name == "tanh"
    assert activations.deserialize({"class_name": "function", "config": "relu"}).name == "relu"


def test_unknown_name_lists_known():
    with pytest.raises(ValueError, match="relu"):
        activations.get("relux")
    with pytest.raises(TypeError):
        activations.get(3)


def test_a_users_function_is_differentiated_by_the_tape():
    import convnp as tf

    act = activations.get(lambda x: x * tf.sigmoid(x))
    assert act.differentiable is True
    x = np.array([-2.0, -0.5, 0.0, 1.5])
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(act.forward(x), x * s)
    dy = np.array([1.0, 2.0, -1.0, 0.5])
    np.testing.assert_allclose(act.backward(dy, x, act.forward(x)), dy * (s + x * s * (1 - s)))
    assert activations.get(lambda x: np.ones_like(x)).backward(dy, x, x).tolist() == [0] * 4


def test_users_activation_functions_train_with_the_right_gradients():
    import convnp as tf
    from tests.helpers import check_training_gradients

    tf.keras.utils.set_random_seed(2)
    inputs = tf.keras.Input((3,), dtype="float64")
    h = tf.keras.layers.Dense(4, dtype="float64", activation=tf.nn.gelu)(inputs)
    h = tf.keras.layers.Dense(4, dtype="float64", activation=tf.keras.ops.silu)(h)
    out = tf.keras.layers.Dense(2, dtype="float64", activation=lambda t: t * tf.tanh(t))(h)
    model = tf.keras.Model(inputs, out)
    model.compile(tf.keras.optimizers.SGD(0.1), "mse")
    rng = np.random.default_rng(0)
    assert check_training_gradients(model, rng.standard_normal((5, 3)),
                                    rng.standard_normal((5, 2)), atol=1e-7) == 6


def test_activation_objects_have_keras_function_names():
    # Course graders compare `layer.activation.__name__` with 'sigmoid', 'linear', ...
    import convnp as tf

    assert tf.keras.layers.Dense(1, activation="sigmoid").activation.__name__ == "sigmoid"
    assert tf.keras.layers.Dense(1).activation.__name__ == "linear"


def test_normal_cdf_and_erf_match_math_erf_over_the_real_line():
    """GELU's Phi and keras.ops.erf come from a Chebyshev series fitted to math.erfc
    (convnp._special; math.erf one value at a time was GELU's whole cost): within 1e-13 in
    float64 and a few float32 rounding steps in float32, everywhere, with the infinities."""
    import math

    from convnp import _special

    xs = np.concatenate([np.linspace(-40, 40, 20001), [0.0, 1e-300, -1e-8, 0.4999, 0.5]])
    for dtype, tolerance in ((np.float64, 1e-13), (np.float32, 4e-7)):
        x = xs.astype(dtype)
        cdf, erf = _special.normal_cdf(x), _special.erf(x)
        assert cdf.dtype == dtype and erf.dtype == dtype
        want_cdf = np.array([0.5 * math.erfc(-float(v) / math.sqrt(2)) for v in x])
        want_erf = np.array([math.erf(float(v)) for v in x])
        assert np.abs(cdf - want_cdf).max() < tolerance
        assert np.abs(erf - want_erf).max() < tolerance
    small = np.array([1e-300, 1e-8, -1e-3, 0.2, 0.49])  # relative accuracy near 0
    np.testing.assert_allclose(_special.erf(small), [math.erf(v) for v in small], rtol=1e-15)
    assert _special.erf(np.array([0.0]))[0] == 0.0
    np.testing.assert_array_equal(_special.normal_cdf(np.array([np.inf, -np.inf])), [1.0, 0.0])
    assert np.isnan(_special.erf(np.array([np.nan]))[0])


def test_gelu_and_its_gradient_match_math_erfc_in_both_float_dtypes():
    """GELU as ``max(x, 0) - |x| h`` (convnp._special.gelu) and its backward from the forward
    output: values against math.erfc, zeros and infinities, and the same numbers whether an
    array is split between threads or not (each value goes through the same passes)."""
    import math

    from convnp import _special

    rng = np.random.default_rng(3)
    special_values = [0.0, -0.0, np.inf, -1e-30, 1e-30, 40.0, -40.0]
    for dtype, tolerance in ((np.float64, 1e-13), (np.float32, 5e-7)):
        x = np.concatenate([special_values, rng.standard_normal(200_000) * 3]).astype(dtype)
        y = _special.gelu(x)
        assert y.dtype == dtype
        want = np.array([v * 0.5 * math.erfc(-v / math.sqrt(2)) if math.isfinite(v) else v
                         for v in x.astype(float)])
        np.testing.assert_allclose(y, want, rtol=tolerance * 4, atol=tolerance)
        assert y[0] == 0 and y[2] == np.inf
        left = (x < -1) & (x > -8)  # the small negative outputs keep their relative accuracy
        np.testing.assert_allclose(y[left], want[left], rtol=1e-4 if dtype == np.float32 else 1e-10)
        # split between threads (more than 2 * _SPLIT values) or not: the same numbers
        parts = np.concatenate([_special.gelu(x[i:i + 1000]) for i in range(0, x.size, 1000)])
        np.testing.assert_array_equal(y, parts)

        dy = rng.standard_normal(x.size).astype(dtype)
        grad = _special.gelu_gradient(dy, x, y)
        slope = np.array([0.5 * math.erfc(-v / math.sqrt(2))
                          + v * math.exp(-v * v / 2) / math.sqrt(2 * math.pi)
                          for v in x[3:].astype(float)])
        np.testing.assert_allclose(grad[3:], dy[3:] * slope, rtol=tolerance * 4,
                                   atol=tolerance * 2)
        assert grad[0] == dy[0] * dtype(0.5) and grad[1] == dy[1] * dtype(0.5)  # x = 0


def test_float32_gelu_polynomial_meets_the_series_at_its_edge(monkeypatch):
    """float32 GELU takes a polynomial for |x| <= 3 and the series beyond, gathered from all
    blocks at once (convnp._special._gelu_near): each value lands at its own index, both
    sides of the edge agree with math.erfc, and NaN stays NaN."""
    import math

    from convnp import _special
    from convnp.ops import elementwise

    monkeypatch.setattr(elementwise, "BLOCK", 1 << 16)  # several blocks a thread
    edge = np.float32(_special._NEAR)
    near_edge = [np.nextafter(edge, np.float32(0)), edge, np.nextafter(edge, np.float32(9))]
    rng = np.random.default_rng(8)
    x = rng.standard_normal(300_000).astype(np.float32) * np.float32(0.5)  # few far values
    far_at = np.array([0, 65_535, 65_536, 131_071, 299_999])  # block edges, both threads
    x[far_at] = [-7.5, 4.0, -3.25, 12.0, -5.0]
    x[10:13] = near_edge
    x[20:23] = np.negative(near_edge)
    x[30] = np.nan
    y = _special.gelu(x)
    assert np.isnan(y[30]) and np.isnan(y).sum() == 1
    check = np.r_[far_at, 10, 11, 12, 20, 21, 22, rng.integers(0, x.size, 2000)]
    want = np.array([float(v) * 0.5 * math.erfc(-float(v) / math.sqrt(2)) for v in x[check]])
    np.testing.assert_allclose(y[check], want, rtol=2e-6, atol=5e-7)
    np.testing.assert_allclose(y[far_at], want[:far_at.size], rtol=1e-5)  # left tail too


def test_huge_finite_inputs_give_the_limits_without_a_warning():
    """Squares of values beyond 1.8e19 overflow float32 on the way (exp(-inf) is the 0
    wanted): GELU, Phi and erf give their limits and raise no RuntimeWarning."""
    import warnings

    from convnp import _special

    for dtype in (np.float32, np.float64):
        big = np.finfo(dtype).max / 2
        x = np.array([big, -big, 1e20, -1e20], dtype=dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            gelu = _special.gelu(x)
            cdf = _special.normal_cdf(x)
            erf = _special.erf(x)
        np.testing.assert_array_equal(gelu, np.array([big, 0, 1e20, 0], dtype=dtype))
        np.testing.assert_array_equal(cdf, [1, 0, 1, 0])
        np.testing.assert_array_equal(erf, [1, -1, 1, -1])


def test_gelu_layer_gradient_is_checked_numerically():
    import convnp as tf
    from tests.helpers import check_training_gradients

    tf.keras.utils.set_random_seed(5)
    inputs = tf.keras.Input((6,), dtype="float64")
    h = tf.keras.layers.Dense(8, dtype="float64")(inputs)
    h = tf.keras.layers.Activation("gelu", dtype="float64")(h)
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(2, dtype="float64")(h))
    model.compile(tf.keras.optimizers.SGD(0.1), "mse")
    rng = np.random.default_rng(1)
    assert check_training_gradients(model, rng.standard_normal((7, 6)),
                                    rng.standard_normal((7, 2)), atol=1e-7) == 4


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_silu_and_tanh_keep_their_accuracy_on_big_arrays(dtype):
    """sigmoid, silu (swish) and tanh run block by block on all cores
    (`convnp.ops.elementwise.blockwise`); silu's backward takes sigmoid as y / x from the
    forward output. Against float64 NumPy, tails included."""
    rng = np.random.default_rng(6)
    x = np.concatenate([[0.0, -0.0, 90.0, -90.0, -1e4, 1e4, np.inf, -np.inf],
                        rng.standard_normal(150_000) * 6]).astype(dtype)
    x64 = x.astype(np.float64)
    with np.errstate(over="ignore"):
        want = 1 / (1 + np.exp(-x64))
    eps = np.finfo(dtype).eps
    got = activations.sigmoid(x)
    assert got.dtype == dtype
    tiny = np.finfo(dtype).tiny  # relative down to the subnormals
    np.testing.assert_allclose(got, want, rtol=4 * eps, atol=tiny)
    np.testing.assert_allclose(activations.tanh(x), np.tanh(x64), rtol=4 * eps, atol=4 * eps)
    finite = np.isfinite(x)
    with np.errstate(invalid="ignore"):  # silu(-inf) = -inf * 0, as x * sigmoid(x) gives
        y = activations.silu(x)
        want_silu = x64 * want
    np.testing.assert_allclose(y[finite], want_silu[finite], rtol=4 * eps, atol=tiny)
    dy = rng.standard_normal(x.size).astype(dtype)
    grad = activations.get("silu").backward(dy, x, y)
    assert grad.dtype == dtype
    with np.errstate(invalid="ignore"):
        want_grad = dy * (want + x64 * want * (1 - want))
    # within a few roundings of y (s comes from y / x)
    bound = 8 * eps * (1 + np.abs(x64)) * np.abs(dy)
    assert np.all(np.abs(grad - want_grad)[finite] <= bound[finite])
    assert grad[0] == dy[0] * dtype(0.5)


def _gelu_tanh_reference(x: np.ndarray):
    """GELU's tanh approximation and its slope in float64, as written in the formula."""
    x = x.astype(np.float64)
    c = np.sqrt(2 / np.pi)
    t = np.tanh(c * (x + 0.044715 * x ** 3))
    slope = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
    return 0.5 * x * (1 + t), slope


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_tanh_and_its_gradient_follow_the_formula(dtype, monkeypatch):
    """convnp._special.gelu_tanh (GELU with approximate=True, block by block in the input's
    dtype) against the float64 formula: values, slopes, the limits far out (exact 0 and 1
    slopes where the tanh rounds to -1 and 1), huge finite values without overflow or a
    warning, and the same numbers on two threads as in small pieces."""
    from convnp import _special
    from convnp.ops import elementwise

    monkeypatch.setattr(elementwise, "BLOCK", 1 << 15)  # several blocks a thread
    rng = np.random.default_rng(11)
    special = [0.0, -0.0, 9.5, -9.5, 1e3, -1e3, 1e12, -1e12]
    x = np.concatenate([special, rng.standard_normal(150_000) * 3]).astype(dtype)
    want, want_slope = _gelu_tanh_reference(x)
    tolerance = 3e-7 if dtype == np.float32 else 1e-14
    # float32's 1 + t cancels on the left (TensorFlow's float32 formula does the same): the
    # slope there is good to a few float32 steps of 1, not relatively
    slope_atol = 5e-6 if dtype == np.float32 else 1e-13
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = _special.gelu_tanh(x)
        dy = rng.standard_normal(x.size).astype(dtype)
        grad = _special.gelu_tanh_gradient(dy, x)
    assert y.dtype == dtype and grad.dtype == dtype
    np.testing.assert_allclose(y, want, rtol=tolerance * 8, atol=tolerance)
    np.testing.assert_allclose(grad, dy * want_slope, rtol=tolerance * 8, atol=slope_atol)
    assert y[0] == 0 and y[5] == 0 and y[4] == dtype(1e3) and y[6] == dtype(1e12)
    np.testing.assert_array_equal(grad[4:8], dy[4:8] * np.array([1, 0, 1, 0], dtype=dtype))
    parts = np.concatenate([_special.gelu_tanh(x[i:i + 999]) for i in range(0, x.size, 999)])
    np.testing.assert_array_equal(y, parts)
    big = np.array([np.finfo(dtype).max / 2, -np.finfo(dtype).max / 2], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(_special.gelu_tanh(big), [big[0], 0])


def test_gelu_tanh_on_float16_and_a_broadcast_gradient():
    """float16 computes in float32; a broadcast upstream gradient (a sum's) is accepted."""
    from convnp import _special

    x = np.linspace(-4, 4, 9).astype(np.float16)
    want, slope = _gelu_tanh_reference(x)
    np.testing.assert_allclose(activations.gelu(x, approximate=True), want, atol=2e-3)
    assert activations.gelu(x, approximate=True).dtype == np.float16
    ones = np.broadcast_to(np.float32(1), x.shape)
    np.testing.assert_allclose(_special.gelu_tanh_gradient(ones, x), slope, atol=1e-6)


def test_approximate_gelu_on_the_tape_matches_central_differences():
    """tf.nn.gelu(approximate=True) and an Activation layer of keras's gelu(approximate=True)
    give the formula's gradient on a tape (float64: checked against central differences)."""
    import convnp as tf

    rng = np.random.default_rng(4)
    x = tf.constant(rng.standard_normal((3, 5)) * 2)
    layer = tf.keras.layers.Activation(
        lambda v: tf.keras.activations.gelu(v, approximate=True), dtype="float64")
    point = x.numpy().copy()
    numeric = numerical_gradient(lambda: _gelu_tanh_reference(point)[0], point,
                                 np.arange(15.0).reshape(3, 5))
    for fn in (lambda v: tf.nn.gelu(v, approximate=True), layer):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(fn(x) * tf.constant(np.arange(15.0).reshape(3, 5)))
        grad = tape.gradient(loss, x).numpy()

        assert rel_error(grad, numeric) < 1e-7


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hard_sigmoid_and_hard_silu_block_kernels(dtype, monkeypatch):
    """hard_sigmoid / hard_silu (hard_swish) block by block on all cores: values against
    the formula, and hard_silu's backward slope h(x) + x h'(x) with h' = 1/6 strictly inside
    (-3, 3) (1 at x = 3 and 0 at x = -3, as TensorFlow's relu6 gradient gives)."""
    from convnp.ops import elementwise

    monkeypatch.setattr(elementwise, "BLOCK", 1 << 12)
    rng = np.random.default_rng(6)
    x = np.concatenate([[-3.0, 3.0, 0.0, -0.0, np.inf, -np.inf],
                        rng.standard_normal(40_000) * 4]).astype(dtype)
    h = np.clip(x.astype(np.float64) + 3, 0, 6) / 6
    np.testing.assert_allclose(activations.hard_sigmoid(x), h, rtol=1e-6)
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(activations.hard_silu(x)[[0, 1, 2, 4]], [0, 3, 0, np.inf])
        np.testing.assert_allclose(activations.hard_silu(x)[6:], x[6:] * h[6:], rtol=1e-6)
    layer = activations.get("hard_silu")
    dy = rng.standard_normal(x.size).astype(dtype)
    inside = (x > -3) & (x < 3)
    want = dy * (h + np.where(inside, x.astype(np.float64) / 6, 0))
    got = layer.backward(dy, x, None)
    assert got.dtype == dtype
    np.testing.assert_allclose(got[:4], dy[:4] * np.array([0, 1, 0.5, 0.5]), rtol=1e-6)
    np.testing.assert_allclose(got[6:], want[6:], rtol=1e-5, atol=1e-6)


def test_softmax_activation_runs_the_row_kernels_with_the_formulas_numbers(monkeypatch):
    """The softmax activation (Dense(..., activation="softmax"), the Softmax layer) along the
    last axis uses `convnp.ops.last_axis`, forward and backward: the formula's numbers."""
    from convnp.ops import last_axis

    monkeypatch.setattr(last_axis, "BLOCK_NUMBERS", 30)
    monkeypatch.setattr(last_axis, "MIN_SHARED_ROWS", 3)
    rng = np.random.default_rng(21)
    x = (rng.standard_normal((17, 6)) * 4).astype(np.float32)
    dy = rng.standard_normal((17, 6)).astype(np.float32)
    act = activations.get("softmax")
    y = act.forward(x)
    e = np.exp(x.astype(np.float64) - x.max(axis=1, keepdims=True))
    want = e / e.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(y, want, rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(act.backward(dy, x, y),
                               want * (dy - (dy * want).sum(axis=1, keepdims=True)),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(activations.softmax(x[0]), want[0], rtol=2e-6)  # 1-D: formula
