"""``conv_backward(..., compute_dW=False)``: the input gradient alone, equal to the full
backward's, on every path of the fast conv (few channels by blocked im2col, many channels on
the NHWC layout: 1x1, kernel rows, tiles; strides, padding, dilation)."""

import numpy as np
import pytest

from convnp import ops

CASES = [
    # (input shape, kernel shape, hyperparameters)
    ((2, 9, 9, 3), (3, 3, 3, 4), {"stride": 1, "pad": 1}),
    ((2, 9, 8, 3), (5, 5, 3, 8), {"stride": 2, "pad": "same"}),
    ((2, 7, 7, 32), (1, 1, 32, 16), {"stride": 1, "pad": 0}),
    ((2, 7, 7, 32), (1, 1, 32, 16), {"stride": 2, "pad": 0}),
    ((2, 40, 40, 32), (3, 3, 32, 8), {"stride": 1, "pad": 1}),
    ((2, 12, 12, 64), (5, 5, 64, 16), {"stride": 2, "pad": "same"}),
    ((2, 10, 10, 24), (3, 3, 24, 8), {"stride": 1, "pad": "valid", "dilation": 2}),
    ((1, 6, 6, 128), (3, 3, 128, 32), {"stride": 1, "pad": "same"}),
]


@pytest.mark.parametrize(("x_shape", "w_shape", "hparameters"), CASES)
def test_input_gradient_alone_equals_the_full_backwards(x_shape, w_shape, hparameters):
    rng = np.random.default_rng(0)
    x = rng.normal(size=x_shape).astype(np.float32)
    W = rng.normal(size=w_shape).astype(np.float32)
    b = np.zeros((1, 1, 1, w_shape[3]), np.float32)
    z, cache = ops.conv_forward(x, W, b, hparameters)
    dz = rng.normal(size=z.shape).astype(np.float32)
    dx, dW, db = ops.conv_backward(dz, cache)
    dx_only, no_dW, db_only = ops.conv_backward(dz, cache, compute_dW=False)
    assert no_dW is None
    np.testing.assert_allclose(dx_only, dx, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(db_only, db, rtol=1e-6)
    _, dW_again, _ = ops.conv_backward(dz, cache, compute_dA_prev=False)
    np.testing.assert_allclose(dW_again, dW, rtol=1e-5, atol=1e-4)
