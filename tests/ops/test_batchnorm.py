"""Batch normalization ops: fast vs the reference loops, float64 gradient checks, errors."""

from __future__ import annotations

import numpy as np
import pytest

from convnp.ops import batchnorm as fast
from convnp.ops import reference_batchnorm as reference
from tests.helpers import numerical_gradient, rel_error

IMPLS = pytest.mark.parametrize("ops", [reference, fast], ids=["reference", "fast"])

# (shape, axis, scale, center, residual, relu): relu False, True or a cap (ReLU6's 6)
CASES = [
    ((2, 3, 4, 5), -1, True, True, False, False),
    ((3, 4, 2), 1, True, False, False, False),
    ((5, 3), -1, False, True, False, True),
    ((2, 3, 3, 4), -1, True, True, True, True),
    ((2, 4, 3, 3), 1, False, False, True, False),
    ((1, 2, 2, 1), 3, True, True, False, True),
    ((2, 3, 3, 4), -1, True, True, True, 0.7),
    ((4, 5), -1, False, True, False, 0.5),
]


def _relu(relu) -> dict:
    """The forward's relu/max_value keywords for a case."""
    return {"relu": relu is not False, "max_value": None if isinstance(relu, bool) else relu}


def _cap(relu) -> dict:
    """The backward's keywords for a case, given the forward's output."""
    return {"max_value": _relu(relu)["max_value"]}


