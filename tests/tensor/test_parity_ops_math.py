"""tf.math's running products and log-sum-exps, special functions (erfc, erfinv, ndtri,
lgamma, digamma, lbeta, the Bessel functions), xdivy/xlog1py, polyval, invert_permutation and
the segment reductions, against TensorFlow 2.21 (the numbers were printed by TF 2.21 for the
same inputs; gradients weight output ``k`` by ``k + 1`` so that each output counts)."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp.tensor.debugging import InvalidArgumentError

m = tf.math
A = [[1., 2., 3.], [4., 0.5, -1.]]
D = np.array([[1., 2.], [3., 4.], [5., -6.], [7., 8.]], np.float32)
IDS = [0, 0, 1, 3]
UIDS = [2, 0, 2, 1]


def _grad(fn, *values):
    variables = [tf.Variable(np.asarray(x, np.float32)) for x in values]
    with tf.GradientTape() as tape:
        y = fn(*variables)
        weights = np.arange(1, 1 + np.size(y), dtype=np.float32).reshape(np.shape(y))
        loss = tf.reduce_sum(y * weights)
    grads = tape.gradient(loss, variables)
    return grads[0] if len(grads) == 1 else grads


def _close(got, expected, tol=1e-4):
    np.testing.assert_allclose(np.asarray(got, np.float64), expected, rtol=tol, atol=tol)


def test_cumprod():
    _close(m.cumprod(A, axis=1), [[1.0, 2.0, 6.0], [4.0, 2.0, -2.0]])
    _close(m.cumprod(A, axis=1, exclusive=True), [[1.0, 1.0, 2.0], [1.0, 4.0, 2.0]])
    _close(m.cumprod(A, axis=0, reverse=True), [[4.0, 1.0, -3.0], [4.0, 0.5, -1.0]])
    assert m.cumprod(tf.constant([1, 2, 3])).dtype == tf.int32
    _close(_grad(lambda t: m.cumprod(t, axis=1), A), [[23.0, 11.0, 6.0], [3.5, -4.0, 12.0]])
    _close(_grad(lambda t: m.cumprod(t, axis=1, exclusive=True, reverse=True), A),
           [[0.0, 3.0, 4.0], [0.0, -4.0, 7.0]])
    # exact where x has a zero: d/dx1 of [x0, x0 x1, x0 x1 x2] . [1, 2, 3] = 2 x0 + 3 x0 x2
    # (TF 2.21 gives 0 there: it divides by x)
    _close(_grad(m.cumprod, [2., 0., 3.]), [1.0, 22.0, 0.0])


def test_cumulative_logsumexp():
    _close(m.cumulative_logsumexp(tf.constant(A), axis=1), [[1.0, 2.3133, 3.4076], [4.0, 4.0298, 4.0363]])
    _close(m.cumulative_logsumexp(tf.constant(A), axis=1, exclusive=True, reverse=True),
           [[3.3133, 3.0, -np.inf], [0.7014, -1.0, -np.inf]])
    _close(_grad(lambda t: m.cumulative_logsumexp(t, axis=1), A), [[1.808, 2.1963, 1.9957], [14.6397, 0.3213, 0.039]])
    _close(_grad(lambda t: m.cumulative_logsumexp(t, axis=1, exclusive=True), A),
           [[2.8068, 2.1932, 0.0], [10.8241, 0.1759, 0.0]])


def test_error_and_gamma_functions():
    x = [-2., -0.5, 0., 0.3, 1.5, 4.]
    _close(m.erfc(tf.constant(x)), [1.9953, 1.5205, 1.0, 0.6714, 0.0339, 0.0])
    _close(_grad(m.erfc, x), [-0.0207, -1.7576, -3.3851, -4.125, -0.5947, -0.0])
    _close(m.erfinv(tf.constant([-0.99, -0.2, 0., 0.5, 0.999])), [-1.8214, -0.1791, 0.0, 0.4769, 2.3268])
    _close(_grad(m.erfinv, [-0.5, 0., 0.7]), [1.1126, 1.7725, 4.5491])
    np.testing.assert_array_equal(m.erfinv(tf.constant([-1., 1.])), [-np.inf, np.inf])
    _close(m.ndtri(tf.constant([0.01, 0.3, 0.5, 0.9])), [-2.3263, -0.5244, 0.0, 1.2816])
    _close(_grad(m.ndtri, [0.2, 0.5, 0.9]), [3.5719, 5.0133, 17.0942])
    _close(m.lgamma(tf.constant([0.5, 1., 2.5, 10., -1.5])), [0.5724, 0.0, 0.2847, 12.8018, 0.86])
    _close(_grad(m.lgamma, [0.5, 2.5, 10., -1.5]), [-1.9635, 1.4063, 6.7553, 2.8126])
    assert float(m.lgamma(tf.constant(0.))) == np.inf  # TF 2.21: inf at the pole
    _close(m.digamma(tf.constant([0.5, 1., 2.5, 10., -1.5])), [-1.9635, -0.5772, 0.7032, 2.2518, 0.7032])
    _close(_grad(m.digamma, [0.5, 2.5, 10., -1.5]), [4.9348, 0.9807, 0.3155, 37.517])
    _close(m.lbeta(tf.constant([[1., 2.], [3., 4.], [0.5, 0.5]])), [-0.6931, -4.0943, 1.1447])
    with pytest.raises(InvalidArgumentError):  # float kernels only, as TF's
        m.lgamma(tf.constant([1, 2]))


def test_bessel_functions():
    b = [0., 1., -2.5, 8.]
    _close(m.bessel_i0(tf.constant(b)), [1.0, 1.2661, 3.2898, 427.5642])
    _close(m.bessel_i1(tf.constant(b)), [0.0, 0.5652, -2.5167, 399.8734])
    _close(m.bessel_i0e(tf.constant(b)), [1.0, 0.4658, 0.27, 0.1434])
    _close(m.bessel_i1e(tf.constant(b)), [0.0, 0.2079, -0.2066, 0.1341])
    _close(_grad(m.bessel_i0, b), [0.0, 1.1303, -7.5501, 1599.4935])
    _close(_grad(m.bessel_i0e, b), [0.0, -0.5157, 0.1904, -0.0372])
    _close(_grad(m.bessel_i1e, b), [0.5, 0.0999, -0.0575, -0.0299])
    # I1'(0) = 1/2 (TF 2.21's gradient says 1 there; elsewhere the values agree)
    _close(_grad(m.bessel_i1, b)[1:], [1.0, 1.4018, 6.8495, 1510.3201][1:])
    _close(_grad(m.bessel_i1, [0.])[0], 0.5)


def test_xdivy_xlog1py_polyval_invert_permutation_nextafter():
    np.testing.assert_array_equal(m.xdivy(tf.constant([0., 1., 2.]), tf.constant([0., 0., 4.])),
                                  [0, np.inf, 0.5])
    gx, gy = _grad(m.xdivy, [0., 1., 2.], [1., 2., 4.])
    _close([gx.numpy(), gy.numpy()], [[0.0, 1.0, 0.75], [0.0, -0.5, -0.375]])
    _close(m.xlog1py(tf.constant([0., 1., 2.]), tf.constant([-1., 0., 3.])), [0.0, 0.0, 2.7726])
    gx, gy = _grad(m.xlog1py, [0., 1., 2.], [1., 0., 3.])
    _close([gx.numpy(), gy.numpy()], [[0.0, 0.0, 4.1589], [0.0, 2.0, 1.5]])
    _close(m.polyval([tf.constant(2.), tf.constant(-1.), tf.constant(3.)],
                     tf.constant([0., 1., 2.])), [3, 4, 9])
    py = m.polyval([2., 3.], 4.)
    assert py.dtype == tf.float32 and float(py) == 11.0
    _close(m.polyval([], tf.constant([1., 2.])), [0, 0])
    perm = m.invert_permutation([3, 4, 0, 2, 1])
    assert perm.dtype == tf.int32
    np.testing.assert_array_equal(perm, [2, 4, 3, 0, 1])
    assert m.invert_permutation(tf.constant([1, 0], tf.int64)).dtype == tf.int64
    with pytest.raises(InvalidArgumentError):
        m.invert_permutation([0, 0, 1])
    after = m.nextafter(tf.constant([1., 0.]), tf.constant([2., -1.]))
    np.testing.assert_array_equal(after, np.nextafter(np.float32([1, 0]), np.float32([2, -1])))


SEGMENTS = {
    "seg_max": ([[3.0, 4.0], [5.0, -6.0], [0.0, 0.0], [7.0, 8.0]],
                [[0.0, 0.0], [1.0, 2.0], [3.0, 4.0], [7.0, 8.0]]),
    "useg_max": ([[3.0, 4.0], [7.0, 8.0], [5.0, 2.0], [-3.4028234663852886e+38, -3.4028234663852886e+38]],
                 [[0.0, 6.0], [1.0, 2.0], [5.0, 0.0], [3.0, 4.0]]),
    "seg_mean": ([[2.0, 3.0], [5.0, -6.0], [0.0, 0.0], [7.0, 8.0]],
                 [[0.5, 1.0], [0.5, 1.0], [3.0, 4.0], [7.0, 8.0]]),
    "useg_mean": ([[3.0, 4.0], [7.0, 8.0], [3.0, -2.0], [0.0, 0.0]],
                  [[2.5, 3.0], [1.0, 2.0], [2.5, 3.0], [3.0, 4.0]]),
    "seg_min": ([[1.0, 2.0], [5.0, -6.0], [0.0, 0.0], [7.0, 8.0]],
                [[1.0, 2.0], [0.0, 0.0], [3.0, 4.0], [7.0, 8.0]]),
    "useg_min": ([[3.0, 4.0], [7.0, 8.0], [1.0, -6.0], [3.4028234663852886e+38, 3.4028234663852886e+38]],
                 [[5.0, 0.0], [1.0, 2.0], [0.0, 6.0], [3.0, 4.0]]),
    "seg_prod": ([[3.0, 8.0], [5.0, -6.0], [1.0, 1.0], [7.0, 8.0]],
                 [[3.0, 8.0], [1.0, 4.0], [3.0, 4.0], [7.0, 8.0]]),
    "useg_prod": ([[3.0, 4.0], [7.0, 8.0], [5.0, -12.0], [1.0, 1.0]],
                  [[25.0, -36.0], [1.0, 2.0], [5.0, 12.0], [3.0, 4.0]]),
}


@pytest.mark.parametrize("case", sorted(SEGMENTS))
def test_segment_reductions(case):
    pre, op = case.split("_")
    expected, expected_grad = SEGMENTS[case]
    if pre == "seg":
        fn = getattr(m, f"segment_{op}")
        run = lambda t: fn(t, IDS)
    else:
        fn = getattr(m, f"unsorted_segment_{op}")
        run = lambda t: fn(t, UIDS, 4)
    out = run(tf.constant(D))
    assert out.dtype == tf.float32 and out.shape == (4, 2)
    _close(out, expected)
    _close(_grad(run, D), expected_grad)


def test_segment_edge_cases():
    _close(m.unsorted_segment_sqrt_n(D, UIDS, 4), [[3.0, 4.0], [7.0, 8.0], [4.2426, -2.8284], [0.0, 0.0]])
    _close(_grad(lambda t: m.unsorted_segment_sqrt_n(t, UIDS, 4), D), [[3.5355, 4.2426], [1.0, 2.0], [3.5355, 4.2426], [3.0, 4.0]])
    # ties share the gradient; a zero's gradient is the product of the others (TF 2.21)
    _close(_grad(lambda t: m.segment_max(t, [0, 0, 0]), [2., 2., 1.]), [0.5, 0.5, 0.0])
    _close(_grad(lambda t: m.segment_prod(t, [0, 0, 0, 1, 1]), [2., 0., 3., 0., 0.]),
           [0.0, 6.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(m.segment_max(tf.constant([1, 5, 2]), [0, 0, 2]), [5, 0, 2])
    np.testing.assert_array_equal(m.unsorted_segment_max(tf.constant([1, 5, 2]), [0, 0, 2], 3),
                                  [5, np.iinfo(np.int32).min, 2])
    with pytest.raises(InvalidArgumentError):
        m.segment_max(D, [1, 0, 1, 1])


def test_incomplete_gamma_and_beta():
    # TF 2.21's values
    a = tf.constant([0.5, 1., 2.5, 10., 3., 0.1])
    x = tf.constant([0.2, 1., 3., 8., 0., 20.])
    out = m.igamma(a, x)
    assert out.dtype == tf.float32
    _close(out, [0.47291, 0.63212, 0.69378, 0.28338, 0.0, 1.0])
    _close(m.igammac(a, x), [0.52709, 0.36788, 0.30622, 0.71662, 1.0, 0.0])
    _close(m.igamma(2.0, tf.constant([0.5, 1.5])), [0.0902, 0.44217])
    assert m.igamma(tf.constant([2.], tf.float64), tf.constant([1.], tf.float64)
                    ).dtype == tf.float64
    va, vx = tf.Variable(np.float32([0.5, 1., 2.5, 10.])), tf.Variable(np.float32([0.2, 1., 3.,
                                                                                 8.]))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(m.igamma(va, vx))
    ga, gx = tape.gradient(loss, [va, vx])
    _close(ga, [-0.82016, -0.43173, -0.22755, -0.11261])
    _close(gx, [1.03288, 0.36788, 0.19461, 0.12408])
    assert np.isnan(m.igamma(tf.constant([-1., 1.]), tf.constant([1., -1.]))).all()
    _close(m.betainc(tf.constant([0.5, 1., 2., 5., 0.3]), tf.constant([0.5, 3., 2., 1.5, 4.]),
                     tf.constant([0.3, 0.5, 0.9, 0.6, 0.01])),
           [0.36901, 0.875, 0.972, 0.14835, 0.41024])
    variables = [tf.Variable(np.float32(v)) for v in ([0.5, 1., 2., 5.], [0.5, 3., 2., 1.5],
                                                      [0.3, 0.5, 0.9, 0.6])]
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(m.betainc(*variables))
    ga, gb, gx = tape.gradient(loss, variables)
    assert ga is None and gb is None  # TF 2.21 has no gradient for a and b either
    _close(gx, [0.69461, 0.75, 0.54, 1.10943])
    with pytest.raises(InvalidArgumentError):
        m.igamma(tf.constant([1]), tf.constant([1]))


def test_erfc_keeps_the_right_tail_in_both_namespaces_and_dtypes():
    """erfc(x) for x far right is tiny but not 0 (TF 2.21: tf.math.erfc(5.) = 1.5375e-12 in
    float32, and keras.ops.erfc the same); float32 takes the series, float64 every digit."""
    import math

    from convnp import keras

    x = np.array([-30.0, -6.0, -1.0, -1e-9, 0.0, 1e-9, 0.7, 3.0, 5.0, 9.0, np.inf, -np.inf])
    want = np.array([math.erfc(v) for v in x])
    for dtype, rtol in ((np.float32, 2e-7), (np.float64, 1e-15)):
        for op in (m.erfc, keras.ops.erfc):
            got = np.asarray(op(tf.constant(x.astype(dtype))))
            assert got.dtype == dtype
            np.testing.assert_allclose(got, want.astype(dtype), rtol=rtol, atol=0)
    assert np.signbit(np.asarray(m.erfc(tf.constant([np.inf])))).sum() == 0  # +0, not -0
    assert np.isnan(np.asarray(m.erfc(tf.constant([np.nan])))).all()


def test_float32_erfc_series_matches_math_erfc_on_a_fine_grid():
    """The float32 path's series is within float32's rounding of math.erfc everywhere it
    does not underflow."""
    import math

    x = np.linspace(-5.0, 9.0, 20001).astype(np.float32)
    want = np.array([math.erfc(float(v)) for v in x]).astype(np.float32)
    np.testing.assert_allclose(np.asarray(m.erfc(tf.constant(x))), want, rtol=3e-7, atol=0)


def test_erfinv_inverts_erf_in_both_namespaces():
    import math

    from convnp import keras

    y = np.array([-0.999999, -0.9, -0.3, 0.0, 1e-8, 0.4, 0.99, 0.9999999])
    for op in (m.erfinv, keras.ops.erfinv):
        x64 = np.asarray(op(tf.constant(y)))
        np.testing.assert_allclose([math.erf(v) for v in x64], y, rtol=1e-14, atol=1e-16)
        y32 = y.astype(np.float32)  # near +-1 erfinv is steep: compare at the float32 inputs
        x32 = np.asarray(op(tf.constant(y32)))
        assert x32.dtype == np.float32
        exact = np.asarray(op(tf.constant(y32.astype(np.float64))))
        np.testing.assert_allclose(x32, exact.astype(np.float32), rtol=2e-6)
