"""``tf.math`` and ``tf.linalg`` functions notebooks call, checked against TensorFlow 2.21:
values, dtypes and gradients below are TensorFlow 2.21's for the same calls."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

C = tf.constant


def _values(t):
    return np.round(np.asarray(t, dtype=np.float64), 4).tolist()


@pytest.mark.parametrize("make, dtype, expected", [
    (lambda: tf.math.squared_difference(C([1., 2.]), 3.), tf.float32, [4., 1.]),
    (lambda: tf.math.squared_difference(C([1, 2]), 3), tf.int32, [4, 1]),
    (lambda: tf.math.count_nonzero(C([[0., 1.], [2., 0.]])), tf.int64, 2),
    (lambda: tf.math.count_nonzero(C([[0., 1.], [2., 3.]]), axis=1, keepdims=True), tf.int64,
     [[1], [2]]),
    (lambda: tf.math.count_nonzero(C([1, 0]), dtype=tf.int32), tf.int32, 1),
    (lambda: tf.math.erf(C([-1., 0., 0.5])), tf.float32, [-0.8427, 0., 0.5205]),
    (lambda: tf.math.expm1(C([1.])), tf.float32, [1.7183]),
    (lambda: tf.math.log_sigmoid(C([-100., 0., 100.])), tf.float32, [-100., -0.6931, 0.]),
    (lambda: tf.math.xlogy(C([0., 1., 2.]), C([0., 2., 0.5])), tf.float32,
     [0., 0.6931, -1.3863]),
    (lambda: tf.math.reduce_euclidean_norm(C([[3., 4.], [6., 8.]]), axis=1), tf.float32,
     [5., 10.]),
    (lambda: tf.roll(C([1, 2, 3, 4]), 1, 0), tf.int32, [4, 1, 2, 3]),
    (lambda: tf.roll(C([[1, 2], [3, 4]]), shift=[1, 1], axis=[0, 1]), tf.int32,
     [[4, 3], [2, 1]]),
    (lambda: tf.math.unsorted_segment_sum(C([[1., 2.], [3., 4.], [5., 6.]]), C([1, 0, 1]), 3),
     tf.float32, [[3., 4.], [6., 8.], [0., 0.]]),
    (lambda: tf.math.segment_sum(C([1., 2., 3.]), C([0, 0, 2])), tf.float32, [3., 0., 3.]),
    (lambda: tf.math.floormod(C([-7, 7]), 3), tf.int32, [2, 1]),
    (lambda: tf.math.mod(C([-7.5, 7.5]), 2.), tf.float32, [0.5, 1.5]),
])
def test_math_values(make, dtype, expected):
    t = make()
    assert t.dtype == dtype and _values(t) == expected


def test_math_gradients():
    v = tf.Variable([[1., -2.], [0.5, 3.]])
    weights = C([[1., 2.], [3., 4.]])
    cases = [
        (lambda: tf.math.erf(v), [[0.4151, 0.0207], [0.8788, 0.0001]]),
        (lambda: tf.math.expm1(v), [[2.7183, 0.1353], [1.6487, 20.0855]]),
        (lambda: tf.math.log_sigmoid(v), [[0.2689, 0.8808], [0.3775, 0.0474]]),
        (lambda: tf.math.squared_difference(v, 1.), [[0., -6.], [-1., 4.]]),
        (lambda: tf.roll(v, 1, 1) * weights, [[2., 1.], [4., 3.]]),
        (lambda: tf.math.unsorted_segment_sum(v, C([1, 1]), 2) * weights,
         [[3., 4.], [3., 4.]]),
        (lambda: tf.math.reduce_euclidean_norm(v, axis=0), [[0.8944, -0.5547],
                                                            [0.4472, 0.8321]]),
    ]
    for make, expected in cases:
        with tf.GradientTape() as tape:
            y = make()
        assert _values(tape.gradient(y, v)) == expected


SQ = [[2., 1.], [1., 3.]]


@pytest.mark.parametrize("make, expected", [
    (lambda: tf.linalg.inv(C(SQ)), [[0.6, -0.2], [-0.2, 0.4]]),
    (lambda: tf.linalg.inv(C([[2., 1.], [0., 3.]]), adjoint=True), [[0.5, 0.], [-0.1667, 0.3333]]),
    (lambda: tf.linalg.det(C(SQ)), 5.),
    (lambda: tf.linalg.det(tf.stack([C(SQ), 2 * C(SQ)])), [5., 20.]),
    (lambda: tf.linalg.logdet(C(SQ)), 1.6094),
    (lambda: tf.linalg.solve(C(SQ), C([[1.], [2.]])), [[0.2], [0.6]]),
    (lambda: tf.linalg.cross(C([1., 0., 0.]), C([0., 1., 0.])), [0., 0., 1.]),
    (lambda: tf.linalg.pinv(C([[1., -2., 3.], [4., 5., -6.]])),
     [[0.3446, 0.1594], [-0.0677, 0.0438], [0.1733, -0.0239]]),
    (lambda: tf.linalg.cholesky(C(SQ)), [[1.4142, 0.], [0.7071, 1.5811]]),
    (lambda: tf.linalg.eigvalsh(C(SQ)), [1.382, 3.618]),
    (lambda: tf.linalg.svd(C(SQ), compute_uv=False), [3.618, 1.382]),
])
def test_linalg_values(make, expected):
    t = make()
    assert t.dtype == tf.float32 and _values(t) == expected


def test_linalg_structures_and_errors():
    x = C([[1., -2., 3.], [4., 5., -6.]])
    s, u, v = tf.linalg.svd(x)  # TF's order; v is not transposed
    assert (s.shape, u.shape, v.shape) == ((2,), (2, 2), (3, 2))
    np.testing.assert_allclose(np.asarray(tf.matmul(u * s, v, transpose_b=True)),
                               np.asarray(x), atol=1e-5)
    q, _ = tf.linalg.qr(x)
    assert q.shape == (2, 2) and tf.linalg.qr(x).r.shape == (2, 3)
    assert tf.linalg.qr(tf.transpose(x), full_matrices=True).q.shape == (3, 3)
    sign, logabs = tf.linalg.slogdet(C([[0., 1.], [1., 0.]]))
    assert float(sign) == -1. and float(logabs) == 0.
    assert tf.linalg.slogdet(C(SQ)).log_abs_determinant.dtype == tf.float32
    _, vecs = tf.linalg.eigh(C(SQ))
    np.testing.assert_allclose(np.abs(np.asarray(vecs)), [[0.8507, 0.5257], [0.5257, 0.8507]],
                               atol=1e-4)
    with pytest.raises(tf.errors.InvalidArgumentError):  # TF 2.21: not invertible
        tf.linalg.inv(C([[1., 1.], [1., 1.]]))
    with pytest.raises(tf.errors.InvalidArgumentError):  # TF 2.21: no int kernel
        tf.linalg.inv(C([[2, 1], [1, 3]]))
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.linalg.inv(x)
    # not positive definite: NaN, no error (TF 2.21)
    assert np.isnan(float(tf.linalg.logdet(C([[0., 1.], [1., 0.]]))))
    bad = np.asarray(tf.linalg.cholesky(C([[0., 1.], [1., 0.]])))
    assert np.isnan(bad[1, 1]) and bad[0, 1] == 0


def test_linalg_gradients():
    v = tf.Variable(SQ)
    r = tf.Variable([[1.], [2.]])
    weights = C([[1., 2.], [3., 4.]])
    with tf.GradientTape(persistent=True) as tape:
        ys = [tf.linalg.inv(v) * weights, tf.linalg.det(v), tf.linalg.logdet(v),
              tf.linalg.solve(v, r) * C([[1.], [3.]]), tf.linalg.slogdet(v)[1],
              tf.linalg.inv(v, adjoint=True) * weights, tf.linalg.det(v) ** 2,
              tf.linalg.cholesky(v)]
        pinv = tf.linalg.pinv(v)
    expected = [  # TF 2.21's gradients
        [[0.08, -0.16], [-0.36, -0.28]], [[3., -1.], [-1., 2.]],
        [[0.6, -0.2], [-0.2, 0.4]], [[0., 0.], [-0.2, -0.6]], [[0.6, -0.2], [-0.2, 0.4]],
        [[0.08, -0.36], [-0.16, -0.28]], [[30., -10.], [-10., 20.]],
        [[0.2558, 0.1954], [0.1954, 0.3162]]]
    for y, want in zip(ys, expected):
        assert _values(tape.gradient(y, v)) == want
    assert _values(tape.gradient(ys[3], r)) == [[0.], [1.]]
    with pytest.raises(NotImplementedError, match="pinv"):  # never a silent None
        tape.gradient(pinv, v)


# ----------------------------------------------------------------------------- more names


def test_more_math_and_nn_gradients():
    v = tf.Variable([[0.5, -0.2], [0.1, 0.3]])
    w = C([[1., 2.], [3., 4.]])
    cases = [  # TF 2.21's gradients (each name was missing in convnp)
        (lambda: tf.math.asin(v), [[1.1547, 1.0206], [1.005, 1.0483]]),
        (lambda: tf.math.acos(v), [[-1.1547, -1.0206], [-1.005, -1.0483]]),
        (lambda: tf.math.atan(v), [[0.8, 0.9615], [0.9901, 0.9174]]),
        (lambda: tf.math.atan2(v, w), [[0.8, 0.495], [0.333, 0.2486]]),
        (lambda: tf.math.tan(v), [[1.2984, 1.0411], [1.0101, 1.0957]]),
        (lambda: tf.math.cosh(v), [[0.5211, -0.2013], [0.1002, 0.3045]]),
        (lambda: tf.math.atanh(v), [[1.3333, 1.0417], [1.0101, 1.0989]]),
        (lambda: tf.nn.softsign(v) * w, [[0.4444, 1.3889], [2.4793, 2.3669]]),
        (lambda: tf.nn.weighted_cross_entropy_with_logits(C([[1., 0.], [0., 1.]]), v * 3.,
                                                          2.5),
         [[-1.3682, 1.063], [1.7233, -2.1679]]),
        (lambda: tf.nn.compute_average_loss(tf.reduce_sum(v * w, axis=1)),
         [[0.5, 1.0], [1.5, 2.0]]),
        (lambda: tf.nn.compute_average_loss(tf.reduce_sum(v * w, axis=1),
                                            sample_weight=C([1., 0.5]), global_batch_size=4),
         [[0.25, 0.5], [0.375, 0.5]]),
        (lambda: tf.nn.scale_regularization_loss([tf.reduce_sum(v), tf.reduce_sum(v * v)]),
         [[2.0, 0.6], [1.2, 1.6]]),
        (lambda: tf.math.multiply_no_nan(v, C([[0., 1.], [2., 0.]])), [[0., 1.], [2., 0.]]),
        (lambda: tf.nn.embedding_lookup(v, C([1, 1, 0])) * C([[1.], [2.], [3.]]),
         [[3., 3.], [3., 3.]]),
        (lambda: tf.ensure_shape(v * w, [None, 2]), [[1., 2.], [3., 4.]]),
        (lambda: tf.math.reciprocal_no_nan(v), [[-4.0, -25.0], [-100.0, -11.1111]]),
    ]
    for make, expected in cases:
        with tf.GradientTape() as tape:
            y = make()
        assert _values(tape.gradient(y, v)) == expected


@pytest.mark.parametrize("make, dtype, expected", [
    (lambda: tf.sequence_mask([1, 3], 4), tf.bool,
     [[True, False, False, False], [True, True, True, False]]),
    (lambda: tf.sequence_mask(C([1, 2])), tf.bool, [[True, False], [True, True]]),
    (lambda: tf.sequence_mask(C([[1], [2]]), 3, dtype=tf.float32), tf.float32,
     [[[1., 0., 0.]], [[1., 1., 0.]]]),
    (lambda: tf.searchsorted(C([1., 2., 3.]), C([2.5])), tf.int32, [2]),
    (lambda: tf.searchsorted(C([[1., 2., 2., 3.]]), C([[2., 0.]]), side="right"), tf.int32,
     [[3, 0]]),
    (lambda: tf.truncatediv(C([-7, 7, 6]), C([2, -2, 3])), tf.int32, [-3, -3, 2]),
    (lambda: tf.realdiv(C([1.]), C([2.])), tf.float32, [0.5]),
    (lambda: tf.math.rint(C([-0.5, 0.5, 1.5, 2.7])), tf.float32, [-0., 0., 2., 3.]),
    (lambda: tf.math.logical_xor(C([True, True]), C([False, True])), tf.bool, [True, False]),
    (lambda: tf.math.is_non_decreasing(C([1, 2, 2])), tf.bool, True),
    (lambda: tf.math.is_strictly_increasing(C([1, 2, 2])), tf.bool, False),
    (lambda: tf.math.softmax(C([1., 2.])), tf.float32, [0.2689, 0.7311]),
    (lambda: tf.math.log_softmax(C([1., 2.])), tf.float32, [-1.3133, -0.3133]),
    (lambda: tf.math.accumulate_n([C([1.]), C([2.])]), tf.float32, [3.]),
    (lambda: tf.math.sinh(C([0.5])), tf.float32, [0.5211]),
    (lambda: tf.nn.compute_average_loss(C([1., 2., 3., 4.]), global_batch_size=8), tf.float32,
     1.25),
])
def test_more_values(make, dtype, expected):
    t = make()
    assert t.dtype == dtype and _values(t) == expected


def test_ensure_shape_and_broadcast_static_shape():
    with pytest.raises(tf.errors.InvalidArgumentError):  # TF 2.21
        tf.ensure_shape(C([1., 2.]), [3])
    assert tf.broadcast_static_shape(tf.TensorShape([2, 1]), tf.TensorShape([3])) == [2, 3]
    with pytest.raises(ValueError):
        tf.broadcast_static_shape(tf.TensorShape([2]), tf.TensorShape([3]))


def test_ssim_of_images_smaller_than_the_filter():
    images = tf.zeros((2, 8, 8, 3))
    with pytest.raises(tf.errors.InvalidArgumentError):  # TF 2.21 (convnp: ValueError)
        tf.image.ssim(images, images, 1.)
