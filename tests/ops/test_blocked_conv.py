"""Convs with few filters run blocked (several output pixels per im2col column); the blocked
layout must give exactly the plain convolution, forward and backward."""

from __future__ import annotations

import numpy as np
import pytest

from convnp import ops
from convnp.ops import reference
from convnp.ops.conv import BlockedConv
from convnp.ops.padding import conv_geometry


@pytest.mark.parametrize("shape, kernel, hp, block", [
    ((2, 8, 8, 3), (4, 4, 3, 8), {"stride": 1, "pad": "same"}, 4),      # the SIGNS conv, small
    ((2, 7, 9, 2), (3, 2, 2, 5), {"stride": 2, "pad": 1}, 1),           # n_W = 5: no block fits
    ((3, 6, 17, 2), (2, 3, 2, 4), {"stride": (1, 2), "pad": "valid"}, 4),  # n_W = 8
    ((1, 5, 16, 3), (2, 2, 3, 3), {"stride": 3, "pad": ((1, 0), (2, 1))}, 2),  # stride > f
    ((2, 6, 6, 4), (3, 3, 4, 16), {"stride": 1, "pad": "same"}, 2),
    ((2, 6, 6, 4), (3, 3, 4, 32), {"stride": 1, "pad": "same"}, 1),     # wide enough already
])
def test_blocked_conv_matches_reference(shape, kernel, hp, block):
    rng = np.random.default_rng(0)
    A, W = rng.standard_normal(shape), rng.standard_normal(kernel)
    b = rng.standard_normal((1, 1, 1, kernel[3]))
    assert BlockedConv.plan(conv_geometry(A, W, b, hp), W).block == block
    Z, cache = ops.conv_forward(A, W, b, hp)
    Z_ref, cache_ref = reference.conv_forward(A, W, b, hp)
    np.testing.assert_allclose(Z, Z_ref, rtol=1e-10, atol=1e-12)
    dZ = rng.standard_normal(Z.shape)
    for got, want in zip(ops.conv_backward(dZ, cache), reference.conv_backward(dZ, cache_ref)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