def _arrays(shape, axis, scale, center, residual, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    n = shape[axis]
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(dtype)
    gamma = rng.uniform(0.5, 1.5, n).astype(dtype) * rng.choice([-1, 1], n) if scale else None
    beta = rng.standard_normal(n).astype(dtype) if center else None
    res = rng.standard_normal(shape).astype(dtype) if residual else None
    return rng, x, gamma, beta, res


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("training", [True, False])
def test_fast_matches_reference_forward_and_backward(case, training):
    shape, axis, scale, center, residual, relu = case
    rng, x, gamma, beta, res = _arrays(shape, axis, scale, center, residual)
    x = x.astype(np.float32)
    n = shape[axis]
    moving = (rng.standard_normal(n), rng.uniform(0.5, 2.0, n))
    dy = rng.standard_normal(shape).astype(np.float32)
    results = []
    for ops in (reference, fast):
        if training:
            y, cache = ops.batch_norm_forward(x, gamma, beta, 1e-3, axis, res, **_relu(relu))
        else:
            y, cache = ops.batch_norm_inference(x, *moving, gamma, beta, 1e-3, axis, res,
                                                **_relu(relu))
        grads = ops.batch_norm_backward(dy, cache, relu_output=y if relu else None,
                                        keep_dz=True, **_cap(relu))
        results.append((y, cache, grads))
    (y_ref, c_ref, g_ref), (y_fast, c_fast, g_fast) = results
    assert y_fast.dtype == np.float32 and y_fast.shape == shape
    np.testing.assert_allclose(y_fast, y_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(c_fast[1], c_ref[1], rtol=1e-6, atol=1e-6)  # mean
    if training:
        np.testing.assert_allclose(c_fast.variance, c_ref.variance, rtol=1e-5)
    for fast_g, ref_g in zip(g_fast, g_ref):
        if ref_g is None:
            assert fast_g is None
        else:
            np.testing.assert_allclose(fast_g, ref_g, rtol=1e-4, atol=1e-4)


@IMPLS
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("training", [True, False])
def test_backward_matches_central_differences(ops, case, training):
    shape, axis, scale, center, residual, relu = case
    rng, x, gamma, beta, res = _arrays(shape, axis, scale, center, residual, seed=3)
    n = shape[axis]
    mean, var = rng.standard_normal(n), rng.uniform(0.5, 2.0, n)
    dy = rng.standard_normal(shape)
    gamma_v = np.ones(n) if gamma is None else gamma
    beta_v = np.zeros(n) if beta is None else beta

    def forward():
        g = gamma_v if gamma is not None else None
        b = beta_v if beta is not None else None
        if training:
            return ops.batch_norm_forward(x, g, b, 1e-3, axis, res, **_relu(relu))
        return ops.batch_norm_inference(x, mean, var, g, b, 1e-3, axis, res, **_relu(relu))

    y, cache = forward()
    dx, dgamma, dbeta, dz = ops.batch_norm_backward(dy, cache, relu_output=y if relu else None,
                                                   keep_dz=True, **_cap(relu))
    checks = [(dx, x)]
    if beta is not None:
        checks.append((dbeta, beta_v))
    if gamma is not None:
        checks.append((dgamma, gamma_v))
    if residual:
        checks.append((dz, res))
    for analytic, variable in checks:
        numeric = numerical_gradient(lambda: forward()[0], variable, dy, h=1e-6)
        assert rel_error(analytic, numeric) < 1e-6


@IMPLS
def test_skipping_the_input_gradient_keeps_the_weight_gradients(ops):
    _, x, gamma, beta, _ = _arrays((2, 3, 3, 4), -1, True, True, False)
    dy = np.random.default_rng(1).standard_normal(x.shape)
    _, cache = ops.batch_norm_forward(x, gamma, beta, 1e-3)
    full = ops.batch_norm_backward(dy, cache)
    _, cache = ops.batch_norm_forward(x, gamma, beta, 1e-3)
    skipped = ops.batch_norm_backward(dy, cache, compute_dx=False)
    assert skipped[0] is None and full[0] is not None
    np.testing.assert_allclose(skipped[1], full[1])
    np.testing.assert_allclose(skipped[2], full[2])


def test_backward_does_not_write_its_inputs():
    _, x, gamma, beta, res = _arrays((2, 3, 3, 4), -1, True, True, True)
    x = x.astype(np.float32)
    dy = np.random.default_rng(1).standard_normal(x.shape).astype(np.float32)
    saved = (x.copy(), dy.copy())
    y, cache = fast.batch_norm_forward(x, gamma, beta, 1e-3, residual=res, relu=True)
    y_saved = y.copy()
    dx, _, _, dz = fast.batch_norm_backward(dy, cache, relu_output=y, keep_dz=True)
    np.testing.assert_array_equal(x, saved[0])
    np.testing.assert_array_equal(dy, saved[1])
    np.testing.assert_array_equal(y, y_saved)
    assert dx is not dz and not np.shares_memory(dx, dy)


def test_row_blocks_match_one_block(monkeypatch):
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((64, 6)) * 3 + 1).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    gamma, beta = rng.uniform(0.5, 1.5, 6), rng.standard_normal(6)
    whole_y, cache = fast.batch_norm_forward(x, gamma, beta, 1e-3, relu=True)
    whole = fast.batch_norm_backward(dy, cache, relu_output=whole_y)
    monkeypatch.setattr(fast, "MIN_ROWS", 1)
    split_y, cache = fast.batch_norm_forward(x, gamma, beta, 1e-3, relu=True)
    split = fast.batch_norm_backward(dy, cache, relu_output=split_y)
    np.testing.assert_allclose(split_y, whole_y, rtol=1e-6, atol=1e-6)
    for a, b in zip(split, whole):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_moments_fall_back_to_centred_values_for_a_large_mean():
    rng = np.random.default_rng(0)
    x = (1e4 + rng.standard_normal((4096, 3))).astype(np.float32)
    _, var = fast.moments(x)
    np.testing.assert_allclose(var, x.astype(np.float64).var(axis=0), rtol=1e-4)


def test_update_moving_is_the_keras_average():
    moving = np.array([1.0, 2.0])
    fast.update_moving(moving, np.array([3.0, 0.0]), 0.9)
    np.testing.assert_allclose(moving, [1.2, 1.8])


def test_bad_input_is_refused_before_any_work():
    x = np.zeros((2, 3), dtype=np.float32)
    with pytest.raises(ValueError, match=r"gamma must have shape \(3,\).*\(4,\)"):
        fast.batch_norm_forward(x, np.ones(4), None, 1e-3)
    with pytest.raises(ValueError, match="axis 0 is not a feature axis"):
        fast.batch_norm_forward(x, None, None, 1e-3, axis=0)
    with pytest.raises(TypeError, match="axis must be an int"):
        fast.batch_norm_forward(x, None, None, 1e-3, axis=1.0)
    with pytest.raises(TypeError, match="float ndarray"):
        fast.batch_norm_forward(np.zeros((2, 3), dtype=np.int64), None, None, 1e-3)
    with pytest.raises(ValueError, match="moving_variance must have shape"):
        fast.batch_norm_inference(x, np.zeros(3), np.ones(2), None, None, 1e-3)
    _, cache = fast.batch_norm_forward(x + np.arange(3, dtype=np.float32), None, None, 1e-3)
    with pytest.raises(ValueError, match=r"dy must have the input's shape \(2, 3\)"):
        fast.batch_norm_backward(np.zeros((3, 2), dtype=np.float32), cache)


@pytest.mark.parametrize("case", [CASES[3], CASES[4], CASES[6]])
def test_small_blocks_and_threads_match_reference(monkeypatch, case):
    # Each pass walks its rows block by block (`row_blocks`), the blocks of each thread's
    # rows: force blocks of a few rows and a split between threads.
    monkeypatch.setattr(fast, "BLOCK", 8)
    monkeypatch.setattr(fast, "MIN_ROWS", 1)
    shape, axis, scale, center, residual, relu = case
    _, x, gamma, beta, res = _arrays(shape, axis, scale, center, residual, seed=5)
    dy = np.random.default_rng(6).standard_normal(shape)
    results = []
    for ops in (reference, fast):
        y, cache = ops.batch_norm_forward(x, gamma, beta, 1e-3, axis, res, **_relu(relu))
        results.append((y, cache.variance, ops.batch_norm_backward(
            dy, cache, relu_output=y if relu else None, keep_dz=True, **_cap(relu))))
    (y_ref, var_ref, g_ref), (y_fast, var_fast, g_fast) = results
    np.testing.assert_allclose(y_fast, y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(var_fast, var_ref, rtol=1e-12)
    for got, want in zip(g_fast, g_ref):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("blocks", [False, True])
def test_fused_relu6_is_exactly_the_two_passes_apart(monkeypatch, blocks):
    # BatchNormReLU's fused passes do the same float32 arithmetic as the BatchNormalization
    # and ReLU layers run one after the other (the plain path), so they agree bit for bit.
    if blocks:
        _small_blocks(monkeypatch)
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((4, 5, 6, 8)) * 3 + 1).astype(np.float32)
    gamma = rng.uniform(1.0, 4.0, 8).astype(np.float32)
    beta = rng.uniform(-1.0, 4.0, 8).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    y, cache = fast.batch_norm_forward(x, gamma, beta, 1e-3, relu=True, max_value=6.0)
    z, plain_cache = fast.batch_norm_forward(x, gamma, beta, 1e-3)
    np.testing.assert_array_equal(y, np.clip(z, 0, 6))
    assert 0 < np.mean(y == 6) < 0.5 and 0 < np.mean(y == 0) < 0.5  # both ends are hit
    fused = fast.batch_norm_backward(dy, cache, relu_output=y, max_value=6.0)
    plain = fast.batch_norm_backward(dy * ((y > 0) & (y < 6)), plain_cache)
    for a, b in zip(fused, plain):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("fold_width", [1, 512], ids=["unfolded", "folded"])
@pytest.mark.parametrize("einsum_columns", [1, 10**9], ids=["einsum", "blas"])
@pytest.mark.parametrize("n", [8, 7, 96])
def test_both_ways_of_block_sums_are_accurate(monkeypatch, fold_width, einsum_columns, n):
    # wide and narrow features, several blocks, both of `_BlockSums`'s ways, folded or not
    # (5000 rows: with 7 features the last block of each thread leaves rows unfolded)
    monkeypatch.setattr(fast, "EINSUM_COLUMNS", einsum_columns)
    monkeypatch.setattr(fast, "FOLD_WIDTH", fold_width)
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((5000, n)) * 3 + 2).astype(np.float32)
    mean, var = fast.moments(x)
    np.testing.assert_allclose(mean, x.astype(np.float64).mean(axis=0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(var, x.astype(np.float64).var(axis=0), rtol=1e-6)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    gamma, beta = rng.uniform(0.5, 1.5, n), rng.standard_normal(n)
    y, cache = fast.batch_norm_forward(x, gamma, beta, 1e-3, relu=True)
    dx, dgamma, dbeta = fast.batch_norm_backward(dy, cache, relu_output=y)
    y_ref, ref_cache = reference.batch_norm_forward(x.astype(np.float64), gamma, beta, 1e-3)
    dz = dy * (y_ref > 0)
    dx_ref, dgamma_ref, dbeta_ref = reference.batch_norm_backward(dz, ref_cache)
    np.testing.assert_allclose(dbeta, dbeta_ref, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(dgamma, dgamma_ref, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-4, atol=1e-4)


def test_no_features_give_empty_statistics():
    mean, var = fast.moments(np.zeros((10, 0), dtype=np.float32))
    assert mean.shape == var.shape == (0,)


@pytest.mark.parametrize("n", [3, 32, 100, 600])
def test_folded_block_sums_match_float64_sums(n):
    # a block read as wide rows, its tail rows as they are, and a strided block (not
    # folded): every column's sums are the float64 ones
    rng = np.random.default_rng(n)
    sums = fast._BlockSums(n, np.float32)
    assert sums.block_rows % sums.fold == 0 and (sums.fold > 1) == (n < fast.FOLD_WIDTH)
    a = rng.standard_normal((3 * sums.fold + 1, n)).astype(np.float32)
    b = rng.standard_normal(a.shape).astype(np.float32)
    strided = rng.standard_normal((5, 2 * n)).astype(np.float32)[:, ::2]
    sums.add(a, b)
    sums.add(strided, strided)
    sums.add(a[:2])
    total, total_dot = sums.totals()
    want = np.concatenate([a, strided, a[:2]]).astype(np.float64).sum(axis=0)
    want_dot = (a.astype(np.float64) * b).sum(axis=0) + (strided.astype(np.float64) ** 2).sum(0)
    np.testing.assert_allclose(total, want, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(total_dot, want_dot, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("blocks", [False, True])
def test_add_affine_adds_the_affine_map_in_place(monkeypatch, blocks):
    # the dense terms of the fused BN + max pool input gradient, added onto the routed ones
    if blocks:
        _small_blocks(monkeypatch)
    rng = np.random.default_rng(12)
    x = rng.standard_normal((50, 7)).astype(np.float32)
    target = rng.standard_normal(x.shape).astype(np.float32)
    scale, shift = rng.standard_normal(7), rng.standard_normal(7)
    want = target + x * scale.astype(np.float32) + shift.astype(np.float32)
    x_before = x.copy()
    fast.add_affine(x, scale, shift, target)
    np.testing.assert_allclose(target, want, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(x, x_before)


def _small_blocks(monkeypatch) -> None:
    """Blocks of a few rows and a split between the threads, on small test arrays."""
    monkeypatch.setattr(fast, "BLOCK", 40)
    monkeypatch.setattr(fast, "MIN_ROWS", 3)


@pytest.mark.parametrize("threads", [False, True])
@pytest.mark.parametrize("n", [16, 64])
def test_narrow_features_take_blocks_of_thousands_of_rows(monkeypatch, threads, n):
    """An elementwise pass's block holds `BLOCK` numbers at any width (8192 rows of 16
    features), while the block sums keep their row cap: the float32 results still match the
    float64 loops, across a block boundary and a tail."""
    assert fast._block_rows(16) == fast.BLOCK // 16 > fast._BLOCK_ROWS
    if threads:
        monkeypatch.setattr(fast, "MIN_ROWS", 1)
    rng, x, gamma, beta, res = _arrays((1, 90, 95, n), -1, True, True, True, seed=7)
    dy = rng.standard_normal(x.shape)
    got = []
    for ops, dtype in ((reference, np.float64), (fast, np.float32)):
        args = [None if a is None else a.astype(dtype) for a in (x, gamma, beta, res)]
        y, cache = ops.batch_norm_forward(args[0], args[1], args[2], 1e-3, -1, args[3],
                                          relu=True, max_value=6.0)
        got.append((y, *ops.batch_norm_backward(dy.astype(dtype), cache, relu_output=y,
                                                max_value=6.0)))
    for want, have in zip(*got):
        np.testing.assert_allclose(have, want, rtol=2e-4, atol=2e-4)
