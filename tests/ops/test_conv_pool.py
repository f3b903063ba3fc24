"""The fused conv + tiling max pool (`convnp.ops.conv_pool`) must compute what the reference
loops compute for the two ops in a row (with ``relu=True``: conv, ReLU, pool): the pooled
values, the winner of every window (first maximum in row-major order, ties included) and all
three gradients."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convnp.ops import conv_pool, reference
from convnp.ops.conv import BlockedConv
from convnp.ops.conv_pool import (
    ConvPoolCache,
    conv_max_pool_backward,
    conv_max_pool_forward,
)
from tests.helpers import numerical_gradient


def _reference(A, W, b, hp, pool, dP, with_dA, relu=False):
    Z, conv_cache = reference.conv_forward(A, W, b, hp)
    R = np.maximum(Z, 0) if relu else Z
    pool_hp = {"f": pool, "stride": pool}
    P, pool_cache = reference.pool_forward(R, pool_hp, "max")
    if dP is None:
        return P
    dZ = reference.pool_backward(dP, pool_cache, "max")
    if relu:
        dZ = dZ * (Z > 0)
    dA, dW, db = reference.conv_backward(dZ, conv_cache)
    return P, (dA if with_dA else None), dW, db


def _operands(rng, shape, kernel, n_C, ties):
    n_C_prev = shape[3]
    f_h, f_w = kernel
    if ties:  # small integers: exact sums and many tied maxima
        A = rng.integers(-1, 2, shape).astype(np.float64)
        W = rng.integers(-1, 2, (f_h, f_w, n_C_prev, n_C)).astype(np.float64)
        b = rng.integers(-1, 2, (1, 1, 1, n_C)).astype(np.float64)
    else:
        A = rng.standard_normal(shape)
        W = rng.standard_normal((f_h, f_w, n_C_prev, n_C))
        b = rng.standard_normal((1, 1, 1, n_C))
    return A, W, b


def _check(shape, kernel, n_C, hp, pool, ties, with_dA, seed=0, relu=False):
    rng = np.random.default_rng(seed)
    A, W, b = _operands(rng, shape, kernel, n_C, ties)
    P, cache = conv_max_pool_forward(A, W, b, hp, pool, relu=relu)
    P_plain, no_cache = conv_max_pool_forward(A, W, b, hp, pool, keep_winners=False, relu=relu)
    assert no_cache is None
    # inference may block the product wider (`conv_pool.block_columns`): the same sums, in
    # another order
    np.testing.assert_allclose(P, P_plain, rtol=1e-12, atol=1e-12)
    dP = rng.standard_normal(P.shape)
    P_ref, dA_ref, dW_ref, db_ref = _reference(A, W, b, hp, pool, dP, with_dA, relu)
    np.testing.assert_allclose(P, P_ref, rtol=1e-12, atol=1e-12)
    dA, dW, db = conv_max_pool_backward(dP, cache, compute_dA_prev=with_dA)
    np.testing.assert_allclose(dW, dW_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(db, db_ref, rtol=1e-12, atol=1e-12)
    if with_dA:
        np.testing.assert_allclose(dA, dA_ref, rtol=1e-10, atol=1e-10)
    else:
        assert dA is None


@pytest.mark.parametrize("shape, kernel, n_C, hp, pool", [
    ((2, 16, 16, 3), (4, 4), 8, {"stride": 1, "pad": "same"}, 8),       # SIGNS conv1, smaller
    ((2, 8, 8, 8), (2, 2), 16, {"stride": 1, "pad": "same"}, 4),        # SIGNS conv2
    ((2, 11, 13, 2), (3, 3), 5, {"stride": 2, "pad": "valid"}, (2, 3)),  # odd, strided
    ((1, 12, 12, 3), (3, 2), 4, {"stride": (1, 2), "pad": 1}, (3, 2)),  # leftover rows
    ((2, 9, 12, 1), (2, 3), 2, {"stride": 1, "pad": "same"}, (1, 6)),   # block 2 in width 6
    ((2, 13, 18, 2), (3, 3), 4, {"stride": 1, "pad": "same"}, (3, 6)),  # 18 cells, leftover
])
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("with_dA", [False, True])
def test_fused_conv_max_pool_matches_reference(shape, kernel, n_C, hp, pool, ties, with_dA):
    _check(shape, kernel, n_C, hp, pool, ties, with_dA)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 3), n_H=st.integers(4, 12), n_W=st.integers(4, 12),
       n_C_prev=st.integers(1, 3), n_C=st.integers(1, 9), f=st.integers(1, 3),
       stride=st.integers(1, 2), pad=st.sampled_from(["same", "valid"]),
       p_h=st.integers(1, 5), p_w=st.integers(1, 5), ties=st.booleans(),
       with_dA=st.booleans(), relu=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_fused_conv_max_pool_matches_reference_anywhere(m, n_H, n_W, n_C_prev, n_C, f, stride,
                                                        pad, p_h, p_w, ties, with_dA, relu,
                                                        seed):
    out_h = -(-n_H // stride) if pad == "same" else (n_H - f) // stride + 1
    out_w = -(-n_W // stride) if pad == "same" else (n_W - f) // stride + 1
    if p_h > out_h or p_w > out_w:
        return
    _check((m, n_H, n_W, n_C_prev), (f, f), n_C, {"stride": stride, "pad": pad}, (p_h, p_w),
           ties, with_dA, seed, relu)


@pytest.mark.parametrize("shape, kernel, n_C, hp, pool", [
    ((2, 10, 10, 1), (3, 3), 12, {"stride": 1, "pad": "valid"}, 2),    # MNIST conv1, smaller
    ((2, 7, 7, 16), (3, 3), 5, {"stride": 1, "pad": "valid"}, 2),      # 5x5 -> 2: leftovers,
    ((2, 9, 8, 16), (3, 3), 4, {"stride": 1, "pad": "same"}, (2, 3)),  # NHWC input gradient
    ((2, 13, 11, 2), (2, 3), 8, {"stride": (2, 1), "pad": "same"}, (3, 4)),  # blocks of 4
    ((1, 16, 16, 3), (4, 4), 8, {"stride": 1, "pad": "same"}, 8),      # big windows
])
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("with_dA", [False, True])
def test_fused_conv_relu_max_pool_matches_reference(shape, kernel, n_C, hp, pool, ties,
                                                    with_dA):
    _check(shape, kernel, n_C, hp, pool, ties, with_dA, relu=True)


@pytest.mark.parametrize("shape", [(1, 32, 32, 3), (40, 8, 8, 1)])
def test_winners_of_big_blocked_windows_far_apart_in_memory(shape):
    # the pixel lookup of 8x8 windows over blocks of pixels reaches memory offsets (a long
    # image, many examples in one chunk) that do not fit the one-byte winner codes they are
    # computed from
    _check(shape, (4, 4), 4, {"stride": 1, "pad": "same"}, 8, ties=False, with_dA=False,
           relu=True)


@pytest.mark.parametrize("n_C_prev, n_C, pool", [(1, 6, 2), (2, 3, (2, 3)), (16, 2, 2)])
def test_fused_conv_relu_max_pool_gradients_numerically(n_C_prev, n_C, pool):
    rng = np.random.default_rng(3)
    A = rng.standard_normal((1 if n_C_prev > 4 else 2, 7, 6, n_C_prev))
    W = rng.standard_normal((3, 2, n_C_prev, n_C))
    b = rng.standard_normal((1, 1, 1, n_C)) * 0.3
    hp = {"stride": 1, "pad": "same"}
    P, cache = conv_max_pool_forward(A, W, b, hp, pool, relu=True)
    dP = rng.standard_normal(P.shape)
    dA, dW, db = conv_max_pool_backward(dP, cache)

    def forward():
        return conv_max_pool_forward(A, W, b, hp, pool, keep_winners=False, relu=True)[0]

    for analytic, x in ((dA, A), (dW, W), (db, b)):
        np.testing.assert_allclose(analytic, numerical_gradient(forward, x, dP),
                                   rtol=1e-6, atol=1e-7)


def test_the_block_divides_the_pool_width(monkeypatch):
    monkeypatch.setattr(conv_pool, "BLOCK_COLUMNS", 16)
    # 4 filters would take 4-pixel blocks; a 6-wide pool allows only 2.
    rng = np.random.default_rng(0)
    A, W, b = _operands(rng, (1, 12, 12, 3), (3, 3), 4, False)
    _, cache = conv_max_pool_forward(A, W, b, {"stride": 1, "pad": "same"}, 6)
    assert cache.blocked.block == 2
    _, cache = conv_max_pool_forward(A, W, b, {"stride": 1, "pad": "same"}, 4)
    assert cache.blocked.block == 4
    assert BlockedConv.plan(cache.geometry, W, row_group=3).block == 1
    # the fused conv caps the product at BLOCK_COLUMNS columns: 8 filters take 2-pixel blocks
    A, W, b = _operands(rng, (1, 12, 12, 3), (3, 3), 8, False)
    _, cache = conv_max_pool_forward(A, W, b, {"stride": 1, "pad": "same"}, 4)
    assert cache.blocked.block == 2 and cache.blocked.W_cols.shape[1] == 16


def test_float32_stays_float32():
    rng = np.random.default_rng(0)
    A, W, b = (a.astype(np.float32) for a in _operands(rng, (2, 8, 8, 3), (2, 2), 8, False))
    P, cache = conv_max_pool_forward(A, W, b, {"stride": 1, "pad": "same"}, 4)
    assert P.dtype == np.float32
    _, dW, db = conv_max_pool_backward(np.ones_like(P), cache, compute_dA_prev=False)
    assert dW.dtype == db.dtype == np.float32


def test_bad_arguments_are_refused():
    rng = np.random.default_rng(0)
    A, W, b = _operands(rng, (1, 6, 6, 2), (3, 3), 2, False)
    hp = {"stride": 1, "pad": "valid"}
    with pytest.raises(ValueError, match="pool_size"):
        conv_max_pool_forward(A, W, b, hp, 5)  # the conv output is 4x4
    with pytest.raises(ValueError, match="pool_size"):
        conv_max_pool_forward(A, W, b, hp, 0)
    P, cache = conv_max_pool_forward(A, W, b, hp, 2)
    assert isinstance(cache, ConvPoolCache)
    with pytest.raises(ValueError, match=r"dP must have shape \(1, 2, 2, 2\)"):
        conv_max_pool_backward(np.ones((1, 2, 2, 3)), cache)
    with pytest.raises(TypeError, match="conv_max_pool_forward"):
        conv_max_pool_backward(P, None)


def test_many_chunks_of_uneven_size(monkeypatch):
    # a tiny im2col budget: one or two examples per chunk, the last chunk shorter
    from convnp.ops import conv, conv_pool

    monkeypatch.setattr(conv, "CHUNK_BYTES", 6000)
    monkeypatch.setattr(conv_pool, "CHUNK_BYTES", 6000)
    rng = np.random.default_rng(0)
    _, cache = conv_max_pool_forward(*_operands(rng, (5, 12, 12, 3), (3, 3), 8, False),
                                     {"stride": 1, "pad": "same"}, 4)
    assert len(conv_pool._chunks(5, cache.blocked, 4 * 3 * 3, 8)) == 5
    _check((5, 12, 12, 3), (3, 3), 8, {"stride": 1, "pad": "same"}, 4, ties=True, with_dA=False)
    _check((5, 12, 12, 3), (3, 3), 8, {"stride": 1, "pad": "same"}, 4, ties=False, with_dA=True)


def test_the_fused_block_width_by_default_and_when_set(monkeypatch):
    assert conv_pool.block_columns() == 32
    rng = np.random.default_rng(0)
    A, W, b = _operands(rng, (1, 12, 12, 3), (3, 3), 8, False)
    _, cache = conv_max_pool_forward(A, W, b, {"stride": 1, "pad": "same"}, 4)
    assert cache.blocked.W_cols.shape[1] == 32  # 8 filters in blocks of 4 pixels
    # inference: 32 filters take 2-pixel blocks
    assert conv_pool.block_columns(training=False) == 64
    A, W, b = _operands(rng, (1, 12, 12, 3), (3, 3), 32, False)
    P, _ = conv_max_pool_forward(A, W, b, {"stride": 1, "pad": "same"}, 4,
                                 keep_winners=False)
    np.testing.assert_allclose(P, _reference(A, W, b, {"stride": 1, "pad": "same"}, 4, None, False),
                               rtol=1e-12, atol=1e-12)
    monkeypatch.setattr(conv_pool, "BLOCK_COLUMNS", 8)  # an explicit width wins
    assert conv_pool.block_columns() == 8 and conv_pool.block_columns(training=False) == 8
    A, W, b = _operands(rng, (1, 12, 12, 3), (3, 3), 8, False)
    _, cache = conv_max_pool_forward(A, W, b, {"stride": 1, "pad": "same"}, 4)
    assert cache.blocked.W_cols.shape[1] == 8  # no blocks


def test_blas_architecture_is_a_name_or_none():
    from convnp.ops import threads

    arch = threads.blas_architecture()
    assert arch is None or (isinstance(arch, str) and arch)


def test_large_windows_with_a_nan_keep_a_valid_winner():
    """Windows over `SMALL_WINDOW` cells find their winners rows first, then columns over the
    whole batch: a window whose maximum is NaN gets its last cell, the others the first
    maximum, and the gradients still have their shapes."""
    rng = np.random.default_rng(4)
    A = rng.random((3, 16, 16, 2), dtype=np.float32)
    A[0, 5, 5, 0] = np.nan
    W = rng.standard_normal((3, 3, 2, 4)).astype(np.float32)
    b = np.zeros((1, 1, 1, 4), np.float32)
    hp = {"stride": 1, "pad": "same"}
    P, cache = conv_max_pool_forward(A, W, b, hp, 8)
    nan_windows = np.isnan(P)
    assert nan_windows.any() and not nan_windows[1:].any()
    assert (cache.winners[nan_windows] == 63).all()
    want = _reference(A[1:].astype(np.float64), W.astype(np.float64), b.astype(np.float64),
                      hp, 8, None, False)
    np.testing.assert_allclose(P[1:], want, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="_window_rows"):
        conv_pool._pool_blocked(np.zeros((8, 1, 1, 4, 2, 4), np.float32), (8, 8),
                                np.empty((1, 1, 1, 4), np.float32),
                                np.empty((1, 1, 1, 4), np.int8))
    dA, dW, db = conv_max_pool_backward(np.ones_like(P), cache)
    assert dA.shape == A.shape and dW.shape == W.shape and db.shape == b.shape
