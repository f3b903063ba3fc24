"""Big max-pool windows run separably (row maxima, then column maxima); the result and the
first-maximum routing of the gradient must equal the reference loops exactly."""

from __future__ import annotations

import numpy as np
import pytest

from convnp import ops
from convnp.ops import reference
from convnp.ops.padding import pool_geometry
from convnp.ops.pool import _separable


@pytest.mark.parametrize("shape, hp", [
    ((2, 16, 16, 3), {"f": 8, "stride": 8, "pad": "same"}),        # the SIGNS pool, smaller
    ((2, 13, 11, 2), {"f": 8, "stride": 8, "pad": "same"}),        # padded borders
    ((1, 11, 12, 2), {"f": 5, "stride": 2}),                       # overlapping windows
    ((2, 9, 20, 1), {"f": (3, 8), "stride": (2, 3), "pad": "same"}),
])
@pytest.mark.parametrize("ties", [False, True])
def test_separable_max_pool_matches_reference(shape, hp, ties):
    rng = np.random.default_rng(0)
    # Small integers make many tied maxima: the routing order is then what is tested.
    A = rng.integers(0, 3, shape).astype(np.float64) if ties else rng.standard_normal(shape)
    assert _separable(pool_geometry(A, hp, "max"))
    P, cache = ops.pool_forward(A, hp, "max")
    P_ref, cache_ref = reference.pool_forward(A, hp, "max")
    np.testing.assert_array_equal(P, P_ref)
    dP = rng.standard_normal(P.shape)
    np.testing.assert_allclose(ops.pool_backward(dP, cache, "max"),
                               reference.pool_backward(dP, cache_ref, "max"),
                               rtol=1e-12, atol=1e-12)
