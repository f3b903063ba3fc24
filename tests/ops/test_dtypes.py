"""Ops keep the float dtype they are given (ints compute in float64), in both versions."""

from __future__ import annotations

import numpy as np
import pytest

from tests.ops.oracles import IMPLS

impls = pytest.mark.parametrize("ops", list(IMPLS.values()), ids=list(IMPLS))
DTYPES = [(np.float32, np.float32), (np.float64, np.float64), (np.int64, np.float64),
          (np.int32, np.float64)]
dtypes = pytest.mark.parametrize("given, expected", DTYPES, ids=lambda d: np.dtype(d).name)


def inputs(dtype):
    rng = np.random.default_rng(4)
    A_prev = (rng.standard_normal((2, 6, 5, 3)) * 3).astype(dtype)
    W = (rng.standard_normal((3, 2, 3, 2)) * 3).astype(dtype)
    b = (rng.standard_normal((1, 1, 1, 2)) * 3).astype(dtype)
    return A_prev, W, b


@impls
@dtypes
@pytest.mark.parametrize("pad", [0, "same"])
def test_conv_dtype(ops, given, expected, pad):
    A_prev, W, b = inputs(given)
    Z, cache = ops.conv_forward(A_prev, W, b, {"stride": (2, 1), "pad": pad})
    assert Z.dtype == expected
    dZ = np.ones(Z.shape, dtype=expected)
    dA_prev, dW, db = ops.conv_backward(dZ, cache)
    assert dA_prev.dtype == dW.dtype == db.dtype == expected


@impls
@dtypes
@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("pad", [0, "same"])
def test_pool_dtype(ops, given, expected, mode, pad):
    A_prev, _, _ = inputs(given)
    A, cache = ops.pool_forward(A_prev, {"f": 3, "stride": 2, "pad": pad}, mode=mode)
    assert A.dtype == expected
    dA_prev = ops.pool_backward(np.ones(A.shape, dtype=expected), cache, mode=mode)
    assert dA_prev.dtype == expected


@impls
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_zero_pad_keeps_dtype(ops, dtype):
    X = np.ones((1, 2, 2, 1), dtype=dtype)
    assert ops.zero_pad(X, 1).dtype == dtype


@impls
@dtypes
def test_conv_single_step_dtype(ops, given, expected):
    a = np.ones((2, 2, 3), dtype=given)
    Z = ops.conv_single_step(a, a, np.ones((1, 1, 1), dtype=given))
    assert np.ndim(Z) == 0 and np.asarray(Z).dtype == expected and Z == 13


@impls
def test_distribute_value_dtype(ops):
    assert ops.distribute_value(np.float32(1.0), (2, 2)).dtype == np.float32
    assert ops.distribute_value(2, (2, 2)).dtype == np.float64


@impls
def test_float32_conv_is_accurate(ops):
    A_prev, W, b = inputs(np.float64)
    Z64, _ = ops.conv_forward(A_prev, W, b, {"stride": 1, "pad": 1})
    Z32, _ = ops.conv_forward(A_prev.astype(np.float32), W.astype(np.float32),
                              b.astype(np.float32), {"stride": 1, "pad": 1})
    np.testing.assert_allclose(Z32, Z64, rtol=1e-5, atol=1e-4)
