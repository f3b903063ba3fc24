"""Central-difference gradient checks (float64) of conv_backward and pool_backward, both versions."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import numerical_gradient, rel_error
from tests.ops.oracles import IMPLS

impls = pytest.mark.parametrize("ops", list(IMPLS.values()), ids=list(IMPLS))


def assert_gradient(analytic: np.ndarray, numeric: np.ndarray) -> None:
    """Compare with a scale-aware bound: entries that are exactly 0 analytically only get
    finite-difference round-off numerically, which a per-element relative error would blow up."""
    assert analytic.shape == numeric.shape
    scale = max(1.0, float(np.max(np.abs(numeric))))
    assert float(np.max(np.abs(analytic - numeric))) / scale < 1e-7
    big = np.abs(numeric) > 1e-3
    if big.any():
        assert rel_error(analytic[big], numeric[big]) < 1e-6


CONV_CASES = [
    # (A shape, (f_h, f_w), C_out, stride, pad)
    ((2, 5, 6, 3), (3, 3), 4, 1, 0),
    ((2, 5, 6, 3), (3, 2), 2, 2, 1),
    ((1, 7, 5, 2), (2, 3), 3, (2, 3), "same"),
    ((2, 6, 7, 1), (3, 3), 2, (3, 2), ((0, 2), (1, 0))),
    ((1, 5, 5, 2), (1, 2), 2, 3, "valid"),           # stride > kernel: skipped pixels
    ((1, 4, 6, 2), (4, 4), 1, 1, (2, 1)),
]


@impls
@pytest.mark.parametrize("shape, kernel, c_out, stride, pad", CONV_CASES)
def test_conv_backward_numerical(ops, shape, kernel, c_out, stride, pad):
    rng = np.random.default_rng(7)
    A_prev = rng.standard_normal(shape)
    W = rng.standard_normal((*kernel, shape[3], c_out))
    b = rng.standard_normal((1, 1, 1, c_out))
    hp = {"stride": stride, "pad": pad}
    Z, cache = ops.conv_forward(A_prev, W, b, hp)
    dZ = rng.standard_normal(Z.shape)
    dA_prev, dW, db = ops.conv_backward(dZ, cache)

    def forward():
        return ops.conv_forward(A_prev, W, b, hp)[0]

    assert_gradient(dA_prev, numerical_gradient(forward, A_prev, dZ))
    assert_gradient(dW, numerical_gradient(forward, W, dZ))
    assert_gradient(db, numerical_gradient(forward, b, dZ))


POOL_CASES = [
    # (A shape, f, stride, pad)
    ((2, 5, 5, 2), 2, 1, 0),
    ((2, 7, 5, 2), 3, 2, 0),                 # odd sizes, stride > 1, leftover rows
    ((1, 7, 7, 2), 3, 2, "same"),
    ((2, 5, 6, 1), (2, 3), (2, 2), "same"),  # odd total padding: extra at bottom/right
    ((1, 6, 5, 2), 2, 3, "same"),            # stride > window
    ((1, 5, 7, 2), (3, 2), (1, 2), ((1, 2), (0, 1))),
    ((2, 4, 4, 3), 4, 4, "valid"),
]


@impls
@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("shape, f, stride, pad", POOL_CASES)
def test_pool_backward_numerical(ops, mode, shape, f, stride, pad):
    rng = np.random.default_rng(11)
    A_prev = rng.standard_normal(shape)  # continuous values: no ties, so max is differentiable
    hp = {"f": f, "stride": stride, "pad": pad}
    A, cache = ops.pool_forward(A_prev, hp, mode=mode)
    dA = rng.standard_normal(A.shape)
    dA_prev = ops.pool_backward(dA, cache, mode=mode)

    def forward():
        return ops.pool_forward(A_prev, hp, mode=mode)[0]

    assert_gradient(dA_prev, numerical_gradient(forward, A_prev, dA))
