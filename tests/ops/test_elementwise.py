"""`convnp.ops.elementwise`: the fast spellings compute what the obvious ones compute."""

from __future__ import annotations

import numpy as np
import pytest

from convnp.ops import elementwise
from convnp.ops.elementwise import ColumnTile, flat, relu, relu_gradient

SPECIAL = [-0.0, 0.0, -1.5, 2.5, 6.0, 7.0, np.nan, -np.inf, np.inf, 1e-45, -1e-45]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cap", [None, 6.0])
def test_relu_matches_maximum(dtype, cap):
    x = np.array(SPECIAL + list(np.random.default_rng(0).standard_normal(50) * 5), dtype=dtype)
    expected = np.maximum(x, 0)
    if cap is not None:
        expected = np.minimum(expected, cap)
    got = relu(x, cap=None if cap is None else dtype(cap))
    assert got.dtype == x.dtype
    # equal as numbers (NaN where NaN); only the sign of a zero may differ
    np.testing.assert_array_equal(got, expected)
    out = np.empty_like(x)
    assert relu(x, out=out, cap=cap) is out
    np.testing.assert_array_equal(out, got)


def test_relu_in_place():
    x = np.array([-2.0, 3.0, np.nan], dtype=np.float32)
    relu(x, out=x)
    np.testing.assert_array_equal(x, [0.0, 3.0, np.nan])


def test_column_tile_matches_broadcasting():
    rng = np.random.default_rng(1)
    v = rng.standard_normal(7).astype(np.float32)
    tile = ColumnTile(v, rows=5)
    for rows in (1, 3, 5):
        block = rng.standard_normal((rows, 7)).astype(np.float32)
        np.testing.assert_array_equal(flat(block) * tile.of(block), (block * v).reshape(-1))


def test_column_tile_is_no_taller_than_the_array_it_serves():
    """With ``total_rows`` a tile stops at the array's height (one image's 16x16x64 bias add
    does not build a tile of 64K numbers); blocks of any height up to it still match."""
    rng = np.random.default_rng(5)
    v = rng.standard_normal(64).astype(np.float32)
    assert ColumnTile(v).flat.size == elementwise.TILE_NUMBERS
    tile = ColumnTile(v, total_rows=256)
    assert tile.rows == 256 and tile.flat.size == 256 * 64
    assert ColumnTile(v, rows=8, total_rows=300).rows == 8  # the smaller of the two
    assert ColumnTile(v, total_rows=0).rows == 1
    for rows in (1, 100, 256):
        block = rng.standard_normal((rows, 64)).astype(np.float32)
        expected = block + v
        tile.add_to(block)
        np.testing.assert_array_equal(block, expected)


def test_flat_is_a_view_and_refuses_strided_blocks():
    a = np.zeros((4, 3))
    flat(a)[5] = 1.0
    assert a[1, 2] == 1.0
    with pytest.raises(ValueError, match="C-contiguous"):
        flat(a[:, :2])


@pytest.mark.parametrize("rows", [1, 7, 8, 9, 40])
def test_column_tile_add_to_any_height(rows):
    rng = np.random.default_rng(2)
    v = rng.standard_normal(5)
    tile = ColumnTile(v, rows=8)
    block = rng.standard_normal((rows, 5))
    expected = block + v
    tile.add_to(block)
    np.testing.assert_array_equal(block, expected)


def test_column_tile_default_size_and_strided_refusal():
    tile = ColumnTile(np.ones(3, dtype=np.float32))
    assert tile.rows * 3 <= 1 << 16 and tile.flat.dtype == np.float32
    with pytest.raises(ValueError, match="C-contiguous"):
        tile.add_to(np.zeros((4, 6), dtype=np.float32)[:, :3])


@pytest.mark.parametrize("size", [5, 1 << 17, (1 << 18) + 3])
def test_relu_gradient_matches_the_mask_product(monkeypatch, size):
    monkeypatch.setattr("convnp.ops.elementwise.GRADIENT_BLOCK", 1 << 15)
    monkeypatch.setattr("convnp.ops.elementwise._MIN_SHARED", 1 << 16)  # blocks and threads
    rng = np.random.default_rng(3)
    y = relu(rng.standard_normal(size).astype(np.float32))
    y[:3] = [0.0, np.nan, np.inf]
    dy = rng.standard_normal(size).astype(np.float32)
    got = relu_gradient(dy.reshape(1, -1), y.reshape(1, -1))
    assert got.shape == (1, size) and got.dtype == np.float32
    np.testing.assert_array_equal(got.reshape(-1), np.multiply(dy, y > 0))
    with pytest.raises(ValueError, match="same size"):
        relu_gradient(dy, y[:-1])


