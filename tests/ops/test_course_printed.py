"""The week-1 course functions against the values the course's notebook prints.

Each test sets up the notebook's inputs (``np.random.seed(1)`` and the same draws) and checks
the printed numbers and the types the course's grader asserts, for the reference loops and the
fast kernels alike. The caches are the notes' tuples, compared item by item; ``pool_backward``
runs in either mode on a cache from either forward, as the notebook does.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from tests.ops.oracles import IMPLS

impls = pytest.mark.parametrize("ops", list(IMPLS.values()), ids=list(IMPLS))
pairs = pytest.mark.parametrize(
    "forward_ops,backward_ops",
    [(IMPLS[a], IMPLS[b]) for a in IMPLS for b in IMPLS],
    ids=[f"{a}-forward-{b}-backward" for a in IMPLS for b in IMPLS],
)


@impls
def test_zero_pad_printed(ops):
    np.random.seed(1)
    x = np.random.randn(4, 3, 3, 2)
    x_pad = ops.zero_pad(x, 3)
    assert x_pad.shape == (4, 9, 9, 2)
    np.testing.assert_allclose(x[1, 1], [[0.90085595, -0.68372786], [-0.12289023, -0.93576943],
                                         [-0.26788808, 0.53035547]], atol=1e-8)
    np.testing.assert_array_equal(x_pad[1, 1], np.zeros((9, 2)))
    assert type(x_pad) is np.ndarray


@impls
def test_conv_single_step_printed(ops):
    np.random.seed(1)
    a_slice_prev = np.random.randn(4, 4, 3)
    W = np.random.randn(4, 4, 3)
    b = np.random.randn(1, 1, 1)
    Z = ops.conv_single_step(a_slice_prev, W, b)
    assert Z == pytest.approx(-6.999089450680221, abs=1e-12)
    # The notes' version returns np.sum(...) + float(b): a NumPy float64 scalar, not an array.
    assert type(Z) is np.float64


def course_conv_case():
    np.random.seed(1)
    A_prev = np.random.randn(2, 5, 7, 4)
    W = np.random.randn(3, 3, 4, 8)
    b = np.random.randn(1, 1, 1, 8)
    return A_prev, W, b, {"pad": 1, "stride": 2}


@impls
def test_conv_forward_printed(ops):
    A_prev, W, b, hparameters = course_conv_case()
    Z, cache_conv = ops.conv_forward(A_prev, W, b, hparameters)
    assert type(Z) is np.ndarray and Z.shape == (2, 3, 4, 8)
    assert np.mean(Z) == pytest.approx(0.5511276474566768, abs=1e-12)
    np.testing.assert_allclose(Z[0, 2, 1], [-2.17796037, 8.07171329, -0.5772704, 3.36286738,
                                            4.48113645, -2.89198428, 10.99288867, 3.03171932],
                               atol=1e-8)
    np.testing.assert_allclose(cache_conv[0][1][2][3],
                               [-1.1191154, 1.9560789, -0.3264995, -1.34267579], atol=1e-8)


@impls
def test_conv_cache_is_the_notes_tuple(ops):
    A_prev, W, b, hparameters = course_conv_case()
    _, cache = ops.conv_forward(A_prev, W, b, hparameters)
    assert isinstance(cache, tuple) and len(cache) == 4
    A_c, W_c, b_c, hp_c = cache
    assert A_c is A_prev and W_c is W and b_c is b and hp_c is hparameters
    for mine, theirs in zip(cache, (A_prev, W, b, hparameters)):
        if isinstance(theirs, dict):
            assert mine == theirs
        else:
            np.testing.assert_array_equal(mine, theirs)
    assert cache[-1] is hparameters and cache[:2][1] is W
    # a copy is the plain tuple of the notes and still works for backward
    plain = copy.deepcopy(cache)
    assert type(plain) is tuple and len(plain) == 4


@impls
def test_pool_forward_printed(ops):
    np.random.seed(1)
    A_prev = np.random.randn(2, 5, 5, 3)
    hparameters = {"stride": 1, "f": 3}
    A, cache = ops.pool_forward(A_prev, hparameters, mode="max")
    assert type(A) is np.ndarray and A.shape == (2, 3, 3, 3)
    np.testing.assert_allclose(A[1, 1], [[1.96710175, 0.84616065, 1.27375593],
                                         [1.96710175, 0.84616065, 1.23616403],
                                         [1.62765075, 1.12141771, 1.2245077]], atol=1e-8)
    assert isinstance(cache, tuple) and len(cache) == 2
    assert cache[0] is A_prev and cache[1] is hparameters
    A, _ = ops.pool_forward(A_prev, hparameters, mode="average")
    np.testing.assert_allclose(A[1, 1], [[0.44497696, -0.00261695, -0.31040307],
                                         [0.50811474, -0.23493734, -0.23961183],
                                         [0.11872677, 0.17255229, -0.22112197]], atol=1e-8)


@pairs
def test_conv_backward_printed(forward_ops, backward_ops):
    np.random.seed(1)
    A_prev = np.random.randn(10, 4, 4, 3)
    W = np.random.randn(2, 2, 3, 8)
    b = np.random.randn(1, 1, 1, 8)
    Z, cache_conv = forward_ops.conv_forward(A_prev, W, b, {"pad": 2, "stride": 2})
    dA, dW, db = backward_ops.conv_backward(Z, cache_conv)
    assert all(type(g) is np.ndarray for g in (dA, dW, db))
    assert (dA.shape, dW.shape, db.shape) == ((10, 4, 4, 3), (2, 2, 3, 8), (1, 1, 1, 8))
    assert np.mean(dA) == pytest.approx(1.4524377775388075, rel=1e-12)
    assert np.mean(dW) == pytest.approx(1.7269914583139097, rel=1e-12)
    assert np.mean(db) == pytest.approx(7.839232564616838, rel=1e-12)


@impls
def test_fast_conv_backward_takes_a_plain_tuple(ops):
    A_prev, W, b, hparameters = course_conv_case()
    Z, cache = ops.conv_forward(A_prev, W, b, hparameters)
    dZ = np.cos(Z)
    expected = IMPLS["reference"].conv_backward(dZ, cache)
    got = IMPLS["fast"].conv_backward(dZ, tuple(cache))
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)


@impls
def test_mask_and_distribute_printed(ops):
    np.random.seed(1)
    x = np.random.randn(2, 3)
    np.testing.assert_array_equal(ops.create_mask_from_window(x),
                                  [[True, False, False], [False, False, False]])
    a = ops.distribute_value(2, (2, 2))
    np.testing.assert_array_equal(a, [[0.5, 0.5], [0.5, 0.5]])
    assert type(a) is np.ndarray


@pairs
@pytest.mark.parametrize("forward_mode", ["max", "average"])
def test_pool_backward_printed_either_mode(forward_ops, backward_ops, forward_mode):
    # The notebook runs a max forward (the default mode) and then backward in both modes on
    # its cache; any mode pairing must give the same numbers.
    np.random.seed(1)
    A_prev = np.random.randn(5, 5, 3, 2)
    hparameters = {"stride": 1, "f": 2}
    A, cache = forward_ops.pool_forward(A_prev, hparameters, mode=forward_mode)
    assert A.shape == (5, 4, 2, 2) and cache[0].shape == (5, 5, 3, 2)
    dA = np.random.randn(5, 4, 2, 2)
    assert np.mean(dA) == pytest.approx(0.14571390272918056, rel=1e-12)
    dA_prev1 = backward_ops.pool_backward(dA, cache, mode="max")
    assert type(dA_prev1) is np.ndarray and dA_prev1.shape == (5, 5, 3, 2)
    np.testing.assert_allclose(dA_prev1[1, 1], [[0, 0], [5.05844394, -1.68282702], [0, 0]],
                               atol=1e-8)
    dA_prev2 = backward_ops.pool_backward(dA, cache, mode="average")
    np.testing.assert_allclose(dA_prev2[1, 1], [[0.08485462, 0.2787552],
                                                [1.26461098, -0.25749373],
                                                [1.17975636, -0.53624893]], atol=1e-8)


def test_fast_pool_backward_refuses_what_is_not_a_pool_cache():
    with pytest.raises(TypeError, match=r"cache must be the tuple \('A_prev', 'hparameters'\)"):
        IMPLS["fast"].pool_backward(np.zeros((1, 1, 1, 1)), (np.zeros((1, 2, 2, 1)),), "max")
    with pytest.raises(ValueError, match="mode"):
        IMPLS["fast"].pool_backward(np.zeros((1, 1, 1, 1)),
                                    (np.zeros((1, 2, 2, 1)), {"f": 2, "stride": 2}), "median")
