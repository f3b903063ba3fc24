"""Ties in max pooling: backward routes each window's gradient to its first maximum
(row-major window order), in both versions; `create_mask_from_window` marks every maximum."""

from __future__ import annotations

import numpy as np
import pytest

from convnp import ops
from convnp.ops import reference
from tests.ops.oracles import IMPLS

impls = pytest.mark.parametrize("ops", list(IMPLS.values()), ids=list(IMPLS))


def first_max_routing(A_prev, dA, f, stride):
    """Expected max-pool input gradient for valid padding, written from the rule itself."""
    expected = np.zeros(A_prev.shape)
    m, n_H, n_W, n_C = dA.shape
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    window = A_prev[i, h * stride:h * stride + f, w * stride:w * stride + f, c]
                    r, q = divmod(int(np.argmax(window)), f)  # argmax: first in ravel order
                    expected[i, h * stride + r, w * stride + q, c] += dA[i, h, w, c]
    return expected


@impls
def test_constant_window_routes_to_top_left(ops):
    A_prev = np.full((1, 2, 2, 1), 5.0)
    _, cache = ops.pool_forward(A_prev, {"f": 2, "stride": 2}, mode="max")
    dA_prev = ops.pool_backward(np.array([[[[3.0]]]]), cache, mode="max")
    expected = np.zeros((1, 2, 2, 1))
    expected[0, 0, 0, 0] = 3.0
    np.testing.assert_array_equal(dA_prev, expected)


@impls
def test_tie_later_in_row_major_order_loses(ops):
    # The maximum 4 appears at (0, 1) and (1, 0): (0, 1) comes first in row-major order.
    A_prev = np.array([[1.0, 4.0], [4.0, 2.0]]).reshape(1, 2, 2, 1)
    _, cache = ops.pool_forward(A_prev, {"f": 2, "stride": 1}, mode="max")
    dA_prev = ops.pool_backward(np.ones((1, 1, 1, 1)), cache, mode="max")
    np.testing.assert_array_equal(dA_prev[0, :, :, 0], [[0.0, 1.0], [0.0, 0.0]])


@impls
@pytest.mark.parametrize("dtype", [np.float64, np.int64])
@pytest.mark.parametrize("f, stride", [(2, 1), (3, 1), (2, 2), (3, 2)])
def test_integer_inputs_with_many_ties(ops, dtype, f, stride):
    rng = np.random.default_rng(3)
    A_prev = rng.integers(0, 3, size=(2, 6, 7, 2)).astype(dtype)  # values 0..2: ties galore
    A, cache = ops.pool_forward(A_prev, {"f": f, "stride": stride}, mode="max")
    dA = rng.standard_normal(A.shape)
    dA_prev = ops.pool_backward(dA, cache, mode="max")
    assert dA_prev.dtype == np.float64
    np.testing.assert_allclose(dA_prev, first_max_routing(A_prev, dA, f, stride),
                               rtol=1e-12, atol=1e-14)
    # One cell per window: the gradient is not multiplied by the number of tied maxima.
    assert dA_prev.sum() == pytest.approx(dA.sum(), rel=1e-10)


@impls
def test_ties_with_same_padding_never_pick_padding(ops):
    A_prev = np.zeros((1, 3, 3, 1))  # every real cell ties with the zero padding value
    _, cache = ops.pool_forward(A_prev, {"f": 2, "stride": 2, "pad": "same"}, mode="max")
    # 'same' with n=3, f=2, s=2: pads (0, 1); windows start at rows/cols 0 and 2.
    dA_prev = ops.pool_backward(np.ones((1, 2, 2, 1)), cache, mode="max")
    expected = np.zeros((3, 3))
    expected[0, 0] = expected[0, 2] = expected[2, 0] = expected[2, 2] = 1.0
    np.testing.assert_array_equal(dA_prev[0, :, :, 0], expected)


@impls
def test_create_mask_marks_every_maximum(ops):
    x = np.array([[1, 3, 0], [3, 2, 3]])
    mask = ops.create_mask_from_window(x)
    np.testing.assert_array_equal(mask, [[False, True, False], [True, False, True]])


def test_first_max_mask_marks_only_the_first():
    x = np.array([[1, 3, 0], [3, 2, 3]])
    np.testing.assert_array_equal(reference.first_max_mask(x),
                                  [[False, True, False], [False, False, False]])
    assert reference.first_max_mask(np.full((2, 2), -1.0)).sum() == 1


def test_tiling_windows_take_the_tiled_route_with_and_without_ties(monkeypatch):
    """Windows that tile the input route their gradient by "equal to the maximum", ties
    (small integers) and NaN windows included, with the reference loops' first-maximum rule;
    windows that do not tile take the offset walk."""
    from convnp.ops import tiled_windows

    calls = []
    original = tiled_windows.route_first_maxima

    def spy(*args, **kwargs):
        calls.append(args[4])
        return original(*args, **kwargs)

    monkeypatch.setattr(tiled_windows, "route_first_maxima", spy)
    rng = np.random.default_rng(0)
    for hp, tiled in (({"f": 2, "stride": 2}, True), ({"f": 2, "stride": 1}, False)):
        for A in (rng.standard_normal((2, 6, 8, 3)),
                  rng.integers(0, 2, (2, 6, 8, 3)).astype(np.float64)):
            calls.clear()
            P, cache = ops.pool_forward(A, hp, "max")
            dP = rng.standard_normal(P.shape)
            P_ref, cache_ref = reference.pool_forward(A, hp, "max")
            np.testing.assert_array_equal(P, P_ref)
            np.testing.assert_allclose(ops.pool_backward(dP, cache, "max"),
                                       reference.pool_backward(dP, cache_ref, "max"))
            assert bool(calls) == tiled

    A = rng.standard_normal((1, 4, 4, 2))
    A[0, 0, 0, 0] = np.nan
    A[0, 2, 2, 1] = A[0, 3, 3, 1] = 9.0  # and a tie in another window
    calls.clear()
    P, cache = ops.pool_forward(A, {"f": 2, "stride": 2}, "max")
    dA = ops.pool_backward(np.ones_like(P), cache, "max")
    assert calls == [(2, 2)]
    assert dA[0, :2, :2, 0].sum() == 0  # a NaN window routes nothing, as before
    assert dA[0, 2, 2, 1] == 1 and dA[0, 3, 3, 1] == 0  # the first of the tied maxima