def test_blockwise_runs_a_kernel_over_blocks_and_threads_with_the_same_numbers(monkeypatch):
    from convnp.ops import elementwise

    monkeypatch.setattr(elementwise, "BLOCK", 1 << 16)

    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 70_001)).astype(np.float32)  # more than one block and thread
    w = rng.standard_normal(x.shape)  # float64: the kernel casts as NumPy's out= does

    def kernel(out, xb, wb, scratch):
        np.exp(xb, out=scratch)
        np.multiply(scratch, wb, out=out, casting="same_kind")

    got = elementwise.blockwise(kernel, np.empty_like(x), [x, w], (np.float32,))
    np.testing.assert_array_equal(got, (np.exp(x) * w).astype(np.float32))
    small = elementwise.blockwise(kernel, np.empty(5, np.float32), [x[0, :5], w[0, :5]],
                                  (np.float32,))
    np.testing.assert_array_equal(small, got[0, :5])
    with pytest.raises(ValueError, match="sizes"):
        elementwise.blockwise(kernel, np.empty(4, np.float32), [x[0, :5], w[0, :5]])
    with pytest.raises(ValueError, match="C-contiguous"):
        elementwise.blockwise(kernel, np.empty((4, 4), np.float32).T, [x[0, :16], w[0, :16]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("slope", [0.0, 0.01, 0.3, 1.0, 1.5])
def test_leaky_relu_and_select_gradient_match_where(dtype, slope):
    from convnp.ops.elementwise import leaky_relu, select_gradient

    x = np.array(SPECIAL + list(np.random.default_rng(1).standard_normal(300) * 5), dtype=dtype)
    with np.errstate(invalid="ignore"):
        want = np.where(x > 0, x, x * dtype(slope))
    got = leaky_relu(x, slope)
    assert got.dtype == dtype
    finite = np.isfinite(x)
    np.testing.assert_array_equal(got[finite], want[finite])
    assert got[x == np.inf][0] == np.inf and np.isnan(got[np.isnan(x)][0])
    assert got[x == -np.inf][0] == (0 if slope == 0 else -np.inf)  # 0 * -inf is not NaN here
    dy = np.random.default_rng(2).standard_normal(x.shape).astype(dtype)
    grad = select_gradient(dy, x > 0, 1.0, slope)
    assert grad.dtype == dtype
    np.testing.assert_allclose(grad, np.where(x > 0, dy, dy * dtype(slope)), rtol=1e-6)
    np.testing.assert_array_equal(select_gradient(dy, x > 2, 0.5), np.where(x > 2, dy * 0.5, 0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("alpha, scale, zero_is_positive",
                         [(1.0, 1.0, False), (0.3, 1.0, False),
                          (1.6732632423543772, 1.0507009873554805, True)])
def test_elu_and_its_gradient_match_where(dtype, alpha, scale, zero_is_positive):
    from convnp.ops.elementwise import elu, elu_gradient

    rng = np.random.default_rng(3)
    x = np.array([-np.inf, -30.0, -1.0, -0.0, 0.0, 1e-30, 2.0, np.inf]
                 + list(rng.standard_normal(70_000) * 3), dtype=dtype)  # threads too
    t = dtype
    want = t(scale) * np.where(x > 0, x, t(alpha) * np.expm1(np.minimum(x, 0)))
    y = elu(x, alpha, scale)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, want, rtol=4 * np.finfo(dtype).eps, atol=0)
    dy = rng.standard_normal(x.size).astype(dtype)
    positive = x >= 0 if zero_is_positive else x > 0
    want_grad = np.where(positive, dy * t(scale), dy * (y + t(scale * alpha)))
    grad = elu_gradient(dy, x, y, alpha, scale, zero_is_positive)
    assert grad.dtype == dtype
    np.testing.assert_allclose(grad, want_grad, rtol=8 * np.finfo(dtype).eps,
                               atol=8 * np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_select_gives_np_where_bit_for_bit(dtype):
    """`elementwise.select` (integer masks instead of a branch per number) against np.where:
    the same bits for NaN, infinities and both zeros, with broadcasting of the mask and of
    either operand, and b left out (zeros)."""
    from convnp.ops.elementwise import select

    rng = np.random.default_rng(2)
    a = rng.standard_normal((4, 5, 6)).astype(dtype)
    b = rng.standard_normal((4, 5, 6)).astype(dtype)
    a.flat[:4] = [np.nan, np.inf, -np.inf, -0.0]
    b.flat[4:8] = [np.nan, -np.inf, -0.0, 0.0]
    mask = rng.random((4, 5, 6)) > 0.5
    cases = [(mask, a, b), (mask, a, None), (mask[:, :1], a, b), (mask, a[:1], b),
             (mask, a, b[..., :1]), (mask[0, 0], a, b), (np.bool_(True), a, b),
             (mask, np.array(dtype(3)), np.array(dtype(-0.0)))]
    for m, x, y in cases:
        want = np.where(m, x, dtype(0) if y is None else y)
        got = select(m, x, y)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert np.array_equal(got.view(np.uint8), want.view(np.uint8))  # bit for bit


def test_select_falls_back_to_np_where_for_other_dtypes():
    """Integers, mixed float dtypes and non-boolean masks take np.where (its promotion)."""
    from convnp.ops.elementwise import select

    mask = np.array([True, False, True])
    ints = np.array([1, 2, 3], dtype=np.int16)
    assert select(mask, ints).dtype == np.int16
    np.testing.assert_array_equal(select(mask, ints), [1, 0, 3])
    mixed = select(mask, np.ones(3, np.float32), np.zeros(3, np.float64))
    assert mixed.dtype == np.float64
    np.testing.assert_array_equal(select(np.array([1, 0, 2]), np.ones(3), -np.ones(3)),
                                  [1, -1, 1])
