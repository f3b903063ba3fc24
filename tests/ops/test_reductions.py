"""`ops.reductions.column_sums`: blocked float32 sums added up in float64."""

from __future__ import annotations

import numpy as np
import pytest

from convnp.ops.reductions import BLOCKS, column_sums


@pytest.mark.parametrize("rows", [1, BLOCKS - 1, BLOCKS, 3 * BLOCKS + 7, 20 * BLOCKS])
@pytest.mark.parametrize("n", [1, 3, 8])
def test_matches_float64_sums(rows, n):
    rng = np.random.default_rng(rows * 10 + n)
    a = rng.standard_normal((rows, n)).astype(np.float32)
    b = rng.standard_normal((rows, n)).astype(np.float32)
    got = column_sums(a)
    assert got.dtype == np.float64 and got.shape == (n,)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    # float32 partial sums: the error is relative to the sum of magnitudes (cancellation)
    scale = np.abs(a64).sum(axis=0)
    assert np.all(np.abs(got - a64.sum(axis=0)) <= 1e-6 * scale)
    scale = np.abs(a64 * b64).sum(axis=0)
    assert np.all(np.abs(column_sums(a, b) - (a64 * b64).sum(axis=0)) <= 1e-6 * scale)


def test_more_accurate_than_a_plain_float32_sum():
    # 2^20 rows of 0.1: a running float32 sum drifts by ~1%; the blocked sum stays within 1e-5
    a = np.full((2**20, 2), 0.1, dtype=np.float32)
    exact = float(np.float32(0.1)) * 2**20
    assert np.all(np.abs(column_sums(a) - exact) <= 1e-5 * exact)
    assert abs(float(np.cumsum(a[:, 0])[-1]) - exact) > 1e-3 * exact


def test_inputs_not_modified():
    a = np.arange(12, dtype=np.float32).reshape(6, 2)
    before = a.copy()
    np.testing.assert_array_equal(column_sums(a, a), [220.0, 286.0])
    np.testing.assert_array_equal(a, before)
