"""Group normalization: the fast kernels against the loop twin (forward and backward)."""

from __future__ import annotations

import numpy as np
import pytest

from convnp.ops import group_norm as fast
from convnp.ops import reference_group_norm as reference


@pytest.mark.parametrize("shape, groups, affine", [
    ((2, 3, 3, 4), 2, True), ((1, 5, 6), 6, True), ((3, 2, 2, 6), 1, False),
    ((2, 4), 2, True),
])
def test_fast_matches_reference(shape, groups, affine):
    rng = np.random.default_rng(sum(shape) + groups)
    x = rng.standard_normal(shape) * 2 + 1
    n_C = shape[-1]
    gamma = rng.standard_normal(n_C) if affine else None
    beta = rng.standard_normal(n_C) if affine else None
    y, cache = fast.group_norm_forward(x, gamma, beta, groups, 1e-3)
    y_ref, cache_ref = reference.group_norm_forward(x, gamma, beta, groups, 1e-3)
    np.testing.assert_allclose(y, y_ref, rtol=1e-10, atol=1e-12)
    dy = rng.standard_normal(shape)
    for got, want in zip(fast.group_norm_backward(dy, cache),
                         reference.group_norm_backward(dy, cache_ref)):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)
    assert y.dtype == x.dtype


def test_channels_not_divisible_are_refused():
    with pytest.raises(ValueError, match="equal groups"):
        fast.group_norm_forward(np.ones((1, 2, 5)), None, None, 2, 1e-3)
    with pytest.raises(ValueError, match="equal groups"):
        reference.group_norm_forward(np.ones((1, 2, 5)), None, None, 2, 1e-3)
